#!/usr/bin/env bash
# Starts a local nscore stack for trying things by hand; Ctrl-C stops it all.
# Everything binds 127.0.0.1 and lives under ./run (logs, data).
#   scripts/run-local.sh PATH/TO/nscore
set -euo pipefail
NSCORE=${1:-.build/release/nscore}
[[ $NSCORE == /* ]] || NSCORE=$(pwd)/$NSCORE
ROOT=$(pwd)/run
CONF=$(pwd)/conf
REDIS_PORT=${REDIS_PORT:-16379}
PROXY_PORT=${PROXY_PORT:-16380}
RESP_PROXY_PORT=${RESP_PROXY_PORT:-16381}
METRICS_PORT=${METRICS_PORT:-19100}
LDAP_PORT=${LDAP_PORT:-13389}
LDAPPROXY_PORT=${LDAPPROXY_PORT:-3890}
EDGE_HTTP_PORT=${EDGE_HTTP_PORT:-18080}
EDGE_HTTPS_PORT=${EDGE_HTTPS_PORT:-18443}
mkdir -p "$ROOT/redis"
pids=()

stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping…"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stopped; logs are in $ROOT"
}
trap stop INT TERM EXIT

port_busy() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
for p in "$REDIS_PORT" "$PROXY_PORT" "$RESP_PROXY_PORT" "$METRICS_PORT" "$LDAP_PORT" "$LDAPPROXY_PORT" 20000 "$EDGE_HTTP_PORT" "$EDGE_HTTPS_PORT"; do
  if port_busy "$p"; then
    echo "port $p on 127.0.0.1 is in use; set REDIS_PORT/PROXY_PORT/RESP_PROXY_PORT/METRICS_PORT/LDAP_PORT/LDAPPROXY_PORT/EDGE_HTTP_PORT/EDGE_HTTPS_PORT to free ones" >&2
    exit 1
  fi
done

redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$ROOT/redis" \
  >"$ROOT/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "redis-server did not start, see $ROOT/redis.log" >&2; exit 1; }

# The platform's ACL model (../shared/docs/REDIS-LAYOUT.md): a `cluster` user
# with a fresh password (kept in run/cluster.env, mode 0600, never printed)
# and a `default` user that may only read public keys and subscribe.
CLUSTER_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
umask 077
printf 'REDIS_ADDRESS=127.0.0.1:%s\nREDIS_USER=cluster\nREDIS_PASSWORD=%s\n' "$REDIS_PORT" "$CLUSTER_PASSWORD" >"$ROOT/cluster.env"
umask 022
redis-cli -p "$REDIS_PORT" >/dev/null <<ACL
ACL SETUSER cluster on >$CLUSTER_PASSWORD ~* &* +@all
ACL SETUSER default on nopass resetkeys ~cluster/* ~node/* ~module/* resetchannels &* nocommands +@read +@connection +subscribe +psubscribe -@admin
ACL

# The node agent of node 1, as its own ACL user (REDIS-LAYOUT.md), with the
# actions nscore ships (conf/actions/node) and a private state directory.
NODE_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
mkdir -p "$ROOT/node/state" "$ROOT/node/actions" "$ROOT/node/events"
umask 077
printf 'AGENT_ID=node/1\nREDIS_ADDRESS=127.0.0.1:%s\nREDIS_USER=node/1\nREDIS_PASSWORD=%s\n' "$REDIS_PORT" "$NODE_PASSWORD" >"$ROOT/node/state/agent.env"
umask 022
redis-cli -p "$REDIS_PORT" --user cluster --pass "$CLUSTER_PASSWORD" --no-auth-warning >/dev/null <<ACL
ACL SETUSER node/1 on >$NODE_PASSWORD resetkeys ~node/1/* ~task/node/1/* %R~cluster/* %R~node/* %R~module/* %R~private/nodes/* %R~private/agents/* resetchannels &progress/node/1/* &node/1/event/* +@read +@write +@transaction +@connection +publish -@admin
ACL
(
  cd "$ROOT/node/state"
  set -a; . ./agent.env; set +a
  exec "$NSCORE" agent --agentid=node/1 --actionsdir="$CONF/actions/node" --actionsdir="$ROOT/node/actions" \
    --eventsdir="$ROOT/node/events"
) 2> >(tee "$ROOT/node-agent.log" >&2) &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" --user cluster --pass "$CLUSTER_PASSWORD" --no-auth-warning client list | grep -q "name=node/1 .*cmd=brpop" && break; sleep 0.1; done

"$NSCORE" tcp-proxy --listen "127.0.0.1:$PROXY_PORT" --upstream "127.0.0.1:$REDIS_PORT" \
  --metrics-address "127.0.0.1:$METRICS_PORT" 2> >(tee "$ROOT/tcp-proxy.log" >&2) &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$PROXY_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# The local Redis endpoint that routes like an agent (here replica = leader = the one server).
"$NSCORE" resp-proxy --listen "127.0.0.1:$RESP_PROXY_PORT" --replica "127.0.0.1:$REDIS_PORT" --leader "127.0.0.1:$REDIS_PORT" \
  --status-socket "$ROOT/resp-proxy.sock" 2> >(tee "$ROOT/resp-proxy.log" >&2) &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$RESP_PROXY_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# A demo OpenLDAP provider (private config and data in run/slapd: users
# user1..user10 with passwords password1..password10, three groups),
# registered as the internal provider of example.org by a module
# "openldap1" on node 1 (REDIS-LAYOUT.md; no password in Redis).
rm -rf "$ROOT/slapd"
scripts/slapd-instance.sh "$ROOT/slapd" --users 10 --groups 3 --suffix dc=example,dc=org
/usr/sbin/slapd -f "$ROOT/slapd/slapd.conf" -h "ldap://127.0.0.1:$LDAP_PORT/" -d 0 >"$ROOT/slapd.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do ldapsearch -x -H "ldap://127.0.0.1:$LDAP_PORT" -b '' -s base >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$REDIS_PORT" --user cluster --pass "$CLUSTER_PASSWORD" --no-auth-warning >/dev/null \
  HSET module/openldap1/srv/tcp/ldap domain example.org schema rfc2307 base_dn dc=example,dc=org \
  bind_dn cn=ldapservice,dc=example,dc=org tls off tls_verify off node 1 host 127.0.0.1 port "$LDAP_PORT"

# A module with its own ACL user (REDIS-LAYOUT.md) and run/ID.env (0600) for its daemon.
module_user() {
  local id=$1 password
  password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
  (umask 077; printf 'MODULE_ID=%s\nNODE_ID=1\nREDIS_ADDRESS=127.0.0.1:%s\nREDIS_PASSWORD=%s\n' "$id" "$REDIS_PORT" "$password" >"$ROOT/$id.env")
  redis-cli -p "$REDIS_PORT" --user cluster --pass "$CLUSTER_PASSWORD" --no-auth-warning >/dev/null \
    ACL SETUSER "module/$id" on ">$password" resetkeys "~module/$id/*" "~task/module/$id/*" '%R~cluster/*' '%R~node/*' '%R~module/*' \
    '%R~private/agents/*' resetchannels "&progress/module/$id/*" "&module/$id/event/*" +@read +@write +@transaction +@connection +publish -@admin
}

# The LDAP proxy as module ldapproxy1.
module_user ldapproxy1
"$NSCORE" ldapproxy --env-file "$ROOT/ldapproxy1.env" --port "$LDAPPROXY_PORT" --status-socket "$ROOT/ldapproxy.sock" \
  --state-file "$ROOT/ldapproxy-ports.json" 2> >(tee "$ROOT/ldapproxy.log" >&2) &
pids+=($!)
for _ in $(seq 50); do ldapsearch -x -H "ldap://127.0.0.1:$LDAPPROXY_PORT" -b dc=example,dc=org '(uid=user1)' dn >/dev/null 2>&1 && break; sleep 0.1; done
DOMAIN_PORT=$(redis-cli -p "$REDIS_PORT" hget module/ldapproxy1/data/domain_port example.org)

# The edge as module edge1 on high loopback ports, with one demo route:
# https://localhost:$EDGE_HTTPS_PORT/metrics -> the tcp-proxy's metrics endpoint.
module_user edge1
redis-cli -p "$REDIS_PORT" --user cluster --pass "$CLUSTER_PASSWORD" --no-auth-warning >/dev/null \
  HSET module/edge1/routes/metrics url "http://127.0.0.1:$METRICS_PORT" host localhost path /metrics
"$NSCORE" edge --env-file "$ROOT/edge1.env" --http "127.0.0.1:$EDGE_HTTP_PORT" --https "127.0.0.1:$EDGE_HTTPS_PORT" \
  --state-dir "$ROOT/edge" 2> >(tee "$ROOT/edge.log" >&2) &
pids+=($!)
for _ in $(seq 50); do curl -sk -o /dev/null "https://localhost:$EDGE_HTTPS_PORT/metrics" && break; sleep 0.1; done

cat <<MSG

nscore local stack is up (Ctrl-C stops it):
  redis-server         127.0.0.1:$REDIS_PORT   (log: run/redis.log)
  nscore tcp-proxy     127.0.0.1:$PROXY_PORT -> 127.0.0.1:$REDIS_PORT
  nscore resp-proxy    127.0.0.1:$RESP_PROXY_PORT   (routes like an agent; status: nscore resp-proxy status --socket run/resp-proxy.sock)
  nscore agent node/1  actions from conf/actions/node and run/node/actions (log: run/node-agent.log)
  metrics              http://127.0.0.1:$METRICS_PORT/metrics
  slapd (demo)         127.0.0.1:$LDAP_PORT   dc=example,dc=org (log: run/slapd.log)
  nscore ldapproxy     127.0.0.1:$LDAPPROXY_PORT (default domain), 127.0.0.1:$DOMAIN_PORT (example.org) (log: run/ldapproxy.log)
  nscore edge          http://127.0.0.1:$EDGE_HTTP_PORT https://127.0.0.1:$EDGE_HTTPS_PORT (route localhost/metrics; log: run/edge.log)

Redis has the platform's ACL users: \`default\` reads public keys only, \`cluster\`
writes (its password is in run/cluster.env). Try:
  $NSCORE redis --env-file run/cluster.env SET cluster/greeting hello
  REDIS_ADDRESS=127.0.0.1:$REDIS_PORT $NSCORE redis GET cluster/greeting
  REDIS_ADDRESS=127.0.0.1:$REDIS_PORT $NSCORE redis SET cluster/x 1    # fails: needs credentials
  redis-cli -p $PROXY_PORT get cluster/greeting                    # through the tcp-proxy
  redis-cli -p $RESP_PROXY_PORT set cluster/x 1                     # refused: the default user reads only
  redis-cli -p $RESP_PROXY_PORT --user cluster --pass \$(sed -n 's/^REDIS_PASSWORD=//p' run/cluster.env) set cluster/x 1
  $NSCORE resp-proxy status --socket run/resp-proxy.sock
  $NSCORE task run --env-file run/cluster.env node/1 get-node-info   # a task on the node agent
  $NSCORE task list --env-file run/cluster.env node/1
  curl -s http://127.0.0.1:$METRICS_PORT/metrics | grep nscore_
  ldapsearch -x -H ldap://127.0.0.1:$LDAPPROXY_PORT -b dc=example,dc=org '(uid=user1)' cn mail
  ldapwhoami -x -H ldap://127.0.0.1:$LDAPPROXY_PORT -D uid=user1,ou=people,dc=example,dc=org -w password1
  $NSCORE ldapproxy status --socket run/ldapproxy.sock
  $NSCORE ldap check --host 127.0.0.1 --port $LDAP_PORT
  curl -k https://localhost:$EDGE_HTTPS_PORT/metrics          # through the edge (self-signed default certificate)

MSG
wait -n "${pids[@]}"
echo "a process of the stack exited; see the logs in $ROOT" >&2
