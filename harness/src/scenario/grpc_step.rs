//! Validation of gRPC steps: the `.proto` files named in `[target]` are parsed when the
//! scenario loads (protox, no `protoc`), each step's method is looked up in them, and its
//! message's field names are checked against the request type.

use std::collections::HashSet;
use std::path::Path;

use prost_reflect::{DescriptorPool, Kind, MessageDescriptor};
use toml::Spanned;

use super::file::{RawStep, RawTarget};
use super::plan::{GrpcMethod, GrpcStep, JsonTemplate};
use super::{StepScope, Validator, toml_to_json};

/// gRPC status codes by their canonical names.
pub fn code_from_name(name: &str) -> Option<tonic::Code> {
    use tonic::Code::*;
    Some(match name {
        "OK" => Ok,
        "CANCELLED" => Cancelled,
        "UNKNOWN" => Unknown,
        "INVALID_ARGUMENT" => InvalidArgument,
        "DEADLINE_EXCEEDED" => DeadlineExceeded,
        "NOT_FOUND" => NotFound,
        "ALREADY_EXISTS" => AlreadyExists,
        "PERMISSION_DENIED" => PermissionDenied,
        "RESOURCE_EXHAUSTED" => ResourceExhausted,
        "FAILED_PRECONDITION" => FailedPrecondition,
        "ABORTED" => Aborted,
        "OUT_OF_RANGE" => OutOfRange,
        "UNIMPLEMENTED" => Unimplemented,
        "INTERNAL" => Internal,
        "UNAVAILABLE" => Unavailable,
        "DATA_LOSS" => DataLoss,
        "UNAUTHENTICATED" => Unauthenticated,
        _ => return None,
    })
}

/// The field of `message` a JSON key names (by proto name or JSON name).
fn field_for(message: &MessageDescriptor, key: &str) -> Option<prost_reflect::FieldDescriptor> {
    message.fields().find(|f| f.name() == key || f.json_name() == key)
}

impl Validator<'_> {
    pub(super) fn protos(
        &mut self,
        target: &RawTarget,
        base_dir: Option<&Path>,
        base_url: &str,
    ) -> Option<DescriptorPool> {
        if let Some(reflection) = target.reflection.as_ref().filter(|r| *r.get_ref()) {
            if !target.proto.is_empty() {
                self.error(
                    reflection.span(),
                    "give either `proto` files or `reflection = true`, not both",
                );
                return None;
            }
            let fetched = gauntlet_client::reflect::fetch_blocking(base_url)
                .and_then(|fds| DescriptorPool::from_file_descriptor_set(fds).map_err(|e| e.to_string()));
            return match fetched {
                Ok(pool) => Some(pool),
                Err(e) => {
                    self.error(reflection.span(), format!("reflection from {base_url}: {e}"));
                    None
                }
            };
        }
        if target.proto.is_empty() {
            return None;
        }
        let root = match &target.proto_root {
            Some(r) => base_dir.map_or_else(|| Path::new(r.get_ref()).to_path_buf(), |d| d.join(r.get_ref())),
            None => base_dir.map_or_else(|| Path::new(".").to_path_buf(), Path::to_path_buf),
        };
        let files: Vec<&str> = target.proto.iter().map(|p| p.get_ref().as_str()).collect();
        let span = target.proto[0].span();
        match protox::compile(&files, [&root]) {
            Ok(fds) => match DescriptorPool::from_file_descriptor_set(fds) {
                Ok(pool) => Some(pool),
                Err(e) => {
                    self.error(span, format!("proto: {e}"));
                    None
                }
            },
            Err(e) => {
                // At the .proto's own line and column when protox names them; the gRPC steps
                // then say nothing more (their methods are unknown for this one reason).
                let (location, message) = gauntlet_contract::grpc::source::locate_protox_error(&e, &[&root]);
                let message = format!("{message} (compiling [target] proto, root {})", root.display());
                match location {
                    Some(location) => self.error_elsewhere(span, location, message),
                    None => self.error(span, message),
                }
                self.protos_failed = true;
                None
            }
        }
    }

    fn method(&mut self, spec: &Spanned<String>) -> Option<GrpcMethod> {
        let text = spec.get_ref().trim().trim_start_matches('/');
        let Some(pool) = &self.protos else {
            if self.protos_failed {
                return None;
            }
            self.error(
                spec.span(),
                "gRPC steps need descriptors: add `proto = [...]` (or `reflection = true`) to [target]",
            );
            return None;
        };
        let Some((service_name, method_name)) = text.rsplit_once('/') else {
            self.error(
                spec.span(),
                format!("grpc {text:?}: expected \"package.Service/Method\""),
            );
            return None;
        };
        let Some(service) = pool.get_service_by_name(service_name) else {
            let known: Vec<String> = pool.services().map(|s| s.full_name().to_string()).collect();
            self.error(
                spec.span(),
                format!(
                    "no service {service_name:?} in the protos (services: {})",
                    known.join(", ")
                ),
            );
            return None;
        };
        let Some(method) = service.methods().find(|m| m.name() == method_name) else {
            let known: Vec<String> = service.methods().map(|m| m.name().to_string()).collect();
            self.error(
                spec.span(),
                format!(
                    "service {service_name} has no method {method_name:?} (methods: {})",
                    known.join(", ")
                ),
            );
            return None;
        };
        if method.is_client_streaming() {
            self.error(
                spec.span(),
                format!("{text}: client-streaming calls are not supported yet"),
            );
            return None;
        }
        Some(GrpcMethod {
            name: format!("{service_name}/{method_name}"),
            path: format!("/{service_name}/{method_name}"),
            input: method.input(),
            output: method.output(),
            server_streaming: method.is_server_streaming(),
        })
    }

    /// Checks the field names of a message template against its type, recursively.
    fn check_fields(
        &mut self,
        json: &JsonTemplate,
        message: &MessageDescriptor,
        span: &std::ops::Range<usize>,
        at: &str,
    ) {
        let JsonTemplate::Object(fields) = json else {
            self.error(
                span.clone(),
                format!("{at}: a message is written as a table of its fields"),
            );
            return;
        };
        for (key, value) in fields {
            let Some(field) = field_for(message, key) else {
                let known: Vec<String> = message.fields().map(|f| f.name().to_string()).collect();
                self.error(
                    span.clone(),
                    format!(
                        "{at}: {} has no field {key:?} (fields: {})",
                        message.full_name(),
                        known.join(", ")
                    ),
                );
                continue;
            };
            if let (Kind::Message(inner), JsonTemplate::Object(_)) = (field.kind(), value)
                && !field.is_map()
            {
                self.check_fields(value, &inner, span, &format!("{at}.{key}"));
            }
        }
    }

    pub(super) fn grpc_step(
        &mut self,
        raw: &RawStep,
        spec: &Spanned<String>,
        visible: &mut HashSet<String>,
    ) -> Option<GrpcStep> {
        let method = self.method(spec);
        let slots = self.slots.clone();
        let feeders = std::mem::take(&mut self.feeders);
        let mut scope = StepScope {
            feeders: &feeders,
            slots: &slots,
            visible,
            env: self.env,
        };
        let message = match &raw.message {
            Some(m) => self.json_template(m.get_ref(), m.span(), &mut scope),
            None => JsonTemplate::Object(Vec::new()),
        };
        let metadata = raw
            .metadata
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), self.scalar_template(v, &mut scope)))
            .collect();
        self.feeders = feeders;
        if let Some(method) = &method {
            let span = raw.message.as_ref().map_or(spec.span(), Spanned::span);
            self.check_fields(&message, &method.input, &span, "message");
        }
        if raw.body.is_some()
            || raw.json.is_some()
            || raw.form.is_some()
            || !raw.headers.is_empty()
            || !raw.query.is_empty()
        {
            self.error(
                spec.span(),
                "a gRPC step takes `message` and `metadata`, not body/json/form/headers/query",
            );
        }
        if raw.check.status.is_some() || !raw.check.headers.is_empty() {
            self.error(
                spec.span(),
                "a gRPC step checks `code` (e.g. [\"OK\"]) and `body`, not status/headers",
            );
        }
        let mut codes = Vec::new();
        for name in raw.check.code.iter().flatten() {
            match code_from_name(name) {
                Some(code) => codes.push(code),
                None => self.error(
                    spec.span(),
                    format!("check.code: {name:?} is not a gRPC status name (OK, NOT_FOUND, ...)"),
                ),
            }
        }
        let mut body_checks = Vec::new();
        for (pointer, expected) in &raw.check.body {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                self.error(
                    spec.span(),
                    format!("check.body: {pointer:?} is not a JSON pointer (start it with /)"),
                );
            }
            body_checks.push((pointer.clone(), toml_to_json(expected)));
        }
        let matches = self.patterns(&raw.check.matches);
        let mut extract = Vec::new();
        for (name, source) in &raw.extract {
            let Some(pointer) = source
                .get_ref()
                .strip_prefix("json:")
                .filter(|p| p.is_empty() || p.starts_with('/'))
            else {
                self.error(
                    source.span(),
                    format!("extract.{name}: a gRPC step extracts \"json:/pointer\" from the response"),
                );
                continue;
            };
            let slot = self.extracted_slot(name);
            extract.push((slot, pointer.to_string()));
        }
        for name in raw.extract.keys() {
            visible.insert(name.clone());
        }
        // Without a method an error was reported, and the plan is never run.
        method.map(|method| GrpcStep {
            method,
            message,
            metadata,
            codes,
            body_checks,
            matches,
            extract,
        })
    }
}
