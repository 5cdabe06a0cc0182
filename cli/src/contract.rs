//! `gauntlet contract test --spec FILE --target URL`: the active contract suite. Exit 1 when a
//! check failed, 2 for an invalid spec or arguments, 3 when the target cannot be reached.
//! `gauntlet contract diff OLD NEW`: breaking changes between two versions of a contract; exit 1
//! when a finding is at or above `--fail-on`, 2 for unreadable or invalid input.
//! `gauntlet contract grpc --target URL`: gRPC conformance from .proto files or server
//! reflection; exit 1 on a finding, 2 for invalid input (with its location), 3 when the target
//! cannot be reached.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use gauntlet_contract::{diff, grpc, openapi, suite, validate::ResponseValidator};
use gauntlet_reports::Verdict;
use http::{HeaderName, HeaderValue};

use crate::error::{Classify as _, CliError, write_file};

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Send requests made from the spec (its examples, generated valid and invalid data, and
    /// requests without credentials) and check every response against it.
    Test(TestArgs),
    /// Breaking changes between two versions of a contract: two proto roots (directories or
    /// .proto files; buf's rules and ids) or two OpenAPI 3.0/3.1 files (oasdiff-style ids).
    Diff(DiffArgs),
    /// Call every method of a gRPC service (unary and streaming) with the calls of an examples
    /// file and generated messages; check status codes, response encodings and auth.
    Grpc(GrpcArgs),
}

#[derive(Debug, Args)]
pub struct GrpcArgs {
    /// The server, http://HOST:PORT (gRPC over HTTP/2 cleartext).
    #[arg(long, value_name = "URL")]
    target: String,
    /// A .proto file defining the services (repeatable); without one, the descriptors come
    /// from the target's server reflection.
    #[arg(long = "proto", value_name = "FILE")]
    protos: Vec<PathBuf>,
    /// Where imports are resolved, like protoc's -I (repeatable); default: each file's directory.
    #[arg(long = "import-path", short = 'I', value_name = "DIR")]
    import_paths: Vec<PathBuf>,
    /// The examples file (TOML, see docs/contracts.md); default: `examples.toml` beside the
    /// first --proto file, when there is one.
    #[arg(long, value_name = "FILE")]
    examples: Option<PathBuf>,
    /// Only this service (full name, e.g. catalog.v1.MovieService); repeatable.
    #[arg(long = "service", value_name = "NAME")]
    services: Vec<String>,
    /// Metadata sent with every call (credentials), `name: value`; repeatable. An
    /// `authorization` entry turns on the `grpc_auth_enforced` check.
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = crate::args::metadata)]
    headers: Vec<(String, String)>,
    /// Do not repeat calls without their credentials (for services with public methods).
    #[arg(long)]
    no_auth_check: bool,
    /// Generated messages per method, besides the default message.
    #[arg(long, default_value_t = 3)]
    max_examples: usize,
    /// Seed of the message generator (the same seed sends the same messages).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Per-call timeout.
    #[arg(long, default_value = "10s", value_parser = crate::args::duration)]
    timeout: Duration,
    /// Also write the findings as JSON here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write JUnit XML here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

async fn run_grpc(args: GrpcArgs) -> Result<Verdict, CliError> {
    let source = if args.protos.is_empty() {
        if !args.import_paths.is_empty() {
            return Err(CliError::InvalidInput("--import-path needs --proto FILE".into()));
        }
        grpc::Source::Reflection
    } else {
        grpc::Source::Protos {
            files: args.protos.clone(),
            import_paths: args.import_paths.clone(),
        }
    };
    // The sidecar convention: examples.toml next to the contract it exemplifies.
    let examples = args.examples.clone().or_else(|| {
        let beside = args.protos.first()?.parent()?.join("examples.toml");
        beside.is_file().then_some(beside)
    });
    if let Some(path) = &examples
        && args.examples.is_none()
    {
        eprintln!("gauntlet: examples from {}", path.display());
    }
    let mut options = grpc::GrpcOptions::new(args.target.clone());
    options.auth_check = !args.no_auth_check;
    options.metadata = args.headers;
    options.services = args.services;
    options.max_examples = args.max_examples;
    options.seed = args.seed;
    options.timeout = args.timeout;
    let result = match grpc::run(&source, examples.as_deref(), &options).await {
        Ok(result) => result,
        Err(e) if e.is_invalid_input() => return Err(e).invalid_input(),
        Err(e) => return Err(e).run_failed(),
    };
    let name = source.describe(&args.target);
    out!("{}", suite::render(&result, &name));
    write_outputs(&result, &name, args.out.as_ref(), args.junit.as_ref())
}

/// Writes `--out` (JSON) and `--junit`; a finding fails the gate.
fn write_outputs(
    result: &suite::SuiteResult,
    name: &str,
    out: Option<&PathBuf>,
    junit: Option<&PathBuf>,
) -> Result<Verdict, CliError> {
    let writes = [
        (out, serde_json::to_string_pretty(result).unwrap_or_default()),
        (junit, suite::junit(result, name)),
    ];
    for (path, content) in writes {
        if let Some(path) = path {
            write_file(path, content)?;
        }
    }
    Ok(if result.findings.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed
    })
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The previous version: a proto root directory, a .proto file, or an OpenAPI file.
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The new version, of the same kind as OLD.
    #[arg(value_name = "NEW")]
    new: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
    /// Write the output here instead of stdout (`--output`, its first name, still works).
    #[arg(long, alias = "output", value_name = "FILE")]
    out: Option<PathBuf>,
    /// protobuf: buf's rule category to check (FILE, PACKAGE, WIRE_JSON, WIRE).
    #[arg(long, default_value = "WIRE_JSON", value_parser = parse_category)]
    level: diff::proto::Category,
    /// Exit 1 when a finding is at or above this level (error, warning, info).
    #[arg(long, default_value = "error", value_parser = parse_severity)]
    fail_on: diff::Severity,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DiffFormat {
    Text,
    Json,
    Junit,
}

fn parse_category(text: &str) -> Result<diff::proto::Category, String> {
    diff::proto::Category::parse(text)
        .ok_or_else(|| format!("{text:?} is not one of FILE, PACKAGE, WIRE_JSON, WIRE"))
}

fn parse_severity(text: &str) -> Result<diff::Severity, String> {
    diff::Severity::parse(text).ok_or_else(|| format!("{text:?} is not one of error, warning, info"))
}

fn run_diff(args: DiffArgs) -> Result<Verdict, CliError> {
    let options = diff::DiffOptions { category: args.level };
    let report = diff::diff(&args.old, &args.new, &options).invalid_input()?;
    let text = match args.format {
        DiffFormat::Text => diff::render::text(&report, args.fail_on),
        DiffFormat::Json => diff::render::json(&report),
        DiffFormat::Junit => diff::render::junit(&report, args.fail_on),
    };
    match &args.out {
        Some(path) => write_file(path, &text)?,
        None => out!("{text}"),
    }
    Ok(if report.fails(args.fail_on) {
        Verdict::Failed
    } else {
        Verdict::Passed
    })
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The OpenAPI 3.0/3.1 document (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    spec: PathBuf,
    /// The service's base URL, e.g. http://127.0.0.1:8082.
    #[arg(long, value_name = "URL")]
    target: String,
    /// A header sent with every request (credentials), `Name: value`; repeatable.
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = crate::args::header)]
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Generated valid and invalid requests per operation.
    #[arg(long, default_value_t = 5)]
    max_examples: usize,
    /// Seed of the data generator (the same seed sends the same data).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this long.
    #[arg(long, default_value = "5m", value_parser = crate::args::duration)]
    max_time: Duration,
    /// Also write the findings as JSON here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write JUnit XML here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

pub async fn run(command: ContractCommand) -> Result<Verdict, CliError> {
    match command {
        ContractCommand::Test(args) => run_test(args).await,
        ContractCommand::Diff(args) => run_diff(args),
        ContractCommand::Grpc(args) => run_grpc(args).await,
    }
}

async fn run_test(args: TestArgs) -> Result<Verdict, CliError> {
    let spec = openapi::load(&args.spec).invalid_input()?;
    if !args.target.starts_with("http://") {
        return Err(CliError::InvalidInput(format!(
            "--target {:?}: expected http://HOST:PORT",
            args.target
        )));
    }
    let validator = ResponseValidator::new(spec);
    let options = suite::SuiteOptions {
        target: args.target.clone(),
        headers: args.headers,
        max_examples: args.max_examples,
        seed: args.seed,
        max_time: args.max_time,
        timeout: Duration::from_secs(10),
    };
    let result = suite::run(&validator, &options)
        .await
        .map_err(|e| format!("{e} ({})", args.target))
        .run_failed()?;
    let name = args.spec.display().to_string();
    out!("{}", suite::render(&result, &name));
    write_outputs(&result, &name, args.out.as_ref(), args.junit.as_ref())
}
