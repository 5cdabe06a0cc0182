//! The stack's RabbitMQ, for catalog's events and partner: which broker (the one named, else
//! the default, else a [`PrivateBroker`] of the stack's own), the stack's uniquely named
//! exchanges and queues declared on it before anything publishes, and what the stack lets go of
//! when it stops (those exchanges and queues on a shared broker, or its private broker).
//! `connect` does all of it for [`crate::start`]; when no broker answers, the stack runs
//! without the asynchronous leg and says why in one line ([`crate::RunningStack::events_off`]).

mod private;

pub use private::{PrivateBroker, PrivateBrokerError};

use std::time::Duration;

use stack_partner::PartnerConfig;

use crate::StackOptions;

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

/// What [`connect`] found: the asynchronous leg's broker, or why there is none.
#[derive(Debug)]
pub(crate) struct StackBroker {
    /// Where events go, when a broker answered.
    pub(crate) events: Option<EventsInfo>,
    /// Why the asynchronous leg is off (one line, no password), when no broker answered.
    pub(crate) events_off: Option<String>,
    /// What the stack holds on the broker until it stops.
    pub(crate) lease: BrokerLease,
}

/// Chooses the stack's broker and prepares it: names the stack's exchanges and queues in
/// `partner` (unique to this stack), points `partner.amqp_url` at the broker (the private one
/// when the stack runs one) and declares them there, so partner's queue is bound before
/// catalog's relay publishes anything. Only a broker nobody named is replaced by a private one:
/// a named broker that does not answer means events off, since the user asked for that one.
pub(crate) async fn connect(options: &StackOptions, partner: &mut PartnerConfig) -> StackBroker {
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
    let token = crate::unique_token();
    partner.events_exchange = format!("gauntlet.{token}.catalog.events");
    partner.queue = format!("gauntlet.{token}.partner.movie-events");
    partner.dead_letter_exchange = format!("gauntlet.{token}.partner.dlx");
    partner.dead_letter_queue = format!("gauntlet.{token}.partner.movie-events.dlq");
    // the stack deletes them when it stops; a killed stack's go away by themselves
    partner.queue_expires_ms = STACK_QUEUE_EXPIRES_MS;
    let mut url = chosen.as_str().to_string();
    let mut private_broker = None;
    let mut prepared = prepare_broker(&url, partner).await;
    if let (Err(why), BrokerUrl::Default(_)) = (&prepared, &chosen) {
        tracing::info!(broker = %mask_amqp_url(&url), error = %why, "no RabbitMQ answers; trying a private rabbitmq-server");
        match start_private_broker().await {
            Ok(private) => match prepare_broker(&private.url(), partner).await {
                Ok(()) => {
                    url = private.url();
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
    partner.amqp_url = url.clone();
    let (events, events_off) = match prepared {
        Ok(()) => (
            Some(EventsInfo {
                broker: match &private_broker {
                    Some(private) => format!(
                        "private rabbitmq-server on 127.0.0.1:{} (stops with the stack)",
                        private.amqp_port()
                    ),
                    None => mask_amqp_url(&url),
                },
                private: private_broker.is_some(),
                exchange: partner.events_exchange.clone(),
                queue: partner.queue.clone(),
                dead_letter_queue: partner.dead_letter_queue.clone(),
            }),
            None,
        ),
        Err(why) => {
            let reason = events_off_reason(&url, &why);
            tracing::info!("{reason}");
            (None, Some(reason))
        }
    };
    // a private broker goes as a whole: nothing to delete from it
    let cleanup = events.as_ref().filter(|e| !e.private).map(|_| BrokerCleanup {
        amqp_url: url,
        partner: partner.clone(),
    });
    StackBroker {
        events,
        events_off,
        lease: BrokerLease {
            cleanup,
            private: private_broker,
        },
    }
}

/// Why events are off, on one line, and never with `url`'s password (whatever `why` quotes).
fn events_off_reason(url: &str, why: &str) -> String {
    let mut why = why.replace(['\n', '\r'], " ");
    if let Some(password) = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
        .filter(|p| !p.is_empty())
    {
        why = why.replace(password, "***");
    }
    format!(
        "events off (no relay, no partner): no RabbitMQ at {}: {why} (set --amqp-url or {AMQP_URL_ENV})",
        mask_amqp_url(url)
    )
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

/// What a stack holds on its broker until it stops: the exchanges and queues it declared on a
/// shared broker (deleted), or its private broker (stopped). [`release`](Self::release) lets go
/// of both; a lease dropped without that (a stack dropped without `shutdown`, a `start` that
/// fails after [`connect`]) does the same, blocking, so neither is left behind.
#[derive(Debug, Default)]
pub(crate) struct BrokerLease {
    cleanup: Option<BrokerCleanup>,
    private: Option<PrivateBroker>,
}

impl BrokerLease {
    /// The stack's own broker, when it runs one.
    pub(crate) fn private_broker(&self) -> Option<&PrivateBroker> {
        self.private.as_ref()
    }

    /// Deletes the stack's exchanges and queues from a shared broker, then stops a private
    /// one; failures are logged, never fatal.
    pub(crate) async fn release(mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.run().await;
        }
        if let Some(private) = self.private.take() {
            stop_private_broker(private).await;
        }
    }
}

impl Drop for BrokerLease {
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup_blocking(cleanup);
        }
        // then `private` (a field) drops, stopping the node (blocking, a few seconds)
    }
}

/// What a stack declared on a shared broker, deleted when it stops.
#[derive(Debug)]
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
