//! Where virtual users record: a few shards (a small multiple of the CPU count), each behind
//! its own mutex; user `i` always uses shard `i % n`, so a lock is almost never contended and
//! memory does not grow with the number of users. Once a second the engine drains the shards
//! into that second's window (and the window into the run's totals), so the run's histogram is
//! exactly the sum of its windows.

use std::sync::Mutex;

use gauntlet_reports::histogram;

use crate::stats::{Stats, StepStats};

/// The shared recording point of one run.
pub struct Recorder {
    shards: Box<[Mutex<Stats>]>,
}

impl Recorder {
    /// `shards` shards for a plan of `steps` steps.
    pub fn new(shards: usize, steps: usize) -> Recorder {
        Recorder {
            shards: (0..shards.max(1))
                .map(|_| Mutex::new(Stats::new(steps)))
                .collect(),
        }
    }

    /// Runs `f` on user `user`'s shard.
    pub fn with<R>(&self, user: usize, f: impl FnOnce(&mut Stats) -> R) -> R {
        let shard = &self.shards[user % self.shards.len()];
        f(&mut shard.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Adds everything recorded since the last drain into `into`, and zeroes the shards.
    pub fn drain_into(&self, into: &mut Stats) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            into.add(&shard);
            shard.reset();
        }
    }
}

/// One step's numbers in one second, kept encoded so that a long run's memory stays flat.
#[derive(Debug, Clone, PartialEq)]
pub struct StepWindow {
    /// Requests completed in the window.
    pub requests: u64,
    /// Of which failed.
    pub failed: u64,
    /// Latency histogram, encoded as in reports (empty string when no request was timed).
    pub histogram: String,
}

/// One second of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Seconds since the run's start (the window covers `[second, second + 1)`).
    pub second: u64,
    /// Per step, in plan order.
    pub steps: Vec<StepWindow>,
    /// Paced starts that were late in this window.
    pub late_starts: u64,
    /// Virtual users active when the window closed.
    pub users: u64,
}

fn encode_step(s: &StepStats) -> StepWindow {
    StepWindow {
        requests: s.requests,
        failed: s.failed(),
        histogram: if s.latency.is_empty() {
            String::new()
        } else {
            histogram::encode(&s.latency)
        },
    }
}

/// Closes a window: adds it to the totals, encodes it, zeroes it.
pub fn close_window(
    second: u64,
    users: u64,
    window: &mut Stats,
    totals: &mut Stats,
    windows: &mut Vec<Window>,
) {
    totals.add(window);
    windows.push(Window {
        second,
        steps: window.steps.iter().map(encode_step).collect(),
        late_starts: window.late_starts,
        users,
    });
    window.reset();
}
