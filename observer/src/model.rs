//! What the viewer keeps between refreshes: the latest snapshot and the one
//! before (for rates), the sort order, the collapsed tree nodes, and short
//! histories (each worker's utilisation, each process's mailbox length).

use ember_runtime::{Pid, ProcessInfo, Snapshot};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// Samples kept per history.
pub const HISTORY: usize = 120;

/// How the process table is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// Reductions spent since the previous refresh, most first (total
    /// reductions on the first refresh).
    Reductions,
    /// Mailbox length, longest first.
    Mailbox,
    /// Memory, largest first.
    Memory,
    /// Label (or registered name), alphabetically; unlabelled last.
    Label,
}

impl SortKey {
    /// The column title it sorts.
    pub fn title(self) -> &'static str {
        match self {
            SortKey::Reductions => "reductions",
            SortKey::Mailbox => "mailbox",
            SortKey::Memory => "memory",
            SortKey::Label => "label",
        }
    }
}

/// One line of the supervision tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeRow {
    /// The process.
    pub pid: Pid,
    /// How deep it is (roots are 0).
    pub depth: usize,
    /// What it is called (label, else registered name, else empty).
    pub name: String,
    /// Live processes it spawned.
    pub children: usize,
    /// Its children are hidden.
    pub collapsed: bool,
}

/// The viewer's state (see the module docs).
#[derive(Debug)]
pub struct Model {
    current: Option<Snapshot>,
    previous: Option<Snapshot>,
    sort: SortKey,
    collapsed: HashSet<Pid>,
    /// Per worker: busy ratio in thousandths, oldest first.
    worker_history: Vec<VecDeque<u64>>,
    /// Per process: mailbox length, oldest first.
    mailbox_history: HashMap<Pid, VecDeque<u64>>,
}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

/// What a process is called in the viewer: its label, else its registered
/// name, else nothing.
pub fn name_of(p: &ProcessInfo) -> String {
    match (p.label.as_deref().map(short_type_name), &p.registered_name) {
        (Some(label), Some(name)) => format!("{label} ({})", name.as_str()),
        (Some(label), None) => label.to_string(),
        (None, Some(name)) => name.as_str().to_string(),
        (None, None) => String::new(),
    }
}

/// A behaviour's default label is its type's full path
/// (`my_app::cache::Cache`): the table shows the last segment (generic
/// arguments dropped); other labels are shown as they are.
pub fn short_type_name(label: &str) -> &str {
    if label.contains(char::is_whitespace) || !label.contains("::") {
        return label;
    }
    let base = label.split('<').next().unwrap_or(label);
    base.rsplit("::").next().unwrap_or(base)
}

fn push_bounded(history: &mut VecDeque<u64>, value: u64) {
    if history.len() == HISTORY {
        history.pop_front();
    }
    history.push_back(value);
}

impl Model {
    /// An empty model, sorted by reductions.
    pub fn new() -> Self {
        Model {
            current: None,
            previous: None,
            sort: SortKey::Reductions,
            collapsed: HashSet::new(),
            worker_history: Vec::new(),
            mailbox_history: HashMap::new(),
        }
    }

    /// Takes a new snapshot in: histories grow by one sample.
    pub fn update(&mut self, snapshot: Snapshot) {
        let busy: Vec<u64> = snapshot
            .workers
            .iter()
            .map(|w| {
                let over_interval = self.previous_worker_busy(&snapshot, w.index);
                (over_interval.unwrap_or(w.busy_ratio) * 1000.0).round() as u64
            })
            .collect();
        if self.worker_history.len() < busy.len() {
            self.worker_history.resize_with(busy.len(), VecDeque::new);
        }
        for (history, value) in self.worker_history.iter_mut().zip(busy) {
            push_bounded(history, value);
        }
        let live: HashSet<Pid> = snapshot.processes.iter().map(|p| p.pid).collect();
        self.mailbox_history.retain(|pid, _| live.contains(pid));
        for p in &snapshot.processes {
            push_bounded(self.mailbox_history.entry(p.pid).or_default(), p.message_queue_len as u64);
        }
        self.collapsed.retain(|pid| live.contains(pid));
        self.previous = self.current.replace(snapshot);
    }

    /// The busy ratio of worker `index` between the current snapshot and
    /// `next`, from their cumulative busy times.
    fn previous_worker_busy(&self, next: &Snapshot, index: usize) -> Option<f64> {
        let prev = self.current.as_ref()?;
        let elapsed = next.uptime_ms.checked_sub(prev.uptime_ms).filter(|&e| e > 0)?;
        let before = prev.workers.iter().find(|w| w.index == index)?.busy_ms;
        let after = next.workers.iter().find(|w| w.index == index)?.busy_ms;
        Some((after.saturating_sub(before) as f64 / elapsed as f64).min(1.0))
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.current.as_ref()
    }

    /// The sort order.
    pub fn sort(&self) -> SortKey {
        self.sort
    }

    /// Changes the sort order.
    pub fn set_sort(&mut self, key: SortKey) {
        self.sort = key;
    }

    /// Reductions `p` spent since the previous snapshot (all of them if it
    /// is new, or on the first refresh).
    pub fn reductions_delta(&self, p: &ProcessInfo) -> u64 {
        let before = self
            .previous
            .as_ref()
            .and_then(|s| s.processes.iter().find(|q| q.pid == p.pid))
            .map_or(0, |q| q.reductions);
        p.reductions.saturating_sub(before)
    }

    /// The processes in table order.
    pub fn rows(&self) -> Vec<&ProcessInfo> {
        let Some(snapshot) = &self.current else { return Vec::new() };
        let mut rows: Vec<&ProcessInfo> = snapshot.processes.iter().collect();
        match self.sort {
            SortKey::Reductions => {
                let before: HashMap<Pid, u64> =
                    self.previous.iter().flat_map(|s| s.processes.iter().map(|p| (p.pid, p.reductions))).collect();
                let delta = |p: &ProcessInfo| p.reductions.saturating_sub(before.get(&p.pid).copied().unwrap_or(0));
                rows.sort_by(|a, b| delta(b).cmp(&delta(a)).then(a.pid.cmp(&b.pid)))
            }
            SortKey::Mailbox => {
                rows.sort_by(|a, b| b.message_queue_len.cmp(&a.message_queue_len).then(a.pid.cmp(&b.pid)))
            }
            SortKey::Memory => rows.sort_by(|a, b| b.memory.cmp(&a.memory).then(a.pid.cmp(&b.pid))),
            SortKey::Label => rows.sort_by(|a, b| {
                let (x, y) = (name_of(a), name_of(b));
                (x.is_empty(), x).cmp(&(y.is_empty(), y)).then(a.pid.cmp(&b.pid))
            }),
        }
        rows
    }

    /// The process `pid` in the latest snapshot.
    pub fn process(&self, pid: Pid) -> Option<&ProcessInfo> {
        self.current.as_ref()?.processes.iter().find(|p| p.pid == pid)
    }

    /// Each worker's utilisation history, in thousandths, oldest first.
    pub fn worker_history(&self) -> &[VecDeque<u64>] {
        &self.worker_history
    }

    /// `pid`'s mailbox length history, oldest first.
    pub fn mailbox_history(&self, pid: Pid) -> Option<&VecDeque<u64>> {
        self.mailbox_history.get(&pid)
    }

    /// Shows or hides `pid`'s children in the tree.
    pub fn toggle_collapsed(&mut self, pid: Pid) {
        if !self.collapsed.remove(&pid) {
            self.collapsed.insert(pid);
        }
    }

    /// The supervision tree, depth first: each process under the process
    /// that spawned it (a supervisor's children under the supervisor);
    /// processes whose parent is gone, or that were spawned from outside,
    /// are roots. Children of a collapsed process are left out.
    pub fn tree(&self) -> Vec<TreeRow> {
        let Some(snapshot) = &self.current else { return Vec::new() };
        let live: HashSet<Pid> = snapshot.processes.iter().map(|p| p.pid).collect();
        let mut children: BTreeMap<Pid, Vec<&ProcessInfo>> = BTreeMap::new();
        let mut roots = Vec::new();
        for p in &snapshot.processes {
            match p.parent.filter(|parent| live.contains(parent) && *parent != p.pid) {
                Some(parent) => children.entry(parent).or_default().push(p),
                None => roots.push(p),
            }
        }
        roots.sort_by_key(|p| p.pid);
        for list in children.values_mut() {
            list.sort_by_key(|p| p.pid);
        }
        let mut rows = Vec::new();
        // Iterative, so a deep tree cannot overflow the viewer's stack.
        let mut stack: Vec<(&ProcessInfo, usize)> = roots.into_iter().rev().map(|p| (p, 0)).collect();
        while let Some((p, depth)) = stack.pop() {
            let kids = children.get(&p.pid).map_or(&[][..], |v| v.as_slice());
            let collapsed = self.collapsed.contains(&p.pid);
            rows.push(TreeRow { pid: p.pid, depth, name: name_of(p), children: kids.len(), collapsed });
            if !collapsed {
                stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: &str, parent: Option<&str>, label: Option<&str>, mailbox: usize, reductions: u64) -> ProcessInfo {
        serde_json::from_value(serde_json::json!({
            "pid": pid, "status": "waiting", "label": label, "mailbox_len": mailbox,
            "links": [], "monitors": [], "monitored_by": [], "registered_name": null,
            "trap_exit": false, "reductions": reductions, "stack_bytes": 100, "stack_high_water": 200, "memory": 1000 + mailbox,
            "parent": parent, "started_ms": 0, "messages_handled": 0
        }))
        .unwrap()
    }

    fn snapshot(uptime_ms: u64, busy_ms: u64, processes: Vec<ProcessInfo>) -> Snapshot {
        serde_json::from_value(serde_json::json!({
            "node": 0, "uptime_ms": uptime_ms, "processes": processes,
            "workers": [{"index": 0, "role": "active", "running": false, "held": false, "busy_ratio": 0.25,
                         "busy_ms": busy_ms, "run_queue_len": 0, "pinned_processes": 0, "steals": 0, "parks": 0,
                         "timers_pending": 0}],
            "injector_len": 0, "external_timers_pending": 0,
            "stacks": {"in_use": 1, "pooled": 0, "bytes_mapped": 0}, "blocking_threads": 0
        }))
        .unwrap()
    }

    fn pid(s: &str) -> Pid {
        s.parse().unwrap()
    }

    #[test]
    fn type_name_labels_are_shortened_and_others_kept() {
        assert_eq!(short_type_name("ember_supervisor::supervisor::server::SupervisorServer<x::Y>"), "SupervisorServer");
        assert_eq!(short_type_name("app::Cache"), "Cache");
        assert_eq!(short_type_name("ingest worker 3"), "ingest worker 3");
        assert_eq!(short_type_name("a::b c"), "a::b c");
        assert_eq!(short_type_name("growing"), "growing");
    }

    #[test]
    fn rows_sort_by_each_key() {
        let mut model = Model::new();
        model.update(snapshot(
            1000,
            0,
            vec![
                process("<0.1.0>", None, Some("b"), 5, 10),
                process("<0.2.0>", None, None, 50, 5),
                process("<0.3.0>", None, Some("a"), 0, 500),
            ],
        ));
        let order = |m: &Model| m.rows().iter().map(|p| p.pid.to_string()).collect::<Vec<_>>();
        assert_eq!(order(&model), ["<0.3.0>", "<0.1.0>", "<0.2.0>"]);
        model.set_sort(SortKey::Mailbox);
        assert_eq!(order(&model), ["<0.2.0>", "<0.1.0>", "<0.3.0>"]);
        model.set_sort(SortKey::Memory);
        assert_eq!(order(&model), ["<0.2.0>", "<0.1.0>", "<0.3.0>"]);
        model.set_sort(SortKey::Label);
        assert_eq!(order(&model), ["<0.3.0>", "<0.1.0>", "<0.2.0>"], "unlabelled last");
    }

    #[test]
    fn reductions_sort_by_what_was_spent_since_the_last_refresh() {
        let mut model = Model::new();
        model.update(snapshot(
            1000,
            0,
            vec![process("<0.1.0>", None, None, 0, 1000), process("<0.2.0>", None, None, 0, 10)],
        ));
        model.update(snapshot(
            2000,
            0,
            vec![process("<0.1.0>", None, None, 0, 1001), process("<0.2.0>", None, None, 0, 500)],
        ));
        assert_eq!(model.rows()[0].pid, pid("<0.2.0>"));
        assert_eq!(model.reductions_delta(model.rows()[0]), 490);
    }

    #[test]
    fn the_tree_nests_children_under_parents_and_collapses() {
        let mut model = Model::new();
        model.update(snapshot(
            1000,
            0,
            vec![
                process("<0.1.0>", None, Some("root"), 0, 0),
                process("<0.2.0>", Some("<0.1.0>"), Some("sup"), 0, 0),
                process("<0.3.0>", Some("<0.2.0>"), Some("worker"), 0, 0),
                process("<0.4.0>", Some("<0.9.0>"), Some("orphan"), 0, 0),
            ],
        ));
        let shape = |m: &Model| m.tree().iter().map(|r| (r.depth, r.name.clone())).collect::<Vec<_>>();
        assert_eq!(shape(&model), [(0, "root".into()), (1, "sup".into()), (2, "worker".into()), (0, "orphan".into())]);
        model.toggle_collapsed(pid("<0.2.0>"));
        assert_eq!(shape(&model), [(0, "root".into()), (1, "sup".into()), (0, "orphan".into())]);
        assert!(model.tree()[1].collapsed && model.tree()[1].children == 1);
        model.toggle_collapsed(pid("<0.2.0>"));
        assert_eq!(model.tree().len(), 4);
    }

    #[test]
    fn histories_are_bounded_and_follow_the_processes() {
        let mut model = Model::new();
        for i in 0..(HISTORY as u64 + 10) {
            model.update(snapshot(1000 * (i + 1), 500 * (i + 1), vec![process("<0.1.0>", None, None, i as usize, 0)]));
        }
        assert_eq!(model.worker_history()[0].len(), HISTORY);
        assert_eq!(*model.worker_history()[0].back().unwrap(), 500, "busy half of each interval");
        let mailbox = model.mailbox_history(pid("<0.1.0>")).unwrap();
        assert_eq!(mailbox.len(), HISTORY);
        assert_eq!(*mailbox.back().unwrap(), HISTORY as u64 + 9);
        model.update(snapshot(1_000_000, 0, vec![]));
        assert!(model.mailbox_history(pid("<0.1.0>")).is_none(), "gone with its process");
    }
}
