//! Which syscalls to trace (`-e`), and how to read and show their events.

use crate::error::{Error, Result};
use crate::kernel::format::{Field, Format};
use crate::kernel::tracefs::Tracefs;
use crate::modes::trace::classes;
use crate::modes::trace::decode::{self, Decoder};
use crate::modes::trace::fds::Effect;
use crate::modes::trace::strings::{self, Layout};
use crate::present::names;

/// How one argument is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Pointer,
    Fd,
    Hex,
    Octal,
    Signed,
    Unsigned,
}

#[derive(Debug, Clone)]
pub struct Arg {
    pub name: String,
    pub field: Field,
    pub kind: ArgKind,
    /// Flags, modes, commands shown by name (`decode`).
    pub decoder: Option<Decoder>,
}

#[derive(Debug, Clone)]
pub struct Syscall {
    pub name: String,
    pub enter_id: u16,
    pub exit_id: u16,
    pub args: Vec<Arg>,
    pub ret: Field,
    /// Returns an address (mmap, brk…): shown in hex.
    pub returns_pointer: bool,
    /// Never returns (exit, exit_group): shown at entry.
    pub no_return: bool,
    /// What it does to the descriptor table.
    pub effect: Effect,
    /// Strings its sys_enter event carries itself (6.19+).
    pub native: Option<Layout>,
}

/// Names of every syscall this kernel has events for, sorted.
pub fn available(tracefs: &Tracefs) -> Result<Vec<String>> {
    let dir = tracefs.path("events/syscalls");
    let entries = std::fs::read_dir(&dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::setup(format!(
            "{} is missing: this kernel has no syscall events (it needs CONFIG_FTRACE_SYSCALLS)",
            dir.display()
        )),
        _ => Error::io("read", &dir, &e),
    })?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix("sys_enter_")
                .map(String::from)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Resolves a `-e` list against the available syscalls: comma-separated
/// names and globs, `all`, a leading `!` for all but the list.
/// Where `name` is among the syscalls with events. x86_64 names a few by
/// their newer variant: stat is newstat.
fn find(available: &[String], name: &str) -> Option<usize> {
    [name.to_string(), format!("new{name}")]
        .into_iter()
        .find_map(|n| available.iter().position(|a| *a == n))
}

/// The classes (`%file`…) as `ftr list syscalls` shows them: one line
/// each, with the members this kernel has events for.
pub fn class_lines(available: &[String]) -> Vec<String> {
    classes::CLASSES
        .iter()
        .map(|(class, what, members)| {
            let have: Vec<&str> = members
                .iter()
                .filter_map(|m| find(available, m).map(|i| available[i].as_str()))
                .collect();
            format!("%{class} ({what}): {}", have.join(" "))
        })
        .collect()
}

pub fn select(spec: Option<&str>, available: &[String]) -> Result<Vec<String>> {
    let Some(spec) = spec else {
        return Ok(available.to_vec());
    };
    let (negate, list) = match spec.trim().strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    let mut chosen = vec![false; available.len()];
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item == "all" {
            chosen.iter_mut().for_each(|c| *c = true);
            continue;
        }
        let before = chosen.iter().filter(|&&c| c).count();
        if names::is_glob(item) {
            for (i, name) in available.iter().enumerate() {
                chosen[i] |= names::glob(item, name);
            }
            if chosen.iter().filter(|&&c| c).count() == before
                && !available.iter().any(|n| names::glob(item, n))
            {
                return Err(Error::usage(format!(
                    "-e {item}: matches no syscall (see `ftr list syscalls`)"
                )));
            }
            continue;
        }
        if let Some(class) = item.strip_prefix('%') {
            let Some(members) = classes::members(class) else {
                let all: Vec<String> = classes::CLASSES
                    .iter()
                    .map(|c| format!("%{}", c.0))
                    .collect();
                return Err(Error::usage(format!(
                    "-e {item}: not a syscall class; strace's are {} and %net",
                    all.join(", ")
                )));
            };
            // Members this kernel has no event for are left out.
            for m in members {
                if let Some(i) = find(available, m) {
                    chosen[i] = true;
                }
            }
            continue;
        }
        let name = item.strip_prefix("sys_").unwrap_or(item);
        match find(available, name) {
            Some(i) => chosen[i] = true,
            None => {
                let hint = names::suggest(name, available.iter().map(String::as_str))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_else(|| " (see `ftr list syscalls`)".to_string());
                return Err(Error::usage(format!(
                    "-e {item}: no such syscall on this kernel (no events/syscalls/sys_enter_{name}){hint}"
                )));
            }
        }
    }
    let picked: Vec<String> = available
        .iter()
        .zip(&chosen)
        .filter(|(_, &c)| c != negate)
        .map(|(n, _)| n.clone())
        .collect();
    if picked.is_empty() {
        return Err(Error::usage(format!("-e {spec}: selects no syscall")));
    }
    Ok(picked)
}

/// Loads the enter/exit formats of `name` from `events_dir` (an instance's
/// or the top level's `events`).
pub fn load(tracefs: &Tracefs, events_rel: &str, name: &str) -> Result<Syscall> {
    let read = |which: &str| -> Result<(Format, String)> {
        let rel = format!("{events_rel}/syscalls/sys_{which}_{name}/format");
        let text = tracefs.read(&rel)?;
        let format = Format::parse(&text).ok_or_else(|| {
            Error::setup(format!("cannot parse {}", tracefs.path(&rel).display()))
        })?;
        Ok((format, text))
    };
    let (enter, enter_text) = read("enter")?;
    let (exit, _) = read("exit")?;
    from_formats(name, &enter, &enter_text, &exit)
}

/// The syscall `name` from its enter and exit formats (`enter_text` is the
/// enter format file, whose print fmt says which fields are strings).
pub fn from_formats(
    name: &str,
    enter: &Format,
    enter_text: &str,
    exit: &Format,
) -> Result<Syscall> {
    let ret = exit
        .field("ret")
        .cloned()
        .ok_or_else(|| Error::setup(format!("sys_exit_{name} has no `ret` field")))?;
    // The arguments: every field but the number and, since 6.19, the user
    // memory the kernel appends for a pointer argument (`__ARG_val`), which
    // is that argument's value, not one more.
    let args = enter
        .fields
        .iter()
        .filter(|f| f.name != "__syscall_nr" && strings::carried_for(f, enter).is_none())
        .map(|f| Arg {
            name: f.name.clone(),
            field: f.clone(),
            kind: kind_of(f),
            decoder: decode::for_arg(name, &f.name),
        })
        .collect::<Vec<Arg>>();
    let names: Vec<&str> = args.iter().map(|a| a.name.as_str()).collect();
    let effect = Effect::of(name, &names);
    let mut sys = Syscall {
        name: name.to_string(),
        enter_id: enter.id,
        exit_id: exit.id,
        args,
        ret,
        returns_pointer: matches!(name, "mmap" | "mremap" | "brk" | "shmat"),
        no_return: matches!(name, "exit" | "exit_group"),
        effect,
        native: None,
    };
    sys.native = strings::native(&sys, enter, enter_text);
    Ok(sys)
}

fn kind_of(f: &Field) -> ArgKind {
    let n = f.name.as_str();
    let t = f.ctype.as_str();
    if t.contains('*') {
        ArgKind::Pointer
    } else if n == "fd" || n.ends_with("fd") || n == "fildes" {
        ArgKind::Fd
    } else if n == "mode" || n == "perm" {
        ArgKind::Octal
    } else if n.contains("flags") || n == "prot" || n == "cmd" || n == "request" || n == "mask" {
        ArgKind::Hex
    } else if t.starts_with("unsigned") || t.starts_with('u') || t == "size_t" {
        ArgKind::Unsigned
    } else {
        ArgKind::Signed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avail() -> Vec<String> {
        [
            "close", "newstat", "openat", "pwrite64", "pwritev", "pwritev2", "read", "write",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn selects_names_globs_negation_and_aliases() {
        let a = avail();
        assert_eq!(
            select(Some("pwrite*"), &a).unwrap(),
            ["pwrite64", "pwritev", "pwritev2"]
        );
        assert_eq!(select(Some("read,write"), &a).unwrap(), ["read", "write"]);
        assert_eq!(select(Some("stat"), &a).unwrap(), ["newstat"]);
        assert_eq!(
            select(Some("!pwrite*,read,newstat"), &a).unwrap(),
            ["close", "openat", "write"]
        );
        assert_eq!(select(Some("all"), &a).unwrap().len(), a.len());
        assert_eq!(select(None, &a).unwrap().len(), a.len());
    }

    #[test]
    fn strace_classes_select_their_members_this_kernel_has() {
        let a = avail();
        // strace's %file: openat and stat (newstat here), not read or close.
        assert_eq!(select(Some("%file"), &a).unwrap(), ["newstat", "openat"]);
        assert_eq!(
            select(Some("%desc"), &a).unwrap(),
            ["close", "openat", "pwrite64", "pwritev", "pwritev2", "read", "write"]
        );
        assert_eq!(
            select(Some("%file,write"), &a).unwrap(),
            ["newstat", "openat", "write"]
        );
        assert_eq!(select(Some("!%desc"), &a).unwrap(), ["newstat"]);
        // No member here: nothing to trace, said as for any empty choice.
        assert!(select(Some("%net"), &a).is_err());
        let err = select(Some("%files"), &a).unwrap_err();
        assert!(err.msg.contains("%file, %process"), "{}", err.msg);
        let lines = class_lines(&a);
        assert!(lines
            .iter()
            .any(|l| l.starts_with("%file (") && l.ends_with(": newstat openat")));
    }

    #[test]
    fn unknown_names_get_a_suggestion() {
        let err = select(Some("pwritv2"), &avail()).unwrap_err();
        assert!(err.msg.contains("did you mean `pwritev2`"), "{}", err.msg);
        assert!(select(Some("zz*"), &avail())
            .unwrap_err()
            .msg
            .contains("matches no syscall"));
        assert!(select(Some("!all"), &avail()).is_err());
    }
}
