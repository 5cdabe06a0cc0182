//! `gauntlet stack up`: runs the reference stack in this process until Ctrl-C.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use gauntlet_reports::Verdict;

use crate::error::{Classify as _, CliError};

#[derive(Debug, Subcommand)]
pub enum StackCommand {
    /// Start the gateway, iam, two catalog instances and (with a RabbitMQ) partner on 127.0.0.1 and
    /// run until Ctrl-C (or SIGTERM).
    Up(UpArgs),
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Keep the services' data (SQLite databases, signing key) in this directory; by default a
    /// fresh temporary directory is used and removed on exit.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// iam listens on this port, the catalog instances on the next ones and the gateway on the
    /// one before (8080 by default); 0 picks free ports.
    #[arg(long, default_value_t = 8081, value_name = "PORT", value_parser = crate::args::base_port)]
    base_port: u16,
    /// Log filter for the services' logs on stderr (e.g. `info`, `debug`, `stack_iam=debug`).
    #[arg(long, default_value = "warn", value_name = "FILTER")]
    log: String,
    /// Log as JSON lines instead of compact text.
    #[arg(long)]
    json_logs: bool,
    /// Service configuration: a TOML file with `[iam]`, `[catalog]`, `[gateway]` and `[partner]`
    /// tables, e.g. injected faults: `[[catalog.faults]] route = "/v1/movies/{id}", latency_ms = 5`
    /// (a bad value is exit 2, naming the file and the table).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Terminate TLS at the gateway with a self-signed certificate generated for localhost and
    /// 127.0.0.1 (written to the data directory; trust it with `curl --cacert`).
    #[arg(long)]
    tls: bool,
    /// Mutual TLS from the gateway to the catalog instances: generates a local CA, catalog's
    /// certificate and a client certificate for the gateway into the data directory's tls/;
    /// catalog then serves HTTPS only to clients presenting a certificate from that CA (iam stays
    /// plain HTTP).
    #[arg(long)]
    mtls: bool,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// The broker flag `stack up` and `demo` share.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// The RabbitMQ for catalog's events and partner; when it does not answer the stack runs
    /// with no events (no relay, no partner). By default the one answering at
    /// amqp://guest:guest@127.0.0.1:5672/%2f, else a private rabbitmq-server started on a free
    /// loopback port in a temporary directory (if installed; needs root for Debian's package)
    /// and stopped with the stack.
    #[arg(long, env = "GAUNTLET_AMQP_URL", value_name = "URL")]
    amqp_url: Option<String>,
}

impl BrokerArgs {
    /// Names the broker in `options`, once a config file has been applied: the flag (or
    /// GAUNTLET_AMQP_URL) wins over a `[catalog] amqp_url`.
    pub fn apply(self, options: &mut stack_local::StackOptions) {
        if self.amqp_url.is_some() {
            options.amqp_url = self.amqp_url;
        }
    }
}

pub async fn run(command: StackCommand) -> Result<Verdict, CliError> {
    match command {
        StackCommand::Up(args) => up(args).await,
    }
}

/// Starts the stack (for `stack up` and `demo`) with `options`, then the configuration file given
/// with `flag` (a mistake in it is exit 2), then the broker flag (which wins over the file).
pub async fn start(
    mut options: stack_local::StackOptions,
    config: Option<&std::path::Path>,
    flag: &str,
    broker: BrokerArgs,
) -> Result<stack_local::RunningStack, CliError> {
    if let Some(path) = config {
        stack_local::apply_config_file(path, &mut options)
            .map_err(|e| format!("{flag} {e}")) // the message starts with the file
            .invalid_input()?;
    }
    broker.apply(&mut options);
    stack_local::start(options)
        .await
        .run_failed_with(|| "the reference stack could not start")
}

/// Runs the stack until a signal; a clean stop is a pass.
async fn up(args: UpArgs) -> Result<Verdict, CliError> {
    stack_common::telemetry::init(args.json_logs, &args.log);
    let options = stack_local::StackOptions {
        data_dir: args.data_dir,
        base_port: args.base_port,
        self_signed_tls: args.tls,
        mutual_tls: args.mtls,
        ..Default::default()
    };
    let stack = start(options, args.config.as_deref(), "--config", args.broker).await?;
    print_banner(&stack);
    stack_common::shutdown::signal().await;
    eprintln!("gauntlet: stopping the stack (finishing in-flight requests)...");
    stack
        .shutdown()
        .await
        .run_failed_with(|| "the stack did not stop cleanly")?;
    eprintln!("gauntlet: stack stopped");
    Ok(Verdict::Passed)
}

fn print_banner(stack: &stack_local::RunningStack) {
    let gateway = &stack.gateway.url;
    let iam = &stack.iam.url;
    let catalog = &stack.catalog.url;
    let (admin, admin_pw) = &stack.admin;
    let mut out = String::new();
    let data_note = if stack.data_is_temporary {
        " (temporary: removed on exit; --data-dir keeps it)"
    } else {
        ""
    };
    out.push_str(&format!(
        "gauntlet reference stack is up; data in {}{data_note}\n",
        stack.data_dir.display()
    ));
    let grpc = if stack.gateway_certificate.is_some() {
        "h2 over TLS"
    } else {
        "h2c"
    };
    out.push_str(&format!(
        "  gateway  {gateway}   <- use this one: /iam/* (iam), /api/* (catalog REST), gRPC catalog.v1.MovieService ({grpc}); contract {gateway}/openapi.yaml\n"
    ));
    out.push_str(&format!(
        "  iam      {iam}   direct; contract {iam}/openapi.yaml\n"
    ));
    let catalog_grpc = if stack.mutual_tls.is_some() {
        "h2 over mutual TLS"
    } else {
        "h2c"
    };
    out.push_str(&format!(
        "  catalog  {catalog}   direct (instance 1 of {}); contract {catalog}/openapi.yaml; gRPC on the same port ({catalog_grpc})\n",
        stack.catalogs.len()
    ));
    for (i, instance) in stack.catalogs.iter().enumerate().skip(1) {
        out.push_str(&format!(
            "  catalog#{}  {}   direct (same database)\n",
            i + 1,
            instance.url
        ));
    }
    match (&stack.partner, &stack.events) {
        (Some(partner), Some(events)) => out.push_str(&format!(
            "  partner  {}   consumes catalog's events from {} (exchange {}); GET /v1/events/{{event-id}}, /v1/stats\n",
            partner.url, events.broker, events.exchange
        )),
        _ => {
            if let Some(why) = &stack.events_off {
                out.push_str(&format!("  {why}\n"));
            }
        }
    }
    if let Some(files) = &stack.mutual_tls {
        out.push_str(&format!(
            "  mutual TLS   catalog requires a client certificate from the CA {}; the gateway presents {}\n",
            files.ca.display(),
            files.client_cert.display()
        ));
        out.push_str(&format!(
            "               directly: curl --cacert {} --cert {} --key {} {catalog}/readyz\n",
            files.ca.display(),
            files.client_cert.display(),
            files.client_key.display()
        ));
    }
    out.push_str(&format!("  admin user   {admin} / {admin_pw}\n"));
    if let Some((id, secret)) = &stack.demo_client {
        out.push_str(&format!("  demo client  {id} / {secret}\n"));
    }
    let curl = match &stack.gateway_certificate {
        Some(cert) => {
            out.push_str(&format!("  TLS certificate  {}\n", cert.display()));
            format!("curl --cacert {}", cert.display())
        }
        None => "curl".to_string(),
    };
    out.push_str(&format!(
        "try:\n  TOKEN=$({curl} -s {gateway}/iam/v1/token -d grant_type=password -d username={admin} -d password={admin_pw} | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\n  {curl} -s -H \"Authorization: Bearer $TOKEN\" {gateway}/api/movies\n"
    ));
    out.push_str("Press Ctrl-C to stop.\n");
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}
