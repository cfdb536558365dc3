/* GPT-2's pre-tokenizer: its regex through PCRE2 (UTF, UCP, JIT when available) over the
 * valid UTF-8 runs of a text, with each run of invalid bytes a word of its own. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <string.h>

#include "nn/tokenizer_impl.h"

/* JavaScript's \s, which the reference encoder (gpt-3-encoder's Encoder.js, a /u regex) uses:
 * WhiteSpace (TAB, VT, FF, ZWNBSP U+FEFF, the Zs category) and LineTerminator (LF, CR, U+2028,
 * U+2029). PCRE2's own \s under UCP differs on U+0085, U+180E and U+FEFF. */
#define JS_WS "\\t\\n\\x0B\\f\\r\\p{Zs}\\x{2028}\\x{2029}\\x{FEFF}"

/* GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * (openai/gpt-2 src/encoder.py) with \s spelled out as above. */
static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" JS_WS "\\p{L}\\p{N}]+"
    "|[" JS_WS "]+(?![^" JS_WS "])|[" JS_WS "]+";

static pcre2_code *gpt2_code;
static int gpt2_jit;
static pthread_once_t gpt2_once = PTHREAD_ONCE_INIT;

static void compile_impl(void)
{
    int errcode;
    PCRE2_SIZE erroff;
    gpt2_code = pcre2_compile((PCRE2_SPTR)gpt2_pattern, PCRE2_ZERO_TERMINATED,
                              PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C, &errcode, &erroff,
                              NULL);
    if (!gpt2_code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        LETHE_BUG("the pre-tokenizer regex does not compile at %zu: %s", (size_t)erroff, (char *)msg);
    }
    gpt2_jit = pcre2_jit_compile(gpt2_code, PCRE2_JIT_COMPLETE) == 0;
}

/* The length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF) at s, or 0 if none starts there. */
static size_t utf8_seq_impl(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    size_t k = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (n < k)
        return 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return k;
}

/* Calls fn for each GPT-2 word of the valid UTF-8 text s (n bytes). */
static int split_valid_impl(const char *s, size_t n, size_t base, pcre2_match_data *md,
                            tokenizer_word_fn fn, void *ctx, struct lethe_error *err)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    size_t off = 0;
    uint32_t opts = PCRE2_NO_UTF_CHECK;
    while (off < n) {
        int rc = pcre2_match(gpt2_code, (PCRE2_SPTR)s, n, off, opts, md, NULL);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !(opts & PCRE2_NO_JIT)) {
            opts |= PCRE2_NO_JIT;   /* the interpreter keeps its frames on the heap */
            continue;
        }
        if (rc == PCRE2_ERROR_NOMATCH) {
            fn(ctx, s + off, n - off);  /* cannot happen: every character is matched */
            return 0;
        }
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof(msg));
            return lethe_err(err, LETHE_EFAIL, "the pre-tokenizer failed at byte %zu: %s", base + off,
                             (char *)msg);
        }
        size_t a = ov[0], b = ov[1];
        LETHE_ASSERT(a >= off && b > a && b <= n);
        if (a > off)
            fn(ctx, s + off, a - off);
        fn(ctx, s + a, b - a);
        off = b;
    }
    return 0;
}

int tokenizer_pretokenize(const char *text, size_t len, tokenizer_word_fn fn, void *ctx,
                          struct lethe_error *err)
{
    pthread_once(&gpt2_once, compile_impl);
    if (len == 0)
        return 0;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(gpt2_code, NULL);
    if (!md)
        LETHE_BUG("out of memory allocating PCRE2 match data");
    const unsigned char *s = (const unsigned char *)text;
    size_t pos = 0;
    int rc = 0;
    while (pos < len && rc == 0) {
        size_t end = pos;
        while (end < len && s[end] < 0x80)
            end++;
        for (size_t k; end < len && (k = utf8_seq_impl(s + end, len - end)) > 0;)
            end += k;
        if (end > pos) {
            rc = split_valid_impl(text + pos, end - pos, pos, md, fn, ctx, err);
        } else {
            while (end < len && utf8_seq_impl(s + end, len - end) == 0)
                end++;
            fn(ctx, text + pos, end - pos);
        }
        pos = end;
    }
    pcre2_match_data_free(md);
    return rc;
}

int tokenizer_pretokenize_jit(void)
{
    pthread_once(&gpt2_once, compile_impl);
    return gpt2_jit;
}
