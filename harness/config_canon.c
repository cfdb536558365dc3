/* Canonical JSON, the form config hashes are taken of: Python's json.dumps(v, sort_keys=True,
 * separators=(",", ":"), ensure_ascii=False), reals as Python's repr prints them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/config_impl.h"

/* The shortest decimal digits of x (> 0, finite) that read back to x, and the decimal exponent
 * e with x = 0.DIGITS x 10^e (David Gay's "mode 0", as Python's repr uses). */
static void shortest_digits(double x, char digits[24], int *decpt)
{
    for (int prec = 1; prec <= 17; prec++) {
        char buf[40];
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, x);
        /* buf = d.ddd e±XX: the mantissa as an integer m and the exponent */
        long long m = 0;
        const char *p = buf;
        for (; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9')
                m = m * 10 + (*p - '0');
        int e10 = atoi(p + 1);
        /* the correctly rounded candidate first, then its neighbours (near a power of two the
         * rounding interval is lopsided and a neighbour can read back when it does not) */
        long long cands[3] = {m, m + 1, m - 1};
        for (int k = 0; k < 3; k++) {
            long long cm = cands[k];
            if (cm <= 0)
                continue;
            char tmp[48];
            snprintf(tmp, sizeof(tmp), "%llde%d", cm, e10 - (prec - 1));
            if (strtod(tmp, NULL) != x)
                continue;
            int n = snprintf(digits, 24, "%lld", cm);
            *decpt = e10 + 1 + (n - prec); /* a carry (99 -> 100) adds a digit */
            while (n > 1 && digits[n - 1] == '0')
                digits[--n] = '\0';
            return;
        }
    }
    LETHE_BUG("no round-trip form for %.17g", x);
}

void canon_real(struct strbuf *sb, double x)
{
    if (x == 0) {
        strbuf_adds(sb, "0.0");
        return;
    }
    if (!isfinite(x))
        LETHE_BUG("non-finite real in JSON");
    if (x < 0) {
        strbuf_adds(sb, "-");
        x = -x;
    }
    char d[24];
    int decpt;
    shortest_digits(x, d, &decpt);
    int n = (int)strlen(d);
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            strbuf_adds(sb, "0.");
            for (int i = 0; i < -decpt; i++)
                strbuf_adds(sb, "0");
            strbuf_adds(sb, d);
        } else if (decpt < n) {
            strbuf_add(sb, d, (size_t)decpt);
            strbuf_adds(sb, ".");
            strbuf_adds(sb, d + decpt);
        } else {
            strbuf_adds(sb, d);
            for (int i = n; i < decpt; i++)
                strbuf_adds(sb, "0");
            strbuf_adds(sb, ".0");
        }
    } else {
        strbuf_add(sb, d, 1);
        if (n > 1) {
            strbuf_adds(sb, ".");
            strbuf_adds(sb, d + 1);
        }
        strbuf_addf(sb, "e%c%02d", decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
    }
}

static void canon_string(struct strbuf *sb, const char *s, size_t n)
{
    strbuf_adds(sb, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '"': strbuf_adds(sb, "\\\""); break;
        case '\\': strbuf_adds(sb, "\\\\"); break;
        case '\n': strbuf_adds(sb, "\\n"); break;
        case '\r': strbuf_adds(sb, "\\r"); break;
        case '\t': strbuf_adds(sb, "\\t"); break;
        case '\b': strbuf_adds(sb, "\\b"); break;
        case '\f': strbuf_adds(sb, "\\f"); break;
        default:
            if (ch < 0x20)
                strbuf_addf(sb, "\\u%04x", ch);
            else
                strbuf_add(sb, s + i, 1);
        }
    }
    strbuf_adds(sb, "\"");
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void canon_json(struct strbuf *sb, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), k = 0;
        const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val)
            keys[k++] = key;
        qsort(keys, n, sizeof(*keys), key_cmp);
        strbuf_adds(sb, "{");
        for (size_t i = 0; i < n; i++) {
            if (i)
                strbuf_adds(sb, ",");
            canon_string(sb, keys[i], strlen(keys[i]));
            strbuf_adds(sb, ":");
            canon_json(sb, json_object_get(v, keys[i]));
        }
        strbuf_adds(sb, "}");
        free(keys);
        break;
    }
    case JSON_ARRAY:
        strbuf_adds(sb, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                strbuf_adds(sb, ",");
            canon_json(sb, json_array_get(v, i));
        }
        strbuf_adds(sb, "]");
        break;
    case JSON_STRING:
        canon_string(sb, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        strbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        canon_real(sb, json_real_value(v));
        break;
    case JSON_TRUE:
        strbuf_adds(sb, "true");
        break;
    case JSON_FALSE:
        strbuf_adds(sb, "false");
        break;
    default:
        strbuf_adds(sb, "null");
    }
}

char *config_canonical_json(const void *json)
{
    struct strbuf sb = STRBUF_INIT;
    canon_json(&sb, json);
    return strbuf_detach(&sb);
}

void config_hash_json(const void *json, char hex[65])
{
    struct strbuf sb = STRBUF_INIT;
    canon_json(&sb, json);
    sha256_hex(sb.buf ? sb.buf : "", sb.len, hex);
    strbuf_release(&sb);
}
