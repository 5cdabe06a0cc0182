//! A Job's pod run as a local process, the way the kubelet runs it: the container's command and
//! args after the kubelet's `$(NAME)` expansion, with the container's `env` (and, in an Indexed
//! Job, the JOB_COMPLETION_INDEX the Job controller adds) and nothing else from this process's
//! environment. Two things differ from a cluster, both outside the manifests: every mount path
//! becomes a directory of this node (a ConfigMap's keys as files; one directory per claim,
//! shared by every pod that mounts it, as a ReadWriteMany volume is), and the image is the
//! binary under test, named `gauntlet` on PATH as in the image.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}"))
}

/// This machine as one Kubernetes node: its volumes and the image's PATH.
pub struct Node {
    root: tempfile::TempDir,
}

impl Node {
    pub fn new() -> Node {
        let root = tempfile::tempdir().unwrap();
        for dir in ["bin", "configmaps", "claims", "logs"] {
            std::fs::create_dir(root.path().join(dir)).unwrap();
        }
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gauntlet"), root.path().join("bin/gauntlet")).unwrap();
        Node { root }
    }

    /// The volume bound to the claim `name`, the same for every pod.
    pub fn claim(&self, name: &str) -> PathBuf {
        let dir = self.root.path().join("claims").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Starts the pod of `job` (with completion `index` in an Indexed Job) among `resources`.
    pub fn start(&self, resources: &[Value], job: &Value, index: Option<u32>) -> Pod {
        let pod = &job["spec"]["template"]["spec"];
        let [container] = list(&pod["containers"]) else {
            panic!("{}: one container per pod is emulated", job["metadata"]["name"]);
        };
        let what = match index {
            Some(i) => format!("{}-{i}", text(&job["metadata"]["name"])),
            None => text(&job["metadata"]["name"]).to_string(),
        };

        let mut mounts = Vec::new();
        for mount in list(&container["volumeMounts"]) {
            let volume = list(&pod["volumes"])
                .iter()
                .find(|v| v["name"] == mount["name"])
                .unwrap_or_else(|| panic!("{what}: no volume {}", mount["name"]));
            let dir = if let Some(name) = volume["configMap"]["name"].as_str() {
                self.config_map(resources, name)
            } else if let Some(claim) = volume["persistentVolumeClaim"]["claimName"].as_str() {
                assert!(
                    resources
                        .iter()
                        .any(|r| r["kind"] == "PersistentVolumeClaim" && r["metadata"]["name"] == claim),
                    "{what}: no PersistentVolumeClaim {claim}"
                );
                self.claim(claim)
            } else {
                panic!("{what}: volume {volume} is of a kind not emulated");
            };
            mounts.push((text(&mount["mountPath"]).to_string(), dir));
        }

        let mut env: Vec<(String, String)> = list(&container["env"])
            .iter()
            .map(|e| {
                let value = e["value"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{what}: env {}: only literal values are emulated", e["name"]));
                (text(&e["name"]).to_string(), value.to_string())
            })
            .collect();
        if job["spec"]["completionMode"] == "Indexed" {
            let index = index.unwrap_or_else(|| panic!("{what}: an Indexed Job's pod needs its index"));
            env.push(("JOB_COMPLETION_INDEX".into(), index.to_string()));
        }

        let mut argv: Vec<String> = list(&container["command"])
            .iter()
            .map(|a| text(a).into())
            .collect();
        if argv.is_empty() {
            argv.push("gauntlet".into()); // the image's entrypoint
        }
        argv.extend(list(&container["args"]).iter().map(|a| text(a).into()));
        let argv: Vec<String> = argv.iter().map(|a| rewrite(&expand(a, &env), &mounts)).collect();

        let log = self.root.path().join("logs").join(format!("{what}.log"));
        let out = File::create(&log).unwrap();
        let child = Command::new(&argv[0])
            .args(&argv[1..])
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:/usr/local/bin:/usr/bin:/bin",
                    self.root.path().join("bin").display()
                ),
            )
            .envs(env)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: {}: {e}", argv[0]));
        Pod { child, log, what }
    }

    /// The directory holding ConfigMap `name`'s keys as files.
    fn config_map(&self, resources: &[Value], name: &str) -> PathBuf {
        let map = resources
            .iter()
            .find(|r| r["kind"] == "ConfigMap" && r["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no ConfigMap {name}"));
        let dir = self.root.path().join("configmaps").join(name);
        // Written once, whole, for every pod: rewriting it for the next pod while an earlier
        // one reads it would hand that one half a scenario.
        if !dir.exists() {
            let staging = self.root.path().join("configmaps").join(format!(".{name}"));
            std::fs::create_dir(&staging).unwrap();
            for (key, value) in map["data"].as_object().into_iter().flatten() {
                std::fs::write(staging.join(key), text(value)).unwrap();
            }
            std::fs::rename(&staging, &dir).unwrap();
        }
        dir
    }
}

/// A running pod's process.
pub struct Pod {
    child: Child,
    log: PathBuf,
    pub what: String,
}

/// How a pod ended: its exit code and its output (stdout and stderr).
pub struct Ended {
    pub code: Option<i32>,
    pub log: String,
}

impl Pod {
    /// Waits at most `limit` for the process to end (killing it and failing the test after).
    pub fn wait(mut self, limit: Duration) -> Ended {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Ended {
                    code: status.code(),
                    log: std::fs::read_to_string(&self.log).unwrap(),
                };
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{} did not end within {limit:?}:\n{}",
                    self.what,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        // never leave a load running behind a failed test
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The kubelet's expansion of command and args: `$(NAME)` of a variable in `env` is its value,
/// `$$` is `$`, anything else (an unknown `$(NAME)`, the shell's `$NAME` and `$((...))`) stays
/// as written (k8s.io/kubernetes third_party/forked/golang/expansion).
fn expand(text: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(after) = after.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(close) => {
                    let name = &inner[..close];
                    match env.iter().rev().find(|(k, _)| k == name) {
                        Some((_, value)) => out.push_str(value),
                        None => out.push_str(&format!("$({name})")),
                    }
                    rest = &inner[close + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `text` with each mount path (a whole path component at the start of a word) replaced by its
/// directory on this node, in one pass so that an inserted directory is never rewritten again.
fn rewrite(text: &str, mounts: &[(String, PathBuf)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    let mut word_start = true;
    'scan: while let Some(c) = rest.chars().next() {
        if word_start {
            for (path, dir) in mounts {
                if let Some(after) = rest.strip_prefix(path.as_str())
                    && !after.starts_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_')
                {
                    out.push_str(&dir.display().to_string());
                    rest = after;
                    word_start = false;
                    continue 'scan;
                }
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
        word_start = c.is_whitespace() || matches!(c, '"' | '\'' | '=' | ':');
    }
    out
}

#[test]
fn expansion_and_rewriting_are_the_kubelets_and_leave_the_shell_alone() {
    let env = [("SHARDS".to_string(), "3".to_string())];
    assert_eq!(
        expand("n=$(SHARDS) $$(SHARDS) $(OTHER)", &env),
        "n=3 $(SHARDS) $(OTHER)"
    );
    let script = "i=$((JOB_COMPLETION_INDEX+1)) t=$(( $(date +%s) + 1 )) \"$SHARDS\" $";
    assert_eq!(expand(script, &env), script);
    let mounts = [("/reports".to_string(), Path::new("/tmp/r").to_path_buf())];
    assert_eq!(
        rewrite(
            "--out /reports/shard-0.json \"/reports/x\" /reportsX /a/reports",
            &mounts
        ),
        "--out /tmp/r/shard-0.json \"/tmp/r/x\" /reportsX /a/reports"
    );
}
