#!/usr/bin/env bash
# Load benchmark: nscore ldapproxy vs nginx `stream` (what the platform uses
# today) and haproxy `mode tcp`, with slapd direct as the ceiling; then with
# TLS to the provider (proxy → LDAPS): nscore vs nginx `proxy_ssl` and
# haproxy `ssl verify required`. One run, one machine, all on loopback, one
# slapd (mdb, 1,000 users, uid indexed) started and stopped by this script.
#
#   Benchmarks/ldap-proxy.sh [PATH/TO/nscore]     (make bench-ldap builds nscore and LDAPLoad first)
#   REPEAT=3 DURATION=4 Benchmarks/ldap-proxy.sh
#
# The load generator is Benchmarks/LDAPLoad (NIO, nscore's BER codec): C
# connections, each with K operations outstanding, for DURATION seconds after
# a warm-up second. Operations: search `(uid=userN)` under dc=example,dc=org
# (K = SEARCH_DEPTH, 4) and simple bind as uid=userN with its password (K = 1:
# RFC 4511 forbids other PDUs while a bind is pending), N rotating over the
# 1,000 users; C = 8 and 64. With 2+ cores slapd is pinned to CPU 0 and the
# load generator to CPU 1; the proxies are not pinned (nscore one event loop
# per core, nginx worker_processes auto, haproxy nbthread = cores).
#
# Prints, per row, ops/s, p50 and p99 latency (µs; medians of REPEAT
# interleaved runs), the p99 the proxy adds over direct, the ratios to nginx
# and haproxy and the proxy's CPU seconds per 10,000 operations; then each
# proxy's RSS with IDLE_CONNECTIONS idle clients (each relayed to slapd).
set -euo pipefail
NSCORE=$(realpath "${1:-.build/release/nscore}")
HERE=$(cd "$(dirname "$0")" && pwd)
LOAD=${LOAD:-$HERE/.build/release/LDAPLoad}
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-4}
SEARCH_DEPTH=${SEARCH_DEPTH:-4}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-1000}
WORK=$(mktemp -d /tmp/nscore-ldap-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; [[ -n ${KEEP:-} ]] || rm -rf "$WORK"; }
trap cleanup EXIT
PATH=$PATH:/usr/sbin
for tool in slapd haproxy nginx openssl python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/deps.sh --bench" >&2; exit 1; }
done
[[ -x "$NSCORE" ]] || { echo "missing $NSCORE: run make release" >&2; exit 1; }
[[ -x "$LOAD" ]] || { echo "missing $LOAD: cd Benchmarks && swift build -c release --product LDAPLoad" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true
source "$(dirname "$0")/common.sh"

# A CA and a certificate for localhost/127.0.0.1, then slapd on ldap:// and ldaps://.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ca.key" -out "$WORK/ca.pem" \
  -days 2 -subj /CN=nscore-bench-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/server.key" -out "$WORK/server.csr" \
  -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$WORK/san.ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
  -out "$WORK/server.pem" -days 2 -extfile "$WORK/san.ext" 2>/dev/null
"$HERE/../scripts/slapd-instance.sh" "$WORK/slapd" --users 1000 --groups 10 --suffix dc=example,dc=org \
  --tls "$WORK/server.pem" "$WORK/server.key" "$WORK/ca.pem"
LDAP=$(free_port); LDAPS=$(free_port)
"${PIN_SERVER[@]}" slapd -f "$WORK/slapd/slapd.conf" -h "ldap://127.0.0.1:$LDAP/ ldaps://127.0.0.1:$LDAPS/" -d 0 >"$WORK/slapd.log" 2>&1 &
pids+=($!); wait_port "$LDAP"; wait_port "$LDAPS"

# nscore ldapproxy: example.org (clear) on the default port, tls.example.org (LDAPS, verified) on its domain port.
NS=$(free_port)
cat >"$WORK/domains.json" <<JSON
{"domains": [
  {"name": "example.org", "base_dn": "dc=example,dc=org", "tls": "off",
   "providers": [{"host": "127.0.0.1", "port": $LDAP, "node": 1}]},
  {"name": "tls.example.org", "base_dn": "dc=example,dc=org", "tls": "on", "tls_verify": "on",
   "providers": [{"host": "localhost", "port": $LDAPS, "node": 1}]}]}
JSON
RANGE_LOW=$(python3 -c 'import random; print(random.randrange(30000, 60000, 100))')
"$NSCORE" ldapproxy --config "$WORK/domains.json" --default-domain example.org --port "$NS" --node-id 1 \
  --port-range "$RANGE_LOW-$((RANGE_LOW + 99))" --ca-file "$WORK/ca.pem" --status-socket "$WORK/ldapproxy.sock" \
  --log-level warning ${NSCORE_ARGS:-} 2>"$WORK/nscore.log" &
NS_PID=$!; pids+=($NS_PID); wait_port "$NS"
for _ in $(seq 50); do [[ -S $WORK/ldapproxy.sock ]] && break; sleep 0.1; done
NSS=$("$NSCORE" ldapproxy status --socket "$WORK/ldapproxy.sock" \
  | python3 -c 'import json,sys; print([d["port"] for d in json.load(sys.stdin)["domains"] if d["name"]=="tls.example.org"][0])')
wait_port "$NSS"

NG=$(free_port); NGS=$(free_port)
cat >"$WORK/nginx.conf" <<CFG
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes auto;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 8000; }
stream {
  server { listen 127.0.0.1:$NG; proxy_pass 127.0.0.1:$LDAP; }
  server {
    listen 127.0.0.1:$NGS;
    proxy_pass 127.0.0.1:$LDAPS;
    proxy_ssl on;
    proxy_ssl_verify on;
    proxy_ssl_name localhost;
    proxy_ssl_trusted_certificate $WORK/ca.pem;
  }
}
CFG
nginx -c "$WORK/nginx.conf" -p "$WORK" >"$WORK/nginx.log" 2>&1 &
NG_PID=$!; pids+=($NG_PID); wait_port "$NG"; wait_port "$NGS"

HA=$(free_port); HAS=$(free_port)
cat >"$WORK/haproxy.cfg" <<CFG
global
  maxconn 3000
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend fe
  bind 127.0.0.1:$HA
  default_backend be
backend be
  server slapd 127.0.0.1:$LDAP
frontend fes
  bind 127.0.0.1:$HAS
  default_backend bes
backend bes
  server slapd 127.0.0.1:$LDAPS ssl verify required ca-file $WORK/ca.pem verifyhost localhost sni str(localhost)
CFG
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
HA_PID=$!; pids+=($HA_PID); wait_port "$HA"; wait_port "$HAS"

# target:port:pid (CPU and RSS count the pid's family: nginx's workers too); the TLS targets relay to ldaps://.
PLAIN=(direct:$LDAP:0 nscore:$NS:$NS_PID nginx:$NG:$NG_PID haproxy:$HA:$HA_PID)
TLS=(nscore-tls:$NSS:$NS_PID nginx-tls:$NGS:$NG_PID haproxy-tls:$HAS:$HA_PID)
declare -A OPS P50 P99 CPU
echo "nscore ldapproxy benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(slapd -VV 2>&1 | grep -o 'slapd [0-9.]*' | head -1), $(nginx -v 2>&1 | awk -F/ '{print "nginx "$2}'), $(haproxy -v | head -1 | awk '{print $1" "$3}')"
echo "LDAPLoad PORT {search,bind} {8,64} {$SEARCH_DEPTH,1} $DURATION, median of $REPEAT runs, targets interleaved (each round starting one later)${PIN_LOAD:+, slapd on CPU 0, LDAPLoad on CPU 1}"
for op in search bind; do
  depth=$SEARCH_DEPTH; [[ $op == bind ]] && depth=1
  for C in 8 64; do
    ALL=("${PLAIN[@]}" "${TLS[@]}")
    for ((round = 0; round < REPEAT; round++)); do
      # Each round starts one target later: no target always runs right after the same one.
      for ((i = 0; i < ${#ALL[@]}; i++)); do
        entry=${ALL[(i + round) % ${#ALL[@]}]}
        IFS=: read -r name port pid <<<"$entry"
        before=0; [[ $pid != 0 ]] && before=$(cpu_ticks "$pid")
        line=$("${PIN_LOAD[@]}" "$LOAD" "$port" "$op" "$C" "$depth" "$DURATION")
        read -r ops _ rate p50 p99 errors <<<"$line"
        [[ $errors == 0 ]] || echo "warning: $name $op C=$C: $errors operations failed" >&2
        key=$name-$op-$C
        OPS[$key]+="$rate "; P50[$key]+="$p50 "; P99[$key]+="$p99 "
        [[ $pid != 0 ]] && CPU[$key]=$(( ${CPU[$key]:-0} + $(cpu_ticks "$pid") - before )) && CPU[$key-ops]=$(( ${CPU[$key-ops]:-0} + ops ))
      done
    done
  done
done
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
printf "\n%-12s %-6s %3s %10s %8s %8s %9s %8s %9s %14s\n" target op C "ops/s" "p50 µs" "p99 µs" "+p99 µs" "÷nginx" "÷haproxy" "CPU s/10k ops"
for op in search bind; do
  for C in 8 64; do
    for entry in "${PLAIN[@]}" "${TLS[@]}"; do
      name=${entry%%:*}; key=$name-$op-$C
      suffix=""; [[ $name == *-tls ]] && suffix=-tls
      rate=$(med "${OPS[$key]}"); p50=$(med "${P50[$key]}"); p99=$(med "${P99[$key]}")
      d99=$(med "${P99[direct-$op-$C]}")
      ratio() { awk -v a="$rate" -v b="$(med "${OPS[$1$suffix-$op-$C]}")" 'BEGIN{printf "%.3f", a/b}'; }
      cpu="-"; [[ $name != direct ]] && cpu=$(awk -v t="${CPU[$key]}" -v hz="$TICKS" -v n="${CPU[$key-ops]}" 'BEGIN{printf "%.3f", t/hz*10000/n}')
      added="-"; [[ $name != direct ]] && added=$(awk -v a="$p99" -v b="$d99" 'BEGIN{print a-b}')
      printf "%-12s %-6s %3s %10s %8s %8s %9s %8s %9s %14s\n" "$name" "$op" "$C" "$rate" "$p50" "$p99" "$added" \
        "$(ratio nginx)" "$(ratio haproxy)" "$cpu"
    done
  done
done

# RSS with idle clients: each connects, reads the root DSE once (so the
# proxy's upstream connection is open), then stays.
idle_rss() {
  python3 - "$1" "$IDLE_CONNECTIONS" <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
# LDAPMessage 1: searchRequest base "" scope base (objectClass=*) attributes ["1.1"] (none).
search = bytes.fromhex("302a02010163250400" "0a01000a0100020100020100010100" "870b") + b"objectClass" + bytes.fromhex("30050403") + b"1.1"
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
for s in socks: s.sendall(search)
for s in socks:
    got = b""
    while not got.endswith(bytes.fromhex("0a01000400" "0400")):
        chunk = s.recv(4096)
        if not chunk: sys.exit("connection closed before the search result")
        got += chunk
print("ready", flush=True)
time.sleep(4)
PY
  local py=$!
  sleep 3
  rss_kb "$2"
  wait $py 2>/dev/null || true
}
echo
echo "RSS idle and with $IDLE_CONNECTIONS idle client connections (all processes of the proxy):"
for entry in nscore:$NS:$NS_PID nginx:$NG:$NG_PID haproxy:$HA:$HA_PID; do
  IFS=: read -r name port pid <<<"$entry"
  before=$(rss_kb "$pid")
  with=$(idle_rss "$port" "$pid" | tail -1)
  printf "%-8s %8.1f MB idle, %8.1f MB with %d connections\n" "$name" "$(awk -v k="$before" 'BEGIN{print k/1024}')" \
    "$(awk -v k="$with" 'BEGIN{print k/1024}')" "$IDLE_CONNECTIONS"
done
echo
echo "Bars (issue 5): nscore >= 1.0x nginx and >= 1.0x haproxy ops/s in every row, +p99 <= nginx's, RSS <= 40 MB with 1,000 idle clients."
