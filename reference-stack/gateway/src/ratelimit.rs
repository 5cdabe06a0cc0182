//! Per-consumer token buckets: each consumer (JWT `sub`, else client IP) of a route has a
//! bucket of `burst` tokens refilled at `rate_per_sec`; a request takes one token or is refused
//! with how long until one is back. Time is `tokio::time::Instant`, so tests run on paused time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::FastHash;
use crate::config::RateLimitConfig;

/// Buckets above this many are swept of the full ones (consumers gone quiet), which bounds
/// memory under a flood of distinct client addresses.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Allowed; `remaining` whole tokens are left.
    Allowed {
        /// Tokens left after this request.
        remaining: u32,
    },
    /// Refused; a token is back after `retry_after`.
    Limited {
        /// Time until the next token.
        retry_after: Duration,
    },
}

/// Who a bucket belongs to: the token's subject, else the client's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer<'a> {
    /// The JWT `sub` of an authenticated request.
    Subject(&'a str),
    /// The client address of an anonymous one.
    Address(IpAddr),
}

/// The buckets of one route.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    burst_header: http::HeaderValue,
    buckets: Mutex<Buckets>,
}

/// Buckets by consumer, in two maps so that a lookup needs no key built for it.
#[derive(Debug, Default)]
struct Buckets {
    subjects: HashMap<String, Bucket, FastHash>,
    addresses: HashMap<IpAddr, Bucket, FastHash>,
}

impl RateLimiter {
    /// A limiter with `config`'s rate and burst.
    pub fn new(config: &RateLimitConfig) -> Self {
        RateLimiter {
            rate: config.rate_per_sec,
            burst: f64::from(config.burst),
            burst_header: http::HeaderValue::from(config.burst),
            buckets: Mutex::default(),
        }
    }

    /// The bucket size (the `RateLimit-Limit` header).
    pub fn burst(&self) -> u32 {
        self.burst as u32
    }

    /// The bucket size as a header value (formatted once).
    pub fn burst_header(&self) -> http::HeaderValue {
        self.burst_header.clone()
    }

    /// Time for an empty bucket to fill again (the `w` of `RateLimit-Policy`).
    pub fn window(&self) -> Duration {
        Duration::from_secs_f64(self.burst / self.rate)
    }

    /// Takes a token from `consumer`'s bucket if one is there.
    pub fn check(&self, consumer: Consumer<'_>) -> Decision {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.subjects.len() + buckets.addresses.len() > SWEEP_ABOVE {
            let (rate, burst) = (self.rate, self.burst);
            let quiet = |b: &Bucket| b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst;
            buckets.subjects.retain(|_, b| quiet(b));
            buckets.addresses.retain(|_, b| quiet(b));
        }
        let full = Bucket {
            tokens: self.burst,
            updated: now,
        };
        let bucket = match consumer {
            // Look up by `&str` first: the key is allocated only for a new consumer.
            Consumer::Subject(sub) => {
                if !buckets.subjects.contains_key(sub) {
                    buckets.subjects.insert(sub.to_string(), full);
                }
                buckets.subjects.get_mut(sub)
            }
            Consumer::Address(ip) => Some(buckets.addresses.entry(ip).or_insert(full)),
        };
        let Some(bucket) = bucket else {
            return Decision::Allowed { remaining: 0 };
        };
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.updated = now;
        // The epsilon absorbs float drift: ten refills of 0.1 add up to 0.9999999999999999,
        // which would otherwise turn a 10/s limit into 9.1/s.
        if bucket.tokens + 1e-9 >= 1.0 {
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
            Decision::Allowed {
                remaining: bucket.tokens.floor() as u32,
            }
        } else {
            let missing = 1.0 - bucket.tokens;
            Decision::Limited {
                retry_after: Duration::from_secs_f64(missing / self.rate),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: f64, burst: u32) -> RateLimiter {
        RateLimiter::new(&RateLimitConfig {
            rate_per_sec: rate,
            burst,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn burst_then_refill_at_the_rate() {
        let l = limiter(2.0, 3);
        for remaining in [2, 1, 0] {
            assert_eq!(l.check(Consumer::Subject("a")), Decision::Allowed { remaining });
        }
        let Decision::Limited { retry_after } = l.check(Consumer::Subject("a")) else {
            panic!("the fourth request in the same instant is over the burst");
        };
        assert_eq!(retry_after, Duration::from_millis(500));
        // Half a token later: still limited, and the wait shrank accordingly.
        tokio::time::advance(Duration::from_millis(250)).await;
        assert_eq!(
            l.check(Consumer::Subject("a")),
            Decision::Limited {
                retry_after: Duration::from_millis(250)
            }
        );
        tokio::time::advance(Duration::from_millis(250)).await;
        assert_eq!(
            l.check(Consumer::Subject("a")),
            Decision::Allowed { remaining: 0 }
        );
        // A long pause fills the bucket only up to the burst.
        tokio::time::advance(Duration::from_secs(60)).await;
        for remaining in [2, 1, 0] {
            assert_eq!(l.check(Consumer::Subject("a")), Decision::Allowed { remaining });
        }
        assert!(matches!(
            l.check(Consumer::Subject("a")),
            Decision::Limited { .. }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn consumers_have_separate_buckets() {
        let l = limiter(1.0, 1);
        assert!(matches!(
            l.check(Consumer::Subject("alice")),
            Decision::Allowed { .. }
        ));
        assert!(matches!(
            l.check(Consumer::Subject("alice")),
            Decision::Limited { .. }
        ));
        assert!(matches!(
            l.check(Consumer::Subject("bob")),
            Decision::Allowed { .. }
        ));
        // an address is a consumer of its own, even one spelled like a subject
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(matches!(
            l.check(Consumer::Subject("127.0.0.1")),
            Decision::Allowed { .. }
        ));
        assert!(matches!(l.check(Consumer::Address(ip)), Decision::Allowed { .. }));
        assert!(matches!(l.check(Consumer::Address(ip)), Decision::Limited { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn sustained_rate_is_the_configured_one() {
        let l = limiter(10.0, 1);
        let mut allowed = 0;
        // 10 s of attempts every 10 ms: 1 from the burst plus 10 per second.
        for _ in 0..1000 {
            if matches!(l.check(Consumer::Subject("c")), Decision::Allowed { .. }) {
                allowed += 1;
            }
            tokio::time::advance(Duration::from_millis(10)).await;
        }
        assert!((100..=101).contains(&allowed), "{allowed}");
    }
}
