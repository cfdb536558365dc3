/* The command table: every lethe subcommand, its one-line help, usage, and what brings it if pending. */
#include <string.h>

#include "harness/harness.h"

#define ENGINE "the engine (nn/: models, training, scoring)"
#define RUNNER "the run pipeline (suites, methods, metrics and attacks on the engine)"

const struct command commands[] = {
    {"run", cmd_run, "run a grid or a selection of jobs from suites.json into a results DB",
     "usage: lethe run [--grid NAME] [--suite S] [--method M] [--seed N] [--split P]\n"
     "                 [--shard i/n] [--jobs N] [--config FILE] [--db FILE] [--cache DIR]\n"
     "                 [--progress] [--plugin FILE.so]\n"
     "Runs every job of the grid (or of the selection) that is not yet done in the DB\n"
     "(default results/lethe.db); a job left 'running' by a crash is redone, a failed job is\n"
     "recorded with its error and the others go on (exit 1 at the end). --suite, --method and\n"
     "--split are globs filtering the grid's jobs, and --seed N runs them with seed N instead of\n"
     "the grid's seeds; without --grid they select jobs themselves (--suite required; every\n"
     "split, every method that applies, seed 0 unless --seed).\n"
     "--shard i/n runs every n-th job from the i-th; --jobs N runs N worker processes.\n"
     "--plugin FILE.so loads an out-of-tree method (methods/method.h describes the ABI) before\n"
     "suites.json is read, so that method configurations can name it.\n"
     "Reference models, generated data and tokenizers are cached in --cache DIR (default\n"
     "$LETHE_CACHE_DIR, else cache/ beside the DB), keyed by what determines them.\n"
     "A progress line is shown on a terminal, or as lines with --progress.\n", NULL},
    {"train", cmd_train, "train a reference model (original / retain oracle) to a safetensors file",
     "usage: lethe train --suite S --role original|retrain|reference --out FILE [--split P]\n"
     "                   [--seed N] [--config FILE] [--cache DIR]\n"
     "Writes the suite's reference model for the split (default: its last) and seed (default\n"
     "0; 'reference', the reference MIA's model, is trained with seed + 1 without any forget\n"
     "split): the checkpoint lethe run uses, taken from the cache (--cache, default as lethe run's\n"
     "for the default DB) or trained there first with the suite's recipe. Its metadata names\n"
     "the tokenizer, data and recipe hashes.\n", NULL},
    {"unlearn", cmd_unlearn, "apply one method to a checkpoint and write the unlearned checkpoint",
     "usage: lethe unlearn --suite S --method M --model FILE --out FILE [--split P] [--seed N]\n"
     "                     [--config FILE] [--cache DIR]\n"
     "Applies the method configuration M of suites.json (e.g. npo or 'npo@lr_scale=0.2') to\n"
     "the checkpoint on the suite's forget and retain sets (split default: its last), with the\n"
     "checkpoint itself as the frozen original, and writes the result to FILE.\n", NULL},
    {"eval", cmd_eval, "evaluate any GPT-2-format checkpoint on a suite",
     "usage: lethe eval --suite S --model FILE [--split P] [--oracle FILE] [--ref FILE]\n"
     "                  [--seed N] [--db FILE] [--config FILE] [--cache DIR]\n"
     "Prints every metric of the suite (name, variant, value, CI, n) for the checkpoint, whose\n"
     "vocabulary must be the suite's tokenizer's. Forget quality and privleak compare with the\n"
     "retain oracle: --oracle FILE, else the suite's oracle for --seed (cached or trained).\n"
     "The 'reference' MIA scores against --ref FILE, else the suite's reference model (a retain\n"
     "oracle trained with seed + 1 without any forget split; cached or trained).\n"
     "--db records the numbers as a run of method 'eval' keyed by the checkpoint's tensors.\n", NULL},
    {"attack", cmd_attack, "run one attack on a checkpoint",
     "usage: lethe attack --suite S --attack A --model FILE [--split P] [--oracle FILE]\n"
     "                    [--ref FILE] [--seed N] [--db FILE] [--config FILE] [--cache DIR]\n"
     "Runs one membership-inference attack (loss, zlib, reference, min_k, min_k20, min_k_pp,\n"
     "gradnorm) on the checkpoint, members = the forget split, non-members = its holdout, and\n"
     "prints its AUC and TPR at 1% and 0.1% FPR with CIs; --db records them as a run\n"
     "'attack:A'. 'reference' scores against --ref FILE, else the suite's reference model (a\n"
     "retain oracle trained with seed + 1 without any forget split; cached or trained).\n", NULL},
    {"leaderboard", cmd_leaderboard, "rank method configurations per suite (mean ± sd over seeds, CIs)",
     "usage: lethe leaderboard [--db FILE] [--config FILE] [--suite S] [--split P]\n"
     "                         [--variant V] [--format table|csv|md|json]\n"
     "One table per suite and split: a row per method configuration aggregated over seeds\n"
     "(mean ± sd, number of seeds, the stored confidence interval), the suite's headline\n"
     "metrics as columns, sorted by its ranking metric; the reference rows 'original' and\n"
     "'retrain' are set apart. --variant shows an attack's derived model (e.g. q4_g64).\n"
     "CI: the stored CI for one seed, the mean of the per-seed bounds for several.\n", NULL},
    {"compare", cmd_compare, "nightly regression: compare two results DBs against tolerances",
     "usage: lethe compare BASE.db NEW.db [--tolerance FILE] [--format table|csv|json] [--quiet]\n"
     "Matches runs by (suite, split, method configuration, seed) and reports, per metric,\n"
     "base, new, difference and verdict; regressions first. --quiet leaves out the rows that\n"
     "need no attention. Tolerance file: {\"default\": {\"abs\": A, \"rel\": R},\n"
     "\"metrics\": {NAME: {...}}, \"patterns\": [{\"pattern\": GLOB, \"abs\": A}]}; the allowance\n"
     "is max(abs, rel x |base|), exact names before patterns. Exit 1 when anything regressed.\n", NULL},
    {"merge", cmd_merge, "merge shard DBs into one",
     "usage: lethe merge OUT.db IN.db... [--force]\n"
     "Writes a new OUT.db holding every run of the inputs; identical duplicates are kept\n"
     "once; conflicting versions of one run are reported and nothing is written.\n", NULL},
    {"plot", cmd_plot, "draw figures (PNG/SVG/PDF) from a results DB with gnuplot",
     "usage: lethe plot scatter|bars|curves [options]\n"
     "       lethe plot scatter --x METRIC --y METRIC [--logx] [--logy] [--errorbars] [--variant V]\n"
     "       lethe plot bars --metric METRIC [--variants base,q8,q4_g64]\n"
     "       lethe plot curves --curve NAME [--method M] [--logx] [--logy]\n"
     "  common: [--suite S] [--split P] [--db FILE] [--out DIR (figures/)] [--format png|svg|pdf]\n"
     "          [--name STEM] [--xlabel TEXT] [--ylabel TEXT]\n"
     "Scatter: one point per method configuration (mean over seeds), 'original' and 'retrain'\n"
     "marked; the TOFU figure is --x tofu.model_utility --y tofu.forget_quality --logy.\n"
     "Bars: one group per method configuration, one bar per variant (quantization recovery).\n"
     "Curves: lines from the curves table. Each image has STEM.gp and STEM.dat beside it.\n", NULL},
    {"stats", cmd_stats, "metrics on plain files: KS test, AUC/ROC, ROUGE-L, bootstrap CI",
     "usage: lethe stats ks A B                                  two-sample KS test (exact p in log space)\n"
     "       lethe stats auc --pos FILE --neg FILE [--roc OUT.tsv]  ROC AUC, TPR at 1% and 0.1% FPR\n"
     "       lethe stats rouge --ref FILE --hyp FILE [--variant recall|f1]\n"
     "       lethe stats bootstrap FILE [--stat mean] [--resamples N] [--seed S]\n"
     "       lethe stats hmean FILE\n"
     "  every form takes --json\n"
     "Files hold one number a line (rouge: one string a line, line i of --hyp against line i of\n"
     "--ref). AUC scores: higher = more member-like, positives = members (METRICS.md 1.5).\n"
     "ROUGE-L: recall is stemmed (TOFU, SemEval), f1 unstemmed (MUSE). Bootstrap: 95% percentile\n"
     "interval, 1000 resamples, xoshiro256** seeded from --seed and the statistic's name.\n"
     "--json fields: ks {statistic, pvalue, log10_pvalue, n1, n2, method}; auc {auc,\n"
     "tpr_at_fpr_0.01, tpr_at_fpr_0.001, n_pos, n_neg}; rouge {mean, values}; bootstrap\n"
     "{estimate, ci_low, ci_high, resamples}; hmean {hmean, n}.\n", NULL},
    {"list", cmd_list, "list suites, methods, grids, metrics and attacks",
     "usage: lethe list suites|methods|grids|jobs GRID|metrics|attacks|kinds|params NAME|commands\n"
     "                  [--config FILE] [--registry] [--resolved]\n"
     "suites, methods, grids: what suites.json defines (grids with their job counts); jobs GRID:\n"
     "the jobs of a grid with their config hashes (--resolved: the JSON each hash is taken of);\n"
     "metrics, attacks, kinds: Lethe's registries; methods --registry: every method Lethe knows;\n"
     "params NAME: the parameters of a method, with defaults.\n", NULL},
    {"data", cmd_data, "generate, inspect and validate suite data",
     "usage: lethe data gen tofu [--authors N] [--seed S] --out DIR\n"
     "       lethe data show DIR [--samples N]\n"
     "       lethe data check tofu DIR [--split forget01|forget05|forget10]\n"
     "gen: writes a generated TOFU-style data set with the real files' names and fields: N\n"
     "fictitious authors (default 200, at most 500) of 20 QA each from word lists of several\n"
     "cultures, a paraphrased answer, five perturbed answers (the fact swapped for another\n"
     "value of the same kind) and a paraphrased question per QA; forget01/05/10 are the last\n"
     "1/5/10% of the authors (at least one author each; 40/200/400 QA for 200 authors),\n"
     "retainYY the rest, retain_perturbed the first forget10-many QA; real_authors and\n"
     "world_facts of simple true facts (famous books, capitals, colours, small sums) with three\n"
     "perturbed answers; extra_holdout/holdoutXX as many QA as forgetXX about further authors\n"
     "never in full. The same N and S (default 0) give the same bytes. DIR must not exist or\n"
     "be empty; it appears complete or not at all.\n"
     "show: the items of each data file (and extra_holdout/), checked, and N (default 2)\n"
     "samples of the first file with paraphrases.\n"
     "check: loads every forget split (or the one given) with all of the suite's checks; exit 0,\n"
     "or 2 with the first error (file and line).\n", NULL},
    {"bench", cmd_bench, "engine throughput (tokens/s, MFU) against a measured sgemm peak",
     "usage: lethe bench [--config small|gpt2|mlp] [--reps N] [--json]\n"
     "Times, for each configuration (or the one named), a training step (forward, backward,\n"
     "clipping, AdamW), scoring (forward with log-probabilities) and greedy generation with the\n"
     "KV cache (32 new tokens after prompts of T/2), medians of N repetitions:\n"
     "  small  GPT-2 4 layers, 4 heads, 256 wide, n_ctx 256, vocab 8192, batch 16 x 128\n"
     "  gpt2   the GPT-2 124M shape (12, 12, 768, 1024, 50257), batch 4 x 64\n"
     "  mlp    784-1024-1024-10, batch 256 (samples/s)\n"
     "and prints the model FLOPs per token, GFLOP/s, and MFU against the best 1024^3 sgemm it\n"
     "measures on the spot, with the OpenBLAS kernel and the thread count. `make bench` runs\n"
     "bench/torch_bench.py (PyTorch CPU, same math) alternately and prints the ratios.\n", NULL},
    {"slurm", NULL, "write an sbatch array script for a grid, and the merge step",
     "usage: lethe slurm GRID [--shards N] [--out FILE]\n", RUNNER},
    {"tokenize", cmd_tokenize, "print the token ids of a text; train a BPE vocabulary",
     "usage: lethe tokenize --vocab DIR|gpt2 [--decode] TEXT|-\n"
     "       lethe tokenize --train SIZE --out DIR FILE...\n"
     "Prints the token ids of TEXT (- reads standard input) on one line, separated by spaces;\n"
     "no <|endoftext|> is added. --vocab gpt2 is GPT-2's vocabulary in the data cache\n"
     "($LETHE_CACHE, else the repository's data/cache: scripts/deps.sh fills it), DIR a folder\n"
     "holding vocab.json and merges.txt. --decode: TEXT is token ids, printed back as text.\n"
     "--train: learns a byte-level BPE vocabulary of SIZE tokens (256 bytes, merges,\n"
     "<|endoftext|>) from the FILEs with GPT-2's pre-tokenizer, and writes DIR/vocab.json and\n"
     "DIR/merges.txt.\n", NULL},
    {"score", cmd_score, "print each token's log-probability under a model",
     "usage: lethe score --model FILE [--vocab DIR|gpt2] (--text TEXT | --tokens \"ID ...\") [--json]\n"
     "Scores a GPT-2-format safetensors checkpoint (Lethe's, or a Hugging Face file with its\n"
     "config.json). --text is encoded with the vocabulary (default gpt2 for a 50257-token model)\n"
     "after a BOS (<|endoftext|>); --tokens are scored as given, no BOS added. Prints each token's\n"
     "log-probability given the tokens before it; --json prints {\"tokens\": [ids],\n"
     "\"logprobs\": [log p(token i | tokens before i) for i = 1 .. n-1]}.\n", NULL},
};
const size_t commands_count = sizeof(commands) / sizeof(commands[0]);

const struct command *command_find(const char *name)
{
    for (size_t i = 0; i < commands_count; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

