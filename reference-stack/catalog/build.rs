//! Generates the gRPC server and client from `contracts/proto` (the single source of truth),
//! parsing the .proto files with protox so that no `protoc` is needed. The compiled
//! descriptors are also written out, for the server reflection service.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time (not env!): the same compiled build script may serve another checkout.
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../contracts/proto");
    let proto = root.join("catalog/v1/catalog.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    println!("cargo:rerun-if-changed=build.rs");
    let fds = protox::compile([&proto], [&root])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("catalog_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
