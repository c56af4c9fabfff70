//! Durations as a distribution: the histogram behind `ftr latency`, `ftr
//! trace -s --hist` and `ftr report --latency`.
//!
//! Stored finer than shown: 16 buckets per power of two (a bucket is at
//! most 1/16 of its lower bound wide), 976 counters whatever the number of
//! calls. Shown by default as four rows per power of two (each row is four
//! stored buckets, so its count is exact), or, with `--bucket-range`, as
//! linear rows counted exactly on the side. Percentiles are the middle of
//! the stored bucket they fall in, clamped to the minimum and maximum seen:
//! within 1/32 (3.2%) of the true value.

use crate::present::theme::Theme;

/// Stored buckets per power of two: 2^SUB_BITS.
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;
/// Rows shown per power of two (must divide SUB).
const ROWS_PER_POW2: usize = 4;
/// Linear rows at most (`--bucket-range` with a wide min..max).
pub const MAX_LINEAR_ROWS: u64 = 1000;

/// How much a percentile may be off, for the output's note.
pub const PRECISION: &str = "percentiles within 3.2% (16 buckets per power of two)";

fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let log = 63 - v.leading_zeros();
    let sub = (v >> (log - SUB_BITS)) as usize & (SUB - 1);
    ((log - SUB_BITS + 1) as usize) * SUB + sub
}

/// The smallest value that falls in bucket `b` (`u64::MAX` past the last).
fn bucket_floor(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    if b >= BUCKETS {
        return u64::MAX;
    }
    let log = (b / SUB) as u32 + SUB_BITS - 1;
    let sub = (b % SUB) as u64;
    (1u64 << log) | (sub << (log - SUB_BITS))
}

/// Linear rows: `[min + i*width, min + (i+1)*width)`, below `min` and from
/// `max` on counted apart (perf ftrace latency's `--bucket-range`,
/// `--min-latency`, `--max-latency`), in ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linear {
    pub width: u64,
    pub min: u64,
    pub max: u64,
}

impl Linear {
    fn rows(&self) -> usize {
        ((self.max - self.min).div_ceil(self.width)) as usize
    }
}

/// One distribution of durations, in ns.
#[derive(Clone, Debug)]
pub struct Hist {
    pub count: u64,
    pub total: u64,
    pub min: u64,
    pub max: u64,
    buckets: Box<[u64]>,
    /// With linear rows: below min, each row, from max on.
    linear: Option<(Linear, Box<[u64]>)>,
}

impl Default for Hist {
    fn default() -> Hist {
        Hist::new(None)
    }
}

impl Hist {
    pub fn new(linear: Option<Linear>) -> Hist {
        Hist {
            count: 0,
            total: 0,
            min: u64::MAX,
            max: 0,
            buckets: vec![0; BUCKETS].into_boxed_slice(),
            linear: linear.map(|l| (l, vec![0; l.rows() + 2].into_boxed_slice())),
        }
    }

    /// An empty histogram shaped like this one.
    pub fn empty_like(&self) -> Hist {
        Hist::new(self.linear.as_ref().map(|(l, _)| *l))
    }

    #[inline]
    pub fn add(&mut self, ns: u64) {
        self.count += 1;
        self.total = self.total.saturating_add(ns);
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
        self.buckets[bucket_of(ns)] += 1;
        if let Some((l, rows)) = &mut self.linear {
            let i = match ns {
                ns if ns < l.min => 0,
                ns if ns >= l.max => rows.len() - 1,
                ns => 1 + ((ns - l.min) / l.width) as usize,
            };
            rows[i] += 1;
        }
    }

    pub fn avg(&self) -> f64 {
        match self.count {
            0 => 0.0,
            n => self.total as f64 / n as f64,
        }
    }

    /// The `q`-th quantile (0..=1): the middle of its stored bucket,
    /// clamped to the observed min and max.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (b, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let lo = bucket_floor(b);
                let hi = bucket_floor(b + 1).saturating_sub(1).max(lo);
                return (lo + (hi - lo) / 2).clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// The rows to show: `(from, to, count)` with `to` exclusive (`u64::MAX`:
    /// no upper bound). Log rows go from the minimum's row to the maximum's.
    pub fn rows(&self, hide_empty: bool) -> Vec<(u64, u64, u64)> {
        let mut rows = Vec::new();
        if let Some((l, counts)) = &self.linear {
            let last = counts.len() - 1;
            for (i, &n) in counts.iter().enumerate() {
                let (from, to) = match i {
                    0 => (0, l.min),
                    i if i == last => (l.max, u64::MAX),
                    i => (
                        l.min + (i as u64 - 1) * l.width,
                        (l.min + i as u64 * l.width).min(l.max),
                    ),
                };
                // The open-ended rows only when something is in them.
                if (i == 0 || i == last) && n == 0 {
                    continue;
                }
                rows.push((from, to, n));
            }
        } else if self.count > 0 {
            let step = SUB / ROWS_PER_POW2;
            // Below SUB every value has a bucket of its own: one row for 0..SUB.
            let row_of = |b: usize| if b < SUB { 0 } else { b / step };
            let (first, last) = (row_of(bucket_of(self.min)), row_of(bucket_of(self.max)));
            for row in first..=last {
                let (lo, hi) = match row {
                    0 => (0, SUB),
                    r => ((r * step).max(SUB), (r + 1) * step),
                };
                if row > 0 && hi <= SUB {
                    continue; // rows 1..4 are inside row 0
                }
                let n = self.buckets[lo..hi].iter().sum();
                rows.push((bucket_floor(lo), bucket_floor(hi), n));
            }
        }
        if hide_empty {
            rows.retain(|r| r.2 > 0);
        }
        rows
    }
}

/// The slowest call seen: enough to find it in a trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slowest {
    pub ns: u64,
    /// When it ended, on the trace clock (ns).
    pub at_ns: u64,
    pub task: String,
    pub cpu: u32,
}

/// How to show a histogram.
#[derive(Clone, Copy, Debug, Default)]
pub struct Show {
    /// Linear rows are labelled in ns instead of us (`--use-nsec`).
    pub nsec: bool,
    pub hide_empty: bool,
}

/// A duration with three significant digits: 512ns, 1.02us, 32.8us, 1.05ms.
pub fn human_ns(ns: u64) -> String {
    // A value that rounds up to 1000 of a unit is shown in the next one.
    let (v, unit) = match ns {
        0..=999 => return format!("{ns}ns"),
        1_000..=999_499 => (ns as f64 / 1e3, "us"),
        999_500..=999_499_999 => (ns as f64 / 1e6, "ms"),
        _ => (ns as f64 / 1e9, "s"),
    };
    let decimals = if v >= 99.95 {
        0
    } else if v >= 9.995 {
        1
    } else {
        2
    };
    format!("{v:.decimals$}{unit}")
}

/// Writes `title`'s histogram and its numbers:
///
/// ```text
/// nanosleep: 20 calls
///   duration             count
///   [8.39ms, 10.5ms)        20 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
///   count 20  min 10.1ms  p50 10.1ms  p90 …  max 10.2ms  total 202ms
///   slowest 10.2ms, ended at 1234.567890 s, in sleep-4242 on CPU 1
/// ```
pub fn render(
    out: &mut Vec<u8>,
    theme: &Theme,
    title: &str,
    h: &Hist,
    slowest: Option<&Slowest>,
    show: Show,
) {
    const WIDTH: u64 = 40;
    theme.paint(out, theme.func, title.as_bytes());
    out.extend_from_slice(format!(": {} call{}\n", h.count, plural(h.count)).as_bytes());
    if h.count == 0 {
        return;
    }
    let rows = h.rows(show.hide_empty);
    let label = |ns: u64| match (&h.linear, show.nsec) {
        (Some(_), true) => format!("{ns}ns"),
        (Some(_), false) if ns % 1000 == 0 => format!("{}us", ns / 1000),
        (Some(_), false) => format!("{:.3}us", ns as f64 / 1e3),
        (None, _) => human_ns(ns),
    };
    let ranges: Vec<String> = rows
        .iter()
        .map(|&(from, to, _)| match (from, to) {
            (0, to) if h.linear.is_some() => format!("< {}", label(to)),
            (from, u64::MAX) => format!(">= {}", label(from)),
            (from, to) => format!("[{}, {})", label(from), label(to)),
        })
        .collect();
    let width = ranges.iter().map(String::len).max().unwrap_or(0).max(8);
    let peak = rows.iter().map(|r| r.2).max().unwrap_or(1).max(1);
    let head = format!("  {:<width$} {:>9}\n", "duration", "count");
    theme.paint(out, theme.heading, head.trim_end().as_bytes());
    out.push(b'\n');
    for (range, &(_, _, n)) in ranges.iter().zip(&rows) {
        let bar = (n * WIDTH).div_ceil(peak) as usize;
        let line = format!(
            "  {range:<width$} {n:>9} |{:<w$}|\n",
            "@".repeat(bar),
            w = WIDTH as usize
        );
        out.extend_from_slice(line.as_bytes());
    }
    let q = |p| human_ns(h.quantile(p));
    let numbers = format!(
        "  count {}  min {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  total {}\n",
        h.count,
        human_ns(h.min),
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        human_ns(h.max),
        human_ns(h.total),
    );
    out.extend_from_slice(numbers.as_bytes());
    if let Some(s) = slowest.filter(|s| s.ns > 0) {
        // A text trace may lack the time or the task.
        let mut line = format!("  slowest {}", human_ns(s.ns));
        if s.at_ns > 0 {
            let (secs, us) = (s.at_ns / 1_000_000_000, s.at_ns % 1_000_000_000 / 1000);
            line.push_str(&format!(", ended at {secs}.{us:06} s"));
        }
        if !s.task.is_empty() {
            line.push_str(&format!(", in {}", s.task));
        }
        line.push_str(&format!(" on CPU {}\n", s.cpu));
        out.extend_from_slice(line.as_bytes());
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_cover_values() {
        let mut prev = 0;
        for v in (0..5000u64).chain([1 << 20, (1 << 40) + 12345, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= prev, "monotonic at {v}");
            assert!(bucket_floor(b) <= v, "floor({b}) <= {v}");
            assert!(
                bucket_floor(b + 1) > v || b + 1 == BUCKETS,
                "{v} below next floor"
            );
            // A bucket is at most 1/16 of its floor wide.
            let width = bucket_floor(b + 1).saturating_sub(bucket_floor(b));
            assert!(v < 16 || width <= bucket_floor(b) / 16 + 1, "width at {v}");
            prev = b;
        }
    }

    #[test]
    fn percentiles_within_the_stated_precision() {
        let mut h = Hist::default();
        for v in 1..=10_000u64 {
            h.add(v * 1000);
        }
        assert_eq!((h.count, h.min, h.max), (10_000, 1000, 10_000_000));
        assert_eq!(h.total, 1000 * 10_000 * 10_001 / 2);
        for (q, exact) in [
            (0.5, 5_000_000.0),
            (0.9, 9_000_000.0),
            (0.99, 9_900_000.0),
            (0.999, 9_990_000.0),
        ] {
            let got = h.quantile(q) as f64;
            assert!(
                (got - exact).abs() / exact <= 0.032,
                "p{q}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn log_rows_are_quarters_of_powers_of_two_and_count_everything() {
        let mut h = Hist::default();
        let values = [3, 900, 1000, 1023, 1024, 1279, 1280, 5000, 10_000_000];
        for v in values {
            h.add(v);
        }
        let rows = h.rows(false);
        assert_eq!(rows.iter().map(|r| r.2).sum::<u64>(), values.len() as u64);
        // Contiguous, from the minimum's row to the maximum's.
        assert_eq!(rows[0], (0, 16, 1));
        for pair in rows.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "{rows:?}");
        }
        assert!(rows.contains(&(1024, 1280, 2)), "{rows:?}");
        assert!(rows.contains(&(1280, 1536, 1)), "{rows:?}");
        assert!(rows.contains(&(896, 1024, 3)), "{rows:?}");
        // 10 ms falls in [8.39 ms, 10.49 ms).
        assert_eq!(rows.last(), Some(&(8_388_608, 10_485_760, 1)));
        // Rows per power of two: four (from 16 up).
        let from_1024 = rows.iter().filter(|r| r.0 >= 1024 && r.1 <= 2048).count();
        assert_eq!(from_1024, 4);
        let shown = h.rows(true);
        assert!(shown.len() < rows.len() && shown.iter().all(|r| r.2 > 0));
        assert_eq!(shown.iter().map(|r| r.2).sum::<u64>(), values.len() as u64);
    }

    #[test]
    fn linear_rows_count_exactly() {
        let l = Linear {
            width: 1000,
            min: 2000,
            max: 5000,
        };
        let mut h = Hist::new(Some(l));
        for v in [10, 1999, 2000, 2999, 3000, 4999, 5000, 99_999] {
            h.add(v);
        }
        assert_eq!(
            h.rows(false),
            vec![
                (0, 2000, 2),
                (2000, 3000, 2),
                (3000, 4000, 1),
                (4000, 5000, 1),
                (5000, u64::MAX, 2)
            ]
        );
        let empty = h.empty_like();
        assert_eq!((empty.count, empty.rows(false).len()), (0, 3));
    }

    #[test]
    fn rendered_numbers_add_up() {
        let mut h = Hist::default();
        for _ in 0..20 {
            h.add(10_080_000);
        }
        let mut out = Vec::new();
        let slow = Slowest {
            ns: 10_080_000,
            at_ns: 1_234_567_890_123,
            task: "sleep-42".into(),
            cpu: 1,
        };
        render(
            &mut out,
            &Theme::plain(),
            "nanosleep",
            &h,
            Some(&slow),
            Show::default(),
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("nanosleep: 20 calls\n"), "{text}");
        assert!(
            text.contains("  [8.39ms, 10.5ms)        20 |@@@@"),
            "{text}"
        );
        assert!(text.contains("count 20  min 10.1ms  p50 10.1ms"), "{text}");
        assert!(text.contains("total 202ms"), "{text}");
        assert!(text.contains("slowest 10.1ms, ended at 1234.567890 s, in sleep-42 on CPU 1"));
    }

    #[test]
    fn human_units() {
        assert_eq!(human_ns(512), "512ns");
        assert_eq!(human_ns(1024), "1.02us");
        assert_eq!(human_ns(32_768), "32.8us");
        assert_eq!(human_ns(99_999), "100us");
        assert_eq!(human_ns(1_048_576), "1.05ms");
        assert_eq!(human_ns(10_485_760), "10.5ms");
        assert_eq!(human_ns(3_000_000_000), "3.00s");
        assert_eq!(human_ns(999_999), "1.00ms");
        assert_eq!(human_ns(999_999_999), "1.00s");
    }
}
