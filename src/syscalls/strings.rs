//! File names and other strings a syscall reads from user memory, read by
//! the kernel at syscall entry: an event probe (`e:` in `dynamic_events`,
//! Linux 5.15+) on `syscalls/sys_enter_X` fetches each string argument with
//! `+0($arg):ustring`, and execve's first arguments through `argv`.
//!
//! The probe fires from the syscall event's trigger once the event's own
//! record is written (seen on 6.1 and 6.12), so its record comes just after
//! the sys_enter record of the same task, on the same CPU. A string the kernel could not read (its page was not
//! resident: the probe does not fault pages in) comes with length 0; a real
//! empty string has its NUL.

use std::io::Write;

use super::table::Syscall;
use crate::format::{Field, Format};

/// execve's arguments fetched: the first ARGV, and one more to know
/// whether there are more.
const ARGV: usize = 4;

/// Which arguments are strings: pointers to `const char` by these names
/// (not `buf`, whose bytes are data, nor `name` of sethostname, which is
/// not NUL-terminated and not const).
const NAMES: [&str; 11] = [
    "filename",
    "pathname",
    "oldname",
    "newname",
    "path",
    "name",
    "dir_name",
    "dev_name",
    "specialfile",
    "library",
    "uname",
];

/// One syscall's probe: what ftr writes and what it reads back.
#[derive(Debug, Clone)]
pub struct Probe {
    /// `e:GROUP/NAME syscalls.sys_enter_NAME ARG=+0($ARG):ustring …`
    pub add: String,
    /// `-:GROUP/NAME`
    pub remove: String,
    /// `events/GROUP/NAME`, once added.
    pub event: String,
    /// The syscall's arguments that are strings (indexes into its args).
    pub args: Vec<usize>,
    /// execve/execveat: argv's first strings are fetched too.
    pub argv: bool,
}

/// The probe for `sys`, or None when it takes no string.
pub fn probe(group: &str, sys: &Syscall) -> Option<Probe> {
    let args: Vec<usize> = sys
        .args
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            let t = a.field.ctype.replace(' ', "");
            (t == "constchar*" || t == "constchar__user*") && NAMES.contains(&a.name.as_str())
        })
        .map(|(i, _)| i)
        .collect();
    let argv = matches!(sys.name.as_str(), "execve" | "execveat")
        && sys.args.iter().any(|a| a.name == "argv");
    if args.is_empty() && !argv {
        return None;
    }
    let mut add = format!("e:{group}/{0} syscalls.sys_enter_{0}", sys.name);
    for &i in &args {
        let name = &sys.args[i].name;
        add.push_str(&format!(" {name}=+0(${name}):ustring"));
    }
    if argv {
        for k in 0..=ARGV {
            add.push_str(&format!(" argv{k}=+0(+u{}($argv)):ustring", 8 * k));
        }
    }
    Some(Probe {
        remove: format!("-:{group}/{}", sys.name),
        event: format!("events/{group}/{}", sys.name),
        add,
        args,
        argv,
    })
}

/// A probe's record layout, from its format file.
#[derive(Debug, Clone)]
pub struct Layout {
    pub id: u16,
    /// Per string argument (as `Probe::args`), its field.
    pub args: Vec<(usize, Field)>,
    /// argv0, argv1, … fields.
    pub argv: Vec<Field>,
}

impl Layout {
    pub fn new(probe: &Probe, sys: &Syscall, format: &Format) -> Option<Layout> {
        let args = probe
            .args
            .iter()
            .map(|&i| Some((i, format.field(&sys.args[i].name)?.clone())))
            .collect::<Option<Vec<_>>>()?;
        let argv = match probe.argv {
            true => (0..=ARGV)
                .map(|k| format.field(&format!("argv{k}")).cloned())
                .collect::<Option<Vec<_>>>()?,
            false => Vec::new(),
        };
        Some(Layout {
            id: format.id,
            args,
            argv,
        })
    }
}

/// Strings the syscall event carries itself (Linux 6.19+ reads them in
/// the faultable syscall tracepoint): a `__data_loc char[] __NAME_val`
/// field beside the pointer argument NAME. No probe is needed for them.
pub fn native(sys: &Syscall, enter: &Format) -> Option<Layout> {
    let args: Vec<(usize, Field)> = sys
        .args
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let f = enter.field(&format!("__{}_val", a.name))?;
            f.ctype.starts_with("__data_loc").then(|| (i, f.clone()))
        })
        .collect();
    (!args.is_empty()).then_some(Layout {
        id: enter.id,
        args,
        argv: Vec::new(),
    })
}

/// A `__data_loc` field as the kernel stored it: None when the record is
/// too short, empty when the string could not be read, else the bytes up
/// to (without) the NUL.
pub fn read_loc<'a>(rec: &'a [u8], field: &Field) -> Option<&'a [u8]> {
    let loc = u32::from_le_bytes(rec.get(field.offset..field.offset + 4)?.try_into().ok()?);
    let (off, len) = ((loc & 0xffff) as usize, (loc >> 16) as usize);
    let raw = rec.get(off..off + len)?;
    Some(match raw.iter().position(|&b| b == 0) {
        Some(end) => &raw[..end],
        None => raw,
    })
}

/// What a string argument shows: the string, or why not.
pub enum Shown<'a> {
    Text(&'a [u8]),
    /// The kernel could not read it (not resident).
    Fault,
}

/// The string of argument `arg` in a probe record, if the layout has it.
pub fn arg<'a>(layout: &Layout, rec: &'a [u8], arg: usize) -> Option<Shown<'a>> {
    let (_, field) = layout.args.iter().find(|(i, _)| *i == arg)?;
    shown(rec, field)
}

fn shown<'a>(rec: &'a [u8], field: &Field) -> Option<Shown<'a>> {
    let loc = u32::from_le_bytes(rec.get(field.offset..field.offset + 4)?.try_into().ok()?);
    if loc >> 16 == 0 {
        return Some(Shown::Fault);
    }
    read_loc(rec, field).map(Shown::Text)
}

/// Writes `"text"` escaped as strace does (`\n`, `\t`, `\"`, `\\`, `\xNN`).
pub fn quoted(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    for &b in text {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x20..=0x7e => out.push(b),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(b'"');
}

/// execve's `argv: ["ls", "-l", …]`: the strings up to the first that is
/// missing (the array's end: a NULL), `…` when there are more than shown.
/// Returns how many could not be read.
pub fn argv(out: &mut Vec<u8>, layout: &Layout, rec: &[u8]) -> u64 {
    out.push(b'[');
    let mut faults = 0;
    for (k, field) in layout.argv.iter().enumerate() {
        match shown(rec, field) {
            Some(Shown::Text(s)) if k < ARGV => {
                if k > 0 {
                    out.extend_from_slice(b", ");
                }
                quoted(out, s);
            }
            Some(Shown::Text(_)) => out.extend_from_slice(b", ..."),
            // The NULL that ends the array reads as a fault too; a fault
            // before it cannot be told from it, so the list stops.
            Some(Shown::Fault) | None => {
                if k == 0 {
                    faults += 1;
                    out.extend_from_slice(b"(fault)");
                }
                break;
            }
        }
    }
    out.push(b']');
    faults
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::table::{Arg, ArgKind};

    fn field(name: &str, ctype: &str, offset: usize, size: usize) -> Field {
        Field {
            name: name.into(),
            ctype: ctype.into(),
            offset,
            size,
            signed: false,
        }
    }

    fn syscall(name: &str, args: &[(&str, &str)]) -> Syscall {
        Syscall {
            name: name.into(),
            enter_id: 1,
            exit_id: 2,
            args: args
                .iter()
                .enumerate()
                .map(|(i, (n, t))| Arg {
                    name: n.to_string(),
                    field: field(n, t, 16 + 8 * i, 8),
                    kind: ArgKind::Pointer,
                    decoder: None,
                })
                .collect(),
            ret: field("ret", "long", 16, 8),
            returns_pointer: false,
            no_return: false,
            effect: crate::syscalls::fds::Effect::None,
            native: None,
        }
    }

    #[test]
    fn probes_fetch_the_string_arguments_only() {
        let openat = syscall(
            "openat",
            &[
                ("dfd", "int"),
                ("filename", "const char *"),
                ("flags", "int"),
                ("mode", "umode_t"),
            ],
        );
        let p = probe("ftr_7", &openat).expect("openat has a file name");
        assert_eq!(
            p.add,
            "e:ftr_7/openat syscalls.sys_enter_openat filename=+0($filename):ustring"
        );
        assert_eq!(
            (p.remove.as_str(), p.args.as_slice()),
            ("-:ftr_7/openat", &[1][..])
        );
        let write = syscall(
            "write",
            &[
                ("fd", "unsigned int"),
                ("buf", "const char *"),
                ("count", "size_t"),
            ],
        );
        assert!(probe("ftr_7", &write).is_none(), "a buffer is not a string");
        let execve = syscall(
            "execve",
            &[
                ("filename", "const char *"),
                ("argv", "const char *const *"),
                ("envp", "const char *const *"),
            ],
        );
        let p = probe("ftr_7", &execve).unwrap();
        assert!(p.add.ends_with(
            " argv0=+0(+u0($argv)):ustring argv1=+0(+u8($argv)):ustring argv2=+0(+u16($argv)):ustring argv3=+0(+u24($argv)):ustring argv4=+0(+u32($argv)):ustring"
        ), "{}", p.add);
    }

    /// A probe record: 8 bytes of common fields, then one data_loc per
    /// string, then the strings.
    fn record(strings: &[Option<&str>]) -> (Vec<u8>, Vec<Field>) {
        let mut rec = vec![0u8; 8 + 4 * strings.len()];
        let mut fields = Vec::new();
        for (i, s) in strings.iter().enumerate() {
            let at = 8 + 4 * i;
            fields.push(field(&format!("f{i}"), "__data_loc char[]", at, 4));
            let (off, len) = match s {
                Some(s) => {
                    let off = rec.len();
                    rec.extend_from_slice(s.as_bytes());
                    rec.push(0);
                    (off, s.len() + 1)
                }
                None => (rec.len(), 0),
            };
            rec[at..at + 4].copy_from_slice(&((len as u32) << 16 | off as u32).to_le_bytes());
        }
        (rec, fields)
    }

    #[test]
    fn a_string_the_kernel_could_not_read_is_a_fault_not_empty() {
        let (rec, fields) = record(&[Some("/etc/hostname"), None, Some("")]);
        let layout = Layout {
            id: 9,
            args: fields.iter().cloned().enumerate().collect(),
            argv: Vec::new(),
        };
        assert!(matches!(
            arg(&layout, &rec, 0),
            Some(Shown::Text(b"/etc/hostname"))
        ));
        assert!(matches!(arg(&layout, &rec, 1), Some(Shown::Fault)));
        assert!(matches!(arg(&layout, &rec, 2), Some(Shown::Text(b""))));
        assert!(arg(&layout, &rec, 3).is_none());
    }

    #[test]
    fn argv_stops_at_its_end_and_says_when_there_is_more() {
        let show = |strings: &[Option<&str>]| {
            let (rec, argv) = record(strings);
            let layout = Layout {
                id: 9,
                args: Vec::new(),
                argv,
            };
            let mut out = Vec::new();
            let faults = super::argv(&mut out, &layout, &rec);
            (String::from_utf8(out).unwrap(), faults)
        };
        // ls -l: argv2 is the NULL; what follows it is not read.
        assert_eq!(
            show(&[Some("ls"), Some("-l"), None, Some("HOME=/"), Some("x")]),
            ("[\"ls\", \"-l\"]".to_string(), 0)
        );
        let all = [Some("a"), Some("b"), Some("c"), Some("d"), Some("e")];
        assert_eq!(show(&all).0, "[\"a\", \"b\", \"c\", \"d\", ...]");
        assert_eq!(
            show(&[None, None, None, None, None]),
            ("[(fault)]".to_string(), 1)
        );
    }

    #[test]
    fn strings_are_quoted_as_strace_quotes_them() {
        let mut out = Vec::new();
        quoted(&mut out, b"a \"b\"\\\n\t\x01\xff");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""a \"b\"\\\n\t\x01\xff""#
        );
    }

    /// sys_enter_openat as 6.19 prints its format, with the file name it
    /// reads itself: no test kernel has it, so this record is made here.
    const OPENAT_6_19: &str = "name: sys_enter_openat\nID: 790\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n\
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n\
\tfield:__data_loc char[] __filename_val;\toffset:48;\tsize:4;\tsigned:0;\n\n\
print fmt: \"dfd: 0x%08lx, filename: 0x%08lx \\\"%s\\\", flags: 0x%08lx, mode: 0x%08lx\"\n";

    #[test]
    fn strings_the_syscall_event_carries_need_no_probe() {
        let format = Format::parse(OPENAT_6_19).expect("the 6.19 format parses");
        let args = ["dfd", "filename", "flags", "mode"];
        let types = ["int", "const char *", "int", "umode_t"];
        let pairs: Vec<(&str, &str)> = args.iter().copied().zip(types).collect();
        let sys = syscall("openat", &pairs);
        let layout = native(&sys, &format).expect("a native string");
        assert_eq!((layout.id, layout.args.len()), (790, 1));
        assert_eq!(layout.args[0].0, 1, "the filename argument");
        let mut rec = vec![0u8; 52];
        let name = b"/etc/hostname\0";
        rec[48..52].copy_from_slice(&((name.len() as u32) << 16 | 52).to_le_bytes());
        rec.extend_from_slice(name);
        assert!(matches!(
            arg(&layout, &rec, 1),
            Some(Shown::Text(b"/etc/hostname"))
        ));
        // 6.18's format has no such field: a probe it is.
        let old = OPENAT_6_19.replace(
            "\tfield:__data_loc char[] __filename_val;\toffset:48;\tsize:4;\tsigned:0;\n",
            "",
        );
        assert!(native(&sys, &Format::parse(&old).unwrap()).is_none());
    }
}
