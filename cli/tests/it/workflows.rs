//! The CI integration: the composite action (`action.yml`), the workflow examples under
//! `ci/github` and `ci/gitlab`, and the baseline gate they share (`ci/baseline-compare.sh`).
//! Here: valid YAML of the right shape, every gauntlet command and repository file they use
//! exists, the action's wiring is consistent, and the fetch-and-compare shell exists once.
//! [`gate`] runs that shell as a pull request's job would, with the [`fakes`] of gh and curl.

mod fakes;
mod gate;
mod runner;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn yaml(file: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(file)).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Every shell line of a file: `run:` blocks (GitHub), `script:` lists (GitLab), or the lines
/// of a shell script.
fn shell_lines(file: &str) -> Vec<String> {
    if file.ends_with(".sh") {
        let text = std::fs::read_to_string(repo().join(file)).unwrap();
        return text.lines().map(str::to_string).collect();
    }
    let doc = yaml(file);
    let mut lines = Vec::new();
    let mut visit = vec![&doc];
    while let Some(v) = visit.pop() {
        match v {
            Value::Mapping(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        (Some("run"), Value::String(s)) => lines.extend(s.lines().map(str::to_string)),
                        (Some("script"), Value::Sequence(items)) => {
                            lines.extend(items.iter().filter_map(|i| i.as_str()).map(str::to_string))
                        }
                        _ => visit.push(v),
                    }
                }
            }
            Value::Sequence(items) => visit.extend(items),
            _ => {}
        }
    }
    lines
}

/// The words after each `gauntlet` (or `.../gauntlet`) in command position on a line: at its
/// start, after `|`, `&&`, `||`, `;`, `then`, `do`, `!`, or opening a `$(`. A word that merely
/// contains "gauntlet" (a path, a message) is not a command.
fn invocations(line: &str) -> Vec<Vec<&str>> {
    let line = line.trim();
    if line.starts_with('#') {
        return Vec::new();
    }
    let words: Vec<&str> = line.split_whitespace().take_while(|w| *w != "#").collect();
    let mut found = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let name = word.rsplit("$(").next().unwrap_or(word);
        let is_gauntlet = name == "gauntlet" || name.ends_with("/gauntlet");
        let command_position = i == 0
            || word.contains("$(")
            || matches!(
                words[i - 1],
                "|" | "||" | "&&" | ";" | "then" | "do" | "else" | "!"
            );
        if is_gauntlet && command_position && i + 1 < words.len() {
            found.push(words[i + 1..].to_vec());
        }
    }
    found
}

/// Checks every gauntlet command of `file` against the real binary; returns how many there are.
fn check_commands(file: &str) -> usize {
    let mut count = 0;
    for line in shell_lines(file) {
        for words in invocations(&line) {
            count += 1;
            // The subcommand (and its own subcommand for `stack up`, `contract test`) must exist.
            let depth = if matches!(words[0], "stack" | "contract") {
                2
            } else {
                1
            };
            let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
                .args(&words[..depth])
                .arg("--help")
                .output()
                .unwrap();
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
        }
        // Files of this repository it names exist, also behind a `$GITHUB_ACTION_PATH/` or
        // `$CI_PROJECT_DIR/` prefix.
        for word in line.split_whitespace() {
            let word = word.trim_matches(|c| c == '"' || c == '\'' || c == ';');
            let word = match word.strip_prefix('$') {
                Some(rest) => rest.split_once('/').map_or("", |(_, path)| path),
                None => word,
            };
            if ["scenarios/", "contracts/", "ci/"]
                .iter()
                .any(|p| word.starts_with(p))
            {
                assert!(repo().join(word).exists(), "{file}: {word} does not exist");
            }
        }
    }
    count
}

#[test]
fn the_github_actions_example_is_valid_and_uses_real_commands() {
    let doc = yaml("ci/github/gauntlet.yml");
    assert!(doc.get("on").is_some() && doc.get("jobs").is_some());
    // gh run list/download, which the action runs with the workflow's token, need it.
    assert_eq!(doc["permissions"]["actions"].as_str(), Some("read"));
    let action = yaml("action.yml");
    let mut uses_the_action = false;
    for (_, job) in doc["jobs"].as_mapping().unwrap() {
        assert!(job.get("runs-on").is_some());
        for step in job["steps"].as_sequence().unwrap() {
            assert!(
                step.get("run").is_some() || step.get("uses").is_some(),
                "{step:?}"
            );
            if step["uses"].as_str() != Some("./") {
                continue;
            }
            uses_the_action = true;
            // It passes only inputs the action declares, and every required one.
            let with = step["with"].as_mapping().cloned().unwrap_or_default();
            for (name, _) in &with {
                let name = name.as_str().unwrap();
                assert!(
                    action["inputs"].get(name).is_some(),
                    "action.yml has no input {name}"
                );
            }
            for (name, input) in action["inputs"].as_mapping().unwrap() {
                if input["required"].as_bool() == Some(true) {
                    assert!(with.contains_key(name), "the workflow does not give {name:?}");
                }
            }
        }
    }
    assert!(uses_the_action, "the example does not use the action");
    let n = check_commands("ci/github/gauntlet.yml");
    assert!(n >= 2, "only {n} gauntlet commands found");
}

#[test]
fn the_gitlab_example_is_valid_and_uses_real_commands() {
    let doc = yaml("ci/gitlab/gauntlet.gitlab-ci.yml");
    let job = &doc["gauntlet"];
    assert!(job.get("script").is_some() && job.get("stage").is_some());
    // The default branch's report is the baseline: it must be kept, also when the job fails.
    let paths: Vec<&str> = job["artifacts"]["paths"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(paths.contains(&"report.json") && paths.contains(&"comparison.md"));
    assert_eq!(job["artifacts"]["when"].as_str(), Some("always"));
    let n = check_commands("ci/gitlab/gauntlet.gitlab-ci.yml");
    assert!(n >= 4, "only {n} gauntlet commands found");
}

/// `${{ ... }}` expressions in a text.
fn expressions(text: &str) -> Vec<String> {
    text.split("${{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(e, _)| e.trim().to_string()))
        .collect()
}

#[test]
fn the_action_is_valid_and_uses_real_commands() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let inputs = action["inputs"].as_mapping().unwrap();
    let mut ids = BTreeSet::new();
    let text = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    for step in action["runs"]["steps"].as_sequence().unwrap() {
        if let Some(run) = step["run"].as_str() {
            // A composite action's run step must name its shell.
            assert_eq!(step["shell"].as_str(), Some("bash"), "{step:?}");
            // Inputs pasted into a script are a script injection (a scenario path with
            // `$(...)` in it); they go through env: instead.
            assert!(!run.contains("${{"), "an expression in a run block: {run}");
        } else {
            assert!(step.get("uses").is_some(), "{step:?}");
        }
        if let Some(id) = step["id"].as_str() {
            assert!(ids.insert(id.to_string()), "step id {id} twice");
        }
    }
    // Every expression names a declared input or a step that exists.
    for expr in expressions(&text) {
        for word in expr.split(|c: char| !(c.is_alphanumeric() || "._-".contains(c))) {
            if let Some(name) = word.strip_prefix("inputs.") {
                assert!(inputs.contains_key(name), "no input {name} (in `{expr}`)");
            }
            if let Some(rest) = word.strip_prefix("steps.") {
                let id = rest.split('.').next().unwrap();
                assert!(ids.contains(id), "no step {id} (in `{expr}`)");
            }
        }
    }
    let n = check_commands("action.yml");
    assert!(n >= 3, "only {n} gauntlet commands found");
    let n = check_commands("ci/baseline-compare.sh");
    assert_eq!(n, 1, "the gate runs gauntlet compare once");
}

/// The fetch-and-compare logic lives in ci/baseline-compare.sh only: the action and the GitLab
/// job call it, and a copy in a YAML file would drift from the one the tests run.
#[test]
fn the_fetch_and_compare_logic_exists_once() {
    for file in [
        "action.yml",
        "ci/github/gauntlet.yml",
        "ci/gitlab/gauntlet.gitlab-ci.yml",
    ] {
        let lines = shell_lines(file);
        for needle in ["gh run", "jobs/artifacts", "gauntlet compare", "baseline/"] {
            assert!(
                !lines.iter().any(|l| l.contains(needle)),
                "{file} has its own `{needle}`: call ci/baseline-compare.sh instead"
            );
        }
    }
    let script = shell_lines("ci/baseline-compare.sh").join("\n");
    assert!(script.contains("gh run list") && script.contains("jobs/artifacts"));
}
