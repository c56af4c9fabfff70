//! Where the trace goes: stdout, a file (`-o`) or a pager. Writes never
//! block the event loop on a pager that is not reading, and a reader that went
//! away (EPIPE, the user quit less) is "the user is done", not an error.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::process::{Child, Command, Stdio};

use crate::cli::OutputArgs;
use crate::error::{warn, Error, Result};
use crate::present::newfile::NewFile;
use crate::present::theme::{wants_color, Theme};

pub struct Output {
    /// `None` only while being torn down.
    file: Option<File>,
    /// `-o FILE`, named once the run goes ahead ([`Output::commit`]).
    named: Option<NewFile>,
    pager: Option<Child>,
    /// Bytes the pager has not taken yet.
    pending: Queue,
    pub theme: Theme,
    /// The reader is gone (EPIPE, the user quit less): the user is done.
    closed: bool,
    /// Writing failed otherwise (disk full…): said once, nothing more written.
    failed: bool,
    /// Set while the pager has less than a screen to show.
    waiting: Option<Waiting>,
}

/// less shows nothing and reads no key until it has a screenful (or the
/// end of its input): a trace that has found nothing yet would leave the user
/// before a blank screen where `q` does nothing. Until the screen is full,
/// ftr reads the keys itself, and ends the pager on `q`.
struct Waiting {
    tty: File,
    /// Screen rows still empty (a line longer than the screen takes several).
    rows_left: usize,
    cols: usize,
}

impl Waiting {
    fn new() -> Option<Waiting> {
        use std::os::unix::fs::OpenOptionsExt;
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
            .open("/dev/tty")
            .ok()?;
        // SAFETY: TIOCGWINSZ fills a winsize on a descriptor we own.
        let mut size: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCGWINSZ, &mut size) } != 0
            || size.ws_row == 0
        {
            return None;
        }
        Some(Waiting {
            tty,
            // less keeps the last row for its prompt.
            rows_left: usize::from(size.ws_row).saturating_sub(1),
            cols: usize::from(size.ws_col).max(1),
        })
    }

    /// Counts the rows `bytes` fill; true once the screen is full. Escape
    /// sequences count as text: the screen is taken for full a bit early.
    fn fill(&mut self, bytes: &[u8]) -> bool {
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            self.rows_left = self.rows_left.saturating_sub(1 + line.len() / self.cols);
        }
        self.rows_left == 0
    }

    /// Whether `q` (or `Q`) was typed, taking whatever keys are waiting.
    fn quit_typed(&mut self) -> bool {
        let mut waiting: libc::c_int = 0;
        // SAFETY: FIONREAD stores a count on a descriptor we own.
        let ok = unsafe { libc::ioctl(self.tty.as_raw_fd(), libc::FIONREAD, &mut waiting) } == 0;
        if !ok || waiting <= 0 {
            return false;
        }
        let mut keys = [0u8; 64];
        matches!(io::Read::read(&mut self.tty, &mut keys), Ok(n) if keys[..n].iter().any(|&k| k == b'q' || k == b'Q'))
    }
}

/// Bytes queued for a pager, written from the front. What was written is
/// dropped once it is most of the buffer, so each byte is moved at most
/// about once however little the pager takes per write (not the whole
/// queue per write: up to 64 MiB moved for a few KiB taken).
#[derive(Default)]
struct Queue {
    buf: Vec<u8>,
    /// `buf[..sent]` is written.
    sent: usize,
}

impl Queue {
    fn unsent(&self) -> &[u8] {
        &self.buf[self.sent..]
    }

    fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The reader took `n` more bytes.
    fn sent(&mut self, n: usize) {
        self.sent += n;
        if self.sent == self.buf.len() {
            self.clear();
        } else if self.sent > self.buf.len() / 2 {
            self.buf.drain(..self.sent);
            self.sent = 0;
        }
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.sent = 0;
    }

    /// The unsent bytes, leaving the queue empty.
    fn take(&mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.drain(..std::mem::take(&mut self.sent));
        buf
    }
}

/// A pager that is not reading makes ftr queue its output; past this much,
/// ftr stops reading the kernel (which then counts what it drops) instead
/// of growing without bound.
const MAX_PENDING: usize = 64 << 20;

impl Output {
    pub fn open(args: &OutputArgs) -> Result<Output> {
        let theme = theme_for(args);
        if let Some(path) = &args.file {
            let cannot = |e: io::Error| {
                Error::usage(format!("-o {}: cannot create it: {e}", path.display()))
            };
            let named = NewFile::create(path).map_err(cannot)?;
            let file = named.file().try_clone().map_err(cannot)?;
            let mut output = Output::new(file, None, theme);
            output.named = Some(named);
            return Ok(output);
        }
        let stdout = dup_stdout()?;
        let tty = io::IsTerminal::is_terminal(&io::stdout());
        if args.pager && tty {
            if let Some(mut child) = spawn_pager() {
                if let Some(stdin) = child.stdin.take() {
                    set_nonblocking(stdin.as_raw_fd());
                    let pipe = File::from(std::os::fd::OwnedFd::from(stdin));
                    return Ok(Output::new(pipe, Some(child), theme));
                }
            }
        }
        Ok(Output::new(stdout, None, theme))
    }

    fn new(file: File, pager: Option<Child>, theme: Theme) -> Output {
        Output {
            file: Some(file),
            named: None,
            pager,
            pending: Queue::default(),
            theme,
            closed: false,
            failed: false,
            waiting: None,
        }
    }

    /// The pager's pipe, to poll for POLLERR (the user quit) and POLLOUT.
    pub fn pager_fd(&self) -> Option<RawFd> {
        self.pager
            .as_ref()
            .and(self.file.as_ref())
            .map(AsRawFd::as_raw_fd)
    }

    /// Shows what is being traced, on the pager's screen only (never in a
    /// file or a pipe), so that a trace that finds nothing at first does not
    /// look like a hang; from then on, `q` works before the screen is full.
    pub fn announce(&mut self, what: &str) {
        if self.pager.is_none() {
            return;
        }
        self.waiting = Waiting::new();
        if self.waiting.is_some() {
            let mut line = Vec::new();
            let text = format!("ftr: tracing {what}; q quits");
            self.theme.paint(&mut line, self.theme.dim, text.as_bytes());
            line.push(b'\n');
            self.write(&line);
        }
    }

    /// Whether the user typed `q` while the pager had less than a screen
    /// (see `Waiting`). The pager is then ended, as its own `q` would.
    pub fn quit_typed(&mut self) -> bool {
        let quit = self.waiting.as_mut().is_some_and(Waiting::quit_typed);
        if quit {
            if let Some(pager) = &self.pager {
                // less leaves its read of the pipe, which is closed next, and
                // then quits on the signal, putting the terminal back.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pager.id() as i32),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
            self.closed = true;
            self.pending.clear();
            drop(self.file.take());
        }
        quit
    }

    /// The pager's pid: left out of system-wide traces, with ftr's own.
    pub fn pager_pid(&self) -> Option<u32> {
        self.pager.as_ref().map(Child::id)
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.unsent().is_empty()
    }

    /// The pager has not taken MAX_PENDING bytes: stop producing for now.
    pub fn is_backed_up(&self) -> bool {
        self.pending.unsent().len() > MAX_PENDING
    }

    /// The user quit the pager or closed the pipe.
    pub fn reader_gone(&self) -> bool {
        self.closed
    }

    /// Queues `bytes` and writes as much as the reader takes now.
    pub fn write(&mut self, bytes: &[u8]) {
        if self.closed || self.failed || bytes.is_empty() {
            return;
        }
        if self.pager.is_none() {
            let result = match self.file.as_mut() {
                Some(f) => f.write_all(bytes),
                None => Ok(()),
            };
            if let Err(e) = result {
                self.fail(&e);
            }
            return;
        }
        if self.waiting.as_mut().is_some_and(|w| w.fill(bytes)) {
            self.waiting = None; // less has its screen and reads keys itself
        }
        self.pending.extend_from_slice(bytes);
        self.push();
    }

    /// Writes queued bytes without blocking.
    pub fn push(&mut self) {
        while !self.pending.unsent().is_empty() && !self.closed && !self.failed {
            let Some(file) = self.file.as_mut() else {
                return;
            };
            match file.write(self.pending.unsent()) {
                Ok(0) => break,
                Ok(n) => self.pending.sent(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.fail(&e),
            }
        }
    }

    fn fail(&mut self, e: &io::Error) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            warn(format_args!("cannot write the trace: {e}"));
            self.failed = true;
            self.pending.clear();
            return;
        }
        if self.pager_failed_to_start() {
            return; // now writing to stdout, pending kept
        }
        self.closed = true;
        self.pending.clear();
    }

    /// A pager command that does not exist (the shell says 127 at once):
    /// show the trace on stdout instead of ending the traced command.
    fn pager_failed_to_start(&mut self) -> bool {
        let Some(child) = self.pager.as_mut() else {
            return false;
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        let code = match child.try_wait() {
            Ok(Some(status)) => status.code(),
            _ => None,
        };
        if !matches!(code, Some(126 | 127)) {
            return false;
        }
        let Ok(stdout) = dup_stdout() else {
            return false;
        };
        warn(format_args!("the pager could not run; writing to stdout"));
        self.pager = None;
        self.file = Some(stdout);
        let pending = self.pending.take();
        self.write(&pending);
        true
    }

    /// The run goes ahead: `-o FILE` takes its name (until now an earlier
    /// file of that name was untouched). Also done by `finish`.
    pub fn commit(&mut self) -> Result<()> {
        match self.named.as_mut().map(NewFile::commit) {
            Some(Err(e)) => Err(Error::setup(format!("-o: cannot name the output: {e}"))),
            _ => Ok(()),
        }
    }

    /// Writes everything queued, waiting for the reader, then closes the
    /// output and waits for the pager (the user quits it with `q`).
    pub fn finish(mut self) {
        if let Err(e) = self.commit() {
            warn(e);
        }
        if let Some(fd) = self.pager_fd() {
            set_blocking(fd);
        }
        if !self.closed && !self.failed && !self.pending.unsent().is_empty() {
            let pending = self.pending.take();
            if let Some(Err(e)) = self.file.as_mut().map(|f| f.write_all(&pending)) {
                self.fail(&e);
            }
        }
        if let Some(f) = self.file.as_mut() {
            let _ = f.flush();
        }
        // Drop closes the pipe and waits for the pager.
    }
}

impl Drop for Output {
    /// Also on error paths: never leave a pager behind on the terminal.
    fn drop(&mut self) {
        drop(self.file.take());
        if let Some(mut child) = self.pager.take() {
            // The user may press Ctrl-C inside less: keep waiting for it.
            loop {
                match child.wait() {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    _ => break,
                }
            }
        }
    }
}

/// The colors output to `args` gets: decided before a pager takes stdout,
/// so a mode can know them while it plans.
pub fn theme_for(args: &OutputArgs) -> Theme {
    Theme::new(wants_color(args.color, args.file.is_some()))
}

fn dup_stdout() -> Result<File> {
    let fd = nix::unistd::dup(io::stdout())
        .map_err(|e| Error::setup(format!("cannot use stdout: {}", e.desc())))?;
    Ok(File::from(fd))
}

/// `FTR_PAGER`, then `PAGER`, then `less`; run through `sh -c` like git does,
/// with `LESS=FRX` when `LESS` is unset. An empty pager or `cat` means none.
fn spawn_pager() -> Option<Child> {
    let cmd = std::env::var("FTR_PAGER")
        .or_else(|_| std::env::var("PAGER"))
        .unwrap_or_else(|_| "less".to_string());
    let cmd = cmd.trim();
    if cmd.is_empty() || cmd == "cat" {
        return None;
    }
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(format!("exec {cmd}"))
        .stdin(Stdio::piped());
    if std::env::var_os("LESS").is_none() {
        command.env("LESS", "FRX");
    }
    match command.spawn() {
        Ok(child) => Some(child),
        Err(e) => {
            warn(format_args!(
                "cannot start the pager `{cmd}`: {e}; writing to stdout"
            ));
            None
        }
    }
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

fn set_blocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
    }
}

#[cfg(test)]
mod tests {
    use super::Queue;

    #[test]
    fn bytes_come_out_in_order_however_they_are_taken() {
        let mut q = Queue::default();
        let mut out = Vec::new();
        let mut next = 0u8;
        for round in 0..200usize {
            let chunk: Vec<u8> = (0..round % 37)
                .map(|_| {
                    next = next.wrapping_add(1);
                    next
                })
                .collect();
            q.extend_from_slice(&chunk);
            let take = ((round * 7) % 23).min(q.unsent().len());
            out.extend_from_slice(&q.unsent()[..take]);
            q.sent(take);
            // What was written never stays as most of the buffer.
            assert!(q.sent <= q.buf.len() / 2, "round {round}");
        }
        out.extend(q.take());
        assert!(q.unsent().is_empty());
        let want: Vec<u8> = (1..=out.len()).map(|i| i as u8).collect();
        assert_eq!(out, want);
    }
}
