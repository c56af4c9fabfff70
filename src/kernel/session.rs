//! The tracing session: the one owner of every change ftr makes to tracefs.
//!
//! Every change is journaled (see `journal`) before it is made. `restore`
//! undoes them in reverse order, through `repair` (the one place that
//! undoes journal entries); it runs on a normal end, on a signal (the event
//! loop calls `finish`), on an error or a panic (`Drop`). When ftr is
//! killed with SIGKILL, its guardian replays the journal
//! (`repair::replay`); when the guardian is gone too, `ftr reset`, which
//! every run does first, does.

use std::fs;

use crate::error::{warn, Error, Result};
use crate::kernel::guardian::Guardian;
use crate::kernel::journal::{self, Entry, Journal};
use crate::kernel::repair::{self, append, remove_instance, undo, write};
use crate::kernel::tracefs::Tracefs;

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
            // An ftr killed while it held this lock let go of it when it
            // died, but its guardian may still be putting its knobs back:
            // what is read below must be the value from before that ftr.
            for line in repair::settle(repair::Wait::TopLevel) {
                warn(line);
            }
            for line in repair::repair_stale(&self.tracefs) {
                warn(line);
            }
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

    /// Puts the top-level knobs back and says so in the journal, also when
    /// there were none: a journal without that mark belongs to an ftr that
    /// died before its own restore (see `repair::settle`).
    fn restore_knobs(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
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
            crate::kernel::detach::close_all_but(&[journal.fd()]);
            let _ = undo(tracefs, entries);
            journal.remove();
            // SAFETY: the clean-up is done.
            unsafe { libc::_exit(0) };
        }
        Err(_) => false,
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
