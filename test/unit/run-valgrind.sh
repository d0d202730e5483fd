#!/bin/sh
# Runs every unit test program given under valgrind (memcheck, full leak
# check, CK_FORK=no so that the tests run in the one process valgrind
# watches). A program fails when valgrind reports an error or a definite
# leak (--error-exitcode), or when its Check summary is missing or not clean.
# Closing line: "valgrind: N passed, N failed" (programs).
#
# ACME_TEST_VALGRIND=1 (test_under_valgrind() in check_main.h): tests that
# make RSA keys without needing RSA use EC keys, larger RSA sizes are left
# out. RSA key generation and checks take tens of seconds each under
# valgrind; without this the run took half an hour instead of a few minutes.
#
# VALGRIND (default: valgrind) and VALGRIND_OPTS add to the command.
set -u
valgrind=${VALGRIND:-valgrind}
if ! command -v "$valgrind" >/dev/null 2>&1; then
  echo "valgrind: $valgrind not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
passed=0
failed=0
status=0
for prog in "$@"; do
  log="${prog}.valgrind.log"
  start=$(date +%s)
  # shellcheck disable=SC2086
  CK_FORK=no CK_DEFAULT_TIMEOUT=600 ACME_TEST_VALGRIND=1 "$valgrind" -q --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite,indirect \
    --error-exitcode=1 --log-file="$log" ${VALGRIND_OPTS:-} "./$prog" >"${prog}.valgrind.out" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  summary=$(grep -E '^[0-9]+%: Checks: ' "${prog}.valgrind.out" | tail -n 1)
  if [ "$rc" -eq 0 ] && [ -n "$summary" ]; then
    echo "${prog##*/}: clean under valgrind in ${secs}s ($summary)"
    passed=$((passed + 1))
  else
    echo "${prog##*/}: FAILED under valgrind (exit $rc) in ${secs}s; report $log:"
    head -n 80 "$log"
    grep -E '^[0-9]+%: Checks: |^[^:]+:[0-9]+:[EF]:' "${prog}.valgrind.out" | head -n 20
    failed=$((failed + 1)); status=1
  fi
done
echo "valgrind: $passed passed, $failed failed"
exit $status
