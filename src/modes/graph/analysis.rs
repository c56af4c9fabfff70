//! `ftr profile`, `ftr latency -T` and `ftr report --profile|--folded|--latency`:
//! graph mode's records (or a text trace's lines) turned into numbers
//! instead of text. The records come in the kernel's order, as for the
//! text, so each task's calls nest.

use std::collections::HashMap;

use crate::cli::Analysis;
use crate::modes::graph::kernel_text::{Cmdlines, Kernel};
use crate::modes::graph::profile::{self, Profile};
use crate::modes::graph::records::{Body, Layouts};
use crate::modes::report::parse::{Kind, Line};
use crate::present::hist::{self, Hist, Slowest};
use crate::present::theme::Theme;
use crate::source::stream::Sink;

/// One function's durations.
struct Latency {
    whole: Hist,
    interval: Hist,
    slowest: Slowest,
}

pub struct Analyzer {
    /// Names functions and tasks (none for a text trace: names come from
    /// the lines, interned in `interned`).
    kernel: Option<Kernel>,
    ask: Analysis,
    profile: Profile,
    latency: HashMap<u64, Latency>,
    /// `-T NAME`: whether a function address is NAME (asked once each).
    wanted: HashMap<u64, bool>,
    /// Text traces: function ids are 1 + the index of their name here.
    interned: Vec<String>,
    ids: HashMap<String, u64>,
    /// Text traces: the task key of each line, and whether lines can be
    /// paired at all.
    text_key: TextKey,
    /// Text traces: the functions each key has entered and not left, by
    /// depth (a bare `}` names none).
    text_open: HashMap<i32, Vec<u64>>,
    pub lost: u64,
    pub lost_unknown: bool,
}

/// How calls are told apart by task in a text trace.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TextKey {
    /// Nothing seen yet.
    Unknown,
    /// The proc column.
    Task,
    /// No proc column: the CPU (or one task), until a context switch.
    Cpu,
}

impl Analyzer {
    pub fn new(kernel: Option<Kernel>, ask: Analysis) -> Analyzer {
        Analyzer {
            kernel,
            ask,
            profile: Profile::default(),
            latency: HashMap::new(),
            wanted: HashMap::new(),
            interned: Vec::new(),
            ids: HashMap::new(),
            text_key: TextKey::Unknown,
            text_open: HashMap::new(),
            lost: 0,
            lost_unknown: false,
        }
    }

    fn name(&self, func: u64) -> String {
        if func == 0 {
            return "[unknown]".to_string();
        }
        match &self.kernel {
            Some(k) => match k.symbols.lookup(func) {
                Some(sym) => sym.display.to_string(),
                None => format!("{func:#x}"),
            },
            None => self
                .interned
                .get(func as usize - 1)
                .cloned()
                .unwrap_or_default(),
        }
    }

    fn task(&self, pid: i32) -> String {
        match (&self.kernel, self.text_key) {
            (Some(k), _) => format!("{}-{pid}", k.cmdlines.comm(pid)),
            (None, TextKey::Task) => format!("{pid}"),
            // Keyed by CPU: no task to name.
            (None, _) => String::new(),
        }
    }

    /// Whether `ftr latency` counts a call of `func` at `depth`: `-T`'s
    /// function, or else the outermost calls.
    fn latency_wants(&mut self, func: u64, depth: i32) -> bool {
        let Analysis::Latency {
            func: Some(want), ..
        } = &self.ask
        else {
            return depth == 0;
        };
        if let Some(&yes) = self.wanted.get(&func) {
            return yes;
        }
        let name = self.name(func);
        // `%ps` shows module functions as `name [mod]`.
        let yes = name == *want || name.split(' ').next() == Some(want.as_str());
        self.wanted.insert(func, yes);
        yes
    }

    fn entry(&mut self, pid: i32, func: u64, depth: i32) {
        if matches!(self.ask, Analysis::Profile { .. }) {
            self.profile.entry(pid, func, depth);
        }
    }

    fn exit(&mut self, pid: i32, func: u64, depth: i32, dur: u64, at: (u64, u32)) {
        match self.ask {
            Analysis::Profile { .. } => self.profile.exit(pid, func, depth, dur),
            Analysis::Latency { opts, .. } => {
                let linear = opts.linear;
                if !self.latency_wants(func, depth) {
                    return;
                }
                let slower = self.latency.get(&func).is_none_or(|l| dur > l.slowest.ns);
                let task = if slower {
                    self.task(pid)
                } else {
                    String::new()
                };
                let l = self.latency.entry(func).or_insert_with(|| Latency {
                    whole: Hist::new(linear),
                    interval: Hist::new(linear),
                    slowest: Slowest::default(),
                });
                l.whole.add(dur);
                l.interval.add(dur);
                if slower {
                    l.slowest = Slowest {
                        ns: dur,
                        at_ns: at.0,
                        task,
                        cpu: at.1,
                    };
                }
            }
        }
    }

    /// A text trace's line (`ftr report --profile FILE` of `cat trace`).
    /// Fails, naming the fix, where calls cannot be paired.
    pub fn text_line(&mut self, line: &Line<'_>) -> Result<(), String> {
        match line.kind {
            Kind::Lost { count, .. } => {
                match count {
                    Some(n) => self.lost += n,
                    None => self.lost_unknown = true,
                }
                return Ok(());
            }
            Kind::Switch { .. } if self.text_key != TextKey::Task => {
                return Err(
                    "it has context switches but no task column, so calls of different \
                            tasks cannot be paired; trace with -O funcgraph-proc, or save a \
                            capture with -o"
                        .into(),
                );
            }
            Kind::Entry | Kind::Leaf | Kind::Return => {}
            _ => return Ok(()),
        }
        let key = match (line.task, self.text_key) {
            (Some(t), TextKey::Unknown | TextKey::Task) => {
                self.text_key = TextKey::Task;
                t.pid as i32
            }
            (None, TextKey::Unknown | TextKey::Cpu) => {
                self.text_key = TextKey::Cpu;
                line.cpu.map_or(0, |c| c as i32)
            }
            _ => return Err("its lines mix task columns and none".into()),
        };
        let depth = line.depth.unwrap_or(0) as i32;
        let func = match line.func {
            Some(span) => {
                let name = line.text.get(span.range()).unwrap_or("?");
                match self.ids.get(name) {
                    Some(&id) => id,
                    None => {
                        self.interned.push(name.to_string());
                        let id = self.interned.len() as u64;
                        self.ids.insert(name.to_string(), id);
                        id
                    }
                }
            }
            // A bare `}`: the function of the entry at its depth.
            None => self
                .text_open
                .get(&key)
                .and_then(|open| open.get(depth as usize))
                .copied()
                .unwrap_or(0),
        };
        let open = self.text_open.entry(key).or_default();
        open.truncate(depth as usize);
        if line.kind == Kind::Entry {
            // At its depth, whatever was seen of the callers.
            open.resize(depth as usize, 0);
            open.push(func);
        }
        let at = (line.abstime_ns.unwrap_or(0), line.cpu.unwrap_or(0));
        match line.kind {
            Kind::Entry => self.entry(key, func, depth),
            Kind::Leaf => {
                self.entry(key, func, depth);
                self.exit(key, func, depth, line.duration_ns.unwrap_or(0), at);
            }
            _ => self.exit(key, func, depth, line.duration_ns.unwrap_or(0), at),
        }
        Ok(())
    }

    /// `-i`: the histograms of the interval just ended, then empty ones.
    pub fn interval(&mut self, out: &mut Vec<u8>, theme: &Theme, secs: f64) {
        let Analysis::Latency { opts, .. } = self.ask else {
            return;
        };
        let show = opts.show;
        let mut rows = self.latency_rows();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        out.extend_from_slice(format!("--- last {secs:.1} s ---\n").as_bytes());
        for (name, func) in rows {
            let l = self.latency.get_mut(&func).expect("a row's function");
            hist::render(out, theme, &name, &l.interval, None, show);
            l.interval = l.interval.empty_like();
        }
        out.push(b'\n');
    }

    fn latency_rows(&self) -> Vec<(String, u64)> {
        self.latency.keys().map(|&f| (self.name(f), f)).collect()
    }

    /// The answer: the histograms, the table or the folded stacks.
    pub fn finish(&self, out: &mut Vec<u8>, theme: &Theme) {
        match &self.ask {
            Analysis::Latency { opts, func } => {
                let show = &opts.show;
                let mut rows = self.latency_rows();
                rows.sort_by(|a, b| a.0.cmp(&b.0));
                if rows.is_empty() {
                    let what = func.as_deref().unwrap_or("any outermost function");
                    out.extend_from_slice(format!("no calls of {what} seen\n").as_bytes());
                }
                for (name, f) in rows {
                    let l = &self.latency[&f];
                    hist::render(out, theme, &name, &l.whole, Some(&l.slowest), *show);
                }
                out.extend_from_slice(format!("({})\n", hist::PRECISION).as_bytes());
            }
            Analysis::Profile { folded: true, .. } => {
                let stacks = self.profile.stacks();
                let mut names: HashMap<u64, String> = HashMap::new();
                for &f in stacks.iter().flat_map(|(s, _)| s) {
                    names.entry(f).or_insert_with(|| self.name(f));
                }
                let stacks = stacks
                    .iter()
                    .map(|(s, ns)| (s.iter().map(|f| names[f].as_str()).collect(), *ns))
                    .collect();
                profile::folded(stacks, out);
            }
            Analysis::Profile { sort, .. } => {
                let mut rows: Vec<_> = self
                    .profile
                    .funcs()
                    .map(|(f, s)| (self.name(f), *s))
                    .collect();
                profile::table(&mut rows, *sort, out);
                let root = self.profile.root_total;
                out.extend_from_slice(
                    format!(
                        "# {} calls; outermost calls: {}.{:03} us in all\n",
                        self.profile.calls,
                        root / 1000,
                        root % 1000
                    )
                    .as_bytes(),
                );
                let unrecorded = self.profile.unrecorded();
                if unrecorded > 0 {
                    out.extend_from_slice(
                        format!(
                            "# {}.{:03} us in calls whose callers were not recorded to their return: self times add up to both\n",
                            unrecorded / 1000,
                            unrecorded % 1000
                        )
                        .as_bytes(),
                    );
                }
                let clipped = self.profile.clipped;
                if clipped > 0 {
                    out.extend_from_slice(
                        format!(
                            "# {}.{:03} us of children beyond their caller's duration: self times add up to that much more\n",
                            clipped / 1000,
                            clipped % 1000
                        )
                        .as_bytes(),
                    );
                }
                let open = self.profile.open_calls();
                if open > 0 {
                    out.extend_from_slice(
                        format!("# {open} calls were still running when the trace ended: only their finished children are counted\n").as_bytes(),
                    );
                }
            }
        }
    }
}

impl Sink for Analyzer {
    fn layouts(&self) -> &Layouts {
        &self
            .kernel
            .as_ref()
            .expect("records come with a kernel")
            .layouts
    }

    fn record(&mut self, cpu: u32, ts: u64, rec: &[u8], _: Option<&[u8]>, _: &mut Vec<u8>) -> bool {
        let Some(r) = self.layouts().decode(rec) else {
            return false;
        };
        let pid = r.common.pid;
        match r.body {
            Body::Entry(e) => {
                let (func, depth) = (e.func, e.depth);
                self.entry(pid, func, depth);
            }
            Body::Exit(x) => {
                let dur = x.rettime.wrapping_sub(x.calltime);
                self.exit(pid, x.func, x.depth, dur, (ts, cpu));
            }
            _ => {}
        }
        false
    }

    fn lost(&mut self, _cpu: u32, count: u64, _out: &mut Vec<u8>) {
        match count {
            0 => self.lost_unknown = true,
            n => self.lost += n,
        }
    }

    fn set_cmdlines(&mut self, cmdlines: Cmdlines) {
        if let Some(k) = &mut self.kernel {
            k.cmdlines = cmdlines;
        }
    }
}
