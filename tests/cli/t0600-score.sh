#!/bin/sh
# lethe score on the golden tiny GPT-2 (tests/golden/gpt_golden.py computed its log-probabilities
# with an independent PyTorch implementation): values, JSON form, and bad input.
. "$LETHE_TOP/tests/cli/lib.sh"

mkdir -p "$TMP/m"
cp "$LETHE_TOP/tests/golden/gpt_golden.safetensors" "$TMP/m/model.safetensors"
cat >"$TMP/m/config.json" <<'JSON'
{"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 16, "n_positions": 32, "vocab_size": 64,
 "layer_norm_epsilon": 1e-05}
JSON
# sequence 2 of the golden file and its expected log-probabilities
seq=$(awk '$1 == "seq" && $2 == 2 { for (i = 4; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : ""); }' \
      "$LETHE_TOP/tests/golden/gpt_golden.txt")
awk '$1 == "lp" && $2 == 2 { for (i = 4; i <= NF; i++) print $i }' "$LETHE_TOP/tests/golden/gpt_golden.txt" \
    >"$TMP/want"

expect_status "score --tokens --json exits 0" 0 "$LETHE" score --model "$TMP/m/model.safetensors" \
    --tokens "$seq" --json
check "json names the tokens as given" has "$TMP/out" "{\"tokens\": [$(echo "$seq" | sed 's/ /, /g')], \"logprobs\": ["
sed 's/.*"logprobs": \[//; s/\]}//; s/, /\n/g' "$TMP/out" >"$TMP/got"
check "one log-probability per token after the first" test "$(wc -l <"$TMP/got")" -eq "$(wc -l <"$TMP/want")"
check "log-probabilities agree with PyTorch within 1e-4" \
    awk 'NR == FNR { w[FNR] = $1; next } { d = $1 - w[FNR]; if (d < 0) d = -d; if (d > 1e-4) bad = 1 }
         END { exit bad }' "$TMP/want" "$TMP/got"

expect_status "score table exits 0" 0 "$LETHE" score --model "$TMP/m/model.safetensors" --tokens "$seq"
check "table sums the log-probabilities" has "$TMP/out" "over 6 tokens"

expect_status "missing --model is a usage error" 2 "$LETHE" score --tokens "1 2"
expect_status "both --text and --tokens" 2 "$LETHE" score --model "$TMP/m/model.safetensors" --text a --tokens 1
expect_status "--text without a vocabulary for a non-GPT-2 model" 2 "$LETHE" score \
    --model "$TMP/m/model.safetensors" --text "hello"
check "says --vocab is needed" has "$TMP/err" "--text needs --vocab"
expect_status "token id out of range" 2 "$LETHE" score --model "$TMP/m/model.safetensors" --tokens "63 64"
check "names the id" has "$TMP/err" "token id 64 is outside the model's vocabulary (0..63)"
expect_status "not a token id" 2 "$LETHE" score --model "$TMP/m/model.safetensors" --tokens "63 x"
expect_status "too long for the context" 2 "$LETHE" score --model "$TMP/m/model.safetensors" \
    --tokens "$(seq 1 33 | tr '\n' ' ')"
check "names the context" has "$TMP/err" "do not fit the model's context of 32"
expect_status "missing checkpoint" 2 "$LETHE" score --model "$TMP/none.safetensors" --tokens "1 2"
head -c 1000 "$TMP/m/model.safetensors" >"$TMP/m/cut.safetensors"
expect_status "truncated checkpoint" 2 "$LETHE" score --model "$TMP/m/cut.safetensors" --tokens "1 2"
check "names the file" has "$TMP/err" "cut.safetensors"
done_testing
