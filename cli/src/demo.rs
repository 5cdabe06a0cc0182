//! `gauntlet demo`: the main job on embedded defaults. Starts the reference stack in this
//! process on loopback (temporary data), runs the contract suite against its catalog, then the
//! browse scenario, writes the findings and the report (JSON, HTML, Markdown, JUnit XML) into a
//! folder, prints the summaries, and exits with the verdict (1 on a finding or a failed
//! threshold).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use gauntlet_harness::scenario::{self, Overrides};
use gauntlet_reports::{Verdict, console, html, junit, markdown};

use crate::error::{Classify as _, CliError, write_file};

/// The scenario the demo runs (the same file as `scenarios/browse.toml`).
const SCENARIO: &str = include_str!("../../scenarios/browse.toml");

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
    let overrides = Overrides {
        base_url: Some(stack.catalog.url.clone()),
        vars: vec![("iam".into(), stack.iam.url.clone())],
        duration: Some(args.duration),
        users: Some(args.users),
        shard: None,
    };
    let plan = scenario::from_str(SCENARIO, "scenarios/browse.toml", "browse", &|_| None, &overrides)
        .run_failed_with(|| "the embedded scenario is invalid (a bug)")?;
    outln!(
        "load: {} users for {} s, browse scenario (readers and writers)...",
        args.users,
        args.duration.as_secs()
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

/// Runs the contract suite against the stack's catalog with an admin token, prints its summary,
/// writes contract.json and contract-junit.xml, and returns the number of findings.
async fn contract_suite(stack: &stack_local::RunningStack, out: &std::path::Path) -> Result<usize, String> {
    use gauntlet_contract::{openapi, suite, validate::ResponseValidator};
    let token = admin_token(stack).await?;
    let spec = openapi::parse(
        stack_local::CATALOG_OPENAPI,
        std::path::Path::new("contracts/openapi/catalog.yaml"),
    )
    .map_err(|e| e.to_string())?;
    let validator = ResponseValidator::new(spec);
    let bearer = http::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())?;
    let options = suite::SuiteOptions {
        target: stack.catalog.url.clone(),
        headers: vec![(http::header::AUTHORIZATION, bearer)],
        max_examples: 3,
        seed: 1,
        max_time: Duration::from_secs(60),
        timeout: Duration::from_secs(10),
    };
    outln!("contract suite: catalog.yaml against {} ...", stack.catalog.url);
    let result = suite::run(&validator, &options)
        .await
        .map_err(|e| e.to_string())?;
    out!("{}", suite::render(&result, "catalog.yaml"));
    let json = serde_json::to_string_pretty(&result).unwrap_or_default();
    std::fs::write(out.join("contract.json"), json).map_err(|e| e.to_string())?;
    std::fs::write(
        out.join("contract-junit.xml"),
        suite::junit(&result, "catalog.yaml"),
    )
    .map_err(|e| e.to_string())?;
    Ok(result.findings.len())
}

/// A password-grant token for the seeded admin.
async fn admin_token(stack: &stack_local::RunningStack) -> Result<String, String> {
    use gauntlet_client::http::{Connections, Outgoing};
    use gauntlet_client::url::percent_encode;
    let (user, password) = &stack.admin;
    let mut form = String::from("grant_type=password&username=");
    percent_encode(&mut form, user);
    form.push_str("&password=");
    percent_encode(&mut form, password);
    let authority = stack.iam.addr.to_string();
    let request = Outgoing {
        method: http::Method::POST,
        target: "/v1/token".into(),
        headers: vec![(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        )],
        body: bytes::Bytes::from(form),
    };
    let (exchange, _) = Connections::default()
        .send(&authority, &request, Duration::from_secs(10), None, false)
        .await
        .map_err(|f| format!("token request failed ({})", f.kind.as_str()))?;
    let body: serde_json::Value = serde_json::from_slice(&exchange.body).map_err(|e| e.to_string())?;
    body["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no token in {body}"))
}
