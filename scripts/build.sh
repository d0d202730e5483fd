#!/bin/sh
# Builds mod_acme out of tree: build/ (or build-asan/ with --sanitizers)
# under the repository unless --builddir says otherwise. Generates configure
# when it is missing, reconfigures when the wanted options changed.
set -eu

usage() {
  echo "usage: $0 [--sanitizers] [--builddir DIR]" >&2
  exit 2
}

srcdir=$(cd "$(dirname "$0")/.." && pwd)
sanitizers=no
builddir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitizers) sanitizers=yes ;;
    --builddir) [ $# -ge 2 ] || usage; builddir=$2; shift ;;
    --builddir=*) builddir=${1#--builddir=} ;;
    -h|--help) usage ;;
    *) echo "build: unknown option $1" >&2; usage ;;
  esac
  shift
done
if [ -z "$builddir" ]; then
  if [ "$sanitizers" = yes ]; then builddir="$srcdir/build-asan"; else builddir="$srcdir/build"; fi
fi

if [ ! -x "$srcdir/configure" ]; then
  echo "build: generating configure (autoreconf)"
  mkdir -p "$srcdir/m4"     # libtool's macros go there (not in git)
  (cd "$srcdir" && autoreconf -fi)
fi

options="--enable-maintainer-mode"
[ "$sanitizers" = yes ] && options="$options --enable-sanitizers"

mkdir -p "$builddir"
builddir=$(cd "$builddir" && pwd)
cd "$builddir"
# config.status remembers the options it was configured with.
current=""
[ -x config.status ] && current=$(./config.status --config 2>/dev/null | tr -d "'")
if [ ! -f Makefile ] || [ "$current" != "$options" ]; then
  echo "build: configuring $builddir ($options)"
  # shellcheck disable=SC2086
  "$srcdir/configure" $options >configure.out 2>&1 || {
    tail -n 30 configure.out >&2
    echo "build: configure failed, see $builddir/configure.out and config.log" >&2
    exit 1
  }
fi

echo "build: make in $builddir"
make -j"$(nproc 2>/dev/null || echo 2)"
echo "build: done ($builddir/.libs/mod_acme.so)"
