//! Combining the reports of shards of one distributed run into one report, exactly: counts
//! add, histograms add bucket for bucket (percentiles are recomputed from the sum, never
//! averaged), windows add by their second. Thresholds must then be evaluated again on the
//! merged numbers; that is the harness's job (it owns the threshold logic).

use std::collections::BTreeMap;

use crate::{LatencySummary, Report, StepReport, WindowReport, histogram};

/// Why reports cannot be merged.
#[derive(Debug, PartialEq, Eq)]
pub struct MergeError(pub String);

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MergeError {}

fn add_histograms(a: &str, b: &str) -> Result<String, MergeError> {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => Ok(b.to_string()),
        (_, true) => Ok(a.to_string()),
        _ => {
            let mut sum = histogram::decode(a).map_err(MergeError)?;
            let other = histogram::decode(b).map_err(MergeError)?;
            sum.add(&other)
                .map_err(|e| MergeError(format!("histograms do not add: {e:?}")))?;
            Ok(histogram::encode(&sum))
        }
    }
}

fn summary(encoded: &str) -> Result<Option<LatencySummary>, MergeError> {
    if encoded.is_empty() {
        return Ok(None);
    }
    Ok(histogram::summarize(
        &histogram::decode(encoded).map_err(MergeError)?,
    ))
}

fn merge_windows(a: &[WindowReport], b: &[WindowReport]) -> Result<Vec<WindowReport>, MergeError> {
    let mut by_second: BTreeMap<u64, WindowReport> = BTreeMap::new();
    for w in a.iter().chain(b) {
        match by_second.get_mut(&w.second) {
            None => {
                by_second.insert(w.second, w.clone());
            }
            Some(m) => {
                add(&mut m.requests, w.requests)?;
                add(&mut m.failed, w.failed)?;
                m.users = match (m.users, w.users) {
                    (Some(a), Some(b)) => Some(a.saturating_add(b)),
                    (a, b) => a.or(b),
                };
                m.histogram = add_histograms(&m.histogram, &w.histogram)?;
            }
        }
    }
    Ok(by_second.into_values().collect())
}

/// `*into += n`, refusing to wrap: counts that overflow a u64 are not shards of one run.
fn add(into: &mut u64, n: u64) -> Result<(), MergeError> {
    *into = into.checked_add(n).ok_or_else(|| {
        MergeError("the counts overflow when added: these reports cannot be shards of one run".into())
    })?;
    Ok(())
}

/// The reports must be the shards of one run, each once and all of them: `1/n` ... `n/n`.
/// Anything else (an unsharded run, shards of different splits, one missing) would add up to
/// numbers no run produced.
fn check_shards(reports: &[Report]) -> Result<(), MergeError> {
    let mut count = None;
    let mut seen = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        let which = i + 1;
        let shard = r.load.shard.as_deref().ok_or_else(|| {
            MergeError(format!(
                "report {which} is not a shard (run it with --shard i/n): only the shards of one run merge"
            ))
        })?;
        let parsed = shard
            .split_once('/')
            .and_then(|(i, n)| Some((i.parse::<u32>().ok()?, n.parse::<u32>().ok()?)))
            .filter(|(i, n)| (1..=*n).contains(i));
        let Some((index, n)) = parsed else {
            return Err(MergeError(format!("report {which}: shard {shard:?} is not i/n")));
        };
        match count {
            None => count = Some(n),
            Some(c) if c != n => {
                return Err(MergeError(format!(
                    "report {which} is shard {shard} of a {n}-way split, report 1 of a {c}-way one"
                )));
            }
            Some(_) => {}
        }
        if seen.contains(&index) {
            return Err(MergeError(format!("report {which} is shard {shard} again")));
        }
        seen.push(index);
    }
    let n = count.unwrap_or(0);
    let missing: Vec<String> = (1..=n)
        .filter(|i| !seen.contains(i))
        .map(|i| format!("{i}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError(format!(
            "shard(s) {} missing: merge all {n} shards of the run",
            missing.join(", ")
        )));
    }
    Ok(())
}

fn merge_step(into: &mut StepReport, other: &StepReport) -> Result<(), MergeError> {
    add(&mut into.requests, other.requests)?;
    add(&mut into.failed, other.failed)?;
    for (kind, n) in &other.failures {
        add(into.failures.entry(kind.clone()).or_default(), *n)?;
    }
    add(&mut into.checks_passed, other.checks_passed)?;
    add(&mut into.checks_failed, other.checks_failed)?;
    add(&mut into.bytes_received, other.bytes_received)?;
    into.histogram = add_histograms(&into.histogram, &other.histogram)?;
    into.windows = merge_windows(&into.windows, &other.windows)?;
    Ok(())
}

/// Merges shard reports of the same plan. The result's thresholds and verdict are those of
/// the first report until the caller evaluates them again on the merged numbers.
pub fn merge(reports: &[Report]) -> Result<Report, MergeError> {
    let (first, rest) = reports
        .split_first()
        .ok_or_else(|| MergeError("no reports to merge".into()))?;
    for (i, r) in rest.iter().enumerate() {
        if r.scenario != first.scenario || r.plan != first.plan || r.load.model != first.load.model {
            return Err(MergeError(format!(
                "report {} is of another scenario or plan ({} vs {}): only shards of one run merge",
                i + 2,
                r.scenario,
                first.scenario
            )));
        }
    }
    check_shards(reports)?;
    let mut merged = first.clone();
    for r in rest {
        add(&mut merged.iterations, r.iterations)?;
        add(&mut merged.late_starts, r.late_starts)?;
        merged.duration_secs = merged.duration_secs.max(r.duration_secs);
        if r.started_at < merged.started_at {
            merged.started_at = r.started_at.clone();
        }
        merged.aborted_by = merged.aborted_by.or_else(|| r.aborted_by.clone());
        for p in &r.panics {
            crate::add_panics(&mut merged.panics, &p.message, p.users);
        }
        merged.contract = match (merged.contract.take(), &r.contract) {
            (Some(mut mine), Some(theirs)) => {
                add(&mut mine.checked, theirs.checked)?;
                for v in &theirs.violations {
                    let same = |m: &&mut crate::ViolationReport| {
                        (&m.step, &m.operation, &m.check, &m.pointer, &m.expected)
                            == (&v.step, &v.operation, &v.check, &v.pointer, &v.expected)
                    };
                    match mine.violations.iter_mut().find(same) {
                        Some(m) => {
                            add(&mut m.count, v.count)?;
                            let room = 3usize.saturating_sub(m.examples.len());
                            m.examples.extend(v.examples.iter().take(room).cloned());
                        }
                        None => mine.violations.push(v.clone()),
                    }
                }
                mine.violations.sort_by_key(|v| std::cmp::Reverse(v.count));
                Some(mine)
            }
            (mine, theirs) => mine.or_else(|| theirs.clone()),
        };
        merge_step(&mut merged.total, &r.total)?;
        for (mine, theirs) in merged.steps.iter_mut().zip(&r.steps) {
            merge_step(mine, theirs)?;
        }
    }
    merged.load.shard = None;
    // One interrupted shard makes the whole run interrupted, whatever the order of the reports
    // (the thresholds are judged again by the caller, which keeps this).
    if reports.iter().any(|r| r.verdict == crate::Verdict::Interrupted) {
        merged.verdict = crate::Verdict::Interrupted;
    }
    let seconds = merged.duration_secs;
    for step in merged.steps.iter_mut().chain(std::iter::once(&mut merged.total)) {
        step.latency_us = summary(&step.histogram)?;
        step.rate_per_sec = if seconds > 0.0 {
            step.requests as f64 / seconds
        } else {
            0.0
        };
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::Histogram;

    fn hist(values: impl IntoIterator<Item = (u64, u64)>) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for (v, n) in values {
            h.record_n(v, n).unwrap();
        }
        h
    }

    /// Why percentiles are never averaged: a fast shard with many requests and a slow shard
    /// with few. The p99 of all requests is the fast shard's tail; the mean of the two p99s is
    /// dominated by the slow shard and is wrong by an order of magnitude.
    #[test]
    fn averaging_shard_p99s_is_wrong_for_a_skewed_split_and_merging_is_exact() {
        let fast = hist([(1_000, 9_800), (5_000, 200)]); // 10,000 requests, p99 5 ms
        let slow = hist([(200_000, 100)]); // 100 requests, all 200 ms
        let mut all = fast.clone();
        all.add(&slow).unwrap();
        let averaged = (fast.value_at_quantile(0.99) + slow.value_at_quantile(0.99)) as f64 / 2.0;
        let exact = all.value_at_quantile(0.99) as f64;
        assert!((exact - 5_000.0).abs() < 10.0, "exact p99 {exact}");
        assert!(averaged > 20.0 * exact, "averaged {averaged} vs exact {exact}");

        // merge() adds the encoded histograms to exactly the histogram of all requests.
        let merged = add_histograms(&histogram::encode(&fast), &histogram::encode(&slow)).unwrap();
        assert_eq!(histogram::decode(&merged).unwrap(), all);
    }

    fn shard(of: &str) -> Report {
        let mut r = crate::testing::run(&[2_000, 2_000], 0);
        r.load.shard = (!of.is_empty()).then(|| of.to_string());
        r
    }

    /// Issue 20: two unsharded runs, or shards 1/2 + 2/3, were summed into numbers no run
    /// produced. Only the complete set of one run's shards merges.
    #[test]
    fn only_all_the_shards_of_one_split_merge() {
        let err = |reports: &[Report]| merge(reports).unwrap_err().0;
        assert!(err(&[shard(""), shard("")]).contains("report 1 is not a shard"));
        assert!(err(&[shard("1/2"), shard("2/3")]).contains("3-way split"));
        assert!(err(&[shard("1/2"), shard("1/2")]).contains("shard 1/2 again"));
        assert!(err(&[shard("1/3"), shard("3/3")]).contains("shard(s) 2/3 missing"));
        assert!(err(&[shard("0/2"), shard("2/2")]).contains("is not i/n"));
        let merged = merge(&[shard("2/2"), shard("1/2")]).unwrap();
        assert_eq!(merged.total.requests, 400);
        assert_eq!(merged.load.shard, None);
    }

    /// Issue 20: u64 counters wrapped when added.
    #[test]
    fn counts_that_overflow_are_refused_not_wrapped() {
        let (a, mut b) = (shard("1/2"), shard("2/2"));
        b.iterations = u64::MAX;
        let mut a = a;
        a.iterations = 2;
        assert!(merge(&[a, b]).unwrap_err().0.contains("overflow"));
    }

    /// An interrupted shard made the merge interrupted only when it came first.
    #[test]
    fn one_interrupted_shard_interrupts_the_merge_in_any_order() {
        let mut stopped = shard("2/2");
        stopped.verdict = crate::Verdict::Interrupted;
        for order in [[shard("1/2"), stopped.clone()], [stopped.clone(), shard("1/2")]] {
            assert_eq!(merge(&order).unwrap().verdict, crate::Verdict::Interrupted);
        }
    }

    /// Panicked users of every shard are in the merge, summed by message.
    #[test]
    fn panics_of_every_shard_are_kept() {
        let (mut a, mut b) = (shard("1/2"), shard("2/2"));
        crate::add_panics(&mut a.panics, "boom", 2);
        crate::add_panics(&mut b.panics, "boom", 1);
        crate::add_panics(&mut b.panics, "bang", 1);
        let merged = merge(&[a, b]).unwrap();
        let got: Vec<_> = merged
            .panics
            .iter()
            .map(|p| (p.message.as_str(), p.users))
            .collect();
        assert_eq!(got, [("boom", 3), ("bang", 1)]);
    }

    /// Distinct messages are kept up to a bound; the rest are counted, not dropped.
    #[test]
    fn panic_messages_are_bounded_and_counted() {
        let mut panics = Vec::new();
        for i in 0..25 {
            crate::add_panics(&mut panics, &format!("panic {i}"), 1);
        }
        crate::add_panics(&mut panics, "panic 3", 1);
        assert_eq!(panics.len(), crate::MAX_PANIC_MESSAGES + 1);
        assert_eq!(panics.iter().map(|p| p.users).sum::<u64>(), 26);
        assert_eq!(panics[3].users, 2);
        assert_eq!(panics.last().unwrap().message, "other panics");
    }
}
