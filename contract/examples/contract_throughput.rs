//! How many responses one core validates per second: a typical catalog movie (200, JSON,
//! ~200 bytes) checked against contracts/openapi/catalog.yaml in a loop for two seconds.
//! Run by ci/bench/contract.sh (`cargo run --release -p gauntlet-contract --example contract_throughput`).

use std::time::{Duration, Instant};

use gauntlet_contract::{openapi, validate::ResponseValidator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/openapi/catalog.yaml");
    let validator = ResponseValidator::new(openapi::load(&spec)?);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    let body = br#"{"id":"0b6f2c1e-3f4a-4d1b-9c2e-5a7d8e9f0a1b","title":"Alien","year":1979,"genres":["sci-fi","horror"],"rating":8.5,"created_at":"2026-01-01T00:00:00.000Z","updated_at":"2026-01-01T00:00:00.000Z"}"#;
    let path = "/v1/movies/0b6f2c1e-3f4a-4d1b-9c2e-5a7d8e9f0a1b";
    assert!(validator.validate("GET", path, 200, &headers, body).is_empty());
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < Duration::from_secs(2) {
        for _ in 0..1000 {
            std::hint::black_box(validator.validate("GET", path, 200, &headers, body));
        }
        n += 1000;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "validated {n} responses in {secs:.2} s: {:.0} per second on one core, {:.2} us each",
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
    Ok(())
}
