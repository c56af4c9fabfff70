//! Signals become readable bytes on a self-pipe, watched by the event loop.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};

use crate::error::{Error, Result};

/// The signals that end a trace. Each is forwarded to the traced command.
pub const HANDLED: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

pub struct Signals {
    pipe: File,
    seen: Vec<(i32, Arc<AtomicBool>)>,
}

impl Signals {
    pub fn install() -> Result<Signals> {
        let (read, write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                .map_err(|e| {
                    Error::setup(format!("cannot create the signal pipe: {}", e.desc()))
                })?;
        let write: OwnedFd = write;
        let mut seen = Vec::new();
        for sig in HANDLED {
            let flag = Arc::new(AtomicBool::new(false));
            let fail = |e: std::io::Error| Error::setup(format!("cannot handle signal {sig}: {e}"));
            signal_hook::flag::register(sig, Arc::clone(&flag)).map_err(fail)?;
            let w = write.try_clone().map_err(fail)?;
            signal_hook::low_level::pipe::register(sig, w).map_err(fail)?;
            seen.push((sig, flag));
        }
        Ok(Signals {
            pipe: File::from(read),
            seen,
        })
    }

    pub fn fd(&self) -> RawFd {
        self.pipe.as_raw_fd()
    }

    /// Empties the pipe; returns the signals received since the last call.
    pub fn take(&mut self) -> Vec<i32> {
        let mut buf = [0u8; 64];
        while matches!(self.pipe.read(&mut buf), Ok(n) if n > 0) {}
        self.seen
            .iter()
            .filter(|(_, flag)| flag.swap(false, Ordering::SeqCst))
            .map(|(sig, _)| *sig)
            .collect()
    }
}
