#!/bin/bash
# mod_acme demo: a local ACME CA (pebble) with its DNS (challtestsrv), and
# the real Apache httpd with mod_acme managing the domain demo.test.
#
#   scripts/demo.sh [--keep] [--no-deps] [--builddir DIR]      (as root; else with sudo)
#
#   --keep          leave everything running until Ctrl-C (default: stop at the end)
#   --no-deps       do not check/install the Debian packages first
#   --builddir DIR  build (or reuse the build) there (default: build/)
#
# Everything runs on 127.0.0.1 (ports 14000/15000 pebble, 8053/8055 DNS,
# 5002/5001 httpd) from a throwaway directory ($DEMO_DIR, default _demo/).
# All processes the demo starts are stopped when it exits.
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir="$srcdir/build"
demo_dir=${DEMO_DIR:-$srcdir/_demo}
keep=no
deps=yes
HTTPD=${HTTPD:-/usr/sbin/apache2}
MODULES=/usr/lib/apache2/modules
P_ACME=14000 P_MGMT=15000 P_DNS=8053 P_DNS_MGMT=8055 P_HTTPS=5001 P_HTTP=5002
DOMAIN=demo.test
pids=()

die() { echo "demo: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=yes ;;
    --no-deps) deps=no ;;
    --builddir) [ $# -ge 2 ] || die "--builddir needs a directory"; builddir=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

# ---------------------------------------------------------------- cleanup
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

demo_stop_all() {
  local pid
  if [ -f "$demo_dir/httpd/run/httpd.pid" ]; then
    stop_pid "$(cat "$demo_dir/httpd/run/httpd.pid")"
  fi
  for pid in ${pids[@]+"${pids[@]}"}; do stop_pid "$pid"; done
  pids=()
}

# ---------------------------------------------------------------- steps
demo_prepare() {
  step "Dependencies and build"
  [ "$(id -u)" -eq 0 ] || die "run as root (sudo): httpd starts as root and switches to an unprivileged user"
  if [ "$deps" = yes ]; then "$srcdir/scripts/install-deps.sh"; fi
  mkdir -p "$builddir"
  builddir=$(cd "$builddir" && pwd)
  "$srcdir/scripts/build.sh" --builddir "$builddir" >"$builddir/demo-build.log" 2>&1 \
    || { tail -n 30 "$builddir/demo-build.log"; die "build failed (log: $builddir/demo-build.log)"; }
  echo "module: $builddir/.libs/mod_acme.so"
  user=acmetest
  getent passwd "$user" >/dev/null || user=www-data
}

demo_check_ports() {
  local port holder
  for port in $P_ACME $P_MGMT $P_DNS $P_DNS_MGMT $P_HTTPS $P_HTTP; do
    holder=$(ss -Hltnp "sport = :$port"; ss -Hlunp "sport = :$port")
    [ -z "$holder" ] || die "port $port is busy: $holder"
  done
}

demo_make_dirs() {
  rm -rf "$demo_dir"
  mkdir -p "$demo_dir"
  # httpd's children run as $user: they must be able to reach the ServerRoot
  if ! runuser -u "$user" -- test -x "$demo_dir"; then
    demo_dir=$(mktemp -d /tmp/mod_acme-demo.XXXXXX)
    chmod 755 "$demo_dir"
  fi
  echo "demo files: $demo_dir"
}

demo_make_ca() {
  step "A throwaway CA for pebble's HTTPS listener"
  local d="$demo_dir/ca"
  mkdir -p "$d"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
    -keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=mod_acme demo CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/pebble.key" -out "$d/pebble.csr" -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$d/ext"
  openssl x509 -req -in "$d/pebble.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 7 -extfile "$d/ext" -out "$d/pebble.pem" 2>/dev/null
  echo "CA: $d/ca.pem"
}

demo_start_dns() {
  step "pebble-challtestsrv: DNS where every name is 127.0.0.1"
  pebble-challtestsrv -dns01 "127.0.0.1:$P_DNS" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
    -http01 "" -https01 "" -tlsalpn01 "" -management "127.0.0.1:$P_DNS_MGMT" \
    >"$demo_dir/challtestsrv.log" 2>&1 &
  pids+=($!)
  wait_port $P_DNS_MGMT "challtestsrv" "$demo_dir/challtestsrv.log"
  echo "DNS on 127.0.0.1:$P_DNS (pid ${pids[-1]})"
}

demo_start_pebble() {
  step "pebble: the ACME CA"
  cat >"$demo_dir/pebble.json" <<JSON
{ "pebble": {
    "listenAddress": "127.0.0.1:$P_ACME",
    "managementListenAddress": "127.0.0.1:$P_MGMT",
    "certificate": "$demo_dir/ca/pebble.pem",
    "privateKey": "$demo_dir/ca/pebble.key",
    "httpPort": $P_HTTP, "tlsPort": $P_HTTPS,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false } }
JSON
  PEBBLE_VA_NOSLEEP=1 pebble -config "$demo_dir/pebble.json" -dnsserver "127.0.0.1:$P_DNS" \
    >"$demo_dir/pebble.log" 2>&1 &
  pids+=($!)
  wait_port $P_ACME "pebble" "$demo_dir/pebble.log"
  show curl -sS --cacert "$demo_dir/ca/ca.pem" "https://127.0.0.1:$P_ACME/dir"
  echo
  curl -sS --cacert "$demo_dir/ca/ca.pem" -o "$demo_dir/pebble-root.pem" \
    "https://127.0.0.1:$P_MGMT/roots/0"
  echo "pebble issues under the root in $demo_dir/pebble-root.pem"
}

# The mod_acme part of httpd.conf: what an admin writes (here: pebble as the
# CA, trusted through the demo CA, and the local ports pebble validates on).
demo_acme_conf() {
  cat <<CONF
MDCertificateAuthority https://127.0.0.1:$P_ACME/dir
MDCACertificateFile $demo_dir/ca/ca.pem
MDCertificateAgreement accepted
MDPortMap http:$P_HTTP https:$P_HTTPS
ManagedDomain $DOMAIN www.$DOMAIN
CONF
}

demo_configure_httpd() {
  step "httpd configuration with mod_acme"
  local r="$demo_dir/httpd"
  mkdir -p "$r/conf" "$r/logs" "$r/run" "$r/htdocs"
  echo "Hello from $DOMAIN, served by httpd with mod_acme" >"$r/htdocs/index.html"
  cat >"$r/conf/httpd.conf" <<CONF
ServerRoot "$r"
ServerName localhost
DefaultRuntimeDir "$r/run"
PidFile "$r/run/httpd.pid"
ErrorLog "$r/logs/error_log"
LogLevel info acme:debug
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule mime_module $MODULES/mod_mime.so
LoadModule dir_module $MODULES/mod_dir.so
LoadModule socache_shmcb_module $MODULES/mod_socache_shmcb.so
LoadModule ssl_module $MODULES/mod_ssl.so
LoadModule acme_module $builddir/.libs/mod_acme.so
User $user
Group $(id -gn "$user")
TypesConfig /etc/mime.types
Listen 127.0.0.1:$P_HTTP
Listen 127.0.0.1:$P_HTTPS https

$(demo_acme_conf)

<VirtualHost 127.0.0.1:$P_HTTP>
  ServerName $DOMAIN
  ServerAlias www.$DOMAIN
  DocumentRoot "$r/htdocs"
  <Directory "$r/htdocs">
    Require all granted
  </Directory>
</VirtualHost>

# https for the managed domain: mod_acme serves a self-signed fallback
# certificate here until the one from the CA is activated
<VirtualHost 127.0.0.1:$P_HTTPS>
  ServerName $DOMAIN
  ServerAlias www.$DOMAIN
  SSLEngine on
  DocumentRoot "$r/htdocs"
</VirtualHost>
CONF
  echo "--- the mod_acme lines of $r/conf/httpd.conf:"
  demo_acme_conf
  echo "---"
  show "$HTTPD" -d "$r" -f "$r/conf/httpd.conf" -t
}

demo_start_httpd() {
  step "httpd with mod_acme running"
  local r="$demo_dir/httpd" pid
  show "$HTTPD" -d "$r" -f "$r/conf/httpd.conf" -k start
  wait_port $P_HTTP "httpd" "$r/logs/error_log"
  # the sockets are open before httpd writes its pid file
  for _ in $(seq 100); do [ -s "$r/run/httpd.pid" ] && break; sleep 0.1; done
  pid=$(cat "$r/run/httpd.pid")
  show ps -o pid,user,args --ppid "$pid" -p "$pid"
  show curl -sS --resolve "$DOMAIN:$P_HTTP:127.0.0.1" "http://$DOMAIN:$P_HTTP/"
  echo "error_log says:"
  grep -E 'ACME[0-9]{4}|resuming normal operations' "$r/logs/error_log" | sed 's/^/  /'
}

# Waits up to $2 seconds for a line matching the ERE $1 in httpd's error_log
# (from byte offset $3 on).
wait_log() {
  local re=$1 secs=$2 from=${3:-0} log="$demo_dir/httpd/logs/error_log" i
  for i in $(seq $((secs * 10))); do
    if tail -c +$((from + 1)) "$log" | grep -Eq "$re"; then return 0; fi
    sleep 0.1
  done
  tail -n 30 "$log" >&2
  die "no /$re/ in $log after ${secs}s"
}

log_size() { stat -c %s "$demo_dir/httpd/logs/error_log"; }

# The certificate httpd serves for $DOMAIN: `served_cert X509-OPTS [-- S_CLIENT-OPTS]`.
served_cert() {
  local x509=() sc=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do x509+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  sc=("$@")
  printf '$ openssl s_client -connect 127.0.0.1:%s -servername %s %s | openssl x509 %s\n' \
    "$P_HTTPS" "$DOMAIN" "${sc[*]}" "${x509[*]}"
  openssl s_client -connect "127.0.0.1:$P_HTTPS" -servername "$DOMAIN" "${sc[@]}" \
    </dev/null 2>/dev/null | openssl x509 "${x509[@]}"
}

demo_graceful() {
  local r="$demo_dir/httpd" from
  from=$(log_size)
  show "$HTTPD" -d "$r" -f "$r/conf/httpd.conf" -k graceful
  wait_log 'resuming normal operations' 20 "$from"
}

# The main job: mod_acme obtains a certificate for $DOMAIN from pebble (its
# renewal watchdog answers pebble's challenge itself), stages it, and httpd
# serves it on https://$DOMAIN:$P_HTTPS/ after a graceful restart.
demo_issue_and_serve() {
  step "Certificate for $DOMAIN from pebble, served over https"
  local r="$demo_dir/httpd" from
  echo "until then, the fallback certificate:"
  served_cert -noout -subject -issuer
  echo "waiting for the renewal (error_log):"
  wait_log "ACME1481 $DOMAIN: new certificate staged" 90
  grep -E "ACME(0920|0921|1481)" "$r/logs/error_log" | sed 's/^/  /'
  from=$(log_size)
  demo_graceful
  wait_log "ACME1214 activated new certificate for $DOMAIN" 5 "$from"
  grep -E "ACME1214" "$r/logs/error_log" | sed 's/^/  /'
  echo "the certificate served now, verified against pebble's root:"
  served_cert -noout -subject -issuer -dates -ext subjectAltName \
    -- -CAfile "$demo_dir/pebble-root.pem" -verify_return_error
  show curl -sS --cacert "$demo_dir/pebble-root.pem" \
    --resolve "$DOMAIN:$P_HTTPS:127.0.0.1" "https://$DOMAIN:$P_HTTPS/"
}

wait_port() {
  local port=$1 what=$2 log=$3 i
  for i in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  tail -n 20 "$log" >&2
  die "$what did not come up on port $port"
}

# ---------------------------------------------------------------- main
trap demo_stop_all EXIT
trap 'exit 130' INT TERM
demo_prepare
demo_check_ports
demo_make_dirs
demo_make_ca
demo_start_dns
demo_start_pebble
demo_configure_httpd
demo_start_httpd
demo_issue_and_serve

if [ "$keep" = yes ]; then
  step "Running; press Ctrl-C to stop (files in $demo_dir)"
  while :; do sleep 3600; done
fi
step "Stopping everything the demo started"
demo_stop_all
echo "done (logs kept in $demo_dir)"
