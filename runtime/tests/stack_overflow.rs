//! Stack overflow is a contained exit (issue 12.1): the overflowing process
//! exits with `Reason::StackOverflow`, its monitors fire, and the node keeps
//! running. Each scenario runs in a child OS process, so that a regression
//! (a SIGSEGV of the node) fails the test instead of killing the test binary.

mod common;

use common::{child, down_of, init, recv};
use ember_runtime::gen_server::{start, CallError, CallResult, GenServer, Init, ReplyTo, StartOptions};
use ember_runtime::{monitor, receive, self_pid, send, spawn, spawn_monitor, Reason};
use std::sync::mpsc;

#[inline(never)]
fn recurse(n: u64) -> u64 {
    let frame = [n; 32];
    std::hint::black_box(&frame);
    if n == u64::MAX {
        return 0;
    }
    recurse(n + 1).wrapping_add(frame[7])
}

/// A recursive-descent parser for nested brackets: one frame per level.
#[inline(never)]
fn parse(input: &[u8]) -> Result<(usize, usize), String> {
    match input.first() {
        Some(b'[') => {
            let (depth, used) = parse(&input[1..])?;
            match input.get(1 + used) {
                Some(b']') => Ok((depth + 1, used + 2)),
                _ => Err("unbalanced".into()),
            }
        }
        _ => Ok((0, 0)),
    }
}

struct Parser;

impl GenServer for Parser {
    type Arg = ();
    type Call = Vec<u8>;
    type Reply = Result<usize, String>;
    type Cast = ();
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::Ok(Parser)
    }
    fn handle_call(&mut self, input: Vec<u8>, _from: ReplyTo<Self::Reply>) -> CallResult<Self> {
        CallResult::Reply(parse(&input).map(|(depth, _)| depth))
    }
}

/// A server whose call handler has a single 256 KiB local array.
struct BigFrame;

impl GenServer for BigFrame {
    type Arg = ();
    type Call = ();
    type Reply = u8;
    type Cast = ();
    type Continue = ();
    fn init(_: ()) -> Init<Self> {
        Init::Ok(BigFrame)
    }
    fn handle_call(&mut self, _: (), _from: ReplyTo<u8>) -> CallResult<Self> {
        let buffer = [7u8; 256 * 1024];
        CallResult::Reply(std::hint::black_box(&buffer)[1000])
    }
}

fn expect_child_passes(name: &str) -> child::Ended {
    let ended = child::run(name);
    assert!(ended.passed(), "the child ended {ended:?}");
    ended
}

#[test]
fn unbounded_recursion_is_a_stack_overflow_exit() {
    let ended = expect_child_passes("unbounded_recursion_child");
    // The crash report names the pid, the stack size and the remedy.
    let report = ended.stderr.lines().find(|l| l.contains("overflowed its stack")).expect("a crash report");
    assert!(report.contains("process <0."), "{report}");
    assert!(report.contains("262144 usable bytes"), "{report}");
    assert!(report.contains("SpawnOptions::stack_size"), "{report}");
}

#[test]
#[ignore = "run in a child process by its parent test"]
fn unbounded_recursion_child() {
    if !child::is("unbounded_recursion_child") {
        return;
    }
    // No tracing subscriber in this child: the crash report goes to stderr.
    let rt = ember_runtime::Runtime::builder().schedulers(2).build().unwrap();
    rt.block_on(|| {
        for _ in 0..3 {
            let (_, m) = spawn_monitor(|| {
                recurse(0);
            });
            assert_eq!(down_of(m).reason, Reason::StackOverflow);
        }
        // The node lives on.
        let me = self_pid();
        spawn(move || send(me, 42u32));
        assert_eq!(recv::<u32>(), 42);
    })
    .unwrap();
}

#[test]
fn a_large_frame_in_handle_call_is_a_stack_overflow_exit() {
    expect_child_passes("a_large_frame_in_handle_call_child");
}

#[test]
#[ignore = "run in a child process by its parent test"]
fn a_large_frame_in_handle_call_child() {
    if !child::is("a_large_frame_in_handle_call_child") {
        return;
    }
    init();
    common::run(|| {
        let server = start::<BigFrame>((), StartOptions::new()).unwrap();
        assert_eq!(server.call(()), Err(CallError::Exited(Reason::StackOverflow)));
        // With a larger stack, the same call works.
        let options = StartOptions::new().spawn_options(ember_runtime::SpawnOptions::new().stack_size(1 << 20));
        let roomy = start::<BigFrame>((), options).unwrap();
        assert_eq!(roomy.call(()), Ok(7));
    });
}

#[test]
fn deep_nesting_fed_to_a_parser_server_is_contained_and_the_server_restarts() {
    expect_child_passes("deep_nesting_parser_child");
}

#[test]
#[ignore = "run in a child process by its parent test"]
fn deep_nesting_parser_child() {
    if !child::is("deep_nesting_parser_child") {
        return;
    }
    init();
    common::run(|| {
        // A minimal supervisor: restart the parser whenever it dies.
        let me = self_pid();
        let keeper = spawn(move || loop {
            let server = start::<Parser>((), StartOptions::new()).unwrap();
            send(me, server.clone());
            let m = monitor(server.pid().unwrap());
            let down = down_of(m);
            send(me, down.reason);
        });
        let _ = keeper;
        let server = recv::<ember_runtime::gen_server::Server<Parser>>();
        assert_eq!(server.call(b"[[[]]]".to_vec()), Ok(Ok(3)));
        // Deeply nested brackets overflow the parser's stack.
        let hostile = [vec![b'['; 100_000], vec![b']'; 100_000]].concat();
        assert!(matches!(server.call(hostile), Err(CallError::Exited(Reason::StackOverflow))));
        assert_eq!(recv::<Reason>(), Reason::StackOverflow);
        // Restarted: serves the next caller.
        let server = recv::<ember_runtime::gen_server::Server<Parser>>();
        assert_eq!(server.call(b"[]".to_vec()), Ok(Ok(1)));
    });
}

/// Recursion that makes runtime calls all the way down is caught at a
/// runtime call, before the guard page: the process unwinds, and its
/// destructors run.
#[test]
fn overflow_caught_at_a_runtime_call_runs_destructors() {
    expect_child_passes("overflow_at_a_runtime_call_child");
}

struct Dropped(mpsc::Sender<()>);

impl Drop for Dropped {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[inline(never)]
fn recurse_with_calls(n: u64) -> u64 {
    let frame = [n; 16];
    std::hint::black_box(&frame);
    ember_runtime::send(self_pid(), n);
    let _ = ember_runtime::receive_timeout::<u64>(std::time::Duration::ZERO);
    if n == u64::MAX {
        return 0;
    }
    recurse_with_calls(n + 1).wrapping_add(frame[3])
}

#[test]
#[ignore = "run in a child process by its parent test"]
fn overflow_at_a_runtime_call_child() {
    if !child::is("overflow_at_a_runtime_call_child") {
        return;
    }
    init();
    let (tx, rx) = mpsc::channel();
    common::run(move || {
        let (_, m) = spawn_monitor(move || {
            let _guard = Dropped(tx);
            recurse_with_calls(0);
            receive::<()>();
        });
        assert_eq!(down_of(m).reason, Reason::StackOverflow);
    });
    rx.try_recv().expect("the destructor ran: the process unwound");
}
