#!/bin/sh
# lethe train, unlearn, eval and attack on checkpoints of the tiny TOFU suite (tests/run/tiny.json):
# the same models and numbers as lethe run, and bad input.
. "$LETHE_TOP/tests/cli/lib.sh"

cfg="$LETHE_TOP/tests/run/tiny.json"
c="--config $cfg --cache $TMP/cache"
q() { sqlite3 "$1" "$2"; }

expect_status "train the original" 0 "$LETHE" train --suite tofu_tiny --role original --out "$TMP/o.safetensors" $c
check "says it trained" has "$TMP/out" "(trained)"
expect_status "train it again" 0 "$LETHE" train --suite tofu_tiny --role original --out "$TMP/o2.safetensors" $c
check "the second comes from the cache" has "$TMP/out" "(from the cache)"
check "the same file" cmp -s "$TMP/o.safetensors" "$TMP/o2.safetensors"
check "metadata names the tokenizer" grep -q "lethe.tokenizer_sha256" "$TMP/o.safetensors"

expect_status "unlearn with npo" 0 "$LETHE" unlearn --suite tofu_tiny --method npo --model "$TMP/o.safetensors" \
    --out "$TMP/u.safetensors" $c
check "the unlearned checkpoint differs" test -n "$(cmp "$TMP/o.safetensors" "$TMP/u.safetensors" 2>&1)"

expect_status "eval the unlearned model" 0 "$LETHE" eval --suite tofu_tiny --model "$TMP/u.safetensors" $c \
    --db "$TMP/e.db"
check "prints forget quality" grep -q "^tofu.forget_quality	base	" "$TMP/out"
check "records a run" test "$(q "$TMP/e.db" "select method || ' ' || status from runs")" = "eval done"
# lethe run on the same cache: its npo run has the numbers lethe eval printed
expect_status "lethe run on the same cache" 0 "$LETHE" run --grid tiny $c --db "$TMP/r.db"
check "lethe run trains nothing (train and eval made both models)" has "$TMP/out" "0 trained, 2 loaded"
got=$(q "$TMP/r.db" "select printf('%.6g', value) from metrics m join runs r on r.id = m.run_id
                      where r.method = 'npo' and m.name = 'tofu.forget.prob'")
got2=$(q "$TMP/e.db" "select printf('%.6g', value) from metrics where name = 'tofu.forget.prob'")
check "eval of the unlearned checkpoint = the npo run" test -n "$got" -a "$got" = "$got2"

expect_status "attack min_k" 0 "$LETHE" attack --suite tofu_tiny --attack min_k --model "$TMP/u.safetensors" $c
check "prints the min_k AUC" grep -q "^tofu.mia.min_k.auc	base	" "$TMP/out"
check "and nothing else" test "$(grep -vc '^tofu.mia.min_k\.' "$TMP/out")" -eq 0

expect_status "an unknown attack is a usage error" 2 "$LETHE" attack --suite tofu_tiny --attack nope --model "$TMP/u.safetensors" $c
expect_status "an unknown method is an input error" 2 "$LETHE" unlearn --suite tofu_tiny --method nope \
    --model "$TMP/o.safetensors" --out "$TMP/x.safetensors" $c
check "the error names it" has "$TMP/err" "'nope'"
check "nothing written" test ! -e "$TMP/x.safetensors"
printf 'not a checkpoint' >"$TMP/bad.safetensors"
expect_status "a bad checkpoint is an input error" 2 "$LETHE" eval --suite tofu_tiny --model "$TMP/bad.safetensors" $c
check "the error names the file" has "$TMP/err" "bad.safetensors"
# the reference MIA (ATTACKS.md 1): its model is a retain oracle trained with seed + 1
expect_status "train the reference model" 0 "$LETHE" train --suite tofu_tiny --role reference --out "$TMP/ref.safetensors" $c
check "it is trained" has "$TMP/out" "(trained)"
expect_status "train the retain oracle" 0 "$LETHE" train --suite tofu_tiny --role retrain --out "$TMP/ret.safetensors" $c
check "the reference model is not the oracle" test -n "$(cmp "$TMP/ref.safetensors" "$TMP/ret.safetensors" 2>&1)"
check "its metadata says seed 1" grep -q '"lethe.seed":"1"' "$TMP/ref.safetensors"
check "and role reference" grep -q '"lethe.role":"reference"' "$TMP/ref.safetensors"
expect_status "attack reference (the suite's reference model)" 0 "$LETHE" attack --suite tofu_tiny --attack reference \
    --model "$TMP/u.safetensors" $c
check "prints the reference AUC" grep -q "^tofu.mia.reference.auc	base	" "$TMP/out"
check "the reference model came from the cache" test "$(ls "$TMP/cache/models" | grep -c '^reference-')" -eq 1
cp "$TMP/out" "$TMP/ref_default"
expect_status "attack reference --ref FILE" 0 "$LETHE" attack --suite tofu_tiny --attack reference \
    --model "$TMP/u.safetensors" --ref "$TMP/ref.safetensors" $c
check "the same numbers with that model given as a file" cmp -s "$TMP/out" "$TMP/ref_default"
# a model scored against itself gives m = 0 for every item: AUC 1/2 exactly
expect_status "attack reference against the model itself" 0 "$LETHE" attack --suite tofu_tiny --attack reference \
    --model "$TMP/u.safetensors" --ref "$TMP/u.safetensors" $c
check "AUC 0.5" test "$(awk -F'\t' '$1 == "tofu.mia.reference.auc" {print $3}' "$TMP/out")" = 0.5
expect_status "a bad --ref is an input error" 2 "$LETHE" attack --suite tofu_tiny --attack reference \
    --model "$TMP/u.safetensors" --ref "$TMP/bad.safetensors" $c
check "naming --ref and the file" has "$TMP/err" "--ref"
expect_status "an unknown suite is an input error" 2 "$LETHE" eval --suite nope --model "$TMP/u.safetensors" $c
expect_status "a bad role is a usage error" 2 "$LETHE" train --suite tofu_tiny --role nope --out "$TMP/y" $c
expect_status "a missing --model is a usage error" 2 "$LETHE" eval --suite tofu_tiny $c
done_testing
