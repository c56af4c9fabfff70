//! Turning finished syscalls into perf-trace-style lines, and the summary.

use std::io::Write;

use crate::kernel::format::read_int;
use crate::modes::trace::decode;
use crate::modes::trace::fds::{self, Effect, Table};
use crate::modes::trace::stats::Stats;
use crate::modes::trace::strings::{self, Layout, Shown};
use crate::modes::trace::table::{ArgKind, Syscall};
use crate::present::errno;
use crate::present::hist;
use crate::present::theme::Theme;

/// One syscall to show. `start`/`dur` are None for a call whose entry or
/// exit was not seen.
pub struct Call<'a> {
    pub sys: &'a Syscall,
    pub time_ns: u64,
    pub dur_ns: Option<u64>,
    pub comm: &'a str,
    pub tid: i32,
    /// The sys_enter record, when the entry was seen.
    pub enter: Option<&'a [u8]>,
    pub ret: Option<i64>,
    /// Its strings read by an event probe at entry: the probe's layout and
    /// record. (Those the event carries itself are in `enter`.)
    pub strings: Option<(&'a Layout, &'a [u8])>,
    /// The descriptors known in its process.
    pub fds: Option<&'a Table>,
}

/// Writes the call's line; returns how many of its strings the kernel
/// could not read.
pub fn call_line(out: &mut Vec<u8>, theme: &Theme, c: &Call) -> u64 {
    let mut faults = 0;
    let ms = c.time_ns / 1_000_000;
    let frac = c.time_ns / 1_000 % 1_000;
    let _ = write!(out, "{ms:>5}.{frac:03} (");
    match c.dur_ns {
        Some(d) => {
            let style = if d >= 1_000_000 {
                theme.slow
            } else if d >= 10_000 {
                theme.medium
            } else {
                ""
            };
            let text = format!("{:>3}.{:06} ms", d / 1_000_000, d % 1_000_000);
            theme.paint(out, style, text.as_bytes());
        }
        None => out.extend_from_slice(b"             "),
    }
    let _ = write!(out, "): {}/{} ", c.comm, c.tid);
    if c.enter.is_none() {
        theme.paint(out, theme.dim, b"... [continued]: ");
    }
    theme.paint(out, theme.func, c.sys.name.as_bytes());
    out.push(b'(');
    if let Some(rec) = c.enter {
        for (i, arg) in c.sys.args.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            let _ = write!(out, "{}: ", arg.name);
            let raw = read_int(rec, &arg.field).unwrap_or(0);
            if raw != 0 {
                if let Some((layout, probed)) = c.strings {
                    if arg.name == "argv" && !layout.argv.is_empty() {
                        faults += strings::argv(out, layout, probed);
                        continue;
                    }
                }
                match strings::of_call(c.sys, c.enter, c.strings, i) {
                    Some(Shown::Text(s)) => {
                        strings::quoted(out, s);
                        continue;
                    }
                    Some(Shown::Fault) => {
                        faults += 1;
                        let _ = write!(out, "{:#x} (fault)", raw as u64);
                        continue;
                    }
                    None => {}
                }
            }
            match arg.decoder {
                // C ints (flags, commands) sit in 8-byte fields: narrow them.
                Some(d) if arg.field.size < 8 || arg.field.ctype.contains("int") => {
                    decode::write(out, d, raw as u32 as u64)
                }
                Some(d) => decode::write(out, d, raw as u64),
                None => {
                    arg_value(out, arg.kind, raw, arg.field.size, &arg.name);
                    if arg.kind == ArgKind::Fd {
                        fds::name(out, c.fds, raw as i32 as i64);
                    }
                }
            }
        }
    }
    out.push(b')');
    match c.ret {
        Some(ret) => {
            out.extend_from_slice(b" = ");
            ret_value(out, theme, ret, c.sys.returns_pointer);
            if let Some(file) = ret_file(c, ret) {
                out.push(b'<');
                out.extend_from_slice(file);
                out.push(b'>');
            }
        }
        None if c.sys.no_return => {}
        None => theme.paint(out, theme.dim, b" ..."),
    }
    out.push(b'\n');
    faults
}

/// The file a new descriptor is: an open's name, a dup's original.
fn ret_file<'a>(c: &Call<'a>, ret: i64) -> Option<&'a [u8]> {
    let rec = c.enter?;
    if ret < 0 {
        return None;
    }
    let arg = |i: usize| read_int(rec, &c.sys.args[i].field).unwrap_or(-1);
    let dup_of = match c.sys.effect {
        Effect::Open { name, .. } => {
            return match strings::of_call(c.sys, c.enter, c.strings, name)? {
                Shown::Text(path) => Some(path),
                Shown::Fault => None,
            };
        }
        Effect::Dup { old, .. } => arg(old),
        Effect::Fcntl { fd, cmd }
            if matches!(arg(cmd) as i32, libc::F_DUPFD | libc::F_DUPFD_CLOEXEC) =>
        {
            arg(fd)
        }
        _ => return None,
    };
    fds::path(c.fds, dup_of)
}

fn arg_value(out: &mut Vec<u8>, kind: ArgKind, raw: i64, size: usize, name: &str) {
    // Fields are 8 bytes wide but may hold a C int: narrow by the C type.
    let _ = match kind {
        ArgKind::Pointer if raw == 0 => write!(out, "NULL"),
        ArgKind::Pointer | ArgKind::Hex => write!(out, "{:#x}", raw as u64),
        ArgKind::Octal => write!(out, "0{:o}", raw as u64),
        ArgKind::Fd => {
            let fd = raw as i32;
            if fd == libc::AT_FDCWD && name.ends_with("dfd") {
                write!(out, "CWD")
            } else {
                write!(out, "{fd}")
            }
        }
        ArgKind::Signed if size == 8 => write!(out, "{raw}"),
        ArgKind::Signed => write!(out, "{}", raw as i32),
        ArgKind::Unsigned => write!(out, "{}", raw as u64),
    };
}

fn ret_value(out: &mut Vec<u8>, theme: &Theme, ret: i64, pointer: bool) {
    if (-4095..0).contains(&ret) {
        theme.paint(out, theme.errno, failure(-ret as i32).as_bytes());
    } else if pointer {
        let _ = write!(out, "{:#x}", ret as u64);
    } else {
        let _ = write!(out, "{ret}");
    }
}

/// A failed call's result as the program sees it, named from the same table
/// graph mode uses: `-1 ENOENT (No such file or directory)`, or `-1 Errno
/// 1234` for a number without a name. A restart code never reaches the
/// program, so it reads as strace has it, without a value:
/// `? ERESTARTSYS (To be restarted if SA_RESTART is set)`.
fn failure(errno: i32) -> String {
    let value = if errno::is_restart(errno) { "?" } else { "-1" };
    match errno::describe(errno) {
        Some((name, desc)) => format!("{value} {name} ({desc})"),
        None => format!("{value} Errno {errno}"),
    }
}

/// Lost events, where they happened.
pub fn lost_line(out: &mut Vec<u8>, theme: &Theme, time_ns: u64, cpu: u32, count: u64) {
    let ms = time_ns / 1_000_000;
    let frac = time_ns / 1_000 % 1_000;
    let text = match count {
        0 => format!("{ms:>5}.{frac:03} LOST events on CPU {cpu} (count unknown)!"),
        n => format!("{ms:>5}.{frac:03} LOST {n} events on CPU {cpu}!"),
    };
    theme.paint(out, theme.lost, text.as_bytes());
    out.push(b'\n');
}

fn us(ns: f64) -> String {
    format!("{:.3}", ns / 1e3)
}

/// The summary table, sorted by total time, with p50/p90/p99; and with
/// `hist`, a log2 histogram per syscall.
pub fn summary(out: &mut Vec<u8>, theme: &Theme, rows: &[(&str, &Stats)], hist: bool) {
    let mut rows: Vec<_> = rows.iter().filter(|(_, s)| s.calls() > 0).collect();
    rows.sort_by(|a, b| b.1.hist.total.cmp(&a.1.hist.total).then(a.0.cmp(b.0)));
    out.extend_from_slice(b"\n");
    let cols = ["total", "min", "avg", "p50", "p90", "p99", "max"];
    let mut head = format!(" {:<16} {:>9} {:>7}", "syscall", "calls", "errors");
    let mut units = format!(" {:<16} {:>9} {:>7}", "", "", "");
    let mut rule = format!(" {} {} {}", "-".repeat(16), "-".repeat(9), "-".repeat(7));
    for c in cols {
        head.push_str(&format!(" {c:>11}"));
        units.push_str(&format!(" {:>11}", "(usec)"));
        rule.push_str(&format!(" {}", "-".repeat(11)));
    }
    head.push_str(&format!(" {:>8}", "stddev"));
    units.push_str(&format!(" {:>8}\n", "(%)"));
    rule.push_str(&format!(" {}\n", "-".repeat(8)));
    theme.paint(out, theme.heading, head.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(units.as_bytes());
    out.extend_from_slice(rule.as_bytes());
    for (name, s) in &rows {
        let errors = if s.errors > 0 {
            let mut v = Vec::new();
            theme.paint(&mut v, theme.errno, format!("{:>7}", s.errors).as_bytes());
            String::from_utf8_lossy(&v).into_owned()
        } else {
            format!("{:>7}", 0)
        };
        let line = format!(
            " {:<16} {:>9} {} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11} {:>7.2}%\n",
            name,
            s.calls(),
            errors,
            us(s.hist.total as f64),
            us(s.hist.min as f64),
            us(s.hist.avg()),
            us(s.hist.quantile(0.5) as f64),
            us(s.hist.quantile(0.9) as f64),
            us(s.hist.quantile(0.99) as f64),
            us(s.hist.max as f64),
            s.stddev_pct(),
        );
        out.extend_from_slice(line.as_bytes());
    }
    if hist {
        for (name, s) in &rows {
            histogram(out, theme, name, s);
        }
    }
}

/// The distribution of one syscall's durations (`hist`'s layout).
fn histogram(out: &mut Vec<u8>, theme: &Theme, name: &str, s: &Stats) {
    out.push(b'\n');
    hist::render(
        out,
        theme,
        name,
        &s.hist,
        Some(&s.slowest),
        hist::Show::default(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::format::Field;

    /// `openat` returning `ret`, its entry unseen: the line ends in the result.
    fn openat_line(ret: i64) -> String {
        let field = Field {
            name: "ret".into(),
            ctype: "long".into(),
            offset: 16,
            size: 8,
            signed: true,
        };
        let sys = Syscall {
            name: "openat".into(),
            enter_id: 1,
            exit_id: 2,
            args: Vec::new(),
            ret: field,
            returns_pointer: false,
            no_return: false,
            effect: crate::modes::trace::fds::Effect::None,
            native: None,
        };
        let call = Call {
            sys: &sys,
            time_ns: 0,
            dur_ns: None,
            comm: "cat",
            tid: 1,
            enter: None,
            ret: Some(ret),
            strings: None,
            fds: None,
        };
        let mut out = Vec::new();
        call_line(&mut out, &Theme::plain(), &call);
        let line = String::from_utf8(out).unwrap();
        let result = line.split_once("openat() = ").expect(&line).1;
        result.trim_end().to_string()
    }

    #[test]
    fn failures_read_as_the_program_sees_them() {
        let cases = [
            (-2, "-1 ENOENT (No such file or directory)"),
            (-517, "-1 EPROBE_DEFER (Driver requests probe retry)"),
            (-524, "-1 ENOTSUPP (Operation is not supported)"),
            (-512, "? ERESTARTSYS (To be restarted if SA_RESTART is set)"),
            (-516, "? ERESTART_RESTARTBLOCK (Interrupted by signal)"),
            (-520, "-1 Errno 520"),
            (-1234, "-1 Errno 1234"),
            (-4095, "-1 Errno 4095"),
        ];
        for (ret, want) in cases {
            assert_eq!(openat_line(ret), want, "{ret}");
        }
        assert_eq!(openat_line(-4096), "-4096");
        assert_eq!(openat_line(3), "3");
    }

    /// Graph mode names an errno return value with [`errno::name`]; trace
    /// mode must show the same name, and no name where graph mode has none.
    #[test]
    fn failures_named_as_in_graph_mode() {
        for ret in [-2, -517, -524, -512, -1234] {
            let shown = openat_line(ret);
            let word = shown.split(' ').nth(1).unwrap();
            match errno::name(-ret as i32) {
                Some(name) => assert_eq!(word, name, "{ret}"),
                None => assert_eq!(shown, format!("-1 Errno {}", -ret)),
            }
        }
    }

    #[test]
    fn file_names_read_by_a_probe_replace_their_pointers() {
        use crate::kernel::format::Field;
        use crate::modes::trace::table::Arg;
        let f = |name: &str, ctype: &str, offset: usize, size: usize| Field {
            name: name.into(),
            ctype: ctype.into(),
            offset,
            size,
            signed: false,
        };
        let arg = |name: &str, ctype: &str, offset: usize, kind: ArgKind| Arg {
            name: name.into(),
            field: f(name, ctype, offset, 8),
            kind,
            decoder: None,
        };
        let sys = Syscall {
            name: "openat".into(),
            enter_id: 1,
            exit_id: 2,
            args: vec![
                arg("dfd", "int", 16, ArgKind::Fd),
                arg("filename", "const char *", 24, ArgKind::Pointer),
                arg("flags", "int", 32, ArgKind::Hex),
            ],
            ret: f("ret", "long", 16, 8),
            returns_pointer: false,
            no_return: false,
            effect: crate::modes::trace::fds::Effect::None,
            native: None,
        };
        let mut enter = vec![0u8; 40];
        enter[16..20].copy_from_slice(&(-100i32).to_le_bytes());
        enter[24..32].copy_from_slice(&0x7f00_1234u64.to_le_bytes());
        // The probe's record: a data_loc at 8, the string at 12.
        let name = b"/etc/host\"name\0";
        let mut probed = vec![0u8; 12];
        probed[8..12].copy_from_slice(&((name.len() as u32) << 16 | 12).to_le_bytes());
        probed.extend_from_slice(name);
        let layout = Layout {
            id: 3,
            args: vec![(1, f("filename", "__data_loc char[]", 8, 4))],
            argv: Vec::new(),
        };
        let line = |probed: &[u8]| {
            let call = Call {
                sys: &sys,
                time_ns: 0,
                dur_ns: Some(1000),
                comm: "cat",
                tid: 1,
                enter: Some(&enter),
                ret: Some(3),
                strings: Some((&layout, probed)),
                fds: None,
            };
            let mut out = Vec::new();
            let faults = call_line(&mut out, &Theme::plain(), &call);
            (String::from_utf8(out).unwrap(), faults)
        };
        let (text, faults) = line(&probed);
        assert!(
            text.contains(r#"openat(dfd: CWD, filename: "/etc/host\"name", flags: 0x0) = 3"#),
            "{text}"
        );
        assert_eq!(faults, 0);
        // Length 0: the kernel could not read it.
        probed[8..12].copy_from_slice(&12u32.to_le_bytes());
        let (text, faults) = line(&probed);
        assert!(text.contains("filename: 0x7f001234 (fault),"), "{text}");
        assert_eq!(faults, 1);
    }

    /// An openat on Debian's 7.2 (its real format): the file name the event
    /// carries is shown as `filename:`, and names the descriptor; the
    /// `__filename_val` field is no argument of its own.
    #[test]
    fn a_7_2_openat_shows_the_file_name_its_event_carries() {
        use crate::modes::trace::strings::tests::{fixture_7_2, load_7_2};
        let sys = load_7_2("openat", fixture_7_2("sys_enter_openat"));
        // As the kernel writes it: the arguments in 8-byte slots from 16,
        // the data_loc at 48, the string after it.
        let mut rec = vec![0u8; 52];
        rec[0..2].copy_from_slice(&760u16.to_le_bytes());
        rec[8..12].copy_from_slice(&257i32.to_le_bytes());
        rec[16..24].copy_from_slice(&(-100i64).to_le_bytes());
        rec[24..32].copy_from_slice(&0x7ffd_1000u64.to_le_bytes());
        rec[32..40].copy_from_slice(&0o1102u64.to_le_bytes()); // O_CREAT|O_TRUNC|O_RDWR
        rec[40..48].copy_from_slice(&0o644u64.to_le_bytes());
        let name = b"/tmp/pw.dat\0";
        rec[48..52].copy_from_slice(&((name.len() as u32) << 16 | 52).to_le_bytes());
        rec.extend_from_slice(name);
        let line = |rec: &[u8]| {
            let call = Call {
                sys: &sys,
                time_ns: 0,
                dur_ns: Some(1000),
                comm: "pw",
                tid: 1,
                enter: Some(rec),
                ret: Some(3),
                strings: None,
                fds: None,
            };
            let mut out = Vec::new();
            let faults = call_line(&mut out, &Theme::plain(), &call);
            (String::from_utf8(out).unwrap(), faults)
        };
        let (text, faults) = line(&rec);
        assert!(
            text.ends_with(
                "openat(dfd: CWD, filename: \"/tmp/pw.dat\", flags: CREAT|TRUNC|RDWR, mode: IRUGO|IWUSR) = 3</tmp/pw.dat>\n"
            ),
            "{text}"
        );
        assert_eq!(faults, 0);
        // The kernel could not read it (length 0): the pointer, marked.
        rec[48..52].copy_from_slice(&52u32.to_le_bytes());
        let (text, faults) = line(&rec[..52]);
        assert!(
            text.contains("filename: 0x7ffd1000 (fault), flags:") && text.ends_with(") = 3\n"),
            "{text}"
        );
        assert_eq!(faults, 1);
    }
}
