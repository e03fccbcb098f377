#!/usr/bin/env bash
# Load benchmark: nscore agent. Figures beside the anchor, the cost of the
# step alone, measured by the same harness in the same run:
#   1. step alone: `sh -c 'echo ok'` spawned N times, one at a time (posix_spawn, pipe, waitpid)
#   2. sequential: one task at a time through the agent, LPUSH → final status (published with exit_code)
#   3. burst: N tasks LPUSHed at once; tasks/s and LPUSH → final status p50/p99 (queueing included)
#   4. RSS of the agent idle, and at its peak with 32 tasks running (`sleep 2` steps)
# The agent's own overhead per task is (2) − (1) at p50. Bars (issue 4):
# overhead ≤ 1 ms at p50; RSS ≤ 25 MB idle, ≤ 60 MB with 32 running tasks.
#
#   Benchmarks/agent.sh [path/to/nscore]      (make bench-agent builds both)
#   N=2000 SEQ=500 Benchmarks/agent.sh
set -euo pipefail
cd "$(dirname "$0")"
NSCORE=$(realpath "${1:-../.build/release/nscore}")
LOAD=${LOAD:-.build/release/AgentLoad}
N=${N:-2000}
SEQ=${SEQ:-500}
WORK=$(mktemp -d /tmp/nscore-agent-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
[[ -x "$NSCORE" ]] || { echo "missing $NSCORE: run make release" >&2; exit 1; }
[[ -x "$LOAD" ]] || { echo "missing $LOAD: run (cd Benchmarks && swift build -c release --product AgentLoad)" >&2; exit 1; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done

mkdir -p "$WORK/actions/ok" "$WORK/actions/nap" "$WORK/state"
printf '#!/bin/sh\necho ok\n' >"$WORK/actions/ok/10ok"
printf '#!/bin/sh\nsleep 2\n' >"$WORK/actions/nap/10nap"
chmod +x "$WORK/actions/ok/10ok" "$WORK/actions/nap/10nap"
AGENT=module/bench1
(cd "$WORK/state" && REDIS_ADDRESS=127.0.0.1:$PORT LOG_LEVEL=warning exec "$NSCORE" agent --agentid=$AGENT \
  --actionsdir="$WORK/actions" 2>"$WORK/agent.log") &
AGENT_PID=$!
pids+=($AGENT_PID)
for _ in $(seq 100); do redis-cli -p "$PORT" client list | grep -q "name=$AGENT .*cmd=brpop" && break; sleep 0.05; done
sleep 1
rss() { awk '/VmRSS/ { printf "%.1f", $2/1024 }' /proc/"$AGENT_PID"/status; }
IDLE_RSS=$(rss)

read -r _ SPAWN_WALL SPAWN_P50 SPAWN_P99 < <("$LOAD" spawn "$N")
read -r _ SEQ_WALL SEQ_P50 SEQ_P99 < <("$LOAD" "$PORT" "$AGENT" sequential "$SEQ" ok)
read -r _ BURST_WALL BURST_P50 BURST_P99 < <("$LOAD" "$PORT" "$AGENT" burst "$N" ok)
AFTER_RSS=$(rss)

# 32 tasks running at once: peak RSS while they sleep.
for i in $(seq 32); do redis-cli -p "$PORT" lpush $AGENT/tasks "{\"id\":\"nap$i\",\"action\":\"nap\",\"data\":null}" >/dev/null; done
PEAK=0
for _ in $(seq 30); do r=$(rss); PEAK=$(awk -v a="$PEAK" -v b="$r" 'BEGIN { print (b > a) ? b : a }'); sleep 0.05; done
RUNNING=$(redis-cli -p "$PORT" keys "task/$AGENT/nap*/context" | wc -l)

printf "\nnscore agent benchmark: N=%s burst, %s sequential, %s cores, %s\n" "$N" "$SEQ" "$(nproc)" "$(uname -r)"
printf "%-44s %10s %10s %10s\n" "" "p50 ms" "p99 ms" "tasks/s"
printf "%-44s %10s %10s %10.0f\n" "1. step alone: sh -c 'echo ok' (anchor)" "$SPAWN_P50" "$SPAWN_P99" "$(awk -v n="$N" -v w="$SPAWN_WALL" 'BEGIN{print n/w}')"
printf "%-44s %10s %10s %10.0f\n" "2. one task at a time, LPUSH → exit_code" "$SEQ_P50" "$SEQ_P99" "$(awk -v n="$SEQ" -v w="$SEQ_WALL" 'BEGIN{print n/w}')"
printf "%-44s %10s %10s %10.0f\n" "3. $N at once, LPUSH → exit_code" "$BURST_P50" "$BURST_P99" "$(awk -v n="$N" -v w="$BURST_WALL" 'BEGIN{print n/w}')"
awk -v s="$SEQ_P50" -v a="$SPAWN_P50" 'BEGIN { printf "agent overhead per task at p50: %.3f ms (bar: <= 1 ms)\n", s - a }'
printf "agent RSS: %s MB idle (bar <= 25), %s MB after the runs, %s MB peak with %s tasks running (bar <= 60)\n" \
  "$IDLE_RSS" "$AFTER_RSS" "$PEAK" "$RUNNING"
