//! `catalog`: runs the catalog service alone. Usage: `catalog [--config FILE]`; environment
//! variables `GAUNTLET_CATALOG_*` override the file (see docs/reference-stack.md).

use stack_catalog::CatalogConfig;

fn main() -> std::process::ExitCode {
    stack_common::service::main_checked(
        "catalog",
        "GAUNTLET_CATALOG",
        |c: &CatalogConfig| c.log_json,
        CatalogConfig::check,
        run,
    )
}

async fn run(config: CatalogConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "catalog listening");
    let state = stack_catalog::open(&config)?;
    stack_catalog::serve(listener, state, stack_common::shutdown::signal()).await?;
    Ok(())
}
