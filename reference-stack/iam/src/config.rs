//! iam's typed configuration (defaults < TOML file < `GAUNTLET_IAM_*` environment).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use stack_common::tls::ServerTls;

/// Everything iam needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IamConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Serve HTTPS with this certificate; with `client_ca`, only to clients presenting a
    /// certificate that chains to it (mutual TLS). Absent: plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ServerTls>,
    /// Directory for `iam.db` and `signing-key.der`; created if missing.
    pub data_dir: PathBuf,
    /// `iss` of issued tokens.
    pub issuer: String,
    /// `aud` of issued tokens.
    pub audience: String,
    /// Access-token lifetime.
    pub token_ttl_secs: u64,
    /// Largest request body accepted (413 above).
    pub max_body_bytes: usize,
    /// Scopes a registered user may be granted.
    pub user_scopes: Vec<String>,
    /// The seeded administrator.
    pub admin: AdminConfig,
    /// Registered third-party clients (client-credentials grant).
    pub clients: Vec<ClientConfig>,
    /// JSON log lines (true) or compact text.
    pub log_json: bool,
    /// Injected faults (extra latency, errors) per route; none by default.
    pub faults: Vec<stack_common::faults::Fault>,
}

/// The user created on first start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Username.
    pub username: String,
    /// Password (hashed before it is stored).
    pub password: String,
}

/// A registered client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret` (hashed before it is stored).
    pub client_secret: String,
    /// Scopes the client may be granted.
    pub scopes: Vec<String>,
}

impl Default for IamConfig {
    fn default() -> Self {
        IamConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            tls: None,
            data_dir: PathBuf::from("data/iam"),
            issuer: "gauntlet-iam".into(),
            audience: "gauntlet".into(),
            token_ttl_secs: 900,
            max_body_bytes: 64 * 1024,
            user_scopes: vec!["movies:read".into(), "movies:write".into()],
            admin: AdminConfig {
                username: "admin".into(),
                password: "admin-password".into(),
            },
            clients: vec![ClientConfig {
                client_id: "demo-client".into(),
                client_secret: "demo-secret".into(),
                scopes: vec!["movies:read".into(), "movies:write".into()],
            }],
            log_json: true,
            faults: Vec::new(),
        }
    }
}

impl IamConfig {
    /// Checks what the types cannot: an error names the key.
    pub fn check(&self) -> Result<(), String> {
        if let Some(tls) = &self.tls {
            tls.acceptor().map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
