//! The tracing session: the one owner of every change ftr makes to tracefs,
//! and the one place where those changes are undone.
//!
//! Every change is journaled (see `journal`) before it is made. `restore`
//! undoes them in reverse order; it runs on a normal end, on a signal (the
//! event loop calls `finish`), on an error or a panic (`Drop`). When ftr is
//! killed with SIGKILL, its guardian replays the journal (`replay`); when the
//! guardian is gone too, `ftr reset`, which every run does first, does.

use std::fs;
use std::path::Path;

use crate::error::{warn, Error, Result};
use crate::guardian::Guardian;
use crate::journal::{self, Entry, Journal, Unreadable};
use crate::tracefs::{self, Tracefs};

/// Files that hold objects of several tools, one a line: ftr adds and
/// removes its own lines there and never truncates them.
const SHARED: [&str; 3] = ["dynamic_events", "kprobe_events", "uprobe_events"];

/// Where a mode records: ftr's own instance, or the top level (the graph
/// tracers on kernels that have them only there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Buffer {
    Instance,
    TopLevel,
}

pub struct Session {
    tracefs: Tracefs,
    journal: Option<Journal>,
    guardian: Option<Guardian>,
    instance: Option<String>,
    /// Lines added to files shared with other tools (event probes in
    /// `dynamic_events`), in the order added: removed after the instance.
    lines: Vec<Entry>,
    /// Top-level knobs changed, with their old values, in the order changed.
    knobs: Vec<(String, String)>,
    /// Held while top-level knobs are changed (see journal::lock_top_level).
    top_level: Option<std::fs::File>,
}

impl Session {
    /// Starts a session: opens this process's journal and its guardian.
    /// (What killed ftr processes left is repaired before the plan, by
    /// `run::prepare`.)
    pub fn start(tracefs: Tracefs) -> Result<Session> {
        let mut journal = Journal::create(tracefs.root())?;
        let guardian = Guardian::start(&mut journal);
        if tracefs.mounted_here {
            journal.append(&Entry::Mounted)?;
        }
        Ok(Session {
            tracefs,
            journal: Some(journal),
            guardian,
            instance: None,
            lines: Vec::new(),
            knobs: Vec::new(),
            top_level: None,
        })
    }

    pub fn tracefs(&self) -> &Tracefs {
        &self.tracefs
    }

    /// Creates this session's own instance, `instances/ftr-<pid>`, and returns
    /// its path relative to the tracefs root.
    pub fn create_instance(&mut self) -> Result<String> {
        let name = format!("ftr-{}", std::process::id());
        self.journal_mut()?.append(&Entry::Instance(name.clone()))?;
        let rel = format!("instances/{name}");
        let path = self.tracefs.path(&rel);
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // Left by an earlier process with our pid that the repair could
                // not remove: take it over, it is ours by name.
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::setup(format!(
                    "cannot create the tracing instance {}: this kernel has no tracefs instances (Linux 3.19+)",
                    path.display()
                )));
            }
            Err(e) => return Err(Error::io("create the tracing instance", &path, &e)),
        }
        self.instance = Some(name);
        Ok(rel)
    }

    /// Removes this session's instance now, for a mode that found it cannot
    /// use it. Its journal entry stays: undoing it finds the instance gone.
    pub fn remove_instance(&mut self) -> Result<()> {
        if let Some(name) = self.instance.take() {
            remove_instance(self.tracefs.root(), &name).map_err(Error::setup)?;
        }
        Ok(())
    }

    /// Sets a knob of ftr's own instance (removed at the end, so nothing to
    /// journal); `name` is relative to the instance.
    pub fn set_instance(&mut self, name: &str, value: &str) -> Result<()> {
        let Some(instance) = &self.instance else {
            return Err(Error::setup("internal error: no instance to set knobs in"));
        };
        write(
            &self.tracefs,
            &format!("instances/{instance}/{name}"),
            value,
        )
    }

    /// Adds one object to a file shared with other tools, such as an event
    /// probe to `dynamic_events`: journals the line that removes it first,
    /// appends without truncating. Objects are removed after the instance
    /// (an event enabled there cannot be removed), so a mode adds them
    /// before it creates its instance. The kernel's refusal comes back as
    /// the `io::Error` of the write, for the mode to explain.
    pub fn add_line(
        &mut self,
        rel: &str,
        add: &str,
        remove: &str,
    ) -> Result<std::result::Result<(), std::io::Error>> {
        if !SHARED.contains(&rel) {
            return Err(Error::setup(format!(
                "internal error: {rel} is a knob, not a file of objects"
            )));
        }
        if self.instance.is_some() {
            return Err(Error::setup(
                "internal error: objects are added before the instance that uses them",
            ));
        }
        let entry = Entry::Line {
            rel: rel.into(),
            add: add.into(),
            remove: remove.into(),
        };
        self.journal_mut()?.append(&entry)?;
        let done = append(&self.tracefs, rel, add);
        if done.is_ok() {
            self.lines.push(entry);
        }
        Ok(done)
    }

    /// Turns recording on or off where the mode records.
    pub fn record(&mut self, buffer: &Buffer, on: bool) -> Result<()> {
        let value = if on { "1" } else { "0" };
        match buffer {
            Buffer::Instance => self.set_instance("tracing_on", value),
            Buffer::TopLevel => self.set_global("tracing_on", value),
        }
    }

    /// Changes a knob outside ftr's instance, journaling its old value first.
    /// The same knob written twice keeps its first old value.
    pub fn set_global(&mut self, rel: &str, value: &str) -> Result<()> {
        if SHARED.contains(&rel) {
            return Err(Error::setup(format!(
                "internal error: {rel} holds other tools' objects; ftr adds lines there, it never replaces it"
            )));
        }
        if self.top_level.is_none() {
            self.top_level = Some(journal::lock_top_level()?);
        }
        if !self.knobs.iter().any(|(k, _)| k == rel) {
            let old = restorable(rel, &self.tracefs.read(rel)?).map_err(Error::setup)?;
            self.journal_mut()?.append(&Entry::Knob {
                rel: rel.into(),
                old: old.clone(),
            })?;
            self.knobs.push((rel.to_string(), old));
        }
        write(&self.tracefs, rel, value)
    }

    fn journal_mut(&mut self) -> Result<&mut Journal> {
        self.journal
            .as_mut()
            .ok_or_else(|| Error::setup("internal error: the session is already restored"))
    }

    /// Puts everything back now and waits for it. Returns the problems met;
    /// it goes on past each one so that as much as possible is restored.
    pub fn restore(&mut self) -> Vec<String> {
        let mut problems = self.restore_knobs();
        if let Some(journal) = self.journal.take() {
            let entries = self.cleanup_entries();
            problems.extend(undo(&self.tracefs, &entries));
            journal.remove();
        }
        self.dismiss_guardian();
        problems
    }

    /// Puts the knobs back now; leaves the removal of the (stopped, empty)
    /// instance to a detached child, because the kernel's rmdir of an instance
    /// waits ~50 ms for RCU and there is no reason to make the user wait too.
    /// The child holds the journal's lock until it is done, so `ftr reset`
    /// never races it, and a killed child leaves a journal `ftr reset` replays.
    pub fn finish(mut self) -> Vec<String> {
        let mut problems = self.restore_knobs();
        if let Some(journal) = self.journal.take() {
            let entries = self.cleanup_entries();
            if entries.is_empty() {
                journal.remove();
            } else if !detach_cleanup(&self.tracefs, &entries, journal) {
                // Could not fork: do it here.
                problems.extend(undo(&self.tracefs, &entries));
            }
        }
        self.dismiss_guardian();
        problems
    }

    /// Everything is back, or in the clean-up child's hands.
    fn dismiss_guardian(&mut self) {
        if let Some(guardian) = self.guardian.take() {
            guardian.dismiss();
        }
    }

    fn restore_knobs(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.knobs.is_empty() {
            return problems;
        }
        let entries: Vec<Entry> = self
            .knobs
            .drain(..)
            .map(|(rel, old)| Entry::Knob { rel, old })
            .collect();
        problems.extend(undo(&self.tracefs, &entries));
        self.top_level = None;
        // Only when all of them are back: otherwise `ftr reset` tries again.
        if problems.is_empty() {
            if let Some(journal) = self.journal.as_mut() {
                if let Err(e) = journal.append(&Entry::KnobsRestored) {
                    problems.push(e.to_string());
                }
            }
        }
        problems
    }

    /// What is left once the knobs are back: the instance, the objects
    /// added to shared files and the mount, undone in that order (last
    /// first).
    fn cleanup_entries(&mut self) -> Vec<Entry> {
        let mut entries = Vec::new();
        if self.tracefs.mounted_here {
            entries.push(Entry::Mounted);
        }
        entries.append(&mut self.lines);
        if let Some(name) = self.instance.take() {
            entries.push(Entry::Instance(name));
        }
        entries
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for problem in self.restore() {
            warn(format_args!("while restoring tracefs: {problem}"));
        }
    }
}

/// Undoes journal entries, last first. Nothing is written unless the root
/// is a mounted tracefs: a journal names paths below it, never elsewhere.
fn undo(tracefs: &Tracefs, entries: &[Entry]) -> Vec<String> {
    let writes = entries
        .iter()
        .any(|e| !matches!(e, Entry::Mounted | Entry::Guardian(_)));
    if writes && !tracefs::is_tracefs(tracefs.root()) {
        return vec![format!(
            "{} is not a mounted tracefs, so nothing was put back; mount it there (mount -t tracefs nodev {0}) and run `ftr reset`",
            tracefs.root().display()
        )];
    }
    let mut problems = Vec::new();
    let knobs_restored = entries.contains(&Entry::KnobsRestored);
    for entry in entries.iter().rev() {
        match entry {
            Entry::Knob { rel, old } if !knobs_restored => {
                if let Err(e) = write(tracefs, rel, old) {
                    problems.push(e.to_string());
                }
            }
            // Removed with the instance, after the knobs (see cleanup_entries).
            Entry::Line { rel, remove, .. } => {
                // The object may never have been made (ftr died before the
                // write): the kernel's ENOENT then means it is gone already.
                match append(tracefs, rel, remove) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => problems.push(format!(
                        "cannot write `{remove}` to {}: {e}",
                        tracefs.path(rel).display()
                    )),
                    _ => {}
                }
            }
            Entry::Instance(name) => {
                if let Err(e) = remove_instance(tracefs.root(), name) {
                    problems.push(e);
                }
            }
            Entry::Mounted => {
                let _ = nix::mount::umount(tracefs.root());
            }
            _ => {}
        }
    }
    problems
}

/// Writes `value` to a knob, truncating it first (a list file takes one line
/// per write(2); write_all goes on with the rest). Only the session writes
/// tracefs, so no mode can write around the journal.
fn write(tracefs: &Tracefs, rel: &str, value: &str) -> Result<()> {
    let path = tracefs.path(rel);
    tracefs::write_file(&path, value).map_err(|e| tracefs::write_error(&path, value, &e))
}

/// Adds one line to a file that holds objects of several tools
/// (`dynamic_events`): opened for appending, never truncated.
fn append(tracefs: &Tracefs, rel: &str, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    fs::OpenOptions::new()
        .append(true)
        .open(tracefs.path(rel))?
        .write_all(format!("{line}\n").as_bytes())
}

fn remove_instance(root: &Path, name: &str) -> std::result::Result<(), String> {
    let path = root.join("instances").join(name);
    // EBUSY while a reader still has one of its files open: that reader is
    // closing, give it a moment.
    for _ in 0..50 {
        match fs::remove_dir(&path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(format!("cannot remove {}: {e}", path.display())),
        }
    }
    Err(format!("cannot remove {}: still busy", path.display()))
}

/// Runs the last clean-up steps in a detached grandchild. Returns false if it
/// could not fork.
fn detach_cleanup(tracefs: &Tracefs, entries: &[Entry], journal: Journal) -> bool {
    use nix::sys::wait::waitpid;
    use nix::unistd::{fork, ForkResult};
    // SAFETY: ftr is single-threaded; the children only make syscalls and exit.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => {
            let _ = waitpid(child, None);
            // The clean-up child holds the journal's lock through its copy of
            // the descriptor; ours can go.
            drop(journal);
            true
        }
        Ok(ForkResult::Child) => {
            let _ = nix::unistd::setsid();
            // Fork again so that the clean-up is nobody's child (init reaps
            // it); if that fork fails, this child does the work itself.
            // SAFETY: as above.
            if let Ok(ForkResult::Parent { .. }) = unsafe { fork() } {
                // SAFETY: leaving the intermediate child at once.
                unsafe { libc::_exit(0) };
            }
            close_all_but(&[journal.fd()]);
            let _ = undo(tracefs, entries);
            journal.remove();
            // SAFETY: the clean-up is done.
            unsafe { libc::_exit(0) };
        }
        Err(_) => false,
    }
}

/// Closes every descriptor but those in `keep`, and points 0-2 at
/// /dev/null, so a detached child holds no pipe of the caller's open.
pub fn close_all_but(keep: &[i32]) {
    let mut keep: Vec<libc::c_uint> = keep.iter().map(|&fd| fd as libc::c_uint).collect();
    keep.sort_unstable();
    // SAFETY: plain descriptor syscalls.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for fd in 0..3 {
            if null >= 0 && !keep.contains(&(fd as libc::c_uint)) {
                libc::dup2(null, fd);
            }
        }
        // The gaps between the kept descriptors, from 3 up.
        let mut first: libc::c_uint = 3;
        for k in keep
            .into_iter()
            .filter(|&k| k >= 3)
            .chain([libc::c_uint::MAX])
        {
            if first < k {
                close_range(first, k - 1);
            }
            first = k.saturating_add(1);
        }
    }
}

/// Closes `first..=last`.
fn close_range(first: libc::c_uint, last: libc::c_uint) {
    // SAFETY: plain descriptor syscalls.
    unsafe {
        if libc::syscall(libc::SYS_close_range, first, last, 0) != 0 {
            // No close_range (before 5.9): the usual descriptor limit.
            for fd in first..=last.min(4096) {
                libc::close(fd as i32);
            }
        }
    }
}

/// The value to write back to restore a knob, from what reading it gave:
/// the kernel does not always accept its own output.
pub fn restorable(rel: &str, read: &str) -> std::result::Result<String, String> {
    let value = read.trim_end_matches('\n');
    if value.starts_with("####") || value == "no pid" {
        return Ok(String::new()); // an empty list
    }
    let name = rel.rsplit('/').next().unwrap_or(rel);
    Ok(match name {
        // `[local] global counter …`
        "trace_clock" => match value.split_once('[').and_then(|(_, r)| r.split_once(']')) {
            Some((clock, _)) => clock.to_string(),
            None => value.to_string(),
        },
        // `7 (expanded: 1408)` until a tracer first expands the buffer.
        "buffer_size_kb" => match value.split_once("(expanded: ") {
            Some((_, rest)) => rest.trim_end_matches(')').to_string(),
            None if value == "X" => {
                return Err(format!(
                    "{rel} differs between CPUs (it reads X): ftr could not put it back; set the sizes per CPU yourself instead of -m"
                ))
            }
            None => value.to_string(),
        },
        // Function lists show module functions as `func [mod]` and list
        // function probes (`func:traceoff`), which truncating does not remove.
        "set_ftrace_filter" | "set_ftrace_notrace" | "set_graph_function" | "set_graph_notrace" => value
            .lines()
            .filter(|l| !l.contains(':'))
            .map(|l| match l.split_once(" [") {
                Some((func, module)) => format!("{func}:mod:{}", module.trim_end_matches(']')),
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => value.to_string(),
    })
}

/// The guardian's work once its ftr was killed: replays the journal at
/// `path` and removes it. A journal that could not be wholly replayed is
/// left for `ftr reset`, which says what went wrong. Returns success.
pub fn replay(path: &Path) -> bool {
    let Ok(record) = fs::read_to_string(path).map(|text| journal::parse(&text)) else {
        return false;
    };
    let Ok(record) = record else { return false };
    let Some(root) = record.tracefs.clone() else {
        return false;
    };
    let done = undo(&Tracefs::at(root), &record.entries).is_empty();
    if done {
        let _ = fs::remove_file(path);
    }
    done
}

/// `ftr reset` (and the start of every run): replays the journals of ftr
/// processes that died without restoring (and whose guardian died too), and
/// removes `instances/ftr-<pid>` of processes that are gone. It touches
/// nothing that another tool owns. Returns what it did, a line each.
pub fn repair_stale(tracefs: &Tracefs) -> Vec<String> {
    let mut done = Vec::new();
    for stale in journal::stale() {
        let path = stale.path.display().to_string();
        let record = match &stale.record {
            Ok(record) => record,
            // Its owner died before writing the header: it changed nothing.
            Err(Unreadable::Torn) => {
                stale.remove();
                continue;
            }
            Err(Unreadable::Format(format)) => {
                done.push(format!(
                    "{path} is a journal of format {format}, which this ftr cannot read; it was left as it is: run `ftr reset` with the ftr that wrote it, or undo what it lists by hand and delete it"
                ));
                continue;
            }
        };
        if record.boot.is_some() && record.boot != journal::boot_id() {
            done.push(format!(
                "removed {path} (ftr pid {}) unreplayed: it is from another boot, whose changes went with that kernel",
                record.pid
            ));
            stale.remove();
            continue;
        }
        for line in &record.refused {
            done.push(format!(
                "{path}: refused `{line}`: it names a path outside tracefs"
            ));
        }
        let root = record
            .tracefs
            .clone()
            .unwrap_or_else(|| tracefs.root().to_path_buf());
        let problems = undo(&Tracefs::at(root.clone()), &record.entries);
        done.push(format!(
            "restored what ftr (pid {}) left: {} change(s){}",
            record.pid,
            record.entries.len(),
            if problems.is_empty() {
                String::new()
            } else {
                format!("; problems: {}", problems.join("; "))
            }
        ));
        // Kept only for a problem the user can fix: tracefs not mounted there.
        if tracefs::is_tracefs(&root) {
            stale.remove();
        }
    }
    if let Ok(dir) = fs::read_dir(tracefs.path("instances")) {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name
                .strip_prefix("ftr-")
                .and_then(|p| p.parse::<i32>().ok())
            else {
                continue;
            };
            // A live ftr holds its journal (written before its instance was
            // made, removed after it was removed); a pid alone can be reused.
            if !journal::is_held(pid) && remove_instance(tracefs.root(), &name).is_ok() {
                done.push(format!("removed instance {name} of a dead ftr"));
            }
        }
    }
    // Event probes in a dead ftr's group, `ftr_<pid>/…`, should its journal
    // be gone; other tools' lines are left alone.
    let dynamic = tracefs.read("dynamic_events").unwrap_or_default();
    for line in dynamic.lines() {
        let Some(event) = line.split(' ').next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let event = event.1;
        let Some(pid) = event
            .strip_prefix("ftr_")
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if !journal::is_held(pid)
            && append(tracefs, "dynamic_events", &format!("-:{event}")).is_ok()
        {
            done.push(format!("removed event probe {event} of a dead ftr"));
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::restorable;

    #[test]
    fn values_are_written_back_in_the_form_the_kernel_takes() {
        let ok = |rel: &str, read: &str| restorable(rel, read).expect("restorable");
        assert_eq!(ok("max_graph_depth", "0\n"), "0");
        assert_eq!(
            ok("set_graph_function", "#### all functions enabled ####\n"),
            ""
        );
        assert_eq!(ok("set_ftrace_pid", "no pid\n"), "");
        assert_eq!(ok("trace_clock", "[local] global counter\n"), "local");
        assert_eq!(ok("buffer_size_kb", "7 (expanded: 1408)\n"), "1408");
        assert_eq!(ok("buffer_size_kb", "2048\n"), "2048");
        assert!(restorable("buffer_size_kb", "X\n").is_err());
        assert_eq!(
            ok(
                "set_ftrace_filter",
                "vfs_read\next4_sync_file [ext4]\nschedule:traceoff:unlimited\n"
            ),
            "vfs_read\next4_sync_file:mod:ext4"
        );
    }
}
