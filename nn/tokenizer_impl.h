/* Internals shared by the tokenizer files (tokenizer.c, tokenizer_io.c, pretokenize.c,
 * bpe_train.c): the struct, GPT-2's byte <-> character map, and small hash helpers. */
#ifndef LETHE_NN_TOKENIZER_IMPL_H
#define LETHE_NN_TOKENIZER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/nn.h"

/* A merge of rank r: tokens left and right become token result. */
struct tok_merge {
    int left, right, result;
};

/* Open-addressing map (linear probing) from a nonzero 64-bit key to an int. */
struct tok_u64map {
    uint64_t *keys;             /* (cap) 0 = empty */
    int *vals;                  /* (cap) */
    size_t cap, n;              /* cap is a power of two, n < cap / 2 */
};

/* Open-addressing set of byte strings held elsewhere (a tokenizer's tokens): string -> id. */
struct tok_strmap {
    uint64_t *hash;             /* (cap) 0 = empty */
    int *ids;                   /* (cap) */
    size_t cap, n;
};

struct tok_heap_item {
    int rank, pos;
};

/* The word cache: word bytes -> the ids BPE gives them. */
struct tok_cache_slot {
    uint64_t hash;              /* 0 = empty */
    size_t key_off;             /* into pool: key bytes, then n ids (int, aligned) */
    uint32_t key_len, n_ids;
};

struct tokenizer {
    int n_vocab;
    char *pool;                 /* every token's bytes, back to back */
    size_t *off;                /* (n_vocab) offset of each token in pool */
    uint32_t *len;              /* (n_vocab) its length in bytes */
    int byte_id[256];           /* the id of each single-byte token */
    int n_merges;
    struct tok_merge *merges;   /* (n_merges) by rank */
    struct tok_u64map ranks;    /* (left << 32 | right) + 1 -> rank */
    int eot;                    /* id of <|endoftext|> */
    /* word cache (makes encode not thread safe) */
    struct tok_cache_slot *cache;
    size_t cache_cap, cache_n;
    char *cache_pool;
    size_t cache_pool_len, cache_pool_cap;
    /* scratch of the fast BPE */
    int *sym, *prev, *next;
    struct tok_heap_item *heap;
    size_t scratch_cap;
};

/* GPT-2's bytes_to_unicode: printable bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for
 * themselves, the other 68 bytes, in increasing order, for U+0100..U+0143. */
#define TOK_BYTE_CP_LIMIT 0x144
static inline int tok_byte_printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}
static inline unsigned tok_byte_cp(unsigned b)
{
    if (tok_byte_printable(b))
        return b;
    return b <= 0x20 ? 0x100 + b : b <= 0xA0 ? 0x100 + 33 + (b - 0x7F) : 0x100 + 67;
}
/* The byte a code point stands for, or -1. */
static inline int tok_cp_byte(unsigned cp)
{
    if (cp < 0x100)
        return tok_byte_printable(cp) ? (int)cp : -1;
    if (cp >= TOK_BYTE_CP_LIMIT)
        return -1;
    cp -= 0x100;
    return cp <= 32 ? (int)cp : cp <= 66 ? (int)(0x7F + cp - 33) : 0xAD;
}
/* The byte of id i < 256 in GPT-2's order (bytes_to_unicode's): printable bytes first, then
 * the others; ids 0..255 of GPT-2's vocabulary and of a trained one. */
static inline unsigned tok_order_byte(int i)
{
    return i < 188 ? (i < 94 ? 0x21 + (unsigned)i : i < 106 ? 0xA1 + (unsigned)(i - 94)
                                                            : 0xAE + (unsigned)(i - 106))
                   : (unsigned)tok_cp_byte(0x100 + (unsigned)(i - 188));
}

/* Appends the byte-level spelling (UTF-8 of the mapped characters) of bytes to sb. */
void tok_bytes_to_chars(struct strbuf *sb, const char *s, size_t n);

uint64_t tok_hash_bytes(const void *p, size_t n);

void tok_u64map_init(struct tok_u64map *m, size_t expect);
void tok_u64map_release(struct tok_u64map *m);
/* Sets key (nonzero) to val; returns the previous value or -1 if the key was new. */
int tok_u64map_put(struct tok_u64map *m, uint64_t key, int val);
/* The value of key, or -1. */
static inline int tok_u64map_get(const struct tok_u64map *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
    for (;;) {
        uint64_t k = m->keys[i];
        if (k == key)
            return m->vals[i];
        if (k == 0)
            return -1;
        i = (i + 1) & mask;
    }
}
static inline uint64_t tok_pair_key(int left, int right)
{
    return (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
}

void tok_strmap_init(struct tok_strmap *m, size_t expect);
void tok_strmap_release(struct tok_strmap *m);
/* The id of the string s (n bytes) among the tokens pool/off/len, or -1. */
int tok_strmap_get(const struct tok_strmap *m, const char *pool, const size_t *off,
                   const uint32_t *len, const char *s, size_t n);
/* Adds id (whose bytes are pool + off[id], len[id]); returns the id already there for the
 * same bytes, or -1 if it was new. */
int tok_strmap_put(struct tok_strmap *m, const char *pool, const size_t *off, const uint32_t *len,
                   int id);

/* A tokenizer from its tokens (byte strings: token id at pool + off[id], len[id] bytes;
 * distinct) and merges by rank (left, right and result ids filled in). Checks that every
 * byte has a single-byte token, that <|endoftext|> is a token and that no merge is listed
 * twice (then *dup_merge is the rank of the second listing, else -1); the message is to be
 * prefixed with the file by the caller. Takes pool, off, len and merges, also on failure.
 * Returned; tokenizer_free. */
struct tokenizer *tok_build(int n_vocab, char *pool, size_t *off, uint32_t *len, int n_merges,
                            struct tok_merge *merges, int *dup_merge, struct lethe_error *err);

/* The canonical vocab.json and merges.txt texts of t (what tokenizer_save writes). */
void tok_vocab_json(const struct tokenizer *t, struct strbuf *sb);
void tok_merges_txt(const struct tokenizer *t, struct strbuf *sb);

#endif
