//! Which file each descriptor is, as far as the trace tells, for
//! `fd: 3</etc/hostname>` (strace -y's spelling): learnt from the opens
//! (with their file names), dups, closes and execs seen, per process, plus
//! one look at `/proc/PID/fd` when attaching to a running process. Nothing
//! is looked up per event.

use std::collections::HashMap;

/// What a syscall does to the descriptor table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Returns a new descriptor for its file-name argument (index); its
    /// flags argument, if any, may hold O_CLOEXEC.
    Open {
        name: usize,
        flags: Option<usize>,
    },
    /// Returns a copy of the descriptor in argument `old`; dup3's flags
    /// argument may hold O_CLOEXEC.
    Dup {
        old: usize,
        flags: Option<usize>,
    },
    /// fcntl: a dup for F_DUPFD and F_DUPFD_CLOEXEC; F_SETFD sets
    /// FD_CLOEXEC.
    Fcntl {
        fd: usize,
        cmd: usize,
    },
    /// Closes the descriptor in argument `fd`.
    Close {
        fd: usize,
    },
    /// A successful exec closes the O_CLOEXEC descriptors.
    Exec,
}

impl Effect {
    /// The effect of `syscall`, whose arguments are named `args`.
    pub fn of(syscall: &str, args: &[&str]) -> Effect {
        let at = |name: &str| args.iter().position(|a| *a == name);
        let found = match syscall {
            "open" | "openat" | "creat" | "openat2" => at("filename").map(|name| Effect::Open {
                name,
                flags: at("flags"),
            }),
            "dup" => at("fildes")
                .or(at("oldfd"))
                .map(|old| Effect::Dup { old, flags: None }),
            "dup2" => at("oldfd").map(|old| Effect::Dup { old, flags: None }),
            "dup3" => at("oldfd").map(|old| Effect::Dup {
                old,
                flags: at("flags"),
            }),
            "fcntl" => at("fd")
                .zip(at("cmd"))
                .map(|(fd, cmd)| Effect::Fcntl { fd, cmd }),
            "close" => at("fd").map(|fd| Effect::Close { fd }),
            "execve" | "execveat" => Some(Effect::Exec),
            _ => None,
        };
        found.unwrap_or(Effect::None)
    }
}

#[derive(Debug, Clone)]
pub struct Open {
    path: String,
    cloexec: bool,
}

/// One process's known descriptors.
pub type Table = HashMap<i32, Open>;

#[derive(Debug, Default)]
pub struct Fds {
    procs: HashMap<i32, Table>,
    /// Thread id to process id, learnt once per thread.
    tgids: HashMap<i32, i32>,
    /// Some descriptor was ever named.
    any: bool,
}

impl Fds {
    /// The process that thread `tid` belongs to (itself when it is gone).
    pub fn tgid(&mut self, tid: i32) -> i32 {
        *self.tgids.entry(tid).or_insert_with(|| {
            std::fs::read_to_string(format!("/proc/{tid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("Tgid:"))
                        .and_then(|v| v.trim().parse().ok())
                })
                .unwrap_or(tid)
        })
    }

    /// No descriptor was ever named: nothing to look up.
    pub fn is_empty(&self) -> bool {
        !self.any
    }

    pub fn table(&self, tgid: i32) -> Option<&Table> {
        self.procs.get(&tgid)
    }

    pub fn opened(&mut self, tgid: i32, fd: i64, path: &[u8], cloexec: bool) {
        if let Ok(fd) = i32::try_from(fd) {
            let path = String::from_utf8_lossy(path).into_owned();
            self.any = true;
            self.procs
                .entry(tgid)
                .or_default()
                .insert(fd, Open { path, cloexec });
        }
    }

    /// `new` is a copy of `old` (unknown `old`: `new` is unknown too).
    pub fn dup(&mut self, tgid: i32, old: i64, new: i64, cloexec: bool) {
        let (Ok(old), Ok(new)) = (i32::try_from(old), i32::try_from(new)) else {
            return;
        };
        let table = self.procs.entry(tgid).or_default();
        match table.get(&old).cloned() {
            Some(open) => {
                table.insert(new, Open { cloexec, ..open });
            }
            None => {
                table.remove(&new);
            }
        }
    }

    /// F_SETFD: whether `fd` closes on exec.
    pub fn set_cloexec(&mut self, tgid: i32, fd: i64, cloexec: bool) {
        if let (Some(table), Ok(fd)) = (self.procs.get_mut(&tgid), i32::try_from(fd)) {
            if let Some(open) = table.get_mut(&fd) {
                open.cloexec = cloexec;
            }
        }
    }

    pub fn closed(&mut self, tgid: i32, fd: i64) {
        if let (Some(table), Ok(fd)) = (self.procs.get_mut(&tgid), i32::try_from(fd)) {
            table.remove(&fd);
        }
    }

    pub fn exec(&mut self, tgid: i32) {
        if let Some(table) = self.procs.get_mut(&tgid) {
            table.retain(|_, open| !open.cloexec);
        }
    }

    /// A new process: a copy of its parent's table (a new thread shares
    /// its process's, found through `tgid`).
    pub fn fork(&mut self, parent_tid: i32, child: i32) {
        let parent = self.tgid(parent_tid);
        if self.tgid(child) != child {
            return;
        }
        if let Some(table) = self.procs.get(&parent).cloned() {
            self.procs.insert(child, table);
        }
    }

    /// What a running process has open, read once when ftr attaches.
    pub fn attach(&mut self, pid: i32) {
        let tgid = self.tgid(pid);
        if self.procs.contains_key(&tgid) {
            return; // another of its threads
        }
        self.procs.insert(tgid, Table::new());
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            return;
        };
        for entry in dir.flatten() {
            let Some(fd) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            if let Ok(target) = std::fs::read_link(entry.path()) {
                let path = target.to_string_lossy().into_owned();
                // `flags:\t02100000`: octal, O_CLOEXEC among them.
                let cloexec = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}"))
                    .ok()
                    .and_then(|info| {
                        let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
                        i64::from_str_radix(flags.trim(), 8).ok()
                    })
                    .is_some_and(|flags| flags & libc::O_CLOEXEC as i64 != 0);
                self.opened(tgid, fd, path.as_bytes(), cloexec);
            }
        }
    }
}

/// The file of descriptor `fd`, where known.
pub fn path(table: Option<&Table>, fd: i64) -> Option<&[u8]> {
    let fd = i32::try_from(fd).ok()?;
    table?.get(&fd).map(|open| open.path.as_bytes())
}

/// Writes `<path>` after a descriptor whose file is known.
pub fn name(out: &mut Vec<u8>, table: Option<&Table>, fd: i64) {
    if let Some(path) = path(table, fd) {
        out.push(b'<');
        out.extend_from_slice(path);
        out.push(b'>');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(fds: &Fds, tgid: i32, fd: i64) -> String {
        let mut out = Vec::new();
        name(&mut out, fds.table(tgid), fd);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn opens_dups_closes_and_execs_follow_the_table() {
        let mut fds = Fds::default();
        fds.opened(10, 3, b"/etc/hostname", false);
        fds.opened(10, 4, b"/tmp/log", true);
        fds.dup(10, 3, 7, false);
        assert_eq!(named(&fds, 10, 7), "</etc/hostname>");
        fds.closed(10, 3);
        assert_eq!(named(&fds, 10, 3), "");
        assert_eq!(named(&fds, 10, 7), "</etc/hostname>");
        // dup2 over a known descriptor from an unknown one: unknown now.
        fds.dup(10, 9, 7, false);
        assert_eq!(named(&fds, 10, 7), "");
        fds.opened(10, 5, b"/tmp/kept", true);
        fds.set_cloexec(10, 5, false);
        fds.exec(10);
        assert_eq!(named(&fds, 10, 4), "", "O_CLOEXEC closes on exec");
        assert_eq!(named(&fds, 10, 5), "</tmp/kept>");
        assert_eq!(named(&fds, 11, 4), "", "another process's table");
    }

    #[test]
    fn effects_come_from_the_syscall_and_its_argument_names() {
        assert_eq!(
            Effect::of("openat", &["dfd", "filename", "flags", "mode"]),
            Effect::Open {
                name: 1,
                flags: Some(2)
            }
        );
        assert_eq!(
            Effect::of("dup3", &["oldfd", "newfd", "flags"]),
            Effect::Dup {
                old: 0,
                flags: Some(2)
            }
        );
        assert_eq!(Effect::of("close", &["fd"]), Effect::Close { fd: 0 });
        assert_eq!(Effect::of("read", &["fd", "buf", "count"]), Effect::None);
        assert_eq!(
            Effect::of("fcntl", &["fd", "cmd", "arg"]),
            Effect::Fcntl { fd: 0, cmd: 1 }
        );
    }

    #[test]
    fn an_attached_process_starts_with_what_proc_shows() {
        let mut fds = Fds::default();
        let me = std::process::id() as i32;
        let file = std::fs::File::open("/proc/self/status").unwrap();
        use std::os::fd::AsRawFd;
        fds.attach(me);
        let shown = named(&fds, me, file.as_raw_fd() as i64);
        assert!(
            shown.starts_with("</proc/") && shown.ends_with("/status>"),
            "{shown}"
        );
    }
}
