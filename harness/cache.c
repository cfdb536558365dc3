/* The run cache: generated data, trained tokenizers and reference checkpoints, keyed by hashes
 * of what determines them, with file locks so that parallel workers never train one twice. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "harness/run_impl.h"

char *cache_root_for(const char *dir, const char *db_path)
{
    if (dir && *dir)
        return xstrdup(dir);
    const char *env = getenv("LETHE_CACHE_DIR");
    if (env && *env)
        return xstrdup(env);
    char *d = path_dirname(db_path);
    char *root = path_join(d, "cache");
    free(d);
    return root;
}

char *cache_path(const struct run_cache *c, const char *sub, const char *name)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s/%s/%s", c->root, sub, name);
    return strbuf_detach(&sb);
}

int cache_lock(const struct run_cache *c, const char *key, struct lethe_error *err)
{
    char *dir = cache_path(c, "locks", "");
    int rc = dir_make(dir, err);
    free(dir);
    if (rc < 0)
        return rc;
    char *path = cache_path(c, "locks", key);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = lethe_err(err, LETHE_EIO, "cannot open the lock '%s': %s", path, lethe_strerror(errno));
        free(path);
        return rc;
    }
    while (flock(fd, LOCK_EX) < 0) {
        if (errno == EINTR)
            continue;
        rc = lethe_err(err, LETHE_EIO, "cannot lock '%s': %s", path, lethe_strerror(errno));
        close(fd);
        free(path);
        return rc;
    }
    free(path);
    return fd;
}

void cache_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

char *cache_model_key_text(const struct model_key_in *in)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "lethe-model-format %d\nkind %s\nrole %s\narch %s\ntrain %s\nseed %ld\n"
                "tokenizer %s\ndata %s\n", RUN_MODEL_FORMAT, in->kind, in->role, in->arch_json,
                in->train_json, in->seed, in->tokenizer_hash, in->data_hash);
    return strbuf_detach(&sb);
}

void cache_model_key(const struct model_key_in *in, char hex[65])
{
    char *text = cache_model_key_text(in);
    sha256_hex(text, strlen(text), hex);
    free(text);
}

static const struct nn_params *sort_params;
static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp(sort_params->tensors[*(const int *)a].name,
                  sort_params->tensors[*(const int *)b].name);
}

void cache_params_hash(const struct nn_params *p, char hex[65])
{
    int *idx = xmalloc((size_t)(p->n_tensors ? p->n_tensors : 1) * sizeof(int));
    for (int i = 0; i < p->n_tensors; i++)
        idx[i] = i;
    sort_params = p;
    qsort(idx, (size_t)p->n_tensors, sizeof(int), cmp_tensor_name);
    struct sha256 h;
    sha256_init(&h);
    for (int i = 0; i < p->n_tensors; i++) {
        const struct nn_tensor *t = &p->tensors[idx[i]];
        sha256_update(&h, t->name, strlen(t->name) + 1);
        sha256_update(&h, p->data + t->offset, t->numel * sizeof(float));
    }
    unsigned char dig[32];
    sha256_final(&h, dig);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    free(idx);
}

int cache_load_model(const char *path, const char *key, const struct gpt_config *cfg,
                     struct gpt **out, double *train_s, char **why)
{
    *out = NULL;
    *why = NULL;
    if (!file_exists(path))
        return 0;
    struct lethe_error err = {0};
    struct safetensors_meta meta = {0};
    struct gpt *m = NULL;
    if (safetensors_load_gpt(path, &m, &meta, &err) < 0) {
        *why = xstrdup(err.msg);
        safetensors_meta_release(&meta);
        return 0;
    }
    const char *k = safetensors_meta_get(&meta, "lethe.model_key");
    const struct gpt_config *mc = gpt_cfg(m);
    if (!k || strcmp(k, key) != 0) {
        *why = xstrdup("its metadata names another model");
    } else if (mc->n_layer != cfg->n_layer || mc->n_head != cfg->n_head ||
               mc->n_embd != cfg->n_embd || mc->n_ctx != cfg->n_ctx || mc->vocab != cfg->vocab) {
        *why = xstrdup("its architecture differs from the suite's");
    } else {
        char hex[65];
        const char *want = safetensors_meta_get(&meta, "lethe.params_sha256");
        cache_params_hash(gpt_params(m), hex);
        if (!want || strcmp(want, hex) != 0)
            *why = xstrdup("its tensors do not match their checksum");
    }
    if (*why) {
        gpt_free(m);
        safetensors_meta_release(&meta);
        return 0;
    }
    const char *ts = safetensors_meta_get(&meta, "lethe.train_s");
    *train_s = ts ? strtod(ts, NULL) : 0.0;
    safetensors_meta_release(&meta);
    *out = m;
    return 1;
}
