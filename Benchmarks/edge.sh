#!/usr/bin/env bash
# Edge benchmark: TLS termination + HTTP routing to one backend (nginx serving
# a small static body on loopback). Targets: the backend direct (plain HTTP),
# nscore edge, nginx TLS termination (proxy_pass), haproxy TLS termination.
# One run, one machine, all on loopback; the targets take turns, REPEAT
# rounds (default 3), and each row is the median of its rounds (this 2-core
# VM's throughput moves ±10 % within minutes: one pass per target compares
# moments as much as proxies).
#
#   Benchmarks/edge.sh [PATH/TO/nscore]        (make bench-edge)
#   DURATION=10 CONNECTIONS=64 REPEAT=3 Benchmarks/edge.sh
#
# Loads: `wrk -t2 -c64 -d10s` with keep-alive (requests/s, p50/p99 latency)
# and new TLS connections (`openssl s_time -new`, connections/s) — the
# handshake cost. RSS of each proxy measured during the keep-alive load.
# Proxies are not pinned; nginx worker_processes auto, haproxy nbthread =
# cores, nscore one event loop per core. Every proxy keeps HTTP/1.1
# keep-alive connections to the backend: nginx and haproxy as configured
# below, nscore its per-loop pool.
set -euo pipefail
NSCORE=$(realpath "${1:-.build/release/nscore}")
HERE=$(cd "$(dirname "$0")" && pwd)
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
REPEAT=${REPEAT:-3}
for tool in nginx haproxy wrk openssl redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/deps.sh --bench" >&2; exit 1; }
done
source "$HERE/common.sh"
WORK=$(mktemp -d /tmp/nscore-edge-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; [[ -n ${KEEP:-} ]] || rm -rf "$WORK"; }
trap cleanup EXIT
BACKEND=$(free_port); NG=$(free_port); HA=$(free_port); REDIS=$(free_port); EH=$(free_port); ES=$(free_port)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
  -days 2 -subj /CN=bench.test -addext subjectAltName=DNS:bench.test 2>/dev/null
cat "$WORK/cert.pem" "$WORK/key.pem" >"$WORK/haproxy.pem"
# The body in a directory nginx's workers can read (they drop root; mktemp's directory is 0700, and
# with it the backend answered every request with a 403 page).
mkdir -p "$WORK/www" && chmod 711 "$WORK" && chmod 755 "$WORK/www"
printf 'hello from the backend, a small static body of about one hundred bytes for the benchmark....\n' >"$WORK/www/index.html"
chmod 644 "$WORK/www/index.html"

cat >"$WORK/nginx.conf" <<CFG
worker_processes auto;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 8000; }
http {
  access_log off;
  upstream backend { server 127.0.0.1:$BACKEND; keepalive 64; }
  server { listen 127.0.0.1:$BACKEND; root $WORK/www; }
  server {
    listen 127.0.0.1:$NG ssl;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CFG
nginx -c "$WORK/nginx.conf" -p "$WORK" >"$WORK/nginx.log" 2>&1 &
NG_PID=$!; pids+=($NG_PID); wait_port "$BACKEND"; wait_port "$NG"

cat >"$WORK/haproxy.cfg" <<CFG
global
  maxconn 3000
defaults
  mode http
  timeout connect 5s
  timeout client 1m
  timeout server 1m
frontend fe
  bind 127.0.0.1:$HA ssl crt $WORK/haproxy.pem
  default_backend be
backend be
  http-reuse always
  server web 127.0.0.1:$BACKEND
CFG
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
HA_PID=$!; pids+=($HA_PID); wait_port "$HA"

# nscore edge: its route and the certificate in Redis (key sealed with nscore secret seal).
redis-server --bind 127.0.0.1 --port "$REDIS" --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
pids+=($!); wait_port "$REDIS"
redis-cli -p "$REDIS" ACL SETUSER module/edge1 on '>edge-pw' resetkeys '~module/edge1/*' '%R~cluster/*' '%R~node/*' '%R~module/*' \
  resetchannels '&module/edge1/event/*' +@read +@write +@transaction +@connection +publish -@admin >/dev/null
redis-cli -p "$REDIS" HSET module/edge1/routes/bench url "http://127.0.0.1:$BACKEND" host bench.test >/dev/null
REDIS_ADDRESS=127.0.0.1:$REDIS REDIS_PASSWORD=edge-pw "$NSCORE" edge --module-id edge1 --http "127.0.0.1:$EH" --https "127.0.0.1:$ES" \
  --state-dir "$WORK/edge-state" --log-level warning ${NSCORE_ARGS:-} 2>"$WORK/edge.log" &
ES_PID=$!; pids+=($ES_PID); wait_port "$ES"
for _ in $(seq 50); do redis-cli -p "$REDIS" get module/edge1/public_key | grep -q . && break; sleep 0.1; done
jq_string() { python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$1"; }
printf '{"certificate": %s, "key": %s}' "$(jq_string "$WORK/cert.pem")" "$(jq_string "$WORK/key.pem")" \
  | REDIS_ADDRESS=127.0.0.1:$REDIS REDIS_PASSWORD=edge-pw MODULE_ID=edge1 "$NSCORE" edge upload-certificate --allow-self-signed --state-dir "$WORK/edge-state" >/dev/null
for _ in $(seq 50); do curl -s --cacert "$WORK/cert.pem" --resolve "bench.test:$ES:127.0.0.1" "https://bench.test:$ES/" >/dev/null && break; sleep 0.1; done
# Every target must answer with the backend's body (not an error page) before anything is measured.
for url in "http://127.0.0.1:$BACKEND/" "https://127.0.0.1:$ES/" "https://127.0.0.1:$NG/" "https://127.0.0.1:$HA/"; do
  curl -sk -H "Host: bench.test" "$url" | grep -q "hello from the backend" || { echo "$url does not serve the backend's body" >&2; exit 1; }
done

rss_mb() { awk -v k="$(rss_kb "$1")" 'BEGIN{printf "%.1f", k/1024}'; }
keepalive() {  # URL PID → "req/s p50 p99 rss cpu-µs-per-request"
  local url=$1 pid=$2 out rss t0=0 cpu="-"
  [[ $pid != 0 ]] && t0=$(cpu_ticks "$pid")
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Host: bench.test" "$url" >"$WORK/wrk.out" 2>&1 &
  local w=$!
  sleep $((DURATION / 2))
  rss="-"; [[ $pid != 0 ]] && rss=$(rss_mb "$pid")
  wait $w
  out=$(cat "$WORK/wrk.out")
  local rps p50 p99 n
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out"); p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  n=$(awk '/requests in/{print $1}' <<<"$out")
  [[ $pid != 0 ]] && cpu=$(awk -v t=$(($(cpu_ticks "$pid") - t0)) -v hz="$TICKS" -v n="$n" 'BEGIN{ if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "-" }')
  echo "$rps $p50 $p99 $rss $cpu"
}
handshakes() {  # PORT → new connections per second
  # "N connections in S real seconds, …": N / S (S is whole seconds; the runs are long enough).
  openssl s_time -connect "127.0.0.1:$1" -new -time "$DURATION" 2>/dev/null | awk '/real seconds/{printf "%.0f\n", $1/$4}' | tail -1
}
echo "nscore edge benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(nginx -v 2>&1 | awk -F/ '{print "nginx "$2}'), $(haproxy -v | head -1 | awk '{print $1" "$3}'), $(wrk -v 2>&1 | head -1 | awk '{print $1" "$2}')"
echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency (keep-alive); openssl s_time -new -time $DURATION (new TLS connection per request); medians of $REPEAT rounds, targets in turn, each round starting one later"
# wrk's latencies ("529.00us", "1.57ms", "1.02s") in µs.
micros() { awk -v t="$1" 'BEGIN{ v=t+0; if (t ~ /us$/) print v; else if (t ~ /ms$/) print v*1000; else if (t ~ /s$/) print v*1000000; else print v }'; }
# The median of a space-separated list (common.sh's median reads lines) and each round's pairs of two lists.
median_of() { tr ' ' '\n' <<<"$*" | grep . | median; }
pairs() { paste -d' ' <(tr ' ' '\n' <<<"$1" | grep .) <(tr ' ' '\n' <<<"$2" | grep .); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.3f", a/b; else print "-" }'; }
targets=("backend direct (http):$BACKEND:0" "nscore edge:$ES:$ES_PID" "nginx tls:$NG:$NG_PID" "haproxy tls:$HA:$HA_PID")
declare -A RPS P50 P99 RSS HS CPU
for ((round = 0; round < REPEAT; round++)); do
  # Each round starts one target later: no target always runs right after the same one.
  for ((i = 0; i < ${#targets[@]}; i++)); do
    entry=${targets[(i + round) % ${#targets[@]}]}
    IFS=: read -r name port pid <<<"$entry"
    scheme=https; [[ $pid == 0 ]] && scheme=http
    read -r rps p50 p99 rss cpu <<<"$(keepalive "$scheme://127.0.0.1:$port/" "$pid")"
    RPS[$name]+=" $rps"; P50[$name]+=" $(micros "$p50")"; P99[$name]+=" $(micros "$p99")"; RSS[$name]+=" $rss"; CPU[$name]+=" $cpu"
  done
  for entry in "${targets[@]:1}"; do
    IFS=: read -r name port pid <<<"$entry"
    HS[$name]+=" $(handshakes "$port")"
  done
done
printf "\n%-22s %12s %10s %10s %10s %14s %12s\n" target "req/s" "p50 µs" "p99 µs" "RSS MB" "handshakes/s" "CPU µs/req"
declare -A M H
for entry in "${targets[@]}"; do
  IFS=: read -r name port pid <<<"$entry"
  M[$name]=$(median_of ${RPS[$name]}); H[$name]=$( [[ $pid == 0 ]] && echo - || median_of ${HS[$name]})
  rss=$( [[ $pid == 0 ]] && echo - || median_of ${RSS[$name]})
  cpu=$( [[ $pid == 0 ]] && echo - || median_of ${CPU[$name]})
  printf "%-22s %12s %10.0f %10.0f %10s %14s %12s\n" "$name" "${M[$name]}" "$(median_of ${P50[$name]})" "$(median_of ${P99[$name]})" "$rss" "${H[$name]}" "$cpu"
done
echo
echo "per round, keep-alive req/s (CPU µs/req):"
for entry in "${targets[@]}"; do
  IFS=: read -r name port pid <<<"$entry"
  printf "  %-20s %s\n" "$name" "$(pairs "${RPS[$name]}" "${CPU[$name]}" | awk '{printf "%s%.0f (%s)", (NR>1?"  ":""), $1, $2}')"
done
rounds() { pairs "$1" "$2" | awk '{printf "%s%.3f", (NR>1?" ":""), $1/$2}'; }  # ratio per round: A's list ÷ B's list
echo
echo "nscore ÷ nginx: keep-alive $(ratio "${M[nscore edge]}" "${M[nginx tls]}"), handshakes $(ratio "${H[nscore edge]}" "${H[nginx tls]}"); ÷ haproxy: keep-alive $(ratio "${M[nscore edge]}" "${M[haproxy tls]}"), handshakes $(ratio "${H[nscore edge]}" "${H[haproxy tls]}")"
echo "per round, keep-alive ÷ nginx: $(rounds "${RPS[nscore edge]}" "${RPS[nginx tls]}"); ÷ haproxy: $(rounds "${RPS[nscore edge]}" "${RPS[haproxy tls]}")"
echo "Bars (issue 6): keep-alive >= 0.8x nginx and >= 1.0x haproxy; handshakes/s >= 0.8x nginx; RSS <= 60 MB under the keep-alive load."
