/* suites.json "methods": named method configurations checked against the method registry,
 * their sweeps, and the implicit reference runs 'original' and 'retrain'. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/config_impl.h"
#include "methods/method.h"

static struct method_cfg *method_add(struct config *cfg, size_t *cap)
{
    xgrow(&cfg->methods, cap, cfg->n_methods + 1, sizeof(*cfg->methods));
    struct method_cfg *m = &cfg->methods[cfg->n_methods++];
    memset(m, 0, sizeof(*m));
    return m;
}

static void add_reference(struct config *cfg, size_t *cap, const char *name, const char *summary)
{
    struct method_cfg *m = method_add(cfg, cap);
    m->name = xstrdup(name);
    m->method = xstrdup(name);
    m->family = xstrdup(name);
    m->summary = xstrdup(summary);
    m->reference = 1;
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(name));
    json_object_set_new(j, "method", json_string(name));
    m->json = j;
}

/* Appends "key=value" of a swept value to a configuration's name. */
static void name_value(struct strbuf *sb, const char *key, const json_t *v)
{
    strbuf_addf(sb, "%s=", key);
    if (json_is_string(v))
        strbuf_adds(sb, json_string_value(v));
    else
        canon_json(sb, v);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks "sweep" of a method entry: {param: [values...]}; sets *keys (sorted, borrowed from
 * sweep, returned array) and fills values with a normalised array per key. */
static int parse_sweep(struct cctx *c, const json_t *sweep, const struct method *desc,
                       const json_t *given, const char ***keys, size_t *nkeys, json_t *values)
{
    if (!json_is_object(sweep))
        return cerr(c, "expected an object");
    if (json_object_size(sweep) == 0)
        return cerr(c, "expected at least one parameter to sweep");
    size_t n = 0;
    const char **k = xcalloc(json_object_size(sweep), sizeof(*k));
    const char *key;
    json_t *val;
    int rc = 0;
    json_object_foreach((json_t *)sweep, key, val) {
        const struct param_spec *p = method_param(desc, key);
        if (!p) {
            size_t nn = 0;
            const char **names = xcalloc(64, sizeof(*names));
            for (int pass = 0; pass < 2; pass++)
                for (const struct param_spec *q = pass ? method_common_params : desc->params;
                     q && q->name && nn < 64; q++)
                    names[nn++] = q->name;
            rc = cerr(c, "unknown parameter '%s' of method '%s'%s", key, desc->name,
                      did_you_mean(key, names, nn));
            free(names);
            break;
        }
        size_t old = cpath_key(c, key);
        if (json_object_get(given, key)) {
            rc = cerr(c, "'%s' is also given outside the sweep", key);
        } else if (p->type == PARAM_COUNT_LIST || p->type == PARAM_ENUM_LIST ||
                   p->type == PARAM_VOCAB) {
            rc = cerr(c, "a list parameter cannot be swept");
        } else if (!json_is_array(val) || json_array_size(val) == 0) {
            rc = cerr(c, json_is_array(val) ? "expected a non-empty array" : "expected an array");
        } else {
            json_t *list = json_array();
            for (size_t i = 0; rc == 0 && i < json_array_size(val); i++) {
                size_t o2 = cpath_idx(c, i);
                json_t *norm;
                rc = check_param(c, p, json_array_get(val, i), &norm);
                for (size_t j = 0; rc == 0 && j < json_array_size(list); j++)
                    if (json_equal(norm, json_array_get(list, j))) {
                        struct strbuf sb = STRBUF_INIT;
                        canon_json(&sb, norm);
                        rc = cerr(c, "%s is listed twice", sb.buf);
                        strbuf_release(&sb);
                    }
                if (rc == 0)
                    json_array_append_new(list, norm);
                else
                    json_decref(norm);
                cpath_pop(c, o2);
            }
            json_object_set_new(values, key, list);
            k[n++] = key;
        }
        cpath_pop(c, old);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        free(k);
        return rc;
    }
    qsort(k, n, sizeof(*k), str_cmp);
    *keys = k;
    *nkeys = n;
    return 0;
}

static const char *const method_skip[] = {"name", "method", "summary", "sweep", NULL};

static int parse_method(struct cctx *c, const json_t *v, size_t *cap)
{
    static const char *const required[] = {"name", "method", NULL};
    if (!json_is_object(v))
        return cerr(c, "expected an object");
    int rc = 0;
    for (const char *const *r = required; *r; r++)
        if (!json_object_get(v, *r))
            return cerr(c, "missing key '%s'", *r);
    const char *name, *summary = NULL;
    AT(c, "name", check_name(c, json_object_get(v, "name"), &name));
    if (rc < 0)
        return rc;
    if (strcmp(name, "original") == 0 || strcmp(name, "retrain") == 0) {
        AT(c, "name", cerr(c, "'%s' is an implicit reference run and cannot be defined", name));
        return rc;
    }
    /* the written entries before this one are the distinct families after the references */
    for (size_t i = 0, entry = 0; i < c->cfg->n_methods; i++) {
        const struct method_cfg *m = &c->cfg->methods[i];
        if (m->reference)
            continue;
        if (strcmp(m->family, name) == 0) {
            AT(c, "name", cerr(c, "duplicate method configuration '%s' (also methods[%zu])", name,
                               entry));
            return rc;
        }
        if (i + 1 == c->cfg->n_methods || strcmp(c->cfg->methods[i + 1].family, m->family) != 0)
            entry++;
    }
    const json_t *mv = json_object_get(v, "method");
    const struct method *desc = NULL;
    size_t old = cpath_key(c, "method");
    if (!json_is_string(mv)) {
        rc = cerr(c, "expected a string");
    } else if (!(desc = method_lookup(json_string_value(mv)))) {
        const char **names = xcalloc(method_table_count, sizeof(*names));
        for (size_t k = 0; k < method_table_count; k++)
            names[k] = method_table[k].name;
        const char *hint = did_you_mean(json_string_value(mv), names, method_table_count);
        rc = cerr(c, "unknown method '%s'%s", json_string_value(mv),
                  *hint ? hint : " (see 'lethe list methods --registry')");
        free(names);
    }
    cpath_pop(c, old);
    if (rc < 0)
        return rc;
    if (json_object_get(v, "summary") && (rc = get_text(c, v, "summary", &summary)) < 0)
        return rc;

    char owner[96];
    snprintf(owner, sizeof(owner), "method '%s'", desc->name);
    json_t *base = json_object();
    const char **keys = NULL;
    size_t nkeys = 0;
    json_t *values = json_object();
    rc = check_params(c, v, method_skip, desc->params, method_common_params, 0, owner, base);
    if (rc == 0 && json_object_get(v, "sweep"))
        AT(c, "sweep", parse_sweep(c, json_object_get(v, "sweep"), desc, v, &keys, &nkeys, values));
    if (rc == 0 && (json_object_get(v, "lr") || json_object_get(values, "lr")) &&
        (json_object_get(v, "lr_scale") || json_object_get(values, "lr_scale")))
        rc = cerr(c, "give either 'lr' or 'lr_scale', not both");
    if (rc < 0) {
        json_decref(base);
        json_decref(values);
        free(keys);
        return rc;
    }
    if (json_object_get(base, "lr") || json_object_get(values, "lr"))
        json_object_del(base, "lr_scale");      /* an absolute lr makes the scale irrelevant */

    /* one configuration per combination of swept values, the first key varying slowest */
    size_t total = 1;
    for (size_t i = 0; i < nkeys; i++)
        total *= json_array_size(json_object_get(values, keys[i]));
    for (size_t m = 0; m < total; m++) {
        json_t *j = json_deep_copy(base);
        struct strbuf nm = STRBUF_INIT;
        strbuf_adds(&nm, name);
        size_t rest = m;
        size_t *pick = xcalloc(nkeys ? nkeys : 1, sizeof(*pick));
        for (size_t i = nkeys; i-- > 0;) {
            size_t len = json_array_size(json_object_get(values, keys[i]));
            pick[i] = rest % len;
            rest /= len;
        }
        for (size_t i = 0; i < nkeys; i++) {
            const json_t *val = json_array_get(json_object_get(values, keys[i]), pick[i]);
            json_object_set(j, keys[i], (json_t *)val);
            strbuf_adds(&nm, i == 0 ? "@" : ",");
            name_value(&nm, keys[i], val);
        }
        free(pick);
        json_object_set_new(j, "name", json_string(nm.buf));
        json_object_set_new(j, "method", json_string(desc->name));
        struct method_cfg *mc = method_add(c->cfg, cap);
        mc->name = strbuf_detach(&nm);
        mc->method = xstrdup(desc->name);
        mc->family = xstrdup(name);
        mc->summary = xstrdup(summary ? summary : desc->summary);
        mc->info = desc;
        mc->json = j;
    }
    json_decref(base);
    json_decref(values);
    free(keys);
    return 0;
}


int methods_parse(struct cctx *c, const json_t *v)
{
    size_t cap = 0;
    add_reference(c->cfg, &cap, "original", "reference: trained on all of the suite's training data");
    add_reference(c->cfg, &cap, "retrain",
                  "reference: retrained without the forget split (the retain oracle)");
    if (!v)
        return 0;
    if (!json_is_array(v))
        return cerr(c, "expected an array");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
        size_t old = cpath_idx(c, i);
        rc = parse_method(c, json_array_get(v, i), &cap);
        cpath_pop(c, old);
    }
    return rc;
}
