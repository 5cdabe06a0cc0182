//! The pods meet the `restricted` Pod Security profile their namespace enforces, and every
//! container has CPU and memory requests and limits.

use serde_json::Value;

use super::{Manifests, STACK_IMAGE, all_containers, list, name, pod_spec};

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
