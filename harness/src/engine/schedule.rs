//! Turns a load model into what each virtual user of this shard does: when it is active
//! (closed and staged models) and, for the paced model, its fixed start schedule.

use std::sync::Arc;
use std::time::Duration;

use crate::scenario::plan::{Limit, LoadModel, LoadPlan, RateStage};

/// The iteration start schedule of one paced user.
#[derive(Debug, Clone, PartialEq)]
pub enum Pacing {
    /// A constant rate: `first`, then every `interval`.
    Constant {
        /// Intended start of the first iteration, from the run's start.
        first: Duration,
        /// Time between intended starts.
        interval: Duration,
    },
    /// A ramping rate: the user runs global iterations `index, index + users, ...`, each due
    /// when the integral of the rate reaches its number.
    Ramping {
        /// The rate over time.
        profile: Arc<RateProfile>,
        /// The user's index.
        index: u64,
        /// Users sharing the schedule.
        users: u64,
    },
}

impl Pacing {
    /// When the user's `k`-th iteration is due, from the run's start; `None` past the end.
    pub fn due(&self, k: u32) -> Option<Duration> {
        match self {
            Pacing::Constant { first, interval } => Some(*first + *interval * k),
            Pacing::Ramping {
                profile,
                index,
                users,
            } => profile.time_of(index + u64::from(k) * users),
        }
    }
}

/// A piecewise-linear rate and its integral, the expected number of iterations started.
#[derive(Debug, Clone, PartialEq)]
pub struct RateProfile {
    /// (start second, length in seconds, rate at start, rate at end, iterations before).
    segments: Vec<(f64, f64, f64, f64, f64)>,
}

impl RateProfile {
    /// The profile starting at `start_rate` and moving linearly through `stages`.
    pub fn new(start_rate: f64, stages: &[RateStage]) -> RateProfile {
        let mut segments = Vec::new();
        let (mut t, mut rate, mut count) = (0.0, start_rate, 0.0);
        for stage in stages {
            let length = stage.over.as_secs_f64();
            segments.push((t, length, rate, stage.rate, count));
            count += (rate + stage.rate) / 2.0 * length;
            t += length;
            rate = stage.rate;
        }
        RateProfile { segments }
    }

    /// The time at which iteration `j` (0-based) is due: where the integral reaches `j`.
    pub fn time_of(&self, j: u64) -> Option<Duration> {
        let j = j as f64;
        for &(start, length, r0, r1, before) in &self.segments {
            let within = (r0 + r1) / 2.0 * length;
            if j >= before + within {
                continue;
            }
            let need = j - before;
            // need = r0 x + (r1 - r0) x^2 / (2 length), solved for x in [0, length].
            let a = (r1 - r0) / (2.0 * length);
            let x = if a.abs() < 1e-12 {
                need / r0
            } else {
                (-r0 + (r0 * r0 + 4.0 * a * need).max(0.0).sqrt()) / (2.0 * a)
            };
            // NaN or out of range (rates the plan refuses, kept out here too): no such time.
            return Duration::try_from_secs_f64(start + x.clamp(0.0, length)).ok();
        }
        None
    }

    /// Expected iterations over the whole profile.
    pub fn total(&self) -> f64 {
        self.segments.last().map_or(0.0, |&(_, length, r0, r1, before)| {
            before + (r0 + r1) / 2.0 * length
        })
    }
}

/// What one virtual user does.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSchedule {
    /// Global user index (unique across shards).
    pub index: usize,
    /// When the user runs iterations, as offsets from the run's start.
    pub active: Vec<(Duration, Duration)>,
    /// The iteration limit of a count-bound closed run.
    pub iterations: Option<u64>,
    /// The start schedule of a paced run.
    pub pacing: Option<Pacing>,
}

/// The most users the whole plan (all shards) has at once.
pub fn peak_users(load: &LoadPlan) -> u32 {
    match &load.model {
        LoadModel::Closed { users, .. }
        | LoadModel::Paced { users, .. }
        | LoadModel::PacedRamp { users, .. } => *users,
        LoadModel::Staged { stages } => stages.iter().map(|s| s.users).max().unwrap_or(0),
    }
}

/// How long the run lasts; `None` for a count-bound run.
pub fn planned_duration(load: &LoadPlan) -> Option<Duration> {
    match &load.model {
        LoadModel::Closed {
            limit: Limit::Duration(d),
            ..
        }
        | LoadModel::Paced { duration: d, .. } => Some(*d),
        LoadModel::Closed {
            limit: Limit::IterationsPerUser(_),
            ..
        } => None,
        LoadModel::Staged { stages } => Some(stages.iter().map(|s| s.over).sum()),
        LoadModel::PacedRamp { stages, .. } => Some(stages.iter().map(|s| s.over).sum()),
    }
}

/// The users this shard runs.
pub fn schedules(load: &LoadPlan) -> Vec<UserSchedule> {
    let shard = load.shard;
    let mine = |i: &usize| (*i as u32) % shard.count == shard.index;
    let forever = Duration::MAX;
    match &load.model {
        LoadModel::Closed { users, limit } => (0..*users as usize)
            .filter(mine)
            .map(|index| match limit {
                Limit::Duration(d) => UserSchedule {
                    index,
                    active: vec![(Duration::ZERO, *d)],
                    iterations: None,
                    pacing: None,
                },
                Limit::IterationsPerUser(n) => UserSchedule {
                    index,
                    active: vec![(Duration::ZERO, forever)],
                    iterations: Some(*n),
                    pacing: None,
                },
            })
            .collect(),
        LoadModel::Paced {
            rate,
            users,
            duration,
        } => (0..*users as usize)
            .filter(mine)
            .map(|index| UserSchedule {
                index,
                active: vec![(Duration::ZERO, *duration)],
                iterations: None,
                pacing: Some(Pacing::Constant {
                    first: Duration::try_from_secs_f64(index as f64 / rate).unwrap_or(forever),
                    interval: Duration::try_from_secs_f64(f64::from(*users) / rate).unwrap_or(forever),
                }),
            })
            .collect(),
        LoadModel::PacedRamp {
            start_rate,
            stages,
            users,
        } => {
            let profile = Arc::new(RateProfile::new(*start_rate, stages));
            let end: Duration = stages.iter().map(|s| s.over).sum();
            (0..*users as usize)
                .filter(mine)
                .map(|index| UserSchedule {
                    index,
                    active: vec![(Duration::ZERO, end)],
                    iterations: None,
                    pacing: Some(Pacing::Ramping {
                        profile: Arc::clone(&profile),
                        index: index as u64,
                        users: u64::from(*users),
                    }),
                })
                .collect()
        }
        LoadModel::Staged { stages } => {
            let peak = stages.iter().map(|s| s.users).max().unwrap_or(0) as usize;
            (0..peak)
                .filter(mine)
                .map(|index| UserSchedule {
                    index,
                    active: staged_activity(stages, index),
                    iterations: None,
                    pacing: None,
                })
                .collect()
        }
    }
}

/// When user `i` is active in a staged run: while the linearly moving user count is above `i`.
fn staged_activity(stages: &[crate::scenario::plan::Stage], i: usize) -> Vec<(Duration, Duration)> {
    let level = i as f64;
    let mut intervals: Vec<(Duration, Duration)> = Vec::new();
    let mut start = Duration::ZERO;
    let mut from = 0.0_f64;
    for stage in stages {
        let to = f64::from(stage.users);
        let end = start + stage.over;
        let at = |fraction: f64| start + stage.over.mul_f64(fraction.clamp(0.0, 1.0));
        let active = match (from > level, to > level) {
            (true, true) => Some((start, end)),
            (false, true) => Some((at((level - from) / (to - from)), end)),
            (true, false) => Some((start, at((from - level) / (from - to)))),
            (false, false) => None,
        };
        if let Some((a, b)) = active.filter(|(a, b)| b > a) {
            match intervals.last_mut() {
                Some(last) if last.1 == a => last.1 = b,
                _ => intervals.push((a, b)),
            }
        }
        start = end;
        from = to;
    }
    intervals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::plan::{Shard, Stage};

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn staged_users_ramp_up_hold_and_down() {
        let stages = vec![
            Stage {
                users: 10,
                over: secs(10.0),
            },
            Stage {
                users: 10,
                over: secs(5.0),
            },
            Stage {
                users: 0,
                over: secs(10.0),
            },
        ];
        let load = LoadPlan {
            model: LoadModel::Staged { stages },
            shard: Shard::default(),
        };
        let users = schedules(&load);
        assert_eq!(users.len(), 10);
        // User 0 starts at once and leaves last; user 9 starts at 9 s and leaves at 16 s.
        assert_eq!(users[0].active, vec![(secs(0.0), secs(25.0))]);
        assert_eq!(users[9].active, vec![(secs(9.0), secs(16.0))]);
        assert_eq!(planned_duration(&load), Some(secs(25.0)));
    }

    #[test]
    fn shards_split_users_and_paced_schedules_exactly() {
        let model = LoadModel::Paced {
            rate: 100.0,
            users: 10,
            duration: secs(2.0),
        };
        let all = schedules(&LoadPlan {
            model: model.clone(),
            shard: Shard::default(),
        });
        let a = schedules(&LoadPlan {
            model: model.clone(),
            shard: Shard { index: 0, count: 2 },
        });
        let b = schedules(&LoadPlan {
            model,
            shard: Shard { index: 1, count: 2 },
        });
        assert_eq!(a.len() + b.len(), all.len());
        let mut joined: Vec<UserSchedule> = a.into_iter().chain(b).collect();
        joined.sort_by_key(|u| u.index);
        assert_eq!(joined, all);
        // 10 users at 100/s: each starts every 100 ms, offset by 10 ms per user.
        assert_eq!(
            all[3].pacing,
            Some(Pacing::Constant {
                first: secs(0.03),
                interval: secs(0.1)
            })
        );
    }
}

#[cfg(test)]
mod ramp_tests {
    use super::*;
    use crate::scenario::plan::{RateStage, Shard};

    /// 0 -> 100/s over 10 s is 500 iterations, denser at the end; 100/s held for 5 s adds 500.
    #[test]
    fn a_ramping_rate_schedules_the_integral_of_the_rate() {
        let stages = vec![
            RateStage {
                rate: 100.0,
                over: Duration::from_secs(10),
            },
            RateStage {
                rate: 100.0,
                over: Duration::from_secs(5),
            },
        ];
        let profile = RateProfile::new(0.0, &stages);
        assert_eq!(profile.total(), 1000.0);
        let due: Vec<f64> = (0..1000)
            .map(|j| profile.time_of(j).unwrap().as_secs_f64())
            .collect();
        assert!(due.windows(2).all(|w| w[0] <= w[1]));
        let in_second = |s: f64| due.iter().filter(|t| (s..s + 1.0).contains(*t)).count();
        assert!(in_second(0.0) <= 6, "{}", in_second(0.0)); // integral 5 in the first second
        assert!((94..=96).contains(&in_second(9.0)), "{}", in_second(9.0)); // 95
        assert_eq!(in_second(12.0), 100);
        assert_eq!(profile.time_of(1000), None);

        // Users share the global sequence: together they start every iteration once.
        let load = LoadPlan {
            model: LoadModel::PacedRamp {
                start_rate: 0.0,
                stages,
                users: 7,
            },
            shard: Shard::default(),
        };
        let mut all: Vec<Duration> = schedules(&load)
            .iter()
            .flat_map(|u| {
                let p = u.pacing.clone().unwrap();
                (0..).map_while(move |k| p.due(k))
            })
            .collect();
        all.sort();
        assert_eq!(all.len(), 1000);
    }
}
