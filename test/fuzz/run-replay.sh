#!/bin/sh
# Replays every seed corpus input and every regression input through the
# fuzz targets' replay programs (test/fuzz/replay_<name>, built by any
# compiler), one process per input so that a crash names its input.
#
#   run-replay.sh FUZZDIR NAME...    (from the build directory)
#
# FUZZDIR holds corpus/<name>/ and regressions/<name>/. Prints each failure
# with its output and a closing line "fuzz-replay: N passed, N failed"
# (inputs); exits non-zero when an input failed or a program is missing.
set -u

if [ $# -lt 2 ]; then
  echo "usage: $0 FUZZDIR NAME..." >&2
  exit 2
fi
fuzzdir=$1
shift
passed=0
failed=0
for name in "$@"; do
  prog=./test/fuzz/replay_$name
  if [ ! -x "$prog" ]; then
    echo "fuzz-replay: $prog is missing"
    failed=$((failed + 1))
    continue
  fi
  count=0
  for input in "$fuzzdir/corpus/$name"/* "$fuzzdir/regressions/$name"/*; do
    [ -f "$input" ] || continue
    count=$((count + 1))
    if out=$("$prog" "$input" 2>&1); then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      echo "fuzz-replay: $name FAILED on $input, output follows:"
      printf '%s\n' "$out" | tail -n 40
    fi
  done
  if [ "$count" -eq 0 ]; then
    echo "fuzz-replay: $name has no corpus in $fuzzdir/corpus/$name"
    failed=$((failed + 1))
  else
    echo "fuzz-replay: $name: $count inputs"
  fi
done
echo "fuzz-replay: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
