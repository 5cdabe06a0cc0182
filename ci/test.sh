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

step "crate dependencies (docs/architecture.md)"
bash ci/check-deps.sh

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

step "RabbitMQ"
# The event tests (catalog's outbox relay, partner) run against a real broker and fail under CI
# when none answers. Use the one on 127.0.0.1:5672 when it answers (this project's machines run
# one); otherwise install rabbitmq-server (apt) and start a private node on loopback in a temp
# dir, stopped when this script exits. partner's outage test and the embedded stack's
# private-broker tests (reference-stack/local, events.rs) start their own private nodes too, so
# the package is installed even when a broker already answers.
amqp_answers() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
private_rabbitmq_node=""
private_rabbitmq_dir=""
private_epmd_port=24369
stop_private_rabbitmq() {
  if [ -n "$private_rabbitmq_node" ]; then
    ERL_EPMD_PORT="$private_epmd_port" rabbitmqctl -n "$private_rabbitmq_node" stop >/dev/null 2>&1 || true
    # the node's own epmd (on its own port, never a system one on 4369)
    epmd -port "$private_epmd_port" -kill >/dev/null 2>&1 || true
    rm -rf "$private_rabbitmq_dir"
    private_rabbitmq_node=""
  fi
}
trap stop_private_rabbitmq EXIT
if [ ! -x /usr/sbin/rabbitmq-server ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null
fi
if amqp_answers; then
  echo "using the RabbitMQ on 127.0.0.1:5672"
else
  private_rabbitmq_dir="$(mktemp -d /tmp/gauntlet-ci-rabbitmq.XXXXXX)"
  printf 'listeners.tcp.1 = 127.0.0.1:5672\nloopback_users = none\n' >"$private_rabbitmq_dir/rabbitmq.conf"
  echo '[].' >"$private_rabbitmq_dir/enabled_plugins"
  # as root the server drops to the rabbitmq user, which must own its logs and database
  chown -R rabbitmq:rabbitmq "$private_rabbitmq_dir"
  private_rabbitmq_node="gauntlet-ci@localhost"
  RABBITMQ_NODENAME="$private_rabbitmq_node" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$private_epmd_port" \
    RABBITMQ_MNESIA_BASE="$private_rabbitmq_dir/mnesia" RABBITMQ_LOG_BASE="$private_rabbitmq_dir/log" \
    RABBITMQ_CONFIG_FILE="$private_rabbitmq_dir/rabbitmq" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$private_rabbitmq_dir/enabled_plugins" \
    nohup /usr/sbin/rabbitmq-server >"$private_rabbitmq_dir/server.out" 2>&1 </dev/null &
  for _ in $(seq 1 180); do amqp_answers && break; sleep 0.5; done
  if ! amqp_answers; then
    echo "the private rabbitmq-server did not start:" >&2
    tail -n 30 "$private_rabbitmq_dir/server.out" >&2
    exit 1
  fi
  echo "started a private RabbitMQ ($private_rabbitmq_node) on 127.0.0.1:5672"
fi
export GAUNTLET_AMQP_URL="${GAUNTLET_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"

step "cargo test"
test_log="$(mktemp)"
trap 'rm -f "$test_log"; stop_private_rabbitmq' EXIT
cargo test --workspace --locked 2>&1 | tee "$test_log"
# One closing line over all test binaries (cargo prints one "test result" per binary).
summary="$(awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed", p, f }' "$test_log")"

step "actionlint (CI workflow examples and action.yml)"
# lint-workflows.sh runs shellcheck on every piece of CI shell when it is installed (it falls
# back to `bash -n` otherwise): install it, so CI enforces it.
if ! command -v shellcheck >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
fi
bash ci/lint-workflows.sh

step "Kubernetes manifests (API schemas)"
bash ci/validate-k8s.sh

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "Dockerfile build sequence (dist profile)"
# The image's own build commands, run here without Docker: the longest step (fat LTO), last.
bash ci/check-dockerfile.sh

step "all checks passed"
echo "$summary"
