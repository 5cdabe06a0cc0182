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

/// Why descriptors could not be fetched through reflection.
#[derive(Debug, thiserror::Error)]
pub enum ReflectError {
    /// Nothing answered at the address.
    #[error("cannot connect to {url}: {reason}")]
    Unreachable {
        /// The base URL tried.
        url: String,
        /// The transport's reason.
        reason: String,
    },
    /// The server answered, but not with usable descriptors (no reflection service, an error
    /// answer, a malformed descriptor).
    #[error("{0}")]
    Failed(String),
}

/// Fetches the descriptors of every service `base_url` offers (except reflection itself),
/// from async code.
pub async fn fetch_async(base_url: &str) -> Result<FileDescriptorSet, ReflectError> {
    let endpoint = tonic::transport::Endpoint::from_shared(base_url.to_string())
        .map_err(|e| ReflectError::Failed(format!("{base_url}: {e}")))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10));
    let channel = endpoint.connect().await.map_err(|e| ReflectError::Unreachable {
        url: base_url.to_string(),
        reason: e.to_string(),
    })?;
    fetch_over(channel, base_url).await.map_err(ReflectError::Failed)
}

async fn fetch(base_url: &str) -> Result<FileDescriptorSet, String> {
    fetch_async(base_url).await.map_err(|e| e.to_string())
}

async fn fetch_over(channel: tonic::transport::Channel, base_url: &str) -> Result<FileDescriptorSet, String> {
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
    // Some servers (tonic-reflection among them) answer with the one file that defines the
    // symbol, not its imports: fetch the missing imports by name until the set is closed.
    let mut next = 0;
    while next < files.len() {
        let missing: Vec<String> = files[next]
            .dependency
            .iter()
            .filter(|d| !files.iter().any(|f| f.name.as_deref() == Some(d.as_str())))
            .cloned()
            .collect();
        for name in missing {
            let MessageResponse::FileDescriptorResponse(found) =
                ask(&mut client, MessageRequest::FileByFilename(name.clone())).await?
            else {
                return Err(format!("unexpected answer for file {name}"));
            };
            for bytes in found.file_descriptor_proto {
                let file = FileDescriptorProto::decode(bytes.as_slice())
                    .map_err(|e| format!("bad descriptor: {e}"))?;
                if !files.iter().any(|f| f.name == file.name) {
                    files.push(file);
                }
            }
        }
        next += 1;
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
