# shellcheck shell=bash
# Shared by the benchmarks (generator.sh, memory.sh, instructions.sh, compare.sh, contract.sh,
# gateway.sh): their common head. Sourcing it (`source "$(dirname "$0")/lib.sh"`) turns on
# strict mode and moves to the repository root, where the scripts' paths start; bench_start NAME
# then makes $WORK and, on exit, removes it and stops what the script started.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

NGINX_PID=""
STACK_PID=""

# bench_start NAME: WORK, a temp dir /tmp/gauntlet-NAME.XXXXXX, and the exit trap that runs
# bench_cleanup and removes it.
bench_start() {
  WORK=$(mktemp -d "/tmp/gauntlet-$1.XXXXXX")
  trap 'bench_cleanup; rm -rf "$WORK"' EXIT
}

# bench_cleanup: stops the nginx and the stack this script started, by their PIDs.
bench_cleanup() {
  if [[ -n "$NGINX_PID" ]]; then kill "$NGINX_PID" 2>/dev/null || true; fi
  bench_stack_down
}

# bench_need CMD=PACKAGE...: installs (apt) the packages whose command is missing.
bench_need() {
  local missing=() pair
  for pair in "$@"; do
    if [[ ${pair%%=*} == /* ]]; then [[ -x ${pair%%=*} ]] || missing+=("${pair#*=}")
    else command -v "${pair%%=*}" >/dev/null || missing+=("${pair#*=}"); fi
  done
  if ((${#missing[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# bench_gauntlet: GAUNTLET, the binary to measure: $GAUNTLET_BIN when set (built elsewhere),
# else this tree's, built here with the dist profile.
bench_gauntlet() {
  GAUNTLET=${GAUNTLET_BIN:-$PWD/target/dist/gauntlet}
  if [[ -z "${GAUNTLET_BIN:-}" ]]; then
    echo "building gauntlet (dist profile)..." >&2
    cargo build --profile dist --quiet -p gauntlet-cli
  fi
}

# bench_stack_up CPU [ARG...]: `gauntlet stack up` on free ports (pinned to CPU unless it is
# empty) with a fresh data dir and ARGs; sets STACK_PID and returns once it printed its URLs
# (bench_stack_url reads them).
bench_stack_up() {
  local pin=()
  [[ -z "$1" ]] || pin=(taskset -c "$1")
  shift
  "${pin[@]}" "$GAUNTLET" stack up --base-port 0 --data-dir "$WORK/data-$RANDOM" "$@" > "$WORK/stack.out" 2>/dev/null &
  STACK_PID=$!
  for _ in $(seq 100); do grep -q "Press Ctrl-C" "$WORK/stack.out" 2>/dev/null && break; sleep 0.1; done
}

# bench_stack_url SERVICE: the URL the running stack printed for SERVICE (iam, catalog, gateway).
bench_stack_url() {
  awk -v s="$1" '$1 == s {print $2}' "$WORK/stack.out"
}

# bench_stack_down: stops the stack bench_stack_up started, if it runs.
bench_stack_down() {
  if [[ -n "$STACK_PID" ]]; then kill "$STACK_PID" 2>/dev/null || true; wait "$STACK_PID" 2>/dev/null || true; fi
  STACK_PID=""
}

# bench_free_port: a TCP port free on 127.0.0.1 a moment ago.
bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_nginx_conf HTTP: writes $WORK/nginx/nginx.conf: one worker, keep-alive without limits,
# no access log, temp paths under $WORK, and HTTP (the servers, upstreams, maps) inside http {}.
bench_nginx_conf() {
  mkdir -p "$WORK/nginx/logs"
  cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
$1
}
CONF
}

# bench_nginx [CPU]: nginx (bench_nginx_conf) on a free loopback port (pinned to CPU when
# given), answering `200 ok` to everything and its request count at /status (stub_status).
# Sets NGINX_PID and URL; returns once it answers.
bench_nginx() {
  local port pin=()
  port=$(bench_free_port)
  [[ -z "${1:-}" ]] || pin=(taskset -c "$1")
  bench_nginx_conf "  server {
    listen 127.0.0.1:$port;
    location = /status { stub_status; }
    location / { return 200 \"ok\"; }
  }"
  "${pin[@]}" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
  NGINX_PID=$!
  URL="http://127.0.0.1:$port"
  for _ in $(seq 50); do curl -sf "$URL/" >/dev/null && break; sleep 0.1; done
}

# bench_scenario FILE LOAD: a scenario of one `GET /` (checked for 200) against $URL, with LOAD
# as its [load] table's lines (e.g. $'users = 50\nduration = "10s"').
bench_scenario() {
  cat > "$1" <<TOML
[target]
base_url = "$URL"
[load]
$2
[[scenario]]
name = "bench"
[[scenario.step]]
name = "get"
request = "GET /"
check = { status = [200] }
TOML
}

# bench_served: requests nginx has served so far (its stub_status count).
bench_served() {
  curl -s "$URL/status" | awk 'NR==3 {print $3}'
}
