//! `iam`: runs the iam service alone. Usage: `iam [--config FILE]`; environment variables
//! `GAUNTLET_IAM_*` override the file (see docs/reference-stack.md).

use stack_iam::IamConfig;

fn main() -> std::process::ExitCode {
    stack_common::service::main_checked(
        "iam",
        "GAUNTLET_IAM",
        |c: &IamConfig| c.log_json,
        IamConfig::check,
        run,
    )
}

async fn run(config: IamConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "iam listening");
    let state = stack_iam::open(config).await?;
    stack_iam::serve(listener, state, stack_common::shutdown::signal()).await?;
    Ok(())
}
