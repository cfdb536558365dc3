/* Tests for suites.json (harness/config.c, config_value.c, grid.c) and the plug-in registries it
 * checks against (methods/, attacks/, suites/). */
#include <stdlib.h>
#include <unistd.h>

#include "attacks/attack.h"
#include "harness/config_impl.h"
#include "harness/harness.h"
#include "methods/method.h"
#include "tests/test.h"

/* JSON written with single quotes for readability in C; returned, the caller frees. */
static char *jq(const char *s)
{
    char *t = xstrdup(s);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    return t;
}

static struct config *parse(const char *single_quoted, const char *path, struct lethe_error *err)
{
    char *text = jq(single_quoted);
    struct config *cfg = config_parse(text, path, err);
    free(text);
    return cfg;
}

/* ---- canonical JSON --------------------------------------------------------------------- */

/* Golden strings from Python 3 (the independent oracle):
 *   json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
 * and repr(float) for the reals. */
static void test_canonical_json_matches_python(void)
{
    const char *doc = "{\"b\": [1, 2.5, {\"z\": null, \"a\": true}], "
                      "\"a\": \"x\\\"y\\\\z\\n\\t\\u0001\\u007f \\u00e9 \\u2603\", "
                      "\"\\u00e9\": 0, \"B\": false, \"\": -5, \"aa\": 9007199254740993}";
    const char *want = "{\"\":-5,\"B\":false,\"a\":\"x\\\"y\\\\z\\n\\t\\u0001\x7f \xc3\xa9 \xe2\x98\x83\","
                       "\"aa\":9007199254740993,\"b\":[1,2.5,{\"a\":true,\"z\":null}],\"\xc3\xa9\":0}";
    json_error_t jerr;
    json_t *v = json_loads(doc, 0, &jerr);
    CHECK(v != NULL);
    char *got = config_canonical_json(v);
    CHECK_STREQ(got, want);
    free(got);
    json_decref(v);

    static const struct { double x; const char *repr; } reals[] = {
        {0.1, "0.1"}, {1e-05, "1e-05"}, {1e16, "1e+16"}, {1e15, "1000000000000000.0"},
        {123456789.125, "123456789.125"}, {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, {0.0001, "0.0001"},
        {2.5e-05, "2.5e-05"}, {-3.0, "-3.0"}, {100.0, "100.0"}, {1e22, "1e+22"},
        {0.1 + 0.2, "0.30000000000000004"}, {1.5e-323, "1.5e-323"},
        {9007199254740993.0, "9007199254740992.0"}, {1.5e300, "1.5e+300"}, {4.35, "4.35"},
        {1e-07, "1e-07"}, {299792458.0, "299792458.0"}, {1152921504606846976.0, "1.152921504606847e+18"},
        {1.0 / 3.0, "0.3333333333333333"}, {0.0, "0.0"}, {-0.0, "0.0"},
    };
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        json_t *r = json_real(reals[i].x);
        char *s = config_canonical_json(r);
        CHECK_STREQ(s, reals[i].repr);
        /* and it reads back to the same double */
        CHECK(strtod(s, NULL) == reals[i].x);
        free(s);
        json_decref(r);
    }
}

static void test_canonical_json_ignores_layout(void)
{
    json_error_t jerr;
    json_t *a = json_loads("{\"x\": {\"b\": 1, \"a\": [1.5, \"s\"]}, \"c\": null}", 0, &jerr);
    json_t *b = json_loads("{ \"c\" :null ,\n\t\"x\":{\"a\":[ 1.50 , \"s\" ],\"b\":1} }", 0, &jerr);
    char *ca = config_canonical_json(a), *cb = config_canonical_json(b);
    CHECK_STREQ(ca, "{\"c\":null,\"x\":{\"a\":[1.5,\"s\"],\"b\":1}}");
    CHECK_STREQ(ca, cb);
    char h1[65], h2[65];
    config_hash_json(a, h1);
    config_hash_json(b, h2);
    CHECK_STREQ(h1, h2);
    free(ca);
    free(cb);
    json_decref(a);
    json_decref(b);
}

/* ---- hashes ---------------------------------------------------------------------------- */

/* The resolved JSON and hash of one job, pinned. The hash was computed independently:
 *   printf '%s' "$resolved" | sha256sum
 *   -> 9b41c3f7835b7926048c29bf37e7e6a04f56d0ac5f1ff2ce09ea88449dc84f31
 * and the string checked against Python's json.dumps(json.loads(s), sort_keys=True,
 * separators=(",", ":"), ensure_ascii=False) == s. A change here means every stored run's hash
 * changes: bump it only on purpose. */
static void test_hash_known_value(void)
{
    const char *text =
        "{'lethe': 1,"
        " 'suites': [{'name': 'img', 'kind': 'image', 'summary': 's',"
        "   'data': {'dir': '${LETHE_DATA}/fmnist'}, 'splits': ['random_1'],"
        "   'model': {'arch': 'mlp', 'widths': [784, 10]},"
        "   'train': {'epochs': 1, 'lr': 0.01, 'batch': 8},"
        "   'leaderboard': {'headline': ['image.avg_gap']}}],"
        " 'grids': [{'name': 'g', 'summary': 's', 'runs': [{'suites': ['img'],"
        "   'methods': ['original'], 'seeds': [7]}]}]}";
    struct lethe_error err = {0};
    struct config *cfg = parse(text, "known.json", &err);
    CHECK(cfg != NULL);
    if (!cfg) {
        printf("# %s\n", err.msg);
        return;
    }
    struct job *jobs;
    size_t n;
    CHECK_EQ_INT(config_expand_grid(cfg, "g", &jobs, &n, &err), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_STREQ(jobs[0].resolved_json,
                "{\"lethe\":1,\"method\":{\"method\":\"original\",\"name\":\"original\"},"
                "\"split\":\"random_1\",\"suite\":{\"attacks\":[],\"data\":{\"dir\":"
                "\"${LETHE_DATA}/fmnist\",\"format\":\"idx\"},\"kind\":\"image\",\"model\":"
                "{\"arch\":\"mlp\",\"widths\":[784,10]},\"name\":\"img\",\"train\":{\"batch\":8,"
                "\"beta1\":0.9,\"beta2\":0.999,\"clip\":1.0,\"epochs\":1,\"eps\":1e-08,"
                "\"grad_accum\":1,\"lr\":0.01,\"momentum\":0.9,\"optimizer\":\"adamw\","
                "\"schedule\":\"linear\",\"warmup\":0.0,\"weight_decay\":0.01}}}");
    CHECK_STREQ(jobs[0].hash, "9b41c3f7835b7926048c29bf37e7e6a04f56d0ac5f1ff2ce09ea88449dc84f31");
    CHECK_EQ_INT(jobs[0].seed, 7);
    jobs_free(jobs, n);
    config_free(cfg);
}

static const char *const base_text =
    "{'lethe': 1,"
    " 'suites': ["
    "  {'name': 'lm', 'kind': 'tofu', 'summary': 'a generated tofu suite',"
    "   'data': {'synthetic': {'seed': 3, 'authors': 20}},"
    "   'splits': ['forget01', 'forget10'],"
    "   'model': {'arch': 'gpt', 'n_layer': 1, 'n_head': 2, 'n_embd': 32, 'n_ctx': 64,"
    "             'vocab': {'bpe': 300}},"
    "   'train': {'epochs': 2, 'lr': 0.001, 'batch': 4, 'warmup': 1.0},"
    "   'attacks': ['loss', {'attack': 'min_k', 'k_pct': 20}],"
    "   'leaderboard': {'headline': ['tofu.forget_quality', 'tofu.model_utility']}},"
    "  {'name': 'img', 'kind': 'image', 'summary': 'fashion', 'data': {'dir': 'images'},"
    "   'splits': ['random_1', 'class_3'], 'model': {'arch': 'mlp', 'widths': [784, 10]},"
    "   'train': {'epochs': 1, 'lr': 0.01, 'batch': 8},"
    "   'leaderboard': {'headline': ['image.avg_gap', 'image.test.acc']}}],"
    " 'methods': ["
    "  {'name': 'npo', 'method': 'npo', 'sweep': {'lr': [1e-05, 2e-05]}},"
    "  {'name': 'gd', 'method': 'grad_diff', 'alpha': 2.0}],"
    " 'grids': ["
    "  {'name': 'g', 'summary': 's', 'runs': [{'suites': ['lm', 'img'],"
    "   'methods': ['original', 'npo', 'gd'], 'seeds': [0, 1]}]}]}";

/* The same configuration: keys reordered, other whitespace, integers where reals are meant,
 * defaults written out, summaries and leaderboards changed (they are not in the hash). */
static const char *const reordered_text =
    "{ 'grids': [ { 'runs': [ { 'seeds': [0, 1], 'methods': ['original', 'npo', 'gd'],\n"
    "     'suites': ['lm', 'img'] } ], 'summary': 'other words', 'name': 'g' } ],\n"
    "  'methods': [ { 'sweep': { 'lr': [ 0.00001, 2.0e-5 ] }, 'method': 'npo', 'name': 'npo',\n"
    "                 'beta': 0.1, 'retain_loss': 'none' },\n"
    "               { 'alpha': 2, 'method': 'grad_diff', 'name': 'gd', 'gamma': 1 } ],\n"
    "  'suites': [\n"
    "   { 'leaderboard': { 'headline': ['tofu.model_utility'] }, 'train': { 'batch': 4,\n"
    "     'lr': 1e-3, 'epochs': 2, 'warmup': 1, 'grad_accum': 1, 'schedule': 'linear' },\n"
    "     'attacks': [ 'loss', { 'k_pct': 20, 'attack': 'min_k' } ],\n"
    "     'model': { 'vocab': { 'bpe': 300 }, 'n_ctx': 64, 'n_embd': 32, 'n_head': 2,\n"
    "                'n_layer': 1, 'arch': 'gpt', 'dropout': 0 },\n"
    "     'splits': ['forget01', 'forget10'], 'data': { 'synthetic': { 'authors': 20, 'seed': 3 } },\n"
    "     'summary': 'renamed summary', 'kind': 'tofu', 'name': 'lm' },\n"
    "   { 'train': { 'batch': 8, 'epochs': 1, 'lr': 0.01 }, 'data': { 'format': 'idx',\n"
    "     'dir': 'images' }, 'splits': ['random_1', 'class_3'], 'name': 'img', 'kind': 'image',\n"
    "     'model': { 'widths': [784, 10], 'arch': 'mlp' }, 'summary': 'f', 'attacks': [],\n"
    "     'leaderboard': { 'rank_by': 'image.avg_gap', 'headline': ['image.avg_gap'] } } ],\n"
    "  'lethe': 1 }";

static struct job *expand(const char *text, const char *grid, size_t *n)
{
    struct lethe_error err = {0};
    struct config *cfg = parse(text, "t.json", &err);
    if (!cfg) {
        printf("# %s\n", err.msg);
        *n = 0;
        return NULL;
    }
    struct job *jobs = NULL;
    if (config_expand_grid(cfg, grid, &jobs, n, &err) < 0)
        printf("# %s\n", err.msg);
    /* the jobs borrow names from cfg: keep what the tests compare */
    for (size_t i = 0; i < *n; i++) {
        char *key = xstrdup(jobs[i].resolved_json);
        free(jobs[i].resolved_json);
        jobs[i].resolved_json = key;
        jobs[i].suite = NULL;
        jobs[i].method = NULL;
        jobs[i].split = NULL;
    }
    config_free(cfg);
    return jobs;
}

static void test_hash_ignores_layout_and_defaults(void)
{
    size_t na, nb;
    struct job *a = expand(base_text, "g", &na), *b = expand(reordered_text, "g", &nb);
    CHECK_EQ_INT(na, 32);   /* per suite: 2 splits x 4 configurations x 2 seeds */
    CHECK_EQ_INT(na, nb);
    for (size_t i = 0; i < na && i < nb; i++) {
        CHECK_STREQ(a[i].hash, b[i].hash);
        CHECK_STREQ(a[i].resolved_json, b[i].resolved_json);
        CHECK_EQ_INT(a[i].seed, b[i].seed);
    }
    jobs_free(a, na);
    jobs_free(b, nb);
}

/* Replaces the first occurrence of from in s by to; returned, the caller frees. */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    LETHE_ASSERT(p);
    struct strbuf sb = STRBUF_INIT;
    strbuf_add(&sb, s, (size_t)(p - s));
    strbuf_adds(&sb, to);
    strbuf_adds(&sb, p + strlen(from));
    return strbuf_detach(&sb);
}

static void test_hash_changes_with_what_matters(void)
{
    size_t na, nb, nc, nd;
    struct job *a = expand(base_text, "g", &na);
    /* the lm suite's lr: every lm job changes, no img job does */
    char *t1 = replace(base_text, "'lr': 0.001", "'lr': 0.002");
    struct job *b = expand(t1, "g", &nb);
    /* gd's alpha: only gd's jobs change */
    char *t2 = replace(base_text, "'alpha': 2.0", "'alpha': 3.0");
    struct job *c = expand(t2, "g", &nc);
    /* a path as written is part of the data: another folder is another run */
    char *t3 = replace(base_text, "'dir': 'images'", "'dir': 'images2'");
    struct job *d = expand(t3, "g", &nd);
    CHECK_EQ_INT(na, 32);
    CHECK(na == nb && na == nc && na == nd);
    size_t lm_changed = 0, gd_changed = 0, img_changed = 0;
    for (size_t i = 0; i < na && na == nb && na == nc && na == nd; i++) {
        int is_lm = strstr(a[i].resolved_json, "\"name\":\"lm\"") != NULL;
        int is_gd = strstr(a[i].resolved_json, "\"name\":\"gd\"") != NULL;
        CHECK_EQ_INT(strcmp(a[i].hash, b[i].hash) != 0, is_lm);
        CHECK_EQ_INT(strcmp(a[i].hash, c[i].hash) != 0, is_gd);
        CHECK_EQ_INT(strcmp(a[i].hash, d[i].hash) != 0, !is_lm);
        lm_changed += is_lm;
        gd_changed += is_gd;
        img_changed += !is_lm;
    }
    CHECK_EQ_INT(lm_changed, 16);
    CHECK_EQ_INT(gd_changed, 8);
    CHECK_EQ_INT(img_changed, 16);
    /* the seed is not in the hash: seeds 0 and 1 of one configuration share it */
    CHECK_STREQ(a[0].hash, a[1].hash);
    CHECK_EQ_INT(a[0].seed, 0);
    CHECK_EQ_INT(a[1].seed, 1);
    CHECK(strcmp(a[0].hash, a[2].hash) != 0);
    jobs_free(a, na);
    jobs_free(b, nb);
    jobs_free(c, nc);
    jobs_free(d, nd);
    free(t1);
    free(t2);
    free(t3);
}

/* ---- grids ------------------------------------------------------------------------------ */

static void test_grid_order_sweeps_and_dedup(void)
{
    const char *grids =
        "'grids': ["
        " {'name': 'g', 'summary': 's', 'runs': ["
        "   {'suites': ['lm'], 'splits': ['forget10'], 'methods': ['npo', 'original'], 'seeds': [5, 1]},"
        "   {'grid': 'h'},"
        "   {'suites': ['lm'], 'methods': ['npo@lr=2e-05'], 'seeds': [1, 2]}]},"
        " {'name': 'h', 'summary': 's', 'runs': ["
        "   {'suites': ['img', 'lm'], 'splits': ['random_1'], 'methods': ['original'], 'seeds': [1]}]}]}";
    /* the splits of h's run must exist in both suites: lm has no random_1 */
    struct lethe_error err = {0};
    const char *head = strstr(base_text, " 'grids': [");
    struct strbuf sb = STRBUF_INIT;
    strbuf_add(&sb, base_text, (size_t)(head - base_text));
    strbuf_adds(&sb, grids);
    struct config *cfg = parse(sb.buf, "grid.json", &err);
    CHECK(cfg == NULL);
    CHECK_STREQ(err.msg, "grid.json: grids[1].runs[0].splits[0]: suite 'lm' has no split "
                         "'random_1' (it has forget01, forget10)");
    strbuf_release(&sb);

    const char *grids2 =
        "'grids': ["
        " {'name': 'g', 'summary': 's', 'runs': ["
        "   {'suites': ['lm'], 'splits': ['forget10'], 'methods': ['npo', 'original'], 'seeds': [5, 1]},"
        "   {'grid': 'h'},"
        "   {'suites': ['lm'], 'methods': ['npo@lr=2e-05'], 'seeds': [1, 2]}]},"
        " {'name': 'h', 'summary': 's', 'runs': ["
        "   {'suites': ['img'], 'methods': ['original'], 'seeds': [1]},"
        "   {'suites': ['lm'], 'splits': ['forget10'], 'methods': ['original'], 'seeds': [5]}]}]}";
    strbuf_add(&sb, base_text, (size_t)(head - base_text));
    strbuf_adds(&sb, grids2);
    cfg = parse(sb.buf, "grid.json", &err);
    strbuf_release(&sb);
    CHECK(cfg != NULL);
    if (!cfg) {
        printf("# %s\n", err.msg);
        return;
    }
    struct job *jobs;
    size_t n;
    CHECK_EQ_INT(config_expand_grid(cfg, "g", &jobs, &n, &err), 0);
    /* entry 1: lm forget10 x (npo@1e-05, npo@2e-05, original) x (5, 1): 6 jobs, in that order
     * entry 2 (grid h): img random_1 original 1, img class_3 original 1; lm forget10 original 5
     *   is a repeat; entry 3: lm forget01 npo@2e-05 x (1, 2), lm forget10 npo@2e-05 2 (1 is a
     *   repeat) */
    static const struct { const char *suite, *split, *method; long seed; } want[] = {
        {"lm", "forget10", "npo@lr=1e-05", 5}, {"lm", "forget10", "npo@lr=1e-05", 1},
        {"lm", "forget10", "npo@lr=2e-05", 5}, {"lm", "forget10", "npo@lr=2e-05", 1},
        {"lm", "forget10", "original", 5}, {"lm", "forget10", "original", 1},
        {"img", "random_1", "original", 1}, {"img", "class_3", "original", 1},
        {"lm", "forget01", "npo@lr=2e-05", 1}, {"lm", "forget01", "npo@lr=2e-05", 2},
        {"lm", "forget10", "npo@lr=2e-05", 2},
    };
    CHECK_EQ_INT(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n && i < sizeof(want) / sizeof(want[0]); i++) {
        CHECK_STREQ(jobs[i].suite->name, want[i].suite);
        CHECK_STREQ(jobs[i].split, want[i].split);
        CHECK_STREQ(jobs[i].method->name, want[i].method);
        CHECK_EQ_INT(jobs[i].seed, want[i].seed);
        char hex[65];
        sha256_hex(jobs[i].resolved_json, strlen(jobs[i].resolved_json), hex);
        CHECK_STREQ(jobs[i].hash, hex);
    }
    /* the same expansion twice is the same */
    struct job *again;
    size_t n2;
    CHECK_EQ_INT(config_expand_grid(cfg, "g", &again, &n2, &err), 0);
    CHECK_EQ_INT(n2, n);
    for (size_t i = 0; i < n && i < n2; i++)
        CHECK_STREQ(jobs[i].hash, again[i].hash);
    jobs_free(again, n2);
    jobs_free(jobs, n);

    /* sweep members: the swept value set, lr_scale dropped (an absolute lr is given) */
    const struct method_cfg *m = config_method(cfg, "npo@lr=2e-05");
    CHECK(m != NULL);
    if (m) {
        char *s = config_canonical_json(m->json);
        CHECK_STREQ(s, "{\"beta\":0.1,\"gamma\":1.0,\"lr\":2e-05,\"method\":\"npo\","
                       "\"name\":\"npo@lr=2e-05\",\"retain_loss\":\"none\"}");
        CHECK_STREQ(m->family, "npo");
        CHECK(m->info == method_lookup("npo"));
        free(s);
    }
    CHECK(config_method(cfg, "npo") == NULL);   /* a family, not one configuration */
    CHECK(config_method(cfg, "original") && config_method(cfg, "original")->reference);
    CHECK_EQ_INT(config_expand_grid(cfg, "nope", &jobs, &n, &err), -LETHE_EINPUT);
    CHECK_STREQ(err.msg, "grid.json: no grid 'nope' (it has g, h)");
    config_free(cfg);
}

static void test_sweep_product_order(void)
{
    const char *text =
        "{'lethe': 1, 'suites': [], 'methods': ["
        " {'name': 'f', 'method': 'flat', 'summary': 'FLAT sweep',"
        "  'sweep': {'variant': ['tv', 'kl'], 'lr_scale': [0.5, 1]}}]}";
    struct lethe_error err = {0};
    struct config *cfg = parse(text, "s.json", &err);
    CHECK(cfg != NULL);
    if (!cfg) {
        printf("# %s\n", err.msg);
        return;
    }
    /* keys sorted (lr_scale, variant), the first varying slowest, values in file order */
    static const char *const want[] = {"original", "retrain", "f@lr_scale=0.5,variant=tv",
                                       "f@lr_scale=0.5,variant=kl", "f@lr_scale=1.0,variant=tv",
                                       "f@lr_scale=1.0,variant=kl"};
    CHECK_EQ_INT(cfg->n_methods, 6);
    for (size_t i = 0; i < cfg->n_methods && i < 6; i++)
        CHECK_STREQ(cfg->methods[i].name, want[i]);
    CHECK_STREQ(cfg->methods[2].summary, "FLAT sweep");
    CHECK(json_is_real(json_object_get(cfg->methods[4].json, "lr_scale")));
    config_free(cfg);
}

/* ---- ${LETHE_DATA} ------------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
    struct lethe_error err = {0};
    char *t = jq(text);
    CHECK_EQ_INT(file_write_atomic(path, t, strlen(t), &err), 0);
    free(t);
}

static char *load_data_dir(const char *path, struct lethe_error *err)
{
    struct config *cfg = config_load(path, err);
    if (!cfg)
        return NULL;
    char *dir = xstrdup(cfg->suites[0].data_dir);
    config_free(cfg);
    return dir;
}

static void test_lethe_data(void)
{
    char tmpl[] = "/tmp/lethe-config-XXXXXX";
    char *top = mkdtemp(tmpl);
    CHECK(top != NULL);
    if (!top)
        return;
    struct lethe_error err = {0};
    char *proj = path_join(top, "proj"), *file = path_join(proj, "suites.json");
    char *data = path_join(proj, "data"), *shared = path_join(top, "shared/data/tofu");
    CHECK_EQ_INT(dir_make(proj, &err), 0);
    const char *suite =
        "{'lethe': 1, 'suites': [{'name': 't', 'kind': 'tofu', 'summary': 's',"
        " 'data': {'dir': 'DIR'}, 'splits': ['forget01'],"
        " 'model': {'arch': 'gpt', 'n_layer': 1, 'n_head': 1, 'n_embd': 8, 'n_ctx': 8, 'vocab': 'gpt2'},"
        " 'train': {'epochs': 1, 'lr': 0.1, 'batch': 1},"
        " 'leaderboard': {'headline': ['tofu.model_utility']}}]}";
    struct strbuf sb = STRBUF_INIT;
    char *text = replace(suite, "DIR", "${LETHE_DATA}/tofu");
    write_file(file, text);
    free(text);
    unsetenv("LETHE_DATA");

    /* nothing exists: data/ beside the file */
    char *got = load_data_dir(file, &err), *want = path_join(proj, "data/tofu");
    CHECK_STREQ(got, want);
    free(got);
    free(want);
    /* only ../shared/data exists: it is used */
    CHECK_EQ_INT(dir_make(shared, &err), 0);
    got = load_data_dir(file, &err);
    want = path_join(proj, "../shared/data/tofu");
    CHECK_STREQ(got, want);
    free(got);
    free(want);
    /* data/ exists but holds no tofu (e.g. only the npm cache): the path falls through to
     * ../shared/data where it exists */
    CHECK_EQ_INT(dir_make(data, &err), 0);
    got = load_data_dir(file, &err);
    CHECK_STREQ(got, want = path_join(proj, "../shared/data/tofu"));
    free(got);
    free(want);
    struct config *cfg = config_load(file, &err);
    CHECK(cfg && strcmp(cfg->data_root, data) == 0);
    config_free(cfg);
    /* data/tofu exists: data/ wins */
    char *local = path_join(data, "tofu");
    CHECK_EQ_INT(dir_make(local, &err), 0);
    got = load_data_dir(file, &err);
    CHECK_STREQ(got, local);
    free(got);
    /* $LETHE_DATA wins, as given, even where nothing exists */
    setenv("LETHE_DATA", "/nonexistent/lethe-data", 1);
    got = load_data_dir(file, &err);
    CHECK_STREQ(got, "/nonexistent/lethe-data/tofu");
    free(got);
    unsetenv("LETHE_DATA");
    /* the hash does not see the expansion */
    cfg = config_load(file, &err);
    CHECK(cfg != NULL);
    if (cfg) {
        char *s = config_canonical_json(json_object_get(cfg->suites[0].json, "data"));
        CHECK_STREQ(s, "{\"dir\":\"${LETHE_DATA}/tofu\",\"format\":\"tofu\"}");
        free(s);
        char *p = config_resolve_path(cfg, "rel/x", &err);
        want = path_join(proj, "rel/x");
        CHECK_STREQ(p, want);
        free(p);
        free(want);
        CHECK_STREQ(p = config_resolve_path(cfg, "/abs/x", &err), "/abs/x");
        free(p);
        CHECK(config_resolve_path(cfg, "${HOME}/x", &err) == NULL);
        strbuf_addf(&sb, "%s: unknown variable '${HOME}' in '${HOME}/x' (only ${LETHE_DATA} is "
                         "defined)", file);
        CHECK_STREQ(err.msg, sb.buf);
        strbuf_reset(&sb);
        config_free(cfg);
    }
    /* relative paths are relative to the file's folder; an unknown variable is an error */
    text = replace(suite, "DIR", "mydata");
    write_file(file, text);
    free(text);
    got = load_data_dir(file, &err);
    CHECK_STREQ(got, want = path_join(proj, "mydata"));
    free(got);
    free(want);
    text = replace(suite, "DIR", "${LETHE_DATA}/${DATA}");
    write_file(file, text);
    free(text);
    CHECK(load_data_dir(file, &err) == NULL);
    strbuf_addf(&sb, "%s: suites[0].data.dir: unknown variable '${DATA}' in '${LETHE_DATA}/${DATA}' "
                     "(only ${LETHE_DATA} is defined)", file);
    CHECK_STREQ(err.msg, sb.buf);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    strbuf_release(&sb);

    /* clean up the temporary tree */
    char *cmd = NULL;
    struct strbuf c = STRBUF_INIT;
    strbuf_addf(&c, "rm -rf '%s'", top);
    cmd = strbuf_detach(&c);
    CHECK_EQ_INT(system(cmd), 0);
    free(cmd);
    free(local);
    free(proj);
    free(file);
    free(data);
    free(shared);
}

/* ---- the repository's suites.json ------------------------------------------------------ */

static void test_repo_suites_json(void)
{
    struct lethe_error err = {0};
    struct config *cfg = config_load("suites.json", &err);
    CHECK(cfg != NULL);
    if (!cfg) {
        printf("# %s\n", err.msg);
        return;
    }
    /* the grids SUITES.md names ("Grids") */
    static const char *const grids[] = {"quick", "tofu", "muse", "wmdp", "semeval", "image",
                                        "multimodal", "nightly", "paper"};
    for (size_t i = 0; i < sizeof(grids) / sizeof(grids[0]); i++) {
        struct job *jobs;
        size_t n = 0;
        CHECK(config_grid(cfg, grids[i]) != NULL);
        CHECK_EQ_INT(config_expand_grid(cfg, grids[i], &jobs, &n, &err), 0);
        CHECK(n > 0);
        jobs_free(jobs, n);
    }

    /* quick: a generated tofu suite and Fashion-MNIST random_1 with the MLP 784-256-128-10,
     * the references and a handful of methods, one seed */
    struct job *jobs;
    size_t n;
    CHECK_EQ_INT(config_expand_grid(cfg, "quick", &jobs, &n, &err), 0);
    int tofu = 0, fmnist = 0, refs = 0;
    for (size_t i = 0; i < n; i++) {
        const struct suite_cfg *s = jobs[i].suite;
        CHECK_EQ_INT(jobs[i].seed, 0);
        refs += jobs[i].method->reference;
        if (strcmp(s->kind, "tofu") == 0) {
            tofu++;
            CHECK(s->data_dir == NULL);   /* generated */
            json_t *model = json_object_get(s->json, "model");
            CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(model, "vocab"), "bpe")),
                         1024);
            CHECK(json_integer_value(json_object_get(model, "n_layer")) <= 2);
        } else {
            CHECK_STREQ(s->kind, "image");
            CHECK_STREQ(jobs[i].split, "random_1");
            char *w = config_canonical_json(json_object_get(s->json, "model"));
            CHECK_STREQ(w, "{\"arch\":\"mlp\",\"widths\":[784,256,128,10]}");
            free(w);
            fmnist++;
        }
    }
    CHECK(tofu >= 4 && fmnist >= 3);
    CHECK_EQ_INT(refs, 4);
    jobs_free(jobs, n);

    /* tofu: the real files, forget01/05/10, every language-model method, seed 1 (issue 5: more
     * seeds with lethe run --seed) */
    const struct suite_cfg *t = config_suite(cfg, "tofu");
    CHECK(t != NULL);
    if (t) {
        CHECK_STREQ(json_string_value(json_object_get(json_object_get(t->json, "data"), "dir")),
                    "${LETHE_DATA}/tofu");
        CHECK_EQ_INT(t->n_splits, 3);
        CHECK_STREQ(t->rank_by, "tofu.forget_quality");
    }
    /* tofu: every method at one lr (the 90-minute grid); tofu_sweep: its lr sweep */
    const char *const tofu_grids[] = {"tofu", "tofu_sweep"};
    size_t n_jobs[2] = {0, 0};
    for (int g = 0; g < 2; g++) {
        CHECK_EQ_INT(config_expand_grid(cfg, tofu_grids[g], &jobs, &n, &err), 0);
        n_jobs[g] = n;
        for (size_t k = 0; k < method_table_count; k++) {
            const struct method *m = &method_table[k];
            if (!(m->kinds & KIND_BIT(SUITE_TOFU)))
                continue;
            size_t configs = 0;
            int seeds = 0;
            for (size_t i = 0; i < n; i++) {
                if (jobs[i].method->info != m || strcmp(jobs[i].split, "forget10") != 0)
                    continue;
                if (jobs[i].seed == 1)
                    configs++;
                seeds |= 1 << jobs[i].seed;
            }
            /* (flat has two configurations in tofu: its KL and TV variants) */
            int ok = g == 0 ? configs >= 1 && configs <= 2 : configs >= 3;
            if (!ok || seeds != 2)
                printf("# %s grid: method %s has %zu configurations, seeds mask %d\n",
                       tofu_grids[g], m->name, configs, seeds);
            CHECK(ok);
            CHECK_EQ_INT(seeds, 2);
        }
        jobs_free(jobs, n);
    }
    CHECK(n_jobs[0] > 0 && 3 * n_jobs[0] < n_jobs[1]);
    config_free(cfg);
}

/* ---- registries ------------------------------------------------------------------------ */

static void check_table(const char *owner, const struct param_spec *table)
{
    for (const struct param_spec *p = table; p && p->name; p++) {
        CHECK(p->help && *p->help);
        CHECK((p->type == PARAM_ENUM || p->type == PARAM_ENUM_LIST) == (p->choices != NULL));
        for (const struct param_spec *q = table; q < p; q++)
            if (strcmp(q->name, p->name) == 0)
                printf("# %s: parameter %s twice\n", owner, p->name), test_cur_failed = 1;
        if (!p->def)
            continue;
        json_error_t jerr;
        json_t *v = json_loads(p->def, JSON_DECODE_ANY, &jerr), *out = NULL;
        struct lethe_error err = {0};
        struct cctx c = {.file = owner, .err = &err};
        if (!v || check_param(&c, p, v, &out) < 0) {
            printf("# %s: default of %s (%s) does not fit: %s\n", owner, p->name, p->def, err.msg);
            test_cur_failed = 1;
        }
        json_decref(v);
        json_decref(out);
    }
}

static void test_registries(void)
{
    /* METHODS.md 1-3: every method it names */
    static const char *const methods[] = {
        "grad_ascent", "grad_diff", "ga_klr", "npo", "npo_gdr", "npo_klr", "simnpo", "idk_nll",
        "idk_dpo", "rmu", "undial", "wga", "satimp", "ce_u", "grin", "flat", "sure_grad_diff",
        "sure_ga_klr", "sure_npo_gdr", "sure_npo_klr", "gwm", "finetune_retain", "random_label",
        "fnn_fixed", "fnn_random", "fnn_rank", "fnn_rank_w", "multigan", "forget_mi"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        CHECK(method_lookup(methods[i]) != NULL);
    CHECK_EQ_INT(method_table_count, sizeof(methods) / sizeof(methods[0]));
    CHECK(method_lookup("original") == NULL && method_lookup("retrain") == NULL);
    check_table("common", method_common_params);
    for (size_t i = 0; i < method_table_count; i++) {
        const struct method *m = &method_table[i];
        CHECK_EQ_INT(m->abi, METHOD_ABI);
        CHECK(m->kinds != 0 && (m->kinds & ~KINDS_ALL) == 0);
        CHECK(m->needs != 0 && m->summary && m->source);
        CHECK(method_lookup(m->name) == m);
        check_table(m->name, m->params);
    }
    /* METHODS.md's defaults, spot-checked */
    CHECK_STREQ(method_param(method_lookup("npo"), "beta")->def, "0.1");
    CHECK_STREQ(method_param(method_lookup("simnpo"), "gamma")->def, "0.125");
    CHECK_STREQ(method_param(method_lookup("satimp"), "gamma")->def, "0.1");
    CHECK_STREQ(method_param(method_lookup("rmu"), "alpha")->def, "100.0");
    CHECK_STREQ(method_param(method_lookup("undial"), "lr_scale")->def, "10.0");
    CHECK_STREQ(method_param(method_lookup("flat"), "variant")->def, "\"kl\"");
    CHECK(method_param(method_lookup("npo"), "lr")->def == NULL);  /* derived from the suite */
    CHECK(method_lookup("multigan")->kinds == KIND_BIT(SUITE_IMAGE));
    char *needs = method_needs_str(method_lookup("idk_dpo")->needs);
    CHECK_STREQ(needs, "F, R, Ref, T");
    free(needs);

    /* ATTACKS.md: the attacks and probes it names */
    static const char *const attacks[] = {
        "loss", "zlib", "reference", "min_k", "min_k20", "min_k_pp", "gradnorm", "conf",
        "entropy", "mentr", "svm_rt", "svm_shadow", "lira", "quant", "relearn", "paraphrase",
        "rephrase_icl", "rephrase_prefix"};
    for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
        CHECK(attack_lookup(attacks[i]) != NULL);
    CHECK_EQ_INT(attack_table_count, sizeof(attacks) / sizeof(attacks[0]));
    for (size_t i = 0; i < attack_table_count; i++) {
        CHECK_EQ_INT(attack_table[i].abi, ATTACK_ABI);
        CHECK(attack_lookup(attack_table[i].name) == &attack_table[i]);
        CHECK(attack_table[i].kinds != 0);
        check_table(attack_table[i].name, attack_table[i].params);
    }
    CHECK(!(attack_lookup("svm_rt")->kinds & KIND_BIT(SUITE_TOFU)));
    CHECK(attack_lookup("quant")->flags & ATTACK_DERIVES_MODELS);

    /* suite kinds, architectures, the recipe */
    for (size_t i = 0; i < SUITE_KIND_COUNT; i++) {
        const struct suite_kind *k = &suite_kind_table[i];
        CHECK_EQ_INT(k->id, i);
        CHECK_EQ_INT(k->abi, SUITE_KIND_ABI);
        CHECK(suite_kind_lookup(k->name) == k);
        CHECK(k->splits[0] && k->formats[0] && k->archs[0]);
        for (const char *const *a = k->archs; *a; a++)
            CHECK(model_arch_lookup(*a) != NULL);
        check_table(k->name, k->gen_params);
        check_table(k->name, k->data_params);
    }
    CHECK(suite_kind_has_split(suite_kind_lookup("image"), "class_9"));
    CHECK(!suite_kind_has_split(suite_kind_lookup("image"), "class_10"));
    CHECK(suite_kind_lookup("image")->gen_params == NULL);
    for (size_t i = 0; i < model_arch_table_count; i++)
        check_table(model_arch_table[i].name, model_arch_table[i].params);
    check_table("train", train_params);
    char *kinds = suite_kinds_str(KINDS_CLASSIFIER);
    CHECK_STREQ(kinds, "image, multimodal");
    free(kinds);
    CHECK(param_choice_ok("kl|js|tv", "js") && !param_choice_ok("kl|js|tv", "j"));
}

/* ---- errors ---------------------------------------------------------------------------- */

static void test_errors(void)
{
    struct lethe_error err = {0};
    CHECK(config_load("/nonexistent/suites.json", &err) == NULL);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "cannot open '/nonexistent/suites.json'");
    CHECK(parse("{'lethe': 1, 'suites': [], 'methods': [{'name': 'a', 'method': 'npo', 'sweep': "
                "{'beta': [0.1, 0.1]}}]}", "e.json", &err) == NULL);
    CHECK_STREQ(err.msg, "e.json: methods[0].sweep.beta[1]: 0.1 is listed twice");
    CHECK(parse("{'lethe': 1, 'suites': [], 'grids': [{'name': 'a', 'summary': 's', 'runs': "
                "[{'grid': 'b'}]}, {'name': 'b', 'summary': 's', 'runs': [{'grid': 'c'}]},"
                " {'name': 'c', 'summary': 's', 'runs': [{'grid': 'b'}]}]}", "e.json", &err) == NULL);
    CHECK_STREQ(err.msg, "e.json: grids[2].runs[0].grid: grid 'b' includes itself (b -> c -> b)");
    CHECK(parse("{'lethe': 1, 'suites': [], 'methods': [{'name': 'x', 'method': 'npo', "
                "'lr': 0.1, 'lr_scale': 2}]}", "e.json", &err) == NULL);
    CHECK_STREQ(err.msg, "e.json: methods[0]: give either 'lr' or 'lr_scale', not both");
    CHECK(parse("{'lethe': 1, 'suites': [], 'methods': [{'name': 'x', 'method': 'npo'}, "
                "{'name': 'y', 'method': 'npo', 'sweep': {'lr': [0.1]}}, {'name': 'x', "
                "'method': 'rmu'}]}", "e.json", &err) == NULL);
    CHECK_STREQ(err.msg, "e.json: methods[2].name: duplicate method configuration 'x' "
                         "(also methods[0])");
    config_free(NULL);
    jobs_free(NULL, 0);
}

int main(void)
{
    RUN(test_canonical_json_matches_python);
    RUN(test_canonical_json_ignores_layout);
    RUN(test_hash_known_value);
    RUN(test_hash_ignores_layout_and_defaults);
    RUN(test_hash_changes_with_what_matters);
    RUN(test_grid_order_sweeps_and_dedup);
    RUN(test_sweep_product_order);
    RUN(test_lethe_data);
    RUN(test_repo_suites_json);
    RUN(test_registries);
    RUN(test_errors);
    return test_done();
}
