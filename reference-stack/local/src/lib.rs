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
//!
//! With [`StackOptions::mutual_tls`] the catalog instances serve HTTPS only to clients with a
//! certificate from a CA the stack generates (module [`tls`]), and the gateway presents one;
//! iam stays plain HTTP.

#![warn(missing_docs)]

pub mod broker;
mod config_file;
pub mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;

pub use broker::{
    AMQP_URL_ENV, DEFAULT_AMQP_URL, EventsInfo, PrivateBroker, PrivateBrokerError, mask_amqp_url,
};
use config_file::IAM_TLS_REFUSED;
pub use config_file::apply_config_file;
pub use tls::MutualTlsFiles;

use stack_catalog::CatalogConfig;
use stack_gateway::GatewayConfig;
/// The gateway's OpenAPI document (the stack as a client sees it), as the gateway serves it:
/// `gauntlet demo`'s contract suite.
pub use stack_gateway::OPENAPI as GATEWAY_OPENAPI;
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
    /// Mutual TLS from the gateway to the catalog instances: generates a local CA, a server
    /// certificate for catalog (`localhost` and `host`) and a client certificate for the gateway
    /// into `DATA_DIR/tls/` (see [`MutualTlsFiles`]); every catalog instance serves HTTPS and
    /// requires a client certificate from that CA, and the gateway's `catalog` upstream presents
    /// one. iam stays plain HTTP (catalog and the gateway fetch its JWKS over plain HTTP).
    /// Replaces a `catalog.tls` and `upstreams.catalog.tls` from a config file.
    pub mutual_tls: bool,
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
    /// catalog URLs (the gateway's `/api`), broker, exchange and queue names, and its client
    /// secret (registered in iam as client `client_id` with scope `movies:read`); when the
    /// gateway terminates TLS and `catalog_ca` is unset, `catalog_ca` = the gateway's
    /// certificate (which must then name the gateway's IP address, or `catalog_server_name`
    /// one of its names).
    pub partner: PartnerConfig,
}

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
            mutual_tls: false,
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
    /// The CA and certificates of mutual TLS between the gateway and catalog, when it is on
    /// ([`StackOptions::mutual_tls`]).
    pub mutual_tls: Option<MutualTlsFiles>,
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
    /// The stack's exchanges and queues on a shared broker, or its own broker: let go of after
    /// the services stop (or when the stack is dropped).
    broker: broker::BrokerLease,
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

fn port(base: u16, offset: i32) -> anyhow::Result<u16> {
    if base == 0 {
        return Ok(0);
    }
    // Never 0 by overflow: that would put a service on a random port without a word.
    u16::try_from(i32::from(base) + offset)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| anyhow::anyhow!("base port {base}{offset:+} is not a port: choose another base port"))
}

/// A random, lowercase name part unique to one stack.
fn unique_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// Starts iam, the catalog instances, the gateway and (with a broker) partner; returns once all
/// are listening.
pub async fn start(options: StackOptions) -> anyhow::Result<RunningStack> {
    if options.iam.tls.is_some() {
        anyhow::bail!("{IAM_TLS_REFUSED}");
    }
    let (temp, data_dir) = match &options.data_dir {
        Some(dir) => (None, dir.clone()),
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
    // bound before catalog's relay publishes. From here on a failure must not leave the stack's
    // queues behind on the broker, nor its private broker running: dropping `lease` sees to it.
    let mut partner_config = options.partner.clone();
    let broker::StackBroker {
        events,
        events_off,
        lease,
    } = broker::connect(&options, &mut partner_config).await;

    let (iam_listener, mut iam) = bind(options.host, port(options.base_port, 0)?).await?;
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

    let mutual_tls = if options.mutual_tls {
        let files = MutualTlsFiles::generate(&data_dir.join("tls"), options.host)
            .context("generating the certificates of mutual TLS")?;
        Some(files)
    } else {
        None
    };

    let mut tasks = vec![(
        "iam",
        tokio::spawn(stack_iam::serve(iam_listener, iam_state, stopped(&stop))),
    )];
    let mut catalogs = Vec::new();
    for i in 0..options.catalog_instances.max(1) {
        let offset = 1 + i32::try_from(i).unwrap_or(0);
        let (listener, mut info) = bind(options.host, port(options.base_port, offset)?).await?;
        info.name = "catalog";
        let mut config = options.catalog.clone();
        config.listen = info.addr;
        config.data_dir = data_dir.join("catalog");
        config.iam_url = iam.url.clone();
        if events.is_some() {
            config.amqp_url = Some(partner_config.amqp_url.clone());
            config.events_exchange = partner_config.events_exchange.clone();
        } else {
            config.amqp_url = None;
        }
        if let Some(files) = &mutual_tls {
            config.tls = Some(files.server());
        }
        if config.tls.is_some() {
            info.url = format!("https://{}", info.addr);
        }
        let state =
            stack_catalog::open(&config).with_context(|| format!("starting catalog instance {}", i + 1))?;
        tasks.push((
            "catalog",
            tokio::spawn(stack_catalog::serve(listener, state, stopped(&stop))),
        ));
        catalogs.push(info);
    }

    let (gateway_listener, mut gateway) = bind(options.host, port(options.base_port, -1)?).await?;
    gateway.name = "gateway";
    let mut gateway_config = options.gateway;
    gateway_config.listen = gateway.addr;
    gateway_config.iam_url = iam.url.clone();
    set_instances(&mut gateway_config, "iam", [iam.addr]);
    set_instances(&mut gateway_config, "catalog", catalogs.iter().map(|c| c.addr));
    if let Some(files) = &mutual_tls
        && let Some(upstream) = gateway_config.upstreams.get_mut("catalog")
    {
        upstream.tls = Some(files.upstream());
    }
    if options.self_signed_tls && gateway_config.tls.is_none() {
        gateway_config.tls = Some(tls::self_signed(&data_dir.join("tls"), options.host)?);
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
        let (listener, mut info) = bind(options.host, port(options.base_port, offset)?).await?;
        info.name = "partner";
        partner_config.listen = info.addr;
        partner_config.data_dir = data_dir.join("partner");
        partner_config.iam_url = iam.url.clone();
        // Through the gateway, like any third-party app: over HTTPS when it terminates TLS,
        // trusting its certificate file unless the config names a CA. `--tls`'s self-signed
        // certificate is its own trust anchor; a chain file of the user's serves when it holds
        // the certificate that signed the leaf. partner dials the gateway's IP address, so the
        // certificate must carry that IP, unless `catalog_server_name` names one it carries.
        partner_config.catalog_url = format!("{}/api", gateway.url);
        if partner_config.catalog_ca.is_none() {
            partner_config.catalog_ca = gateway_certificate.clone();
        }
        let state = stack_partner::open(partner_config).context("starting partner")?;
        tasks.push((
            "partner",
            tokio::spawn(stack_partner::serve(listener, state, stopped(&stop))),
        ));
        partner = Some(info);
    }

    let catalog = catalogs[0].clone();
    tracing::info!(gateway = %gateway.url, iam = %iam.url, catalog = %catalog.url, mutual_tls = mutual_tls.is_some(), partner = ?partner.as_ref().map(|p| &p.url), data_dir = %data_dir.display(), "stack up");
    Ok(RunningStack {
        iam,
        catalog,
        catalogs,
        gateway,
        gateway_certificate,
        mutual_tls,
        data_dir,
        data_is_temporary: temp.is_some(),
        admin,
        demo_client,
        partner,
        events,
        events_off,
        broker: lease,
        stop,
        stop_gateway,
        gateway_task: Some(gateway_task),
        tasks,
        _temp: temp,
    })
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
        self.broker.private_broker()
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
        std::mem::take(&mut self.broker).release().await;
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
        // then `broker` (a field) is let go of
    }
}
