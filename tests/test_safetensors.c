/* Tests for safetensors checkpoints: half-precision decoding, round trips, files written by an
 * independent writer (tests/golden/ckpt_hf.py), every kind of bad file, atomic writes, GPT-2. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/nn.h"
#include "tests/test.h"

static char tmpdir[256];

static char *tmp_path(const char *name)
{
    return path_join(tmpdir, name);
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    LETHE_ASSERT(f);
    LETHE_ASSERT(fwrite(data, 1, n, f) == n);
    fclose(f);
}

/* A file of: 8-byte length of header (as given, unpadded unless the text has spaces), header,
 * then data_len bytes of data (0x11 each). */
static void write_st(const char *path, const char *header, size_t data_len)
{
    size_t hn = strlen(header);
    unsigned char *buf = xcalloc(8 + hn + data_len + 1, 1);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)hn >> (8 * i));
    memcpy(buf + 8, header, hn);
    memset(buf + 8 + hn, 0x11, data_len);
    write_bytes(path, buf, 8 + hn + data_len);
    free(buf);
}

/* Opens path and returns the error message ("" on success). */
static const char *open_msg(const char *path)
{
    static struct lethe_error err;
    memset(&err, 0, sizeof(err));
    struct safetensors *st = NULL;
    int rc = safetensors_open(path, &st, &err);
    if (rc == 0) {
        safetensors_close(st);
        return "";
    }
    if (rc != -LETHE_EINPUT)
        printf("# unexpected code %d for '%s'\n", rc, path);
    return err.msg;
}

/* ---- half precision ----------------------------------------------------------------------- */

/* Oracle: the IEEE 754 binary16 value s * 2^(e-15) * (1 + m/1024), written with ldexp. */
static void test_f16_all(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint32_t s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        float got = safetensors_f16_to_f32((uint16_t)h);
        if (e == 31) {
            uint32_t want = (s << 31) | 0x7f800000u | (m << 13);    /* inf or NaN, payload kept */
            if (bits(got) != want)
                bad++;
            continue;
        }
        double v = e == 0 ? ldexp((double)m, -24) : ldexp(1024.0 + m, (int)e - 25);
        float want = (float)(s ? -v : v);
        if (bits(got) != bits(want))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(safetensors_f16_to_f32(0x3c00) == 1.0f);
    CHECK(safetensors_f16_to_f32(0xc000) == -2.0f);
    CHECK(safetensors_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(safetensors_f16_to_f32(0x0001) == 5.9604644775390625e-08f);    /* 2^-24 */
    CHECK(safetensors_f16_to_f32(0x03ff) == 6.097555160522461e-05f);     /* largest subnormal */
    CHECK(safetensors_f16_to_f32(0x0400) == 6.103515625e-05f);           /* 2^-14 */
    CHECK(bits(safetensors_f16_to_f32(0x8000)) == 0x80000000u);
    CHECK(isinf(safetensors_f16_to_f32(0xfc00)) && safetensors_f16_to_f32(0xfc00) < 0);
    CHECK(isnan(safetensors_f16_to_f32(0x7e00)));
}

static void test_bf16_all(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint32_t s = h >> 15, e = (h >> 7) & 255, m = h & 127;
        float got = safetensors_bf16_to_f32((uint16_t)h);
        if (e == 255) {
            if (bits(got) != h << 16)
                bad++;
            continue;
        }
        double v = e == 0 ? ldexp((double)m, -133) : ldexp(128.0 + m, (int)e - 134);
        float want = (float)(s ? -v : v);
        if (bits(got) != bits(want))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(safetensors_bf16_to_f32(0x3f80) == 1.0f);
    CHECK(safetensors_bf16_to_f32(0xbfc0) == -1.5f);
    CHECK(safetensors_bf16_to_f32(0x0001) == 9.183549615799121e-41f);    /* 2^-133 */
}

/* ---- round trip --------------------------------------------------------------------------- */

static void make_params(struct nn_params *p, uint64_t seed)
{
    int s1[1] = {5}, s2[2] = {3, 7}, s3[3] = {2, 3, 4}, s4[4] = {2, 1, 3, 3};
    nn_params_add(p, "a.weight", NN_T_LINEAR, 2, s2);
    nn_params_add(p, "a.bias", NN_T_BIAS, 1, s1);
    nn_params_add(p, "conv.0.weight", NN_T_CONV, 4, s4);
    nn_params_add(p, "x\"quoted\\name", NN_T_EMBED, 3, s3);
    nn_params_alloc(p);
    struct nn_rng r;
    nn_rng_seed(&r, seed);
    for (size_t i = 0; i < p->n; i++)
        p->data[i] = (float)nn_rng_normal(&r);
    float *b = nn_tensor_data(p, nn_params_find(p, "a.bias"));
    b[0] = from_bits(0x7fc12345u);      /* a NaN with a payload */
    b[1] = -0.0f;
    b[2] = from_bits(0x00000001u);      /* the smallest subnormal */
    b[3] = -INFINITY;
    b[4] = 3.4028235e38f;
}

static int same_data(const struct nn_params *a, const struct nn_params *b)
{
    if (a->n_tensors != b->n_tensors)
        return 0;
    for (int k = 0; k < a->n_tensors; k++)
        if (memcmp(nn_tensor_data(a, &a->tensors[k]), nn_tensor_data(b, &b->tensors[k]),
                   a->tensors[k].numel * sizeof(float)) != 0)
            return 0;
    return 1;
}

static void test_round_trip(void)
{
    struct nn_params p = {0}, q = {0};
    make_params(&p, 7);
    make_params(&q, 8);
    CHECK(!same_data(&p, &q));
    struct safetensors_meta meta = {0};
    safetensors_meta_set(&meta, "format", "pt");
    safetensors_meta_set(&meta, "recipe", "{\"lr\": 0.001}\n\ttabs \\ and \x01 control");
    safetensors_meta_set(&meta, "unicode", "caf\xc3\xa9 \xf0\x9f\x98\x80");
    safetensors_meta_set(&meta, "empty", "");
    safetensors_meta_set(&meta, "format", "pt");       /* replaced in place, not added */
    CHECK_EQ_INT(meta.n, 4);
    char *path = tmp_path("rt.safetensors");
    struct lethe_error err = {0};
    CHECK_EQ_INT(safetensors_save(path, &p, &meta, &err), 0);
    struct safetensors_meta got = {0};
    CHECK_EQ_INT(safetensors_load(path, &q, &got, &err), 0);
    CHECK(same_data(&p, &q));
    CHECK_EQ_INT(got.n, 4);
    for (int i = 0; i < meta.n && i < got.n; i++) {
        CHECK_STREQ(got.keys[i], meta.keys[i]);
        CHECK_STREQ(got.values[i], meta.values[i]);
    }
    CHECK_STREQ(safetensors_meta_get(&got, "unicode"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
    CHECK(safetensors_meta_get(&got, "nope") == NULL);

    /* the layout on disk: header padded with spaces to 8 bytes, F32 data in table order */
    char *text;
    size_t len;
    CHECK_EQ_INT(file_read_all(path, &text, &len, &err), 0);
    uint64_t hn = 0;
    for (int i = 7; i >= 0; i--)
        hn = hn << 8 | (unsigned char)text[i];
    CHECK_EQ_INT(hn % 8, 0);
    CHECK_EQ_INT(len, 8 + hn + 4 * (size_t)(21 + 5 + 18 + 24));
    CHECK(text[8] == '{' && text[8 + hn - 1] != '\0');
    size_t end = 8 + hn;
    while (text[end - 1] == ' ')
        end--;
    CHECK(text[end - 1] == '}');
    CHECK(8 + hn - end < 8);
    CHECK(strstr(text + 8, "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[3,7],\"data_offsets\":[0,84]}"));
    CHECK(strstr(text + 8, "\"a.bias\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[84,104]}"));
    CHECK(memcmp(text + 8 + hn, nn_tensor_data(&p, &p.tensors[0]), 84) == 0);  /* LE host */
    /* the same table and metadata give the same bytes */
    char *path2 = tmp_path("rt2.safetensors"), *text2;
    size_t len2;
    CHECK_EQ_INT(safetensors_save(path2, &p, &meta, &err), 0);
    CHECK_EQ_INT(file_read_all(path2, &text2, &len2, &err), 0);
    CHECK(len == len2 && memcmp(text, text2, len) == 0);

    /* no metadata at all: no __metadata__ key; an empty table */
    struct nn_params e = {0};
    nn_params_alloc(&e);
    CHECK_EQ_INT(safetensors_save(path2, &e, NULL, &err), 0);
    struct safetensors *st;
    CHECK_EQ_INT(safetensors_open(path2, &st, &err), 0);
    CHECK_EQ_INT(safetensors_count(st), 0);
    CHECK_EQ_INT(safetensors_metadata(st)->n, 0);
    safetensors_close(st);
    free(text2);
    CHECK_EQ_INT(file_read_all(path2, &text2, &len2, &err), 0);
    CHECK_EQ_INT(len2, 16);
    CHECK(memcmp(text2 + 8, "{}      ", 8) == 0);

    free(text2);
    free(path2);
    free(text);
    nn_params_release(&e);
    safetensors_meta_release(&got);
    safetensors_meta_release(&meta);
    safetensors_meta_release(NULL);
    nn_params_release(&p);
    nn_params_release(&q);
    free(path);
}

/* ---- files from the independent Python writer ---------------------------------------------- */

static void check_golden(const char *dir, const char *prefix, const float *special)
{
    struct lethe_error err = {0};
    char *mpath = path_join(dir, "model.safetensors"), *epath = path_join(dir, "expected.safetensors");
    struct safetensors *m = NULL, *e = NULL;
    CHECK_EQ_INT(safetensors_open(mpath, &m, &err), 0);
    CHECK_EQ_INT(safetensors_open(epath, &e, &err), 0);
    if (!m || !e) {
        printf("# %s\n", err.msg);
        goto out;
    }
    CHECK_STREQ(safetensors_meta_get(safetensors_metadata(m), "format"), "pt");
    CHECK_EQ_INT(safetensors_count(e), 2 + 2 * 12 + 2);
    int mismatched = 0;
    for (int i = 0; i < safetensors_count(e); i++) {
        const struct st_tensor_info *te = safetensors_info(e, i);
        char name[160];
        snprintf(name, sizeof(name), "%s%s", prefix, te->name);
        int j = safetensors_index(m, name);
        CHECK(j >= 0);
        if (j < 0)
            continue;
        const struct st_tensor_info *tm = safetensors_info(m, j);
        CHECK_EQ_INT(tm->numel, te->numel);
        CHECK_EQ_INT(te->dtype, ST_F32);
        float *a = xmalloc(te->numel * 4), *b = xmalloc(te->numel * 4);
        CHECK_EQ_INT(safetensors_read_f32(m, j, a, &err), 0);
        CHECK_EQ_INT(safetensors_read_f32(e, i, b, &err), 0);
        if (memcmp(a, b, te->numel * 4) != 0)
            mismatched++;
        if (strcmp(te->name, "ln_f.bias") == 0)
            for (int k = 0; k < 8; k++)
                if (isnan(special[k]) ? !isnan(a[k]) : bits(a[k]) != bits(special[k])) {
                    printf("# %s ln_f.bias[%d] = %.9g, expected %.9g\n", dir, k, (double)a[k],
                           (double)special[k]);
                    mismatched++;
                }
        free(a);
        free(b);
    }
    CHECK_EQ_INT(mismatched, 0);
out:
    safetensors_close(m);
    safetensors_close(e);
    free(mpath);
    free(epath);
}

static void test_golden_files(void)
{
    const float f16[8] = {5.9604644775390625e-08f, 6.097555160522461e-05f, 6.103515625e-05f,
                          65504.0f, -0.0f, INFINITY, -INFINITY, NAN};
    const float bf16[8] = {9.183549615799121e-41f, 1.1754943508222875e-38f, 3.3895313892515355e38f,
                           -0.0f, INFINITY, -INFINITY, NAN, -1.5f};
    check_golden("tests/golden/ckpt_hf_f16", "transformer.", f16);
    check_golden("tests/golden/ckpt_hf_bf16", "", bf16);
    /* the F16 file's buffers are there, with their own dtypes */
    struct safetensors *m;
    struct lethe_error err = {0};
    CHECK_EQ_INT(safetensors_open("tests/golden/ckpt_hf_f16/model.safetensors", &m, &err), 0);
    int i = safetensors_index(m, "transformer.h.1.attn.bias");
    CHECK(i >= 0);
    CHECK_EQ_INT(safetensors_info(m, i)->dtype, ST_BOOL);
    CHECK_EQ_INT(safetensors_info(m, i)->ndim, 4);
    float x[256];
    CHECK(safetensors_read_f32(m, i, x, &err) < 0);
    CHECK_STREQ(err.msg, "'tests/golden/ckpt_hf_f16/model.safetensors': tensor "
                "'transformer.h.1.attn.bias': dtype BOOL cannot be read as float (F32, F16 or "
                "BF16 expected)");
    i = safetensors_index(m, "transformer.h.0.attn.masked_bias");
    CHECK(i >= 0);
    CHECK_EQ_INT(safetensors_info(m, i)->ndim, 0);
    CHECK_EQ_INT(safetensors_read_f32(m, i, x, &err), 0);
    CHECK(x[0] == -1e4f);
    safetensors_close(m);
}

/* ---- bad files ---------------------------------------------------------------------------- */

static void check_bad(const char *header, size_t data_len, const char *want)
{
    char *path = tmp_path("bad.safetensors");
    write_st(path, header, data_len);
    char full[1200];
    if (*want)
        snprintf(full, sizeof(full), "'%s': %s", path, want);
    else
        full[0] = '\0';
    CHECK_STREQ(open_msg(path), full);
    free(path);
}

#define T2(a, b) "{\"a\":" a ",\"b\":" b "}"

static void test_bad_headers(void)
{
    check_bad(T2("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",
                 "{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[8,16]}"), 16, "");
    /* JSON */
    check_bad("{\"a\":", 0, "header: line 1, column 6: unexpected end of text");
    check_bad("[1, 2]", 0, "the header is not a JSON object");
    check_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":1}", 8,
              "header: line 1, column 58: duplicate key 'a'");
    check_bad("{\"\xff\":1}", 0, "the header is not valid UTF-8");
    check_bad("{\"a\":\"\xc0\xaf\"}", 0, "the header is not valid UTF-8");     /* overlong */
    /* metadata */
    check_bad("{\"__metadata__\":[]}", 0, "'__metadata__' is not a JSON object");
    check_bad("{\"__metadata__\":{\"n\":1}}", 0, "'__metadata__' value of 'n' is not a string");
    /* tensor entries */
    check_bad("{\"a\":1}", 0, "tensor 'a': not a JSON object");
    check_bad("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': missing 'dtype'");
    check_bad("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor 'a': missing 'shape'");
    check_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'a': missing 'data_offsets'");
    check_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":0}}", 8,
              "tensor 'a': unknown key 'x'");
    check_bad("{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
              "tensor 'a': 'dtype' is not a string");
    check_bad("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
              "tensor 'a': unknown dtype 'F33'");
    check_bad("{\"a\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
              "tensor 'a': unknown dtype 'f32'");
    check_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8,
              "tensor 'a': 'shape' is not an array");
    check_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
              "tensor 'a': shape entry 0 is not an integer in [0, 2147483647]");
    check_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,2.0],\"data_offsets\":[0,8]}}", 8,
              "tensor 'a': shape entry 1 is not an integer in [0, 2147483647]");
    check_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,\"2\"],\"data_offsets\":[0,8]}}", 8,
              "tensor 'a': shape entry 1 is not an integer in [0, 2147483647]");
    check_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8,
              "tensor 'a': 9 dimensions, at most 8 supported");
    check_bad("{\"a\":{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,2147483647],"
              "\"data_offsets\":[0,8]}}", 8, "tensor 'a': shape too large");
    check_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 8,
              "tensor 'a': 'data_offsets' is not [begin, end] with 0 <= begin <= end");
    check_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8,
              "tensor 'a': 'data_offsets' is not [begin, end] with 0 <= begin <= end");
    check_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-1,7]}}", 8,
              "tensor 'a': 'data_offsets' is not [begin, end] with 0 <= begin <= end");
    /* sizes and offsets */
    check_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20,
              "tensor 'a': shape [2, 3] of F32 needs 24 bytes, data_offsets [0, 20] hold 20");
    check_bad("{\"a\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,7]}}", 7,
              "tensor 'a': shape [3] of BF16 needs 6 bytes, data_offsets [0, 7] hold 7");
    check_bad(T2("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",
                 "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}"), 12,
              "tensor 'b': data_offsets [8, 16] run past the end of the data section (12 bytes; "
              "truncated file?)");
    check_bad(T2("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",
                 "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}"), 12,
              "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]");
    check_bad(T2("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",
                 "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"), 8,
              "tensor 'b': data_offsets [0, 8] overlap tensor 'a' [0, 8]");
    check_bad(T2("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",
                 "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}"), 20,
              "tensor 'b': data_offsets [12, 20] leave a hole after tensor 'a' [0, 8]");
    check_bad(T2("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}",
                 "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}"), 20,
              "tensor 'a': data_offsets [4, 12] leave a hole at the start of the data section");
    check_bad(T2("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",
                 "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}"), 17,
              "the data section is 17 bytes but the tensors cover 16");
    check_bad("{}", 4, "the data section is 4 bytes but the tensors cover 0");
    /* header order need not be offset order; empty tensors may sit anywhere in order */
    check_bad(T2("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}",
                 "{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}"), 16, "");
    check_bad(T2("{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[8,8]}",
                 "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"), 8, "");
    check_bad("{\"__metadata__\":{},\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}    ",
              4, "");
    check_bad("{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "");
}

static void test_bad_lengths(void)
{
    char *path = tmp_path("len.safetensors"), want[600];
    /* shorter than the length field */
    write_bytes(path, "\x08\0\0\0\0", 5);
    snprintf(want, sizeof(want), "'%s': 5 bytes, too short for a safetensors file (8-byte header "
             "length first)", path);
    CHECK_STREQ(open_msg(path), want);
    write_bytes(path, "", 0);
    snprintf(want, sizeof(want), "'%s': 0 bytes, too short for a safetensors file (8-byte header "
             "length first)", path);
    CHECK_STREQ(open_msg(path), want);
    /* header length beyond the file, beyond the limit, zero */
    unsigned char b[16] = {0xe8, 0x03, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    write_bytes(path, b, 16);
    snprintf(want, sizeof(want), "'%s': header length 1000 exceeds the file size (16 bytes)", path);
    CHECK_STREQ(open_msg(path), want);
    b[0] = 9;
    b[1] = 0;
    write_bytes(path, b, 16);
    snprintf(want, sizeof(want), "'%s': header length 9 exceeds the file size (16 bytes)", path);
    CHECK_STREQ(open_msg(path), want);
    memset(b, 0xff, 8);
    write_bytes(path, b, 16);
    snprintf(want, sizeof(want), "'%s': header length 18446744073709551615 exceeds the limit of "
             "100000000 bytes", path);
    CHECK_STREQ(open_msg(path), want);
    memset(b, 0, 8);
    write_bytes(path, b, 16);
    snprintf(want, sizeof(want), "'%s': header length is 0", path);
    CHECK_STREQ(open_msg(path), want);
    /* not a file */
    snprintf(want, sizeof(want), "'%s' is not a regular file", tmpdir);
    CHECK_STREQ(open_msg(tmpdir), want);
    char *none = tmp_path("none.safetensors");
    snprintf(want, sizeof(want), "cannot open '%s': no such file", none);
    CHECK_STREQ(open_msg(none), want);
    free(none);
    free(path);
}

/* A valid file cut at every length is refused, with the file named. */
static void test_truncated(void)
{
    struct nn_params p = {0};
    make_params(&p, 3);
    char *path = tmp_path("full.safetensors"), *cut = tmp_path("cut.safetensors");
    struct safetensors_meta meta = {0};
    safetensors_meta_set(&meta, "format", "pt");
    struct lethe_error err = {0};
    CHECK_EQ_INT(safetensors_save(path, &p, &meta, &err), 0);
    char *text;
    size_t len;
    CHECK_EQ_INT(file_read_all(path, &text, &len, &err), 0);
    CHECK_STREQ(open_msg(path), "");
    int refused = 0, named = 0, past = 0;
    char prefix[300];
    snprintf(prefix, sizeof(prefix), "'%s': ", cut);
    for (size_t n = 0; n < len; n++) {
        write_bytes(cut, text, n);
        const char *msg = open_msg(cut);
        refused += *msg != '\0';
        named += str_starts(msg, prefix);
        past += strstr(msg, "run past the end of the data section") != NULL;
    }
    CHECK_EQ_INT(refused, (long long)len);
    CHECK_EQ_INT(named, (long long)len);
    CHECK(past > 200);      /* every cut inside the data */
    /* one byte too many is refused as well */
    text = xrealloc(text, len + 1);
    text[len] = 0;
    write_bytes(cut, text, len + 1);
    CHECK_CONTAINS(open_msg(cut), "but the tensors cover");
    free(text);
    safetensors_meta_release(&meta);
    nn_params_release(&p);
    free(path);
    free(cut);
}

static void test_load_mismatch(void)
{
    struct nn_params p = {0};
    make_params(&p, 3);
    char *path = tmp_path("m.safetensors"), want[600];
    struct lethe_error err = {0};
    CHECK_EQ_INT(safetensors_save(path, &p, NULL, &err), 0);

    int s2[2] = {3, 7}, s1[1] = {5}, s4[4] = {2, 1, 3, 3}, s3[3] = {2, 3, 4}, sw[2] = {7, 3};
    struct nn_params q = {0};     /* a.weight transposed */
    nn_params_add(&q, "a.weight", NN_T_LINEAR, 2, sw);
    nn_params_add(&q, "a.bias", NN_T_BIAS, 1, s1);
    nn_params_add(&q, "conv.0.weight", NN_T_CONV, 4, s4);
    nn_params_add(&q, "x\"quoted\\name", NN_T_EMBED, 3, s3);
    nn_params_alloc(&q);
    CHECK(safetensors_load(path, &q, NULL, &err) == -LETHE_EINPUT);
    snprintf(want, sizeof(want), "'%s': tensor 'a.weight': shape [3, 7], expected [7, 3]", path);
    CHECK_STREQ(err.msg, want);
    for (size_t i = 0; i < q.n; i++)
        CHECK(q.data[i] == 0.0f);       /* nothing copied before every check passed */
    nn_params_release(&q);

    nn_params_add(&q, "a.weight", NN_T_LINEAR, 2, s2);    /* a tensor too few in the table */
    nn_params_add(&q, "a.bias", NN_T_BIAS, 1, s1);
    nn_params_add(&q, "x\"quoted\\name", NN_T_EMBED, 3, s3);
    nn_params_alloc(&q);
    CHECK(safetensors_load(path, &q, NULL, &err) == -LETHE_EINPUT);
    snprintf(want, sizeof(want), "'%s': unknown tensor 'conv.0.weight'", path);
    CHECK_STREQ(err.msg, want);
    nn_params_release(&q);

    nn_params_add(&q, "a.weight", NN_T_LINEAR, 2, s2);
    nn_params_add(&q, "a.bias", NN_T_BIAS, 1, s1);
    nn_params_add(&q, "conv.0.weight", NN_T_CONV, 4, s4);
    nn_params_add(&q, "x\"quoted\\name", NN_T_EMBED, 3, s3);
    nn_params_add(&q, "b.bias", NN_T_BIAS, 1, s1);        /* a tensor too many in the table */
    nn_params_alloc(&q);
    CHECK(safetensors_load(path, &q, NULL, &err) == -LETHE_EINPUT);
    snprintf(want, sizeof(want), "'%s': missing tensor 'b.bias'", path);
    CHECK_STREQ(err.msg, want);
    nn_params_release(&q);

    /* a dtype that is not read as float */
    char *ipath = tmp_path("i64.safetensors");
    write_st(ipath, "{\"a.bias\":{\"dtype\":\"I64\",\"shape\":[5],\"data_offsets\":[0,40]}}", 40);
    nn_params_add(&q, "a.bias", NN_T_BIAS, 1, s1);
    nn_params_alloc(&q);
    CHECK(safetensors_load(ipath, &q, NULL, &err) == -LETHE_EINPUT);
    snprintf(want, sizeof(want), "'%s': tensor 'a.bias': dtype I64 cannot be read as float (F32, "
             "F16 or BF16 expected)", ipath);
    CHECK_STREQ(err.msg, want);
    nn_params_release(&q);
    free(ipath);
    nn_params_release(&p);
    free(path);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_atomic_write(void)
{
    struct lethe_error err = {0};
    char sub[300], want[700];
    snprintf(sub, sizeof(sub), "%s/atomic", tmpdir);
    CHECK_EQ_INT(dir_make(sub, &err), 0);
    char *path = path_join(sub, "m.safetensors");
    struct nn_params p = {0}, q = {0};
    make_params(&p, 11);
    make_params(&q, 12);
    CHECK_EQ_INT(safetensors_save(path, &p, NULL, &err), 0);
    char *before, *after;
    size_t nb, na;
    CHECK_EQ_INT(file_read_all(path, &before, &nb, &err), 0);
    /* a write that fails half-way (header written, data not) leaves the old file and no
     * temporary file */
    for (long at = 0; at < 400; at += 37) {
        safetensors_fail_writes_after(at);
        CHECK(safetensors_save(path, &q, NULL, &err) == -LETHE_EIO);
        safetensors_fail_writes_after(-1);
        snprintf(want, sizeof(want), "cannot write '%s': no space left on the device", path);
        CHECK_STREQ(err.msg, want);
        CHECK_EQ_INT(file_read_all(path, &after, &na, &err), 0);
        CHECK(na == nb && memcmp(before, after, nb) == 0);
        free(after);
        CHECK_EQ_INT(count_files(sub), 1);
    }
    CHECK_EQ_INT(safetensors_save(path, &q, NULL, &err), 0);
    CHECK_EQ_INT(safetensors_load(path, &p, NULL, &err), 0);
    CHECK(same_data(&p, &q));
    /* a folder that does not exist */
    char *bad = path_join(sub, "no/such/m.safetensors");
    CHECK(safetensors_save(bad, &p, NULL, &err) == -LETHE_EIO);
    snprintf(want, sizeof(want), "cannot write '%s': no such file", bad);
    CHECK_STREQ(err.msg, want);
    CHECK_EQ_INT(count_files(sub), 1);
    free(bad);
    /* metadata that would not be valid JSON text */
    struct safetensors_meta meta = {0};
    safetensors_meta_set(&meta, "k", "\xff");
    CHECK(safetensors_save(path, &p, &meta, &err) == -LETHE_EINPUT);
    snprintf(want, sizeof(want), "cannot write '%s': metadata 'k' is not valid UTF-8", path);
    CHECK_STREQ(err.msg, want);
    safetensors_meta_release(&meta);
    free(before);
    free(path);
    nn_params_release(&p);
    nn_params_release(&q);
}


/* ---- GPT-2 checkpoints -------------------------------------------------------------------- */

static const struct gpt_config tiny = {.n_layer = 2, .n_head = 2, .n_embd = 8, .n_ctx = 16,
                                       .vocab = 32, .ln_eps = 1e-5f};

static int same_table(const struct nn_params *a, const struct nn_params *b)
{
    if (a->n_tensors != b->n_tensors)
        return 0;
    for (int k = 0; k < a->n_tensors; k++) {
        const struct nn_tensor *t = nn_params_find(b, a->tensors[k].name);
        if (!t || t->numel != a->tensors[k].numel ||
            memcmp(nn_tensor_data(a, &a->tensors[k]), nn_tensor_data(b, t),
                   t->numel * sizeof(float)) != 0)
            return 0;
    }
    return 1;
}

static void test_gpt_round_trip(void)
{
    struct gpt_config cfg = {.n_layer = 3, .n_head = 2, .n_embd = 16, .n_ctx = 12, .vocab = 40,
                             .ln_eps = 1e-5f};
    struct gpt *m = gpt_new(&cfg, 42);
    struct safetensors_meta meta = {0};
    safetensors_meta_set(&meta, "lethe.tokenizer_sha256", "9f86d081884c7d65");
    safetensors_meta_set(&meta, "lethe.n_layer", "99");         /* replaced by the model's */
    safetensors_meta_set(&meta, "recipe", "lr=1e-3 epochs=5");
    char *path = tmp_path("gpt.safetensors");
    struct lethe_error err = {0};
    CHECK_EQ_INT(safetensors_save_gpt(path, m, &meta, &err), 0);
    struct gpt *m2 = NULL;
    struct safetensors_meta got = {0};
    CHECK_EQ_INT(safetensors_load_gpt(path, &m2, &got, &err), 0);
    if (!m2) {
        printf("# %s\n", err.msg);
        goto out;
    }
    const struct gpt_config *c2 = gpt_cfg(m2);
    CHECK(c2->n_layer == 3 && c2->n_head == 2 && c2->n_embd == 16 && c2->n_ctx == 12 &&
          c2->vocab == 40 && c2->ln_eps == 1e-5f);
    CHECK(same_table(gpt_params(m), gpt_params(m2)));
    CHECK_STREQ(safetensors_meta_get(&got, "format"), "pt");
    CHECK_STREQ(safetensors_meta_get(&got, "lethe.model"), "gpt2");
    CHECK_STREQ(safetensors_meta_get(&got, "lethe.n_layer"), "3");
    CHECK_STREQ(safetensors_meta_get(&got, "lethe.n_ctx"), "12");
    CHECK_STREQ(safetensors_meta_get(&got, "lethe.vocab"), "40");
    CHECK_STREQ(safetensors_meta_get(&got, "lethe.ln_eps"), "1e-05");
    CHECK_STREQ(safetensors_meta_get(&got, "lethe.tokenizer_sha256"), "9f86d081884c7d65");
    CHECK_STREQ(safetensors_meta_get(&got, "recipe"), "lr=1e-3 epochs=5");
    CHECK_STREQ(got.keys[0], "format");
    /* Hugging Face names without the prefix, F32, no lm_head */
    struct safetensors *st;
    CHECK_EQ_INT(safetensors_open(path, &st, &err), 0);
    CHECK_EQ_INT(safetensors_count(st), 2 + 12 * 3 + 2);
    CHECK(safetensors_index(st, "h.2.attn.c_attn.weight") >= 0);
    CHECK(safetensors_index(st, "lm_head.weight") < 0);
    const struct st_tensor_info *t = safetensors_info(st, safetensors_index(st, "h.0.mlp.c_fc.weight"));
    CHECK(t->dtype == ST_F32 && t->ndim == 2 && t->shape[0] == 16 && t->shape[1] == 64);
    safetensors_close(st);
    struct gpt_config c3;
    CHECK_EQ_INT(safetensors_gpt_config(path, &c3, &err), 0);
    CHECK(c3.n_layer == 3 && c3.vocab == 40);
    /* a model with an odd eps keeps it exactly */
    cfg.ln_eps = 1.234567e-6f;
    gpt_free(m2);
    m2 = NULL;
    gpt_free(m);
    m = gpt_new(&cfg, 1);
    CHECK_EQ_INT(safetensors_save_gpt(path, m, NULL, &err), 0);
    CHECK_EQ_INT(safetensors_load_gpt(path, &m2, NULL, &err), 0);
    CHECK(m2 && gpt_cfg(m2)->ln_eps == 1.234567e-6f);
out:
    gpt_free(m);
    gpt_free(m2);
    safetensors_meta_release(&meta);
    safetensors_meta_release(&got);
    free(path);
}

static void check_hf_gpt(const char *dir)
{
    char *mpath = path_join(dir, "model.safetensors"), *epath = path_join(dir, "expected.safetensors");
    struct lethe_error err = {0};
    struct gpt *m = NULL;
    CHECK_EQ_INT(safetensors_load_gpt(mpath, &m, NULL, &err), 0);
    if (!m) {
        printf("# %s\n", err.msg);
    } else {
        const struct gpt_config *c = gpt_cfg(m);
        CHECK(c->n_layer == 2 && c->n_head == 2 && c->n_embd == 8 && c->n_ctx == 16 &&
              c->vocab == 32 && c->ln_eps == 1e-5f);
        struct nn_params e = {0};
        gpt_params_layout(&e, &tiny);
        nn_params_alloc(&e);
        CHECK_EQ_INT(safetensors_load(epath, &e, NULL, &err), 0);
        CHECK(same_table(&e, gpt_params(m)));
        nn_params_release(&e);
    }
    gpt_free(m);
    free(mpath);
    free(epath);
}

/* tests/golden/gpt_golden.py (the GPT core's PyTorch golden) writes the same weights twice: as
 * safetensors by its own hand-written writer, and as raw float32 in layout order. */
static void test_gpt_golden_file(void)
{
    struct gpt_config gc = {.n_layer = 2, .n_head = 2, .n_embd = 16, .n_ctx = 32, .vocab = 64,
                            .ln_eps = 1e-5f};
    struct nn_params p = {0};
    gpt_params_layout(&p, &gc);
    nn_params_alloc(&p);
    struct lethe_error err = {0};
    CHECK_EQ_INT(safetensors_load("tests/golden/gpt_golden.safetensors", &p, NULL, &err), 0);
    char *raw;
    size_t len, at = 0;
    CHECK_EQ_INT(file_read_all("tests/golden/gpt_golden.bin", &raw, &len, &err), 0);
    int bad = 0;
    for (int k = 0; k < p.n_tensors; k++) {
        size_t nb = p.tensors[k].numel * sizeof(float);
        bad += at + nb > len || memcmp(raw + at, nn_tensor_data(&p, &p.tensors[k]), nb) != 0;
        at += nb;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(at, len);
    free(raw);
    nn_params_release(&p);
}

static void test_gpt_hf_files(void)
{
    check_hf_gpt("tests/golden/ckpt_hf_f16");      /* prefix, tied lm_head, buffers */
    check_hf_gpt("tests/golden/ckpt_hf_bf16");     /* none of them */
}

/* A bare Hugging Face-style file of tiny's tensors: names with prefix, lm_head (a copy of wte,
 * or changed), one tensor dropped or renamed, an extra name. */
struct variant {
    const char *prefix;
    int lm_head;            /* 0 none, 1 tied copy, 2 different */
    const char *drop;       /* a name to leave out */
    const char *unprefixed; /* a name written without the prefix */
    const char *extra;      /* an extra (1-element) tensor */
};

static char *write_variant(const char *folder, const struct variant *v)
{
    struct lethe_error err = {0};
    char *dir = path_join(tmpdir, folder);
    LETHE_ASSERT(dir_make(dir, &err) == 0);
    struct gpt *m = gpt_new(&tiny, 5);
    const struct nn_params *src = gpt_params(m);
    struct nn_params p = {0};
    char name[NN_NAME_MAX];
    for (int k = 0; k < src->n_tensors; k++) {
        const struct nn_tensor *t = &src->tensors[k];
        if (v->drop && strcmp(t->name, v->drop) == 0)
            continue;
        int bare = v->unprefixed && strcmp(t->name, v->unprefixed) == 0;
        snprintf(name, sizeof(name), "%s%s", bare ? "" : v->prefix, t->name);
        nn_params_add(&p, name, t->kind, t->ndim, t->shape);
    }
    int one[1] = {1}, head[2] = {tiny.vocab, tiny.n_embd};
    if (v->extra)
        nn_params_add(&p, v->extra, NN_T_BIAS, 1, one);
    if (v->lm_head)
        nn_params_add(&p, "lm_head.weight", NN_T_LINEAR, 2, head);
    nn_params_alloc(&p);
    for (int k = 0; k < src->n_tensors; k++) {
        const struct nn_tensor *t = &src->tensors[k];
        int bare = v->unprefixed && strcmp(t->name, v->unprefixed) == 0;
        snprintf(name, sizeof(name), "%s%s", bare ? "" : v->prefix, t->name);
        const struct nn_tensor *d = nn_params_find(&p, name);
        if (d)
            memcpy(nn_tensor_data(&p, d), nn_tensor_data(src, t), t->numel * sizeof(float));
    }
    if (v->lm_head) {
        float *h = nn_tensor_data(&p, nn_params_find(&p, "lm_head.weight"));
        memcpy(h, nn_tensor_data(src, nn_params_find(src, "wte.weight")),
               (size_t)tiny.vocab * tiny.n_embd * sizeof(float));
        if (v->lm_head == 2)
            h[17] += 1e-3f;
    }
    struct safetensors_meta meta = {0};
    safetensors_meta_set(&meta, "format", "pt");
    char *path = path_join(dir, "model.safetensors");
    LETHE_ASSERT(safetensors_save(path, &p, &meta, &err) == 0);
    char *conf = path_join(dir, "config.json");
    LETHE_ASSERT(gpt_write_hf_config(conf, &tiny, &err) == 0);
    free(conf);
    safetensors_meta_release(&meta);
    nn_params_release(&p);
    gpt_free(m);
    free(dir);
    return path;
}

/* Loads path as a GPT and returns the error message, "" on success. */
static const char *gpt_msg(const char *path)
{
    static struct lethe_error err;
    memset(&err, 0, sizeof(err));
    struct gpt *m = NULL;
    int rc = safetensors_load_gpt(path, &m, NULL, &err);
    if (rc == 0) {
        LETHE_ASSERT(m);
        gpt_free(m);
        return "";
    }
    LETHE_ASSERT(!m);
    if (rc != -LETHE_EINPUT)
        printf("# unexpected code %d\n", rc);
    return err.msg;
}

/* want: the message after "'<path>': ", or "" when the file must load */
static void check_variant(const char *folder, struct variant v, const char *want_tail)
{
    char *path = write_variant(folder, &v), want[800];
    if (*want_tail)
        snprintf(want, sizeof(want), "'%s': %s", path, want_tail);
    else
        want[0] = '\0';
    CHECK_STREQ(gpt_msg(path), want);
    free(path);
}

static void test_gpt_hf_variants(void)
{
    check_variant("v1", (struct variant){"", 0, NULL, NULL, NULL}, "");
    check_variant("v2", (struct variant){"transformer.", 1, NULL, NULL, NULL}, "");
    check_variant("v3", (struct variant){"", 1, NULL, NULL, "h.1.attn.bias"}, "");
    check_variant("v4", (struct variant){"transformer.", 0, NULL, NULL,
                                         "transformer.h.0.attn.masked_bias"}, "");
    check_variant("v5", (struct variant){"", 2, NULL, NULL, NULL},
                  "tensor 'lm_head.weight' differs from 'wte.weight'; Lethe's GPT-2 ties "
                  "the output head to the token embedding");
    check_variant("v6", (struct variant){"transformer.", 2, NULL, NULL, NULL},
                  "tensor 'lm_head.weight' differs from 'transformer.wte.weight'; Lethe's "
                  "GPT-2 ties the output head to the token embedding");
    check_variant("v7", (struct variant){"transformer.", 0, NULL, "h.1.ln_2.bias", NULL},
                  "some tensor names have the 'transformer.' prefix and some do not");
    check_variant("v8", (struct variant){"", 0, "ln_f.bias", NULL, NULL},
                  "missing tensor 'ln_f.bias'");
    check_variant("v9", (struct variant){"transformer.", 0, "h.1.mlp.c_fc.weight", NULL, NULL},
                  "missing tensor 'transformer.h.1.mlp.c_fc.weight'");
    check_variant("v10", (struct variant){"", 0, NULL, NULL, "h.0.attn.extra"},
                  "unknown tensor 'h.0.attn.extra'");
    check_variant("v11", (struct variant){"", 0, NULL, NULL, "attn.bias"},
                  "unknown tensor 'attn.bias'");
    check_variant("v12", (struct variant){"", 0, NULL, NULL, "h.2.attn.bias"}, "");
    check_variant("v13", (struct variant){"model.", 0, NULL, NULL, NULL},
                  "unknown tensor 'model.wte.weight'");
}

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

static void test_gpt_config_json(void)
{
    struct variant v = {"transformer.", 1, NULL, NULL, NULL};
    char *path = write_variant("cfg", &v), want[900];
    char *dir = path_dirname(path), *conf = path_join(dir, "config.json");
    /* what gpt_write_hf_config wrote reads back, as JSON with Hugging Face's keys */
    char *text;
    struct lethe_error err = {0};
    CHECK_EQ_INT(file_read_all(conf, &text, NULL, &err), 0);
    struct nn_json *j = NULL;
    CHECK_EQ_INT(nn_json_parse(text, strlen(text), &j, &err), 0);
    free(text);
    CHECK(j && nn_json_get(j, "n_positions")->inum == 16 && nn_json_get(j, "vocab_size")->inum == 32);
    CHECK(j && nn_json_get(j, "layer_norm_epsilon")->num == 1e-5);
    CHECK_STREQ(nn_json_get(j, "activation_function")->str, "gelu_new");
    CHECK_STREQ(nn_json_get(j, "model_type")->str, "gpt2");
    CHECK(nn_json_get(j, "tie_word_embeddings")->boolean == 1);
    nn_json_free(j);
    struct gpt_config c;
    CHECK_EQ_INT(safetensors_gpt_config(path, &c, &err), 0);
    CHECK(c.n_layer == 2 && c.n_head == 2 && c.n_embd == 8 && c.n_ctx == 16 && c.vocab == 32 &&
          c.ln_eps == 1e-5f);

    const char *base = "\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 16, "
                       "\"vocab_size\": 32, \"layer_norm_epsilon\": 1e-05";
    struct {
        const char *json, *msg;     /* json: '@' stands for base; msg: after "'<config>': " */
    } cases[] = {
        {"{@}", ""},
        {"{@, \"n_inner\": null, \"model_type\": \"gpt2\", \"activation_function\": "
         "\"gelu_pytorch_tanh\"}", ""},
        {"{@, \"n_inner\": 32}", ""},
        {"{@, \"n_inner\": 16}", "'n_inner' must be null or 4 * n_embd (32)"},
        {"{@, \"model_type\": \"llama\"}", "'model_type' is not 'gpt2'"},
        {"{@, \"activation_function\": \"relu\"}",
         "'activation_function' is not 'gelu_new' (the tanh GELU of GPT-2)"},
        {"{\"n_layer\": 2, \"n_embd\": 8, \"n_positions\": 16, \"vocab_size\": 32, "
         "\"layer_norm_epsilon\": 1e-05}", "missing key 'n_head'"},
        {"{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 16, \"vocab_size\": 32}",
         "missing key 'layer_norm_epsilon'"},
        {"{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 8, \"n_ctx\": 16, \"vocab_size\": 32, "
         "\"layer_norm_epsilon\": 1e-05}", "missing key 'n_positions'"},
        {"{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": \"16\", \"vocab_size\": "
         "32, \"layer_norm_epsilon\": 1e-05}", "'n_positions' is not a positive integer"},
        {"{\"n_layer\": 2.5, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 16, \"vocab_size\": "
         "32, \"layer_norm_epsilon\": 1e-05}", "'n_layer' is not a positive integer"},
        {"{\"n_layer\": 0, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 16, \"vocab_size\": "
         "32, \"layer_norm_epsilon\": 1e-05}", "'n_layer' is not a positive integer"},
        {"{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 16, \"vocab_size\": "
         "32, \"layer_norm_epsilon\": -1}", "'layer_norm_epsilon' is not a positive number"},
        {"{@,}", "line 1, column 107: expected a string key"},
        {"[1]", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct strbuf js = STRBUF_INIT;
        for (const char *q = cases[i].json; *q; q++)
            if (*q == '@')
                strbuf_adds(&js, base);
            else
                strbuf_add(&js, q, 1);
        write_text(conf, js.buf);
        strbuf_release(&js);
        if (*cases[i].msg)
            snprintf(want, sizeof(want), "'%s': %s", conf, cases[i].msg);
        else
            want[0] = '\0';
        CHECK_STREQ(gpt_msg(path), want);
    }
    char json[600];
    /* an architecture that does not match the tensors: the shape error names both */
    snprintf(json, sizeof(json), "{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 16, \"n_positions\": "
             "16, \"vocab_size\": 32, \"layer_norm_epsilon\": 1e-05}");
    write_text(conf, json);
    snprintf(want, sizeof(want), "'%s': tensor 'transformer.wte.weight': shape [32, 8], expected "
             "[32, 16]", path);
    CHECK_STREQ(gpt_msg(path), want);
    snprintf(json, sizeof(json), "{\"n_layer\": 3, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": "
             "16, \"vocab_size\": 32, \"layer_norm_epsilon\": 1e-05}");
    write_text(conf, json);
    snprintf(want, sizeof(want), "'%s': missing tensor 'transformer.h.2.ln_1.weight'", path);
    CHECK_STREQ(gpt_msg(path), want);
    snprintf(json, sizeof(json), "{\"n_layer\": 2, \"n_head\": 3, \"n_embd\": 8, \"n_positions\": "
             "16, \"vocab_size\": 32, \"layer_norm_epsilon\": 1e-05}");
    write_text(conf, json);
    snprintf(want, sizeof(want), "'%s': n_embd must be a multiple of n_head", path);
    CHECK_STREQ(gpt_msg(path), want);
    /* no config.json at all */
    unlink(conf);
    snprintf(want, sizeof(want), "'%s': no Lethe metadata ('lethe.model') and no '%s' beside it "
             "for the architecture", path, conf);
    CHECK_STREQ(gpt_msg(path), want);
    free(conf);
    free(dir);
    free(path);
}

/* Lethe's metadata, broken one key at a time. */
static void test_gpt_bad_metadata(void)
{
    struct gpt *m = gpt_new(&tiny, 9);
    char *path = tmp_path("meta.safetensors"), *good = tmp_path("good.safetensors"), want[700];
    struct lethe_error err = {0};
    CHECK_EQ_INT(safetensors_save_gpt(good, m, NULL, &err), 0);
    struct safetensors *st;
    CHECK_EQ_INT(safetensors_open(good, &st, &err), 0);
    struct {
        const char *key, *value, *msg;
    } cases[] = {
        {"lethe.n_layer", "x", "metadata 'lethe.n_layer' is 'x', expected a positive integer"},
        {"lethe.n_head", "0", "metadata 'lethe.n_head' is '0', expected a positive integer"},
        {"lethe.n_embd", "8 ", "metadata 'lethe.n_embd' is '8 ', expected a positive integer"},
        {"lethe.vocab", "99999999999", "metadata 'lethe.vocab' is '99999999999', expected a "
                                       "positive integer"},
        {"lethe.n_ctx", NULL, "metadata 'lethe.n_ctx' is missing"},
        {"lethe.ln_eps", "-1e-5", "metadata 'lethe.ln_eps' is '-1e-5', expected a positive "
                                  "number"},
        {"lethe.ln_eps", NULL, "metadata 'lethe.ln_eps' is missing"},
        {"lethe.model", "mlp", "metadata 'lethe.model' is 'mlp', not a GPT-2 ('gpt2')"},
        {"lethe.n_ctx", "8", "tensor 'wpe.weight': shape [16, 8], expected [8, 8]"},
        {"lethe.n_head", "3", "n_embd must be a multiple of n_head"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct safetensors_meta *src = safetensors_metadata(st);
        struct safetensors_meta meta = {0};
        for (int k = 0; k < src->n; k++)
            if (strcmp(src->keys[k], cases[i].key) != 0 || cases[i].value)
                safetensors_meta_set(&meta, src->keys[k],
                                     strcmp(src->keys[k], cases[i].key) ? src->values[k]
                                                                         : cases[i].value);
        CHECK_EQ_INT(safetensors_save(path, gpt_params(m), &meta, &err), 0);
        snprintf(want, sizeof(want), "'%s': %s", path, cases[i].msg);
        CHECK_STREQ(gpt_msg(path), want);
        safetensors_meta_release(&meta);
    }
    safetensors_close(st);
    CHECK_STREQ(gpt_msg(good), "");
    /* a bad file is refused by the GPT loader with the same message as by safetensors_open */
    char *cut = tmp_path("cut.safetensors"), *text;
    size_t len;
    CHECK_EQ_INT(file_read_all(good, &text, &len, &err), 0);
    write_bytes(cut, text, len - 3);
    char first[1024];
    snprintf(first, sizeof(first), "%s", open_msg(cut));
    CHECK(*first);
    CHECK_STREQ(gpt_msg(cut), first);
    free(text);
    free(cut);
    free(path);
    free(good);
    gpt_free(m);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/lethe-test-st-XXXXXX");
    LETHE_ASSERT(mkdtemp(tmpdir));
    RUN(test_f16_all);
    RUN(test_bf16_all);
    RUN(test_round_trip);
    RUN(test_golden_files);
    RUN(test_bad_headers);
    RUN(test_bad_lengths);
    RUN(test_truncated);
    RUN(test_load_mismatch);
    RUN(test_atomic_write);
    RUN(test_gpt_round_trip);
    RUN(test_gpt_golden_file);
    RUN(test_gpt_hf_files);
    RUN(test_gpt_hf_variants);
    RUN(test_gpt_config_json);
    RUN(test_gpt_bad_metadata);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# cannot remove %s\n", tmpdir);
    return test_done();
}
