//! Runs the whole reference stack in one process on loopback: what `gauntlet stack up` and
//! `gauntlet demo` start, and what the stack's own tests run against. Services start in
//! dependency order (iam, then two catalog instances pointed at it, then the gateway in front of
//! them all, then partner), each on its own listener.
//!
//! The asynchronous leg (catalog's event relay and partner) runs when a RabbitMQ answers (see
//! [`StackOptions::amqp_url`]); when nobody named a broker and none answers at the default
//! address, the stack starts a [`PrivateBroker`] of its own (if `rabbitmq-server` is installed)
//! and stops it with the stack. Every stack uses its own uniquely named exchanges and queues
//! (`gauntlet.<random>.*`), so stacks sharing one broker (tests run in parallel) never see each
//! other's events, and deletes them when it stops.
//!
//! The catalog instances share one database file (`data_dir/catalog/catalog.db`): SQLite in WAL
//! mode lets several connections (here from two instances in one process; equally from two
//! processes on one machine) read beside one writer at a time, with `busy_timeout` serialising
//! writers, so both instances see every acknowledged write and a client may land on either.

#![warn(missing_docs)]

pub mod broker;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

pub use broker::{PrivateBroker, PrivateBrokerError};

use stack_catalog::CatalogConfig;
/// catalog's OpenAPI document, as the service serves it (for `gauntlet demo`'s contract suite).
pub use stack_catalog::OPENAPI as CATALOG_OPENAPI;
use stack_gateway::GatewayConfig;
use stack_gateway::config::UpstreamConfig;
use stack_iam::IamConfig;
use stack_partner::PartnerConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How to start the stack. `iam` and `catalog` are the services' configs; `start` fills in
/// their listen addresses, data directories and how catalog reaches iam.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Where the services keep their data; a fresh temporary directory (removed when the
    /// stack stops) when `None`.
    pub data_dir: Option<PathBuf>,
    /// Address to bind.
    pub host: IpAddr,
    /// iam listens on `base_port`, the catalog instances on `base_port + 1`, `base_port + 2`, ...,
    /// the gateway on `base_port - 1`; 0 picks free ports.
    pub base_port: u16,
    /// iam's configuration.
    pub iam: IamConfig,
    /// catalog's configuration (the same for every instance).
    pub catalog: CatalogConfig,
    /// How many catalog instances run behind the gateway (at least 1).
    pub catalog_instances: usize,
    /// The gateway's configuration; `start` points its `iam` and `catalog` upstreams at the
    /// running instances and sets its listen address and iam URL.
    pub gateway: GatewayConfig,
    /// Terminate TLS at the gateway with a self-signed certificate generated for `localhost`
    /// and `host` into `DATA_DIR/tls/` (unless `gateway.tls` names one already).
    pub self_signed_tls: bool,
    /// The RabbitMQ for catalog's events and partner (`amqp://user:pass@host:port/vhost`).
    /// `None`: catalog's configured `amqp_url` (a config file), else `GAUNTLET_AMQP_URL`, else
    /// the default (see [`default_amqp_url`](Self::default_amqp_url)). When a broker named
    /// this way does not answer, the stack runs without the asynchronous leg (no relay, no
    /// partner) and says why in [`RunningStack::events_off`]: it was asked for that one.
    pub amqp_url: Option<String>,
    /// The broker tried when none is named (no `amqp_url`, no config file's, no
    /// `GAUNTLET_AMQP_URL`): `None` is [`DEFAULT_AMQP_URL`]. When it does not answer, `start`
    /// runs a [`PrivateBroker`] for the stack (when `rabbitmq-server` is installed and can run;
    /// else events are off and [`RunningStack::events_off`] says why). `Some(url)` replaces the
    /// default *and* stops `GAUNTLET_AMQP_URL` from being consulted: how a test gets the
    /// "no broker named, none answers" case on a machine that has one (and exports the
    /// variable, as `ci/test.sh` does) without touching the environment.
    pub default_amqp_url: Option<String>,
    /// partner's configuration; `start` sets its listen address, data directory, iam and
    /// catalog URLs, broker, exchange and queue names, and its client secret (registered in
    /// iam as client `client_id` with scope `movies:read`).
    pub partner: PartnerConfig,
}

/// The broker tried when neither [`StackOptions::amqp_url`], a config file nor
/// `GAUNTLET_AMQP_URL` names one (unless [`StackOptions::default_amqp_url`] replaces it).
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// The environment variable naming the broker (what `--amqp-url` reads too).
pub const AMQP_URL_ENV: &str = "GAUNTLET_AMQP_URL";

/// `x-expires` of the stack's queues: a stack killed before it could delete them leaves them
/// behind this long at most (unused: no consumer).
const STACK_QUEUE_EXPIRES_MS: u64 = 5 * 60 * 1000;

/// How long the broker probe may take (TCP and AMQP handshake, declaring partner's queue).
const BROKER_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a private `rabbitmq-server` may take to answer (it usually takes 5-15 s).
const PRIVATE_BROKER_START_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            data_dir: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            base_port: 8081,
            iam: IamConfig::default(),
            catalog: CatalogConfig::default(),
            catalog_instances: 2,
            gateway: GatewayConfig::default(),
            self_signed_tls: false,
            amqp_url: None,
            default_amqp_url: None,
            partner: PartnerConfig::default(),
        }
    }
}

/// One running service.
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    /// Service name.
    pub name: &'static str,
    /// Bound address.
    pub addr: SocketAddr,
    /// Base URL.
    pub url: String,
}

/// The asynchronous leg of a running stack: where events go.
#[derive(Debug, Clone)]
pub struct EventsInfo {
    /// The broker, credentials masked (`amqp://guest:***@127.0.0.1:5672/%2f`), or `private
    /// rabbitmq-server on 127.0.0.1:PORT (stops with the stack)` for a [`PrivateBroker`].
    pub broker: String,
    /// Whether the broker is the stack's own [`PrivateBroker`].
    pub private: bool,
    /// catalog's topic exchange (unique to this stack).
    pub exchange: String,
    /// partner's durable queue bound to it (unique to this stack).
    pub queue: String,
    /// partner's dead-letter queue (unique to this stack).
    pub dead_letter_queue: String,
}

/// The running stack; `shutdown` stops it gracefully.
pub struct RunningStack {
    /// The iam service.
    pub iam: ServiceInfo,
    /// The catalog service (its first instance, addressed directly).
    pub catalog: ServiceInfo,
    /// Every catalog instance (the first is `catalog`).
    pub catalogs: Vec<ServiceInfo>,
    /// The gateway: the entry point clients should use.
    pub gateway: ServiceInfo,
    /// The gateway's certificate when it terminates TLS (for `curl --cacert`).
    pub gateway_certificate: Option<PathBuf>,
    /// Where the data lives.
    pub data_dir: PathBuf,
    /// Whether `data_dir` is temporary (removed on shutdown).
    pub data_is_temporary: bool,
    /// The admin user's credentials.
    pub admin: (String, String),
    /// The first configured client's credentials.
    pub demo_client: Option<(String, String)>,
    /// partner, when the asynchronous leg runs.
    pub partner: Option<ServiceInfo>,
    /// The asynchronous leg (catalog's relay and partner), when a broker answered.
    pub events: Option<EventsInfo>,
    /// Why the asynchronous leg is off (one line), when it is.
    pub events_off: Option<String>,
    /// What to delete from the broker when the stack stops.
    broker_cleanup: Option<BrokerCleanup>,
    /// The stack's own broker, stopped after the services (or when the stack is dropped).
    private_broker: Option<PrivateBroker>,
    stop: watch::Sender<bool>,
    stop_gateway: watch::Sender<bool>,
    gateway_task: Option<JoinHandle<std::io::Result<()>>>,
    tasks: Vec<(&'static str, JoinHandle<std::io::Result<()>>)>,
    _temp: Option<tempfile::TempDir>,
}

async fn bind(host: IpAddr, port: u16) -> anyhow::Result<(TcpListener, ServiceInfo)> {
    let listener = TcpListener::bind((host, port)).await.with_context(|| {
        format!("cannot listen on {host}:{port} (in use? choose another --base-port, or 0 for free ports)")
    })?;
    let addr = listener.local_addr()?;
    let info = ServiceInfo {
        name: "",
        addr,
        url: format!("http://{addr}"),
    };
    Ok((listener, info))
}

fn port(base: u16, offset: i32) -> u16 {
    if base == 0 {
        0
    } else {
        u16::try_from(i32::from(base) + offset).unwrap_or(0)
    }
}

/// What a stack declared on a shared broker, deleted when it stops.
#[derive(Debug, Clone)]
struct BrokerCleanup {
    amqp_url: String,
    partner: PartnerConfig,
}

impl BrokerCleanup {
    /// Deletes the stack's queues and exchanges; failures are logged, never fatal.
    async fn run(&self) {
        let delete = async {
            let connection =
                lapin::Connection::connect(&self.amqp_url, lapin::ConnectionProperties::default()).await?;
            let channel = connection.create_channel().await?;
            let result = stack_partner::consumer::delete_topology(&channel, &self.partner).await;
            let _ = connection.close(200, "stack stopped".into()).await;
            result
        };
        match tokio::time::timeout(BROKER_PROBE_TIMEOUT, delete).await {
            Ok(Ok(())) => tracing::debug!(exchange = %self.partner.events_exchange, "broker objects deleted"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, exchange = %self.partner.events_exchange, "cannot delete the stack's exchanges and queues")
            }
            Err(_) => {
                tracing::warn!(exchange = %self.partner.events_exchange, "deleting the stack's exchanges and queues timed out")
            }
        }
    }
}

/// `url` with its password masked, for messages.
pub fn mask_amqp_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
}

/// Where the stack's broker URL came from.
#[derive(Debug, PartialEq)]
enum BrokerUrl {
    /// Someone named it (the option, a config file, `GAUNTLET_AMQP_URL`): that one or none.
    Named(String),
    /// Nobody did: the default, else a private broker.
    Default(String),
}

impl BrokerUrl {
    fn as_str(&self) -> &str {
        match self {
            BrokerUrl::Named(url) | BrokerUrl::Default(url) => url,
        }
    }
}

/// Picks the broker: the first non-blank of `named` (option, config file, environment, in that
/// order), else `default`.
fn choose_broker(named: [Option<String>; 3], default: String) -> BrokerUrl {
    named
        .into_iter()
        .flatten()
        .find(|u| !u.trim().is_empty())
        .map_or(BrokerUrl::Default(default), BrokerUrl::Named)
}

/// Prepares and starts a [`PrivateBroker`] on a blocking thread (it takes seconds).
async fn start_private_broker() -> Result<PrivateBroker, String> {
    let started = tokio::task::spawn_blocking(|| {
        let mut broker = PrivateBroker::prepare()?;
        // on failure `broker` drops here, stopping what started and removing its directory
        let took = broker.start(PRIVATE_BROKER_START_TIMEOUT)?;
        Ok::<_, PrivateBrokerError>((broker, took))
    })
    .await;
    match started {
        Ok(Ok((broker, took))) => {
            tracing::info!(port = broker.amqp_port(), dir = %broker.dir().display(), took = ?took, "started a private rabbitmq-server");
            Ok(broker)
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("starting it panicked: {e}")),
    }
}

/// Stops `broker` on a blocking thread and waits until its process is gone and its directory
/// removed; a node that had to be killed is logged.
async fn stop_private_broker(mut broker: PrivateBroker) {
    let stopped = tokio::task::spawn_blocking(move || {
        let result = broker.stop();
        drop(broker);
        result
    })
    .await;
    match stopped {
        Ok(Ok(())) => tracing::debug!("private rabbitmq-server stopped"),
        Ok(Err(e)) => tracing::warn!(error = %e, "private rabbitmq-server"),
        Err(e) => tracing::warn!(error = %e, "stopping the private rabbitmq-server panicked"),
    }
}

/// Connects to `url` (bounded by [`BROKER_PROBE_TIMEOUT`]) and declares partner's exchanges and
/// queues, so its queue is bound before catalog's relay publishes anything.
async fn prepare_broker(url: &str, partner: &PartnerConfig) -> Result<(), String> {
    if url.starts_with("amqps:") {
        return Err("amqps (TLS) is not supported, use amqp://".into());
    }
    url.parse::<lapin::uri::AMQPUri>()
        .map_err(|e| format!("not an AMQP URL: {e}"))?;
    let declare = async {
        let connection = lapin::Connection::connect(url, lapin::ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        let result = stack_partner::consumer::declare_topology(&channel, partner).await;
        let _ = connection.close(200, "stack prepared".into()).await;
        result
    };
    match tokio::time::timeout(BROKER_PROBE_TIMEOUT, declare).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {BROKER_PROBE_TIMEOUT:?}")),
    }
}

/// A random, lowercase name part unique to one stack.
fn unique_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// Starts iam, the catalog instances, the gateway and (with a broker) partner; returns once all
/// are listening.
pub async fn start(options: StackOptions) -> anyhow::Result<RunningStack> {
    let (temp, data_dir) = match options.data_dir {
        Some(dir) => (None, dir),
        None => {
            let temp = tempfile::Builder::new().prefix("gauntlet-stack-").tempdir()?;
            let dir = temp.path().to_path_buf();
            (Some(temp), dir)
        }
    };
    let (stop, _) = watch::channel(false);
    let stopped = |stop: &watch::Sender<bool>| {
        let mut rx = stop.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };

    // The broker first: partner's client goes into iam's config, and partner's queue must be
    // bound before catalog's relay publishes.
    let env = || std::env::var(AMQP_URL_ENV).ok();
    let chosen = choose_broker(
        [
            options.amqp_url.clone(),
            options.catalog.amqp_url.clone(),
            // a replaced default means "as if nobody named one", so the environment is not asked
            options.default_amqp_url.is_none().then(env).flatten(),
        ],
        options
            .default_amqp_url
            .clone()
            .unwrap_or_else(|| DEFAULT_AMQP_URL.to_string()),
    );
    let mut partner_config = options.partner.clone();
    let token = unique_token();
    partner_config.events_exchange = format!("gauntlet.{token}.catalog.events");
    partner_config.queue = format!("gauntlet.{token}.partner.movie-events");
    partner_config.dead_letter_exchange = format!("gauntlet.{token}.partner.dlx");
    partner_config.dead_letter_queue = format!("gauntlet.{token}.partner.movie-events.dlq");
    // the stack deletes them when it stops; a killed stack's go away by themselves
    partner_config.queue_expires_ms = STACK_QUEUE_EXPIRES_MS;
    let mut broker = chosen.as_str().to_string();
    let mut private_broker = None;
    let mut prepared = prepare_broker(&broker, &partner_config).await;
    if let (Err(why), BrokerUrl::Default(_)) = (&prepared, &chosen) {
        tracing::info!(broker = %mask_amqp_url(&broker), error = %why, "no RabbitMQ answers; trying a private rabbitmq-server");
        match start_private_broker().await {
            Ok(private) => match prepare_broker(&private.url(), &partner_config).await {
                Ok(()) => {
                    broker = private.url();
                    prepared = Ok(());
                    private_broker = Some(private);
                }
                Err(e) => {
                    prepared = Err(format!(
                        "{why}, and the private rabbitmq-server started for it failed: {e}"
                    ));
                    stop_private_broker(private).await;
                }
            },
            Err(e) => prepared = Err(format!("{why}, and no private one: {e}")),
        }
    }
    partner_config.amqp_url = broker.clone();
    let (events, events_off) = match prepared {
        Ok(()) => (
            Some(EventsInfo {
                broker: match &private_broker {
                    Some(private) => format!(
                        "private rabbitmq-server on 127.0.0.1:{} (stops with the stack)",
                        private.amqp_port()
                    ),
                    None => mask_amqp_url(&broker),
                },
                private: private_broker.is_some(),
                exchange: partner_config.events_exchange.clone(),
                queue: partner_config.queue.clone(),
                dead_letter_queue: partner_config.dead_letter_queue.clone(),
            }),
            None,
        ),
        Err(why) => {
            // one line, and never the password (whatever the error quotes)
            let mut why = why.replace(['\n', '\r'], " ");
            if let Some(password) = broker
                .split_once("://")
                .and_then(|(_, rest)| rest.split('/').next())
                .and_then(|authority| authority.rsplit_once('@'))
                .and_then(|(userinfo, _)| userinfo.split_once(':'))
                .map(|(_, password)| password)
                .filter(|p| !p.is_empty())
            {
                why = why.replace(password, "***");
            }
            let reason = format!(
                "events off (no relay, no partner): no RabbitMQ at {}: {why} (set --amqp-url or {AMQP_URL_ENV})",
                mask_amqp_url(&broker)
            );
            tracing::info!("{reason}");
            (None, Some(reason))
        }
    };
    // a private broker goes as a whole: nothing to delete from it
    let broker_cleanup = events.as_ref().filter(|e| !e.private).map(|_| BrokerCleanup {
        amqp_url: broker.clone(),
        partner: partner_config.clone(),
    });
    // from here on a failure must not leave the stack's queues behind on the broker
    let guard = CleanupGuard(broker_cleanup.clone());

    let (iam_listener, mut iam) = bind(options.host, port(options.base_port, 0)).await?;
    iam.name = "iam";
    let mut iam_config = options.iam;
    if events.is_some() {
        // partner's client: the configured secret when iam already lists it, else a fresh one
        match iam_config
            .clients
            .iter()
            .find(|c| c.client_id == partner_config.client_id)
        {
            Some(client) => partner_config.client_secret = client.client_secret.clone(),
            None => {
                partner_config.client_secret = format!("{}{}", unique_token(), unique_token());
                iam_config.clients.push(stack_iam::config::ClientConfig {
                    client_id: partner_config.client_id.clone(),
                    client_secret: partner_config.client_secret.clone(),
                    scopes: vec![stack_catalog::SCOPE_READ.to_string()],
                });
            }
        }
    }
    iam_config.listen = iam.addr;
    iam_config.data_dir = data_dir.join("iam");
    let admin = (
        iam_config.admin.username.clone(),
        iam_config.admin.password.clone(),
    );
    let demo_client = iam_config
        .clients
        .first()
        .map(|c| (c.client_id.clone(), c.client_secret.clone()));
    let iam_state = stack_iam::open(iam_config).await.context("starting iam")?;

    let mut tasks = vec![(
        "iam",
        tokio::spawn(stack_iam::serve(iam_listener, iam_state, stopped(&stop))),
    )];
    let mut catalogs = Vec::new();
    for i in 0..options.catalog_instances.max(1) {
        let offset = 1 + i32::try_from(i).unwrap_or(0);
        let (listener, mut info) = bind(options.host, port(options.base_port, offset)).await?;
        info.name = "catalog";
        let mut config = options.catalog.clone();
        config.listen = info.addr;
        config.data_dir = data_dir.join("catalog");
        config.iam_url = iam.url.clone();
        if events.is_some() {
            config.amqp_url = Some(broker.clone());
            config.events_exchange = partner_config.events_exchange.clone();
        } else {
            config.amqp_url = None;
        }
        let state =
            stack_catalog::open(&config).with_context(|| format!("starting catalog instance {}", i + 1))?;
        tasks.push((
            "catalog",
            tokio::spawn(stack_catalog::serve(listener, state, stopped(&stop))),
        ));
        catalogs.push(info);
    }

    let (gateway_listener, mut gateway) = bind(options.host, port(options.base_port, -1)).await?;
    gateway.name = "gateway";
    let mut gateway_config = options.gateway;
    gateway_config.listen = gateway.addr;
    gateway_config.iam_url = iam.url.clone();
    set_instances(&mut gateway_config, "iam", [iam.addr]);
    set_instances(&mut gateway_config, "catalog", catalogs.iter().map(|c| c.addr));
    if options.self_signed_tls && gateway_config.tls.is_none() {
        gateway_config.tls = Some(self_signed(&data_dir.join("tls"), options.host)?);
    }
    let tls = gateway_config.tls.is_some();
    let gateway_certificate = gateway_config.tls.as_ref().map(|t| t.cert.clone());
    let gateway_state = stack_gateway::open(gateway_config)
        .await
        .context("starting the gateway")?;
    if tls {
        gateway.url = format!("https://{}", gateway.addr);
    }
    let (stop_gateway, _) = watch::channel(false);
    let gateway_task = tokio::spawn(stack_gateway::serve(
        gateway_listener,
        gateway_state,
        stopped(&stop_gateway),
    ));

    let mut partner = None;
    if events.is_some() {
        let offset = 1 + i32::try_from(catalogs.len()).unwrap_or(0);
        let (listener, mut info) = bind(options.host, port(options.base_port, offset)).await?;
        info.name = "partner";
        partner_config.listen = info.addr;
        partner_config.data_dir = data_dir.join("partner");
        partner_config.iam_url = iam.url.clone();
        // through the gateway, like any third-party app; partner speaks plain HTTP only, so
        // straight to catalog when the gateway terminates TLS
        partner_config.catalog_url = if tls {
            format!("{}/v1", catalogs[0].url)
        } else {
            format!("{}/api", gateway.url)
        };
        let state = stack_partner::open(partner_config).context("starting partner")?;
        tasks.push((
            "partner",
            tokio::spawn(stack_partner::serve(listener, state, stopped(&stop))),
        ));
        partner = Some(info);
    }

    let catalog = catalogs[0].clone();
    tracing::info!(gateway = %gateway.url, iam = %iam.url, catalog = %catalog.url, partner = ?partner.as_ref().map(|p| &p.url), data_dir = %data_dir.display(), "stack up");
    Ok(RunningStack {
        iam,
        catalog,
        catalogs,
        gateway,
        gateway_certificate,
        data_dir,
        data_is_temporary: temp.is_some(),
        admin,
        demo_client,
        partner,
        events,
        events_off,
        broker_cleanup: guard.disarm(),
        private_broker,
        stop,
        stop_gateway,
        gateway_task: Some(gateway_task),
        tasks,
        _temp: temp,
    })
}

/// Writes a fresh self-signed certificate for `localhost` and `host` (with its key, mode 0600)
/// into `dir`, for local use only: clients trust it explicitly (`curl --cacert`).
fn self_signed(dir: &std::path::Path, host: IpAddr) -> anyhow::Result<stack_gateway::config::TlsConfig> {
    let names = vec!["localhost".to_string(), host.to_string()];
    let generated =
        rcgen::generate_simple_self_signed(names).context("generating a self-signed certificate")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let cert = dir.join("gateway-cert.pem");
    let key = dir.join("gateway-key.pem");
    std::fs::write(&cert, generated.cert.pem()).with_context(|| format!("writing {}", cert.display()))?;
    write_private(&key, generated.signing_key.serialize_pem().as_bytes())
        .with_context(|| format!("writing {}", key.display()))?;
    Ok(stack_gateway::config::TlsConfig { cert, key })
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Points the gateway's upstream `name` at `addrs`, keeping its configured policies.
fn set_instances(config: &mut GatewayConfig, name: &str, addrs: impl IntoIterator<Item = SocketAddr>) {
    let fresh = UpstreamConfig::with_instances(addrs);
    match config.upstreams.get_mut(name) {
        Some(upstream) => {
            upstream.instances = fresh.instances;
            upstream.dns = None;
        }
        None => {
            config.upstreams.insert(name.to_string(), fresh);
        }
    }
}

impl RunningStack {
    /// The running services, in start order: iam, the catalog instances, the gateway.
    pub fn services(&self) -> Vec<&ServiceInfo> {
        let mut all = vec![&self.iam];
        all.extend(&self.catalogs);
        all.push(&self.gateway);
        all
    }

    /// The stack's own broker, when it runs one (see [`StackOptions::default_amqp_url`]).
    pub fn private_broker(&self) -> Option<&PrivateBroker> {
        self.private_broker.as_ref()
    }

    /// Stops accepting, lets in-flight requests finish, waits for every service to stop. The
    /// gateway drains first, so the requests it is still forwarding find their upstreams up.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.stop_gateway.send(true);
        if let Some(task) = self.gateway_task.take() {
            task.await
                .context("gateway panicked")?
                .context("gateway failed")?;
        }
        let _ = self.stop.send(true);
        let mut result = Ok(());
        for (name, task) in self.tasks.drain(..) {
            let outcome = task
                .await
                .with_context(|| format!("{name} panicked"))
                .and_then(|r| r.with_context(|| format!("{name} failed")));
            if result.is_ok() {
                result = outcome;
            }
        }
        if let Some(cleanup) = self.broker_cleanup.take() {
            cleanup.run().await;
        }
        if let Some(private) = self.private_broker.take() {
            stop_private_broker(private).await;
        }
        result
    }
}

/// A stack dropped without `shutdown` (a test that ends, or panics) still deletes its
/// exchanges and queues from the shared broker, and stops its private broker (blocking, a few
/// seconds); its services stop with the runtime.
impl Drop for RunningStack {
    fn drop(&mut self) {
        let _ = self.stop_gateway.send(true);
        let _ = self.stop.send(true);
        if let Some(cleanup) = self.broker_cleanup.take() {
            cleanup_blocking(cleanup);
        }
    }
}

/// Deletes the stack's broker objects if `start` fails after declaring them.
struct CleanupGuard(Option<BrokerCleanup>);

impl CleanupGuard {
    fn disarm(mut self) -> Option<BrokerCleanup> {
        self.0.take()
    }
}

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        if let Some(cleanup) = self.0.take() {
            cleanup_blocking(cleanup);
        }
    }
}

/// Runs `cleanup` on a thread of its own with its own runtime (drop cannot await), bounded by
/// the probe timeout.
fn cleanup_blocking(cleanup: BrokerCleanup) {
    let worker = std::thread::spawn(move || {
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
            runtime.block_on(cleanup.run());
        }
    });
    let _ = worker.join();
}

/// A stack configuration file: `[iam]`, `[catalog]`, `[gateway]` and `[partner]` tables with any
/// of the services' own config keys (listen addresses, data directories, the iam URL, the
/// gateway's `iam`/`catalog` instance lists, and partner's broker, exchange, queue and catalog
/// URL are set by `start`), e.g.
///
/// ```toml
/// [[catalog.faults]]
/// route = "/v1/movies/{id}"
/// method = "GET"
/// latency_ms = 5
/// ```
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
struct StackFile {
    iam: IamConfig,
    catalog: CatalogConfig,
    gateway: GatewayConfig,
    partner: PartnerConfig,
}

/// Applies a stack configuration file to `options`; the error names the file, line and column.
pub fn apply_config_file(path: &std::path::Path, options: &mut StackOptions) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: StackFile = toml::from_str(&text).map_err(|e| {
        let at = e.span().map(|s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!(":{line}:{col}")
        });
        format!(
            "{}{}: {}",
            path.display(),
            at.unwrap_or_default(),
            e.message().trim_end()
        )
    })?;
    options.iam = file.iam;
    options.catalog = file.catalog;
    options.partner = file.partner;
    if let Err(e) = file.gateway.validate() {
        return Err(format!("{}: [gateway] {e}", path.display()));
    }
    options.gateway = file.gateway;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amqp_passwords_are_masked() {
        assert_eq!(
            mask_amqp_url("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            mask_amqp_url("amqp://127.0.0.1:5672/%2f"),
            "amqp://127.0.0.1:5672/%2f"
        );
        assert_eq!(mask_amqp_url("not a url"), "not a url");
    }

    #[test]
    fn the_option_wins_then_the_config_file_then_the_environment_then_the_default() {
        let url = |s: &str| Some(s.to_string());
        let default = || DEFAULT_AMQP_URL.to_string();
        assert_eq!(
            choose_broker(
                [
                    url("amqp://a:b@h:1/%2f"),
                    url("amqp://c:d@h:2/%2f"),
                    url("amqp://e")
                ],
                default()
            ),
            BrokerUrl::Named("amqp://a:b@h:1/%2f".into())
        );
        assert_eq!(
            choose_broker([url(" "), url("amqp://c:d@h:2/%2f"), url("amqp://e")], default()),
            BrokerUrl::Named("amqp://c:d@h:2/%2f".into())
        );
        assert_eq!(
            choose_broker([None, None, url("amqp://e")], default()),
            BrokerUrl::Named("amqp://e".into())
        );
        // only the default may be replaced by a private broker
        assert_eq!(
            choose_broker([None, url(""), None], default()),
            BrokerUrl::Default(DEFAULT_AMQP_URL.into())
        );
    }
}
