//! `partner`: runs the partner service alone. Usage: `partner [--config FILE]`; environment
//! variables `GAUNTLET_PARTNER_*` override the file (see docs/reference-stack.md).

use stack_partner::PartnerConfig;

fn main() -> std::process::ExitCode {
    stack_common::service::main_checked(
        "partner",
        "GAUNTLET_PARTNER",
        |c: &PartnerConfig| c.log_json,
        PartnerConfig::check,
        run,
    )
}

async fn run(config: PartnerConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "partner listening");
    let state = stack_partner::open(config)?;
    stack_partner::serve(listener, state, stack_common::shutdown::signal()).await?;
    Ok(())
}
