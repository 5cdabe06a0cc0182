//! The scenario loader: any text given to `gauntlet run` (parsing, validation into a plan,
//! templates, thresholds, feeders) is an error list with locations or a plan, never a panic.
//! Relative paths (protos, specs, data files) resolve from the repository's `scenarios/`, so
//! the seeds' own references load.

#![no_main]

use std::path::Path;

use gauntlet_harness::scenario::{Overrides, from_str_in};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let scenarios = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"));
    let env = |name: &str| (name == "TOKEN").then(|| "t0ken".to_string());
    let _ = from_str_in(
        text,
        "fuzz.toml",
        "fuzz",
        Some(scenarios),
        &env,
        &Overrides::default(),
    );
});
