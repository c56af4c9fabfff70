//! `ftr trace`: one line per syscall with its duration, like `perf trace`,
//! plus a summary with percentiles and histograms.
//!
//! The syscall events are recorded in ftr's own instance, filtered by pid in
//! the kernel, and read in binary from the per-CPU buffers: no text
//! formatting in the kernel, nanosecond timestamps.

pub mod classes;
pub mod decode;
pub mod fds;
pub mod render;
pub mod stats;
pub mod strings;
pub mod table;

use std::collections::HashMap;

use crate::cli::{LatencyOpts, Summary, TraceArgs};
use crate::error::Result;
use crate::kernel::format::{read_int, read_str, Field, Format};
use crate::kernel::session::{Buffer, Session};
use crate::kernel::tracefs::Tracefs;
use crate::present::hist;
use crate::present::hist::Slowest;
use crate::present::output;
use crate::present::theme::Theme;
use crate::run::{self, Armed, Flow, Mode, Who};
use crate::source::reader::{Item, RawReader};
use render::Call;
use stats::Stats;
use strings::{Layout, Probe};
use table::Syscall;

/// Longest sys_enter record kept in place while its syscall runs; a longer
/// one (the strings the event carries, 6.19+) is copied to the heap.
const MAX_ENTER: usize = 128;

pub fn run(args: TraceArgs) -> Result<i32> {
    run::run(&args.target, &args.output, None, |fs| {
        Trace::plan(fs, &args)
    })
}

/// The mode: its plan, then the tracer that turns records into lines.
struct Trace {
    plan: Plan,
    buffer_kb: Option<u64>,
    summary: Summary,
    hist: bool,
    /// `ftr latency -e`: histograms only.
    latency: Option<LatencyOpts>,
    interval_start: std::time::Instant,
    tracer: Tracer,
    reader: Option<RawReader>,
}

impl Trace {
    fn plan(tracefs: &Tracefs, args: &TraceArgs) -> Result<Trace> {
        let plan = Plan::new(tracefs, args)?;
        let tracer = Tracer::new(&plan, args, output::theme_for(&args.output));
        Ok(Trace {
            plan,
            buffer_kb: args.target.buffer_kb,
            summary: args.summary,
            hist: args.hist,
            latency: args.latency,
            interval_start: std::time::Instant::now(),
            tracer,
            reader: None,
        })
    }
}

impl Mode for Trace {
    fn what(&self) -> String {
        let names: Vec<&str> = self.plan.syscalls.iter().map(|s| s.name.as_str()).collect();
        match self.plan.all {
            false if names.len() <= 6 => names.join(","),
            _ => format!("{} syscalls", names.len()),
        }
    }

    fn arm(&mut self, session: &mut Session, who: &Who) -> Result<Armed> {
        // Probes first: they are removed after the instance that enables them.
        let probes = add_probes(session, &self.plan)?;
        for (sys, layout, _) in &probes {
            self.tracer.set_strings(*sys, layout.clone());
        }
        let inst = session.create_instance()?;
        arm(session, &self.plan, who, self.buffer_kb, &probes)?;
        let reader = RawReader::open(session.tracefs(), &inst)?;
        if let Some((pid, comm)) = &who.command {
            self.tracer.comms.insert(*pid, comm.clone());
            self.tracer.gated = Some(*pid);
        } else {
            // Attached: what the processes have open now, once.
            for &tid in &who.tids {
                self.tracer.fds.attach(tid);
            }
        }
        self.tracer.t0 = reader.now();
        let data = reader.fds().collect();
        self.reader = Some(reader);
        Ok(Armed {
            buffer: Buffer::Instance,
            data,
        })
    }

    fn round(&mut self, out: &mut Vec<u8>) -> Flow {
        if let Some(reader) = self.reader.as_mut() {
            let now = reader.now();
            let tracer = &mut self.tracer;
            reader.drain(Some(now), |item, data| tracer.handle(item, data));
        }
        self.interval();
        std::mem::swap(out, &mut self.tracer.out);
        Flow::Go
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Vec<String> {
        let tracer = &mut self.tracer;
        let mut kernel_lost = 0;
        if let Some(mut reader) = self.reader.take() {
            reader.drain_all(|item, data| tracer.handle(item, data));
            kernel_lost = reader.kernel_lost();
        }
        tracer.finish();
        if let Some(latency) = &self.latency {
            let out = &mut tracer.out;
            for (sys, stats) in tracer.syscalls.iter().zip(&tracer.stats) {
                if stats.calls() > 0 {
                    hist::render(
                        out,
                        &tracer.theme,
                        &sys.name,
                        &stats.hist,
                        Some(&stats.slowest),
                        latency.show,
                    );
                }
            }
            let none = tracer.stats.iter().all(|s| s.calls() == 0);
            match none {
                true => out.extend_from_slice(b"no calls seen\n"),
                false => out.extend_from_slice(format!("({})\n", hist::PRECISION).as_bytes()),
            }
        } else if self.summary != Summary::None {
            let rows: Vec<(&str, &Stats)> = tracer
                .syscalls
                .iter()
                .zip(&tracer.stats)
                .map(|(s, st)| (s.name.as_str(), st))
                .collect();
            render::summary(&mut tracer.out, &tracer.theme, &rows, self.hist);
        }
        out.append(&mut tracer.out);
        let lost = tracer.lost.max(kernel_lost);
        let traced = tracer.stats.iter().map(|s| s.calls()).sum::<u64>() + tracer.unpaired;
        let mut closing = format!("{traced} syscalls traced, {lost} events lost");
        if tracer.faults > 0 {
            closing.push_str(&format!(
                ", {} strings unreadable (the kernel could not read them when the call entered)",
                tracer.faults
            ));
        }
        vec![closing]
    }
}

impl Trace {
    /// `ftr latency -i SECS`: each interval's histograms as it ends.
    fn interval(&mut self) {
        let Some(LatencyOpts {
            interval: Some(every),
            show,
            ..
        }) = self.latency
        else {
            return;
        };
        let elapsed = self.interval_start.elapsed();
        if elapsed < every {
            return;
        }
        self.interval_start = std::time::Instant::now();
        let t = &mut self.tracer;
        t.out
            .extend_from_slice(format!("--- last {:.1} s ---\n", elapsed.as_secs_f64()).as_bytes());
        for (sys, stats) in t.syscalls.iter().zip(&mut t.stats) {
            let Some(h) = &mut stats.interval else {
                continue;
            };
            if h.count > 0 {
                hist::render(&mut t.out, &t.theme, &sys.name, h, None, show);
            }
            *h = h.empty_like();
        }
        t.out.push(b'\n');
    }
}

/// Everything decided before tracefs is touched: bad input fails here.
struct Plan {
    syscalls: Vec<Syscall>,
    /// No -e: every syscall.
    all: bool,
    internal: Internal,
    /// Event probes for the string arguments: (syscall, probe).
    probes: Vec<(u32, Probe)>,
}

/// Events ftr records for itself, to know each task's name.
#[derive(Default, Clone)]
struct Internal {
    fork: Option<(u16, Field, Field)>,
    exec: Option<(u16, Field, Field)>,
    rename: Option<(u16, Field, Field)>,
}

impl Plan {
    fn new(tracefs: &Tracefs, args: &TraceArgs) -> Result<Plan> {
        let available = table::available(tracefs)?;
        let names = table::select(args.syscalls.as_deref(), &available)?;
        let mut syscalls = names
            .iter()
            .map(|n| table::load(tracefs, "events", n))
            .collect::<Result<Vec<_>>>()?;
        if args.no_strings {
            // Pointers, as documented, though the kernel reads the strings.
            syscalls.iter_mut().for_each(|s| s.native = None);
        }
        let load = |event: &str, a: &str, b: &str| -> Option<(u16, Field, Field)> {
            let f = Format::parse(&tracefs.read(&format!("events/{event}/format")).ok()?)?;
            Some((f.id, f.field(a)?.clone(), f.field(b)?.clone()))
        };
        let internal = Internal {
            fork: load("sched/sched_process_fork", "child_pid", "child_comm"),
            exec: load("sched/sched_process_exec", "pid", "filename"),
            rename: load("task/task_rename", "pid", "newcomm"),
        };
        let group = format!("ftr_{}", std::process::id());
        let probes = match args.no_strings {
            true => Vec::new(),
            false => syscalls
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Some((i as u32, strings::probe(&group, s)?)))
                .collect(),
        };
        Ok(Plan {
            syscalls,
            all: args.syscalls.is_none(),
            internal,
            probes,
        })
    }
}

/// Adds the plan's event probes, journaled through the session; returns
/// those the kernel took, with their record layouts and event names. A
/// kernel that refuses the first gets none and one line saying why.
fn add_probes(session: &mut Session, plan: &Plan) -> Result<Vec<(u32, Layout, String)>> {
    let mut added = Vec::new();
    for (n, (sys, probe)) in plan.probes.iter().enumerate() {
        let refused = match session.add_line("dynamic_events", &probe.add, &probe.remove) {
            Ok(Ok(())) => {
                let syscall = &plan.syscalls[*sys as usize];
                let layout = session
                    .tracefs()
                    .read(&format!("{}/format", probe.event))
                    .ok()
                    .and_then(|text| Format::parse(&text))
                    .and_then(|f| Layout::new(probe, syscall, &f));
                match layout {
                    Some(layout) => {
                        let name = probe
                            .event
                            .trim_start_matches("events/")
                            .replacen('/', ":", 1);
                        added.push((*sys, layout, name));
                        continue;
                    }
                    None => format!("cannot read {}/format", probe.event),
                }
            }
            // Not the kernel's answer to event probes: ftr cannot write here.
            Ok(Err(e))
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EROFS | libc::EACCES | libc::EPERM)
                ) =>
            {
                return Err(crate::error::Error::io(
                    "write",
                    &session.tracefs().path("dynamic_events"),
                    &e,
                ));
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                "it has no dynamic_events (Linux 4.17+ with CONFIG_PROBE_EVENTS)".to_string()
            }
            Ok(Err(e)) => {
                let log = session.tracefs().read("error_log").unwrap_or_default();
                let why = match logged_error(&log, &probe.add) {
                    Some(why) => format!("error_log: {why}"),
                    None => "error_log says nothing".to_string(),
                };
                let e = e.to_string();
                let e = e.split(" (os error").next().unwrap_or(&e);
                format!("writing `{}` to dynamic_events: {e}; {why}", probe.add)
            }
            Err(e) => return Err(e),
        };
        let msg = match n {
            0 => format!(
                "strings are not shown: this kernel refuses event probes ({refused}); pointers are shown instead (--no-strings skips the probes)"
            ),
            _ => format!("{}'s strings are not shown: {refused}", plan.syscalls[*sys as usize].name),
        };
        crate::error::warn(format_args!("{msg}"));
        if n == 0 {
            break;
        }
    }
    Ok(added)
}

/// fcntl(F_SETFD)'s third argument holds FD_CLOEXEC.
fn rec_arg_cloexec(sys: &Syscall, rec: &[u8]) -> bool {
    sys.args
        .get(2)
        .and_then(|a| read_int(rec, &a.field))
        .is_some_and(|v| v & libc::FD_CLOEXEC as i64 != 0)
}

/// The kernel's reason for refusing `command`, from `error_log`: its
/// entries are `[time] source: error: REASON`, then `  Command: …`.
fn logged_error(log: &str, command: &str) -> Option<String> {
    let lines: Vec<&str> = log.lines().collect();
    lines.windows(2).rev().find_map(|w| {
        let reason = w[0].split_once(" error: ")?.1;
        let logged = w[1].trim().strip_prefix("Command: ")?;
        (command.starts_with(logged) || logged.starts_with(command))
            .then(|| reason.trim().to_string())
    })
}

/// Configures ftr's instance and turns the events on (recording stays off
/// until the run turns it on).
fn arm(
    session: &mut Session,
    plan: &Plan,
    who: &Who,
    buffer_kb: Option<u64>,
    probes: &[(u32, Layout, String)],
) -> Result<()> {
    session.set_instance("tracing_on", "0")?;
    if let Some(kb) = buffer_kb {
        session.set_instance("buffer_size_kb", &kb.to_string())?;
    }
    // Wake the reader when a quarter of a CPU's buffer is full.
    let _ = session.set_instance("buffer_percent", "25");
    if !who.tids.is_empty() {
        session.set_instance("options/event-fork", if who.inherit { "1" } else { "0" })?;
        let list: Vec<String> = who.tids.iter().map(i32::to_string).collect();
        session.set_instance("set_event_pid", &list.join(" "))?;
    } else if session.tracefs().exists("set_event_notrace_pid") {
        // System-wide: leave out ftr's own reading and writing.
        session.set_instance("set_event_notrace_pid", &who.quiet)?;
    }
    let mut events = String::new();
    for s in &plan.syscalls {
        events.push_str(&format!(
            "syscalls:sys_enter_{0}\nsyscalls:sys_exit_{0}\n",
            s.name
        ));
    }
    for (_, _, name) in probes {
        events.push_str(name);
        events.push('\n');
    }
    for (present, name) in [
        (plan.internal.fork.is_some(), "sched:sched_process_fork"),
        (plan.internal.exec.is_some(), "sched:sched_process_exec"),
        (plan.internal.rename.is_some(), "task:task_rename"),
    ] {
        if present {
            events.push_str(name);
            events.push('\n');
        }
    }
    session.set_instance("set_event", &events)
}

/// What an event id means to ftr.
#[derive(Clone, Copy)]
enum Handler {
    Ignore,
    Enter(u32),
    Exit(u32),
    Fork,
    Exec,
    Rename,
    /// A probe's strings for the next entry of this syscall.
    Strings(u32),
}

struct Pending {
    sys: u32,
    ts: u64,
    len: usize,
    rec: [u8; MAX_ENTER],
    /// The sys_enter record when it is longer than `rec`.
    long: Option<Vec<u8>>,
    /// Its probe's record, when it has one.
    strings: Option<Vec<u8>>,
}

impl Pending {
    /// Its sys_enter record, whole.
    fn enter(&self) -> &[u8] {
        self.long.as_deref().unwrap_or(&self.rec[..self.len])
    }
}

struct Tracer {
    syscalls: Vec<Syscall>,
    handlers: Vec<Handler>,
    internal: Internal,
    stats: Vec<Stats>,
    pending: HashMap<i32, Pending>,
    comms: HashMap<i32, String>,
    /// The command's pid until it execs: its events before that are ftr's own
    /// (waiting at the gate), not the command's.
    gated: Option<i32>,
    t0: u64,
    absolute: bool,
    lines: bool,
    min_ns: u64,
    failures_only: bool,
    theme: Theme,
    out: Vec<u8>,
    lost: u64,
    /// Syscalls seen only half (entry or exit), not in the statistics.
    unpaired: u64,
    /// Per syscall, its probe's layout.
    layouts: Vec<Option<Layout>>,
    /// Spent records (probes', long sys_enter ones), for reuse.
    spare: Vec<Vec<u8>>,
    /// Strings the kernel could not read.
    faults: u64,
    /// Which file each descriptor is, where the trace tells.
    fds: fds::Fds,
}

impl Tracer {
    fn new(plan: &Plan, args: &TraceArgs, theme: Theme) -> Tracer {
        let mut handlers = Vec::new();
        let mut set = |id: u16, h: Handler| {
            let id = id as usize;
            if handlers.len() <= id {
                handlers.resize(id + 1, Handler::Ignore);
            }
            handlers[id] = h;
        };
        for (i, s) in plan.syscalls.iter().enumerate() {
            set(s.enter_id, Handler::Enter(i as u32));
            set(s.exit_id, Handler::Exit(i as u32));
        }
        let internal = plan.internal.clone();
        if let Some((id, ..)) = internal.fork {
            set(id, Handler::Fork);
        }
        if let Some((id, ..)) = internal.exec {
            set(id, Handler::Exec);
        }
        if let Some((id, ..)) = internal.rename {
            set(id, Handler::Rename);
        }
        Tracer {
            syscalls: plan.syscalls.clone(),
            handlers,
            internal,
            stats: vec![
                Stats::new(
                    args.latency.and_then(|l| l.linear),
                    args.latency.is_some_and(|l| l.interval.is_some())
                );
                plan.syscalls.len()
            ],
            pending: HashMap::new(),
            comms: HashMap::new(),
            gated: None,
            t0: 0,
            absolute: args.absolute_time,
            lines: args.summary != Summary::Only,
            min_ns: args.min_duration_ns.unwrap_or(0),
            failures_only: args.failures_only,
            theme,
            out: Vec::with_capacity(64 * 1024),
            lost: 0,
            unpaired: 0,
            layouts: vec![None; plan.syscalls.len()],
            spare: Vec::new(),
            faults: 0,
            fds: fds::Fds::default(),
        }
    }

    /// Syscall `sys`'s strings come in records of this layout.
    fn set_strings(&mut self, sys: u32, layout: Layout) {
        let id = layout.id as usize;
        if self.handlers.len() <= id {
            self.handlers.resize(id + 1, Handler::Ignore);
        }
        self.handlers[id] = Handler::Strings(sys);
        self.layouts[sys as usize] = Some(layout);
    }

    fn handle(&mut self, item: &Item, data: &[u8]) {
        let e = match *item {
            Item::Event(e) => e,
            Item::Lost { ts, cpu, count } => {
                self.lost += count;
                let t = self.time(ts);
                render::lost_line(&mut self.out, &self.theme, t, cpu, count);
                return;
            }
        };
        if data.len() < 8 {
            return;
        }
        let id = u16::from_le_bytes([data[0], data[1]]) as usize;
        let tid = i32::from_le_bytes([data[4], data[5], data[6], data[7]]);
        let handler = self.handlers.get(id).copied().unwrap_or(Handler::Ignore);
        if self.gated == Some(tid) {
            match handler {
                // The exec (whose comm change is a rename) opens the gate.
                Handler::Exec | Handler::Rename => self.gated = None,
                // The strings of the execve that opened the gate.
                Handler::Strings(_) => {}
                Handler::Enter(i) if self.syscalls[i as usize].name.starts_with("execve") => {
                    self.gated = None
                }
                _ => return,
            }
        }
        match handler {
            Handler::Ignore => {}
            // The probe fires after the sys_enter record is written: its
            // strings belong to the call the task just entered.
            Handler::Strings(i) => {
                if self
                    .pending
                    .get(&tid)
                    .is_some_and(|p| p.sys == i && p.strings.is_none())
                {
                    let rec = self.copy(data);
                    if let Some(p) = self.pending.get_mut(&tid) {
                        p.strings = Some(rec);
                    }
                }
            }
            Handler::Enter(i) => {
                let sys = &self.syscalls[i as usize];
                if sys.no_return {
                    self.unpaired += 1;
                    if !self.filtering() {
                        self.show(tid, i, e.ts, None, Some(data), None, None);
                    }
                    return;
                }
                // Strings the event carries itself make it long.
                let long = (data.len() > MAX_ENTER).then(|| self.copy(data));
                let mut p = Pending {
                    sys: i,
                    ts: e.ts,
                    len: data.len().min(MAX_ENTER),
                    rec: [0; MAX_ENTER],
                    long,
                    strings: None,
                };
                p.rec[..p.len].copy_from_slice(&data[..p.len]);
                if let Some(old) = self.pending.insert(tid, p) {
                    // Its exit was lost: show it as unfinished.
                    self.unpaired += 1;
                    if !self.filtering() {
                        self.show_pending(tid, &old, None, None);
                    }
                    self.spare.extend(old.strings);
                    self.spare.extend(old.long);
                }
            }
            Handler::Exit(i) => {
                let ret = read_int(data, &self.syscalls[i as usize].ret).unwrap_or(0);
                match self.pending.remove(&tid) {
                    Some(p) if p.sys == i => {
                        let dur = e.ts.saturating_sub(p.ts);
                        let failed = (-4095..0).contains(&ret);
                        if self.stats[i as usize].add(dur, failed) {
                            self.stats[i as usize].slowest = Slowest {
                                ns: dur,
                                at_ns: e.ts,
                                task: format!("{}-{tid}", self.comm(tid)),
                                cpu: e.cpu,
                            };
                        }
                        if self.lines && dur >= self.min_ns && (!self.failures_only || failed) {
                            self.show_pending(tid, &p, Some(dur), Some(ret));
                        }
                        self.learn(tid, &p, ret);
                        self.spare.extend(p.strings);
                        self.spare.extend(p.long);
                    }
                    other => {
                        if let Some(p) = other {
                            self.pending.insert(tid, p);
                        }
                        // Entered before tracing began (or its entry was lost).
                        self.unpaired += 1;
                        if !self.filtering()
                            || (self.failures_only && self.min_ns == 0 && (-4095..0).contains(&ret))
                        {
                            self.show(tid, i, e.ts, None, None, Some(ret), None);
                        }
                    }
                }
            }
            Handler::Fork => {
                if let Some((_, pid, comm)) = &self.internal.fork {
                    if let (Some(pid), Some(comm)) = (read_int(data, pid), read_str(data, comm)) {
                        self.fds.fork(tid, pid as i32);
                        self.comms
                            .insert(pid as i32, String::from_utf8_lossy(comm).into_owned());
                    }
                }
            }
            Handler::Exec => {
                if let Some((_, pid, file)) = &self.internal.exec {
                    if let (Some(pid), Some(file)) = (read_int(data, pid), read_str(data, file)) {
                        let base = file.rsplit(|&b| b == b'/').next().unwrap_or(file);
                        let comm: String = String::from_utf8_lossy(base).chars().take(15).collect();
                        self.comms.insert(pid as i32, comm);
                    }
                }
            }
            Handler::Rename => {
                if let Some((_, pid, comm)) = &self.internal.rename {
                    if let (Some(pid), Some(comm)) = (read_int(data, pid), read_str(data, comm)) {
                        self.comms
                            .insert(pid as i32, String::from_utf8_lossy(comm).into_owned());
                    }
                }
            }
        }
    }

    /// A copy of a record, in a spent buffer when there is one.
    fn copy(&mut self, data: &[u8]) -> Vec<u8> {
        let mut rec = self.spare.pop().unwrap_or_default();
        rec.clear();
        rec.extend_from_slice(data);
        rec
    }

    /// What a finished call did to its process's descriptors, learnt once
    /// its line shows the state before (a close names the file it closed).
    fn learn(&mut self, tid: i32, p: &Pending, ret: i64) {
        let sys = &self.syscalls[p.sys as usize];
        if sys.effect == fds::Effect::None {
            return;
        }
        let tgid = self.fds.tgid(tid);
        let rec = p.enter();
        let arg = |i: usize| read_int(rec, &sys.args[i].field).unwrap_or(-1);
        let cloexec =
            |flags: Option<usize>| flags.is_some_and(|f| arg(f) & libc::O_CLOEXEC as i64 != 0);
        match sys.effect {
            fds::Effect::Close { fd } => self.fds.closed(tgid, arg(fd)),
            fds::Effect::Exec if ret == 0 => self.fds.exec(tgid),
            _ if ret < 0 => {}
            fds::Effect::Open { name, flags } => {
                match self.opened_name(p, name) {
                    Some(path) => self.fds.opened(tgid, ret, path, cloexec(flags)),
                    None => self.fds.closed(tgid, ret), // a new file, not named
                }
            }
            fds::Effect::Dup { old, flags } => self.fds.dup(tgid, arg(old), ret, cloexec(flags)),
            fds::Effect::Fcntl { fd, cmd } => match arg(cmd) as i32 {
                libc::F_DUPFD => self.fds.dup(tgid, arg(fd), ret, false),
                libc::F_DUPFD_CLOEXEC => self.fds.dup(tgid, arg(fd), ret, true),
                libc::F_SETFD => {
                    let on = rec_arg_cloexec(sys, rec);
                    self.fds.set_cloexec(tgid, arg(fd), on)
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// The file name an open call read for argument `name`, as its event or
    /// its probe recorded it.
    fn opened_name<'p>(&self, p: &'p Pending, name: usize) -> Option<&'p [u8]> {
        let sys = &self.syscalls[p.sys as usize];
        let probed = self.layouts[p.sys as usize]
            .as_ref()
            .zip(p.strings.as_deref());
        match strings::of_call(sys, Some(p.enter()), probed, name)? {
            strings::Shown::Text(path) => Some(path),
            strings::Shown::Fault => None,
        }
    }

    /// `--duration` or `--failure` is on: calls whose duration or result is
    /// unknown are left out.
    fn filtering(&self) -> bool {
        self.min_ns > 0 || self.failures_only
    }

    fn time(&self, ts: u64) -> u64 {
        if self.absolute {
            ts
        } else {
            ts.saturating_sub(self.t0)
        }
    }

    /// Shows a call whose entry was seen, with its strings.
    fn show_pending(&mut self, tid: i32, p: &Pending, dur: Option<u64>, ret: Option<i64>) {
        let strings = p.strings.as_deref();
        self.show(tid, p.sys, p.ts, dur, Some(p.enter()), ret, strings);
    }

    /// Shows a call; `strings` is its probe's record, when it has one.
    #[allow(clippy::too_many_arguments)]
    fn show(
        &mut self,
        tid: i32,
        sys: u32,
        ts: u64,
        dur: Option<u64>,
        enter: Option<&[u8]>,
        ret: Option<i64>,
        strings: Option<&[u8]>,
    ) {
        if !self.lines {
            return;
        }
        let time_ns = self.time(ts);
        self.comm(tid);
        // The process's table, looked up only when some file is known.
        let tgid = (!self.fds.is_empty()).then(|| self.fds.tgid(tid));
        let call = Call {
            sys: &self.syscalls[sys as usize],
            time_ns,
            dur_ns: dur,
            comm: &self.comms[&tid],
            tid,
            enter,
            ret,
            strings: self.layouts[sys as usize].as_ref().zip(strings),
            fds: tgid.and_then(|t| self.fds.table(t)),
        };
        self.faults += render::call_line(&mut self.out, &self.theme, &call);
    }

    /// The task's name: from its fork, exec or rename, else /proc once.
    fn comm(&mut self, tid: i32) -> &str {
        self.comms.entry(tid).or_insert_with(|| {
            std::fs::read_to_string(format!("/proc/{tid}/comm"))
                .map(|s| s.trim_end().to_string())
                .unwrap_or_else(|_| "?".to_string())
        })
    }

    /// Syscalls still running when tracing stopped.
    fn finish(&mut self) {
        let mut left: Vec<(i32, Pending)> = self.pending.drain().collect();
        left.sort_by_key(|(_, p)| p.ts);
        for (tid, p) in left {
            self.unpaired += 1;
            if !self.filtering() {
                self.show_pending(tid, &p, None, None);
            }
        }
    }
}
