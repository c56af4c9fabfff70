//! The command line, parsed into plain structs. No tracing happens here.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use lexopt::prelude::*;

use crate::error::{Error, Result};
use crate::modes::graph::SortKey;
use crate::present::hist::{self, Linear, Show};

#[derive(Debug)]
pub enum Command {
    Trace(TraceArgs),
    Noise(NoiseArgs),
    Graph(Box<GraphArgs>),
    Report(ReportArgs),
    List {
        what: ListWhat,
        glob: Option<String>,
    },
    Reset,
    Help,
    Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListWhat {
    Syscalls,
    Events,
    Tracers,
    Functions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// What to trace: a command to run, pids to attach to, or the whole system.
#[derive(Debug, Default)]
pub struct Target {
    pub command: Vec<OsString>,
    pub pids: Vec<i32>,
    pub system_wide: bool,
    pub inherit: bool,
    pub user: Option<String>,
    pub timeout: Option<Duration>,
    pub buffer_kb: Option<u64>,
}

#[derive(Debug)]
pub struct OutputArgs {
    pub file: Option<PathBuf>,
    pub pager: bool,
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    None,
    Only,
    Also,
}

#[derive(Debug)]
pub struct TraceArgs {
    pub target: Target,
    pub output: OutputArgs,
    /// The `-e` list as given; `None` means every syscall.
    pub syscalls: Option<String>,
    pub min_duration_ns: Option<u64>,
    pub failures_only: bool,
    /// `--no-strings`: no event probes; pointers instead of file names.
    pub no_strings: bool,
    pub summary: Summary,
    pub hist: bool,
    pub absolute_time: bool,
    /// `ftr latency -e`: histograms instead of lines and the table.
    pub latency: Option<LatencyOpts>,
}

/// `ftr osnoise` and `ftr timerlat` (rtla's spellings).
#[derive(Debug)]
pub struct NoiseArgs {
    pub tracer: crate::modes::noise::Tracer,
    pub target: Target,
    pub output: OutputArgs,
    pub cpus: Option<String>,
    pub period_us: Option<u64>,
    /// osnoise only.
    pub runtime_us: Option<u64>,
    /// stop_tracing_us: osnoise's single noise, timerlat's irq latency.
    pub stop_us: Option<u64>,
    /// stop_tracing_total_us: osnoise's total noise in a period,
    /// timerlat's thread latency.
    pub stop_total_us: Option<u64>,
    /// tracing_thresh: the smallest noise counted (osnoise).
    pub threshold_us: Option<u64>,
    pub comm: Option<String>,
    pub hist: bool,
    /// `--live`: record every noise event and show it as it comes. Off,
    /// only the kernel's own summaries are recorded, as rtla's top does.
    pub live: bool,
}

/// `ftr latency`'s display options (perf ftrace latency's spelling).
#[derive(Debug, Clone, Copy, Default)]
pub struct LatencyOpts {
    pub show: Show,
    pub linear: Option<Linear>,
    pub interval: Option<Duration>,
}

#[derive(Debug, Default)]
pub struct GraphOpts {
    pub depth: Option<u32>,
    pub thresh_us: Option<u64>,
    pub nosleep_time: bool,
    pub noirqs: bool,
    pub tail: bool,
    pub verbose: bool,
    pub retval: bool,
    pub retval_hex: bool,
    pub retaddr: bool,
    pub args: bool,
}

/// What `ftr profile` and `ftr latency` ask of the records, instead of
/// their text.
#[derive(Debug, Clone)]
pub enum Analysis {
    Profile {
        sort: SortKey,
        folded: bool,
    },
    Latency {
        /// `-T FUNC`; `None`: the outermost calls (`ftr report --latency`).
        func: Option<String>,
        opts: LatencyOpts,
    },
}

#[derive(Debug)]
pub struct GraphArgs {
    pub target: Target,
    pub output: OutputArgs,
    pub tracer: Option<String>,
    pub graph_funcs: Vec<String>,
    pub nograph_funcs: Vec<String>,
    pub filter_funcs: Vec<String>,
    pub notrace_funcs: Vec<String>,
    pub opts: GraphOpts,
    pub events: Vec<String>,
    pub trace_options: Vec<String>,
    pub cpus: Option<String>,
    pub delay: Option<Duration>,
    pub force: bool,
    pub errno_names: bool,
    /// `ftr profile`, `ftr latency -T`: numbers instead of the graph.
    pub analysis: Option<Analysis>,
}

#[derive(Debug)]
pub struct ReportArgs {
    pub input: Option<PathBuf>,
    pub output: OutputArgs,
    pub errno_names: bool,
    /// `-O` options to render a capture with instead of its own.
    pub trace_options: Vec<String>,
    /// `--profile`, `--folded`, `--latency`.
    pub analysis: Option<Analysis>,
}

pub const USAGE: &str = "\
ftr: one-command Linux kernel tracing that always puts tracefs back

Usage:
  ftr trace [OPTIONS] [-e SYSCALLS] [--] [COMMAND [ARGS...]]
  ftr [graph] [OPTIONS] -G FUNC [--] [COMMAND [ARGS...]]
  ftr latency -T FUNC | -e SYSCALLS [OPTIONS] [--] [COMMAND [ARGS...]]
  ftr profile [OPTIONS] [-G FUNC]... [--folded] [--] [COMMAND [ARGS...]]
  ftr report [--errno-names] [-O OPT]... [FILE|-]
  ftr report --profile [-s KEY] | --folded | --latency [-T FUNC] [FILE|-]
  ftr osnoise [OPTIONS] [--] [COMMAND [ARGS...]]
  ftr timerlat [OPTIONS] [--] [COMMAND [ARGS...]]
  ftr list syscalls|events|tracers|functions [GLOB]
  ftr reset

Syscall mode (ftr trace):
  -e, --event LIST        syscalls to trace: names, globs ('pwrite*'), strace's
                          classes (%file, %process, %net, %signal, %ipc, %desc,
                          %memory: ftr list syscalls shows them), 'all';
                          a leading '!' traces all but the list (default: all)
      --duration MS       show only calls that took longer than MS milliseconds
      --failure           show only calls that failed
      --no-strings        show pointers, not file names and execve's arguments
                          (no event probes)
  -s, --summary           show only the summary (per-syscall statistics)
  -S, --with-summary      show the calls and then the summary
      --hist              add the distribution of durations (4 rows per power
                          of two, percentiles, the slowest call) to the summary
  -T, --time              absolute timestamps (the trace clock, ms)

Noise (ftr osnoise, ftr timerlat; Linux 5.14+ with CONFIG_OSNOISE_TRACER):
  -C, --cpus LIST         CPUs to measure (default: all)
      --period US         osnoise: period (1000000); timerlat: timer period (1000)
      --runtime US        osnoise: measured part of each period (900000)
      --stop-us US        osnoise: stop when one noise lasts US or more
      --stop-total-us US  osnoise: stop when a period's noise adds up to US
      --threshold US      osnoise: the smallest noise counted (tracing_thresh;
                          0: the kernel's 5 us)
      --comm GLOB         osnoise: show only threads named GLOB (all are measured)
      --irq-stop-us US    timerlat: stop when the timer irq's latency reaches US
      --thread-stop-us US timerlat: stop when the timer thread's latency reaches US
  -d, --duration TIME     stop after TIME (30, 30s, 5m, 1h, 1d)
      --hist              add the distribution of noise durations (latencies)
      --live              record every noise event, show each as it comes and
                          add the table of sources (costs the CPU measured
                          some noise: see man ftr); default: the summary only

Graph mode (the default mode):
  -G, --graph-funcs FUNC  graph the calls under FUNC (repeatable, globs)
  -g, --nograph-funcs FUNC  do not graph under FUNC
  -T, --trace-funcs FUNC  trace only FUNC (with no -G: the function tracer)
  -N, --notrace-funcs FUNC  never trace FUNC
  -t, --tracer TRACER     function_graph (default) or function
      --graph-opts OPTS   depth=N,thresh=US,nosleep-time,noirqs,tail,verbose,
                          retval,retval-hex,retaddr,args
  -e, --event EVENT       show EVENT (e.g. sched:sched_switch) inline
  -O, --option OPT        set a trace option (e.g. funcgraph-proc, nofuncgraph-cpu)
  -C, --cpu CPUS          trace only these CPUs (e.g. 0-2,5)
  -D, --delay MS          start tracing MS milliseconds after the command
  -F, --funcs [GLOB]      list traceable functions and exit
      --force             take over tracefs even if another tracer is active
      --errno-names       name errno return values (-12 ENOMEM); the output
                          then differs from the kernel's

Latency (ftr latency): the distribution of durations, four rows per power
of two, with count, min, p50, p90, p99, p99.9, max, total and the slowest call
  -T, --trace-funcs FUNC  a kernel function's calls (function_graph)
  -e, --event LIST        syscalls instead (works without function tracing)
  -n, --use-nsec          --bucket-range, --min/max-latency in ns (default us)
      --bucket-range N    linear buckets N wide instead
      --min-latency N     the first linear bucket starts at N
      --max-latency N     the last linear bucket ends at N
      --hide-empty        leave out empty rows
  -i, --interval SECS     also show each interval's histogram every SECS

Profile (ftr profile): per kernel function total, self, avg, max and count;
takes graph mode's -G, -g, -T, -N, --graph-opts, -C
  -s, --sort KEY          total (default), self, avg, max, count or name
      --folded            collapsed stacks of self time (ns), for flamegraph.pl

Report (ftr report FILE): renders a saved trace; or, of a capture (-o) or a
text trace with task column or a single task,
      --profile           the profile table (-s KEY sorts it)
      --folded            collapsed stacks
      --latency           histograms of the outermost calls (-T FUNC: of FUNC)

What to trace (all modes):
  -p, --pid PID[,PID...]  attach to running processes (all their threads)
  -a, --all-cpus          trace the whole system
      --inherit           follow children of the command (default)
      --no-inherit        do not follow children
  -u, --user USER         run COMMAND as USER
      --timeout SECS      stop after SECS seconds
  -m, --buffer-size SIZE  ring buffer per CPU (e.g. 4M, 512K)

Output:
  -o, --output FILE       write the trace to FILE (no pager, no color)
      --no-pager          never page
      --color WHEN        auto, always or never
  -h, --help              show this help
  -V, --version           show the version

Without a command, -p or -a, ftr traces the whole system until Ctrl-C or
--timeout. ftr exits with the command's status (128+N if killed by signal N);
125 if ftr itself fails, 126 if the command cannot run, 127 if not found.
See man ftr for more.
";

/// Parses the whole command line (without argv[0]).
pub fn parse(args: Vec<OsString>) -> Result<Command> {
    let first = args.first().and_then(|a| a.to_str()).unwrap_or("");
    let rest = || args[1..].to_vec();
    match first {
        "trace" => parse_trace(rest()),
        "osnoise" => parse_noise(rest(), crate::modes::noise::Tracer::Osnoise),
        "timerlat" => parse_noise(rest(), crate::modes::noise::Tracer::Timerlat),
        "graph" => parse_graph(rest()),
        "report" => parse_report(rest()),
        "latency" => parse_latency(rest()),
        "profile" => parse_graph_as(
            rest(),
            Some(Analysis::Profile {
                sort: SortKey::Total,
                folded: false,
            }),
        ),
        "list" => parse_list(rest()),
        "reset" => match args.len() {
            1 => Ok(Command::Reset),
            _ => Err(Error::usage("`ftr reset` takes no arguments")),
        },
        "help" | "-h" | "--help" => Ok(Command::Help),
        "-V" | "--version" => Ok(Command::Version),
        _ => parse_graph(args),
    }
}

/// Options shared by the tracing modes; returns false when `arg` is not one.
fn common(
    key: &str,
    parser: &mut lexopt::Parser,
    target: &mut Target,
    output: &mut OutputArgs,
) -> Result<bool> {
    match key {
        "p" | "pid" => {
            let list = string(parser, "-p")?;
            for pid in list.split(',').filter(|p| !p.is_empty()) {
                let pid: i32 = pid
                    .trim()
                    .parse()
                    .ok()
                    .filter(|&p: &i32| p > 0)
                    .ok_or_else(|| {
                        Error::usage(format!("-p {list}: `{pid}` is not a process id"))
                    })?;
                target.pids.push(pid);
            }
        }
        "a" | "all-cpus" => target.system_wide = true,
        "inherit" => target.inherit = true,
        "no-inherit" => target.inherit = false,
        "u" | "user" => target.user = Some(string(parser, "-u")?),
        "timeout" => {
            target.timeout = Some(duration(&string(parser, "--timeout")?, 1.0, "--timeout")?);
        }
        "m" | "buffer-size" => {
            target.buffer_kb = Some(size_kb(&string(parser, "-m")?)?);
        }
        "o" | "output" => output.file = Some(parser.value()?.into()),
        "no-pager" => output.pager = false,
        "color" | "colour" => {
            output.color = match string(parser, "--color")?.as_str() {
                "auto" => ColorChoice::Auto,
                "always" => ColorChoice::Always,
                "never" => ColorChoice::Never,
                other => {
                    return Err(Error::usage(format!(
                        "--color {other}: expected auto, always or never"
                    )))
                }
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn new_target() -> (Target, OutputArgs) {
    let target = Target {
        inherit: true,
        ..Target::default()
    };
    let output = OutputArgs {
        file: None,
        pager: true,
        color: ColorChoice::Auto,
    };
    (target, output)
}

/// `-d 30`, `-d 30s`, `-d 5m`, `-d 1h`, `-d 1d`: rtla's durations.
fn rtla_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    let (num, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let unit = match c {
                's' => 1.0,
                'm' => 60.0,
                'h' => 3600.0,
                'd' => 86400.0,
                _ => {
                    return Err(Error::usage(format!(
                        "-d {text}: expected seconds, or a number with s, m, h or d"
                    )))
                }
            };
            (&t[..i], unit)
        }
        _ => (t, 1.0),
    };
    duration(num, unit, "-d")
}

fn parse_noise(args: Vec<OsString>, tracer: crate::modes::noise::Tracer) -> Result<Command> {
    use crate::modes::noise::Tracer;
    let (mut target, mut output) = new_target();
    let mut n = NoiseArgs {
        tracer,
        target: Target::default(),
        output: OutputArgs {
            file: None,
            pager: true,
            color: ColorChoice::Auto,
        },
        cpus: None,
        period_us: None,
        runtime_us: None,
        stop_us: None,
        stop_total_us: None,
        threshold_us: None,
        comm: None,
        hist: false,
        live: false,
    };
    let us = |parser: &mut lexopt::Parser, flag: &str| -> Result<Option<u64>> {
        let v = string(parser, flag)?;
        Ok(Some(integer(&v, flag)?))
    };
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = next(&mut parser)? {
        let key = match arg {
            Opt::Key(key) => key,
            Opt::Value(v) => {
                target.command.push(v);
                target.command.extend(parser.raw_args()?);
                continue;
            }
        };
        match (key.as_str(), tracer) {
            ("p" | "pid" | "a" | "all-cpus" | "inherit" | "no-inherit", _) => {
                return Err(Error::usage(format!(
                    "ftr {}: measures whole CPUs; -{key} does not apply (--cpus picks them)",
                    if tracer == Tracer::Osnoise {
                        "osnoise"
                    } else {
                        "timerlat"
                    }
                )))
            }
            _ if common(&key, &mut parser, &mut target, &mut output)? => {}
            ("C" | "cpus", _) => n.cpus = Some(string(&mut parser, "--cpus")?),
            ("period", _) => n.period_us = us(&mut parser, "--period")?,
            ("runtime", Tracer::Osnoise) => n.runtime_us = us(&mut parser, "--runtime")?,
            ("stop-us", Tracer::Osnoise) => n.stop_us = us(&mut parser, "--stop-us")?,
            ("stop-total-us", Tracer::Osnoise) => {
                n.stop_total_us = us(&mut parser, "--stop-total-us")?
            }
            ("threshold", Tracer::Osnoise) => n.threshold_us = us(&mut parser, "--threshold")?,
            ("comm", Tracer::Osnoise) => n.comm = Some(string(&mut parser, "--comm")?),
            ("irq-stop-us", Tracer::Timerlat) => n.stop_us = us(&mut parser, "--irq-stop-us")?,
            ("thread-stop-us", Tracer::Timerlat) => {
                n.stop_total_us = us(&mut parser, "--thread-stop-us")?
            }
            ("d" | "duration", _) => {
                target.timeout = Some(rtla_duration(&string(&mut parser, "-d")?)?)
            }
            ("hist", _) => n.hist = true,
            ("live", _) => n.live = true,
            ("h" | "help", _) => return Ok(Command::Help),
            _ => return Err(unknown(&key)),
        }
    }
    target.system_wide = true;
    n.target = target;
    n.output = output;
    Ok(Command::Noise(n))
}

fn parse_trace(args: Vec<OsString>) -> Result<Command> {
    parse_trace_as(args, false)
}

/// Trace mode's options; `ftr latency -e` (`latency`) adds its own.
fn parse_trace_as(args: Vec<OsString>, latency: bool) -> Result<Command> {
    let mut flags = LatencyFlags::default();
    let (mut target, mut output) = new_target();
    let mut t = TraceArgs {
        target: Target::default(),
        output: OutputArgs {
            file: None,
            pager: true,
            color: ColorChoice::Auto,
        },
        syscalls: None,
        min_duration_ns: None,
        failures_only: false,
        no_strings: false,
        summary: Summary::None,
        hist: false,
        absolute_time: false,
        latency: None,
    };
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = next(&mut parser)? {
        let key = match arg {
            Opt::Key(key) => key,
            Opt::Value(v) => {
                target.command.push(v);
                target.command.extend(parser.raw_args()?);
                continue;
            }
        };
        if common(&key, &mut parser, &mut target, &mut output)? {
            continue;
        }
        match key.as_str() {
            "e" | "event" | "expr" => {
                let list = string(&mut parser, "-e")?;
                if list.trim().trim_start_matches('!').trim().is_empty() {
                    return Err(Error::usage("-e: the syscall list is empty"));
                }
                t.syscalls = Some(match t.syscalls.take() {
                    Some(prev) => format!("{prev},{list}"),
                    None => list,
                });
            }
            "duration" => {
                let ms = number(&string(&mut parser, "--duration")?, "--duration")?;
                t.min_duration_ns = Some((ms * 1e6) as u64);
            }
            "failure" => t.failures_only = true,
            "no-strings" => t.no_strings = true,
            "s" | "summary" => t.summary = Summary::Only,
            "S" | "with-summary" => t.summary = Summary::Also,
            "hist" => t.hist = true,
            "T" | "time" => t.absolute_time = true,
            "h" | "help" => return Ok(Command::Help),
            _ if latency && flags.take(&key, &mut parser)? => {}
            _ => return Err(unknown(&key)),
        }
    }
    if latency {
        t.summary = Summary::Only;
        t.latency = Some(flags.finish()?);
    }
    if t.hist && t.summary == Summary::None {
        t.summary = Summary::Also;
    }
    check_target(&target)?;
    t.target = target;
    t.output = output;
    Ok(Command::Trace(t))
}

fn parse_graph(args: Vec<OsString>) -> Result<Command> {
    parse_graph_as(args, None)
}

/// Graph mode's options; `ftr profile` (`analysis` set) adds its own.
fn parse_graph_as(args: Vec<OsString>, analysis: Option<Analysis>) -> Result<Command> {
    let profiling = matches!(analysis, Some(Analysis::Profile { .. }));
    let latency = matches!(analysis, Some(Analysis::Latency { .. }));
    let mut flags = LatencyFlags::default();
    let (mut target, mut output) = new_target();
    let mut g = GraphArgs {
        target: Target::default(),
        output: OutputArgs {
            file: None,
            pager: true,
            color: ColorChoice::Auto,
        },
        tracer: None,
        graph_funcs: Vec::new(),
        nograph_funcs: Vec::new(),
        filter_funcs: Vec::new(),
        notrace_funcs: Vec::new(),
        opts: GraphOpts::default(),
        events: Vec::new(),
        trace_options: Vec::new(),
        cpus: None,
        delay: None,
        force: false,
        errno_names: false,
        analysis,
    };
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = next(&mut parser)? {
        let key = match arg {
            Opt::Key(key) => key,
            Opt::Value(v) => {
                target.command.push(v);
                target.command.extend(parser.raw_args()?);
                continue;
            }
        };
        if common(&key, &mut parser, &mut target, &mut output)? {
            continue;
        }
        match key.as_str() {
            "G" | "graph-funcs" => push_list(&mut g.graph_funcs, &mut parser, "-G")?,
            "g" | "nograph-funcs" => push_list(&mut g.nograph_funcs, &mut parser, "-g")?,
            "T" | "trace-funcs" => push_list(&mut g.filter_funcs, &mut parser, "-T")?,
            "N" | "notrace-funcs" => push_list(&mut g.notrace_funcs, &mut parser, "-N")?,
            "t" | "tracer" => {
                let tracer = string(&mut parser, "-t")?;
                if tracer != "function_graph" && tracer != "function" {
                    return Err(Error::usage(format!(
                        "-t {tracer}: expected function_graph or function"
                    )));
                }
                g.tracer = Some(tracer);
            }
            "graph-opts" => parse_graph_opts(&mut g.opts, &string(&mut parser, "--graph-opts")?)?,
            "e" | "event" => g.events.push(string(&mut parser, "-e")?),
            "O" | "option" => g.trace_options.push(string(&mut parser, "-O")?),
            "C" | "cpu" => g.cpus = Some(string(&mut parser, "-C")?),
            "D" | "delay" => {
                g.delay = Some(duration(&string(&mut parser, "-D")?, 1e-3, "-D")?);
            }
            "F" | "funcs" => {
                let glob = parser
                    .optional_value()
                    .map(|v| v.to_string_lossy().into_owned());
                return Ok(Command::List {
                    what: ListWhat::Functions,
                    glob,
                });
            }
            "force" => g.force = true,
            "errno-names" => g.errno_names = true,
            "s" | "sort" if profiling => {
                let key = string(&mut parser, "-s")?;
                let sort = sort_key(&key)?;
                if let Some(Analysis::Profile { sort: s, .. }) = &mut g.analysis {
                    *s = sort;
                }
            }
            "folded" if profiling => {
                if let Some(Analysis::Profile { folded, .. }) = &mut g.analysis {
                    *folded = true;
                }
            }
            "h" | "help" => return Ok(Command::Help),
            _ if latency && flags.take(&key, &mut parser)? => {}
            _ => return Err(unknown(&key)),
        }
    }
    if latency {
        let [func] = &g.filter_funcs[..] else {
            return Err(Error::usage("ftr latency -T: one function at a time"));
        };
        if func.contains(['*', '?', '[']) {
            return Err(Error::usage(format!(
                "ftr latency -T {func}: one function, not a pattern (ftr -F '{func}' lists the matches)"
            )));
        }
        g.analysis = Some(Analysis::Latency {
            func: Some(func.clone()),
            opts: flags.finish()?,
        });
    }
    if g.graph_funcs.is_empty()
        && g.filter_funcs.is_empty()
        && target.command.is_empty()
        && target.pids.is_empty()
        && !target.system_wide
    {
        return Err(Error::usage(
            "nothing to trace: give -G FUNC, a command, -p PID or -a (see ftr --help)",
        ));
    }
    check_target(&target)?;
    g.target = target;
    g.output = output;
    Ok(Command::Graph(Box::new(g)))
}

fn sort_key(key: &str) -> Result<SortKey> {
    SortKey::parse(key).ok_or_else(|| {
        Error::usage(format!(
            "-s {key}: expected total, self, avg, max, count or name"
        ))
    })
}

/// Whether an option of any mode takes a value (`-p PID`, `--color WHEN`):
/// for the scan that picks `ftr latency`'s mode.
fn takes_value(name: &str) -> bool {
    matches!(
        name,
        "p" | "pid"
            | "u"
            | "user"
            | "timeout"
            | "m"
            | "buffer-size"
            | "color"
            | "colour"
            | "o"
            | "output"
            | "C"
            | "cpu"
            | "D"
            | "delay"
            | "G"
            | "graph-funcs"
            | "g"
            | "nograph-funcs"
            | "N"
            | "notrace-funcs"
            | "graph-opts"
            | "O"
            | "option"
            | "T"
            | "trace-funcs"
            | "e"
            | "event"
            | "expr"
            | "i"
            | "interval"
            | "bucket-range"
            | "min-latency"
            | "max-latency"
            | "duration"
            | "t"
            | "tracer"
            | "s"
            | "sort"
    )
}

/// `ftr latency`'s own options, collected while graph or trace mode parses
/// the rest.
#[derive(Default)]
struct LatencyFlags {
    opts: LatencyOpts,
    range: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
}

impl LatencyFlags {
    /// Takes `key` if it is one of them.
    fn take(&mut self, key: &str, parser: &mut lexopt::Parser) -> Result<bool> {
        let mut num =
            |flag: &str| -> Result<Option<f64>> { Ok(Some(number(&string(parser, flag)?, flag)?)) };
        match key {
            "n" | "use-nsec" => self.opts.show.nsec = true,
            "hide-empty" => self.opts.show.hide_empty = true,
            "bucket-range" => self.range = num("--bucket-range")?,
            "min-latency" => self.min = num("--min-latency")?,
            "max-latency" => self.max = num("--max-latency")?,
            "i" | "interval" => {
                let every = duration(&string(parser, "-i")?, 1.0, "-i")?;
                if every.is_zero() {
                    return Err(Error::usage("-i: the interval must be above 0 seconds"));
                }
                self.opts.interval = Some(every);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The options, checked, with the linear buckets in ns.
    fn finish(self) -> Result<LatencyOpts> {
        let mut opts = self.opts;
        let unit = if opts.show.nsec { 1.0 } else { 1000.0 };
        let Some(r) = self.range else {
            if self.min.is_some() || self.max.is_some() {
                return Err(Error::usage(
                    "--min-latency and --max-latency work with --bucket-range (linear buckets), as in perf ftrace latency",
                ));
            }
            return Ok(opts);
        };
        // Float to integer saturates: absurd values stay huge, not wrapped.
        let width = (r * unit) as u64;
        let min = (self.min.unwrap_or(0.0) * unit) as u64;
        // perf's default: 20 buckets from the minimum.
        let default_max = width.checked_mul(20).and_then(|w| w.checked_add(min));
        let max = match self.max {
            Some(m) => (m * unit) as u64,
            None => default_max.ok_or_else(|| {
                Error::usage(format!("--bucket-range {r}: too wide; give --max-latency"))
            })?,
        };
        if width == 0 || max <= min {
            return Err(Error::usage(format!(
                "--bucket-range {r}: needs a width above 0 and --max-latency above --min-latency"
            )));
        }
        if (max - min).div_ceil(width) > hist::MAX_LINEAR_ROWS {
            return Err(Error::usage(format!(
                "--bucket-range {r}: more than {} buckets between --min-latency and --max-latency; widen the buckets",
                hist::MAX_LINEAR_ROWS
            )));
        }
        opts.linear = Some(Linear { width, min, max });
        Ok(opts)
    }
}

/// `ftr latency -T FUNC | -e SYSCALLS …`: graph mode's records (`-T`) or
/// trace mode's (`-e`), shown as histograms. Each mode parses the line,
/// latency's own options included.
fn parse_latency(args: Vec<OsString>) -> Result<Command> {
    let (mut func, mut syscalls) = (false, false);
    // The options before the command decide; values are skipped.
    let mut words = args.iter().map(|a| a.to_string_lossy());
    while let Some(w) = words.next() {
        if w == "--" || !w.starts_with('-') || w == "-" {
            break;
        }
        if let Some(long) = w.strip_prefix("--") {
            let (name, inline) = long
                .split_once('=')
                .map_or((long, false), |(n, _)| (n, true));
            match name {
                "help" => return Ok(Command::Help),
                "trace-funcs" => func = true,
                "event" | "expr" => syscalls = true,
                _ => {}
            }
            if takes_value(name) && !inline {
                words.next();
            }
            continue;
        }
        // A cluster of short options: `-aT f`, `-Tf`.
        for (i, c) in w.char_indices().skip(1) {
            match c {
                'h' => return Ok(Command::Help),
                'T' => func = true,
                'e' => syscalls = true,
                _ => {}
            }
            if takes_value(&c.to_string()) {
                if i + c.len_utf8() == w.len() {
                    words.next(); // the value is the next word
                }
                break;
            }
        }
    }
    match (func, syscalls) {
        (true, true) => Err(Error::usage(
            "ftr latency: give -T FUNC (a kernel function) or -e SYSCALLS, not both",
        )),
        (false, false) => Err(Error::usage(
            "ftr latency: give -T FUNC (a kernel function) or -e SYSCALLS (see ftr --help)",
        )),
        (true, false) => {
            let ask = Analysis::Latency {
                func: None,
                opts: LatencyOpts::default(),
            };
            parse_graph_as(args, Some(ask))
        }
        (false, true) => parse_trace_as(args, true),
    }
}

fn parse_report(args: Vec<OsString>) -> Result<Command> {
    let (_, mut output) = new_target();
    let mut target = Target::default();
    let mut input = None;
    let mut errno_names = false;
    let mut trace_options = Vec::new();
    let mut analysis = None;
    let (mut sort, mut latency_func, mut hide_empty) = (None, None, false);
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = next(&mut parser)? {
        match arg {
            Opt::Value(v) if input.is_none() => input = Some(PathBuf::from(v)),
            Opt::Value(v) => {
                return Err(Error::usage(format!(
                    "report: unexpected argument {v:?} (one FILE at most)"
                )))
            }
            Opt::Key(key) => match key.as_str() {
                "no-pager" | "color" | "colour" | "o" | "output" => {
                    common(&key, &mut parser, &mut target, &mut output)?;
                }
                "errno-names" => errno_names = true,
                "O" | "option" => trace_options.push(string(&mut parser, "-O")?),
                "profile" => {
                    analysis = Some(Analysis::Profile {
                        sort: SortKey::Total,
                        folded: false,
                    })
                }
                "folded" => {
                    analysis = Some(Analysis::Profile {
                        sort: SortKey::Total,
                        folded: true,
                    })
                }
                "latency" => {
                    analysis = Some(Analysis::Latency {
                        func: None,
                        opts: LatencyOpts::default(),
                    })
                }
                "s" | "sort" => sort = Some(sort_key(&string(&mut parser, "-s")?)?),
                "T" | "trace-funcs" => latency_func = Some(string(&mut parser, "-T")?),
                "hide-empty" => hide_empty = true,
                "h" | "help" => return Ok(Command::Help),
                _ => return Err(unknown(&key)),
            },
        }
    }
    let input = input.filter(|p| p.as_os_str() != "-");
    if analysis.is_some() && !trace_options.is_empty() {
        return Err(Error::usage(
            "report -O: the options change the graph's text; --profile, --folded and --latency do not show it",
        ));
    }
    match &mut analysis {
        Some(Analysis::Profile { folded: true, .. }) if sort.is_some() => {
            return Err(Error::usage(
                "report -s sorts --profile's table, not --folded's stacks",
            ));
        }
        Some(Analysis::Profile { sort: s, .. }) => {
            *s = sort.unwrap_or_default();
            if latency_func.is_some() || hide_empty {
                return Err(Error::usage(
                    "report: -T and --hide-empty go with --latency",
                ));
            }
        }
        Some(Analysis::Latency { func, opts }) => {
            *func = latency_func;
            opts.show.hide_empty = hide_empty;
            if sort.is_some() {
                return Err(Error::usage("report: -s goes with --profile"));
            }
        }
        None if sort.is_some() || latency_func.is_some() || hide_empty => {
            return Err(Error::usage(
                "report: -s goes with --profile, -T and --hide-empty with --latency",
            ))
        }
        None => {}
    }
    Ok(Command::Report(ReportArgs {
        input,
        output,
        errno_names,
        trace_options,
        analysis,
    }))
}

fn parse_list(args: Vec<OsString>) -> Result<Command> {
    let mut args = args.into_iter().map(|a| a.to_string_lossy().into_owned());
    let what = match args.next().as_deref() {
        Some("syscalls") => ListWhat::Syscalls,
        Some("events") => ListWhat::Events,
        Some("tracers") => ListWhat::Tracers,
        Some("functions") | Some("funcs") => ListWhat::Functions,
        other => {
            return Err(Error::usage(format!(
                "ftr list {}: expected syscalls, events, tracers or functions",
                other.unwrap_or("")
            )))
        }
    };
    let glob = args.next();
    if let Some(extra) = args.next() {
        return Err(Error::usage(format!(
            "ftr list: unexpected argument `{extra}`"
        )));
    }
    Ok(Command::List { what, glob })
}

/// An argument with the option's name owned (so the parser can be borrowed
/// again for its value): `p` for `-p`, `pid` for `--pid`.
enum Opt {
    Key(String),
    Value(OsString),
}

fn next(parser: &mut lexopt::Parser) -> Result<Option<Opt>> {
    Ok(parser.next()?.map(|arg| match arg {
        Short(c) => Opt::Key(c.to_string()),
        Long(l) => Opt::Key(l.to_string()),
        Value(v) => Opt::Value(v),
    }))
}

fn unknown(key: &str) -> Error {
    let dashes = if key.chars().count() == 1 { "-" } else { "--" };
    Error::usage(format!("unknown option {dashes}{key} (see ftr --help)"))
}

fn check_target(target: &Target) -> Result<()> {
    if !target.command.is_empty() && !target.pids.is_empty() {
        return Err(Error::usage("give either a command or -p PID, not both"));
    }
    if target.user.is_some() && target.command.is_empty() {
        return Err(Error::usage("-u USER needs a command to run as that user"));
    }
    Ok(())
}

fn parse_graph_opts(opts: &mut GraphOpts, list: &str) -> Result<()> {
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (item, None),
        };
        let needs = |v: Option<&'_ str>| -> Result<String> {
            v.map(String::from)
                .ok_or_else(|| Error::usage(format!("--graph-opts {key}: needs a value ({key}=N)")))
        };
        match key {
            "depth" => opts.depth = Some(integer(&needs(value)?, "--graph-opts depth")?),
            "thresh" => opts.thresh_us = Some(integer(&needs(value)?, "--graph-opts thresh")?),
            "nosleep-time" => opts.nosleep_time = true,
            "noirqs" => opts.noirqs = true,
            "tail" => opts.tail = true,
            "verbose" => opts.verbose = true,
            "retval" => opts.retval = true,
            "retval-hex" => {
                opts.retval = true;
                opts.retval_hex = true;
            }
            "retaddr" => opts.retaddr = true,
            "args" => opts.args = true,
            _ => {
                return Err(Error::usage(format!(
                    "--graph-opts {key}: unknown; expected depth=N, thresh=US, nosleep-time, noirqs, tail, verbose, retval, retval-hex, retaddr or args"
                )))
            }
        }
    }
    Ok(())
}

fn push_list(list: &mut Vec<String>, parser: &mut lexopt::Parser, flag: &str) -> Result<()> {
    let value = string(parser, flag)?;
    list.extend(
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from),
    );
    Ok(())
}

fn string(parser: &mut lexopt::Parser, flag: &str) -> Result<String> {
    let value = parser.value()?;
    value
        .into_string()
        .map_err(|v| Error::usage(format!("{flag} {}: not valid UTF-8", v.to_string_lossy())))
}

fn number(text: &str, flag: &str) -> Result<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| Error::usage(format!("{flag} {text}: expected a number, e.g. {flag} 1.5")))
}

/// A number of seconds (`unit` 1) or milliseconds (`unit` 1e-3).
fn duration(text: &str, unit: f64, flag: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(number(text, flag)? * unit)
        .map_err(|_| Error::usage(format!("{flag} {text}: too large")))
}

fn integer<T: std::str::FromStr>(text: &str, flag: &str) -> Result<T> {
    text.trim()
        .parse()
        .map_err(|_| Error::usage(format!("{flag}={text}: expected a whole number")))
}

/// `4M`, `512K`, `1G`, plain numbers in KiB (as buffer_size_kb).
fn size_kb(text: &str) -> Result<u64> {
    let t = text.trim();
    let (digits, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mult = match c.to_ascii_uppercase() {
                'B' => 0,
                'K' => 1,
                'M' => 1024,
                'G' => 1024 * 1024,
                _ => u64::MAX,
            };
            (&t[..i], mult)
        }
        _ => (t, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| Error::usage(format!("-m {text}: expected a size like 4M or 512K")))?;
    match mult {
        u64::MAX => Err(Error::usage(format!(
            "-m {text}: unknown unit (use K, M or G)"
        ))),
        0 => Ok(n.div_ceil(1024).max(1)),
        m => n
            .checked_mul(m)
            .map(|kb| kb.max(1))
            .ok_or_else(|| Error::usage(format!("-m {text}: too large"))),
    }
}

impl From<lexopt::Error> for Error {
    fn from(e: lexopt::Error) -> Error {
        Error::usage(format!("{e} (see ftr --help)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn trace_mode_takes_the_command_after_options() {
        let Command::Trace(t) = parse(args("trace -e pwrite*,read -S -- ./demo -e x")).unwrap()
        else {
            panic!("not trace mode")
        };
        assert_eq!(t.syscalls.as_deref(), Some("pwrite*,read"));
        assert_eq!(t.summary, Summary::Also);
        assert_eq!(t.target.command, args("./demo -e x"));
        assert!(t.target.inherit);
    }

    #[test]
    fn graph_is_the_default_mode() {
        let Command::Graph(g) = parse(args(
            "-G __x64_sys_pwritev2 --graph-opts depth=4,tail -- ./demo",
        ))
        .unwrap() else {
            panic!("not graph mode")
        };
        assert_eq!(g.graph_funcs, ["__x64_sys_pwritev2"]);
        assert_eq!(g.opts.depth, Some(4));
        assert!(g.opts.tail);
    }

    #[test]
    fn latency_picks_its_mode_from_the_options_before_the_command() {
        let graph = |line: &str| match parse(args(line)) {
            Ok(Command::Graph(g)) => g,
            other => panic!("{line}: {other:?}"),
        };
        let trace = |line: &str| match parse(args(line)) {
            Ok(Command::Trace(t)) => t,
            other => panic!("{line}: {other:?}"),
        };
        let g = graph("latency -T vfs_read grep -e foo f");
        assert_eq!(g.target.command, ["grep", "-e", "foo", "f"]);
        assert!(
            matches!(&g.analysis, Some(Analysis::Latency { func: Some(f), .. }) if f == "vfs_read")
        );
        let t = trace("latency -e read sh -T");
        assert_eq!(t.target.command, ["sh", "-T"]);
        assert!(t.latency.is_some() && t.summary == Summary::Only);
        let g = graph("latency -o -e.txt -T vfs_read -- true");
        assert_eq!(
            g.output.file.as_deref(),
            Some(std::path::Path::new("-e.txt"))
        );
        assert!(graph("latency -aT vfs_read").target.system_wide);
        let t = trace(
            "latency --event=read -n --bucket-range 5 --min-latency 10 --hide-empty -i 2 -- x",
        );
        let l = t.latency.expect("latency options");
        assert_eq!(
            l.linear,
            Some(Linear {
                width: 5,
                min: 10,
                max: 110
            })
        );
        assert!(l.show.nsec && l.show.hide_empty);
        assert_eq!(l.interval, Some(Duration::from_secs(2)));
        assert!(matches!(parse(args("latency -h")), Ok(Command::Help)));
        for bad in [
            "latency -- true",
            "latency -T a -e b -- true",
            "latency -T vfs_* -- true",
            "latency -T a -T b -- true",
            "latency -e read -i 0 -- true",
            "latency -e read --min-latency 5 -- true",
            "latency -e read --bucket-range 1e17 -- true",
            "latency -e read --bucket-range 1 --max-latency 5000 -- true",
        ] {
            assert!(parse(args(bad)).is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for bad in [
            "trace --duration abc",
            "trace -e ''",
            "trace -e !",
            "trace -p 0",
            "trace -p x",
            "trace --color sometimes",
            "trace --bogus",
            "-G f --graph-opts depth=x",
            "-G f --graph-opts frob",
            "trace -m 4Q",
            "trace -u nobody",
        ] {
            let err = parse(
                args(bad)
                    .into_iter()
                    .map(|a| OsString::from(a.to_string_lossy().replace('\'', "")))
                    .collect(),
            )
            .expect_err(bad);
            assert_eq!(err.exit_code(), 125, "{bad}: {err}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(size_kb("4M").unwrap(), 4096);
        assert_eq!(size_kb("512k").unwrap(), 512);
        assert_eq!(size_kb("100").unwrap(), 100);
    }
}
