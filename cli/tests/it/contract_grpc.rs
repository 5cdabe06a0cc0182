//! `gauntlet contract grpc`: against the reference catalog (descriptors from reflection, and
//! from the .proto with its sidecar examples) nothing is flagged; against a hand-written h2c
//! server that plants one violation per method, each is found under its check while the
//! conforming methods are not flagged; bad input is exit 2 at its location, no server exit 3.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;

use axum::body::Body;
use axum::http::{Request, Response};
use bytes::Bytes;
use gauntlet_client::grpc::RawCodec;

use crate::support;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/grpc")
        .join(name)
}

async fn contract_grpc(args: Vec<String>) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
    cmd.args(["contract", "grpc"]).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

async fn admin_token(iam: &str) -> String {
    support::token(iam, "admin", "admin-password").await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_catalog_conforms_by_reflection_and_by_its_proto() {
    let stack = stack_local::start(stack_local::StackOptions {
        base_port: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let auth = format!("authorization: Bearer {}", admin_token(&stack.iam.url).await);
    let sidecar = root().join("contracts/proto/catalog/v1/examples.toml");

    let by_reflection = vec![
        "--target".into(),
        stack.catalog.url.clone(),
        "--examples".into(),
        sidecar.display().to_string(),
        "--header".into(),
        auth.clone(),
    ];
    let (code, out) = contract_grpc(by_reflection).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("reflection from"), "{out}");

    // The .proto, with the sidecar examples.toml beside it found without --examples.
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("grpc.xml");
    let findings = dir.path().join("grpc.json");
    let by_proto = vec![
        "--target".into(),
        stack.catalog.url.clone(),
        "--proto".into(),
        root()
            .join("contracts/proto/catalog/v1/catalog.proto")
            .display()
            .to_string(),
        "-I".into(),
        root().join("contracts/proto").display().to_string(),
        "--header".into(),
        auth,
        "--junit".into(),
        junit.display().to_string(),
        "--out".into(),
        findings.display().to_string(),
    ];
    let (code, out) = contract_grpc(by_proto).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("examples from"), "{out}");
    for check in [
        "grpc_status_conformance",
        "grpc_not_a_server_error",
        "grpc_response_decodes",
        "grpc_auth_enforced",
    ] {
        assert!(out.contains(&format!("pass  {check}")), "{check}:\n{out}");
    }
    // 5 methods, each with its examples, the default message, 3 generated, 1 without credentials.
    assert!(out.contains("5 operations"), "{out}");
    assert!(out.contains("verdict: PASSED"), "{out}");
    // Responses were actually decoded: the created movie and two streamed lists (holding the
    // movies the reflection run created).
    let result: serde_json::Value = serde_json::from_slice(&std::fs::read(&findings).unwrap()).unwrap();
    assert!(
        result["checks"]["grpc_response_decodes"][0].as_u64().unwrap() >= 3,
        "{result}"
    );
    assert_eq!(result["checks"]["grpc_auth_enforced"][0], 5, "{result}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("failures=\"0\""), "{xml}");
    stack.shutdown().await.unwrap();
}

/// One gRPC message frame: not compressed, 4-byte big-endian length, the bytes.
fn frame(message: &[u8]) -> Bytes {
    let mut out = vec![0u8];
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out.into()
}

/// `Item { name: "ok", count: 1 }`.
const ITEM: &[u8] = &[0x0a, 0x02, b'o', b'k', 0x10, 0x01];

/// A trailers-only answer: the status in the response headers, no messages.
fn refused(code: u8, message: &str) -> Response<Body> {
    Response::builder()
        .header("content-type", "application/grpc")
        .header("grpc-status", code.to_string())
        .header("grpc-message", message)
        .body(Body::empty())
        .unwrap()
}

/// Answers a call with fixed response messages, given as their exact bytes (tonic frames them
/// and sends the OK trailers).
struct Answer(Vec<&'static [u8]>);

impl tonic::server::StreamingService<Bytes> for Answer {
    type Response = Bytes;
    type ResponseStream = tokio_stream::Iter<std::vec::IntoIter<Result<Bytes, tonic::Status>>>;
    type Future = std::future::Ready<Result<tonic::Response<Self::ResponseStream>, tonic::Status>>;

    fn call(&mut self, _request: tonic::Request<tonic::Streaming<Bytes>>) -> Self::Future {
        let messages: Vec<_> = self.0.iter().map(|m| Ok(Bytes::from_static(m))).collect();
        std::future::ready(Ok(tonic::Response::new(tokio_stream::iter(messages))))
    }
}

/// The broken.v1.Lab service of tests/fixtures/grpc/broken.proto, by hand: every method but
/// Open wants `authorization: Bearer good`.
async fn lab(request: Request<Body>) -> Response<Body> {
    let method = request
        .uri()
        .path()
        .trim_start_matches("/broken.v1.Lab/")
        .to_string();
    let authorized = request
        .headers()
        .get("authorization")
        .is_some_and(|v| v == "Bearer good");
    let answer = match method.as_str() {
        _ if !authorized && method != "Open" => None,
        "Echo" | "Upload" | "Open" => Some(vec![ITEM]),
        "Chat" | "List" => Some(vec![ITEM, ITEM]),
        // Field 2 (int32, varint) sent length-delimited.
        "Garble" => Some(vec![&[0x0a, 0x02, b'o', b'k', 0x12, 0x01, 0x07][..]]),
        // Field 9 is not in Item.
        "Extra" => Some(vec![&[0x0a, 0x02, b'o', b'k', 0x48, 0x01][..]]),
        _ => None,
    };
    if let Some(messages) = answer {
        let mut grpc = tonic::server::Grpc::new(RawCodec);
        return grpc.streaming(Answer(messages), request).await.map(Body::new);
    }
    // Read the whole request stream first, as a unary or streaming server would.
    let _ = axum::body::to_bytes(request.into_body(), 1 << 20).await;
    match method.as_str() {
        _ if !authorized => refused(16, "no token"),
        "Crash" => refused(13, "boom"),
        "Refuse" => refused(9, "not now"),
        "Watch" => {
            // One message, then a frame that promises 10 bytes and carries 3, and the body
            // ends without trailers.
            let cut = Bytes::from_static(&[0, 0, 0, 0, 10, 0x0a, 0x02, b'o']);
            let chunks = [Ok::<_, Infallible>(frame(ITEM)), Ok(cut)];
            Response::builder()
                .header("content-type", "application/grpc")
                .body(Body::from_stream(tokio_stream::iter(chunks)))
                .unwrap()
        }
        _ => refused(12, "no such method"),
    }
}

async fn serve_lab() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(lab);
    tokio::spawn(async move { axum::serve(listener, app).await });
    target
}

#[tokio::test(flavor = "multi_thread")]
async fn each_planted_violation_is_found_and_conforming_methods_are_not_flagged() {
    let target = serve_lab().await;
    let dir = tempfile::tempdir().unwrap();
    let findings_path = dir.path().join("findings.json");
    let (code, out) = contract_grpc(vec![
        "--target".into(),
        target,
        "--proto".into(),
        fixture("broken.proto").display().to_string(),
        "--examples".into(),
        fixture("broken.examples.toml").display().to_string(),
        "--header".into(),
        "authorization: Bearer good".into(),
        "--out".into(),
        findings_path.display().to_string(),
    ])
    .await;
    assert_eq!(code, Some(1), "{out}");
    let result: serde_json::Value = serde_json::from_slice(&std::fs::read(&findings_path).unwrap()).unwrap();
    let findings = result["findings"].as_array().unwrap();
    let found: BTreeSet<(String, String)> = findings
        .iter()
        .map(|f| {
            (
                f["operation"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("broken.v1.Lab/")
                    .to_string(),
                f["check"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (method, check) in [
        ("Crash", "grpc_not_a_server_error"),
        ("Crash", "grpc_status_conformance"),
        ("Garble", "grpc_response_decodes"),
        ("Extra", "grpc_response_decodes"),
        ("Refuse", "grpc_status_conformance"),
        ("Open", "grpc_auth_enforced"),
        ("Watch", "grpc_not_a_server_error"),
        ("Watch", "grpc_status_conformance"),
    ] {
        assert!(
            found.contains(&(method.to_string(), check.to_string())),
            "{method} {check} not found:\n{out}"
        );
    }
    // A refusal is not a server error, and nothing is flagged on what conforms.
    assert!(
        !found.contains(&("Refuse".into(), "grpc_not_a_server_error".into())),
        "{found:?}"
    );
    for conforming in ["Echo", "Upload", "Chat", "List"] {
        assert!(
            !found.iter().any(|(m, _)| m == conforming),
            "{conforming} flagged:\n{out}"
        );
    }
    // The findings say what was wrong.
    let text = |method: &str, check: &str| {
        findings
            .iter()
            .find(|f| f["operation"] == format!("broken.v1.Lab/{method}") && f["check"] == check)
            .map(|f| format!("{} | {}", f["actual"], f["request"]))
            .unwrap()
    };
    assert!(
        text("Garble", "grpc_response_decodes").contains("wire type"),
        "{out}"
    );
    assert!(
        text("Extra", "grpc_response_decodes").contains("unknown field number 9"),
        "{out}"
    );
    assert!(
        text("Watch", "grpc_not_a_server_error").contains("after 1 response message"),
        "{out}"
    );
    assert!(
        text("Refuse", "grpc_status_conformance").contains("FAILED_PRECONDITION"),
        "{out}"
    );
    assert!(
        text("Open", "grpc_auth_enforced").contains("without credentials"),
        "{out}"
    );
    assert!(out.contains("verdict: FAILED"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_exit_2_at_its_location_and_no_server_exit_3() {
    let target = serve_lab().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |proto: PathBuf, examples: Option<PathBuf>| {
        let mut args = vec![
            "--target".to_string(),
            target.clone(),
            "--proto".into(),
            proto.display().to_string(),
        ];
        if let Some(e) = examples {
            args.extend(["--examples".into(), e.display().to_string()]);
        }
        contract_grpc(args)
    };

    let bad_proto = dir.path().join("bad.proto");
    std::fs::write(
        &bad_proto,
        "syntax = \"proto3\";\n\nmessage A {\n  string name = ;\n}\n",
    )
    .unwrap();
    let (code, out) = run(bad_proto.clone(), None).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&format!("{}:4:17:", bad_proto.display())), "{out}");

    let examples = dir.path().join("unknown-method.toml");
    std::fs::write(
        &examples,
        "[[\"broken.v1.Lab/Echo\"]]\nmessage = {}\n\n[[\"broken.v1.Lab/Ecco\"]]\nmessage = {}\n",
    )
    .unwrap();
    let (code, out) = run(fixture("broken.proto"), Some(examples.clone())).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!("{}:4:3:", examples.display())) && out.contains("Ecco"),
        "{out}"
    );

    let examples = dir.path().join("unknown-field.toml");
    std::fs::write(
        &examples,
        "[[\"broken.v1.Lab/Echo\"]]\nmessage = { nam = \"a\" }\n",
    )
    .unwrap();
    let (code, out) = run(fixture("broken.proto"), Some(examples.clone())).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&format!("{}:2:11:", examples.display())), "{out}");

    let examples = dir.path().join("syntax.toml");
    std::fs::write(&examples, "[[\"broken.v1.Lab/Echo\"]]\nexpect = [\"OK\"\n").unwrap();
    let (code, out) = run(fixture("broken.proto"), Some(examples.clone())).await;
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&format!("{}:2:", examples.display())), "{out}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nobody = format!("http://127.0.0.1:{port}");
    let (code, out) = contract_grpc(vec![
        "--target".into(),
        nobody.clone(),
        "--proto".into(),
        fixture("broken.proto").display().to_string(),
    ])
    .await;
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("could not connect"), "{out}");
    // By reflection as well: nothing to ask.
    let (code, out) = contract_grpc(vec!["--target".into(), nobody]).await;
    assert_eq!(code, Some(3), "{out}");
}

/// tonic-reflection answers with the file that defines a symbol, not its imports: the
/// descriptors must still load (the imports fetched by name), and a method the server
/// declares but does not implement is flagged (UNIMPLEMENTED).
#[tokio::test(flavor = "multi_thread")]
async fn reflection_descriptors_come_with_their_imports() {
    let fds = protox::compile(["stamped.proto"], [fixture("")]).unwrap();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_file_descriptor_set(fds)
        .build_v1()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(reflection)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let dir = tempfile::tempdir().unwrap();
    let findings_path = dir.path().join("findings.json");
    let (code, out) = contract_grpc(vec![
        "--target".into(),
        target,
        "--out".into(),
        findings_path.display().to_string(),
    ])
    .await;
    assert_eq!(code, Some(1), "{out}");
    let result: serde_json::Value = serde_json::from_slice(&std::fs::read(&findings_path).unwrap()).unwrap();
    assert_eq!(result["operations"], 1, "{out}");
    let findings = result["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["operation"] == "stamped.v1.Clock/Now"
            && f["check"] == "grpc_status_conformance"
            && f["actual"].as_str().unwrap().starts_with("UNIMPLEMENTED")),
        "{out}"
    );
}
