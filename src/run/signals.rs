//! Signals become readable bytes on a self-pipe, watched by the event loop.
//!
//! Each handled signal also records whether someone sent it with kill(2)
//! or the terminal did: Ctrl-C and Ctrl-\ already reach the traced command
//! (it is in the terminal's foreground group with ftr), so only signals
//! sent to ftr alone are passed on to it — a second Ctrl-C would make many
//! programs skip their clean shutdown.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// The signals that end a trace.
pub const HANDLED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

#[derive(Default)]
struct Seen {
    any: AtomicBool,
    /// Sent by a process (kill, timeout, systemd), not by the terminal.
    by_process: AtomicBool,
}

/// A signal ftr received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub signal: i32,
    /// The command did not get it too: pass it on.
    pub forward: bool,
}

pub struct Signals {
    pipe: File,
    _write: OwnedFd,
    seen: Vec<(i32, Arc<Seen>)>,
}

impl Signals {
    pub fn install() -> Result<Signals> {
        let flags = nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK;
        let (read, write) = nix::unistd::pipe2(flags)
            .map_err(|e| Error::setup(format!("cannot create the signal pipe: {}", e.desc())))?;
        let wfd = write.as_raw_fd();
        let mut seen = Vec::new();
        for sig in HANDLED {
            let state = Arc::new(Seen::default());
            let handler_state = Arc::clone(&state);
            // SAFETY: the handler only stores to atomics and calls write(2),
            // both async-signal-safe; the pipe outlives the registration
            // (it is closed only when ftr exits).
            unsafe {
                signal_hook_registry::register_sigaction(sig, move |info: &libc::siginfo_t| {
                    if info.si_code != libc::SI_KERNEL {
                        handler_state.by_process.store(true, Ordering::SeqCst);
                    }
                    handler_state.any.store(true, Ordering::SeqCst);
                    libc::write(wfd, [0u8].as_ptr().cast(), 1);
                })
            }
            .map_err(|e| Error::setup(format!("cannot handle signal {sig}: {e}")))?;
            seen.push((sig, state));
        }
        Ok(Signals {
            pipe: File::from(read),
            _write: write,
            seen,
        })
    }

    pub fn fd(&self) -> RawFd {
        self.pipe.as_raw_fd()
    }

    /// Empties the pipe; returns the signals received since the last call.
    pub fn take(&mut self) -> Vec<Received> {
        let mut buf = [0u8; 64];
        while matches!(self.pipe.read(&mut buf), Ok(n) if n > 0) {}
        self.seen
            .iter()
            .filter(|(_, s)| s.any.swap(false, Ordering::SeqCst))
            .map(|(sig, s)| Received {
                signal: *sig,
                forward: s.by_process.swap(false, Ordering::SeqCst),
            })
            .collect()
    }
}
