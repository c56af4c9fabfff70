//! The on-disk journal: what ftr changed, written down *before* the change,
//! so that the change can be undone by this process on any way out, or by a
//! later `ftr reset` when this process was killed with SIGKILL.
//!
//! One file per ftr process, `/run/ftr/<pid>`, plain text, one entry a line:
//!
//! ```text
//! ftr-journal 1 <pid>
//! tracefs /sys/kernel/tracing
//! mounted                       (ftr mounted tracefs)
//! instance ftr-1234             (ftr created instances/ftr-1234)
//! knob <relative path> <old value, escaped>
//! knobs-restored                (the knob entries above are already undone)
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const DIR: &str = "/run/ftr";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Mounted,
    Instance(String),
    Knob { rel: String, old: String },
    KnobsRestored,
}

/// The parsed content of one journal file.
#[derive(Debug, Default)]
pub struct Record {
    pub pid: i32,
    pub tracefs: Option<PathBuf>,
    pub entries: Vec<Entry>,
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
        // Written and locked under a temporary name, then renamed: `ftr
        // reset` never sees a journal that is not locked by its owner.
        let temp = dir.join(format!(".{pid}.new"));
        let path = dir.join(pid.to_string());
        let _ = fs::remove_file(&temp); // left by a dead process with our pid
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp)
            .map_err(|e| Error::io("create the journal", &temp, &e))?;
        // Held for the life of this process and of its clean-up child: a
        // journal nobody holds locked belongs to an ftr that died.
        lock(&file, false).map_err(|e| Error::io("lock the journal", &temp, &e))?;
        let mut journal = Journal {
            path: temp.clone(),
            file,
        };
        journal.append_line(&format!("ftr-journal 1 {pid}"))?;
        journal.append_line(&format!(
            "tracefs {}",
            escape(&tracefs_root.to_string_lossy())
        ))?;
        fs::rename(&temp, &path).map_err(|e| Error::io("create the journal", &path, &e))?;
        journal.path = path;
        Ok(journal)
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
    pub record: Record,
    _lock: File,
}

impl Stale {
    pub fn remove(self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Journals whose owner is gone: nobody holds their lock.
pub fn stale() -> Vec<Stale> {
    let Ok(dir) = fs::read_dir(DIR) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let temp = name.starts_with('.') && name.ends_with(".new");
        if !temp && name.parse::<u32>().is_err() {
            continue;
        }
        let Ok(file) = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        else {
            continue;
        };
        if lock(&file, true).is_err() {
            continue; // a live ftr (or its clean-up child) holds it
        }
        if temp {
            // Its owner died before it changed anything.
            let _ = fs::remove_file(&path);
            continue;
        }
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        match parse(&text) {
            Some(record) => out.push(Stale {
                path,
                record,
                _lock: file,
            }),
            // Created but killed before the header was written: nothing changed.
            None => {
                let _ = fs::remove_file(&path);
            }
        }
    }
    out
}

/// Whether a live ftr (or its clean-up child) holds the journal of `pid`.
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

pub fn parse(text: &str) -> Option<Record> {
    let mut lines = text.lines();
    let mut head = lines.next()?.split(' ');
    if head.next()? != "ftr-journal" || head.next()? != "1" {
        return None;
    }
    let mut record = Record {
        pid: head.next()?.parse().ok()?,
        ..Record::default()
    };
    for line in lines {
        let mut words = line.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some("tracefs"), Some(root), None) => record.tracefs = Some(unescape(root).into()),
            (Some("mounted"), None, None) => record.entries.push(Entry::Mounted),
            (Some("instance"), Some(name), None) => {
                record.entries.push(Entry::Instance(unescape(name)))
            }
            (Some("knob"), Some(rel), Some(old)) => record.entries.push(Entry::Knob {
                rel: unescape(rel),
                old: unescape(old),
            }),
            (Some("knobs-restored"), None, None) => record.entries.push(Entry::KnobsRestored),
            // A line cut short by a crash mid-write: nothing was changed for it.
            _ => {}
        }
    }
    Some(record)
}

fn secure_dir() -> Result<PathBuf> {
    let dir = PathBuf::from(DIR);
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
        let text = "ftr-journal 1 42\ntracefs /sys/kernel/tracing\nmounted\ninstance ftr-42\n\
                    knob max_graph_depth 0\nknob set_graph_function \\e\nknobs-restored\nknob trunc";
        let r = parse(text).expect("parses");
        assert_eq!(r.pid, 42);
        assert_eq!(r.tracefs.as_deref(), Some(Path::new("/sys/kernel/tracing")));
        assert_eq!(
            r.entries,
            vec![
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
                Entry::KnobsRestored,
            ]
        );
        assert!(parse("garbage").is_none());
    }
}
