//! Runs the whole reference stack in one process on loopback: what `gauntlet stack up` and
//! `gauntlet demo` start, and what the stack's own tests run against. Services start in
//! dependency order (iam, then catalog pointed at it), each on its own listener.

#![warn(missing_docs)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;

use stack_catalog::CatalogConfig;
/// catalog's OpenAPI document, as the service serves it (for `gauntlet demo`'s contract suite).
pub use stack_catalog::OPENAPI as CATALOG_OPENAPI;
use stack_iam::IamConfig;
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
    /// iam listens on `base_port`, catalog on `base_port + 1`; 0 picks free ports.
    pub base_port: u16,
    /// iam's configuration.
    pub iam: IamConfig,
    /// catalog's configuration.
    pub catalog: CatalogConfig,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            data_dir: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            base_port: 8081,
            iam: IamConfig::default(),
            catalog: CatalogConfig::default(),
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
    /// The catalog service.
    pub catalog: ServiceInfo,
    /// Where the data lives.
    pub data_dir: PathBuf,
    /// Whether `data_dir` is temporary (removed on shutdown).
    pub data_is_temporary: bool,
    /// The admin user's credentials.
    pub admin: (String, String),
    /// The first configured client's credentials.
    pub demo_client: Option<(String, String)>,
    stop: watch::Sender<bool>,
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

fn port(base: u16, offset: u16) -> u16 {
    if base == 0 { 0 } else { base.saturating_add(offset) }
}

/// Starts iam and catalog; returns once both are listening.
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

    let (iam_listener, mut iam) = bind(options.host, port(options.base_port, 0)).await?;
    iam.name = "iam";
    let mut iam_config = options.iam;
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

    let (catalog_listener, mut catalog) = bind(options.host, port(options.base_port, 1)).await?;
    catalog.name = "catalog";
    let mut catalog_config = options.catalog;
    catalog_config.listen = catalog.addr;
    catalog_config.data_dir = data_dir.join("catalog");
    catalog_config.iam_url = iam.url.clone();
    let catalog_state = stack_catalog::open(&catalog_config).context("starting catalog")?;

    let tasks = vec![
        (
            "iam",
            tokio::spawn(stack_iam::serve(iam_listener, iam_state, stopped(&stop))),
        ),
        (
            "catalog",
            tokio::spawn(stack_catalog::serve(
                catalog_listener,
                catalog_state,
                stopped(&stop),
            )),
        ),
    ];
    tracing::info!(iam = %iam.url, catalog = %catalog.url, data_dir = %data_dir.display(), "stack up");
    Ok(RunningStack {
        iam,
        catalog,
        data_dir,
        data_is_temporary: temp.is_some(),
        admin,
        demo_client,
        stop,
        tasks,
        _temp: temp,
    })
}

impl RunningStack {
    /// The running services, in start order.
    pub fn services(&self) -> [&ServiceInfo; 2] {
        [&self.iam, &self.catalog]
    }

    /// Stops accepting, lets in-flight requests finish, waits for every service to stop.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        for (name, task) in self.tasks.drain(..) {
            task.await
                .with_context(|| format!("{name} panicked"))?
                .with_context(|| format!("{name} failed"))?;
        }
        Ok(())
    }
}

/// A stack configuration file: `[iam]` and `[catalog]` tables with any of the services' own
/// config keys (their listen addresses and data directories are set by `start`), e.g.
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
    Ok(())
}
