#!/usr/bin/env bash
# Load-generator benchmark: the same trivial local HTTP target (nginx, one worker, `return 200`,
# keep-alive) driven by wrk, oha, a plain goose program and `gauntlet run`, at the same
# connection count and duration, the target pinned to CPU 0 and each generator to CPU 1.
# Prints, per generator: requests/s, client CPU microseconds per request (whole-process
# user+sys over the requests nginx served, from its stub_status), peak RSS, and gauntlet's ratio
# to each. Then a paced run at a fixed rate (gauntlet vs oha -q): delivered rate and p99.
#
# Usage: bash ci/bench/generator.sh [CONNECTIONS] [SECONDS] [PACED_RATE] [PACED_SECONDS]
#   env PEERS ("wrk oha goose"): the peers to run, e.g. PEERS=wrk for a quick ratio without
#   building oha and goose (the paced comparison then runs gauntlet alone).
# A benchmark, not a test: it prints figures and ratios; it does not pass or fail on them.
# shellcheck source=ci/bench/lib.sh
source "$(dirname "$0")/lib.sh"
ROOT=$PWD
CONNS=${1:-50}
SECS=${2:-10}
RATE=${3:-20000}
PACED_SECS=${4:-15}
bench_start bench
bench_need nginx=nginx-light wrk=wrk /usr/bin/time=time curl=curl
PEERS=${PEERS:-wrk oha goose}
peer() { [[ " $PEERS " == *" $1 "* ]]; }
OHA=$(command -v oha || echo "$HOME/.cargo/bin/oha")
if peer oha && [[ ! -x "$OHA" ]]; then cargo install oha --locked; fi
# GAUNTLET_BIN / GOOSE_BIN: use binaries built elsewhere instead of building here.
GOOSE=${GOOSE_BIN:-$ROOT/target/bench-goose/release/goose-plain}
bench_gauntlet
if peer goose && [[ -z "${GOOSE_BIN:-}" ]]; then
  echo "building the goose peer (release)..." >&2
  (cd ci/bench/goose-plain && CARGO_TARGET_DIR=$ROOT/target/bench-goose cargo build --release --quiet)
fi

bench_nginx 0
served() { bench_served; }

bench_scenario "$WORK/closed.toml" "users = $CONNS
duration = \"${SECS}s\""
bench_scenario "$WORK/paced.toml" "rate = $RATE
users = $CONNS
duration = \"${PACED_SECS}s\""

declare -A CPU_US RPS RSS
# measure NAME COMMAND...: runs the generator on CPU 1 under /usr/bin/time.
measure() {
  local name=$1; shift
  local before after
  before=$(served)
  taskset -c 1 /usr/bin/time -f "%U %S %M %e" -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || true
  after=$(served)
  local requests=$((after - before - 1)) # the status request itself
  read -r user sys rss_kb wall <"$WORK/$name.time"
  CPU_US[$name]=$(python3 -c "print(f'{($user + $sys) * 1e6 / max($requests, 1):.2f}')")
  RPS[$name]=$(python3 -c "print(f'{$requests / $wall:.0f}')")
  RSS[$name]=$((rss_kb / 1024))
  printf '%-10s %10s req/s %8s us CPU/req %6s MiB peak RSS  (%s requests in %ss)\n' \
    "$name" "${RPS[$name]}" "${CPU_US[$name]}" "${RSS[$name]}" "$requests" "$wall"
}

echo "== closed: $CONNS connections, ${SECS}s, target nginx on CPU 0, generator on CPU 1"
peer wrk && measure wrk wrk -t1 -c"$CONNS" -d"${SECS}s" "$URL/"
peer oha && measure oha "$OHA" --no-tui -z "${SECS}s" -c "$CONNS" "$URL/"
peer goose && measure goose "$GOOSE" --host "$URL" --users "$CONNS" --increase-rate "$CONNS" --run-time "${SECS}s" --quiet --no-reset-metrics
measure gauntlet "$GAUNTLET" run "$WORK/closed.toml" --quiet

echo
echo "== gauntlet's client CPU per request, as a ratio to each peer (lower is better)"
for peer in $PEERS; do
  python3 -c "print(f'  vs {\"$peer\":<6} {${CPU_US[gauntlet]} / ${CPU_US[$peer]}:.2f}x CPU/request, {${RPS[gauntlet]} / ${RPS[$peer]}:.2f}x req/s, {${RSS[gauntlet]} / max(${RSS[$peer]},1):.2f}x RSS')"
done

echo
echo "== paced: $RATE req/s for ${PACED_SECS}s, $CONNS connections, generator on CPU 1"
before=$(served)
taskset -c 1 "$GAUNTLET" run "$WORK/paced.toml" --out "$WORK/paced.json" --quiet >/dev/null || true
after=$(served)
python3 - "$WORK/paced.json" $((after - before - 1)) "$RATE" "$PACED_SECS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); served = int(sys.argv[2]); rate = float(sys.argv[3]); secs = float(sys.argv[4])
lat = r["total"].get("latency_us") or {}
print(f"gauntlet   delivered {served / secs:,.0f} req/s of {rate:,.0f} ({100 * served / (rate * secs):.2f}%), "
      f"p99 {lat.get('p99', 0) / 1000:.2f} ms, late starts {r['late_starts']}")
PY
peer oha || exit 0
before=$(served)
taskset -c 1 "$OHA" --no-tui -z "${PACED_SECS}s" -c "$CONNS" -q "$RATE" "$URL/" >"$WORK/oha-paced.out" 2>&1 || true
after=$(served)
p99=$(grep -E '^\s*99\.00%' "$WORK/oha-paced.out" | head -1 | awk '{print $3 " " $4}')
python3 -c "print(f'oha        delivered {($after - $before - 1) / $PACED_SECS:,.0f} req/s of {$RATE:,.0f}, p99 $p99')"
