//! The Ed25519 signing key: generated on first start, kept in the data directory (mode 0600)
//! so tokens stay valid across restarts; published as a JWK (`kty: OKP`) with a stable `kid`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

/// PKCS#8 v1 wrapping of a raw 32-byte Ed25519 seed (RFC 8410): this prefix, then the seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

const KEY_FILE: &str = "signing-key.der";

/// Signs tokens and verifies iam's own tokens (for introspection and revocation).
pub struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    x: String,
}

impl SigningKey {
    /// Loads the key from `dir`, or generates and stores one.
    pub fn load_or_generate(dir: &Path) -> anyhow::Result<SigningKey> {
        let path = dir.join(KEY_FILE);
        let der = match std::fs::read(&path) {
            Ok(der) => der,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
                let der = [PKCS8_ED25519_PREFIX.as_slice(), &seed].concat();
                write_private(&path, &der).with_context(|| format!("writing {}", path.display()))?;
                der
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Self::from_pkcs8_der(&der).with_context(|| format!("signing key {}", path.display()))
    }

    /// A key from its PKCS#8 DER form.
    pub fn from_pkcs8_der(der: &[u8]) -> anyhow::Result<SigningKey> {
        anyhow::ensure!(
            der.len() == 48 && der[..16] == PKCS8_ED25519_PREFIX,
            "not a PKCS#8 Ed25519 private key"
        );
        let encoding = EncodingKey::from_ed_der(der);
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA)?;
        let jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(okp) = &jwk.algorithm else {
            anyhow::bail!("unexpected key type");
        };
        let x = okp.x.clone();
        let public = URL_SAFE_NO_PAD.decode(&x)?;
        // A stable id derived from the public key: same key, same kid, across restarts.
        let kid = public[..8].iter().map(|b| format!("{b:02x}")).collect();
        let decoding = DecodingKey::from_ed_components(&x)?;
        Ok(SigningKey {
            encoding,
            decoding,
            kid,
            x,
        })
    }

    /// The `kid` in token headers and the JWKS.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        json!({ "kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": self.kid, "alg": "EdDSA", "use": "sig" })
    }

    /// Signs `claims`.
    pub fn sign<T: serde::Serialize>(&self, claims: &T) -> jsonwebtoken::errors::Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// Verifies one of iam's own tokens; `validation` says which claims to check.
    pub fn verify<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> jsonwebtoken::errors::Result<T> {
        jsonwebtoken::decode::<T>(token, &self.decoding, validation).map(|d| d.claims)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_persists_and_keeps_its_kid() {
        let dir = std::env::temp_dir().join(format!("iam-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let first = SigningKey::load_or_generate(&dir).unwrap();
        let second = SigningKey::load_or_generate(&dir).unwrap();
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.jwk(), second.jwk());
        let token = first.sign(&json!({"sub": "x", "exp": 4_000_000_000u64})).unwrap();
        let mut v = Validation::new(Algorithm::EdDSA);
        v.required_spec_claims.clear();
        v.validate_aud = false;
        let claims: Value = second.verify(&token, &v).unwrap();
        assert_eq!(claims["sub"], "x");
    }
}
