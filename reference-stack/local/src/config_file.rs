//! The stack's configuration file (`stack up --config`, `demo --stack-config`): one table per
//! service. `[gateway]` and `[partner]` are checked as the file is loaded, so that a mistake
//! there is reported with the file's name and the table (exit 2), not when the service starts.

use stack_catalog::CatalogConfig;
use stack_gateway::GatewayConfig;
use stack_iam::IamConfig;
use stack_partner::PartnerConfig;

use crate::StackOptions;

/// A stack configuration file: `[iam]`, `[catalog]`, `[gateway]` and `[partner]` tables with any
/// of the services' own config keys (listen addresses, data directories, the iam URL, the
/// gateway's `iam`/`catalog` instance lists, and partner's broker, exchange, queue and catalog
/// URL are set by `start`; with mutual TLS also catalog's `tls` and the gateway's
/// `upstreams.catalog.tls`; an `[iam] tls` is refused), e.g.
///
/// ```toml
/// [[catalog.faults]]
/// route = "/v1/movies/{id}"
/// method = "GET"
/// latency_ms = 5
/// ```
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
struct StackFile {
    iam: IamConfig,
    catalog: CatalogConfig,
    gateway: GatewayConfig,
    partner: PartnerConfig,
}

/// Why the stack refuses `iam.tls`.
pub(crate) const IAM_TLS_REFUSED: &str = "iam.tls: iam serves plain HTTP in the local stack (catalog and the gateway \
     fetch its JWKS with a plain-HTTP client); remove the key";

/// Applies a stack configuration file to `options`; the error names the file, line and column,
/// or the file and the table of a value its service would refuse. On an error `options` is
/// left as it was.
pub fn apply_config_file(path: &std::path::Path, options: &mut StackOptions) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: StackFile = toml::from_str(&text).map_err(|e| {
        let at = e.span().map(|s| {
            let (line, col) = stack_common::config::line_col(&text, s.start);
            format!(":{line}:{col}")
        });
        format!(
            "{}{}: {}",
            path.display(),
            at.unwrap_or_default(),
            e.message().trim_end()
        )
    })?;
    if file.iam.tls.is_some() {
        return Err(format!("{}: [iam] {IAM_TLS_REFUSED}", path.display()));
    }
    if let Err(e) = file.gateway.validate() {
        return Err(format!("{}: [gateway] {e}", path.display()));
    }
    if let Err(e) = check_partner(&file.partner) {
        return Err(format!("{}: [partner] {e}", path.display()));
    }
    options.iam = file.iam;
    options.catalog = file.catalog;
    options.partner = file.partner;
    options.gateway = file.gateway;
    Ok(())
}

/// Checks a config file's `[partner]` table now, as partner checks its config at start (which
/// is too late to name the file, and never comes when events are off): `catalog_ca` read,
/// `catalog_server_name` a name, no zero or empty value. The keys `start` sets itself (the
/// URLs, the broker, exchange and queue names) are judged with stand-ins, so a value there
/// that `start` replaces anyway is no error.
fn check_partner(partner: &PartnerConfig) -> Result<(), String> {
    let stand_in = PartnerConfig::default();
    PartnerConfig {
        iam_url: stand_in.iam_url,
        catalog_url: stand_in.catalog_url,
        amqp_url: stand_in.amqp_url,
        events_exchange: stand_in.events_exchange,
        queue: stand_in.queue,
        dead_letter_exchange: stand_in.dead_letter_exchange,
        dead_letter_queue: stand_in.dead_letter_queue,
        ..partner.clone()
    }
    .check()
}
