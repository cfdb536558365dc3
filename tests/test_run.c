/* The run pipeline's pieces: cache keys (every input changes the key; the key is the sha256 of its
 * text), tokenized-data hashes with a keep mask, the recipe reader, and the checks on a cached
 * checkpoint (missing, another key, another architecture, a flipped byte, truncated). */
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness/run_impl.h"
#include "tests/test.h"

static void test_model_key(void)
{
    struct model_key_in a = {"tofu", "original", "{\"arch\":\"gpt\"}", "{\"epochs\":3}", 0,
                             "tok", "data"};
    char k0[65], k[65], want[65];
    cache_model_key(&a, k0);
    char *text = cache_model_key_text(&a);
    sha256_hex(text, strlen(text), want);
    CHECK_STREQ(k0, want);
    CHECK_CONTAINS(text, "seed 0\n");
    free(text);
    cache_model_key(&a, k);
    CHECK_STREQ(k, k0);                         /* stable */
    struct model_key_in b;
    const char **fields[] = {&b.kind, &b.role, &b.arch_json, &b.train_json, &b.tokenizer_hash,
                             &b.data_hash};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        b = a;
        *fields[i] = "other";
        cache_model_key(&b, k);
        CHECK(strcmp(k, k0) != 0);
    }
    b = a;
    b.seed = 1;
    cache_model_key(&b, k);
    CHECK(strcmp(k, k0) != 0);
}

static void test_data_hash(void)
{
    int ids[4][3] = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {1, 2, 3}};
    struct lm_example ex[4], sub[2];
    for (int i = 0; i < 4; i++)
        ex[i] = (struct lm_example){ids[i], 3, 1};
    sub[0] = ex[0];
    sub[1] = ex[2];
    struct lm_set all = {ex, 4}, part = {sub, 2};
    unsigned char keep[4] = {1, 0, 1, 0};
    char h1[65], h2[65], h3[65];
    run_lm_data_hash(&all, keep, h1);
    run_lm_data_hash(&part, NULL, h2);
    CHECK_STREQ(h1, h2);                        /* the mask = the subset */
    run_lm_data_hash(&all, NULL, h3);
    CHECK(strcmp(h1, h3) != 0);
    ex[2].prompt_len = 2;                       /* the layout counts too */
    run_lm_data_hash(&all, keep, h3);
    CHECK(strcmp(h1, h3) != 0);
}

static void test_recipe(void)
{
    json_error_t je;
    json_t *o = json_loads("{\"epochs\": 4, \"lr\": 0.001, \"batch\": 8, \"grad_accum\": 2, "
                           "\"warmup\": 1.0, \"schedule\": \"cosine\", \"weight_decay\": 0.01, "
                           "\"clip\": 1.0, \"optimizer\": \"adamw\", \"momentum\": 0.9, \"beta1\": 0.9, "
                           "\"beta2\": 0.999, \"eps\": 1e-8}", 0, &je);
    struct train_recipe r;
    struct lethe_error err = {0};
    CHECK_EQ_INT(train_recipe_from_json(o, &r, &err), 0);
    CHECK_EQ_INT(r.epochs, 4);
    CHECK_EQ_INT(r.batch, 8);
    CHECK_EQ_INT(r.grad_accum, 2);
    CHECK_EQ_INT(r.schedule, LR_COSINE);
    CHECK_NEAR(r.lr, 0.001, 0);
    json_object_set_new(o, "schedule", json_string("wobbly"));
    CHECK(train_recipe_from_json(o, &r, &err) < 0);
    CHECK_CONTAINS(err.msg, "wobbly");
    json_object_del(o, "lr");
    CHECK(train_recipe_from_json(o, &r, &err) < 0);
    CHECK_CONTAINS(err.msg, "'lr'");
    json_decref(o);
}

static void test_cached_checkpoint(void)
{
    char dir[] = "/tmp/lethe-test-run.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *path = path_join(dir, "m.safetensors");
    struct gpt_config cfg = {1, 2, 16, 16, 40, 1e-5f};
    struct gpt *m = gpt_new(&cfg, 5), *got = NULL;
    struct lethe_error err = {0};
    struct safetensors_meta meta = {0};
    char hex[65];
    cache_params_hash(gpt_params(m), hex);
    safetensors_meta_set(&meta, "lethe.model_key", "K");
    safetensors_meta_set(&meta, "lethe.params_sha256", hex);
    safetensors_meta_set(&meta, "lethe.train_s", "1.5");
    double ts = 0;
    char *why = NULL;
    CHECK_EQ_INT(cache_load_model(path, "K", &cfg, &got, &ts, &why), 0);   /* missing */
    CHECK(why == NULL && got == NULL);
    CHECK_EQ_INT(safetensors_save_gpt(path, m, &meta, &err), 0);
    CHECK_EQ_INT(cache_load_model(path, "K", &cfg, &got, &ts, &why), 1);
    CHECK_NEAR(ts, 1.5, 0);
    if (got) {
        char h2[65];
        cache_params_hash(gpt_params(got), h2);
        CHECK_STREQ(h2, hex);
        gpt_free(got);
    }
    CHECK_EQ_INT(cache_load_model(path, "L", &cfg, &got, &ts, &why), 0);   /* another key */
    CHECK_CONTAINS(why, "another model");
    free(why);
    struct gpt_config wide = cfg;
    wide.n_ctx = 32;
    CHECK_EQ_INT(cache_load_model(path, "K", &wide, &got, &ts, &why), 0);
    CHECK_CONTAINS(why, "architecture");
    free(why);
    /* one flipped byte in the last tensor: a well-formed file whose checksum fails */
    char *text;
    size_t len;
    CHECK_EQ_INT(file_read_all(path, &text, &len, &err), 0);
    text[len - 3] ^= 0x40;
    CHECK_EQ_INT(file_write_atomic(path, text, len, &err), 0);
    CHECK_EQ_INT(cache_load_model(path, "K", &cfg, &got, &ts, &why), 0);
    CHECK_CONTAINS(why, "checksum");
    free(why);
    CHECK_EQ_INT(file_write_atomic(path, text, len / 2, &err), 0);           /* truncated */
    CHECK_EQ_INT(cache_load_model(path, "K", &cfg, &got, &ts, &why), 0);
    CHECK(why != NULL && got == NULL);
    free(why);
    free(text);
    unlink(path);
    rmdir(dir);
    free(path);
    safetensors_meta_release(&meta);
    gpt_free(m);
}

int main(void)
{
    RUN(test_model_key);
    RUN(test_data_hash);
    RUN(test_recipe);
    RUN(test_cached_checkpoint);
    return test_done();
}
