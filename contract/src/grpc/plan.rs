//! The calls `contract grpc` makes, decided before any is sent: per method of the chosen
//! services, the examples file's calls, the default message, generated messages, and one call
//! repeated without credentials.

use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor};
use tonic::Code;

use super::generate::MessageGenerator;
use super::{ConformanceError, Example, GrpcOptions};

#[derive(Debug, Clone)]
pub(super) enum Expect {
    /// From an example (default: OK).
    Codes(Vec<Code>),
    /// A generated call: anything but UNKNOWN, INTERNAL, UNIMPLEMENTED and DATA_LOSS.
    Sensible,
    /// The call repeated without credentials.
    Refused,
}

#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) label: String,
    pub(super) messages: Vec<DynamicMessage>,
    pub(super) metadata: Vec<(String, String)>,
    pub(super) expect: Expect,
}

/// One method and the calls to make to it.
#[derive(Debug)]
pub struct MethodPlan {
    pub(super) method: MethodDescriptor,
    pub(super) cases: Vec<Case>,
}

/// Everything to send, validated before anything is sent.
#[derive(Debug)]
pub struct Plan {
    pub(super) methods: Vec<MethodPlan>,
}

impl Plan {
    /// How many calls the plan makes.
    pub fn calls(&self) -> usize {
        self.methods.iter().map(|m| m.cases.len()).sum()
    }
}

pub(super) fn full_name(method: &MethodDescriptor) -> String {
    format!("{}/{}", method.parent_service().full_name(), method.name())
}

/// Builds the calls: per method of the chosen services, its examples, the default message
/// and `max_examples` generated ones, and one call without credentials.
pub fn plan(
    pool: &DescriptorPool,
    examples: &[Example],
    options: &GrpcOptions,
) -> Result<Plan, ConformanceError> {
    let services: Vec<_> = if options.services.is_empty() {
        pool.services()
            .filter(|s| !s.full_name().starts_with("grpc.reflection."))
            .collect()
    } else {
        let mut chosen = Vec::new();
        for name in &options.services {
            let service = pool.get_service_by_name(name).ok_or_else(|| {
                let known: Vec<String> = pool.services().map(|s| s.full_name().to_string()).collect();
                ConformanceError::Invalid {
                    location: "--service".into(),
                    message: format!(
                        "no service {name:?} in the descriptors (services: {})",
                        known.join(", ")
                    ),
                }
            })?;
            chosen.push(service);
        }
        chosen
    };
    if services.is_empty() {
        return Err(ConformanceError::Invalid {
            location: "--proto".into(),
            message: "the descriptors define no service".into(),
        });
    }
    // Every example must name a method that exists, chosen or not: a typo must not pass as
    // "nothing to check".
    for example in examples {
        let found = example.method.rsplit_once('/').and_then(|(service, method)| {
            pool.get_service_by_name(service)?
                .methods()
                .find(|m| m.name() == method)
        });
        if found.is_none() {
            let known: Vec<String> = services
                .iter()
                .flat_map(|s| s.methods())
                .map(|m| full_name(&m))
                .collect();
            return Err(ConformanceError::Invalid {
                location: example.method_at.clone(),
                message: format!(
                    "no method {:?} in the descriptors (methods: {})",
                    example.method,
                    known.join(", ")
                ),
            });
        }
    }
    let mut generator = MessageGenerator::new(options.seed);
    let mut methods = Vec::new();
    for service in services {
        for method in service.methods() {
            let name = full_name(&method);
            let mut cases = Vec::new();
            for (i, example) in examples.iter().filter(|e| e.method == name).enumerate() {
                cases.push(example_case(&method, example, i, options)?);
            }
            let input = method.input();
            let (default, generated): (Vec<DynamicMessage>, Vec<DynamicMessage>) = (
                vec![DynamicMessage::new(input.clone())],
                (0..options.max_examples)
                    .map(|_| generator.message(&input))
                    .collect(),
            );
            cases.push(Case {
                label: "default message".into(),
                messages: default,
                metadata: options.metadata.clone(),
                expect: Expect::Sensible,
            });
            if method.is_client_streaming() {
                // A stream method gets its generated messages as one stream.
                if !generated.is_empty() {
                    cases.push(Case {
                        label: format!("generated stream of {} (seed {})", generated.len(), options.seed),
                        messages: generated,
                        metadata: options.metadata.clone(),
                        expect: Expect::Sensible,
                    });
                }
            } else {
                for (i, message) in generated.into_iter().enumerate() {
                    cases.push(Case {
                        label: format!("generated #{} (seed {})", i + 1, options.seed),
                        messages: vec![message],
                        metadata: options.metadata.clone(),
                        expect: Expect::Sensible,
                    });
                }
            }
            // An example with `auth_check = false` marks its method public; health checks are
            // public by the protocol's convention.
            let public = examples.iter().any(|e| e.method == name && !e.auth_check);
            if options.auth_check && !public && service.full_name() != "grpc.health.v1.Health" {
                let has_credentials = |c: &Case| {
                    c.metadata
                        .iter()
                        .any(|(k, _)| options.credential_keys.contains(k))
                };
                if let Some(first) = cases.iter().find(|c| has_credentials(c)) {
                    let mut probe = first.clone();
                    probe
                        .metadata
                        .retain(|(k, _)| !options.credential_keys.contains(k));
                    probe.label = format!("{}, without credentials", probe.label);
                    probe.expect = Expect::Refused;
                    cases.push(probe);
                }
            }
            methods.push(MethodPlan { method, cases });
        }
    }
    Ok(Plan { methods })
}

fn example_case(
    method: &MethodDescriptor,
    example: &Example,
    index: usize,
    options: &GrpcOptions,
) -> Result<Case, ConformanceError> {
    let name = full_name(method);
    if !method.is_client_streaming() && example.messages.len() != 1 {
        return Err(ConformanceError::Invalid {
            location: example.method_at.clone(),
            message: format!(
                "{name} takes one request message: write `message = {{..}}`, not a `messages` stream"
            ),
        });
    }
    let mut messages = Vec::new();
    for (json, at) in &example.messages {
        let message =
            DynamicMessage::deserialize(method.input(), json).map_err(|e| ConformanceError::Invalid {
                location: at.clone(),
                message: format!(
                    "not a {} in the proto3 JSON mapping: {e}",
                    method.input().full_name()
                ),
            })?;
        messages.push(message);
    }
    let mut metadata = options.metadata.clone();
    for (key, value) in &example.metadata {
        metadata.retain(|(k, _)| k != key);
        metadata.push((key.clone(), value.clone()));
    }
    Ok(Case {
        label: match &example.name {
            Some(n) => format!("example {n:?}"),
            None => format!("example #{}", index + 1),
        },
        messages,
        metadata,
        expect: Expect::Codes(example.expect.clone().unwrap_or_else(|| vec![Code::Ok])),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::examples;

    fn pool() -> DescriptorPool {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("p.proto"),
            "syntax = \"proto3\"; package p;\nmessage M { string s = 1; }\n\
             service S { rpc One(M) returns (M); rpc Many(stream M) returns (stream M); rpc Free(M) returns (M); }\n",
        )
        .unwrap();
        DescriptorPool::from_file_descriptor_set(protox::compile(["p.proto"], [dir.path()]).unwrap()).unwrap()
    }

    fn options(metadata: &[(&str, &str)]) -> GrpcOptions {
        let mut options = GrpcOptions::new("http://127.0.0.1:1");
        options.metadata = metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        options.max_examples = 2;
        options
    }

    fn labels(plan: &Plan, method: &str) -> Vec<String> {
        let m = plan.methods.iter().find(|m| m.method.name() == method).unwrap();
        m.cases.iter().map(|c| c.label.clone()).collect()
    }

    #[test]
    fn each_method_gets_examples_defaults_generated_and_one_probe_without_credentials() {
        let text = "[[\"p.S/One\"]]\nname = \"x\"\nmessage = { s = \"a\" }\n\n\
                    [[\"p.S/Many\"]]\nmessages = [{ s = \"a\" }, {}]\n\n\
                    [[\"p.S/Free\"]]\nauth_check = false\n";
        let examples = examples::parse(text, "e.toml").unwrap();
        let planned = plan(&pool(), &examples, &options(&[("authorization", "Bearer t")])).unwrap();
        assert_eq!(
            labels(&planned, "One"),
            [
                "example \"x\"",
                "default message",
                "generated #1 (seed 1)",
                "generated #2 (seed 1)",
                "example \"x\", without credentials"
            ]
        );
        // A request stream is one call; the generated messages form one stream.
        assert_eq!(
            labels(&planned, "Many"),
            [
                "example #1",
                "default message",
                "generated stream of 2 (seed 1)",
                "example #1, without credentials"
            ]
        );
        // auth_check = false: a public method, not probed.
        assert!(
            !labels(&planned, "Free")
                .iter()
                .any(|l| l.contains("without credentials"))
        );
        // Without credentials there is nothing to take away.
        let planned = plan(&pool(), &[], &options(&[])).unwrap();
        assert!(
            !labels(&planned, "One")
                .iter()
                .any(|l| l.contains("without credentials"))
        );
    }

    #[test]
    fn examples_that_do_not_fit_the_method_are_located() {
        let err = |text: &str| {
            let examples = examples::parse(text, "e.toml").unwrap();
            plan(&pool(), &examples, &options(&[])).unwrap_err().to_string()
        };
        let e = err("[[\"p.S/One\"]]\nmessages = [{}, {}]\n");
        assert!(
            e.starts_with("e.toml:1:3:") && e.contains("one request message"),
            "{e}"
        );
        let e = err("[[\"p.S/One\"]]\nmessage = { t = 1 }\n");
        assert!(e.starts_with("e.toml:2:11:") && e.contains("p.M"), "{e}");
        let e = err("[[\"p.S/Two\"]]\n");
        assert!(e.starts_with("e.toml:1:3:") && e.contains("p.S/One"), "{e}");
    }
}
