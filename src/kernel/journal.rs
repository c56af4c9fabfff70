//! The on-disk journal: what ftr changed, written down *before* the change,
//! so that the change can be undone by this process on any way out, or by a
//! later `ftr reset` when this process was killed with SIGKILL.
//!
//! One file per ftr process, `/run/ftr/<pid>`, plain text, one entry a line:
//!
//! ```text
//! ftr-journal 2 <pid>
//! boot <boot id>                (a journal of another boot is never replayed)
//! tracefs /sys/kernel/tracing
//! guardian <pid>                (the process that replays it if ftr is killed)
//! mounted                       (ftr mounted tracefs)
//! instance ftr-1234             (ftr created instances/ftr-1234)
//! knob <relative path> <old value, escaped>
//! line <relative path> <line added> <line that removes it>
//!                               (dynamic_events and the like: other tools'
//!                                objects live there too, so it is never
//!                                truncated)
//! knobs-restored                (the knob and line entries above are undone)
//! ```
//!
//! Values are escaped so that each entry is one line of space-separated
//! words. Format 1 (no boot id, no lines) is still read.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const DIR: &str = "/run/ftr";
/// The format this ftr writes; it reads every format up to it.
const FORMAT: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Mounted,
    Instance(String),
    Knob {
        rel: String,
        old: String,
    },
    Line {
        rel: String,
        add: String,
        remove: String,
    },
    Guardian(i32),
    KnobsRestored,
}

/// The parsed content of one journal file.
#[derive(Debug, Default)]
pub struct Record {
    pub pid: i32,
    /// None in format 1, which predates it.
    pub boot: Option<String>,
    pub tracefs: Option<PathBuf>,
    pub entries: Vec<Entry>,
    /// Entries that name something outside tracefs: never replayed.
    pub refused: Vec<String>,
}

/// Why a journal file cannot be replayed as it is.
#[derive(Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// No header: its owner died before it wrote one, so changed nothing.
    Torn,
    /// Written by an ftr of another journal format.
    Format(String),
}

/// The journal this process appends to.
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Creates `/run/ftr/<pid>` safely: the directory must be root's and not
    /// writable by others, and neither it nor the file may be a symlink.
    pub fn create(tracefs_root: &Path) -> Result<Journal> {
        let dir = secure_dir()?;
        let pid = std::process::id() as i32;
        let path = dir.join(pid.to_string());
        // Written and locked before it gets its name: `ftr reset` never sees
        // a journal that is not locked by its owner. An unnamed file
        // (O_TMPFILE) leaves nothing behind if ftr is killed meanwhile.
        // Where the file system has none, or it cannot be named (no /proc,
        // or a dead process with our pid left its journal), a temporary
        // name does (`stale` removes it), renamed over the old one as
        // before.
        if let Some(file) = unnamed(&dir) {
            let journal = Journal::begin(file, path.clone(), pid, tracefs_root)?;
            if link_unnamed(&journal.file, &path).is_ok() {
                return Ok(journal);
            }
        }
        let temp = dir.join(format!(".{pid}.new"));
        let _ = fs::remove_file(&temp); // left by a dead process with our pid
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp)
            .map_err(|e| Error::io("create the journal", &temp, &e))?;
        let mut journal = Journal::begin(file, temp.clone(), pid, tracefs_root)?;
        fs::rename(&temp, &path).map_err(|e| Error::io("create the journal", &path, &e))?;
        journal.path = path;
        Ok(journal)
    }

    /// Locks `file` and writes the journal's header (`shown` names it in
    /// errors).
    fn begin(file: File, shown: PathBuf, pid: i32, tracefs_root: &Path) -> Result<Journal> {
        // Held for the life of this process and of its clean-up child: a
        // journal nobody holds locked belongs to an ftr that died.
        lock(&file, false).map_err(|e| Error::io("lock the journal", &shown, &e))?;
        let mut journal = Journal { path: shown, file };
        journal.append_line(&format!("ftr-journal {FORMAT} {pid}"))?;
        if let Some(boot) = boot_id() {
            journal.append_line(&format!("boot {}", escape(&boot)))?;
        }
        journal.append_line(&format!(
            "tracefs {}",
            escape(&tracefs_root.to_string_lossy())
        ))?;
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.file.as_raw_fd()
    }

    /// Appends an entry; it is on disk (in the page cache, which outlives this
    /// process) when this returns.
    pub fn append(&mut self, entry: &Entry) -> Result<()> {
        let line = match entry {
            Entry::Mounted => "mounted".to_string(),
            Entry::Instance(name) => format!("instance {}", escape(name)),
            Entry::Knob { rel, old } => format!("knob {} {}", escape(rel), escape(old)),
            Entry::Line { rel, add, remove } => {
                format!("line {} {} {}", escape(rel), escape(add), escape(remove))
            }
            Entry::Guardian(pid) => format!("guardian {pid}"),
            Entry::KnobsRestored => "knobs-restored".to_string(),
        };
        self.append_line(&line)
    }

    fn append_line(&mut self, line: &str) -> Result<()> {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.file
            .write_all(&bytes)
            .map_err(|e| Error::io("write the journal", &self.path, &e))
    }

    pub fn remove(self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// A journal left by an ftr that is gone (killed before it could restore),
/// opened and locked, so that two `ftr reset` runs never replay it twice.
pub struct Stale {
    pub path: PathBuf,
    /// What it says, or why it cannot be replayed.
    pub record: std::result::Result<Record, Unreadable>,
    _lock: File,
}

impl Stale {
    pub fn remove(self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// A journal that something holds locked: its ftr, or, once that ftr is
/// gone, its guardian replaying it or its clean-up child finishing it.
pub struct Held {
    pub path: PathBuf,
    /// The ftr that wrote it (its file name).
    pub pid: i32,
    /// What it says as read now (the holder may still be appending).
    pub record: std::result::Result<Record, Unreadable>,
    file: File,
}

impl Held {
    /// Whether the ftr that wrote it still runs. Once it is gone, whoever
    /// holds the lock is undoing its changes: the guardian (ftr was killed)
    /// or the clean-up child (ftr ended normally).
    pub fn owner_alive(&self) -> bool {
        alive(self.pid)
    }

    /// Waits until its holder lets go, polling until `deadline`.
    pub fn wait(&self, deadline: std::time::Instant) -> Released {
        loop {
            if lock(&self.file, true).is_ok() {
                // The holder removes the journal once all is undone; one it
                // could not wholly undo stays, for `ftr reset` to report.
                return match same_file(&self.file, &self.path) {
                    true => Released::Left,
                    false => Released::Done,
                };
            }
            if std::time::Instant::now() >= deadline {
                return Released::TimedOut;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// How the wait for a held journal ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Released {
    /// Undone and removed by its holder.
    Done,
    /// Let go, but still there: its holder could not undo all of it.
    Left,
    /// Still held at the deadline.
    TimedOut,
}

/// A journal in `/run/ftr`, by who holds it.
pub enum Found {
    Stale(Stale),
    Held(Held),
}

/// Every journal in `/run/ftr`: the stale ones locked by this process (so
/// that two repairs never replay one twice), the others as held.
pub fn scan() -> Vec<Found> {
    let Ok(dir) = fs::read_dir(DIR) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let temp = name.starts_with('.') && name.ends_with(".new");
        let pid = name.parse::<i32>();
        if !temp && pid.is_err() {
            continue;
        }
        let Ok(file) = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        else {
            continue;
        };
        let held = lock(&file, true).is_err();
        if temp {
            if !held {
                // Its owner died before it changed anything.
                let _ = fs::remove_file(&path);
            }
            continue; // a live ftr still writing its header
        }
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let record = parse(&text);
        out.push(match (held, pid) {
            (true, Ok(pid)) => Found::Held(Held {
                path,
                pid,
                record,
                file,
            }),
            _ => Found::Stale(Stale {
                path,
                record,
                _lock: file,
            }),
        });
    }
    out
}

/// Whether `file` is still the file named `path`.
fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether process `pid` runs (a zombie has ended: its files are closed).
fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S ...`: the state follows the last `)`.
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().as_bytes().first()),
            Some(Some(b'Z' | b'X'))
        ),
        // No /proc: ask the kernel whether the pid exists.
        Err(_) => nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok(),
    }
}

/// Whether a live ftr (or its guardian or clean-up child) holds the journal
/// of `pid`.
pub fn is_held(pid: i32) -> bool {
    let path = Path::new(DIR).join(pid.to_string());
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(file) => lock(&file, true).is_err(),
        Err(_) => false,
    }
}

/// Taken by a session before it changes anything at the top level of
/// tracefs (the graph knobs exist only there): one such session at a time.
/// The lock is on the journal directory itself, so nothing is left behind.
pub fn lock_top_level() -> Result<File> {
    let dir = secure_dir()?;
    let file = File::open(&dir).map_err(|e| Error::io("open", &dir, &e))?;
    lock(&file, true).map_err(|_| {
        Error::setup(
            "another ftr is already tracing with the top-level tracer (graph mode); wait for it to finish",
        )
    })?;
    Ok(file)
}

fn lock(file: &File, nonblocking: bool) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let op = libc::LOCK_EX | if nonblocking { libc::LOCK_NB } else { 0 };
    // SAFETY: flock on a descriptor we own; no memory is involved.
    if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

pub fn parse(text: &str) -> std::result::Result<Record, Unreadable> {
    let mut lines = text.lines();
    let head = lines.next().ok_or(Unreadable::Torn)?;
    let mut words = head.split(' ');
    if words.next() != Some("ftr-journal") {
        return Err(Unreadable::Torn);
    }
    let format = words.next().unwrap_or_default();
    if !format
        .parse::<u32>()
        .is_ok_and(|f| (1..=FORMAT).contains(&f))
    {
        return Err(Unreadable::Format(format.to_string()));
    }
    let mut record = Record {
        pid: words
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or(Unreadable::Torn)?,
        ..Record::default()
    };
    for line in lines {
        let words: Vec<String> = line.split(' ').map(unescape).collect();
        let entry = match words.as_slice() {
            [w, boot] if w == "boot" => {
                record.boot = Some(boot.clone());
                continue;
            }
            [w, root] if w == "tracefs" => {
                record.tracefs = Some(root.into());
                continue;
            }
            [w] if w == "mounted" => Entry::Mounted,
            [w, name] if w == "instance" => Entry::Instance(name.clone()),
            [w, rel, old] if w == "knob" => Entry::Knob {
                rel: rel.clone(),
                old: old.clone(),
            },
            [w, rel, add, remove] if w == "line" => Entry::Line {
                rel: rel.clone(),
                add: add.clone(),
                remove: remove.clone(),
            },
            [w, pid] if w == "guardian" => match pid.parse() {
                Ok(pid) => Entry::Guardian(pid),
                Err(_) => continue,
            },
            [w] if w == "knobs-restored" => Entry::KnobsRestored,
            // A line cut short by a crash mid-write: nothing was changed for it.
            _ => continue,
        };
        match inside_tracefs(&entry) {
            true => record.entries.push(entry),
            false => record.refused.push(line.to_string()),
        }
    }
    Ok(record)
}

/// Whether an entry only names files below the tracefs root: a relative
/// path without `..`, or an instance name without a `/`.
fn inside_tracefs(entry: &Entry) -> bool {
    let relative = |rel: &str| {
        !rel.is_empty()
            && Path::new(rel)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
    };
    match entry {
        Entry::Knob { rel, .. } | Entry::Line { rel, .. } => relative(rel),
        Entry::Instance(name) => relative(name) && !name.contains('/'),
        _ => true,
    }
}

/// This boot's id: a journal from another boot speaks of another kernel.
pub fn boot_id() -> Option<String> {
    let id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(id.trim().to_string()).filter(|id| !id.is_empty())
}

fn secure_dir() -> Result<PathBuf> {
    let dir = PathBuf::from(DIR);
    // Minimal systems (a busybox initramfs, some containers) have no /run.
    let run = dir.parent().unwrap_or(Path::new("/"));
    match fs::DirBuilder::new().mode(0o755).create(run) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(Error::setup(format!(
                "cannot create {}: {e}; ftr keeps its journal of changes there (mount a tmpfs there: mount -t tmpfs -o mode=755 tmpfs {0})",
                run.display()
            )))
        }
    }
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("create", &dir, &e)),
    }
    let meta = fs::symlink_metadata(&dir).map_err(|e| Error::io("inspect", &dir, &e))?;
    if !meta.is_dir() || meta.uid() != 0 || meta.mode() & 0o022 != 0 {
        return Err(Error::setup(format!(
            "{DIR} is not a root-owned directory closed to others; remove it and run ftr again"
        )));
    }
    Ok(dir)
}

/// An unnamed file in `dir`, to be named by `link_unnamed`; `None` where
/// the file system cannot make one.
fn unnamed(dir: &Path) -> Option<File> {
    OpenOptions::new()
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
        .open(dir)
        .ok()
}

/// Gives the unnamed `file` the name `path` (linkat through /proc, which
/// needs no privilege beyond the directory's; fails if /proc is missing).
fn link_unnamed(file: &File, path: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let from = format!("/proc/self/fd/{}", file.as_raw_fd());
    nix::unistd::linkat(
        nix::fcntl::AT_FDCWD,
        from.as_str(),
        nix::fcntl::AT_FDCWD,
        path,
        nix::fcntl::AtFlags::AT_SYMLINK_FOLLOW,
    )
    .map_err(std::io::Error::from)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            ' ' => out.push_str("\\s"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    if out.is_empty() {
        out.push_str("\\e");
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('s') => out.push(' '),
            Some('t') => out.push('\t'),
            Some('e') => {}
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zombie_has_ended() {
        assert!(alive(std::process::id() as i32));
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("run true");
        let pid = child.id() as i32;
        // Not reaped yet: a zombie until wait(), with its files closed.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while alive(pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!alive(pid), "a zombie counts as ended");
        let _ = child.wait();
        assert!(!alive(pid), "a reaped process has ended");
    }

    #[test]
    fn escape_round_trips() {
        for s in [
            "",
            "0",
            "a b",
            "x\ny\n",
            "back\\slash\t",
            "#### all functions enabled ####",
        ] {
            assert_eq!(unescape(&escape(s)), s);
            assert!(!escape(s).contains([' ', '\n']));
        }
    }

    #[test]
    fn parses_what_it_writes_and_skips_torn_lines() {
        let text = "ftr-journal 2 42\nboot 1a-2b\ntracefs /sys/kernel/tracing\nguardian 43\nmounted\n\
                    instance ftr-42\nknob max_graph_depth 0\nknob set_graph_function \\e\n\
                    line dynamic_events e:ftr_42/openat\\ssyscalls.sys_enter_openat -:ftr_42/openat\n\
                    knobs-restored\nknob trunc";
        let r = parse(text).expect("parses");
        assert_eq!(r.pid, 42);
        assert_eq!(r.boot.as_deref(), Some("1a-2b"));
        assert_eq!(r.tracefs.as_deref(), Some(Path::new("/sys/kernel/tracing")));
        assert_eq!(
            r.entries,
            vec![
                Entry::Guardian(43),
                Entry::Mounted,
                Entry::Instance("ftr-42".into()),
                Entry::Knob {
                    rel: "max_graph_depth".into(),
                    old: "0".into()
                },
                Entry::Knob {
                    rel: "set_graph_function".into(),
                    old: String::new()
                },
                Entry::Line {
                    rel: "dynamic_events".into(),
                    add: "e:ftr_42/openat syscalls.sys_enter_openat".into(),
                    remove: "-:ftr_42/openat".into(),
                },
                Entry::KnobsRestored,
            ]
        );
        assert!(r.refused.is_empty());
        assert_eq!(parse("garbage").err(), Some(Unreadable::Torn));
    }

    #[test]
    fn format_1_is_still_read_and_others_are_not() {
        let r = parse("ftr-journal 1 7\ntracefs /t\ninstance ftr-7\n").expect("format 1");
        assert_eq!(r.boot, None);
        assert_eq!(r.entries, vec![Entry::Instance("ftr-7".into())]);
        assert_eq!(
            parse("ftr-journal 3 7\nsomething new\n").err(),
            Some(Unreadable::Format("3".into()))
        );
    }

    #[test]
    fn entries_outside_tracefs_are_refused() {
        let text = "ftr-journal 2 9\nknob ../../etc/passwd x\nknob /etc/shadow x\n\
                    instance ../x\nline a/../../b + -\nknob options/funcgraph-tail 0\n";
        let r = parse(text).expect("parses");
        assert_eq!(
            r.entries,
            vec![Entry::Knob {
                rel: "options/funcgraph-tail".into(),
                old: "0".into()
            }]
        );
        assert_eq!(r.refused.len(), 4, "{:?}", r.refused);
    }
}
