/* Tests of the text metrics (metrics/rouge.c, porter.c, text_bleu.c, text_keywords.c): the
 * worked examples of METRICS.md 1.2, 1.3 and 8, and goldens from NLTK 3.8 (rouge_golden.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "metrics/metrics.h"
#include "test.h"

/* "a b c" of the tokens of text, joined by one space; the caller frees */
static char *joined(const char *text, int stem)
{
    struct rouge_tokens t;
    struct strbuf sb = STRBUF_INIT;
    metric_rouge_tokenize(&t, text, stem);
    for (size_t i = 0; i < t.n; i++) {
        CHECK_EQ_INT(strlen(t.tok[i]), t.len[i]);
        strbuf_addf(&sb, "%s%s", i ? " " : "", t.tok[i]);
    }
    metric_rouge_tokens_release(&t);
    return strbuf_detach(&sb);
}

static char *stem_of(const char *w)
{
    static char buf[256];
    size_t n = strlen(w);
    memcpy(buf, w, n + 1);
    size_t k = metric_porter_stem(buf, n);
    CHECK_EQ_INT(strlen(buf), k);
    return buf;
}

/* METRICS.md 1.2 test vectors */
static void test_stem_vectors(void)
{
    static const char *const v[][2] = {
        {"caresses", "caress"}, {"ponies", "poni"}, {"ties", "tie"}, {"flies", "fli"},
        {"died", "die"}, {"spied", "spi"}, {"agreed", "agre"}, {"feed", "feed"},
        {"hopping", "hop"}, {"falling", "fall"}, {"happy", "happi"}, {"enjoy", "enjoy"},
        {"relational", "relat"}, {"conditional", "condit"}, {"generalization", "gener"},
        {"hopeful", "hope"}, {"goodness", "good"}, {"adoption", "adopt"},
        {"controlling", "control"}, {"dying", "die"}, {"skies", "sky"}, {"geology", "geolog"},
        {"biographies", "biographi"}, {"neill", "neill"}, {"was", "wa"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        CHECK_STREQ(stem_of(v[i][0]), v[i][1]);
}

static void test_tokenize_examples(void)
{
    char *s = joined("Café Déjà-vu: O'Neill's 3.5 novels!", 1);
    CHECK_STREQ(s, "caf d j vu o neill s 3 5 novel");
    free(s);
    s = joined("The cats were running quickly.", 1);
    CHECK_STREQ(s, "the cat were run quickli");
    free(s);
    s = joined("A cat runs quickly", 1);
    CHECK_STREQ(s, "a cat run quickli");
    free(s);
    s = joined("The cats were running quickly.", 0);
    CHECK_STREQ(s, "the cats were running quickly");
    free(s);
    s = joined("It was", 1);   /* was has 3 letters: not stemmed, though the stemmer gives wa */
    CHECK_STREQ(s, "it was");
    free(s);
    s = joined("", 1);
    CHECK_STREQ(s, "");
    free(s);
    s = joined(" \t!!", 0);
    CHECK_STREQ(s, "");
    free(s);
    /* non-ASCII bytes are never lowercased: the Kelvin sign (U+212A) separates */
    s = joined("\xe2\x84\xaa" "elvin ABC", 0);
    CHECK_STREQ(s, "elvin abc");
    free(s);
}

static void test_token_spans(void)
{
    const char *text = "Café, O'Neill's BOOKS";
    struct rouge_tokens t;
    metric_rouge_tokenize(&t, text, 1);
    CHECK_EQ_INT(t.n, 5);   /* caf o neill s book */
    if (t.n == 5) {
        CHECK_EQ_INT(t.off[0], 0);
        CHECK_EQ_INT(t.src_len[0], 3);
        CHECK_EQ_INT(t.off[2], 9);
        CHECK_EQ_INT(t.src_len[2], 5);
        CHECK_EQ_INT(t.off[4], 17);
        CHECK_EQ_INT(t.src_len[4], 5);   /* BOOKS in the source, book after stemming */
        CHECK_STREQ(t.tok[4], "book");
        CHECK_EQ_INT(t.len[4], 4);
    }
    metric_rouge_tokens_release(&t);
    metric_rouge_tokens_release(&t);   /* a released struct is zeroed: releasing again is fine */
    metric_rouge_tokens_release(NULL);
}

static void test_rouge_example(void)
{
    const char *ref = "The cats were running quickly.", *pred = "A cat runs quickly";
    struct rouge_score s = metric_rouge_l(ref, pred, 1);
    CHECK_NEAR(s.recall, 0.6, 1e-15);
    CHECK_NEAR(s.precision, 0.75, 1e-15);
    CHECK_NEAR(s.f1, 2.0 / 3.0, 1e-12);
    s = metric_rouge_l(ref, pred, 0);
    CHECK_NEAR(s.recall, 0.2, 1e-15);
    CHECK_NEAR(s.precision, 0.25, 1e-15);
    CHECK_NEAR(s.f1, 2.0 / 9.0, 1e-12);
    /* argument order: recall divides by the reference */
    s = metric_rouge_l(pred, ref, 1);
    CHECK_NEAR(s.recall, 0.75, 1e-15);
    CHECK_NEAR(s.precision, 0.6, 1e-15);
    /* an empty side scores 0, whatever the other */
    s = metric_rouge_l("", "", 1);
    CHECK(s.recall == 0 && s.precision == 0 && s.f1 == 0);
    s = metric_rouge_l("word", "?!", 1);
    CHECK(s.recall == 0 && s.precision == 0 && s.f1 == 0);
    s = metric_rouge_l("a b", "c d", 1);
    CHECK(s.recall == 0 && s.precision == 0 && s.f1 == 0);
}

/* LCS against a full-table DP on random token lists over a small alphabet */
static void test_lcs_random(void)
{
    unsigned seed = 12345;
    for (int trial = 0; trial < 300; trial++) {
        char a[2048], b[2048];
        size_t na = (size_t)(trial % 37) * (trial % 7 == 0 ? 9 : 1), nb = (size_t)(trial * 7 % 41);
        size_t pa = 0, pb = 0;
        int ia[400], ib[400];
        for (size_t i = 0; i < na; i++) {
            seed = seed * 1103515245u + 12345u;
            ia[i] = (int)((seed >> 16) % 5);
            pa += (size_t)sprintf(a + pa, "w%d ", ia[i]);
        }
        for (size_t i = 0; i < nb; i++) {
            seed = seed * 1103515245u + 12345u;
            ib[i] = (int)((seed >> 16) % 5);
            pb += (size_t)sprintf(b + pb, "w%d ", ib[i]);
        }
        a[pa] = b[pb] = '\0';
        size_t *tab = xcalloc((na + 1) * (nb + 1), sizeof(size_t));
        for (size_t i = 1; i <= na; i++)
            for (size_t j = 1; j <= nb; j++) {
                size_t up = tab[(i - 1) * (nb + 1) + j], left = tab[i * (nb + 1) + j - 1];
                tab[i * (nb + 1) + j] = ia[i - 1] == ib[j - 1] ? tab[(i - 1) * (nb + 1) + j - 1] + 1
                                                               : (up > left ? up : left);
            }
        struct rouge_tokens ta, tb;
        metric_rouge_tokenize(&ta, a, 0);
        metric_rouge_tokenize(&tb, b, 0);
        CHECK_EQ_INT(metric_lcs(&ta, &tb), tab[na * (nb + 1) + nb]);
        CHECK_EQ_INT(metric_lcs(&tb, &ta), tab[na * (nb + 1) + nb]);
        metric_rouge_tokens_release(&ta);
        metric_rouge_tokens_release(&tb);
        free(tab);
    }
}

/* a long answer: rows longer than the stack buffer, and the prefix/suffix shortcut */
static void test_lcs_long(void)
{
    struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
    for (int i = 0; i < 3000; i++) {
        strbuf_addf(&a, "t%d ", i % 97);
        if (i % 3)
            strbuf_addf(&b, "t%d ", i % 97);
    }
    struct rouge_tokens ta, tb;
    metric_rouge_tokenize(&ta, a.buf, 0);
    metric_rouge_tokenize(&tb, b.buf, 0);
    CHECK_EQ_INT(ta.n, 3000);
    CHECK_EQ_INT(tb.n, 2000);
    CHECK_EQ_INT(metric_lcs(&ta, &tb), 2000);   /* b is a subsequence of a */
    CHECK_EQ_INT(metric_lcs(&ta, &ta), 3000);
    metric_rouge_tokens_release(&ta);
    metric_rouge_tokens_release(&tb);
    strbuf_release(&a);
    strbuf_release(&b);
}

/* METRICS.md 1.3 */
static void test_exact_match(void)
{
    CHECK_EQ_INT(metric_exact_match("Paris", "paris"), 1);
    CHECK_EQ_INT(metric_exact_match("  Paris\n", "\tPARIS \r\v\f"), 1);
    CHECK_EQ_INT(metric_exact_match("Paris.", "Paris"), 0);
    CHECK_EQ_INT(metric_exact_match("New  York", "new york"), 0);   /* inner spaces count */
    CHECK_EQ_INT(metric_exact_match("", "   "), 1);
    CHECK_EQ_INT(metric_exact_match("", "a"), 0);
    CHECK_EQ_INT(metric_exact_match("CAFÉ", "café"), 0);   /* ASCII lowercase only */
    CHECK_EQ_INT(metric_exact_match("café", "CAFé"), 1);
    CHECK_EQ_INT(metric_exact_match("a\xc2\xa0", "a"), 0);   /* U+00A0 is not ASCII space */
}

/* BLEU by hand. ref "the cat sat on the mat" (6), hyp "the cat sat on a mat" (6):
 * p1 = 5/6, p2 = 3/5 (the cat, cat sat, sat on), p3 = 2/4, p4 = 1/3; c = r, so BP = 1. */
static void test_bleu_hand(void)
{
    const char *refs[] = {"The cat sat on the mat."};
    const char *hyps[] = {"the cat sat on a mat"};
    double want = exp(0.25 * (log(5.0 / 6) + log(3.0 / 5) + log(2.0 / 4) + log(1.0 / 3)));
    CHECK_NEAR(metric_bleu4(refs, hyps, 1), want, 1e-14);
    /* clipping: "the the the the the" against "the cat": p1 = 1/5, p2 = 0 -> 0 */
    const char *r2[] = {"the cat"}, *h2[] = {"the the the the the"};
    CHECK(metric_bleu4(r2, h2, 1) == 0);
    /* brevity penalty, two items: ref lengths 8 + 4 = 12; hyps 4 + 4 = 8 tokens.
     * item 1: hyp "a b c d" in ref "a b c d e f g h": 4/4, 3/3, 2/2, 1/1;
     * item 2: hyp "w x y z" vs ref "w x y q": 3/4, 2/3, 1/2, 0/1. Corpus: p1 = 7/8, p2 = 5/6,
     * p3 = 3/4, p4 = 1/2; BP = exp(1 - 12/8). */
    const char *r3[] = {"a b c d e f g h", "w x y q"}, *h3[] = {"a b c d", "w x y z"};
    double want3 = exp(1 - 12.0 / 8) *
                   exp(0.25 * (log(7.0 / 8) + log(5.0 / 6) + log(3.0 / 4) + log(1.0 / 2)));
    CHECK_NEAR(metric_bleu4(r3, h3, 2), want3, 1e-14);
    /* no hypothesis 4-gram at all -> 0; identical texts -> 1; empty corpus -> 0 */
    const char *r4[] = {"a b c"}, *h4[] = {"a b c"};
    CHECK(metric_bleu4(r4, h4, 1) == 0);
    const char *r5[] = {"x y z w v"}, *h5[] = {"X, y z w v!"};
    CHECK_NEAR(metric_bleu4(r5, h5, 1), 1.0, 1e-15);
    CHECK(metric_bleu4(NULL, NULL, 0) == 0);
    /* tokens are unstemmed: "cats" does not match "cat" */
    const char *r6[] = {"cats sat on mats"}, *h6[] = {"cat sat on mat"};
    CHECK(metric_bleu4(r6, h6, 1) == 0);
}

static void test_stopwords(void)
{
    CHECK(metric_stopword_count >= 90 && metric_stopword_count <= 130);
    for (size_t i = 0; i < metric_stopword_count; i++) {
        const char *w = metric_stopwords[i];
        for (const char *p = w; *p; p++)
            CHECK((*p >= 'a' && *p <= 'z'));
        if (i)
            CHECK(strcmp(metric_stopwords[i - 1], w) < 0);   /* sorted, unique: bsearch works */
        CHECK(metric_is_stopword(w));
    }
    CHECK(metric_is_stopword("the"));
    CHECK(metric_is_stopword("s"));
    CHECK(!metric_is_stopword("novel"));
    CHECK(!metric_is_stopword("The"));   /* tokens are lowercase */
    CHECK(!metric_is_stopword(""));
}

static void test_keywords(void)
{
    const char *q = "What genre does Jaime Vasquez write?";
    const char *a = "Jaime Vasquez writes true crime novels, and crime is his genre.";
    struct rouge_tokens kw;
    metric_keywords(&kw, a, q);
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < kw.n; i++)
        strbuf_addf(&sb, "%s%s@%zu", i ? " " : "", kw.tok[i], kw.off[i]);
    /* jaime, vasquez, genre: in the question; and, is, his: stop words; writes stays (the
     * question has write, compared unstemmed) */
    CHECK_STREQ(sb.buf, "writes@14 true@21 crime@26 novels@32 crime@44");
    strbuf_release(&sb);
    metric_rouge_tokens_release(&kw);

    double acc = -1;
    /* distinct stemmed keywords: write, true, crime, novel (crime twice counts once) */
    CHECK_EQ_INT(metric_keyword_acc(a, q, "He wrote a crime novel.", &acc), 1);
    CHECK_NEAR(acc, 0.5, 1e-15);   /* crime, novel; "wrote" is not "write" */
    CHECK_EQ_INT(metric_keyword_acc(a, q, "TRUE CRIME; novels written", &acc), 1);
    CHECK_NEAR(acc, 0.75, 1e-15);
    CHECK_EQ_INT(metric_keyword_acc(a, q, "", &acc), 1);
    CHECK(acc == 0);
    /* no keyword: the item is left out */
    CHECK_EQ_INT(metric_keyword_acc("It is what it was.", "Is it?", "it is", &acc), 0);
    CHECK(acc == 0);
    CHECK_EQ_INT(metric_keyword_acc("Vasquez", "Who is Vasquez?", "Vasquez", &acc), 0);
}

/* ---- NLTK goldens (tests/golden/rouge_golden.txt) ----------------------------------------- */

/* Decodes a percent-encoded field in place ("%" alone is the empty string). */
static void pct_decode(char *s)
{
    if (strcmp(s, "%") == 0) {
        s[0] = '\0';
        return;
    }
    char *o = s;
    for (const char *p = s; *p;) {
        if (p[0] == '%' && p[1] && p[2]) {
            char hex[3] = {p[1], p[2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
}

static char *next_field(char **p)
{
    char *s = *p;
    while (*s == ' ')
        s++;
    char *e = s;
    while (*e && *e != ' ' && *e != '\n')
        e++;
    if (*e)
        *e++ = '\0';
    *p = e;
    return s;
}

static void test_golden(void)
{
    char *text = NULL;
    struct lethe_error err = {0};
    if (file_read_all("tests/golden/rouge_golden.txt", &text, NULL, &err) < 0) {
        printf("# %s\n", err.msg);
        CHECK(0);
        return;
    }
    int n_pair = 0, n_stem = 0, n_bleu = 0, bad = 0;
    size_t cap = 0, nb = 0;
    char **brefs = NULL, **bhyps = NULL;
    char *line = text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *p = line;
        char *kind = next_field(&p);
        if (strcmp(kind, "pair") == 0) {
            char *ref = next_field(&p), *pred = next_field(&p);
            double want[6];
            for (int k = 0; k < 6; k++)
                want[k] = strtod(next_field(&p), NULL);
            pct_decode(ref);
            pct_decode(pred);
            struct rouge_score s = metric_rouge_l(ref, pred, 1), u = metric_rouge_l(ref, pred, 0);
            double got[6] = {s.recall, s.precision, s.f1, u.recall, u.precision, u.f1};
            for (int k = 0; k < 6; k++)
                if (got[k] != want[k]) {   /* same operations in the same order: bit-exact */
                    bad++;
                    printf("# pair %d value %d: %.17g, nltk %.17g ('%s' / '%s')\n", n_pair, k,
                           got[k], want[k], ref, pred);
                }
            n_pair++;
        } else if (strcmp(kind, "stem") == 0) {
            char *w = next_field(&p), *want = next_field(&p);
            const char *got = stem_of(w);
            if (strcmp(got, want) != 0) {
                bad++;
                printf("# stem '%s': '%s', nltk '%s'\n", w, got, want);
            }
            n_stem++;
        } else if (strcmp(kind, "bleu_item") == 0) {
            xgrow(&brefs, &cap, nb + 1, sizeof(*brefs));
            bhyps = xrealloc(bhyps, cap * sizeof(*bhyps));
            brefs[nb] = next_field(&p);
            bhyps[nb] = next_field(&p);
            pct_decode(brefs[nb]);
            pct_decode(bhyps[nb]);
            nb++;
        } else if (strcmp(kind, "bleu") == 0) {
            double want = strtod(next_field(&p), NULL);
            double got = metric_bleu4((const char *const *)brefs, (const char *const *)bhyps, nb);
            if (!(fabs(got - want) <= 1e-13)) {   /* NLTK sums the logs with math.fsum */
                bad++;
                printf("# bleu corpus %d: %.17g, nltk %.17g\n", n_bleu, got, want);
            }
            n_bleu++;
            nb = 0;
        } else if (kind[0] != '#' && kind[0] != '\0') {
            bad++;
            printf("# unknown golden line kind '%s'\n", kind);
        }
        line = nl ? nl + 1 : NULL;
    }
    printf("# golden: %d pairs, %d stems, %d bleu corpora, %d mismatches\n", n_pair, n_stem,
           n_bleu, bad);
    CHECK(n_pair >= 60);
    CHECK(n_stem >= 1000);
    CHECK(n_bleu >= 3);
    CHECK_EQ_INT(bad, 0);
    free(brefs);
    free(bhyps);
    free(text);
}

int main(void)
{
    RUN(test_stem_vectors);
    RUN(test_tokenize_examples);
    RUN(test_token_spans);
    RUN(test_rouge_example);
    RUN(test_lcs_random);
    RUN(test_lcs_long);
    RUN(test_exact_match);
    RUN(test_bleu_hand);
    RUN(test_stopwords);
    RUN(test_keywords);
    RUN(test_golden);
    return test_done();
}
