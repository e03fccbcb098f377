#!/usr/bin/env bash
# Module install/remove benchmark: time to install a module from a local
# registry end to end (cluster add-module: labels, id, ACL user, node
# add-module, the module's agent up, its create-module) and to remove it,
# median of RUNS, with the split by phase from the steps' log lines. Needs
# root (it creates Unix users nsbenchN). One machine, everything on loopback:
# redis-server, Debian's docker-registry, nscore agents `cluster` and `node/1`
# from a staged `make install`, and — no systemd here — this script starting
# each module's agent as its user with runuser once its unit is enabled,
# as systemd --user would.
#
#   Benchmarks/module-install.sh [PATH/TO/nscore]      (make bench-module)
#   RUNS=10 IMAGE_MB=5 Benchmarks/module-install.sh
set -euo pipefail
NSCORE=$(realpath "${1:-.build/release/nscore}")
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-10}
IMAGE_MB=${IMAGE_MB:-5}
[[ $(id -u) -eq 0 ]] || { echo "module-install.sh creates Unix users: run it as root" >&2; exit 1; }
for tool in redis-server redis-cli docker-registry skopeo umoci runuser python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/deps.sh" >&2; exit 1; }
done
source "$HERE/common.sh"
WORK=$(mktemp -d /tmp/nscore-module-bench.XXXXXX)
chmod 755 "$WORK"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for u in $(getent passwd | cut -d: -f1 | grep '^nsbench' || true); do pkill -KILL -u "$u" || true; userdel -r "$u" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

DESTDIR=$WORK/install "$HERE/../scripts/install.sh" "$NSCORE" >/dev/null
BIN=$WORK/install/usr/local/bin/nscore
SHARE=$WORK/install/usr/local/share/nscore
REDIS=$(free_port); REG=$(free_port)
redis-server --bind 127.0.0.1 --port "$REDIS" --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
pids+=($!); wait_port "$REDIS"
cli() { redis-cli -p "$REDIS" "$@" >/dev/null; }
cli ACL SETUSER cluster on '>cluster-pw' '~*' '&*' '+@all'
cli ACL SETUSER node/1 on '>node-pw' resetkeys '~node/1/*' '~task/node/1/*' '%R~cluster/*' '%R~node/*' '%R~module/*' \
  '%R~private/nodes/*' '%R~private/agents/*' resetchannels '&progress/node/1/*' '&node/1/event/*' +@read +@write \
  +@transaction +@connection +publish -@admin
cli ACL SETUSER default on nopass resetkeys '~cluster/*' '~node/*' '~module/*' resetchannels '&*' nocommands \
  +@read +@connection +subscribe +psubscribe -@admin

printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s/registry\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$WORK" "$REG" >"$WORK/registry.yml"
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
pids+=($!); wait_port "$REG"

# The image: imageroot with a create-module step and IMAGE_MB of incompressible data.
umoci init --layout "$WORK/img" && umoci new --image "$WORK/img:1.0"
umoci unpack --rootless --image "$WORK/img:1.0" "$WORK/bundle" >/dev/null
mkdir -p "$WORK/bundle/rootfs/imageroot/actions/create-module" "$WORK/bundle/rootfs/imageroot/share"
printf '#!/bin/sh\necho "{}"\n' >"$WORK/bundle/rootfs/imageroot/actions/create-module/10configure"
chmod 755 "$WORK/bundle/rootfs/imageroot/actions/create-module/10configure"
head -c $((IMAGE_MB << 20)) /dev/urandom >"$WORK/bundle/rootfs/imageroot/share/data.bin"
umoci repack --image "$WORK/img:1.0" "$WORK/bundle" >/dev/null
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$WORK/policy.json"
skopeo --policy "$WORK/policy.json" copy --quiet --dest-tls-verify=false "oci:$WORK/img:1.0" "docker://127.0.0.1:$REG/nsbench:1.0"
LAYER_MB=$(du -sm "$WORK/registry" | cut -f1)

start_agent() {  # AGENT_ID STATE_NAME PASSWORD ACTIONS_SUBDIR
  mkdir -p "$WORK/$2-state"
  (cd "$WORK/$2-state" && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin REDIS_ADDRESS=127.0.0.1:$REDIS REDIS_USER="$1" \
    REDIS_PASSWORD="$3" AGENT_POLLING_INTERVAL=1s NSCORE="$BIN" NSCORE_SHARE_DIR="$SHARE" NSCORE_WORK_DIR="$WORK/work" \
    LOG_LEVEL=info "$BIN" agent --agentid="$1" --actionsdir="$SHARE/actions/$4" --eventsdir="$WORK/$2-state/events" \
    >"$WORK/$2.log" 2>&1) &
  pids+=($!)
}
start_agent cluster cluster cluster-pw cluster
start_agent node/1 node node-pw node
sleep 1.5

# systemd --user's part: start each module's agent once its unit is enabled.
(
  declare -A started
  while true; do
    for home in /home/nsbench*; do
      [[ -e $home/.config/systemd/user/default.target.wants/agent.service && -z ${started[$home]:-} ]] || continue
      id=${home#/home/}; started[$home]=1
      runuser -u "$id" -- /bin/sh -c "cd $home/.config/state && set -a && . ./agent.env && exec $BIN agent --agentid=\$AGENT_ID --actionsdir=../actions --eventsdir=../events" \
        >"$WORK/module-$id.log" 2>&1 &
    done
    sleep 0.02
  done
) &
pids+=($!)

now_ms() { date +%s%3N; }
task() { REDIS_ADDRESS=127.0.0.1:$REDIS REDIS_USER=cluster REDIS_PASSWORD=cluster-pw "$BIN" task run cluster "$@" 2>>"$WORK/tasks.err"; }
: >"$WORK/add"; : >"$WORK/remove"
for i in $(seq "$RUNS"); do
  t0=$(now_ms)
  out=$(task add-module --data "{\"image\": \"127.0.0.1:$REG/nsbench:1.0\", \"node\": 1}")
  t1=$(now_ms)
  id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["module_id"])' "$out")
  task remove-module --data "{\"module_id\": \"$id\"}" >/dev/null
  t2=$(now_ms)
  echo $((t1 - t0)) >>"$WORK/add"; echo $((t2 - t1)) >>"$WORK/remove"
done

# Phases: node step lines "add-module ID phases (ms): pull N, extract N, user N, files N, keys N, unit N"
# and cluster lines "module/ID agent listening after N ms, create-module N ms".
phase() { grep -o 'phases (ms): .*' "$WORK/node.log" | grep -o "$1 [0-9][0-9]*" | awk '{print $2}' | median; }
cluster_phase() { grep -o "$1 [0-9]* ms" "$WORK/cluster.log" | awk '{print $(NF-1)}' | median; }
echo "nscore module install/remove — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, image ${IMAGE_MB} MiB of data (${LAYER_MB} MB in the registry), $RUNS runs, median"
printf '%-34s %8s\n' "add-module end to end (task run)" "$(median <"$WORK/add") ms"
printf '  %-32s %8s\n' "pull (skopeo copy)" "$(phase pull) ms" "extract (umoci raw unpack)" "$(phase extract) ms" \
  "user (useradd)" "$(phase user) ms" "files (imageroot into place)" "$(phase files) ms" "keys + agent.env" "$(phase keys) ms" \
  "unit + linger + chown" "$(phase unit) ms" "agent start (until it listens)" "$(cluster_phase 'listening after') ms" \
  "create-module" "$(cluster_phase 'create-module') ms" \
  "the rest (inspect, ACL, task hops)" "$(awk -v t="$(median <"$WORK/add")" -v p="$(phase pull)" -v e="$(phase extract)" -v u="$(phase user)" -v f="$(phase files)" \
      -v k="$(phase keys)" -v n="$(phase unit)" -v a="$(cluster_phase 'listening after')" -v c="$(cluster_phase 'create-module')" \
      'BEGIN{print t-p-e-u-f-k-n-a-c}') ms"
printf '%-34s %8s\n' "remove-module end to end" "$(median <"$WORK/remove") ms"
printf 'add-module runs (ms): %s\n' "$(tr '\n' ' ' <"$WORK/add")"
