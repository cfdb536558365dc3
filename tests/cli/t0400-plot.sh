#!/bin/sh
# lethe plot: scatter, bars and curves in PNG/SVG/PDF from a database written by tool_mkdb, with
# real gnuplot; the scripts re-run standalone; bad input and a missing or failing gnuplot.
. "$LETHE_TOP/tests/cli/lib.sh"

DB="$TMP/r.db"
FIG="$TMP/fig"
"$LETHE_TOOLS/tool_mkdb" "$DB" --seeds 2 >/dev/null || { not_ok "tool_mkdb wrote a database"; done_testing; }

# sig FILE: the first bytes of FILE in hex
sig() { head -c "${2:-8}" "$1" | od -An -tx1 | tr -d ' \n'; }
# plausible FILE: between 2 KB and 5 MB
plausible() { s=$(wc -c <"$1"); [ "$s" -gt 2048 ] && [ "$s" -lt 5242880 ] || { echo "# $1: $s bytes"; return 1; }; }
is_png() { [ "$(sig "$1")" = "89504e470d0a1a0a" ] && plausible "$1"; }
is_pdf() { [ "$(sig "$1" 5)" = "255044462d" ] && plausible "$1"; }
is_svg() { sed -e '1{/^<?xml/d;}' "$1" | grep -v '^[[:space:]]*$' | head -1 | grep -q '^<svg' && plausible "$1"; }

# the TOFU figure
expect_status "scatter (TOFU figure) exits 0" 0 "$LETHE" plot scatter --db "$DB" --suite tofu_mini \
    --split forget10 --x tofu.model_utility --y tofu.forget_quality --logy --out "$FIG"
check "scatter prints the image path" has "$TMP/out" "wrote $FIG/tofu_mini_forget10_scatter.png"
check "scatter image is a PNG" is_png "$FIG/tofu_mini_forget10_scatter.png"
check "scatter script beside it" has "$FIG/tofu_mini_forget10_scatter.gp" "set logscale y"
check "scatter data beside it" has "$FIG/tofu_mini_forget10_scatter.dat" "  # 'retrain'"
check "reference points marked" has "$FIG/tofu_mini_forget10_scatter.gp" "title 'retrain (oracle)'"

# the data file holds the mean over seeds of what the database holds
want=$(sqlite3 "$DB" "SELECT printf('%.6f', avg(m.value)) FROM runs r JOIN metrics m ON m.run_id = r.id
    WHERE r.suite = 'tofu_mini' AND r.split = 'forget10' AND r.method = 'npo_lr1e-5'
    AND m.variant = 'base' AND m.name = 'tofu.model_utility'")
got=$(awk -v l="'npo_lr1e-5'" '$1 !~ /^#/ && $NF == l { printf "%.6f", $1 }' \
    "$FIG/tofu_mini_forget10_scatter.dat")
if [ -n "$want" ] && [ "$want" = "$got" ]; then ok "scatter mean matches sqlite's avg ($want)"; else
    not_ok "scatter mean matches sqlite's avg (want '$want', got '$got')"; fi

# every format of every figure kind
for f in png svg pdf; do
    expect_status "bars --format $f exits 0" 0 "$LETHE" plot bars --db "$DB" --suite tofu_mini \
        --split forget10 --metric tofu.forget.rouge_l_recall --variants base,q8,q4_g64 \
        --format "$f" --out "$FIG" --name qrec
    check "bars $f image" "is_$f" "$FIG/qrec.$f"
    expect_status "curves --format $f exits 0" 0 "$LETHE" plot curves --db "$DB" \
        --curve unlearn.forget_loss --suite tofu_mini --split forget05 --format "$f" --out "$FIG"
    check "curves $f image" "is_$f" "$FIG/tofu_mini_forget05_unlearn.forget_loss_curves.$f"
    expect_status "scatter --format $f exits 0" 0 "$LETHE" plot scatter --db "$DB" --split forget05 \
        --x tofu.model_utility --y tofu.forget_quality --logy --errorbars --format "$f" --out "$FIG"
    check "scatter $f image" "is_$f" "$FIG/tofu_mini_forget05_scatter.$f"
done
check "bars keep the variant order given" has "$FIG/qrec.gp" "title 'q4_g64'"

# one figure per split when no split is given
expect_status "bars over every split" 0 "$LETHE" plot bars --db "$DB" --metric tofu.model_utility \
    --out "$FIG/all" --name mu
check "one image per split (forget05)" has "$TMP/out" "wrote $FIG/all/mu_forget05.png"
check "one image per split (forget10)" has "$TMP/out" "wrote $FIG/all/mu_forget10.png"

# the script redraws the image by itself, from its folder
rm -f "$FIG/qrec.pdf"
check "script re-runs standalone" sh -c "cd '$FIG' && gnuplot qrec.gp 2>/dev/null"
check "standalone image is a PDF" is_pdf "$FIG/qrec.pdf"

# bad input: exit 2, a clear message, nothing drawn
expect_status "unknown metric exits 2" 2 "$LETHE" plot scatter --db "$DB" --x tofu.nope \
    --y tofu.forget_quality --out "$TMP/bad"
check "unknown metric named" has "$TMP/err" "lethe: error: no metric 'tofu.nope'"
expect_status "unknown suite exits 2" 2 "$LETHE" plot bars --db "$DB" --suite muse_x \
    --metric tofu.model_utility --out "$TMP/bad"
check "unknown suite named" has "$TMP/err" "no finished runs of suite 'muse_x'"
expect_status "unknown curve exits 2" 2 "$LETHE" plot curves --db "$DB" --curve roc.nope --out "$TMP/bad"
check "known curves listed" has "$TMP/err" "(curves: unlearn.forget_loss)"
check "nothing written on bad input" test ! -e "$TMP/bad"
expect_status "no figure kind exits 2" 2 "$LETHE" plot --db "$DB"
expect_status "unknown figure kind exits 2" 2 "$LETHE" plot pie --db "$DB"
check "unknown kind named" has "$TMP/err" "unknown figure 'pie'"
expect_status "scatter without --y exits 2" 2 "$LETHE" plot scatter --db "$DB" --x tofu.model_utility
expect_status "bad format exits 2" 2 "$LETHE" plot bars --db "$DB" --metric m --format jpeg
check "bad format named" has "$TMP/err" "got 'jpeg'"
expect_status "--logy on bars exits 2" 2 "$LETHE" plot bars --db "$DB" --metric tofu.model_utility --logy
check "--logy on bars named" has "$TMP/err" "option '--logy' does not apply to 'lethe plot bars'"
expect_status "empty variant list item exits 2" 2 "$LETHE" plot bars --db "$DB" --metric m --variants base,,q8
expect_status "missing database exits 2" 2 "$LETHE" plot bars --db "$TMP/none.db" --metric m
expect_status "plot --help exits 0" 0 "$LETHE" plot --help
check "help names the figures" has "$TMP/out" "scatter|bars|curves"

# no gnuplot: exit 2 and how to get it
expect_status "LETHE_GNUPLOT=/nonexistent exits 2" 2 env LETHE_GNUPLOT=/nonexistent "$LETHE" plot \
    bars --db "$DB" --metric tofu.model_utility --out "$TMP/nog"
check "missing gnuplot explained" has "$TMP/err" "gnuplot not found"
check "missing gnuplot: how to install" has "$TMP/err" "install gnuplot-nox (scripts/deps.sh)"
expect_status "PATH without gnuplot exits 2" 2 env -u LETHE_GNUPLOT PATH=/nonexistent "$LETHE" plot \
    bars --db "$DB" --metric tofu.model_utility --out "$TMP/nog"
check "PATH without gnuplot: exact message" has "$TMP/err" \
    "lethe: error: gnuplot not found: install gnuplot-nox (scripts/deps.sh)"
check "nothing written without gnuplot" test ! -e "$TMP/nog"

# a failing gnuplot: exit 1, its message shown, no half image
cat >"$TMP/bad-gnuplot" <<'EOF'
#!/bin/sh
f=$(printf '%s' "$2" | sed "s/^outfile = '\(.*\)'$/\1/")
printf 'half' >"$f"
echo 'line 7: kaboom' >&2
exit 1
EOF
chmod +x "$TMP/bad-gnuplot"
expect_status "failing gnuplot exits 1" 1 env LETHE_GNUPLOT="$TMP/bad-gnuplot" "$LETHE" plot bars \
    --db "$DB" --metric tofu.model_utility --split forget10 --out "$TMP/failed" --name b
check "gnuplot's stderr reported" has "$TMP/err" "kaboom"
check "no half image left" test ! -e "$TMP/failed/b.png"
check "no temporary left" sh -c "! ls -a '$TMP/failed' | grep -q tmp"
done_testing
