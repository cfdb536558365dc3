#!/bin/sh
# lethe leaderboard: means and sds against SQLite's own arithmetic, ranking, reference rows,
# failed runs, variants, the four formats, suites.json views, an empty DB and bad input.
. "$LETHE_TOP/tests/cli/lib.sh"
MK="$LETHE_TOOLS/tool_mkdb"
q() { sqlite3 "$@"; }
# jq-like: j PATH on the JSON in $TMP/out, through SQLite's JSON functions
j() { q :memory: "SELECT json_extract(CAST(readfile('$TMP/out') AS TEXT), '$1')"; }

"$MK" "$TMP/a.db" --seeds 3 >/dev/null && "$MK" "$TMP/img.db" --kind image --seeds 2 >/dev/null
check "tool_mkdb writes the databases" test -s "$TMP/a.db" -a -s "$TMP/img.db"
# one failed run, left out of the aggregates
q "$TMP/a.db" "UPDATE runs SET status = 'failed', error = 'boom' WHERE method = 'npo_lr1e-5' AND split = 'forget10' AND seed = 2"
cd "$TMP" || exit 1     # no ./suites.json here: every metric is a column

expect_status "table exits 0" 0 "$LETHE" leaderboard --db a.db
check "a title per suite and split" has "$TMP/out" "tofu_mini / forget10 (variant base): ranked by tofu.forget.prob, closest to retrain is best"
check "both splits" has "$TMP/out" "tofu_mini / forget05 (variant base)"
check "reference rows apart" grep -q "^ ref  original" "$TMP/out"
check "the failed run is counted in a note" has "$TMP/out" "note: 1 failed run left out of the aggregates"
check "the lr column" grep -q "^   [1-4]  npo_lr5e-5  *5e-05  *3 " "$TMP/out"
check "the CI rule is stated" has "$TMP/out" "the mean of the per-seed bounds for several"

# JSON: values against SQLite's avg and sample variance of the same rows
expect_status "json exits 0" 0 "$LETHE" leaderboard --db a.db --split forget10 --format json
check "json is valid" test "$(q :memory: "SELECT json_valid(CAST(readfile('$TMP/out') AS TEXT))")" = 1
sel="FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.status = 'done' AND r.split = 'forget10' AND m.variant = 'base' AND m.name = 'tofu.model_utility' AND r.method = 'npo_lr5e-5'"
want_mean=$(q a.db "SELECT avg(value) $sel")
want_var=$(q a.db "SELECT (sum(value*value) - sum(value)*sum(value)/count(*)) / (count(*) - 1) $sel")
row=$(q :memory: "SELECT key FROM json_each(json_extract(CAST(readfile('$TMP/out') AS TEXT), '\$.tables[0].rows')) WHERE json_extract(value, '\$.method') = 'npo_lr5e-5'")
got_mean=$(j "\$.tables[0].rows[$row].metrics.\"tofu.model_utility\".mean")
got_sd=$(j "\$.tables[0].rows[$row].metrics.\"tofu.model_utility\".sd")
check "mean = SQLite avg ($got_mean vs $want_mean)" test "$(q :memory: "SELECT abs($got_mean - $want_mean) < 1e-12")" = 1
check "sd^2 = sample variance ($got_sd)" test "$(q :memory: "SELECT abs($got_sd * $got_sd - $want_var) < 1e-12")" = 1
check "seeds of a method: 3" test "$(j "\$.tables[0].rows[$row].seeds")" = 3
nrow=$(q :memory: "SELECT key FROM json_each(json_extract(CAST(readfile('$TMP/out') AS TEXT), '\$.tables[0].rows')) WHERE json_extract(value, '\$.method') = 'npo_lr1e-5'")
check "the failed seed is left out: 2 seeds" test "$(j "\$.tables[0].rows[$nrow].seeds")" = 2
check "and counted" test "$(j "\$.tables[0].failed_runs")" = 1
check "4 ranked rows" test "$(j "\$.tables[0].rows[#-1].rank")" = 4
check "2 reference rows" test "$(q :memory: "SELECT json_array_length(CAST(readfile('$TMP/out') AS TEXT), '\$.tables[0].reference')")" = 2
want=$(q a.db "SELECT avg(value) FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.method = 'retrain' AND r.split = 'forget10' AND m.variant = 'base' AND m.name = 'tofu.forget.prob'")
check "oracle = retrain's mean ($want)" test "$(q :memory: "SELECT abs(json_extract(CAST(readfile('$TMP/out') AS TEXT), '\$.tables[0].oracle') - $want) < 1e-12")" = 1
# ranking: distances to the oracle do not decrease down the table
dists=$(q :memory: "SELECT group_concat(abs(json_extract(value, '\$.metrics.\"tofu.forget.prob\".mean') - json_extract(CAST(readfile('$TMP/out') AS TEXT), '\$.tables[0].oracle')), ' ') FROM json_each(json_extract(CAST(readfile('$TMP/out') AS TEXT), '\$.tables[0].rows'))")
check "sorted by distance to retrain ($dists)" sh -c "echo '$dists' | tr ' ' '\n' | sort -g -c"

expect_status "--variant q4_g64" 0 "$LETHE" leaderboard --db a.db --variant q4_g64 --split forget05
check "variant in the title" has "$TMP/out" "tofu_mini / forget05 (variant q4_g64)"
want=$(q a.db "SELECT printf('%.4g', avg(value)) FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.split = 'forget05' AND m.variant = 'q4_g64' AND m.name = 'tofu.forget.prob' AND r.method = 'original'")
check "variant values shown (original q4_g64 prob $want)" grep -q "^ ref  original  *-  *3  $want " "$TMP/out"
expect_status "an absent variant: exit 2" 2 "$LETHE" leaderboard --db a.db --variant q3
check "absent variant named" has "$TMP/err" "lethe: error: no metrics of variant 'q3' in 'a.db' (variants: 'base', 'q4_g64', 'q8')"

expect_status "csv" 0 "$LETHE" leaderboard --db a.db --format csv
check "csv: one header" test "$(grep -c '^suite,split,variant,section,' "$TMP/out")" -eq 1
check "csv: 12 rows per split" test "$(wc -l <"$TMP/out")" -eq 13
check "csv: quoted configuration" grep -q ',"{""beta"":0.1,""lr"":5e-05,""method"":""npo""}",5e-05,3,0,' "$TMP/out"
expect_status "md" 0 "$LETHE" leaderboard --db a.db --format md --split forget10
check "md: heading" has "$TMP/out" "### tofu_mini / forget10 (variant base)"
check "md: table header" grep -q '^| rank | method | lr | seeds | tofu.forget.prob →O |' "$TMP/out"
check "md: alignment row" grep -q '^| ---: | --- | ---: | ---: | --- |' "$TMP/out"

expect_status "--suite of an image DB" 0 "$LETHE" leaderboard --db img.db --suite mnist_mini
check "image suite shown" has "$TMP/out" "mnist_mini / class_3 (variant base)"

# a suites.json view: the headline metrics as columns, ranked by rank_by
cat >"$TMP/lb.json" <<'JSON'
{"lethe": 1,
 "suites": [{"name": "tofu_mini", "kind": "tofu", "summary": "the tool_mkdb suite", "data": {"synthetic": {"seed": 0}},
   "splits": ["forget05", "forget10"],
   "model": {"arch": "gpt", "n_layer": 1, "n_head": 1, "n_embd": 16, "n_ctx": 32, "vocab": "gpt2"},
   "train": {"epochs": 1, "lr": 0.01, "batch": 2},
   "leaderboard": {"headline": ["tofu.model_utility", "tofu.privleak"],
                   "rank_by": "tofu.privleak"}}]}
JSON
expect_status "--config with a view" 0 "$LETHE" leaderboard --db a.db --config lb.json --split forget10
check "view: ranked by rank_by" has "$TMP/out" "ranked by tofu.privleak, closest to 0 is best"
check "view: headline columns only" grep -q "^rank  method  *lr  seeds  tofu.model_utility ↑  *tofu.privleak →0$" "$TMP/out"
expect_status "view as JSON" 0 "$LETHE" leaderboard --db a.db --config lb.json --split forget10 --format json
absl=$(q :memory: "SELECT group_concat(abs(json_extract(value, '\$.metrics.\"tofu.privleak\".mean')), ' ') FROM json_each(json_extract(CAST(readfile('$TMP/out') AS TEXT), '\$.tables[0].rows'))")
check "view: sorted by |privleak| ($absl)" sh -c "echo '$absl' | tr ' ' '\n' | sort -g -c"
check "view: two columns" test "$(q :memory: "SELECT json_array_length(CAST(readfile('$TMP/out') AS TEXT), '\$.tables[0].columns')")" = 2
cp lb.json suites.json
expect_status "./suites.json is read by default" 0 "$LETHE" leaderboard --db a.db --split forget10
check "default config: its view" has "$TMP/out" "ranked by tofu.privleak"
echo '{"lethe": 1, "suites": [], "bogus": 1}' >suites.json
expect_status "a broken ./suites.json: exit 2" 2 "$LETHE" leaderboard --db a.db
check "broken config named" has "$TMP/err" "suites.json"
rm -f suites.json

expect_status "unknown --suite: exit 2" 2 "$LETHE" leaderboard --db a.db --suite nope
check "unknown suite named with those present" has "$TMP/err" "lethe: error: no runs of suite 'nope' in 'a.db' (suites: 'tofu_mini')"
expect_status "unknown --split: exit 2" 2 "$LETHE" leaderboard --db a.db --split forget99
expect_status "bad --format: exit 2" 2 "$LETHE" leaderboard --db a.db --format xml
check "bad format named" has "$TMP/err" "--format: expected table, csv, md or json, got 'xml'"
expect_status "missing DB: exit 2" 2 "$LETHE" leaderboard --db nope.db
check "missing DB named" has "$TMP/err" "nope.db"
echo "this is not a database, only a text file of some length" >"$TMP/text.db"
expect_status "non-Lethe DB: exit 2" 2 "$LETHE" leaderboard --db text.db
expect_status "a missing --config: exit 2" 2 "$LETHE" leaderboard --db a.db --config none.json
check "missing config named" has "$TMP/err" "none.json"
"$MK" "$TMP/empty.db" --fail-at 1 >/dev/null 2>&1
check "an empty Lethe DB exists" test -s "$TMP/empty.db"
expect_status "empty DB: exit 0" 0 "$LETHE" leaderboard --db empty.db
check "empty DB: a clear message" has "$TMP/out" "no runs in 'empty.db'"
expect_status "empty DB as JSON: exit 0" 0 "$LETHE" leaderboard --db empty.db --format json
check "empty DB as JSON: no tables" test "$(j '$.tables')" = "[]"
done_testing
