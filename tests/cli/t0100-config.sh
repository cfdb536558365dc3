#!/bin/sh
# suites.json: every file of tests/config/invalid/ fails with exactly its .err line and exit 2;
# every file of tests/config/valid/ lists exactly its .out; job hashes are the sha256 of their
# resolved JSON (checked with sha256sum); the repository's suites.json parses.
#
# A .out file is what `describe FILE` below prints. When a change is meant to alter hashes (a new
# default, a new field in the resolved JSON), regenerate the .out files with that function and
# review the diff: every stored run's hash changes with it.
. "$LETHE_TOP/tests/cli/lib.sh"

describe() { # FILE: suites, methods, grids, and the jobs of every grid
    echo "# suites"; "$LETHE" list suites --config "$1" || return 1
    echo "# methods"; "$LETHE" list methods --config "$1" || return 1
    echo "# grids"; "$LETHE" list grids --config "$1" || return 1
    for g in $("$LETHE" list grids --config "$1" | awk '{print $1}'); do
        echo "# jobs $g"; "$LETHE" list jobs "$g" --config "$1" || return 1
    done
}

n_invalid=0
for f in tests/config/invalid/*.json; do
    n_invalid=$((n_invalid + 1))
    name=${f%.json}
    "$LETHE" list suites --config "$f" >"$TMP/out" 2>"$TMP/err"; st=$?
    if [ "$st" -ne 2 ]; then
        not_ok "$f exits 2 (got $st)"; continue
    fi
    if [ -s "$TMP/out" ]; then
        not_ok "$f prints nothing on stdout"; continue
    fi
    if cmp -s "$TMP/err" "$name.err"; then ok "invalid/$(basename "$f") gives its .err"; else
        not_ok "$f gives its .err"; diff "$name.err" "$TMP/err" | sed 's/^/# /'; fi
done
check "at least 25 invalid files" test "$n_invalid" -ge 25

for f in tests/config/valid/*.json; do
    name=${f%.json}
    if describe "$f" >"$TMP/desc" 2>"$TMP/err" && cmp -s "$TMP/desc" "$name.out"; then
        ok "$f lists its .out"
    else
        not_ok "$f lists its .out"; sed 's/^/# /' "$TMP/err"; diff "$name.out" "$TMP/desc" | head -20 | sed 's/^/# /'
    fi
    # every job's hash is the sha256 of its resolved JSON, computed here by sha256sum
    bad=0 jobs=0
    for g in $("$LETHE" list grids --config "$f" | awk '{print $1}'); do
        "$LETHE" list jobs "$g" --resolved --config "$f" >"$TMP/jobs" || bad=1
        while IFS='	' read -r hash suite split method seed json; do
            jobs=$((jobs + 1))
            sum=$(printf '%s' "$json" | sha256sum | cut -c1-64)
            [ "$sum" = "$hash" ] || { bad=1; echo "# $f $g: $suite $split $method $seed: $hash != $sum"; }
        done <"$TMP/jobs"
    done
    if [ "$bad" -eq 0 ]; then ok "$f: $jobs job hashes match sha256sum"; else not_ok "$f: job hashes"; fi
done

# the same configuration written differently has the same jobs and hashes
check "key order, whitespace and written defaults do not change hashes" \
    cmp -s tests/config/valid/02-small.out tests/config/valid/03-small-reordered.out

# a changed learning rate changes the hash of exactly the affected jobs
sed 's/"lr": 0.001, "batch": 8}/"lr": 0.002, "batch": 8}/' tests/config/valid/02-small.json >"$TMP/lr.json"
"$LETHE" list jobs small --config tests/config/valid/02-small.json >"$TMP/a"
"$LETHE" list jobs small --config "$TMP/lr.json" >"$TMP/b"
changed=$(paste "$TMP/a" "$TMP/b" | awk -F'\t' '$1 != $6 {print $2}' | sort | uniq -c | awk '{print $1, $2}')
check "a changed lr changes the hashes of that suite's jobs only" test "$changed" = "5 tofu_tiny"

# the repository's suites.json: every grid SUITES.md names, each with jobs
expect_status "the repository's suites.json parses" 0 "$LETHE" list grids
for g in quick tofu muse wmdp semeval image multimodal nightly paper; do
    check "grid $g is defined" grep -q "^$g  *[1-9][0-9]* jobs" "$TMP/out"
done

# the command itself
expect_status "a missing file exits 2" 2 "$LETHE" list suites --config "$TMP/nope.json"
check "a missing file is named" has "$TMP/err" "lethe: error: cannot open '$TMP/nope.json'"
expect_status "an unknown grid exits 2" 2 "$LETHE" list jobs nope --config tests/config/valid/02-small.json
check "an unknown grid is named" has "$TMP/err" "no grid 'nope' (it has small)"
expect_status "list without a subject exits 2" 2 "$LETHE" list
expect_status "an extra argument exits 2" 2 "$LETHE" list suites extra
check "the extra argument is named" has "$TMP/err" "unexpected argument 'extra'"
expect_status "list jobs without a grid exits 2" 2 "$LETHE" list jobs
expect_status "list of an unknown subject exits 2" 2 "$LETHE" list frobs
check "the unknown subject is named" has "$TMP/err" "cannot list 'frobs'"
expect_status "list metrics" 0 "$LETHE" list metrics
check "list metrics shows directions" has "$TMP/out" "tofu.forget_quality"
check "list metrics shows ranges" has "$TMP/out" "[0,1]"
expect_status "list attacks" 0 "$LETHE" list attacks
check "list attacks shows min_k" grep -q "^min_k  " "$TMP/out"
expect_status "list methods --registry" 0 "$LETHE" list methods --registry
check "the method registry shows npo" grep -q "^npo  " "$TMP/out"
expect_status "list params npo" 0 "$LETHE" list params npo
check "npo's beta and its default" grep -q "^beta .*default 0.1" "$TMP/out"
expect_status "list params of an unknown name exits 2" 2 "$LETHE" list params frob
expect_status "list params of a kind" 0 "$LETHE" list params tofu
check "tofu's generator takes a seed" grep -q "^seed .*required" "$TMP/out"
expect_status "list kinds" 0 "$LETHE" list kinds
check "kinds list their splits" has "$TMP/out" "forget01 forget05 forget10"
expect_status "list commands" 0 "$LETHE" list commands
check "commands lists list" grep -q "^list  " "$TMP/out"
done_testing
