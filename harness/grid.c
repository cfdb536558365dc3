/* Grids of suites.json: their parsing and checks, and their expansion into jobs with a stable
 * order and a config hash that does not depend on the machine or the file's layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/config_impl.h"
#include "methods/method.h"

/* ---- parsing ------------------------------------------------------------------------------ */

/* Does the method configuration or family `name` exist; calls fn on each member. */
static size_t method_members(const struct config *cfg, const char *name,
                             const struct method_cfg **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_methods; i++) {
        const struct method_cfg *m = &cfg->methods[i];
        if (strcmp(m->name, name) == 0 || strcmp(m->family, name) == 0) {
            if (out && n < max)
                out[n] = m;
            n++;
        }
    }
    return n;
}

static int parse_seeds(struct cctx *c, const json_t *v, struct grid_entry *e)
{
    if (!json_is_array(v))
        return cerr(c, "expected an array");
    if (json_array_size(v) == 0)
        return cerr(c, "expected a non-empty array");
    e->seeds = xcalloc(json_array_size(v), sizeof(*e->seeds));
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *s = json_array_get(v, i);
        size_t old = cpath_idx(c, i);
        int rc = 0;
        if (!json_is_integer(s))
            rc = cerr(c, "expected an integer");
        else if (json_integer_value(s) < 0)
            rc = cerr(c, "must be at least 0, got %" JSON_INTEGER_FORMAT, json_integer_value(s));
        else if (json_integer_value(s) > 2147483647)
            rc = cerr(c, "must be at most 2147483647, got %" JSON_INTEGER_FORMAT,
                      json_integer_value(s));
        for (size_t j = 0; rc == 0 && j < e->n_seeds; j++)
            if (e->seeds[j] == (long)json_integer_value(s))
                rc = cerr(c, "seed %ld is listed twice", e->seeds[j]);
        cpath_pop(c, old);
        if (rc < 0)
            return rc;
        e->seeds[e->n_seeds++] = (long)json_integer_value(s);
    }
    return 0;
}

static char **dup_list(const char **v, size_t n)
{
    char **out = xcalloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = xstrdup(v[i]);
    return out;
}

static int parse_run(struct cctx *c, const json_t *v, struct grid_entry *e)
{
    static const char *const keys[] = {"suites", "splits", "methods", "seeds", "grid", NULL};
    static const char *const required[] = {"suites", "methods", "seeds", NULL};
    int rc;
    const json_t *g = json_object_get(v, "grid");
    if (json_is_object(v) && g) {
        const char *name;
        if ((rc = check_object(c, v, keys, NULL)) < 0)
            return rc;
        if (json_object_size(v) > 1) {
            const char *key;
            json_t *val;
            json_object_foreach((json_t *)v, key, val)
                if (strcmp(key, "grid") != 0)
                    break;
            return cerr(c, "a run that includes a grid has no other key (found '%s')", key);
        }
        AT(c, "grid", check_name(c, g, &name));
        if (rc == 0)
            e->grid = xstrdup(name);
        return rc;
    }
    if ((rc = check_object(c, v, keys, required)) < 0)
        return rc;
    const struct config *cfg = c->cfg;

    const char **suites;
    size_t ns;
    AT(c, "suites", check_string_list(c, json_object_get(v, "suites"), &suites, &ns));
    if (rc < 0)
        return rc;
    e->suites = dup_list(suites, ns);
    e->n_suites = ns;
    free(suites);
    for (size_t i = 0; i < ns; i++) {
        if (config_suite(cfg, e->suites[i]))
            continue;
        const char **names = xcalloc(cfg->n_suites + 1, sizeof(*names));
        for (size_t k = 0; k < cfg->n_suites; k++)
            names[k] = cfg->suites[k].name;
        size_t old = cpath_key(c, "suites");
        cpath_idx(c, i);
        rc = cerr(c, "unknown suite '%s'%s", e->suites[i], did_you_mean(e->suites[i], names,
                                                                        cfg->n_suites));
        cpath_pop(c, old);
        free(names);
        return rc;
    }

    if (json_object_get(v, "splits")) {
        const char **splits;
        size_t np;
        AT(c, "splits", check_string_list(c, json_object_get(v, "splits"), &splits, &np));
        if (rc < 0)
            return rc;
        e->splits = dup_list(splits, np);
        e->n_splits = np;
        free(splits);
        for (size_t i = 0; i < np; i++)
            for (size_t k = 0; k < ns; k++) {
                const struct suite_cfg *s = config_suite(cfg, e->suites[k]);
                int found = 0;
                for (size_t j = 0; j < s->n_splits; j++)
                    found |= strcmp(s->splits[j], e->splits[i]) == 0;
                if (found)
                    continue;
                struct strbuf sb = STRBUF_INIT;
                for (size_t j = 0; j < s->n_splits; j++)
                    strbuf_addf(&sb, "%s%s", j ? ", " : "", s->splits[j]);
                size_t old = cpath_key(c, "splits");
                cpath_idx(c, i);
                rc = cerr(c, "suite '%s' has no split '%s' (it has %s)", s->name, e->splits[i],
                          sb.buf);
                cpath_pop(c, old);
                strbuf_release(&sb);
                return rc;
            }
    }

    const char **methods;
    size_t nm;
    AT(c, "methods", check_string_list(c, json_object_get(v, "methods"), &methods, &nm));
    if (rc < 0)
        return rc;
    e->methods = dup_list(methods, nm);
    e->n_methods = nm;
    free(methods);
    for (size_t i = 0; i < nm && rc == 0; i++) {
        size_t old = cpath_key(c, "methods");
        cpath_idx(c, i);
        const struct method_cfg *first;
        if (method_members(cfg, e->methods[i], &first, 1) == 0) {
            const char **names = xcalloc(2 * cfg->n_methods + 1, sizeof(*names));
            for (size_t k = 0; k < cfg->n_methods; k++) {
                names[2 * k] = cfg->methods[k].name;
                names[2 * k + 1] = cfg->methods[k].family;
            }
            rc = cerr(c, "unknown method configuration '%s'%s", e->methods[i],
                      did_you_mean(e->methods[i], names, 2 * cfg->n_methods));
            free(names);
        } else if (first->info) {
            for (size_t k = 0; k < ns && rc == 0; k++) {
                const struct suite_cfg *s = config_suite(cfg, e->suites[k]);
                if (!(first->info->kinds & KIND_BIT(s->kind_info->id)))
                    rc = cerr(c, "method '%s' does not apply to %s suites (suite '%s')",
                              first->info->name, s->kind, s->name);
            }
        }
        cpath_pop(c, old);
    }
    if (rc < 0)
        return rc;
    AT(c, "seeds", parse_seeds(c, json_object_get(v, "seeds"), e));
    return rc;
}

static int parse_grid(struct cctx *c, const json_t *v, size_t index, struct grid_cfg *g)
{
    static const char *const keys[] = {"name", "summary", "runs", NULL};
    int rc = check_object(c, v, keys, keys);
    if (rc < 0)
        return rc;
    const char *name;
    AT(c, "name", check_name(c, json_object_get(v, "name"), &name));
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < index; i++)
        if (strcmp(c->cfg->grids[i].name, name) == 0) {
            AT(c, "name", cerr(c, "duplicate grid '%s' (also grids[%zu])", name, i));
            return rc;
        }
    g->name = xstrdup(name);
    const json_t *s = json_object_get(v, "summary");
    if (!json_is_string(s) || !*json_string_value(s)) {
        AT(c, "summary", cerr(c, json_is_string(s) ? "must not be empty" : "expected a string"));
        return rc;
    }
    g->summary = xstrdup(json_string_value(s));
    const json_t *runs = json_object_get(v, "runs");
    if (!json_is_array(runs) || json_array_size(runs) == 0) {
        AT(c, "runs", cerr(c, json_is_array(runs) ? "expected a non-empty array"
                                                  : "expected an array"));
        return rc;
    }
    g->entries = xcalloc(json_array_size(runs), sizeof(*g->entries));
    for (size_t i = 0; i < json_array_size(runs) && rc == 0; i++) {
        size_t old = cpath_key(c, "runs");
        cpath_idx(c, i);
        g->n_entries = i + 1;
        rc = parse_run(c, json_array_get(runs, i), &g->entries[i]);
        cpath_pop(c, old);
    }
    return rc;
}

int grids_parse(struct cctx *c, const json_t *v)
{
    if (!json_is_array(v))
        return cerr(c, "expected an array");
    struct config *cfg = c->cfg;
    cfg->grids = xcalloc(json_array_size(v) + 1, sizeof(*cfg->grids));
    int rc = 0;
    for (size_t i = 0; i < json_array_size(v) && rc == 0; i++) {
        size_t old = cpath_idx(c, i);
        cfg->n_grids = i + 1;
        rc = parse_grid(c, json_array_get(v, i), i, &cfg->grids[i]);
        cpath_pop(c, old);
    }
    return rc;
}

/* Depth-first walk of the includes of grid gi; chain holds the grids on the current path. */
static int check_includes(struct cctx *c, size_t gi, size_t *chain, size_t depth,
                          unsigned char *done)
{
    const struct config *cfg = c->cfg;
    for (size_t j = 0; j < cfg->grids[gi].n_entries; j++) {
        const char *inc = cfg->grids[gi].entries[j].grid;
        if (!inc)
            continue;
        const struct grid_cfg *t = config_grid(cfg, inc);
        int rc = 0;
        /* errors are reported at the include that closes the loop or names nothing */
        size_t old = cpath_key(c, "grids");
        cpath_idx(c, gi);
        cpath_key(c, "runs");
        cpath_idx(c, j);
        cpath_key(c, "grid");
        if (!t) {
            const char **names = xcalloc(cfg->n_grids + 1, sizeof(*names));
            for (size_t k = 0; k < cfg->n_grids; k++)
                names[k] = cfg->grids[k].name;
            rc = cerr(c, "unknown grid '%s'%s", inc, did_you_mean(inc, names, cfg->n_grids));
            free(names);
        } else {
            size_t ti = (size_t)(t - cfg->grids);
            for (size_t k = 0; k < depth && rc == 0; k++) {
                if (chain[k] != ti)
                    continue;
                struct strbuf sb = STRBUF_INIT;
                for (size_t m = k; m < depth; m++)
                    strbuf_addf(&sb, "%s -> ", cfg->grids[chain[m]].name);
                strbuf_adds(&sb, t->name);
                rc = cerr(c, "grid '%s' includes itself (%s)", t->name, sb.buf);
                strbuf_release(&sb);
            }
            if (rc == 0 && !done[ti]) {
                cpath_pop(c, old);
                chain[depth] = ti;
                rc = check_includes(c, ti, chain, depth + 1, done);
                old = c->len;
            }
        }
        cpath_pop(c, old);
        if (rc < 0)
            return rc;
    }
    done[gi] = 1;
    return 0;
}

int grids_resolve(struct cctx *c)
{
    size_t n = c->cfg->n_grids;
    size_t *chain = xcalloc(n + 1, sizeof(*chain));
    unsigned char *done = xcalloc(n + 1, 1);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (done[i])
            continue;
        chain[0] = i;
        rc = check_includes(c, i, chain, 1, done);
    }
    free(chain);
    free(done);
    return rc;
}

/* ---- expansion ------------------------------------------------------------------------------ */

struct expansion {
    struct job *jobs;
    size_t n, cap;
    size_t *slots;              /* open addressing over (hash, seed): job index + 1, 0 empty */
    size_t nslots;
};

static uint64_t job_key(const char *hash, long seed)
{
    uint64_t h = 0;
    for (int i = 0; i < 16; i++)
        h = h * 16 + (uint64_t)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
    return h ^ ((uint64_t)seed * 0x9e3779b97f4a7c15ull);
}

static int seen(struct expansion *x, const char *hash, long seed)
{
    if (x->nslots < 2 * (x->n + 1)) {
        size_t ns = x->nslots ? x->nslots * 2 : 64;
        while (ns < 2 * (x->n + 1))
            ns *= 2;
        free(x->slots);
        x->slots = xcalloc(ns, sizeof(*x->slots));
        x->nslots = ns;
        for (size_t i = 0; i < x->n; i++) {
            size_t s = job_key(x->jobs[i].hash, x->jobs[i].seed) & (ns - 1);
            while (x->slots[s])
                s = (s + 1) & (ns - 1);
            x->slots[s] = i + 1;
        }
    }
    size_t s = job_key(hash, seed) & (x->nslots - 1);
    for (; x->slots[s]; s = (s + 1) & (x->nslots - 1)) {
        const struct job *j = &x->jobs[x->slots[s] - 1];
        if (j->seed == seed && strcmp(j->hash, hash) == 0)
            return 1;
    }
    return 0;
}

static void add_job(struct expansion *x, const struct suite_cfg *s, const char *split,
                    const struct method_cfg *m, long seed, const char *resolved,
                    const char *hash)
{
    if (seen(x, hash, seed))
        return;
    xgrow(&x->jobs, &x->cap, x->n + 1, sizeof(*x->jobs));
    struct job *j = &x->jobs[x->n];
    j->suite = s;
    j->split = split;
    j->method = m;
    j->seed = seed;
    j->resolved_json = xstrdup(resolved);
    memcpy(j->hash, hash, 65);
    size_t slot = job_key(hash, seed) & (x->nslots - 1);
    while (x->slots[slot])
        slot = (slot + 1) & (x->nslots - 1);
    x->slots[slot] = ++x->n;
}

static void expand_entry(const struct config *cfg, const struct grid_entry *e, struct expansion *x)
{
    if (e->grid) {
        const struct grid_cfg *g = config_grid(cfg, e->grid);
        LETHE_ASSERT(g);    /* checked by grids_resolve, which also rules out loops */
        for (size_t i = 0; i < g->n_entries; i++)
            expand_entry(cfg, &g->entries[i], x);
        return;
    }
    for (size_t si = 0; si < e->n_suites; si++) {
        const struct suite_cfg *s = config_suite(cfg, e->suites[si]);
        LETHE_ASSERT(s);
        char **splits = e->splits ? e->splits : s->splits;
        size_t nsplits = e->splits ? e->n_splits : s->n_splits;
        for (size_t pi = 0; pi < nsplits; pi++) {
            /* the split as the suite owns it, so jobs borrow from the suite */
            const char *split = NULL;
            for (size_t k = 0; k < s->n_splits; k++)
                if (strcmp(s->splits[k], splits[pi]) == 0)
                    split = s->splits[k];
            LETHE_ASSERT(split);
            for (size_t mi = 0; mi < e->n_methods; mi++) {
                size_t nm = method_members(cfg, e->methods[mi], NULL, 0);
                const struct method_cfg **members = xcalloc(nm, sizeof(*members));
                method_members(cfg, e->methods[mi], members, nm);
                for (size_t k = 0; k < nm; k++) {
                    json_t *r = json_object();
                    json_object_set_new(r, "lethe", json_integer(CONFIG_FORMAT));
                    json_object_set(r, "suite", s->json);
                    json_object_set_new(r, "split", json_string(split));
                    json_object_set(r, "method", members[k]->json);
                    char *resolved = config_canonical_json(r);
                    json_decref(r);
                    char hash[65];
                    sha256_hex(resolved, strlen(resolved), hash);
                    for (size_t di = 0; di < e->n_seeds; di++)
                        add_job(x, s, split, members[k], e->seeds[di], resolved, hash);
                    free(resolved);
                }
                free(members);
            }
        }
    }
}

int config_expand_grid(const struct config *cfg, const char *grid, struct job **jobs, size_t *n,
                       struct lethe_error *err)
{
    *jobs = NULL;
    *n = 0;
    const struct grid_cfg *g = config_grid(cfg, grid);
    if (!g) {
        struct strbuf sb = STRBUF_INIT;
        for (size_t i = 0; i < cfg->n_grids; i++)
            strbuf_addf(&sb, "%s%s", i ? ", " : "", cfg->grids[i].name);
        int rc = lethe_err(err, LETHE_EINPUT, "%s: no grid '%s' (it has %s)", cfg->path, grid,
                           sb.len ? sb.buf : "none");
        strbuf_release(&sb);
        return rc;
    }
    struct expansion x = {0};
    for (size_t i = 0; i < g->n_entries; i++)
        expand_entry(cfg, &g->entries[i], &x);
    free(x.slots);
    *jobs = x.jobs;
    *n = x.n;
    return 0;
}

void jobs_free(struct job *jobs, size_t n)
{
    for (size_t i = 0; jobs && i < n; i++)
        free(jobs[i].resolved_json);
    free(jobs);
}
