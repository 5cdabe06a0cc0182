//! `gauntlet contract test --spec FILE --target URL`: the active contract suite. Exit 1 when a
//! check failed, 2 for an invalid spec or arguments, 3 when the target cannot be reached.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use gauntlet::contract::{openapi, suite, validate::ResponseValidator};
use gauntlet::exit;
use http::{HeaderName, HeaderValue};

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Send requests made from the spec (its examples, generated valid and invalid data, and
    /// requests without credentials) and check every response against it.
    Test(TestArgs),
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
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Generated valid and invalid requests per operation.
    #[arg(long, default_value_t = 5)]
    max_examples: usize,
    /// Seed of the data generator (the same seed sends the same data).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this long.
    #[arg(long, default_value = "5m", value_parser = |s: &str| gauntlet::scenario::duration::parse_duration(s))]
    max_time: Duration,
    /// Also write the findings as JSON here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write JUnit XML here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not `Name: value`"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| format!("header name: {e}"))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|e| format!("header value: {e}"))?;
    Ok((name, value))
}

pub async fn run(command: ContractCommand) -> u8 {
    let ContractCommand::Test(args) = command;
    let spec = match openapi::load(&args.spec) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("gauntlet: {e}");
            return exit::INVALID_INPUT;
        }
    };
    if !args.target.starts_with("http://") {
        eprintln!("gauntlet: --target {:?}: expected http://HOST:PORT", args.target);
        return exit::INVALID_INPUT;
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
    let result = match suite::run(&validator, &options).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gauntlet: {e} ({})", args.target);
            return exit::RUN_FAILED;
        }
    };
    let name = args.spec.display().to_string();
    out!("{}", suite::render(&result, &name));
    let writes = [
        (
            args.out.as_ref(),
            serde_json::to_string_pretty(&result).unwrap_or_default(),
        ),
        (args.junit.as_ref(), suite::junit(&result, &name)),
    ];
    for (path, content) in writes {
        if let Some(path) = path
            && let Err(e) = std::fs::write(path, content)
        {
            eprintln!("gauntlet: cannot write {}: {e}", path.display());
            return exit::RUN_FAILED;
        }
    }
    if result.findings.is_empty() {
        exit::PASSED
    } else {
        exit::GATE_FAILED
    }
}
