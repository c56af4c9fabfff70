//! What the osnoise and timerlat tracers report, in numbers: per CPU, per
//! source of noise, and the sample that stopped tracing. Pure: decoded
//! records in, tables out.
//!
//! A source's noise counts in its table when the period it fell in ended:
//! the kernel's per-period summary (the `osnoise` record) is what the per-CPU
//! table adds up, so a source's total never runs ahead of its CPU's. Noise
//! in the last, unfinished period is shown live and counted apart.

use std::collections::{HashMap, VecDeque};
use std::io::Write;

use crate::present::hist::{self, Hist, Show};
use crate::present::names;
use crate::present::theme::Theme;

/// Who took the CPU from the measuring thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Nmi,
    Irq,
    Softirq,
    Thread,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Nmi => "nmi",
            Kind::Irq => "irq",
            Kind::Softirq => "softirq",
            Kind::Thread => "thread",
        }
    }
}

/// The softirqs by vector, as the kernel's print format names them.
pub const SOFTIRQS: [&str; 10] = [
    "HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU",
];

/// One noise event: `name` is `comm/pid` for a thread, `desc:vector` for
/// an irq, the softirq's name, or `nmi`.
#[derive(Debug, Clone)]
pub struct Noise {
    pub cpu: u32,
    pub kind: Kind,
    pub name: String,
    /// When it began and how long it took, ns (the trace clock).
    pub start: u64,
    pub duration: u64,
}

/// The kernel's summary of one period on one CPU (the `osnoise` record).
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    pub runtime: u64,
    pub noise: u64,
    pub max_sample: u64,
    pub hw: u64,
    pub nmi: u64,
    pub irq: u64,
    pub softirq: u64,
    pub thread: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct CpuTotals {
    periods: u64,
    sum: Period,
    max_noise: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SourceTotals {
    pub count: u64,
    pub total: u64,
    pub max: u64,
}

/// A noise sample above the threshold (`sample_threshold`).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub cpu: u32,
    pub start: u64,
    pub duration: u64,
}

/// Events kept per CPU for the analysis of a stop.
const RECENT: usize = 12;

#[derive(Debug, Default)]
pub struct Summary {
    cpus: HashMap<u32, CpuTotals>,
    sources: HashMap<(Kind, String), SourceTotals>,
    /// Per CPU, noise since its last period ended.
    pending: HashMap<u32, Vec<(Kind, String, u64)>>,
    recent: HashMap<u32, VecDeque<Noise>>,
    hists: HashMap<Kind, Hist>,
    /// The largest sample above the threshold.
    pub worst: Option<Sample>,
    events: u64,
}

impl Summary {
    pub fn noise(&mut self, n: Noise) {
        self.events += 1;
        self.hists
            .entry(n.kind)
            .or_insert_with(|| Hist::new(None))
            .add(n.duration);
        self.pending
            .entry(n.cpu)
            .or_default()
            .push((n.kind, n.name.clone(), n.duration));
        let recent = self.recent.entry(n.cpu).or_default();
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(n);
    }

    pub fn period(&mut self, cpu: u32, p: Period) {
        let t = self.cpus.entry(cpu).or_default();
        t.periods += 1;
        t.sum.runtime += p.runtime;
        t.sum.noise += p.noise;
        t.sum.max_sample = t.sum.max_sample.max(p.max_sample);
        t.sum.hw += p.hw;
        t.sum.nmi += p.nmi;
        t.sum.irq += p.irq;
        t.sum.softirq += p.softirq;
        t.sum.thread += p.thread;
        t.max_noise = t.max_noise.max(p.noise);
        for (kind, name, dur) in self.pending.remove(&cpu).unwrap_or_default() {
            let s = self.sources.entry((kind, name)).or_default();
            s.count += 1;
            s.total += dur;
            s.max = s.max.max(dur);
        }
    }

    /// A sample above the threshold. With a stop limit, the first one to
    /// reach it is the one that stopped tracing; else the largest is kept.
    pub fn sample(&mut self, s: Sample, stop_ns: Option<u64>) {
        let keep = match (self.worst, stop_ns) {
            (None, _) => true,
            (Some(w), Some(limit)) => w.duration < limit && s.duration > w.duration,
            (Some(w), None) => s.duration > w.duration,
        };
        if keep {
            self.worst = Some(s);
        }
    }

    /// Noise events seen.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Noise events of periods that had not ended when tracing stopped.
    pub fn unfinished(&self) -> usize {
        self.pending.values().map(Vec::len).sum()
    }

    /// A source's totals.
    #[cfg(test)]
    pub fn source(&self, kind: Kind, name: &str) -> Option<SourceTotals> {
        self.sources.get(&(kind, name.to_string())).copied()
    }

    /// `rtla osnoise top`'s table: one row per CPU.
    pub fn cpu_table(&self, out: &mut Vec<u8>, theme: &Theme) {
        theme.paint(
            out,
            theme.heading,
            b"CPU  PERIODS   RUNTIME(us)     NOISE(us)  %CPU AVAIL  MAX NOISE(us)  MAX SINGLE(us)      HW     NMI     IRQ    SIRQ  THREAD\n",
        );
        if self.cpus.is_empty() {
            out.extend_from_slice(b"  (no period ended: the kernel summarizes each at its end)\n");
        }
        let mut cpus: Vec<_> = self.cpus.iter().collect();
        cpus.sort_by_key(|(c, _)| **c);
        for (cpu, t) in cpus {
            let s = &t.sum;
            let avail = match s.runtime {
                0 => 0.0,
                r => 100.0 * (r.saturating_sub(s.noise)) as f64 / r as f64,
            };
            let _ = writeln!(
                out,
                "{cpu:>3} {:>8} {:>13} {:>13} {:>10.5}% {:>14} {:>15} {:>7} {:>7} {:>7} {:>7} {:>7}",
                t.periods,
                s.runtime / 1000,
                s.noise / 1000,
                avail,
                t.max_noise / 1000,
                s.max_sample / 1000,
                s.hw,
                s.nmi,
                s.irq,
                s.softirq,
                s.thread
            );
        }
    }

    /// The sources of noise by total, largest first; `comm` keeps only the
    /// threads whose name matches it.
    pub fn source_table(&self, out: &mut Vec<u8>, theme: &Theme, comm: Option<&str>) {
        let mut rows: Vec<_> = self
            .sources
            .iter()
            .filter(|((kind, name), _)| shown(*kind, name, comm))
            .collect();
        rows.sort_by(|a, b| b.1.total.cmp(&a.1.total).then_with(|| a.0.cmp(b.0)));
        theme.paint(
            out,
            theme.heading,
            b"KIND     SOURCE                      COUNT      TOTAL(us)        MAX(us)\n",
        );
        for ((kind, name), s) in rows {
            let _ = writeln!(
                out,
                "{:<8} {:<24} {:>8} {:>14.3} {:>14.3}",
                kind.name(),
                name,
                s.count,
                s.total as f64 / 1000.0,
                s.max as f64 / 1000.0
            );
        }
    }

    /// `--hist`: the distribution of noise durations per kind of source.
    pub fn hists(&self, out: &mut Vec<u8>, theme: &Theme) {
        let mut kinds: Vec<_> = self.hists.iter().collect();
        kinds.sort_by_key(|(k, _)| **k);
        for (kind, h) in kinds {
            let title = format!("{} noise", kind.name());
            hist::render(out, theme, &title, h, None, Show::default());
        }
    }

    /// Why tracing stopped: the sources that overlapped the sample that
    /// crossed the threshold, largest first, and the events just before it
    /// on its CPU. A source overlaps when its [start, start + duration]
    /// meets the sample's.
    /// `single`: the limit is one sample's (--stop-us), else a period's
    /// total (--stop-total-us), for which the largest sample is analysed.
    pub fn stop_analysis(&self, out: &mut Vec<u8>, theme: &Theme, limit_us: u64, single: bool) {
        let Some(w) = self.worst else {
            let _ = writeln!(
                out,
                "tracing stopped by the kernel, with no sample above the threshold recorded"
            );
            return;
        };
        theme.paint(out, theme.heading, b"tracing stopped: ");
        let _ = match single {
            true => writeln!(
                out,
                "a noise sample of {} on CPU {} crossed {limit_us} us (the kernel turned tracing off)",
                hist::human_ns(w.duration),
                w.cpu
            ),
            false => writeln!(
                out,
                "a period's noise crossed {limit_us} us in all (the kernel turned tracing off); its largest sample, {} on CPU {}:",
                hist::human_ns(w.duration),
                w.cpu
            ),
        };
        let mut recent: Vec<&Noise> = self
            .recent
            .get(&w.cpu)
            .map_or(Vec::new(), |r| r.iter().collect());
        recent.sort_by_key(|n| n.start);
        let end = w.start + w.duration;
        // Per source: its noise that overlapped the sample, and how often.
        let mut overlapping: Vec<((Kind, &str), u64, u64)> = Vec::new();
        for n in recent
            .iter()
            .filter(|n| n.start <= end && n.start + n.duration >= w.start)
        {
            match overlapping
                .iter_mut()
                .find(|o| o.0 == (n.kind, n.name.as_str()))
            {
                Some(o) => {
                    o.1 += n.duration;
                    o.2 += 1;
                }
                None => overlapping.push(((n.kind, n.name.as_str()), n.duration, 1)),
            }
        }
        overlapping.sort_by_key(|o| std::cmp::Reverse(o.1));
        if overlapping.is_empty() {
            out.extend_from_slice(
                b"  no source seen: hardware or firmware (an SMI, a hypervisor)\n",
            );
        } else {
            out.extend_from_slice(b"sources that overlapped it, largest first:\n");
            for ((kind, name), total, count) in overlapping {
                let _ = writeln!(
                    out,
                    "  {:<8} {:<24} {:>8} in {count}",
                    kind.name(),
                    name,
                    hist::human_ns(total)
                );
            }
        }
        self.before(out, w.cpu, end);
    }

    /// The noise events on `cpu` that began by `end`, oldest first.
    pub fn before(&self, out: &mut Vec<u8>, cpu: u32, end: u64) {
        let mut recent: Vec<&Noise> = self
            .recent
            .get(&cpu)
            .map_or(Vec::new(), |r| r.iter().collect());
        recent.sort_by_key(|n| n.start);
        if recent.is_empty() {
            let _ = writeln!(out, "no noise event recorded on CPU {cpu} before it");
            return;
        }
        let _ = writeln!(out, "events just before, on CPU {cpu}:");
        for n in recent.iter().filter(|n| n.start <= end) {
            let _ = writeln!(
                out,
                "  {}.{:09}  {:<8} {:<24} {}",
                n.start / 1_000_000_000,
                n.start % 1_000_000_000,
                n.kind.name(),
                n.name,
                hist::human_ns(n.duration)
            );
        }
    }
}

/// Whether `--comm` lets a source be shown.
pub fn shown(kind: Kind, name: &str, comm: Option<&str>) -> bool {
    match comm {
        None => true,
        Some(glob) => {
            kind == Kind::Thread
                && names::glob(glob, name.rsplit_once('/').map_or(name, |(c, _)| c))
        }
    }
}

/// The live line of one noise event, colored by its size.
pub fn live_line(out: &mut Vec<u8>, theme: &Theme, n: &Noise) {
    let style = if n.duration >= 1_000_000 {
        theme.slow
    } else if n.duration >= 10_000 {
        theme.medium
    } else {
        ""
    };
    let _ = write!(
        out,
        "{:>6}.{:06}  CPU {:<3} {:<8} {:<24} ",
        n.start / 1_000_000_000,
        n.start / 1000 % 1_000_000,
        n.cpu,
        n.kind.name(),
        n.name
    );
    theme.paint(out, style, hist::human_ns(n.duration).as_bytes());
    out.push(b'\n');
}

/// timerlat: per CPU, the latency of the timer's irq and of its thread.
#[derive(Debug, Default)]
pub struct Timerlat {
    cpus: HashMap<u32, [Lat; 2]>,
    hists: [Option<Hist>; 2],
}

#[derive(Debug, Clone, Copy, Default)]
struct Lat {
    count: u64,
    cur: u64,
    min: u64,
    max: u64,
    sum: u64,
}

impl Timerlat {
    /// One activation: `thread` is the context (0: irq, 1: thread).
    pub fn add(&mut self, cpu: u32, thread: bool, ns: u64) {
        let l = &mut self.cpus.entry(cpu).or_default()[thread as usize];
        l.min = if l.count == 0 { ns } else { l.min.min(ns) };
        l.count += 1;
        l.cur = ns;
        l.max = l.max.max(ns);
        l.sum += ns;
        self.hists[thread as usize]
            .get_or_insert_with(|| Hist::new(None))
            .add(ns);
    }

    /// `rtla timerlat top`'s table, in us.
    pub fn table(&self, out: &mut Vec<u8>, theme: &Theme) {
        theme.paint(
            out,
            theme.heading,
            b"CPU   COUNT |      IRQ cur      min      avg      max |   THREAD cur      min      avg      max\n",
        );
        let mut cpus: Vec<_> = self.cpus.iter().collect();
        cpus.sort_by_key(|(c, _)| **c);
        let us = |ns: u64| ns as f64 / 1000.0;
        for (cpu, [irq, thread]) in cpus {
            let avg = |l: &Lat| l.sum.checked_div(l.count).unwrap_or(0);
            let _ = writeln!(
                out,
                "{cpu:>3} {:>7} | {:>12.1} {:>8.1} {:>8.1} {:>8.1} | {:>12.1} {:>8.1} {:>8.1} {:>8.1}",
                irq.count.max(thread.count),
                us(irq.cur),
                us(irq.min),
                us(avg(irq)),
                us(irq.max),
                us(thread.cur),
                us(thread.min),
                us(avg(thread)),
                us(thread.max)
            );
        }
    }

    pub fn hists(&self, out: &mut Vec<u8>, theme: &Theme) {
        for (h, title) in self.hists.iter().zip(["irq latency", "thread latency"]) {
            if let Some(h) = h {
                hist::render(out, theme, title, h, None, Show::default());
            }
        }
    }

    /// The CPU and context (`thread`; None: either) with the largest
    /// latency, and it.
    pub fn worst(&self, thread: Option<bool>) -> Option<(u32, bool, u64)> {
        self.cpus
            .iter()
            .flat_map(|(&cpu, l)| [(cpu, false, l[0].max), (cpu, true, l[1].max)])
            .filter(|w| thread.is_none_or(|t| t == w.1))
            .max_by_key(|w| w.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(cpu: u32, kind: Kind, name: &str, start: u64, duration: u64) -> Noise {
        Noise {
            cpu,
            kind,
            name: name.into(),
            start,
            duration,
        }
    }

    #[test]
    fn sources_count_when_their_period_ends() {
        let mut s = Summary::default();
        s.noise(noise(1, Kind::Thread, "spin/7", 100, 5000));
        s.noise(noise(1, Kind::Irq, "local_timer:236", 200, 300));
        s.noise(noise(0, Kind::Thread, "spin/7", 300, 10));
        assert!(s.source(Kind::Thread, "spin/7").is_none());
        s.period(
            1,
            Period {
                runtime: 900_000,
                noise: 5300,
                thread: 1,
                irq: 1,
                ..Period::default()
            },
        );
        let spin = s.source(Kind::Thread, "spin/7").unwrap();
        assert_eq!((spin.count, spin.total, spin.max), (1, 5000, 5000));
        // CPU 0's period has not ended: its event waits.
        assert_eq!(s.unfinished(), 1);
        let mut out = Vec::new();
        s.source_table(&mut out, &Theme::plain(), None);
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert!(rows[0].starts_with("thread   spin/7"), "{text}");
        assert!(rows[1].starts_with("irq      local_timer:236"), "{text}");
        let mut out = Vec::new();
        s.source_table(&mut out, &Theme::plain(), Some("sp*"));
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);
        let mut out = Vec::new();
        s.cpu_table(&mut out, &Theme::plain());
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.lines().nth(1).unwrap().contains(" 99.41111%"),
            "{text}"
        );
    }

    #[test]
    fn a_stop_names_what_overlapped_the_sample() {
        let mut s = Summary::default();
        s.noise(noise(1, Kind::Irq, "local_timer:236", 1_000, 50));
        s.noise(noise(1, Kind::Thread, "spin/7", 2_000, 900_000));
        s.noise(noise(1, Kind::Irq, "local_timer:236", 500_000, 2_000));
        s.sample(
            Sample {
                cpu: 1,
                start: 1_900,
                duration: 905_000,
            },
            Some(100_000),
        );
        // After the stop: not the one that crossed the limit.
        s.sample(
            Sample {
                cpu: 1,
                start: 2_000_000,
                duration: 999_000,
            },
            Some(100_000),
        );
        let mut out = Vec::new();
        s.stop_analysis(&mut out, &Theme::plain(), 100, true);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("a noise sample of 905us on CPU 1 crossed 100 us"),
            "{text}"
        );
        let after = text.split("largest first:\n").nth(1).unwrap();
        let first: Vec<&str> = after.lines().take(3).collect();
        assert!(
            first[0].contains("spin/7") && first[0].ends_with("900us in 1"),
            "{text}"
        );
        assert!(
            first[1].contains("local_timer:236") && first[1].ends_with("2.00us in 1"),
            "{text}"
        );
        assert!(first[2].starts_with("events just before"), "{text}");
        // --stop-total-us: a period's total crossed it, not one sample.
        let mut out = Vec::new();
        s.stop_analysis(&mut out, &Theme::plain(), 100, false);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("a period's noise crossed 100 us in all (the kernel turned tracing off); its largest sample, 905us on CPU 1:"),
            "{text}"
        );
        let mut s = Summary::default();
        s.sample(
            Sample {
                cpu: 0,
                start: 10,
                duration: 200_000,
            },
            None,
        );
        let mut out = Vec::new();
        s.stop_analysis(&mut out, &Theme::plain(), 100, true);
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("no source seen: hardware or firmware"));
    }

    #[test]
    fn timerlat_keeps_cur_min_avg_max_per_context() {
        let mut t = Timerlat::default();
        for ns in [3000, 1000, 2000] {
            t.add(0, false, ns);
            t.add(0, true, ns * 10);
        }
        let mut out = Vec::new();
        t.table(&mut out, &Theme::plain());
        let text = String::from_utf8(out).unwrap();
        let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(
            row,
            ["0", "3", "|", "2.0", "1.0", "2.0", "3.0", "|", "20.0", "10.0", "20.0", "30.0"]
        );
        assert_eq!(t.worst(None), Some((0, true, 30_000)));
        assert_eq!(t.worst(Some(false)), Some((0, false, 3000)));
    }
}
