//! `gauntlet demo`: the main job on embedded defaults. Starts the reference stack in this
//! process on loopback (temporary data) and goes through its front door, the gateway, as a
//! client would: the contract suite (`gateway.yaml`), then one load run mixing the shipped
//! scenarios — browse's REST readers and writers, grpc's calls, and events' write-and-await
//! when a broker is there. It writes the findings and the report (JSON, HTML, Markdown, JUnit
//! XML) into a folder, prints the summaries, and exits with the verdict (1 on a finding or a
//! failed threshold).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use gauntlet_harness::scenario::{self, Overrides};
use gauntlet_reports::{Verdict, console, html, junit, markdown};

use crate::error::{Classify as _, CliError, write_file};

/// The scenarios the demo mixes: the files in `scenarios/`, so the demo runs what a user can run
/// one by one against `gauntlet stack up`.
const BROWSE: &str = include_str!("../../scenarios/browse.toml");
const GRPC: &str = include_str!("../../scenarios/grpc.toml");
const EVENTS: &str = include_str!("../../scenarios/events.toml");
/// grpc.toml's descriptors (`proto_root = "../contracts/proto"`), written beside the scenario
/// at run time so the demo needs no checkout.
const CATALOG_PROTO: &str = include_str!("../../contracts/proto/catalog/v1/catalog.proto");
const CATALOG_PROTO_PATH: &str = "contracts/proto/catalog/v1/catalog.proto";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for report.json, report.md, junit.xml and report.html (created if missing).
    #[arg(long, default_value = "gauntlet-demo", value_name = "DIR")]
    out: PathBuf,
    /// How long the load runs.
    #[arg(long, default_value = "30s", value_parser = crate::args::run_length)]
    duration: Duration,
    /// Configuration for the reference stack (see `gauntlet stack up --config`), e.g. to make
    /// a route slow and watch the verdict change.
    #[arg(long, value_name = "FILE")]
    stack_config: Option<PathBuf>,
    /// Virtual users.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    users: u32,
    #[command(flatten)]
    broker: super::stack::BrokerArgs,
}

pub async fn run(args: DemoArgs) -> Result<Verdict, CliError> {
    stack_common::telemetry::init(false, "warn");
    std::fs::create_dir_all(&args.out).run_failed_with(|| format!("cannot create {}", args.out.display()))?;
    let options = stack_local::StackOptions {
        base_port: 0,
        ..Default::default()
    };
    let stack = super::stack::start(
        options,
        args.stack_config.as_deref(),
        "--stack-config",
        args.broker,
    )
    .await?;
    outln!(
        "reference stack up: gateway {}, iam {}, catalog {} (REST + gRPC)",
        stack.gateway.url,
        stack.iam.url,
        stack.catalog.url
    );
    match (&stack.partner, &stack.events, &stack.events_off) {
        (Some(partner), Some(events), _) => outln!(
            "events: catalog -> RabbitMQ ({}) -> partner {}",
            events.broker,
            partner.url
        ),
        (_, _, Some(why)) => outln!("{why}"),
        _ => {}
    }
    let contract = match contract_suite(&stack, &args.out).await {
        Ok(findings) => findings,
        Err(e) => {
            let _ = stack.shutdown().await;
            return Err(e).run_failed_with(|| "the contract suite could not run");
        }
    };
    // partner, when the events leg runs
    let partner = stack.partner.as_ref().filter(|_| stack.events.is_some());
    let (plan, parts) = match demo_plan(&stack, partner, args.users, args.duration) {
        Ok(planned) => planned,
        Err(e) => {
            let _ = stack.shutdown().await;
            return Err(e);
        }
    };
    outln!(
        "load: {} users for {} s through the gateway {}: {parts}...",
        args.users,
        args.duration.as_secs(),
        stack.gateway.url
    );
    let result = gauntlet_harness::engine::run(&plan, stack_common::shutdown::signal()).await;
    let _ = stack.shutdown().await;
    let result = result.run_failed()?;
    let report = gauntlet_harness::report::build(&plan, &result);
    let files = [
        (
            "report.json",
            serde_json::to_string_pretty(&report).unwrap_or_default(),
        ),
        ("report.md", markdown::render(&report)),
        ("junit.xml", junit::render(&report)),
        ("report.html", html::render(&report)),
    ];
    for (name, content) in &files {
        write_file(&args.out.join(name), content)?;
    }
    out!("{}", console::render(&report));
    outln!(
        "reports written to {}/ (report.json, report.md, junit.xml, report.html)",
        args.out.display()
    );
    if contract > 0 {
        outln!("contract suite: {contract} findings (contract.json): the demo fails");
        return Ok(Verdict::Failed);
    }
    Ok(report.verdict)
}

/// Runs the contract suite of the gateway's document against the gateway with an admin token,
/// prints its summary, writes contract.json and contract-junit.xml, and returns the number of
/// findings.
async fn contract_suite(stack: &stack_local::RunningStack, out: &Path) -> Result<usize, String> {
    use gauntlet_contract::{openapi, suite, validate::ResponseValidator};
    let token = admin_token(stack).await?;
    let spec = openapi::parse(
        stack_local::GATEWAY_OPENAPI,
        Path::new("contracts/openapi/gateway.yaml"),
    )
    .map_err(|e| e.to_string())?;
    let validator = ResponseValidator::new(spec);
    let bearer = http::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())?;
    let options = suite::SuiteOptions {
        target: stack.gateway.url.clone(),
        headers: vec![(http::header::AUTHORIZATION, bearer)],
        max_examples: 3,
        seed: 1,
        max_time: Duration::from_secs(60),
        timeout: Duration::from_secs(10),
    };
    outln!(
        "contract suite: gateway.yaml against the gateway {} ...",
        stack.gateway.url
    );
    let result = suite::run(&validator, &options)
        .await
        .map_err(|e| e.to_string())?;
    out!("{}", suite::render(&result, "gateway.yaml"));
    let json = serde_json::to_string_pretty(&result).unwrap_or_default();
    std::fs::write(out.join("contract.json"), json).map_err(|e| e.to_string())?;
    std::fs::write(
        out.join("contract-junit.xml"),
        suite::junit(&result, "gateway.yaml"),
    )
    .map_err(|e| e.to_string())?;
    Ok(result.findings.len())
}

/// A password-grant token for the seeded admin, from iam through the gateway.
async fn admin_token(stack: &stack_local::RunningStack) -> Result<String, String> {
    use gauntlet_client::http::{Connections, Outgoing, Reads};
    use gauntlet_client::url::percent_encode;
    let (user, password) = &stack.admin;
    let mut form = String::from("grant_type=password&username=");
    percent_encode(&mut form, user);
    form.push_str("&password=");
    percent_encode(&mut form, password);
    let authority = stack.gateway.addr.to_string();
    let request = Outgoing {
        method: http::Method::POST,
        target: "/iam/v1/token".into(),
        headers: vec![(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        )],
        body: bytes::Bytes::from(form),
    };
    let (exchange, _) = Connections::default()
        .send(&authority, &request, Duration::from_secs(10), None, Reads::BODY)
        .await
        .map_err(|f| format!("token request failed ({})", f.kind.as_str()))?;
    let body: serde_json::Value = serde_json::from_slice(&exchange.body).map_err(|e| e.to_string())?;
    body["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no token in {body}"))
}

/// The demo's run plan: browse.toml's readers and writers, grpc.toml's movies and, when the
/// events leg runs (`partner`), events.toml's write-and-await, in one closed-model run of the
/// demo's users and duration through the gateway. Returns the plan and a one-line account of
/// the parts that run (also the report's description, so the HTML says it too).
fn demo_plan(
    stack: &stack_local::RunningStack,
    partner: Option<&stack_local::ServiceInfo>,
    users: u32,
    duration: Duration,
) -> Result<(scenario::plan::RunPlan, String), CliError> {
    let mut extras = vec![GRPC];
    let mut parts = String::from("REST (browse: reader, writer), gRPC (grpc: movies)");
    if partner.is_some() {
        extras.push(EVENTS);
        parts.push_str(", events (catalog -> RabbitMQ -> partner, awaited)");
    } else {
        parts.push_str("; events off (no broker)");
    }
    let text = compose(
        BROWSE,
        &extras,
        &format!("The reference stack through its gateway: {parts}"),
    )
    .run_failed_with(|| "the embedded scenarios do not compose (a bug)")?;
    // grpc.toml reads its .proto relative to the scenario file: give it one in the stack's
    // (temporary) data directory.
    let base = stack.data_dir.join("demo");
    let proto = base.join(CATALOG_PROTO_PATH);
    for dir in [proto.parent(), Some(&base.join("scenarios"))]
        .into_iter()
        .flatten()
    {
        std::fs::create_dir_all(dir).run_failed_with(|| format!("cannot create {}", dir.display()))?;
    }
    write_file(&proto, CATALOG_PROTO)?;
    let overrides = Overrides {
        base_url: Some(stack.gateway.url.clone()),
        vars: partner
            .map(|p| ("partner".to_string(), p.url.clone()))
            .into_iter()
            .collect(),
        duration: Some(duration),
        users: Some(users),
        shard: None,
    };
    let plan = scenario::from_str_in(
        &text,
        "scenarios/demo (browse.toml + grpc.toml + events.toml)",
        "demo",
        Some(&base.join("scenarios")),
        &|_| None,
        &overrides,
    )
    .run_failed_with(|| "the embedded scenarios are invalid (a bug)")?;
    Ok((plan, parts))
}

/// One scenario document from `base` and `extras`: the extras' `[[scenario]]`s are appended,
/// and their `[target]`, `[vars]` and `[thresholds]` entries added where `base` has none of the
/// same name (so the base's `checks` rate stands). The base's `[load]` stays: one run model for
/// all. The result is named `demo`, with `description`.
fn compose(base: &str, extras: &[&str], description: &str) -> Result<String, String> {
    use toml::{Table, Value};
    let mut doc: Table = toml::from_str(base).map_err(|e| e.to_string())?;
    for extra in extras {
        let extra: Table = toml::from_str(extra).map_err(|e| e.to_string())?;
        for (key, value) in extra {
            match (key.as_str(), value) {
                ("scenario", Value::Array(scenarios)) => {
                    if let Some(Value::Array(all)) = doc.get_mut("scenario") {
                        all.extend(scenarios);
                    }
                }
                ("target" | "vars" | "thresholds", Value::Table(entries)) => {
                    let section = doc.entry(key).or_insert_with(|| Value::Table(Table::new()));
                    if let Value::Table(section) = section {
                        for (name, value) in entries {
                            section.entry(name).or_insert(value);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    doc.insert("name".into(), Value::String("demo".into()));
    doc.insert("description".into(), Value::String(description.into()));
    toml::to_string(&doc).map_err(|e| e.to_string())
}
