//! Chaos: a three-level tree using every strategy, random kills of workers
//! and supervisors (a deterministic xorshift sequence) for a bounded number
//! of rounds. After each kill the test waits for exactly the starts the
//! strategies call for (every node reports its starts); at the end every
//! permanent child runs under its supervisor, the start counts match the
//! model, and no process is left over.

mod common;

use common::*;
use ember_runtime::{monitor, receive_if_timeout, send, Down, Pid, Reason};
use ember_supervisor::{ChildPid, ChildSpec, Strategy, Supervisor, SupervisorOptions};
use std::collections::HashMap;

const ROUNDS: usize = 1_000;
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// Marsaglia's xorshift64.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone)]
enum Node {
    Worker(String),
    Sup(String, Strategy, Vec<Node>),
}

impl Node {
    fn id(&self) -> &str {
        match self {
            Node::Worker(id) | Node::Sup(id, ..) => id,
        }
    }

    /// This node and everything under it.
    fn subtree(&self) -> Vec<String> {
        let mut out = vec![self.id().to_string()];
        if let Node::Sup(_, _, children) = self {
            for c in children {
                out.extend(c.subtree());
            }
        }
        out
    }

    fn spec(&self, observer: Pid) -> ChildSpec {
        match self {
            Node::Worker(id) => worker_for(id, observer),
            Node::Sup(id, strategy, children) => {
                let specs: Vec<ChildSpec> = children.iter().map(|c| c.spec(observer)).collect();
                let options = SupervisorOptions::new(*strategy).max_restarts(1_000_000);
                let id_s = id.clone();
                ChildSpec::new(id.as_str(), move || {
                    let started = Supervisor::start_link(specs.clone(), options.clone());
                    if let Ok(sup) = &started {
                        send(observer, Event::Started(id_s.clone(), sup.pid().unwrap()));
                    }
                    started
                })
                .supervisor()
            }
        }
    }
}

fn w(id: &str) -> Node {
    Node::Worker(id.into())
}

fn sup(id: &str, strategy: Strategy, children: Vec<Node>) -> Node {
    Node::Sup(id.into(), strategy, children)
}

/// root (one_for_one) → three supervisors, one per strategy → workers and a
/// leaf supervisor each (again every strategy) → workers.
fn tree() -> Vec<Node> {
    vec![
        sup(
            "A",
            Strategy::OneForAll,
            vec![
                w("A.w1"),
                w("A.w2"),
                sup("A.L", Strategy::RestForOne, vec![w("A.L.w1"), w("A.L.w2"), w("A.L.w3")]),
                w("A.w3"),
            ],
        ),
        sup(
            "B",
            Strategy::RestForOne,
            vec![w("B.w1"), sup("B.L", Strategy::OneForAll, vec![w("B.L.w1"), w("B.L.w2")]), w("B.w2"), w("B.w3")],
        ),
        sup(
            "C",
            Strategy::OneForOne,
            vec![w("C.w1"), sup("C.L", Strategy::OneForOne, vec![w("C.L.w1"), w("C.L.w2")]), w("C.w2")],
        ),
    ]
}

/// Where each node sits: its parent's strategy and its siblings (in start
/// order) with its index among them.
struct Place {
    strategy: Strategy,
    siblings: Vec<Node>,
    index: usize,
}

fn places(strategy: Strategy, children: &[Node], out: &mut HashMap<String, Place>) {
    for (index, child) in children.iter().enumerate() {
        out.insert(child.id().to_string(), Place { strategy, siblings: children.to_vec(), index });
        if let Node::Sup(_, s, grandchildren) = child {
            places(*s, grandchildren, out);
        }
    }
}

/// The nodes a crash of `id` starts again.
fn restarted_by(place: &Place) -> Vec<String> {
    let scope: Vec<&Node> = match place.strategy {
        Strategy::OneForOne => vec![&place.siblings[place.index]],
        Strategy::OneForAll => place.siblings.iter().collect(),
        Strategy::RestForOne => place.siblings[place.index..].iter().collect(),
    };
    scope.into_iter().flat_map(|n| n.subtree()).collect()
}

#[test]
fn chaos() {
    run(|| {
        let me = ember_runtime::self_pid();
        let nodes = tree();
        let mut place = HashMap::new();
        places(Strategy::OneForOne, &nodes, &mut place);
        let all: Vec<String> = nodes.iter().flat_map(|n| n.subtree()).collect();
        let supervisors: Vec<String> =
            all.iter().filter(|id| matches!(place[*id].siblings[place[*id].index], Node::Sup(..))).cloned().collect();

        let root = Supervisor::start_link(
            nodes.iter().map(|n| n.spec(me)).collect(),
            SupervisorOptions::one_for_one().max_restarts(1_000_000),
        )
        .unwrap();

        let mut current: HashMap<String, Pid> = HashMap::new();
        let mut starts: HashMap<String, usize> = HashMap::new();
        let mut expected_starts: HashMap<String, usize> = HashMap::new();
        let mut every_pid: Vec<Pid> = Vec::new();
        let mut collect = |expected: Vec<String>,
                           current: &mut HashMap<String, Pid>,
                           starts: &mut HashMap<String, usize>,
                           round: usize| {
            let mut pending: HashMap<String, usize> = HashMap::new();
            for id in expected {
                *pending.entry(id).or_default() += 1;
            }
            while pending.values().any(|&n| n > 0) {
                match next_event() {
                    Event::Started(id, pid) => {
                        let n =
                            pending.get_mut(&id).unwrap_or_else(|| panic!("round {round}: unexpected start of {id}"));
                        assert!(*n > 0, "round {round}: {id} started once too often");
                        *n -= 1;
                        current.insert(id.clone(), pid);
                        *starts.entry(id).or_default() += 1;
                        every_pid.push(pid);
                    }
                    Event::Stopped(..) => {}
                    other => panic!("round {round}: {other:?}"),
                }
            }
        };

        for id in &all {
            *expected_starts.entry(id.clone()).or_default() += 1;
        }
        collect(all.clone(), &mut current, &mut starts, 0);

        let mut rng = XorShift(SEED);
        let mut kills = 0;
        for round in 1..=ROUNDS {
            let target = &all[rng.below(all.len())];
            let pid = current[target];
            let is_sup = supervisors.contains(target);
            let m = monitor(pid);
            if !is_sup && rng.below(2) == 0 {
                ember_runtime::gen_server::Server::<Worker>::new(pid).cast(Cmd::Panic);
            } else {
                pid.exit(Reason::Kill);
            }
            receive_if_timeout(|d: &Down| d.monitor == m, BOUND).expect("the target did not die");
            kills += 1;
            let expected = restarted_by(&place[target]);
            for id in &expected {
                *expected_starts.entry(id.clone()).or_default() += 1;
            }
            collect(expected, &mut current, &mut starts, round);
        }
        assert_eq!(kills, ROUNDS);

        // Every child of every supervisor runs, with the pid it reported last.
        let check = |sup_handle: Supervisor| {
            for child in sup_handle.which_children().unwrap() {
                let id = child.id.unwrap().to_string();
                match child.pid {
                    ChildPid::Running(p) => {
                        assert_eq!(p, current[&id], "{id}");
                        assert!(p.is_alive(), "{id}");
                    }
                    other => panic!("{id} is {other:?}"),
                }
            }
        };
        check(root.clone());
        for id in &supervisors {
            check(Supervisor::new(current[id]));
        }
        // No restart happened behind the model's back.
        assert!(drain().iter().all(|e| matches!(e, Event::Stopped(..))));
        assert_eq!(starts, expected_starts);

        // Every old incarnation is gone, and nothing else is left over.
        let live: Vec<Pid> = current.values().copied().collect();
        for pid in every_pid.iter().filter(|p| !live.contains(p)) {
            wait_down(*pid);
        }
        let expected_processes = 1 + 1 + all.len(); // the test, the root, the tree
        assert_eq!(settle_processes(expected_processes), expected_processes);
        root.stop(Reason::Shutdown, None).unwrap();
        assert_eq!(settle_processes(1), 1);
        drain();
    });
}
