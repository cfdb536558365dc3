/* Corpus BLEU-4 over unstemmed ROUGE tokens (METRICS.md 8, Lethe's choice for FLAT's fq_gap):
 * clipped n-gram precisions summed over the corpus, brevity penalty, 0 if any precision is 0.
 * Papineni et al., "BLEU: a method for automatic evaluation of machine translation", ACL 2002. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"

struct tok_ref {
    const char *s;
    size_t len;
    uint32_t *slot;     /* where the token's id goes */
};

static int cmp_tok_ref(const void *pa, const void *pb)
{
    const struct tok_ref *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    if (c)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* an n-gram of token ids, unused tail ids 0 (ids start at 1) */
struct ngram {
    uint32_t id[4];
};

static int cmp_ngram(const void *pa, const void *pb)
{
    const struct ngram *a = pa, *b = pb;
    for (int k = 0; k < 4; k++)
        if (a->id[k] != b->id[k])
            return a->id[k] < b->id[k] ? -1 : 1;
    return 0;
}

static void fill_ngrams(struct ngram *g, const uint32_t *ids, size_t n, size_t order)
{
    for (size_t i = 0; i + order <= n; i++) {
        memset(&g[i], 0, sizeof(g[i]));
        for (size_t k = 0; k < order; k++)
            g[i].id[k] = ids[i + k];
    }
}

void metric_bleu_add(struct bleu_stats *st, const struct rouge_tokens *ref,
                     const struct rouge_tokens *hyp)
{
    size_t nr = ref->n, nh = hyp->n, nt = nr + nh;
    st->ref_len += nr;
    st->hyp_len += nh;
    if (nh == 0)
        return;
    /* intern the tokens of both sides as small ids, so n-grams compare as integers */
    uint32_t *ids = xmalloc(nt * sizeof(*ids));
    struct tok_ref *tr = xmalloc(nt * sizeof(*tr));
    for (size_t i = 0; i < nr; i++)
        tr[i] = (struct tok_ref){ref->tok[i], ref->len[i], &ids[i]};
    for (size_t i = 0; i < nh; i++)
        tr[nr + i] = (struct tok_ref){hyp->tok[i], hyp->len[i], &ids[nr + i]};
    qsort(tr, nt, sizeof(*tr), cmp_tok_ref);
    uint32_t next = 0;
    for (size_t i = 0; i < nt; i++) {
        if (i == 0 || cmp_tok_ref(&tr[i - 1], &tr[i]) != 0)
            next++;
        *tr[i].slot = next;
    }
    free(tr);
    const uint32_t *rid = ids, *hid = ids + nr;
    struct ngram *gr = xmalloc((nr ? nr : 1) * sizeof(*gr));
    struct ngram *gh = xmalloc(nh * sizeof(*gh));
    for (size_t order = 1; order <= 4; order++) {
        if (nh < order)
            break;
        size_t ch = nh - order + 1, cr = nr >= order ? nr - order + 1 : 0;
        st->total[order - 1] += ch;
        if (cr == 0)
            continue;
        fill_ngrams(gr, rid, nr, order);
        fill_ngrams(gh, hid, nh, order);
        qsort(gr, cr, sizeof(*gr), cmp_ngram);
        qsort(gh, ch, sizeof(*gh), cmp_ngram);
        /* clipped count: each distinct n-gram counts min(hyp count, ref count) */
        size_t i = 0, j = 0;
        while (i < cr && j < ch) {
            int c = cmp_ngram(&gr[i], &gh[j]);
            if (c < 0) {
                i++;
            } else if (c > 0) {
                j++;
            } else {
                size_t a = i, b = j;
                while (a < cr && cmp_ngram(&gr[a], &gr[i]) == 0)
                    a++;
                while (b < ch && cmp_ngram(&gh[b], &gh[j]) == 0)
                    b++;
                st->match[order - 1] += (a - i) < (b - j) ? (a - i) : (b - j);
                i = a, j = b;
            }
        }
    }
    free(gr);
    free(gh);
    free(ids);
}

double metric_bleu_score(const struct bleu_stats *st)
{
    if (st->hyp_len == 0)
        return 0;
    double s = 0;
    for (int k = 0; k < 4; k++) {
        if (st->total[k] == 0 || st->match[k] == 0)
            return 0;
        s += 0.25 * log((double)st->match[k] / (double)st->total[k]);
    }
    double bp = st->hyp_len > st->ref_len ? 1.0 : exp(1.0 - (double)st->ref_len / (double)st->hyp_len);
    return bp * exp(s);
}

double metric_bleu4(const char *const *refs, const char *const *hyps, size_t n)
{
    struct bleu_stats st = {{0}, {0}, 0, 0};
    for (size_t i = 0; i < n; i++) {
        struct rouge_tokens r, h;
        metric_rouge_tokenize(&r, refs[i], 0);
        metric_rouge_tokenize(&h, hyps[i], 0);
        metric_bleu_add(&st, &r, &h);
        metric_rouge_tokens_release(&r);
        metric_rouge_tokens_release(&h);
    }
    return metric_bleu_score(&st);
}
