//! Ctrl-C (SIGINT) and SIGTERM for the long-running commands.
//!
//! The CLI calls [`install`] before `run` or `lint` starts. The first
//! signal only raises a flag: `run` finishes the case under way, starts no
//! other, stops the subject (its temp dirs, the adapter process and its
//! TMPDIR go as in a normal run) and writes the report it has, marked
//! incomplete; `lint` checks no further file and writes what it found,
//! marked incomplete. Both then exit with [`EXIT_INTERRUPTED`] (130, as a
//! shell reports a Ctrl-C). The handler is one-shot: a second Ctrl-C ends
//! the process at once, the way Unix tools behave when the first was not
//! enough (the adapter then dies with it: it gets SIGKILL when isocheck
//! dies).
//!
//! The docker subject also listens for the signal, to remove its
//! containers; it exits 130 itself once they are gone.

use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of an interrupted command.
pub const EXIT_INTERRUPTED: u8 = 130;

static REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Async-signal-safe: one atomic store.
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Installs the one-shot handler for SIGINT and SIGTERM.
pub fn install() {
    #[cfg(unix)]
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler only stores to an
        // atomic, which is async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// Whether an interrupt was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Requests an interrupt, as the signal would (for library users with
/// their own signal handling, and for tests).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// The note a partial report carries.
pub fn note(done: &str) -> String {
    format!("interrupted (Ctrl-C or SIGTERM) after {done}; this report is incomplete")
}
