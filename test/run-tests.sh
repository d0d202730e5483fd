#!/bin/bash
# The test command: installs missing dependencies, builds, runs `make check`
# (unit tests, then the integration suite against real httpd + pebble), then
# does the same for the sanitizer build (ASan + UBSan), and runs each fuzz
# target briefly (test/fuzz/run-fuzz.sh, clang). Exits non-zero if anything
# failed; the output ends with one summary line per pass.
#
#   test/run-tests.sh [--no-sanitizers] [--no-deps] [--builddir DIR] [--asan-builddir DIR]
#                     [--fuzz-seconds N] [--no-fuzz]
#
# PYTEST_ARGS (e.g. "-k graceful -x") is passed on to the integration suite.
set -uo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
sanitizers=yes
deps=yes
builddir="$srcdir/build"
asan_builddir="$srcdir/build-asan"
fuzz=yes
fuzz_seconds=10

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --no-sanitizers) sanitizers=no ;;
    --no-deps) deps=no ;;
    --builddir) [ $# -ge 2 ] || usage; builddir=$2; shift ;;
    --asan-builddir) [ $# -ge 2 ] || usage; asan_builddir=$2; shift ;;
    --fuzz-seconds) [ $# -ge 2 ] || usage; fuzz_seconds=$2; shift ;;
    --no-fuzz) fuzz=no ;;
    -h|--help) usage ;;
    *) echo "run-tests: unknown option $1" >&2; usage ;;
  esac
  shift
done

summaries=()
failures=()
# why integration tests failed, a few lines each: CI shows only the output's tail
digests=()

# The sanitizer pass runs its integration suite at the same time as the plain
# one, on ports moved by this much (the harness moves all of its ports), so
# the whole run takes about as long as one pass: the suites mostly wait on
# httpd and pebble, not on the CPU.
SANITIZER_PORT_OFFSET=200

build_pass() {
  local name=$1 dir=$2
  shift 2
  echo "=== $name build ($dir)"
  "$srcdir/scripts/build.sh" --builddir "$dir" "$@" || { failures+=("FAILED: $name build"); return 1; }
}

# make check of one build in the background; its output goes to make-check.log.
start_check() {
  local dir=$1 offset=$2
  # -k: integration tests still run (and report) when a unit test failed
  ACME_TEST_PORT_OFFSET=$offset make -k -C "$dir" check PYTEST_ARGS="${PYTEST_ARGS:-}" \
    > "$dir/make-check.log" 2>&1 &
  check_pid=$!
}

# Shows a finished pass's log and remembers its summary lines.
finish_check() {
  local name=$1 dir=$2 pid=$3 log rc unit pytest_line replay valgrind
  log="$dir/make-check.log"
  wait "$pid"
  rc=$?
  echo "=== $name: make check"
  cat "$log"
  unit=$(grep -E '^unit: [0-9]+ passed' "$log" | tail -n 1)
  replay=$(grep -E '^fuzz-replay: [0-9]+ passed' "$log" | tail -n 1)
  valgrind=$(grep -E '^valgrind: [0-9]+ passed' "$log" | tail -n 1)
  pytest_line=$(grep -E '^=*\s*([0-9]+ (passed|failed|error|errors|skipped|deselected)|no tests ran).* in [0-9.]+s' "$log" \
    | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')
  summaries+=("$name ${unit:-unit: no summary (unit tests did not run)}")
  summaries+=("$name ${replay:-fuzz-replay: no summary (replay did not run)}")
  # valgrind runs in the plain build only (make check-valgrind)
  [ -z "$valgrind" ] || summaries+=("$name $valgrind")
  summaries+=("$name integration: ${pytest_line:-no summary (suite did not run)}")
  if [ "$rc" -ne 0 ]; then
    failures+=("FAILED: $name make check (exit $rc), log in $log")
    [ ! -f "$dir/test/integration/junit.xml" ] || digests+=("$(python3 \
      "$srcdir/test/integration/failure_digest.py" "$dir/test/integration/junit.xml" "$name")")
  fi
}

if [ "$deps" = yes ]; then
  "$srcdir/scripts/install-deps.sh" || { echo "run-tests: installing dependencies failed" >&2; exit 1; }
fi

plain_pid=""
asan_pid=""
if build_pass plain "$builddir"; then
  start_check "$builddir" "${ACME_TEST_PORT_OFFSET:-0}"
  plain_pid=$check_pid
fi
if [ "$sanitizers" = yes ] && build_pass sanitizers "$asan_builddir" --sanitizers; then
  start_check "$asan_builddir" $(( ${ACME_TEST_PORT_OFFSET:-0} + SANITIZER_PORT_OFFSET ))
  asan_pid=$check_pid
fi
echo "=== make check running (logs: $builddir/make-check.log, $asan_builddir/make-check.log)"
[ -z "$plain_pid" ] || finish_check plain "$builddir" "$plain_pid"
[ -z "$asan_pid" ] || finish_check sanitizers "$asan_builddir" "$asan_pid"

# Short libFuzzer run of every target (clang build in build-fuzz/); its
# summary goes first so that the last line stays pytest's.
fuzz_summary=()
if [ "$fuzz" = yes ]; then
  echo "=== fuzz: ${fuzz_seconds}s per target"
  mkdir -p "$srcdir/build-fuzz"
  log="$srcdir/build-fuzz/run-fuzz.log"
  "$srcdir/test/fuzz/run-fuzz.sh" --seconds "$fuzz_seconds" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^fuzz: [0-9]+ passed' "$log" | tail -n 1)
  fuzz_summary+=("${line:-fuzz: no summary (the fuzz run did not start)}")
  [ "$rc" -eq 0 ] || failures+=("FAILED: fuzz run (exit $rc), log in $log")
fi

if [ ${#digests[@]} -gt 0 ]; then
  echo
  echo "=== why integration tests failed (the whole story is in the make-check.log)"
  printf '%s\n' "${digests[@]}"
fi
echo
echo "=== summary"
# failures first, so that the last line is pytest's own summary
for line in ${failures[@]+"${failures[@]}"} ${fuzz_summary[@]+"${fuzz_summary[@]}"} \
    ${summaries[@]+"${summaries[@]}"}; do
  echo "$line"
done
[ ${#failures[@]} -eq 0 ]
