//! The one run sequence every tracing mode plugs into, in the order that
//! matters:
//!
//! plan (every check, no writes) → arm (journaled writes, through the
//! session) → start the command and recording → loop → stop recording →
//! drain (the mode closes its tracefs files) → restore → flush → exit status.
//!
//! A mode supplies its plan (the closure given to `run`), its arming, its
//! per-round work and its finish ([`Mode`]); everything else is here, once.

pub mod signals;
pub mod workload;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use crate::cli::{OutputArgs, Target};
use crate::error::{warn, Result};
use crate::kernel::repair;
use crate::kernel::session::{Buffer, Session};
use crate::kernel::tracefs::Tracefs;
use crate::present::output::Output;
use crate::run::signals::Signals;
use workload::Workload;

/// What a tracing mode supplies; [`run`] owns the order.
pub trait Mode {
    /// What is traced, for the pager's first line ("openat", "function_graph
    /// under vfs_read"); `run` adds whom.
    fn what(&self) -> String;
    /// Writes every knob the mode needs, through the session only (so each
    /// is journaled, or in ftr's own instance), with recording off: `run`
    /// turns it on when the command starts. Says where it records and which
    /// descriptors bring its data.
    fn arm(&mut self, session: &mut Session, who: &Who) -> Result<Armed>;
    /// One round of the loop: read what arrived and render it into `out`.
    /// May end the run (a kernel-side stop such as a threshold).
    fn round(&mut self, out: &mut Vec<u8>) -> Flow;
    /// Recording has stopped: take what is left, close every tracefs file the
    /// mode holds (its instance is removed next), and render the rest and
    /// any summary into `out`. Returns the closing lines, for stderr.
    fn finish(&mut self, out: &mut Vec<u8>) -> Vec<String>;
    /// How often `round` runs when nothing wakes the loop sooner. A mode
    /// that gives no data descriptors (see [`Armed::data`]) reads on it.
    fn tick(&self) -> Duration {
        TICK
    }
}

/// What arming set up.
pub struct Armed {
    /// Where the mode records: `run` turns recording on and off there.
    pub buffer: Buffer,
    /// Readable when data has arrived; polled. May be empty: polling a
    /// ring buffer makes the kernel wake the reader from the CPU that
    /// wrote (an irq_work there), which a mode measuring that CPU must not
    /// cause; such a mode reads on its [`Mode::tick`].
    pub data: Vec<RawFd>,
}

/// Whom to trace, as known once the command is forked.
pub struct Who {
    /// Thread ids to filter on; empty: the whole system.
    pub tids: Vec<i32>,
    /// Follow children (options/event-fork, function-fork).
    pub inherit: bool,
    /// ftr's own pids and its pager's, left out of system-wide traces.
    pub quiet: String,
    /// The command ftr started, still at its gate: (pid, name after exec).
    pub command: Option<(i32, String)>,
}

/// Whether the run goes on after a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Go,
    /// The mode saw the end of its trace (the kernel stopped tracing).
    Stop,
}

/// Runs a mode from its plan to the command's exit status. `plan` reads
/// tracefs and checks everything; it fails before anything is written.
/// `delay` (-D) starts recording that long after the command.
pub fn run<M: Mode>(
    target: &Target,
    output: &OutputArgs,
    delay: Option<Duration>,
    plan: impl FnOnce(&Tracefs) -> Result<M>,
) -> Result<i32> {
    let tids = workload::threads_of(&target.pids)?;
    let (tracefs, mode, mut workload) = prepare(target, plan)?;
    let mut signals = Signals::install()?;
    let mut output = Output::open(output)?;
    output.announce(&format!("{} for {}", mode.what(), whom(target)));
    let mut session = Session::start(tracefs)?;
    // Bound after the session, so dropped before it on every way out: the
    // mode's tracefs files must be closed before its instance is removed.
    let mut mode = mode;
    let who = Who {
        tids: match &workload {
            _ if target.system_wide => Vec::new(),
            Some(w) => vec![w.pid.as_raw()],
            None => tids,
        },
        inherit: target.inherit,
        quiet: ftr_pids(&output),
        command: workload.as_ref().map(|w| (w.pid.as_raw(), w.comm.clone())),
    };
    let armed = mode.arm(&mut session, &who)?;
    output.commit()?;
    test_panic();
    let exits = exit_watch(workload.as_ref(), &target.pids);
    match delay {
        // -D (as perf's): the command starts now, recording DELAY later.
        Some(delay) => {
            if let Some(w) = workload.as_mut() {
                w.go()?;
            }
            pause(delay, &signals);
            session.record(&armed.buffer, true)?;
        }
        None => {
            session.record(&armed.buffer, true)?;
            if let Some(w) = workload.as_mut() {
                w.go()?;
            }
        }
    }
    let mut out = Vec::with_capacity(64 * 1024);
    let stop = Loop {
        output: &mut output,
        signals: &mut signals,
        exits: &exits,
        timeout: target.timeout,
        tick: mode.tick(),
        workload: workload.as_ref(),
    }
    .run(&armed.data, |output| {
        let flow = mode.round(&mut out);
        output.write(&out);
        out.clear();
        flow
    });
    // Stop recording before the drain, so that the drain ends.
    if let Err(e) = session.record(&armed.buffer, false) {
        warn(e);
    }
    let closing = mode.finish(&mut out);
    // Restore before writing the rest: a reader that is slow to take it (a
    // paused terminal, `| less`) must not keep tracing on.
    let problems = session.finish();
    output.write(&out);
    end(stop, workload.as_ref(), output, problems);
    for line in closing {
        warn(line);
    }
    Ok(command_status(workload.as_mut(), &mut signals))
}

/// How often a mode's `round` runs when nothing wakes the loop sooner.
const TICK: Duration = Duration::from_millis(100);

/// Finds tracefs, lets the mode check everything it needs (`plan`), and forks
/// the command at its gate. Bad input fails here, with tracefs untouched (a
/// tracefs mounted for the occasion is unmounted again).
fn prepare<P>(
    target: &Target,
    plan: impl FnOnce(&Tracefs) -> Result<P>,
) -> Result<(Tracefs, P, Option<Workload>)> {
    let user = match &target.user {
        Some(name) => Some(workload::lookup_user(name)?),
        None => None,
    };
    // What a killed ftr left is put back first: the checks below must see
    // tracefs as it was before that ftr, not its leftovers. A restore under
    // way is waited for before tracefs is looked for (it may unmount it).
    for line in repair::settle(repair::Wait::Knobs) {
        warn(line);
    }
    let tracefs = Tracefs::open()?;
    for line in repair::repair_stale(&tracefs) {
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
fn test_panic() {
    #[cfg(feature = "test-hooks")]
    if std::env::var_os("FTR_TEST_PANIC").is_some() {
        panic!("FTR_TEST_PANIC is set: panicking with tracing armed");
    }
}

/// Whom a trace follows, for the line that says what is being traced.
fn whom(target: &Target) -> String {
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
enum Exit {
    /// A pidfd: readable once the process has exited.
    Fd(OwnedFd),
    /// No pidfd (a thread id, or a kernel before 5.3): looked at every tick.
    Poll(i32),
}

/// What to watch for the end of tracing: the command, or every `-p`
/// process. Empty when tracing the whole system.
fn exit_watch(workload: Option<&Workload>, pids: &[i32]) -> Vec<Exit> {
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
enum Stop {
    /// The traced processes exited, or --timeout passed.
    Done,
    /// ftr got SIGINT/SIGTERM/SIGHUP/SIGQUIT (passed on to the command).
    Signal,
    /// The reader went away: the user quit the pager, or stdout closed.
    ReaderGone,
    /// The mode ended it (its round said Flow::Stop).
    Mode,
}

struct Loop<'a> {
    pub output: &'a mut Output,
    pub signals: &'a mut Signals,
    pub exits: &'a [Exit],
    pub timeout: Option<Duration>,
    pub tick: Duration,
    pub workload: Option<&'a Workload>,
}

impl Loop<'_> {
    /// The one poll loop: waits for trace data (`data`), a signal, the pager
    /// or the traced processes, runs `round` to read and show what arrived,
    /// and says why it stopped.
    pub fn run(&mut self, data: &[RawFd], mut round: impl FnMut(&mut Output) -> Flow) -> Stop {
        let deadline = self.timeout.map(|t| Instant::now() + t);
        let mut exited = vec![false; self.exits.len()];
        loop {
            let wait = deadline.map_or(self.tick, |d| {
                d.saturating_duration_since(Instant::now()).min(self.tick)
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
            let flow = match self.output.is_backed_up() {
                false => round(self.output),
                true => Flow::Go,
            };
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
            if flow == Flow::Stop {
                return Stop::Mode;
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
fn end(stop: Stop, workload: Option<&Workload>, output: Output, problems: Vec<String>) {
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
fn command_status(workload: Option<&mut Workload>, signals: &mut Signals) -> i32 {
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
fn ftr_pids(output: &Output) -> String {
    let mut pids = vec![std::process::id().to_string()];
    pids.extend(output.pager_pid().map(|p| p.to_string()));
    pids.join(" ")
}

/// Sleeps for -D, unless a signal comes first (the loop then sees it).
fn pause(delay: Duration, signals: &Signals) {
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
