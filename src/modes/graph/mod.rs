//! Graph mode (`ftr -G FUNC`): the kernel's function_graph (or function)
//! tracer, configured through the session (every knob journaled), read in
//! binary from the per-CPU buffers (the kernel formats nothing in the
//! reader's time, so far fewer events are lost than through `trace_pipe`),
//! printed as the kernel's own text for the same records, and colorized.
//!
//! Where the kernel allows it (6.12), the tracer runs in ftr's own instance,
//! beside another tool's non-graph tracer; elsewhere (6.1) at the top level,
//! alone. The graph knobs (`set_graph_function`, `max_graph_depth`,
//! `tracing_thresh`…) are global either way (see `place`).

use std::fs::File;
use std::io::Read;

use crate::cli::{Analysis, GraphArgs, OutputArgs, ReportArgs};
use crate::error::{warn, Error, Result};
use crate::kernel::session::Session;
use crate::kernel::tracefs::Tracefs;
use crate::present::names;
use crate::present::output::{self, Output};
use crate::present::theme::Theme;
use crate::run::{self, Armed, Flow, Mode, Who};
use crate::source::mapped::Mapped;

pub mod analysis;
pub mod events;
pub mod kernel_text;
pub mod place;
pub mod profile;
pub mod records;
pub mod sources;

use crate::modes::report::view::{Tally, View};
use crate::modes::report::{parallel, parse};
use crate::source::stream::Sink;
use crate::source::stream::Stream;
use analysis::Analyzer;
use kernel_text::{Cmdlines, KernelText, Options};
use place::{Knobs, Where};
pub use profile::SortKey;
use sources::Sources;

use crate::present::newfile::NewFile;
use crate::source::capture::{self, CaptureWriter};
use crate::source::collector::{Batch, Collector};
use crate::source::reader::RawReader;
use crate::source::ringbuf::decode_page;

pub fn run(args: GraphArgs) -> Result<i32> {
    // -o saves the kernel's stream unchanged (for `ftr report`) while the
    // rendered graph still goes to the screen.
    let screen = OutputArgs {
        file: None,
        pager: args.output.pager,
        color: args.output.color,
    };
    run::run(&args.target, &screen, args.delay, |fs| {
        Graph::plan(fs, &args, &screen)
    })
}

/// The mode: the tracer's knobs, then the records, as the kernel's text,
/// colored.
struct Graph<'a> {
    args: &'a GraphArgs,
    plan: Plan,
    theme: Theme,
    live: Option<Live>,
    /// `-i`: when the current interval started.
    interval_start: std::time::Instant,
}

/// Where graph mode's records go: the kernel's text, or numbers.
enum Printer {
    Text(Box<KernelText>),
    Numbers(Box<Analyzer>),
}

impl Sink for Printer {
    fn layouts(&self) -> &records::Layouts {
        match self {
            Printer::Text(t) => Sink::layouts(&**t),
            Printer::Numbers(a) => a.layouts(),
        }
    }
    fn record(
        &mut self,
        cpu: u32,
        ts: u64,
        rec: &[u8],
        next: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> bool {
        match self {
            Printer::Text(t) => Sink::record(&mut **t, cpu, ts, rec, next, out),
            Printer::Numbers(a) => a.record(cpu, ts, rec, next, out),
        }
    }
    fn lost(&mut self, cpu: u32, count: u64, out: &mut Vec<u8>) {
        match self {
            Printer::Text(t) => Sink::lost(&mut **t, cpu, count, out),
            Printer::Numbers(a) => a.lost(cpu, count, out),
        }
    }
    fn set_cmdlines(&mut self, cmdlines: Cmdlines) {
        match self {
            Printer::Text(t) => Sink::set_cmdlines(&mut **t, cmdlines),
            Printer::Numbers(a) => a.set_cmdlines(cmdlines),
        }
    }
}

/// What reading the binary buffers takes, once armed.
struct Live {
    /// Moves the pages out of the kernel in a thread of its own.
    collector: Collector,
    stream: Stream<'static, Printer>,
    /// The kernel's text of this round, before coloring.
    text: Vec<u8>,
    /// The events of the page being decoded (kept for its memory).
    page_events: Vec<crate::source::ringbuf::Event>,
    /// Records read so far.
    events: u64,
    /// Events the kernel had lost before this trace (top-level stats are
    /// cumulative).
    lost_before: u64,
    /// Task names ftr knows (the command), for pids the kernel's
    /// saved_cmdlines lacks.
    known: String,
    cmdlines: std::path::PathBuf,
    /// `-o FILE`: the pages as read, for `ftr report`.
    capture: Option<CaptureWriter>,
}

impl Live {
    /// Renders the batches the collector brought.
    fn show(&mut self, batches: Vec<Batch>) {
        self.refresh_names();
        for batch in batches {
            for (cpu, pages) in &batch.pages {
                self.decode(*cpu, pages);
                self.save(*cpu, pages);
            }
            // A CPU that brought nothing in a pass has nothing more for now:
            // its waiting entry prints as `f() {`, as trace_pipe's does.
            for cpu in 0..self.stream.cpus() as u32 {
                if !batch.pages.iter().any(|(c, _)| *c == cpu) {
                    self.stream.idle(cpu);
                }
            }
            // Everything up to `now` is read on every CPU.
            self.stream
                .pump_before(batch.now.saturating_add(1), &mut self.text);
        }
    }

    /// A CPU's pages into the stream.
    fn decode(&mut self, cpu: u32, pages: &[u8]) {
        let page = self.collector.page_size();
        for at in (0..pages.len()).step_by(page) {
            self.page_events.clear();
            let len = page.min(pages.len() - at);
            let info = decode_page(pages, at, len, cpu, &mut self.page_events);
            if let Some(count) = info.lost {
                self.stream.push_lost(cpu, count);
            }
            for e in &self.page_events {
                self.events += 1;
                let record = &pages[e.start as usize..(e.start + e.len) as usize];
                self.stream.push(cpu, e.ts, record);
            }
        }
    }

    /// A CPU's pages into the capture, if one is being written.
    fn save(&mut self, cpu: u32, pages: &[u8]) {
        let Some(capture) = self.capture.as_mut() else {
            return;
        };
        if let Err(e) = capture.append_pages(cpu as usize, pages) {
            warn(format_args!("cannot write the capture (-o): {e}"));
            self.capture = None;
        }
    }

    /// The task names as the kernel has them now, and ftr's own.
    fn refresh_names(&mut self) {
        let saved = std::fs::read_to_string(&self.cmdlines).unwrap_or_default();
        self.stream
            .set_cmdlines(Cmdlines::parse(&format!("{saved}{}", self.known)));
    }
}

impl<'a> Graph<'a> {
    fn plan(tracefs: &Tracefs, args: &'a GraphArgs, screen: &OutputArgs) -> Result<Graph<'a>> {
        let plan = Plan::new(tracefs, args)?;
        if let Some(path) = &args.output.file {
            // Can it be written there? (Without touching a file of that
            // name: the capture takes it only once complete.)
            NewFile::create(path).map_err(|e| {
                Error::usage(format!("-o {}: cannot create it: {e}", path.display()))
            })?;
        }
        let theme = output::theme_for(screen);
        Ok(Graph {
            args,
            plan,
            theme,
            live: None,
            interval_start: std::time::Instant::now(),
        })
    }

    /// `-i SECS`: the histograms of each interval as it ends.
    fn interval(&mut self, out: &mut Vec<u8>) {
        let Some(Analysis::Latency { opts, .. }) = &self.args.analysis else {
            return;
        };
        let Some(every) = &opts.interval else {
            return;
        };
        let Some(live) = &mut self.live else { return };
        let elapsed = self.interval_start.elapsed();
        if elapsed < *every {
            return;
        }
        self.interval_start = std::time::Instant::now();
        if let Printer::Numbers(a) = live.stream.sink() {
            a.interval(out, &self.theme, elapsed.as_secs_f64());
        }
    }

    /// The text of the round, colored as it was written.
    fn show(&mut self, out: &mut Vec<u8>) {
        if let Some(live) = &mut self.live {
            out.append(&mut live.text);
        }
    }
}

impl Mode for Graph<'_> {
    fn what(&self) -> String {
        let args = self.args;
        let funcs = match (args.graph_funcs.is_empty(), args.filter_funcs.is_empty()) {
            (false, _) => format!(" under {}", args.graph_funcs.join(",")),
            (true, false) => format!(" of {}", args.filter_funcs.join(",")),
            (true, true) => String::new(),
        };
        format!("{}{funcs}", self.plan.tracer)
    }

    fn arm(&mut self, session: &mut Session, who: &Who) -> Result<Armed> {
        let at = Where::decide(session, &self.plan.tracer)?;
        at.check_others(session.tracefs(), self.args.force)?;
        arm(&mut Knobs { session, at: &at }, &self.plan, self.args, who)?;
        let fs = session.tracefs();
        let reader = RawReader::open(fs, at.dir())?;
        let sources = Sources::live(
            fs,
            at.dir(),
            &self.plan.tracer,
            &self.args.events,
            reader.page_size(),
        )?;
        let cpus = reader.cpus().max().map_or(0, |c| c as usize + 1);
        let capture =
            match &self.args.output.file {
                Some(path) => Some(CaptureWriter::create(path, sources.meta(), cpus).map_err(
                    |e| Error::usage(format!("-o {}: cannot write it: {e}", path.display())),
                )?),
                None => None,
            };
        let lost_before = reader.kernel_lost();
        let collector = Collector::start(reader)?;
        let data = vec![collector.wake_fd()];
        self.live = Some(Live {
            collector,
            stream: Stream::new(match &self.args.analysis {
                None => Printer::Text(Box::new(
                    KernelText::new(sources.kernel()?).styled(self.theme, self.args.errno_names),
                )),
                Some(ask) => Printer::Numbers(Box::new(Analyzer::new(
                    Some(sources.kernel()?),
                    ask.clone(),
                ))),
            }),
            text: Vec::with_capacity(64 * 1024),
            page_events: Vec::new(),
            events: 0,
            lost_before,
            known: who
                .command
                .as_ref()
                .map(|(pid, comm)| format!("{pid} {comm}\n"))
                .unwrap_or_default(),
            cmdlines: fs.path("saved_cmdlines"),
            capture,
        });
        Ok(Armed {
            buffer: at.buffer(),
            data,
        })
    }

    fn round(&mut self, out: &mut Vec<u8>) -> Flow {
        if let Some(live) = &mut self.live {
            let batches = live.collector.take();
            live.show(batches);
        }
        self.show(out);
        self.interval(out);
        Flow::Go
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Vec<String> {
        let (mut events, mut lost) = (0, 0);
        let mut tally = Tally::default();
        if let Some(mut live) = self.live.take() {
            // The collector reads what is left and gives the buffers back
            // (closed at the end of this block, before the restore).
            let (batches, reader) = live.collector.finish();
            live.show(batches);
            live.stream.finish(&mut live.text);
            events = live.events;
            let now_lost = reader.as_ref().map_or(0, RawReader::kernel_lost);
            lost = now_lost.saturating_sub(live.lost_before);
            if let Some(capture) = live.capture.take() {
                let names = std::fs::read_to_string(&live.cmdlines).unwrap_or_default();
                if let Err(e) = capture.finish(format!("{names}{}", live.known)) {
                    warn(format_args!("cannot write the capture (-o): {e}"));
                }
            }
            match live.stream.sink() {
                Printer::Numbers(a) => {
                    a.finish(out, &self.theme);
                    let lost = lost.max(a.lost);
                    let cut = match lost > 0 || a.lost_unknown {
                        true => ": calls around the losses are missing or cut short",
                        false => "",
                    };
                    return vec![format!("{events} events traced, {lost} events lost{cut}")];
                }
                Printer::Text(text) => tally = text.take_tally(),
            }
            out.append(&mut live.text);
        }
        // The stats count every loss; a page header only when it had room.
        let lost = lost.max(tally.lost);
        let mut closing = vec![format!("{events} events traced, {lost} events lost")];
        closing.extend(
            tally
                .errno_table()
                .map(|table| table.trim_end().to_string()),
        );
        closing
    }
}

/// `ftr report FILE`: renders a saved trace (`-o`, `cat trace`, `trace-cmd show`).
pub fn report(args: ReportArgs) -> Result<i32> {
    let name = args
        .input
        .as_ref()
        .map_or("standard input".to_string(), |p| p.display().to_string());
    let read_err = |e: std::io::Error| Error::usage(format!("report {name}: cannot read it: {e}"));
    if let Some(bad) = args
        .trace_options
        .iter()
        .find(|o| !Options::changes_text(o))
    {
        return Err(Error::usage(format!(
            "report -O {bad}: not an option of the graph's text (funcgraph-proc, funcgraph-abstime, nofuncgraph-cpu, funcgraph-tail, latency-format, …)"
        )));
    }
    let text_with_options = || {
        Error::usage(format!(
            "report -O: {name} is text, shown as the kernel wrote it; -O re-renders captures (ftr -o FILE)"
        ))
    };
    let mut input: Box<dyn Read> = match &args.input {
        Some(path) => {
            let file = File::open(path).map_err(|e| {
                Error::usage(format!("report {}: cannot open it: {e}", path.display()))
            })?;
            // A regular file is read in place; a capture's pages are then
            // never copied.
            // SAFETY: the file the user asked ftr to read; if another
            // process truncates it meanwhile, ftr dies of SIGBUS, as any
            // reader of a mapped file would (see Mapped::new).
            if let Some(bytes) = unsafe { Mapped::new(&file) } {
                if let Some(ask) = &args.analysis {
                    return report_numbers(&bytes, &mut &bytes[..], &name, ask, &args);
                }
                let mut output = Output::open(&args.output)?;
                let mut view = View::new(output.theme, args.errno_names);
                if bytes.starts_with(capture::MAGIC) {
                    report_capture(&bytes, &name, &args, &mut view, &mut output)?;
                } else if !args.trace_options.is_empty() {
                    return Err(text_with_options());
                } else {
                    for chunk in bytes.chunks(1 << 20) {
                        if output.reader_gone() {
                            break;
                        }
                        view.write(chunk, &mut output);
                    }
                }
                return Ok(report_end(view, output));
            }
            Box::new(file)
        }
        None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            return Err(Error::usage(
                "report: give a trace FILE, or pipe one in (ftr report - < FILE)",
            ))
        }
        None => Box::new(std::io::stdin().lock()),
    };
    // A capture (`-o`, or trace-cmd's trace.dat) starts with its magic;
    // anything else is text the kernel wrote.
    let mut head = Vec::with_capacity(capture::MAGIC.len());
    input
        .by_ref()
        .take(capture::MAGIC.len() as u64)
        .read_to_end(&mut head)
        .map_err(read_err)?;
    if let Some(ask) = &args.analysis {
        if head == capture::MAGIC {
            let mut bytes = head;
            input.read_to_end(&mut bytes).map_err(read_err)?;
            return report_numbers(&bytes, &mut &[][..], &name, ask, &args);
        }
        let mut lines = std::io::BufReader::new((&head[..]).chain(input));
        return report_numbers(&head, &mut lines, &name, ask, &args);
    }
    let mut output = Output::open(&args.output)?;
    let mut view = View::new(output.theme, args.errno_names);
    if head == capture::MAGIC {
        let mut bytes = head;
        input.read_to_end(&mut bytes).map_err(read_err)?;
        report_capture(&bytes, &name, &args, &mut view, &mut output)?;
    } else if !args.trace_options.is_empty() {
        return Err(text_with_options());
    } else {
        view.feed(&head);
        let mut buf = vec![0u8; 1 << 20];
        while !output.reader_gone() {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            };
            view.write(&buf[..n], &mut output);
        }
    }
    Ok(report_end(view, output))
}

/// `ftr report --profile|--folded|--latency`: the numbers of a capture
/// (`bytes`, when it starts with the magic) or of a text trace (`lines`).
fn report_numbers(
    bytes: &[u8],
    lines: &mut dyn std::io::BufRead,
    name: &str,
    ask: &Analysis,
    args: &ReportArgs,
) -> Result<i32> {
    let flag = match ask {
        Analysis::Latency { .. } => "--latency",
        Analysis::Profile { folded: true, .. } => "--folded",
        Analysis::Profile { .. } => "--profile",
    };
    let analyzer = if bytes.starts_with(capture::MAGIC) {
        let capture = capture::read(bytes)
            .map_err(|e| Error::usage(format!("report {name}: not a capture ftr can read: {e}")))?;
        let sources = Sources::of_capture(&capture);
        let analyzer = Analyzer::new(Some(sources.kernel()?), ask.clone());
        let mut scratch = Vec::new();
        sources::render_pages(
            analyzer,
            sources.page_size,
            &capture.cpu_data,
            &mut scratch,
            |_| true,
        )
    } else {
        let mut analyzer = Analyzer::new(None, ask.clone());
        let mut line = Vec::new();
        loop {
            line.clear();
            match lines.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(Error::usage(format!("report {name}: cannot read it: {e}"))),
            }
            let text = String::from_utf8_lossy(&line);
            let parsed = parse::parse_line(text.trim_end_matches('\n'));
            analyzer
                .text_line(&parsed)
                .map_err(|why| Error::usage(format!("report {flag} {name}: {why}")))?;
        }
        analyzer
    };
    let mut output = Output::open(&args.output)?;
    let mut out = Vec::new();
    analyzer.finish(&mut out, &output.theme);
    output.write(&out);
    output.finish();
    if analyzer.lost > 0 || analyzer.lost_unknown {
        warn(format_args!(
            "{name} lost events ({}): calls around the losses are missing or cut short",
            match analyzer.lost {
                0 => "how many unknown".to_string(),
                n => format!("{n}"),
            }
        ));
    }
    Ok(0)
}

/// Renders a capture's pages with its own options, `-O` on top: the CPUs
/// are printed on threads of their own, colored as they are written, and
/// merged here. The tally goes into `view`'s.
fn report_capture(
    bytes: &[u8],
    name: &str,
    args: &ReportArgs,
    view: &mut View,
    output: &mut Output,
) -> Result<()> {
    /// Pages of all CPUs printed before their lines are merged: enough
    /// that a window is much more than its hand-over, few enough that the
    /// text of a window stays in the caches.
    const WINDOW_PAGES: usize = 128;
    let capture = capture::read(bytes)
        .map_err(|e| Error::usage(format!("report {name}: not a capture ftr can read: {e}")))?;
    let mut sources = Sources::of_capture(&capture);
    // -O: the same records with other columns (later lines win).
    for opt in &args.trace_options {
        sources.trace_options.push('\n');
        sources.trace_options.push_str(opt);
    }
    let kernel = sources.kernel()?;
    if let Some(note) = sources.args_unnamed() {
        warn(note);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let printers = (0..threads.min(capture.cpu_data.len()).max(1))
        .map(|_| KernelText::new(kernel.clone()).styled(output.theme, args.errno_names))
        .collect();
    let mut out = Vec::new();
    let tally = parallel::render_pages(
        printers,
        sources.page_size,
        &capture.cpu_data,
        WINDOW_PAGES,
        &mut out,
        |text| {
            output.write(text);
            text.clear();
            !output.reader_gone()
        },
    );
    view.tally.add(tally);
    Ok(())
}

/// The end of a report: the last line, and the errno table of a trace read
/// to its end.
fn report_end(mut view: View, mut output: Output) -> i32 {
    view.finish();
    output.write(&view.out);
    let whole = !output.reader_gone();
    output.finish();
    // Counts of a trace read only in part would mislead.
    if let Some(table) = view.tally.errno_table().filter(|_| whole) {
        warn(table.trim_end());
    }
    0
}

/// Checked before anything is changed.
struct Plan {
    tracer: String,
    /// `-O` options: (name in options/, on).
    trace_options: Vec<(String, bool)>,
    /// `-C` as the mask tracing_cpumask takes.
    cpumask: Option<String>,
}

impl Plan {
    fn new(tracefs: &Tracefs, args: &GraphArgs) -> Result<Plan> {
        let tracers = tracefs.read("available_tracers")?;
        if args.analysis.is_some() && args.tracer.as_deref() == Some("function") {
            return Err(Error::usage(
                "-t function records no durations; ftr profile and ftr latency use function_graph",
            ));
        }
        let tracer = args.tracer.clone().unwrap_or_else(|| {
            if args.analysis.is_some() {
                "function_graph".to_string() // durations, even for -T alone
            } else if args.graph_funcs.is_empty() && !args.filter_funcs.is_empty() {
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
        let funcs = traceable_functions(tracefs)?;
        let known: Vec<&str> = funcs.iter().map(String::as_str).collect();
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
        if tracer == "function_graph" {
            for o in graph_options(args, false) {
                if o.asked && !tracefs.exists(&format!("options/{}", o.name)) {
                    return Err(Error::setup(format!(
                        "--graph-opts: this kernel has no options/{} (it needs {})",
                        o.name, o.needs
                    )));
                }
            }
        }
        let trace_options = args
            .trace_options
            .iter()
            .map(|opt| trace_option(tracefs, opt))
            .collect::<Result<_>>()?;
        let cpumask = match &args.cpus {
            Some(list) => Some(cpumask(list, &cpus_of(tracefs))?),
            None => None,
        };
        Ok(Plan {
            tracer,
            trace_options,
            cpumask,
        })
    }
}

/// `-O name` or `-O noname`: the option file and the value it gets.
fn trace_option(tracefs: &Tracefs, opt: &str) -> Result<(String, bool)> {
    let (name, on) = match opt.strip_prefix("no") {
        Some(rest) if tracefs.exists(&format!("options/{rest}")) => (rest, false),
        _ => (opt, true),
    };
    if name.is_empty() || name.contains('/') || !tracefs.exists(&format!("options/{name}")) {
        let all: Vec<String> = std::fs::read_dir(tracefs.path("options"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let hint = names::suggest(opt, all.iter().map(String::as_str))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(Error::usage(format!(
            "-O {opt}: no such trace option (not in {}/options){hint}",
            tracefs.root().display()
        )));
    }
    Ok((name.to_string(), on))
}

/// The CPUs tracefs has a buffer for (`per_cpu/cpuN`), ascending.
fn cpus_of(tracefs: &Tracefs) -> Vec<usize> {
    let mut cpus: Vec<usize> = std::fs::read_dir(tracefs.path("per_cpu"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.strip_prefix("cpu")?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    cpus.sort_unstable();
    cpus
}

/// One `options/*` flag of the function_graph tracer.
struct GraphOption {
    name: &'static str,
    on: bool,
    /// The user asked for it (--graph-opts): a kernel without it is an error.
    asked: bool,
    /// Set even when not asked for (to a known state, restored after).
    always: bool,
    /// What a kernel needs to have it.
    needs: &'static str,
}

/// The flags graph mode sets; `proc` = show the task column.
fn graph_options(args: &GraphArgs, proc: bool) -> [GraphOption; 10] {
    let o = &args.opts;
    let retval = "Linux 6.5 with CONFIG_FUNCTION_GRAPH_RETVAL";
    let flag = |name, on, asked, always, needs| GraphOption {
        name,
        on,
        asked,
        always,
        needs,
    };
    [
        flag("funcgraph-tail", o.tail, o.tail, true, "Linux 3.12"),
        flag("funcgraph-irqs", !o.noirqs, o.noirqs, true, "Linux 3.4"),
        flag(
            "sleep-time",
            !o.nosleep_time,
            o.nosleep_time,
            true,
            "Linux 2.6.30",
        ),
        flag("funcgraph-proc", proc, o.verbose, true, "Linux 2.6.30"),
        flag("funcgraph-abstime", true, o.verbose, false, "Linux 2.6.32"),
        flag("latency-format", true, o.verbose, false, "Linux 2.6.30"),
        flag("funcgraph-retval", true, o.retval, false, retval),
        flag("funcgraph-retval-hex", true, o.retval_hex, false, retval),
        flag(
            "funcgraph-retaddr",
            true,
            o.retaddr,
            false,
            "Linux 6.14 with CONFIG_FUNCTION_GRAPH_RETADDR",
        ),
        flag(
            "funcgraph-args",
            true,
            o.args,
            false,
            "Linux 6.15 with CONFIG_FUNCTION_TRACE_ARGS and BTF",
        ),
    ]
}

/// The names in `available_filter_functions` (without their `[module]`).
pub fn traceable_functions(tracefs: &Tracefs) -> Result<Vec<String>> {
    let text = tracefs
        .read("available_filter_functions")
        .map_err(|e| Error::setup(format!("this kernel does not allow function tracing: {e}")))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect())
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

/// Writes every knob where it takes effect (see `place`), tracer last;
/// recording stays off (the run turns it on).
fn arm(knobs: &mut Knobs, plan: &Plan, args: &GraphArgs, who: &Who) -> Result<()> {
    let pids = &who.tids;
    let quiet = who.quiet.as_str();
    let o = &args.opts;
    let lines = |v: &[String]| v.join("\n");
    knobs.set("tracing_on", "0")?;
    knobs.set("set_ftrace_filter", &lines(&args.filter_funcs))?;
    knobs.set("set_ftrace_notrace", &lines(&args.notrace_funcs))?;
    if plan.tracer == "function_graph" {
        knobs.set("set_graph_function", &lines(&args.graph_funcs))?;
        knobs.set("set_graph_notrace", &lines(&args.nograph_funcs))?;
        knobs.set("max_graph_depth", &o.depth.unwrap_or(0).to_string())?;
        knobs.set("tracing_thresh", &o.thresh_us.unwrap_or(0).to_string())?;
        let proc = o.verbose || pids.len() != 1 || who.inherit;
        for o in graph_options(args, proc) {
            if o.asked || o.always {
                knobs.option(o.name, o.on)?;
            }
        }
    }
    for (name, on) in &plan.trace_options {
        knobs.option(name, *on)?;
    }
    if let Some(kb) = args.target.buffer_kb {
        knobs.set("buffer_size_kb", &kb.to_string())?;
    }
    if let Some(mask) = &plan.cpumask {
        knobs.set("tracing_cpumask", mask)?;
    }
    let list: Vec<String> = pids.iter().map(i32::to_string).collect();
    knobs.set("set_ftrace_pid", &list.join(" "))?;
    if pids.is_empty() && knobs.has("set_ftrace_notrace_pid") {
        // System-wide: leave out ftr's own reading and writing.
        knobs.set("set_ftrace_notrace_pid", quiet)?;
    }
    let inherit = args.target.inherit && !pids.is_empty();
    knobs.option("function-fork", inherit)?;
    if !args.events.is_empty() {
        knobs.set("set_event_pid", &list.join(" "))?;
        knobs.option("event-fork", inherit)?;
        knobs.set("set_event", &args.events.join("\n"))?;
    }
    knobs.set("current_tracer", &plan.tracer)
}

/// `0-2,5` → a hex cpumask, each CPU one of `known` (when that is known).
fn cpumask(list: &str, known: &[usize]) -> Result<String> {
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
    if let Some(c) = cpus
        .iter()
        .find(|c| !known.is_empty() && !known.contains(c))
    {
        let (first, last) = (known[0], known[known.len() - 1]);
        return Err(Error::usage(format!(
            "-C {list}: this machine has no CPU {c} (its CPUs are {first}-{last}, see per_cpu/ in tracefs)"
        )));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_masks_in_32_bit_groups() {
        assert_eq!(cpumask("0-2,5", &[]).unwrap(), "00000027");
        assert_eq!(cpumask("0,40", &[]).unwrap(), "00000100,00000001");
        assert!(cpumask("3-1", &[]).is_err());
        assert!(cpumask("x", &[]).is_err());
        assert!(cpumask("", &[]).is_err());
        assert_eq!(cpumask("1", &[0, 1]).unwrap(), "00000002");
        let err = cpumask("0-2", &[0, 1]).unwrap_err().msg;
        assert!(err.contains("no CPU 2") && err.contains("0-1"), "{err}");
    }
}
