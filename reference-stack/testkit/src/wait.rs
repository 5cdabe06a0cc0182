//! Waiting for something that happens in the background (a consumer connecting, an event
//! processed, a revocation reaching catalog): poll a probe until it answers, within a deadline.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long [`poll`] sleeps between probes. 25 ms: the probes of the stack's tests are HTTP
/// requests through the contract validator or reads of in-process counters, and nothing they
/// wait for is measured more finely than that.
pub const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Polls `probe` every [`POLL_INTERVAL`] until it returns `Some`, for at most `deadline`; the
/// value and how long it took, `None` when the deadline passed.
pub async fn poll<T, F, Fut>(deadline: Duration, mut probe: F) -> Option<(T, Duration)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return Some((v, start.elapsed()));
        }
        if start.elapsed() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_first_answer_or_none_after_the_deadline() {
        let mut calls = 0;
        let got = poll(Duration::from_secs(5), || {
            calls += 1;
            let answer = (calls == 3).then_some(calls);
            async move { answer }
        })
        .await;
        assert_eq!(got.map(|(v, _)| v), Some(3));
        let none = poll(Duration::from_millis(60), || async { None::<()> }).await;
        assert!(none.is_none());
    }
}
