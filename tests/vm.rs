//! ftr on real stock kernels: boots Debian's 6.1, 6.12 and 7.2 kernels under
//! qemu (tests/vm/), one boot each, runs tests/vm/guest/graph.sh and
//! strings.sh there with a static ftr, and checks what came back: the graph
//! against perf ftrace's for the same workload, each option's documented
//! effect, `ftr trace`'s strings, and that tracefs is as it was after every
//! way out. The PREEMPT_RT 6.1 and 7.2 kernels run noise.sh (osnoise,
//! timerlat).
//!
//! Slow (a few minutes) and needs root, qemu and the Debian kernels, which
//! tests/vm/kernels.sh installs and fetches; so these tests are `#[ignore]`d
//! with the command that runs them, and that command fails naming what is
//! missing rather than skip.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod common;
use common::{need, strip_sgr};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What the VM tests need and cannot install themselves: root (for
/// `apt-get`, which kernels.sh runs to fetch qemu and the kernels).
fn require_root() {
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    });
    assert!(
        root,
        "the VM tests run as root: tests/vm/kernels.sh installs qemu and fetches Debian's kernels with apt-get"
    );
    // The guests compare ftr with the host's perf (run-guest.sh copies it in).
    need(&["perf"]);
}

/// A static ftr for the guest, built once.
fn static_ftr() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let target_dir = Path::new(ROOT).join("target/static");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(ROOT)
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .args([
                "build",
                "--release",
                "--features",
                "test-hooks",
                "--target",
                "x86_64-unknown-linux-gnu",
                "--target-dir",
            ])
            .arg(&target_dir)
            .status()
            .expect("run cargo");
        assert!(status.success(), "static build of ftr");
        target_dir.join("x86_64-unknown-linux-gnu/release/ftr")
    })
}

fn kernels() -> &'static BTreeMap<String, PathBuf> {
    static K: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    K.get_or_init(|| {
        let out = Command::new(Path::new(ROOT).join("tests/vm/kernels.sh"))
            .output()
            .expect("kernels.sh");
        assert!(
            out.status.success(),
            "kernels.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.ends_with("/vmlinux"))
            .map(|l| {
                // linux-image-6.1.0-N-amd64, linux-image-6.12.*+deb13-amd64,
                // linux-image-7.2.*+deb14-amd64, and the -rt- flavours.
                let series = if l.contains("/linux-image-6.1.") {
                    "6.1"
                } else if l.contains("/linux-image-6.12.") {
                    "6.12"
                } else if l.contains("/linux-image-7.2.") {
                    "7.2"
                } else {
                    panic!("kernels.sh printed a kernel the tests do not know: {l}")
                };
                let ver = if l.contains("-rt-amd64/") {
                    format!("{series}-rt")
                } else {
                    series.to_string()
                };
                (ver, PathBuf::from(l))
            })
            .collect()
    })
}

struct Run {
    sections: BTreeMap<String, (String, i32)>,
    text: String,
}

/// The guest scripts one boot of `ver` runs, in order, after lib.sh's
/// helpers: graph.sh's, then strings.sh's (which compares with graph.sh's
/// snapshot); restore.sh's (twenty kill -9s, each with a tracer switch or
/// two: minutes under TCG) on one kernel of each placement, 6.1 (the graph
/// at the top level) and 7.2 (in ftr's instance, the graph knobs still at
/// the top level); args.sh's where funcgraph-args is built (7.2); on the rt
/// kernels, noise.sh's.
fn parts(ver: &str) -> &'static [&'static str] {
    match ver {
        "6.1-rt" | "7.2-rt" => &["lib.sh", "noise.sh"],
        "6.1" => &["lib.sh", "graph.sh", "strings.sh", "restore.sh"],
        "7.2" => &["lib.sh", "graph.sh", "strings.sh", "restore.sh", "args.sh"],
        _ => &["lib.sh", "graph.sh", "strings.sh"],
    }
}

fn boot(ver: &str) -> Run {
    boot_with(ver, parts(ver))
}

/// Boots `ver` with the guest scripts `parts`. The guest's output is kept
/// in target/vm-guest-VER.out; with FTR_VM_REPLAY=1 that file is checked
/// again instead of booting (for working on the checks, not for CI).
fn boot_with(ver: &str, parts: &[&str]) -> Run {
    eprintln!("booting Debian {ver}");
    let saved = Path::new(ROOT).join(format!("target/vm-guest-{ver}.out"));
    let text = if std::env::var_os("FTR_VM_REPLAY").is_some_and(|v| v == "1") {
        std::fs::read_to_string(&saved)
            .unwrap_or_else(|e| panic!("FTR_VM_REPLAY=1: {}: {e}", saved.display()))
    } else {
        let text = run_guest(ver, parts);
        std::fs::write(&saved, &text).expect("save the guest's output");
        text
    };
    let mut sections = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("==== BEGIN ") {
            current = Some((name.to_string(), String::new()));
        } else if let Some(rest) = line.strip_prefix("==== END ") {
            let (name, body) = current.take().expect("END after BEGIN");
            let rc = rest
                .rsplit("rc=")
                .next()
                .and_then(|r| r.parse().ok())
                .unwrap_or(-1);
            sections.insert(name, (body, rc));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    Run { sections, text }
}

/// Runs the guest scripts `parts` on kernel `ver`; its output.
fn run_guest(ver: &str, parts: &[&str]) -> String {
    let ftr = static_ftr();
    let vmlinux = kernels()
        .get(ver)
        .unwrap_or_else(|| panic!("kernel {ver} from kernels.sh"));
    let guest = Path::new(ROOT).join(format!("target/vm-guest-{ver}.sh"));
    let mut script = String::new();
    for part in parts {
        let path = Path::new(ROOT).join("tests/vm/guest").join(part);
        script.push_str(&std::fs::read_to_string(&path).expect("a guest script"));
    }
    std::fs::write(&guest, script).expect("write the guest script");
    let out = Command::new(Path::new(ROOT).join("tests/vm/run-guest.sh"))
        // Generous: five guests share two cores, and CI machines are loaded.
        .env("FTR_VM_TIMEOUT", "2400")
        .arg(vmlinux)
        .arg(&guest)
        .arg(ftr)
        .output()
        .expect("run-guest.sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "guest on {ver} failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

impl Run {
    /// Every way out left tracefs exactly as it was: at least `min`
    /// snapshots, each `same`.
    fn all_same(&self, ver: &str, min: usize) {
        let snaps: Vec<&str> = self
            .text
            .lines()
            .filter(|l| l.starts_with("SNAPSHOT "))
            .collect();
        assert!(snaps.len() >= min, "{ver}: snapshots taken:\n{}", self.text);
        for s in &snaps {
            assert!(s.ends_with(" same"), "{ver}: {s}\n{}", self.text);
        }
    }

    fn get(&self, name: &str) -> (&str, i32) {
        let (body, rc) = self
            .sections
            .get(name)
            .unwrap_or_else(|| panic!("no section {name} in:\n{}", self.text));
        (body, *rc)
    }
}

/// restore.sh: `ftr -G` killed with SIGKILL at 10 moments, then at once
/// `ftr reset` or a second `ftr -G`. Each left tracefs as before (its
/// SNAPSHOT line, which `all_same` checks: for reset, taken as it
/// returned); the moments met set-up, tracing and ftr's own restore; and
/// a restore by the guardian still under way was waited for and named.
fn check_restore(run: &Run, ver: &str) {
    let moments: Vec<Vec<&str>> = run
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("MOMENT "))
        .map(|l| l.splitn(5, ' ').collect())
        .collect();
    assert_eq!(moments.len(), 20, "{ver}: kill -9 moments:\n{}", run.text);
    for m in &moments {
        assert_eq!(m.get(3), Some(&"rc=0"), "{ver}: {m:?}");
    }
    for how in ["reset", "second"] {
        let of: Vec<&Vec<&str>> = moments.iter().filter(|m| m[0] == how).collect();
        for phase in ["setup", "tracing", "restore"] {
            assert!(
                of.iter().any(|m| m[2] == phase),
                "{ver}: no {how} after a kill in {phase}: {of:?}"
            );
        }
        assert!(
            of.iter()
                .any(|m| m[4].contains("restored by the guardian of ftr ")),
            "{ver}: no {how} met a guardian at work: {of:?}"
        );
    }
    // -o of a run refused once set-up began keeps the earlier file whole.
    let (text, _) = run.get("keep-capture");
    assert!(text.contains("ftr rc=125"), "{ver}: {text}");
    assert!(text.contains("already active"), "{ver}: {text}");
    assert!(text.contains("kept: an earlier capture\n"), "{ver}: {text}");
    assert!(text.contains("beside it: 1\n"), "{ver}: {text}");
}

/// (depth, function) of every entry and leaf line in a graph.
fn calls(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(at) = line.rfind("|  ") else {
            continue;
        };
        let body = &line[at + 3..];
        let depth = (body.len() - body.trim_start().len()) / 2;
        let body = body.trim();
        if let Some(name) = body
            .strip_suffix("() {")
            .or_else(|| body.strip_suffix("();"))
        {
            out.push((depth, name.to_string()));
        }
    }
    out
}

/// Interrupt and wake-up noise that either tool's run may or may not catch.
/// The ring buffer wakes a waiting reader with an irq_work raised from the
/// write, inside the traced call; its own code is notrace, so what it calls
/// shows as the call's children. On 7.2 perf's run caught that
/// (`arch_irq_work_raise`, its IPI to itself) with a `housekeeping_any_cpu`
/// beside it, at depth 1 of the first pwritev2; ftr's did not.
fn noise(name: &str) -> bool {
    name.starts_with("irq_")
        || name.contains("irq_work")
        || name.starts_with("housekeeping_")
        || name.contains("sysvec")
        || name.contains("wake_up")
        || name.starts_with("idle_cpu")
        || name.starts_with("finish_task_switch")
        || name.contains("softirq")
        || name.starts_with("rcu_")
        // 7.x's interrupt exit, at the interrupted function's depth: the
        // timer is re-armed there, after irq_exit_rcu.
        || name.contains("irqentry_exit")
        || name.starts_with("__hrtimer_rearm")
}

fn check(ver: &str) {
    let run = boot(ver);
    run.all_same(ver, 20);
    if parts(ver).contains(&"restore.sh") {
        check_restore(&run, ver);
    }
    if parts(ver).contains(&"args.sh") {
        check_args(&run, ver);
    }
    // strings.sh's scenarios first: they do not depend on the graph's.
    check_strings(&run, ver);

    // -G … depth=4 matches perf ftrace's structure for the same program.
    let (ftr, rc) = run.get("depth4");
    assert_eq!(rc, 0, "{ver}: {ftr}");
    let (perf, rc) = run.get("perf-depth4");
    assert_eq!(rc, 0, "{ver}: perf ftrace ran: {perf}");
    let ours = calls(ftr);
    assert!(
        ours.iter()
            .any(|(d, n)| *d == 0 && n == "__x64_sys_pwritev2"),
        "{ver}: {ftr}"
    );
    assert!(
        ours.iter().all(|(d, _)| *d < 4),
        "{ver}: depth=4 limits the graph: {ftr}"
    );
    // Functions at depth 0-2, leaving out interrupts that either run may catch
    // (with everything nested under them).
    let skeleton = |c: &[(usize, String)]| -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut inside_noise: Option<usize> = None;
        for (d, n) in c {
            if inside_noise.is_some_and(|at| *d > at) {
                continue;
            }
            inside_noise = noise(n).then_some(*d);
            if inside_noise.is_none() && *d <= 2 {
                names.insert(n.clone());
            }
        }
        names
    };
    assert_eq!(
        skeleton(&ours),
        skeleton(&calls(perf)),
        "{ver}: ftr vs perf ftrace\n{ftr}\n{perf}"
    );
    // The task column (comm-pid; `<...>` when the kernel lost the comm) is on,
    // since children may appear.
    let task_column = ftr
        .lines()
        .filter(|l| l.contains("__x64_sys_pwritev2"))
        .all(|l| {
            let first = l.split('|').next().unwrap_or("");
            first
                .rsplit('-')
                .next()
                .is_some_and(|pid| pid.trim().parse::<u32>().is_ok())
        });
    assert!(task_column, "{ver}: {ftr}");

    // thresh=: return lines only.
    let (text, _) = run.get("thresh");
    assert!(text.lines().count() > 0, "{ver}: thresh output");
    assert!(
        calls(text).is_empty(),
        "{ver}: thresh= shows only returns: {text}"
    );
    assert!(text.contains("} /* __x64_sys_pwritev2 */"), "{ver}: {text}");

    // ftr profile: 50 calls, and every total adds up.
    let (table, rc) = run.get("profile50");
    assert_eq!(rc, 0, "{ver}: {table}");
    let us = |s: &str| -> u64 {
        let (a, b) = s.split_once('.').unwrap_or((s, "0"));
        a.parse::<u64>().unwrap_or_else(|_| panic!("{ver}: {s}")) * 1000
            + b.parse::<u64>().unwrap_or_else(|_| panic!("{ver}: {s}"))
    };
    // The table's rows (indented; the closing `ftr: …` line is not one):
    // six columns, a module function's name being two words (`f [mod]`).
    let rows: Vec<Vec<&str>> = table
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|r| r.len() >= 6)
        .collect();
    let root_row = rows
        .iter()
        .find(|r| r[5] == "__x64_sys_pwritev2")
        .unwrap_or_else(|| panic!("{ver}: {table}"));
    assert_eq!(root_row[4], "50", "{ver}: 50 calls\n{table}");
    let root_line = table
        .lines()
        .find(|l| l.contains("outermost calls: "))
        .unwrap_or_else(|| panic!("{ver}: {table}"));
    let root = us(root_line
        .rsplit(": ")
        .next()
        .unwrap()
        .trim_end_matches(" us in all"));
    assert_eq!(
        us(root_row[0]),
        root,
        "{ver}: the root is the outermost call\n{table}"
    );
    assert!(!table.contains("still running"), "{ver}: {table}");
    // What the profile could not place, or found longer than its caller.
    let unrecorded = table
        .lines()
        .find(|l| l.contains(" us in calls whose callers"))
        .map_or(0, |l| {
            us(l.trim_start_matches("# ").split(' ').next().unwrap())
        });
    let self_sum: u64 = rows.iter().map(|r| us(r[1])).sum();
    let clipped = table
        .lines()
        .find(|l| l.contains(" us of children beyond"))
        .map_or(0, |l| {
            us(l.trim_start_matches("# ").split(' ').next().unwrap())
        });
    // Self times add up to the root's total, plus the calls recorded
    // outside it (an interrupt after a root call took its return time,
    // recorded under it). No child outlasts its caller: interrupts recorded
    // in the kernel's push/write windows are placed.
    assert_eq!(clipped, 0, "{ver}: children beyond their caller\n{table}");
    assert_eq!(self_sum, root + unrecorded, "{ver}: self times\n{table}");
    // The graph of the same capture: its depth-0 durations (1 us a call of
    // slack: the text cuts digits above 10 ms).
    let (graph, rc) = run.get("profile50-graph");
    assert_eq!(rc, 0, "{ver}: {graph}");
    let mut graph_root = (0u64, 0u64);
    for line in graph.lines() {
        let cells: Vec<&str> = line.split('|').collect();
        let Some(body) = cells.last().and_then(|b| b.strip_prefix("  ")) else {
            continue;
        };
        let depth0 = !body.starts_with(' ');
        if depth0 && (body.starts_with('}') || body.ends_with("();")) && cells.len() >= 2 {
            let cell = cells[cells.len() - 2];
            let Some(num) = cell
                .split_whitespace()
                .find(|w| w.contains('.') || w.parse::<u64>().is_ok())
            else {
                continue;
            };
            graph_root.0 += 1;
            graph_root.1 += us(num);
        }
    }
    assert_eq!(
        graph_root.0, 50,
        "{ver}: depth-0 calls in the graph\n{graph}"
    );
    assert!(
        graph_root.1.abs_diff(root) <= 50 * 1000,
        "{ver}: graph's depth-0 total {} ns, the profile's {root} ns",
        graph_root.1
    );
    let (folded, rc) = run.get("profile50-folded");
    assert_eq!(rc, 0, "{ver}: {folded}");
    let weights: u64 = folded
        .lines()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(
        weights, self_sum,
        "{ver}: folded weights sum to the self times\n{folded}"
    );
    let under_root: u64 = folded
        .lines()
        .filter(|l| l.starts_with("__x64_sys_pwritev2"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(
        under_root >= root && under_root <= root + unrecorded,
        "{ver}: the root's stacks weigh its total ({under_root} vs {root})\n{folded}"
    );
    // The same capture's table, sorted by count: the same numbers.
    let (again, rc) = run.get("profile50-report");
    assert_eq!(rc, 0, "{ver}: {again}");
    let mut a: Vec<&str> = again.lines().filter(|l| l.starts_with("  ")).collect();
    let mut b: Vec<&str> = table
        .lines()
        .filter(|l| !l.starts_with('#') && l.starts_with("  "))
        .collect();
    a.sort();
    b.sort();
    assert_eq!(
        a, b,
        "{ver}: report --profile of the capture is the live table"
    );

    // ftr latency -T vfs_writev: one call per pwritev2.
    let (text, rc) = run.get("latency30");
    assert_eq!(rc, 0, "{ver}: {text}");
    assert!(text.contains("vfs_writev: 30 calls"), "{ver}: {text}");
    let counted: u64 = text
        .lines()
        .filter(|l| l.trim_start().starts_with('[') && l.contains(" |"))
        .filter_map(|l| {
            l.split(')')
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert_eq!(counted, 30, "{ver}: rows add up\n{text}");

    // -g: nothing under (or of) the no-graph functions.
    let (text, _) = run.get("nograph");
    let names: Vec<String> = calls(text).into_iter().map(|(_, n)| n).collect();
    assert!(names.iter().any(|n| n == "do_pwritev"), "{ver}: {text}");
    assert!(
        !names
            .iter()
            .any(|n| n == "vfs_writev" || n == "vfs_iter_write" || n.starts_with("do_iter")),
        "{ver}: -g: {text}"
    );

    // -N: the function is never traced, its siblings are.
    let (text, _) = run.get("notrace");
    assert!(
        !text.contains("__cond_resched") && !text.contains("rw_verify_area"),
        "{ver}: -N: {text}"
    );
    assert!(text.contains("__x64_sys_pwritev2() {"), "{ver}: {text}");

    // -e sched:sched_switch: events inline, as comments.
    let (text, _) = run.get("events");
    assert!(text.contains("/* sched_switch: "), "{ver}: {text}");
    assert!(text.contains("nanosleep() {"), "{ver}: {text}");

    // -T alone: the function tracer, only that function.
    let (text, rc) = run.get("function");
    assert_eq!(rc, 0, "{ver}: {text}");
    let hits: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(": vfs_writev <-"))
        .collect();
    assert_eq!(
        hits.len(),
        2,
        "{ver}: two pwritev2 calls, one vfs_writev each: {text}"
    );
    assert!(
        !text.contains("__x64_sys_pwritev2"),
        "{ver}: only the filtered function: {text}"
    );

    // -m: a bigger buffer while tracing (the snapshot shows the old size back).
    let (text, rc) = run.get("bufsize");
    assert_eq!(rc, 0, "{ver}: {text}");

    // -C 0: only CPU 0 (one pwv2 pinned there, one on CPU 1).
    let (text, _) = run.get("cpu0");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("__x64_sys_pwritev2"))
        .collect();
    assert!(!lines.is_empty(), "{ver}: {text}");
    assert!(
        lines.iter().all(|l| l.trim_start().starts_with("0)")),
        "{ver}: -C 0: {text}"
    );
    let n = calls(text)
        .into_iter()
        .filter(|(_, n)| n == "__x64_sys_pwritev2")
        .count();
    assert_eq!(
        n, 4,
        "{ver}: the 4 calls pinned to CPU 0, none of the 4 on CPU 1: {text}"
    );

    // -O funcgraph-abstime: a timestamp column first.
    let (text, _) = run.get("abstime");
    let stamped = text
        .lines()
        .filter(|l| l.contains("__x64_sys_pwritev2"))
        .all(|l| {
            let first = l.split('|').next().unwrap_or("").trim();
            first
                .split_once('.')
                .is_some_and(|(s, us)| s.parse::<u64>().is_ok() && us.len() == 6)
        });
    assert!(
        stamped && text.contains("__x64_sys_pwritev2"),
        "{ver}: -O funcgraph-abstime: {text}"
    );

    // -D: the command starts at once, tracing later: its first writes are missed.
    let (text, rc) = run.get("delay");
    assert_eq!(rc, 0, "{ver}: {text}");
    let writes = calls(text)
        .into_iter()
        .filter(|(_, n)| n == "__x64_sys_write")
        .count();
    assert!(
        writes > 0 && writes < 60,
        "{ver}: -D 2500 over 60 writes 50 ms apart: {writes}\n{text}"
    );

    // -o saves a capture (trace.dat) while showing the graph; ftr report
    // renders the same calls from it.
    let (shown, rc) = run.get("saved");
    assert_eq!(rc, 0, "{ver}: {shown}");
    assert!(shown.contains("__x64_sys_pwritev2() {"), "{ver}: {shown}");
    let (text, rc) = run.get("report");
    assert_eq!(rc, 0, "{ver}: {text}");
    assert!(!calls(text).is_empty(), "{ver}: {text}");
    assert_eq!(
        calls(text),
        calls(shown),
        "{ver}: report vs live\n{text}\n{shown}"
    );
    // Live in color: the lines are colored as they are printed, and that is
    // the coloring `ftr report` gives the same text, escapes removed.
    let (colored, rc) = run.get("colored");
    assert_eq!(rc, 0, "{ver}: {colored}");
    let graph: String = colored
        .lines()
        .filter(|l| !l.starts_with("ftr: "))
        .flat_map(|l| [l, "\n"])
        .collect();
    let plain = strip_sgr(graph.as_bytes());
    assert!(plain.len() < graph.len(), "{ver}: colored: {colored}");
    let calls_shown = calls(&String::from_utf8_lossy(&plain));
    assert!(
        calls_shown
            .iter()
            .any(|(d, n)| *d == 0 && n == "__x64_sys_pwritev2"),
        "{ver}: {colored}"
    );
    let mut report = Command::new(static_ftr())
        .args(["report", "--color=always", "--no-pager", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("ftr report");
    {
        use std::io::Write;
        let mut stdin = report.stdin.take().expect("stdin");
        stdin.write_all(&plain).expect("write to ftr report");
    }
    let recolored = report.wait_with_output().expect("ftr report");
    assert!(
        recolored.stdout == graph.as_bytes(),
        "{ver}: live colors vs ftr report's of the same text:\n{graph}\n{}",
        String::from_utf8_lossy(&recolored.stdout)
    );
    // Children followed by default, not with --no-inherit. Keyed on the pid:
    // the kernel may print one task as `<...>-943` and later `forker-943`.
    let pids = |text: &str| -> BTreeSet<u32> {
        text.lines()
            .filter(|l| l.contains("__x64_sys_pwritev2"))
            .filter_map(|l| {
                let task = l.split('|').next()?.split_whitespace().last()?;
                task.rsplit('-').next()?.parse().ok()
            })
            .collect()
    };
    let (text, _) = run.get("inherit");
    assert_eq!(pids(text).len(), 2, "{ver}: parent and child: {text}");
    let (text, _) = run.get("no-inherit");
    // One call (a migration can split it into an entry and a `} /* … */`).
    let pwritev2 = calls(text)
        .into_iter()
        .filter(|(_, n)| n == "__x64_sys_pwritev2")
        .count();
    assert_eq!(pwritev2, 1, "{ver}: parent only: {text}");

    // -p: attaches to a running process.
    let (text, rc) = run.get("pid");
    assert_eq!(rc, 0);
    assert!(text.contains("__x64_sys_write"), "{ver}: -p: {text}");
    // Only that process: every call line names its pid.
    let target = run
        .text
        .lines()
        .find_map(|l| l.strip_prefix("sleeper pid "))
        .unwrap_or_else(|| panic!("{ver}: sleeper pid"));
    let ours = format!("-{target} ");
    for line in text.lines().filter(|l| l.contains("__x64_sys_write")) {
        assert!(
            line.contains(&ours),
            "{ver}: -p {target} shows another task: {line}"
        );
    }

    // A typo: one line, a suggestion, nothing changed (snapshot above).
    let (text, rc) = run.get("typo");
    assert_eq!(rc, 125);
    assert!(
        text.contains("did you mean `__x64_sys_pwritev2`?"),
        "{ver}: {text}"
    );

    // A graph option this kernel lacks: one line naming what it needs,
    // before anything is changed (snapshot above), and nothing traced.
    let (text, rc) = run.get("noretval");
    assert_eq!(rc, 125, "{ver}: {text}");
    assert!(
        text.contains("options/funcgraph-retval") && text.contains("CONFIG_FUNCTION_GRAPH_RETVAL"),
        "{ver}: {text}"
    );
    assert!(!text.contains("__x64_sys_pwritev2() {"), "{ver}: {text}");

    // SIGTERM reaches the command; ftr exits with its status.
    let (_, rc) = run.get("sigterm");
    assert_eq!(rc, 128 + 15, "{ver}");

    // SIGINT: restored at once, ftr then waits for its command.
    let (text, rc) = run.get("sigint");
    assert_eq!(
        rc, 0,
        "{ver}: the command ignored SIGINT and finished: {text}"
    );
    assert!(
        text.contains("tracer after SIGINT, command still running: nop"),
        "{ver}: {text}"
    );
    assert!(
        text.contains("ftr still waiting for its command: yes"),
        "{ver}: {text}"
    );

    // Another tracer active: refused with its name, nothing changed.
    let (text, rc) = run.get("busy");
    assert_eq!(rc, 125, "{ver}: {text}");
    assert!(
        text.contains("the function tracer is already active"),
        "{ver}: {text}"
    );
    assert!(text.contains("--force"), "{ver}: {text}");

    // Another tool's non-graph tracer (blk) at the top level: 6.12 and 7.2
    // run the graph beside it in ftr's own instance; 6.1 cannot, and refuses
    // as above.
    let (text, rc) = run.get("beside");
    if graph_in_instance(ver) {
        assert_eq!(rc, 0, "{ver}: {text}");
        assert!(
            calls(text)
                .iter()
                .any(|(d, n)| *d == 0 && n == "__x64_sys_pwritev2"),
            "{ver}: {text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("during: ftr-") && l.ends_with(" function_graph")),
            "{ver}: the graph ran in ftr's instance: {text}"
        );
        assert!(text.contains("during: top level blk"), "{ver}: {text}");
    } else {
        assert_eq!(rc, 125, "{ver}: {text}");
        assert_eq!(text.lines().count(), 1, "{ver}: one line: {text}");
        assert!(
            text.contains("the blk tracer is already active") && text.contains("--force"),
            "{ver}: {text}"
        );
    }
    assert!(
        run.text.contains("graph lines in the top-level buffer: 0"),
        "{ver}: {}",
        run.text
    );

    // Another instance's function tracer: refused from ftr's instance, whose
    // global graph knobs would reach it (6.12, 7.2); beside it at the top
    // level, as always (6.1).
    let (text, rc) = run.get("busy-instance");
    if graph_in_instance(ver) {
        assert_eq!(rc, 125, "{ver}: {text}");
        assert_eq!(text.lines().count(), 1, "{ver}: one line: {text}");
        assert!(
            text.contains("the function tracer is already active in instances/other"),
            "{ver}: {text}"
        );
    } else {
        assert_eq!(rc, 0, "{ver}: {text}");
        assert!(
            calls(text).iter().any(|(_, n)| n == "__x64_sys_pwritev2"),
            "{ver}: {text}"
        );
    }

    // Values the plan rejects, and one only the kernel can refuse: one
    // line each, exit 125, nothing changed (the snapshots above).
    for (name, says) in [
        ("badcpu", "no CPU 7"),
        ("badcpulist", "expected CPU numbers"),
        ("badopt", "no such trace option"),
        ("badevent", "did you mean `sched:sched_switch`?"),
        ("nomem", "buffer_size_kb"),
    ] {
        let (text, rc) = run.get(name);
        assert_eq!(rc, 125, "{ver} {name}: {text}");
        assert_eq!(text.lines().count(), 1, "{ver} {name}: one line: {text}");
        assert!(text.contains(says), "{ver} {name}: {text}");
    }

    // A panic with tracing armed (a build with test-hooks) restores.
    let (text, rc) = run.get("panic");
    assert_eq!(rc, 101, "{ver}: {text}");
    assert!(text.contains("FTR_TEST_PANIC"), "{ver}: {text}");

    // kill -9: the guardian restores, without ftr reset. (The tracer is read
    // where ftr runs it: its instance on 6.12 and 7.2, the top level on 6.1.)
    let (text, _) = run.get("kill9");
    assert!(
        text.contains("tracer while running: function_graph"),
        "{ver}: {text}"
    );
    assert!(
        text.contains("tracer after kill -9, no reset: nop"),
        "{ver}: {text}"
    );
    // Its guardian killed too: the next run repairs before its checks.
    let (text, rc) = run.get("kill9-both");
    assert!(
        text.contains("tracer after kill -9 of both: function_graph"),
        "{ver}: {text}"
    );
    assert_eq!(rc, 0, "{ver}: the next run is not refused: {text}");
    assert!(text.contains("restored what ftr (pid"), "{ver}: {text}");
    assert!(
        calls(text).iter().any(|(_, n)| n == "__x64_sys_pwritev2"),
        "{ver}: {text}"
    );

    // A system without /run, and another tool's probe that outlived it all.
    assert!(run.text.contains("no /run before ftr"), "{ver}");
    assert!(
        run.text
            .contains("probes at the end: p:othertool/vfsr vfs_read"),
        "{ver}: {}",
        run.text
    );
}

/// Whether ftr runs the graph in its own instance: where an instance's
/// `available_tracers` lists function_graph (6.12, 7.2; not 6.1, where it
/// runs at the top level). See src/modes/graph/place.rs.
fn graph_in_instance(ver: &str) -> bool {
    ver != "6.1"
}

/// The calls of `ftr trace` output: (syscall, arguments text, result).
fn trace_calls(text: &str) -> Vec<(&str, &str, &str)> {
    text.lines()
        .filter_map(|l| {
            // `  1.234 ( 0.012 ms): cat/99 openat(dfd: CWD, …) = 3`
            let (_, call) = l.split_once("): ")?;
            let (_, call) = call.split_once(' ')?;
            let (name, rest) = call.split_once('(')?;
            let (args, ret) = rest.rsplit_once(") = ")?;
            Some((name, args, ret))
        })
        .collect()
}

/// File names and execve's arguments, read by event probes; the probes
/// gone after a normal end, SIGINT, and kill -9 + reset (the snapshots).
fn check_strings(run: &Run, ver: &str) {
    let (text, rc) = run.get("strings-cat");
    assert_eq!(rc, 1, "{ver}: cat's status, one file missing: {text}");
    assert!(!text.contains("strings are not shown"), "{ver}: {text}");
    let calls = trace_calls(text);
    let opens: Vec<_> = calls.iter().filter(|c| c.0 == "openat").collect();
    // busybox cat, static: it opens its two files and nothing else.
    assert_eq!(opens.len(), 2, "{ver}: {text}");
    assert!(
        opens[0].1.contains(r#"filename: "/tmp/a.txt""#),
        "{ver}: {text}"
    );
    assert!(
        opens[1].1.contains(r#"filename: "/tmp/missing""#) && opens[1].2.starts_with("-1 ENOENT"),
        "{ver}: {text}"
    );
    let exec = calls
        .iter()
        .find(|c| c.0 == "execve")
        .unwrap_or_else(|| panic!("{ver}: an execve in {text}"));
    assert!(
        exec.1
            .contains(r#"argv: ["cat", "/tmp/a.txt", "/tmp/missing"]"#),
        "{ver}: {text}"
    );
    assert!(exec.1.contains("filename: \""), "{ver}: {text}");
    assert!(!text.contains("unreadable"), "{ver}: {text}");
    // The descriptor the open returned, named where it is used.
    assert!(opens[0].2 == "3</tmp/a.txt>", "{ver}: {text}");
    // busybox cat copies with sendfile: in_fd is the file.
    assert!(
        calls
            .iter()
            .any(|c| c.0 == "sendfile64" && c.1.contains("in_fd: 3</tmp/a.txt>, ") && c.2 == "6"),
        "{ver}: cat copies the 6 bytes of hello\\n: {text}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.0 == "close" && c.1 == "fd: 3</tmp/a.txt>"),
        "{ver}: {text}"
    );

    // A name in a page not yet mapped: a probe cannot fault it in, so its
    // pointer, marked, and counted. 7.2 reads the strings of its syscall
    // events where it may fault (since 6.19), so there the name is read.
    let (text, rc) = run.get("strings-unresident");
    assert_eq!(rc, 0, "{ver}: {text}");
    let open = trace_calls(text)
        .into_iter()
        .rfind(|c| c.0 == "openat")
        .unwrap_or_else(|| panic!("{ver}: {text}"));
    if ver == "7.2" {
        assert!(
            open.1
                .starts_with(r#"dfd: CWD, filename: "/tmp/a.txt", flags: RDONLY"#),
            "{ver}: {text}"
        );
        assert!(!text.contains("unreadable"), "{ver}: {text}");
    } else {
        assert!(open.1.contains(" (fault), flags: RDONLY"), "{ver}: {text}");
        assert!(open.1.contains("filename: 0x"), "{ver}: {text}");
        assert!(
            text.contains(
                ", 1 strings unreadable (the kernel could not read them when the call entered)"
            ),
            "{ver}: {text}"
        );
    }

    // openat's file name and the descriptor it names: on 7.2 from the event
    // itself, with no probe of ftr's while it traces; a probe before.
    let (text, rc) = run.get("strings-native");
    assert_eq!(rc, 0, "{ver}: {text}");
    assert!(text.contains("ftr: rc=0"), "{ver}: {text}");
    assert!(
        text.contains("syscalls:sys_enter_openat"),
        "{ver}: sampled while tracing: {text}"
    );
    let carried = ver == "7.2";
    let probes = if carried { 0 } else { 1 };
    assert!(
        text.contains(&format!("ftr probes during the run: {probes}\n")),
        "{ver}: {text}"
    );
    let opens: Vec<_> = trace_calls(text)
        .into_iter()
        .filter(|c| c.0 == "openat")
        .collect();
    assert_eq!(opens.len(), 2, "{ver}: {text}");
    for (open, file) in opens.iter().zip(["/tmp/a.txt", "/tmp/fifo"]) {
        assert!(
            open.1
                .starts_with(&format!("dfd: CWD, filename: \"{file}\", flags: ")),
            "{ver}: {text}"
        );
        // The descriptor named after the file.
        assert!(open.2.ends_with(&format!("<{file}>")), "{ver}: {text}");
    }
    assert!(
        !text.contains("_val"),
        "{ver}: no __filename_val argument: {text}"
    );

    // execve's argv needs a probe everywhere; 6.1 and 6.12 probe openat too.
    let probes = if carried { 1 } else { 2 };
    let (text, _) = run.get("strings-int");
    assert!(
        text.contains(&format!("probes while running: {probes}")),
        "{ver}: {text}"
    );
    assert!(
        text.contains(r#"filename: "/tmp/sleeper."#),
        "{ver}: {text}"
    );
    let (text, rc) = run.get("strings-kill9");
    assert_eq!(rc, 0, "{ver}: {text}");
    assert!(
        text.contains(&format!("probes after kill -9: {probes}")),
        "{ver}: {text}"
    );
    assert!(text.contains("restored what ftr (pid"), "{ver}: {text}");
    assert!(
        run.text
            .contains("probes at the very end: p:othertool/vfsr vfs_read"),
        "{ver}: {}",
        run.text
    );
}

/// The numbers of one row of `ftr osnoise`'s per-CPU table.
fn cpu_row(text: &str, cpu: u32) -> Vec<f64> {
    text.lines()
        .skip_while(|l| !l.starts_with("CPU  PERIODS"))
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| w.first() == Some(&cpu.to_string().as_str()))
        .unwrap_or_else(|| panic!("CPU {cpu} in:\n{text}"))
        .iter()
        .map(|w| w.trim_end_matches('%').parse::<f64>().unwrap_or(f64::NAN))
        .collect()
}

/// (kind, source, count, total us) of the per-source table.
fn source_rows(text: &str) -> Vec<(String, String, u64, f64)> {
    text.lines()
        .skip_while(|l| !l.starts_with("KIND "))
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .take_while(|w| w.len() == 5)
        .map(|w| {
            (
                w[0].to_string(),
                w[1].to_string(),
                w[2].parse().unwrap_or(0),
                w[3].parse().unwrap_or(f64::NAN),
            )
        })
        .collect()
}

/// CPU 1's row when a thread spun there for 3 s, measured for 180 ms of
/// every 200: (periods, noise us). The kernel's summaries add up to what
/// was asked, and the spinning thread took a good part of the CPU.
fn spin_row(text: &str) -> (f64, f64) {
    let row = cpu_row(text, 1);
    let (periods, runtime_us, noise_us, avail) = (row[1], row[2], row[3], row[4]);
    assert!(periods >= 5.0, "{text}");
    // runtime_us as written, per period (the thread's loop overshoots a
    // little: it stops at the first sample past it).
    let per = runtime_us / periods;
    assert!(
        (180_000.0..=180_000.0 * 1.05).contains(&per),
        "{per} us measured per period, 180000 asked:\n{text}"
    );
    assert!(noise_us <= runtime_us, "{text}");
    let want = 100.0 * (runtime_us - noise_us) / runtime_us;
    assert!((avail - want).abs() < 0.001, "{avail}% vs {want}%: {text}");
    // A CPU-bound thread of the same priority gets about half of CPU 1.
    assert!(
        avail < 80.0,
        "the spinning thread took {avail}% less: {text}"
    );
    // It was noise at least once a period (thread is the last column).
    assert!(row[11] >= periods, "thread noise count: {text}");
    (periods, noise_us)
}

/// osnoise and timerlat on a PREEMPT_RT kernel (`ver`, as kernels() names
/// it: Debian's 6.1-rt has these tracers). Under TCG the noise is large:
/// the checks compare what one run's tables and events say, not absolute
/// numbers.
fn check_noise(ver: &str) {
    let run = boot_with(ver, &["lib.sh", "noise.sh"]);
    run.all_same(ver, 9);

    // By default, the kernel's summaries only: no live line, no table of
    // sources (no noise event was recorded), and the closing line says so.
    let (text, rc) = run.get("spin");
    assert_eq!(rc, 0, "{text}");
    spin_row(text);
    assert!(
        !text
            .lines()
            .any(|l| l.contains("  CPU 1 ") || l.starts_with("KIND ")),
        "no noise events by default: {text}"
    );
    assert!(
        text.contains("ftr: the summary only (0 events lost): --live records"),
        "{text}"
    );

    // --live: thread noise there, under its name, live and in the table;
    // its total is at most CPU 1's noise and at least half.
    let (text, rc) = run.get("spin-live");
    assert_eq!(rc, 0, "{text}");
    let (periods, noise_us) = spin_row(text);
    let sources = source_rows(text);
    let spin = sources
        .iter()
        .find(|s| s.0 == "thread" && s.1.starts_with("spin/"))
        .unwrap_or_else(|| panic!("spin's thread noise in:\n{text}"));
    assert!(
        spin.3 <= noise_us && spin.3 >= noise_us / 2.0,
        "spin's {} us vs CPU 1's {noise_us} us of noise:\n{text}",
        spin.3
    );
    assert_eq!(
        sources.first().map(|s| &s.1),
        Some(&spin.1),
        "the largest source: {text}"
    );
    // ftr's reading brings nothing to CPU 1: no grace periods of RCU (a
    // file opened and closed each round brought its threads and resched
    // IPIs there, about 14 a second of each: some 175 in these 3 s). The
    // grace periods that ftr's setup starts end in the first period (up to
    // about 20).
    let rcu: u64 = sources
        .iter()
        .filter(|s| {
            s.1.starts_with("rcu_preempt/")
                || s.1.starts_with("rcuc/1/")
                || s.1.starts_with("reschedule:")
        })
        .map(|s| s.2)
        .sum();
    assert!(
        (rcu as f64) < 3.0 * periods,
        "{rcu} RCU threads and resched IPIs on CPU 1 in {periods} periods:\n{text}"
    );
    let live = format!("  CPU 1   thread   {}", spin.1);
    assert!(text.lines().any(|l| l.contains(&live)), "{live}: {text}");
    assert!(
        !text.lines().any(|l| l.contains("  CPU 0 ")),
        "only CPU 1 measured: {text}"
    );

    // A stop below that noise (bursts of 60 ms at SCHED_FIFO, above the
    // few ms a TCG vCPU stalls or an interrupt takes): early, and the
    // thread named.
    let (text, rc) = run.get("stop");
    assert_eq!(rc, 0, "{text}");
    assert!(
        text.contains(" on CPU 1 crossed 30000 us (the kernel turned tracing off)"),
        "{text}"
    );
    let first = text
        .lines()
        .skip_while(|l| !l.starts_with("sources that overlapped it"))
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    assert!(first.contains(" spin/"), "{first}\n{text}");
    // Well before 20 s (100 periods); often in the first, which then
    // never ends and leaves the tables empty.
    if text.contains("\n  1 ") {
        assert!(
            cpu_row(text, 1)[1] < 50.0,
            "stopped well before 20 s: {text}"
        );
    } else {
        assert!(text.contains("no period ended"), "{text}");
    }
    assert!(
        text.contains("ftr: tracing was stopped by the kernel"),
        "{text}"
    );

    let (text, rc) = run.get("status");
    assert_eq!(rc, 3, "the command's status: {text}");

    // timerlat: both CPUs, and the histograms agree with the table.
    let (text, rc) = run.get("timerlat");
    assert_eq!(rc, 0, "{text}");
    assert!(text.contains("ftr: the summary only"), "{text}");
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip_while(|l| !l.starts_with("CPU   COUNT"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    let irq_max = rows
        .iter()
        .map(|r| r[6].parse::<f64>().unwrap())
        .fold(0.0, f64::max);
    let hist_max = text
        .lines()
        .skip_while(|l| !l.starts_with("irq latency: "))
        .find(|l| l.trim_start().starts_with("count "))
        .and_then(|l| l.split("max ").nth(1))
        .and_then(|m| m.split_whitespace().next())
        .unwrap_or_else(|| panic!("{text}"));
    let hist_us = match hist_max.strip_suffix("ms") {
        Some(ms) => ms.parse::<f64>().unwrap() * 1000.0,
        None => hist_max.trim_end_matches("us").parse::<f64>().unwrap(),
    };
    assert!(
        (hist_us - irq_max).abs() <= irq_max * 0.01 + 0.1,
        "irq max {irq_max} us vs the histogram's {hist_max}: {text}"
    );

    // A thread latency threshold: stopped, with the noise before it.
    let (text, _) = run.get("timerlat-stop");
    assert!(
        text.contains("tracing stopped: a thread latency of "),
        "{text}"
    );
    assert!(text.contains("events just before, on CPU 1:"), "{text}");
    assert!(
        text.contains(" noise events, "),
        "a stop records them: {text}"
    );
    assert!(
        text.contains("ftr: tracing was stopped by the kernel"),
        "{text}"
    );

    let (text, _) = run.get("int");
    assert!(text.contains("rc=0"), "ftr's status after SIGINT: {text}");
    assert!(
        text.contains("set_event: []"),
        "no event by default: {text}"
    );
    assert!(
        text.contains("CPU  PERIODS") && !text.contains("KIND "),
        "the table after SIGINT, no sources without events: {text}"
    );
    let (text, rc) = run.get("kill9");
    assert_eq!(rc, 0, "{text}");
    assert!(text.contains("tracer after kill -9: osnoise"), "{text}");
    assert!(text.contains("restored what ftr (pid"), "{text}");
    let (text, rc) = run.get("busy");
    assert_eq!(rc, 125, "{text}");
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    assert!(
        text.contains("already running in instances/other"),
        "{text}"
    );
}

#[test]
#[ignore = "boots Debian 6.1-rt under qemu, as root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn osnoise_and_timerlat_on_debian_6_1_rt() {
    require_root();
    check_noise("6.1-rt");
}

#[test]
#[ignore = "boots Debian 6.1 under qemu, as root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn graph_mode_on_debian_6_1() {
    require_root();
    check("6.1");
}

#[test]
#[ignore = "boots Debian 6.12 under qemu, as root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn graph_mode_on_debian_6_12() {
    require_root();
    check("6.12");
}

#[test]
#[ignore = "boots Debian unstable's 7.2 under qemu, as root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn graph_mode_on_debian_7_2() {
    require_root();
    check("7.2");
}

#[test]
#[ignore = "boots Debian unstable's 7.2-rt under qemu, as root (run: cargo test --release --features test-hooks -- --include-ignored)"]
fn osnoise_and_timerlat_on_debian_7_2_rt() {
    require_root();
    check_noise("7.2-rt");
}

/// The body of each entry and leaf line of a graph under `__x64_sys_pwritev2`
/// (what follows the last `|  `, its indent kept), with addresses (`0x` and
/// 8 hex digits or more: kernel and user pointers, which differ from run to
/// run) written `PTR`; lines of interrupt noise, with what nests in them,
/// and stray graphs outside the syscall (the write that turned tracing on
/// can leave some) left out.
fn arg_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside_noise: Option<usize> = None;
    let mut in_syscall = false;
    for line in text.lines() {
        let Some(at) = line.rfind("|  ") else {
            continue;
        };
        let body = &line[at + 3..];
        let depth = (body.len() - body.trim_start().len()) / 2;
        if inside_noise.is_some_and(|d| depth > d) {
            continue;
        }
        inside_noise = None;
        let Some((name, _)) = body.trim().split_once('(') else {
            continue;
        };
        if depth == 0 {
            in_syscall = name == "__x64_sys_pwritev2";
        }
        if !in_syscall {
            continue;
        }
        if noise(name) {
            inside_noise = Some(depth);
            continue;
        }
        if !(body.ends_with(" {") || body.ends_with(';')) {
            continue;
        }
        let mut norm = String::new();
        let mut rest = body;
        while let Some(at) = rest.find("0x") {
            let hex = rest[at + 2..]
                .bytes()
                .take_while(u8::is_ascii_hexdigit)
                .count();
            norm.push_str(&rest[..at]);
            if hex >= 8 {
                norm.push_str("PTR");
            } else {
                norm.push_str(&rest[at..at + 2 + hex]);
            }
            rest = &rest[at + 2 + hex..];
        }
        norm.push_str(rest);
        out.push(norm);
    }
    out
}

/// funcgraph-args on Debian's 7.2: ftr's arguments, live and from its
/// capture, are the kernel's own text for the same workload (the kernel's
/// pointers aside); and the graph options 7.2 is built without are refused
/// naming their config option.
fn check_args(run: &Run, ver: &str) {
    let (kernel, rc) = run.get("kernel-args");
    assert_eq!(rc, 0, "{ver}: {kernel}");
    let want = arg_lines(kernel);
    // Three calls, each with its arguments named and typed.
    let top: Vec<&String> = want
        .iter()
        .filter(|l| l.starts_with("__x64_sys_pwritev2("))
        .collect();
    assert_eq!(top.len(), 3, "{ver}: {kernel}");
    assert!(
        top.iter().all(|l| *l == "__x64_sys_pwritev2(regs=PTR) {"),
        "{ver}: {kernel}"
    );
    assert!(
        want.iter().any(|l| l
            .trim_start()
            .starts_with("do_pwritev(fd=0x3, vec=PTR, vlen=0x2, pos=")),
        "{ver}: {kernel}"
    );
    for name in ["ftr-args", "ftr-args-report"] {
        let (text, rc) = run.get(name);
        assert_eq!(rc, 0, "{ver} {name}: {text}");
        let got = arg_lines(text);
        assert!(
            got == want,
            "{ver} {name}: the kernel's lines then ftr's:\n{}\n----\n{}",
            want.join("\n"),
            got.join("\n")
        );
    }
    for (name, option, config) in [
        (
            "noretval",
            "funcgraph-retval",
            "CONFIG_FUNCTION_GRAPH_RETVAL",
        ),
        (
            "noretaddr",
            "funcgraph-retaddr",
            "CONFIG_FUNCTION_GRAPH_RETADDR",
        ),
    ] {
        let (text, rc) = run.get(name);
        assert_eq!(rc, 125, "{ver} {name}: {text}");
        assert_eq!(text.lines().count(), 1, "{ver} {name}: one line: {text}");
        assert!(
            text.contains(&format!("options/{option}")) && text.contains(config),
            "{ver} {name}: {text}"
        );
    }
}
