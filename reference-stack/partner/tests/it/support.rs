//! A stack per test (iam, catalog with the relay, partner) on port 0 with unique exchange and
//! queue names, HTTP helpers, and the broker check.

use std::collections::HashMap;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use serde_json::{Value, json};
use stack_catalog::CatalogConfig;
use stack_iam::IamConfig;
use stack_iam::config::ClientConfig;
use stack_partner::{PartnerConfig, StatsView};
use stack_testkit::net::listener;
use stack_testkit::services::{spawn_catalog, spawn_iam};
use stack_testkit::stop::Stopper;

pub use stack_testkit::wait::poll;

/// The broker the tests use: `GAUNTLET_AMQP_URL` (ci/test.sh exports it), else the one this
/// project's machines run on 127.0.0.1:5672.
pub fn amqp_url() -> String {
    std::env::var("GAUNTLET_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// Whether the broker answers. Under CI (`CI` set) a missing broker fails the test: the async
/// leg must not go untested silently. Elsewhere the test says why it did nothing.
pub async fn broker_available(test: &str) -> bool {
    let url = amqp_url();
    let ok = tokio::time::timeout(
        Duration::from_secs(5),
        Connection::connect(&url, ConnectionProperties::default()),
    )
    .await
    .is_ok_and(|c| c.is_ok());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: no RabbitMQ answers at {url} (set GAUNTLET_AMQP_URL; ci/test.sh starts one)"
        );
        eprintln!("{test}: SKIPPED, no RabbitMQ at {url} (set GAUNTLET_AMQP_URL)");
    }
    ok
}

/// A name no other test or run uses.
pub fn unique(prefix: &str) -> String {
    format!("gauntlet-test.{prefix}.{}", uuid::Uuid::new_v4().simple())
}

/// Names of one test's exchange and queues.
#[derive(Clone, Debug)]
pub struct Topology {
    pub exchange: String,
    pub queue: String,
    pub dlx: String,
    pub dlq: String,
}

impl Topology {
    pub fn new(test: &str) -> Self {
        let base = unique(test);
        Topology {
            exchange: format!("{base}.events"),
            queue: format!("{base}.partner"),
            dlx: format!("{base}.dlx"),
            dlq: format!("{base}.dlq"),
        }
    }

    /// Deletes the exchanges and queues (they are durable: without this they would stay on
    /// the shared broker).
    pub async fn delete(&self, amqp_url: &str) {
        let Ok(conn) = Connection::connect(amqp_url, ConnectionProperties::default()).await else {
            return;
        };
        if let Ok(ch) = conn.create_channel().await {
            for q in [&self.queue, &self.dlq] {
                let _ = ch
                    .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                    .await;
            }
            for x in [&self.exchange, &self.dlx] {
                let _ = ch
                    .exchange_delete(x.as_str().into(), ExchangeDeleteOptions::default())
                    .await;
            }
        }
        let _ = conn.close(200, "test done".into()).await;
    }
}

/// Deletes a test's topology when its stack is dropped without `shutdown` (a failed
/// assertion), so durable queues do not pile up on the shared broker.
struct Cleanup {
    topology: Topology,
    amqp_url: String,
    done: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (topology, url) = (self.topology.clone(), self.amqp_url.clone());
        // its own runtime on its own thread: this may run inside (or after) the test's runtime
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(async {
                    let _ = tokio::time::timeout(Duration::from_secs(5), topology.delete(&url)).await;
                });
            }
        })
        .join();
    }
}

pub const PARTNER_ID: &str = "partner-test";
pub const PARTNER_SECRET: &str = "partner-test-secret";
pub const WRITER_ID: &str = "writer-test";
pub const WRITER_SECRET: &str = "writer-test-secret";

/// A running iam + catalog + partner.
pub struct Stack {
    pub iam: String,
    pub catalog: String,
    pub partner: String,
    pub catalog_state: stack_catalog::AppState,
    catalog_config: CatalogConfig,
    pub partner_state: stack_partner::AppState,
    pub topology: Topology,
    pub amqp_url: String,
    pub http: reqwest::Client,
    writer_token: String,
    stopper: Stopper,
    cleanup: Cleanup,
    _dir: tempfile::TempDir,
}

/// What to vary per test.
pub struct Options {
    pub amqp_url: String,
    pub topology: Topology,
    pub fault_injection: bool,
    pub partner: fn(&mut PartnerConfig),
    pub catalog: fn(&mut CatalogConfig),
}

impl Options {
    pub fn new(test: &str) -> Self {
        Options {
            amqp_url: amqp_url(),
            topology: Topology::new(test),
            fault_injection: false,
            partner: |_| {},
            catalog: |_| {},
        }
    }
}

impl Stack {
    pub async fn start(options: Options) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let mut stopper = Stopper::new();

        let iam_config = IamConfig {
            data_dir: dir.path().join("iam"),
            log_json: false,
            clients: vec![
                ClientConfig {
                    client_id: PARTNER_ID.into(),
                    client_secret: PARTNER_SECRET.into(),
                    scopes: vec!["movies:read".into()],
                },
                ClientConfig {
                    client_id: WRITER_ID.into(),
                    client_secret: WRITER_SECRET.into(),
                    scopes: vec!["movies:read".into(), "movies:write".into()],
                },
            ],
            ..IamConfig::default()
        };
        let iam = format!("http://{}", spawn_iam(&mut stopper, iam_config).await);

        let mut catalog_config = CatalogConfig {
            data_dir: dir.path().join("catalog"),
            iam_url: iam.clone(),
            log_json: false,
            amqp_url: Some(options.amqp_url.clone()),
            events_exchange: options.topology.exchange.clone(),
            events_retry_max_ms: 500,
            ..CatalogConfig::default()
        };
        (options.catalog)(&mut catalog_config);
        catalog_config.check().unwrap();
        let (catalog_addr, catalog_state) = spawn_catalog(&mut stopper, &catalog_config).await;
        let catalog = format!("http://{catalog_addr}");

        let (partner_l, partner_addr) = listener().await;
        let partner = format!("http://{partner_addr}");
        let mut partner_config = PartnerConfig {
            data_dir: dir.path().join("partner"),
            iam_url: iam.clone(),
            client_id: PARTNER_ID.into(),
            client_secret: PARTNER_SECRET.into(),
            catalog_url: format!("{catalog}/v1"),
            amqp_url: options.amqp_url.clone(),
            events_exchange: options.topology.exchange.clone(),
            queue: options.topology.queue.clone(),
            dead_letter_exchange: options.topology.dlx.clone(),
            dead_letter_queue: options.topology.dlq.clone(),
            reconnect_max_ms: 500,
            fault_injection: options.fault_injection,
            log_json: false,
            ..PartnerConfig::default()
        };
        (options.partner)(&mut partner_config);
        let partner_state = stack_partner::open(partner_config).unwrap();
        stopper.spawn(stack_partner::serve(
            partner_l,
            partner_state.clone(),
            stopper.signal(),
        ));

        let http = reqwest::Client::new();
        let writer_token = token(&http, &iam, WRITER_ID, WRITER_SECRET).await;
        let cleanup = Cleanup {
            topology: options.topology.clone(),
            amqp_url: options.amqp_url.clone(),
            done: false,
        };
        Stack {
            cleanup,
            iam,
            catalog,
            partner,
            catalog_state,
            catalog_config,
            partner_state,
            topology: options.topology,
            amqp_url: options.amqp_url,
            http,
            writer_token,
            stopper,
            _dir: dir,
        }
    }

    /// Starts another catalog instance on the same database (and so the same outbox), with its
    /// own relay; its base URL.
    pub async fn add_catalog_instance(&mut self) -> String {
        let (addr, _) = spawn_catalog(&mut self.stopper, &self.catalog_config).await;
        format!("http://{addr}")
    }

    /// Creates a movie through the catalog instance at `base`.
    pub async fn create_movie_at(&self, base: &str, title: &str) -> String {
        let response = self
            .http
            .post(format!("{base}/v1/movies"))
            .bearer_auth(&self.writer_token)
            .json(&json!({ "title": title, "year": 1999 }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_string()
    }

    /// Waits until partner's queue is bound (events published before that would be routed
    /// nowhere: a topic exchange drops what no queue is bound for).
    pub async fn wait_consuming(&self) {
        let ok = poll(Duration::from_secs(60), || async {
            self.partner_state.stats().consumer_connected.then_some(())
        })
        .await;
        assert!(ok.is_some(), "partner did not connect to {}", self.amqp_url);
    }

    /// Creates a movie through catalog's REST API; its id.
    pub async fn create_movie(&self, title: &str) -> Result<String, String> {
        let response = self
            .http
            .post(format!("{}/v1/movies", self.catalog))
            .bearer_auth(&self.writer_token)
            .json(&json!({ "title": title, "year": 1999, "genres": ["test"] }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status() != 201 {
            return Err(format!("create answered {}", response.status()));
        }
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        Ok(body["id"].as_str().unwrap().to_string())
    }

    /// Creates a movie through catalog's gRPC API; its id.
    pub async fn create_movie_grpc(&self, title: &str) -> String {
        use stack_catalog::proto::movie_service_client::MovieServiceClient;
        use stack_catalog::proto::{CreateMovieRequest, MovieInput};
        let mut client = MovieServiceClient::connect(self.catalog.clone()).await.unwrap();
        let mut request = tonic::Request::new(CreateMovieRequest {
            movie: Some(MovieInput {
                title: title.into(),
                year: 2003,
                genres: vec![],
                rating: None,
            }),
        });
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", self.writer_token).parse().unwrap(),
        );
        client.create_movie(request).await.unwrap().into_inner().id
    }

    pub async fn update_movie(&self, id: &str, title: &str) {
        let response = self
            .http
            .put(format!("{}/v1/movies/{id}", self.catalog))
            .bearer_auth(&self.writer_token)
            .json(&json!({ "title": title, "year": 2000 }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    pub async fn delete_movie(&self, id: &str) {
        let response = self
            .http
            .delete(format!("{}/v1/movies/{id}", self.catalog))
            .bearer_auth(&self.writer_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }

    /// partner's `GET /v1/stats`.
    pub async fn stats(&self) -> StatsView {
        let (status, body): (u16, Value) = self.get_json(&format!("{}/v1/stats", self.partner)).await;
        assert_eq!(status, 200);
        assert_contract("Stats", &body);
        serde_json::from_value(body).unwrap()
    }

    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> (u16, T) {
        let response = self.http.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Every processed event from partner's list, following the cursor (pages of 7 so
    /// paging itself is exercised).
    pub async fn processed_events(&self) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                None => format!("{}/v1/events?limit=7", self.partner),
                Some(c) => format!("{}/v1/events?limit=7&cursor={c}", self.partner),
            };
            let (status, page): (u16, Value) = self.get_json(&url).await;
            assert_eq!(status, 200, "{page}");
            assert_contract("EventPage", &page);
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
    }

    /// Waits until partner processed `n` events; the stats then.
    pub async fn wait_processed(&self, n: u64, deadline: Duration) -> StatsView {
        let reached = poll(deadline, || async {
            let s = self.partner_state.stats();
            (s.processed >= n).then_some(s)
        })
        .await;
        match reached {
            Some((s, _)) => s,
            None => panic!(
                "partner processed {:?} of {n} within {deadline:?}; outbox {:?}",
                self.partner_state.stats(),
                self.catalog_state.db().outbox_counts()
            ),
        }
    }

    /// Publishes a raw message to this test's exchange, as catalog would.
    pub async fn publish_raw(&self, routing_key: &str, body: &[u8]) {
        let conn = Connection::connect(&self.amqp_url, ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        ch.confirm_select(Default::default()).await.unwrap();
        let confirm = ch
            .basic_publish(
                self.topology.exchange.as_str().into(),
                routing_key.into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(confirm.is_ack());
        let _ = conn.close(200, "done".into()).await;
    }

    pub async fn shutdown(mut self) {
        self.stopper.stop_within(Duration::from_secs(10)).await;
        self.topology.delete(&self.amqp_url).await;
        self.cleanup.done = true;
    }
}

/// A client-credentials token from iam.
pub async fn token(http: &reqwest::Client, iam: &str, id: &str, secret: &str) -> String {
    let response: Value = http
        .post(format!("{iam}/v1/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {response}"))
        .to_string()
}

/// A well-formed event body that is not catalog's (for duplicates and poison neighbours).
pub fn synthetic_event(kind: &str) -> (String, String) {
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "event_id": id,
        "type": kind,
        "movie_id": uuid::Uuid::new_v4().to_string(),
        "committed_at": stack_catalog::events::now_micros(),
    });
    (id, body.to_string())
}

/// Checks `value` against a schema of `contracts/openapi/partner.yaml` (its schemas are plain
/// JSON Schema: no `nullable`, no discriminator, so no conversion is needed).
pub fn assert_contract(schema: &str, value: &Value) {
    let mut doc: Value = serde_yaml::from_str(stack_partner::OPENAPI).unwrap();
    doc["$ref"] = Value::String(format!("#/components/schemas/{schema}"));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&doc)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{schema} in partner.yaml does not match {value}: {errors:?}"
    );
}

/// Counts per key.
pub fn counts<'a>(keys: impl IntoIterator<Item = &'a str>) -> HashMap<&'a str, usize> {
    let mut m = HashMap::new();
    for k in keys {
        *m.entry(k).or_default() += 1;
    }
    m
}

/// Percentile (nearest rank) of unsorted values.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank - 1]
}
