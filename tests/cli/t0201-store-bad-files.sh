#!/bin/sh
# Bad results databases are refused with exit 2, a message naming the file, and left unchanged:
# text, random bytes, truncated copies, another application's SQLite file, another schema version.
. "$LETHE_TOP/tests/cli/lib.sh"
MK="$LETHE_TOOLS/tool_mkdb"
"$MK" "$TMP/good.db" --seeds 1 >/dev/null
check "tool_mkdb writes a database" test -s "$TMP/good.db"

# refused NAME FILE WANT: merging FILE exits 2, names it, says WANT, leaves it unchanged, writes no OUT
refused() {
    before=$(sha256sum "$2")
    expect_status "$1: exit 2" 2 "$LETHE" merge "$TMP/out.db" "$TMP/good.db" "$2"
    check "$1: message" has "$TMP/err" "$3"
    check "$1: file unchanged" test "$(sha256sum "$2")" = "$before"
    check "$1: no OUT" test ! -e "$TMP/out.db"
}

printf '{"suites": {}}\n' >"$TMP/suites.json"
refused "a text file" "$TMP/suites.json" "lethe: error: '$TMP/suites.json' is not a SQLite database"
awk 'BEGIN { x = 12345; for (i = 0; i < 8192; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%c", int(x / 65536) % 256 } }' \
    >"$TMP/random.db"
refused "random bytes" "$TMP/random.db" "is not a SQLite database"
size=$(wc -c <"$TMP/good.db")
for cut in 50 100 4096 $((size / 2)) $((size - 4096)) $((size - 1)); do
    head -c "$cut" "$TMP/good.db" >"$TMP/cut$cut.db"
    refused "truncated at $cut bytes" "$TMP/cut$cut.db" "'$TMP/cut$cut.db' is truncated"
done
sqlite3 "$TMP/other.db" "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('hi');"
refused "another application's SQLite file" "$TMP/other.db" "'$TMP/other.db' is a SQLite database of another application"
cp "$TMP/good.db" "$TMP/v7.db" && sqlite3 "$TMP/v7.db" "PRAGMA user_version = 7"
refused "schema version 7" "$TMP/v7.db" "lethe: error: '$TMP/v7.db' has schema version 7; this lethe reads version 1"
expect_status "a missing input exits 2" 2 "$LETHE" merge "$TMP/out.db" "$TMP/nope.db"
check "a missing input is named" has "$TMP/err" "cannot open '$TMP/nope.db': no such file"
check "a missing input is not created" test ! -e "$TMP/nope.db"
: >"$TMP/empty.db"
refused "an empty file as input" "$TMP/empty.db" "'$TMP/empty.db' is empty"
done_testing
