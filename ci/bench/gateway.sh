#!/usr/bin/env bash
# Gateway benchmark: the reference stack's gateway vs nginx as reverse proxies in front of the same
# catalog instance, in the same run, measured with wrk on loopback. The request is an
# authenticated `GET /api/movies/{id}`: the gateway checks the JWT at the edge (signature, iss,
# aud, exp, revocation, scope) and runs its rate limiter (limit set out of reach) before proxying;
# nginx proxies without any check. Both proxies send catalog the same request: nginx is set up
# with the forwarding headers the gateway adds (X-Forwarded-For/-Proto/-Host, Forwarded,
# X-Request-Id) and returns the request id too, as a production nginx in front of a service
# would; catalog checks the token itself behind both, so the upstream work is the same for this
# benchmark's requests (nginx's `Forwarded` replaces an earlier hop's instead of appending to
# it, and does not quote an IPv6 client: neither occurs here). A second nginx server without
# those headers (`nginx-bare`, the comparison made until session 6) and a direct run against
# catalog are printed for reference. Both proxies: one worker (nginx `worker_processes 1`, the
# gateway's runtime `TOKIO_WORKER_THREADS=1`), keep-alive to the client and to catalog, no
# access log.
#
# Prints requests/s and p99 for each and the gateway/nginx ratios (target: throughput >= 1.0x,
# p99 <= 1.2x): the ratio of the means, and the median and range of the per-round ratios. A
# benchmark, not a test: it does not pass or fail on the figures. Numbers from a machine shared
# with other work are indicative only.
#
# Usage: bash ci/bench/gateway.sh [CONNECTIONS] [SECONDS] [ROUNDS] [UPSTREAM]
#   defaults 50 6 8 movie; an odd ROUNDS is rounded up, so that both orders of the targets run
#   equally often. UPSTREAM `movie` is the GET above; `readyz` proxies the same way (JWT checked
#   at the gateway, same headers) to catalog's cheap `/readyz` instead, so that the proxies'
#   own cost, not catalog's token check, sets the throughput.
# Release binaries are built into $CARGO_TARGET_DIR (default /tmp/reltarget); STACK_BIN_DIR, a
# folder holding iam, catalog and gateway built elsewhere (e.g. from an earlier commit, to
# compare two versions of the gateway in one session), is used instead of building.
# shellcheck source=ci/bench/lib.sh
source "$(dirname "$0")/lib.sh"
CONNS=${1:-50}
SECS=${2:-6}
ROUNDS=${3:-8}
ROUNDS=$((ROUNDS + ROUNDS % 2))
UPSTREAM=${4:-movie}
[[ $UPSTREAM == movie || $UPSTREAM == readyz ]] || { echo "UPSTREAM must be movie or readyz, not $UPSTREAM" >&2; exit 2; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/reltarget}
bench_start gwbench
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
# Replaces bench_start's trap: this script starts several processes of its own (PIDS).
trap cleanup EXIT
bench_need nginx=nginx-light wrk=wrk curl=curl
if [[ -n "${STACK_BIN_DIR:-}" ]]; then
  BIN=$STACK_BIN_DIR
else
  echo "building iam, catalog and gateway (dist profile, $CARGO_TARGET_DIR)..." >&2
  cargo build --profile dist --quiet -p stack-iam -p stack-catalog -p stack-gateway --bins
  BIN=$CARGO_TARGET_DIR/dist
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits until URL answers anything over HTTP.
wait_up() {
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.05
  done
  echo "not up: $1" >&2
  exit 3
}
IAM_PORT=$(free_port)
CATALOG_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
NGINX_PORT=$(free_port)
NGINX_BARE_PORT=$(free_port)

GAUNTLET_IAM_LISTEN=127.0.0.1:$IAM_PORT GAUNTLET_IAM_DATA_DIR=$WORK/iam \
  "$BIN/iam" 2>"$WORK/iam.log" &
PIDS+=($!)
wait_up "http://127.0.0.1:$IAM_PORT/readyz"
GAUNTLET_CATALOG_LISTEN=127.0.0.1:$CATALOG_PORT GAUNTLET_CATALOG_DATA_DIR=$WORK/catalog \
  GAUNTLET_CATALOG_IAM_URL=http://127.0.0.1:$IAM_PORT "$BIN/catalog" 2>"$WORK/catalog.log" &
PIDS+=($!)
CATALOG_PID=$!
wait_up "http://127.0.0.1:$CATALOG_PORT/readyz"

cat > "$WORK/gateway.toml" <<CONF
listen = "127.0.0.1:$GATEWAY_PORT"
iam_url = "http://127.0.0.1:$IAM_PORT"
access_log = false

[upstreams.iam]
instances = [{ addr = "127.0.0.1:$IAM_PORT" }]

[upstreams.catalog]
instances = [{ addr = "127.0.0.1:$CATALOG_PORT" }]

[[routes]]
name = "iam"
prefix = "/iam"
upstream = "iam"
rewrite = ""

[[routes]]
name = "api-read"
prefix = "/api"
methods = ["GET", "HEAD"]
upstream = "catalog"
rewrite = "/v1"
auth = { scope = "movies:read" }
# The limiter runs on every request but never refuses one here.
rate_limit = { rate_per_sec = 1e9, burst = 1000000000 }

[[routes]]
name = "probe"
prefix = "/probe"
methods = ["GET", "HEAD"]
upstream = "catalog"
rewrite = ""
auth = { scope = "movies:read" }
rate_limit = { rate_per_sec = 1e9, burst = 1000000000 }
CONF
TOKIO_WORKER_THREADS=1 "$BIN/gateway" --config "$WORK/gateway.toml" 2>"$WORK/gateway.log" &
PIDS+=($!)
GATEWAY_PID=$!
wait_up "http://127.0.0.1:$GATEWAY_PORT/readyz"

bench_nginx_conf "$(cat <<CONF
  # A client's own request id is kept, else one is made (as the gateway does).
  map \$http_x_request_id \$forwarded_request_id {
    "" \$request_id;
    default \$http_x_request_id;
  }
  upstream catalog {
    server 127.0.0.1:$CATALOG_PORT;
    keepalive 128;
  }
  proxy_http_version 1.1;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    proxy_set_header Connection "";
    # The forwarding headers and request id the gateway sets, so that catalog reads the same
    # request behind both proxies and the client gets the same id back.
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_set_header X-Forwarded-Host \$http_host;
    proxy_set_header Forwarded "for=\$remote_addr;proto=\$scheme;host=\"\$http_host\"";
    proxy_set_header X-Request-Id \$forwarded_request_id;
    add_header X-Request-Id \$forwarded_request_id always;
    location /api/ { proxy_pass http://catalog/v1/; }
    location /probe/ { proxy_pass http://catalog/; }
  }
  # The same proxy without those headers (what this benchmark compared against until session 6).
  server {
    listen 127.0.0.1:$NGINX_BARE_PORT;
    proxy_set_header Connection "";
    location /api/ { proxy_pass http://catalog/v1/; }
    location /probe/ { proxy_pass http://catalog/; }
  }
CONF
)"
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
PIDS+=($!)
NGINX_PID=$!
wait_up "http://127.0.0.1:$NGINX_PORT/api/movies"

GW=http://127.0.0.1:$GATEWAY_PORT
TOKEN=$(curl -sf "$GW/iam/v1/token" -d grant_type=password -d username=admin -d password=admin-password \
  | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
ID=$(curl -sf "$GW/api/movies" -X POST -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"title":"Bench","year":2000,"genres":["drama"]}' | sed 's/.*"id":"\([^"]*\)".*/\1/' || true)
if [[ -z "$ID" ]]; then
  # The write route is not in this config: create the movie on catalog directly.
  ID=$(curl -sf "http://127.0.0.1:$CATALOG_PORT/v1/movies" -X POST -H "Authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d '{"title":"Bench","year":2000,"genres":["drama"]}' \
    | sed 's/.*"id":"\([^"]*\)".*/\1/')
fi
case $UPSTREAM in
  movie) PROXY_PATH=/api/movies/$ID DIRECT_PATH=/v1/movies/$ID ;;
  readyz) PROXY_PATH=/probe/readyz DIRECT_PATH=/readyz ;;
esac
for url in "$GW$PROXY_PATH" "http://127.0.0.1:$NGINX_PORT$PROXY_PATH" "http://127.0.0.1:$NGINX_BARE_PORT$PROXY_PATH"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$url")
  [[ $code == 200 ]] || { echo "GET $url answered $code" >&2; exit 3; }
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$GW$PROXY_PATH")
[[ $code == 401 ]] || { echo "the gateway did not check the token (no token: $code)" >&2; exit 3; }
# Both proxies return a request id (the check that nginx's configuration above took effect).
for url in "$GW$PROXY_PATH" "http://127.0.0.1:$NGINX_PORT$PROXY_PATH"; do
  curl -s -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "$url" | grep -qi '^x-request-id: ' \
    || { echo "GET $url returned no x-request-id" >&2; exit 3; }
done

# CPU time (clock ticks, user + system) used so far by PIDs and their children (nginx's worker).
cpu_ticks() {
  local pids=("$@") total=0 pid
  local children
  for pid in "$@"; do
    mapfile -t children < <(pgrep -P "$pid" || true)
    pids+=("${children[@]}")
  done
  for pid in $(printf '%s\n' "${pids[@]}" | sort -u); do
    [[ -r /proc/$pid/stat ]] || continue
    total=$((total + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$pid/stat")))
  done
  echo "$total"
}
TICKS_PER_SEC=$(getconf CLK_TCK)

# run NAME URL PROXY_PID -> "rps p99_ms proxy_cpu_us_per_request catalog_cpu_us_per_request"
run() {
  local out before_proxy before_catalog
  before_proxy=$(cpu_ticks "$3")
  before_catalog=$(cpu_ticks "$CATALOG_PID")
  out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -H "Authorization: Bearer $TOKEN" "$2")
  if grep -q "Non-2xx" <<<"$out"; then
    echo "$1: wrk saw non-2xx answers:" >&2
    echo "$out" >&2
    exit 3
  fi
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' <<<"$out")
  local requests proxy_cpu catalog_cpu
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  proxy_cpu=$(awk -v a="$before_proxy" -v b="$(cpu_ticks "$3")" -v n="$requests" -v hz="$TICKS_PER_SEC" \
    'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / n}')
  catalog_cpu=$(awk -v a="$before_catalog" -v b="$(cpu_ticks "$CATALOG_PID")" -v n="$requests" -v hz="$TICKS_PER_SEC" \
    'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / n}')
  echo "$rps $p99 $proxy_cpu $catalog_cpu"
}

echo "warming up..." >&2
wrk -t1 -c"$CONNS" -d2s -H "Authorization: Bearer $TOKEN" "$GW$PROXY_PATH" >/dev/null
wrk -t1 -c"$CONNS" -d2s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$NGINX_PORT$PROXY_PATH" >/dev/null

# CPU columns: CPU time per request of the proxy process and of catalog behind it, in µs (from
# /proc; less sensitive to what else the machine is doing than requests/s).
printf '%-6s %-10s %12s %10s %12s %14s\n' round target "requests/s" "p99 ms" "proxy cpu µs" "catalog cpu µs"
declare -A RPS P99 CPU
ROUND_RATIOS=()
for round in $(seq 1 "$ROUNDS"); do
  # catalog's cost per request drifts by up to +-10% over tens of seconds (the direct run moves
  # with the proxied ones): every other round runs the targets in reverse order so that a drift
  # weighs on both proxies alike.
  targets=(gateway nginx nginx-bare direct)
  ((round % 2 == 0)) && targets=(direct nginx-bare nginx gateway)
  for target in "${targets[@]}"; do
    case $target in
      gateway) url="$GW$PROXY_PATH" pid=$GATEWAY_PID ;;
      nginx) url="http://127.0.0.1:$NGINX_PORT$PROXY_PATH" pid=$NGINX_PID ;;
      nginx-bare) url="http://127.0.0.1:$NGINX_BARE_PORT$PROXY_PATH" pid=$NGINX_PID ;;
      direct) url="http://127.0.0.1:$CATALOG_PORT$DIRECT_PATH" pid=$CATALOG_PID ;;
    esac
    # `run` exits on a failed run, but only from its subshell: stop here too.
    measured=$(run "$target" "$url" "$pid") || exit 3
    read -r rps p99 proxy_cpu catalog_cpu <<<"$measured"
    [[ $target == direct ]] && proxy_cpu=-
    printf '%-6s %-10s %12.0f %10.2f %12s %14s\n' "$round" "$target" "$rps" "$p99" "$proxy_cpu" "$catalog_cpu"
    RPS[$target]="${RPS[$target]:-} $rps"
    P99[$target]="${P99[$target]:-} $p99"
    CPU[$target]="${CPU[$target]:-} $proxy_cpu"
  done
  ROUND_RATIOS+=("$(awk -v g="${RPS[gateway]##* }" -v n="${RPS[nginx]##* }" 'BEGIN {printf "%.3f", g/n}')")
done
mean() { awk '{s=0; for (i=1;i<=NF;i++) s+=$i; print s/NF}' <<<"$1"; }
G_RPS=$(mean "${RPS[gateway]}"); N_RPS=$(mean "${RPS[nginx]}"); B_RPS=$(mean "${RPS[nginx-bare]}")
G_P99=$(mean "${P99[gateway]}"); N_P99=$(mean "${P99[nginx]}"); B_P99=$(mean "${P99[nginx-bare]}")
G_CPU=$(mean "${CPU[gateway]}"); N_CPU=$(mean "${CPU[nginx]}"); B_CPU=$(mean "${CPU[nginx-bare]}")
echo
echo "mean over $ROUNDS rounds, $CONNS connections, ${SECS}s each, one proxy worker, upstream $UPSTREAM:"
printf 'gateway (JWT checked)             %10.0f req/s   p99 %7.2f ms   %6.1f µs CPU/request\n' "$G_RPS" "$G_P99" "$G_CPU"
printf 'nginx (no auth, same headers)     %10.0f req/s   p99 %7.2f ms   %6.1f µs CPU/request\n' "$N_RPS" "$N_P99" "$N_CPU"
printf 'nginx-bare (no forwarding headers)%10.0f req/s   p99 %7.2f ms   %6.1f µs CPU/request\n' "$B_RPS" "$B_P99" "$B_CPU"
awk -v g="$G_RPS" -v n="$N_RPS" 'BEGIN {printf "throughput ratio gateway/nginx: %.2fx (target >= 1.0x)\n", g/n}'
awk -v g="$G_P99" -v n="$N_P99" 'BEGIN {printf "p99 ratio gateway/nginx:        %.2fx (target <= 1.2x)\n", g/n}'
awk -v g="$G_CPU" -v n="$N_CPU" 'BEGIN {printf "proxy CPU per request gateway/nginx: %.2fx\n", g/n}'
printf '%s\n' "${ROUND_RATIOS[@]}" | sort -n | awk '{r[NR]=$1} END {m = NR % 2 ? r[(NR+1)/2] : (r[NR/2] + r[NR/2+1]) / 2;
  printf "throughput ratio per round: median %.2fx, range %.2f-%.2fx over %d rounds\n", m, r[1], r[NR], NR}'
awk -v g="$G_RPS" -v n="$B_RPS" -v gp="$G_P99" -v np="$B_P99" \
  'BEGIN {printf "against nginx-bare: throughput %.2fx, p99 %.2fx\n", g/n, gp/np}'
