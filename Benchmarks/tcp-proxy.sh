#!/usr/bin/env bash
# Load benchmark: nscore tcp-proxy vs haproxy (mode tcp) vs nginx stream, with
# redis-server direct as the ceiling. One run, one machine, all on loopback;
# every server is started and stopped by this script.
#
#   Benchmarks/tcp-proxy.sh [PATH/TO/nscore]        (make bench builds it first)
#   REPEAT=3 REQUESTS=200000 CLIENTS=50 Benchmarks/tcp-proxy.sh
#
# With 2+ cores, redis-server is pinned to CPU 0 and redis-benchmark to CPU 1
# (taskset) so that the load generator and the server do not migrate between
# runs; the proxies are not pinned (each uses its default threads: nscore one
# event loop per core, haproxy nbthread = cores, nginx worker_processes auto).
#
# Prints ops/s (median of REPEAT runs; GET and SET separately) for each
# target at -P 1 and -P 16, the ratios to direct and to haproxy, and the
# proxy's RSS with 1,000 idle client connections.
set -euo pipefail
NSCORE=$(realpath "${1:-.build/release/nscore}")
REPEAT=${REPEAT:-5}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-1000}
WORK=$(mktemp -d /tmp/nscore-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in redis-server redis-benchmark haproxy nginx python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/deps.sh --bench" >&2; exit 1; }
done
[[ -x "$NSCORE" ]] || { echo "missing $NSCORE: run make release" >&2; exit 1; }

source "$(dirname "$0")/common.sh"

REDIS=$(free_port); NS=$(free_port); HA=$(free_port); NG=$(free_port)


"${PIN_SERVER[@]}" redis-server --bind 127.0.0.1 --port "$REDIS" --save '' --appendonly no --dir "$WORK" --maxclients 10000 >"$WORK/redis.log" 2>&1 &
pids+=($!); wait_port "$REDIS"

"$NSCORE" tcp-proxy --listen "127.0.0.1:$NS" --upstream "127.0.0.1:$REDIS" --log-level warning ${NSCORE_ARGS:-} 2>"$WORK/nscore.log" &
NSCORE_PID=$!; pids+=($NSCORE_PID); wait_port "$NS"

cat >"$WORK/haproxy.cfg" <<CFG
global
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend fe
  bind 127.0.0.1:$HA
  default_backend be
backend be
  server redis 127.0.0.1:$REDIS
CFG
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
HAPROXY_PID=$!; pids+=($HAPROXY_PID); wait_port "$HA"

cat >"$WORK/nginx.conf" <<CFG
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes auto;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 8000; }
stream {
  server {
    listen 127.0.0.1:$NG;
    proxy_pass 127.0.0.1:$REDIS;
  }
}
CFG
nginx -c "$WORK/nginx.conf" -p "$WORK" >"$WORK/nginx.log" 2>&1 &
NGINX_PID=$!; pids+=($NGINX_PID); wait_port "$NG"

# One redis-benchmark run: prints "SET GET" ops/s.
bench() {
  "${PIN_LOAD[@]}" redis-benchmark -h 127.0.0.1 -p "$1" -t set,get -n "$REQUESTS" -c "$CLIENTS" -P "$2" -q 2>/dev/null \
    | tr '\r' '\n' | awk '/^SET:/{s=$2} /^GET:/{g=$2} END{printf "%s %s\n", s, g}'
}

declare -A RESULT
echo "nscore tcp-proxy benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, redis $(redis-server --version | awk '{print $3}' | cut -d= -f2), $(haproxy -v | head -1 | awk '{print $1" "$3}'), $(nginx -v 2>&1 | awk -F/ '{print "nginx "$2}')"
echo "redis-benchmark -t set,get -n $REQUESTS -c $CLIENTS -P {1,16} -q, median of $REPEAT runs, targets interleaved${PIN_LOAD:+, redis-server on CPU 0, redis-benchmark on CPU 1}"
for P in 1 16; do
  for target in direct:$REDIS nscore:$NS haproxy:$HA nginx:$NG; do : > "$WORK/${target%%:*}-$P"; done
  for _ in $(seq "$REPEAT"); do
    for target in direct:$REDIS nscore:$NS haproxy:$HA nginx:$NG; do
      bench "${target##*:}" "$P" >> "$WORK/${target%%:*}-$P"
    done
  done
  for name in direct nscore haproxy nginx; do
    RESULT[$name-$P-set]=$(awk '{print $1}' "$WORK/$name-$P" | median)
    RESULT[$name-$P-get]=$(awk '{print $2}' "$WORK/$name-$P" | median)
  done
done

printf "\n%-8s %-4s %14s %14s %10s %10s %10s\n" target P "SET ops/s" "GET ops/s" "vs direct" "vs haproxy" "vs nginx"
for P in 1 16; do
  for name in direct nscore haproxy nginx; do
    set_=${RESULT[$name-$P-set]}; get_=${RESULT[$name-$P-get]}
    ratio() { awk -v a="$set_" -v b="$get_" -v c="${RESULT[$1-$P-set]}" -v d="${RESULT[$1-$P-get]}" 'BEGIN{printf "%.3f", (a+b)/(c+d)}'; }
    printf "%-8s %-4s %14s %14s %10s %10s %10s\n" "$name" "$P" "$set_" "$get_" "$(ratio direct)" "$(ratio haproxy)" "$(ratio nginx)"
  done
done

# RSS with idle client connections (each relayed to Redis, so both sides are open).
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
idle_rss() {
  local port=$1 pid=$2
  python3 - "$port" "$IDLE_CONNECTIONS" <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port)); socks.append(s)
for s in socks: s.sendall(b"PING\r\n")
for s in socks: s.recv(16)
print("ready", flush=True)
time.sleep(4)
PY
  local py=$!
  sleep 3
  local total=0
  for p in $pid $(pgrep -P "$pid" || true); do total=$((total + $(rss_kb "$p"))); done
  echo "$total"
  wait $py 2>/dev/null || true
}
echo
echo "RSS before and with $IDLE_CONNECTIONS idle client connections (all processes of the proxy):"
for entry in nscore:$NS:$NSCORE_PID haproxy:$HA:$HAPROXY_PID nginx:$NG:$NGINX_PID; do
  IFS=: read -r name port pid <<<"$entry"
  before=0; for p in $pid $(pgrep -P "$pid" || true); do before=$((before + $(rss_kb "$p"))); done
  with=$(idle_rss "$port" "$pid" | tail -1)
  printf "%-8s %8.1f MB idle, %8.1f MB with %d connections\n" "$name" "$(awk -v k="$before" 'BEGIN{print k/1024}')" "$(awk -v k="$with" 'BEGIN{print k/1024}')" "$IDLE_CONNECTIONS"
done
