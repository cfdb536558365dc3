#!/bin/sh
# lethe stats on plain files: the worked examples of METRICS.md 1.1-1.6 and bad input.
. "$LETHE_TOP/tests/cli/lib.sh"

printf '1\n2\n3\n4\n' >"$TMP/a"
printf '5\n6\n7\n8\n' >"$TMP/b"
expect_status "ks exits 0" 0 "$LETHE" stats ks "$TMP/a" "$TMP/b" --json
# METRICS.md 1.4: K = 16, D = 1, p = 2/C(8,4) = 1/35
check "ks: D = 1, exact" has "$TMP/out" '"statistic": 1, "pvalue": 0.02857142857142'
check "ks: method exact" has "$TMP/out" '"method": "exact"'
printf '0.1\n0.2\n0.3\n' >"$TMP/c"
printf '0.25\n0.4\n0.5\n0.6\n0.7\n' >"$TMP/d"
expect_status "ks second example" 0 "$LETHE" stats ks "$TMP/c" "$TMP/d" --json
check "ks: D = 0.8, p = 1/7" has "$TMP/out" '"statistic": 0.80000000000000004, "pvalue": 0.1428571428571'
expect_status "ks human-readable" 0 "$LETHE" stats ks "$TMP/a" "$TMP/b"
check "ks: readable line" has "$TMP/out" "D = 1, p = 0.0285714"

# METRICS.md 1.5: members {0.9, 0.4}, non-members {0.4, 0.2} -> 0.875
printf '0.9\n0.4\n' >"$TMP/pos"
printf '0.4\n0.2\n' >"$TMP/neg"
expect_status "auc exits 0" 0 "$LETHE" stats auc --pos "$TMP/pos" --neg "$TMP/neg" --json
check "auc 0.875 with a tie as half" has "$TMP/out" '"auc": 0.875,'
# METRICS.md 1.6: TPR@1% = 0.4 (n_neg = 10: TPR at zero false positives), AUC 0.87
printf '0.95\n0.92\n0.80\n0.50\n0.30\n' >"$TMP/pos2"
printf '0.05\n0.10\n0.15\n0.20\n0.25\n0.30\n0.35\n0.40\n0.45\n0.90\n' >"$TMP/neg2"
expect_status "auc with ROC points" 0 "$LETHE" stats auc --pos "$TMP/pos2" --neg "$TMP/neg2" --roc "$TMP/roc.tsv" --json
check "auc 0.87" has "$TMP/out" '"auc": 0.87'
check "tpr at 1% fpr 0.4" has "$TMP/out" '"tpr_at_fpr_0.01": 0.40000000000000002'
check "roc file: 15 distinct thresholds + the start" test "$(grep -vc '^#' "$TMP/roc.tsv")" -eq 15
check "roc ends at (1,1)" sh -c "tail -n 1 '$TMP/roc.tsv' | awk '{ exit !(\$2 == 1 && \$3 == 1) }'"

# METRICS.md 1.2: stemmed recall 0.6; unstemmed F1 0.222222
echo "The cats were running quickly." >"$TMP/ref"
echo "A cat runs quickly" >"$TMP/hyp"
expect_status "rouge recall" 0 "$LETHE" stats rouge --ref "$TMP/ref" --hyp "$TMP/hyp" --json
check "stemmed recall 0.6" has "$TMP/out" '"mean": 0.59999999999999998'
expect_status "rouge f1" 0 "$LETHE" stats rouge --ref "$TMP/ref" --hyp "$TMP/hyp" --variant f1 --json
check "unstemmed f1 0.222222" has "$TMP/out" '"mean": 0.22222222222222'

# METRICS.md 1.1: H(0.5, 0.25, 1.0) = 3/7
printf '0.5\n0.25\n1.0\n' >"$TMP/h"
expect_status "hmean" 0 "$LETHE" stats hmean "$TMP/h" --json
check "hmean 3/7" has "$TMP/out" '"hmean": 0.42857142857142'

# bootstrap: same seed, same interval; the interval holds the estimate
awk 'BEGIN { for (i = 1; i <= 200; i++) print (i * 37 % 101) / 100 }' >"$TMP/v"
expect_status "bootstrap" 0 "$LETHE" stats bootstrap "$TMP/v" --json
cp "$TMP/out" "$TMP/boot1"
"$LETHE" stats bootstrap "$TMP/v" --json >"$TMP/boot2"
check "bootstrap is reproducible" cmp -s "$TMP/boot1" "$TMP/boot2"
check "bootstrap CI holds the estimate" sh -c "sed 's/[{},:]/ /g' '$TMP/boot1' | awk '{ exit !(\$4 <= \$2 && \$2 <= \$6) }'"
"$LETHE" stats bootstrap "$TMP/v" --json --seed 5 >"$TMP/boot3"
check "another seed, another interval" sh -c "! cmp -s '$TMP/boot1' '$TMP/boot3'"

# bad input: file and line named, exit 2
printf '1\nx\n3\n' >"$TMP/bad"
expect_status "a non-number" 2 "$LETHE" stats ks "$TMP/bad" "$TMP/b"
check "names the file and line" has "$TMP/err" "line 2: expected a finite number, got 'x'"
printf '1\nnan\n' >"$TMP/nan"
expect_status "a NaN" 2 "$LETHE" stats hmean "$TMP/nan"
: >"$TMP/empty"
expect_status "an empty file" 2 "$LETHE" stats auc --pos "$TMP/empty" --neg "$TMP/neg"
check "says empty" has "$TMP/err" "is empty"
printf 'a\nb\n' >"$TMP/ref2"
expect_status "line counts differ" 2 "$LETHE" stats rouge --ref "$TMP/ref2" --hyp "$TMP/hyp"
check "names both counts" has "$TMP/err" "has 2 lines"
printf '0.5\n-1\n' >"$TMP/negv"
expect_status "negative in a harmonic mean" 2 "$LETHE" stats hmean "$TMP/negv"
expect_status "missing file" 2 "$LETHE" stats ks "$TMP/none" "$TMP/b"
expect_status "unknown statistic" 2 "$LETHE" stats frob
expect_status "auc without --neg" 2 "$LETHE" stats auc --pos "$TMP/pos"
done_testing
