//! Where the trace goes: stdout, a file (`-o`) or a pager. Writes never
//! block the event loop on a pager that is not reading, and a reader that went
//! away (EPIPE, the user quit less) is "the user is done", not an error.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::process::{Child, Command, Stdio};

use crate::cli::OutputArgs;
use crate::error::{Error, Result};
use crate::style::{wants_color, Theme};

pub struct Output {
    file: File,
    pager: Option<Child>,
    /// Bytes the pager has not taken yet.
    pending: Vec<u8>,
    pub theme: Theme,
    /// The reader is gone (EPIPE): nothing more will be shown.
    pub closed: bool,
}

impl Output {
    pub fn open(args: &OutputArgs) -> Result<Output> {
        let color = wants_color(args.color, args.file.is_some());
        let theme = Theme::new(color);
        if let Some(path) = &args.file {
            let file = File::create(path).map_err(|e| {
                Error::usage(format!("-o {}: cannot create it: {e}", path.display()))
            })?;
            return Ok(Output::new(file, None, theme));
        }
        let stdout = dup_stdout()?;
        let tty = io::IsTerminal::is_terminal(&io::stdout());
        if args.pager && tty {
            if let Some(child) = spawn_pager() {
                return Ok(Output::new(stdout, Some(child), theme).into_pager());
            }
        }
        Ok(Output::new(stdout, None, theme))
    }

    fn new(file: File, pager: Option<Child>, theme: Theme) -> Output {
        Output {
            file,
            pager,
            pending: Vec::new(),
            theme,
            closed: false,
        }
    }

    fn into_pager(mut self) -> Output {
        if let Some(stdin) = self.pager.as_mut().and_then(|c| c.stdin.take()) {
            let fd = stdin.as_raw_fd();
            set_nonblocking(fd);
            // SAFETY: we take over the pipe's descriptor from ChildStdin.
            self.file = unsafe { File::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(stdin)) };
        }
        self
    }

    /// The pager's pipe, to poll for POLLERR (the user quit) and POLLOUT.
    pub fn pager_fd(&self) -> Option<RawFd> {
        self.pager.as_ref().map(|_| self.file.as_raw_fd())
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Queues `bytes` and writes as much as the reader takes now.
    pub fn write(&mut self, bytes: &[u8]) {
        if self.closed || bytes.is_empty() {
            return;
        }
        if self.pager.is_none() {
            if let Err(e) = self.file.write_all(bytes) {
                self.fail(&e);
            }
            return;
        }
        self.pending.extend_from_slice(bytes);
        self.push();
    }

    /// Writes queued bytes without blocking.
    pub fn push(&mut self) {
        while !self.pending.is_empty() && !self.closed {
            match self.file.write(&self.pending) {
                Ok(0) => break,
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.fail(&e),
            }
        }
    }

    fn fail(&mut self, e: &io::Error) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("ftr: cannot write the trace: {e}");
        }
        self.closed = true;
        self.pending.clear();
    }

    /// Writes everything queued, waiting for the reader, then closes the
    /// output and waits for the pager (the user quits it with `q`).
    pub fn finish(mut self) {
        if let Some(fd) = self.pager_fd() {
            set_blocking(fd);
        }
        if !self.closed && !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            if let Err(e) = self.file.write_all(&pending) {
                self.fail(&e);
            }
        }
        let _ = self.file.flush();
        let Output { file, pager, .. } = self;
        drop(file);
        if let Some(mut child) = pager {
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
            eprintln!("ftr: cannot start the pager `{cmd}`: {e}; writing to stdout");
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
