//! Typed errors and the exit codes they map to.
//!
//! ftr wraps commands, so it follows `env` and `timeout`: 125 when ftr itself
//! fails, 126 when the command cannot be executed, 127 when it is not found,
//! otherwise the command's own status.

use std::fmt;
use std::io;
use std::path::Path;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad command line: unknown option, bad value, unknown syscall.
    Usage,
    /// ftr could not set up or run tracing (tracefs, permissions, kernel).
    Setup,
    /// The command exists but cannot be executed.
    CannotExecute,
    /// The command was not found.
    NotFound,
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub msg: String,
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Error {
        Error {
            kind: Kind::Usage,
            msg: msg.into(),
        }
    }

    pub fn setup(msg: impl Into<String>) -> Error {
        Error {
            kind: Kind::Setup,
            msg: msg.into(),
        }
    }

    /// An I/O error on `path`, worded with the fix the errno suggests.
    pub fn io(action: &str, path: &Path, err: &io::Error) -> Error {
        let hint = match err.raw_os_error() {
            Some(libc::EACCES) | Some(libc::EPERM) => {
                if let Some(mode) = lockdown_mode() {
                    format!(" (the kernel is locked down: {mode}; tracing needs lockdown=none)")
                } else if !nix::unistd::geteuid().is_root() {
                    " (ftr needs root: run it with sudo)".to_string()
                } else {
                    String::new()
                }
            }
            Some(libc::EROFS) => " (tracefs is mounted read-only)".to_string(),
            _ => String::new(),
        };
        Error::setup(format!("cannot {action} {}: {err}{hint}", path.display()))
    }

    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::Usage | Kind::Setup => 125,
            Kind::CannotExecute => 126,
            Kind::NotFound => 127,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

/// Says something on stderr, in one write(2) so that it is never torn
/// apart by other output; a closed stderr is not worth a panic.
pub fn warn(msg: impl fmt::Display) {
    use std::io::Write;
    let line = format!("ftr: {msg}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// The active kernel lockdown mode, if any (`integrity`/`confidentiality`).
fn lockdown_mode() -> Option<String> {
    let text = std::fs::read_to_string("/sys/kernel/security/lockdown").ok()?;
    let start = text.find('[')? + 1;
    let end = start + text[start..].find(']')?;
    let mode = &text[start..end];
    (mode != "none").then(|| mode.to_string())
}
