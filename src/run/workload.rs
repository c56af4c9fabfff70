//! Running the traced command: forked and held at a gate until tracing is
//! armed for its pid (perf's "corked" workload), then exec'd; exec errors
//! come back over a close-on-exec pipe. Also attaching to existing pids.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, pipe2, ForkResult, Pid, User};

use crate::error::{warn, Error, Kind, Result};
use crate::run::signals::Received;

/// A command forked and waiting at the gate.
pub struct Workload {
    pub pid: Pid,
    /// The name its comm will have after exec (for lines seen before the exec
    /// event tells it).
    pub comm: String,
    gate: Option<File>,
    exec_error: File,
    status: Option<i32>,
}

impl Workload {
    /// Forks `argv[0]` with its arguments, stopped before exec until `go`.
    /// The program is looked up in PATH first so that a missing command is
    /// reported before tracefs is touched.
    pub fn spawn(argv: &[OsString], user: Option<&User>) -> Result<Workload> {
        let program = resolve(&argv[0])?;
        let c_program = cstring(program.as_os_str())?;
        let c_args: Vec<CString> = argv.iter().map(|a| cstring(a)).collect::<Result<_>>()?;
        let (gate_r, gate_w) = cloexec_pipe()?;
        let (err_r, err_w) = cloexec_pipe()?;
        let user = user.cloned();
        // SAFETY: ftr is single-threaded here; the child only makes syscalls
        // (read, setuid, execv, write, _exit) before exec.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                drop(gate_w);
                drop(err_r);
                child(gate_r, err_w, &c_program, &c_args, user.as_ref())
            }
            Ok(ForkResult::Parent { child }) => {
                let comm = program
                    .file_name()
                    .map(|n| n.to_string_lossy().chars().take(15).collect())
                    .unwrap_or_default();
                Ok(Workload {
                    pid: child,
                    comm,
                    gate: Some(File::from(gate_w)),
                    exec_error: File::from(err_r),
                    status: None,
                })
            }
            Err(e) => Err(Error::setup(format!("cannot fork: {}", e.desc()))),
        }
    }

    /// Opens the gate: the child execs now. Returns the exec error, if any.
    pub fn go(&mut self) -> Result<()> {
        if let Some(mut gate) = self.gate.take() {
            let _ = gate.write_all(b"g");
        }
        let mut buf = [0u8; 4];
        // Blocks until exec succeeds (EOF, the pipe is close-on-exec) or the
        // child writes its errno.
        match self.exec_error.read(&mut buf) {
            Ok(4) => {
                let errno = i32::from_ne_bytes(buf);
                let _ = self.wait();
                let err = std::io::Error::from_raw_os_error(errno);
                let kind = if errno == libc::ENOENT {
                    Kind::NotFound
                } else {
                    Kind::CannotExecute
                };
                Err(Error {
                    kind,
                    msg: format!("cannot execute {}: {err}", self.comm),
                })
            }
            _ => Ok(()),
        }
    }

    /// Passes on the signals ftr received that the command did not get too.
    pub fn forward(&self, signals: &[Received]) {
        for r in signals.iter().filter(|r| r.forward) {
            if let Ok(sig) = Signal::try_from(r.signal) {
                self.signal(sig);
            }
        }
    }

    /// Sends a signal to the command.
    pub fn signal(&self, sig: Signal) {
        if self.status.is_none() {
            let _ = kill(self.pid, sig);
        }
    }

    /// The command's exit status if it has ended (reaping it), as a shell
    /// shows it: 128+N for a death by signal N.
    pub fn try_wait(&mut self) -> Option<i32> {
        if self.status.is_none() {
            match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(status) => self.status = shell_status(status),
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => {
                    warn(format_args!(
                        "cannot get the command's exit status: {}",
                        e.desc()
                    ));
                    self.status = Some(125);
                }
            }
        }
        self.status
    }

    /// Waits for the command to exit.
    fn wait(&mut self) -> i32 {
        while self.status.is_none() {
            match waitpid(self.pid, None) {
                Ok(status) => self.status = shell_status(status),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => self.status = Some(125),
            }
        }
        self.status.unwrap_or(125)
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        // Never leave a child stuck at the gate.
        if self.gate.is_some() {
            self.signal(Signal::SIGKILL);
            let _ = self.wait();
        }
    }
}

fn shell_status(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

fn child(
    gate: OwnedFd,
    err: OwnedFd,
    program: &CString,
    args: &[CString],
    user: Option<&User>,
) -> ! {
    let mut byte = [0u8; 1];
    // SAFETY: raw syscalls in the forked child.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        if libc::read(gate.as_raw_fd(), byte.as_mut_ptr().cast(), 1) != 1 {
            libc::_exit(125); // ftr went away before opening the gate
        }
    }
    drop(gate);
    if let Some(user) = user {
        if let Err(e) = drop_privileges(user) {
            report(&err, e as i32);
        }
    }
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: argv is a NULL-terminated array of valid C strings.
    unsafe { libc::execv(program.as_ptr(), argv.as_ptr()) };
    report(
        &err,
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::ENOEXEC),
    )
}

fn report(err: &OwnedFd, errno: i32) -> ! {
    let bytes = errno.to_ne_bytes();
    // SAFETY: writing 4 bytes from a live buffer, then leaving the child.
    unsafe {
        libc::write(err.as_raw_fd(), bytes.as_ptr().cast(), 4);
        libc::_exit(if errno == libc::ENOENT { 127 } else { 126 })
    }
}

fn drop_privileges(user: &User) -> nix::Result<()> {
    let name = CString::new(user.name.as_bytes()).map_err(|_| nix::errno::Errno::EINVAL)?;
    nix::unistd::initgroups(&name, user.gid)?;
    nix::unistd::setgid(user.gid)?;
    nix::unistd::setuid(user.uid)
}

fn cloexec_pipe() -> Result<(OwnedFd, OwnedFd)> {
    pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::setup(format!("cannot create a pipe: {}", e.desc())))
}

fn cstring(s: &std::ffi::OsStr) -> Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| Error::usage(format!("argument {s:?} contains a NUL byte")))
}

/// Finds the program as execvp would, so a missing command is an error
/// before tracing starts: 127 if not found, 126 if not executable.
pub fn resolve(program: &OsString) -> Result<PathBuf> {
    let name = Path::new(program);
    let not_found = || Error {
        kind: Kind::NotFound,
        msg: format!("{}: command not found", name.display()),
    };
    if program.as_bytes().contains(&b'/') {
        return match std::fs::metadata(name) {
            Ok(meta) if meta.is_dir() => Err(Error {
                kind: Kind::CannotExecute,
                msg: format!("{}: is a directory", name.display()),
            }),
            Ok(_) if !is_executable(name) => Err(Error {
                kind: Kind::CannotExecute,
                msg: format!("{}: permission denied (not executable)", name.display()),
            }),
            Ok(_) => Ok(name.to_path_buf()),
            Err(_) => Err(not_found()),
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut denied = None;
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            if is_executable(&candidate) {
                return Ok(candidate);
            }
            denied.get_or_insert(candidate);
        }
    }
    match denied {
        Some(candidate) => Err(Error {
            kind: Kind::CannotExecute,
            msg: format!(
                "{}: permission denied (not executable)",
                candidate.display()
            ),
        }),
        None => Err(not_found()),
    }
}

fn is_executable(path: &Path) -> bool {
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

/// Every thread of each process in `pids` (tracing a process means all of its
/// threads, as `perf trace -p` does). Errors name a pid that does not exist.
pub fn threads_of(pids: &[i32]) -> Result<Vec<i32>> {
    let mut tids = Vec::new();
    for &pid in pids {
        let dir = format!("/proc/{pid}/task");
        let entries = std::fs::read_dir(&dir).map_err(|_| {
            Error::usage(format!(
                "-p {pid}: no such process (nothing in /proc/{pid})"
            ))
        })?;
        for entry in entries.flatten() {
            if let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) {
                tids.push(tid);
            }
        }
    }
    Ok(tids)
}

/// `-u USER`: a name or a numeric uid.
pub fn lookup_user(name: &str) -> Result<User> {
    let found = match name.parse::<u32>() {
        Ok(uid) => User::from_uid(nix::unistd::Uid::from_raw(uid)),
        Err(_) => User::from_name(name),
    };
    found.ok().flatten().ok_or_else(|| {
        Error::usage(format!(
            "-u {name}: no such user (not in the user database)"
        ))
    })
}

/// A pidfd: readable once the process has exited.
pub fn pidfd(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a descriptor just returned to us, owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}
