#!/bin/sh
# lethe data: gen tofu (sizes, determinism, atomic output), show, check on generated and real
# files, and bad input (exit 2 with the file and line).
. "$LETHE_TOP/tests/cli/lib.sh"

expect_status "gen tofu exits 0" 0 "$LETHE" data gen tofu --authors 20 --seed 3 --out "$TMP/g"
check "gen says what it wrote" has "$TMP/out" "20 authors, 400 QA; forget01/05/10: 20/20/40 QA"
check "full.json has 400 lines" test "$(wc -l <"$TMP/g/full.json")" -eq 400
check "forget10 is the last 40 lines of full" sh -c "tail -n 40 '$TMP/g/full.json' | cmp -s - '$TMP/g/forget10.json'"
check "retain90 is the first 360 lines of full" sh -c "head -n 360 '$TMP/g/full.json' | cmp -s - '$TMP/g/retain90.json'"
check "holdout files are JSON arrays" sh -c "head -c 1 '$TMP/g/extra_holdout/holdout10.json' | grep -q '\['"
check "no temporary folder left" test "$(ls "$TMP" | grep -c tmp)" -eq 0
expect_status "same seed again" 0 "$LETHE" data gen tofu --authors 20 --seed 3 --out "$TMP/g2"
check "same seed, same bytes" sh -c "for f in full forget10_perturbed world_facts_perturbed extra_holdout/holdout10; do cmp -s '$TMP/g/'\$f.json '$TMP/g2/'\$f.json || exit 1; done"
expect_status "another seed" 0 "$LETHE" data gen tofu --authors 20 --seed 4 --out "$TMP/g3"
check "another seed, other data" sh -c "! cmp -s '$TMP/g/full.json' '$TMP/g3/full.json'"
expect_status "a folder that is not empty is refused" 2 "$LETHE" data gen tofu --authors 20 --out "$TMP/g"
check "refusal names the folder" has "$TMP/err" "lethe: error: '$TMP/g' already exists and is not empty"

expect_status "check generated" 0 "$LETHE" data check tofu "$TMP/g"
check "check lists forget10" has "$TMP/out" "forget10: ok: full 400, retain90 360, forget10 40"
expect_status "show generated" 0 "$LETHE" data show "$TMP/g" --samples 1
check "show counts full" has "$TMP/out" "full.json                           400 items"
check "show counts a holdout" has "$TMP/out" "extra_holdout/holdout10.json         40 items"
check "show prints a sample" has "$TMP/out" "perturbed 5: "

real="${LETHE_DATA:-$LETHE_TOP/../shared/data}/tofu"
if [ -f "$real/full.json" ]; then
    expect_status "check the real files" 0 "$LETHE" data check tofu "$real"
    check "real forget05 counts" has "$TMP/out" "forget05: ok: full 4000, retain95 3800, forget05 200, forget05_perturbed 200, retain_perturbed 400, real_authors 100, world_facts 117, holdout05 200"
    expect_status "show the real files" 0 "$LETHE" data show "$real"
    check "real full has 4000" has "$TMP/out" "full.json                          4000 items"
else
    echo "# skip: no real TOFU files in '$real'"
fi

cp -r "$TMP/g" "$TMP/bad"
chmod -R u+w "$TMP/bad"
sed -i '17s/"perturbed_answer":\[[^]]*\],//' "$TMP/bad/forget10_perturbed.json"
expect_status "a missing field exits 2" 2 "$LETHE" data check tofu "$TMP/bad" --split forget10
check "the message names file and line" has "$TMP/err" "lethe: error: '$TMP/bad/forget10_perturbed.json': line 17: missing field 'perturbed_answer'"
expect_status "the other splits still load" 0 "$LETHE" data check tofu "$TMP/bad" --split forget05
sed -i '2s/.*/{"question": broken/' "$TMP/bad/full.json"
expect_status "a broken line exits 2" 2 "$LETHE" data check tofu "$TMP/bad"
check "broken line named" has "$TMP/err" "'$TMP/bad/full.json': line 2: invalid JSON"
expect_status "show stops at a broken file" 2 "$LETHE" data show "$TMP/bad"

expect_status "unknown kind" 2 "$LETHE" data gen soup --out "$TMP/x"
check "unknown kind named" has "$TMP/err" "unknown suite kind 'soup'"
expect_status "kind without a generator yet" 2 "$LETHE" data gen muse --out "$TMP/x"
expect_status "gen without --out" 2 "$LETHE" data gen tofu
expect_status "too few authors" 2 "$LETHE" data gen tofu --authors 1 --out "$TMP/x"
check "authors range named" has "$TMP/err" "--authors must be between 2 and 500, not 1"
check "nothing written for bad input" test ! -e "$TMP/x"
expect_status "bad split" 2 "$LETHE" data check tofu "$TMP/g" --split forget20
expect_status "unknown subcommand" 2 "$LETHE" data frobnicate
expect_status "missing folder" 2 "$LETHE" data check tofu "$TMP/nowhere"
check "missing file named" has "$TMP/err" "cannot open '$TMP/nowhere/full.json': no such file"
expect_status "data --help" 0 "$LETHE" data --help
check "help shows gen" has "$TMP/out" "lethe data gen tofu"
done_testing
