//! What the report knows about every workload: its group, what it measures,
//! which peers implement it (`benches/peers/README.md`), the tables that
//! compare Ember with each family of peers, the targets of the issues that
//! asked for it, and figures the issues quote (shown only for a peer that
//! was not measured in the sitting).

/// A workload of the comparison.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Result id, as in `RESULT <id> ...`.
    pub id: &'static str,
    /// Section of the report.
    pub group: &'static str,
    /// The unit the runners print.
    pub unit: &'static str,
    /// A main figure (charted, in the targets), or an extra line printed
    /// beside one (`_vm`, `_pte`, `_total`).
    pub primary: bool,
    /// The peers that implement it.
    pub peers: &'static [&'static str],
    /// One sentence: what is measured.
    pub what: &'static str,
}

const BEAM: &[&str] = &["erlang", "elixir"];
/// The process core: the BEAM, Go, and the Rust runtimes without actors.
const CORE: &[&str] = &["erlang", "elixir", "go", "tokio", "may"];
/// Idle processes: the BEAM, tokio tasks, may coroutines.
const IDLE: &[&str] = &["erlang", "elixir", "tokio", "may"];
/// GenServer and supervisor workloads: the BEAM and ractor.
const ACTORS: &[&str] = &["erlang", "elixir", "ractor"];
const ELIXIR: &[&str] = &["elixir"];
const NONE: &[&str] = &[];
const NET: &[&str] = &["erlang", "go", "tokio"];
const BEAM_NET: &[&str] = &["erlang"];
/// Distribution: Ember's nodes beside two `erl` nodes (benches/dist_peers.rs).
const BEAM_DIST: &[&str] = &["erlang"];

const fn w(
    id: &'static str,
    group: &'static str,
    unit: &'static str,
    peers: &'static [&'static str],
    what: &'static str,
) -> Workload {
    Workload { id, group, unit, primary: true, peers, what }
}

const fn extra(
    id: &'static str,
    group: &'static str,
    unit: &'static str,
    peers: &'static [&'static str],
    what: &'static str,
) -> Workload {
    Workload { id, group, unit, primary: false, peers, what }
}

/// Every workload, in report order.
pub const WORKLOADS: &[Workload] = &[
    w("spawn_1m", "Processes", "procs/s", CORE, "1,000,000 processes that each send one message to the root and exit; first spawn → last message."),
    w("skynet_1m", "Processes", "s", CORE, "skynet: a tree of 1,111,111 processes (10 children per node, 1,000,000 leaves) summing 0..999,999; time to the sum."),
    w("ping_pong", "Processes", "roundtrips/s", CORE, "two processes, 1,000,000 request/reply round trips."),
    w("ring_1000x10000", "Processes", "hops/s", CORE, "a ring of 1,000 processes passes one token 10,000 laps (10M hops)."),
    w("ring_10000x1000", "Processes", "hops/s", CORE, "a ring of 10,000 processes passes one token 1,000 laps (10M hops)."),
    w("mem_idle_100k", "Memory", "bytes/proc", IDLE, "100,000 processes blocked in receive: VmRSS delta / N."),
    extra("mem_idle_100k_vm", "Memory", "bytes/proc", BEAM, "the BEAM's own accounting (`erlang:memory(processes)`) of the same."),
    extra("mem_idle_100k_pte", "Memory", "bytes/proc", NONE, "page tables (VmPTE, not part of VmRSS) delta / N."),
    w("mem_idle_1m", "Memory", "bytes/proc", IDLE, "1,000,000 processes blocked in receive: VmRSS delta / N."),
    extra("mem_idle_1m_vm", "Memory", "bytes/proc", BEAM, "the BEAM's own accounting of the same."),
    extra("mem_idle_1m_pte", "Memory", "bytes/proc", NONE, "page tables delta / N."),
    w("mem_hibernated_genserver_1m", "Memory", "bytes/proc", ACTORS, "1,000,000 unlinked GenServers whose init hibernates (ractor: idle actors; it has no hibernation): VmRSS delta / N."),
    extra("mem_hibernated_genserver_1m_vm", "Memory", "bytes/proc", BEAM, "the BEAM's own accounting of the same."),
    extra("mem_hibernated_genserver_1m_pte", "Memory", "bytes/proc", NONE, "page tables delta / N."),
    w("exit_cascade_100k", "Links and monitors", "ms", BEAM, "a chain of 100,000 linked processes: kill of the head → DOWN of the tail."),
    w("monitor_down", "Links and monitors", "ops/s", BEAM, "100,000 × (monitor, stop the process, receive its DOWN)."),
    w("genserver_call_1", "GenServer", "calls/s", ACTORS, "one caller, 1,000,000 calls to one server."),
    w("genserver_call_100", "GenServer", "calls/s", ACTORS, "100 concurrent callers × 10,000 calls to one server."),
    w("restart_latency_median", "Supervisor", "us", ACTORS, "one_for_one supervisor, named child killed 10,000 times: kill → the new child's init message, median."),
    w("restart_latency_p99", "Supervisor", "us", ACTORS, "the same, 99th percentile."),
    w("sup_static_10k_start", "Supervisor", "ms", BEAM, "start_link of a supervisor with 10,000 static GenServer children."),
    w("sup_static_10k_shutdown", "Supervisor", "ms", BEAM, "stop of that supervisor (children stopped one by one, reverse order)."),
    w("sup_static_100k_start", "Supervisor", "ms", NONE, "start_link of a supervisor with 100,000 static GenServer children."),
    w("sup_static_100k_shutdown", "Supervisor", "ms", NONE, "stop of that supervisor (children stopped one by one, reverse order)."),
    extra("sup_static_100k_start_child", "Supervisor", "ms", NONE, "OTP's scale_start_stop_many_children: 100,000 × start_child on an empty supervisor."),
    extra("sup_static_100k_terminate_child", "Supervisor", "ms", NONE, "then 100,000 × terminate_child by id, in start order."),
    w("dynsup_start_child_100k", "DynamicSupervisor", "children/s", BEAM, "100,000 start_child of a GenServer from one caller (erlang: simple_one_for_one)."),
    w("dynsup_idle_1m_rss", "DynamicSupervisor", "bytes/child", BEAM, "1,000,000 hibernated GenServer children under one supervisor: VmRSS delta / N."),
    extra("dynsup_idle_1m_rss_total", "DynamicSupervisor", "MiB", BEAM, "the same, total VmRSS delta."),
    w("dynsup_shutdown_100k", "DynamicSupervisor", "ms", BEAM, "stop of a DynamicSupervisor with 100,000 hibernated children."),
    w("dynsup_shutdown_1m", "DynamicSupervisor", "ms", BEAM, "stop of a DynamicSupervisor with 1,000,000 hibernated children."),
    w("partition_start_child_2x2", "DynamicSupervisor", "children/s", ELIXIR, "2 callers × 50,000 start_child through a 2-partition PartitionSupervisor (caller k → partition k)."),
    w("dynsup_start_child_2callers", "DynamicSupervisor", "children/s", ELIXIR, "the same 2 × 50,000 against one DynamicSupervisor."),
    w("registry_lookup_1core", "Registry", "lookups/s", ELIXIR, "1 process, 1,000,000 lookups of random keys among 10,000 unique keys."),
    w("registry_lookup_2cores", "Registry", "lookups/s", ELIXIR, "2 concurrent processes, 1,000,000 lookups each."),
    w("registry_register_unregister", "Registry", "ops/s", ELIXIR, "1,000,000 × (register a fresh key + unregister it)."),
    w("via_call", "Registry", "calls/s", ELIXIR, "1,000,000 GenServer calls through a via-Registry name."),
    w("pid_call", "Registry", "calls/s", ELIXIR, "the same calls through the pid."),
    w("net_echo_1", "Network", "roundtrips/s", NET, "line echo on loopback, 1 connection, closed loop (benches/peers/net: one load generator for every server)."),
    w("net_echo_100", "Network", "roundtrips/s", NET, "the same, 100 connections."),
    w("net_echo_10k", "Network", "roundtrips/s", NET, "the same, 10,000 connections."),
    w("net_accept", "Network", "conns/s", NET, "4 clients × (connect, echo one line, close): accepted connections per second."),
    w("net_idle_10k_mem", "Network", "bytes/conn", NET, "10,000 idle connections (a process/goroutine/task each, blocked in read after one echo): server VmRSS delta / N."),
    w("net_idle_10k_mem_hibernated", "Network", "bytes/conn", BEAM_NET, "the same, with a handler that waits in active mode, hibernated (Erlang: {active, once} + erlang:hibernate/3)."),
    w("http_hello", "Network", "requests/s", NET, "minimal HTTP/1.1 hello, keep-alive GET / on 100 connections."),
    w("dist_roundtrip", "Distribution", "roundtrips/s", BEAM_DIST, "Erlang distribution on loopback: a client sends {Self, I} by name to the other node's echo, which sends I back; 20,000 in sequence. Ember: Ember↔Ember; Erlang: BEAM↔BEAM."),
    w("dist_roundtrip_to_beam", "Distribution", "roundtrips/s", BEAM_DIST, "the same, an Ember client and a BEAM server (Erlang: BEAM↔BEAM)."),
    w("dist_roundtrip_from_beam", "Distribution", "roundtrips/s", BEAM_DIST, "the same, a BEAM client and an Ember server (Erlang: BEAM↔BEAM)."),
    w("dist_throughput", "Distribution", "msgs/s", BEAM_DIST, "200,000 {Self, I} sent by name to the other node's sink, until its count comes back. Ember: Ember↔Ember; Erlang: BEAM↔BEAM."),
    w("dist_throughput_to_beam", "Distribution", "msgs/s", BEAM_DIST, "the same, an Ember client and a BEAM server (Erlang: BEAM↔BEAM)."),
    w("dist_throughput_from_beam", "Distribution", "msgs/s", BEAM_DIST, "the same, a BEAM client and an Ember server (Erlang: BEAM↔BEAM)."),
];

/// The catalogue entry of a result id.
pub fn find(id: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|w| w.id == id)
}

/// A ratio column of a results table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ratio {
    /// Ember's advantage over one peer.
    Vs(&'static str),
    /// Ember's advantage over the strongest of these peers (the one Ember
    /// leads least, or trails most) among those measured for the row; the
    /// cell names it.
    BestOf(&'static [&'static str]),
}

/// A results table: Ember beside one family of peers.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    /// Heading.
    pub title: &'static str,
    /// The peers' columns, in order.
    pub impls: &'static [&'static str],
    /// The ratio columns, after the figures.
    pub ratios: &'static [Ratio],
}

/// Go, tokio and may: the runtimes a Rust user weighs against Ember's
/// process core.
pub const CORE_RIVALS: &[&str] = &["go", "tokio", "may"];

/// The results tables, in report order. A workload is in every table that
/// has one of its peers; one without any peer (an Ember-only figure) is in
/// the first.
pub const TABLES: &[Table] = &[
    Table {
        title: "Ember and the BEAM",
        impls: &["erlang", "elixir"],
        ratios: &[Ratio::Vs("erlang"), Ratio::Vs("elixir")],
    },
    Table {
        title: "Ember, Go and the Rust runtimes",
        impls: &["go", "tokio", "may", "ractor"],
        ratios: &[Ratio::BestOf(CORE_RIVALS), Ratio::Vs("ractor")],
    },
];

/// What a target compares Ember's median with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// Ember's median ≥ this (rates).
    AtLeast(f64),
    /// Ember's median ≤ this (times, sizes).
    AtMost(f64),
    /// Ember's median < this.
    Below(f64),
    /// Ember's advantage over a peer measured in the same sitting is at
    /// least `factor` (strictly more than 1 when `factor` is 1: "faster
    /// than"). When the peer was not measured, `quoted` (the issue's figure
    /// on this machine kind) stands in, labelled as quoted.
    Peer { peer: &'static str, factor: f64, quoted: Option<f64> },
    /// Ember's advantage over the strongest of these peers measured in the
    /// same sitting (see [`Ratio::BestOf`]) is at least `factor`.
    BestOf { peers: &'static [&'static str], factor: f64 },
    /// Ember produced a figure at all (e.g. "1M must work with the default
    /// settings of this machine").
    Works,
}

/// A target from an issue.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The result id it is about.
    pub workload: &'static str,
    /// The issue that sets it.
    pub issue: u32,
    /// The issue's wording, short.
    pub text: &'static str,
    /// How it is checked.
    pub goal: Goal,
    /// A stretch goal (reported, but not a requirement).
    pub stretch: bool,
}

const fn t(workload: &'static str, issue: u32, text: &'static str, goal: Goal) -> Target {
    Target { workload, issue, text, goal, stretch: false }
}

/// The targets of the issues, in report order.
pub const TARGETS: &[Target] = &[
    t("spawn_1m", 3, "≥ 3× the BEAM's rate, same sitting", Goal::Peer { peer: "erlang", factor: 3.0, quoted: None }),
    t(
        "spawn_1m",
        3,
        "ahead of Go (2.4M/s on this machine kind)",
        Goal::Peer { peer: "go", factor: 1.0, quoted: Some(2.4e6) },
    ),
    t("spawn_1m", 3, "ahead of tokio (1.55M/s)", Goal::Peer { peer: "tokio", factor: 1.0, quoted: Some(1.55e6) }),
    Target { workload: "spawn_1m", issue: 3, text: "stretch: 5M/s", goal: Goal::AtLeast(5e6), stretch: true },
    t(
        "skynet_1m",
        3,
        "faster than the BEAM (3.7 s here)",
        Goal::Peer { peer: "erlang", factor: 1.0, quoted: Some(3.7) },
    ),
    t("skynet_1m", 3, "faster than Go (0.90 s)", Goal::Peer { peer: "go", factor: 1.0, quoted: Some(0.90) }),
    t("skynet_1m", 3, "faster than tokio (0.71 s)", Goal::Peer { peer: "tokio", factor: 1.0, quoted: Some(0.71) }),
    t("ping_pong", 3, "≥ 5M round trips/s", Goal::AtLeast(5e6)),
    t("ring_1000x10000", 3, "≥ 8M hops/s", Goal::AtLeast(8e6)),
    t("ring_10000x1000", 3, "≥ 8M hops/s", Goal::AtLeast(8e6)),
    t("mem_idle_100k", 3, "≤ 5 KiB per suspended process", Goal::AtMost(5120.0)),
    t("mem_idle_1m", 3, "≤ 5 KiB per suspended process", Goal::AtMost(5120.0)),
    t("mem_idle_1m", 3, "1M processes work with this machine's default settings", Goal::Works),
    t(
        "genserver_call_1",
        5,
        "≥ 3× Elixir's GenServer.call, same sitting",
        Goal::Peer { peer: "elixir", factor: 3.0, quoted: None },
    ),
    t(
        "genserver_call_100",
        5,
        "≥ 3× Elixir's GenServer.call, same sitting",
        Goal::Peer { peer: "elixir", factor: 3.0, quoted: None },
    ),
    t("mem_hibernated_genserver_1m", 5, "≤ 1 KiB per hibernated GenServer", Goal::AtMost(1024.0)),
    t("restart_latency_median", 6, "median ≤ 5 µs", Goal::AtMost(5.0)),
    t("restart_latency_p99", 6, "p99 ≤ 30 µs", Goal::AtMost(30.0)),
    t("dynsup_start_child_100k", 7, "≥ 500K start_child/s", Goal::AtLeast(5e5)),
    t("dynsup_idle_1m_rss", 7, "1M idle children work with default kernel settings", Goal::Works),
    t("dynsup_idle_1m_rss_total", 7, "≤ 1.5 GiB in total", Goal::AtMost(1536.0)),
    t("dynsup_shutdown_100k", 7, "< 200 ms", Goal::Below(200.0)),
    t("dynsup_shutdown_1m", 7, "< 2 s", Goal::Below(2000.0)),
    t("spawn_1m", 15, "≥ 1.5× the best of Go, tokio, may", Goal::BestOf { peers: CORE_RIVALS, factor: 1.5 }),
    t("skynet_1m", 15, "≥ 1.5× the best of Go, tokio, may", Goal::BestOf { peers: CORE_RIVALS, factor: 1.5 }),
    t("ping_pong", 15, "≥ 2× the best of Go, tokio, may", Goal::BestOf { peers: CORE_RIVALS, factor: 2.0 }),
    t("ring_1000x10000", 15, "≥ 1.5× the best of Go, tokio, may", Goal::BestOf { peers: CORE_RIVALS, factor: 1.5 }),
    t("ring_10000x1000", 15, "≥ 1.5× the best of Go, tokio, may", Goal::BestOf { peers: CORE_RIVALS, factor: 1.5 }),
    t("genserver_call_1", 15, "≥ 4× Elixir", Goal::Peer { peer: "elixir", factor: 4.0, quoted: None }),
    t("genserver_call_1", 15, "≥ 2× ractor", Goal::Peer { peer: "ractor", factor: 2.0, quoted: None }),
    t("genserver_call_100", 15, "≥ 4× Elixir", Goal::Peer { peer: "elixir", factor: 4.0, quoted: None }),
    t("genserver_call_100", 15, "≥ 2× ractor", Goal::Peer { peer: "ractor", factor: 2.0, quoted: None }),
    t("exit_cascade_100k", 15, "ahead of Erlang", Goal::Peer { peer: "erlang", factor: 1.0, quoted: None }),
    t("monitor_down", 15, "ahead of Erlang", Goal::Peer { peer: "erlang", factor: 1.0, quoted: None }),
    t("dynsup_start_child_100k", 15, "≥ 3× Elixir (cold)", Goal::Peer { peer: "elixir", factor: 3.0, quoted: None }),
    t("mem_idle_100k", 15, "≤ 4.3 KB per idle process", Goal::AtMost(4300.0)),
    t("mem_idle_1m", 15, "≤ 4.3 KB per idle process", Goal::AtMost(4300.0)),
    t("mem_hibernated_genserver_1m", 15, "≤ 512 B per hibernated GenServer", Goal::AtMost(512.0)),
    t("net_echo_100", 16, "≥ 1.5× Go, same sitting", Goal::Peer { peer: "go", factor: 1.5, quoted: None }),
    t("net_echo_100", 16, "≥ 1.5× tokio, same sitting", Goal::Peer { peer: "tokio", factor: 1.5, quoted: None }),
    t("net_echo_10k", 16, "≥ 1.5× Go, same sitting", Goal::Peer { peer: "go", factor: 1.5, quoted: None }),
    t("net_echo_10k", 16, "≥ 1.5× tokio, same sitting", Goal::Peer { peer: "tokio", factor: 1.5, quoted: None }),
    t(
        "net_idle_10k_mem",
        16,
        "an idle connection smaller than Go's goroutine per connection",
        Goal::Peer { peer: "go", factor: 1.0, quoted: None },
    ),
    t("dist_roundtrip", 17, "Ember↔Ember ahead of BEAM↔BEAM", Goal::Peer { peer: "erlang", factor: 1.0, quoted: None }),
    t(
        "dist_throughput",
        17,
        "Ember↔Ember ahead of BEAM↔BEAM",
        Goal::Peer { peer: "erlang", factor: 1.0, quoted: None },
    ),
    t(
        "dist_roundtrip_to_beam",
        17,
        "within 20 % of BEAM↔BEAM",
        Goal::Peer { peer: "erlang", factor: 0.8, quoted: None },
    ),
    t(
        "dist_roundtrip_from_beam",
        17,
        "within 20 % of BEAM↔BEAM",
        Goal::Peer { peer: "erlang", factor: 0.8, quoted: None },
    ),
    t(
        "dist_throughput_to_beam",
        17,
        "within 20 % of BEAM↔BEAM",
        Goal::Peer { peer: "erlang", factor: 0.8, quoted: None },
    ),
    t(
        "dist_throughput_from_beam",
        17,
        "within 20 % of BEAM↔BEAM",
        Goal::Peer { peer: "erlang", factor: 0.8, quoted: None },
    ),
];

/// A figure an issue quotes, shown beside a workload for context (not a
/// target, not re-measured here).
#[derive(Clone, Copy, Debug)]
pub struct Quote {
    /// The result id it is about.
    pub workload: &'static str,
    /// The issue quoting it.
    pub issue: u32,
    /// Whose figure (`tokio`, `go`, `erlang`, `elixir`).
    pub who: &'static str,
    /// The figure, in the workload's unit.
    pub value: f64,
}

const fn q(workload: &'static str, issue: u32, who: &'static str, value: f64) -> Quote {
    Quote { workload, issue, who, value }
}

/// Figures quoted by the issues, shown only when that peer was not measured
/// in the sitting.
pub const QUOTES: &[Quote] = &[
    q("spawn_1m", 3, "go", 2.4e6),
    q("spawn_1m", 3, "tokio", 1.55e6),
    q("skynet_1m", 3, "erlang", 3.7),
    q("skynet_1m", 3, "go", 0.90),
    q("skynet_1m", 3, "tokio", 0.71),
    q("ping_pong", 3, "erlang", 1.56e6),
    q("ping_pong", 3, "go", 3.35e6),
    q("ping_pong", 3, "tokio", 3.09e6),
    q("ring_1000x10000", 3, "erlang", 3.3e6),
    q("ring_1000x10000", 3, "tokio", 6.7e6),
    q("ring_10000x1000", 3, "erlang", 3.3e6),
    q("ring_10000x1000", 3, "tokio", 6.7e6),
    q("mem_hibernated_genserver_1m", 5, "erlang", 2662.0),
    q("restart_latency_median", 6, "erlang", 15.0),
    q("restart_latency_p99", 6, "erlang", 35.0),
    q("dynsup_start_child_100k", 7, "elixir", 113e3),
    q("dynsup_start_child_100k", 7, "erlang", 164e3),
    q("dynsup_shutdown_100k", 7, "erlang", 1500.0),
    q("dynsup_shutdown_100k", 7, "elixir", 26600.0),
];

/// How to install a peer's toolchain on Debian/Ubuntu.
pub fn install_hint(implementation: &str) -> &'static str {
    match implementation {
        "erlang" => "apt-get install erlang",
        "elixir" => "apt-get install elixir",
        "go" => "apt-get install golang-go",
        "tokio" | "may" | "ractor" => "install Rust with rustup; benches/peers/run-peers.sh builds the Rust peers",
        _ => "",
    }
}

/// Display name of an implementation.
pub fn display(implementation: &str) -> &str {
    match implementation {
        "ember" => "Ember",
        "erlang" => "Erlang",
        "elixir" => "Elixir",
        "go" => "Go",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_and_quote_names_a_primary_or_extra_workload() {
        for t in TARGETS {
            assert!(find(t.workload).is_some(), "{}", t.workload);
        }
        for q in QUOTES {
            assert!(find(q.workload).is_some(), "{}", q.workload);
        }
        for w in WORKLOADS {
            for p in w.peers {
                assert!(TABLES.iter().any(|t| t.impls.contains(p)), "{}: {p} has a column", w.id);
            }
        }
        let mut ids: Vec<&str> = WORKLOADS.iter().map(|w| w.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), WORKLOADS.len(), "ids are unique");
    }
}
