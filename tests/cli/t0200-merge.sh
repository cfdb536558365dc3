#!/bin/sh
# lethe merge: shards with disjoint seeds, identical duplicates, conflicts, an existing OUT,
# an injected write failure.
. "$LETHE_TOP/tests/cli/lib.sh"
MK="$LETHE_TOOLS/tool_mkdb"
runs() { sqlite3 "$1" "SELECT count(*) FROM runs"; }

"$MK" "$TMP/a.db" --seeds 2 >/dev/null && "$MK" "$TMP/b.db" --seeds 2 --seed-base 2 >/dev/null &&
    "$MK" "$TMP/img.db" --kind image --seeds 1 >/dev/null
check "tool_mkdb writes shards" test -s "$TMP/a.db" -a -s "$TMP/b.db" -a -s "$TMP/img.db"

expect_status "merge of disjoint shards exits 0" 0 "$LETHE" merge "$TMP/out.db" "$TMP/a.db" "$TMP/b.db" "$TMP/img.db"
check "merge reports its count" has "$TMP/out" "merged 60 runs from 3 databases into '$TMP/out.db'"
check "every run is in OUT" test "$(runs "$TMP/out.db")" = 60
check "every metric is in OUT" test "$(sqlite3 "$TMP/out.db" "SELECT count(*) FROM metrics")" = \
    "$(( $(sqlite3 "$TMP/a.db" "SELECT count(*) FROM metrics") + $(sqlite3 "$TMP/b.db" "SELECT count(*) FROM metrics") + $(sqlite3 "$TMP/img.db" "SELECT count(*) FROM metrics") ))"
check "a value survives exactly" test "$(sqlite3 "$TMP/out.db" "SELECT printf('%.17g', value) FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.method = 'npo_lr5e-5' AND r.seed = 3 AND r.split = 'forget10' AND m.variant = 'q4_g64' AND m.name = 'tofu.model_utility'")" = \
    "$(sqlite3 "$TMP/b.db" "SELECT printf('%.17g', value) FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.method = 'npo_lr5e-5' AND r.seed = 3 AND r.split = 'forget10' AND m.variant = 'q4_g64' AND m.name = 'tofu.model_utility'")"
check "OUT is a lethe database" test "$(sqlite3 "$TMP/out.db" "PRAGMA application_id")" = 1279611976
check "no temporary file is left" test -z "$(ls "$TMP" | grep -e '\.tmp')"

"$MK" "$TMP/c.db" --seeds 3 >/dev/null
expect_status "identical duplicates merge" 0 "$LETHE" merge "$TMP/dup.db" "$TMP/a.db" "$TMP/b.db" "$TMP/c.db"
check "duplicates kept once" test "$(runs "$TMP/dup.db")" = 48
check "duplicates reported" has "$TMP/out" "'$TMP/c.db': 36 runs: 0 taken, 36 identical to a copy already taken"

"$MK" "$TMP/d.db" --seeds 1 --seed-base 1 --shift 0.01 >/dev/null
expect_status "conflicting runs exit 2" 2 "$LETHE" merge "$TMP/bad.db" "$TMP/a.db" "$TMP/d.db"
check "conflict names the run and both values" has "$TMP/err" "conflict: tofu_mini/forget05/npo_lr1e-5 seed 1: '$TMP/a.db' and '$TMP/d.db' differ: metric base/tofu.forget.prob is "
check "every conflicting run is reported" test "$(grep -c '^conflict: ' "$TMP/err")" = 12
check "conflict error line" has "$TMP/err" "lethe: error: 12 conflicting runs between the inputs; '$TMP/bad.db' not written"
check "OUT not written on conflict" test ! -e "$TMP/bad.db"

sum=$(sha256sum "$TMP/out.db")
expect_status "existing OUT without --force exits 2" 2 "$LETHE" merge "$TMP/out.db" "$TMP/a.db"
check "existing OUT named" has "$TMP/err" "lethe: error: '$TMP/out.db' already exists (use --force to replace it)"
check "existing OUT untouched" test "$(sha256sum "$TMP/out.db")" = "$sum"
expect_status "--force replaces OUT" 0 "$LETHE" merge "$TMP/out.db" "$TMP/a.db" --force
check "replaced OUT holds the new runs" test "$(runs "$TMP/out.db")" = 24

LETHE_STORE_FAIL_AT=40 expect_status "an injected write failure exits 1" 1 "$LETHE" merge "$TMP/inj.db" "$TMP/a.db" "$TMP/b.db"
check "the failure is reported" has "$TMP/err" "injected failure at write step 40"
check "no OUT after a failed write" test ! -e "$TMP/inj.db"
check "no temporary file after a failed write" test -z "$(ls "$TMP" | grep -e '^inj')"

expect_status "merge without inputs is a usage error" 2 "$LETHE" merge "$TMP/x.db"
check "usage error says what is missing" has "$TMP/err" "expected OUT.db and at least one IN.db"
expect_status "merge --help" 0 "$LETHE" merge --help
check "merge --help shows usage" has "$TMP/out" "usage: lethe merge OUT.db IN.db... [--force]"
done_testing
