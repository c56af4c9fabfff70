//! Putting back what ftr changed: the one place that undoes journal
//! entries, used by the session on its way out, by the guardian after a
//! SIGKILL, and by `ftr reset` (and every run's start) for what neither of
//! those could finish.
//!
//! A journal is undone by whoever holds its lock, never by two at once.
//! While a killed ftr's guardian (or an ended ftr's clean-up child) holds
//! one, [`settle`] waits for it, so that nothing reads tracefs half put back:
//! `ftr reset` returns with tracefs as it was, and a new session journals
//! the values from before the killed ftr, never its leftovers.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{warn, Result};
use crate::kernel::journal::{self, Entry, Found, Released, Unreadable};
use crate::kernel::tracefs::{self, Tracefs};

/// How long a repair waits for others' restores. Putting a tracer back
/// takes milliseconds on a machine of its own, but seconds (tens under
/// emulation, when the kernel patches every function) on a loaded one.
pub const WAIT: Duration = Duration::from_secs(60);
/// How long before the wait is said as it begins.
const SAY_WAITING: Duration = Duration::from_millis(500);

/// Which held journals [`settle`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Every journal of a gone ftr: `ftr reset` returns when all is back.
    All,
    /// Those whose undoing changes what a new run reads: knobs not yet put
    /// back, or a tracefs mount that is about to go. An ended ftr's clean-up
    /// child removing its instance is left to finish on its own.
    Knobs,
    /// Only knobs not yet put back: taken with the top-level lock, before a
    /// session journals the top-level values it is about to change.
    TopLevel,
}

/// Waits, up to [`WAIT`], for the guardians and clean-up children of gone
/// ftr processes to finish putting tracefs back. Returns what it saw, a line
/// each: who restored what, a restore still under way at the deadline, and
/// (for [`Wait::All`]) the journals of ftr processes still running.
pub fn settle(wait: Wait) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut said = Vec::new();
    for found in journal::scan() {
        let Found::Held(held) = found else { continue };
        let path = held.path.display().to_string();
        let pid = held.pid;
        if held.owner_alive() {
            if wait == Wait::All {
                said.push(format!(
                    "ftr {pid} is running: its changes are its own to put back ({path} in use)"
                ));
            }
            continue;
        }
        let Ok(record) = &held.record else {
            // Being written, or of another format: the holder knows it.
            continue;
        };
        // Without the mark, ftr died before its own restore: the guardian
        // holds the journal. With it, ftr ended and its clean-up child does.
        let killed = !record.entries.contains(&Entry::KnobsRestored);
        let unrestored = killed
            && record
                .entries
                .iter()
                .any(|e| matches!(e, Entry::Knob { .. }));
        let mounted = record.entries.contains(&Entry::Mounted);
        let waits = match wait {
            Wait::All => true,
            Wait::Knobs => unrestored || mounted,
            Wait::TopLevel => unrestored,
        };
        if !waits {
            continue;
        }
        let changes = record
            .entries
            .iter()
            .filter(|e| !matches!(e, Entry::Guardian(_) | Entry::KnobsRestored))
            .count();
        let guardian = record.entries.iter().find_map(|e| match e {
            Entry::Guardian(g) => Some(*g),
            _ => None,
        });
        let holder = match (killed, guardian) {
            (true, Some(g)) => format!("the guardian of ftr {pid} (pid {g})"),
            (true, None) => format!("a process of ftr {pid}"),
            (false, _) => format!("the clean-up of ftr {pid}"),
        };
        let mut released = held.wait(Instant::now() + SAY_WAITING);
        if released == Released::TimedOut {
            warn(format_args!(
                "waiting for {holder}, which is still putting back what it changed"
            ));
            released = held.wait(deadline);
        }
        match released {
            Released::Done => {
                if killed || wait == Wait::All {
                    said.push(format!("restored by {holder}: {changes} change(s)"));
                }
            }
            // Left for `repair_stale`, which replays it and says why.
            Released::Left => {}
            Released::TimedOut => said.push(format!(
                "{holder} is still putting back what it changed ({path}) after {} s: run `ftr reset` once it is done",
                WAIT.as_secs()
            )),
        }
    }
    said
}

/// Undoes journal entries, last first. Nothing is written unless the root
/// is a mounted tracefs: a journal names paths below it, never elsewhere.
pub fn undo(tracefs: &Tracefs, entries: &[Entry]) -> Vec<String> {
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
/// per write(2); write_all goes on with the rest). Only the session (which
/// journals first) and the repair (which undoes journals) write tracefs, so
/// no mode can write around the journal.
pub fn write(tracefs: &Tracefs, rel: &str, value: &str) -> Result<()> {
    let path = tracefs.path(rel);
    tracefs::write_file(&path, value).map_err(|e| tracefs::write_error(&path, value, &e))
}

/// Adds one line to a file that holds objects of several tools
/// (`dynamic_events`): opened for appending, never truncated.
pub fn append(tracefs: &Tracefs, rel: &str, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    fs::OpenOptions::new()
        .append(true)
        .open(tracefs.path(rel))?
        .write_all(format!("{line}\n").as_bytes())
}

pub fn remove_instance(root: &Path, name: &str) -> std::result::Result<(), String> {
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
    let stale = journal::scan().into_iter().filter_map(|found| match found {
        Found::Stale(stale) => Some(stale),
        Found::Held(_) => None,
    });
    for stale in stale {
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

/// `ftr reset`: waits for restores under way (a killed ftr's guardian may
/// still be at it), then puts back what stale journals recorded, so that
/// once it returns tracefs is as it was. Returns what it did, a line each.
pub fn reset() -> Result<Vec<String>> {
    let mut said = settle(Wait::All);
    let tracefs = Tracefs::open()?;
    said.extend(repair_stale(&tracefs));
    tracefs.unmount_if_ours();
    Ok(said)
}
