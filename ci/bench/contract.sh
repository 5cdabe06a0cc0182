#!/usr/bin/env bash
# Contract validation cost: (1) responses validated per second on one core for a typical JSON
# body; (2) gauntlet's client CPU per request in a load run against the reference catalog,
# with every response checked (contract_sample = 1.0) and without.
# Usage: bash ci/bench/contract.sh [SECONDS]   (GAUNTLET_BIN to use a prebuilt binary for (2))
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECS=${1:-10}
WORK=$(mktemp -d /tmp/gauntlet-contract.XXXXXX)
STACK_PID=""
cleanup() {
  if [[ -n "$STACK_PID" ]]; then kill "$STACK_PID" 2>/dev/null || true; wait "$STACK_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
[[ -x /usr/bin/time ]] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }

echo "== (1) validator throughput"
taskset -c 1 cargo run -q --profile dist -p gauntlet-contract --example contract_throughput

GAUNTLET=${GAUNTLET_BIN:-$ROOT/target/dist/gauntlet}
[[ -n "${GAUNTLET_BIN:-}" ]] || cargo build --profile dist --quiet -p gauntlet-cli
taskset -c 0 "$GAUNTLET" stack up --base-port 0 --data-dir "$WORK/data" > "$WORK/stack.out" 2>/dev/null &
STACK_PID=$!
for _ in $(seq 100); do grep -q "Press Ctrl-C" "$WORK/stack.out" 2>/dev/null && break; sleep 0.1; done
IAM=$(awk '$1 == "iam" {print $2}' "$WORK/stack.out")
CATALOG=$(awk '$1 == "catalog" {print $2}' "$WORK/stack.out")

scenario() { # contract_line
  cat <<TOML
[target]
base_url = "$CATALOG"
$1
[vars]
iam = "$IAM"
[load]
users = 10
duration = "${SECS}s"
[[scenario]]
name = "get"
[[scenario.step]]
name = "login"
once = true
request = "POST \${iam}/v1/token"
form = { grant_type = "client_credentials", client_id = "demo-client", client_secret = "demo-secret" }
extract = { token = "json:/access_token" }
[[scenario.step]]
name = "seed"
once = true
request = "POST /v1/movies"
headers = { authorization = "Bearer \${token}" }
json = { title = "Bench", year = 2000, genres = ["x"], rating = 5.0 }
extract = { id = "json:/id" }
[[scenario.step]]
name = "get"
request = "GET /v1/movies/\${id}"
headers = { authorization = "Bearer \${token}" }
check = { status = [200] }
TOML
}
scenario "" > "$WORK/plain.toml"
scenario "openapi = \"$ROOT/contracts/openapi/catalog.yaml\"" > "$WORK/checked.toml"

echo "== (2) client CPU per request, 10 users for ${SECS}s against catalog (stack on CPU 0, gauntlet on CPU 1)"
for variant in plain checked; do
  taskset -c 1 /usr/bin/time -f "%U %S" -o "$WORK/$variant.time" "$GAUNTLET" run "$WORK/$variant.toml" --quiet --out "$WORK/$variant.json" >/dev/null || true
  read -r user sys < "$WORK/$variant.time"
  python3 - "$WORK/$variant.json" "$user" "$sys" "$variant" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); user, sys_, name = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
n = r["total"]["requests"]
checked = (r.get("contract") or {}).get("checked", 0)
print(f"{name:8} {n / r['duration_secs']:8.0f} req/s  {(user + sys_) * 1e6 / n:6.2f} us CPU/request  ({checked} responses checked)")
PY
done
