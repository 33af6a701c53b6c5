//! Chaos: 10,000 processes in random link graphs, some trapping exits; random
//! members are killed with random reasons, and every process must end exactly
//! as SEMANTICS.md tables 1.4, 1.5 and 1.6 predict. Nothing may leak.
//!
//! The graph is a forest of small connected components and each component
//! gets at most one fatal event, so the prediction is exact: in a component,
//! every process that dies dies with the same reason, and which signal
//! reaches a process first does not matter. Trapping processes never die
//! (unless one is the victim of a kill or told to exit itself); they report
//! every `Exit` message they got, one per linked neighbour that died.

mod common;

use common::{init, recv_if, wait_processes, wait_until, Rng, BOUND};
use ember_runtime::{
    exit, link, receive, self_pid, send, spawn_monitor, stats, trap_exit, Down, Exit, Pid, Reason, Select,
};
use std::collections::{HashMap, HashSet, VecDeque};

const PROCESSES: usize = 10_000;
/// The default seed; set `EMBER_CHAOS_SEED` to try another one.
const SEED: u64 = 0x5eed_c0ff_ee15_600d;

fn seed() -> u64 {
    std::env::var("EMBER_CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(SEED)
}

/// What happens to one member of a component.
#[derive(Clone, Debug)]
enum Event {
    /// The test process sends it an exit signal (`Pid::exit`).
    Signal(Reason),
    /// It is told to call `exit(reason)` itself (a link-flag `Kill` stays
    /// `Kill`).
    SelfExit(Reason),
}

enum Cmd {
    Links(Vec<Pid>),
    SelfExit(Reason),
    Report,
    Final,
}

enum Msg {
    Linked(usize),
    Report(usize, Vec<Exit>),
}

fn member(root: Pid, index: usize, trapping: bool) -> impl FnOnce() + Send + 'static {
    move || {
        trap_exit(trapping);
        let Cmd::Links(links) = receive::<Cmd>() else { panic!("links first") };
        for pid in links {
            link(pid).expect("every member is alive while the graph is built");
        }
        send(root, Msg::Linked(index));
        let mut exits = Vec::new();
        loop {
            let report = Select::new()
                .on(|e: Exit| {
                    exits.push(e);
                    false
                })
                .on(|c: Cmd| match c {
                    Cmd::SelfExit(reason) => exit(reason),
                    Cmd::Report => true,
                    Cmd::Links(_) | Cmd::Final => panic!("unexpected command"),
                })
                .wait();
            if report {
                break;
            }
        }
        send(root, Msg::Report(index, exits));
        loop {
            if let Cmd::Final = receive::<Cmd>() {
                return;
            }
        }
    }
}

/// The scenario: graph, trapping flags and one event per affected component.
struct Scenario {
    trapping: Vec<bool>,
    neighbours: Vec<Vec<usize>>,
    /// Edges (a, b) with a < b: `a` calls `link(b)`.
    edges: Vec<(usize, usize)>,
    events: Vec<(usize, Event)>,
}

fn scenario() -> Scenario {
    let mut rng = Rng::new(seed());
    let trapping: Vec<bool> = (0..PROCESSES).map(|_| rng.chance(25)).collect();
    let mut edges = HashSet::new();
    let mut events = Vec::new();
    let mut start = 0;
    let mut component = 0u32;
    while start < PROCESSES {
        let size = (1 + rng.below(16) as usize).min(PROCESSES - start);
        // A random spanning tree, then a few extra edges.
        for j in 1..size {
            let parent = start + rng.below(j as u64) as usize;
            edges.insert((parent, start + j));
        }
        for _ in 0..size / 2 {
            let a = start + rng.below(size as u64) as usize;
            let b = start + rng.below(size as u64) as usize;
            if a != b {
                edges.insert((a.min(b), a.max(b)));
            }
        }
        if rng.chance(85) {
            let victim = start + rng.below(size as u64) as usize;
            let reason = match rng.below(5) {
                0 => Reason::Kill,
                1 => Reason::custom(component),
                2 => Reason::Normal,
                3 => Reason::Shutdown,
                _ => Reason::shutdown_with(component),
            };
            let event = if rng.chance(70) { Event::Signal(reason) } else { Event::SelfExit(reason) };
            events.push((victim, event));
        }
        start += size;
        component += 1;
    }
    let mut edges: Vec<_> = edges.into_iter().collect();
    edges.sort_unstable();
    let mut neighbours = vec![Vec::new(); PROCESSES];
    for &(a, b) in &edges {
        neighbours[a].push(b);
        neighbours[b].push(a);
    }
    Scenario { trapping, neighbours, edges, events }
}

/// Who sent an `Exit`: a member, or the test process.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Sender {
    Member(usize),
    Root,
}

struct Prediction {
    /// The reason each member ends with (survivors end `Normal` when told).
    reasons: Vec<Reason>,
    dies: Vec<bool>,
    /// The `Exit` messages each member receives (sorted).
    exits: Vec<Vec<(Sender, String)>>,
}

/// Simulates tables 1.4/1.5/1.6 over the graph.
fn predict(s: &Scenario) -> Prediction {
    let mut dies = vec![false; PROCESSES];
    let mut reasons = vec![Reason::Normal; PROCESSES];
    let mut exits: Vec<Vec<(Sender, String)>> = vec![Vec::new(); PROCESSES];
    for (victim, event) in &s.events {
        let v = *victim;
        // How the victim itself ends: `Some(reason)` if it dies.
        let death = match event {
            Event::SelfExit(reason) => Some(reason.clone()),
            Event::Signal(Reason::Kill) => Some(Reason::Killed), // row 2
            Event::Signal(reason) if s.trapping[v] => {
                exits[v].push((Sender::Root, format!("{reason:?}"))); // rows 6, 8
                None
            }
            Event::Signal(Reason::Normal) => None,         // row 5
            Event::Signal(reason) => Some(reason.clone()), // row 7
        };
        let Some(reason) = death else { continue };
        // Propagation through links (§1.5): every link signal carries the
        // dying member's reason, unchanged (a link-flag Kill stays Kill).
        dies[v] = true;
        reasons[v] = reason.clone();
        let mut queue = VecDeque::from([v]);
        while let Some(d) = queue.pop_front() {
            for &n in &s.neighbours[d] {
                if dies[n] {
                    continue;
                }
                if s.trapping[n] {
                    exits[n].push((Sender::Member(d), format!("{reason:?}"))); // rows 6, 8
                } else if !reason.is_normal() {
                    dies[n] = true; // row 7
                    reasons[n] = reason.clone();
                    queue.push_back(n);
                } // row 5: normal is dropped
            }
        }
    }
    for e in &mut exits {
        e.sort();
    }
    Prediction { reasons, dies, exits }
}

#[test]
fn random_link_graphs_end_as_the_signal_tables_predict() {
    init();
    let s = scenario();
    let p = predict(&s);
    let expected_deaths = p.dies.iter().filter(|d| **d).count();
    let trapped: usize = p.exits.iter().map(Vec::len).sum();
    // The scenario must exercise every path.
    assert!(expected_deaths > 1_000 && trapped > 500, "deaths {expected_deaths}, exits {trapped}");
    for kind in [Reason::Killed, Reason::Kill, Reason::Shutdown] {
        assert!(p.reasons.iter().zip(&p.dies).any(|(r, d)| *d && *r == kind), "nobody dies with {kind:?}");
    }
    common::run(move || {
        let root = self_pid();
        let start_stacks = stats().stacks_in_use;
        let mut pids = Vec::with_capacity(PROCESSES);
        let mut monitors = HashMap::with_capacity(PROCESSES);
        for i in 0..PROCESSES {
            let (pid, m) = spawn_monitor(member(root, i, s.trapping[i]));
            pids.push(pid);
            monitors.insert(m, i);
        }
        let index: HashMap<Pid, usize> = pids.iter().enumerate().map(|(i, p)| (*p, i)).collect();

        // Build the graph.
        let mut links = vec![Vec::new(); PROCESSES];
        for &(a, b) in &s.edges {
            links[a].push(pids[b]);
        }
        for (i, l) in links.into_iter().enumerate() {
            send(pids[i], Cmd::Links(l));
        }
        let mut linked = vec![false; PROCESSES];
        for _ in 0..PROCESSES {
            let Msg::Linked(i) = recv_if(|m: &Msg| matches!(m, Msg::Linked(_))) else { unreachable!() };
            assert!(!linked[i]);
            linked[i] = true;
        }

        // Chaos.
        for (victim, event) in &s.events {
            match event {
                Event::Signal(reason) => pids[*victim].exit(reason.clone()),
                Event::SelfExit(reason) => send(pids[*victim], Cmd::SelfExit(reason.clone())),
            }
        }

        // Every predicted death. A Down is sent after the link signals of
        // the same exit, so once they are all in, every Exit is delivered.
        let mut ended: Vec<Option<Reason>> = vec![None; PROCESSES];
        let mut downs = 0;
        while downs < expected_deaths {
            let down: Down = match ember_runtime::receive_timeout(BOUND) {
                Some(d) => d,
                None => {
                    let missing: Vec<usize> = (0..PROCESSES).filter(|i| p.dies[*i] && ended[*i].is_none()).collect();
                    panic!("{} predicted deaths missing, e.g. {:?}", missing.len(), &missing[..missing.len().min(10)]);
                }
            };
            let i = monitors[&down.monitor];
            assert!(ended[i].is_none());
            ended[i] = Some(down.reason);
            downs += 1;
        }

        // The survivors report the Exit messages they got, then end.
        let survivors: Vec<usize> = (0..PROCESSES).filter(|i| ended[*i].is_none()).collect();
        for &i in &survivors {
            send(pids[i], Cmd::Report);
        }
        let mut got: Vec<Option<Vec<(Sender, String)>>> = vec![None; PROCESSES];
        for _ in &survivors {
            let Msg::Report(i, exits) = recv_if(|m: &Msg| matches!(m, Msg::Report(..))) else { unreachable!() };
            let mut exits: Vec<(Sender, String)> = exits
                .into_iter()
                .map(|e| {
                    let from = if e.from == root { Sender::Root } else { Sender::Member(index[&e.from]) };
                    (from, format!("{:?}", e.reason))
                })
                .collect();
            exits.sort();
            got[i] = Some(exits);
        }
        for &i in &survivors {
            send(pids[i], Cmd::Final);
        }
        for _ in &survivors {
            let down: Down = ember_runtime::receive_timeout(BOUND).expect("every survivor ends");
            let i = monitors[&down.monitor];
            assert!(ended[i].is_none());
            ended[i] = Some(down.reason);
        }

        // Compare with the prediction.
        let mut wrong = Vec::new();
        for i in 0..PROCESSES {
            let reason = ended[i].clone().expect("every member ended");
            if reason != p.reasons[i] {
                wrong.push(format!(
                    "member {i} (trapping {}): ended {reason:?}, predicted {:?}",
                    s.trapping[i], p.reasons[i]
                ));
            }
            if let Some(exits) = &got[i] {
                if *exits != p.exits[i] {
                    wrong.push(format!("member {i}: got exits {exits:?}, predicted {:?}", p.exits[i]));
                }
            }
        }
        assert!(wrong.is_empty(), "{} mismatches:\n{}", wrong.len(), wrong[..wrong.len().min(20)].join("\n"));

        // Nothing leaks: only the root is alive, and every stack is back
        // (up to the stacks each worker keeps cached for reuse).
        wait_processes(1);
        assert_eq!(ember_runtime::processes(), vec![root]);
        let cached = 64 * stats().schedulers;
        wait_until("the stacks are back", || stats().stacks_in_use <= start_stacks + cached);
    });
}
