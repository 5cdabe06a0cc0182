#!/usr/bin/env bash
# `gauntlet compare` against the reference stack: PAIRS pairs of runs of the browse scenario
# (paced, 100 iterations/s, through the gateway) on the same unchanged stack (each should say
# "no regression": false alarms must be rare), then a run on a stack with EXTRA ms injected into
# catalog's GET /v1/movies/{id} (the `fetch` step), which must be called a regression of that
# step and of no other. Prints each verdict and a tally.
# Usage: bash ci/bench/compare.sh [PAIRS] [SECONDS] [EXTRA_MS]   (GAUNTLET_BIN to skip the build)
# shellcheck source=ci/bench/lib.sh
source "$(dirname "$0")/lib.sh"
PAIRS=${1:-3}
SECS=${2:-8}
EXTRA=${3:-5}
bench_start compare
bench_gauntlet

start_stack() { # [ARG...]
  bench_stack_up "" "$@"
  GATEWAY=$(bench_stack_url gateway)
}
# browse at a constant arrival rate (paced): a slower step then does not slow the others'
# throughput down, as it would in a closed loop, so only the changed step may differ.
sed 's/^users = 20$/rate = 100\nusers = 10/' scenarios/browse.toml > "$WORK/browse-paced.toml"
grep -q '^rate = 100' "$WORK/browse-paced.toml"
run() { # out
  "$GAUNTLET" run "$WORK/browse-paced.toml" --target "$GATEWAY" --duration "${SECS}s" \
    --quiet --out "$1" > /dev/null || true
}

start_stack
run "$WORK/base.json"
false_alarms=0
for i in $(seq "$PAIRS"); do
  run "$WORK/same-$i.json"
  if "$GAUNTLET" compare "$WORK/base.json" "$WORK/same-$i.json" > "$WORK/cmp-$i.txt"; then
    echo "unchanged stack, pair $i: no regression"
  else
    false_alarms=$((false_alarms + 1))
    echo "unchanged stack, pair $i: FALSE ALARM: $(grep REGRESSIONS "$WORK/cmp-$i.txt")"
  fi
done
bench_stack_down

printf '[[catalog.faults]]\nroute = "/v1/movies/{id}"\nmethod = "GET"\nlatency_ms = %s\n' "$EXTRA" > "$WORK/slow.toml"
start_stack --config "$WORK/slow.toml"
run "$WORK/slow.json"
bench_stack_down
"$GAUNTLET" compare "$WORK/base.json" "$WORK/slow.json" > "$WORK/cmp-slow.txt" || true
regressions=$(grep -o 'REGRESSIONS: .*' "$WORK/cmp-slow.txt" || echo "none")
echo "+${EXTRA} ms on fetch: $regressions"
grep -E '^  fetch ' "$WORK/cmp-slow.txt" | grep -E 'p50|p99' || true
echo "false alarms: $false_alarms of $PAIRS unchanged pairs"
