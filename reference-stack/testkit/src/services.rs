//! iam and catalog started in-process on loopback port 0 under a test's [`Stopper`]: the
//! upstreams of the gateway's tests and the producer side of partner's.

use std::net::SocketAddr;

use stack_catalog::CatalogConfig;
use stack_iam::IamConfig;

use crate::net::listener;
use crate::stop::Stopper;

/// Opens iam with `config` and serves it on a free port until `stopper` stops; its address
/// (`config.listen` is set to it).
pub async fn spawn_iam(stopper: &mut Stopper, mut config: IamConfig) -> SocketAddr {
    let (l, addr) = listener().await;
    config.listen = addr;
    let state = stack_iam::open(config).await.expect("iam opens");
    stopper.spawn(stack_iam::serve(l, state, stopper.signal()));
    addr
}

/// Opens a catalog instance with `config` and serves it on a free port until `stopper` stops;
/// its address (`config.listen` is set to it) and state.
pub async fn spawn_catalog(
    stopper: &mut Stopper,
    config: &CatalogConfig,
) -> (SocketAddr, stack_catalog::AppState) {
    let (l, addr) = listener().await;
    let config = CatalogConfig {
        listen: addr,
        ..config.clone()
    };
    let state = stack_catalog::open(&config).expect("catalog opens");
    stopper.spawn(stack_catalog::serve(l, state.clone(), stopper.signal()));
    (addr, state)
}
