//! What a live process keeps on the heap. A binary of its own: it counts
//! allocations with a global allocator, which other tests running in
//! parallel would disturb.

use ember_runtime::{receive, self_pid, send, spawn, Runtime};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// The size of what each process's closure captures, chosen so that no
/// other allocation falls in the band counted below: not near a power of
/// two times a mailbox letter (24 B) or a pid, as a queue or vector that
/// grows while the test runs would be (3,001 B met a 128-letter inbox,
/// 3,072 B, whenever the readies piled up).
const PAYLOAD: usize = 40_001;

/// Live allocations whose size is in `PAYLOAD..PAYLOAD + 256`: the boxed
/// closure of a process (the payload plus what the runtime's wrapper adds).
static LIVE_IN_BAND: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Allocations made by this thread (const-initialised, no destructor:
    /// using it from the allocator allocates nothing).
    static THREAD_ALLOCS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

fn in_band(layout: Layout) -> bool {
    (PAYLOAD..PAYLOAD + 256).contains(&layout.size())
}

// SAFETY: every call is forwarded to `System` unchanged; the counter is
// only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        THREAD_ALLOCS.with(|n| n.set(n.get() + 1));
        if in_band(layout) {
            LIVE_IN_BAND.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if in_band(layout) {
            LIVE_IN_BAND.fetch_sub(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Ready;
struct Stop;

#[test]
fn a_started_process_keeps_no_box_for_its_closure() {
    const N: usize = 200;
    // A debug build copies a 40 KB closure once per call it is passed by
    // value through on its way into its box: the spawner needs room for a
    // few of them.
    let rt = Runtime::builder().stack_size(1 << 20).build().unwrap();
    rt.block_on(|| {
        let me = self_pid();
        let before = LIVE_IN_BAND.load(Ordering::Relaxed);
        let pids: Vec<_> = (0..N)
            .map(|i| {
                let payload = [i as u8; PAYLOAD];
                spawn(move || {
                    send(me, Ready);
                    receive::<Stop>();
                    // The payload is used after the wait: it lives (on the
                    // stack) as long as the process.
                    assert!(payload.iter().all(|&b| b == i as u8));
                    send(me, Ready);
                })
            })
            .collect();
        for _ in 0..N {
            receive::<Ready>();
        }
        let boxes = LIVE_IN_BAND.load(Ordering::Relaxed) - before;
        assert_eq!(boxes, 0, "{boxes} of {N} idle processes still hold their closure's box");
        for pid in pids {
            send(pid, Stop);
        }
        for _ in 0..N {
            receive::<Ready>();
        }
    })
    .unwrap();
}

/// A process spawned with a small closure costs no heap allocation: the
/// closure waits in the process's slot, not in a box (`process::entry`).
#[test]
fn spawning_a_small_closure_allocates_nothing() {
    const N: usize = 1_000;
    ember_runtime::run(|| {
        let me = self_pid();
        let spawn_one = |i: u64| {
            let before = THREAD_ALLOCS.with(Cell::get);
            spawn(move || send(me, i));
            let during = THREAD_ALLOCS.with(Cell::get) - before;
            assert_eq!(receive::<u64>(), i);
            during
        };
        // Warm up: the process table, the worker's free slots and queues.
        for i in 0..N as u64 {
            spawn_one(i);
        }
        let allocs: usize = (0..N as u64).map(spawn_one).sum();
        assert_eq!(allocs, 0, "{N} spawns of a small closure made {allocs} allocations");
    })
    .unwrap();
}
