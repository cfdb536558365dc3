/* ROUGE-L and exact match (METRICS.md 1.2, 1.3): the tokenizer of Google's rouge_score package
 * (ASCII only), the longest common subsequence, precision, recall and F1. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"

static int is_tok_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static uint64_t tok_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a, as fnv1a64 in base */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

void metric_rouge_tokenize(struct rouge_tokens *t, const char *text, int stem)
{
    LETHE_ASSERT(t && text);
    memset(t, 0, sizeof(*t));
    size_t len = strlen(text), n = 0;
    for (size_t i = 0; i < len; i++)
        if (is_tok_char((unsigned char)text[i]) && (i == 0 || !is_tok_char((unsigned char)text[i - 1])))
            n++;
    /* every token but the last is followed by a separator in text, so len + 1 bytes hold them;
     * the per-token arrays share one block (8-byte members first) */
    t->buf = xmalloc(len + 1);
    size_t cap = n ? n : 1;
    t->hash = xmalloc(cap * (sizeof(uint64_t) + 3 * sizeof(size_t) + sizeof(char *)));
    t->len = (size_t *)(t->hash + cap);
    t->off = t->len + cap;
    t->src_len = t->off + cap;
    t->tok = (char **)(t->src_len + cap);
    char *p = t->buf;
    size_t i = 0;
    while (i < len) {
        if (!is_tok_char((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < len && is_tok_char((unsigned char)text[i]))
            i++;
        size_t k = t->n++;
        t->tok[k] = p;
        t->off[k] = s;
        t->src_len[k] = i - s;
        t->len[k] = i - s;
        for (size_t j = s; j < i; j++) {
            char c = text[j];
            *p++ = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        *p++ = '\0';
        t->hash[k] = tok_hash(t->tok[k], t->len[k]);
    }
    if (stem)
        metric_rouge_stem_tokens(t);
}

void metric_rouge_stem_tokens(struct rouge_tokens *t)
{
    for (size_t k = 0; k < t->n; k++) {
        if (t->len[k] <= 3)
            continue;
        /* tokens live in a writable buffer owned by t; stemming never lengthens a word */
        t->len[k] = metric_porter_stem(t->tok[k], t->len[k]);
        t->hash[k] = tok_hash(t->tok[k], t->len[k]);
    }
}

void metric_rouge_tokens_release(struct rouge_tokens *t)
{
    if (!t)
        return;
    free(t->buf);
    free(t->hash);   /* the block of every per-token array */
    memset(t, 0, sizeof(*t));
}

int metric_rouge_token_eq(const struct rouge_tokens *a, size_t i, const struct rouge_tokens *b,
                          size_t j)
{
    return a->hash[i] == b->hash[j] && a->len[i] == b->len[j] &&
           memcmp(a->tok[i], b->tok[j], a->len[i]) == 0;
}

size_t metric_lcs(const struct rouge_tokens *a, const struct rouge_tokens *b)
{
    size_t na = a->n, nb = b->n, lo = 0;
    /* a common prefix and suffix are part of every longest common subsequence */
    while (lo < na && lo < nb && metric_rouge_token_eq(a, lo, b, lo))
        lo++;
    size_t ea = na, eb = nb;
    while (ea > lo && eb > lo && metric_rouge_token_eq(a, ea - 1, b, eb - 1))
        ea--, eb--;
    size_t fixed = lo + (na - ea);
    if (ea == lo || eb == lo)
        return fixed;
    /* swap so that the DP rows run over the shorter middle part */
    const struct rouge_tokens *x = a, *y = b;
    size_t x0 = lo, x1 = ea, y0 = lo, y1 = eb;
    if (y1 - y0 > x1 - x0) {
        x = b, y = a;
        x0 = lo, x1 = eb, y0 = lo, y1 = ea;
    }
    size_t m = y1 - y0;
    size_t stack[2 * 257];
    size_t *mem = (m + 1 <= 257) ? stack : xmalloc(2 * (m + 1) * sizeof(size_t));
    size_t *prev = mem, *cur = mem + m + 1;
    memset(prev, 0, (m + 1) * sizeof(size_t));
    cur[0] = 0;
    for (size_t i = x0; i < x1; i++) {
        uint64_t hx = x->hash[i];
        for (size_t j = 1; j <= m; j++) {
            size_t jj = y0 + j - 1;
            if (hx == y->hash[jj] && metric_rouge_token_eq(x, i, y, jj))
                cur[j] = prev[j - 1] + 1;
            else
                cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
        }
        size_t *tmp = prev;
        prev = cur;
        cur = tmp;
    }
    size_t lcs = prev[m];
    if (mem != stack)
        free(mem);
    return fixed + lcs;
}

struct rouge_score metric_rouge_l_tokens(const struct rouge_tokens *ref,
                                         const struct rouge_tokens *pred)
{
    struct rouge_score s = {0, 0, 0};
    if (ref->n == 0 || pred->n == 0)
        return s;
    size_t lcs = metric_lcs(ref, pred);
    s.precision = (double)lcs / (double)pred->n;
    s.recall = (double)lcs / (double)ref->n;
    /* rouge_score's fmeasure, same operation order: 2 * p * r / (p + r) */
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
    return s;
}

struct rouge_score metric_rouge_l(const char *ref, const char *pred, int stem)
{
    struct rouge_tokens r, p;
    metric_rouge_tokenize(&r, ref, stem);
    metric_rouge_tokenize(&p, pred, stem);
    struct rouge_score s = metric_rouge_l_tokens(&r, &p);
    metric_rouge_tokens_release(&r);
    metric_rouge_tokens_release(&p);
    return s;
}

static int is_ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int metric_exact_match(const char *gen, const char *gt)
{
    LETHE_ASSERT(gen && gt);
    size_t ga = 0, gb = strlen(gen), ta = 0, tb = strlen(gt);
    while (ga < gb && is_ascii_space(gen[ga]))
        ga++;
    while (gb > ga && is_ascii_space(gen[gb - 1]))
        gb--;
    while (ta < tb && is_ascii_space(gt[ta]))
        ta++;
    while (tb > ta && is_ascii_space(gt[tb - 1]))
        tb--;
    if (gb - ga != tb - ta)
        return 0;
    for (size_t i = 0; i < gb - ga; i++)
        if (ascii_lower(gen[ga + i]) != ascii_lower(gt[ta + i]))
            return 0;
    return 1;
}
