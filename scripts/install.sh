#!/usr/bin/env bash
# Installs nscore to the platform's FHS paths (what `make install` runs).
#   scripts/install.sh [BINARY]            default .build/release/nscore
#   DESTDIR=/tmp/stage PREFIX=/usr/local scripts/install.sh
# Layout (README "Installed layout"):
#   $PREFIX/bin/nscore
#   $PREFIX/share/nscore/actions/{cluster,node}/…   core actions (agent@cluster, agent@node)
#   $PREFIX/share/nscore/events/{cluster,node,module}/ core event handlers (empty today)
#   $PREFIX/share/nscore/systemd/user/agent.service  copied into each rootless module by add-module
#   $PREFIX/share/nscore/edge/actions/                the edge module's actions (nscore edge …)
#   /etc/systemd/system/{agent@,ldapproxy,resp-proxy,tcp-proxy@}.service
#   /etc/nscore/*.env.example
# Nothing in /var/lib is touched: agents and modules create their state there.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BINARY=${1:-$ROOT/.build/release/nscore}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
[[ -x $BINARY ]] || { echo "install.sh: $BINARY is not built (make release)" >&2; exit 1; }
share=$DESTDIR$PREFIX/share/nscore
install -d -m 0755 "$DESTDIR$PREFIX/bin" "$share/actions" "$share/systemd/user" \
  "$share/events/cluster" "$share/events/node" "$share/events/module" \
  "$DESTDIR/etc/systemd/system" "$DESTDIR/etc/nscore"
install -m 0755 "$BINARY" "$DESTDIR$PREFIX/bin/nscore"
# Actions: replace the shipped tree as a whole, so a removed step does not linger.
rm -rf "$share/actions.new"
cp -a "$ROOT/conf/actions" "$share/actions.new"
rm -rf "$share/actions.old"
[[ -d $share/actions ]] && mv "$share/actions" "$share/actions.old"
mv "$share/actions.new" "$share/actions"
rm -rf "$share/actions.old"
install -m 0644 "$ROOT/conf/systemd/user/agent.service" "$share/systemd/user/agent.service"
rm -rf "$share/edge"
install -d -m 0755 "$share/edge"
cp -a "$ROOT/conf/edge/actions" "$share/edge/actions"
for unit in "$ROOT"/conf/systemd/*.service; do
  install -m 0644 "$unit" "$DESTDIR/etc/systemd/system/$(basename "$unit")"
done
for example in "$ROOT"/conf/*.env.example; do
  install -m 0644 "$example" "$DESTDIR/etc/nscore/$(basename "$example")"
done
echo "installed nscore to ${DESTDIR:-/}${DESTDIR:+ }(prefix $PREFIX)"
