#!/bin/sh
# Runs every test program and CLI script, reads their TAP lines, ends with "N passed, N failed".
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
export LETHE="$top/$build/lethe" LETHE_TOP="$top" LETHE_TOOLS="$top/$build/tests"
pass=0 fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
count() { # name, exit status, TAP in $log
    p=$(grep -c '^ok ' "$log") f=$(grep -c '^not ok ' "$log")
    if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $1 exited with status $2"; fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $1 ran no test"; fi
    grep -E '^(not ok|#)' "$log" | sed "s|^|$1: |"
    pass=$((pass + p)) fail=$((fail + f))
    printf '%-40s %3d passed, %d failed\n' "$1" "$p" "$f"
}
for t in "$top/$build"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d|*.o) continue ;; esac
    (cd "$top" && "$t") >"$log" 2>&1; count "$(basename "$t")" $?
done
for t in "$top"/tests/cli/t[0-9]*.sh; do
    [ -f "$t" ] || continue
    (cd "$top" && sh "$t") >"$log" 2>&1; count "$(basename "$t")" $?
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
