//! `ci/k8s`, the sharded run on Kubernetes, run on this machine: the kustomization is rendered
//! (`render`), then each Job's pod is run as the kubelet would run it (`pod`) — the N shards at
//! once with JOB_COMPLETION_INDEX = 0..N-1, and the merge beside them, waiting for their reports
//! as it does in a cluster — against a target started here. Only the mount paths and the image
//! differ from a cluster. `ci/validate-k8s.sh` checks the same manifests against the Kubernetes
//! API's schemas.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

mod pod;
mod render;

use pod::{Ended, Node};
use render::Rendered;

const SHARDS_JOB: &str = "gauntlet-shards";
const MERGE_JOB: &str = "gauntlet-merge";

fn job<'a>(rendered: &'a Rendered, name: &str) -> &'a Value {
    rendered
        .resources
        .iter()
        .find(|r| r["kind"] == "Job" && r["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Job {name} in the rendered ci/k8s"))
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// The value of the container's literal env variable `name`.
fn env<'a>(job: &'a Value, name: &str) -> &'a Value {
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    list(&container["env"])
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| &e["value"])
        .unwrap_or_else(|| panic!("{}: no env {name}", job["metadata"]["name"]))
}

/// The claim the Job's pods mount their reports from.
fn reports_claim(job: &Value) -> &str {
    list(&job["spec"]["template"]["spec"]["volumes"])
        .iter()
        .find_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
        .unwrap_or_else(|| panic!("{}: no claim", job["metadata"]["name"]))
}

fn render_with(parameters: &[(&str, &str)], files: &[(&str, &str)]) -> Rendered {
    let dir = render::configure(parameters, files);
    let rendered = render::render(dir.path());
    eprintln!("k8s: ci/k8s rendered by {}", rendered.by);
    rendered
}

fn read_report(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn expect_code(ended: &Ended, code: i32, what: &str) {
    assert_eq!(ended.code, Some(code), "{what}:\n{}", ended.log);
}

/// Runs the merge pod and `shards` shard pods at once, as `kubectl apply -k` starts them, and
/// waits for all; every shard pod must succeed. The merge starts first, so that it has to wait
/// for the shards' reports.
fn run_all(rendered: &Rendered, node: &Node, shards: u32) -> Ended {
    let merge = node.start(&rendered.resources, job(rendered, MERGE_JOB), None);
    let pods: Vec<_> = (0..shards)
        .map(|i| node.start(&rendered.resources, job(rendered, SHARDS_JOB), Some(i)))
        .collect();
    for pod in pods {
        let what = pod.what.clone();
        // a failed shard pod would be retried, the same load again: not a shard's outcome here
        expect_code(&pod.wait(Duration::from_secs(120)), 0, &what);
    }
    merge.wait(Duration::from_secs(60))
}

/// The counts that must add up: per step (by name) and for `total`, and the iterations.
fn counts(report: &Value) -> BTreeMap<String, u64> {
    const FIELDS: [&str; 5] = [
        "requests",
        "failed",
        "checks_passed",
        "checks_failed",
        "bytes_received",
    ];
    let mut counts = BTreeMap::new();
    counts.insert("iterations".to_string(), report["iterations"].as_u64().unwrap());
    for step in list(&report["steps"]).iter().chain([&report["total"]]) {
        let name = step["name"].as_str().unwrap();
        for field in FIELDS {
            let value = step[field]
                .as_u64()
                .unwrap_or_else(|| panic!("step {name}: no {field}"));
            counts.insert(format!("{name}.{field}"), value);
        }
    }
    counts
}

#[test]
fn one_parameter_sets_n_everywhere_and_the_pods_meet_the_restricted_profile() {
    let rendered = render_with(
        &[
            ("shards", "5"),
            ("target", "http://load-target.example:8080"),
            ("duration", "7s"),
            ("deadline_seconds", "900"),
        ],
        &[],
    );
    let shards = job(&rendered, SHARDS_JOB);
    let merge = job(&rendered, MERGE_JOB);
    assert_eq!(shards["spec"]["completionMode"], "Indexed");
    assert_eq!(shards["spec"]["completions"], 5);
    assert_eq!(shards["spec"]["parallelism"], 5);
    assert_eq!(env(shards, "SHARDS"), "5");
    assert_eq!(env(merge, "SHARDS"), "5");
    assert_eq!(env(shards, "TARGET"), "http://load-target.example:8080");
    assert_eq!(env(shards, "DURATION"), "7s");
    assert_eq!(env(merge, "DEADLINE_SECONDS"), "900");
    assert_eq!(
        reports_claim(shards),
        reports_claim(merge),
        "one volume for both Jobs"
    );
    // the parameters' ConfigMap is for rendering only, and it filled every placeholder
    assert!(
        !rendered
            .resources
            .iter()
            .any(|r| r["metadata"]["name"] == "gauntlet-parameters"),
        "the parameters' ConfigMap is rendered"
    );
    for job in [shards, merge] {
        let name = job["metadata"]["name"].as_str().unwrap();
        let spec = &job["spec"];
        assert_eq!(spec["activeDeadlineSeconds"], 900, "{name}");
        assert!(spec["backoffLimit"].is_u64(), "{name}: backoffLimit");
        assert!(
            spec["ttlSecondsAfterFinished"].is_u64(),
            "{name}: ttlSecondsAfterFinished"
        );
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(
            pod["securityContext"]["runAsUser"], 65532,
            "{name}: the image's user"
        );
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{name}"
        );
        assert_eq!(pod["automountServiceAccountToken"], false, "{name}");
        for c in list(&pod["containers"])
            .iter()
            .chain(list(&pod["initContainers"]))
        {
            let sc = &c["securityContext"];
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
            assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]), "{name}");
            for kind in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    assert!(
                        !c["resources"][kind][resource].is_null(),
                        "{name}: {kind}.{resource}"
                    );
                }
            }
            for e in list(&c["env"]) {
                assert!(
                    !e["value"].as_str().unwrap().contains("<-"),
                    "{name}: placeholder left: {e}"
                );
            }
        }
    }
    // Where kubectl renders, this test's own reading (used where it is missing) must give the
    // same Jobs, or the other tests would run something else on a machine without kubectl.
    if rendered.by == "kubectl kustomize" {
        let dir = render::configure(&[("shards", "5"), ("deadline_seconds", "900")], &[]);
        let by_kubectl = render::kubectl_kustomize(dir.path()).unwrap();
        let by_test = render::own_reading(dir.path());
        for name in [SHARDS_JOB, MERGE_JOB] {
            let of = |resources: &[Value]| {
                let mut job = resources
                    .iter()
                    .find(|r| r["kind"] == "Job" && r["metadata"]["name"] == name)
                    .unwrap()
                    .clone();
                // the one difference: kustomize's hash suffix on generated ConfigMaps' names
                for volume in job["spec"]["template"]["spec"]["volumes"].as_array_mut().unwrap() {
                    if let Some(map) = volume["configMap"]["name"].as_str() {
                        let base = map
                            .rsplit_once('-')
                            .filter(|(_, h)| h.len() == 10)
                            .map_or(map, |(b, _)| b);
                        volume["configMap"]["name"] = base.into();
                    }
                }
                job
            };
            assert_eq!(
                of(&by_kubectl),
                of(&by_test),
                "{name}: kubectl and the test's reading differ"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_run_as_the_jobs_run_them_and_merge_to_their_sum() {
    let stack = stack_local::start(stack_local::StackOptions {
        base_port: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    const N: u32 = 3;
    // the scenario's target through the same parameter a cluster user sets
    let rendered = render_with(
        &[
            ("shards", &N.to_string()),
            ("target", &stack.gateway.url),
            ("duration", "3s"),
        ],
        &[],
    );
    assert_eq!(job(&rendered, SHARDS_JOB)["spec"]["completions"], N);
    let node = Node::new();
    let (rendered, node, merge) = tokio::task::spawn_blocking(move || {
        let merge = run_all(&rendered, &node, N);
        (rendered, node, merge)
    })
    .await
    .unwrap();
    eprintln!("k8s: the merge pod's output:\n{}", merge.log);
    expect_code(&merge, 0, "merge");

    let reports = node.claim(reports_claim(job(&rendered, MERGE_JOB)));
    let mut sum: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..N {
        let report = read_report(&reports.join(format!("shard-{i}.json")));
        assert_eq!(
            report["load"]["shard"],
            format!("{}/{N}", i + 1),
            "shard-{i}.json"
        );
        assert!(
            report["total"]["requests"].as_u64() > Some(0),
            "shard {i} sent nothing"
        );
        for (key, value) in counts(&report) {
            *sum.entry(key).or_default() += value;
        }
    }
    let merged = read_report(&reports.join("merged.json"));
    assert_eq!(merged["verdict"], "passed", "{}", merge.log);
    assert!(
        merged["load"]["shard"].is_null(),
        "the merged report is the whole run"
    );
    assert_eq!(
        counts(&merged),
        sum,
        "merged counts against the sum of the shards'"
    );
    let markers: Vec<_> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".ready"))
        .collect();
    assert!(
        markers.is_empty(),
        "the merge leaves markers for the next run: {markers:?}"
    );
    stack.shutdown().await.unwrap();
}

/// A scenario none of whose thresholds can hold against a server that answers 200.
const MISSES_ITS_THRESHOLD: &str = r#"
name = "misses-its-threshold"
[target]
base_url = "http://127.0.0.1:9"
[load]
users = 2
duration = "1s"
[[scenario]]
name = "get"
[[scenario.step]]
name = "get"
request = "GET /"
think_time = "20ms"
[thresholds]
http_req_failed = ["rate > 0.5"]
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_missed_threshold_fails_the_merge_not_the_shards() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let rendered = render_with(
        &[("shards", "2"), ("target", &target), ("duration", "1s")],
        &[("scenario.toml", MISSES_ITS_THRESHOLD)],
    );
    let node = Node::new();
    // A shard's own verdict on its part is not the run's: its pod succeeds (a failed pod would
    // be retried, the same load again), and the merge, judging the whole, exits 1.
    let (rendered, node, merge) = tokio::task::spawn_blocking(move || {
        let merge = run_all(&rendered, &node, 2);
        (rendered, node, merge)
    })
    .await
    .unwrap();
    server.abort();
    let reports = node.claim(reports_claim(job(&rendered, MERGE_JOB)));
    for i in 0..2 {
        let report = read_report(&reports.join(format!("shard-{i}.json")));
        assert_eq!(report["verdict"], "failed", "shard {i}");
    }
    expect_code(&merge, 1, "merge");
    assert_eq!(read_report(&reports.join("merged.json"))["verdict"], "failed");
}

#[test]
fn the_merge_gives_up_before_its_deadline_naming_the_missing_shards() {
    // deadline_seconds 62: the merge waits 2 s (it stops 60 s before the Jobs' deadline)
    let rendered = render_with(&[("shards", "2"), ("deadline_seconds", "62")], &[]);
    let node = Node::new();
    let reports = node.claim(reports_claim(job(&rendered, MERGE_JOB)));
    std::fs::write(reports.join("shard-0.ready"), "").unwrap();
    let merge = node
        .start(&rendered.resources, job(&rendered, MERGE_JOB), None)
        .wait(Duration::from_secs(30));
    expect_code(&merge, 2, "merge");
    assert!(
        merge.log.contains("no report from shard index(es) 1 of 2"),
        "{}",
        merge.log
    );
    assert!(
        !reports.join("shard-0.ready").exists(),
        "a later run's merge would take this run's shard 0 for its own"
    );
}
