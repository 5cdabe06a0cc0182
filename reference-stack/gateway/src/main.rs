//! `gateway`: runs the API gateway alone. Usage: `gateway [--config FILE]`; environment
//! variables `GAUNTLET_GATEWAY_*` override the file (see docs/reference-stack.md).

use stack_gateway::GatewayConfig;

/// mimalloc rather than the system allocator: a proxied request makes a few dozen small
/// allocations (headers, buffers, futures); glibc's malloc was 7% of the gateway's CPU in
/// `ci/bench/gateway.sh` profiles, and mimalloc takes 5% off its instructions per request
/// (callgrind: 46.2k -> 43.7k).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    stack_common::service::main("gateway", "GAUNTLET_GATEWAY", |c: &GatewayConfig| c.log_json, run)
}

async fn run(config: GatewayConfig) -> anyhow::Result<()> {
    let tls = config.tls.is_some();
    // Validation errors are the user's: exit 2 like a config file that does not parse.
    if let Err(err) = config.validate() {
        eprintln!("gateway: {err}");
        std::process::exit(2);
    }
    let gateway = match stack_gateway::open(config.clone()).await {
        Ok(gateway) => gateway,
        Err(err) => {
            eprintln!("gateway: {err:#}");
            std::process::exit(2);
        }
    };
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(addr = %stack_gateway::describe(listener.local_addr()?, tls), "gateway listening");
    stack_gateway::serve(listener, gateway, stack_common::shutdown::signal()).await?;
    Ok(())
}
