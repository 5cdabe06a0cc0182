//! Broker outage: with a private rabbitmq-server, stop it in the middle of a write load and
//! start it again; every committed write's event is then processed, none twice, and catalog and
//! partner stayed ready throughout.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use stack_local::PrivateBroker;

use crate::support::{Options, Stack, counts, percentile};

/// Generous: the node boots (5-15 s on a quiet machine) while other tests load the CPUs.
const BROKER_START_TIMEOUT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_during_writes_loses_no_event_and_duplicates_none() {
    let mut broker = match PrivateBroker::prepare() {
        Ok(b) => b,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("outage test: SKIPPED, cannot run a private rabbitmq-server here: {e}");
            return;
        }
        Err(e) => panic!("CI: cannot prepare a private rabbitmq-server (ci/test.sh installs it): {e}"),
    };
    let up = tokio::task::block_in_place(|| broker.start(BROKER_START_TIMEOUT)).unwrap();
    eprintln!("private broker up in {up:?}");
    let stack = Stack::start(Options {
        amqp_url: broker.url(),
        ..Options::new("outage")
    })
    .await;
    stack.wait_consuming().await;

    // A steady write load in the background: one create every 25 ms, 240 in all (~6 s of
    // writing plus however long the outage slows nothing: writes never wait for the broker).
    const WRITES: usize = 240;
    let writer = {
        let catalog = stack.catalog.clone();
        let http = stack.http.clone();
        let token = crate::support::token(
            &http,
            &stack.iam,
            crate::support::WRITER_ID,
            crate::support::WRITER_SECRET,
        )
        .await;
        tokio::spawn(async move {
            let mut created = Vec::new();
            let mut failed = 0;
            for i in 0..WRITES {
                let response = http
                    .post(format!("{catalog}/v1/movies"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({ "title": format!("outage {i}"), "year": 2001 }))
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == 201 => {
                        let body: Value = r.json().await.unwrap();
                        created.push(body["id"].as_str().unwrap().to_string());
                    }
                    _ => failed += 1,
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            (created, failed)
        })
    };

    // let some events flow, then stop the broker mid-load
    let flowing = crate::support::poll(Duration::from_secs(30), || async {
        (stack.partner_state.stats().processed >= 20).then_some(())
    })
    .await;
    assert!(flowing.is_some(), "events flow before the outage");
    let stopped_at = Instant::now();
    tokio::task::block_in_place(|| broker.stop()).unwrap();
    eprintln!(
        "broker stopped after {} events processed",
        stack.partner_state.stats().processed
    );

    // during the outage both services stay ready and catalog keeps accepting writes
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for url in [&stack.catalog, &stack.partner] {
        let status = stack
            .http
            .get(format!("{url}/readyz"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200, "{url}/readyz during the outage");
    }
    let during = stack.partner_state.stats();
    assert!(
        !during.consumer_connected,
        "partner noticed the outage: {during:?}"
    );
    let depth_during = stack.catalog_state.db().outbox_counts().unwrap().0;
    assert!(depth_during > 0, "writes during the outage wait in the outbox");

    let restarted = tokio::task::block_in_place(|| broker.start(BROKER_START_TIMEOUT)).unwrap();
    eprintln!(
        "broker restarted in {restarted:?}; outage lasted {:?}; outbox depth was {depth_during}",
        stopped_at.elapsed()
    );

    let (created, failed) = writer.await.unwrap();
    assert_eq!(failed, 0, "no write failed during the outage");
    assert_eq!(created.len(), WRITES);

    // every committed write's event is processed, each once
    stack
        .wait_processed(WRITES as u64, Duration::from_secs(120))
        .await;
    tokio::time::sleep(Duration::from_millis(1000)).await; // a late redelivery would show now
    let stats = stack.stats().await;
    assert_eq!(stats.processed, WRITES as u64, "{stats:?}");
    let events = stack.processed_events().await;
    assert_eq!(events.len(), WRITES);
    let per_movie = counts(events.iter().map(|e| e["movie_id"].as_str().unwrap()));
    let written: HashSet<&str> = created.iter().map(String::as_str).collect();
    assert_eq!(per_movie.keys().copied().collect::<HashSet<_>>(), written);
    assert!(per_movie.values().all(|n| *n == 1));
    // the outbox agrees: as many rows as writes, all confirmed
    assert_eq!(stack.catalog_state.db().outbox_counts(), Some((0, WRITES as u64)));
    let relay = stack.catalog_state.relay_stats();
    let connect_failures = relay.connect_failures.load(std::sync::atomic::Ordering::Relaxed);
    let publish_failures = relay.publish_failures.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        connect_failures + publish_failures > 0,
        "the relay saw the outage"
    );
    let latencies: Vec<f64> = events.iter().map(|e| e["latency_ms"].as_f64().unwrap()).collect();
    eprintln!(
        "outage run: {} events, {} duplicate deliveries absorbed, relay connect failures {connect_failures}, publish failures {publish_failures}; latency p50 {:.0} ms, max {:.0} ms",
        events.len(),
        stats.duplicates,
        percentile(&latencies, 50.0),
        percentile(&latencies, 100.0)
    );
    stack.shutdown().await;
    tokio::task::block_in_place(|| broker.stop()).unwrap();
}
