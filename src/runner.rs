//! What every tracing mode does around its own work: checks before tracefs
//! is touched, the command held at its gate, the one event loop, and the end
//! (pager, signals, exit status).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use crate::cli::Target;
use crate::error::Result;
use crate::output::Output;
use crate::signals::Signals;
use crate::tracefs::Tracefs;
use crate::workload::{self, Workload};

/// How often a mode's `round` runs when nothing wakes the loop sooner.
const TICK: Duration = Duration::from_millis(100);

/// Finds tracefs, lets the mode check everything it needs (`plan`), and forks
/// the command at its gate. Bad input fails here, with tracefs untouched (a
/// tracefs mounted for the occasion is unmounted again).
pub fn prepare<P>(
    target: &Target,
    plan: impl FnOnce(&Tracefs) -> Result<P>,
) -> Result<(Tracefs, P, Option<Workload>)> {
    let user = match &target.user {
        Some(name) => Some(workload::lookup_user(name)?),
        None => None,
    };
    let tracefs = Tracefs::open()?;
    let prepared = plan(&tracefs).and_then(|plan| {
        let workload = match target.command.is_empty() {
            true => None,
            false => Some(Workload::spawn(&target.command, user.as_ref())?),
        };
        Ok((plan, workload))
    });
    match prepared {
        Ok((plan, workload)) => Ok((tracefs, plan, workload)),
        Err(e) => {
            tracefs.unmount_if_ours();
            Err(e)
        }
    }
}

/// Descriptors that become readable when the traced processes are gone: the
/// command, or every `-p` process. Empty when tracing the whole system.
pub fn exit_watch(workload: Option<&Workload>, pids: &[i32]) -> Vec<OwnedFd> {
    match workload {
        Some(w) => workload::pidfd(w.pid.as_raw()).into_iter().collect(),
        None => pids.iter().filter_map(|&p| workload::pidfd(p)).collect(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The traced processes exited, or --timeout passed.
    Done,
    /// ftr got SIGINT/SIGTERM/SIGHUP/SIGQUIT (passed on to the command).
    Signal,
    /// The reader went away: the user quit the pager, or stdout closed.
    ReaderGone,
}

pub struct Loop<'a> {
    pub output: &'a mut Output,
    pub signals: &'a mut Signals,
    pub exits: &'a [OwnedFd],
    pub timeout: Option<Duration>,
    pub workload: Option<&'a Workload>,
}

impl Loop<'_> {
    /// The one poll loop: waits for trace data (`data`), a signal, the pager
    /// or the traced processes, runs `round` to read and show what arrived,
    /// and says why it stopped.
    pub fn run(&mut self, data: &[RawFd], mut round: impl FnMut(&mut Output)) -> Stop {
        let deadline = self.timeout.map(|t| Instant::now() + t);
        let mut exited = vec![false; self.exits.len()];
        loop {
            let wait = deadline.map_or(TICK, |d| {
                d.saturating_duration_since(Instant::now()).min(TICK)
            });
            // SAFETY: every descriptor borrowed here outlives the poll call.
            let borrow = |fd: RawFd| unsafe { BorrowedFd::borrow_raw(fd) };
            let mut fds = vec![PollFd::new(borrow(self.signals.fd()), PollFlags::POLLIN)];
            let pager = self.output.pager_fd();
            if let Some(fd) = pager {
                // POLLERR/POLLHUP always come back: the user quit the pager.
                let want = if self.output.has_pending() {
                    PollFlags::POLLOUT
                } else {
                    PollFlags::empty()
                };
                fds.push(PollFd::new(borrow(fd), want));
            }
            let exits_at = fds.len();
            fds.extend(
                self.exits
                    .iter()
                    .map(|e| PollFd::new(e.as_fd(), PollFlags::POLLIN)),
            );
            fds.extend(
                data.iter()
                    .map(|&fd| PollFd::new(borrow(fd), PollFlags::POLLIN)),
            );
            let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
            let _ = poll(&mut fds, PollTimeout::from(ms));
            let ready = |i: usize| fds[i].revents().is_some_and(|r| !r.is_empty());
            let got_signal = ready(0);
            let pager_gone = pager.is_some()
                && fds[1]
                    .revents()
                    .is_some_and(|r| r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP));
            for (i, done) in exited.iter_mut().enumerate() {
                *done |= ready(exits_at + i);
            }
            drop(fds);

            round(self.output);
            self.output.push();

            if got_signal {
                let sigs = self.signals.take();
                if !sigs.is_empty() {
                    if let Some(w) = self.workload {
                        w.forward(&sigs);
                    }
                    return Stop::Signal;
                }
            }
            if pager_gone || self.output.closed {
                return Stop::ReaderGone;
            }
            if !exited.is_empty() && exited.iter().all(|&e| e) {
                return Stop::Done;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Stop::Done;
            }
        }
    }
}

/// After tracefs is restored: ends the command if the user quit the view,
/// waits for the user to leave the pager, reports restore problems.
pub fn end(stop: Stop, workload: Option<&Workload>, output: Output, problems: Vec<String>) {
    if stop == Stop::ReaderGone {
        if let Some(w) = workload {
            w.signal(Signal::SIGTERM);
        }
    }
    output.finish();
    for p in problems {
        eprintln!("ftr: while restoring tracefs: {p}");
    }
}
