//! The .proto loaders: the text as `contract grpc --proto` compiles it (and `run`'s
//! `[target] proto`, the same protox call), as `contract diff` loads a proto tree, and then
//! request messages generated for every message type, as `contract grpc` does when a method
//! has no example. Input: `MAIN [NUL DEP]`: `fuzz.proto`, which may `import "dep.proto";`.
//! The files are written to a directory of this process under the system's temp directory.

#![no_main]

use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use gauntlet_contract::grpc::Source;
use gauntlet_contract::grpc::generate::MessageGenerator;
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("gauntlet-fuzz-proto-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp directory");
        dir
    })
}

/// Runs a future that never waits (loading from files does no I/O through the runtime).
fn now<T>(future: impl Future<Output = T>) -> T {
    match pin!(future)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("loading .proto files waited on the runtime"),
    }
}

fuzz_target!(|data: &[u8]| {
    let (main, dep) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let (file, dep_file) = (dir().join("fuzz.proto"), dir().join("dep.proto"));
    std::fs::write(&file, main).expect("write fuzz.proto");
    match dep {
        Some(dep) => std::fs::write(&dep_file, dep).expect("write dep.proto"),
        None => {
            let _ = std::fs::remove_file(&dep_file);
        }
    }

    let source = Source::Protos {
        files: vec![file.clone()],
        import_paths: Vec::new(),
    };
    let loaded = now(gauntlet_contract::grpc::source::load(
        &source,
        "http://127.0.0.1:1",
    ));
    let _ = gauntlet_contract::diff::proto::load::load(&file);

    let Ok(pool) = loaded else {
        return;
    };
    for (seed, message) in pool.all_messages().take(16).enumerate() {
        let _ = MessageGenerator::new(seed as u64).message(&message);
    }
});
