//! One call to a method, whatever its kind, with the response messages kept as their exact
//! bytes; and the strict decoding those bytes are judged by.

use std::time::Duration;

use bytes::Bytes;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, MethodDescriptor, Value};
use tonic::Code;

use super::plan::{Case, full_name};
use gauntlet_client::FailureKind;
use gauntlet_client::grpc::{Channels, RawCodec};

/// What came back from one call.
pub(super) struct Outcome {
    /// The final code; `None` when nothing answered.
    pub(super) code: Option<Code>,
    /// The status message, or why nothing answered.
    pub(super) detail: String,
    /// The response messages' exact bytes, in order.
    pub(super) responses: Vec<Bytes>,
    /// Whether the connection could not be made.
    pub(super) connect_failed: bool,
}

pub(super) async fn call(
    channels: &mut Channels,
    authority: &str,
    method: &MethodDescriptor,
    case: &Case,
    timeout: Duration,
) -> Outcome {
    let channel = match channels.channel(authority).await {
        Ok(channel) => channel,
        Err(failed) => {
            return Outcome {
                code: None,
                detail: format!("no response ({})", failed.kind.as_str()),
                responses: Vec::new(),
                connect_failed: failed.kind == FailureKind::Connect,
            };
        }
    };
    let path: http::uri::PathAndQuery = match format!("/{}", full_name(method)).parse() {
        Ok(path) => path,
        Err(e) => {
            return Outcome {
                code: None,
                detail: format!("no call made: {e}"),
                responses: Vec::new(),
                connect_failed: false,
            };
        }
    };
    let bodies: Vec<Bytes> = case
        .messages
        .iter()
        .map(|m| Bytes::from(m.encode_to_vec()))
        .collect();
    let mut request = tonic::Request::new(tokio_stream::iter(bodies));
    for (key, value) in &case.metadata {
        // Keys and values were checked when the plan was made.
        if let (Ok(k), Ok(v)) = (
            key.parse::<tonic::metadata::AsciiMetadataKey>(),
            value.parse::<tonic::metadata::AsciiMetadataValue>(),
        ) {
            request.metadata_mut().insert(k, v);
        }
    }
    // Every kind of method is called as a bidirectional stream: the bytes on the wire are
    // the same, and the cardinality of the answer is then checked here, not assumed by tonic.
    let exchange = async move {
        let mut responses = Vec::new();
        let mut grpc = tonic::client::Grpc::new(channel);
        if let Err(e) = grpc.ready().await {
            return (tonic::Status::unavailable(e.to_string()), responses);
        }
        let mut stream = match grpc.streaming(request, path, RawCodec).await {
            Ok(response) => response.into_inner(),
            Err(status) => return (status, responses),
        };
        loop {
            match stream.message().await {
                Ok(Some(bytes)) => responses.push(bytes),
                Ok(None) => return (tonic::Status::ok(""), responses),
                Err(status) => return (status, responses),
            }
        }
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok((status, responses)) => Outcome {
            code: Some(status.code()),
            detail: status.message().chars().take(160).collect(),
            responses,
            connect_failed: false,
        },
        Err(_) => Outcome {
            code: None,
            detail: format!("no response within {timeout:?}"),
            responses: Vec::new(),
            connect_failed: false,
        },
    }
}

/// Decodes `bytes` as `desc` strictly: a malformed encoding, a wrong wire type or an unknown
/// field (anywhere in the message tree) is an error.
pub fn decode_strictly(desc: &MessageDescriptor, bytes: &[u8]) -> Result<DynamicMessage, String> {
    let message = DynamicMessage::decode(desc.clone(), bytes)
        .map_err(|e| format!("does not decode as {}: {e}", desc.full_name()))?;
    match unknown_field(&message, desc.name()) {
        Some(at) => Err(format!("unknown field {at}")),
        None => Ok(message),
    }
}

fn unknown_field(message: &DynamicMessage, at: &str) -> Option<String> {
    if let Some(field) = message.unknown_fields().next() {
        return Some(format!("number {} in {at}", field.number()));
    }
    for (field, value) in message.fields() {
        let here = format!("{at}.{}", field.name());
        let found = match value {
            Value::Message(inner) => unknown_field(inner, &here),
            Value::List(items) => items.iter().enumerate().find_map(|(i, item)| match item {
                Value::Message(inner) => unknown_field(inner, &format!("{here}[{i}]")),
                _ => None,
            }),
            Value::Map(map) => map.values().find_map(|item| match item {
                Value::Message(inner) => unknown_field(inner, &format!("{here}[..]")),
                _ => None,
            }),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}
