/* lethe data: generate a suite's data set, show what a data folder holds, check it against the
 * suite's definition (suites/tofu.c and suites/tofu_gen.c do the work). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/harness.h"
#include "suites/suite.h"

static int fail_impl(const struct lethe_error *err)
{
    cli_error(err);
    return lethe_exit_code(err);
}

/* The kind named by the command line; tofu is the only one with data so far. */
static int kind_ok(const char *kind, const char *what)
{
    if (!suite_kind_lookup(kind))
        return cli_usage_error("unknown suite kind '%s' (see 'lethe list kinds')", kind);
    if (strcmp(kind, "tofu") != 0) {
        struct lethe_error err = {0};
        lethe_err(&err, LETHE_ENOTYET, "%s of kind '%s' arrives with that suite's issue", what,
                  kind);
        return fail_impl(&err);
    }
    return 0;
}

static int gen_impl(const char *kind, const char *authors_s, const char *seed_s, const char *out)
{
    int rc = kind_ok(kind, "generating data");
    if (rc)
        return rc;
    if (!out)
        return cli_usage_error("gen needs --out DIR (see 'lethe data --help')");
    struct lethe_error err = {0};
    long authors = 200, seed = 0;
    if (authors_s && cli_long("--authors", authors_s, &authors, &err) < 0)
        return fail_impl(&err);
    if (seed_s && (cli_long("--seed", seed_s, &seed, &err) < 0 || seed < 0)) {
        if (!err.code)
            lethe_err(&err, LETHE_EUSAGE, "--seed must be 0 or more, not %ld", seed);
        return fail_impl(&err);
    }
    if (authors < 2 || authors > TOFU_GEN_MAX_AUTHORS)
        return cli_usage_error("--authors must be between 2 and %d, not %ld",
                               TOFU_GEN_MAX_AUTHORS, authors);
    if (tofu_generate(out, (int)authors, (uint64_t)seed, &err) < 0)
        return fail_impl(&err);
    size_t n = (size_t)authors * 20;
    printf("wrote '%s': %ld authors, %zu QA; forget01/05/10: %zu/%zu/%zu QA; holdout10: %zu QA\n",
           out, authors, n, tofu_forget_count(n, 1), tofu_forget_count(n, 5),
           tofu_forget_count(n, 10), tofu_forget_count(n, 10));
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json files of dir and dir/extra_holdout, sorted (paths relative to dir). */
static size_t list_json(const char *dir, char ***out)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    const char *subs[] = {"", "extra_holdout"};
    for (int s = 0; s < 2; s++) {
        char *d = *subs[s] ? path_join(dir, subs[s]) : xstrdup(dir);
        DIR *dh = opendir(d);
        free(d);
        if (!dh)
            continue;
        struct dirent *e;
        while ((e = readdir(dh))) {
            if (e->d_name[0] == '.' || !str_ends(e->d_name, ".json"))
                continue;
            xgrow(&names, &cap, n + 1, sizeof(*names));
            names[n++] = *subs[s] ? path_join(subs[s], e->d_name) : xstrdup(e->d_name);
        }
        closedir(dh);
    }
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    *out = names;
    return n;
}

static void show_item(const struct qa_item *it)
{
    printf("  Q: %s\n  A: %s\n", it->question, it->answer);
    if (it->paraphrased_question)
        printf("  paraphrased Q: %s\n", it->paraphrased_question);
    if (it->paraphrased_answer)
        printf("  paraphrased A: %s\n", it->paraphrased_answer);
    for (int k = 0; k < it->n_perturbed; k++)
        printf("  perturbed %d: %s\n", k + 1, it->perturbed[k]);
}

static int show_impl(const char *dir, const char *samples_s)
{
    struct lethe_error err = {0};
    long samples = 2;
    if (samples_s && (cli_long("--samples", samples_s, &samples, &err) < 0 || samples < 0)) {
        if (!err.code)
            lethe_err(&err, LETHE_EUSAGE, "--samples must be 0 or more, not %ld", samples);
        return fail_impl(&err);
    }
    char **names = NULL;
    size_t n = list_json(dir, &names);
    int rc = 0;
    if (n == 0)
        rc = lethe_err(&err, LETHE_EINPUT, "'%s': no .json data files (nor in extra_holdout/)",
                       dir);
    struct qa_set *sets = xcalloc(n ? n : 1, sizeof(*sets));
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *path = path_join(dir, names[i]);
        rc = tofu_load_file(path, &sets[i], &err);
        free(path);
    }
    if (rc == 0) {
        printf("%s\n", dir);
        for (size_t i = 0; i < n; i++) {
            const struct qa_item *it = &sets[i].items[0];
            printf("  %-32s %6zu items%s%s\n", names[i], sets[i].n,
                   it->paraphrased_answer ? ", paraphrases" : "",
                   it->n_perturbed ? (it->n_perturbed == 5 ? ", 5 perturbed answers"
                                                           : ", 3 perturbed answers") : "");
        }
        /* samples: evenly spaced items of the first file with paraphrases (else the first) */
        size_t pick = 0;
        for (size_t i = 0; i < n; i++)
            if (sets[i].items[0].paraphrased_answer) {
                pick = i;
                break;
            }
        for (long s = 0; s < samples && n; s++) {
            size_t idx = (size_t)((double)s * (double)sets[pick].n / (double)samples);
            printf("\n%s, item %zu:\n", names[pick], idx + 1);
            show_item(&sets[pick].items[idx]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        qa_set_release(&sets[i]);
        free(names[i]);
    }
    free(sets);
    free(names);
    return rc < 0 ? fail_impl(&err) : 0;
}

static int check_impl(const char *kind, const char *dir, const char *split)
{
    int rc = kind_ok(kind, "checking data");
    if (rc)
        return rc;
    const struct suite_kind *k = suite_kind_lookup(kind);
    if (split && !suite_kind_has_split(k, split))
        return cli_usage_error("unknown split '%s' of kind '%s' (forget01, forget05, forget10)",
                               split, kind);
    struct lethe_error err = {0};
    for (const char *const *s = k->splits; *s; s++) {
        if (split && strcmp(split, *s) != 0)
            continue;
        struct tofu_data d;
        if (tofu_load(dir, *s, &d, &err) < 0)
            return fail_impl(&err);
        printf("%s: ok: full %zu, %s %zu, %s %zu, %s %zu, retain_perturbed %zu, real_authors %zu, "
               "world_facts %zu, %s %zu\n", *s, d.full.n, d.retain.name, d.retain.n, d.forget.name,
               d.forget.n, d.forget_eval.name, d.forget_eval.n, d.retain_eval.n,
               d.real_authors.n, d.world_facts.n, d.holdout.name, d.holdout.n);
        tofu_data_release(&d);
    }
    return 0;
}

int cmd_data(int argc, char **argv)
{
    const char *authors = NULL, *seed = NULL, *out = NULL, *samples = NULL, *split = NULL;
    const struct cli_opt opts[] = {
        {"authors", CLI_STR, &authors, NULL},
        {"seed", CLI_STR, &seed, NULL},
        {"out", CLI_STR, &out, NULL},
        {"samples", CLI_STR, &samples, NULL},
        {"split", CLI_STR, &split, NULL},
        {NULL, CLI_STR, NULL, NULL},
    };
    char **pos = NULL;
    int npos = 0, rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    const char *sub = npos > 0 ? pos[0] : NULL;
    if (!sub)
        rc = cli_usage_error("expected gen, show or check (see 'lethe data --help')");
    else if (strcmp(sub, "gen") == 0) {
        if (npos != 2)
            rc = cli_usage_error("usage: lethe data gen KIND [--authors N] [--seed S] --out DIR");
        else if (samples || split)
            rc = cli_usage_error("gen takes --authors, --seed and --out");
        else
            rc = gen_impl(pos[1], authors, seed, out);
    } else if (strcmp(sub, "show") == 0) {
        if (npos != 2)
            rc = cli_usage_error("usage: lethe data show DIR [--samples N]");
        else if (authors || seed || out || split)
            rc = cli_usage_error("show takes --samples only");
        else
            rc = show_impl(pos[1], samples);
    } else if (strcmp(sub, "check") == 0) {
        if (npos != 3)
            rc = cli_usage_error("usage: lethe data check KIND DIR [--split P]");
        else if (authors || seed || out || samples)
            rc = cli_usage_error("check takes --split only");
        else
            rc = check_impl(pos[1], pos[2], split);
    } else {
        rc = cli_usage_error("unknown data command '%s' (gen, show or check)", sub);
    }
    free(pos);
    return rc;
}
