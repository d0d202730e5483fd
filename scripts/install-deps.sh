#!/bin/sh
# Installs what building and testing mod_acme needs on Debian 12, skipping
# what is already there, and creates the unprivileged user the test httpd
# runs its children as. Run as root (or with sudo available); non-interactive.
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config
  apache2 apache2-dev libapr1-dev libaprutil1-dev libssl-dev
  libcurl4-openssl-dev libjansson-dev check clang libclang-rt-14-dev
  pebble python3 python3-pytest python3-pytest-xdist python3-cryptography openssl curl iproute2 procps ca-certificates valgrind gdb
  strace libhiredis-dev redis-server"
TEST_USER=acmetest

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else echo "install-deps: need root for: $*" >&2; return 1
  fi
}

installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=""
for pkg in $PACKAGES; do
  installed "$pkg" || missing="$missing $pkg"
done

if [ -n "$missing" ]; then
  echo "install-deps: installing$missing"
  apache_was_installed=no
  installed apache2 && apache_was_installed=yes
  redis_was_installed=no
  installed redis-server && redis_was_installed=yes
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  # shellcheck disable=SC2086
  as_root apt-get install -y -q --no-install-recommends $missing
  # Without a policy-rc.d that forbids it, installing apache2 starts the
  # system server on port 80. It does not take the suite's ports, but a
  # server nobody asked for should not keep running.
  if [ "$apache_was_installed" = no ] && [ -f /run/apache2/apache2.pid ]; then
    echo "install-deps: stopping the system apache2 the package started"
    as_root service apache2 stop || as_root kill "$(cat /run/apache2/apache2.pid)" || true
  fi
  # The same for redis-server, which also enables itself at boot: the unit
  # tests start their own on free ports, and a system Redis on 6379 that
  # nobody asked for should neither run nor come back.
  if [ "$redis_was_installed" = no ] && installed redis-server; then
    echo "install-deps: stopping and disabling the system redis-server the package started"
    if [ -f /run/redis/redis-server.pid ]; then
      as_root service redis-server stop || as_root kill "$(cat /run/redis/redis-server.pid)" || true
    fi
    if command -v systemctl >/dev/null 2>&1; then
      as_root systemctl disable redis-server >/dev/null 2>&1 || true
    fi
    as_root update-rc.d redis-server disable >/dev/null 2>&1 || true
  fi
else
  echo "install-deps: all packages present"
fi

# apache2 from the security archive is built against the newest libssl3, but
# installing it does not upgrade an older libssl3 already there: mod_ssl then
# warns at every start (AH01882: compiled against a newer library) and runs
# on an OpenSSL it was not built for. Bring OpenSSL's packages to the version
# apt offers (libssl-dev and openssl must move with libssl3).
candidate_newer() {
  policy=$(apt-cache policy "$1" 2>/dev/null)
  have=$(printf '%s\n' "$policy" | sed -n 's/^ *Installed: //p')
  want=$(printf '%s\n' "$policy" | sed -n 's/^ *Candidate: //p')
  [ -n "$have" ] && [ "$have" != "(none)" ] && [ -n "$want" ] && [ "$want" != "(none)" ] &&
    dpkg --compare-versions "$want" gt "$have"
}
if candidate_newer libssl3; then
  ssl_packages=""
  for pkg in libssl3 libssl-dev openssl; do
    installed "$pkg" && ssl_packages="$ssl_packages $pkg"
  done
  echo "install-deps: upgrading$ssl_packages to the version apache2 was built against"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  as_root apt-get install -y -q --no-install-recommends $ssl_packages
fi

if ! getent passwd "$TEST_USER" >/dev/null; then
  echo "install-deps: creating system user $TEST_USER (children of the test httpd)"
  as_root useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$TEST_USER"
fi
