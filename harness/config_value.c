/* suites.json values: JSON paths in messages, parameter tables, names, ${LETHE_DATA} paths and
 * the canonical JSON that config hashes are taken of. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/config_impl.h"

#define JSON_INTEGER_MAX LLONG_MAX

/* ---- paths in messages ------------------------------------------------------------------ */

size_t cpath_key(struct cctx *c, const char *key)
{
    size_t old = c->len;
    int n = snprintf(c->path + c->len, sizeof(c->path) - c->len, "%s%s", c->len ? "." : "", key);
    if (n > 0)
        c->len = c->len + (size_t)n < sizeof(c->path) ? c->len + (size_t)n : sizeof(c->path) - 1;
    return old;
}

size_t cpath_idx(struct cctx *c, size_t i)
{
    size_t old = c->len;
    int n = snprintf(c->path + c->len, sizeof(c->path) - c->len, "[%zu]", i);
    if (n > 0)
        c->len = c->len + (size_t)n < sizeof(c->path) ? c->len + (size_t)n : sizeof(c->path) - 1;
    return old;
}

void cpath_pop(struct cctx *c, size_t len)
{
    c->len = len;
    c->path[len] = '\0';
}

int cerr(struct cctx *c, const char *fmt, ...)
{
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->len)
        return lethe_err(c->err, LETHE_EINPUT, "%s: %s: %s", c->file, c->path, msg);
    return lethe_err(c->err, LETHE_EINPUT, "%s: %s", c->file, msg);
}

/* ---- suggestions -------------------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 64 || nb > 64)
        return 99;
    size_t row[65];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

const char *suggest(const char *s, const char *const *cands, size_t n)
{
    size_t len = strlen(s);
    size_t limit = len < 4 ? 1 : len < 9 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(s, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best;
}

const char *did_you_mean(const char *s, const char *const *cands, size_t n)
{
    static char buf[160];
    const char *best = suggest(s, cands, n);
    if (!best)
        return "";
    snprintf(buf, sizeof(buf), " (did you mean '%s'?)", best);
    return buf;
}

/* ---- objects and parameter tables ---------------------------------------------------------- */

static size_t list_len(const char *const *list)
{
    size_t n = 0;
    while (list && list[n])
        n++;
    return n;
}

static int in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

int check_object(struct cctx *c, const json_t *v, const char *const *allowed,
                 const char *const *required)
{
    if (!json_is_object(v))
        return cerr(c, "expected an object");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val) {
        if (!in_list(allowed, key))
            return cerr(c, "unknown key '%s'%s", key, did_you_mean(key, allowed, list_len(allowed)));
    }
    for (; required && *required; required++)
        if (!json_object_get(v, *required))
            return cerr(c, "missing key '%s'", *required);
    return 0;
}

static int check_int(struct cctx *c, const json_t *v, json_int_t lo, json_int_t hi)
{
    if (!json_is_integer(v))
        return cerr(c, "expected an integer");
    json_int_t x = json_integer_value(v);
    if (x < lo && hi == JSON_INTEGER_MAX)
        return cerr(c, "must be at least %" JSON_INTEGER_FORMAT ", got %" JSON_INTEGER_FORMAT, lo, x);
    if (x < lo || x > hi)
        return cerr(c, "must be between %" JSON_INTEGER_FORMAT " and %" JSON_INTEGER_FORMAT
                    ", got %" JSON_INTEGER_FORMAT, lo, hi, x);
    return 0;
}

static int check_real(struct cctx *c, enum param_type t, const json_t *v)
{
    if (!json_is_number(v))
        return cerr(c, "expected a number");
    double x = json_number_value(v);
    struct strbuf sb = STRBUF_INIT;
    canon_real(&sb, x);
    int rc = 0;
    if (t == PARAM_POSITIVE && !(x > 0))
        rc = cerr(c, "must be positive, got %s", sb.buf);
    else if (t == PARAM_NONNEG && !(x >= 0))
        rc = cerr(c, "must be at least 0, got %s", sb.buf);
    else if (t == PARAM_FRACTION && !(x >= 0 && x <= 1))
        rc = cerr(c, "must be between 0 and 1, got %s", sb.buf);
    strbuf_release(&sb);
    return rc;
}

/* "cosine, linear or constant" */
static void choices_text(struct strbuf *sb, const char *choices)
{
    size_t n = 1;
    for (const char *s = choices; *s; s++)
        n += *s == '|';
    size_t i = 0;
    for (const char *s = choices; *s; i++) {
        const char *bar = strchr(s, '|');
        size_t len = bar ? (size_t)(bar - s) : strlen(s);
        if (i > 0)
            strbuf_adds(sb, i + 1 == n ? " or " : ", ");
        strbuf_add(sb, s, len);
        s += len + (bar ? 1 : 0);
    }
}

static int check_choice(struct cctx *c, const char *choices, const json_t *v)
{
    if (!json_is_string(v))
        return cerr(c, "expected a string");
    if (param_choice_ok(choices, json_string_value(v)))
        return 0;
    struct strbuf sb = STRBUF_INIT;
    choices_text(&sb, choices);
    int rc = cerr(c, "unknown value '%s' (expected %s)", json_string_value(v), sb.buf);
    strbuf_release(&sb);
    return rc;
}

static int check_vocab(struct cctx *c, const json_t *v)
{
    if (json_is_string(v)) {
        if (strcmp(json_string_value(v), "gpt2") == 0)
            return 0;
        return cerr(c, "unknown vocabulary '%s' (expected \"gpt2\" or {\"bpe\": N})",
                    json_string_value(v));
    }
    if (!json_is_object(v))
        return cerr(c, "expected \"gpt2\" or {\"bpe\": N}");
    static const char *const keys[] = {"bpe", NULL};
    int rc = check_object(c, v, keys, keys);
    if (rc < 0)
        return rc;
    size_t old = cpath_key(c, "bpe");
    rc = check_int(c, json_object_get(v, "bpe"), 256, JSON_INTEGER_MAX);
    cpath_pop(c, old);
    return rc;
}

int check_param(struct cctx *c, const struct param_spec *p, const json_t *v, json_t **out)
{
    int rc = 0;
    *out = NULL;
    switch (p->type) {
    case PARAM_INT:
        rc = check_int(c, v, 0, JSON_INTEGER_MAX);
        break;
    case PARAM_COUNT:
        rc = check_int(c, v, 1, JSON_INTEGER_MAX);
        break;
    case PARAM_PERCENT:
        rc = check_int(c, v, 1, 100);
        break;
    case PARAM_REAL:
    case PARAM_POSITIVE:
    case PARAM_NONNEG:
    case PARAM_FRACTION:
        rc = check_real(c, p->type, v);
        if (rc == 0)
            *out = json_real(json_number_value(v));
        return rc;
    case PARAM_BOOL:
        if (!json_is_boolean(v))
            rc = cerr(c, "expected true or false");
        break;
    case PARAM_STRING:
    case PARAM_PATH:
        if (!json_is_string(v))
            rc = cerr(c, "expected a string");
        else if (!*json_string_value(v))
            rc = cerr(c, "must not be empty");
        else if (p->type == PARAM_PATH)
            rc = check_path_vars(c, json_string_value(v));
        break;
    case PARAM_ENUM:
        rc = check_choice(c, p->choices, v);
        break;
    case PARAM_COUNT_LIST:
    case PARAM_ENUM_LIST:
        if (!json_is_array(v) || json_array_size(v) == 0) {
            rc = cerr(c, json_is_array(v) ? "expected a non-empty array" : "expected an array");
            break;
        }
        for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
            size_t old = cpath_idx(c, i);
            const json_t *e = json_array_get(v, i);
            if (p->type == PARAM_COUNT_LIST) {
                rc = check_int(c, e, 1, JSON_INTEGER_MAX);
            } else {
                rc = check_choice(c, p->choices, e);
                for (size_t j = 0; rc == 0 && j < i; j++)
                    if (json_equal(e, json_array_get(v, j)))
                        rc = cerr(c, "'%s' is listed twice", json_string_value(e));
            }
            cpath_pop(c, old);
        }
        break;
    case PARAM_VOCAB:
        rc = check_vocab(c, v);
        break;
    default:
        LETHE_BUG("parameter '%s' has no type", p->name);
    }
    if (rc == 0)
        *out = json_deep_copy(v);
    return rc;
}

json_t *param_default(const struct param_spec *p)
{
    if (!p->def)
        return NULL;
    json_error_t jerr;
    json_t *v = json_loads(p->def, JSON_DECODE_ANY, &jerr);
    if (!v)
        LETHE_BUG("default of '%s' is not JSON: %s", p->name, p->def);
    struct cctx c = {.file = "default"};
    json_t *out;
    if (check_param(&c, p, v, &out) < 0)
        LETHE_BUG("default of '%s' does not fit its type: %s", p->name, p->def);
    json_decref(v);
    return out;
}

/* Every key of own, common and skip, for suggestions; returned, the caller frees. */
static const char **table_names(const struct param_spec *own, const struct param_spec *common,
                                const char *const *skip, size_t *n)
{
    size_t cap = list_len(skip) + 1;
    for (const struct param_spec *p = own; p && p->name; p++)
        cap++;
    for (const struct param_spec *p = common; p && p->name; p++)
        cap++;
    const char **names = xcalloc(cap, sizeof(*names));
    size_t k = 0;
    for (const struct param_spec *p = own; p && p->name; p++)
        names[k++] = p->name;
    for (const struct param_spec *p = common; p && p->name; p++)
        names[k++] = p->name;
    for (const char *const *s = skip; s && *s; s++)
        names[k++] = *s;
    *n = k;
    return names;
}

int check_params(struct cctx *c, const json_t *obj, const char *const *skip,
                 const struct param_spec *own, const struct param_spec *common, int required,
                 const char *owner, json_t *out)
{
    if (!json_is_object(obj))
        return cerr(c, "expected an object");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        if (in_list(skip, key))
            continue;
        const struct param_spec *p = param_find(own, key);
        if (!p)
            p = param_find(common, key);
        if (!p) {
            size_t n;
            const char **names = table_names(own, common, skip, &n);
            int rc = owner ? cerr(c, "unknown parameter '%s' of %s%s", key, owner,
                                  did_you_mean(key, names, n))
                           : cerr(c, "unknown key '%s'%s", key, did_you_mean(key, names, n));
            free(names);
            return rc;
        }
        json_t *norm;
        size_t old = cpath_key(c, key);
        int rc = check_param(c, p, val, &norm);
        cpath_pop(c, old);
        if (rc < 0)
            return rc;
        json_object_set_new(out, key, norm);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (const struct param_spec *p = pass ? common : own; p && p->name; p++) {
            if (pass && param_find(own, p->name))
                continue;
            if (json_object_get(obj, p->name))
                continue;
            if (!p->def) {
                if (required)
                    return cerr(c, "missing key '%s'", p->name);
                continue;
            }
            json_object_set_new(out, p->name, param_default(p));
        }
    }
    return 0;
}

int get_text(struct cctx *c, const json_t *obj, const char *key, const char **out)
{
    size_t old = cpath_key(c, key);
    const json_t *v = json_object_get(obj, key);
    int rc = 0;
    if (!json_is_string(v))
        rc = cerr(c, "expected a string");
    else if (!*json_string_value(v))
        rc = cerr(c, "must not be empty");
    else
        *out = json_string_value(v);
    cpath_pop(c, old);
    return rc;
}

int check_name(struct cctx *c, const json_t *v, const char **out)
{
    if (!json_is_string(v))
        return cerr(c, "expected a string");
    const char *s = json_string_value(v);
    int ok = *s && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'));
    for (const char *p = s; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '_' || *p == '-' || *p == '.';
    if (!ok)
        return cerr(c, "invalid name '%s' (letters, digits, '_', '-' and '.', starting with a "
                    "letter or digit)", s);
    *out = s;
    return 0;
}

int check_string_list(struct cctx *c, const json_t *v, const char ***out, size_t *n)
{
    if (!json_is_array(v))
        return cerr(c, "expected an array");
    if (json_array_size(v) == 0)
        return cerr(c, "expected a non-empty array");
    size_t k = json_array_size(v);
    const char **list = xcalloc(k, sizeof(*list));
    for (size_t i = 0; i < k; i++) {
        const json_t *e = json_array_get(v, i);
        size_t old = cpath_idx(c, i);
        int rc = 0;
        if (!json_is_string(e))
            rc = cerr(c, "expected a string");
        for (size_t j = 0; rc == 0 && j < i; j++)
            if (strcmp(list[j], json_string_value(e)) == 0)
                rc = cerr(c, "'%s' is listed twice", list[j]);
        cpath_pop(c, old);
        if (rc < 0) {
            free(list);
            return rc;
        }
        list[i] = json_string_value(e);
    }
    *out = list;
    *n = k;
    return 0;
}

/* ---- ${LETHE_DATA} ---------------------------------------------------------------------- */

int check_path_vars(struct cctx *c, const char *written)
{
    for (const char *s = written; (s = strchr(s, '$')) != NULL; s++) {
        if (s[1] != '{')
            continue;
        const char *end = strchr(s, '}');
        if (!end)
            return cerr(c, "unterminated '${' in '%s'", written);
        size_t n = (size_t)(end - s - 2);
        if (n != strlen("LETHE_DATA") || strncmp(s + 2, "LETHE_DATA", n) != 0)
            return cerr(c, "unknown variable '%.*s' in '%s' (only ${LETHE_DATA} is defined)",
                        (int)(n + 3), s, written);
        s = end;
    }
    return 0;
}

void config_data_roots(struct config *cfg)
{
    const char *env = getenv("LETHE_DATA");
    cfg->n_data_roots = 0;
    cfg->data_roots = xcalloc(2, sizeof(char *));
    if (env && *env) {
        cfg->data_roots[cfg->n_data_roots++] = xstrdup(env);
    } else {
        cfg->data_roots[cfg->n_data_roots++] = path_join(cfg->dir, "data");
        cfg->data_roots[cfg->n_data_roots++] = path_join(cfg->dir, "../shared/data");
    }
    cfg->data_root = NULL;
    for (size_t i = 0; i < cfg->n_data_roots && !cfg->data_root; i++)
        if (file_exists(cfg->data_roots[i]))
            cfg->data_root = xstrdup(cfg->data_roots[i]);
    if (!cfg->data_root)
        cfg->data_root = xstrdup(cfg->data_roots[0]);
}

/* written with each ${LETHE_DATA} replaced by root. */
static char *substitute(const char *written, const char *root)
{
    struct strbuf sb = STRBUF_INIT;
    const char *var = "${LETHE_DATA}";
    size_t nv = strlen(var);
    for (const char *s = written; *s;) {
        if (strncmp(s, var, nv) == 0) {
            strbuf_adds(&sb, root);
            s += nv;
        } else {
            strbuf_add(&sb, s, 1);
            s++;
        }
    }
    return strbuf_detach(&sb);
}

char *config_resolve_path(const struct config *cfg, const char *written, struct lethe_error *err)
{
    struct cctx c = {.file = cfg->path, .cfg = (struct config *)cfg, .err = err};
    if (check_path_vars(&c, written) < 0)
        return NULL;
    if (!strstr(written, "${LETHE_DATA}"))
        return path_join(cfg->dir, written);
    /* The first root under which the path exists; else the data root (the loader then reports
     * the missing folder with its full name). A root is absolute or relative to the working
     * folder already, so the result is not joined again. */
    for (size_t i = 0; i < cfg->n_data_roots; i++) {
        char *p = substitute(written, cfg->data_roots[i]);
        if (file_exists(p))
            return p;
        free(p);
    }
    return substitute(written, cfg->data_root);
}
