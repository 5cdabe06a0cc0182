//! Descriptors from a running server, through gRPC server reflection (v1): the services it
//! lists and the files that define them (with their dependencies). Used when a scenario says
//! `reflection = true` instead of naming .proto files.

use std::time::Duration;

use prost::Message;
use prost_types::{FileDescriptorProto, FileDescriptorSet};
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

type Client = ServerReflectionClient<tonic::transport::Channel>;

async fn ask(client: &mut Client, request: MessageRequest) -> Result<MessageResponse, String> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .map_err(|s| format!("reflection call failed: {} ({})", s.message(), s.code()))?
        .into_inner();
    let reply: ServerReflectionResponse = stream
        .message()
        .await
        .map_err(|s| format!("reflection call failed: {} ({})", s.message(), s.code()))?
        .ok_or("the server closed the reflection stream without answering")?;
    match reply.message_response {
        Some(MessageResponse::ErrorResponse(e)) => {
            Err(format!("reflection error {}: {}", e.error_code, e.error_message))
        }
        Some(other) => Ok(other),
        None => Err("empty reflection response".into()),
    }
}

async fn fetch(base_url: &str) -> Result<FileDescriptorSet, String> {
    let endpoint = tonic::transport::Endpoint::from_shared(base_url.to_string())
        .map_err(|e| format!("{base_url}: {e}"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10));
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {base_url}: {e}"))?;
    let mut client = ServerReflectionClient::new(channel);
    let services = match ask(&mut client, MessageRequest::ListServices(String::new())).await? {
        MessageResponse::ListServicesResponse(list) => list.service,
        _ => return Err("unexpected answer to list_services".into()),
    };
    let mut files: Vec<FileDescriptorProto> = Vec::new();
    for service in services
        .iter()
        .filter(|s| !s.name.starts_with("grpc.reflection."))
    {
        let MessageResponse::FileDescriptorResponse(found) = ask(
            &mut client,
            MessageRequest::FileContainingSymbol(service.name.clone()),
        )
        .await?
        else {
            return Err(format!("unexpected answer for {}", service.name));
        };
        for bytes in found.file_descriptor_proto {
            let file =
                FileDescriptorProto::decode(bytes.as_slice()).map_err(|e| format!("bad descriptor: {e}"))?;
            if !files.iter().any(|f| f.name == file.name) {
                files.push(file);
            }
        }
    }
    if files.is_empty() {
        return Err(format!("{base_url} lists no services through reflection"));
    }
    Ok(FileDescriptorSet { file: files })
}

/// Fetches the descriptors of every service `base_url` offers. Runs on its own thread and
/// runtime so that it can be called while a scenario is validated, from sync or async code.
pub fn fetch_blocking(base_url: &str) -> Result<FileDescriptorSet, String> {
    let url = base_url.to_string();
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start a runtime: {e}"))?;
                runtime.block_on(fetch(&url))
            })
            .join()
            .unwrap_or_else(|_| Err("the reflection client failed".into()))
    })
}
