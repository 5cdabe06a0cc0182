//! `ci/k8s` rendered as `kubectl apply -k` would send it: by `kubectl kustomize` when kubectl is
//! installed, else by this module's own reading of the kustomization — its resources,
//! configMapGenerator, images and replacements, the only kustomize features `ci/k8s` uses (a
//! feature it starts to use fails here until this reading learns it). Where kubectl is
//! installed, a test checks that both readings give the same Jobs.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value, json};

/// The ConfigMap of `ci/k8s/kustomization.yaml` whose literals are the run's parameters.
const PARAMETERS: &str = "gauntlet-parameters";

fn k8s_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/k8s")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}"))
}

/// The documents of a multi-document YAML text, empty ones left out.
pub fn documents(yaml: &str) -> Vec<Value> {
    let mut docs = vec![String::new()];
    for line in yaml.lines() {
        if line == "---" {
            docs.push(String::new());
        } else {
            let doc = docs.last_mut().unwrap();
            doc.push_str(line);
            doc.push('\n');
        }
    }
    docs.iter()
        .map(|doc| serde_yaml::from_str::<Value>(doc).unwrap_or_else(|e| panic!("{e}:\n{doc}")))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// A copy of `ci/k8s` with some parameters set, the way its README says to set them: the
/// literals of the parameters' ConfigMap in kustomization.yaml. `files` are written beside
/// (another scenario.toml).
pub fn configure(parameters: &[(&str, &str)], files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(k8s_dir()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    let path = dir.path().join("kustomization.yaml");
    let mut kustomization: Value = serde_yaml::from_str(&read(&path)).unwrap();
    let generator = kustomization["configMapGenerator"]
        .as_array_mut()
        .and_then(|generators| generators.iter_mut().find(|g| g["name"] == PARAMETERS))
        .unwrap_or_else(|| panic!("ci/k8s/kustomization.yaml generates no {PARAMETERS}"));
    let literals = generator["literals"].as_array_mut().unwrap();
    for (key, value) in parameters {
        let literal = literals
            .iter_mut()
            .find(|l| text(l).split_once('=').is_some_and(|(k, _)| k == *key))
            .unwrap_or_else(|| panic!("ci/k8s has no parameter {key}"));
        *literal = Value::from(format!("{key}={value}"));
    }
    std::fs::write(&path, serde_yaml::to_string(&kustomization).unwrap()).unwrap();
    for (name, contents) in files {
        std::fs::write(dir.path().join(name), contents).unwrap();
    }
    dir
}

/// Resources as rendered, and by what.
pub struct Rendered {
    pub resources: Vec<Value>,
    pub by: &'static str,
}

pub fn render(dir: &Path) -> Rendered {
    match kubectl_kustomize(dir) {
        Some(resources) => Rendered {
            resources,
            by: "kubectl kustomize",
        },
        None => Rendered {
            resources: own_reading(dir),
            by: "the test's own reading of the kustomization (kubectl not found)",
        },
    }
}

/// `kubectl kustomize DIR`; `None` only when there is no kubectl (a kustomization it refuses
/// fails the test).
pub fn kubectl_kustomize(dir: &Path) -> Option<Vec<Value>> {
    let output = match Command::new("kubectl").arg("kustomize").arg(dir).output() {
        Ok(output) => output,
        Err(e) if e.kind() == ErrorKind::NotFound => return None,
        Err(e) => panic!("kubectl: {e}"),
    };
    assert!(
        output.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(documents(&String::from_utf8(output.stdout).unwrap()))
}

/// What kustomize does with this kustomization, without kustomize. ConfigMaps keep their names
/// (kustomize adds a hash of the contents to the name and to every reference: the references
/// agree either way).
pub fn own_reading(dir: &Path) -> Vec<Value> {
    let kustomization: Value = serde_yaml::from_str(&read(&dir.join("kustomization.yaml"))).unwrap();
    let mut resources = Vec::new();
    for file in list(&kustomization["resources"]) {
        resources.extend(documents(&read(&dir.join(text(file)))));
    }
    for generator in list(&kustomization["configMapGenerator"]) {
        let mut data = Map::new();
        for file in list(&generator["files"]) {
            let file = text(file);
            assert!(!file.contains('='), "{file}: `key=path` files are not read here");
            data.insert(file.to_string(), read(&dir.join(file)).into());
        }
        for literal in list(&generator["literals"]) {
            let (key, value) = text(literal).split_once('=').unwrap();
            data.insert(key.to_string(), value.into());
        }
        let mut metadata = json!({ "name": generator["name"] });
        if let Some(annotations) = generator["options"].get("annotations") {
            metadata["annotations"] = annotations.clone();
        }
        resources.push(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata,
            "data": data,
        }));
    }
    for image in list(&kustomization["images"]) {
        let new = format!("{}:{}", text(&image["newName"]), text(&image["newTag"]));
        for resource in &mut resources {
            let containers = &mut resource["spec"]["template"]["spec"]["containers"];
            for container in containers.as_array_mut().into_iter().flatten() {
                if container["image"] == image["name"] {
                    container["image"] = Value::from(new.as_str());
                }
            }
        }
    }
    for replacement in list(&kustomization["replacements"]) {
        let source = &replacement["source"];
        let from = resources
            .iter()
            .find(|r| selected(r, source))
            .unwrap_or_else(|| panic!("no source for the replacement {source}"));
        let value = field(&mut from.clone(), text(&source["fieldPath"])).clone();
        for target in list(&replacement["targets"]) {
            let mut matched = false;
            for resource in resources.iter_mut().filter(|r| selected(r, &target["select"])) {
                matched = true;
                for path in list(&target["fieldPaths"]) {
                    let field = field(resource, text(path));
                    // As kustomize v5 does: the target keeps its type ("3" into an integer).
                    *field = match field {
                        Value::Number(_) => text(&value)
                            .parse::<i64>()
                            .map(Value::from)
                            .unwrap_or_else(|_| panic!("{path}: {value} is not an integer")),
                        _ => value.clone(),
                    };
                }
            }
            assert!(
                matched,
                "the replacement target {} selects nothing",
                target["select"]
            );
        }
    }
    resources.retain(|r| r["metadata"]["annotations"]["config.kubernetes.io/local-config"] != "true");
    resources
}

/// Whether a replacement's `source` or `select` (kind and name) picks `resource`.
fn selected(resource: &Value, selector: &Value) -> bool {
    resource["kind"] == selector["kind"] && resource["metadata"]["name"] == selector["name"]
}

/// The node at a kustomize field path: `spec.completions`,
/// `spec.template.spec.containers.[name=shard].env.[name=SHARDS].value`.
fn field<'a>(mut node: &'a mut Value, path: &str) -> &'a mut Value {
    for segment in path.split('.') {
        node = match segment.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(selector) => {
                let (key, wanted) = selector.split_once('=').unwrap();
                node.as_array_mut()
                    .and_then(|items| items.iter_mut().find(|item| item[key] == wanted))
                    .unwrap_or_else(|| panic!("{path}: nothing matches [{selector}]"))
            }
            None => node
                .get_mut(segment)
                .unwrap_or_else(|| panic!("{path}: no {segment}")),
        };
    }
    node
}
