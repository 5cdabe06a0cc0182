//! A virtual user: one tokio task following its `UserSchedule` — it picks a scenario, runs its
//! steps in order with its own connections, variables and random source, and records each
//! request into its shard of the `Recorder`. How each kind of step is sent and judged is in
//! `steps`.

mod steps;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gauntlet_client::grpc;
use gauntlet_client::http::Connections;
use gauntlet_client::random::next_random;
use gauntlet_client::url::split_url;

use super::judge::Outcome;
use super::recorder::Recorder;
use super::schedule::UserSchedule;
use crate::scenario::plan::{FeedMode, RunPlan, StepKind};

pub(super) struct VirtualUser {
    plan: Arc<RunPlan>,
    schedule: UserSchedule,
    t0: Instant,
    deadline: Option<Instant>,
    iteration: u64,
    recorder: Arc<Recorder>,
    vars: Vec<String>,
    rng: u64,
    connections: Connections,
    base_authority: String,
    base_prefix: String,
    channels: grpc::Channels,
    /// Index of each scenario's first step in the flattened step list.
    offsets: Vec<usize>,
    /// Whether the user has run each scenario before (`once` steps run the first time only).
    ran_before: Vec<bool>,
    /// The row each data feeder is on for this user.
    rows: Vec<usize>,
    /// Next row of each shared feeder, for all users.
    feed_cursors: Arc<[AtomicUsize]>,
}

/// Counts a user as active while it lives (dropped when the user leaves its interval, however).
struct ActiveUser<'a>(&'a AtomicU64);

impl<'a> ActiveUser<'a> {
    fn enter(gauge: &'a AtomicU64) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        ActiveUser(gauge)
    }
}

impl Drop for ActiveUser<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl VirtualUser {
    pub(super) fn new(
        plan: Arc<RunPlan>,
        schedule: UserSchedule,
        t0: Instant,
        recorder: Arc<Recorder>,
        feed_cursors: Arc<[AtomicUsize]>,
    ) -> Self {
        let (authority, prefix) = split_url(&plan.base_url).unwrap_or(("127.0.0.1:80", "/"));
        let offsets = plan
            .scenarios
            .iter()
            .scan(0, |acc, s| {
                let start = *acc;
                *acc += s.steps.len();
                Some(start)
            })
            .collect();
        let max_body = plan.max_body;
        VirtualUser {
            ran_before: vec![false; plan.scenarios.len()],
            // Per-user feeders stay on the user's own row; shared ones move every iteration.
            rows: plan.feeders.iter().map(|_| schedule.index).collect(),
            feed_cursors,
            vars: plan.vars.iter().map(|(_, v)| v.clone()).collect(),
            rng: 0x9E37_79B9_7F4A_7C15 ^ (schedule.index as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
            base_authority: authority.to_string(),
            base_prefix: prefix.trim_end_matches('/').to_string(),
            offsets,
            plan,
            schedule,
            t0,
            deadline: None,
            iteration: 0,
            recorder,
            connections: Connections::with_max_body(max_body),
            channels: grpc::Channels::default(),
        }
    }

    /// Whether the user's active interval is over. (A stopped run aborts the user's task.)
    fn should_stop(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Waits until `at`, or less if the deadline comes first; false when the
    /// user should not go on.
    async fn wait_until(&mut self, at: Instant) -> bool {
        let until = self.deadline.map_or(at, |d| d.min(at));
        tokio::time::sleep_until(until.into()).await;
        !self.should_stop()
    }

    fn pick_scenario(&mut self) -> usize {
        let scenarios = &self.plan.scenarios;
        let total: u64 = scenarios.iter().map(|s| u64::from(s.weight)).sum();
        if scenarios.len() == 1 || total == 0 {
            return 0;
        }
        let mut roll = next_random(&mut self.rng) % total;
        for (i, s) in scenarios.iter().enumerate() {
            if roll < u64::from(s.weight) {
                return i;
            }
            roll -= u64::from(s.weight);
        }
        0
    }

    pub(super) async fn run(mut self, active_users: Arc<AtomicU64>) {
        let intervals = self.schedule.active.clone();
        for (from, to) in intervals {
            self.deadline = self.t0.checked_add(to);
            if !self.wait_until(self.t0 + from).await {
                continue;
            }
            let _active = ActiveUser::enter(&active_users);
            match self.schedule.pacing.clone() {
                None => {
                    while !self.should_stop() && self.schedule.iterations.is_none_or(|n| self.iteration < n) {
                        if !self.iterate(None).await {
                            break;
                        }
                    }
                }
                Some(pacing) => {
                    let mut k: u32 = 0;
                    while let Some(due) = pacing.due(k) {
                        let intended = self.t0 + due;
                        if self.deadline.is_some_and(|d| intended >= d) {
                            break;
                        }
                        // Behind schedule only when the previous iteration overran this start;
                        // then its latency counts from the intended start. After a sleep the
                        // timer's own slack is the generator's, not the target's: not counted.
                        let late = Instant::now() > intended;
                        if late {
                            self.recorder.with(self.schedule.index, |s| s.late_starts += 1);
                        } else if !self.wait_until(intended).await {
                            break;
                        }
                        if !self.iterate(late.then_some(intended)).await {
                            break;
                        }
                        k += 1;
                    }
                }
            }
        }
    }

    /// Runs one iteration of a scenario; false when the run ended during it. `intended` is
    /// the start the first request's latency is measured from, when that was missed.
    async fn iterate(&mut self, mut intended: Option<Instant>) -> bool {
        let plan = Arc::clone(&self.plan);
        for (f, feeder) in self.plan.feeders.iter().enumerate() {
            if feeder.mode == FeedMode::Shared {
                self.rows[f] = self.feed_cursors[f].fetch_add(1, Ordering::Relaxed);
            }
        }
        let s = self.pick_scenario();
        let first_time = !std::mem::replace(&mut self.ran_before[s], true);
        for (i, step) in plan.scenarios[s].steps.iter().enumerate() {
            if self.should_stop() {
                return false;
            }
            if step.once && !first_time {
                continue;
            }
            match &step.kind {
                StepKind::Sleep(d) => {
                    if !self.wait_until(Instant::now() + *d).await {
                        return false;
                    }
                }
                // A stopped run aborts the user's task, and with it a request in flight.
                StepKind::Http(http) => {
                    let index = self.offsets[s] + i;
                    self.http_step(http, index, intended.take()).await;
                }
                StepKind::Grpc(grpc) => {
                    let index = self.offsets[s] + i;
                    self.grpc_step(grpc, index, intended.take()).await;
                }
                StepKind::AwaitEvent(event) => {
                    // A missed paced start is charged to requests, not to an event's arrival.
                    intended = None;
                    let index = self.offsets[s] + i;
                    self.await_event(event, index).await;
                }
            }
            if let Some((lo, hi)) = step.think_time {
                let span = (hi - lo).as_micros() as u64;
                let extra = if span == 0 {
                    0
                } else {
                    next_random(&mut self.rng) % (span + 1)
                };
                if !self
                    .wait_until(Instant::now() + lo + Duration::from_micros(extra))
                    .await
                {
                    return false;
                }
            }
        }
        self.iteration += 1;
        self.recorder.with(self.schedule.index, |s| s.iterations += 1);
        true
    }

    /// Records one finished request of step `stats_index`.
    fn record(&self, stats_index: usize, latency: Option<Duration>, bytes: u64, outcome: &Outcome) {
        self.recorder.with(self.schedule.index, |stats| {
            let stats = &mut stats.steps[stats_index];
            stats.requests += 1;
            if let Some(latency) = latency {
                stats.record_latency(latency.as_micros() as u64);
            }
            stats.bytes_received += bytes;
            stats.checks_passed += outcome.checks_passed;
            stats.checks_failed += outcome.checks_failed;
            if let Some(kind) = outcome.failure {
                *stats.failures.entry(kind).or_default() += 1;
            }
        });
    }
}
