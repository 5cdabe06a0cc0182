#!/usr/bin/env bash
# Holds the workspace to the dependency table in docs/architecture.md (between the
# `deps:begin` / `deps:end` markers), so the rule "the libraries never import the reference
# stack" is a check, not a comment:
#   1. each workspace crate's direct normal dependencies on workspace crates equal its row's
#      "may depend on" column (a missing or an extra one both fail: the table stays true);
#   2. building a crate alone (`cargo tree -p CRATE -e normal`, what `cargo build -p CRATE`
#      compiles) pulls in none of the crates in its "never compiles" column;
#   3. every workspace crate has a row.
# Exit 0 when all hold, 1 with one line per breach otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

table="docs/architecture.md"
metadata="$(cargo metadata --format-version 1 --no-deps --locked)"

# crate -> allowed workspace deps, and crate -> forbidden crates, from the table.
rows="$(python3 - "$table" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
block = text.split("<!-- deps:begin -->", 1)[1].split("<!-- deps:end -->", 1)[0]
for line in block.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 4 or not cells[0].startswith("`"):
        continue
    name = cells[0].strip("`")
    def names(cell):
        return ",".join(n.strip() for n in cell.split(",") if n.strip() not in ("", "—", "-"))
    print(f"{name}\t{names(cells[2])}\t{names(cells[3])}")
PY
)"

failures=0
fail() { echo "check-deps: $*" >&2; failures=$((failures + 1)); }

# 1 and 3: direct workspace dependencies against the table.
while IFS=$'\t' read -r crate actual; do
  row="$(printf '%s\n' "$rows" | awk -F'\t' -v c="$crate" '$1 == c')"
  if [ -z "$row" ]; then
    fail "$crate has no row in $table"
    continue
  fi
  allowed="$(printf '%s' "$row" | cut -f2 | tr ',' '\n' | sort | paste -sd, -)"
  if [ "$allowed" != "$actual" ]; then
    fail "$crate depends on [${actual}] but $table allows [${allowed}]"
  fi
done < <(printf '%s' "$metadata" | python3 -c '
import json, sys
meta = json.load(sys.stdin)
ours = {p["name"] for p in meta["packages"]}
for p in meta["packages"]:
    deps = sorted({d["name"] for d in p["dependencies"] if d["name"] in ours and d["kind"] is None})
    print(p["name"] + "\t" + ",".join(deps))
')

# 2: what building each crate alone compiles.
while IFS=$'\t' read -r crate _ forbidden; do
  [ -n "$forbidden" ] || continue
  compiled="$(cargo tree -p "$crate" -e normal --prefix none --locked | awk '{print $1}' | sort -u)"
  for name in ${forbidden//,/ }; do
    if printf '%s\n' "$compiled" | grep -qx "$name"; then
      fail "building $crate compiles $name (forbidden in $table): cargo tree -p $crate -e normal -i $name"
    fi
  done
done <<<"$rows"

if [ "$failures" -gt 0 ]; then
  echo "check-deps: $failures breach(es) of $table" >&2
  exit 1
fi
echo "check-deps: every crate's dependencies match $table"
