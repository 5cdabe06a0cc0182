//! The shared `main` of every service binary: `NAME [--config FILE]`, configuration from the
//! file and `PREFIX_*` environment variables, logs, then the service until SIGINT/SIGTERM.
//! Exit codes follow docs/exit-codes.md: 2 for a bad configuration, 3 when it cannot run.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Runs a service binary; `log_json` says whether its config asks for JSON logs.
pub fn main<C, Fut>(name: &str, env_prefix: &str, log_json: fn(&C) -> bool, run: fn(C) -> Fut) -> ExitCode
where
    C: Serialize + DeserializeOwned + Default,
    Fut: Future<Output = anyhow::Result<()>>,
{
    main_checked(name, env_prefix, log_json, |_| Ok(()), run)
}

/// [`main`] with a check of the loaded configuration beyond its types (a URL that does not
/// parse, a zero that must not be): an `Err` is the message, naming the key, and exit 2.
pub fn main_checked<C, Fut>(
    name: &str,
    env_prefix: &str,
    log_json: fn(&C) -> bool,
    check: fn(&C) -> Result<(), String>,
    run: fn(C) -> Fut,
) -> ExitCode
where
    C: Serialize + DeserializeOwned + Default,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = match args.as_slice() {
        [] => None,
        [flag, path] if flag == "--config" => Some(PathBuf::from(path)),
        _ => {
            eprintln!("usage: {name} [--config FILE]");
            return ExitCode::from(2);
        }
    };
    let config: C = match crate::config::load(file.as_deref(), env_prefix, std::env::vars()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{name}: {err}");
            return ExitCode::from(2);
        }
    };
    if let Err(message) = check(&config) {
        eprintln!("{name}: config: {message}");
        return ExitCode::from(2);
    }
    crate::telemetry::init(log_json(&config), "info");
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("{name}: cannot start the runtime: {err}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{name}: {err:#}");
            ExitCode::from(3)
        }
    }
}
