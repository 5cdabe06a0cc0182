#!/usr/bin/env bash
# The project's test command. The README's Quick start and .ci/run both call exactly this, so a
# person runs what CI runs: formatting, lints as errors, every test, and the docs build.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "toolchain"
cargo --version
# rustfmt and clippy ship with rustup's default profile; add them where a minimal one lacks them.
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "buf"
# The contract-diff tests compare gauntlet with `buf breaking` on the same proto change pairs;
# under CI (CI set) they fail when buf is missing, so install it where absent: npm's
# @bufbuild/buf ships the binary (for linux-x64 in @bufbuild/buf-linux-x64), which runs offline.
if [ -z "${BUF:-}" ] && ! command -v buf >/dev/null 2>&1; then
  buf_dir="$PWD/target/tools/buf"
  if [ ! -x "$buf_dir/node_modules/.bin/buf" ]; then
    npm install --no-save --no-audit --no-fund --prefix "$buf_dir" @bufbuild/buf@1.75.0
  fi
  export BUF="$buf_dir/node_modules/.bin/buf"
fi
"${BUF:-buf}" --version

step "cargo test"
test_log="$(mktemp)"
trap 'rm -f "$test_log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$test_log"
# One closing line over all test binaries (cargo prints one "test result" per binary).
summary="$(awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed", p, f }' "$test_log")"

step "actionlint (CI workflow examples)"
bash ci/lint-workflows.sh

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "all checks passed"
echo "$summary"
