#!/usr/bin/env bash
# The load generator's cost per request in instructions (callgrind), for one or more `gauntlet`
# binaries against the same nginx `return 200`: repeatable whatever else the machine is doing,
# so two versions of the client can be compared on a busy machine, where the CPU-time ratios
# of generator.sh are only indicative. Each binary runs the same closed scenario twice under
# callgrind, for LONG and SHORT seconds; (instructions LONG - SHORT) / (requests LONG - SHORT)
# leaves out start-up and the report. The requests are nginx's own count (stub_status).
#
# Usage: bash ci/bench/instructions.sh GAUNTLET_BIN [GAUNTLET_BIN...]
#   env USERS (10), LONG (9), SHORT (3). A benchmark, not a test: it prints figures.
# shellcheck source=ci/bench/lib.sh
source "$(dirname "$0")/lib.sh"
(($# >= 1)) || { echo "usage: $0 GAUNTLET_BIN [GAUNTLET_BIN...]" >&2; exit 2; }
USERS=${USERS:-10}
LONG=${LONG:-9}
SHORT=${SHORT:-3}
bench_start instr
bench_need nginx=nginx-light valgrind=valgrind curl=curl
bench_nginx "" # on any CPU: callgrind counts instructions, not time

for secs in "$LONG" "$SHORT"; do
  bench_scenario "$WORK/s$secs.toml" "users = $USERS
duration = \"${secs}s\""
done

# run BIN SECONDS: prints "instructions requests" of one callgrind run.
run() {
  local before after
  before=$(bench_served)
  # One CPU: the single-threaded runtime the generator picks there, as generator.sh pins it.
  taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$1" run "$WORK/s$2.toml" --quiet \
    >/dev/null 2>"$WORK/cg.err" || true
  after=$(bench_served)
  local ir
  ir=$(awk '/^summary:/ {print $2}' "$WORK/cg.out")
  echo "$ir $((after - before - 1))"
}

printf '%-40s %14s %14s %12s\n' binary "requests(L-S)" "instr(L-S)" "instr/req"
for bin in "$@"; do
  read -r ir_long req_long < <(run "$bin" "$LONG")
  read -r ir_short req_short < <(run "$bin" "$SHORT")
  python3 - "$bin" "$ir_long" "$req_long" "$ir_short" "$req_short" <<'PY'
import sys
name, il, rl, is_, rs = sys.argv[1], *map(int, sys.argv[2:])
print(f"{name:<40} {rl - rs:>14,} {il - is_:>14,} {(il - is_) / max(rl - rs, 1):>12,.0f}")
PY
done
