//! The stack pool gives memory back (issue 12.8): a burst of processes that
//! went deep does not leave its peak resident for good. Each scenario runs
//! alone in a child OS process, so that the resident-memory figures it reads
//! are its own (the other tests of a binary run in parallel threads).

mod common;

use common::{child, down_of, init, recv, wait_until};
use ember_runtime::{monitor, process_info, receive, self_pid, send, spawn, stats, trim_stacks, Pid, Ref};
use std::hint::black_box;

/// Processes in a burst.
const BURST: usize = 1_000;

/// Stack bytes each process of a burst touches.
const DEEP: usize = 100 * 1024;

#[derive(Debug)]
struct Ready(#[allow(dead_code)] Pid);

#[derive(Debug)]
struct Stop;

/// Resident bytes of this OS process.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm.split_whitespace().nth(1).expect("resident field").parse().expect("a number");
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize
}

/// Recurses `levels` frames of 1 KiB each (the frames are written, so their
/// pages are resident), then runs `at_bottom`.
#[inline(never)]
fn descend(levels: usize, at_bottom: &mut dyn FnMut()) {
    let frame = black_box([levels as u8; 1024]);
    if levels == 0 {
        at_bottom();
    } else {
        descend(levels - 1, at_bottom);
    }
    black_box(&frame);
}

/// Touches `DEEP` bytes of stack with a single frame and no runtime call.
#[inline(never)]
fn one_large_frame() {
    let buf = black_box([7u8; DEEP]);
    black_box(&buf);
}

/// Spawns `BURST` processes that each run `body` and then tell the root they
/// are ready and wait for `Stop`; returns them with their monitors.
fn burst(body: fn()) -> Vec<(Pid, Ref)> {
    let me = self_pid();
    let procs: Vec<(Pid, Ref)> = (0..BURST)
        .map(|_| {
            let pid = spawn(body);
            send(pid, me);
            (pid, monitor(pid))
        })
        .collect();
    for _ in 0..BURST {
        recv::<Ready>();
    }
    procs
}

/// [`burst`] of processes that each touch `DEEP` bytes of stack with one
/// large frame between two runtime calls.
fn burst_of_large_frames() -> Vec<(Pid, Ref)> {
    burst(|| {
        let root: Pid = receive();
        one_large_frame();
        send(root, Ready(self_pid()));
        receive::<Stop>();
    })
}

fn stop_all(procs: Vec<(Pid, Ref)>) {
    for (pid, _) in &procs {
        send(*pid, Stop);
    }
    for (_, m) in procs {
        down_of(m);
    }
}

fn expect_child_passes(name: &str) {
    let ended = child::run(name);
    assert!(ended.passed(), "scenario {name} failed: {ended:?}");
}

#[test]
fn process_info_reports_how_deep_a_stack_went() {
    init();
    common::run(|| {
        let me = self_pid();
        let pid = spawn(move || {
            // At the bottom, the process tells the root and waits: both are
            // runtime calls, so its depth is sampled there.
            descend(DEEP / 1024, &mut || {
                send(me, Ready(self_pid()));
                receive::<Stop>();
            });
            send(me, Ready(self_pid()));
            receive::<Stop>();
        });
        recv::<Ready>();
        let deep = process_info(pid).expect("alive");
        assert!(deep.stack_high_water >= DEEP, "high-water mark {} bytes at depth", deep.stack_high_water);
        assert!(deep.stack_bytes >= DEEP, "{} bytes in use at depth", deep.stack_bytes);
        send(pid, Stop);
        recv::<Ready>();
        let back = process_info(pid).expect("alive");
        assert!(back.stack_bytes < DEEP / 4, "{} bytes in use back at the top", back.stack_bytes);
        assert_eq!(back.stack_high_water, deep.stack_high_water, "the high-water mark stays");
        send(pid, Stop);
    });
}

#[test]
fn pooled_stacks_left_unused_are_trimmed_in_the_background() {
    expect_child_passes("unused_in_the_pool_child");
}

#[test]
#[ignore = "run in a child process by the test above"]
fn unused_in_the_pool_child() {
    if !child::is("unused_in_the_pool_child") {
        return;
    }
    init();
    common::run(|| {
        let base = rss();
        // The sampled depth stays shallow, so only the background trim can
        // find these pages.
        let procs = burst_of_large_frames();
        let grown = rss().saturating_sub(base);
        assert!(grown >= BURST * DEEP / 2, "the burst made {grown} bytes resident, expected about {}", BURST * DEEP);
        stop_all(procs);
        // The workers' caches hold a few dozen stacks each; the pool keeps a
        // few warm; everything else must be trimmed within a few periods.
        let expected = BURST / 2;
        wait_until("the pool trims its unused stacks", || stats().stacks_trimmed >= expected);
        let kept = rss().saturating_sub(base);
        assert!(kept < grown / 2, "{kept} of the burst's {grown} resident bytes are still resident after the trim");
    });
}

#[test]
fn trim_stacks_gives_the_memory_of_a_burst_back_at_once() {
    expect_child_passes("trim_stacks_child");
}

#[test]
#[ignore = "run in a child process by the test above"]
fn trim_stacks_child() {
    if !child::is("trim_stacks_child") {
        return;
    }
    init();
    common::run(|| {
        let base = rss();
        let procs = burst_of_large_frames();
        let grown = rss().saturating_sub(base);
        stop_all(procs);
        let trimmed = trim_stacks(0);
        assert!(trimmed >= BURST / 2, "trim_stacks(0) trimmed {trimmed} stacks of {BURST}");
        assert!(stats().stacks_trimmed >= trimmed);
        let kept = rss().saturating_sub(base);
        assert!(
            kept < grown / 2,
            "{kept} of the burst's {grown} resident bytes are still resident after trim_stacks(0)"
        );
    });
}
