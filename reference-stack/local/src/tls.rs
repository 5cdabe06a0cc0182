//! Certificates the stack generates for itself, for local use only: the gateway's self-signed
//! certificate (`stack up --tls`) and the small PKI of mutual TLS between the gateway and the
//! catalog instances (`stack up --mtls`): a CA, catalog's server certificate and the gateway's
//! client certificate, both signed by it. Keys are written mode 0600.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The files of the stack's mutual TLS (under `DATA_DIR/tls/`): catalog serves `server_*` and
/// asks for a client certificate chaining to `ca`; the gateway trusts `ca` and presents
/// `client_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutualTlsFiles {
    /// The local CA's certificate (PEM), which both sides trust.
    pub ca: PathBuf,
    /// catalog's certificate (PEM), for `localhost` and the stack's host address.
    pub server_cert: PathBuf,
    /// Its private key (PEM, mode 0600).
    pub server_key: PathBuf,
    /// The gateway's client certificate (PEM).
    pub client_cert: PathBuf,
    /// Its private key (PEM, mode 0600).
    pub client_key: PathBuf,
}

impl MutualTlsFiles {
    /// Generates a fresh CA (its key is not kept: nothing else is ever signed with it), a
    /// server certificate for `localhost` and `host` (the gateway reaches the instances by IP
    /// address, so the IP is what it checks) and a client certificate for the gateway, into
    /// `dir`.
    pub fn generate(dir: &Path, host: IpAddr) -> anyhow::Result<MutualTlsFiles> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        // A name of its own: a certificate from another stack's CA is then refused as from an
        // unknown CA, not tried against this CA's key (a signature error).
        ca_params.distinguished_name.push(
            DnType::CommonName,
            format!("gauntlet local stack CA {}", crate::unique_token()),
        );
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .context("generating the local CA")?;
        let issuer = Issuer::new(ca_params, ca_key);

        let files = MutualTlsFiles {
            ca: dir.join("ca-cert.pem"),
            server_cert: dir.join("catalog-cert.pem"),
            server_key: dir.join("catalog-key.pem"),
            client_cert: dir.join("gateway-client-cert.pem"),
            client_key: dir.join("gateway-client-key.pem"),
        };
        write(&files.ca, ca_cert.pem().as_bytes())?;
        let leaves = [
            (
                "catalog",
                vec!["localhost".to_string(), host.to_string()],
                ExtendedKeyUsagePurpose::ServerAuth,
                &files.server_cert,
                &files.server_key,
            ),
            (
                "gateway",
                vec!["gateway".to_string()],
                ExtendedKeyUsagePurpose::ClientAuth,
                &files.client_cert,
                &files.client_key,
            ),
        ];
        for (name, names, purpose, cert_path, key_path) in leaves {
            let mut params = CertificateParams::new(names)?;
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![purpose];
            let key = KeyPair::generate()?;
            let cert = params
                .signed_by(&key, &issuer)
                .with_context(|| format!("signing the {name} certificate"))?;
            write(cert_path, cert.pem().as_bytes())?;
            write_private(key_path, key.serialize_pem().as_bytes())
                .with_context(|| format!("writing {}", key_path.display()))?;
        }
        Ok(files)
    }

    /// catalog's `tls` setting: its certificate, and client certificates required.
    pub fn server(&self) -> stack_common::tls::ServerTls {
        stack_common::tls::ServerTls {
            cert: self.server_cert.clone(),
            key: self.server_key.clone(),
            client_ca: Some(self.ca.clone()),
        }
    }

    /// The gateway's `upstreams.catalog.tls`: trust the CA, present the client certificate,
    /// check each instance's IP address (the default `server_name`).
    pub fn upstream(&self) -> stack_gateway::config::UpstreamTls {
        stack_gateway::config::UpstreamTls {
            ca: self.ca.clone(),
            cert: Some(self.client_cert.clone()),
            key: Some(self.client_key.clone()),
            server_name: None,
        }
    }
}

/// Writes a fresh self-signed certificate for `localhost` and `host` (with its key, mode 0600)
/// into `dir`, for local use only: clients trust it explicitly (`curl --cacert`; partner as its
/// `catalog_ca`). Being self-signed it is its own trust anchor, which rustls accepts: no CA is
/// needed behind it.
pub(crate) fn self_signed(dir: &Path, host: IpAddr) -> anyhow::Result<stack_gateway::config::TlsConfig> {
    let names = vec!["localhost".to_string(), host.to_string()];
    let generated =
        rcgen::generate_simple_self_signed(names).context("generating a self-signed certificate")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let cert = dir.join("gateway-cert.pem");
    let key = dir.join("gateway-key.pem");
    write(&cert, generated.cert.pem().as_bytes())?;
    write_private(&key, generated.signing_key.serialize_pem().as_bytes())
        .with_context(|| format!("writing {}", key.display()))?;
    Ok(stack_gateway::config::TlsConfig { cert, key })
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
