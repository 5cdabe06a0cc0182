//! Events end to end on the shared broker: N writes give N processed events, each once; a
//! duplicate publish is processed once; poison goes to the dead-letter queue without blocking;
//! fault injection pauses consumption.

use std::collections::HashSet;
use std::time::Duration;

use lapin::options::BasicGetOptions;
use lapin::{Channel, Connection, ConnectionProperties};
use serde_json::Value;
use stack_testkit::net::get_text;

use crate::support::{
    Options, Stack, assert_contract, broker_available, counts, percentile, poll, synthetic_event,
};

#[tokio::test]
async fn n_creates_give_n_processed_events_each_once() {
    if !broker_available("n_creates_give_n_processed_events_each_once").await {
        return;
    }
    let stack = Stack::start(Options::new("n-creates")).await;
    stack.wait_consuming().await;
    const REST_CREATES: usize = 30;
    let mut ids = Vec::new();
    for i in 0..REST_CREATES {
        ids.push(stack.create_movie(&format!("movie {i}")).await.unwrap());
    }
    // gRPC writes go through the same outbox
    ids.push(stack.create_movie_grpc("over gRPC").await);
    // the creates first: a movie deleted before partner fetched it would (rightly) be a 404
    stack
        .wait_processed(REST_CREATES as u64 + 1, Duration::from_secs(60))
        .await;
    stack.update_movie(&ids[0], "renamed").await;
    stack.delete_movie(&ids[1]).await;
    // N creates in all, the last over gRPC, plus an update and a delete
    const N: usize = REST_CREATES + 1;

    let stats = stack.wait_processed(N as u64 + 2, Duration::from_secs(60)).await;
    // let any stray redelivery or late duplicate arrive before counting
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats_after = stack.stats().await;
    assert_eq!(stats_after.processed, N as u64 + 2, "{stats_after:?}");
    assert_eq!(stats_after.duplicates, 0, "{stats_after:?}");
    assert_eq!(stats_after.dead_lettered, 0);
    assert_eq!(stats_after.fetch_failures, 0, "{stats_after:?}");
    assert_eq!(stats.received, stats_after.received);

    let events = stack.processed_events().await;
    assert_eq!(events.len(), N + 2);
    let created: Vec<&Value> = events.iter().filter(|e| e["type"] == "movie.created").collect();
    assert_eq!(created.len(), N);
    let per_movie = counts(created.iter().map(|e| e["movie_id"].as_str().unwrap()));
    assert_eq!(per_movie.len(), N, "each created movie once");
    assert!(ids.iter().all(|id| per_movie.get(id.as_str()) == Some(&1)));
    // every created movie was fetched from catalog with partner's own token
    assert!(created.iter().all(|e| e["fetch_status"] == 200), "{created:?}");
    let kinds: HashSet<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        HashSet::from(["movie.created", "movie.updated", "movie.deleted"])
    );
    // updates and deletes fetch nothing
    assert!(
        events
            .iter()
            .filter(|e| e["type"] != "movie.created")
            .all(|e| e.get("fetch_status").is_none())
    );

    // each event is found by id, and catalog's outbox is drained and agrees with partner
    let outbox_ids: HashSet<String> = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outbox_ids.len(), N + 2);
    let one = events[5]["event_id"].as_str().unwrap();
    let (status, got): (u16, Value) = stack
        .get_json(&format!("{}/v1/events/{one}", stack.partner))
        .await;
    assert_eq!((status, &got), (200, &events[5]));
    assert_contract("ProcessedEvent", &got);
    assert_eq!(stack.catalog_state.db().outbox_counts(), Some((0, N as u64 + 2)));

    let latencies: Vec<f64> = events.iter().map(|e| e["latency_ms"].as_f64().unwrap()).collect();
    assert!(latencies.iter().all(|l| *l >= 0.0), "{latencies:?}");
    eprintln!(
        "event latency over {} events: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0)
    );

    // /metrics shows the outbox and the consumer
    let catalog_metrics = get_text(&stack.http, format!("{}/metrics", stack.catalog)).await;
    assert!(
        catalog_metrics.contains("catalog_outbox_depth 0\n"),
        "{catalog_metrics}"
    );
    assert!(
        catalog_metrics.contains(&format!("catalog_events_published_total {}\n", N + 2)),
        "{catalog_metrics}"
    );
    let partner_metrics = get_text(&stack.http, format!("{}/metrics", stack.partner)).await;
    assert!(
        partner_metrics.contains(&format!("partner_events_processed_total {}\n", N + 2)),
        "{partner_metrics}"
    );
    assert!(partner_metrics.contains(&format!("partner_event_latency_seconds_count {}\n", N + 2)));
    stack.shutdown().await;
}

#[tokio::test]
async fn the_same_event_published_twice_is_processed_once() {
    if !broker_available("the_same_event_published_twice_is_processed_once").await {
        return;
    }
    let stack = Stack::start(Options::new("duplicate")).await;
    stack.wait_consuming().await;
    let (id, body) = synthetic_event("movie.updated");
    stack.publish_raw("movie.updated", body.as_bytes()).await;
    stack.publish_raw("movie.updated", body.as_bytes()).await;
    // `received` counts a delivery when it arrives, before it is processed or found a
    // duplicate: wait until both are accounted for.
    let done = poll(Duration::from_secs(30), || async {
        let s = stack.partner_state.stats();
        (s.received >= 2 && s.processed + s.duplicates + s.dead_lettered >= 2).then_some(s)
    })
    .await
    .expect("both deliveries handled");
    assert_eq!((done.0.processed, done.0.duplicates), (1, 1), "{:?}", done.0);
    let (status, event): (u16, Value) = stack.get_json(&format!("{}/v1/events/{id}", stack.partner)).await;
    assert_eq!(status, 200);
    assert_eq!(event["event_id"], id.as_str());
    assert_eq!(stack.processed_events().await.len(), 1);
    // an event never published is 404, a malformed id 400
    let (status, err): (u16, Value) = stack
        .get_json(&format!("{}/v1/events/{}", stack.partner, uuid::Uuid::new_v4()))
        .await;
    assert_eq!((status, err["error"]["code"].as_str()), (404, Some("not_found")));
    assert_contract("Error", &err);
    let (status, err): (u16, Value) = stack.get_json(&format!("{}/v1/events/nope", stack.partner)).await;
    assert_eq!(status, 400);
    assert_contract("Error", &err);
    let (status, err): (u16, Value) = stack
        .get_json(&format!("{}/v1/events?limit=0", stack.partner))
        .await;
    assert_eq!(status, 400);
    assert_contract("Error", &err);
    stack.shutdown().await;
}

/// The body of the next message taken (auto-acked) from the dead-letter queue `dlq`, if one
/// arrives `within`.
async fn next_dead_letter(ch: &Channel, dlq: &str, within: Duration) -> Option<Vec<u8>> {
    let (body, _) = poll(within, move || async move {
        let m = ch
            .basic_get(dlq.into(), BasicGetOptions { no_ack: true })
            .await
            .ok()
            .flatten()?;
        Some(m.delivery.data.clone())
    })
    .await?;
    Some(body)
}

#[tokio::test]
async fn poison_goes_to_the_dead_letter_queue_and_does_not_block() {
    if !broker_available("poison_goes_to_the_dead_letter_queue_and_does_not_block").await {
        return;
    }
    // prefetch 1: the poison is the only delivery in flight, so a blocked queue would show
    let stack = Stack::start(Options {
        partner: |c| c.prefetch = 1,
        ..Options::new("poison")
    })
    .await;
    stack.wait_consuming().await;
    let (_, unknown) = synthetic_event("movie.renamed");
    stack.publish_raw("movie.created", b"{not json").await;
    stack.publish_raw("movie.renamed", unknown.as_bytes()).await;
    let (good_id, good) = synthetic_event("movie.deleted");
    stack.publish_raw("movie.deleted", good.as_bytes()).await;

    let stats = stack.wait_processed(1, Duration::from_secs(30)).await;
    assert_eq!(stats.dead_lettered, 2, "{stats:?}");
    let (status, _): (u16, Value) = stack
        .get_json(&format!("{}/v1/events/{good_id}", stack.partner))
        .await;
    assert_eq!(status, 200);

    // both rejected bodies are in the dead-letter queue, unchanged, in order
    let conn = Connection::connect(&stack.amqp_url, ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let mut bodies = Vec::new();
    for within in [Duration::from_secs(10), Duration::from_secs(5)] {
        if let Some(body) = next_dead_letter(&ch, &stack.topology.dlq, within).await {
            bodies.push(body);
        }
    }
    assert_eq!(bodies, vec![b"{not json".to_vec(), unknown.into_bytes()]);
    let _ = conn.close(200, "done".into()).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn fault_injection_pauses_consumption_and_is_off_unless_enabled() {
    if !broker_available("fault_injection_pauses_consumption_and_is_off_unless_enabled").await {
        return;
    }
    let stack = Stack::start(Options {
        fault_injection: true,
        ..Options::new("pause")
    })
    .await;
    stack.wait_consuming().await;
    let pause = |paused: bool| {
        stack
            .http
            .post(format!("{}/v1/admin/consumption", stack.partner))
            .json(&serde_json::json!({ "paused": paused }))
            .send()
    };
    let response = pause(true).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_contract("Consumption", &response.json().await.unwrap());
    assert!(stack.stats().await.consumption_paused);
    stack.create_movie("while paused").await.unwrap();
    // the relay publishes it at once (outbox drained) but partner takes nothing
    let drained = poll(Duration::from_secs(10), || async {
        (stack.catalog_state.db().outbox_counts() == Some((0, 1))).then_some(())
    })
    .await;
    assert!(drained.is_some());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(stack.stats().await.processed, 0);
    assert_eq!(pause(false).await.unwrap().status(), 200);
    let stats = stack.wait_processed(1, Duration::from_secs(30)).await;
    assert_eq!(stats.processed, 1);
    stack.shutdown().await;

    // without fault_injection the admin route does not exist
    let plain = Stack::start(Options::new("no-admin")).await;
    let response = plain
        .http
        .post(format!("{}/v1/admin/consumption", plain.partner))
        .json(&serde_json::json!({ "paused": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(!plain.partner_state.stats().consumption_paused);
    plain.shutdown().await;
}

/// Two catalog instances on one database each run a relay; the lease lets one publish, so
/// writes through both are published once each.
#[tokio::test]
async fn two_catalog_instances_on_one_outbox_publish_each_event_once() {
    if !broker_available("two_catalog_instances_on_one_outbox_publish_each_event_once").await {
        return;
    }
    let mut stack = Stack::start(Options::new("two-relays")).await;
    let second = stack.add_catalog_instance().await;
    stack.wait_consuming().await;
    let first = stack.catalog.clone();
    const N: usize = 20;
    let mut ids = HashSet::new();
    for i in 0..N {
        let base = if i % 2 == 0 { &first } else { &second };
        ids.insert(stack.create_movie_at(base, &format!("two {i}")).await);
    }
    stack.wait_processed(N as u64, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let stats = stack.stats().await;
    assert_eq!(
        (stats.processed, stats.duplicates, stats.received),
        (N as u64, 0, N as u64),
        "{stats:?}"
    );
    let events = stack.processed_events().await;
    let movies: HashSet<String> = events
        .iter()
        .map(|e| e["movie_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(movies, ids);
    stack.shutdown().await;
}
