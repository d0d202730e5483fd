#!/bin/sh
# Runs every unit test program given, prints each one's Check summary and a
# closing line "unit: N passed, N failed" (tests, summed over the programs).
set -u
passed=0
failed=0
status=0
for prog in "$@"; do
  out=$("./$prog" 2>&1)
  rc=$?
  printf '%s\n' "$out" | grep -v '^\[' | sed "s|^|${prog##*/}: |"
  # Check's summary: "100%: Checks: 12, Failures: 0, Errors: 0"
  summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
  if [ -z "$summary" ]; then
    echo "${prog##*/}: no Check summary (crashed?), output follows:"
    printf '%s\n' "$out"
    failed=$((failed + 1)); status=1; continue
  fi
  checks=$(echo "$summary" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
  fails=$(echo "$summary" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
  errors=$(echo "$summary" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
  bad=$((fails + errors))
  passed=$((passed + checks - bad))
  failed=$((failed + bad))
  if [ "$rc" -ne 0 ] || [ "$bad" -ne 0 ]; then
    status=1
    printf '%s\n' "$out" | grep '^\[' | tail -n 40
  fi
done
echo "unit: $passed passed, $failed failed"
exit $status
