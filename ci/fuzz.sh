#!/usr/bin/env bash
# Fuzzes every parser of user or target input (issue 20) for a fixed time each, one target after
# another: the cargo-fuzz targets in fuzz/ (docs/fuzzing.md). Not part of ci/test.sh: it needs
# nightly and cargo-fuzz, and takes FUZZ_SECONDS per target (default 600, 10 minutes).
#
#   bash ci/fuzz.sh                     # every target, 600 s each
#   FUZZ_SECONDS=30 bash ci/fuzz.sh template http1_response
#
# Each target starts from its checked-in seeds (fuzz/corpus/TARGET, read only) and the corpus of
# earlier runs here (fuzz/target/corpus/TARGET, where new inputs go). Prints, per target, the
# executions (libFuzzer's final stat::number_of_executed_units) and the corpus it ended with.
# Exits 1 if any target crashed, timed out or ran out of memory, naming the input that did it
# (under fuzz/artifacts/TARGET/); reproduce with `cargo +nightly fuzz run TARGET ARTIFACT`.
#
# Environment: FUZZ_SECONDS (600), FUZZ_TOOLCHAIN (nightly), FUZZ_TIMEOUT (seconds one input may
# take before it counts as a hang, 30), FUZZ_RSS_MB (memory limit, 2048).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-600}"
toolchain="${FUZZ_TOOLCHAIN:-nightly}"
timeout="${FUZZ_TIMEOUT:-30}"
rss_mb="${FUZZ_RSS_MB:-2048}"
fuzz=(cargo "+$toolchain" fuzz)

if ! "${fuzz[@]}" --version >/dev/null 2>&1; then
  echo "fuzz.sh: needs cargo-fuzz and a nightly toolchain:" >&2
  echo "  rustup toolchain install nightly && cargo install cargo-fuzz --locked" >&2
  exit 2
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <("${fuzz[@]}" list)
fi

echo "== building the fuzz targets"
"${fuzz[@]}" build

logs=fuzz/target/logs
mkdir -p "$logs"
summary=()
failed=()
for target in "${targets[@]}"; do
  corpus="fuzz/target/corpus/$target"
  seeds="fuzz/corpus/$target"
  mkdir -p "$corpus" "$seeds"
  log="$logs/$target.log"
  echo "== $target: ${seconds}s (log: $log)"
  status=0
  "${fuzz[@]}" run "$target" "$corpus" "$seeds" -- \
    -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss_mb" \
    -print_final_stats=1 >"$log" 2>&1 || status=$?

  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then
    # Without final stats (a crash): the last status line's count, `#N ...`.
    execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
  fi
  rate=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  files=$(find "$corpus" -type f | wc -l)
  kib=$(($(find "$corpus" -type f -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }') / 1024))
  line="$target: ${execs:-?} executions (${rate:-?}/s), corpus $files inputs, ${kib} KiB"
  if [ "$status" -ne 0 ]; then
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    line="$line; FAILED (exit $status): ${artifact:-no artifact, see $log}"
    failed+=("$target")
    tail -n 40 "$log" >&2
  fi
  echo "$line"
  summary+=("$line")
done

echo
echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: ${failed[*]} failed; reproduce with: cargo +$toolchain fuzz run TARGET ARTIFACT" >&2
  exit 1
fi
