#!/usr/bin/env bash
# Memory over run length: the same paced run against a trivial nginx target for SHORT and
# LONG seconds (default 60 and 600); prints each run's peak RSS and the ratio. gauntlet keeps
# histograms, not samples, and encodes each finished per-second window, so the long run's
# peak should stay within ~20% of the short one's.
#
# Usage: bash ci/bench/memory.sh [RATE] [SHORT_SECS] [LONG_SECS]   (GAUNTLET_BIN to skip the build)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
RATE=${1:-5000}
SHORT=${2:-60}
LONG=${3:-600}
WORK=$(mktemp -d /tmp/gauntlet-mem.XXXXXX)
NGINX_PID=""
cleanup() {
  if [[ -n "$NGINX_PID" ]]; then kill "$NGINX_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
command -v nginx >/dev/null && [[ -x /usr/bin/time ]] || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light time >/dev/null
}
GAUNTLET=${GAUNTLET_BIN:-$ROOT/target/release/gauntlet}
[[ -n "${GAUNTLET_BIN:-}" ]] || cargo build --release --quiet -p gauntlet-cli

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server { listen 127.0.0.1:$PORT; location / { return 200 "ok"; } }
}
CONF
taskset -c 0 nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX_PID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.1; done

run() {
  local secs=$1
  cat > "$WORK/run.toml" <<TOML
[target]
base_url = "http://127.0.0.1:$PORT"
[load]
rate = $RATE
users = 50
duration = "${secs}s"
[[scenario]]
name = "mem"
[[scenario.step]]
name = "get"
request = "GET /"
TOML
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
