//! `ftr osnoise` and `ftr timerlat`: the kernel's noise and timer-latency
//! tracers in ftr's own instance, with their global `osnoise/` knobs set
//! through the session (journaled, put back exactly), and rtla-style
//! summaries at the end; with `--live`, every noise event too, shown as it
//! comes.
//!
//! The tracers occupy the CPUs they measure with one kernel thread each, at
//! normal priority: other tasks preempt it, which is the noise measured.
//! Their stop thresholds turn tracing off in every osnoise instance, so ftr
//! refuses to run beside another user of these tracers.
//!
//! What ftr does must not be noise on the CPUs it measures:
//! - By default only the tracers' own records are written (osnoise's
//!   per-period summary, timerlat's latencies), as `rtla ... top` does. The
//!   `osnoise:*` noise events are enabled only when asked for (`--live`) or
//!   needed (a stop threshold's analysis, `--comm`, osnoise's `--hist`):
//!   each is written on the measured CPU, in the middle of what it measures.
//! - The buffers are never polled: a poll arms the ring buffer's wake-up, so
//!   the record that satisfies it (any record on older kernels; where a
//!   poll honours `buffer_percent`, as on 6.1, the one that fills that
//!   much of the buffer) queues an irq_work
//!   on the measured CPU (an interrupt, and on PREEMPT_RT a thread) to wake
//!   ftr. ftr reads on a timer instead, from a CPU it does not measure
//!   where there is one.
//! - A round opens no file: each open file is freed through RCU when
//!   closed, and grace periods reach every CPU (the RCU threads, resched
//!   IPIs). `tracing_on` stays open and is read at offset 0; events are
//!   taken as read, without the buffer clock's watermark (it lives in a
//!   `stats` file): each CPU's events stay in order, which is all the
//!   per-CPU tables need, and live lines of different CPUs may come a round
//!   apart.

pub mod summary;

use crate::cli::NoiseArgs;
use crate::error::{Error, Result};
use crate::kernel::format::{read_int, read_str, Field, Format};
use crate::kernel::session::{Buffer, Session};
use crate::kernel::tracefs::Tracefs;
use crate::present::output;
use crate::present::theme::Theme;
use crate::run::{self, Armed, Flow, Mode, Who};
use crate::source::reader::{Item, RawReader};
use summary::{Kind, Noise, Period, Sample, Summary, Timerlat};

/// Which tracer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracer {
    Osnoise,
    Timerlat,
}

impl Tracer {
    fn name(self) -> &'static str {
        match self {
            Tracer::Osnoise => "osnoise",
            Tracer::Timerlat => "timerlat",
        }
    }
}

/// Measured by default: 900 ms of each second, leaving every CPU a tenth
/// of its time beyond what preempts the measuring thread (the kernel's and
/// rtla's runtime is the whole period).
pub const DEFAULT_PERIOD_US: u64 = 1_000_000;
pub const DEFAULT_RUNTIME_US: u64 = 900_000;

/// How often the buffers are read: with live lines, soon enough to look
/// live; without, as often as rtla's top reads (once a second).
const LIVE_TICK: std::time::Duration = std::time::Duration::from_millis(100);
const SUMMARY_TICK: std::time::Duration = std::time::Duration::from_secs(1);

pub fn run(args: NoiseArgs) -> Result<i32> {
    run::run(&args.target, &args.output, None, |fs| {
        Noisy::plan(fs, &args)
    })
}

/// The records this mode decodes: (event id, its fields).
#[derive(Debug, Clone, Default)]
struct Layouts {
    thread: Option<(u16, Field, Field, Field, Field)>,
    irq: Option<(u16, Field, Field, Field, Field)>,
    softirq: Option<(u16, Field, Field, Field)>,
    nmi: Option<(u16, Field, Field)>,
    sample: Option<(u16, Field, Field)>,
    period: Option<(u16, [Field; 8])>,
    timerlat: Option<(u16, Field, Field)>,
}

struct Noisy {
    tracer: Tracer,
    /// Global knobs to write, in an order the kernel accepts.
    knobs: Vec<(&'static str, String)>,
    /// The threshold that stops tracing, for the analysis (us).
    stop_us: Option<u64>,
    /// Which stop thresholds are set: stop_tracing_us (osnoise: one
    /// sample; timerlat: the irq), stop_tracing_total_us (osnoise: a
    /// period's total; timerlat: the thread).
    stop_irq: bool,
    stop_thread: bool,
    comm: Option<String>,
    /// Record the noise events (`osnoise:*`): for the live lines, the
    /// table of sources, a stop's analysis.
    events: bool,
    /// Show each noise event as it comes (`--live`).
    live: bool,
    /// Noise shown live from this long on (the threshold; every event
    /// counts in the tables).
    live_ns: u64,
    /// The CPUs measured (None: all).
    cpus: Option<Vec<usize>>,
    hist: bool,
    buffer_kb: Option<u64>,
    layouts: Layouts,
    theme: Theme,
    summary: Summary,
    timerlat: Timerlat,
    reader: Option<RawReader>,
    /// `instances/ftr-PID/tracing_on`, open, read each round: the kernel turns
    /// it off when a threshold is crossed.
    tracing_on: Option<std::fs::File>,
    stopped: bool,
    lost: u64,
    out: Vec<u8>,
}

impl Noisy {
    fn plan(tracefs: &Tracefs, args: &NoiseArgs) -> Result<Noisy> {
        let tracer = args.tracer;
        let name = tracer.name();
        let available = tracefs.read("available_tracers").unwrap_or_default();
        if !tracefs.exists("osnoise") || !available.split_whitespace().any(|t| t == name) {
            let option = match tracer {
                Tracer::Osnoise => "CONFIG_OSNOISE_TRACER",
                Tracer::Timerlat => "CONFIG_TIMERLAT_TRACER",
            };
            return Err(Error::setup(format!(
                "this kernel has no {name} tracer (not in available_tracers: it needs {option}, Linux 5.14+); Debian's linux-image-rt-amd64 has it"
            )));
        }
        busy(tracefs)?;
        let mut knobs: Vec<(&'static str, String)> = Vec::new();
        let mut cpus = None;
        if let Some(list) = &args.cpus {
            let (text, set) = cpu_list(tracefs, list)?;
            knobs.push(("osnoise/cpus", text));
            cpus = Some(set);
        }
        match tracer {
            Tracer::Osnoise => {
                let period = args.period_us.unwrap_or(DEFAULT_PERIOD_US);
                let runtime = args
                    .runtime_us
                    .unwrap_or(DEFAULT_RUNTIME_US.min(period * 9 / 10));
                if runtime > period || runtime == 0 {
                    return Err(Error::usage(format!(
                        "--runtime {runtime}: must be more than 0 and at most the period ({period} us)"
                    )));
                }
                // The kernel keeps runtime <= period at every write.
                let current = |rel: &str| -> u64 {
                    tracefs
                        .read(rel)
                        .ok()
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0)
                };
                let (p, r) = (
                    ("osnoise/period_us", period.to_string()),
                    ("osnoise/runtime_us", runtime.to_string()),
                );
                if period >= current("osnoise/runtime_us") {
                    knobs.extend([p, r]);
                } else {
                    knobs.extend([r, p]);
                }
                knobs.push(("tracing_thresh", args.threshold_us.unwrap_or(0).to_string()));
            }
            Tracer::Timerlat => {
                let period = args.period_us.unwrap_or(1000);
                if !(100..=1_000_000).contains(&period) {
                    return Err(Error::usage(format!(
                        "--period {period}: timerlat's period is 100 to 1000000 us"
                    )));
                }
                knobs.push(("osnoise/timerlat_period_us", period.to_string()));
            }
        }
        knobs.push((
            "osnoise/stop_tracing_us",
            args.stop_us.unwrap_or(0).to_string(),
        ));
        knobs.push((
            "osnoise/stop_tracing_total_us",
            args.stop_total_us.unwrap_or(0).to_string(),
        ));
        let events = records_events(args);
        Ok(Noisy {
            tracer,
            knobs,
            events,
            live: args.live,
            stop_us: args.stop_us.or(args.stop_total_us),
            stop_irq: args.stop_us.is_some(),
            stop_thread: args.stop_total_us.is_some(),
            comm: args.comm.clone(),
            // tracing_thresh 0 means the kernel's 5 us.
            live_ns: args.threshold_us.filter(|&t| t > 0).unwrap_or(5) * 1000,
            cpus,
            hist: args.hist,
            buffer_kb: args.target.buffer_kb,
            layouts: layouts(tracefs),
            theme: output::theme_for(&args.output),
            summary: Summary::default(),
            timerlat: Timerlat::default(),
            reader: None,
            tracing_on: None,
            stopped: false,
            lost: 0,
            out: Vec::with_capacity(64 * 1024),
        })
    }

    fn handle(&mut self, item: &Item, data: &[u8]) {
        let e = match *item {
            Item::Event(e) => e,
            Item::Lost { count, .. } => {
                self.lost += count;
                return;
            }
        };
        if data.len() < 8 {
            return;
        }
        let id = u16::from_le_bytes([data[0], data[1]]);
        let int = |f: &Field| read_int(data, f).unwrap_or(0) as u64;
        let l = &self.layouts;
        let noise = decode_noise(l, id, data);
        if let Some((kind, name, start, duration)) = noise {
            let n = Noise {
                cpu: e.cpu,
                kind,
                name,
                start,
                duration,
            };
            if self.live
                && n.duration >= self.live_ns
                && summary::shown(kind, &n.name, self.comm.as_deref())
            {
                summary::live_line(&mut self.out, &self.theme, &n);
            }
            self.summary.noise(n);
            return;
        }
        if let Some((_, start, dur)) = l.sample.as_ref().filter(|t| t.0 == id) {
            let (start, duration) = (int(start), int(dur));
            // --stop-us: the first sample to reach it stopped tracing.
            let stop_ns = match (self.tracer, self.stop_irq) {
                (Tracer::Osnoise, true) => self.stop_us.map(|us| us * 1000),
                _ => None,
            };
            self.summary.sample(
                Sample {
                    cpu: e.cpu,
                    start,
                    duration,
                },
                stop_ns,
            );
        } else if let Some((_, f)) = l.period.as_ref().filter(|t| t.0 == id) {
            // runtime, noise and max_sample come in us.
            let p = Period {
                runtime: int(&f[0]) * 1000,
                noise: int(&f[1]) * 1000,
                max_sample: int(&f[2]) * 1000,
                hw: int(&f[3]),
                nmi: int(&f[4]),
                irq: int(&f[5]),
                softirq: int(&f[6]),
                thread: int(&f[7]),
            };
            self.summary.period(e.cpu, p);
        } else if let Some((_, context, latency)) = l.timerlat.as_ref().filter(|t| t.0 == id) {
            self.timerlat.add(e.cpu, int(context) != 0, int(latency));
        }
    }
}

/// Whether the noise events are recorded: for the live lines, and for
/// what needs them (a stop's analysis, `--comm`, osnoise's histograms).
/// Else only the tracers' own records are written, as rtla's top does.
fn records_events(args: &NoiseArgs) -> bool {
    args.live
        || args.stop_us.is_some()
        || args.stop_total_us.is_some()
        || args.comm.is_some()
        || (args.hist && args.tracer == Tracer::Osnoise)
}

/// A noise event's kind, source name, start and duration, if `data` (a
/// record with event id `id`) is one.
fn decode_noise(l: &Layouts, id: u16, data: &[u8]) -> Option<(Kind, String, u64, u64)> {
    let int = |f: &Field| read_int(data, f).unwrap_or(0) as u64;
    if let Some((_, comm, pid, start, dur)) = l.thread.as_ref().filter(|t| t.0 == id) {
        let comm = String::from_utf8_lossy(read_str(data, comm).unwrap_or(b"?"));
        Some((
            Kind::Thread,
            format!("{comm}/{}", int(pid)),
            int(start),
            int(dur),
        ))
    } else if let Some((_, desc, vector, start, dur)) = l.irq.as_ref().filter(|t| t.0 == id) {
        let desc = String::from_utf8_lossy(read_str(data, desc).unwrap_or(b"?"));
        Some((
            Kind::Irq,
            format!("{desc}:{}", int(vector)),
            int(start),
            int(dur),
        ))
    } else if let Some((_, vector, start, dur)) = l.softirq.as_ref().filter(|t| t.0 == id) {
        let v = int(vector) as usize;
        let name = summary::SOFTIRQS
            .get(v)
            .map_or_else(|| v.to_string(), |s| s.to_string());
        Some((Kind::Softirq, name, int(start), int(dur)))
    } else {
        let (_, start, dur) = l.nmi.as_ref().filter(|t| t.0 == id)?;
        Some((Kind::Nmi, "nmi".to_string(), int(start), int(dur)))
    }
}

/// The formats of the records read, from this kernel's files.
fn layouts(tracefs: &Tracefs) -> Layouts {
    layouts_from(|event| tracefs.read(&format!("events/{event}/format")).ok())
}

/// The layouts from format texts (`read("osnoise/thread_noise")`).
fn layouts_from(read: impl Fn(&str) -> Option<String>) -> Layouts {
    let format = |event: &str| -> Option<Format> { Format::parse(&read(event)?) };
    let fields = |f: &Format, names: &[&str]| -> Option<Vec<Field>> {
        names.iter().map(|n| f.field(n).cloned()).collect()
    };
    let mut l = Layouts::default();
    if let Some(f) = format("osnoise/thread_noise") {
        if let Some([a, b, c, d]) = fields(&f, &["comm", "pid", "start", "duration"]).map(to4) {
            l.thread = Some((f.id, a, b, c, d));
        }
    }
    if let Some(f) = format("osnoise/irq_noise") {
        if let Some([a, b, c, d]) = fields(&f, &["desc", "vector", "start", "duration"]).map(to4) {
            l.irq = Some((f.id, a, b, c, d));
        }
    }
    if let Some(f) = format("osnoise/softirq_noise") {
        if let Some(v) = fields(&f, &["vector", "start", "duration"]) {
            l.softirq = Some((f.id, v[0].clone(), v[1].clone(), v[2].clone()));
        }
    }
    if let Some(f) = format("osnoise/nmi_noise") {
        if let Some(v) = fields(&f, &["start", "duration"]) {
            l.nmi = Some((f.id, v[0].clone(), v[1].clone()));
        }
    }
    if let Some(f) = format("osnoise/sample_threshold") {
        if let Some(v) = fields(&f, &["start", "duration"]) {
            l.sample = Some((f.id, v[0].clone(), v[1].clone()));
        }
    }
    if let Some(f) = format("ftrace/osnoise") {
        let names = [
            "runtime",
            "noise",
            "max_sample",
            "hw_count",
            "nmi_count",
            "irq_count",
            "softirq_count",
            "thread_count",
        ];
        if let Some(v) = fields(&f, &names) {
            if let Ok(arr) = <[Field; 8]>::try_from(v) {
                l.period = Some((f.id, arr));
            }
        }
    }
    if let Some(f) = format("ftrace/timerlat") {
        if let Some(v) = fields(&f, &["context", "timer_latency"]) {
            l.timerlat = Some((f.id, v[0].clone(), v[1].clone()));
        }
    }
    l
}

fn to4(v: Vec<Field>) -> [Field; 4] {
    let mut it = v.into_iter();
    let mut next = || {
        it.next().unwrap_or_else(|| Field {
            name: String::new(),
            ctype: String::new(),
            offset: 0,
            size: 0,
            signed: false,
        })
    };
    [next(), next(), next(), next()]
}

/// Refuses to share the osnoise knobs and their stop with another user.
fn busy(tracefs: &Tracefs) -> Result<()> {
    let mut places = vec![("the top level".to_string(), "current_tracer".to_string())];
    if let Ok(dir) = std::fs::read_dir(tracefs.path("instances")) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            places.push((
                format!("instances/{name}"),
                format!("instances/{name}/current_tracer"),
            ));
        }
    }
    for (place, rel) in places {
        let tracer = tracefs.read(&rel).unwrap_or_default();
        let tracer = tracer.trim();
        if tracer == "osnoise" || tracer == "timerlat" {
            return Err(Error::setup(format!(
                "the {tracer} tracer is already running in {place} (rtla, or another ftr?): its osnoise/ knobs and threshold stops are shared with every instance; stop it first"
            )));
        }
    }
    Ok(())
}

/// `--cpus 0-2,5`: checked against this machine's CPUs; as osnoise/cpus
/// takes it, and as a set.
fn cpu_list(tracefs: &Tracefs, list: &str) -> Result<(String, Vec<usize>)> {
    let bad = || Error::usage(format!("--cpus {list}: expected CPU numbers like 0-2,5"));
    let known: Vec<usize> = std::fs::read_dir(tracefs.path("per_cpu"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.strip_prefix("cpu")?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let mut parts = Vec::new();
    let mut set = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (usize, usize) = match (a.trim().parse(), b.trim().parse()) {
            (Ok(a), Ok(b)) if a <= b => (a, b),
            _ => return Err(bad()),
        };
        if let Some(c) = (a..=b).find(|c| !known.is_empty() && !known.contains(c)) {
            return Err(Error::usage(format!(
                "--cpus {list}: this machine has no CPU {c} (see per_cpu/ in tracefs)"
            )));
        }
        parts.push(if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        });
        set.extend(a..=b);
    }
    if parts.is_empty() {
        return Err(bad());
    }
    Ok((parts.join(","), set))
}

/// Keeps ftr itself (and the threads and children it starts from now on)
/// off the CPUs it measures, where there are others: its reading and
/// writing would be noise there. The command, forked before, keeps its
/// own CPUs.
fn stay_off(measured: &[usize]) {
    use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    let Ok(mine) = sched_getaffinity(Pid::from_raw(0)) else {
        return;
    };
    let mut others = CpuSet::new();
    let mut any = false;
    for cpu in 0..CpuSet::count() {
        if mine.is_set(cpu).unwrap_or(false) && !measured.contains(&cpu) {
            let _ = others.set(cpu);
            any = true;
        }
    }
    if any {
        let _ = sched_setaffinity(Pid::from_raw(0), &others);
    }
}

impl Mode for Noisy {
    fn what(&self) -> String {
        format!("{} noise", self.tracer.name())
    }

    fn arm(&mut self, session: &mut Session, _who: &Who) -> Result<Armed> {
        if let Some(cpus) = &self.cpus {
            stay_off(cpus);
        }
        let inst = session.create_instance()?;
        session.set_instance("tracing_on", "0")?;
        if let Some(kb) = self.buffer_kb {
            session.set_instance("buffer_size_kb", &kb.to_string())?;
        }
        for (rel, value) in &self.knobs {
            session.set_global(rel, value)?;
        }
        if self.events {
            session.set_instance("set_event", "osnoise:*")?;
        }
        session.set_instance("current_tracer", self.tracer.name())?;
        self.reader = Some(RawReader::open(session.tracefs(), &inst)?);
        let path = session.tracefs().path(&format!("{inst}/tracing_on"));
        let file = std::fs::File::open(&path).map_err(|e| Error::io("open", &path, &e))?;
        self.tracing_on = Some(file);
        // No descriptors to poll: read on the tick (see the module's doc).
        Ok(Armed {
            buffer: Buffer::Instance,
            data: Vec::new(),
        })
    }

    fn tick(&self) -> std::time::Duration {
        match self.live {
            true => LIVE_TICK,
            false => SUMMARY_TICK,
        }
    }

    fn round(&mut self, out: &mut Vec<u8>) -> Flow {
        let mut reader = self.reader.take();
        if let Some(r) = reader.as_mut() {
            r.drain(None, |item, data| self.handle(item, data));
        }
        self.reader = reader;
        std::mem::swap(out, &mut self.out);
        // A threshold crossed: the kernel turned tracing off under ftr.
        let off = self.tracing_on.as_ref().is_some_and(|file| {
            let mut byte = [0u8; 1];
            std::os::unix::fs::FileExt::read_at(file, &mut byte, 0).is_ok_and(|n| n == 1)
                && byte[0] == b'0'
        });
        if off {
            self.stopped = true;
            return Flow::Stop;
        }
        Flow::Go
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Vec<String> {
        self.tracing_on = None;
        let mut kernel_lost = 0;
        if let Some(mut reader) = self.reader.take() {
            reader.drain_all(|item, data| self.handle(item, data));
            kernel_lost = reader.kernel_lost();
        }
        out.append(&mut self.out);
        out.push(b'\n');
        let theme = &self.theme;
        match self.tracer {
            Tracer::Osnoise => {
                self.summary.cpu_table(out, theme);
                if self.events {
                    out.push(b'\n');
                    self.summary.source_table(out, theme, self.comm.as_deref());
                }
                if self.hist {
                    out.push(b'\n');
                    self.summary.hists(out, theme);
                }
            }
            Tracer::Timerlat => {
                self.timerlat.table(out, theme);
                if self.hist {
                    out.push(b'\n');
                    self.timerlat.hists(out, theme);
                }
            }
        }
        if self.stopped {
            out.push(b'\n');
            let limit = self.stop_us.unwrap_or(0);
            // The context whose threshold was set (both set: either).
            let context = match (self.stop_irq, self.stop_thread) {
                (true, false) => Some(false),
                (false, true) => Some(true),
                _ => None,
            };
            match (self.tracer, self.timerlat.worst(context)) {
                (Tracer::Osnoise, _) => {
                    self.summary.stop_analysis(out, theme, limit, self.stop_irq)
                }
                // The largest latency is the one that crossed a threshold:
                // the noise on its CPU before it is what delayed it.
                (Tracer::Timerlat, Some((cpu, thread, ns))) => {
                    theme.paint(out, theme.heading, b"tracing stopped: ");
                    let _ = std::io::Write::write_fmt(
                        out,
                        format_args!(
                            "a {} latency of {} on CPU {cpu} (the kernel turned tracing off)\n",
                            if thread { "thread" } else { "irq" },
                            crate::present::hist::human_ns(ns)
                        ),
                    );
                    self.summary.before(out, cpu, u64::MAX);
                }
                (Tracer::Timerlat, None) => {
                    out.extend_from_slice(b"tracing stopped by the kernel before any activation\n")
                }
            }
        }
        let lost = self.lost.max(kernel_lost);
        let mut closing = vec![match self.events {
            true => format!("{} noise events, {lost} events lost", self.summary.events()),
            false => format!(
                "the summary only ({lost} events lost): --live records and shows every noise event, at a cost to the CPUs measured"
            ),
        }];
        let unfinished = self.summary.unfinished();
        if unfinished > 0 && self.live && self.tracer == Tracer::Osnoise {
            closing.push(format!(
                "{unfinished} noise events of the last, unfinished periods are shown but not in the tables"
            ));
        }
        if self.stopped {
            closing.push(
                "tracing was stopped by the kernel: a stop threshold was crossed".to_string(),
            );
        }
        closing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// softirq_noise's format on Debian's 6.1 PREEMPT_RT, as read there.
    /// That kernel runs softirqs as threads, so it records none: this
    /// record is made here to the format it prints.
    const SOFTIRQ_NOISE: &str = "name: softirq_noise\nID: 450\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\
\tfield:unsigned char common_preempt_lazy_count;\toffset:8;\tsize:1;\tsigned:0;\n\n\
\tfield:u64 start;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:u64 duration;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:int vector;\toffset:32;\tsize:4;\tsigned:1;\n\n\
print fmt: \"%8s:%d start %llu.%09u duration %llu ns\", REC->vector\n";

    fn args(words: &[&str]) -> NoiseArgs {
        let argv = words.iter().map(std::ffi::OsString::from).collect();
        match crate::cli::parse(argv) {
            Ok(crate::cli::Command::Noise(n)) => n,
            other => panic!("{words:?}: {other:?}"),
        }
    }

    #[test]
    fn noise_events_only_when_asked_or_needed() {
        for (words, want) in [
            (&["osnoise"][..], false),
            (&["timerlat"], false),
            (&["timerlat", "--hist"], false),
            (&["osnoise", "--cpus", "1", "-d", "6"], false),
            (&["osnoise", "--live"], true),
            (&["timerlat", "--live"], true),
            (&["osnoise", "--hist"], true),
            (&["osnoise", "--comm", "spin"], true),
            (&["osnoise", "--stop-us", "10"], true),
            (&["osnoise", "--stop-total-us", "10"], true),
            (&["timerlat", "--irq-stop-us", "10"], true),
            (&["timerlat", "--thread-stop-us", "10"], true),
        ] {
            assert_eq!(records_events(&args(words)), want, "{words:?}");
        }
    }

    #[test]
    fn softirqs_are_named_as_the_kernel_prints_them() {
        let l = layouts_from(|e| (e == "osnoise/softirq_noise").then(|| SOFTIRQ_NOISE.to_string()));
        let mut rec = vec![0u8; 40];
        rec[0..2].copy_from_slice(&450u16.to_le_bytes());
        rec[16..24].copy_from_slice(&5_000_000_123u64.to_le_bytes());
        rec[24..32].copy_from_slice(&4321u64.to_le_bytes());
        for (vector, name) in [(1, "TIMER"), (3, "NET_RX"), (9, "RCU"), (12, "12")] {
            rec[32..36].copy_from_slice(&i32::to_le_bytes(vector));
            let (kind, got, start, dur) = decode_noise(&l, 450, &rec).expect("a softirq");
            assert_eq!(
                (kind, got.as_str(), start, dur),
                (Kind::Softirq, name, 5_000_000_123, 4321)
            );
        }
        assert!(
            decode_noise(&l, 449, &rec).is_none(),
            "not an event this kernel has"
        );
    }
}
