#!/usr/bin/env bash
# Memory over run length: the same paced run against a trivial nginx target for SHORT and
# LONG seconds (default 60 and 600); prints each run's peak RSS and the ratio. gauntlet keeps
# histograms, not samples, and encodes each finished per-second window, so the long run's
# peak should stay within ~20% of the short one's.
#
# Usage: bash ci/bench/memory.sh [RATE] [SHORT_SECS] [LONG_SECS]   (GAUNTLET_BIN to skip the build)
# shellcheck source=ci/bench/lib.sh
source "$(dirname "$0")/lib.sh"
RATE=${1:-5000}
SHORT=${2:-60}
LONG=${3:-600}
bench_start mem
bench_need nginx=nginx-light /usr/bin/time=time curl=curl
bench_gauntlet

bench_nginx 0

run() {
  local secs=$1
  bench_scenario "$WORK/run.toml" "rate = $RATE
users = 50
duration = \"${secs}s\""
  taskset -c 1 /usr/bin/time -f "%M" -o "$WORK/rss" "$GAUNTLET" run "$WORK/run.toml" --quiet --out "$WORK/r.json" >/dev/null
  local kb; kb=$(cat "$WORK/rss")
  local requests; requests=$(python3 -c "import json; print(json.load(open('$WORK/r.json'))['total']['requests'])")
  echo "$kb $requests"
}
read -r short_kb short_n < <(run "$SHORT")
echo "paced $RATE/s for ${SHORT}s: peak RSS $((short_kb / 1024)) MiB ($short_n requests)"
read -r long_kb long_n < <(run "$LONG")
echo "paced $RATE/s for ${LONG}s: peak RSS $((long_kb / 1024)) MiB ($long_n requests)"
python3 -c "print(f'ratio long/short peak RSS: {$long_kb / $short_kb:.2f}x')"
