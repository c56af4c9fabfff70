//! What every tracing mode does around its own work: checks before tracefs
//! is touched, the command held at its gate, the one event loop, and the end
//! (pager, signals, exit status).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use crate::cli::Target;
use crate::error::{warn, Result};
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
    // What a killed ftr left is put back first: the checks below must see
    // tracefs as it was before that ftr, not its leftovers.
    for line in crate::session::repair_stale(&tracefs) {
        warn(line);
    }
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

/// For the tests that prove a panic restores tracefs (Session's Drop): with
/// `--features test-hooks`, FTR_TEST_PANIC panics once tracing is armed.
pub fn test_panic() {
    #[cfg(feature = "test-hooks")]
    if std::env::var_os("FTR_TEST_PANIC").is_some() {
        panic!("FTR_TEST_PANIC is set: panicking with tracing armed");
    }
}

/// Whom a trace follows, for the line that says what is being traced.
pub fn whom(target: &Target) -> String {
    if !target.command.is_empty() {
        let words: Vec<String> = target
            .command
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        let mut cmd = words.join(" ");
        if cmd.chars().count() > 60 {
            cmd = cmd.chars().take(57).collect::<String>() + "...";
        }
        format!("`{cmd}`")
    } else if target.system_wide || target.pids.is_empty() {
        "the whole system".to_string()
    } else {
        let pids: Vec<String> = target.pids.iter().map(i32::to_string).collect();
        format!("pid {}", pids.join(","))
    }
}

/// How the loop learns that a traced process is gone.
pub enum Exit {
    /// A pidfd: readable once the process has exited.
    Fd(OwnedFd),
    /// No pidfd (a thread id, or a kernel before 5.3): looked at every tick.
    Poll(i32),
}

/// What to watch for the end of tracing: the command, or every `-p`
/// process. Empty when tracing the whole system.
pub fn exit_watch(workload: Option<&Workload>, pids: &[i32]) -> Vec<Exit> {
    let pids = match workload {
        Some(w) => vec![w.pid.as_raw()],
        None => pids.to_vec(),
    };
    pids.into_iter()
        .map(|p| workload::pidfd(p).map_or(Exit::Poll(p), Exit::Fd))
        .collect()
}

/// Gone, or a zombie waiting to be reaped.
fn process_exited(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
        Err(_) => true,
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
    pub exits: &'a [Exit],
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
            let mut exit_slots = Vec::with_capacity(self.exits.len());
            for exit in self.exits {
                exit_slots.push(match exit {
                    Exit::Fd(fd) => {
                        fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                        Some(fds.len() - 1)
                    }
                    Exit::Poll(_) => None,
                });
            }
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
            for ((done, slot), exit) in exited.iter_mut().zip(&exit_slots).zip(self.exits) {
                *done |= match (slot, exit) {
                    (Some(i), _) => ready(*i),
                    (None, Exit::Poll(pid)) => process_exited(*pid),
                    (None, Exit::Fd(_)) => false,
                };
            }
            drop(fds);

            // A pager that is not reading: leave the data in the kernel for now.
            if !self.output.is_backed_up() {
                round(self.output);
            }
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
            if pager_gone || self.output.reader_gone() || self.output.quit_typed() {
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
        warn(format_args!("while restoring tracefs: {p}"));
    }
}

/// ftr's exit status: the command's, once it ends. Signals that arrive
/// meanwhile still reach it, so ftr never needs kill -9.
pub fn command_status(workload: Option<&mut Workload>, signals: &mut Signals) -> i32 {
    let Some(w) = workload else { return 0 };
    let exit = workload::pidfd(w.pid.as_raw());
    loop {
        if let Some(status) = w.try_wait() {
            return status;
        }
        // SAFETY: the descriptors outlive the poll call.
        let mut fds = vec![PollFd::new(
            unsafe { BorrowedFd::borrow_raw(signals.fd()) },
            PollFlags::POLLIN,
        )];
        if let Some(fd) = &exit {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
        }
        let _ = poll(&mut fds, PollTimeout::from(100u16));
        drop(fds);
        w.forward(&signals.take());
    }
}

/// ftr and its pager, left out of system-wide traces (they would trace
/// their own reading and writing).
pub fn ftr_pids(output: &Output) -> String {
    let mut pids = vec![std::process::id().to_string()];
    pids.extend(output.pager_pid().map(|p| p.to_string()));
    pids.join(" ")
}

/// Sleeps for -D, unless a signal comes first (the loop then sees it).
pub fn pause(delay: Duration, signals: &Signals) {
    // SAFETY: the descriptor outlives the poll call.
    let mut fds = [PollFd::new(
        unsafe { BorrowedFd::borrow_raw(signals.fd()) },
        PollFlags::POLLIN,
    )];
    let deadline = Instant::now() + delay;
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        if matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0) {
            return;
        }
    }
}
