//! `catalog`: runs the catalog service alone. Usage: `catalog [--config FILE]`; environment variables
//! `GAUNTLET_CATALOG_*` override the file (see docs/reference-stack.md).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = match args.as_slice() {
        [] => None,
        [flag, path] if flag == "--config" => Some(std::path::PathBuf::from(path)),
        _ => {
            eprintln!("usage: catalog [--config FILE]");
            return ExitCode::from(2);
        }
    };
    let config: stack_catalog::CatalogConfig =
        match stack_common::config::load(file.as_deref(), "GAUNTLET_CATALOG", std::env::vars()) {
            Ok(config) => config,
            Err(err) => {
                eprintln!("catalog: {err}");
                return ExitCode::from(2);
            }
        };
    stack_common::telemetry::init(config.log_json, "info");
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("catalog: {err:#}");
            ExitCode::from(3)
        }
    }
}

async fn run(config: stack_catalog::CatalogConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "catalog listening");
    let state = stack_catalog::open(&config)?;
    stack_catalog::serve(listener, state, stack_common::shutdown::signal()).await?;
    Ok(())
}
