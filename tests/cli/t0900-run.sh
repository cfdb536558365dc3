#!/bin/sh
# lethe run on a tiny generated TOFU suite (tests/run/tiny.json): results in the DB, the cache
# (a second run trains nothing), resume after a killed run, determinism, a corrupt cached
# checkpoint, and bad input.
. "$LETHE_TOP/tests/cli/lib.sh"

cfg="$LETHE_TOP/tests/run/tiny.json"
db="$TMP/a/r.db"
q() { sqlite3 "$1" "$2"; }

expect_status "run --grid tiny exits 0" 0 "$LETHE" run --grid tiny --config "$cfg" --db "$db"
check "says where the results went" has "$TMP/out" "results: $db"
check "the image suite is skipped with a note" has "$TMP/out" "the image suites arrive with issue 7"
check "four runs done" test "$(q "$db" "select count(*) from runs where status = 'done'")" -eq 4
check "no image run recorded" test "$(q "$db" "select count(*) from runs where suite = 'fmnist_tiny'")" -eq 0
check "every run has metrics" test "$(q "$db" "select count(distinct run_id) from metrics")" -eq 4
check "forget quality recorded" test "$(q "$db" "select count(*) from metrics where name = 'tofu.forget_quality'")" -eq 4
check "unlearning curves recorded" test "$(q "$db" "select count(*) from curves where name = 'unlearn.loss'")" -gt 0
check "both reference models recorded" test "$(q "$db" "select count(*) from models")" -eq 2
check "the checkpoints are in the cache beside the DB" test "$(ls "$TMP/a/cache/models" | wc -l)" -eq 2
check "two models trained" has "$TMP/out" "reference models: 2 trained"

expect_status "a second run exits 0" 0 "$LETHE" run --grid tiny --config "$cfg" --db "$db"
check "a second run skips the done runs" has "$TMP/out" "0 run, 4 already done"
check "a second run trains nothing" has "$TMP/out" "reference models: 0 trained"
check "no run added" test "$(q "$db" "select count(*) from runs")" -eq 4
expect_status "the leaderboard of the run" 0 "$LETHE" leaderboard --db "$db" --config "$cfg"
check "the lr column shows the multiple of the base lr" has "$TMP/out" "1x base"
check "the reference rows are set apart" has "$TMP/out" " ref  retrain"

# determinism: another DB and cache from the same seed give the same values
expect_status "a second DB from scratch exits 0" 0 "$LETHE" run --grid tiny --config "$cfg" --db "$TMP/b/r.db"
dump() { q "$1" "select r.method, m.variant, m.name, quote(m.value), quote(m.ci_low), quote(m.ci_high), m.n
                 from metrics m join runs r on r.id = m.run_id order by 1, 2, 3"; }
dump "$db" >"$TMP/m1"; dump "$TMP/b/r.db" >"$TMP/m2"
check "identical metric values from the same seed" cmp -s "$TMP/m1" "$TMP/m2"
check "metrics are not empty" test -s "$TMP/m1"

# the reference MIA: its model (a retain oracle, seed + 1) is trained once and cached
sed 's/"attacks": \["loss", "min_k"\]/"attacks": ["loss", "min_k", "reference"]/' "$cfg" >"$TMP/ref.json"
check "the copy lists the reference attack" grep -q '"reference"\]' "$TMP/ref.json"
expect_status "a run with the reference attack" 0 "$LETHE" run --grid tiny --config "$TMP/ref.json" \
    --db "$TMP/a/ref.db" --method original
check "it trains only the reference model" has "$TMP/out" "reference models: 1 trained, 2 loaded"
check "recorded with role reference and seed 1" \
    test "$(q "$TMP/a/ref.db" "select role || ' ' || seed from models where role = 'reference'")" = "reference 1"
check "the reference AUC is recorded" \
    test "$(q "$TMP/a/ref.db" "select count(*) from metrics where name = 'tofu.mia.reference.auc'")" -eq 1
check "its ROC curve too" \
    test "$(q "$TMP/a/ref.db" "select count(*) from curves where name like '%reference%'")" -gt 0

# a run killed after unlearning is redone next time, nothing else lost
expect_status "a killed run exits 137" 137 env LETHE_TEST_DIE_AFTER=unlearn \
    "$LETHE" run --grid tiny --config "$cfg" --db "$TMP/c/r.db"
check "the killed run is left running" test "$(q "$TMP/c/r.db" "select count(*) from runs where status = 'running'")" -eq 1
done_before=$(q "$TMP/c/r.db" "select group_concat(id) from runs where status = 'done'")
expect_status "the next run exits 0" 0 "$LETHE" run --grid tiny --config "$cfg" --db "$TMP/c/r.db"
check "the killed run is redone" test "$(q "$TMP/c/r.db" "select count(*) from runs where status = 'done'")" -eq 4
check "the runs done before are kept" test "$(q "$TMP/c/r.db" "select group_concat(id) from runs where status = 'done' and id in ($done_before)")" = "$done_before"
check "the resumed run trains nothing" has "$TMP/out" "reference models: 0 trained"
dump "$TMP/c/r.db" >"$TMP/m3"
check "the resumed grid gives the same values" cmp -s "$TMP/m1" "$TMP/m3"

# a killed training leaves no checkpoint behind; a corrupt cached checkpoint is retrained
expect_status "killed after training the oracle" 137 env LETHE_TEST_DIE_AFTER=train_retrain \
    "$LETHE" run --grid tiny --config "$cfg" --db "$TMP/d/r.db"
check "the oracle's checkpoint is kept" test "$(ls "$TMP/d/cache/models" | grep -c retrain)" -eq 1
expect_status "the next run exits 0" 0 "$LETHE" run --grid tiny --config "$cfg" --db "$TMP/d/r.db"
check "it loads the oracle and trains the original" has "$TMP/out" "reference models: 1 trained, 1 loaded"
orig=$(ls "$TMP/a/cache/models"/original-*)
head -c 5000 "$orig" >"$TMP/trunc" && cp "$TMP/trunc" "$orig"
expect_status "a run with a truncated checkpoint exits 0" 0 "$LETHE" run --grid tiny --config "$cfg" \
    --db "$TMP/a/r2.db"
check "the truncated checkpoint is reported" has "$TMP/err" "is unusable"
check "and retrained" has "$TMP/out" "reference models: 1 trained, 1 loaded"
dump "$TMP/a/r2.db" >"$TMP/m4"
check "the retrained model gives the same values" cmp -s "$TMP/m1" "$TMP/m4"
# flip one byte of the tensors (the file stays well-formed)
size=$(wc -c <"$orig")
printf '\177' | dd of="$orig" bs=1 seek=$((size - 100)) conv=notrunc 2>/dev/null
expect_status "a run with a corrupt checkpoint exits 0" 0 "$LETHE" run --grid tiny --config "$cfg" \
    --db "$TMP/a/r3.db"
check "the corrupt checkpoint is reported" has "$TMP/err" "checksum"

# selection, shards, parallel workers
expect_status "--method selects" 0 "$LETHE" run --grid tiny --config "$cfg" --db "$TMP/e/r.db" --method 'grad*'
check "one run" test "$(q "$TMP/e/r.db" "select group_concat(method) from runs")" = "grad_diff"
expect_status "--shard 2/2" 0 "$LETHE" run --grid tiny --config "$cfg" --db "$TMP/f/r.db" --shard 2/2
check "shard 2/2 runs every other job" test "$(q "$TMP/f/r.db" "select group_concat(method) from (select method from runs order by method)")" = "npo,retrain"
expect_status "--jobs 2 exits 0" 0 "$LETHE" run --grid tiny --config "$cfg" --db "$TMP/g/r.db" --jobs 2
dump "$TMP/g/r.db" >"$TMP/m5"
check "--jobs 2 gives the same values" cmp -s "$TMP/m1" "$TMP/m5"

# bad input
expect_status "a missing data folder is an input error" 2 "$LETHE" run --grid bad --config "$cfg" --db "$TMP/h/r.db"
check "the error names the folder" has "$TMP/err" "no-such-folder"
check "nothing recorded for it" test "$(q "$TMP/h/r.db" "select count(*) from runs")" -eq 0
sed 's/"grad_diff", "npo"\]/"grad_diff", "no_such_method"]/' "$cfg" >"$TMP/badm.json"
expect_status "an unknown method in a grid is an input error" 2 "$LETHE" run --grid tiny --config "$TMP/badm.json" --db "$TMP/h/r.db"
check "the error names the method" has "$TMP/err" "no_such_method"
expect_status "an unknown grid is an input error" 2 "$LETHE" run --grid nope --config "$cfg" --db "$TMP/h/r.db"
expect_status "a bad --shard is a usage error" 2 "$LETHE" run --grid tiny --config "$cfg" --shard 3/2
expect_status "a bad --jobs is a usage error" 2 "$LETHE" run --grid tiny --config "$cfg" --jobs 0
expect_status "no grid and no suite is a usage error" 2 "$LETHE" run --config "$cfg" --db "$TMP/h/r.db"
# --seed with a grid runs the grid's jobs with that seed instead of the grid's own
expect_status "run --grid tiny --seed 5 exits 0" 0 "$LETHE" run --grid tiny --config "$cfg" \
    --db "$TMP/s/r.db" --method original --seed 5
check "one run, with seed 5" test "$(q "$TMP/s/r.db" "select count(*) || ':' || min(seed) from runs")" = "1:5"
# an out-of-tree method: --plugin loads it before suites.json is read
plug="$(dirname "$LETHE")/plugins/example_method.so"
sed 's/{"name": "npo", "method": "npo", "epochs": 3}/{"name": "npo", "method": "npo", "epochs": 3}, {"name": "pga", "method": "plugin_ga"}/;
     s/"methods": \["original", "retrain", "grad_diff", "npo"\]/"methods": ["original", "retrain", "pga"]/' \
    "$cfg" >"$TMP/plug.json"
expect_status "a grid naming a plug-in method without --plugin is bad input" 2 "$LETHE" run \
    --grid tiny --config "$TMP/plug.json" --db "$TMP/p/r.db" --suite tofu_tiny
check "names the unknown method" has "$TMP/err" "plugin_ga"
expect_status "run --plugin exits 0" 0 "$LETHE" run --grid tiny --config "$TMP/plug.json" \
    --db "$TMP/p/r.db" --suite tofu_tiny --plugin "$plug"
check "the plug-in's run is done" test "$(q "$TMP/p/r.db" "select status from runs where method = 'pga'")" = done
check "it has metrics" test "$(q "$TMP/p/r.db" "select count(*) from metrics m join runs r on r.id = m.run_id where r.method = 'pga'")" -gt 10
expect_status "a file that is not a plug-in is refused" 2 "$LETHE" run --grid tiny \
    --config "$TMP/plug.json" --db "$TMP/p/r.db" --plugin "$TMP/plug.json"
check "says not a shared object" has "$TMP/err" "not a shared object"
done_testing
