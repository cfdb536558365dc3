/* suites.json: the strict parser of suites, method configurations and grids (OVERVIEW.md 4).
 *
 * The format, version 1 (every key is checked: an unknown key, a wrong type, a missing key, a
 * bad value or a dangling reference is an error naming the file and the JSON path):
 *
 *   {"lethe": 1,                                  the format version, required
 *    "suites": [{                                 required (may be empty)
 *      "name": "tofu_small",                      letters, digits, '_', '-', '.'; unique
 *      "kind": "tofu",                            tofu|muse|wmdp|semeval|image|multimodal
 *      "summary": "one line",
 *      "data": {"synthetic": {"seed": 1, ...}}    the kind's generator and its parameters
 *           or {"dir": "${LETHE_DATA}/tofu", "format": "tofu"}   files in a public format
 *              (+ the kind's data options, e.g. muse "forget_chars"),
 *      "splits": ["forget01", "forget10"],        forget splits of the kind, in run order
 *      "model": {"arch": "gpt", "n_layer": 2, ..., "vocab": {"bpe": 1024}},
 *      "train": {"epochs": 20, "lr": 0.001, "batch": 16, ...},   the reference models' recipe
 *      "attacks": ["loss", {"attack": "quant", "bits": [4]}],     optional, default none
 *      "leaderboard": {"headline": ["tofu.forget_quality", ...], "rank_by": "..."}}],
 *    "methods": [{                                optional
 *      "name": "npo", "method": "npo",            a name, and a method of the registry
 *      "summary": "...",                          optional (default: the method's)
 *      "beta": 0.1, ...,                          the method's parameters (lethe list params)
 *      "sweep": {"lr": [1e-05, 2e-05]}}],         optional: one configuration per value,
 *                                                 named "npo@lr=1e-05" (several keys: the
 *                                                 product, "npo@beta=0.1,lr=1e-05")
 *    "grids": [{                                  optional
 *      "name": "quick", "summary": "...",
 *      "runs": [{"suites": [...], "splits": [...], "methods": [...], "seeds": [0, 1]},
 *               {"grid": "tofu"}]}]}              splits optional (default: each suite's);
 *                                                 methods name configurations or sweep
 *                                                 families; {"grid": G} includes grid G
 *
 * 'original' and 'retrain' are the implicit reference runs (METHODS.md 0.4): grids name them,
 * the file cannot define them. Parameters typed as reals are stored as reals, so 1 and 1.0 are
 * the same value; every default is filled in, so writing a default or leaving it out is the
 * same configuration. Paths: ${LETHE_DATA} is the data root ($LETHE_DATA, else data/ beside
 * the file, then ../shared/data beside it: the first under which the path exists); other
 * relative paths are relative to the file's folder. Hashes see paths as written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/attack.h"
#include "harness/config_impl.h"
#include "metrics/metrics.h"

/* ---- lookups and freeing -------------------------------------------------------------- */

const struct suite_cfg *config_suite(const struct config *cfg, const char *name)
{
    for (size_t i = 0; cfg && i < cfg->n_suites; i++)
        if (cfg->suites[i].name && strcmp(cfg->suites[i].name, name) == 0)
            return &cfg->suites[i];
    return NULL;
}

const struct method_cfg *config_method(const struct config *cfg, const char *name)
{
    for (size_t i = 0; cfg && i < cfg->n_methods; i++)
        if (cfg->methods[i].name && strcmp(cfg->methods[i].name, name) == 0)
            return &cfg->methods[i];
    return NULL;
}

const struct grid_cfg *config_grid(const struct config *cfg, const char *name)
{
    for (size_t i = 0; cfg && i < cfg->n_grids; i++)
        if (cfg->grids[i].name && strcmp(cfg->grids[i].name, name) == 0)
            return &cfg->grids[i];
    return NULL;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static char **strv_dup(const char **v, size_t n)
{
    char **out = xcalloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = xstrdup(v[i]);
    return out;
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_suites; i++) {
        struct suite_cfg *s = &cfg->suites[i];
        free(s->name);
        free(s->kind);
        free(s->summary);
        strv_free(s->splits, s->n_splits);
        strv_free(s->headline, s->n_headline);
        free(s->rank_by);
        free(s->data_dir);
        json_decref(s->json);
    }
    free(cfg->suites);
    for (size_t i = 0; i < cfg->n_methods; i++) {
        struct method_cfg *m = &cfg->methods[i];
        free(m->name);
        free(m->method);
        free(m->summary);
        free(m->family);
        json_decref(m->json);
    }
    free(cfg->methods);
    for (size_t i = 0; i < cfg->n_grids; i++) {
        struct grid_cfg *g = &cfg->grids[i];
        for (size_t j = 0; j < g->n_entries; j++) {
            struct grid_entry *e = &g->entries[j];
            strv_free(e->suites, e->n_suites);
            strv_free(e->splits, e->n_splits);
            strv_free(e->methods, e->n_methods);
            free(e->seeds);
            free(e->grid);
        }
        free(g->entries);
        free(g->name);
        free(g->summary);
    }
    free(cfg->grids);
    strv_free(cfg->data_roots, cfg->n_data_roots);
    free(cfg->path);
    free(cfg->dir);
    free(cfg->data_root);
    free(cfg);
}

/* ---- small helpers ---------------------------------------------------------------------- */

/* "a, b or c" of a NULL-terminated list. */
static void list_text(struct strbuf *sb, const char *const *list)
{
    size_t n = 0;
    while (list[n])
        n++;
    for (size_t i = 0; i < n; i++)
        strbuf_addf(sb, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", list[i]);
}

static const char *const *kind_names(void)
{
    static const char *names[SUITE_KIND_COUNT + 1];
    for (size_t i = 0; i < SUITE_KIND_COUNT; i++)
        names[i] = suite_kind_table[i].name;
    return names;
}

/* ---- suites ----------------------------------------------------------------------------- */

static const struct param_spec seed_row[] = {
    {"seed", PARAM_INT, NULL, NULL, "seed of the generator"},
    {NULL, 0, NULL, NULL, NULL},
};

static int parse_data(struct cctx *c, const json_t *v, const struct suite_kind *kind,
                      struct suite_cfg *s, json_t *out)
{
    static const char *const skip[] = {"synthetic", "dir", "format", NULL};
    int rc = check_params(c, v, skip, kind->data_params, NULL, 1, NULL, out);
    if (rc < 0)
        return rc;
    const json_t *syn = json_object_get(v, "synthetic"), *dir = json_object_get(v, "dir");
    const json_t *fmt = json_object_get(v, "format");
    if (!syn && !dir)
        return cerr(c, "missing key 'synthetic' or 'dir'");
    if (syn && dir)
        return cerr(c, "give either 'synthetic' or 'dir', not both");
    if (syn) {
        size_t old = cpath_key(c, "synthetic");
        if (!kind->gen_params) {
            rc = cerr(c, "kind '%s' has no generator (give its files with 'dir')", kind->name);
        } else {
            json_t *gen = json_object();
            rc = check_params(c, syn, NULL, seed_row, kind->gen_params, 1, NULL, gen);
            json_object_set_new(out, "synthetic", gen);
        }
        cpath_pop(c, old);
        if (rc == 0 && fmt) {
            old = cpath_key(c, "format");
            rc = cerr(c, "only data in a 'dir' has a format");
            cpath_pop(c, old);
        }
        return rc;
    }
    const char *written;
    if ((rc = get_text(c, v, "dir", &written)) < 0)
        return rc;
    size_t old = cpath_key(c, "dir");
    rc = check_path_vars(c, written);
    cpath_pop(c, old);
    if (rc < 0)
        return rc;
    const char *format = kind->formats[0];
    if (fmt) {
        old = cpath_key(c, "format");
        if (!json_is_string(fmt)) {
            rc = cerr(c, "expected a string");
        } else if (!suite_kind_has_format(kind, json_string_value(fmt))) {
            struct strbuf sb = STRBUF_INIT;
            list_text(&sb, kind->formats);
            rc = cerr(c, "unknown format '%s' for kind %s (expected %s)", json_string_value(fmt),
                      kind->name, sb.buf);
            strbuf_release(&sb);
        } else {
            format = json_string_value(fmt);
        }
        cpath_pop(c, old);
        if (rc < 0)
            return rc;
    }
    json_object_set_new(out, "dir", json_string(written));
    json_object_set_new(out, "format", json_string(format));
    s->data_dir = config_resolve_path(c->cfg, written, c->err);
    LETHE_ASSERT(s->data_dir);
    return 0;
}

static int parse_model(struct cctx *c, const json_t *v, const struct suite_kind *kind, json_t *out)
{
    if (!json_is_object(v))
        return cerr(c, "expected an object");
    const json_t *a = json_object_get(v, "arch");
    if (!a)
        return cerr(c, "missing key 'arch'");
    size_t old = cpath_key(c, "arch");
    int rc = 0;
    if (!json_is_string(a)) {
        rc = cerr(c, "expected a string");
    } else if (!suite_kind_has_arch(kind, json_string_value(a))) {
        struct strbuf sb = STRBUF_INIT;
        list_text(&sb, kind->archs);
        rc = cerr(c, "unknown architecture '%s' for kind %s (expected %s)", json_string_value(a),
                  kind->name, sb.buf);
        strbuf_release(&sb);
    }
    cpath_pop(c, old);
    if (rc < 0)
        return rc;
    const struct model_arch *arch = model_arch_lookup(json_string_value(a));
    LETHE_ASSERT(arch);
    static const char *const skip[] = {"arch", NULL};
    if ((rc = check_params(c, v, skip, arch->params, NULL, 1, NULL, out)) < 0)
        return rc;
    json_object_set_new(out, "arch", json_string(arch->name));
    if (strcmp(arch->name, "gpt") == 0) {
        json_int_t head = json_integer_value(json_object_get(out, "n_head"));
        json_int_t embd = json_integer_value(json_object_get(out, "n_embd"));
        if (embd % head != 0) {
            old = cpath_key(c, "n_embd");
            rc = cerr(c, "must be a multiple of n_head (%" JSON_INTEGER_FORMAT "), got %"
                      JSON_INTEGER_FORMAT, head, embd);
            cpath_pop(c, old);
        }
    } else if (strcmp(arch->name, "mlp") == 0) {
        const json_t *w = json_object_get(out, "widths");
        size_t n = json_array_size(w);
        old = cpath_key(c, "widths");
        if (n < 2) {
            rc = cerr(c, "expected at least 2 widths (inputs and classes)");
        } else if (kind->id == SUITE_IMAGE) {
            json_int_t first = json_integer_value(json_array_get(w, 0));
            json_int_t last = json_integer_value(json_array_get(w, n - 1));
            if (first != 784) {
                cpath_idx(c, 0);
                rc = cerr(c, "must be 784 (28x28 pixels), got %" JSON_INTEGER_FORMAT, first);
            } else if (last != 10) {
                cpath_idx(c, n - 1);
                rc = cerr(c, "must be 10 (classes), got %" JSON_INTEGER_FORMAT, last);
            }
        }
        cpath_pop(c, old);
    }
    return rc;
}

/* The attack named by element e of "attacks" (a name, or an object with "attack"). */
static int attack_of(struct cctx *c, const json_t *e, const struct attack **out)
{
    const json_t *n = e;
    if (json_is_object(e)) {
        if (!(n = json_object_get(e, "attack")))
            return cerr(c, "missing key 'attack'");
    } else if (!json_is_string(e)) {
        return cerr(c, "expected an attack name or an object");
    }
    size_t old = json_is_object(e) ? cpath_key(c, "attack") : c->len;
    int rc = 0;
    if (!json_is_string(n)) {
        rc = cerr(c, "expected a string");
    } else if (!(*out = attack_lookup(json_string_value(n)))) {
        const char **names = xcalloc(attack_table_count, sizeof(*names));
        for (size_t k = 0; k < attack_table_count; k++)
            names[k] = attack_table[k].name;
        const char *hint = did_you_mean(json_string_value(n), names, attack_table_count);
        rc = cerr(c, "unknown attack '%s'%s", json_string_value(n),
                  *hint ? hint : " (see 'lethe list attacks')");
        free(names);
    }
    cpath_pop(c, old);
    return rc;
}

static int parse_attacks(struct cctx *c, const json_t *v, const struct suite_kind *kind,
                         json_t *out)
{
    if (!json_is_array(v))
        return cerr(c, "expected an array");
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        size_t old = cpath_idx(c, i);
        const struct attack *a = NULL;
        int rc = attack_of(c, e, &a);
        if (rc == 0 && !(a->kinds & KIND_BIT(kind->id)))
            rc = cerr(c, "attack '%s' does not apply to %s suites", a->name, kind->name);
        for (size_t k = 0; rc == 0 && k < json_array_size(out); k++)
            if (strcmp(json_string_value(json_object_get(json_array_get(out, k), "attack")),
                       a->name) == 0)
                rc = cerr(c, "attack '%s' is listed twice", a->name);
        json_t *opts = json_object();
        if (rc == 0) {
            static const char *const skip[] = {"attack", NULL};
            char owner[96];
            snprintf(owner, sizeof(owner), "attack '%s'", a->name);
            json_t *given = json_is_object(e) ? json_incref((json_t *)e) : json_object();
            rc = check_params(c, given, skip, a->params, NULL, 0, owner, opts);
            json_decref(given);
        }
        cpath_pop(c, old);
        if (rc < 0) {
            json_decref(opts);
            return rc;
        }
        json_object_set_new(opts, "attack", json_string(a->name));
        json_array_append_new(out, opts);
    }
    return 0;
}

/* The attack a "<kind>.mia.<attack>.<stat>" name needs, copied into buf; 0 for other names. */
static int mia_attack(const char *metric, char *buf, size_t n)
{
    const char *m = strstr(metric, ".mia.");
    if (!m)
        return 0;
    m += strlen(".mia.");
    const char *dot = strchr(m, '.');
    size_t len = dot ? (size_t)(dot - m) : strlen(m);
    if (len == 0 || len >= n)
        return 0;
    memcpy(buf, m, len);
    buf[len] = '\0';
    return 1;
}

static int suite_runs_attack(const json_t *attacks, const char *name)
{
    for (size_t k = 0; k < json_array_size(attacks); k++)
        if (strcmp(json_string_value(json_object_get(json_array_get(attacks, k), "attack")),
                   name) == 0)
            return 1;
    return 0;
}

static int parse_leaderboard(struct cctx *c, const json_t *v, const struct suite_kind *kind,
                             const json_t *attacks, struct suite_cfg *s)
{
    static const char *const keys[] = {"headline", "rank_by", NULL};
    static const char *const required[] = {"headline", NULL};
    int rc = check_object(c, v, keys, required);
    if (rc < 0)
        return rc;
    const char **names;
    size_t n;
    size_t old = cpath_key(c, "headline");
    if ((rc = check_string_list(c, json_object_get(v, "headline"), &names, &n)) < 0) {
        cpath_pop(c, old);
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t o2 = cpath_idx(c, i);
        size_t kl = strlen(kind->name);
        char need[64];
        if (strncmp(names[i], kind->name, kl) != 0 || names[i][kl] != '.')
            rc = cerr(c, "'%s' is not a %s metric (its names start with '%s.')", names[i],
                      kind->name, kind->name);
        else if (!metric_lookup(names[i]))
            rc = cerr(c, "unknown metric '%s' (see 'lethe list metrics')", names[i]);
        else if (mia_attack(names[i], need, sizeof(need)) && !suite_runs_attack(attacks, need))
            rc = cerr(c, "'%s' needs the attack '%s', which the suite does not run", names[i], need);
        cpath_pop(c, o2);
    }
    cpath_pop(c, old);
    const char *rank = n ? names[0] : NULL;
    if (rc == 0 && json_object_get(v, "rank_by")) {
        old = cpath_key(c, "rank_by");
        const json_t *r = json_object_get(v, "rank_by");
        if (!json_is_string(r)) {
            rc = cerr(c, "expected a string");
        } else {
            rank = json_string_value(r);
            int found = 0;
            for (size_t i = 0; i < n; i++)
                found |= strcmp(names[i], rank) == 0;
            if (!found)
                rc = cerr(c, "'%s' is not one of the headline metrics", rank);
        }
        cpath_pop(c, old);
    }
    if (rc == 0 && metric_lookup(rank)->dir == METRIC_INFO) {
        old = cpath_key(c, json_object_get(v, "rank_by") ? "rank_by" : "headline[0]");
        rc = cerr(c, "'%s' is reported, not ranked (direction info): rank by another metric",
                  rank);
        cpath_pop(c, old);
    }
    if (rc == 0) {
        s->headline = strv_dup(names, n);
        s->n_headline = n;
        s->rank_by = xstrdup(rank);
    }
    free(names);
    return rc;
}

static const char *const suite_keys[] = {
    "name", "kind", "summary", "data", "splits", "model", "train", "attacks", "leaderboard", NULL};
static const char *const suite_required[] = {
    "name", "kind", "summary", "data", "splits", "model", "train", "leaderboard", NULL};

static int parse_suite(struct cctx *c, const json_t *v, size_t index, struct suite_cfg *s)
{
    int rc = check_object(c, v, suite_keys, suite_required);
    if (rc < 0)
        return rc;
    const char *name, *summary;
    AT(c, "name", check_name(c, json_object_get(v, "name"), &name));
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < index; i++)
        if (strcmp(c->cfg->suites[i].name, name) == 0) {
            AT(c, "name", cerr(c, "duplicate suite '%s' (also suites[%zu])", name, i));
            return rc;
        }
    s->name = xstrdup(name);

    const json_t *k = json_object_get(v, "kind");
    const struct suite_kind *kind = NULL;
    if (!json_is_string(k)) {
        AT(c, "kind", cerr(c, "expected a string"));
        return rc;
    }
    if (!(kind = suite_kind_lookup(json_string_value(k)))) {
        struct strbuf sb = STRBUF_INIT;
        list_text(&sb, kind_names());
        AT(c, "kind", cerr(c, "unknown kind '%s' (expected %s)", json_string_value(k), sb.buf));
        strbuf_release(&sb);
        return rc;
    }
    s->kind = xstrdup(kind->name);
    s->kind_info = kind;
    if ((rc = get_text(c, v, "summary", &summary)) < 0)
        return rc;
    s->summary = xstrdup(summary);

    json_t *res = json_object();
    s->json = res;
    json_object_set_new(res, "name", json_string(name));
    json_object_set_new(res, "kind", json_string(kind->name));

    json_t *data = json_object();
    json_object_set_new(res, "data", data);
    AT(c, "data", parse_data(c, json_object_get(v, "data"), kind, s, data));
    if (rc < 0)
        return rc;

    const char **splits;
    size_t n;
    AT(c, "splits", check_string_list(c, json_object_get(v, "splits"), &splits, &n));
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (suite_kind_has_split(kind, splits[i]))
            continue;
        struct strbuf sb = STRBUF_INIT;
        list_text(&sb, kind->splits);
        size_t old = cpath_key(c, "splits");
        cpath_idx(c, i);
        rc = cerr(c, "unknown split '%s' for kind %s (expected %s)", splits[i], kind->name, sb.buf);
        cpath_pop(c, old);
        strbuf_release(&sb);
        free(splits);
        return rc;
    }
    s->splits = strv_dup(splits, n);
    s->n_splits = n;
    free(splits);

    json_t *model = json_object();
    json_object_set_new(res, "model", model);
    AT(c, "model", parse_model(c, json_object_get(v, "model"), kind, model));
    if (rc < 0)
        return rc;
    json_t *train = json_object();
    json_object_set_new(res, "train", train);
    AT(c, "train", check_params(c, json_object_get(v, "train"), NULL, train_params, NULL, 1, NULL,
                                train));
    if (rc < 0)
        return rc;
    json_t *attacks = json_array();
    json_object_set_new(res, "attacks", attacks);
    if (json_object_get(v, "attacks")) {
        AT(c, "attacks", parse_attacks(c, json_object_get(v, "attacks"), kind, attacks));
        if (rc < 0)
            return rc;
    }
    AT(c, "leaderboard", parse_leaderboard(c, json_object_get(v, "leaderboard"), kind, attacks, s));
    return rc;
}

/* ---- the file ------------------------------------------------------------------------------ */

struct config *config_parse(const char *text, const char *path, struct lethe_error *err)
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        lethe_err(err, LETHE_EINPUT, "%s:%d:%d: invalid JSON: %s", path, jerr.line,
                  jerr.column > 0 ? jerr.column : 1, jerr.text);
        return NULL;
    }
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    cfg->path = xstrdup(path);
    cfg->dir = path_dirname(path);
    config_data_roots(cfg);
    struct cctx ctx = {.file = path, .cfg = cfg, .err = err}, *c = &ctx;
    static const char *const keys[] = {"lethe", "suites", "methods", "grids", NULL};
    static const char *const required[] = {"lethe", "suites", NULL};
    int rc = 0;
    const json_t *ver = json_object_get(root, "lethe");
    if (!json_is_object(root)) {
        rc = cerr(c, "expected an object at the top level");
    } else if (ver && !json_is_integer(ver)) {
        AT(c, "lethe", cerr(c, "expected an integer (the format version, %d)", CONFIG_FORMAT));
    } else if (ver && json_integer_value(ver) != CONFIG_FORMAT) {
        AT(c, "lethe", cerr(c, "unsupported format version %" JSON_INTEGER_FORMAT
                            " (this Lethe reads version %d)", json_integer_value(ver),
                            CONFIG_FORMAT));
    } else {
        rc = check_object(c, root, keys, required);
    }

    const json_t *suites = json_object_get(root, "suites");
    if (rc == 0 && !json_is_array(suites))
        AT(c, "suites", cerr(c, "expected an array"));
    if (rc == 0) {
        cfg->suites = xcalloc(json_array_size(suites) + 1, sizeof(*cfg->suites));
        for (size_t i = 0; rc == 0 && i < json_array_size(suites); i++) {
            size_t old = cpath_key(c, "suites");
            cpath_idx(c, i);
            cfg->n_suites = i + 1;
            rc = parse_suite(c, json_array_get(suites, i), i, &cfg->suites[i]);
            cpath_pop(c, old);
        }
    }

    if (rc == 0)
        AT(c, "methods", methods_parse(c, json_object_get(root, "methods")));

    if (rc == 0 && json_object_get(root, "grids"))
        AT(c, "grids", grids_parse(c, json_object_get(root, "grids")));
    if (rc == 0)
        rc = grids_resolve(c);
    json_decref(root);
    if (rc < 0) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

struct config *config_load(const char *path, struct lethe_error *err)
{
    char *text;
    if (file_read_all(path, &text, NULL, err) < 0)
        return NULL;
    struct config *cfg = config_parse(text, path, err);
    free(text);
    return cfg;
}
