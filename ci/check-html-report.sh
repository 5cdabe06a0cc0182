#!/usr/bin/env bash
# Renders the HTML report of a real run and checks it as a person would see it: every chart's
# SVG has data points, and headless Chromium renders the page (screenshot written to
# $OUT/report.png). Installs chromium with apt when it is missing.
# Usage: bash ci/check-html-report.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-$(mktemp -d /tmp/gauntlet-html.XXXXXX)}
mkdir -p "$OUT"
cargo run -q -p gauntlet-cli -- demo --duration 6s --users 4 --out "$OUT" >/dev/null
python3 - "$OUT/report.html" <<'PY'
import re, sys
html = open(sys.argv[1]).read()
svgs = re.findall(r"<svg.*?</svg>", html, re.S)
assert len(svgs) == 4, f"expected 4 charts, found {len(svgs)}"
for i, svg in enumerate(svgs, 1):
    # plotters draws series as polylines (and single points as circles/rects).
    points = sum(len(p.split()) for p in re.findall(r'points="([^"]*)"', svg))
    assert points >= 5, f"chart {i} has {points} data points"
    print(f"chart {i}: {points} data points")
for bad in ("<script", "src=\"http", "href=\"http", "@import", "url(http"):
    assert bad not in html, f"the page fetches something: {bad}"
print("html: self-contained, 4 charts with data")
PY
if ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
  --disable-component-update --disable-sync --user-data-dir="$profile" --window-size=1400,2600 \
  --screenshot="$OUT/report.png" "file://$OUT/report.html" >/dev/null 2>&1
rm -rf "$profile"
size=$(stat -c %s "$OUT/report.png")
[[ $size -gt 50000 ]] || { echo "screenshot too small ($size bytes): the page did not render"; exit 1; }
echo "screenshot: $OUT/report.png ($size bytes)"
