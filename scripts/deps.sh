#!/usr/bin/env bash
# Installs the Debian packages nscore needs to build, run and test.
# Idempotent: installs only what is missing; safe to run on every `make`.
#   scripts/deps.sh          build + run + test packages
#   scripts/deps.sh --bench  also the load-benchmark anchors (haproxy, nginx stream)
set -euo pipefail

packages=(
  pkg-config libsystemd-dev libsodium-dev libldap2-dev   # C shims
  redis-server redis-tools                               # configuration DB (tests start their own)
  slapd ldap-utils                                       # demo LDAP provider
  openssl                                                # test CAs and certificates
  systemd                                                # systemd-socket-activate for the socket-activation test
  python3-venv                                           # the test venv with redis-py (a real client for resp-proxy tests)
  python3-nacl                                           # PyNaCl: sealed boxes made by nscore open with it, and the reverse
  docker-registry skopeo umoci                           # module images: a local registry, pull and unpack without a daemon
  pebble                                                 # ACME test CA (+ pebble-challtestsrv) for the edge's ACME tests
  python3-websockets                                     # a real websocket server and client for the edge's pass-through test
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(haproxy nginx libnginx-mod-stream time python3-venv wrk)
fi

# redis-py for the resp-proxy tests, in .build-venv (ignored by git, kept between runs).
make_venv() {
  local root; root=$(cd "$(dirname "$0")/.." && pwd)
  [[ -x "$root/.build-venv/bin/python" ]] && "$root/.build-venv/bin/python" -c 'import redis' 2>/dev/null && return 0
  echo "deps: creating .build-venv with redis-py" >&2
  /usr/bin/python3 -m venv "$root/.build-venv"
  "$root/.build-venv/bin/pip" install --quiet 'redis>=5' >/dev/null
}
trap make_venv EXIT

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# slapd asks debconf questions; run it unattended and keep the system slapd stopped:
# tests and `make run` start private instances of their own.
echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Package installs start system daemons on well-known ports; nscore never uses them.
for svc in redis-server slapd haproxy nginx docker-registry; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
    $SUDO systemctl disable "$svc" >/dev/null 2>&1 || true
  fi
done
