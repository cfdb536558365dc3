/* TOFU data: the loader of the real files (JSON Lines; the holdout files JSON arrays) and of
 * generated ones, checking every record, every field and each split's definition (SUITES.md). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/base.h"
#include "suites/suite.h"

#define QA_PER_AUTHOR 20

/* What a file holds, from its name. */
enum tofu_file_kind {
    TF_QA,          /* question, answer */
    TF_PERTURBED,   /* + paraphrased_answer, perturbed_answer [5], paraphrased_question */
    TF_UTILITY,     /* question, answer, perturbed_answer [3] */
    TF_OPTIONS,     /* question, option1..option4, answer */
};

/* A loaded file and where each item came from, for messages. */
struct loaded {
    struct qa_set set;
    char *path;
    long *where;        /* the line (JSON Lines) or record number (JSON array) of each item */
    int array;          /* 1 for a JSON array */
    char **options;     /* TF_OPTIONS: 4 per item */
    size_t n_options;   /* strings in options */
};

void qa_set_release(struct qa_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        struct qa_item *it = &s->items[i];
        free(it->question);
        free(it->answer);
        free(it->paraphrased_answer);
        free(it->paraphrased_question);
        for (int k = 0; k < it->n_perturbed; k++)
            free(it->perturbed[k]);
        free(it->perturbed);
    }
    free(s->items);
    free(s->name);
    memset(s, 0, sizeof(*s));
}

void tofu_data_release(struct tofu_data *d)
{
    if (!d)
        return;
    qa_set_release(&d->full);
    qa_set_release(&d->retain);
    qa_set_release(&d->forget);
    qa_set_release(&d->forget_eval);
    qa_set_release(&d->retain_eval);
    qa_set_release(&d->real_authors);
    qa_set_release(&d->world_facts);
    qa_set_release(&d->holdout);
}

static void loaded_release(struct loaded *l)
{
    if (!l)
        return;
    if (l->options) {
        for (size_t i = 0; i < l->n_options; i++)
            free(l->options[i]);
        free(l->options);
    }
    qa_set_release(&l->set);
    free(l->path);
    free(l->where);
    memset(l, 0, sizeof(*l));
}

size_t tofu_forget_count(size_t n_full, int percent)
{
    size_t authors = n_full / QA_PER_AUTHOR;
    size_t k = (authors * (size_t)percent + 50) / 100;
    if (k < 1)
        k = 1;
    return k * QA_PER_AUTHOR;
}

/* "line 17" or "record 17" for item i of l. */
static const char *where_impl(const struct loaded *l, size_t i, char buf[48])
{
    snprintf(buf, 48, "%s %ld", l->array ? "record" : "line", l->where[i]);
    return buf;
}

/* The stem of path's last component without ".json"; returned, the caller frees. */
static char *file_stem_impl(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0)
        n -= 5;
    return xstrndup(base, n);
}

static enum tofu_file_kind file_kind_impl(const char *stem)
{
    if (strcmp(stem, "real_authors_perturbed") == 0 || strcmp(stem, "world_facts_perturbed") == 0)
        return TF_UTILITY;
    if (str_ends(stem, "_perturbed"))
        return TF_PERTURBED;
    if (strcmp(stem, "real_authors") == 0 || strcmp(stem, "world_facts") == 0)
        return TF_OPTIONS;
    return TF_QA;
}

static const char *const qa_fields[] = {"question", "answer", NULL};
static const char *const perturbed_fields[] = {
    "question", "answer", "paraphrased_answer", "perturbed_answer", "paraphrased_question", NULL};
static const char *const utility_fields[] = {"question", "answer", "perturbed_answer", NULL};
static const char *const options_fields[] = {
    "question", "option1", "option2", "option3", "option4", "answer", NULL};

static const char *const *kind_fields(enum tofu_file_kind k)
{
    switch (k) {
    case TF_PERTURBED: return perturbed_fields;
    case TF_UTILITY: return utility_fields;
    case TF_OPTIONS: return options_fields;
    default: return qa_fields;
    }
}

/* The non-empty string field name of obj, or NULL and err (prefixed by the caller). */
static const char *string_field(json_t *obj, const char *name, struct lethe_error *err)
{
    json_t *v = json_object_get(obj, name);
    if (!v) {
        lethe_err(err, LETHE_EINPUT, "missing field '%s'", name);
        return NULL;
    }
    if (!json_is_string(v)) {
        lethe_err(err, LETHE_EINPUT, "field '%s' is not a string", name);
        return NULL;
    }
    const char *s = json_string_value(v);
    if (!*s) {
        lethe_err(err, LETHE_EINPUT, "field '%s' is empty", name);
        return NULL;
    }
    return s;
}

/* Checks one record against its kind and appends it to l; the message without file or line. */
static int record_add(struct loaded *l, size_t *cap, enum tofu_file_kind kind, json_t *obj,
                      struct lethe_error *err)
{
    if (!json_is_object(obj))
        return lethe_err(err, LETHE_EINPUT, "not a JSON object");
    const char *const *fields = kind_fields(kind);
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        int known = 0;
        for (const char *const *f = fields; *f; f++)
            known |= strcmp(*f, key) == 0;
        if (!known)
            return lethe_err(err, LETHE_EINPUT, "unknown field '%s'", key);
    }
    const char *q = string_field(obj, "question", err);
    const char *a = q ? string_field(obj, "answer", err) : NULL;
    if (!a)
        return -LETHE_EINPUT;
    const char *pa = NULL, *pq = NULL, *opts[4] = {0};
    json_t *pert = NULL;
    int want = 0;
    if (kind == TF_PERTURBED) {
        if (!(pa = string_field(obj, "paraphrased_answer", err)))
            return -LETHE_EINPUT;
        if (!(pq = string_field(obj, "paraphrased_question", err)))
            return -LETHE_EINPUT;
        want = 5;
    } else if (kind == TF_UTILITY) {
        want = 3;
    } else if (kind == TF_OPTIONS) {
        int found = 0;
        for (int k = 0; k < 4; k++) {
            char name[32];
            snprintf(name, sizeof(name), "option%d", k + 1);
            if (!(opts[k] = string_field(obj, name, err)))
                return -LETHE_EINPUT;
            found |= strcmp(opts[k], a) == 0;
        }
        if (!found)
            return lethe_err(err, LETHE_EINPUT, "the answer is none of the four options");
    }
    if (want) {
        pert = json_object_get(obj, "perturbed_answer");
        if (!pert)
            return lethe_err(err, LETHE_EINPUT, "missing field 'perturbed_answer'");
        if (!json_is_array(pert))
            return lethe_err(err, LETHE_EINPUT, "field 'perturbed_answer' is not a list");
        if ((int)json_array_size(pert) != want)
            return lethe_err(err, LETHE_EINPUT, "field 'perturbed_answer' has %zu answers, not %d",
                             json_array_size(pert), want);
        for (int k = 0; k < want; k++) {
            json_t *e = json_array_get(pert, (size_t)k);
            if (!json_is_string(e) || !*json_string_value(e))
                return lethe_err(err, LETHE_EINPUT, "perturbed answer %d is %s", k + 1,
                                 json_is_string(e) ? "empty" : "not a string");
            const char *s = json_string_value(e);
            if (strcmp(s, a) == 0)
                return lethe_err(err, LETHE_EINPUT, "perturbed answer %d is the answer itself",
                                 k + 1);
            if (pa && strcmp(s, pa) == 0)
                return lethe_err(err, LETHE_EINPUT, "perturbed answer %d is the paraphrased "
                                 "answer", k + 1);
            for (int j = 0; j < k; j++)
                if (strcmp(s, json_string_value(json_array_get(pert, (size_t)j))) == 0)
                    return lethe_err(err, LETHE_EINPUT, "perturbed answers %d and %d are the "
                                     "same", j + 1, k + 1);
        }
    }
    struct qa_set *s = &l->set;
    if (s->n == *cap) {
        size_t c = *cap;
        xgrow(&s->items, &c, s->n + 1, sizeof(*s->items));
        xgrow(&l->where, cap, s->n + 1, sizeof(*l->where));
        if (kind == TF_OPTIONS)
            l->options = xrealloc(l->options, 4 * *cap * sizeof(*l->options));
    }
    struct qa_item *it = &s->items[s->n];
    memset(it, 0, sizeof(*it));
    it->question = xstrdup(q);
    it->answer = xstrdup(a);
    it->paraphrased_answer = pa ? xstrdup(pa) : NULL;
    it->paraphrased_question = pq ? xstrdup(pq) : NULL;
    if (want) {
        it->perturbed = xmalloc((size_t)want * sizeof(*it->perturbed));
        for (int k = 0; k < want; k++)
            it->perturbed[k] = xstrdup(json_string_value(json_array_get(pert, (size_t)k)));
        it->n_perturbed = want;
    }
    if (kind == TF_OPTIONS)
        for (int k = 0; k < 4; k++)
            l->options[l->n_options++] = xstrdup(opts[k]);
    s->n++;
    return 0;
}

/* Parses the text of a JSON Lines file or a JSON array into l. */
static int parse_impl(struct loaded *l, const char *text, size_t len, enum tofu_file_kind kind,
                      struct lethe_error *err)
{
    size_t cap = 0;
    json_error_t jerr;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    if (i < len && text[i] == '[') {
        l->array = 1;
        json_t *arr = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!arr)
            return lethe_err(err, LETHE_EINPUT, "'%s': line %d: invalid JSON: %s", l->path,
                             jerr.line, jerr.text);
        for (size_t k = 0; k < json_array_size(arr); k++) {
            if (record_add(l, &cap, kind, json_array_get(arr, k), err) < 0) {
                json_decref(arr);
                lethe_err_prefix(err, "'%s': record %zu", l->path, k + 1);
                return -LETHE_EINPUT;
            }
            l->where[l->set.n - 1] = (long)k + 1;
        }
        json_decref(arr);
    } else {
        long line = 0;
        for (size_t p = 0; p < len;) {
            const char *nl = memchr(text + p, '\n', len - p);
            size_t end = nl ? (size_t)(nl - text) : len, e = end;
            line++;
            while (e > p && (text[e - 1] == '\r' || text[e - 1] == ' ' || text[e - 1] == '\t'))
                e--;
            size_t b = p;
            while (b < e && (text[b] == ' ' || text[b] == '\t'))
                b++;
            p = end + 1;
            if (b == e)
                continue;   /* a blank line */
            json_t *obj = json_loadb(text + b, e - b, JSON_REJECT_DUPLICATES, &jerr);
            if (!obj)
                return lethe_err(err, LETHE_EINPUT, "'%s': line %ld: invalid JSON: %s", l->path,
                                 line, jerr.text);
            int rc = record_add(l, &cap, kind, obj, err);
            json_decref(obj);
            if (rc < 0) {
                lethe_err_prefix(err, "'%s': line %ld", l->path, line);
                return rc;
            }
            l->where[l->set.n - 1] = line;
        }
    }
    if (l->set.n == 0)
        return lethe_err(err, LETHE_EINPUT, "'%s': no records", l->path);
    return 0;
}

/* Loads path into l (checked by its name's kind). */
static int load_impl(const char *path, struct loaded *l, struct lethe_error *err)
{
    memset(l, 0, sizeof(*l));
    l->path = xstrdup(path);
    l->set.name = file_stem_impl(path);
    char *text = NULL;
    size_t len = 0;
    int rc = file_read_all(path, &text, &len, err);
    if (rc == 0)
        rc = parse_impl(l, text, len, file_kind_impl(l->set.name), err);
    free(text);
    if (rc < 0)
        loaded_release(l);
    return rc;
}

int tofu_load_file(const char *path, struct qa_set *out, struct lethe_error *err)
{
    struct loaded l;
    memset(out, 0, sizeof(*out));
    if (load_impl(path, &l, err) < 0)
        return -LETHE_EINPUT;
    *out = l.set;
    memset(&l.set, 0, sizeof(l.set));
    loaded_release(&l);
    return 0;
}

/* ---- the split's definition ----------------------------------------------------------- */

/* Items [0, n) of a equal items [off, off + n) of b in question and answer; what names the
 * relation ("forget10 is the last 400 items of full"). */
static int same_items(const struct loaded *a, const struct loaded *b, size_t off, const char *what,
                      struct lethe_error *err)
{
    char w1[48], w2[48];
    for (size_t i = 0; i < a->set.n; i++) {
        const struct qa_item *x = &a->set.items[i], *y = &b->set.items[off + i];
        const char *field = strcmp(x->question, y->question) ? "question" :
                            strcmp(x->answer, y->answer) ? "answer" : NULL;
        if (field)
            return lethe_err(err, LETHE_EINPUT, "'%s': %s: %s differs from %s of '%s' (%s)",
                             a->path, where_impl(a, i, w1), field, where_impl(b, off + i, w2),
                             b->path, what);
    }
    return 0;
}

static int count_is(const struct loaded *l, size_t want, const char *why, struct lethe_error *err)
{
    if (l->set.n != want)
        return lethe_err(err, LETHE_EINPUT, "'%s': %zu items, the split needs %zu (%s)", l->path,
                         l->set.n, want, why);
    return 0;
}

/* A set of strings (open addressing on FNV-1a), for the holdout-vs-full check. */
struct strset { const char **slot; size_t cap; };

static void strset_init(struct strset *s, size_t n)
{
    s->cap = 16;
    while (s->cap < 2 * n)
        s->cap *= 2;
    s->slot = xcalloc(s->cap, sizeof(*s->slot));
}

static int strset_has(const struct strset *s, const char *str, int add)
{
    size_t i = (size_t)fnv1a64(str) & (s->cap - 1);
    for (; s->slot[i]; i = (i + 1) & (s->cap - 1))
        if (strcmp(s->slot[i], str) == 0)
            return 1;
    if (add)
        s->slot[i] = str;
    return 0;
}

/* Loads dir/name.json (or, when alt is given and the first is missing, dir/alt). */
static int load_named(const char *dir, const char *name, const char *alt, struct loaded *l,
                      struct lethe_error *err)
{
    char *file = xmalloc(strlen(name) + 6);
    sprintf(file, "%s.json", name);
    char *path = path_join(dir, file);
    free(file);
    if (alt && !file_exists(path)) {
        char *p2 = path_join(dir, alt);
        if (!file_exists(p2)) {
            int rc = lethe_err(err, LETHE_EINPUT, "cannot open '%s' (nor '%s'): no such file",
                               path, p2);
            free(p2);
            free(path);
            return rc;
        }
        free(path);
        path = p2;
    }
    int rc = load_impl(path, l, err);
    free(path);
    return rc;
}

/* real_authors.json / world_facts.json, when present, against their perturbed versions. */
static int check_options(const char *dir, const char *name, const struct loaded *pert,
                         struct lethe_error *err)
{
    char *file = xmalloc(strlen(name) + 6);
    sprintf(file, "%s.json", name);
    char *path = path_join(dir, file);
    free(file);
    int present = file_exists(path);
    free(path);
    if (!present)
        return 0;
    struct loaded o;
    int rc = load_named(dir, name, NULL, &o, err);
    if (rc == 0 && o.set.n != pert->set.n)
        rc = lethe_err(err, LETHE_EINPUT, "'%s': %zu items but '%s' has %zu", o.path, o.set.n,
                       pert->path, pert->set.n);
    if (rc == 0)
        rc = same_items(&o, pert, 0, "the same questions in the same order", err);
    loaded_release(&o);
    return rc;
}

int tofu_load(const char *dir, const char *split, struct tofu_data *out, struct lethe_error *err)
{
    memset(out, 0, sizeof(*out));
    int pct;
    if (strcmp(split, "forget01") == 0)
        pct = 1;
    else if (strcmp(split, "forget05") == 0)
        pct = 5;
    else if (strcmp(split, "forget10") == 0)
        pct = 10;
    else
        return lethe_err(err, LETHE_EINPUT, "unknown tofu split '%s' (forget01, forget05 or "
                         "forget10)", split);
    char retain_name[32], pert_name[32], hold_name[32], hold_alt[48];
    snprintf(retain_name, sizeof(retain_name), "retain%02d", 100 - pct);
    snprintf(pert_name, sizeof(pert_name), "%s_perturbed", split);
    snprintf(hold_name, sizeof(hold_name), "holdout%02d", pct);
    snprintf(hold_alt, sizeof(hold_alt), "holdout%02d.json", pct);
    char *hold_dir = path_join(dir, "extra_holdout");

    enum { FULL, RETAIN, FORGET, FORGET_EVAL, RETAIN_EVAL, RA, WF, HOLDOUT, NSETS };
    struct loaded l[NSETS];
    memset(l, 0, sizeof(l));
    char why[160];
    int rc = load_named(dir, "full", NULL, &l[FULL], err);
    size_t nf = l[FULL].set.n, authors = nf / QA_PER_AUTHOR;
    if (rc == 0 && (nf % QA_PER_AUTHOR || authors < 2))
        rc = lethe_err(err, LETHE_EINPUT, "'%s': %zu items, not a whole number of authors "
                       "(%d QA each, at least 2 authors)", l[FULL].path, nf, QA_PER_AUTHOR);
    size_t nforget = tofu_forget_count(nf, pct);
    if (rc == 0)
        rc = load_named(dir, split, NULL, &l[FORGET], err);
    if (rc == 0) {
        snprintf(why, sizeof(why), "the last %d%% of the %zu authors of 'full.json'", pct, authors);
        rc = count_is(&l[FORGET], nforget, why, err);
    }
    if (rc == 0) {
        snprintf(why, sizeof(why), "%s is the last %zu items of full", split, nforget);
        rc = same_items(&l[FORGET], &l[FULL], nf - nforget, why, err);
    }
    if (rc == 0)
        rc = load_named(dir, retain_name, NULL, &l[RETAIN], err);
    if (rc == 0) {
        snprintf(why, sizeof(why), "the items of 'full.json' before %s", split);
        rc = count_is(&l[RETAIN], nf - nforget, why, err);
    }
    if (rc == 0) {
        snprintf(why, sizeof(why), "%s is the first %zu items of full", retain_name, nf - nforget);
        rc = same_items(&l[RETAIN], &l[FULL], 0, why, err);
    }
    if (rc == 0)
        rc = load_named(dir, pert_name, NULL, &l[FORGET_EVAL], err);
    if (rc == 0) {
        snprintf(why, sizeof(why), "one per item of '%s.json'", split);
        rc = count_is(&l[FORGET_EVAL], nforget, why, err);
    }
    if (rc == 0) {
        snprintf(why, sizeof(why), "%s holds the items of %s in order", pert_name, split);
        rc = same_items(&l[FORGET_EVAL], &l[FORGET], 0, why, err);
    }
    size_t nre = tofu_forget_count(nf, 10);
    if (rc == 0)
        rc = load_named(dir, "retain_perturbed", NULL, &l[RETAIN_EVAL], err);
    if (rc == 0)
        rc = count_is(&l[RETAIN_EVAL], nre, "as many as forget10, the first authors of "
                      "'full.json'", err);
    if (rc == 0) {
        snprintf(why, sizeof(why), "retain_perturbed is the first %zu items of full", nre);
        rc = same_items(&l[RETAIN_EVAL], &l[FULL], 0, why, err);
    }
    if (rc == 0)
        rc = load_named(dir, "real_authors_perturbed", NULL, &l[RA], err);
    if (rc == 0)
        rc = check_options(dir, "real_authors", &l[RA], err);
    if (rc == 0)
        rc = load_named(dir, "world_facts_perturbed", NULL, &l[WF], err);
    if (rc == 0)
        rc = check_options(dir, "world_facts", &l[WF], err);
    if (rc == 0) {
        char *alt = path_join(dir, hold_alt);
        rc = load_named(hold_dir, hold_name, alt, &l[HOLDOUT], err);
        free(alt);
    }
    if (rc == 0) {
        snprintf(why, sizeof(why), "as many as '%s.json'", split);
        rc = count_is(&l[HOLDOUT], nforget, why, err);
    }
    if (rc == 0) {
        struct strset seen;
        strset_init(&seen, nf);
        for (size_t i = 0; i < nf; i++)
            strset_has(&seen, l[FULL].set.items[i].question, 1);
        char w[48];
        for (size_t i = 0; i < l[HOLDOUT].set.n && rc == 0; i++)
            if (strset_has(&seen, l[HOLDOUT].set.items[i].question, 0))
                rc = lethe_err(err, LETHE_EINPUT, "'%s': %s: the question is also in '%s' "
                               "(holdout authors must never be trained on)", l[HOLDOUT].path,
                               where_impl(&l[HOLDOUT], i, w), l[FULL].path);
        free(seen.slot);
    }
    free(hold_dir);
    if (rc == 0) {
        struct qa_set *dst[NSETS] = {&out->full, &out->retain, &out->forget, &out->forget_eval,
                                     &out->retain_eval, &out->real_authors, &out->world_facts,
                                     &out->holdout};
        for (int k = 0; k < NSETS; k++) {
            *dst[k] = l[k].set;
            memset(&l[k].set, 0, sizeof(l[k].set));
        }
    }
    for (int k = 0; k < NSETS; k++)
        loaded_release(&l[k]);
    return rc;
}
