//! Integration tests: drive the real binary against this machine's kernel.
//!
//! Tests that trace share the machine's tracefs, so they take one lock (a
//! file lock: it holds across test threads and processes alike) and compare
//! a snapshot of every tracefs knob before and after each run. They need root
//! and tracefs, so they are `#[ignore]`d with the command that runs them;
//! run that way, a missing requirement fails them with its name.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{need, strip_sgr};

const T: &str = "/sys/kernel/tracing";
const LOCK: &str = "/tmp/ftr-tests.lock";

fn ftr() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ftr"));
    c.env_remove("FTR_PAGER")
        .env("PAGER", "")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    c
}

/// The machine's tracefs, taken by one test at a time: the file lock
/// holds across test threads and processes alike. A tracefs the test
/// mounted is unmounted when it is dropped, as ftr does with its own.
struct TracingMachine {
    _lock: fs::File,
    mounted: bool,
}

impl Drop for TracingMachine {
    fn drop(&mut self) {
        if self.mounted {
            // ftr's detached clean-up child may still be using it.
            wait_for_cleanup();
            let _ = Command::new("umount").arg(T).status();
        }
    }
}

/// Takes the tracefs lock. The tests that call it are `#[ignore]`d unless
/// asked for (`--include-ignored`); asked for, they fail, naming what is
/// missing, rather than pass without having run.
fn tracing_machine() -> TracingMachine {
    use std::os::fd::AsRawFd;
    let lock = fs::File::create(LOCK).expect("create the test lock");
    // SAFETY: flock on a descriptor we own.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    assert!(
        nix_is_root(),
        "this test traces the real kernel: run it as root"
    );
    let mut mounted = false;
    if !Path::new(T).join("events/syscalls").exists() {
        // Mount it if it is not mounted (ftr does too; this keeps the snapshot honest).
        mounted = Command::new("mount")
            .args(["-t", "tracefs", "nodev", T])
            .status()
            .is_ok_and(|s| s.success());
    }
    let machine = TracingMachine {
        _lock: lock,
        mounted,
    };
    assert!(
        Path::new(T).join("events/syscalls").exists(),
        "this test needs tracefs with syscall events at {T} (CONFIG_FTRACE_SYSCALLS)"
    );
    machine
}

fn nix_is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Every knob ftr could touch: top-level files, options, enabled events,
/// instances, dynamic events, and ftr's journal directory.
fn snapshot() -> BTreeMap<String, String> {
    let mut s = BTreeMap::new();
    for f in [
        "current_tracer",
        "tracing_on",
        "set_event",
        "set_event_pid",
        "set_event_notrace_pid",
        "set_ftrace_filter",
        "set_ftrace_notrace",
        "set_ftrace_pid",
        "set_ftrace_notrace_pid",
        "set_graph_function",
        "set_graph_notrace",
        "max_graph_depth",
        "tracing_thresh",
        "trace_options",
        "trace_clock",
        "buffer_size_kb",
        "buffer_percent",
        "tracing_cpumask",
        "dynamic_events",
        "kprobe_events",
        "uprobe_events",
    ] {
        if let Ok(v) = fs::read_to_string(Path::new(T).join(f)) {
            s.insert(f.to_string(), v);
        }
    }
    // The osnoise tracer's knobs are global (kernels with CONFIG_OSNOISE_TRACER).
    for sub in ["options", "osnoise"] {
        if let Ok(dir) = fs::read_dir(Path::new(T).join(sub)) {
            for e in dir.flatten() {
                let v = read_knob(&e.path()).unwrap_or_default();
                s.insert(format!("{sub}/{}", e.file_name().to_string_lossy()), v);
            }
        }
    }
    let mut list = |key: &str, dir: &Path| {
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        s.insert(key.to_string(), names.join(" "));
    };
    list("instances", &Path::new(T).join("instances"));
    list("/run/ftr", Path::new("/run/ftr"));
    s
}

/// A tracefs file's content, read in one large read: some refuse a read
/// smaller than their whole content (osnoise/cpus answers EINVAL to the
/// small first read of `fs::read_to_string`).
fn read_knob(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = fs::File::open(path)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match file.read(&mut buf)? {
            0 => return Ok(String::from_utf8_lossy(&out).into_owned()),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// ftr leaves the removal of its stopped instance to a detached child; wait
/// for that child (its journal disappears last).
fn wait_for_cleanup() {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let busy = fs::read_dir("/run/ftr")
            .map(|d| d.count() > 0)
            .unwrap_or(false)
            || fs::read_dir(Path::new(T).join("instances"))
                .map(|d| {
                    d.flatten()
                        .any(|e| e.file_name().to_string_lossy().starts_with("ftr-"))
                })
                .unwrap_or(false);
        if !busy {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn assert_same(before: &BTreeMap<String, String>, what: &str) {
    wait_for_cleanup();
    let after = snapshot();
    for (k, v) in before {
        assert_eq!(after.get(k), Some(v), "{what}: tracefs knob {k} changed");
    }
    assert_eq!(before.len(), after.len(), "{what}: set of knobs changed");
}

/// ftr started with no input and its output discarded.
fn quiet_ftr(args: &[&str]) -> std::process::Child {
    ftr()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ftr")
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out: Output = cmd.stdin(Stdio::null()).output().expect("run ftr");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ftr-test-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).expect("tmpdir");
    d
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn traces_a_command_and_restores_everything() {
    let _g = tracing_machine();
    let before = snapshot();
    let (code, out, err) = run(ftr().args([
        "trace",
        "-e",
        "openat,read,close",
        "--",
        "cat",
        "/etc/hostname",
    ]));
    assert_eq!(code, 0, "stderr: {err}");
    let hostname = fs::read_to_string("/etc/hostname").unwrap();
    assert!(
        out.contains(hostname.trim()),
        "the command's own output passes through"
    );
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("): cat/")).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("openat(dfd: CWD, filename: 0x")
                || l.contains("openat(dfd: CWD, filename: \"/etc/hostname\"")),
        "{out}"
    );
    assert!(lines.iter().any(|l| l.contains(" read(fd: 3,")), "{out}");
    // perf trace's layout: `  0.123 ( 0.004567 ms): cat/123 close(fd: 3) = 0`
    let close = lines
        .iter()
        .find(|l| l.contains(" close(fd: "))
        .expect("a close line");
    assert!(
        close.contains(" ms): cat/") && close.ends_with(" = 0"),
        "{close}"
    );
    // Nothing from before the exec (the command waiting at its gate would show
    // as a `[continued]` read), nothing that was not asked for.
    assert!(!out.contains("[continued]"), "{out}");
    assert!(!out.contains("ftr/"), "{out}");
    assert!(!out.contains("write("), "write was not asked for: {out}");
    let traced: u64 = err
        .lines()
        .find(|l| l.contains(" syscalls traced, "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .expect(&err);
    assert_eq!(
        traced as usize,
        lines.len(),
        "closing line counts the lines: {err}"
    );
    assert!(err.contains(", 0 events lost"), "{err}");
    assert_same(&before, "normal exit");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn failed_calls_show_errno_and_filters_work() {
    let _g = tracing_machine();
    let before = snapshot();
    let (code, out, _) = run(ftr().args([
        "trace",
        "-e",
        "openat",
        "--failure",
        "--",
        "cat",
        "/nonexistent/x",
    ]));
    assert_eq!(code, 1, "cat's own status");
    assert!(out.lines().count() > 0);
    for line in out.lines() {
        assert!(
            line.contains("= -1 E"),
            "--failure keeps only failures: {line}"
        );
    }
    assert!(
        out.contains("= -1 ENOENT (No such file or directory)"),
        "{out}"
    );
    // --duration: a 200 ms nanosleep passes a 100 ms threshold, the rest do not.
    let (_, out, _) = run(ftr().args([
        "trace",
        "-e",
        "clock_nanosleep,nanosleep,openat",
        "--duration",
        "100",
        "--",
        "sleep",
        "0.2",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].contains("nanosleep("), "{out}");
    assert_same(&before, "filters");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn summary_has_percentiles_and_histogram() {
    let _g = tracing_machine();
    let before = snapshot();
    let (code, out, _) = run(ftr().args([
        "trace",
        "-e",
        "read,openat",
        "-s",
        "--hist",
        "--",
        "cat",
        "/etc/hostname",
    ]));
    assert_eq!(code, 0);
    assert!(!out.contains("): cat/"), "-s shows no call lines: {out}");
    let header = out
        .lines()
        .find(|l| l.contains("syscall") && l.contains("calls"))
        .expect(&out);
    for col in [
        "errors", "total", "min", "avg", "p50", "p90", "p99", "max", "stddev",
    ] {
        assert!(header.contains(col), "{col} in {header}");
    }
    let openat = out
        .lines()
        .find(|l| l.trim_start().starts_with("openat "))
        .expect(&out);
    let calls: u64 = openat.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(calls >= 1);
    assert!(out.contains("openat: "), "{out}");
    let bars: u64 = out
        .lines()
        .skip_while(|l| !l.starts_with("openat: "))
        .skip(2)
        .take_while(|l| l.trim_start().starts_with('['))
        .map(|l| {
            l.split('|')
                .next()
                .unwrap()
                .split_whitespace()
                .last()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(bars, calls, "histogram counts every call:\n{out}");
    assert_same(&before, "summary");
}

/// The rows of one histogram of `ftr latency`'s output: (range, count).
fn hist_rows<'a>(out: &'a str, title: &str) -> Vec<(&'a str, u64)> {
    out.lines()
        .skip_while(|l| !l.starts_with(title))
        .skip(2) // the title and the column heads
        .take_while(|l| l.trim_start().starts_with(['[', '<', '>']))
        .map(|l| {
            let (range, rest) = l.trim().split_once(')').unwrap_or((l, ""));
            let n = rest.split_whitespace().next().unwrap_or("x");
            (
                range,
                n.parse().unwrap_or_else(|_| panic!("count in {l:?}")),
            )
        })
        .collect()
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn latency_of_20_sleeps_of_10_ms() {
    let _g = tracing_machine();
    let before = snapshot();
    let (code, out, err) = run(ftr().args([
        "latency",
        "-e",
        "clock_nanosleep,nanosleep",
        "--",
        "sh",
        "-c",
        "for i in $(seq 20); do sleep 0.01; done",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    // sleep(1) uses clock_nanosleep (nanosleep on older libcs).
    let title = ["clock_nanosleep: ", "nanosleep: "]
        .into_iter()
        .find(|t| out.contains(t))
        .unwrap_or_else(|| panic!("a sleep histogram in {out}"));
    assert!(out.contains(&format!("{title}20 calls")), "{out}");
    let rows = hist_rows(&out, title);
    assert_eq!(rows.iter().map(|r| r.1).sum::<u64>(), 20, "{out}");
    // A sleep never ends early, so no row below the one that holds 10 ms,
    // [8.39ms, 10.5ms), has a call; most calls are in that row. A loaded
    // machine wakes some sleepers late, into the rows above it.
    let ten = rows
        .iter()
        .position(|r| r.0 == "[8.39ms, 10.5ms")
        .expect(&out);
    assert!(rows[..ten].iter().all(|r| r.1 == 0), "{out}");
    assert!(rows[ten].1 > 10, "most sleeps in the 10 ms row:\n{out}");
    let line = out
        .lines()
        .skip_while(|l| !l.starts_with(title))
        .find(|l| l.trim_start().starts_with("count "))
        .expect(&out);
    let field = |name: &str| -> f64 {
        let v = line
            .split("  ")
            .find_map(|f| f.trim().strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in {line}"));
        let ms = v
            .strip_suffix("ms")
            .unwrap_or_else(|| panic!("{name} in ms: {line}"));
        ms.parse().unwrap()
    };
    assert!(line.trim_start().starts_with("count 20 "), "{line}");
    // p50 within a stored bucket (1/16 of 8.39 ms) of 10 ms, above it.
    let p50 = field("p50");
    assert!((10.0..10.0 + 8.39 / 16.0).contains(&p50), "{line}");
    // The total is the sum of 20 durations between min and max.
    let (min, max, total) = (field("min"), field("max"), field("total"));
    assert!(min >= 10.0, "no sleep ends early: {line}");
    assert!(
        20.0 * min <= total + 1.0 && total <= 20.0 * max + 1.0,
        "{line}"
    );
    assert!(
        out.contains("slowest ") && out.contains(" in sleep-"),
        "{out}"
    );
    assert!(
        err.contains("ftr: 20 syscalls traced, 0 events lost"),
        "{err}"
    );
    assert_same(&before, "latency");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn latency_intervals_then_the_whole_run() {
    let _g = tracing_machine();
    let before = snapshot();
    let (code, out, err) = run(ftr().args([
        "latency",
        "-e",
        "clock_nanosleep,nanosleep",
        "-i",
        "0.2",
        "--",
        "sh",
        "-c",
        "for i in $(seq 30); do sleep 0.02; done",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let counts = |part: &str| -> Vec<u64> {
        part.lines()
            .filter(|l| l.contains("nanosleep: ") && l.ends_with(" calls"))
            .map(|l| {
                l.split(": ")
                    .nth(1)
                    .unwrap()
                    .trim_end_matches(" calls")
                    .parse()
                    .unwrap()
            })
            .collect()
    };
    let intervals: Vec<&str> = out.split("--- last ").collect();
    // About 0.7 s of sleeps in 0.2 s intervals; the whole run comes last.
    assert!(intervals.len() >= 3, "at least 2 intervals: {out}");
    let (last, shown) = intervals.split_last().unwrap();
    let in_intervals: u64 = shown.iter().skip(1).flat_map(|p| counts(p)).sum::<u64>()
        + counts(last)
            .iter()
            .take(counts(last).len().saturating_sub(1))
            .sum::<u64>();
    let whole = *counts(last).last().expect(&out);
    assert_eq!(whole, 30, "{out}");
    assert!(
        in_intervals > 0 && in_intervals <= 30,
        "{in_intervals} in intervals: {out}"
    );
    assert_same(&before, "latency -i");
}

/// The calls of a perf-trace-style text: (syscall, its `name: value`
/// arguments), in order.
fn syscall_args(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut calls = Vec::new();
    for line in text.lines() {
        // `... fam/123 openat(dfd: CWD, filename: 0x…, flags: RDONLY) = 3`
        let Some(call) = line.find("): ").map(|at| at + 3) else {
            continue;
        };
        let Some(open) = line[call..].find('(').map(|at| call + at) else {
            continue;
        };
        let after_task = &line[..open];
        let Some(name) = after_task.rsplit(' ').next() else {
            continue;
        };
        // The parenthesis that closes the arguments.
        let mut depth = 0;
        let Some(close) = line[open..].find(|c| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            depth == 0
        }) else {
            continue;
        };
        let close = open + close;
        let args = line[open + 1..close]
            .split(", ")
            .filter_map(|a| a.split_once(": "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        calls.push((name.to_string(), args));
    }
    calls
}

/// The symbolic words of a value (`RDONLY|CLOEXEC`), leaving out numbers
/// and hex remainders.
fn symbols(value: &str) -> Vec<&str> {
    // `3</etc/passwd>`: perf trace names descriptors by a readlink of
    // /proc/PID/fd; ftr names them from the trace (tested apart).
    let value = value.split('<').next().unwrap_or(value);
    value
        .split('|')
        .filter(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
        .collect()
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn flags_are_named_as_perf_trace_names_them() {
    let _g = tracing_machine();
    let before = snapshot();
    let dir = tmpdir("families");
    let prog = dir.join("families");
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/decode/families.c"
    );
    need(&["gcc", "perf"]);
    let cc = Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&prog)
        .arg(src)
        .status();
    assert!(
        cc.is_ok_and(|s| s.success()),
        "gcc builds {src} (apt-get install gcc)"
    );
    let data = dir.join("f.txt");
    let perf_out = dir.join("perf.txt");
    let perf = Command::new("perf")
        .args(["trace", "--no-inherit", "-o"])
        .arg(&perf_out)
        .arg("--")
        .arg(&prog)
        .arg(&data)
        .output()
        .expect("perf trace runs (apt-get install linux-perf)");
    assert!(
        perf.status.success(),
        "perf trace: {}",
        String::from_utf8_lossy(&perf.stderr)
    );
    let perf_text = fs::read_to_string(&perf_out).unwrap();
    let (code, ours, err) = run(ftr()
        .args(["trace", "--no-inherit", "--"])
        .arg(&prog)
        .arg(&data));
    assert_eq!(code, 0, "{err}");
    // The program's own calls: from its first openat of the data file on.
    let from_data = |calls: Vec<(String, Vec<(String, String)>)>| {
        let at = calls
            .iter()
            .position(|(n, a)| n == "openat" && a.iter().any(|(k, v)| k == "mode" && v != "0"))
            .unwrap_or(0);
        calls[at..].to_vec()
    };
    let theirs = from_data(syscall_args(&perf_text));
    let mine = from_data(syscall_args(&ours));
    assert!(theirs.len() > 20, "perf trace's calls:\n{perf_text}");
    let compared = same_symbols(&theirs, &mine, &ours);
    assert!(compared >= 20, "{compared} symbolic values compared");
    let _ = fs::remove_dir_all(&dir);
    assert_same(&before, "flags");
}

/// Wherever perf trace shows a value by name, ftr shows the same names,
/// call by call (each of perf's calls matched to ftr's next call of that
/// syscall). perf trace 6.1 leaves these numbers, which ftr names: wait4's
/// __WALL (ALL), epoll_create1's and faccessat2's flags, faccessat2's mode,
/// pwritev2's RWF flags; the other spellings are the same. Returns how
/// many values were compared.
fn same_symbols(
    theirs: &[(String, Vec<(String, String)>)],
    mine: &[(String, Vec<(String, String)>)],
    ours: &str,
) -> usize {
    let mut compared = 0;
    let mut mine_iter = mine.iter();
    for (name, args) in theirs {
        let Some((_, my_args)) = mine_iter.find(|(n, _)| n == name) else {
            panic!("ftr shows no {name} after the ones before:\n{ours}");
        };
        for (arg, value) in args {
            let want = symbols(value);
            if want.is_empty() {
                continue;
            }
            let got = my_args
                .iter()
                .find(|(k, _)| k == arg)
                .map(|(_, v)| symbols(v))
                .unwrap_or_default();
            for w in &want {
                assert!(
                    got.contains(w),
                    "{name} {arg}: perf {value}, ftr {got:?}\n{ours}"
                );
            }
            compared += 1;
        }
    }
    compared
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn everyday_commands_read_as_perf_trace_reads_them() {
    let _g = tracing_machine();
    let before = snapshot();
    need(&["perf"]);
    let dir = tmpdir("corpus");
    let file = dir.join("f.txt");
    let f = file.to_str().unwrap();
    // (Not `exec 3<>`: perf trace leaves a descriptor of its own open in
    // the command, so the shell would need a dup2 more under perf.)
    let script = format!("echo hi > {f}; read x < {f}; echo more >> {f}");
    let dd_of = format!("of={f}");
    // A directory that stays the same between the two runs.
    let listed = dir.join("listed");
    fs::create_dir_all(&listed).unwrap();
    for name in ["a", "b", "c"] {
        fs::write(listed.join(name), name).unwrap();
    }
    let corpus: [Vec<&str>; 5] = [
        vec!["ls", "-la", listed.to_str().unwrap()],
        vec!["cat", "/etc/hostname"],
        vec![
            "dd",
            "if=/dev/zero",
            &dd_of,
            "bs=4k",
            "count=4",
            "conv=fsync",
        ],
        vec!["sh", "-c", &script],
        vec!["stat", "/etc/hostname"],
    ];
    let mut compared = 0;
    for cmd in &corpus {
        let perf_out = dir.join("perf.txt");
        let perf = Command::new("perf")
            .args(["trace", "--no-inherit", "-o"])
            .arg(&perf_out)
            .arg("--")
            .args(cmd)
            .output()
            .expect("perf trace runs (apt-get install linux-perf)");
        assert!(perf.status.success(), "perf trace {cmd:?}: {perf:?}");
        let perf_text = fs::read_to_string(&perf_out).unwrap();
        let (code, ours, err) = run(ftr().args(["trace", "--no-inherit", "--"]).args(cmd));
        assert_eq!(code, 0, "{cmd:?}: {err}");
        let theirs = syscall_args(&perf_text);
        assert!(theirs.len() > 10, "perf trace {cmd:?}:\n{perf_text}");
        let n = same_symbols(&theirs, &syscall_args(&ours), &ours);
        assert!(n > 0, "{cmd:?}: nothing symbolic compared");
        compared += n;
    }
    assert!(compared >= 40, "{compared} symbolic values compared");
    let _ = fs::remove_dir_all(&dir);
    assert_same(&before, "corpus");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn children_are_followed_unless_no_inherit() {
    let _g = tracing_machine();
    let before = snapshot();
    let script = "cat /etc/hostname >/dev/null; exit 3";
    let (code, out, _) = run(ftr().args(["trace", "-e", "openat", "--", "sh", "-c", script]));
    assert_eq!(code, 3);
    assert!(out.contains("): cat/"), "child cat is traced: {out}");
    let (_, out, _) = run(ftr().args([
        "trace",
        "-e",
        "openat",
        "--no-inherit",
        "--",
        "sh",
        "-c",
        script,
    ]));
    assert!(!out.contains("): cat/"), "--no-inherit: {out}");
    assert!(out.contains("): sh/"), "{out}");
    assert_same(&before, "inherit");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn exit_status_is_the_commands() {
    let _g = tracing_machine();
    let before = snapshot();
    let (code, _, _) = run(ftr().args(["trace", "-e", "openat", "--", "sh", "-c", "exit 7"]));
    assert_eq!(code, 7);
    let (code, _, _) =
        run(ftr().args(["trace", "-e", "openat", "--", "sh", "-c", "kill -TERM $$"]));
    assert_eq!(code, 128 + 15);
    let (code, _, err) = run(ftr().args(["trace", "--", "/nonexistent/cmd"]));
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("/nonexistent/cmd: command not found"), "{err}");
    let (code, _, err) = run(ftr().args(["trace", "--", "/etc/hostname"]));
    assert_eq!(code, 126, "{err}");
    assert_same(&before, "exit statuses");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn bad_input_is_one_clear_line_and_changes_nothing() {
    let _g = tracing_machine();
    let before = snapshot();
    let cases: &[(&[&str], &str)] = &[
        (&["trace", "--bogus"], "unknown option --bogus"),
        (
            &["trace", "-e", "pwritv2", "true"],
            "did you mean `pwritev2`?",
        ),
        (
            &["trace", "-e", "", "true"],
            "-e: the syscall list is empty",
        ),
        (
            &["trace", "--duration", "abc", "true"],
            "--duration abc: expected a number",
        ),
        (
            &["trace", "-p", "999999999"],
            "-p 999999999: no such process",
        ),
        (
            &["trace", "-u", "no-such-user-x", "true"],
            "-u no-such-user-x: no such user",
        ),
        (&["trace", "-e", "zz*", "true"], "matches no syscall"),
        (
            &["-G", "f", "--graph-opts", "depth=x"],
            "expected a whole number",
        ),
    ];
    for (args, want) in cases {
        let (code, out, err) = run(ftr().args(*args));
        let expected = if want.contains("not found") { 127 } else { 125 };
        assert_eq!(code, expected, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: want `{want}` in: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(out.is_empty(), "{args:?}");
    }
    assert_same(&before, "bad input");
}

/// This machine's kernel has no function_graph tracer and does not let
/// function tracing be set up (the brief says so; the VM tests cover the
/// kernels that have them): graph mode must say that in one line, run
/// nothing, and change nothing.
#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn no_function_tracing_is_one_clear_line() {
    let _g = tracing_machine();
    let tracers = fs::read_to_string(format!("{T}/available_tracers")).unwrap();
    let functions_readable = fs::read(format!("{T}/available_filter_functions")).is_ok();
    if tracers.split_whitespace().any(|t| t == "function_graph") || functions_readable {
        eprintln!(
            "SKIP no_function_tracing_is_one_clear_line: this kernel has function tracing \
             (tracers: {}); the VM tests cover graph mode here",
            tracers.trim()
        );
        assert!(
            std::env::var("CI").is_err(),
            "the CI machine lacks function tracing"
        );
        return;
    }
    let before = snapshot();
    let marker = tmpdir("nofunc").join("ran");
    let touch = format!("touch {}", marker.display());
    let cases: &[(&[&str], &str)] = &[
        (
            &["-G", "vfs_write", "--", "sh", "-c", &touch],
            "this kernel has no function_graph tracer",
        ),
        (
            &["-T", "vfs_write", "--", "sh", "-c", &touch],
            "this kernel does not allow function tracing",
        ),
        (
            &["-F", "vfs_*"],
            "this kernel does not allow function tracing",
        ),
        (
            &["list", "functions"],
            "this kernel does not allow function tracing",
        ),
    ];
    for (args, want) in cases {
        let (code, out, err) = run(ftr().args(*args));
        assert_eq!(code, 125, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: want `{want}` in: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(out.is_empty(), "{args:?}");
    }
    assert!(!marker.exists(), "the command must not run");
    assert_same(&before, "no function tracing");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn tracefs_missing_or_read_only_is_one_clear_line() {
    let _g = tracing_machine();
    let before = snapshot();
    let (code, _, err) = run(ftr().env("TRACEFS", "/tmp").args(["trace", "--", "true"]));
    assert_eq!(code, 125);
    assert!(
        err.contains("TRACEFS=/tmp is not a mounted tracefs"),
        "{err}"
    );
    // The kernel refuses the run once ftr has started setting up: the file
    // -o names keeps what an earlier run wrote there.
    let dir = tmpdir("ro");
    let earlier = dir.join("trace.txt");
    fs::write(&earlier, "an earlier trace\n").unwrap();
    let script = format!(
        "mount -o remount,bind,ro {T} && {} trace -e openat -o {} -- true",
        env!("CARGO_BIN_EXE_ftr"),
        earlier.display()
    );
    let (code, _, err) =
        run(Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]));
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("tracefs is mounted read-only"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        fs::read_to_string(&earlier).unwrap(),
        "an earlier trace\n",
        "-o's file overwritten by a run that did not go ahead"
    );
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        1,
        "nothing left beside it"
    );
    assert_same(&before, "tracefs read-only");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn not_root_is_told_to_use_sudo() {
    let _g = tracing_machine();
    let before = snapshot();
    let (code, _, err) = run(Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_ftr"),
        ])
        .args(["trace", "-e", "openat", "--", "true"]));
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("ftr needs root"), "{err}");
    assert_same(&before, "not root");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn signals_stop_tracing_restore_and_reach_the_command() {
    let _g = tracing_machine();
    for (sig, num) in [("INT", 2), ("TERM", 15), ("HUP", 1), ("QUIT", 3)] {
        let before = snapshot();
        let child = ftr()
            .args(["trace", "-e", "openat,clock_nanosleep", "--", "sleep", "30"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Signalled once sleep is in the call the trace must show.
        command_in_syscall(child.id(), NR_CLOCK_NANOSLEEP);
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .unwrap()
            .success());
        let started = Instant::now();
        let out = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "SIG{sig}: ftr stopped promptly"
        );
        // sleep got the signal too and died of it.
        assert_eq!(out.status.code(), Some(128 + num), "SIG{sig}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("clock_nanosleep("),
            "SIG{sig}: the interrupted sleep is shown: {text}"
        );
        assert_same(&before, &format!("SIG{sig}"));
    }
}

/// The pid of the guardian ftr `pid` started, from its journal.
fn guardian_of(pid: u32) -> Option<i32> {
    let journal = fs::read_to_string(format!("/run/ftr/{pid}")).ok()?;
    journal
        .lines()
        .find_map(|l| l.strip_prefix("guardian ")?.parse().ok())
}

/// Polls `cond` until it holds or `limit` passes (bounds are generous: CI
/// machines are loaded); whether it held.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if started.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The pids whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                // `pid (comm) S ppid ...`
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|ppid| ppid.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// x86_64's clock_nanosleep, where `sleep 30` waits.
const NR_CLOCK_NANOSLEEP: u32 = 230;

/// Waits until the command ftr `pid` runs is blocked in syscall `nr` (ftr
/// releases it from its gate once tracing is armed); returns its pid.
fn command_in_syscall(pid: u32, nr: u32) -> u32 {
    let mut found = None;
    let blocked = wait_until(Duration::from_secs(30), || {
        found = children_of(pid).into_iter().find(|c| {
            fs::read_to_string(format!("/proc/{c}/syscall"))
                .is_ok_and(|s| s.split(' ').next() == Some(&nr.to_string()))
        });
        found.is_some()
    });
    assert!(blocked, "ftr {pid}'s command never reached syscall {nr}");
    found.unwrap_or_default()
}

/// SIGKILL to a process of this test's own.
fn kill_9(pid: impl std::fmt::Display) {
    // (It may have ended already.)
    let _ = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Waits up to `limit` for tracefs to be as `before`; how long it took.
fn back_within(before: &BTreeMap<String, String>, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if snapshot() == *before {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn kill_9_at_any_moment_is_undone_by_the_guardian() {
    let _g = tracing_machine();
    let before = snapshot();
    kill_9_then(|ms| {
        // No `ftr reset`: the guardian alone puts everything back.
        assert!(
            back_within(&before, Duration::from_secs(10)).is_some(),
            "kill -9 after {ms} ms: tracefs not back within 10 s"
        );
    });
    assert_same(&before, "kill -9 at many moments");
}

/// Kills `ftr trace` with SIGKILL at many moments (set-up, tracing, the
/// restore after the command's end at about 150 ms) and runs `then` at once,
/// while the guardian may still be putting tracefs back.
fn kill_9_then(mut then: impl FnMut(u64)) {
    let moments = (0..12).map(|i| i * 3).chain((40..=240).step_by(10));
    for ms in moments {
        let mut child = quiet_ftr(&[
            "trace",
            "-e",
            "write,openat",
            "--",
            "sh",
            "-c",
            "sleep 0.15",
        ]);
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill();
        let _ = child.wait();
        then(ms);
    }
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn reset_right_after_kill_9_returns_with_everything_back() {
    let _g = tracing_machine();
    let before = snapshot();
    let mut waited = 0;
    kill_9_then(|ms| {
        let (code, out, err) = run(ftr().arg("reset"));
        assert_eq!(code, 0, "{err}");
        // As reset returns, not after a grace period: the guardian's restore
        // under way was waited for.
        let now = snapshot();
        assert_eq!(now, before, "kill -9 after {ms} ms, then reset: {out}");
        waited += out
            .lines()
            .filter(|l| l.starts_with("restored by the guardian of ftr "))
            .count();
    });
    // The guardian takes a few ms to remove the instance (RCU): some of the
    // resets came while it was at it, and said so.
    assert!(waited > 0, "no reset met a guardian at work");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn a_new_ftr_right_after_kill_9_finds_tracefs_as_before() {
    let _g = tracing_machine();
    let before = snapshot();
    kill_9_then(|ms| {
        let (code, out, err) = run(ftr().args(["trace", "-e", "openat", "--", "true"]));
        assert_eq!(code, 0, "kill -9 after {ms} ms, then ftr: {err}");
        assert!(out.contains("openat("), "{out}");
        assert_same(&before, &format!("kill -9 after {ms} ms, then a new ftr"));
    });
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn kill_9_of_ftr_and_its_guardian_then_reset_restores() {
    let _g = tracing_machine();
    let before = snapshot();
    let mut child = quiet_ftr(&["trace", "-e", "openat", "--", "sleep", "30"]);
    let sleep = command_in_syscall(child.id(), NR_CLOCK_NANOSLEEP);
    let inst = Path::new(T).join(format!("instances/ftr-{}", child.id()));
    assert!(inst.exists(), "tracing in its own instance");
    // A running ftr's changes are its own: reset names it and waits for
    // nothing.
    let asked = Instant::now();
    let (code, out, err) = run(ftr().arg("reset"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("ftr {} is running", child.id())),
        "{out}"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "reset waited for a live ftr"
    );
    assert!(inst.exists(), "reset left a running ftr's instance alone");
    let guardian = guardian_of(child.id()).expect("the journal names its guardian");
    kill_9(guardian);
    assert!(
        wait_until(Duration::from_secs(30), || !Path::new(&format!(
            "/proc/{guardian}"
        ))
        .exists()),
        "the guardian {guardian} died"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        inst.exists(),
        "with its guardian gone too, SIGKILL leaves it behind"
    );
    let (code, out, err) = run(ftr().arg("reset"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("restored what ftr (pid {})", child.id())),
        "{out}"
    );
    kill_9(sleep);
    assert_same(&before, "kill -9 + reset");
}

/// Another tool's probe in `dynamic_events`, removed again on drop.
struct OtherProbe(&'static str);

impl OtherProbe {
    /// A uprobe (kprobes and event probes are not on every test kernel).
    fn add(name: &'static str) -> OtherProbe {
        let line = format!("p:{name} /bin/true:0x1000\n");
        fs::OpenOptions::new()
            .append(true)
            .open(Path::new(T).join("dynamic_events"))
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .expect("add a uprobe to dynamic_events");
        OtherProbe(name)
    }
}

impl Drop for OtherProbe {
    fn drop(&mut self) {
        let _ = fs::OpenOptions::new()
            .append(true)
            .open(Path::new(T).join("dynamic_events"))
            .and_then(|mut f| f.write_all(format!("-:{}\n", self.0).as_bytes()));
    }
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn another_tools_probe_survives_every_way_out() {
    let _g = tracing_machine();
    let _probe = OtherProbe::add("othertool/ftrtest");
    let before = snapshot();
    assert!(
        before["dynamic_events"].contains("othertool/ftrtest"),
        "{before:?}"
    );
    let trace = ["trace", "-e", "openat"];
    // A normal end, a failing command, a command that is not there.
    for cmd in [&["true"][..], &["false"], &["/nonexistent"]] {
        run(ftr().args(trace).arg("--").args(cmd));
        assert_same(&before, &format!("{cmd:?}"));
    }
    // A signal, a kill -9 (the guardian), a kill -9 of both then reset.
    for how in ["INT", "KILL", "KILL both"] {
        let mut child = quiet_ftr(&["trace", "-e", "openat", "--", "sleep", "30"]);
        let sleep = command_in_syscall(child.id(), NR_CLOCK_NANOSLEEP);
        if how == "KILL both" {
            let guardian = guardian_of(child.id()).expect("guardian");
            kill_9(guardian);
            wait_until(Duration::from_secs(30), || {
                !Path::new(&format!("/proc/{guardian}")).exists()
            });
        }
        let sig = how.split(' ').next().unwrap();
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &child.id().to_string()])
            .status();
        let _ = child.wait();
        kill_9(sleep);
        if how == "KILL both" {
            run(ftr().arg("reset"));
        }
        back_within(&before, Duration::from_secs(1));
        assert_same(&before, how);
    }
    if cfg!(feature = "test-hooks") {
        run(ftr()
            .env("FTR_TEST_PANIC", "1")
            .args(trace)
            .args(["--", "true"]));
        assert_same(&before, "panic");
    }
}

/// Writes a journal as a dead ftr with this (impossible) pid would have.
fn fake_journal(pid: u32, text: &str) -> PathBuf {
    let _ = fs::create_dir_all("/run/ftr");
    let path = PathBuf::from(format!("/run/ftr/{pid}"));
    fs::write(&path, text).expect("write a journal");
    path
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn reset_replays_only_what_it_may() {
    let _g = tracing_machine();
    let _other = OtherProbe::add("othertool/ftrtest2");
    let before = snapshot();
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let boot = boot.trim();
    let victim = tmpdir("victim").join("file");
    fs::write(&victim, "untouched").unwrap();
    // ftr's own probe, as a killed run that added a line would leave it.
    let ours = OtherProbe::add("ftr_999999904/up");
    let journals = [
        // A format this ftr cannot read: reported and left alone.
        fake_journal(999999901, "ftr-journal 99 999999901\nknob tracing_on 0\n"),
        // Another boot: reported, removed, never replayed.
        fake_journal(
            999999902,
            &format!("ftr-journal 2 999999902\nboot not-{boot}\ntracefs {T}\nknob tracing_on 0\n"),
        ),
        // Paths outside tracefs: refused.
        fake_journal(
            999999903,
            &format!(
                "ftr-journal 2 999999903\nboot {boot}\ntracefs {T}\nknob ../../..{} x\nknob {} x\n",
                victim.display(),
                victim.display()
            ),
        ),
        // A line ftr added to dynamic_events: only that line goes.
        fake_journal(
            999999904,
            &format!(
                "ftr-journal 2 999999904\nboot {boot}\ntracefs {T}\n\
                 line dynamic_events p:ftr_999999904/up\\s/bin/true:0x1000 -:ftr_999999904/up\n"
            ),
        ),
        // A root that is not tracefs: nothing written there, kept for later.
        fake_journal(
            999999905,
            &format!(
                "ftr-journal 2 999999905\nboot {boot}\ntracefs {}\nknob file x\n",
                victim.parent().unwrap().display()
            ),
        ),
    ];
    let (code, out, err) = run(ftr().arg("reset"));
    let kept: Vec<bool> = journals.iter().map(|j| j.exists()).collect();
    for j in &journals {
        let _ = fs::remove_file(j);
    }
    drop(ours);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kept, [true, false, false, false, true], "{out}");
    assert!(
        out.contains("journal of format 99") && out.contains("ftr reset"),
        "{out}"
    );
    assert!(out.contains("from another boot"), "{out}");
    assert_eq!(
        out.matches("names a path outside tracefs").count(),
        2,
        "{out}"
    );
    assert!(out.contains("is not a mounted tracefs"), "{out}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched");
    let probes = fs::read_to_string(Path::new(T).join("dynamic_events")).unwrap();
    assert!(
        !probes.contains("ftr_999999904"),
        "ftr's own probe removed: {probes}"
    );
    assert!(
        probes.contains("othertool/ftrtest2"),
        "the other one kept: {probes}"
    );
    assert_same(&before, "reset of odd journals");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn reset_removes_dead_ftr_instances_and_nothing_else() {
    let _g = tracing_machine();
    let before = snapshot();
    let instances = Path::new(T).join("instances");
    let dead = instances.join("ftr-999999999"); // above any pid_max
    let other = instances.join(format!("othertool-{}", std::process::id()));
    fs::create_dir(&dead).unwrap();
    fs::create_dir(&other).unwrap();
    let (code, out, err) = run(ftr().arg("reset"));
    let dead_gone = !dead.exists();
    let other_kept = other.exists();
    let _ = fs::remove_dir(&dead);
    let _ = fs::remove_dir(&other);
    assert_eq!(code, 0, "{err}");
    assert!(
        dead_gone,
        "an ftr instance without a live owner is removed: {out}"
    );
    assert!(other_kept, "another tool's instance is left alone");
    assert!(out.contains("removed instance ftr-999999999"), "{out}");
    assert_same(&before, "reset");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn file_names_or_one_line_saying_why_not() {
    let _g = tracing_machine();
    let before = snapshot();
    let other = OtherProbe::add("othertool/probe_true");
    let with_other = snapshot();
    let (code, out, err) = run(ftr().args(["trace", "-e", "openat", "--", "cat", "/etc/hostname"]));
    assert_eq!(code, 0, "{err}");
    let refused = err
        .lines()
        .filter(|l| l.starts_with("ftr: strings are not shown: this kernel refuses event probes"))
        .count();
    let opens: Vec<&str> = out.lines().filter(|l| l.contains(" openat(")).collect();
    assert!(!opens.is_empty(), "{out}");
    if refused == 1 {
        // This machine's 6.18: every `e:` line answers EINVAL. Pointers,
        // and everything else as always.
        assert!(err.contains("Invalid argument"), "{err}");
        assert!(opens.iter().all(|l| l.contains("filename: 0x")), "{out}");
    } else {
        // A kernel with event probes: the file cat opens, by name.
        assert_eq!(refused, 0, "{err}");
        assert!(
            opens
                .iter()
                .any(|l| l.contains(r#"filename: "/etc/hostname""#)),
            "{out}"
        );
    }
    assert!(
        err.contains("ftr: 1 syscalls traced") || err.contains(" syscalls traced, 0 events lost"),
        "{err}"
    );
    assert_same(&with_other, "trace with another tool's probe");
    // --no-strings does not try.
    let (code, out, err) = run(ftr().args([
        "trace",
        "--no-strings",
        "-e",
        "openat",
        "--",
        "cat",
        "/etc/hostname",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("strings are not shown"), "{err}");
    assert!(out.contains("filename: 0x"), "{out}");
    assert_same(&with_other, "--no-strings");
    drop(other);
    assert_same(&before, "the other tool's probe removed");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn attached_descriptors_show_their_files() {
    let _g = tracing_machine();
    let before = snapshot();
    // A shell holding /etc/hostname on fd 3 that reads it through fd 0,
    // over and over: `read x <&3` is a dup2(3, 0), a read, and back.
    let mut shell = Command::new("sh")
        .args([
            "-c",
            "exec 3</etc/hostname; while :; do read x <&3; sleep 0.05; done",
        ])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let fd3 = format!("/proc/{}/fd/3", shell.id());
    assert!(
        wait_until(Duration::from_secs(30), || Path::new(&fd3).exists()),
        "the shell opened fd 3"
    );
    let (code, out, err) = run(ftr().args([
        "trace",
        "-e",
        "read,dup2,fcntl,close",
        "--timeout",
        "0.5",
        "-p",
        &shell.id().to_string(),
    ]));
    let _ = shell.kill();
    let _ = shell.wait();
    assert_eq!(code, 0, "{err}");
    // What /proc/PID/fd said once at the start, then followed through
    // the dups: fd 3 is the file; fd 0 is it after the dup2, not before.
    let dup = out
        .lines()
        .find(|l| l.contains(" dup2(oldfd: 3</etc/hostname>, newfd: 0"))
        .unwrap_or_else(|| panic!("a dup2 of fd 3 in:\n{out}"));
    assert!(dup.ends_with(") = 0</etc/hostname>"), "{dup}");
    assert!(!dup.contains("newfd: 0</etc/hostname>"), "{dup}");
    assert!(
        out.lines()
            .any(|l| l.contains(" read(fd: 0</etc/hostname>, ")),
        "{out}"
    );
    assert_same(&before, "attach");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn osnoise_without_the_tracer_is_one_line_and_changes_nothing() {
    let _g = tracing_machine();
    let before = snapshot();
    let tracers = fs::read_to_string(Path::new(T).join("available_tracers")).unwrap();
    for (mode, tracer) in [("osnoise", "osnoise"), ("timerlat", "timerlat")] {
        let (code, out, err) = run(ftr().args([mode, "-d", "1", "--cpus", "0"]));
        if tracers.split_whitespace().any(|t| t == tracer) {
            // A kernel that has it: one second of CPU 0, and its table.
            assert_eq!(code, 0, "{err}");
            assert!(out.contains("\n  0 "), "CPU 0's row: {out}");
        } else {
            // This machine's 6.18 has neither.
            assert_eq!(code, 125, "{err}");
            assert_eq!(err.lines().count(), 1, "one line: {err}");
            assert!(
                err.contains(&format!("this kernel has no {tracer} tracer"))
                    && err.contains("CONFIG_")
                    && err.contains("linux-image-rt-amd64"),
                "{err}"
            );
        }
        assert_same(&before, mode);
    }
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn reset_removes_a_dead_ftrs_probes_and_no_other() {
    let _g = tracing_machine();
    let before = snapshot();
    let other = OtherProbe::add("othertool/probe_true");
    let with_other = snapshot();
    // What a dead ftr (pid above any pid_max) left in its group, should
    // its journal be gone: a uprobe stands in for its event probe.
    let _dead = OtherProbe::add("ftr_999999999/probe_true");
    assert_ne!(snapshot(), with_other);
    let (code, out, err) = run(ftr().arg("reset"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("removed event probe ftr_999999999/probe_true of a dead ftr"),
        "{out}"
    );
    assert_same(&with_other, "reset");
    drop(other);
    assert_same(&before, "the other tool's probe removed");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn a_panic_restores() {
    if !cfg!(feature = "test-hooks") {
        panic!("FTR_TEST_PANIC needs a build with --features test-hooks");
    }
    let _g = tracing_machine();
    let before = snapshot();
    let (code, _, err) = run(ftr()
        .env("FTR_TEST_PANIC", "1")
        .args(["trace", "-e", "openat", "--", "true"]));
    assert_eq!(code, 101, "{err}");
    assert!(err.contains("FTR_TEST_PANIC"), "{err}");
    assert_same(&before, "panic");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn system_wide_with_a_command_leaves_ftr_out() {
    let _g = tracing_machine();
    let before = snapshot();
    let child = ftr()
        .args([
            "trace",
            "-a",
            "-e",
            "read,openat",
            "--",
            "sh",
            "-c",
            "cat /etc/hostname; sleep 0.3",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let me = format!("/{} ", child.id());
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(text.contains("): cat/"), "the command is traced: {text}");
    assert!(
        !text.lines().any(|l| l.contains(&me)),
        "ftr's own reads are left out: {text}"
    );
    assert_same(&before, "-a with a command");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn attaches_to_a_running_process() {
    let _g = tracing_machine();
    let before = snapshot();
    let mut target = Command::new("sh")
        .args([
            "-c",
            "while :; do cat /etc/hostname >/dev/null; sleep 0.05; done",
        ])
        .spawn()
        .unwrap();
    let (code, out, err) = run(ftr().args([
        "trace",
        "-e",
        "wait4,clone*",
        "-p",
        &target.id().to_string(),
        "--timeout",
        "0.5",
    ]));
    target.kill().unwrap();
    target.wait().unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("): sh/{} ", target.id())), "{out}");
    assert!(out.contains("wait4("), "{out}");
    assert_same(&before, "-p");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn output_file_has_no_color_and_user_option_works() {
    let _g = tracing_machine();
    let before = snapshot();
    let dir = tmpdir("o");
    let file = dir.join("trace.txt");
    let (code, out, _) = run(ftr().env("CLICOLOR_FORCE", "1").args([
        "trace",
        "-e",
        "getuid,geteuid",
        "-o",
        file.to_str().unwrap(),
        "-u",
        "nobody",
        "--",
        "id",
        "-u",
    ]));
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "65534", "the command ran as nobody");
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("getuid()") || text.contains("geteuid()"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no color in -o files");
    let (_, colored, _) = run(ftr().args([
        "trace",
        "--color=always",
        "-e",
        "openat",
        "--",
        "cat",
        "/nonexistent",
    ]));
    assert!(
        colored.contains("\x1b[1;31m-1 ENOENT"),
        "errors in red: {colored:?}"
    );
    let (_, plain, _) = run(ftr()
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1")
        .args(["trace", "-e", "openat", "--", "true"]));
    assert!(!plain.contains('\x1b'), "NO_COLOR wins");
    assert_same(&before, "-o and -u");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn lost_events_are_counted_and_shown() {
    let _g = tracing_machine();
    let before = snapshot();
    // A tiny buffer and a burst of syscalls: the kernel must drop some.
    let (code, out, err) = run(ftr().args([
        "trace",
        "-e",
        "read,write",
        "-m",
        "4K",
        "--",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=1",
        "count=300000",
    ]));
    assert_eq!(code, 0, "{err}");
    let lost: u64 = err
        .split(", ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect(&err);
    assert!(lost > 0, "events were lost and counted: {err}");
    assert!(out.contains("LOST "), "and shown where they happened");
    assert_same(&before, "lost events");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn mounts_tracefs_when_missing_and_unmounts_it_after() {
    let _g = tracing_machine();
    let before = snapshot();
    let ftr = env!("CARGO_BIN_EXE_ftr");
    let script = format!(
        "umount {T} && ! grep -q ' {T} tracefs' /proc/mounts && {ftr} trace -e openat -- true >/dev/null 2>&1; \
         echo status=$?; i=0; while grep -q ' {T} tracefs' /proc/mounts && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; \
         {ftr} reset; echo reset=$? $(grep -c ' {T} tracefs' /proc/mounts); \
         grep -c ' {T} tracefs' /proc/mounts"
    );
    let (_, out, err) =
        run(Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]));
    assert!(out.contains("status=0"), "{out} {err}");
    // `ftr reset` mounts it to look, and unmounts it before it returns.
    assert!(out.contains("reset=0 0\n"), "{out} {err}");
    // ftr mounted it in that namespace, and unmounted it at the end (its
    // clean-up child does, once the instance is gone: the script waited).
    assert_eq!(
        out.lines().last(),
        Some("0"),
        "tracefs left mounted: {out} {err}"
    );
    // (assert_same waits for the detached clean-up child.)
    assert_same(&before, "unmounted tracefs");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn pager_quit_stops_tracing_fast_and_restores() {
    let _g = tracing_machine();
    let before = snapshot();
    let dir = tmpdir("pager");
    let log = dir.join("pager.log");
    let pager = dir.join("fakepager");
    // Reads one line, then quits, as a user pressing q would.
    fs::write(
        &pager,
        format!("#!/bin/sh\nhead -n 1 > {}\n", log.display()),
    )
    .unwrap();
    Command::new("chmod")
        .args(["+x", pager.to_str().unwrap()])
        .status()
        .unwrap();
    let ftr = env!("CARGO_BIN_EXE_ftr");
    let started = Instant::now();
    // `script` gives ftr a terminal, so it pages.
    let cmd = format!("FTR_PAGER={} {ftr} trace -e openat,clock_nanosleep -- sh -c 'while :; do cat /etc/hostname >/dev/null; sleep 0.01; done'", pager.display());
    need(&["script"]);
    let (_, _, _) = run(Command::new("timeout").args(["20", "script", "-qec", &cmd, "/dev/null"]));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "quitting the pager ends ftr"
    );
    let seen = fs::read_to_string(&log).unwrap_or_default();
    assert!(seen.contains("): "), "the pager got the trace: {seen:?}");
    assert_same(&before, "pager quit");
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn pager_only_on_a_terminal() {
    let _g = tracing_machine();
    let before = snapshot();
    let dir = tmpdir("pager2");
    let log = dir.join("pager.log");
    let pager = dir.join("fakepager");
    fs::write(
        &pager,
        format!(
            "#!/bin/sh\necho LESS=$LESS > {0}\ncat >> {0}\n",
            log.display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .args(["+x", pager.to_str().unwrap()])
        .status()
        .unwrap();
    // Not a terminal: no pager.
    let (_, out, _) = run(ftr()
        .env("FTR_PAGER", &pager)
        .args(["trace", "-e", "openat", "--", "true"]));
    assert!(out.contains("openat("));
    assert!(!log.exists(), "no pager when stdout is not a terminal");
    // A terminal: the pager gets everything, with LESS=FRX.
    let ftr = env!("CARGO_BIN_EXE_ftr");
    let cmd = format!(
        "env -u LESS FTR_PAGER={} {ftr} trace -e openat -- true",
        pager.display()
    );
    run(Command::new("timeout").args(["20", "script", "-qec", &cmd, "/dev/null"]));
    let seen = fs::read_to_string(&log).unwrap_or_default();
    assert!(seen.starts_with("LESS=FRX"), "{seen}");
    assert!(
        seen.contains("\x1b[1mopenat\x1b[0m("),
        "colored, decided before the pager took stdout: {seen}"
    );
    assert_same(&before, "pager on a tty");
}

/// `ftr report` needs no tracefs: every real capture comes back byte for
/// byte without color, and with color once the escapes are removed.
#[test]
fn report_renders_saved_traces_exactly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graph");
    let mut seen = 0;
    for entry in fs::read_dir(&dir).expect("fixtures").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let mut want = fs::read(&path).unwrap();
        if !want.ends_with(b"\n") {
            want.push(b'\n');
        }
        let plain = ftr().arg("report").arg(&path).output().unwrap();
        assert_eq!(plain.status.code(), Some(0), "{}", path.display());
        assert!(
            plain.stdout == want,
            "{}: plain output differs",
            path.display()
        );
        let color = ftr()
            .args(["report", "--color=always"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            color.stdout.len() > want.len(),
            "{}: no color",
            path.display()
        );
        assert!(
            strip_sgr(&color.stdout) == want,
            "{}: color changed the text",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 30, "fixtures: {seen}");
    // from standard input too
    let file = dir.join("6.1-pwritev2-depth4.txt");
    let mut child = ftr()
        .args(["report", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let text = fs::read(&file).unwrap();
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.stdout == text, "report - reads standard input");
    let (code, _, err) = run(ftr().args(["report", "/nonexistent/trace.txt"]));
    assert_eq!(code, 125);
    assert!(
        err.contains("/nonexistent/trace.txt: cannot open it"),
        "{err}"
    );
    // no file and a terminal for input: say what to give instead of waiting
    let out = Command::new("script")
        .args([
            "-qec",
            concat!(env!("CARGO_BIN_EXE_ftr"), " report"),
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("give a trace FILE"), "{text}");
    assert_eq!(out.status.code(), Some(125), "{text}");
}

/// Errno return values: the graph itself stays the kernel's bytes and the
/// names come in a table at the end (stderr); `--errno-names` puts them
/// inline instead of leaving the graph as the kernel wrote it.
#[test]
fn report_names_errno_return_values() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/retval/reference-retval.txt");
    let text = fs::read_to_string(&file).unwrap();
    let out = ftr().arg("report").arg(&file).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), text);
    let err = String::from_utf8_lossy(&out.stderr);
    let rows: Vec<Vec<&str>> = err
        .lines()
        .skip_while(|l| !l.contains("errno return values"))
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["2", "load_misc_binary", "-8", "ENOEXEC"],
            vec!["1", "__kmalloc", "-12", "ENOMEM"],
            vec!["1", "cpu_cgroup_can_attach", "-22", "EINVAL"],
            vec!["1", "do_sys_openat2", "-512", "ERESTARTSYS"],
        ],
        "{err}"
    );
    let out = ftr()
        .args(["report", "--errno-names"])
        .arg(&file)
        .output()
        .unwrap();
    let named = String::from_utf8_lossy(&out.stdout);
    for want in [
        "} /* cpu_cgroup_can_attach = -22 EINVAL */",
        "} /* load_misc_binary ret=-8 ENOEXEC */",
        "__kmalloc(); /* ret=0xfffffffffffffff4 ENOMEM */",
        "} /* do_sys_openat2 ret=-512 ERESTARTSYS */",
        "} /* __x64_sys_dup2 ret=0x1 */",
        "/* = 0xffff93fcfd346c00 */",
    ] {
        assert!(named.contains(want), "{want:?} in {named}");
    }
    // the names are all that was added
    let mut back = named.to_string();
    for name in [" EINVAL", " ENOEXEC", " ENOMEM", " ERESTARTSYS"] {
        back = back.replace(name, "");
    }
    assert_eq!(back, text);
}

#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn list_syscalls() {
    let _g = tracing_machine();
    let (code, out, _) = run(ftr().args(["list", "syscalls", "pwrite*"]));
    assert_eq!(code, 0);
    assert!(out.lines().any(|l| l == "pwritev2"), "{out}");
    assert!(out.lines().all(|l| l.starts_with("pwrite")), "{out}");
}

/// Every option the parser accepts, read from its source.
fn parser_options() -> Vec<String> {
    let src = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/cli/mod.rs")).unwrap();
    let mut opts = Vec::new();
    for line in src.lines().filter(|l| {
        let l = l.trim_start();
        (l.starts_with('"') || l.starts_with("(\"")) && l.contains("=>")
    }) {
        // `"a" | "b" => …`, or `("a" | "b", Mode) => …` where the options
        // depend on the mode.
        let arms = line.split("=>").next().unwrap().trim_start();
        let arms = match arms.strip_prefix('(') {
            Some(tuple) => tuple.split(',').next().unwrap(),
            None => arms,
        };
        for part in arms.split('|') {
            let name = part.trim().trim_matches('"');
            if name.is_empty() || name.contains(' ') || !part.trim().starts_with('"') {
                continue;
            }
            // Mode and value names are not options.
            let values = [
                "trace",
                "osnoise",
                "timerlat",
                "graph",
                "report",
                "list",
                "reset",
                "help",
                "auto",
                "always",
                "never",
                "syscalls",
                "events",
                "tracers",
                "functions",
                "depth",
                "thresh",
                "nosleep-time",
                "noirqs",
                "tail",
                "verbose",
                "retval",
                "retval-hex",
                "retaddr",
                "args",
                "function_graph",
                "function",
                "-h",
                "--help",
                "-V",
                "--version",
            ];
            if values.contains(&name) {
                continue;
            }
            opts.push(if name.chars().count() == 1 {
                format!("-{name}")
            } else {
                format!("--{name}")
            });
        }
    }
    opts.sort();
    opts.dedup();
    opts
}

/// The options a text names: its words that start with `-`, cut where a
/// value or punctuation follows (`--color=WHEN`, `-p,`, `[-a]`).
fn named_options(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| c.is_whitespace() || ",=[]()|`'\"".contains(c))
        .map(|w| w.trim_end_matches(['.', ':', ';']))
        .filter(|w| w.len() > 1 && w.starts_with('-') && !w.starts_with("---"))
        .map(String::from)
        .collect()
}

/// The options of `opts` that `text` does not name, exactly (`--pid` does
/// not stand for `-p`).
fn undocumented(opts: &[String], text: &str) -> Vec<String> {
    let named = named_options(text);
    opts.iter()
        .filter(|o| !named.contains(o.as_str()))
        .cloned()
        .collect()
}

#[test]
fn every_option_is_documented_in_help_and_man() {
    need(&["groff", "man", "col"]);
    let opts: Vec<String> = parser_options()
        .into_iter()
        .filter(|o| o != "--colour" && o != "--expr") // spelling aliases
        .collect();
    assert!(opts.len() > 25, "found the parser's options: {opts:?}");
    let (_, help, _) = run(ftr().arg("--help"));
    let man = Command::new("sh")
        .args([
            "-c",
            concat!(
                "MANWIDTH=200 man -l ",
                env!("CARGO_MANIFEST_DIR"),
                "/man/ftr.1 | col -b"
            ),
        ])
        .output()
        .unwrap();
    let man = String::from_utf8_lossy(&man.stdout);
    assert!(
        man.contains("ftr"),
        "the man page renders (needs man, groff and col: apt-get install man-db groff-base bsdextrautils)"
    );
    assert_eq!(
        undocumented(&opts, &help),
        Vec::<String>::new(),
        "missing from --help"
    );
    assert_eq!(
        undocumented(&opts, &man),
        Vec::<String>::new(),
        "missing from man/ftr.1"
    );
    // The check is exact: without the lines that name an option, that
    // option is reported (`-p` is not found inside `--pid`).
    for opt in &opts {
        let without: String = help
            .lines()
            .filter(|l| !named_options(l).contains(opt.as_str()))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            undocumented(std::slice::from_ref(opt), &without),
            vec![opt.clone()],
            "{opt}: deleting its help lines goes unnoticed"
        );
    }
    let warn = Command::new("groff")
        .args([
            "-man",
            "-ww",
            "-z",
            concat!(env!("CARGO_MANIFEST_DIR"), "/man/ftr.1"),
        ])
        .output()
        .unwrap();
    assert!(
        warn.stderr.is_empty(),
        "groff warnings: {}",
        String::from_utf8_lossy(&warn.stderr)
    );
}

#[test]
fn help_to_a_closed_pipe_is_fine() {
    let mut child = ftr().arg("--help").stdout(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let _ = std::io::stderr().flush();
}

/// ftr in a real terminal (tmux, `cols`x`rows`), paging through the real
/// `less`; `shell` is the rest of ftr's command line, as sh reads it.
/// ftr's exit status lands in a file once it ends.
struct Terminal {
    session: String,
    status: PathBuf,
}

impl Terminal {
    fn start(name: &str, cols: u16, rows: u16, shell: &str) -> Terminal {
        need(&["tmux", "less"]);
        let status = tmpdir(name).join("status");
        let session = format!("ftr-test-{name}-{}", std::process::id());
        let cmd = format!(
            "env -u LESS -u PAGER -u FTR_PAGER {} {shell}; echo $? > {}",
            env!("CARGO_BIN_EXE_ftr"),
            status.display()
        );
        let (cols, rows) = (cols.to_string(), rows.to_string());
        Terminal::tmux(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            &cols,
            "-y",
            &rows,
            &cmd,
        ]);
        Terminal { session, status }
    }

    fn tmux(args: &[&str]) -> Output {
        Command::new("tmux").args(args).output().expect("tmux")
    }

    fn screen(&self) -> String {
        let shown = Terminal::tmux(&["capture-pane", "-t", &self.session, "-p"]);
        String::from_utf8_lossy(&shown.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        Terminal::tmux(&["send-keys", "-t", &self.session, keys]);
    }

    /// ftr's exit status, once it has ended (waiting up to `limit`).
    fn status(&self, limit: Duration) -> Option<String> {
        let started = Instant::now();
        while !self.status.exists() && started.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(20));
        }
        fs::read_to_string(&self.status)
            .ok()
            .map(|s| s.trim().to_string())
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        Terminal::tmux(&["kill-session", "-t", &self.session]);
    }
}

/// Ctrl-C while the trace is shown in the real `less` (in a tmux terminal):
/// tracing stops and tracefs is restored at once, the user stays in less,
/// and `q` then ends ftr with the command's status.
#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn ctrl_c_in_less_restores_at_once_and_keeps_less_open() {
    let _g = tracing_machine();
    let before = snapshot();
    let term = Terminal::start(
        "tmux",
        160,
        40,
        "trace -e openat,clock_nanosleep -- sh -c 'while :; do cat /etc/hostname >/dev/null; sleep 0.2; done'",
    );
    let ours = || {
        fs::read_dir(Path::new(T).join("instances"))
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("ftr-"))
            })
            .unwrap_or(false)
    };
    assert!(wait_until(Duration::from_secs(30), ours), "ftr started");
    let mut screen = String::new();
    wait_until(Duration::from_secs(30), || {
        screen = term.screen();
        screen.contains("openat(")
    });
    assert!(screen.contains("openat("), "less shows the trace: {screen}");
    term.keys("C-c");
    let pressed = Instant::now();
    wait_for_cleanup();
    assert!(
        pressed.elapsed() < Duration::from_secs(1),
        "restored within a second of Ctrl-C"
    );
    let during = snapshot();
    assert_eq!(during, before, "tracefs restored while less is still open");
    assert_eq!(
        term.status(Duration::ZERO),
        None,
        "ftr waits for the user to leave less"
    );
    term.keys("q");
    assert_eq!(
        term.status(Duration::from_secs(5)).as_deref(),
        Some("130"),
        "the command died of SIGINT, and that is ftr's status"
    );
    drop(term);
    assert_same(&before, "Ctrl-C in less");
}

/// A trace that finds nothing at first (coreutils sleep uses
/// clock_nanosleep, not nanosleep): less has no screen to show and reads no
/// key. ftr's first line on the pager says what is traced, and `q` ends it
/// within a second; the line goes to the terminal only.
#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn q_in_an_empty_pager_ends_the_trace() {
    let _g = tracing_machine();
    let before = snapshot();
    let saved = tmpdir("empty-saved").join("saved.txt");
    let term = Terminal::start(
        "empty",
        120,
        30,
        "trace -e nanosleep -- sh -c 'while :; do sleep 0.01; done'",
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut screen = String::new();
    while !screen.contains("ftr: tracing") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        screen = term.screen();
    }
    // The traced shell loop, to end it by its pid once ftr is gone (q ends
    // ftr, not the command). Only this test's ftr runs it: tests that trace
    // take turns.
    let looping = |pid: &u32| {
        fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c == b"sh\0-c\0while :; do sleep 0.01; done\0")
    };
    let mut shell = None;
    wait_until(Duration::from_secs(30), || {
        shell = fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| looping(pid));
        shell.is_some()
    });
    std::thread::sleep(Duration::from_millis(300));
    term.keys("q");
    let pressed = Instant::now();
    let status = term.status(Duration::from_secs(3));
    let took = pressed.elapsed();
    drop(term);
    let shell = shell.expect("the traced shell loop runs");
    kill_9(shell);
    assert!(
        screen.contains("ftr: tracing nanosleep for `sh -c while :; do sleep 0.01; done`; q quits"),
        "the screen says what is traced: {screen}"
    );
    assert!(
        status.is_some() && took < Duration::from_secs(1),
        "q ended ftr within a second ({took:?})"
    );
    // The same trace to a file or a pipe has no such line.
    let (_, out, _) = run(ftr().args(["trace", "-e", "nanosleep", "--", "true"]));
    run(ftr()
        .args(["trace", "-e", "nanosleep", "-o"])
        .arg(&saved)
        .args(["--", "true"]));
    assert!(!out.contains("ftr: tracing"), "{out}");
    assert!(!fs::read_to_string(&saved).unwrap().contains("ftr: tracing"));
    assert_same(&before, "q in an empty pager");
}

/// Each message ftr prints is one write(2): the closing line was six.
#[test]
#[ignore = "traces this machine's kernel: needs root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn messages_are_written_whole() {
    let _g = tracing_machine();
    let before = snapshot();
    need(&["strace"]);
    let log = tmpdir("strace").join("log");
    let out = Command::new("strace")
        .args(["-o"])
        .arg(&log)
        .args(["-s", "200", "-e", "trace=write", "-e", "signal=none", "-qq"])
        .arg(env!("CARGO_BIN_EXE_ftr"))
        .args(["trace", "-e", "write", "--", "true"])
        .output()
        .expect("strace is needed for this test (apt-get install strace)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = fs::read_to_string(&log).unwrap();
    let to_stderr: Vec<&str> = log.lines().filter(|l| l.starts_with("write(2,")).collect();
    assert_eq!(
        to_stderr.len(),
        1,
        "the closing line in one write: {to_stderr:?}"
    );
    assert!(
        to_stderr[0].contains("ftr: 0 syscalls traced, 0 events lost\\n"),
        "{log}"
    );
    assert_same(&before, "strace");
}
