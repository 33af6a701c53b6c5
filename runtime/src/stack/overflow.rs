//! Stack overflow: a crash reason, not a `SIGSEGV` of the OS process.
//!
//! Every process stack has a guard page below it (see `guard`). A process
//! that recurses too deep, or has too large a frame, touches it (Rust probes
//! every page of a large frame, so a frame cannot jump over it) and the
//! kernel raises `SIGSEGV` (or `SIGBUS`) on the thread running the process.
//!
//! # The handler
//!
//! [`install`] puts a handler for both signals in place once per OS process,
//! keeping the previous handlers. It runs on the thread's alternate signal
//! stack (each worker thread gets one of [`ALT_STACK`] bytes: the faulting
//! stack has no room left), and does nothing but look at two thread-locals
//! the worker sets before resuming a process ([`Running`]): the guard page of
//! the process's stack and the coroutine's trap handler. A fault in that
//! guard page, with the stack pointer inside the process's stack, is an
//! overflow of the running process; every other fault goes to the previous
//! handler (std's, which reports overflows of ordinary threads), or to the
//! default action.
//!
//! For an overflow, the handler rewrites the interrupted register context
//! through corosensei's `CoroutineTrapHandler`, so that when the handler
//! returns the coroutine "returns" `Outcome::Overflowed` to its worker
//! without executing another instruction of the overflowed code.
//!
//! # What does not happen, and why this is sound
//!
//! The overflowed frames are **abandoned**, not unwound: their destructors
//! never run, memory they own leaks, and locks they hold stay held (a
//! `Mutex` locked by an overflowed frame is locked for good). To everything
//! else the process is like a thread stopped for ever at a function entry
//! (the fault is raised by the probe or the first push of the function whose
//! frame crossed into the guard page), which safe Rust allows. Two things
//! make it so:
//!
//! * **The stack memory stays as it was.** Other threads may still hold
//!   references into it (a `std::thread::scope` running on the process's
//!   stack lends its locals to its threads), so the stack is quarantined:
//!   never reused, never zeroed. The trap landing itself runs at the top of
//!   the stack, where only the runtime's frames are: the trampoline reserves
//!   [`TRAP_PAD`] bytes there before it calls the process's code.
//! * **The runtime holds no lock and is not mid-update.** Runtime calls check
//!   that at least [`RED_ZONE`] bytes of stack remain before doing anything
//!   (`scheduler::budget`); a process that is that deep ends with
//!   `StackOverflow` by an ordinary unwind, destructors and all. The guard
//!   page is therefore only reached in the process's own code.
//!
//! What the abandoned frames leave behind that is keyed to the *thread*:
//! thread-local borrows (a `RefCell` borrow of a `thread_local!` stays
//! borrowed: later borrows on that worker panic, they do not race), and, if
//! the overflow happened during an unwind, std's panic count of the worker
//! thread stays raised (`process::unwinding` stops trusting it there).

use crate::process::Outcome;
use corosensei::trap::CoroutineTrapHandler;
use std::cell::Cell;
use std::io;
use std::ptr;
use std::sync::Once;

/// Bytes at the top of every process stack that the trampoline keeps for the
/// trap landing (which resets the stack and runs a small function there).
pub(crate) const TRAP_PAD: usize = 1024;

/// Stack bytes a runtime call needs left; below that, the process ends with
/// `StackOverflow` by unwinding (see `scheduler::budget`). Capped at a quarter
/// of the stack for small stacks.
pub(crate) const RED_ZONE: usize = 32 * 1024;

/// Size of each worker thread's alternate signal stack.
pub(crate) const ALT_STACK: usize = 64 * 1024;

/// What the signal handler needs to know about the process this thread runs.
pub(crate) struct Running {
    /// The guard page: `[guard_low, guard_high)`.
    pub(crate) guard_low: usize,
    pub(crate) guard_high: usize,
    pub(crate) trap: CoroutineTrapHandler<Outcome>,
}

thread_local! {
    /// The process this thread is running, for the signal handler. Const
    /// initialised and without a destructor: reading it is a plain TLS load,
    /// safe in a signal handler.
    static RUNNING: Cell<Option<Running>> = const { Cell::new(None) };
}

/// Worker: about to resume a process on this thread.
#[inline]
pub(crate) fn enter(running: Running) {
    RUNNING.with(|r| r.set(Some(running)));
}

/// Worker: the process handed control back.
#[inline]
pub(crate) fn leave() {
    RUNNING.with(|r| r.take());
}

/// The handlers that were in place before ours, for faults that are not ours.
static mut PREVIOUS_SEGV: libc::sigaction = unsafe { std::mem::zeroed() };
static mut PREVIOUS_BUS: libc::sigaction = unsafe { std::mem::zeroed() };

/// Installs the `SIGSEGV`/`SIGBUS` handler, once per OS process.
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid value; we fill in a handler
        // that is async-signal-safe (it touches only thread-locals without
        // destructors and the interrupted context), and keep the previous
        // handlers in statics written only here, before any fault can reach
        // our handler (they are written before the handler is installed... the
        // previous value is written by sigaction itself as it installs ours;
        // a fault between the two on another thread goes to the previous
        // handler, which is still in place).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGSEGV, &action, ptr::addr_of_mut!(PREVIOUS_SEGV));
            libc::sigaction(libc::SIGBUS, &action, ptr::addr_of_mut!(PREVIOUS_BUS));
        }
    });
}

/// The signal handler. See the module docs.
extern "C" fn handler(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo and ucontext for SA_SIGINFO
    // handlers; we read the fault address and the stack pointer, and write
    // the registers corosensei asks for.
    unsafe {
        let fault = (*info).si_addr() as usize;
        let running = RUNNING.with(|r| r.take());
        if let Some(running) = running {
            let ucontext = &mut *(context as *mut libc::ucontext_t);
            let sp = stack_pointer(ucontext);
            if (running.guard_low..running.guard_high).contains(&fault) && running.trap.stack_ptr_in_bounds(sp) {
                // The coroutine stops here and returns `Overflowed`. The
                // closure is a constant: the landing needs almost no stack.
                let regs = running.trap.setup_trap_handler(|| Outcome::Overflowed);
                set_registers(ucontext, regs);
                return;
            }
            RUNNING.with(|r| r.set(Some(running)));
        }
        chain(signal, info, context);
    }
}

/// Hands a fault that is not ours to the handler that was there before.
///
/// # Safety
///
/// Called from the signal handler with its arguments.
unsafe fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the statics were written once by `install`, before our handler
    // could run.
    let previous = unsafe {
        if signal == libc::SIGBUS {
            ptr::addr_of!(PREVIOUS_BUS).read()
        } else {
            ptr::addr_of!(PREVIOUS_SEGV).read()
        }
    };
    let action = previous.sa_sigaction;
    if action == libc::SIG_DFL || action == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction
        // runs again and the kernel kills the process the default way.
        // SAFETY: resetting a handler to SIG_DFL is always valid.
        unsafe {
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &default, ptr::null_mut());
        }
        return;
    }
    // SAFETY: the previous handler was installed for this signal with these
    // flags; we call it the way the kernel would have.
    unsafe {
        if previous.sa_flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = std::mem::transmute(action);
            f(signal, info, context);
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(action);
            f(signal);
        }
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn stack_pointer(context: &libc::ucontext_t) -> usize {
    context.uc_mcontext.gregs[libc::REG_RSP as usize] as usize
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn set_registers(context: &mut libc::ucontext_t, regs: corosensei::trap::TrapHandlerRegs) {
    let corosensei::trap::TrapHandlerRegs { rip, rsp, rbp, rdi, rsi } = regs;
    let gregs = &mut context.uc_mcontext.gregs;
    gregs[libc::REG_RIP as usize] = rip as i64;
    gregs[libc::REG_RSP as usize] = rsp as i64;
    gregs[libc::REG_RBP as usize] = rbp as i64;
    gregs[libc::REG_RDI as usize] = rdi as i64;
    gregs[libc::REG_RSI as usize] = rsi as i64;
}

#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn stack_pointer(context: &libc::ucontext_t) -> usize {
    context.uc_mcontext.sp as usize
}

#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn set_registers(context: &mut libc::ucontext_t, regs: corosensei::trap::TrapHandlerRegs) {
    let corosensei::trap::TrapHandlerRegs { pc, sp, x0, x1, x29, lr } = regs;
    let mcontext = &mut context.uc_mcontext;
    mcontext.pc = pc;
    mcontext.sp = sp;
    mcontext.regs[0] = x0;
    mcontext.regs[1] = x1;
    mcontext.regs[29] = x29;
    mcontext.regs[30] = lr;
}

/// A worker thread's alternate signal stack (the overflowed stack has no
/// room for the handler). Freed when the worker thread ends.
pub(crate) struct AltStack {
    mapping: *mut libc::c_void,
    len: usize,
}

impl AltStack {
    /// Maps a guarded alternate signal stack and makes it this thread's.
    pub(crate) fn install() -> io::Result<AltStack> {
        let page = page_size();
        let len = ALT_STACK + page;
        // SAFETY: a fresh anonymous mapping; the low page becomes its guard.
        unsafe {
            let mapping = libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if mapping == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            libc::mprotect(mapping, page, libc::PROT_NONE);
            let stack = libc::stack_t { ss_sp: mapping.add(page), ss_flags: 0, ss_size: ALT_STACK };
            if libc::sigaltstack(&stack, ptr::null_mut()) != 0 {
                let error = io::Error::last_os_error();
                libc::munmap(mapping, len);
                return Err(error);
            }
            Ok(AltStack { mapping, len })
        }
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: disable the alternate stack of this thread (the one that
        // installed it: a worker's AltStack lives on its `run_worker` frame),
        // then unmap it; no signal handler runs on it any more.
        unsafe {
            let disable = libc::stack_t { ss_sp: ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
            libc::sigaltstack(&disable, ptr::null_mut());
            libc::munmap(self.mapping, self.len);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}
