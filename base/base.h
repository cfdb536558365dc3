/* base: what every folder of Lethe shares (errors, logging, memory, strings, hashes, files).
 *
 * How to use it in ten lines:
 *
 *     struct lethe_error err = {0};
 *     char *text = NULL; size_t len;
 *     if (file_read_all("suites.json", &text, &len, &err) < 0) {
 *         fprintf(stderr, "lethe: error: %s\n", err.msg);   // only cmd_* and main print
 *         return lethe_exit_code(&err);                       // 2 for bad input, 1 otherwise
 *     }
 *     struct strbuf sb = STRBUF_INIT;
 *     strbuf_addf(&sb, "%zu bytes", len);                     // grows as needed
 *     strbuf_release(&sb); free(text);
 *
 * Library code never prints and never exits: it returns 0 (or a count) on success and a
 * negative LETHE_E* code on failure, with the message in the optional struct lethe_error.
 */
#ifndef LETHE_BASE_H
#define LETHE_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define LETHE_VERSION "0.1.0"

#define LETHE_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* ---- errors ---------------------------------------------------------------------- */

enum lethe_errcode {
    LETHE_OK = 0,
    LETHE_EINPUT,   /* bad input from the user: a file, a key, a value (exit 2) */
    LETHE_EUSAGE,   /* bad command line (exit 2) */
    LETHE_EIO,      /* a read or write failed (exit 1) */
    LETHE_ENOMEM,   /* out of memory (exit 1) */
    LETHE_EFAIL,    /* an operation failed for another reason (exit 1) */
    LETHE_ENOTYET,  /* a capability a later release brings (exit 2) */
    LETHE_ERRCODE_COUNT
};

struct lethe_error {
    int code;           /* enum lethe_errcode; 0 when no error was set */
    char msg[1024];     /* lowercase, no final period, subject quoted */
};

/* Fills err (may be NULL) and returns -code, so `return lethe_err(err, LETHE_EINPUT, ...)`. */
int lethe_err(struct lethe_error *err, int code, const char *fmt, ...) LETHE_PRINTF(3, 4);
/* Prepends "prefix: " to an error already set (used to add a file or key to a message). */
void lethe_err_prefix(struct lethe_error *err, const char *fmt, ...) LETHE_PRINTF(2, 3);
/* errno as a message in Lethe's style (lowercase): "no such file", "permission denied", ... */
const char *lethe_strerror(int errnum);
/* The process exit status for an error: 2 for input/usage/not-yet, 1 otherwise. */
int lethe_exit_code(const struct lethe_error *err);

/* Programmer errors: never compiled out. */
void lethe_bug_impl(const char *file, int line, const char *fmt, ...) LETHE_PRINTF(3, 4)
    __attribute__((noreturn));
#define LETHE_BUG(...) lethe_bug_impl(__FILE__, __LINE__, __VA_ARGS__)
#define LETHE_ASSERT(x) \
    do { if (!(x)) lethe_bug_impl(__FILE__, __LINE__, "assertion failed: %s", #x); } while (0)

/* ---- logging ------------------------------------------------------------------- */

enum lethe_log_level { LETHE_LOG_DEBUG, LETHE_LOG_INFO, LETHE_LOG_WARN, LETHE_LOG_LEVEL_COUNT };
typedef void (*lethe_log_fn)(int level, const char *msg, void *ctx);
/* Routes every log line (libsvm's print hook included) to fn; NULL restores the default
 * (warnings to stderr as "lethe: warning: ...", info and debug dropped). */
void lethe_log_set(lethe_log_fn fn, void *ctx);
void lethe_log(int level, const char *fmt, ...) LETHE_PRINTF(2, 3);

/* ---- memory: out of memory is fatal, as in git's xmalloc ------------------------- */

#define LETHE_NONNULL_ALLOC __attribute__((returns_nonnull, warn_unused_result))
void *xmalloc(size_t n) LETHE_NONNULL_ALLOC __attribute__((malloc));
void *xcalloc(size_t n, size_t size) LETHE_NONNULL_ALLOC __attribute__((malloc));
void *xrealloc(void *p, size_t n) LETHE_NONNULL_ALLOC;
char *xstrdup(const char *s) LETHE_NONNULL_ALLOC __attribute__((malloc));
char *xstrndup(const char *s, size_t n) LETHE_NONNULL_ALLOC __attribute__((malloc));
/* Grows *p (an array of elem-size items with capacity *cap) to hold at least need items. */
void xgrow(void *pp, size_t *cap, size_t need, size_t elem);

/* ---- strings ----------------------------------------------------------------------- */

struct strbuf {
    char *buf;      /* always NUL-terminated once anything was added */
    size_t len;
    size_t cap;
};
#define STRBUF_INIT {NULL, 0, 0}
void strbuf_add(struct strbuf *sb, const char *s, size_t n);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) LETHE_PRINTF(2, 3);
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap) LETHE_PRINTF(2, 0);
/* Returns the buffer ("" if empty) and leaves sb empty; the caller frees it. */
char *strbuf_detach(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);

/* True if s starts with prefix / ends with suffix. */
int str_starts(const char *s, const char *prefix);
int str_ends(const char *s, const char *suffix);
/* Glob match where '*' matches any run of characters (dots included), '?' one character. */
int str_glob(const char *pattern, const char *s);

/* ---- hashes ------------------------------------------------------------------------ */

/* SHA-256 (FIPS 180-4). */
struct sha256 {
    uint32_t h[8];
    uint64_t nbytes;
    unsigned char block[64];
    size_t fill;
};
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, unsigned char out[32]);
/* Lowercase hex digest of data into hex (65 bytes, NUL-terminated). */
void sha256_hex(const void *data, size_t n, char hex[65]);

/* 64-bit FNV-1a of a NUL-terminated string. */
uint64_t fnv1a64(const char *s);

/* ---- random numbers ------------------------------------------------------------------ */

/* xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2021) on
 * a caller-owned state of four words, seeded through splitmix64. nn_rng (the engine) and
 * metric_rng (bootstraps) are this generator. */
void xoshiro256_seed(uint64_t s[4], uint64_t seed);
uint64_t xoshiro256_next(uint64_t s[4]);

/* ---- files ------------------------------------------------------------------------- */

/* Reads a whole file into *out (NUL-terminated; the caller frees); *len may be NULL. */
int file_read_all(const char *path, char **out, size_t *len, struct lethe_error *err);
/* Writes data to path atomically: a temporary name in the same folder, fsync, rename. */
int file_write_atomic(const char *path, const void *data, size_t n, struct lethe_error *err);
int file_exists(const char *path);
/* The data cache that scripts/deps.sh fills: $LETHE_CACHE if set, else the first
 * data/cache found in the folder of the running program or up to three folders above it
 * (build/lethe and build/tests/x both find the repository's), else "data/cache".
 * Returned, the caller frees. */
char *lethe_cache_dir(void);
/* mkdir -p; 0 if it exists or was made. */
int dir_make(const char *path, struct lethe_error *err);
/* The folder part of path ("." when none); returned, the caller frees. */
char *path_dirname(const char *path);
/* dir + "/" + name unless name is absolute; returned, the caller frees. */
char *path_join(const char *dir, const char *name);

#endif
