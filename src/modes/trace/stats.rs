//! Per-syscall statistics: counts, errors, min/avg/max/stddev, percentiles
//! and the distribution, in constant memory per syscall (see `hist`).

use crate::present::hist::{Hist, Linear, Slowest};

#[derive(Clone, Default)]
pub struct Stats {
    pub errors: u64,
    mean: f64,
    m2: f64,
    /// The whole run.
    pub hist: Hist,
    /// `-i`: since the last interval was shown.
    pub interval: Option<Hist>,
    pub slowest: Slowest,
}

impl Stats {
    pub fn new(linear: Option<Linear>, intervals: bool) -> Stats {
        Stats {
            hist: Hist::new(linear),
            interval: intervals.then(|| Hist::new(linear)),
            ..Stats::default()
        }
    }

    /// Adds one call; true if it is the slowest so far (the caller then
    /// names it in `slowest`).
    pub fn add(&mut self, dur_ns: u64, failed: bool) -> bool {
        self.errors += u64::from(failed);
        self.hist.add(dur_ns);
        if let Some(h) = &mut self.interval {
            h.add(dur_ns);
        }
        let x = dur_ns as f64;
        let delta = x - self.mean;
        self.mean += delta / self.hist.count as f64;
        self.m2 += delta * (x - self.mean);
        dur_ns > self.slowest.ns
    }

    pub fn calls(&self) -> u64 {
        self.hist.count
    }

    /// Standard deviation as a percentage of the mean, as perf trace -s shows it.
    pub fn stddev_pct(&self) -> f64 {
        let n = self.hist.count;
        if n < 2 || self.mean == 0.0 {
            return 0.0;
        }
        let var = self.m2 / (n - 1) as f64;
        // perf shows the relative standard error of the mean.
        100.0 * (var / n as f64).sqrt() / self.mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors_and_spread() {
        let mut s = Stats::new(None, true);
        for v in 1..=10_000u64 {
            s.add(v * 1000, v % 10 == 0);
        }
        assert_eq!(s.calls(), 10_000);
        assert_eq!(s.errors, 1000);
        assert_eq!((s.hist.min, s.hist.max), (1000, 10_000_000));
        assert!((s.hist.avg() - 5_000_500.0).abs() < 1.0);
        assert!((s.mean - 5_000_500.0).abs() < 1.0);
        // stddev of 1..=n (x1000) is n/sqrt(12); its standard error / mean:
        let want = 100.0 * (10_000.0 * 1000.0 / 12f64.sqrt()) / 100.0 / 5_000_500.0;
        assert!((s.stddev_pct() - want).abs() < 0.01, "{}", s.stddev_pct());
        assert_eq!(s.interval.map(|h| h.count), Some(10_000));
    }
}
