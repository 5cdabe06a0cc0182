//! Helpers: real iam and catalog upstreams on free ports, the gateway in front of them, small
//! axum upstreams that answer, fail, sleep or echo on purpose (counting what they receive), and
//! token helpers (real tokens from iam through the gateway; forged ones come from stack-testkit).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use stack_catalog::CatalogConfig;
use stack_catalog::proto::movie_service_client::MovieServiceClient;
use stack_gateway::Gateway;
use stack_gateway::config::{GatewayConfig, RouteConfig, UpstreamConfig};
use stack_iam::IamConfig;
use stack_testkit::net::{get_json, get_text};
use stack_testkit::services::{spawn_catalog, spawn_iam};
use stack_testkit::stop::Stopper;
use stack_testkit::tokens::{Forger, iam_signing_key};
use tokio::net::TcpListener;
use tonic::transport::Channel;

pub use stack_testkit::net::{client, dead_addr, listener};
pub use stack_testkit::tokens::{authed, b64, now, other_ed25519_key};

/// Real iam and catalog instances sharing one data directory.
pub struct Services {
    /// iam's address.
    pub iam: SocketAddr,
    /// The catalog instances' addresses.
    pub catalogs: Vec<SocketAddr>,
    /// The data directory (`iam/signing-key.der`, `catalog/catalog.db`).
    pub data: tempfile::TempDir,
    stopper: Stopper,
}

impl Services {
    /// iam and `catalogs` catalog instances (all on the same database file).
    pub async fn start(catalogs: usize) -> Services {
        let data = tempfile::tempdir().expect("tempdir");
        let mut stopper = Stopper::new();
        let iam_config = IamConfig {
            data_dir: data.path().join("iam"),
            log_json: false,
            ..Default::default()
        };
        let iam = spawn_iam(&mut stopper, iam_config).await;
        let catalog_config = CatalogConfig {
            data_dir: data.path().join("catalog"),
            iam_url: format!("http://{iam}"),
            log_json: false,
            ..Default::default()
        };
        let mut addrs = Vec::new();
        for _ in 0..catalogs {
            addrs.push(spawn_catalog(&mut stopper, &catalog_config).await.0);
        }
        Services {
            iam,
            catalogs: addrs,
            data,
            stopper,
        }
    }

    /// The gateway's default routes pointed at these services, with short health intervals.
    pub fn gateway_config(&self) -> GatewayConfig {
        let mut config = GatewayConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            iam_url: format!("http://{}", self.iam),
            log_json: false,
            ..Default::default()
        };
        config
            .upstreams
            .insert("iam".into(), UpstreamConfig::with_instances([self.iam]));
        config.upstreams.insert(
            "catalog".into(),
            UpstreamConfig::with_instances(self.catalogs.iter().copied()),
        );
        for up in config.upstreams.values_mut() {
            up.health_interval_ms = 200;
        }
        config
    }

    /// Stops every service.
    pub async fn stop(mut self) {
        self.stopper.stop().await;
    }

    /// A forger holding iam's real signing key.
    pub async fn forger(&self, gw: &RunningGateway) -> Forger {
        let der = iam_signing_key(&self.data.path().join("iam"));
        let jwks: Value = get_json(&gw.http, gw.url("/iam/.well-known/jwks.json")).await;
        Forger::new(&der, &jwks["keys"][0])
    }

    /// catalog's request count for `route` (summed over methods and statuses, all instances),
    /// from their own `/metrics`: what reached the service.
    pub async fn catalog_requests(&self, route: &str) -> u64 {
        let mut total = 0;
        for addr in &self.catalogs {
            let text = get_text(&reqwest::Client::new(), format!("http://{addr}/metrics")).await;
            total += sum_counter(&text, "http_requests_total", &format!("route=\"{route}\""));
        }
        total
    }
}

/// Sums the samples of `metric` whose labels contain `label`.
pub fn sum_counter(text: &str, metric: &str, label: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// A gateway running on a free port.
pub struct RunningGateway {
    /// Its address.
    pub addr: SocketAddr,
    /// Its state (metrics, instance health).
    pub gateway: Gateway,
    /// A plain HTTP client (no proxy, 20 s timeout).
    pub http: reqwest::Client,
    stopper: Stopper,
}

impl RunningGateway {
    /// Opens and serves `config` on 127.0.0.1:0.
    pub async fn start(config: GatewayConfig) -> RunningGateway {
        let (l, addr) = listener().await;
        let gateway = stack_gateway::open(config).await.expect("the gateway opens");
        let mut stopper = Stopper::new();
        stopper.spawn(stack_gateway::serve(l, gateway.clone(), stopper.signal()));
        RunningGateway {
            addr,
            gateway,
            http: client(),
            stopper,
        }
    }

    /// `http://addr{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Starts the graceful shutdown and waits for it.
    pub async fn stop(mut self) {
        self.stopper.stop().await;
    }

    /// A token from the password grant through the gateway.
    pub async fn token(&self, username: &str, password: &str, scope: Option<&str>) -> String {
        let mut form = vec![
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        let r = self
            .http
            .post(self.url("/iam/v1/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        body["access_token"].as_str().expect("a token").to_string()
    }

    /// The admin's token with both movie scopes.
    pub async fn admin_token(&self) -> String {
        self.token("admin", "admin-password", None).await
    }

    /// A gRPC client through the gateway (h2c).
    pub async fn grpc(&self) -> MovieServiceClient<Channel> {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .connect()
            .await
            .expect("a gRPC connection through the gateway");
        MovieServiceClient::new(channel)
    }
}

/// A one-route config to `upstreams` (a single test upstream), no auth, no rate limit.
pub fn single_route(
    instances: &[SocketAddr],
    tune: impl FnOnce(&mut RouteConfig, &mut UpstreamConfig),
) -> GatewayConfig {
    let mut route = RouteConfig::new("test", "/t", "test");
    route.rewrite = Some(String::new());
    let mut upstream = UpstreamConfig::with_instances(instances.iter().copied());
    upstream.health_interval_ms = 0;
    tune(&mut route, &mut upstream);
    GatewayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstreams: [("test".to_string(), upstream)].into(),
        routes: vec![route],
        log_json: false,
        // No iam here: unauthenticated routes never reach it.
        iam_url: "http://127.0.0.1:9".into(),
        revocation_refresh_ms: 3_600_000,
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Test upstreams.

/// How a test upstream answers.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// 200 with `{"instance", "path", "method", "headers"}`.
    Echo,
    /// This status, JSON error shape.
    Fail(u16),
    /// Sleeps, then echoes.
    Sleep(Duration),
}

/// A small axum upstream.
pub struct TestUpstream {
    /// Its address.
    pub addr: SocketAddr,
    /// Requests received (health checks excluded).
    pub hits: Arc<AtomicU64>,
    /// Requests being handled now.
    pub active: Arc<AtomicU64>,
    /// What `/readyz` answers.
    pub ready: Arc<AtomicBool>,
    /// Request ids received, in order.
    pub ids: Arc<std::sync::Mutex<Vec<String>>>,
    stopper: Stopper,
}

#[derive(Clone)]
struct UpstreamState {
    name: String,
    behaviour: Behaviour,
    hits: Arc<AtomicU64>,
    active: Arc<AtomicU64>,
    ready: Arc<AtomicBool>,
    ids: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn answer(State(s): State<UpstreamState>, req: Request) -> Response {
    if req.uri().path() == "/readyz" {
        let status = if s.ready.load(Ordering::SeqCst) { 200 } else { 503 };
        return (axum::http::StatusCode::from_u16(status).unwrap(), "{}").into_response();
    }
    let (parts, body) = req.into_parts();
    // A request counts once its body arrived whole (a body cut off on the way is no request).
    if axum::body::to_bytes(body, 1 << 20).await.is_err() {
        return axum::http::StatusCode::BAD_REQUEST.into_response();
    }
    let req = Request::from_parts(parts, axum::body::Body::empty());
    s.hits.fetch_add(1, Ordering::SeqCst);
    s.active.fetch_add(1, Ordering::SeqCst);
    if let Some(id) = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()) {
        s.ids.lock().unwrap().push(id.to_string());
    }
    let headers: serde_json::Map<String, Value> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
        .collect();
    let body = json!({
        "instance": s.name,
        "path": req.uri().path_and_query().map(|p| p.as_str()).unwrap_or(""),
        "method": req.method().as_str(),
        "headers": headers,
    });
    let response = match s.behaviour {
        Behaviour::Echo => axum::Json(body).into_response(),
        Behaviour::Sleep(d) => {
            tokio::time::sleep(d).await;
            axum::Json(body).into_response()
        }
        Behaviour::Fail(status) => (
            axum::http::StatusCode::from_u16(status).unwrap(),
            axum::Json(json!({"error": {"code": "injected", "message": "failing on purpose"}})),
        )
            .into_response(),
    };
    s.active.fetch_sub(1, Ordering::SeqCst);
    response
}

impl TestUpstream {
    /// Starts one on 127.0.0.1:0.
    pub async fn start(name: &str, behaviour: Behaviour) -> TestUpstream {
        let (l, _) = listener().await;
        Self::serve_on(l, name, behaviour).await
    }

    /// Starts one on `listener`.
    pub async fn serve_on(l: TcpListener, name: &str, behaviour: Behaviour) -> TestUpstream {
        let addr = l.local_addr().unwrap();
        let state = UpstreamState {
            name: name.to_string(),
            behaviour,
            hits: Arc::default(),
            active: Arc::default(),
            ready: Arc::new(AtomicBool::new(true)),
            ids: Arc::default(),
        };
        let app = axum::Router::new().fallback(answer).with_state(state.clone());
        let mut stopper = Stopper::new();
        let signal = stopper.signal();
        stopper.spawn(async move { axum::serve(l, app).with_graceful_shutdown(signal).await });
        TestUpstream {
            addr,
            hits: state.hits,
            active: state.active,
            ready: state.ready,
            ids: state.ids,
            stopper,
        }
    }

    /// Requests received so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }

    /// Stops it.
    pub async fn stop(mut self) {
        self.stopper.stop().await;
    }
}

/// Sends raw bytes on a new connection and returns the whole response (the server closes the
/// connection: requests carry `Connection: close`).
pub async fn raw(addr: SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut out))
        .await
        .expect("a response within 10 s")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads from `stream` into `buf` until `buf` holds a whole HTTP/1.1 head (through the blank
/// line) and returns the head's length; `None` when the peer closed the connection, or, with
/// `idle`, when nothing at all arrived for that long (a server's keep-alive timeout). For the
/// hand-written upstreams and clients that look at bytes hyper would hide.
pub async fn read_head(
    stream: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
    idle: Option<Duration>,
) -> Option<usize> {
    use tokio::io::AsyncReadExt;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(end + 4);
        }
        let mut chunk = [0u8; 4096];
        let read = match idle {
            Some(idle) if buf.is_empty() => tokio::time::timeout(idle, stream.read(&mut chunk)).await.ok()?,
            _ => stream.read(&mut chunk).await,
        };
        match read {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The `content-length` of a head already lowercased (0 when it has none).
pub fn content_length(lowercase_head: &str) -> usize {
    lowercase_head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}
