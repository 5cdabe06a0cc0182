//! The CI workflow examples under `ci/github` and `ci/gitlab`: valid YAML of the right shape,
//! and every gauntlet command and repository file they use exists.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every shell line of a workflow: `run:` blocks (GitHub) and `script:` lists (GitLab).
fn shell_lines(doc: &serde_yaml::Value) -> Vec<String> {
    let mut lines = Vec::new();
    let mut visit = vec![doc];
    while let Some(v) = visit.pop() {
        match v {
            serde_yaml::Value::Mapping(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        (Some("run"), serde_yaml::Value::String(s)) => {
                            lines.extend(s.lines().map(str::to_string))
                        }
                        (Some("script"), serde_yaml::Value::Sequence(items)) => {
                            lines.extend(items.iter().filter_map(|i| i.as_str()).map(str::to_string))
                        }
                        _ => visit.push(v),
                    }
                }
            }
            serde_yaml::Value::Sequence(items) => visit.extend(items),
            _ => {}
        }
    }
    lines
}

fn check(file: &str) {
    let path = repo().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let lines = shell_lines(&doc);
    let mut invocations = 0;
    for line in &lines {
        let Some(rest) = line.split("target/release/gauntlet ").nth(1) else {
            continue;
        };
        invocations += 1;
        let words: Vec<&str> = rest.split_whitespace().collect();
        // The subcommand (and its own subcommand for `stack up`, `contract test`) must exist.
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
        let depth = if matches!(words[0], "stack" | "contract") {
            2
        } else {
            1
        };
        cmd.args(&words[..depth]).arg("--help");
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{file}: `gauntlet {}` does not exist",
            words[..depth].join(" ")
        );
        // Every flag used is one the subcommand documents.
        let help = String::from_utf8_lossy(&out.stdout);
        for flag in words.iter().filter(|w| w.starts_with("--")) {
            assert!(
                help.contains(flag),
                "{file}: `gauntlet {}` has no {flag}",
                words[..depth].join(" ")
            );
        }
        // Files of this repository it names exist.
        for word in words
            .iter()
            .filter(|w| w.starts_with("scenarios/") || w.starts_with("contracts/"))
        {
            assert!(repo().join(word).exists(), "{file}: {word} does not exist");
        }
    }
    assert!(
        invocations >= 4,
        "{file}: only {invocations} gauntlet commands found"
    );
}

#[test]
fn the_github_actions_example_is_valid_and_uses_real_commands() {
    let text = std::fs::read_to_string(repo().join("ci/github/gauntlet.yml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert!(doc.get("on").is_some() && doc.get("jobs").is_some());
    for (_, job) in doc["jobs"].as_mapping().unwrap() {
        assert!(job.get("runs-on").is_some());
        for step in job["steps"].as_sequence().unwrap() {
            assert!(
                step.get("run").is_some() || step.get("uses").is_some(),
                "{step:?}"
            );
        }
    }
    check("ci/github/gauntlet.yml");
}

#[test]
fn the_gitlab_example_is_valid_and_uses_real_commands() {
    let text = std::fs::read_to_string(repo().join("ci/gitlab/gauntlet.gitlab-ci.yml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let job = &doc["gauntlet"];
    assert!(job.get("script").is_some() && job.get("stage").is_some());
    check("ci/gitlab/gauntlet.gitlab-ci.yml");
}
