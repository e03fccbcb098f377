#!/usr/bin/env bash
# Makes a private OpenLDAP instance (config + mdb data) in a directory, for
# `make run`'s demo provider and for the tests; it does not start slapd.
#   scripts/slapd-instance.sh DIR [--users N] [--groups N] [--suffix DN]
#                             [--tls CERT KEY CA]
# Environment: LDAP_ADMIN_PASSWORD (cn=admin,SUFFIX; default: random, written
# to DIR/admin.pw mode 0600), LDAP_SERVICE_PASSWORD (cn=ldapservice,SUFFIX,
# read-only bind for modules; default: random, DIR/service.pw).
# Users are uid=userK,ou=people,SUFFIX with password passwordK (demo data);
# groups cn=groupK,ou=groups,SUFFIX (posixGroup) with a few members each.
# Start it with: slapd -f DIR/slapd.conf -h "ldap://127.0.0.1:P/ [ldaps://127.0.0.1:Q/]" -d 0
set -euo pipefail
PATH=$PATH:/usr/sbin
DIR=${1:?usage: slapd-instance.sh DIR [--users N] [--groups N] [--suffix DN] [--tls CERT KEY CA]}
shift
USERS=10 GROUPS_N=3 SUFFIX="dc=example,dc=org" CERT="" KEY="" CA=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --users) USERS=$2; shift 2 ;;
    --groups) GROUPS_N=$2; shift 2 ;;
    --suffix) SUFFIX=$2; shift 2 ;;
    --tls) CERT=$2 KEY=$3 CA=$4; shift 4 ;;
    *) echo "slapd-instance.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
random_password() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }
ADMIN_PW=${LDAP_ADMIN_PASSWORD:-$(random_password)}
SERVICE_PW=${LDAP_SERVICE_PASSWORD:-$(random_password)}
DC=$(sed -E 's/^dc=([^,]+).*/\1/' <<<"$SUFFIX")
mkdir -p "$DIR/data"
umask 077
printf '%s' "$ADMIN_PW" >"$DIR/admin.pw"
printf '%s' "$SERVICE_PW" >"$DIR/service.pw"
umask 022
TLS=""
if [[ -n $CERT ]]; then
  TLS="TLSCertificateFile $CERT
TLSCertificateKeyFile $KEY
TLSCACertificateFile $CA"
fi
cat >"$DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $DIR/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
$TLS
sizelimit unlimited
database mdb
maxsize 268435456
suffix "$SUFFIX"
rootdn "cn=admin,$SUFFIX"
rootpw "$ADMIN_PW"
directory $DIR/data
index objectClass eq
index uid,cn,memberUid eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
CONF
{
  printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: %s\no: %s\n\n' "$SUFFIX" "$DC" "$DC"
  printf 'dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n' "$SUFFIX"
  printf 'dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n' "$SUFFIX"
  printf 'dn: cn=ldapservice,%s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: ldapservice\nuserPassword: %s\n\n' "$SUFFIX" "$SERVICE_PW"
  for ((i = 1; i <= USERS; i++)); do
    printf 'dn: uid=user%d,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: user%d\ncn: User %d\nsn: %d\nmail: user%d@%s.test\nuidNumber: %d\ngidNumber: 10000\nhomeDirectory: /home/user%d\nloginShell: /bin/bash\nuserPassword: password%d\n\n' \
      "$i" "$SUFFIX" "$i" "$i" "$i" "$i" "$DC" $((10000 + i)) "$i" "$i"
  done
  for ((g = 1; g <= GROUPS_N; g++)); do
    printf 'dn: cn=group%d,ou=groups,%s\nobjectClass: posixGroup\ncn: group%d\ngidNumber: %d\n' "$g" "$SUFFIX" "$g" $((20000 + g))
    for ((i = g; i <= USERS && i <= g + 4; i++)); do printf 'memberUid: user%d\n' "$i"; done
    printf '\n'
  done
} >"$DIR/data.ldif"
slapadd -q -f "$DIR/slapd.conf" -l "$DIR/data.ldif" >"$DIR/slapadd.log" 2>&1 || { cat "$DIR/slapadd.log" >&2; exit 1; }
