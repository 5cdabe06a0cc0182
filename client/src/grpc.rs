//! The gRPC client of a virtual user: one HTTP/2 channel per target host (tonic), calls made
//! with a codec that encodes and decodes `prost_reflect::DynamicMessage`, so any method in the
//! scenario's protos can be called without generated code.

use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::FailureKind;
use crate::http::Failed;

/// A resolved gRPC method: what a call needs to encode its request and decode its response.
#[derive(Debug, Clone)]
pub struct GrpcMethod {
    /// `package.Service/Method`.
    pub name: String,
    /// The HTTP/2 path, `/package.Service/Method`.
    pub path: String,
    /// The request message type.
    pub input: prost_reflect::MessageDescriptor,
    /// The response message type.
    pub output: prost_reflect::MessageDescriptor,
    /// Whether the server streams its response.
    pub server_streaming: bool,
}

/// Encodes any dynamic message; decodes into the method's response type.
#[derive(Clone)]
pub struct DynamicCodec {
    response: MessageDescriptor,
}

/// Encoder half of [`DynamicCodec`].
pub struct DynamicEncoder;

/// Decoder half of [`DynamicCodec`].
pub struct DynamicDecoder(MessageDescriptor);

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("encoding the request: {e}")))
    }
}

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        let bytes = src.copy_to_bytes(src.remaining());
        DynamicMessage::decode(self.0.clone(), bytes)
            .map(Some)
            .map_err(|e| Status::internal(format!("decoding the response: {e}")))
    }
}

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        DynamicDecoder(self.response.clone())
    }
}

/// A codec that passes message bytes through untouched: the caller encodes its requests and
/// gets each response message's exact bytes, so it can decode them strictly itself
/// (`contract grpc` checks for unknown fields and malformed encodings).
#[derive(Clone, Copy, Debug, Default)]
pub struct RawCodec;

/// Encoder half of [`RawCodec`].
pub struct RawEncoder;

/// Decoder half of [`RawCodec`].
pub struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        // tonic hands the decoder exactly one length-prefixed message.
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

/// A finished call.
#[derive(Debug)]
pub struct GrpcExchange {
    /// The final status code.
    pub code: Code,
    /// Response messages (one for a unary call, any number for a server stream).
    pub messages: Vec<DynamicMessage>,
    /// Encoded size of the response messages.
    pub bytes: u64,
}

/// A user's open channels, by `host:port`.
#[derive(Default)]
pub struct Channels {
    open: Vec<(String, Channel)>,
}

impl Channels {
    /// The open channel to `authority` (`host:port`, h2c), connecting on first use.
    pub async fn channel(&mut self, authority: &str) -> Result<Channel, Failed> {
        if let Some((_, channel)) = self.open.iter().find(|(a, _)| a == authority) {
            return Ok(channel.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{authority}"))
            .map_err(|_| Failed {
                kind: FailureKind::Request,
                elapsed: None,
            })?
            .tcp_nodelay(true);
        let channel = endpoint.connect().await.map_err(|_| Failed {
            kind: FailureKind::Connect,
            elapsed: None,
        })?;
        self.open.push((authority.to_string(), channel.clone()));
        Ok(channel)
    }

    /// Calls `method` on `authority` with `request` and `metadata`, within `timeout`; the
    /// latency runs from `measure_from` when given, else from the call.
    pub async fn call(
        &mut self,
        authority: &str,
        method: &GrpcMethod,
        request: DynamicMessage,
        metadata: Vec<(String, String)>,
        timeout: Duration,
        measure_from: Option<Instant>,
    ) -> Result<(GrpcExchange, Duration), Failed> {
        let channel = self.channel(authority).await?;
        let mut request = tonic::Request::new(request);
        for (key, value) in metadata {
            match (key.parse::<tonic::metadata::AsciiMetadataKey>(), value.parse()) {
                (Ok(k), Ok(v)) => {
                    request.metadata_mut().insert(k, v);
                }
                _ => {
                    return Err(Failed {
                        kind: FailureKind::Request,
                        elapsed: None,
                    });
                }
            }
        }
        let path: http::uri::PathAndQuery = method.path.parse().map_err(|_| Failed {
            kind: FailureKind::Request,
            elapsed: None,
        })?;
        let codec = DynamicCodec {
            response: method.output.clone(),
        };
        let start = measure_from.unwrap_or_else(Instant::now);
        let streaming = method.server_streaming;
        let call = async move {
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
            if streaming {
                let mut stream = grpc.server_streaming(request, path, codec).await?.into_inner();
                let mut messages = Vec::new();
                while let Some(message) = stream.message().await? {
                    messages.push(message);
                }
                Ok::<_, Status>(messages)
            } else {
                Ok(vec![grpc.unary(request, path, codec).await?.into_inner()])
            }
        };
        match tokio::time::timeout(timeout, call).await {
            Ok(Ok(messages)) => {
                let bytes = messages.iter().map(|m| m.encoded_len() as u64).sum();
                Ok((
                    GrpcExchange {
                        code: Code::Ok,
                        messages,
                        bytes,
                    },
                    start.elapsed(),
                ))
            }
            Ok(Err(status)) => Ok((
                GrpcExchange {
                    code: status.code(),
                    messages: Vec::new(),
                    bytes: 0,
                },
                start.elapsed(),
            )),
            Err(_) => {
                // The channel may be wedged: open a new one next time.
                self.open.retain(|(a, _)| a != authority);
                Err(Failed {
                    kind: FailureKind::Timeout,
                    elapsed: Some(start.elapsed()),
                })
            }
        }
    }
}
