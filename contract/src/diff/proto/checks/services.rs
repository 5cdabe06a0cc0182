//! Service-pair rules (services paired by full name, rpcs by name).

use super::*;

pub(super) fn service_pair(out: &mut Out, old: &ServiceDescriptor, new: &ServiceDescriptor) {
    let file = new.parent_file();
    for old_method in old.methods() {
        let Some(new_method) = new.methods().find(|m| m.name() == old_method.name()) else {
            let location = out.new_at(&file, &[new.path().to_vec()]);
            out.add(
                "RPC_NO_DELETE",
                location,
                format!(
                    "Previously present RPC {:?} on service {:?} was deleted.",
                    old_method.name(),
                    new.name()
                ),
            );
            continue;
        };
        let path = new_method.path().to_vec();
        let rpc = format!("RPC {:?} on service {:?}", new_method.name(), new.name());
        let streaming = |b: bool| if b { "streaming" } else { "unary" };
        for (rule, side, a, b) in [
            (
                "RPC_SAME_CLIENT_STREAMING",
                "client",
                old_method.is_client_streaming(),
                new_method.is_client_streaming(),
            ),
            (
                "RPC_SAME_SERVER_STREAMING",
                "server",
                old_method.is_server_streaming(),
                new_method.is_server_streaming(),
            ),
        ] {
            if a != b {
                let location = out.new_at(&file, std::slice::from_ref(&path));
                out.add(
                    rule,
                    location,
                    format!(
                        "{rpc} changed from {side} {} to {side} {}.",
                        streaming(a),
                        streaming(b)
                    ),
                );
            }
        }
        let (op, np) = (
            old_method.method_descriptor_proto(),
            new_method.method_descriptor_proto(),
        );
        for (rule, what, field, a, b) in [
            (
                "RPC_SAME_REQUEST_TYPE",
                "request",
                METHOD_INPUT,
                op.input_type(),
                np.input_type(),
            ),
            (
                "RPC_SAME_RESPONSE_TYPE",
                "response",
                METHOD_OUTPUT,
                op.output_type(),
                np.output_type(),
            ),
        ] {
            if a != b {
                let location = out.new_at(&file, &[with(&path, &[field]), path.clone()]);
                out.add(
                    rule,
                    location,
                    format!(
                        "{rpc} changed {what} type from {:?} to {:?}.",
                        a.trim_start_matches('.'),
                        b.trim_start_matches('.')
                    ),
                );
            }
        }
        let level = |m: &prost_types::MethodDescriptorProto| {
            m.options
                .as_ref()
                .map_or("IDEMPOTENCY_UNKNOWN", |o| o.idempotency_level().as_str_name())
        };
        if level(op) != level(np) {
            let location = out.new_at(&file, &[with(&path, &[4, 34]), path.clone()]);
            out.add(
                "RPC_SAME_IDEMPOTENCY_LEVEL",
                location,
                format!(
                    "{rpc} changed option \"idempotency_level\" from {:?} to {:?}.",
                    level(op),
                    level(np)
                ),
            );
        }
    }
}
