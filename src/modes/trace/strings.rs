//! File names and other strings a syscall reads from user memory, read by
//! the kernel at syscall entry, in one of two ways:
//!
//! - Since Linux 6.19 the `sys_enter_X` event carries them itself: for a
//!   pointer argument ARG the kernel appends what it read as a
//!   `__data_loc char[] __ARG_val` field, a string where the print fmt says
//!   `__get_str(__ARG_val)` (an array, such as write's buffer, where it says
//!   `__print_dynamic_array`). Such a field is ARG's value, never an
//!   argument of its own, and needs no probe ([`native`]).
//! - Before that (and for what the event does not carry, such as execve's
//!   argv) an event probe (`e:` in `dynamic_events`, Linux 5.15+) on
//!   `syscalls/sys_enter_X` fetches each string argument with
//!   `+0($arg):ustring`, and execve's first arguments through `argv`
//!   ([`probe`]).
//!
//! The probe fires from the syscall event's trigger once the event's own
//! record is written (seen on 6.1, 6.12 and 7.2), so its record comes just
//! after the sys_enter record of the same task, on the same CPU. A string
//! the kernel could not read comes with length 0; a real empty string has
//! its NUL. A probe does not fault pages in, so a name in a page not yet
//! resident is unreadable to it; the event's own read faults it in (seen on
//! 7.2), and fails only on a bad address.

use std::io::Write;

use crate::kernel::format::{Field, Format};
use crate::modes::trace::table::{Arg, Syscall};

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

/// A `const char *` argument: one the call reads (the non-const `char *`
/// ones are buffers it fills, such as syslog's, or not strings at all, such
/// as shmdt's address).
fn const_char_pointer(a: &Arg) -> bool {
    let t = a.field.ctype.replace(' ', "");
    t == "constchar*" || t == "constchar__user*"
}

/// The probe for `sys`, or None when it needs none: it takes no string, or
/// its event carries them all ([`native`]).
pub fn probe(group: &str, sys: &Syscall) -> Option<Probe> {
    let carried = |i: usize| {
        sys.native
            .as_ref()
            .is_some_and(|n| n.args.iter().any(|(a, _)| *a == i))
    };
    let args: Vec<usize> = sys
        .args
        .iter()
        .enumerate()
        .filter(|(i, a)| const_char_pointer(a) && NAMES.contains(&a.name.as_str()) && !carried(*i))
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

/// The argument field whose user memory `field` holds, when `field` is a
/// `__data_loc char[] __ARG_val` the kernel appends to a sys_enter event
/// (6.19+) and `format` has the argument ARG.
pub fn carried_for<'f>(field: &Field, format: &'f Format) -> Option<&'f Field> {
    let arg = field.name.strip_prefix("__")?.strip_suffix("_val")?;
    if !field.ctype.starts_with("__data_loc") || arg.is_empty() {
        return None;
    }
    format.field(arg)
}

/// Strings the syscall event carries itself (Linux 6.19+ reads them in the
/// faultable syscall tracepoint): the `__ARG_val` fields that the event's
/// print fmt (in `text`, its format file) shows as strings, of the
/// `const char *` arguments. Arrays (write's buffer) and other pointers keep
/// showing as pointers. No probe is needed for these.
pub fn native(sys: &Syscall, enter: &Format, text: &str) -> Option<Layout> {
    let print_fmt = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("print fmt:"))?;
    let args: Vec<(usize, Field)> = sys
        .args
        .iter()
        .enumerate()
        .filter(|(_, a)| const_char_pointer(a))
        .filter_map(|(i, a)| {
            let name = format!("__{}_val", a.name);
            let f = enter.field(&name)?;
            let string = print_fmt.contains(&format!("__get_str({name})"));
            (string && carried_for(f, enter).is_some()).then(|| (i, f.clone()))
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
    /// The kernel could not read it (not resident for a probe, or a bad
    /// address).
    Fault,
}

/// The string of argument `arg` in a probe record, if the layout has it.
pub fn arg<'a>(layout: &Layout, rec: &'a [u8], arg: usize) -> Option<Shown<'a>> {
    let (_, field) = layout.args.iter().find(|(i, _)| *i == arg)?;
    shown(rec, field)
}

/// The string of argument `i` of a call of `sys`: from its sys_enter record
/// when the event carries it, else from its probe's record.
pub fn of_call<'a>(
    sys: &Syscall,
    enter: Option<&'a [u8]>,
    probed: Option<(&Layout, &'a [u8])>,
    i: usize,
) -> Option<Shown<'a>> {
    if let (Some(layout), Some(rec)) = (sys.native.as_ref(), enter) {
        if let Some(s) = arg(layout, rec, i) {
            return Some(s);
        }
    }
    let (layout, rec) = probed?;
    arg(layout, rec, i)
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
pub(crate) mod tests {
    use super::*;
    use crate::modes::trace::table::{Arg, ArgKind};

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
            effect: crate::modes::trace::fds::Effect::None,
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

    /// A format file of Debian's 7.2.13 kernel, as the guest printed it
    /// (tests/fixtures/syscalls-7.2, saved by hand from the VM).
    pub(crate) fn fixture_7_2(name: &str) -> &'static str {
        match name {
            "sys_enter_openat" => {
                include_str!("../../../tests/fixtures/syscalls-7.2/sys_enter_openat.format")
            }
            "sys_enter_execve" => {
                include_str!("../../../tests/fixtures/syscalls-7.2/sys_enter_execve.format")
            }
            "sys_enter_renameat2" => {
                include_str!("../../../tests/fixtures/syscalls-7.2/sys_enter_renameat2.format")
            }
            "sys_enter_write" => {
                include_str!("../../../tests/fixtures/syscalls-7.2/sys_enter_write.format")
            }
            "sys_enter_mount" => {
                include_str!("../../../tests/fixtures/syscalls-7.2/sys_enter_mount.format")
            }
            "sys_enter_kexec_file_load" => {
                include_str!(
                    "../../../tests/fixtures/syscalls-7.2/sys_enter_kexec_file_load.format"
                )
            }
            "sys_enter_close" => {
                include_str!("../../../tests/fixtures/syscalls-7.2/sys_enter_close.format")
            }
            "sys_exit_openat" => {
                include_str!("../../../tests/fixtures/syscalls-7.2/sys_exit_openat.format")
            }
            _ => panic!("no fixture {name}"),
        }
    }

    /// Syscall `name` as ftr loads it from an enter format. (Every exit
    /// format is `ret` at 16; openat's stands for all.)
    pub(crate) fn load_7_2(name: &str, enter_text: &str) -> Syscall {
        let enter = Format::parse(enter_text).expect("the 7.2 format parses");
        let exit = Format::parse(fixture_7_2("sys_exit_openat")).expect("exit format");
        crate::modes::trace::table::from_formats(name, &enter, enter_text, &exit)
            .expect("a syscall")
    }

    fn names(sys: &Syscall) -> Vec<&str> {
        sys.args.iter().map(|a| a.name.as_str()).collect()
    }

    fn carried(sys: &Syscall) -> Vec<(usize, &str, usize)> {
        sys.native.as_ref().map_or(Vec::new(), |n| {
            n.args
                .iter()
                .map(|(i, f)| (*i, f.name.as_str(), f.offset))
                .collect()
        })
    }

    #[test]
    fn strings_the_7_2_events_carry_are_their_arguments_values() {
        let openat = load_7_2("openat", fixture_7_2("sys_enter_openat"));
        assert_eq!(names(&openat), ["dfd", "filename", "flags", "mode"]);
        assert_eq!(carried(&openat), [(1, "__filename_val", 48)]);
        assert_eq!(openat.native.as_ref().map(|n| n.id), Some(760));
        assert!(probe("ftr_7", &openat).is_none(), "no probe for it");

        let rename = load_7_2("renameat2", fixture_7_2("sys_enter_renameat2"));
        assert_eq!(
            names(&rename),
            ["olddfd", "oldname", "newdfd", "newname", "flags"]
        );
        assert_eq!(
            carried(&rename),
            [(1, "__oldname_val", 56), (3, "__newname_val", 60)]
        );
        assert!(probe("ftr_7", &rename).is_none());

        // execve's file name is carried, its argv is not: the probe reads
        // argv alone.
        let execve = load_7_2("execve", fixture_7_2("sys_enter_execve"));
        assert_eq!(names(&execve), ["filename", "argv", "envp"]);
        assert_eq!(carried(&execve), [(0, "__filename_val", 40)]);
        let p = probe("ftr_7", &execve).expect("argv still needs a probe");
        assert!(p.args.is_empty() && p.argv, "{p:?}");
        assert!(
            p.add.starts_with(
                "e:ftr_7/execve syscalls.sys_enter_execve argv0=+0(+u0($argv)):ustring "
            ),
            "{}",
            p.add
        );
        assert!(!p.add.contains("filename"), "{}", p.add);

        // Nothing carried (close), or not the string of a `const char *`:
        // write's buffer is an array (__print_dynamic_array), mount's are
        // `char *`, and 7.2 marks kexec_file_load's `unsigned long flags`.
        // Pointers they stay; the fields are never arguments.
        for (name, args) in [
            ("close", &["fd"][..]),
            ("write", &["fd", "buf", "count"]),
            ("mount", &["dev_name", "dir_name", "type", "flags", "data"]),
            (
                "kexec_file_load",
                &[
                    "kernel_fd",
                    "initrd_fd",
                    "cmdline_len",
                    "cmdline_ptr",
                    "flags",
                ],
            ),
        ] {
            let sys = load_7_2(name, fixture_7_2(&format!("sys_enter_{name}")));
            assert_eq!(names(&sys), args, "{name}");
            assert!(sys.native.is_none(), "{name}");
            assert!(probe("ftr_7", &sys).is_none(), "{name}");
        }

        // The same event without the field (before 6.19): a probe reads it.
        let line = "\tfield:__data_loc char[] __filename_val;\toffset:48;\tsize:4;\tsigned:0;\n";
        let text = fixture_7_2("sys_enter_openat");
        assert!(text.contains(line));
        let old = load_7_2("openat", &text.replace(line, ""));
        assert_eq!(names(&old), ["dfd", "filename", "flags", "mode"]);
        assert!(old.native.is_none());
        let p = probe("ftr_7", &old).expect("a probe");
        assert_eq!(p.args, [1]);
        // A kernel whose print fmt would not show it as a string: not one.
        let array = text.replace(
            "__get_str(__filename_val)",
            "__print_dynamic_array(__filename_val, 1)",
        );
        assert!(load_7_2("openat", &array).native.is_none());
    }

    #[test]
    fn a_carried_string_is_read_from_the_enter_record_and_a_probe_fills_the_rest() {
        let openat = load_7_2("openat", fixture_7_2("sys_enter_openat"));
        let mut rec = vec![0u8; 52];
        let name = b"/tmp/pw.dat\0";
        rec[48..52].copy_from_slice(&((name.len() as u32) << 16 | 52).to_le_bytes());
        rec.extend_from_slice(name);
        assert!(matches!(
            of_call(&openat, Some(&rec), None, 1),
            Some(Shown::Text(b"/tmp/pw.dat"))
        ));
        assert!(of_call(&openat, Some(&rec), None, 0).is_none(), "dfd");
        // Length 0: the kernel could not read it.
        rec[48..52].copy_from_slice(&52u32.to_le_bytes());
        assert!(matches!(
            of_call(&openat, Some(&rec), None, 1),
            Some(Shown::Fault)
        ));
        // execve: the file name from the event, argv from the probe's record.
        let execve = load_7_2("execve", fixture_7_2("sys_enter_execve"));
        let mut enter = vec![0u8; 44];
        let file = b"/bin/cat\0";
        enter[40..44].copy_from_slice(&((file.len() as u32) << 16 | 44).to_le_bytes());
        enter.extend_from_slice(file);
        let (probed, argv) = record(&[Some("cat"), Some("/tmp/a.txt"), None, None, None]);
        let layout = Layout {
            id: 9,
            args: Vec::new(),
            argv,
        };
        assert!(matches!(
            of_call(&execve, Some(&enter), Some((&layout, &probed)), 0),
            Some(Shown::Text(b"/bin/cat"))
        ));
        let mut out = Vec::new();
        assert_eq!(super::argv(&mut out, &layout, &probed), 0);
        assert_eq!(out, br#"["cat", "/tmp/a.txt"]"#);
    }
}
