//! Validation of `[load]` into a `LoadPlan`: the closed model (users + duration or
//! iterations), staged (ramping `stages`), or paced (`rate` + users + duration).

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::file::RawLoad;
use super::plan::{Limit, LoadModel, LoadPlan, RateStage, Stage};
use super::{Overrides, Validator, duration};

/// Most virtual users a run takes: each holds its own connections and buffers (about 10 KiB
/// idle), so more would exhaust memory before it measured anything; shard a larger load.
pub const MAX_USERS: u32 = 100_000;
/// Slowest paced rate, iterations per second (one per ~17 minutes): below it the schedule's
/// times leave what a `Duration` can hold.
pub const MIN_RATE: f64 = 0.001;
/// Fastest paced rate, iterations per second: far past what one generator sends.
pub const MAX_RATE: f64 = 10_000_000.0;

fn rate_in_range(rate: f64) -> bool {
    rate.is_finite() && (MIN_RATE..=MAX_RATE).contains(&rate)
}

fn too_many_users(n: u32) -> String {
    format!("load.users is {n}: at most {MAX_USERS} users per generator (run more with --shard i/n)")
}

impl Validator<'_> {
    /// A duration above zero; a mistake is reported at `value` (the plan is not run then).
    pub(super) fn duration_of(&mut self, what: &str, value: &Spanned<String>) -> Duration {
        match duration::parse_duration(value.get_ref()) {
            Ok(d) if !d.is_zero() => d,
            Ok(_) => {
                self.error(value.span(), format!("{what} must be above zero"));
                Duration::from_secs(1)
            }
            Err(e) => {
                self.error(value.span(), format!("{what}: {e}"));
                Duration::from_secs(1)
            }
        }
    }

    /// `users` within [1, MAX_USERS].
    fn users_of(&mut self, raw: Option<u32>, overrides: &Overrides, span: &Range<usize>, model: &str) -> u32 {
        match overrides.users.or(raw) {
            Some(0) => {
                self.error(span.clone(), "load.users must be at least 1");
                1
            }
            Some(n) if n > MAX_USERS => {
                self.error(span.clone(), too_many_users(n));
                1
            }
            Some(n) => n,
            None => {
                self.error(span.clone(), format!("load: the {model} model needs `users`"));
                1
            }
        }
    }

    pub(super) fn load(&mut self, raw: &Spanned<RawLoad>, overrides: &Overrides) -> LoadPlan {
        let span = raw.span();
        let raw = raw.get_ref();
        let model = if let Some(raw_stages) = &raw.rate_stages {
            if raw.rate.is_some()
                || raw.stages.is_some()
                || raw.duration.is_some()
                || raw.iterations.is_some()
            {
                self.error(
                    span.clone(),
                    "load: a ramping paced run (rate_stages) takes users and start_rate only",
                );
            }
            let start_rate = raw.start_rate.unwrap_or(0.0);
            let stages: Vec<RateStage> = raw_stages
                .iter()
                .map(|s| RateStage {
                    rate: s.rate,
                    over: self.duration_of("rate stage `over`", &s.over),
                })
                .collect();
            let rates = std::iter::once(start_rate).chain(stages.iter().map(|s| s.rate));
            if rates.clone().any(|r| !(r == 0.0 || rate_in_range(r))) || rates.clone().all(|r| r == 0.0) {
                self.error(
                    span.clone(),
                    format!("load: rates must be 0 or between {MIN_RATE} and {MAX_RATE} iterations per second, and not all 0"),
                );
            }
            if stages.is_empty() {
                self.error(span.clone(), "load.rate_stages is empty");
            }
            let users = self.users_of(raw.users, overrides, &span, "paced");
            LoadModel::PacedRamp {
                start_rate,
                stages,
                users,
            }
        } else if let Some(rate) = raw.rate {
            if raw.iterations.is_some() || raw.stages.is_some() {
                self.error(
                    span.clone(),
                    "load: a paced run (rate) takes users and duration, not iterations or stages",
                );
            }
            if !rate_in_range(rate) {
                self.error(
                    span.clone(),
                    format!("load.rate must be between {MIN_RATE} and {MAX_RATE} iterations per second"),
                );
            }
            let users = self.users_of(raw.users, overrides, &span, "paced");
            let duration = match (overrides.duration, &raw.duration) {
                (Some(d), _) => d,
                (None, Some(d)) => self.duration_of("load.duration", d),
                (None, None) => {
                    self.error(span.clone(), "load: a paced run needs a duration");
                    Duration::from_secs(1)
                }
            };
            LoadModel::Paced {
                rate,
                users,
                duration,
            }
        } else if let Some(raw_stages) = &raw.stages {
            if raw.users.is_some() || raw.duration.is_some() || raw.iterations.is_some() {
                self.error(
                    span.clone(),
                    "load: with stages, give users and durations in each stage only",
                );
            }
            if raw_stages.is_empty() {
                self.error(span.clone(), "load.stages is empty");
            }
            let stages: Vec<Stage> = raw_stages
                .iter()
                .map(|s| Stage {
                    users: s.users,
                    over: self.duration_of("stage `over`", &s.over),
                })
                .collect();
            if let Some(s) = stages.iter().find(|s| s.users > MAX_USERS) {
                self.error(span.clone(), too_many_users(s.users));
            }
            if stages.iter().all(|s| s.users == 0) {
                self.error(span.clone(), "load.stages never has more than 0 users");
            }
            LoadModel::Staged { stages }
        } else {
            let users = self.users_of(raw.users, overrides, &span, "closed");
            let limit = match (overrides.duration, &raw.duration, raw.iterations) {
                (Some(d), _, _) => Limit::Duration(d),
                (None, Some(d), None) => Limit::Duration(self.duration_of("load.duration", d)),
                (None, None, Some(n)) if n > 0 => Limit::IterationsPerUser(n),
                (None, None, Some(_)) => {
                    self.error(span.clone(), "load.iterations must be at least 1");
                    Limit::IterationsPerUser(1)
                }
                (None, Some(_), Some(_)) => {
                    self.error(span.clone(), "load: give either duration or iterations, not both");
                    Limit::IterationsPerUser(1)
                }
                (None, None, None) => {
                    self.error(
                        span.clone(),
                        "load: give a duration (e.g. \"30s\"), iterations per user, stages or a rate",
                    );
                    Limit::IterationsPerUser(1)
                }
            };
            LoadModel::Closed { users, limit }
        };
        LoadPlan {
            model,
            shard: overrides.shard.unwrap_or_default(),
        }
    }
}
