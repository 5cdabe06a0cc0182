//! The Kubernetes manifests in `reference-stack/deploy/`, checked without a cluster: every file
//! parses (multi-document YAML) and is listed in the kustomization; selectors, ports, probes and
//! references to ConfigMaps, Secrets and claims agree with each other; the pods meet the
//! `restricted` Pod Security profile their namespace enforces; and each service's TOML config is
//! loaded by that service's own typed loader, with the environment the kubelet would give the
//! container, so an unknown or mistyped key fails here rather than in a crash-looping pod.
//! `ci/validate-k8s.sh` checks the same files against the Kubernetes API's JSON schemas.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stack_catalog::CatalogConfig;
use stack_gateway::GatewayConfig;
use stack_iam::IamConfig;
use stack_partner::PartnerConfig;

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

#[test]
fn every_manifest_parses_and_the_kustomization_lists_every_file() {
    let text = std::fs::read_to_string(deploy_dir().join("kustomization.yaml")).unwrap();
    let kustomization: Value = serde_yaml::from_str(&text).unwrap();
    let listed: BTreeSet<String> = list(&kustomization["resources"])
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        listed,
        manifest_files(),
        "kustomization.yaml resources vs the files in deploy/"
    );
    let images = list(&kustomization["images"]);
    assert!(
        images
            .iter()
            .any(|i| i["name"] == STACK_IMAGE && i["newName"].is_string()),
        "the kustomization maps {STACK_IMAGE} to a registry: {images:?}"
    );

    let manifests = Manifests::load();
    let api_version = BTreeMap::from([
        ("Namespace", "v1"),
        ("Secret", "v1"),
        ("ConfigMap", "v1"),
        ("PersistentVolumeClaim", "v1"),
        ("Service", "v1"),
        ("Deployment", "apps/v1"),
        ("StatefulSet", "apps/v1"),
        ("PodDisruptionBudget", "policy/v1"),
    ]);
    let mut seen = BTreeSet::new();
    for (file, resource) in &manifests.resources {
        let kind = resource["kind"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: a resource without kind"));
        let what = format!("{file}: {kind} {}", name(resource));
        assert_eq!(
            api_version.get(kind).copied(),
            resource["apiVersion"].as_str(),
            "{what}: apiVersion"
        );
        let n = name(resource);
        let dns_label = !n.is_empty()
            && n.len() <= 63
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !n.starts_with('-')
            && !n.ends_with('-');
        assert!(dns_label, "{what}: the name is not a DNS label");
        assert!(
            resource["metadata"]["namespace"].is_null(),
            "{what}: the kustomization sets the namespace"
        );
        assert!(
            seen.insert((kind.to_string(), n.to_string())),
            "{what}: defined twice"
        );
    }
    for workload in manifests.workloads() {
        for c in all_containers(pod_spec(workload)) {
            let image = c["image"].as_str().unwrap();
            let pinned = image
                .rsplit_once(':')
                .is_some_and(|(_, tag)| tag != "latest" && !tag.contains('/'));
            assert!(
                image == STACK_IMAGE || pinned,
                "{}/{}: image {image} is neither {STACK_IMAGE} nor pinned to a tag",
                name(workload),
                c["name"]
            );
        }
    }
}

#[test]
fn workloads_and_services_select_existing_pods_on_declared_ports() {
    let m = Manifests::load();
    let workloads = m.workloads();
    for w in &workloads {
        let labels = &w["spec"]["template"]["metadata"]["labels"];
        assert!(
            selects(&w["spec"]["selector"]["matchLabels"], labels),
            "{}: selector vs template labels",
            name(w)
        );
        for other in &workloads {
            let other_labels = &other["spec"]["template"]["metadata"]["labels"];
            if name(other) != name(w) {
                assert!(
                    !selects(&w["spec"]["selector"]["matchLabels"], other_labels),
                    "{}'s selector also takes {}'s pods",
                    name(w),
                    name(other)
                );
            }
        }
    }
    for service in m.of_kind("Service") {
        let selected: Vec<_> = workloads
            .iter()
            .filter(|w| {
                selects(
                    &service["spec"]["selector"],
                    &w["spec"]["template"]["metadata"]["labels"],
                )
            })
            .collect();
        assert!(!selected.is_empty(), "Service {} selects no pods", name(service));
        for port in list(&service["spec"]["ports"]) {
            assert!(
                port["name"].is_string(),
                "Service {}: unnamed port",
                name(service)
            );
            let target = if port["targetPort"].is_null() {
                &port["port"]
            } else {
                &port["targetPort"]
            };
            for w in &selected {
                assert!(
                    declared_port(pod_spec(w), target).is_some(),
                    "Service {} targets port {target} that {} does not declare",
                    name(service),
                    name(w)
                );
            }
        }
    }

    // the gateway finds catalog's pods by DNS: a headless Service (one A record per ready pod)
    let headless = m.get("Service", "catalog-headless");
    assert_eq!(
        headless["spec"]["clusterIP"], "None",
        "catalog-headless must be headless"
    );
    assert_ne!(
        headless["spec"]["publishNotReadyAddresses"], true,
        "only ready pods in DNS"
    );
    let catalog = m.get("Deployment", "catalog");
    assert!(selects(
        &headless["spec"]["selector"],
        &catalog["spec"]["template"]["metadata"]["labels"]
    ));
    assert!(
        catalog["spec"]["replicas"].as_u64() >= Some(2),
        "several catalog replicas behind the gateway"
    );

    for set in m.of_kind("StatefulSet") {
        let governing = m.get("Service", set["spec"]["serviceName"].as_str().unwrap());
        assert_eq!(
            governing["spec"]["clusterIP"],
            "None",
            "{}: serviceName must be headless",
            name(set)
        );
        assert!(selects(
            &governing["spec"]["selector"],
            &set["spec"]["template"]["metadata"]["labels"]
        ));
    }
    for pdb in m.of_kind("PodDisruptionBudget") {
        let target = workloads
            .iter()
            .find(|w| {
                selects(
                    &pdb["spec"]["selector"]["matchLabels"],
                    &w["spec"]["template"]["metadata"]["labels"],
                )
            })
            .unwrap_or_else(|| panic!("PodDisruptionBudget {} selects no pods", name(pdb)));
        assert!(
            target["spec"]["replicas"].as_u64() > pdb["spec"]["minAvailable"].as_u64(),
            "PodDisruptionBudget {} would block every eviction",
            name(pdb)
        );
    }
}

/// A ReadWriteOnce claim attaches to one node: pods of a Deployment that share one must be kept
/// on one node (catalog: its replicas share one SQLite file), and a single replica must be
/// replaced with `Recreate` (a new pod scheduled elsewhere would wait for the old one's volume).
#[test]
fn pods_sharing_a_read_write_once_claim_stay_on_one_node() {
    let m = Manifests::load();
    for w in m.of_kind("Deployment") {
        let claims: Vec<&Value> = list(&pod_spec(w)["volumes"])
            .iter()
            .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
            .map(|claim| m.get("PersistentVolumeClaim", claim))
            .filter(|claim| list(&claim["spec"]["accessModes"]) == [Value::from("ReadWriteOnce")])
            .collect();
        if claims.is_empty() {
            continue;
        }
        let replicas = w["spec"]["replicas"].as_u64().unwrap_or(1);
        if replicas == 1 {
            assert_eq!(
                w["spec"]["strategy"]["type"],
                "Recreate",
                "{}: one replica on a claim",
                name(w)
            );
            continue;
        }
        let labels = &w["spec"]["template"]["metadata"]["labels"];
        let together =
            list(&pod_spec(w)["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"])
                .iter()
                .any(|term| {
                    term["topologyKey"] == "kubernetes.io/hostname"
                        && selects(&term["labelSelector"]["matchLabels"], labels)
                });
        assert!(
            together,
            "{}: {replicas} replicas share a ReadWriteOnce claim but may land on several nodes",
            name(w)
        );
    }
}

#[test]
fn probes_check_readyz_and_healthz_on_a_declared_port() {
    let m = Manifests::load();
    for w in m.workloads() {
        for c in list(&pod_spec(w)["containers"]) {
            let what = format!("{}/{}", name(w), c["name"]);
            for probe in ["readinessProbe", "livenessProbe"] {
                assert!(c[probe].is_object(), "{what}: no {probe}");
            }
            if c["image"] != STACK_IMAGE {
                continue;
            }
            for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
                let get = &c[probe]["httpGet"];
                assert_eq!(get["path"], path, "{what}: {probe}");
                assert!(
                    declared_port(pod_spec(w), &get["port"]).is_some(),
                    "{what}: {probe} on port {} that the container does not declare",
                    get["port"]
                );
            }
        }
    }
}

#[test]
fn referenced_config_maps_secrets_and_claims_exist() {
    let m = Manifests::load();
    let mut used = BTreeSet::new();
    for w in m.workloads() {
        let pod = pod_spec(w);
        let mut volumes = BTreeMap::new();
        for v in list(&pod["volumes"]) {
            let vname = v["name"].as_str().unwrap();
            let optional = |source: &Value| source["optional"] == true;
            let refer = if let Some(cm) = v["configMap"]["name"].as_str() {
                Some(("ConfigMap", cm, optional(&v["configMap"])))
            } else if let Some(secret) = v["secret"]["secretName"].as_str() {
                Some(("Secret", secret, optional(&v["secret"])))
            } else {
                v["persistentVolumeClaim"]["claimName"]
                    .as_str()
                    .map(|claim| ("PersistentVolumeClaim", claim, false))
            };
            if let Some((kind, target, optional)) = refer {
                assert!(
                    optional || m.find(kind, target).is_some(),
                    "{}: volume {vname} needs {kind} {target}",
                    name(w)
                );
                used.insert((kind, target.to_string()));
            }
            volumes.insert(vname, v);
        }
        for template in list(&w["spec"]["volumeClaimTemplates"]) {
            volumes.insert(name(template), template);
        }
        for c in all_containers(pod) {
            let what = format!("{}/{}", name(w), c["name"]);
            for mount in list(&c["volumeMounts"]) {
                let vname = mount["name"].as_str().unwrap();
                let volume = volumes
                    .get(vname)
                    .unwrap_or_else(|| panic!("{what}: mounts undeclared {vname}"));
                if let (Some(key), Some(cm)) =
                    (mount["subPath"].as_str(), volume["configMap"]["name"].as_str())
                {
                    assert!(
                        m.key_of("ConfigMap", cm, key).is_some(),
                        "{what}: ConfigMap {cm} has no {key}"
                    );
                }
            }
            for env in list(&c["env"]) {
                for (source, kind) in [("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")] {
                    let r = &env["valueFrom"][source];
                    if let (Some(target), Some(key)) = (r["name"].as_str(), r["key"].as_str()) {
                        assert!(
                            r["optional"] == true || m.key_of(kind, target, key).is_some(),
                            "{what}: env {} needs key {key} of {kind} {target}",
                            env["name"]
                        );
                        used.insert((kind, target.to_string()));
                    }
                }
            }
        }
    }
    for kind in ["ConfigMap", "Secret", "PersistentVolumeClaim"] {
        for resource in m.of_kind(kind) {
            assert!(
                used.contains(&(kind, name(resource).to_string())),
                "{kind} {} is used by no pod",
                name(resource)
            );
        }
    }
}

/// CPU in millicores or memory in bytes, from a Kubernetes quantity (`100m`, `2`, `64Mi`, `1Gi`).
fn quantity(text: &str) -> f64 {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().unwrap_or_else(|_| panic!("quantity {text}"));
    let scale = match unit {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        _ => panic!("quantity {text}: unit {unit}"),
    };
    number * scale
}

fn quantity_of(value: &Value) -> f64 {
    match value {
        Value::String(text) => quantity(text),
        other => other.as_f64().unwrap_or_else(|| panic!("quantity {other}")),
    }
}

#[test]
fn pods_meet_the_restricted_profile_and_have_requests_and_limits() {
    let m = Manifests::load();
    let namespace = m.get("Namespace", "gauntlet");
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    for w in m.workloads() {
        let pod = pod_spec(w);
        let security = &pod["securityContext"];
        assert_eq!(security["runAsNonRoot"], true, "{}: runAsNonRoot", name(w));
        assert!(security["runAsUser"].as_u64() > Some(0), "{}: runAsUser", name(w));
        assert_eq!(
            security["seccompProfile"]["type"],
            "RuntimeDefault",
            "{}: seccompProfile",
            name(w)
        );
        assert_eq!(
            pod["automountServiceAccountToken"],
            false,
            "{}: no pod here talks to the API",
            name(w)
        );
        for c in all_containers(pod) {
            let what = format!("{}/{}", name(w), c["name"]);
            let sc = &c["securityContext"];
            assert_eq!(
                sc["allowPrivilegeEscalation"], false,
                "{what}: allowPrivilegeEscalation"
            );
            assert!(
                list(&sc["capabilities"]["drop"]).contains(&Value::from("ALL")),
                "{what}: drop ALL"
            );
            if c["image"] == STACK_IMAGE {
                assert_eq!(
                    sc["readOnlyRootFilesystem"], true,
                    "{what}: readOnlyRootFilesystem"
                );
            }
            for resource in ["cpu", "memory"] {
                let request = &c["resources"]["requests"][resource];
                let limit = &c["resources"]["limits"][resource];
                assert!(
                    !request.is_null() && !limit.is_null(),
                    "{what}: {resource} request and limit"
                );
                assert!(
                    quantity_of(request) <= quantity_of(limit),
                    "{what}: {resource} request above limit"
                );
            }
        }
    }
}

/// `$(NAME)` of a variable defined earlier in the list is replaced, `$$` is `$`, anything else
/// stays as written: the kubelet's expansion of `env[].value`.
fn expand(value: &str, defined: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((var, tail)) = after.strip_prefix('(').and_then(|a| a.split_once(')'))
            && let Some(v) = defined.get(var)
        {
            out.push_str(v);
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The environment the kubelet gives `container`: values from Secrets and ConfigMaps, `$(NAME)`
/// expanded. `secret` may replace a Secret's value (`(name, key) -> value`).
fn kubelet_env(
    m: &Manifests,
    container: &Value,
    secret: &dyn Fn(&str, &str) -> Option<String>,
) -> Vec<(String, String)> {
    assert!(container["envFrom"].is_null(), "envFrom is not modelled here");
    let mut defined = BTreeMap::new();
    let mut env = Vec::new();
    for var in list(&container["env"]) {
        let vname = var["name"].as_str().unwrap().to_string();
        let value = if let Some(value) = var["value"].as_str() {
            expand(value, &defined)
        } else if let Some(r) = var["valueFrom"]["secretKeyRef"].as_object() {
            let (s, k) = (r["name"].as_str().unwrap(), r["key"].as_str().unwrap());
            secret(s, k).or_else(|| m.key_of("Secret", s, k)).unwrap()
        } else if let Some(r) = var["valueFrom"]["configMapKeyRef"].as_object() {
            m.key_of(
                "ConfigMap",
                r["name"].as_str().unwrap(),
                r["key"].as_str().unwrap(),
            )
            .unwrap()
        } else {
            panic!("env {vname}: unsupported source {var}");
        };
        assert!(
            !value.contains("$("),
            "env {vname}: unresolved reference in {value}"
        );
        defined.insert(vname.clone(), value.clone());
        env.push((vname, value));
    }
    env
}

/// One service's pod as Kubernetes would start it: its config file from the ConfigMap mounted
/// where `--config` points, loaded with the service's own loader and the kubelet's environment.
struct Pod<'a> {
    workload: &'a Value,
    container: &'a Value,
    /// The ConfigMap's TOML text.
    toml: String,
}

impl<'a> Pod<'a> {
    fn of(m: &'a Manifests, deployment: &str) -> Pod<'a> {
        let workload = m.get("Deployment", deployment);
        let container = container(workload, deployment);
        let args: Vec<&str> = list(&container["args"])
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let ["--config", path] = args.as_slice() else {
            panic!("{deployment}: args are not [--config, FILE]: {args:?}");
        };
        let (volume, key) = list(&container["volumeMounts"])
            .iter()
            .find_map(|mount| {
                let at = mount["mountPath"].as_str()?;
                match mount["subPath"].as_str() {
                    Some(key) if at == *path => Some((mount["name"].as_str()?, key.to_string())),
                    None => Some((
                        mount["name"].as_str()?,
                        path.strip_prefix(&format!("{at}/"))?.to_string(),
                    )),
                    _ => None,
                }
            })
            .unwrap_or_else(|| panic!("{deployment}: nothing is mounted at {path}"));
        let config_map = list(&pod_spec(workload)["volumes"])
            .iter()
            .find(|v| v["name"] == volume)
            .and_then(|v| v["configMap"]["name"].as_str())
            .unwrap_or_else(|| panic!("{deployment}: {path} is not from a ConfigMap"));
        let toml = m
            .key_of("ConfigMap", config_map, &key)
            .unwrap_or_else(|| panic!("ConfigMap {config_map} has no {key}"));
        Pod {
            workload,
            container,
            toml,
        }
    }

    /// Loads the config through `stack_common::config::load`, as the binary does; panics with
    /// the loader's message (naming the key) when it fails.
    fn load<C: Serialize + DeserializeOwned + Default>(
        &self,
        m: &Manifests,
        prefix: &str,
        secret: &dyn Fn(&str, &str) -> Option<String>,
    ) -> C {
        self.load_text(&self.toml, m, prefix, secret)
            .unwrap_or_else(|e| panic!("{}: {e}", name(self.workload)))
    }

    fn load_text<C: Serialize + DeserializeOwned + Default>(
        &self,
        toml: &str,
        m: &Manifests,
        prefix: &str,
        secret: &dyn Fn(&str, &str) -> Option<String>,
    ) -> Result<C, String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("{}.toml", name(self.workload)));
        std::fs::write(&file, toml).unwrap();
        stack_common::config::load(
            Some(file.as_path()),
            prefix,
            kubelet_env(m, self.container, secret),
        )
        .map_err(|e| e.to_string())
    }

    /// The container port named `http`.
    fn http_port(&self) -> u64 {
        declared_port(pod_spec(self.workload), &Value::from("http")).unwrap()
    }

    /// Whether `dir` is where a PersistentVolumeClaim is mounted in this container.
    fn persists(&self, dir: &Path) -> bool {
        list(&self.container["volumeMounts"]).iter().any(|mount| {
            Path::new(mount["mountPath"].as_str().unwrap()) == dir
                && list(&pod_spec(self.workload)["volumes"])
                    .iter()
                    .any(|v| v["name"] == mount["name"] && v["persistentVolumeClaim"].is_object())
        })
    }
}

fn no_override(_: &str, _: &str) -> Option<String> {
    None
}

/// The Deployment or StatefulSet and container port that `host:port` reaches through a Service
/// of the same namespace (a short name, as the configs use).
fn reached_through_service<'a>(m: &'a Manifests, host: &str, port: u64) -> (&'a Value, u64) {
    let service = m.get("Service", host);
    let service_port = list(&service["spec"]["ports"])
        .iter()
        .find(|p| p["port"].as_u64() == Some(port))
        .unwrap_or_else(|| panic!("Service {host} has no port {port}"));
    let target = if service_port["targetPort"].is_null() {
        &service_port["port"]
    } else {
        &service_port["targetPort"]
    };
    let workload = m
        .workloads()
        .into_iter()
        .find(|w| {
            selects(
                &service["spec"]["selector"],
                &w["spec"]["template"]["metadata"]["labels"],
            )
        })
        .unwrap_or_else(|| panic!("Service {host} selects no pods"));
    (workload, declared_port(pod_spec(workload), target).unwrap())
}

/// The workload and container port an `http://host:port/..` or `amqp://..` URL reaches.
fn reached_by_url<'a>(m: &'a Manifests, url: &str) -> (&'a Value, u64, reqwest::Url) {
    let parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let host = parsed.host_str().unwrap().to_string();
    let port = parsed
        .port()
        .unwrap_or_else(|| panic!("{url}: give the port explicitly"));
    let (workload, container_port) = reached_through_service(m, &host, port.into());
    (workload, container_port, parsed)
}

#[test]
fn each_config_map_loads_with_its_services_own_config_loader() {
    let m = Manifests::load();
    let (iam_pod, catalog_pod) = (Pod::of(&m, "iam"), Pod::of(&m, "catalog"));
    let (gateway_pod, partner_pod) = (Pod::of(&m, "gateway"), Pod::of(&m, "partner"));
    let iam: IamConfig = iam_pod.load(&m, "GAUNTLET_IAM", &no_override);
    let catalog: CatalogConfig = catalog_pod.load(&m, "GAUNTLET_CATALOG", &no_override);
    let gateway: GatewayConfig = gateway_pod.load(&m, "GAUNTLET_GATEWAY", &no_override);
    let partner: PartnerConfig = partner_pod.load(&m, "GAUNTLET_PARTNER", &no_override);
    catalog.check().unwrap_or_else(|e| panic!("catalog config: {e}"));
    partner.check().unwrap_or_else(|e| panic!("partner config: {e}"));
    gateway
        .validate()
        .unwrap_or_else(|e| panic!("gateway config: {e}"));

    // each listens on all interfaces, on the port its pod declares (and probes)
    for (pod, listen) in [
        (&iam_pod, iam.listen),
        (&catalog_pod, catalog.listen),
        (&gateway_pod, gateway.listen),
        (&partner_pod, partner.listen),
    ] {
        let what = name(pod.workload);
        assert!(
            listen.ip().is_unspecified(),
            "{what} listens on {listen}: unreachable from other pods"
        );
        assert_eq!(
            u64::from(listen.port()),
            pod.http_port(),
            "{what}: listen vs containerPort"
        );
    }
    for (pod, dir) in [
        (&iam_pod, &iam.data_dir),
        (&catalog_pod, &catalog.data_dir),
        (&partner_pod, &partner.data_dir),
    ] {
        assert!(
            pod.persists(dir),
            "{}: data_dir {} is not on a volume claim",
            name(pod.workload),
            dir.display()
        );
    }

    // secrets reach the configs: iam's admin and clients, partner's own client
    let secret = |s: &str, k: &str| m.key_of("Secret", s, k).unwrap();
    assert_eq!(iam.admin.password, secret("stack-secrets", "admin-password"));
    let client = |id: &str| {
        iam.clients
            .iter()
            .find(|c| c.client_id == id)
            .unwrap_or_else(|| panic!("no client {id}"))
    };
    assert_eq!(
        client("demo-client").client_secret,
        secret("stack-secrets", "demo-client-secret")
    );
    let partner_client = client(partner.client_id.as_str());
    assert_eq!(
        partner_client.client_secret, partner.client_secret,
        "partner's secret as iam knows it"
    );
    for scope in partner.scope.split_whitespace() {
        assert!(
            partner_client.scopes.iter().any(|s| s == scope),
            "iam does not grant partner {scope}"
        );
    }

    // iam is reached where the others look for it; tokens carry what they check
    for (who, url) in [
        ("catalog", &catalog.iam_url),
        ("gateway", &gateway.iam_url),
        ("partner", &partner.iam_url),
    ] {
        let (target, port, _) = reached_by_url(&m, url);
        assert_eq!(name(target), "iam", "{who}'s iam_url {url}");
        assert_eq!(port, u64::from(iam.listen.port()), "{who}'s iam_url {url}");
    }
    for (who, issuer, audience) in [
        ("catalog", &catalog.issuer, &catalog.audience),
        ("gateway", &gateway.issuer, &gateway.audience),
    ] {
        assert_eq!(
            (issuer, audience),
            (&iam.issuer, &iam.audience),
            "{who}'s token checks vs iam's tokens"
        );
    }

    // the gateway: catalog's pods by the headless Service's DNS records, on the pods' own port
    // (a headless Service has no virtual IP to translate the port); iam through its Service
    let dns = gateway.upstreams["catalog"]
        .dns
        .as_ref()
        .expect("the catalog upstream uses dns");
    let headless = m.get("Service", &dns.name);
    assert_eq!(
        headless["spec"]["clusterIP"], "None",
        "{} must be headless",
        dns.name
    );
    let (target, _) = reached_through_service(
        &m,
        &dns.name,
        headless["spec"]["ports"][0]["port"].as_u64().unwrap(),
    );
    assert_eq!(name(target), "catalog");
    assert_eq!(
        dns.ports,
        [catalog.listen.port()],
        "the gateway dials catalog's pods on catalog's listen port"
    );
    // a terminating catalog pod leaves DNS at once but the gateways see that only at their next
    // resolution: it must go on serving until then
    let catalog_pause = catalog_pod.container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        catalog_pause * 1000 > dns.refresh_ms,
        "catalog's preStop pause ({catalog_pause}s) must outlast the gateway's DNS refresh ({} ms)",
        dns.refresh_ms
    );
    let iam_dns = gateway.upstreams["iam"]
        .dns
        .as_ref()
        .expect("the iam upstream uses dns");
    let (target, port) = reached_through_service(&m, &iam_dns.name, iam_dns.ports[0].into());
    assert_eq!((name(target), port), ("iam", u64::from(iam.listen.port())));
    for (upstream, config) in &gateway.upstreams {
        assert_eq!(
            config.health_path, "/readyz",
            "upstreams.{upstream}: the same check as the pods' readiness"
        );
    }
    let grace = pod_spec(gateway_pod.workload)["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap();
    let pause = gateway_pod.container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        (pause * 1000 + gateway.drain_timeout_ms) < grace * 1000,
        "gateway: preStop {pause}s + drain {} ms must end before the {grace}s grace period",
        gateway.drain_timeout_ms
    );

    // partner fetches through the gateway's /api route
    let (target, port, url) = reached_by_url(&m, &partner.catalog_url);
    assert_eq!(
        (name(target), port),
        ("gateway", u64::from(gateway.listen.port()))
    );
    assert!(
        gateway
            .routes
            .iter()
            .any(|r| r.prefix == url.path() && r.methods.iter().any(|method| method == "GET")),
        "no gateway route takes GET {}",
        url.path()
    );

    // catalog and partner reach the broker with its user, on one exchange
    let rabbitmq = m.get("StatefulSet", "rabbitmq");
    let broker_env = kubelet_env(&m, container(rabbitmq, "rabbitmq"), &no_override);
    let broker_var = |n: &str| broker_env.iter().find(|(k, _)| k == n).unwrap().1.clone();
    for (who, amqp_url) in [
        ("catalog", catalog.amqp_url.as_deref().unwrap()),
        ("partner", partner.amqp_url.as_str()),
    ] {
        let (target, port, url) = reached_by_url(&m, amqp_url);
        assert_eq!((name(target), port), ("rabbitmq", 5672), "{who}'s amqp_url");
        assert_eq!(
            url.username(),
            broker_var("RABBITMQ_DEFAULT_USER"),
            "{who}'s amqp_url user"
        );
        assert_eq!(
            url.password(),
            Some(broker_var("RABBITMQ_DEFAULT_PASS").as_str()),
            "{who}'s amqp_url"
        );
    }
    assert_eq!(catalog.events_exchange, partner.events_exchange);
}

#[test]
fn a_key_the_service_does_not_know_fails_the_load_and_a_numeric_secret_stays_a_string() {
    let m = Manifests::load();
    // the check above can fail: a misspelt key in a ConfigMap is an error naming it
    let gateway_pod = Pod::of(&m, "gateway");
    let misspelt = gateway_pod
        .toml
        .replace("refresh_ms = 2000", "refresh_msec = 2000");
    assert_ne!(misspelt, gateway_pod.toml);
    let err = gateway_pod
        .load_text::<GatewayConfig>(&misspelt, &m, "GAUNTLET_GATEWAY", &no_override)
        .unwrap_err();
    assert!(err.contains("refresh_msec"), "{err}");
    let iam_pod = Pod::of(&m, "iam");
    let err = iam_pod
        .load_text::<IamConfig>(
            &format!("token_ttl = 60\n{}", iam_pod.toml),
            &m,
            "GAUNTLET_IAM",
            &no_override,
        )
        .unwrap_err();
    assert!(err.contains("token_ttl"), "{err}");

    // Environment values are read as TOML literals; the manifests quote secrets, so a secret of
    // digits (or `true`) is still the string it was, not a number that fails the load.
    let numeric = |_: &str, key: &str| match key {
        "admin-password" | "partner-client-secret" | "password" => Some("12345678".to_string()),
        "demo-client-secret" => Some("true".to_string()),
        _ => None,
    };
    let iam: IamConfig = iam_pod.load(&m, "GAUNTLET_IAM", &numeric);
    assert_eq!(iam.admin.password, "12345678");
    assert!(iam.clients.iter().any(|c| c.client_secret == "true"));
    let partner: PartnerConfig = Pod::of(&m, "partner").load(&m, "GAUNTLET_PARTNER", &numeric);
    assert_eq!(partner.client_secret, "12345678");
    assert!(
        partner.amqp_url.contains(":12345678@rabbitmq:"),
        "{}",
        partner.amqp_url
    );
}

#[test]
fn kubelet_expansion_replaces_defined_variables_only() {
    let defined = BTreeMap::from([("A".to_string(), "x".to_string())]);
    assert_eq!(expand("\"$(A)\"", &defined), "\"x\"");
    assert_eq!(expand("$$(A) $(B) $ a$", &defined), "$(A) $(B) $ a$");
}
