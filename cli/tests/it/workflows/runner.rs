//! Just enough of a GitHub runner to run the composite action's own `bash` steps in a test: each
//! `run:` block exactly as written, in a script file under `bash --noprofile --norc -eo
//! pipefail` (what `shell: bash` runs), with its `env:` and the inputs' defaults resolved from
//! the `${{ }}` expressions, `GITHUB_OUTPUT` read back into step outputs, and one job summary
//! file. Steps are run by id in the order a test asks; `if:` conditions are the test's to follow.
//! `PATH` starts with the job's `bin/`, where a test puts fakes (`gh`, `curl`) and `gauntlet`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_yaml::Value;

/// One job's run of the action: its working directory, inputs, `github` context and the
/// outputs of the steps run so far.
pub struct Job {
    action: Value,
    dir: tempfile::TempDir,
    /// Values of the action's inputs; the rest take their defaults.
    pub inputs: BTreeMap<String, String>,
    /// The `github` context the action reads (`sha`, `base_ref`, `event.pull_request.head.sha`,
    /// ...); keys without a dot are also exported as `GITHUB_<KEY>`, as a runner does.
    pub github: BTreeMap<String, String>,
    /// More environment for every step (where a fake finds what it serves).
    pub env: BTreeMap<String, String>,
    outputs: BTreeMap<String, BTreeMap<String, String>>,
}

impl Job {
    /// A job of the repository's `action.yml` in a fresh directory with `gauntlet` on its PATH.
    pub fn new() -> Job {
        let action: Value =
            serde_yaml::from_str(&std::fs::read_to_string(super::repo().join("action.yml")).unwrap())
                .unwrap();
        let dir = tempfile::tempdir().unwrap();
        for sub in ["bin", "steps", "runner-temp"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gauntlet"), dir.path().join("bin/gauntlet")).unwrap();
        std::fs::write(dir.path().join("summary.md"), "").unwrap();
        Job {
            action,
            dir,
            inputs: BTreeMap::new(),
            github: BTreeMap::new(),
            env: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    /// The job's working directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Puts an executable script on the job's PATH.
    pub fn fake(&self, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir().join("bin").join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// The job summary so far.
    pub fn summary(&self) -> String {
        std::fs::read_to_string(self.dir().join("summary.md")).unwrap()
    }

    /// Sets outputs of a step, as if it had run.
    pub fn set_outputs(&mut self, id: &str, outputs: &[(&str, &str)]) {
        let map = self.outputs.entry(id.to_string()).or_default();
        map.clear();
        map.extend(outputs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    }

    /// An output of a step that ran ("" otherwise, as in a workflow).
    pub fn output(&self, id: &str, name: &str) -> String {
        self.outputs
            .get(id)
            .and_then(|o| o.get(name))
            .cloned()
            .unwrap_or_default()
    }

    /// An output of the action, from its `outputs:` expressions.
    pub fn action_output(&self, name: &str) -> String {
        let value = self.action["outputs"][name]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("action.yml has no output {name}"));
        self.resolve(value)
    }

    /// Runs the step `id`; its outputs are kept for the steps after it.
    pub fn step(&mut self, id: &str) -> Output {
        let step = self.action["runs"]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|s| s["id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("action.yml has no step {id}"))
            .clone();
        assert_eq!(step["shell"].as_str(), Some("bash"));
        let script = self.dir().join("steps").join(format!("{id}.sh"));
        std::fs::write(&script, step["run"].as_str().unwrap()).unwrap();
        let output_file = self.dir().join("steps").join(format!("{id}.out"));
        std::fs::write(&output_file, "").unwrap();

        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script)
            .current_dir(self.dir())
            .env_clear()
            .env("PATH", self.path())
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", self.dir().join("summary.md"))
            .env("GITHUB_ACTION_PATH", super::repo())
            .env("RUNNER_TEMP", self.dir().join("runner-temp"))
            .envs(&self.env);
        for (key, value) in &self.github {
            if !key.contains('.') && key != "token" {
                cmd.env(format!("GITHUB_{}", key.to_uppercase()), value);
            }
        }
        if let Some(env) = step["env"].as_mapping() {
            for (key, value) in env {
                cmd.env(
                    key.as_str().unwrap(),
                    self.resolve(value.as_str().unwrap_or_default()),
                );
            }
        }
        let out = cmd.output().unwrap();
        let written = std::fs::read_to_string(&output_file).unwrap();
        let outputs = self.outputs.entry(id.to_string()).or_default();
        for line in written.lines() {
            let (name, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("step {id} wrote {line:?} to GITHUB_OUTPUT"));
            outputs.insert(name.to_string(), value.to_string());
        }
        out
    }

    /// The job's bin/ first, then the system's tools (bash, coreutils, sed, grep).
    fn path(&self) -> String {
        let system = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        format!("{}:{system}", self.dir().join("bin").display())
    }

    /// Replaces every `${{ expr }}` in `text` with its value.
    fn resolve(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let (expr, after) = rest[start + 3..]
                .split_once("}}")
                .unwrap_or_else(|| panic!("unclosed expression in {text:?}"));
            out.push_str(&self.eval(expr.trim()));
            rest = after;
        }
        out.push_str(rest);
        out
    }

    /// A context path: `inputs.NAME`, `github.KEY` or `steps.ID.outputs.NAME`. Anything else
    /// fails the test, so that an expression the action starts using is taught here first.
    fn eval(&self, expr: &str) -> String {
        let (context, path) = expr.split_once('.').unwrap_or((expr, ""));
        match context {
            "inputs" => match self.inputs.get(path) {
                Some(value) => value.clone(),
                None => {
                    let input = &self.action["inputs"][path];
                    assert!(!input.is_null(), "action.yml has no input {path}");
                    self.resolve(input["default"].as_str().unwrap_or_default())
                }
            },
            "github" => self
                .github
                .get(path)
                .unwrap_or_else(|| panic!("the test gives no github.{path}"))
                .clone(),
            "steps" => {
                let (id, name) = path
                    .split_once(".outputs.")
                    .unwrap_or_else(|| panic!("unknown expression {expr}"));
                self.output(id, name)
            }
            _ => panic!("unknown expression {expr}"),
        }
    }
}
