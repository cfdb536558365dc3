/* The byte-level BPE trainer: GPT-2's pre-tokenizer, pair counts over the distinct words
 * weighted by their frequency, updated incrementally around each merge, a lazy max-heap. */
#include <stdlib.h>
#include <string.h>

#include "nn/tokenizer_impl.h"

struct bpe_word {
    size_t off;                 /* bytes in the trainer's pool; symbols in finish's arrays */
    uint32_t len;
    int64_t count;
};

struct bpe_trainer {
    char *pool;
    size_t pool_len, pool_cap;
    struct bpe_word *words;
    size_t n_words, words_cap;
    uint64_t *slot_hash;        /* (cap) word table: 0 = empty */
    uint32_t *slot_word;
    size_t slot_cap;
};

struct bpe_trainer *bpe_trainer_new(void)
{
    struct bpe_trainer *tr = xcalloc(1, sizeof(*tr));
    tr->slot_cap = 1024;
    tr->slot_hash = xcalloc(tr->slot_cap, sizeof(*tr->slot_hash));
    tr->slot_word = xmalloc(tr->slot_cap * sizeof(*tr->slot_word));
    return tr;
}

void bpe_trainer_free(struct bpe_trainer *tr)
{
    if (!tr)
        return;
    free(tr->pool);
    free(tr->words);
    free(tr->slot_hash);
    free(tr->slot_word);
    free(tr);
}

static void table_grow_impl(struct bpe_trainer *tr)
{
    size_t cap = tr->slot_cap * 2;
    uint64_t *h = xcalloc(cap, sizeof(*h));
    uint32_t *w = xmalloc(cap * sizeof(*w));
    for (size_t i = 0; i < tr->slot_cap; i++) {
        if (!tr->slot_hash[i])
            continue;
        size_t j = (size_t)tr->slot_hash[i] & (cap - 1);
        while (h[j])
            j = (j + 1) & (cap - 1);
        h[j] = tr->slot_hash[i];
        w[j] = tr->slot_word[i];
    }
    free(tr->slot_hash);
    free(tr->slot_word);
    tr->slot_hash = h;
    tr->slot_word = w;
    tr->slot_cap = cap;
}

static void count_word_cb_impl(void *ctx, const char *s, size_t n)
{
    struct bpe_trainer *tr = ctx;
    if (n >= UINT32_MAX)
        n = UINT32_MAX - 1;     /* a 4 GB word: counted by its first 4 GB */
    uint64_t h = tok_hash_bytes(s, n);
    size_t mask = tr->slot_cap - 1, i = (size_t)h & mask;
    for (; tr->slot_hash[i]; i = (i + 1) & mask) {
        struct bpe_word *w = &tr->words[tr->slot_word[i]];
        if (tr->slot_hash[i] == h && w->len == n && memcmp(tr->pool + w->off, s, n) == 0) {
            w->count++;
            return;
        }
    }
    LETHE_ASSERT(tr->n_words < UINT32_MAX);
    xgrow(&tr->words, &tr->words_cap, tr->n_words + 1, sizeof(*tr->words));
    xgrow(&tr->pool, &tr->pool_cap, tr->pool_len + n, 1);
    memcpy(tr->pool + tr->pool_len, s, n);
    tr->words[tr->n_words] = (struct bpe_word){tr->pool_len, (uint32_t)n, 1};
    tr->pool_len += n;
    tr->slot_hash[i] = h;
    tr->slot_word[i] = (uint32_t)tr->n_words++;
    if (2 * tr->n_words >= tr->slot_cap)
        table_grow_impl(tr);
}

int bpe_trainer_add(struct bpe_trainer *tr, const char *text, size_t len, struct lethe_error *err)
{
    return tokenizer_pretokenize(text, len, count_word_cb_impl, tr, err);
}

/* ---- the merge loop -------------------------------------------------------------------- */

struct bpe_pair {
    int left, right;
    int64_t count;
    int64_t count_before;       /* at the first touch during the current merge */
    uint32_t touched;           /* the merge number that last touched it */
    uint32_t *where;            /* words that held the pair when it was counted (may be stale) */
    uint32_t n_where, cap_where;
};

struct bpe_heap_item {
    int64_t count;
    int pair;
};

struct bpe_state {
    /* tokens */
    char *pool;
    size_t pool_len, pool_cap;
    size_t *off;
    uint32_t *len;
    size_t n_tok, tok_cap;
    struct tok_strmap tokmap;
    /* merges */
    struct tok_merge *merges;
    size_t n_merges, merges_cap;
    struct tok_u64map merged;   /* pair -> rank of its merge */
    /* pairs */
    struct bpe_pair *pairs;
    size_t n_pairs, pairs_cap;
    struct tok_u64map pair_index;
    int *touched;
    size_t n_touched, touched_cap;
    uint32_t stamp;
    /* heap */
    struct bpe_heap_item *heap;
    size_t n_heap, heap_cap;
};

/* Token a's bytes before token b's: memcmp order, a prefix first. */
static int tok_cmp_impl(const struct bpe_state *st, int a, int b)
{
    size_t la = st->len[a], lb = st->len[b];
    int c = memcmp(st->pool + st->off[a], st->pool + st->off[b], la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* The heap's order: the highest count first, then the smallest pair (left token's bytes,
 * then right token's). */
static int heap_before_impl(const struct bpe_state *st, struct bpe_heap_item x,
                            struct bpe_heap_item y)
{
    if (x.count != y.count)
        return x.count > y.count;
    const struct bpe_pair *p = &st->pairs[x.pair], *q = &st->pairs[y.pair];
    int c = tok_cmp_impl(st, p->left, q->left);
    if (c == 0)
        c = tok_cmp_impl(st, p->right, q->right);
    return c < 0;
}

static void heap_push_impl(struct bpe_state *st, struct bpe_heap_item it)
{
    xgrow(&st->heap, &st->heap_cap, st->n_heap + 1, sizeof(*st->heap));
    size_t i = st->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_before_impl(st, it, st->heap[p]))
            break;
        st->heap[i] = st->heap[p];
        i = p;
    }
    st->heap[i] = it;
}

static struct bpe_heap_item heap_pop_impl(struct bpe_state *st)
{
    struct bpe_heap_item *h = st->heap;
    struct bpe_heap_item top = h[0], last = h[--st->n_heap];
    size_t i = 0, m = st->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && heap_before_impl(st, h[c + 1], h[c]))
            c++;
        if (!heap_before_impl(st, h[c], last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (m > 0)
        h[i] = last;
    return top;
}

/* Appends the token whose bytes are those of tokens L and R (R < 0: the n bytes at s
 * instead, not inside the pool); returns its id, or the id of the token with those bytes. */
static int add_token_impl(struct bpe_state *st, int L, int R, const char *s, size_t n)
{
    size_t la = L >= 0 ? st->len[L] : n, lb = R >= 0 ? st->len[R] : 0;
    xgrow(&st->pool, &st->pool_cap, st->pool_len + la + lb, 1);    /* may move the pool */
    xgrow(&st->off, &st->tok_cap, st->n_tok + 1, sizeof(*st->off));
    st->len = xrealloc(st->len, st->tok_cap * sizeof(*st->len));
    char *dst = st->pool + st->pool_len;
    if (L >= 0) {
        memcpy(dst, st->pool + st->off[L], la);
        memcpy(dst + la, st->pool + st->off[R], lb);
    } else {
        memcpy(dst, s, la);
    }
    int id = (int)st->n_tok;
    st->off[id] = st->pool_len;
    st->len[id] = (uint32_t)(la + lb);
    int old = tok_strmap_put(&st->tokmap, st->pool, st->off, st->len, id);
    if (old >= 0)
        return old;     /* the same bytes from another pair: one id, as a loaded file has */
    st->pool_len += la + lb;
    st->n_tok++;
    return id;
}

/* Adds delta (weighted count) to the pair (a, b) of word w. */
static void pair_add_impl(struct bpe_state *st, int a, int b, int64_t delta, uint32_t w)
{
    uint64_t key = tok_pair_key(a, b);
    int pi = tok_u64map_get(&st->pair_index, key);
    if (pi < 0) {
        LETHE_ASSERT(delta > 0);
        xgrow(&st->pairs, &st->pairs_cap, st->n_pairs + 1, sizeof(*st->pairs));
        pi = (int)st->n_pairs++;
        memset(&st->pairs[pi], 0, sizeof(st->pairs[pi]));
        st->pairs[pi].left = a;
        st->pairs[pi].right = b;
        st->pairs[pi].touched = UINT32_MAX;
        tok_u64map_put(&st->pair_index, key, pi);
    }
    struct bpe_pair *p = &st->pairs[pi];
    if (p->touched != st->stamp) {
        p->touched = st->stamp;
        p->count_before = p->count;
        xgrow(&st->touched, &st->touched_cap, st->n_touched + 1, sizeof(*st->touched));
        st->touched[st->n_touched++] = pi;
    }
    p->count += delta;
    if (delta > 0 && (p->n_where == 0 || p->where[p->n_where - 1] != w)) {
        if (p->n_where == p->cap_where) {
            p->cap_where = p->cap_where ? 2 * p->cap_where : 4;
            p->where = xrealloc(p->where, p->cap_where * sizeof(*p->where));
        }
        p->where[p->n_where++] = w;
    }
}

static void state_release_impl(struct bpe_state *st)
{
    free(st->pool);
    free(st->off);
    free(st->len);
    tok_strmap_release(&st->tokmap);
    free(st->merges);
    tok_u64map_release(&st->merged);
    for (size_t i = 0; i < st->n_pairs; i++)
        free(st->pairs[i].where);
    free(st->pairs);
    tok_u64map_release(&st->pair_index);
    free(st->touched);
    free(st->heap);
}

struct tokenizer *bpe_trainer_finish(struct bpe_trainer *tr, int vocab_size, struct lethe_error *err)
{
    if (vocab_size < 257 || vocab_size > 1 << 24) {
        lethe_err(err, LETHE_EINPUT, "vocabulary size %d is out of range: 257 (the 256 bytes and "
                  "'%s') to 2^24", vocab_size, TOKENIZER_EOT_TEXT);
        return NULL;
    }
    struct bpe_state st;
    memset(&st, 0, sizeof(st));
    tok_strmap_init(&st.tokmap, (size_t)vocab_size);
    tok_u64map_init(&st.merged, (size_t)vocab_size);
    tok_u64map_init(&st.pair_index, 1024);
    int byte_id[256];
    for (int i = 0; i < 256; i++) {
        char c = (char)tok_order_byte(i);
        byte_id[(unsigned char)c] = add_token_impl(&st, -1, -1, &c, 1);
    }
    /* each word's symbols, merged in place as the merges come */
    size_t total = 0;
    for (size_t w = 0; w < tr->n_words; w++)
        total += tr->words[w].len;
    int *sym = xmalloc((total ? total : 1) * sizeof(*sym));
    uint32_t *wlen = xmalloc((tr->n_words ? tr->n_words : 1) * sizeof(*wlen));
    size_t *woff = xmalloc((tr->n_words ? tr->n_words : 1) * sizeof(*woff));
    uint32_t *wstamp = xcalloc(tr->n_words ? tr->n_words : 1, sizeof(*wstamp));
    st.stamp = 0;
    for (size_t w = 0, o = 0; w < tr->n_words; w++) {
        const struct bpe_word *wd = &tr->words[w];
        woff[w] = o;
        wlen[w] = wd->len;
        for (uint32_t i = 0; i < wd->len; i++)
            sym[o + i] = byte_id[(unsigned char)tr->pool[wd->off + i]];
        for (uint32_t i = 0; i + 1 < wd->len; i++)
            pair_add_impl(&st, sym[o + i], sym[o + i + 1], wd->count, (uint32_t)w);
        o += wd->len;
    }
    for (size_t i = 0; i < st.n_pairs; i++)
        heap_push_impl(&st, (struct bpe_heap_item){st.pairs[i].count, (int)i});

    while (st.n_tok < (size_t)vocab_size - 1 && st.n_heap > 0) {
        struct bpe_heap_item top = heap_pop_impl(&st);
        struct bpe_pair *bp = &st.pairs[top.pair];
        if (top.count != bp->count || bp->count <= 0)
            continue;   /* stale entry */
        int L = bp->left, R = bp->right;
        int X = add_token_impl(&st, L, R, NULL, 0);
        uint64_t key = tok_pair_key(L, R);
        if (tok_u64map_get(&st.merged, key) < 0) {
            /* (greedy merging never makes one token from two different pairs, since the
             * merges inside a span are the same in every word; were it to, the id is shared
             * and a pair merged before is merged again without a second rank) */
            xgrow(&st.merges, &st.merges_cap, st.n_merges + 1, sizeof(*st.merges));
            st.merges[st.n_merges] = (struct tok_merge){L, R, X};
            tok_u64map_put(&st.merged, key, (int)st.n_merges++);
        }
        st.stamp++;
        st.n_touched = 0;
        int pi = top.pair;
        for (uint32_t k = 0; k < st.pairs[pi].n_where; k++) {
            uint32_t w = st.pairs[pi].where[k];
            if (wstamp[w] == st.stamp)
                continue;
            wstamp[w] = st.stamp;
            int *s = sym + woff[w];
            uint32_t n = wlen[w], o = 0;
            int64_t c = tr->words[w].count;
            for (uint32_t i = 0; i < n;) {
                if (i + 1 < n && s[i] == L && s[i + 1] == R) {
                    if (o > 0) {
                        pair_add_impl(&st, s[o - 1], L, -c, w);
                        pair_add_impl(&st, s[o - 1], X, c, w);
                    }
                    pair_add_impl(&st, L, R, -c, w);
                    if (i + 2 < n) {
                        pair_add_impl(&st, R, s[i + 2], -c, w);
                        pair_add_impl(&st, X, s[i + 2], c, w);
                    }
                    s[o++] = X;
                    i += 2;
                } else {
                    s[o++] = s[i++];
                }
            }
            wlen[w] = o;
        }
        LETHE_ASSERT(st.pairs[pi].count == 0);
        free(st.pairs[pi].where);
        st.pairs[pi].where = NULL;
        st.pairs[pi].n_where = st.pairs[pi].cap_where = 0;
        for (size_t k = 0; k < st.n_touched; k++) {
            struct bpe_pair *p = &st.pairs[st.touched[k]];
            if (p->count != p->count_before && p->count > 0)
                heap_push_impl(&st, (struct bpe_heap_item){p->count, st.touched[k]});
        }
    }
    free(sym);
    free(wlen);
    free(woff);
    free(wstamp);

    add_token_impl(&st, -1, -1, TOKENIZER_EOT_TEXT, strlen(TOKENIZER_EOT_TEXT));
    int n_vocab = (int)st.n_tok;
    int n_merges = (int)st.n_merges;
    char *pool = st.pool;
    size_t *off = st.off;
    uint32_t *len = st.len;
    struct tok_merge *merges = st.merges;
    st.pool = NULL;
    st.off = NULL;
    st.len = NULL;
    st.merges = NULL;
    state_release_impl(&st);
    int dup;
    struct tokenizer *t = tok_build(n_vocab, pool, off, len, n_merges, merges, &dup, err);
    LETHE_ASSERT(t);
    return t;
}

struct tokenizer *bpe_train(const char *text, size_t len, int vocab_size, struct lethe_error *err)
{
    struct bpe_trainer *tr = bpe_trainer_new();
    struct tokenizer *t = NULL;
    if (bpe_trainer_add(tr, text, len, err) == 0)
        t = bpe_trainer_finish(tr, vocab_size, err);
    bpe_trainer_free(tr);
    return t;
}
