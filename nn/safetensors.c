/* safetensors files: a strict reader (every offset, size and name checked) and a streaming,
 * atomic float32 writer for parameter tables. Format: github.com/huggingface/safetensors. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/nn.h"

/* The reference implementation refuses headers above 100 MB; so do we. */
#define ST_HEADER_MAX 100000000ULL
#define ST_CHUNK (1 << 16)      /* bytes converted per read or write call */

static const struct {
    const char *name;
    int size;
} dtypes[] = {
    [ST_BOOL] = {"BOOL", 1},  [ST_U8] = {"U8", 1},     [ST_I8] = {"I8", 1},
    [ST_F8_E5M2] = {"F8_E5M2", 1}, [ST_F8_E4M3] = {"F8_E4M3", 1},
    [ST_I16] = {"I16", 2},    [ST_U16] = {"U16", 2},   [ST_F16] = {"F16", 2},
    [ST_BF16] = {"BF16", 2},  [ST_I32] = {"I32", 4},   [ST_U32] = {"U32", 4},
    [ST_F32] = {"F32", 4},    [ST_F64] = {"F64", 8},   [ST_I64] = {"I64", 8},
    [ST_U64] = {"U64", 8},
};
_Static_assert(sizeof(dtypes) / sizeof(dtypes[0]) == ST_DTYPE_COUNT, "dtype table");

const char *safetensors_dtype_name(enum st_dtype t)
{
    LETHE_ASSERT(t >= 0 && t < ST_DTYPE_COUNT);
    return dtypes[t].name;
}

int safetensors_dtype_size(enum st_dtype t)
{
    LETHE_ASSERT(t >= 0 && t < ST_DTYPE_COUNT);
    return dtypes[t].size;
}

/* ---- half precision ------------------------------------------------------------------ */

static float f32_from_bits_impl(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static uint32_t f32_bits_impl(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

float safetensors_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1f)                                    /* inf, nan (payload kept) */
        return f32_from_bits_impl(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
        if (mant == 0)
            return f32_from_bits_impl(sign);            /* +-0 */
        /* subnormal: mant * 2^-24; normalise so the leading 1 is at bit 10 */
        int e = -14;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e--;
        }
        mant &= 0x3ffu;
        return f32_from_bits_impl(sign | ((uint32_t)(e + 127) << 23) | (mant << 13));
    }
    return f32_from_bits_impl(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

float safetensors_bf16_to_f32(uint16_t b)
{
    return f32_from_bits_impl((uint32_t)b << 16);
}

/* ---- metadata ------------------------------------------------------------------------ */

void safetensors_meta_set(struct safetensors_meta *m, const char *key, const char *value)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0) {
            free(m->values[i]);
            m->values[i] = xstrdup(value);
            return;
        }
    m->keys = xrealloc(m->keys, (size_t)(m->n + 1) * sizeof(*m->keys));
    m->values = xrealloc(m->values, (size_t)(m->n + 1) * sizeof(*m->values));
    m->keys[m->n] = xstrdup(key);
    m->values[m->n] = xstrdup(value);
    m->n++;
}

const char *safetensors_meta_get(const struct safetensors_meta *m, const char *key)
{
    if (!m)
        return NULL;
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0)
            return m->values[i];
    return NULL;
}

void safetensors_meta_copy(struct safetensors_meta *dst, const struct safetensors_meta *src)
{
    for (int i = 0; src && i < src->n; i++)
        safetensors_meta_set(dst, src->keys[i], src->values[i]);
}

void safetensors_meta_release(struct safetensors_meta *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->values[i]);
    }
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof(*m));
}

/* ---- reading ------------------------------------------------------------------------- */

struct safetensors {
    char *path;
    int fd;
    uint64_t file_size, header_len, data_start, data_len;
    int n;
    struct st_tensor_info *t;      /* (n) in header order */
    struct safetensors_meta meta;
};

static int utf8_valid_impl(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + k >= n)                 /* the continuation bytes i+1 .. i+k must exist */
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static void shape_str_impl(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t at = 0;
    at += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (at < n)
        snprintf(buf + at, n - at, "]");
}

/* A JSON number that is a non-negative integer, into *out. */
static int json_uint_impl(const struct nn_json *j, uint64_t *out)
{
    if (!j || j->type != NN_JSON_NUMBER || !j->is_int || j->inum < 0)
        return 0;
    *out = (uint64_t)j->inum;
    return 1;
}

static int parse_tensor_impl(struct safetensors *st, struct st_tensor_info *t,
                             const struct nn_json *v, struct lethe_error *err)
{
    const char *path = st->path, *name = t->name;
    if (v->type != NN_JSON_OBJECT)
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': not a JSON object", path, name);
    for (size_t k = 0; k < v->n; k++)
        if (strcmp(v->keys[k], "dtype") && strcmp(v->keys[k], "shape") &&
            strcmp(v->keys[k], "data_offsets"))
            return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': unknown key '%s'", path, name,
                             v->keys[k]);
    const struct nn_json *dt = nn_json_get(v, "dtype"), *sh = nn_json_get(v, "shape"),
                         *off = nn_json_get(v, "data_offsets");
    if (!dt || !sh || !off)
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': missing '%s'", path, name,
                         !dt ? "dtype" : !sh ? "shape" : "data_offsets");
    if (dt->type != NN_JSON_STRING)
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': 'dtype' is not a string", path,
                         name);
    t->dtype = ST_DTYPE_COUNT;
    for (int d = 0; d < ST_DTYPE_COUNT; d++)
        if (strcmp(dt->str, dtypes[d].name) == 0)
            t->dtype = (enum st_dtype)d;
    if (t->dtype == ST_DTYPE_COUNT)
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': unknown dtype '%s'", path, name,
                         dt->str);
    if (sh->type != NN_JSON_ARRAY)
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': 'shape' is not an array", path,
                         name);
    if (sh->n > ST_MAX_DIMS)
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': %zu dimensions, at most %d "
                         "supported", path, name, sh->n, ST_MAX_DIMS);
    t->ndim = (int)sh->n;
    uint64_t numel = 1;
    int overflow = 0;
    for (size_t k = 0; k < sh->n; k++) {
        uint64_t d;
        if (!json_uint_impl(&sh->items[k], &d) || d > INT_MAX)
            return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': shape entry %zu is not an "
                             "integer in [0, %d]", path, name, k, INT_MAX);
        t->shape[k] = (int64_t)d;
        if (d && numel > UINT64_MAX / d)
            overflow = 1;
        numel *= d;
    }
    if (overflow || numel > UINT64_MAX / 8)
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': shape too large", path, name);
    t->numel = numel;
    uint64_t b, e;
    if (off->type != NN_JSON_ARRAY || off->n != 2 || !json_uint_impl(&off->items[0], &b) ||
        !json_uint_impl(&off->items[1], &e) || b > e)
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': 'data_offsets' is not [begin, "
                         "end] with 0 <= begin <= end", path, name);
    t->begin = b;
    t->end = e;
    uint64_t need = numel * (uint64_t)dtypes[t->dtype].size;
    if (e - b != need) {
        char s[160];
        shape_str_impl(s, sizeof(s), t->ndim, t->shape);
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': shape %s of %s needs %llu bytes, "
                         "data_offsets [%llu, %llu] hold %llu", path, name, s,
                         dtypes[t->dtype].name, (unsigned long long)need, (unsigned long long)b,
                         (unsigned long long)e, (unsigned long long)(e - b));
    }
    if (e > st->data_len)
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': data_offsets [%llu, %llu] run "
                         "past the end of the data section (%llu bytes; truncated file?)", path,
                         name, (unsigned long long)b, (unsigned long long)e,
                         (unsigned long long)st->data_len);
    return 0;
}

static int by_offset_impl(const void *a, const void *b)
{
    const struct st_tensor_info *x = *(struct st_tensor_info *const *)a,
                                *y = *(struct st_tensor_info *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

/* The tensors, sorted by offset, must tile the data section exactly: no overlap, no hole. */
static int check_tiling_impl(struct safetensors *st, struct lethe_error *err)
{
    struct st_tensor_info **order = xmalloc((size_t)(st->n ? st->n : 1) * sizeof(*order));
    for (int i = 0; i < st->n; i++)
        order[i] = &st->t[i];
    qsort(order, (size_t)st->n, sizeof(*order), by_offset_impl);
    uint64_t at = 0;
    const struct st_tensor_info *prev = NULL;
    int rc = 0;
    for (int i = 0; i < st->n && !rc; i++) {
        const struct st_tensor_info *t = order[i];
        if (t->begin < at)
            rc = lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': data_offsets [%llu, %llu] "
                           "overlap tensor '%s' [%llu, %llu]", st->path, t->name,
                           (unsigned long long)t->begin, (unsigned long long)t->end, prev->name,
                           (unsigned long long)prev->begin, (unsigned long long)prev->end);
        else if (t->begin > at && prev)
            rc = lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': data_offsets [%llu, %llu] "
                           "leave a hole after tensor '%s' [%llu, %llu]", st->path, t->name,
                           (unsigned long long)t->begin, (unsigned long long)t->end, prev->name,
                           (unsigned long long)prev->begin, (unsigned long long)prev->end);
        else if (t->begin > at)
            rc = lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': data_offsets [%llu, %llu] "
                           "leave a hole at the start of the data section", st->path, t->name,
                           (unsigned long long)t->begin, (unsigned long long)t->end);
        at = t->end;
        prev = t;
    }
    if (!rc && at != st->data_len)
        rc = lethe_err(err, LETHE_EINPUT, "'%s': the data section is %llu bytes but the tensors "
                       "cover %llu", st->path, (unsigned long long)st->data_len,
                       (unsigned long long)at);
    free(order);
    return rc;
}

static int parse_header_impl(struct safetensors *st, const char *text, size_t len,
                             struct lethe_error *err)
{
    if (!utf8_valid_impl((const unsigned char *)text, len))
        return lethe_err(err, LETHE_EINPUT, "'%s': the header is not valid UTF-8", st->path);
    struct nn_json *j = NULL;
    if (nn_json_parse(text, len, &j, err) < 0) {
        lethe_err_prefix(err, "'%s': header", st->path);
        return -LETHE_EINPUT;
    }
    int rc = 0;
    if (j->type != NN_JSON_OBJECT) {
        rc = lethe_err(err, LETHE_EINPUT, "'%s': the header is not a JSON object", st->path);
        goto out;
    }
    st->t = xcalloc(j->n ? j->n : 1, sizeof(*st->t));
    for (size_t i = 0; i < j->n && !rc; i++) {
        const struct nn_json *v = &j->items[i];
        if (strcmp(j->keys[i], "__metadata__") == 0) {
            if (v->type != NN_JSON_OBJECT) {
                rc = lethe_err(err, LETHE_EINPUT, "'%s': '__metadata__' is not a JSON object",
                               st->path);
                break;
            }
            for (size_t k = 0; k < v->n; k++) {
                if (v->items[k].type != NN_JSON_STRING) {
                    rc = lethe_err(err, LETHE_EINPUT, "'%s': '__metadata__' value of '%s' is not "
                                   "a string", st->path, v->keys[k]);
                    break;
                }
                safetensors_meta_set(&st->meta, v->keys[k], v->items[k].str);
            }
            continue;
        }
        struct st_tensor_info *t = &st->t[st->n++];
        t->name = xstrdup(j->keys[i]);
        rc = parse_tensor_impl(st, t, v, err);
    }
    if (!rc)
        rc = check_tiling_impl(st, err);
out:
    nn_json_free(j);
    return rc;
}

/* Reads exactly n bytes at offset off; errors name the file and what was read. */
static int read_at_impl(const struct safetensors *st, void *buf, size_t n, uint64_t off,
                        const char *what, struct lethe_error *err)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = pread(st->fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return lethe_err(err, LETHE_EIO, "cannot read '%s': %s", st->path, lethe_strerror(errno));
        if (r == 0)
            return lethe_err(err, LETHE_EINPUT, "'%s': unexpected end of file reading %s",
                             st->path, what);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int safetensors_open(const char *path, struct safetensors **out, struct lethe_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return lethe_err(err, errno == ENOENT ? LETHE_EINPUT : LETHE_EIO, "cannot open '%s': %s",
                         path, lethe_strerror(errno));
    struct safetensors *st = xcalloc(1, sizeof(*st));
    st->path = xstrdup(path);
    st->fd = fd;
    int rc = 0;
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        rc = lethe_err(err, LETHE_EIO, "cannot read '%s': %s", path, lethe_strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = lethe_err(err, LETHE_EINPUT, "'%s' is not a regular file", path);
        goto fail;
    }
    st->file_size = (uint64_t)sb.st_size;
    if (st->file_size < 8) {
        rc = lethe_err(err, LETHE_EINPUT, "'%s': %llu bytes, too short for a safetensors file "
                       "(8-byte header length first)", path, (unsigned long long)st->file_size);
        goto fail;
    }
    unsigned char len8[8];
    if ((rc = read_at_impl(st, len8, 8, 0, "the header length", err)) < 0)
        goto fail;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | len8[i];
    if (n == 0) {
        rc = lethe_err(err, LETHE_EINPUT, "'%s': header length is 0", path);
        goto fail;
    }
    if (n > ST_HEADER_MAX) {
        rc = lethe_err(err, LETHE_EINPUT, "'%s': header length %llu exceeds the limit of %llu "
                       "bytes", path, (unsigned long long)n, ST_HEADER_MAX);
        goto fail;
    }
    if (n > st->file_size - 8) {
        rc = lethe_err(err, LETHE_EINPUT, "'%s': header length %llu exceeds the file size "
                       "(%llu bytes)", path, (unsigned long long)n,
                       (unsigned long long)st->file_size);
        goto fail;
    }
    st->header_len = n;
    st->data_start = 8 + n;
    st->data_len = st->file_size - st->data_start;
    char *text = xmalloc((size_t)n + 1);
    rc = read_at_impl(st, text, (size_t)n, 8, "the header", err);
    text[n] = '\0';
    if (!rc)
        rc = parse_header_impl(st, text, (size_t)n, err);
    free(text);
    if (rc < 0)
        goto fail;
    *out = st;
    return 0;
fail:
    safetensors_close(st);
    return rc;
}

void safetensors_close(struct safetensors *st)
{
    if (!st)
        return;
    if (st->fd >= 0)
        close(st->fd);
    for (int i = 0; i < st->n; i++)
        free(st->t[i].name);
    free(st->t);
    safetensors_meta_release(&st->meta);
    free(st->path);
    free(st);
}

int safetensors_count(const struct safetensors *st)
{
    return st->n;
}

const struct st_tensor_info *safetensors_info(const struct safetensors *st, int i)
{
    LETHE_ASSERT(i >= 0 && i < st->n);
    return &st->t[i];
}

int safetensors_index(const struct safetensors *st, const char *name)
{
    for (int i = 0; i < st->n; i++)
        if (strcmp(st->t[i].name, name) == 0)
            return i;
    return -1;
}

const struct safetensors_meta *safetensors_metadata(const struct safetensors *st)
{
    return &st->meta;
}

const char *safetensors_path(const struct safetensors *st)
{
    return st->path;
}

int safetensors_readable(enum st_dtype t)
{
    return t == ST_F32 || t == ST_F16 || t == ST_BF16;
}

int safetensors_read_f32(const struct safetensors *st, int i, float *dst, struct lethe_error *err)
{
    const struct st_tensor_info *t = safetensors_info(st, i);
    if (!safetensors_readable(t->dtype))
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': dtype %s cannot be read as float "
                         "(F32, F16 or BF16 expected)", st->path, t->name,
                         dtypes[t->dtype].name);
    int size = dtypes[t->dtype].size;
    unsigned char *buf = xmalloc(ST_CHUNK);
    struct strbuf what = STRBUF_INIT;
    strbuf_addf(&what, "tensor '%s'", t->name);
    uint64_t total = t->end - t->begin, done = 0;
    int rc = 0;
    while (done < total) {
        size_t n = total - done < ST_CHUNK ? (size_t)(total - done) : ST_CHUNK;
        if ((rc = read_at_impl(st, buf, n, st->data_start + t->begin + done, what.buf, err)) < 0)
            break;
        size_t k = n / (size_t)size;
        float *o = dst + done / (uint64_t)size;
        if (t->dtype == ST_F32) {
            for (size_t j = 0; j < k; j++)
                o[j] = f32_from_bits_impl((uint32_t)buf[4 * j] | (uint32_t)buf[4 * j + 1] << 8 |
                                          (uint32_t)buf[4 * j + 2] << 16 |
                                          (uint32_t)buf[4 * j + 3] << 24);
        } else if (t->dtype == ST_F16) {
            for (size_t j = 0; j < k; j++)
                o[j] = safetensors_f16_to_f32((uint16_t)(buf[2 * j] | buf[2 * j + 1] << 8));
        } else {
            for (size_t j = 0; j < k; j++)
                o[j] = safetensors_bf16_to_f32((uint16_t)(buf[2 * j] | buf[2 * j + 1] << 8));
        }
        done += n;
    }
    strbuf_release(&what);
    free(buf);
    return rc;
}

/* ---- strict loading into a parameter table ------------------------------------------- */

int safetensors_check_tensor(const struct safetensors *st, int i, const struct nn_tensor *want,
                             struct lethe_error *err)
{
    const struct st_tensor_info *t = safetensors_info(st, i);
    int same = t->ndim == want->ndim;
    for (int d = 0; same && d < t->ndim; d++)
        same = t->shape[d] == want->shape[d];
    if (!same) {
        int64_t w[NN_MAX_DIMS];
        for (int d = 0; d < want->ndim; d++)
            w[d] = want->shape[d];
        char a[160], b[160];
        shape_str_impl(a, sizeof(a), t->ndim, t->shape);
        shape_str_impl(b, sizeof(b), want->ndim, w);
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': shape %s, expected %s", st->path,
                         t->name, a, b);
    }
    if (!safetensors_readable(t->dtype))
        return lethe_err(err, LETHE_EINPUT, "'%s': tensor '%s': dtype %s cannot be read as float "
                         "(F32, F16 or BF16 expected)", st->path, t->name,
                         dtypes[t->dtype].name);
    return 0;
}

int safetensors_load(const char *path, struct nn_params *p, struct safetensors_meta *meta,
                     struct lethe_error *err)
{
    struct safetensors *st;
    int rc = safetensors_open(path, &st, err);
    if (rc < 0)
        return rc;
    int *src = xmalloc((size_t)(p->n_tensors ? p->n_tensors : 1) * sizeof(*src));
    for (int i = 0; i < st->n && !rc; i++)
        if (!nn_params_find(p, st->t[i].name))
            rc = lethe_err(err, LETHE_EINPUT, "'%s': unknown tensor '%s'", path, st->t[i].name);
    for (int k = 0; k < p->n_tensors && !rc; k++) {
        src[k] = safetensors_index(st, p->tensors[k].name);
        if (src[k] < 0)
            rc = lethe_err(err, LETHE_EINPUT, "'%s': missing tensor '%s'", path,
                           p->tensors[k].name);
        else
            rc = safetensors_check_tensor(st, src[k], &p->tensors[k], err);
    }
    for (int k = 0; k < p->n_tensors && !rc; k++)
        rc = safetensors_read_f32(st, src[k], nn_tensor_data(p, &p->tensors[k]), err);
    if (!rc && meta)
        safetensors_meta_copy(meta, &st->meta);
    free(src);
    safetensors_close(st);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------- */

static long write_fail_after = -1;      /* test hook: bytes after which writes fail */

void safetensors_fail_writes_after(long bytes)
{
    write_fail_after = bytes;
}

static void json_str_impl(struct strbuf *sb, const char *s)
{
    strbuf_add(sb, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            strbuf_add(sb, e, 2);
        } else if (*p < 0x20) {
            strbuf_addf(sb, "\\u%04x", *p);
        } else {
            strbuf_add(sb, (const char *)p, 1);
        }
    }
    strbuf_add(sb, "\"", 1);
}

struct writer {
    int fd;
    uint64_t written;
    int err;            /* errno of the first failure */
};

static void put_impl(struct writer *w, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0 && !w->err) {
        size_t k = n;
        if (write_fail_after >= 0 && w->written + k > (uint64_t)write_fail_after) {
            k = w->written >= (uint64_t)write_fail_after ? 0
                                                         : (size_t)(write_fail_after - (long)w->written);
            if (k == 0) {
                w->err = ENOSPC;
                return;
            }
        }
        ssize_t r = write(w->fd, p, k);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            w->err = errno;
            return;
        }
        p += r;
        n -= (size_t)r;
        w->written += (uint64_t)r;
    }
}

int safetensors_save(const char *path, const struct nn_params *p,
                     const struct safetensors_meta *meta, struct lethe_error *err)
{
    for (int i = 0; i < p->n_tensors; i++) {
        const char *name = p->tensors[i].name;
        if (!*name || strcmp(name, "__metadata__") == 0 ||
            !utf8_valid_impl((const unsigned char *)name, strlen(name)))
            return lethe_err(err, LETHE_EFAIL, "cannot write '%s': bad tensor name '%s'", path,
                             name);
        for (int k = 0; k < i; k++)
            if (strcmp(p->tensors[k].name, name) == 0)
                return lethe_err(err, LETHE_EFAIL, "cannot write '%s': duplicate tensor '%s'",
                                 path, name);
    }
    for (int i = 0; meta && i < meta->n; i++)
        if (!utf8_valid_impl((const unsigned char *)meta->keys[i], strlen(meta->keys[i])) ||
            !utf8_valid_impl((const unsigned char *)meta->values[i], strlen(meta->values[i])))
            return lethe_err(err, LETHE_EINPUT, "cannot write '%s': metadata '%s' is not valid "
                             "UTF-8", path, meta->keys[i]);

    /* header: __metadata__ first, then the tensors in table order, back to back */
    struct strbuf h = STRBUF_INIT;
    strbuf_adds(&h, "{");
    if (meta && meta->n) {
        strbuf_adds(&h, "\"__metadata__\":{");
        for (int i = 0; i < meta->n; i++) {
            if (i)
                strbuf_adds(&h, ",");
            json_str_impl(&h, meta->keys[i]);
            strbuf_adds(&h, ":");
            json_str_impl(&h, meta->values[i]);
        }
        strbuf_adds(&h, "}");
    }
    uint64_t at = 0;
    for (int i = 0; i < p->n_tensors; i++) {
        const struct nn_tensor *t = &p->tensors[i];
        if (i || (meta && meta->n))
            strbuf_adds(&h, ",");
        json_str_impl(&h, t->name);
        strbuf_adds(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++)
            strbuf_addf(&h, "%s%d", d ? "," : "", t->shape[d]);
        uint64_t end = at + (uint64_t)t->numel * 4;
        strbuf_addf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)at,
                    (unsigned long long)end);
        at = end;
    }
    strbuf_adds(&h, "}");
    while (h.len % 8)                   /* pad with spaces to 8 bytes, as the reference writer */
        strbuf_adds(&h, " ");

    struct strbuf tmp = STRBUF_INIT;
    strbuf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    struct writer w = {open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0, 0};
    if (w.fd < 0) {
        int rc = lethe_err(err, LETHE_EIO, "cannot write '%s': %s", path, lethe_strerror(errno));
        strbuf_release(&tmp);
        strbuf_release(&h);
        return rc;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    put_impl(&w, len8, 8);
    put_impl(&w, h.buf, h.len);
    strbuf_release(&h);
    unsigned char *buf = xmalloc(ST_CHUNK);
    for (int i = 0; i < p->n_tensors && !w.err; i++) {
        const float *x = nn_tensor_data(p, &p->tensors[i]);
        size_t left = p->tensors[i].numel;
        while (left > 0 && !w.err) {
            size_t k = left < ST_CHUNK / 4 ? left : ST_CHUNK / 4;
            for (size_t j = 0; j < k; j++) {
                uint32_t u = f32_bits_impl(x[j]);
                buf[4 * j] = (unsigned char)u;
                buf[4 * j + 1] = (unsigned char)(u >> 8);
                buf[4 * j + 2] = (unsigned char)(u >> 16);
                buf[4 * j + 3] = (unsigned char)(u >> 24);
            }
            put_impl(&w, buf, 4 * k);
            x += k;
            left -= k;
        }
    }
    free(buf);
    if (!w.err && fsync(w.fd) < 0)
        w.err = errno;
    if (close(w.fd) < 0 && !w.err)
        w.err = errno;
    if (!w.err && rename(tmp.buf, path) < 0)
        w.err = errno;
    int rc = 0;
    if (w.err) {
        unlink(tmp.buf);
        rc = lethe_err(err, LETHE_EIO, "cannot write '%s': %s", path, lethe_strerror(w.err));
    }
    strbuf_release(&tmp);
    return rc;
}
