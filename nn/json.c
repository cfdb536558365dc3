/* A small strict JSON reader (RFC 8259) for the engine's two JSON formats: safetensors headers
 * and tokenizer vocabularies. Errors name the line and column. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"

#define JSON_MAX_DEPTH 64

struct json_reader {
    const char *s, *end, *p;
    struct lethe_error *err;
};

static int json_fail_impl(struct json_reader *r, const char *what)
{
    int line = 1, col = 1;
    for (const char *q = r->s; q < r->p; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return lethe_err(r->err, LETHE_EINPUT, "line %d, column %d: %s", line, col, what);
}

static void skip_ws(struct json_reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hex4_impl(struct json_reader *r, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        if (r->p >= r->end)
            return json_fail_impl(r, "unterminated \\u escape");
        char c = *r->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return json_fail_impl(r, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

static void put_utf8(struct strbuf *sb, unsigned cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    strbuf_add(sb, b, n);
}

/* Parses a string at r->p (on the opening quote) into sb. */
static int parse_string_impl(struct json_reader *r, struct strbuf *sb)
{
    r->p++;
    for (;;) {
        if (r->p >= r->end)
            return json_fail_impl(r, "unterminated string");
        unsigned char c = (unsigned char)*r->p;
        if (c == '"') {
            r->p++;
            if (!sb->buf)
                strbuf_add(sb, "", 0);
            return 0;
        }
        if (c < 0x20)
            return json_fail_impl(r, "control character in string");
        if (c != '\\') {
            const char *start = r->p;
            while (r->p < r->end && *r->p != '"' && *r->p != '\\' && (unsigned char)*r->p >= 0x20)
                r->p++;
            strbuf_add(sb, start, (size_t)(r->p - start));
            continue;
        }
        r->p++;
        if (r->p >= r->end)
            return json_fail_impl(r, "unterminated escape");
        char e = *r->p++;
        switch (e) {
        case '"': strbuf_add(sb, "\"", 1); break;
        case '\\': strbuf_add(sb, "\\", 1); break;
        case '/': strbuf_add(sb, "/", 1); break;
        case 'b': strbuf_add(sb, "\b", 1); break;
        case 'f': strbuf_add(sb, "\f", 1); break;
        case 'n': strbuf_add(sb, "\n", 1); break;
        case 'r': strbuf_add(sb, "\r", 1); break;
        case 't': strbuf_add(sb, "\t", 1); break;
        case 'u': {
            unsigned cp, lo;
            if (hex4_impl(r, &cp) < 0)
                return -LETHE_EINPUT;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u')
                    return json_fail_impl(r, "unpaired surrogate in \\u escape");
                r->p += 2;
                if (hex4_impl(r, &lo) < 0)
                    return -LETHE_EINPUT;
                if (lo < 0xdc00 || lo >= 0xe000)
                    return json_fail_impl(r, "unpaired surrogate in \\u escape");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                return json_fail_impl(r, "unpaired surrogate in \\u escape");
            }
            put_utf8(sb, cp);
            break;
        }
        default:
            r->p--;
            return json_fail_impl(r, "bad escape in string");
        }
    }
}

static int parse_number_impl(struct json_reader *r, struct nn_json *v)
{
    const char *start = r->p;
    int frac = 0;
    if (r->p < r->end && *r->p == '-')
        r->p++;
    if (r->p < r->end && *r->p == '0') {
        r->p++;
    } else if (r->p < r->end && *r->p >= '1' && *r->p <= '9') {
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    } else {
        return json_fail_impl(r, "bad number");
    }
    if (r->p < r->end && *r->p == '.') {
        frac = 1;
        r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return json_fail_impl(r, "bad number: digits expected after '.'");
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        frac = 1;
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return json_fail_impl(r, "bad number: digits expected in exponent");
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    char buf[64];
    size_t n = (size_t)(r->p - start);
    if (n >= sizeof(buf)) {
        r->p = start;
        return json_fail_impl(r, "number too long");
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    v->type = NN_JSON_NUMBER;
    v->num = strtod(buf, NULL);
    if (!isfinite(v->num)) {
        r->p = start;
        return json_fail_impl(r, "number out of range");
    }
    if (!frac) {
        errno = 0;
        long long i = strtoll(buf, NULL, 10);
        if (errno == 0) {
            v->is_int = 1;
            v->inum = i;
        }
    }
    return 0;
}

static int parse_value_impl(struct json_reader *r, struct nn_json *v, int depth);

/* An open-addressing set of the keys of one object (indices into keys), so that duplicate
 * detection stays linear for vocabularies of 50k keys. */
struct keyset {
    size_t *slots;  /* index + 1, 0 = empty */
    size_t cap, n;
};

static int keyset_insert_impl(struct keyset *ks, char **keys, const char *key)
{
    if (2 * (ks->n + 1) > ks->cap) {
        size_t ncap = ks->cap ? 2 * ks->cap : 16;
        size_t *ns = xcalloc(ncap, sizeof(*ns));
        for (size_t i = 0; i < ks->cap; i++)
            if (ks->slots[i]) {
                size_t h = (size_t)fnv1a64(keys[ks->slots[i] - 1]) & (ncap - 1);
                while (ns[h])
                    h = (h + 1) & (ncap - 1);
                ns[h] = ks->slots[i];
            }
        free(ks->slots);
        ks->slots = ns;
        ks->cap = ncap;
    }
    size_t h = (size_t)fnv1a64(key) & (ks->cap - 1);
    while (ks->slots[h]) {
        if (strcmp(keys[ks->slots[h] - 1], key) == 0)
            return -1;
        h = (h + 1) & (ks->cap - 1);
    }
    ks->slots[h] = ks->n + 1;   /* the key will be stored at index n of the object */
    ks->n++;
    return 0;
}

static void keyset_release_impl(struct keyset *ks)
{
    free(ks->slots);
}

static int parse_items_impl(struct json_reader *r, struct nn_json *v, int depth, int object,
                            struct keyset *ks)
{
    size_t cap = 0, kcap = 0;
    char close = object ? '}' : ']';
    v->type = object ? NN_JSON_OBJECT : NN_JSON_ARRAY;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 0;
    }
    for (;;) {
        skip_ws(r);
        if (object) {
            if (r->p >= r->end || *r->p != '"')
                return json_fail_impl(r, "expected a string key");
            struct strbuf key = STRBUF_INIT;
            if (parse_string_impl(r, &key) < 0) {
                strbuf_release(&key);
                return -LETHE_EINPUT;
            }
            xgrow(&v->keys, &kcap, v->n + 1, sizeof(*v->keys));
            if (keyset_insert_impl(ks, v->keys, key.buf) < 0) {
                struct strbuf msg = STRBUF_INIT;
                strbuf_addf(&msg, "duplicate key '%s'", key.buf);
                int rc = json_fail_impl(r, msg.buf);
                strbuf_release(&msg);
                strbuf_release(&key);
                return rc;
            }
            v->keys[v->n] = strbuf_detach(&key);
            skip_ws(r);
            if (r->p >= r->end || *r->p != ':') {
                free(v->keys[v->n]);
                return json_fail_impl(r, "expected ':'");
            }
            r->p++;
        }
        xgrow(&v->items, &cap, v->n + 1, sizeof(*v->items));
        memset(&v->items[v->n], 0, sizeof(*v->items));
        v->n++;
        if (parse_value_impl(r, &v->items[v->n - 1], depth + 1) < 0)
            return -LETHE_EINPUT;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return 0;
        }
        return json_fail_impl(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_container_impl(struct json_reader *r, struct nn_json *v, int depth, int object)
{
    struct keyset ks = {NULL, 0, 0};
    int rc = parse_items_impl(r, v, depth, object, &ks);
    keyset_release_impl(&ks);
    return rc;
}

static int parse_value_impl(struct json_reader *r, struct nn_json *v, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return json_fail_impl(r, "nested too deeply");
    skip_ws(r);
    if (r->p >= r->end)
        return json_fail_impl(r, "unexpected end of text");
    char c = *r->p;
    if (c == '{' || c == '[')
        return parse_container_impl(r, v, depth, c == '{');
    if (c == '"') {
        struct strbuf sb = STRBUF_INIT;
        if (parse_string_impl(r, &sb) < 0) {
            strbuf_release(&sb);
            return -LETHE_EINPUT;
        }
        v->type = NN_JSON_STRING;
        v->len = sb.len;
        v->str = strbuf_detach(&sb);
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number_impl(r, v);
    static const struct { const char *word; enum nn_json_type type; int b; } lits[] = {
        {"true", NN_JSON_BOOL, 1}, {"false", NN_JSON_BOOL, 0}, {"null", NN_JSON_NULL, 0}};
    for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
        size_t n = strlen(lits[i].word);
        if ((size_t)(r->end - r->p) >= n && memcmp(r->p, lits[i].word, n) == 0) {
            r->p += n;
            v->type = lits[i].type;
            v->boolean = lits[i].b;
            return 0;
        }
    }
    return json_fail_impl(r, "unexpected character");
}

int nn_json_parse(const char *text, size_t len, struct nn_json **out, struct lethe_error *err)
{
    struct json_reader r = {text, text + len, text, err};
    struct nn_json *v = xcalloc(1, sizeof(*v));
    if (parse_value_impl(&r, v, 0) < 0) {
        nn_json_free(v);
        return -LETHE_EINPUT;
    }
    skip_ws(&r);
    if (r.p != r.end) {
        nn_json_free(v);
        return json_fail_impl(&r, "text after the JSON value");
    }
    *out = v;
    return 0;
}

static void json_release_impl(struct nn_json *j)
{
    for (size_t i = 0; i < j->n; i++) {
        json_release_impl(&j->items[i]);
        if (j->keys)
            free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->str);
}

void nn_json_free(struct nn_json *j)
{
    if (!j)
        return;
    json_release_impl(j);
    free(j);
}

const struct nn_json *nn_json_get(const struct nn_json *obj, const char *key)
{
    if (!obj || obj->type != NN_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}
