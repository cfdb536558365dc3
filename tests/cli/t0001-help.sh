#!/bin/sh
# The command table: help, version, unknown commands and options, pending commands, exit codes.
. "$LETHE_TOP/tests/cli/lib.sh"

expect_status "lethe --help exits 0" 0 "$LETHE" --help
check "help lists the available commands" has "$TMP/out" "leaderboard"
check "help lists pending commands apart" has "$TMP/out" "Not available yet"
expect_status "no command is a usage error" 2 "$LETHE"
expect_status "--version" 0 "$LETHE" --version
check "version printed" has "$TMP/out" "lethe 0."
expect_status "unknown command exits 2" 2 "$LETHE" frobnicate
check "unknown command named" has "$TMP/err" "lethe: error: unknown command 'frobnicate'"
for c in leaderboard compare merge plot list run train unlearn eval attack stats data bench slurm tokenize score; do
    expect_status "lethe $c --help exits 0" 0 "$LETHE" "$c" --help
    check "lethe $c --help shows usage" has "$TMP/out" "usage: lethe $c"
done
expect_status "lethe help merge" 0 "$LETHE" help merge
check "help merge shows usage" has "$TMP/out" "usage: lethe merge"
"$LETHE" --help | sed -n '/^Not available yet/,$p' | awk 'NF >= 2 && $1 ~ /^[a-z]+$/ {print $1}' >"$TMP/pending"
check "some commands are pending" test -s "$TMP/pending"
for c in $(cat "$TMP/pending"); do
    expect_status "pending lethe $c exits 2" 2 "$LETHE" "$c"
    check "pending lethe $c says not available yet" has "$TMP/err" "is not available yet"
done
first=$(head -n 1 "$TMP/pending")
if [ -n "$first" ]; then
    expect_status "pending command help says so" 0 "$LETHE" "$first" --help
    check "$first --help says not available yet" has "$TMP/out" "not available yet"
fi
expect_status "unknown option exits 2" 2 "$LETHE" leaderboard --frobnicate
check "unknown option named" has "$TMP/err" "unknown option '--frobnicate'"
done_testing
