#!/usr/bin/env bash
# Load benchmark: nscore's RESP client vs redis-benchmark (C, hiredis-style)
# vs redis-py (the client of the platform's Python agents), same run, same
# redis-server, all on loopback. redis-server is pinned to CPU 0 and every
# client to CPU 1 (with 2+ cores).
#
#   Benchmarks/resp-client.sh                 (make bench-resp builds first)
#   REPEAT=5 N=100000 Benchmarks/resp-client.sh
#
# Workloads: (a) N GETs one at a time on one connection; (b) GET/SET
# pipelined at depth 16 and 100 on one connection; (c) N GETs over 50
# connections. For each: ops/s (median of REPEAT interleaved runs) and the
# client's CPU seconds per 100k operations (user+sys), with the ratios the
# issue's bar is about. redis-py runs fewer operations (N/10, it is slow);
# its figures are per operation, so the ratios stay comparable.
set -euo pipefail
cd "$(dirname "$0")"
LOAD=${LOAD:-.build/release/RESPClientLoad}
REPEAT=${REPEAT:-5}
N=${N:-100000}
WORK=$(mktemp -d /tmp/nscore-resp-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

for tool in redis-server redis-benchmark python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/deps.sh --bench" >&2; exit 1; }
done
[[ -x "$LOAD" ]] || { echo "missing $LOAD: run (cd Benchmarks && swift build -c release --product RESPClientLoad)" >&2; exit 1; }
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv && .venv/bin/pip install --quiet 'redis>=5' >/dev/null
fi

PIN_SERVER=(); PIN_LOAD=()
if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then PIN_SERVER=(taskset -c 0); PIN_LOAD=(taskset -c 1); fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${PIN_SERVER[@]}" redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done

# ops/s and CPU seconds per 100k ops of one run: "<ops/s> <cpu/100k>"
ours() { "${PIN_LOAD[@]}" "$LOAD" "$PORT" "$@" | awk '{ printf "%.0f %.3f\n", $1/$2, $3*100000/$1 }'; }
pyclient() { local mode=$1 n=$2; shift 2; "${PIN_LOAD[@]}" .venv/bin/python redis_py_load.py "$PORT" "$mode" "$n" "$@" | awk '{ printf "%.0f %.3f\n", $1/$2, $3*100000/$1 }'; }
bench() {
  local out; out=$( { /usr/bin/time -f "CPU %U %S" "${PIN_LOAD[@]}" redis-benchmark -p "$PORT" -n "$N" -r 1 -t "$1" "${@:2}" --csv; } 2>&1 )
  local rps cpu
  rps=$(echo "$out" | awk -F'"' '/^"(GET|SET)"/ { s += $4; n++ } END { printf "%.0f", s/n }')
  cpu=$(echo "$out" | awk '/^CPU/ { print $2 + $3 }')
  echo "$rps $(awk -v c="$cpu" -v n="$N" -v t="$1" 'BEGIN { k = split(t, a, ","); printf "%.3f", c*100000/(n*k) }')"
}
median() { sort -n | awk '{ a[NR]=$1 } END { print a[int((NR+1)/2)] }'; }

declare -A R
run_case() { # name, command…
  local name=$1; shift
  local line; line=$("$@")
  R[$name.ops]+="${line% *} "; R[$name.cpu]+="${line#* } "
}
for i in $(seq "$REPEAT"); do
  run_case a.ours ours sequential "$N"
  run_case a.rb bench get -c 1 -P 1
  run_case a.py pyclient sequential $((N / 10))
  for d in 16 100; do
    run_case b$d.ours ours pipeline "$N" "$d"
    run_case b$d.rb bench get,set -c 1 -P "$d"
    run_case b$d.py pyclient pipeline $((N / 10)) "$d"
  done
  run_case c.ours ours concurrent "$N" 50
  run_case c.rb bench get -c 50 -P 1
  run_case c.py pyclient concurrent $((N / 10)) 50
done
med() { echo "${R[$1]}" | tr ' ' '\n' | grep . | median; }

printf "\nRESP client benchmark: %s runs (median), N=%s, redis-server %s, %s cores\n" "$REPEAT" "$N" \
  "$(redis-server --version | awk '{print $3}' | cut -d= -f2)" "$(nproc)"
printf "%-28s %12s %12s %12s | %9s %9s | %14s %14s %14s | %9s\n" workload "nscore op/s" "r-bench op/s" "redis-py op/s" \
  "÷r-bench" "÷redis-py" "nscore cpu/100k" "r-bench cpu" "redis-py cpu" "cpu÷rb"
for w in "a:a) sequential GET, 1 conn" "b16:b) GET/SET pipelined 16" "b100:b) GET/SET pipelined 100" "c:c) GET, 50 connections"; do
  k=${w%%:*}; label=${w#*:}
  o=$(med $k.ours.ops); b=$(med $k.rb.ops); p=$(med $k.py.ops)
  oc=$(med $k.ours.cpu); bc=$(med $k.rb.cpu); pc=$(med $k.py.cpu)
  awk -v l="$label" -v o="$o" -v b="$b" -v p="$p" -v oc="$oc" -v bc="$bc" -v pc="$pc" 'BEGIN {
    printf "%-28s %12s %12s %12s | %9.3f %9.2f | %14s %14s %14s | %9.2f\n", l, o, b, p, o/b, o/p, oc, bc, pc, oc/bc }'
done
echo
echo "Bars: a) >= 0.9x redis-benchmark and >= 3x redis-py; b), c) >= 0.8x redis-benchmark; client CPU per op <= 2x redis-benchmark's."
