#!/bin/sh
# lethe compare: identical DBs, a shifted DB (regression, exit 1), tolerances, one-sided and
# failed runs, formats, and bad input (exit 2).
. "$LETHE_TOP/tests/cli/lib.sh"
MK="$LETHE_TOOLS/tool_mkdb"
q() { sqlite3 "$@"; }

"$MK" "$TMP/base.db" --seeds 2 >/dev/null && "$MK" "$TMP/same.db" --seeds 2 >/dev/null &&
    "$MK" "$TMP/worse.db" --seeds 2 --shift -0.1 >/dev/null &&
    "$MK" "$TMP/fewer.db" --seeds 1 >/dev/null && "$MK" "$TMP/more.db" --seeds 3 >/dev/null
check "tool_mkdb writes the databases" test -s "$TMP/base.db" -a -s "$TMP/worse.db" -a -s "$TMP/more.db"

expect_status "identical databases: exit 0" 0 "$LETHE" compare "$TMP/base.db" "$TMP/same.db"
check "identical: no regression" has "$TMP/out" "ok: 0 regressions"
check "identical: every run matched" has "$TMP/out" "runs: 24 matched, 0 failed in new, 0 only in base, 0 only in new"
check "identical: no regressed section" sh -c "! grep -q '^regressed (' '$TMP/out'"

expect_status "shifted down by 0.1: exit 1" 1 "$LETHE" compare "$TMP/base.db" "$TMP/worse.db"
check "shift: says REGRESSED" has "$TMP/out" "REGRESSED: "
check "shift: utility regressed" grep -q "^regressed .* tofu.model_utility  *higher" "$TMP/out"
# regressions first: the regressed section comes before the other metrics
first=$(grep -n '^regressed (' "$TMP/out" | cut -d: -f1)
other=$(grep -n '^other metrics (' "$TMP/out" | cut -d: -f1)
check "shift: regressions listed first" test -n "$first" -a -n "$other" -a "${first:-9}" -lt "${other:-0}"
# a higher-is-better metric moved down by 0.1: regressed; the oracle distance did not move
# (retrain shifted too), so no oracle metric regressed
check "shift: oracle metrics unchanged" sh -c "! grep -q '^regressed .* oracle ' '$TMP/out'"
# the count: every higher-is-better row (the 'original' and 'retrain' runs too)
n_higher=$(grep -c '^regressed .* higher ' "$TMP/out")
check "shift: 24 runs x 3 variants x 6 higher-is-better metrics regressed ($n_higher)" test "$n_higher" -eq 432

echo '{"default": {"abs": 0.2}}' >"$TMP/tol.json"
expect_status "tolerance abs 0.2 covers the shift: exit 0" 0 "$LETHE" compare "$TMP/base.db" "$TMP/worse.db" --tolerance "$TMP/tol.json"
check "tolerance: ok" has "$TMP/out" "ok: 0 regressions"
echo '{"default": {"abs": 0.2}, "patterns": [{"pattern": "tofu.model_*", "abs": 0.01}]}' >"$TMP/tol2.json"
expect_status "a stricter pattern brings model_utility back: exit 1" 1 "$LETHE" compare "$TMP/base.db" "$TMP/worse.db" --tolerance "$TMP/tol2.json"
check "pattern: only model_utility regressed" sh -c "test \$(grep '^regressed  ' '$TMP/out' | grep -vc 'tofu.model_utility') -eq 0"
expect_status "--quiet leaves out the rest" 1 "$LETHE" compare "$TMP/base.db" "$TMP/worse.db" --tolerance "$TMP/tol2.json" --quiet
check "quiet: no other section" sh -c "! grep -q '^other metrics' '$TMP/out'"
check "quiet: the summary stays" has "$TMP/out" "REGRESSED: 72 regressions"

expect_status "runs only in base are listed, exit 0" 0 "$LETHE" compare "$TMP/base.db" "$TMP/fewer.db"
check "only in base: 12 runs (seed 1)" has "$TMP/out" "runs only in base (12)"
expect_status "runs only in new are listed, exit 0" 0 "$LETHE" compare "$TMP/base.db" "$TMP/more.db"
check "only in new: 12 runs (seed 2)" has "$TMP/out" "runs only in new (12)"

cp "$TMP/base.db" "$TMP/failed.db"
q "$TMP/failed.db" "UPDATE runs SET status = 'failed', error = 'nan loss at step 3' WHERE method = 'npo_lr1e-5' AND split = 'forget10' AND seed = 1"
expect_status "a run failed in new: exit 1" 1 "$LETHE" compare "$TMP/base.db" "$TMP/failed.db"
check "failed in new: listed with its error" has "$TMP/out" "nan loss at step 3"
check "failed in new: section" has "$TMP/out" "failed in new (done in base) (1)"
check "failed in new: one regression" has "$TMP/out" "REGRESSED: 1 regression"

expect_status "--format json" 1 "$LETHE" compare "$TMP/base.db" "$TMP/worse.db" --format json
check "json: valid" test "$(q :memory: "SELECT json_valid(CAST(readfile('$TMP/out') AS TEXT))")" = 1
check "json: regressions count" test "$(q :memory: "SELECT json_extract(CAST(readfile('$TMP/out') AS TEXT), '\$.regressions')")" -gt 0
check "json: first regressed row" test "$(q :memory: "SELECT json_extract(CAST(readfile('$TMP/out') AS TEXT), '\$.sections.regressed[0].verdict')")" = regressed
expect_status "--format csv" 1 "$LETHE" compare "$TMP/base.db" "$TMP/worse.db" --format csv
check "csv: one header" test "$(grep -c '^section,verdict,' "$TMP/out")" -eq 1
check "csv: quoted configuration" grep -q ',"{""beta"":0.1,""lr"":1e-05,""method"":""npo""}",' "$TMP/out"

# bad input: exit 2 and a clear message
expect_status "missing database: exit 2" 2 "$LETHE" compare "$TMP/base.db" "$TMP/nope.db"
check "missing database named" has "$TMP/err" "nope.db"
echo "not a database at all, just some text that is long enough to have a header" >"$TMP/text.db"
expect_status "non-Lethe file: exit 2" 2 "$LETHE" compare "$TMP/text.db" "$TMP/base.db"
check "non-Lethe file: error form" has "$TMP/err" "lethe: error: "
q "$TMP/other.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1);"
expect_status "a SQLite file of another application: exit 2" 2 "$LETHE" compare "$TMP/base.db" "$TMP/other.db"
echo '{"metrics": {"tofu.privleak": {"abs": "2"}}}' >"$TMP/bad.json"
expect_status "bad tolerance file: exit 2" 2 "$LETHE" compare "$TMP/base.db" "$TMP/same.db" --tolerance "$TMP/bad.json"
check "bad tolerance: the JSON path" has "$TMP/err" "lethe: error: $TMP/bad.json: metrics.tofu.privleak.abs: expected a number"
echo '{"default": {"abs": 1}, "tolerances": {}}' >"$TMP/bad2.json"
expect_status "unknown tolerance key: exit 2" 2 "$LETHE" compare "$TMP/base.db" "$TMP/same.db" --tolerance "$TMP/bad2.json"
check "unknown key named" has "$TMP/err" "$TMP/bad2.json: tolerances: unknown key (expected default, metrics or patterns)"
expect_status "missing tolerance file: exit 2" 2 "$LETHE" compare "$TMP/base.db" "$TMP/same.db" --tolerance "$TMP/none.json"
check "missing tolerance file named" has "$TMP/err" "cannot open '$TMP/none.json'"
expect_status "one database only: exit 2" 2 "$LETHE" compare "$TMP/base.db"
expect_status "bad --format: exit 2" 2 "$LETHE" compare "$TMP/base.db" "$TMP/same.db" --format xml
check "bad format named" has "$TMP/err" "--format: expected table, csv or json, got 'xml'"
done_testing
