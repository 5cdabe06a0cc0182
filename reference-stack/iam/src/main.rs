//! `iam`: runs the iam service alone. Usage: `iam [--config FILE]`; environment variables
//! `GAUNTLET_IAM_*` override the file (see docs/reference-stack.md).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = match args.as_slice() {
        [] => None,
        [flag, path] if flag == "--config" => Some(std::path::PathBuf::from(path)),
        _ => {
            eprintln!("usage: iam [--config FILE]");
            return ExitCode::from(2);
        }
    };
    let config: stack_iam::IamConfig =
        match stack_common::config::load(file.as_deref(), "GAUNTLET_IAM", std::env::vars()) {
            Ok(config) => config,
            Err(err) => {
                eprintln!("iam: {err}");
                return ExitCode::from(2);
            }
        };
    stack_common::telemetry::init(config.log_json, "info");
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("iam: {err:#}");
            ExitCode::from(3)
        }
    }
}

async fn run(config: stack_iam::IamConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "iam listening");
    let state = stack_iam::open(config).await?;
    stack_iam::serve(listener, state, stack_common::shutdown::signal()).await?;
    Ok(())
}
