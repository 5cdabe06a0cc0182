//! The binary's configuration errors: exit 2 with a message naming the key.

use std::process::Command;

fn run_partner(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_partner"));
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_config_exits_2_naming_the_key() {
    let (code, err) = run_partner(&[("GAUNTLET_PARTNER_AMQP_URL", "http://not-amqp")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("amqp_url"), "{err}");
    let (code, err) = run_partner(&[("GAUNTLET_PARTNER_PREFETCH", "0")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("prefetch"), "{err}");
    let (code, err) = run_partner(&[("GAUNTLET_PARTNER_QUEUUE", "x")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("queuue"), "{err}");
    let (code, err) = run_partner(&[("GAUNTLET_PARTNER_CONSUMPTION_PAUSED", "true")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("fault_injection"), "{err}");
    let (code, err) = run_partner(&[("GAUNTLET_PARTNER_CATALOG_SERVER_NAME", "not a name")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("partner: config: catalog_server_name \"not a name\" "),
        "{err}"
    );
}

#[test]
fn an_unusable_catalog_ca_exits_2_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing-ca.pem");
    let (code, err) = run_partner(&[("GAUNTLET_PARTNER_CATALOG_CA", missing.to_str().unwrap())]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("partner: config: catalog_ca: {}: ", missing.display())),
        "{err}"
    );
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let (code, err) = run_partner(&[("GAUNTLET_PARTNER_CATALOG_CA", garbage.to_str().unwrap())]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("catalog_ca: ") && err.contains("garbage.pem"),
        "{err}"
    );
    // an https:// catalog without a CA to check it with
    let (code, err) = run_partner(&[("GAUNTLET_PARTNER_CATALOG_URL", "https://127.0.0.1:8080/api")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("catalog_url") && err.contains("catalog_ca"), "{err}");
}
