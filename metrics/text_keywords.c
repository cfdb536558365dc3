/* Keywords of an answer and keyword accuracy (METRICS.md 8, Lethe's choice for GRIN's keyword
 * metrics), with Lethe's fixed stop-word list. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"

/* Lethe's stop words, version 1: English function words (articles, pronouns, auxiliaries,
 * prepositions, conjunctions, determiners) plus the contraction pieces the ROUGE tokenizer
 * leaves ("don't" -> don t). Sorted in C byte order for bsearch; changing it changes
 * keyword_acc and keyword_conf, so bump the version in this comment. */
const char *const metric_stopwords[] = {
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
    "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
    "but", "by", "can", "could", "d", "did", "do", "does", "down", "during", "each", "for",
    "from", "had", "has", "have", "he", "her", "here", "him", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "just", "ll", "m", "me", "more", "most", "my", "no", "not",
    "now", "of", "off", "on", "only", "or", "other", "our", "out", "over", "re", "s", "she",
    "should", "so", "some", "such", "t", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
    "ve", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "why",
    "will", "with", "would", "you", "your",
};
const size_t metric_stopword_count = sizeof(metric_stopwords) / sizeof(metric_stopwords[0]);

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int metric_is_stopword(const char *token)
{
    return bsearch(&token, metric_stopwords, metric_stopword_count, sizeof(metric_stopwords[0]),
                   cmp_str) != NULL;
}

static int in_tokens(const struct rouge_tokens *set, const struct rouge_tokens *t, size_t i)
{
    for (size_t j = 0; j < set->n; j++)
        if (metric_rouge_token_eq(set, j, t, i))
            return 1;
    return 0;
}

void metric_keywords(struct rouge_tokens *out, const char *answer, const char *question)
{
    struct rouge_tokens q;
    metric_rouge_tokenize(out, answer, 0);
    metric_rouge_tokenize(&q, question, 0);
    size_t k = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (metric_is_stopword(out->tok[i]) || in_tokens(&q, out, i))
            continue;
        out->tok[k] = out->tok[i];
        out->len[k] = out->len[i];
        out->hash[k] = out->hash[i];
        out->off[k] = out->off[i];
        out->src_len[k] = out->src_len[i];
        k++;
    }
    out->n = k;
    metric_rouge_tokens_release(&q);
}

int metric_keyword_acc_tokens(const struct rouge_tokens *keywords_stemmed,
                              const struct rouge_tokens *gen_stemmed, double *acc)
{
    const struct rouge_tokens *kw = keywords_stemmed;
    size_t distinct = 0, hit = 0;
    for (size_t i = 0; i < kw->n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = metric_rouge_token_eq(kw, j, kw, i);
        if (seen)
            continue;
        distinct++;
        hit += (size_t)in_tokens(gen_stemmed, kw, i);
    }
    *acc = distinct ? (double)hit / (double)distinct : 0;
    return distinct > 0;
}

int metric_keyword_acc(const char *answer, const char *question, const char *generation,
                       double *acc)
{
    struct rouge_tokens kw, gen;
    metric_keywords(&kw, answer, question);
    metric_rouge_stem_tokens(&kw);
    metric_rouge_tokenize(&gen, generation, 1);
    int r = metric_keyword_acc_tokens(&kw, &gen, acc);
    metric_rouge_tokens_release(&kw);
    metric_rouge_tokens_release(&gen);
    return r;
}
