//! The load engine: runs a `RunPlan` and returns what the virtual users recorded. Each user
//! is one tokio task with its own connections, variables and random source, following its
//! `UserSchedule` (closed, staged or paced); users record into a sharded `Recorder`, which the
//! engine drains once a second into per-second windows and the run's totals.

mod judge;
pub mod recorder;
pub mod schedule;
mod user;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use self::recorder::{Recorder, Window, close_window};
use self::user::VirtualUser;
use crate::gate::{self, Measured};
use crate::scenario::plan::RunPlan;
use crate::stats::Stats;
use gauntlet_client::FailureKind;
use gauntlet_reports::{PanicReport, add_panics};

/// The outcome of a run, before it becomes a report.
#[derive(Debug)]
pub struct RunResult {
    /// When the run started.
    pub started_at: SystemTime,
    /// How long it lasted.
    pub elapsed: Duration,
    /// Totals of all users (exactly the sum of `windows`).
    pub stats: Stats,
    /// One entry per second of the run (the last one may be partial).
    pub windows: Vec<Window>,
    /// Whether it was stopped before its end by a signal.
    pub interrupted: bool,
    /// The `abort_on_fail` condition that stopped the run early, as `metric condition`.
    pub aborted_by: Option<String>,
    /// Virtual users whose task panicked, by message (a defect in gauntlet: the rest of the
    /// run goes on, and the verdict is failed).
    pub panics: Vec<PanicReport>,
}

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Every request failed to connect.
    #[error("could not connect to the target: all {attempts} connection attempts failed (is {target} up?)")]
    Unreachable {
        /// Requests attempted.
        attempts: u64,
        /// The base URL.
        target: String,
    },
}

/// What the engine reports once a second while it runs.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Time since the start.
    pub elapsed: Duration,
    /// Planned length, when the run is time-bound.
    pub planned: Option<Duration>,
    /// Requests completed in the last second (all steps).
    pub requests: u64,
    /// Of which failed.
    pub failed: u64,
    /// Median latency of the last second, microseconds (0 when none).
    pub p50_us: u64,
    /// 99th percentile of the last second, microseconds (0 when none).
    pub p99_us: u64,
    /// Late starts so far.
    pub late_starts: u64,
}

/// Runs `plan` (this process's shard of it) until its end, or until `interrupt` completes
/// (then in-flight requests are abandoned and the result is marked interrupted).
pub async fn run(plan: &RunPlan, interrupt: impl Future<Output = ()>) -> Result<RunResult, RunError> {
    run_with_progress(plan, interrupt, |_| {}).await
}

/// [`run`], calling `progress` after every second.
pub async fn run_with_progress(
    plan: &RunPlan,
    interrupt: impl Future<Output = ()>,
    mut progress: impl FnMut(&Progress),
) -> Result<RunResult, RunError> {
    let plan = Arc::new(plan.clone());
    let step_count = plan.scenarios.iter().map(|s| s.steps.len()).sum();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let recorder = Arc::new(Recorder::new(cpus * 4, step_count));
    let started_at = SystemTime::now();
    let t0 = Instant::now();
    let planned = schedule::planned_duration(&plan.load);
    let feed_cursors: Arc<[AtomicUsize]> = plan.feeders.iter().map(|_| AtomicUsize::new(0)).collect();
    // Users inside one of their active intervals, sampled as each window closes.
    let active = Arc::new(AtomicU64::new(0));
    let mut users = tokio::task::JoinSet::new();
    for schedule in schedule::schedules(&plan.load) {
        let user = VirtualUser::new(
            Arc::clone(&plan),
            schedule,
            t0,
            Arc::clone(&recorder),
            Arc::clone(&feed_cursors),
        );
        users.spawn(user.run(Arc::clone(&active)));
    }

    let mut totals = Stats::new(step_count);
    let mut window = Stats::new(step_count);
    let mut windows = Vec::new();
    let mut second = 0;
    let mut tick = tokio::time::interval_at((t0 + Duration::from_secs(1)).into(), Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut interrupted = false;
    let mut aborted_by: Option<String> = None;
    let mut panics = Vec::new();
    let abort_rules: Vec<_> = plan
        .thresholds
        .iter()
        .filter(|t| t.abort_on_fail)
        .cloned()
        .collect();
    tokio::pin!(interrupt);
    loop {
        tokio::select! {
            joined = users.join_next() => match joined {
                Some(ended) => note_panic(ended, &mut panics),
                None => break,
            },
            _ = tick.tick() => {
                recorder.drain_into(&mut window);
                let mut latency = crate::stats::new_histogram();
                for step in &window.steps {
                    let _ = latency.add(&step.latency);
                }
                let update = Progress {
                    elapsed: t0.elapsed(),
                    planned,
                    requests: window.steps.iter().map(|s| s.requests).sum(),
                    failed: window.steps.iter().map(|s| s.failed()).sum(),
                    p50_us: latency.value_at_quantile(0.5),
                    p99_us: latency.value_at_quantile(0.99),
                    late_starts: totals.late_starts + window.late_starts,
                };
                close_window(second, active.load(Ordering::Relaxed), &mut window, &mut totals, &mut windows);
                progress(&update);
                second += 1;
                if aborted_by.is_none() && !abort_rules.is_empty() {
                    let measured = Measured::new(&plan, &totals.steps, totals.iterations, totals.late_starts);
                    let failed = gate::evaluate(&abort_rules, &measured).into_iter().find(|t| !t.passed && t.observed.is_some());
                    if let Some(t) = failed {
                        tracing::warn!(metric = %t.metric, condition = %t.condition, "abort_on_fail threshold failed; stopping");
                        aborted_by = Some(format!("{} {}", t.metric, t.condition));
                        users.abort_all();
                    }
                }
            }
            () = &mut interrupt, if !interrupted => {
                interrupted = true;
                users.abort_all();
            }
        }
    }
    recorder.drain_into(&mut window);
    close_window(
        second,
        active.load(Ordering::Relaxed),
        &mut window,
        &mut totals,
        &mut windows,
    );

    let elapsed = t0.elapsed();
    let attempts: u64 = totals.steps.iter().map(|s| s.requests).sum();
    let connect_failures: u64 = totals
        .steps
        .iter()
        .map(|s| s.failures.get(&FailureKind::Connect).copied().unwrap_or(0))
        .sum();
    if attempts > 0 && connect_failures == attempts && !interrupted {
        return Err(RunError::Unreachable {
            attempts,
            target: plan.base_url.clone(),
        });
    }
    Ok(RunResult {
        started_at,
        elapsed,
        stats: totals,
        windows,
        interrupted,
        aborted_by,
        panics,
    })
}

/// Counts a user task that ended in a panic; a task that ended or was aborted is nothing.
fn note_panic(ended: Result<(), tokio::task::JoinError>, panics: &mut Vec<PanicReport>) {
    let Err(err) = ended else { return };
    let Ok(payload) = err.try_into_panic() else { return };
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic payload>".to_string());
    tracing::error!(%message, "a virtual user panicked; the run goes on without it");
    add_panics(panics, &message, 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Users that panic are counted by message; users that end or are aborted are not.
    #[tokio::test]
    async fn a_panicking_user_is_counted_by_message() {
        let mut users = tokio::task::JoinSet::new();
        for i in 0..3 {
            users.spawn(async move { panic!("user {} broke", i % 2) });
        }
        users.spawn(async { std::panic::panic_any(7u8) });
        users.spawn(async {});
        users.spawn(std::future::pending::<()>()).abort();
        let mut panics = Vec::new();
        while let Some(ended) = users.join_next().await {
            note_panic(ended, &mut panics);
        }
        panics.sort_by(|a, b| a.message.cmp(&b.message));
        let got: Vec<_> = panics.iter().map(|p| (p.message.as_str(), p.users)).collect();
        assert_eq!(
            got,
            [
                ("<non-string panic payload>", 1),
                ("user 0 broke", 2),
                ("user 1 broke", 1)
            ]
        );
    }
}
