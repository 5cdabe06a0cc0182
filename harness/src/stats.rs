//! What a virtual user records: per step, an HDR latency histogram and counters. Each user
//! owns its own `Stats` (no shared state, no locks on the hot path); the engine adds them up
//! at the end. Histograms add exactly, so the merged percentiles are exact too.

use std::collections::BTreeMap;

use gauntlet_client::FailureKind;
use hdrhistogram::Histogram;

/// Highest latency recorded, microseconds (1 hour); longer values are clamped to it.
pub const MAX_LATENCY_US: u64 = 3_600_000_000;

/// A new latency histogram: microseconds, 1 us to 1 h, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// Examples kept per distinct contract violation.
pub const VIOLATION_EXAMPLES: usize = 3;

/// A distinct contract violation: operation, check, JSON pointer, what was expected.
pub type ViolationKey = (String, &'static str, String, String);

/// How often a distinct violation was seen, with the first few examples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViolationTally {
    /// Responses with this violation.
    pub count: u64,
    /// (request as `METHOD URL body-excerpt`, the value that came).
    pub examples: Vec<(String, String)>,
}

/// One step's numbers.
#[derive(Debug, Clone)]
pub struct StepStats {
    /// Latency of every timed request, microseconds.
    pub latency: Histogram<u64>,
    /// Requests sent.
    pub requests: u64,
    /// Failed requests by kind (a request counts once, under its first failure).
    pub failures: BTreeMap<FailureKind, u64>,
    /// Check conditions that held.
    pub checks_passed: u64,
    /// Check conditions that did not.
    pub checks_failed: u64,
    /// Response body bytes.
    pub bytes_received: u64,
    /// Responses checked against the contract.
    pub contract_checked: u64,
    /// Contract violations, by distinct violation.
    pub violations: BTreeMap<ViolationKey, ViolationTally>,
}

impl Default for StepStats {
    fn default() -> Self {
        StepStats {
            latency: new_histogram(),
            requests: 0,
            failures: BTreeMap::new(),
            checks_passed: 0,
            checks_failed: 0,
            bytes_received: 0,
            contract_checked: 0,
            violations: BTreeMap::new(),
        }
    }
}

impl StepStats {
    /// Requests that failed.
    pub fn failed(&self) -> u64 {
        self.failures.values().fold(0, |sum, n| sum.saturating_add(*n))
    }

    /// Records one latency, clamped into the histogram's range.
    pub fn record_latency(&mut self, micros: u64) {
        let _ = self.latency.record(micros.clamp(1, MAX_LATENCY_US));
    }

    /// Zeroes everything (keeping the histogram's allocation).
    pub fn reset(&mut self) {
        self.latency.reset();
        self.requests = 0;
        self.failures.clear();
        self.checks_passed = 0;
        self.checks_failed = 0;
        self.bytes_received = 0;
        self.contract_checked = 0;
        self.violations.clear();
    }

    /// Responses that broke the contract, counting each violation once per response.
    pub fn violation_count(&self) -> u64 {
        self.violations
            .values()
            .fold(0, |sum, t| sum.saturating_add(t.count))
    }

    /// Adds `other` into `self`. Counts saturate: a run cannot reach u64::MAX, but the steps
    /// of a report read back (the gate re-judging a merged report) are any numbers.
    pub fn add(&mut self, other: &StepStats) {
        let _ = self.latency.add(&other.latency);
        self.requests = self.requests.saturating_add(other.requests);
        for (kind, n) in &other.failures {
            let mine = self.failures.entry(*kind).or_default();
            *mine = mine.saturating_add(*n);
        }
        self.checks_passed = self.checks_passed.saturating_add(other.checks_passed);
        self.checks_failed = self.checks_failed.saturating_add(other.checks_failed);
        self.bytes_received = self.bytes_received.saturating_add(other.bytes_received);
        self.contract_checked = self.contract_checked.saturating_add(other.contract_checked);
        for (key, tally) in &other.violations {
            let mine = self.violations.entry(key.clone()).or_default();
            mine.count = mine.count.saturating_add(tally.count);
            let room = VIOLATION_EXAMPLES.saturating_sub(mine.examples.len());
            mine.examples.extend(tally.examples.iter().take(room).cloned());
        }
    }
}

/// Everything one user (or, once merged, the whole run) recorded.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Per step, indexed like the plan's steps flattened in scenario order.
    pub steps: Vec<StepStats>,
    /// Iterations completed.
    pub iterations: u64,
    /// Paced iterations that started after their intended time.
    pub late_starts: u64,
}

impl Stats {
    /// Zeroed stats for `steps` steps.
    pub fn new(steps: usize) -> Stats {
        Stats {
            steps: (0..steps).map(|_| StepStats::default()).collect(),
            iterations: 0,
            late_starts: 0,
        }
    }

    /// Adds `other` into `self` (same plan).
    pub fn add(&mut self, other: &Stats) {
        for (mine, theirs) in self.steps.iter_mut().zip(&other.steps) {
            mine.add(theirs);
        }
        self.iterations += other.iterations;
        self.late_starts += other.late_starts;
    }

    /// Zeroes everything.
    pub fn reset(&mut self) {
        self.steps.iter_mut().for_each(StepStats::reset);
        self.iterations = 0;
        self.late_starts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_histograms_equal_one_histogram_of_all_values() {
        let values: Vec<u64> = (1..5000).map(|i| (i * 7919) % 250_000 + 1).collect();
        let mut all = StepStats::default();
        let mut a = StepStats::default();
        let mut b = StepStats::default();
        for (i, v) in values.iter().enumerate() {
            all.record_latency(*v);
            if i % 3 == 0 {
                a.record_latency(*v)
            } else {
                b.record_latency(*v)
            }
        }
        a.add(&b);
        assert_eq!(a.latency, all.latency);
        assert_eq!(
            a.latency.value_at_quantile(0.99),
            all.latency.value_at_quantile(0.99)
        );
    }
}
