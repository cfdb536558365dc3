/* Reader of tests/golden/clf_golden.txt (written by clf_golden.py) for the classifier and
 * optimizer tests: sections of "KEY N V1 .. VN" lines, "cfg KEY VALUE ..." lines. */
#ifndef LETHE_CLF_GOLDEN_READ_H
#define LETHE_CLF_GOLDEN_READ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

struct golden_item {
    char key[128];
    int n;
    double *v;
};

struct golden_section {
    char name[64];
    struct golden_item *items;
    int n_items;
};

struct golden {
    struct golden_section *secs;
    int n_secs;
};

/* words that take the next word into the key ("param fc.0.weight") */
static inline int golden_two_word_key(const char *w)
{
    static const char *const two[] = {"param", "grad", "init", "coef", "target", "final"};
    for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++)
        if (strcmp(w, two[i]) == 0)
            return 1;
    return 0;
}

static inline void golden_add_impl(struct golden_section *s, const char *key, int n, double *v)
{
    s->items = xrealloc(s->items, (size_t)(s->n_items + 1) * sizeof(*s->items));
    struct golden_item *it = &s->items[s->n_items++];
    snprintf(it->key, sizeof(it->key), "%s", key);
    it->n = n;
    it->v = v;
}

/* Reads the golden file at $LETHE_TOP/tests/golden/clf_golden.txt (or ./tests/...). Returns 0,
 * or -1 with a message on stdout (as a TAP comment). */
static inline int golden_load(struct golden *g)
{
    memset(g, 0, sizeof(*g));
    const char *top = getenv("LETHE_TOP");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/golden/clf_golden.txt", top ? top : ".");
    char *text = NULL;
    size_t len = 0;
    struct lethe_error err = {0};
    if (file_read_all(path, &text, &len, &err) < 0) {
        printf("# cannot read the golden file: %s\n", err.msg);
        return -1;
    }
    struct golden_section *cur = NULL;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *ws = NULL, *w = strtok_r(line, " ", &ws);
        if (!w)
            continue;
        if (strcmp(w, "section") == 0) {
            g->secs = xrealloc(g->secs, (size_t)(g->n_secs + 1) * sizeof(*g->secs));
            cur = &g->secs[g->n_secs++];
            memset(cur, 0, sizeof(*cur));
            snprintf(cur->name, sizeof(cur->name), "%s", strtok_r(NULL, " ", &ws));
            continue;
        }
        if (strcmp(w, "end") == 0) {
            cur = NULL;
            continue;
        }
        if (!cur)
            continue;
        if (strcmp(w, "cfg") == 0) {
            char *k;
            while ((k = strtok_r(NULL, " ", &ws))) {
                char key[128];
                snprintf(key, sizeof(key), "cfg %s", k);
                double *v = xmalloc(sizeof(double));
                v[0] = strtod(strtok_r(NULL, " ", &ws), NULL);
                golden_add_impl(cur, key, 1, v);
            }
            continue;
        }
        char key[128];
        if (golden_two_word_key(w))
            snprintf(key, sizeof(key), "%s %s", w, strtok_r(NULL, " ", &ws));
        else
            snprintf(key, sizeof(key), "%s", w);
        int n = atoi(strtok_r(NULL, " ", &ws));
        double *v = xmalloc((size_t)(n > 0 ? n : 1) * sizeof(double));
        for (int i = 0; i < n; i++) {
            char *t = strtok_r(NULL, " ", &ws);
            v[i] = t ? strtod(t, NULL) : 0.0;
        }
        golden_add_impl(cur, key, n, v);
    }
    free(text);
    return 0;
}

static inline void golden_release(struct golden *g)
{
    for (int s = 0; s < g->n_secs; s++) {
        for (int i = 0; i < g->secs[s].n_items; i++)
            free(g->secs[s].items[i].v);
        free(g->secs[s].items);
    }
    free(g->secs);
    memset(g, 0, sizeof(*g));
}

static inline const struct golden_section *golden_section(const struct golden *g,
                                                          const char *name)
{
    for (int s = 0; s < g->n_secs; s++)
        if (strcmp(g->secs[s].name, name) == 0)
            return &g->secs[s];
    printf("# golden section '%s' is missing\n", name);
    return NULL;
}

/* The item, or NULL (with a TAP comment) when missing. */
static inline const struct golden_item *golden_get(const struct golden_section *s,
                                                   const char *key)
{
    for (int i = 0; s && i < s->n_items; i++)
        if (strcmp(s->items[i].key, key) == 0)
            return &s->items[i];
    printf("# golden item '%s' is missing from section '%s'\n", key, s ? s->name : "?");
    return NULL;
}

#endif
