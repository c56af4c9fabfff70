//! Per-syscall statistics: counts, errors, min/avg/max/stddev, percentiles
//! and a log2 histogram, in constant memory per syscall.

/// Sub-buckets per power of two: percentiles are exact to within 1/16 (6%).
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

#[derive(Clone)]
pub struct Stats {
    pub calls: u64,
    pub errors: u64,
    pub total_ns: u64,
    pub min_ns: u64,
    pub max_ns: u64,
    mean: f64,
    m2: f64,
    buckets: Box<[u64]>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            calls: 0,
            errors: 0,
            total_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
            mean: 0.0,
            m2: 0.0,
            buckets: vec![0; BUCKETS].into_boxed_slice(),
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let log = 63 - v.leading_zeros();
    let sub = (v >> (log - SUB_BITS)) as usize & (SUB - 1);
    ((log - SUB_BITS + 1) as usize) * SUB + sub
}

/// The smallest value that falls in bucket `b`.
fn bucket_floor(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    let log = (b / SUB) as u32 + SUB_BITS - 1;
    let sub = (b % SUB) as u64;
    (1u64 << log) | (sub << (log - SUB_BITS))
}

impl Stats {
    pub fn add(&mut self, dur_ns: u64, failed: bool) {
        self.calls += 1;
        self.errors += u64::from(failed);
        self.total_ns += dur_ns;
        self.min_ns = self.min_ns.min(dur_ns);
        self.max_ns = self.max_ns.max(dur_ns);
        let x = dur_ns as f64;
        let delta = x - self.mean;
        self.mean += delta / self.calls as f64;
        self.m2 += delta * (x - self.mean);
        self.buckets[bucket_of(dur_ns)] += 1;
    }

    pub fn avg_ns(&self) -> f64 {
        self.mean
    }

    /// Standard deviation as a percentage of the mean, as perf trace -s shows it.
    pub fn stddev_pct(&self) -> f64 {
        if self.calls < 2 || self.mean == 0.0 {
            return 0.0;
        }
        let var = self.m2 / (self.calls - 1) as f64;
        // perf shows the relative standard error of the mean.
        100.0 * (var / self.calls as f64).sqrt() / self.mean
    }

    /// The `q`-th quantile (0..=1), as the middle of its bucket, clamped to
    /// the observed min and max.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.calls == 0 {
            return 0;
        }
        let rank = ((q * self.calls as f64).ceil() as u64).clamp(1, self.calls);
        let mut seen = 0;
        for (b, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let lo = bucket_floor(b);
                let hi = bucket_floor(b + 1).saturating_sub(1).max(lo);
                return (lo + (hi - lo) / 2).clamp(self.min_ns, self.max_ns);
            }
        }
        self.max_ns
    }

    /// Counts per power of two: `(floor_ns, count)` from the lowest to the
    /// highest non-empty bucket.
    pub fn log2_hist(&self) -> Vec<(u64, u64)> {
        let mut pow = [0u64; 65];
        for (b, &n) in self.buckets.iter().enumerate() {
            if n > 0 {
                let floor = bucket_floor(b);
                let p = if floor == 0 {
                    0
                } else {
                    64 - floor.leading_zeros() as usize
                };
                pow[p] += n;
            }
        }
        let first = pow.iter().position(|&n| n > 0);
        let last = pow.iter().rposition(|&n| n > 0);
        match (first, last) {
            (Some(f), Some(l)) => (f..=l)
                .map(|p| (if p == 0 { 0 } else { 1u64 << (p - 1) }, pow[p]))
                .collect(),
            _ => Vec::new(),
        }
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
            assert!(b >= prev || v < 5000, "monotonic");
            assert!(bucket_floor(b) <= v, "floor({b}) <= {v}");
            assert!(
                b + 1 >= BUCKETS || bucket_floor(b + 1) > v,
                "{v} below next floor"
            );
            prev = b;
        }
    }

    #[test]
    fn percentiles_within_bucket_precision() {
        let mut s = Stats::default();
        for v in 1..=10_000u64 {
            s.add(v * 1000, v % 10 == 0);
        }
        assert_eq!(s.calls, 10_000);
        assert_eq!(s.errors, 1000);
        assert_eq!((s.min_ns, s.max_ns), (1000, 10_000_000));
        for (q, exact) in [(0.5, 5_000_000.0), (0.9, 9_000_000.0), (0.99, 9_900_000.0)] {
            let got = s.quantile(q) as f64;
            assert!((got - exact).abs() / exact < 0.07, "p{q}: {got} vs {exact}");
        }
        assert!((s.avg_ns() - 5_000_500.0).abs() < 1.0);
    }

    #[test]
    fn log2_histogram_counts_everything() {
        let mut s = Stats::default();
        for v in [0, 1, 3, 900, 1000, 1023, 1024, 5000] {
            s.add(v, false);
        }
        let h = s.log2_hist();
        assert_eq!(h.iter().map(|&(_, n)| n).sum::<u64>(), 8);
        assert_eq!(h.first(), Some(&(0, 1)));
        assert!(h.contains(&(512, 3)));
        assert!(h.contains(&(1024, 1)));
        assert!(h.contains(&(4096, 1)));
    }
}
