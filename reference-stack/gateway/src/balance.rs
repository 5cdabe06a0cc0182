//! Load balancing over an upstream's instances: smooth weighted round-robin (nginx's algorithm:
//! a weight-3 and a weight-1 instance get `a a b a`, never `a a a b`), skipping instances that
//! passive health ejected (consecutive failures, until a cool-down passes) or that the active
//! check found not ready. The instance list can be replaced (DNS re-resolution) while keeping
//! the health state of the addresses that stay.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// One instance and its health.
#[derive(Debug, Clone)]
struct Instance {
    addr: SocketAddr,
    weight: i64,
    current: i64,
    consecutive_failures: u32,
    ejected_until: Option<Instant>,
    /// Last active check result (true until a check says otherwise).
    ready: bool,
}

impl Instance {
    fn new(addr: SocketAddr, weight: u32) -> Self {
        Instance {
            addr,
            weight: i64::from(weight.max(1)),
            current: 0,
            consecutive_failures: 0,
            ejected_until: None,
            ready: true,
        }
    }
}

/// What passive health did with a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Counted; the instance stays in.
    Counted,
    /// This failure ejected the instance.
    Ejected,
}

/// A point-in-time view of an instance (for metrics and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceState {
    /// Its address.
    pub addr: SocketAddr,
    /// Whether passive health has it ejected now.
    pub ejected: bool,
    /// Whether the last active check passed.
    pub ready: bool,
}

/// The instances of one upstream; shared by all requests.
#[derive(Debug)]
pub struct Balancer {
    instances: Mutex<Vec<Instance>>,
    eject_after: u32,
    cooldown: Duration,
}

impl Balancer {
    /// A balancer over `(addr, weight)` pairs.
    pub fn new(
        instances: impl IntoIterator<Item = (SocketAddr, u32)>,
        eject_after: u32,
        cooldown: Duration,
    ) -> Self {
        Balancer {
            instances: Mutex::new(instances.into_iter().map(|(a, w)| Instance::new(a, w)).collect()),
            eject_after: eject_after.max(1),
            cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Instance>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next instance, excluding `avoid` (the ones a retry already tried) when another is
    /// available; `None` when every instance is ejected or not ready.
    pub fn pick(&self, avoid: &[SocketAddr]) -> Option<SocketAddr> {
        let now = Instant::now();
        let mut instances = self.lock();
        // An instance whose cool-down has passed is re-admitted with a clean slate.
        for inst in instances.iter_mut() {
            if inst.ejected_until.is_some_and(|t| t <= now) {
                inst.ejected_until = None;
                inst.consecutive_failures = 0;
            }
        }
        let usable = |i: &Instance| i.ejected_until.is_none() && i.ready;
        let fresh = instances.iter().any(|i| usable(i) && !avoid.contains(&i.addr));
        let eligible = |i: &Instance| usable(i) && (!fresh || !avoid.contains(&i.addr));
        let total: i64 = instances.iter().filter(|i| eligible(i)).map(|i| i.weight).sum();
        if total == 0 {
            return None;
        }
        let mut best: Option<usize> = None;
        for idx in 0..instances.len() {
            if !eligible(&instances[idx]) {
                continue;
            }
            instances[idx].current += instances[idx].weight;
            if best.is_none_or(|b| instances[idx].current > instances[b].current) {
                best = Some(idx);
            }
        }
        let best = best?;
        instances[best].current -= total;
        Some(instances[best].addr)
    }

    /// A request to `addr` succeeded: its failure streak ends.
    pub fn record_success(&self, addr: SocketAddr) {
        if let Some(inst) = self.lock().iter_mut().find(|i| i.addr == addr) {
            inst.consecutive_failures = 0;
        }
    }

    /// A request to `addr` failed (connect error, 502/503/504).
    pub fn record_failure(&self, addr: SocketAddr) -> FailureOutcome {
        let mut instances = self.lock();
        let Some(inst) = instances.iter_mut().find(|i| i.addr == addr) else {
            return FailureOutcome::Counted;
        };
        if inst.ejected_until.is_some() {
            return FailureOutcome::Counted;
        }
        inst.consecutive_failures += 1;
        if inst.consecutive_failures >= self.eject_after {
            inst.ejected_until = Some(Instant::now() + self.cooldown);
            FailureOutcome::Ejected
        } else {
            FailureOutcome::Counted
        }
    }

    /// The active check's verdict on `addr`.
    pub fn set_ready(&self, addr: SocketAddr, ready: bool) {
        if let Some(inst) = self.lock().iter_mut().find(|i| i.addr == addr) {
            inst.ready = ready;
        }
    }

    /// Replaces the instance list (DNS re-resolution), keeping the state of addresses that stay.
    pub fn replace(&self, addrs: &[SocketAddr]) {
        let mut instances = self.lock();
        let mut next: Vec<Instance> = Vec::with_capacity(addrs.len());
        for addr in addrs {
            if next.iter().any(|i| i.addr == *addr) {
                continue;
            }
            match instances.iter().find(|i| i.addr == *addr) {
                Some(existing) => next.push(existing.clone()),
                None => next.push(Instance::new(*addr, 1)),
            }
        }
        *instances = next;
    }

    /// Every instance's address.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.lock().iter().map(|i| i.addr).collect()
    }

    /// A view of every instance.
    pub fn states(&self) -> Vec<InstanceState> {
        let now = Instant::now();
        self.lock()
            .iter()
            .map(|i| InstanceState {
                addr: i.addr,
                ejected: i.ejected_until.is_some_and(|t| t > now),
                ready: i.ready,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn smooth_weighted_round_robin_interleaves() {
        let b = Balancer::new([(addr(1), 3), (addr(2), 1)], 3, Duration::from_secs(1));
        let picks: Vec<u16> = (0..8).map(|_| b.pick(&[]).unwrap().port()).collect();
        assert_eq!(picks, [1, 1, 2, 1, 1, 1, 2, 1]);
    }

    #[test]
    fn equal_weights_alternate_and_avoid_skips_the_tried_one() {
        let b = Balancer::new([(addr(1), 1), (addr(2), 1)], 3, Duration::from_secs(1));
        let first = b.pick(&[]).unwrap();
        let second = b.pick(&[]).unwrap();
        assert_ne!(first, second);
        for _ in 0..4 {
            assert_eq!(b.pick(&[addr(1)]), Some(addr(2)));
        }
        // With nothing else left, a tried instance is still better than none.
        let single = Balancer::new([(addr(1), 1)], 3, Duration::from_secs(1));
        assert_eq!(single.pick(&[addr(1)]), Some(addr(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn ejected_after_consecutive_failures_and_readmitted_after_cooldown() {
        let b = Balancer::new([(addr(1), 1), (addr(2), 1)], 2, Duration::from_secs(5));
        assert_eq!(b.record_failure(addr(1)), FailureOutcome::Counted);
        b.record_success(addr(1));
        // The streak restarted: one more failure does not eject.
        assert_eq!(b.record_failure(addr(1)), FailureOutcome::Counted);
        assert_eq!(b.record_failure(addr(1)), FailureOutcome::Ejected);
        for _ in 0..4 {
            assert_eq!(b.pick(&[]), Some(addr(2)));
        }
        tokio::time::advance(Duration::from_millis(4999)).await;
        assert_eq!(b.pick(&[]), Some(addr(2)));
        tokio::time::advance(Duration::from_millis(2)).await;
        let picks: Vec<_> = (0..4).filter_map(|_| b.pick(&[])).collect();
        assert!(
            picks.contains(&addr(1)),
            "re-admitted after the cool-down: {picks:?}"
        );
    }

    #[test]
    fn not_ready_instances_are_skipped_and_none_left_is_none() {
        let b = Balancer::new([(addr(1), 1), (addr(2), 1)], 3, Duration::from_secs(1));
        b.set_ready(addr(2), false);
        for _ in 0..3 {
            assert_eq!(b.pick(&[]), Some(addr(1)));
        }
        b.set_ready(addr(1), false);
        assert_eq!(b.pick(&[]), None);
    }

    #[test]
    fn replace_keeps_the_state_of_addresses_that_stay() {
        let b = Balancer::new([(addr(1), 1), (addr(2), 1)], 1, Duration::from_secs(60));
        b.record_failure(addr(1));
        b.replace(&[addr(1), addr(3), addr(3)]);
        assert_eq!(b.addrs(), [addr(1), addr(3)]);
        let states = b.states();
        assert!(states[0].ejected && !states[1].ejected, "{states:?}");
        assert_eq!(b.pick(&[]), Some(addr(3)));
    }
}
