//! The Kubernetes manifests in `reference-stack/deploy/`, checked without a cluster: every file
//! parses (multi-document YAML) and is listed in the kustomization; selectors, ports, probes and
//! references to ConfigMaps, Secrets and claims agree with each other; the pods meet the
//! `restricted` Pod Security profile their namespace enforces; and each service's TOML config is
//! loaded by that service's own typed loader, with the environment the kubelet would give the
//! container, so an unknown or mistyped key fails here rather than in a crash-looping pod.
//! `ci/validate-k8s.sh` checks the same files against the Kubernetes API's JSON schemas.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;

mod configs;
mod manifests;
mod pod_security;

/// The image the manifests name for the stack's own binaries (mapped to a registry by the
/// kustomization's `images`).
const STACK_IMAGE: &str = "gauntlet-stack";

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Every resource of every manifest file, with the file it came from.
struct Manifests {
    resources: Vec<(String, Value)>,
}

impl Manifests {
    fn load() -> Manifests {
        let mut resources = Vec::new();
        for file in manifest_files() {
            let text = std::fs::read_to_string(deploy_dir().join(&file)).unwrap();
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let value = Value::deserialize(doc).unwrap_or_else(|e| panic!("{file}: {e}"));
                if !value.is_null() {
                    resources.push((file.clone(), value));
                }
            }
        }
        Manifests { resources }
    }

    fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Value> {
        self.resources
            .iter()
            .map(|(_, r)| r)
            .filter(move |r| r["kind"] == kind)
    }

    fn find(&self, kind: &str, name: &str) -> Option<&Value> {
        self.of_kind(kind).find(|r| r["metadata"]["name"] == name)
    }

    fn get(&self, kind: &str, name: &str) -> &Value {
        self.find(kind, name)
            .unwrap_or_else(|| panic!("no {kind} named {name}"))
    }

    /// Deployments and StatefulSets.
    fn workloads(&self) -> Vec<&Value> {
        self.of_kind("Deployment")
            .chain(self.of_kind("StatefulSet"))
            .collect()
    }

    /// The value of `key` in a Secret (`stringData`, or base64 `data`) or ConfigMap.
    fn key_of(&self, kind: &str, name: &str, key: &str) -> Option<String> {
        let resource = self.find(kind, name)?;
        if let Some(text) = resource["stringData"][key].as_str() {
            return Some(text.to_string());
        }
        let text = resource["data"][key].as_str()?;
        Some(match kind {
            "Secret" => String::from_utf8(STANDARD.decode(text).unwrap()).unwrap(),
            _ => text.to_string(),
        })
    }
}

/// The `.yaml` files of the deploy directory but the kustomization.
fn manifest_files() -> BTreeSet<String> {
    std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect()
}

fn name(resource: &Value) -> &str {
    resource["metadata"]["name"].as_str().unwrap_or("?")
}

fn pod_spec(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// Containers, then init containers.
fn all_containers(pod: &Value) -> impl Iterator<Item = &Value> {
    list(&pod["containers"])
        .iter()
        .chain(list(&pod["initContainers"]))
}

fn container<'a>(workload: &'a Value, container: &str) -> &'a Value {
    list(&pod_spec(workload)["containers"])
        .iter()
        .find(|c| c["name"] == container)
        .unwrap_or_else(|| panic!("{} has no container {container}", name(workload)))
}

/// Whether every `key: value` of `selector` is among `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let Some(selector) = selector.as_object().filter(|s| !s.is_empty()) else {
        return false;
    };
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The container port a Service's `targetPort` (a name or a number) or a probe's `port` means.
fn declared_port(pod: &Value, port: &Value) -> Option<u64> {
    list(&pod["containers"])
        .iter()
        .flat_map(|c| list(&c["ports"]))
        .find(|p| match port {
            Value::String(name) => p["name"] == name.as_str(),
            _ => p["containerPort"] == *port,
        })
        .and_then(|p| p["containerPort"].as_u64())
}
