#!/usr/bin/env bash
# Runs the built test suites (make test), bounded: a hung test must not eat
# CI's whole budget. On timeout it names the tests that started and never
# finished and dumps every thread of the test process (gdb, if present),
# then fails.
#   scripts/test.sh [TIMEOUT_SECONDS]      (default 900)
set -uo pipefail
LIMIT=${1:-${TEST_TIMEOUT:-900}}
OUT=$(mktemp /tmp/nscore-test.XXXXXX)
trap 'rm -f "$OUT"' EXIT

swift test --skip-build 2>&1 | tee "$OUT" &
PIPE_PID=$!
for ((s = 0; s < LIMIT; s++)); do
  kill -0 "$PIPE_PID" 2>/dev/null || break
  sleep 1
done
if kill -0 "$PIPE_PID" 2>/dev/null; then
  echo "test run exceeded ${LIMIT}s; tests started but not finished:" >&2
  grep -o '◇ Test "[^"]*" started' "$OUT" | sed 's/◇ Test \(.*\) started/\1/' | sort >"$OUT.started"
  grep -oE '[✔✘] Test "[^"]*"( with [0-9]+ test cases?)? (passed|failed)' "$OUT" \
    | sed -E 's/[✔✘] Test ("[^"]*").*/\1/' | sort -u >"$OUT.done"
  comm -23 "$OUT.started" "$OUT.done" | sed 's/^/  /' >&2
  rm -f "$OUT.started" "$OUT.done"
  pid=$(pgrep -f 'PackageTests.xctest' | head -1)
  if [[ -n "$pid" ]] && command -v gdb >/dev/null; then
    echo "threads of the test process $pid:" >&2
    gdb -p "$pid" -batch -ex 'thread apply all bt 25' 2>/dev/null | grep -E '^Thread|^#' >&2 || true
  fi
  pkill -f 'PackageTests.xctest' || true
  exit 124
fi
wait "$PIPE_PID"
