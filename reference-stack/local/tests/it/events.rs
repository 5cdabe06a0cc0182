//! The asynchronous leg in the stack: catalog's relay publishes to the machine's RabbitMQ on an
//! exchange unique to the stack, partner consumes from its own queue, and a client awaits the
//! event a write produced by the `event-id` response header. When nobody names a broker and
//! none answers at the default address, the stack runs a private `rabbitmq-server` and stops it
//! with the stack. Without any broker the stack runs without that leg and says why.

use std::time::Duration;

use serde_json::{Value, json};
use stack_testkit::net::get_text;

use crate::openapi;
use crate::support::{Api, TestStack, authed, poll, start_with};

/// The machine's broker (the tests never stop it).
pub(crate) const BROKER: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Whether queue `name` exists on the machine's broker (a passive declare).
async fn queue_exists(name: &str) -> bool {
    let connection = lapin::Connection::connect(BROKER, lapin::ConnectionProperties::default())
        .await
        .expect("the machine's broker answers");
    let channel = connection.create_channel().await.unwrap();
    let passive = lapin::options::QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let exists = channel
        .queue_declare(name.into(), passive, lapin::types::FieldTable::default())
        .await
        .is_ok();
    let _ = connection.close(200, "checked".into()).await;
    exists
}

/// Creates a movie through `stack`'s gateway as the admin: its event id (the `event-id` header)
/// and the movie's id.
async fn create_through_gateway(stack: &TestStack, title: &str) -> (String, String) {
    let gateway = Api::new(&stack.running().gateway.url, openapi::gateway());
    let created = gateway
        .post("/api/movies")
        .bearer(&stack.admin_token().await)
        .json(&json!({"title": title, "year": 2026, "genres": ["drama"]}))
        .send()
        .await
        .expect(201);
    let event_id = created.event_id();
    (event_id, created.json()["id"].as_str().unwrap().to_string())
}

/// Polls partner's `GET /v1/events/{id}` until it answers 200, for at most 10 s.
async fn await_event(partner: &str, event_id: &str) -> Value {
    let http = reqwest::Client::new();
    let url = format!("{partner}/v1/events/{event_id}");
    let found = poll(Duration::from_secs(10), || {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let response = http.get(&url).send().await.ok()?;
            if response.status() == 200 {
                response.json::<Value>().await.ok()
            } else {
                None
            }
        }
    })
    .await;
    found
        .unwrap_or_else(|| panic!("partner did not process event {event_id} within 10 s"))
        .0
}

/// One request over TLS to `addr` (checked against its IP address, as partner checks the
/// gateway's) on a fresh HTTP/1.1 connection: the status, the `event-id` header and the body.
pub(crate) async fn over_tls(
    addr: std::net::SocketAddr,
    tls: &tokio_rustls::TlsConnector,
    request: http::Request<http_body_util::Full<bytes::Bytes>>,
) -> (u16, Option<String>, String) {
    use http_body_util::BodyExt;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let stream = tls
        .connect(rustls::pki_types::ServerName::IpAddress(addr.ip().into()), tcp)
        .await
        .expect("the TLS handshake with the gateway");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let event_id = response
        .headers()
        .get("event-id")
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, event_id, String::from_utf8_lossy(&body).into_owned())
}

/// A stack on the machine's broker with TLS at the gateway (`stack up --tls`), and mutual TLS
/// between the gateway and catalog (`--mtls`) when asked; fails unless the gateway serves HTTPS.
pub(crate) async fn start_with_tls_gateway(mutual_tls: bool) -> TestStack {
    let stack = start_with(|o| {
        o.self_signed_tls = true;
        o.mutual_tls = mutual_tls;
        o.amqp_url = Some(BROKER.into());
    })
    .await;
    let gateway = &stack.running().gateway.url;
    assert!(gateway.starts_with("https://"), "{gateway}");
    stack
}

/// With TLS at the gateway (`stack up --tls`, with or without `--mtls`), partner's leg runs
/// through it like a third-party app's: a create sent over TLS ends with partner fetching the
/// movie with 200, and that read is the one the gateway's `api-read` route served — so partner
/// neither went around the gateway (straight to catalog) nor failed the TLS handshake (no 200).
pub(crate) async fn partner_fetches_through_the_tls_gateway(stack: &TestStack) {
    let running = stack.running();
    let partner = running
        .partner
        .clone()
        .unwrap_or_else(|| panic!("partner runs (events off: {:?})", running.events_off));
    let cert = running
        .gateway_certificate
        .clone()
        .expect("the gateway's certificate");
    let addr = running.gateway.addr;
    let authority = addr.to_string();
    // the stack's own client builder, the one partner's trust of `catalog_ca` goes through
    let mut config = stack_common::tls::client_config(&cert, None).unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let empty = || http_body_util::Full::new(bytes::Bytes::new());
    let reads_served = |metrics: &str| -> u64 {
        metrics
            .lines()
            .filter_map(|l| {
                l.strip_prefix(r#"http_requests_total{method="GET",route="api-read",status="200"} "#)
            })
            .map(|n| n.parse::<u64>().unwrap())
            .sum()
    };
    let metrics = || {
        http::Request::get("/metrics")
            .header("host", &authority)
            .body(empty())
            .unwrap()
    };
    let (status, _, before) = over_tls(addr, &tls, metrics()).await;
    assert_eq!(status, 200);
    let before = reads_served(&before);

    let create = http::Request::post("/api/movies")
        .header("host", &authority)
        .header("authorization", format!("Bearer {}", stack.admin_token().await))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            json!({"title": "Fetched over TLS", "year": 2026, "genres": ["drama"]}).to_string(),
        )))
        .unwrap();
    let (status, event_id, body) = over_tls(addr, &tls, create).await;
    assert_eq!(status, 201, "{body}");
    let event_id = event_id.expect("an event-id header");
    let movie: Value = serde_json::from_str(&body).unwrap();

    let event = await_event(&partner.url, &event_id).await;
    assert_eq!(event["movie_id"], movie["id"], "{event}");
    assert_eq!(event["fetch_status"], 200, "{event}");
    assert!(event.get("fetch_error").is_none(), "{event}");
    let (_, _, after) = over_tls(addr, &tls, metrics()).await;
    assert_eq!(
        reads_served(&after),
        before + 1,
        "partner's fetch is the one read the gateway served since:\n{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_the_gateway_is_processed_by_partner_under_its_event_id() {
    let stack = start_with(|o| o.amqp_url = Some(BROKER.into())).await;
    let running = stack.running();
    let events = running
        .events
        .clone()
        .expect("the broker answers, so events are on");
    assert!(running.events_off.is_none(), "{:?}", running.events_off);
    assert!(events.exchange.starts_with("gauntlet.") && events.exchange.ends_with(".catalog.events"));
    assert!(
        !events.broker.contains("guest:guest"),
        "the password is masked: {}",
        events.broker
    );
    let partner = running.partner.clone().expect("partner runs");
    let gateway = Api::new(&running.gateway.url, openapi::gateway());
    let token = stack.admin_token().await;

    // create through the gateway: the header passes through it
    let (event_id, movie_id) = create_through_gateway(&stack, "Awaited").await;
    uuid::Uuid::parse_str(&event_id).expect("the event id is a UUID");

    let event = await_event(&partner.url, &event_id).await;
    assert_eq!(event["event_id"], event_id.as_str());
    assert_eq!(event["type"], "movie.created");
    assert_eq!(event["movie_id"], movie_id.as_str());
    // partner fetched the movie through the gateway with its own client-credentials token
    assert_eq!(event["fetch_status"], 200, "{event}");

    // update and delete carry their own event ids too
    let updated = gateway
        .put(&format!("/api/movies/{movie_id}"))
        .bearer(&token)
        .json(&json!({"title": "Awaited, again", "year": 2026}))
        .send()
        .await
        .expect(200);
    let update_id = updated.event_id();
    assert_ne!(update_id, event_id);
    let deleted = gateway
        .delete(&format!("/api/movies/{movie_id}"))
        .bearer(&token)
        .send()
        .await
        .expect(204);
    let delete_id = deleted.event_id();
    assert_eq!(
        await_event(&partner.url, &update_id).await["type"],
        "movie.updated"
    );
    let gone = await_event(&partner.url, &delete_id).await;
    assert_eq!(gone["type"], "movie.deleted");
    assert_eq!(gone["movie_id"], movie_id.as_str());

    // gRPC writes carry it as response metadata
    let mut grpc = stack.grpc().await;
    let response = grpc
        .create_movie(authed(
            stack_catalog::proto::CreateMovieRequest {
                movie: Some(stack_catalog::proto::MovieInput {
                    title: "Over gRPC".into(),
                    year: 2026,
                    genres: vec![],
                    rating: None,
                }),
            },
            &token,
        ))
        .await
        .expect("gRPC create");
    let grpc_event = response
        .metadata()
        .get("event-id")
        .expect("event-id metadata")
        .to_str()
        .unwrap()
        .to_string();
    let event = await_event(&partner.url, &grpc_event).await;
    assert_eq!(event["movie_id"], response.get_ref().id.as_str());

    // stopping deletes the stack's queues (and exchanges) from the shared broker
    assert!(queue_exists(&events.queue).await);
    stack.stop().await;
    assert!(!queue_exists(&events.queue).await, "{} left behind", events.queue);
    assert!(!queue_exists(&events.dead_letter_queue).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stacks_sharing_a_broker_never_see_each_others_events() {
    let a = start_with(|o| o.amqp_url = Some(BROKER.into())).await;
    let b = start_with(|o| o.amqp_url = Some(BROKER.into())).await;
    let (ea, eb) = (
        a.running().events.clone().unwrap(),
        b.running().events.clone().unwrap(),
    );
    assert_ne!(ea.exchange, eb.exchange);
    assert_ne!(ea.queue, eb.queue);
    let token = a.admin_token().await;
    let created = a
        .catalog
        .post("/v1/movies")
        .bearer(&token)
        .json(&json!({"title": "Only in A", "year": 2026}))
        .send()
        .await
        .expect(201);
    let event_id = created.header("event-id").unwrap().to_string();
    let partner_a = a.running().partner.clone().unwrap();
    let partner_b = b.running().partner.clone().unwrap();
    await_event(&partner_a.url, &event_id).await;
    let stats: Value = reqwest::get(format!("{}/v1/stats", partner_b.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["received"], 0, "B's partner saw A's event: {stats}");
    a.stop().await;
    // a stack dropped without `stop` (a test that ends or panics) cleans up too
    drop(b);
    assert!(!queue_exists(&eb.queue).await, "{} left behind", eb.queue);
    assert!(!queue_exists(&ea.queue).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_broker_the_stack_serves_crud_and_says_the_async_leg_is_off() {
    // a port that was free a moment ago: nothing answers there
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let stack =
        start_with(|o| o.amqp_url = Some(format!("amqp://guest:secret@127.0.0.1:{closed}/%2f"))).await;
    let running = stack.running();
    assert!(running.events.is_none());
    assert!(running.partner.is_none());
    let why = running.events_off.clone().expect("a reason");
    assert!(why.contains(&format!("127.0.0.1:{closed}")), "{why}");
    assert!(!why.contains("secret"), "the password is masked: {why}");
    assert!(!why.contains('\n'), "one line: {why}");

    let (token, catalog) = stack.admin_catalog().await;
    let movie = stack
        .create_movie(&token, &json!({"title": "No broker", "year": 2026}))
        .await;
    let id = movie["id"].as_str().unwrap();
    catalog.get(&format!("/v1/movies/{id}")).send().await.expect(200);
    let deleted = catalog
        .delete(&format!("/v1/movies/{id}"))
        .send()
        .await
        .expect(204);
    // the event is still committed to the outbox, so the header is there
    assert!(deleted.header("event-id").is_some());
    // no relay runs
    let metrics = get_text(
        &reqwest::Client::new(),
        format!("{}/metrics", running.catalog.url),
    )
    .await;
    assert!(metrics.contains("catalog_events_relay_connected 0"), "{metrics}");
    stack.stop().await;
}

/// A loopback port that was free a moment ago: nothing answers there.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether something accepts connections on 127.0.0.1:`port`.
fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// A stack with no broker named and its default at a closed port, so that it runs a private
/// one. Outside CI only, `None` (after saying so) where rabbitmq-server is not installed, or
/// cannot run because this is not root (Debian's package drops to the `rabbitmq` user); the
/// stack must then say why in its one-line reason. Under CI (`CI` set) both fail: `ci/test.sh`
/// installs rabbitmq-server and runs as root.
async fn start_with_private_broker(test: &str) -> Option<TestStack> {
    let stack = start_with(|o| {
        // replacing the default also keeps GAUNTLET_AMQP_URL (ci/test.sh exports it) out
        o.default_amqp_url = Some(format!("amqp://guest:guest@127.0.0.1:{}/%2f", closed_port()));
    })
    .await;
    let installed = stack_local::PrivateBroker::installed();
    let why = stack.running().events_off.clone();
    let no_root = why.as_deref().is_some_and(|w| w.contains("run as root"));
    if !installed || no_root {
        let why = why.expect("no private broker: events are off");
        if !installed {
            assert!(
                why.contains("no private one: rabbitmq-server is not installed"),
                "{why}"
            );
        }
        assert!(std::env::var_os("CI").is_none(), "CI: no private broker: {why}");
        eprintln!("{test}: SKIPPED, cannot run a private rabbitmq-server here: {why}");
        return None;
    }
    Some(stack)
}

/// What to check once the private broker should be gone.
struct PrivateTraces {
    pid: u32,
    dir: std::path::PathBuf,
    amqp_port: u16,
    epmd_port: u16,
}

impl PrivateTraces {
    fn of(stack: &TestStack) -> PrivateTraces {
        let running = stack.running();
        let private = running
            .private_broker()
            .unwrap_or_else(|| panic!("no private broker; events off: {:?}", running.events_off));
        let traces = PrivateTraces {
            pid: private.pid().expect("the node's PID file was read"),
            dir: private.dir().to_path_buf(),
            amqp_port: private.amqp_port(),
            epmd_port: private.epmd_port(),
        };
        assert!(traces.running(), "the node's VM (PID {}) runs", traces.pid);
        assert!(traces.dir.is_dir());
        assert!(listening(traces.amqp_port));
        assert!(listening(traces.epmd_port), "the node's own epmd runs");
        traces
    }

    fn running(&self) -> bool {
        std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    fn assert_gone(&self) {
        assert!(!self.running(), "the node's VM (PID {}) still runs", self.pid);
        assert!(!self.dir.exists(), "{} left behind", self.dir.display());
        assert!(
            !listening(self.amqp_port),
            "AMQP port {} still answers",
            self.amqp_port
        );
        assert!(
            !listening(self.epmd_port),
            "epmd port {} still answers",
            self.epmd_port
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_broker_named_and_none_at_the_default_the_stack_runs_a_private_one() {
    let Some(stack) = start_with_private_broker(
        "with_no_broker_named_and_none_at_the_default_the_stack_runs_a_private_one",
    )
    .await
    else {
        return;
    };
    let running = stack.running();
    assert!(running.events_off.is_none(), "{:?}", running.events_off);
    let events = running.events.clone().expect("events are on");
    let traces = PrivateTraces::of(&stack);
    assert!(events.private);
    assert_eq!(
        events.broker,
        format!(
            "private rabbitmq-server on 127.0.0.1:{} (stops with the stack)",
            traces.amqp_port
        )
    );

    // the asynchronous leg runs through it: a create through the gateway reaches partner
    let partner = running.partner.clone().expect("partner runs");
    let (event_id, movie_id) = create_through_gateway(&stack, "Privately brokered").await;
    let event = await_event(&partner.url, &event_id).await;
    assert_eq!(event["type"], "movie.created");
    assert_eq!(event["movie_id"], movie_id.as_str());
    assert_eq!(event["fetch_status"], 200, "{event}");

    stack.stop().await;
    traces.assert_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stack_stops_its_private_broker_too() {
    let Some(stack) = start_with_private_broker("a_dropped_stack_stops_its_private_broker_too").await else {
        return;
    };
    let traces = PrivateTraces::of(&stack);
    // as when a test panics: no `stop`
    tokio::task::block_in_place(|| drop(stack));
    traces.assert_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_broker_that_does_not_answer_gets_no_private_one() {
    // the default would not answer either: a private broker replaces only the default
    let named = closed_port();
    let stack = start_with(|o| {
        o.amqp_url = Some(format!("amqp://guest:guest@127.0.0.1:{named}/%2f"));
        o.default_amqp_url = Some(format!("amqp://guest:guest@127.0.0.1:{}/%2f", closed_port()));
    })
    .await;
    let running = stack.running();
    assert!(running.private_broker().is_none());
    assert!(running.events.is_none() && running.partner.is_none());
    let why = running.events_off.clone().expect("a reason");
    assert!(why.contains(&format!("127.0.0.1:{named}")), "{why}");
    assert!(!why.contains("private"), "{why}");
    stack.stop().await;
}
