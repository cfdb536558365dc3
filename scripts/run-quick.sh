#!/bin/sh
# make run: the main job on the embedded default data (grid 'quick'), then its leaderboard and figures.
set -u
lethe=${1:-build/lethe}
db=${LETHE_DB:-results/lethe.db}
out=${LETHE_FIGURES:-figures}

"$lethe" run --grid quick --db "$db" || exit $?
"$lethe" leaderboard --db "$db" || exit $?
"$lethe" plot scatter --db "$db" --suite tofu_small --x tofu.model_utility --y tofu.forget_quality \
    --logy --out "$out" || exit $?
echo "results: $db; figures: $out/"
