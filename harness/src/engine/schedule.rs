//! Turns a load model into what each virtual user of this shard does: when it is active
//! (closed and staged models) and, for the paced model, its fixed start schedule.

use std::time::Duration;

use crate::scenario::plan::{Limit, LoadModel, LoadPlan};

/// The iteration start schedule of one paced user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    /// Intended start of the first iteration, from the run's start.
    pub first: Duration,
    /// Time between intended starts.
    pub interval: Duration,
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
        LoadModel::Closed { users, .. } | LoadModel::Paced { users, .. } => *users,
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
                pacing: Some(Pacing {
                    first: Duration::from_secs_f64(index as f64 / rate),
                    interval: Duration::from_secs_f64(f64::from(*users) / rate),
                }),
            })
            .collect(),
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
            Some(Pacing {
                first: secs(0.03),
                interval: secs(0.1)
            })
        );
    }
}
