#!/bin/bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in their own build
# directory, runs each for a while on a copy of its seed corpus, then replays
# the regression inputs. Exits non-zero when a target crashed, broke one of
# its properties, leaked or hung; the input that did it is kept (see below).
#
#   test/fuzz/run-fuzz.sh [--seconds N] [--runs N] [--timeout N] [--jobs N] [--builddir DIR]
#                         [TARGET...]
#
#   --seconds N    time per target (default 10: the short CI run;
#                  docs/fuzzing.md describes longer runs)
#   --runs N       also end a target after N executions (the long runs:
#                  --runs 10000000 with --seconds as the bound)
#   --timeout N    seconds after which one input counts as a hang (default 10;
#                  raise it for a long run at low priority on a busy machine)
#   --jobs N       targets run at once (default 2, the machine's cores)
#   --builddir DIR default build-fuzz/ under the repository
#   TARGET         e.g. fuzz_headers or headers (default: all targets)
#
# New corpus entries go to DIR/fuzz-corpus/<target>/ (the seeds in
# test/fuzz/corpus/ are only read); crash inputs to DIR/fuzz-artifacts/.
# A crash found becomes a regression input: copy it to
# test/fuzz/regressions/<target>/ with the fix. Closing line:
# "fuzz: N passed, N failed" (targets).
set -uo pipefail

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir="$srcdir/test/fuzz"
seconds=10
runs_max=-1
hang_seconds=10
jobs=2
builddir="$srcdir/build-fuzz"
all_targets="json_documents problem pem_chain headers config_values pkey_pem b64_jwk"
all_targets="$all_targets host_names csr jws_verify ocsp_response store_json keyholder redis seal"
targets=""

usage() {
  sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || usage; seconds=$2; shift ;;
    --runs) [ $# -ge 2 ] || usage; runs_max=$2; shift ;;
    --timeout) [ $# -ge 2 ] || usage; hang_seconds=$2; shift ;;
    --jobs) [ $# -ge 2 ] || usage; jobs=$2; shift ;;
    --builddir) [ $# -ge 2 ] || usage; builddir=$2; shift ;;
    -h|--help) usage ;;
    -*) echo "run-fuzz: unknown option $1" >&2; usage ;;
    *) targets="$targets ${1#fuzz_}" ;;
  esac
  shift
done
case "$seconds$jobs$hang_seconds${runs_max#-}" in
  *[!0-9]*) echo "run-fuzz: --seconds, --runs, --timeout and --jobs take numbers" >&2; exit 2 ;;
esac
[ "$jobs" -ge 1 ] || jobs=1
targets=${targets:-$all_targets}
for t in $targets; do
  case " $all_targets " in *" $t "*) ;; *) echo "run-fuzz: no target $t" >&2; exit 2 ;; esac
done

# ------------------------------------------------------------------ build
build() {
  local cc=${FUZZ_CC:-clang} options="--enable-fuzzing" current=""
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "run-fuzz: $cc not found: install clang and libclang-rt-14-dev" >&2
    return 1
  fi
  if [ ! -x "$srcdir/configure" ]; then
    mkdir -p "$srcdir/m4"
    (cd "$srcdir" && autoreconf -fi) || return 1
  fi
  mkdir -p "$builddir" && builddir=$(cd "$builddir" && pwd) || return 1
  cd "$builddir" || return 1
  [ -x config.status ] && current=$(./config.status --config 2>/dev/null | tr -d "'")
  # Not maintainer mode: clang's warnings differ from gcc's, and the gcc
  # builds are where warnings are errors.
  if [ ! -f Makefile ] || [ "$current" != "$options CC=$cc" ]; then
    echo "run-fuzz: configuring $builddir"
    "$srcdir/configure" $options CC="$cc" >configure.out 2>&1 || {
      tail -n 20 configure.out >&2
      echo "run-fuzz: configure failed, see $builddir/configure.out" >&2
      return 1
    }
  fi
  echo "run-fuzz: building the fuzz targets in $builddir"
  make -j"$(nproc 2>/dev/null || echo 2)" $(for t in $targets; do echo "test/fuzz/fuzz_$t"; done) \
    >make.out 2>&1 || { tail -n 30 make.out >&2; echo "run-fuzz: build failed" >&2; return 1; }
}

# ------------------------------------------------------------------ one target
# Fuzzes, then replays the regression inputs; the log is DIR/fuzz-<t>.log.
fuzz_one() {
  local t=$1 prog="$builddir/test/fuzz/fuzz_$1" log="$builddir/fuzz-$1.log"
  local corpus="$builddir/fuzz-corpus/$t" artifacts="$builddir/fuzz-artifacts/$t/"
  local regressions=("$fuzzdir/regressions/$t"/*)
  mkdir -p "$corpus" "$artifacts"
  # -timeout: an input taking longer is a hang; -rss_limit_mb: the
  # machine's memory is shared with the other target running at once.
  "$prog" -max_total_time="$seconds" -runs="$runs_max" -timeout="$hang_seconds" -rss_limit_mb=4096 \
    -artifact_prefix="$artifacts" -print_final_stats=1 \
    "$corpus" "$fuzzdir/corpus/$t" >"$log" 2>&1 || return 1
  if [ -f "${regressions[0]}" ]; then
    "$prog" "${regressions[@]}" >>"$log" 2>&1 || return 1
  fi
  return 0
}

report() {
  local t=$1 rc=$2 log="$builddir/fuzz-$1.log" runs
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  if [ "$rc" -eq 0 ]; then
    echo "run-fuzz: $t ok (${runs:-?} runs in at most ${seconds}s, regressions replayed)"
  else
    echo "run-fuzz: $t FAILED, log $log; inputs kept in $builddir/fuzz-artifacts/$t/:"
    ls "$builddir/fuzz-artifacts/$t/" 2>/dev/null | sed 's/^/  /'
    grep -E 'ERROR: |SUMMARY: |runtime error|property violated' "$log" | head -n 10
  fi
}

build || { echo "fuzz: 0 passed, 1 failed"; exit 1; }
passed=0
failed=0
set -- $targets
while [ $# -gt 0 ]; do
  # one batch of up to $jobs targets at once
  pids=() names=()
  while [ $# -gt 0 ] && [ ${#pids[@]} -lt "$jobs" ]; do
    fuzz_one "$1" &
    pids+=($!) names+=("$1")
    shift
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}"
    rc=$?
    report "${names[$i]}" "$rc"
    if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
