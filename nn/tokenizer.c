/* Byte-level BPE (GPT-2's): building a tokenizer from tokens and ranked merges, the merge
 * loop (a heap over ranks, and the plain _ref loop of GPT-2's encoder.py), encode, decode. */
#include <stdlib.h>
#include <string.h>

#include "nn/tokenizer_impl.h"

#define TOK_BPE_MAX_WORD ((size_t)1 << 30)

/* ---- hashing and maps ---------------------------------------------------------------- */

static inline uint64_t mix64_impl(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xD6E8FEB86659FD93ull;
    x ^= x >> 32;
    x *= 0xD6E8FEB86659FD93ull;
    x ^= x >> 32;
    return x;
}

uint64_t tok_hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x243F6A8885A308D3ull ^ (n * 0x9E3779B97F4A7C15ull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = mix64_impl(h ^ w) + 0x9E3779B97F4A7C15ull;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)s[i] << (8 * i);
    h = mix64_impl(h ^ w ^ ((uint64_t)n << 59));
    return h ? h : 1;
}

static size_t pow2_for_impl(size_t expect)
{
    size_t cap = 16;
    while (cap < 2 * expect + 2)
        cap *= 2;
    return cap;
}

void tok_u64map_init(struct tok_u64map *m, size_t expect)
{
    m->cap = pow2_for_impl(expect);
    m->n = 0;
    m->keys = xcalloc(m->cap, sizeof(*m->keys));
    m->vals = xmalloc(m->cap * sizeof(*m->vals));
}

void tok_u64map_release(struct tok_u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

static void u64map_grow_impl(struct tok_u64map *m)
{
    struct tok_u64map big;
    big.cap = m->cap * 2;
    big.n = 0;
    big.keys = xcalloc(big.cap, sizeof(*big.keys));
    big.vals = xmalloc(big.cap * sizeof(*big.vals));
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i])
            tok_u64map_put(&big, m->keys[i], m->vals[i]);
    tok_u64map_release(m);
    *m = big;
}

int tok_u64map_put(struct tok_u64map *m, uint64_t key, int val)
{
    LETHE_ASSERT(key != 0);
    if (2 * (m->n + 1) >= m->cap)
        u64map_grow_impl(m);
    size_t mask = m->cap - 1;
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & mask;
    if (m->keys[i]) {
        int old = m->vals[i];
        m->vals[i] = val;
        return old;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return -1;
}

void tok_strmap_init(struct tok_strmap *m, size_t expect)
{
    m->cap = pow2_for_impl(expect);
    m->n = 0;
    m->hash = xcalloc(m->cap, sizeof(*m->hash));
    m->ids = xmalloc(m->cap * sizeof(*m->ids));
}

void tok_strmap_release(struct tok_strmap *m)
{
    free(m->hash);
    free(m->ids);
    memset(m, 0, sizeof(*m));
}

int tok_strmap_get(const struct tok_strmap *m, const char *pool, const size_t *off,
                   const uint32_t *len, const char *s, size_t n)
{
    uint64_t h = tok_hash_bytes(s, n);
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask; m->hash[i]; i = (i + 1) & mask) {
        int id = m->ids[i];
        if (m->hash[i] == h && len[id] == n && memcmp(pool + off[id], s, n) == 0)
            return id;
    }
    return -1;
}

int tok_strmap_put(struct tok_strmap *m, const char *pool, const size_t *off, const uint32_t *len,
                   int id)
{
    if (2 * (m->n + 1) >= m->cap) {
        struct tok_strmap big;
        big.cap = m->cap * 2;
        big.n = m->n;
        big.hash = xcalloc(big.cap, sizeof(*big.hash));
        big.ids = xmalloc(big.cap * sizeof(*big.ids));
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->hash[i])
                continue;
            size_t j = (size_t)m->hash[i] & (big.cap - 1);
            while (big.hash[j])
                j = (j + 1) & (big.cap - 1);
            big.hash[j] = m->hash[i];
            big.ids[j] = m->ids[i];
        }
        tok_strmap_release(m);
        *m = big;
    }
    const char *s = pool + off[id];
    size_t n = len[id];
    uint64_t h = tok_hash_bytes(s, n);
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;
    for (; m->hash[i]; i = (i + 1) & mask) {
        int o = m->ids[i];
        if (m->hash[i] == h && len[o] == n && memcmp(pool + off[o], s, n) == 0)
            return o;
    }
    m->hash[i] = h;
    m->ids[i] = id;
    m->n++;
    return -1;
}

/* ---- building -------------------------------------------------------------------------- */

void tok_bytes_to_chars(struct strbuf *sb, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned cp = tok_byte_cp((unsigned char)s[i]);
        char b[2];
        if (cp < 0x80) {
            b[0] = (char)cp;
            strbuf_add(sb, b, 1);
        } else {
            b[0] = (char)(0xC0 | (cp >> 6));
            b[1] = (char)(0x80 | (cp & 0x3F));
            strbuf_add(sb, b, 2);
        }
    }
}

struct tokenizer *tok_build(int n_vocab, char *pool, size_t *off, uint32_t *len, int n_merges,
                            struct tok_merge *merges, int *dup_merge, struct lethe_error *err)
{
    struct tokenizer *t = xcalloc(1, sizeof(*t));
    t->n_vocab = n_vocab;
    t->pool = pool;
    t->off = off;
    t->len = len;
    t->n_merges = n_merges;
    t->merges = merges;
    t->eot = -1;
    *dup_merge = -1;
    for (int b = 0; b < 256; b++)
        t->byte_id[b] = -1;
    size_t eot_len = strlen(TOKENIZER_EOT_TEXT);
    for (int id = 0; id < n_vocab; id++) {
        if (len[id] == 1)
            t->byte_id[(unsigned char)pool[off[id]]] = id;
        else if (len[id] == eot_len && memcmp(pool + off[id], TOKENIZER_EOT_TEXT, eot_len) == 0)
            t->eot = id;
    }
    for (unsigned b = 0; b < 256; b++) {
        if (t->byte_id[b] < 0) {
            lethe_err(err, LETHE_EINPUT, "no token for the byte 0x%02x", b);
            goto fail;
        }
    }
    if (t->eot < 0) {
        lethe_err(err, LETHE_EINPUT, "no '%s' token", TOKENIZER_EOT_TEXT);
        goto fail;
    }
    tok_u64map_init(&t->ranks, (size_t)n_merges);
    for (int r = 0; r < n_merges; r++) {
        LETHE_ASSERT(merges[r].left >= 0 && merges[r].left < n_vocab);
        LETHE_ASSERT(merges[r].right >= 0 && merges[r].right < n_vocab);
        LETHE_ASSERT(merges[r].result >= 0 && merges[r].result < n_vocab);
        int prev = tok_u64map_put(&t->ranks, tok_pair_key(merges[r].left, merges[r].right), r);
        if (prev >= 0) {
            *dup_merge = r;
            lethe_err(err, LETHE_EINPUT, "the merge of rank %d repeats the merge of rank %d", r, prev);
            goto fail;
        }
    }
    return t;
fail:
    tokenizer_free(t);
    return NULL;
}

void tokenizer_free(struct tokenizer *t)
{
    if (!t)
        return;
    free(t->pool);
    free(t->off);
    free(t->len);
    free(t->merges);
    if (t->ranks.keys)
        tok_u64map_release(&t->ranks);
    free(t->cache);
    free(t->cache_pool);
    free(t->sym);
    free(t->prev);
    free(t->next);
    free(t->heap);
    free(t);
}

int tokenizer_vocab_size(const struct tokenizer *t)
{
    return t->n_vocab;
}

int tokenizer_n_merges(const struct tokenizer *t)
{
    return t->n_merges;
}

int tokenizer_eot(const struct tokenizer *t)
{
    return t->eot;
}

const char *tokenizer_token(const struct tokenizer *t, int id, size_t *len)
{
    if (id < 0 || id >= t->n_vocab)
        return NULL;
    if (len)
        *len = t->len[id];
    return t->pool + t->off[id];
}

int tokenizer_byte_id(const struct tokenizer *t, unsigned char byte)
{
    return t->byte_id[byte];
}

/* ---- the merge loop ------------------------------------------------------------------- */

static inline int rank_of_impl(const struct tokenizer *t, int left, int right)
{
    return tok_u64map_get(&t->ranks, tok_pair_key(left, right));
}

/* Min-heap of (rank, pos): the lowest rank first, and for one rank the leftmost pair. */
static inline int heap_less_impl(struct tok_heap_item a, struct tok_heap_item b)
{
    return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static void heap_push_impl(struct tok_heap_item *h, size_t *n, struct tok_heap_item it)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less_impl(it, h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = it;
}

static struct tok_heap_item heap_pop_impl(struct tok_heap_item *h, size_t *n)
{
    struct tok_heap_item top = h[0], last = h[--*n];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && heap_less_impl(h[c + 1], h[c]))
            c++;
        if (!heap_less_impl(h[c], last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (m > 0)
        h[i] = last;
    return top;
}

static void scratch_reserve_impl(struct tokenizer *t, size_t n)
{
    if (t->scratch_cap >= n)
        return;
    size_t cap = t->scratch_cap ? t->scratch_cap : 64;
    while (cap < n)
        cap *= 2;
    t->sym = xrealloc(t->sym, cap * sizeof(*t->sym));
    t->prev = xrealloc(t->prev, cap * sizeof(*t->prev));
    t->next = xrealloc(t->next, cap * sizeof(*t->next));
    t->heap = xrealloc(t->heap, 3 * cap * sizeof(*t->heap));
    t->scratch_cap = cap;
}

/* The heap version: each merge costs O(log n), so long words (a run of a million spaces)
 * stay linear-logarithmic. Merging the lowest-rank pair, leftmost first, one at a time,
 * gives what GPT-2's loop gives (all occurrences of the lowest-rank pair, left to right):
 * a merge creates no pair of its own rank (a+b never equals a or b). */
size_t tokenizer_bpe(struct tokenizer *t, const char *word, size_t len, int *out)
{
    if (len == 0)
        return 0;
    if (len == 1) {
        out[0] = t->byte_id[(unsigned char)word[0]];
        return 1;
    }
    LETHE_ASSERT(len <= TOK_BPE_MAX_WORD);     /* int positions, a heap of 3 len */
    scratch_reserve_impl(t, len);
    int *sym = t->sym, *prev = t->prev, *next = t->next;
    struct tok_heap_item *heap = t->heap;
    size_t nh = 0;
    int n = (int)len;
    for (int i = 0; i < n; i++) {
        sym[i] = t->byte_id[(unsigned char)word[i]];
        prev[i] = i - 1;
        next[i] = i + 1;
    }
    for (int i = 0; i + 1 < n; i++) {
        int r = rank_of_impl(t, sym[i], sym[i + 1]);
        if (r >= 0)
            heap_push_impl(heap, &nh, (struct tok_heap_item){r, i});
    }
    while (nh > 0) {
        struct tok_heap_item it = heap_pop_impl(heap, &nh);
        int i = it.pos;
        if (sym[i] < 0 || next[i] >= n)
            continue;
        int j = next[i];
        if (rank_of_impl(t, sym[i], sym[j]) != it.rank)
            continue;   /* stale: one side was merged since */
        sym[i] = t->merges[it.rank].result;
        sym[j] = -1;
        next[i] = next[j];
        if (next[j] < n)
            prev[next[j]] = i;
        if (prev[i] >= 0) {
            int r = rank_of_impl(t, sym[prev[i]], sym[i]);
            if (r >= 0)
                heap_push_impl(heap, &nh, (struct tok_heap_item){r, prev[i]});
        }
        if (next[i] < n) {
            int r = rank_of_impl(t, sym[i], sym[next[i]]);
            if (r >= 0)
                heap_push_impl(heap, &nh, (struct tok_heap_item){r, i});
        }
    }
    size_t k = 0;
    for (int i = 0; i < n; i = next[i])
        out[k++] = sym[i];
    return k;
}

/* GPT-2's encoder.py bpe(), on ids: find the lowest-rank adjacent pair, merge every
 * occurrence left to right, repeat until no pair has a rank. Quadratic; the reference. */
size_t tokenizer_bpe_ref(const struct tokenizer *t, const char *word, size_t len, int *out)
{
    size_t n = len;
    for (size_t i = 0; i < n; i++)
        out[i] = t->byte_id[(unsigned char)word[i]];
    while (n > 1) {
        int best = -1;
        for (size_t i = 0; i + 1 < n; i++) {
            int r = rank_of_impl(t, out[i], out[i + 1]);
            if (r >= 0 && (best < 0 || r < best))
                best = r;
        }
        if (best < 0)
            break;
        const struct tok_merge *m = &t->merges[best];
        size_t k = 0;
        for (size_t i = 0; i < n;) {
            if (i + 1 < n && out[i] == m->left && out[i + 1] == m->right) {
                out[k++] = m->result;
                i += 2;
            } else {
                out[k++] = out[i++];
            }
        }
        n = k;
    }
    return n;
}

/* ---- the word cache -------------------------------------------------------------------- */

#define TOK_CACHE_MAX_ENTRIES ((size_t)1 << 20)
#define TOK_CACHE_MAX_WORD 256

static void cache_clear_impl(struct tokenizer *t)
{
    if (t->cache)
        memset(t->cache, 0, t->cache_cap * sizeof(*t->cache));
    t->cache_n = 0;
    t->cache_pool_len = 0;
}

static struct tok_cache_slot *cache_find_impl(struct tokenizer *t, uint64_t h, const char *w,
                                               size_t n)
{
    size_t mask = t->cache_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct tok_cache_slot *s = &t->cache[i];
        if (!s->hash || (s->hash == h && s->key_len == n &&
                         memcmp(t->cache_pool + s->key_off, w, n) == 0))
            return s;
    }
}

static void cache_put_impl(struct tokenizer *t, struct tok_cache_slot *slot, uint64_t h,
                           const char *w, size_t n, const int *ids, size_t n_ids)
{
    size_t key_room = (n + sizeof(int) - 1) / sizeof(int) * sizeof(int);
    size_t need = t->cache_pool_len + key_room + n_ids * sizeof(int);
    if (need > t->cache_pool_cap)
        xgrow(&t->cache_pool, &t->cache_pool_cap, need, 1);
    slot->hash = h;
    slot->key_off = t->cache_pool_len;
    slot->key_len = (uint32_t)n;
    slot->n_ids = (uint32_t)n_ids;
    memcpy(t->cache_pool + t->cache_pool_len, w, n);
    memcpy(t->cache_pool + t->cache_pool_len + key_room, ids, n_ids * sizeof(int));
    t->cache_pool_len = need;
    t->cache_n++;
}

/* Appends the ids of one word to *ids. */
static void encode_word_impl(struct tokenizer *t, const char *w, size_t n, int **ids,
                             size_t *nids, size_t *cap)
{
    if (*nids + n > *cap)
        xgrow(ids, cap, *nids + n, sizeof(int));
    int *out = *ids + *nids;
    if (n == 1) {
        out[0] = t->byte_id[(unsigned char)w[0]];
        *nids += 1;
        return;
    }
    if (n > TOK_CACHE_MAX_WORD) {
        /* a word of a gigabyte or more (one run of spaces, say) is merged a gigabyte at a time */
        for (size_t at = 0; at < n; at += TOK_BPE_MAX_WORD) {
            size_t k = n - at < TOK_BPE_MAX_WORD ? n - at : TOK_BPE_MAX_WORD;
            *nids += tokenizer_bpe(t, w + at, k, *ids + *nids);
        }
        return;
    }
    if (!t->cache) {
        t->cache_cap = 4096;
        t->cache = xcalloc(t->cache_cap, sizeof(*t->cache));
    }
    uint64_t h = tok_hash_bytes(w, n);
    struct tok_cache_slot *s = cache_find_impl(t, h, w, n);
    if (s->hash) {
        size_t key_room = (n + sizeof(int) - 1) / sizeof(int) * sizeof(int);
        memcpy(out, t->cache_pool + s->key_off + key_room, s->n_ids * sizeof(int));
        *nids += s->n_ids;
        return;
    }
    size_t k = tokenizer_bpe(t, w, n, out);
    if (t->cache_n >= TOK_CACHE_MAX_ENTRIES) {
        cache_clear_impl(t);
        s = cache_find_impl(t, h, w, n);
    } else if (2 * (t->cache_n + 1) >= t->cache_cap) {
        struct tok_cache_slot *old = t->cache;
        size_t old_cap = t->cache_cap;
        t->cache_cap *= 2;
        t->cache = xcalloc(t->cache_cap, sizeof(*t->cache));
        for (size_t i = 0; i < old_cap; i++) {
            if (!old[i].hash)
                continue;
            size_t j = (size_t)old[i].hash & (t->cache_cap - 1);
            while (t->cache[j].hash)
                j = (j + 1) & (t->cache_cap - 1);
            t->cache[j] = old[i];
        }
        free(old);
        s = cache_find_impl(t, h, w, n);
    }
    cache_put_impl(t, s, h, w, n, out, k);
    *nids += k;
}

/* ---- encode and decode ----------------------------------------------------------------- */

struct encode_ctx {
    struct tokenizer *t;
    int **ids;
    size_t *n, *cap;
};

static void encode_word_cb_impl(void *ctx, const char *w, size_t n)
{
    struct encode_ctx *c = ctx;
    encode_word_impl(c->t, w, n, c->ids, c->n, c->cap);
}

int tokenizer_encode(struct tokenizer *t, const char *text, size_t len, int **ids, size_t *n,
                     size_t *cap, struct lethe_error *err)
{
    struct encode_ctx c = {t, ids, n, cap};
    size_t n0 = *n;
    int rc = tokenizer_pretokenize(text, len, encode_word_cb_impl, &c, err);
    if (rc < 0)
        *n = n0;
    return rc < 0 ? rc : 0;
}

int tokenizer_decode(const struct tokenizer *t, const int *ids, size_t n, struct strbuf *out,
                     struct lethe_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= t->n_vocab)
            return lethe_err(err, LETHE_EINPUT, "token id %d (position %zu) is not in the vocabulary "
                             "of %d tokens", ids[i], i + 1, t->n_vocab);
    for (size_t i = 0; i < n; i++)
        strbuf_add(out, t->pool + t->off[ids[i]], t->len[ids[i]]);
    if (!out->buf)
        strbuf_add(out, "", 0);
    return 0;
}
