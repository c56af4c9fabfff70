//! The guardian: a small detached process that puts tracefs back when ftr
//! itself cannot, because it was killed with SIGKILL.
//!
//! It shares the journal's open file (and so its lock) with ftr: while it
//! lives, `ftr reset` sees the journal as held and never races it. It waits on
//! a pipe that only ftr can write. ftr writes one byte when it no longer needs
//! guarding (everything is restored, or handed to its clean-up child); a pipe
//! that closes without that byte means ftr died, and the guardian replays the
//! journal at once. If the guardian is killed too, `ftr reset` (which every
//! ftr run does first) is left to do it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use crate::kernel::journal::{Entry, Journal};

/// The byte that dismisses the guardian.
const DONE: u8 = b'd';

/// ftr's end of the guardian's pipe.
pub struct Guardian {
    pipe: File,
}

impl Guardian {
    /// Starts the guardian of `journal`, which writes its pid there. Returns
    /// None if it could not be started: ftr then works as before, with
    /// `ftr reset` as the only repair after a SIGKILL.
    pub fn start(journal: &mut Journal) -> Option<Guardian> {
        use nix::sys::wait::waitpid;
        use nix::unistd::{fork, ForkResult};
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
        let path = journal.path().to_path_buf();
        // SAFETY: ftr is single-threaded here; the children only make
        // syscalls, parse the journal and exit.
        match unsafe { fork() } {
            Ok(ForkResult::Parent { child }) => {
                // The intermediate child exits as soon as the guardian is
                // forked and its pid journaled.
                let _ = waitpid(child, None);
                drop(read);
                Some(Guardian {
                    pipe: File::from(write),
                })
            }
            Ok(ForkResult::Child) => {
                drop(write);
                let _ = nix::unistd::setsid();
                // SAFETY: as above; the guardian is nobody's child (init reaps it).
                match unsafe { fork() } {
                    Ok(ForkResult::Parent { child }) => {
                        let _ = journal.append(&Entry::Guardian(child.as_raw()));
                        // SAFETY: leaving the intermediate child at once.
                        unsafe { libc::_exit(0) }
                    }
                    Ok(ForkResult::Child) => guard(read, journal.fd(), path),
                    // SAFETY: as above.
                    Err(_) => unsafe { libc::_exit(1) },
                }
            }
            Err(_) => None,
        }
    }

    /// ftr needs no guarding any more: the guardian leaves, changing nothing.
    pub fn dismiss(mut self) {
        let _ = self.pipe.write_all(&[DONE]);
    }
}

/// The guardian's life: wait for ftr's word or its death.
fn guard(pipe: OwnedFd, journal_fd: i32, path: PathBuf) -> ! {
    // Signals meant for ftr's session or group are not meant for it.
    for sig in [
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGPIPE,
    ] {
        // SAFETY: setting a signal's disposition to ignore.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
    }
    crate::kernel::detach::close_all_but(&[journal_fd, pipe.as_raw_fd()]);
    let mut pipe = File::from(pipe);
    let mut byte = [0u8; 1];
    let dismissed = loop {
        match pipe.read(&mut byte) {
            Ok(1) => break byte[0] == DONE,
            Ok(_) => break false, // end of file: ftr is gone
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break false,
        }
    };
    let code = if dismissed || crate::kernel::repair::replay(&path) {
        0
    } else {
        1
    };
    // SAFETY: the guardian's work is done.
    unsafe { libc::_exit(code) }
}
