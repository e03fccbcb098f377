#!/usr/bin/env bash
# Load benchmark: nscore resp-proxy (parses, routes, answers session commands)
# vs nscore tcp-proxy and haproxy `mode tcp` (which only relay bytes), with
# redis-server direct as the ceiling. One run, one machine, all on loopback.
#
#   Benchmarks/resp-proxy.sh [PATH/TO/nscore]        (make bench-resp-proxy builds it first)
#   REPEAT=5 REQUESTS=200000 CLIENTS=50 Benchmarks/resp-proxy.sh
#
# Every client authenticates as an ACL user (`bench`, all keys), so through the
# resp-proxy SET goes to the leader and GET of a private key (`key:…`) too; the
# proxy's replica and leader are the same redis-server here. redis-server is
# pinned to CPU 0 and redis-benchmark to CPU 1 (2+ cores); the proxies are
# not pinned. Prints ops/s (median of REPEAT interleaved runs) at -P 1 and
# -P 16, the ratios, and each proxy's CPU seconds per 100k requests.
set -euo pipefail
NSCORE=$(realpath "${1:-.build/release/nscore}")
REPEAT=${REPEAT:-5}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
WORK=$(mktemp -d /tmp/nscore-resp-proxy-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for tool in redis-server redis-benchmark haproxy python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/deps.sh --bench" >&2; exit 1; }
done
[[ -x "$NSCORE" ]] || { echo "missing $NSCORE: run make release" >&2; exit 1; }
source "$(dirname "$0")/common.sh"
REDIS=$(free_port); RP=$(free_port); TP=$(free_port); HA=$(free_port)

"${PIN_SERVER[@]}" redis-server --bind 127.0.0.1 --port "$REDIS" --save '' --appendonly no --dir "$WORK" --maxclients 10000 >"$WORK/redis.log" 2>&1 &
pids+=($!); wait_port "$REDIS"
redis-cli -p "$REDIS" ACL SETUSER bench on '>bench-pw' '~*' '&*' '+@all' >/dev/null

"$NSCORE" resp-proxy --listen "127.0.0.1:$RP" --replica "127.0.0.1:$REDIS" --leader "127.0.0.1:$REDIS" \
  --status-socket "$WORK/status.sock" --log-level warning ${NSCORE_ARGS:-} 2>"$WORK/resp-proxy.log" &
RP_PID=$!; pids+=($RP_PID); wait_port "$RP"
"$NSCORE" tcp-proxy --listen "127.0.0.1:$TP" --upstream "127.0.0.1:$REDIS" --log-level warning 2>"$WORK/tcp-proxy.log" &
TP_PID=$!; pids+=($TP_PID); wait_port "$TP"
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
HA_PID=$!; pids+=($HA_PID); wait_port "$HA"

bench() {
  "${PIN_LOAD[@]}" redis-benchmark -h 127.0.0.1 -p "$1" --user bench -a bench-pw -t set,get -n "$REQUESTS" -c "$CLIENTS" -P "$2" -q 2>/dev/null \
    | tr '\r' '\n' | awk '/^SET:/{s=$2} /^GET:/{g=$2} END{printf "%s %s\n", s, g}'
}
declare -A RESULT CPU
echo "nscore resp-proxy benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, redis $(redis-server --version | awk '{print $3}' | cut -d= -f2), $(haproxy -v | head -1 | awk '{print $1" "$3}')"
echo "redis-benchmark --user bench -t set,get -n $REQUESTS -c $CLIENTS -P {1,16} -q, median of $REPEAT runs, targets interleaved${PIN_LOAD:+, redis-server on CPU 0, redis-benchmark on CPU 1}"
for P in 1 16; do
  for t in direct resp-proxy tcp-proxy haproxy; do : >"$WORK/$t-$P"; CPU[$t-$P]=0; done
  for _ in $(seq "$REPEAT"); do
    for entry in direct:$REDIS:0 resp-proxy:$RP:$RP_PID tcp-proxy:$TP:$TP_PID haproxy:$HA:$HA_PID; do
      IFS=: read -r name port pid <<<"$entry"
      before=0; [[ $pid != 0 ]] && before=$(cpu_ticks "$pid")
      bench "$port" "$P" >>"$WORK/$name-$P"
      [[ $pid != 0 ]] && CPU[$name-$P]=$(( ${CPU[$name-$P]} + $(cpu_ticks "$pid") - before ))
    done
  done
  for name in direct resp-proxy tcp-proxy haproxy; do
    RESULT[$name-$P-set]=$(awk '{print $1}' "$WORK/$name-$P" | median)
    RESULT[$name-$P-get]=$(awk '{print $2}' "$WORK/$name-$P" | median)
  done
done
printf "\n%-11s %-3s %12s %12s %9s %10s %12s %16s\n" target P "SET ops/s" "GET ops/s" "÷direct" "÷haproxy" "÷tcp-proxy" "CPU s/100k req"
for P in 1 16; do
  for name in direct resp-proxy tcp-proxy haproxy; do
    s=${RESULT[$name-$P-set]}; g=${RESULT[$name-$P-get]}
    ratio() { awk -v a="$s" -v b="$g" -v c="${RESULT[$1-$P-set]}" -v d="${RESULT[$1-$P-get]}" 'BEGIN{printf "%.3f", (a+b)/(c+d)}'; }
    cpu="-"; [[ $name != direct ]] && cpu=$(awk -v t="${CPU[$name-$P]}" -v hz="$TICKS" -v n="$REQUESTS" -v r="$REPEAT" 'BEGIN{printf "%.3f", t/hz*100000/(2*n*r)}')
    printf "%-11s %-3s %12s %12s %9s %10s %12s %16s\n" "$name" "$P" "$s" "$g" "$(ratio direct)" "$(ratio haproxy)" "$(ratio tcp-proxy)" "$cpu"
  done
done
echo
echo "Bars (issue 7): resp-proxy >= 0.95x haproxy at -P 1 and >= 0.9x at -P 16."
"$NSCORE" resp-proxy status --socket "$WORK/status.sock" | head -20
