//! Graph mode (`ftr -G FUNC`): the kernel's function_graph (or function)
//! tracer, configured through the session (every knob journaled), read as
//! text from `trace_pipe`, and colorized as it arrives.
//!
//! The graph knobs (`set_graph_function`, `max_graph_depth`,
//! `tracing_thresh`…) exist only at the top level of tracefs, so graph mode
//! works there, and refuses when another tracer is active unless `--force`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use crate::cli::{GraphArgs, OutputArgs, ReportArgs};
use crate::error::{warn, Error, Result};
use crate::names;
use crate::output::Output;
use crate::runner;
use crate::session::Session;
use crate::signals::Signals;
use crate::tracefs::Tracefs;
use crate::workload;

pub mod parse;
mod render;

use crate::style::Theme;
use parse::{parse_line, Kind};

pub fn run(args: GraphArgs) -> Result<i32> {
    let (tracefs, plan, mut workload) = runner::prepare(&args.target, |fs| Plan::new(fs, &args))?;
    // -o saves the kernel's stream unchanged (for `ftr report`) while the
    // rendered graph still goes to the screen.
    let saved =
        match &args.output.file {
            Some(path) => Some(File::create(path).map_err(|e| {
                Error::usage(format!("-o {}: cannot create it: {e}", path.display()))
            })?),
            None => None,
        };
    let screen = OutputArgs {
        file: None,
        pager: args.output.pager,
        color: args.output.color,
    };
    let mut signals = Signals::install()?;
    let mut output = Output::open(&screen)?;
    let mut session = Session::start(tracefs)?;
    let pids: Vec<i32> = match &workload {
        _ if args.target.system_wide => Vec::new(),
        Some(w) => vec![w.pid.as_raw()],
        None => plan.tids.clone(),
    };
    let quiet = runner::ftr_pids(&output);
    arm(&mut session, &plan, &args, &pids, &quiet)?;
    let pipe = open_pipe(session.tracefs())?;
    let exits = runner::exit_watch(workload.as_ref(), &args.target.pids);
    match args.delay {
        // -D (as perf's): the command starts now, tracing MS milliseconds later.
        Some(delay) => {
            if let Some(w) = workload.as_mut() {
                w.go()?;
            }
            runner::pause(delay, &signals);
            session.set_global("tracing_on", "1")?;
        }
        None => {
            session.set_global("tracing_on", "1")?;
            if let Some(w) = workload.as_mut() {
                w.go()?;
            }
        }
    }
    let mut view = View::new(output.theme, saved);
    let stop = runner::Loop {
        output: &mut output,
        signals: &mut signals,
        exits: &exits,
        timeout: args.target.timeout,
        workload: workload.as_ref(),
    }
    .run(&[pipe.as_raw_fd()], |output| {
        drain(&pipe, &mut view);
        output.write(&view.out);
        view.out.clear();
    });
    // Stop recording, take the rest, then put everything back.
    let _ = session.set_global("tracing_on", "0");
    drain_all(&pipe, &mut view);
    view.finish();
    drop(pipe);
    let problems = session.finish();
    output.write(&view.out);
    runner::end(stop, workload.as_ref(), output, problems);
    let t = &view.tally;
    if t.lost > 0 || t.lost_unknown {
        let more = if t.lost_unknown {
            " (and more, count unknown)"
        } else {
            ""
        };
        warn(format_args!(
            "{} lines, {} events lost{more}",
            t.lines, t.lost
        ));
    }
    Ok(runner::command_status(workload.as_mut(), &mut signals))
}

/// `ftr report FILE`: renders a saved trace (`-o`, `cat trace`, `trace-cmd show`).
pub fn report(args: ReportArgs) -> Result<i32> {
    let mut input: Box<dyn Read> = match &args.input {
        Some(path) => Box::new(
            File::open(path)
                .map_err(|e| Error::usage(format!("ftr report {}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut output = Output::open(&args.output)?;
    let mut view = View::new(output.theme, None);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::usage(format!(
                    "ftr report: cannot read the input: {e}"
                )))
            }
        };
        view.feed(&buf[..n]);
        output.write(&view.out);
        view.out.clear();
        if output.reader_gone() {
            break; // the reader has had enough (`| head`, q in less)
        }
    }
    view.finish();
    output.write(&view.out);
    output.finish();
    Ok(0)
}

/// Checked before anything is changed.
struct Plan {
    tracer: String,
    tids: Vec<i32>,
}

impl Plan {
    fn new(tracefs: &Tracefs, args: &GraphArgs) -> Result<Plan> {
        let tracers = tracefs.read("available_tracers")?;
        let tracer = args.tracer.clone().unwrap_or_else(|| {
            if args.graph_funcs.is_empty() && !args.filter_funcs.is_empty() {
                "function".to_string() // -T alone, as perf ftrace does
            } else {
                "function_graph".to_string()
            }
        });
        if !tracers.split_whitespace().any(|t| t == tracer) {
            return Err(Error::setup(format!(
                "this kernel has no {tracer} tracer (available: {}); it needs CONFIG_FUNCTION_GRAPH_TRACER / CONFIG_FUNCTION_TRACER",
                tracers.trim()
            )));
        }
        let current = tracefs.read("current_tracer")?;
        if current.trim() != "nop" && !args.force {
            return Err(Error::setup(format!(
                "the {} tracer is already active (current_tracer): another tool is tracing; stop it or use --force",
                current.trim()
            )));
        }
        let funcs = tracefs.read("available_filter_functions").map_err(|e| {
            Error::setup(format!("this kernel does not allow function tracing: {e}"))
        })?;
        let known: Vec<&str> = funcs
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        for (flag, list) in [
            ("-G", &args.graph_funcs),
            ("-g", &args.nograph_funcs),
            ("-T", &args.filter_funcs),
            ("-N", &args.notrace_funcs),
        ] {
            for f in list {
                check_function(flag, f, &known)?;
            }
        }
        for e in &args.events {
            let rel = format!("events/{}", e.replace(':', "/"));
            if !tracefs.exists(&rel) {
                let all = tracefs.read("available_events").unwrap_or_default();
                let hint = names::suggest(e, all.lines())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(Error::usage(format!(
                    "-e {e}: no such event (not in available_events){hint}"
                )));
            }
        }
        let tids = workload::threads_of(&args.target.pids)?;
        Ok(Plan { tracer, tids })
    }
}

fn check_function(flag: &str, f: &str, known: &[&str]) -> Result<()> {
    let ok = if names::is_glob(f) {
        known.iter().any(|k| names::glob(f, k))
    } else {
        known.contains(&f)
    };
    if ok {
        return Ok(());
    }
    let hint = names::suggest(f, known.iter().copied())
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_else(|| " (see ftr -F GLOB)".to_string());
    Err(Error::usage(format!(
        "{flag} {f}: function `{f}` is not traceable (not in available_filter_functions){hint}"
    )))
}

/// Writes every knob through the session (journaled first), tracer last.
fn arm(
    session: &mut Session,
    plan: &Plan,
    args: &GraphArgs,
    pids: &[i32],
    quiet: &str,
) -> Result<()> {
    let o = &args.opts;
    let lines = |v: &[String]| v.join("\n");
    session.set_global("tracing_on", "0")?;
    session.set_global("set_ftrace_filter", &lines(&args.filter_funcs))?;
    session.set_global("set_ftrace_notrace", &lines(&args.notrace_funcs))?;
    if plan.tracer == "function_graph" {
        session.set_global("set_graph_function", &lines(&args.graph_funcs))?;
        session.set_global("set_graph_notrace", &lines(&args.nograph_funcs))?;
        session.set_global("max_graph_depth", &o.depth.unwrap_or(0).to_string())?;
        session.set_global("tracing_thresh", &o.thresh_us.unwrap_or(0).to_string())?;
        let proc = o.verbose || pids.len() != 1 || args.target.inherit || args.target.system_wide;
        let retval = "Linux 6.5 with CONFIG_FUNCTION_GRAPH_RETVAL";
        // (option, value, asked for by the user, set even when not asked,
        //  what a kernel needs to have it)
        let wanted = [
            ("funcgraph-tail", o.tail, o.tail, true, "Linux 3.12"),
            ("funcgraph-irqs", !o.noirqs, o.noirqs, true, "Linux 3.4"),
            (
                "sleep-time",
                !o.nosleep_time,
                o.nosleep_time,
                true,
                "Linux 2.6.30",
            ),
            ("funcgraph-proc", proc, o.verbose, true, "Linux 2.6.30"),
            ("funcgraph-abstime", true, o.verbose, false, "Linux 2.6.32"),
            ("latency-format", true, o.verbose, false, "Linux 2.6.30"),
            ("funcgraph-retval", true, o.retval, false, retval),
            ("funcgraph-retval-hex", true, o.retval_hex, false, retval),
            (
                "funcgraph-retaddr",
                true,
                o.retaddr,
                false,
                "Linux 6.14 with CONFIG_FUNCTION_GRAPH_RETADDR",
            ),
            (
                "funcgraph-args",
                true,
                o.args,
                false,
                "Linux 6.15 with CONFIG_FUNCTION_TRACE_ARGS and BTF",
            ),
        ];
        for (name, on, asked, always, needs) in wanted {
            if !asked && !always {
                continue;
            }
            if asked && !session.tracefs().exists(&format!("options/{name}")) {
                return Err(Error::setup(format!(
                    "--graph-opts: this kernel has no options/{name} (it needs {needs})"
                )));
            }
            option(session, name, on)?;
        }
    }
    for opt in &args.trace_options {
        let (name, on) = match opt.strip_prefix("no") {
            Some(rest) if session.tracefs().exists(&format!("options/{rest}")) => (rest, false),
            _ => (opt.as_str(), true),
        };
        if !session.tracefs().exists(&format!("options/{name}")) {
            return Err(Error::usage(format!(
                "-O {opt}: no such trace option (see {}/options)",
                session.tracefs().root().display()
            )));
        }
        option(session, name, on)?;
    }
    if let Some(kb) = args.target.buffer_kb {
        session.set_global("buffer_size_kb", &kb.to_string())?;
    }
    if let Some(cpus) = &args.cpus {
        session.set_global("tracing_cpumask", &cpumask(cpus)?)?;
    }
    let list: Vec<String> = pids.iter().map(i32::to_string).collect();
    session.set_global("set_ftrace_pid", &list.join(" "))?;
    if pids.is_empty() && session.tracefs().exists("set_ftrace_notrace_pid") {
        // System-wide: leave out ftr's own reading and writing.
        session.set_global("set_ftrace_notrace_pid", quiet)?;
    }
    option(
        session,
        "function-fork",
        args.target.inherit && !pids.is_empty(),
    )?;
    if !args.events.is_empty() {
        session.set_global("set_event_pid", &list.join(" "))?;
        option(
            session,
            "event-fork",
            args.target.inherit && !pids.is_empty(),
        )?;
        session.set_global("set_event", &args.events.join("\n"))?;
    }
    session.set_global("current_tracer", &plan.tracer)
}

fn option(session: &mut Session, name: &str, on: bool) -> Result<()> {
    let rel = format!("options/{name}");
    if session.tracefs().exists(&rel) {
        session.set_global(&rel, if on { "1" } else { "0" })?;
    }
    Ok(())
}

/// `0-2,5` → a hex cpumask.
fn cpumask(list: &str) -> Result<String> {
    let bad = || Error::usage(format!("-C {list}: expected CPU numbers like 0-2,5"));
    let mut cpus = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (usize, usize) = match (a.trim().parse(), b.trim().parse()) {
            (Ok(a), Ok(b)) if a <= b && b < 8192 => (a, b),
            _ => return Err(bad()),
        };
        cpus.extend(a..=b);
    }
    let top = cpus.iter().max().ok_or_else(bad)?;
    // The kernel takes comma-separated 32-bit groups, most significant first.
    let mut words = vec![0u32; top / 32 + 1];
    for c in cpus {
        words[c / 32] |= 1 << (c % 32);
    }
    let groups: Vec<String> = words.iter().rev().map(|w| format!("{w:08x}")).collect();
    Ok(groups.join(","))
}

fn open_pipe(tracefs: &Tracefs) -> Result<File> {
    let path = tracefs.path("trace_pipe");
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| Error::io("open", &path, &e))
}

/// Most bytes taken from trace_pipe in one round, so that a stream that
/// never runs dry still lets the loop look at signals and the pager.
const MAX_ROUND: usize = 4 << 20;

fn drain(pipe: &File, view: &mut View) {
    let mut reader = pipe;
    let mut buf = std::mem::take(&mut view.read_buf);
    buf.resize(64 * 1024, 0);
    let mut taken = 0;
    while taken < MAX_ROUND {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                view.feed(&buf[..n]);
                taken += n;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    view.read_buf = buf;
}

/// Everything left once tracing is off.
fn drain_all(pipe: &File, view: &mut View) {
    let mut before = u64::MAX;
    while before != view.bytes {
        before = view.bytes;
        drain(pipe, view);
    }
}

/// Turns the text stream into rendered lines, keeping a partial last line
/// for the next read.
struct View {
    theme: Theme,
    /// `-o FILE`: the stream as the kernel wrote it.
    saved: Option<File>,
    partial: Vec<u8>,
    out: Vec<u8>,
    /// The second core's output, kept to reuse its memory.
    out2: Vec<u8>,
    /// The read buffer, kept to reuse its memory.
    read_buf: Vec<u8>,
    /// Bytes fed so far.
    bytes: u64,
    tally: Tally,
}

/// What the lines said besides themselves.
#[derive(Default)]
struct Tally {
    lines: u64,
    lost: u64,
    lost_unknown: bool,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.lines += other.lines;
        self.lost += other.lost;
        self.lost_unknown |= other.lost_unknown;
    }
}

/// Below this, a chunk is rendered on one core; above, on two (lines render
/// independently of each other, so `ftr report` of a big file halves its time).
const PARALLEL_CHUNK: usize = 256 * 1024;

impl View {
    fn new(theme: Theme, saved: Option<File>) -> View {
        View {
            theme,
            saved,
            partial: Vec::new(),
            out: Vec::with_capacity(64 * 1024),
            out2: Vec::new(),
            read_buf: Vec::new(),
            bytes: 0,
            tally: Tally::default(),
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        if let Some(file) = self.saved.as_mut() {
            if let Err(e) = file.write_all(bytes) {
                warn(format_args!("cannot write to the -o file: {e}"));
                self.saved = None;
            }
        }
        if self.theme.is_plain() {
            // Plain output is the kernel's bytes: pass them on untouched.
            self.out.extend_from_slice(bytes);
            self.tally_plain(bytes);
            return;
        }
        self.partial.extend_from_slice(bytes);
        let Some(last_nl) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let rest = self.partial.split_off(last_nl + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        // One UTF-8 check per chunk, not per line.
        let Ok(text) = std::str::from_utf8(&complete) else {
            // Bytes that are not UTF-8 (a comm, a trace_marker text): such
            // lines go out exactly as they came, uncolored.
            for line in complete.split_inclusive(|&b| b == b'\n') {
                match std::str::from_utf8(line) {
                    Ok(text) => self
                        .tally
                        .add(render_lines(text, &self.theme, &mut self.out)),
                    Err(_) => {
                        self.tally.lines += 1;
                        self.out.extend_from_slice(line);
                    }
                }
            }
            return;
        };
        let split = (text.len() > PARALLEL_CHUNK)
            .then(|| text[..text.len() / 2].rfind('\n'))
            .flatten();
        match split {
            Some(mid) => {
                let (first, second) = text.split_at(mid + 1);
                let theme = self.theme;
                let out2 = &mut self.out2;
                out2.clear();
                let second_tally = std::thread::scope(|scope| {
                    let worker = scope.spawn(|| render_lines(second, &theme, out2));
                    self.tally.add(render_lines(first, &theme, &mut self.out));
                    worker.join().unwrap_or_default()
                });
                self.tally.add(second_tally);
                self.out.extend_from_slice(&self.out2);
            }
            None => self
                .tally
                .add(render_lines(text, &self.theme, &mut self.out)),
        }
    }

    fn finish(&mut self) {
        if self.partial.is_empty() {
            return;
        }
        let mut line = std::mem::take(&mut self.partial);
        if self.theme.is_plain() {
            self.tally.lines += 1;
            self.tally_lost(&line);
            self.out.push(b'\n');
            return;
        }
        line.push(b'\n');
        match std::str::from_utf8(&line) {
            Ok(text) => self
                .tally
                .add(render_lines(text, &self.theme, &mut self.out)),
            Err(_) => {
                self.tally.lines += 1;
                self.out.extend_from_slice(&line);
            }
        }
    }

    /// Counts lines and lost events of plain output; a line cut by a read is
    /// kept in `partial` until its end arrives.
    fn tally_plain(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some(end) = find_newline(rest) {
            self.tally.lines += 1;
            if self.partial.is_empty() {
                self.tally_lost(&rest[..end]);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..end]);
                self.tally_lost(&line);
            }
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
    }

    fn tally_lost(&mut self, line: &[u8]) {
        if !line.windows(6).any(|w| w == b"[LOST ") {
            return;
        }
        if let Kind::Lost { count, .. } = parse_line(&String::from_utf8_lossy(line)).kind {
            match count {
                Some(n) => self.tally.lost += n,
                None => self.tally.lost_unknown = true,
            }
        }
    }
}

/// Renders complete lines (each ending in `\n`).
fn render_lines(text: &str, theme: &Theme, out: &mut Vec<u8>) -> Tally {
    let mut tally = Tally::default();
    let mut rest = text;
    while let Some(end) = find_newline(rest.as_bytes()) {
        // Splitting at an ASCII byte keeps both sides valid UTF-8.
        let (line, next) = rest.split_at(end);
        rest = &next[1..];
        tally.lines += 1;
        let parsed = parse_line(line);
        if let Kind::Lost { count, .. } = parsed.kind {
            match count {
                Some(n) => tally.lost += n,
                None => tally.lost_unknown = true,
            }
        }
        render::render_line(out, line, &parsed, theme);
    }
    tally
}

/// The first `\n`, eight bytes at a time.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = ONES * b'\n' as u64;
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[i..i + 8]);
        let x = u64::from_le_bytes(word) ^ NL;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| b == b'\n').map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_newlines_like_a_plain_search() {
        let text = b"abc\ndefghijklmnop\n\nqrstuvwxyz0123456789\nend";
        for start in 0..text.len() {
            let plain = text[start..].iter().position(|&b| b == b'\n');
            assert_eq!(find_newline(&text[start..]), plain, "from {start}");
        }
        assert_eq!(find_newline(b"\xff\xfe\x8a\x0a"), Some(3));
    }

    #[test]
    fn bytes_that_are_not_utf8_pass_through_exactly() {
        let input = b" 0)   bad\xff-12   |   1.000 us    |  f();\n 0)   1.000 us    |  g();\n";
        let mut v = View::new(Theme::color(), None);
        v.feed(input);
        v.finish();
        assert_eq!(strip_escapes(&v.out), input.to_vec());
        assert!(
            v.out.starts_with(b" 0)   bad\xff-12"),
            "the odd line is left as it was"
        );
    }

    #[test]
    fn cpu_masks_in_32_bit_groups() {
        assert_eq!(cpumask("0-2,5").unwrap(), "00000027");
        assert_eq!(cpumask("0,40").unwrap(), "00000100,00000001");
        assert!(cpumask("3-1").is_err());
        assert!(cpumask("x").is_err());
        assert!(cpumask("").is_err());
    }

    /// Every capture from real kernels: plain output is the input, colored
    /// output minus escapes is the input, and lines split across reads
    /// (as trace_pipe delivers them) render the same.
    #[test]
    fn real_captures_render_byte_exact() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/graph");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("fixtures").flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "txt") {
                continue;
            }
            let input = std::fs::read(&path).expect("read fixture");
            let mut plain = View::new(Theme::plain(), None);
            plain.feed(&input);
            plain.finish();
            let mut want = input.clone();
            if !want.ends_with(b"\n") {
                want.push(b'\n');
            }
            assert_eq!(plain.out, want, "{}", path.display());
            let mut color = View::new(Theme::color(), None);
            for piece in input.chunks(777) {
                color.feed(piece);
            }
            color.finish();
            assert_eq!(strip_escapes(&color.out), want, "{}", path.display());
            assert!(color.out.len() > want.len(), "{}: colored", path.display());
            seen += 1;
        }
        assert!(seen >= 30, "fixtures found: {seen}");
    }

    #[test]
    fn lost_events_are_counted() {
        let mut v = View::new(Theme::plain(), None);
        v.feed(b"CPU:3 [LOST 1885 EVENTS]\n 0)   1.0 us    |  f();\nCPU:0 [LOST EVENTS]\n");
        assert_eq!(
            (v.tally.lines, v.tally.lost, v.tally.lost_unknown),
            (3, 1885, true)
        );
    }

    fn strip_escapes(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == 0x1b {
                while i < b.len() && b[i] != b'm' {
                    i += 1;
                }
            } else {
                out.push(b[i]);
            }
            i += 1;
        }
        out
    }
}
