//! The manifests agree with each other: every file parses and is listed in the kustomization;
//! workloads and Services select existing pods on declared ports; pods sharing a
//! ReadWriteOnce claim stay on one node; probes hit `/readyz` and `/healthz` on declared ports;
//! referenced ConfigMaps, Secrets and claims exist.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{
    Manifests, STACK_IMAGE, all_containers, declared_port, deploy_dir, list, manifest_files, name, pod_spec,
    selects,
};

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
