#!/usr/bin/env bash
# Contract validation cost: (1) responses validated per second on one core for a typical JSON
# body; (2) gauntlet's client CPU per request in a load run against the reference catalog,
# with every response checked (contract_sample = 1.0) and without.
# Usage: bash ci/bench/contract.sh [SECONDS]   (GAUNTLET_BIN to use a prebuilt binary for (2))
# shellcheck source=ci/bench/lib.sh
source "$(dirname "$0")/lib.sh"
SECS=${1:-10}
bench_start contract
bench_need /usr/bin/time=time

echo "== (1) validator throughput"
taskset -c 1 cargo run -q --profile dist -p gauntlet-contract --example contract_throughput

bench_gauntlet
bench_stack_up 0
IAM=$(bench_stack_url iam)
CATALOG=$(bench_stack_url catalog)

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
scenario "openapi = \"$PWD/contracts/openapi/catalog.yaml\"" > "$WORK/checked.toml"

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
