/* Tests of out-of-tree methods: the example plug-in (tests/plugins/example_method.c, built into
 * $(BUILD)/plugins beside the tests folder) loads and unlearns a tiny GPT; bad objects are
 * refused with their exact messages. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "methods/method.h"
#include "nn/nn.h"
#include "tests/test.h"

static char plugin_dir[PATH_MAX + 16];

/* $(BUILD)/plugins, found from this program's own path ($(BUILD)/tests/test_plugin). */
static void find_plugins(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    LETHE_ASSERT(n > 0);
    self[n] = 0;
    char *slash = strrchr(self, '/');
    LETHE_ASSERT(slash);
    *slash = 0;
    snprintf(plugin_dir, sizeof(plugin_dir), "%s/../plugins", self);
}

static char *plugin_path(const char *name)
{
    static char buf[PATH_MAX + 64];
    snprintf(buf, sizeof(buf), "%s/%s", plugin_dir, name);
    return buf;
}

/* Mean answer NLL of the forget items under m. */
static double forget_nll(struct gpt *m, const struct lm_set *f)
{
    double sum = 0;
    long k = 0;
    for (size_t i = 0; i < f->n; i++) {
        const struct lm_example *e = &f->ex[i];
        int tg[16];
        float lp[16];
        for (int t = 0; t < e->len; t++)
            tg[t] = t + 1 < e->len && t + 1 >= e->prompt_len ? e->ids[t + 1] : -1;
        gpt_forward(m, e->ids, &e->len, 1, e->len);
        sum -= gpt_logprobs(m, tg, lp);
        for (int t = 0; t < e->len; t++)
            k += tg[t] >= 0;
    }
    return sum / (double)k;
}

static long steps_seen;
static void on_step(void *ctx, long step, long total, double loss)
{
    (void)ctx;
    (void)total;
    (void)loss;
    steps_seen = step + 1;
}

static void test_example_plugin(void)
{
    struct lethe_error err = {0};
    const char *path = plugin_path("example_method.so");
    const struct method *m = method_plugin_load(path, &err);
    if (!m)
        printf("# %s\n", err.msg);
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK_STREQ(m->name, "plugin_ga");
    CHECK_EQ_INT(m->abi, METHOD_ABI);
    CHECK(m->unlearn_lm != NULL);
    for (size_t i = 0; i < method_table_count; i++)     /* not a built-in ... */
        CHECK(strcmp(method_table[i].name, "plugin_ga") != 0);
    CHECK(method_lookup("plugin_ga") == m);             /* ... but registered by the load */
    CHECK(m->params && strcmp(m->params[0].name, "steps") == 0);
    /* loading it again gives the same descriptor */
    CHECK(method_plugin_load(path, &err) == m);

    const struct gpt_config cfg = {.n_layer = 1, .n_head = 2, .n_embd = 16, .n_ctx = 16,
                                   .vocab = 32, .ln_eps = 1e-5f};
    struct gpt *g = gpt_new(&cfg, 3);
    int ids[4][6] = {{0, 1, 5, 9, 12, 0}, {0, 1, 6, 10, 13, 0}, {0, 1, 7, 11, 14, 0},
                     {0, 1, 8, 20, 21, 0}};
    struct lm_example ex[4];
    for (int i = 0; i < 4; i++)
        ex[i] = (struct lm_example){ids[i], 6, 3};
    struct lm_set forget = {ex, 4};
    double before = forget_nll(g, &forget);
    const struct method_arg args[] = {{"steps", 10, NULL}, {"lr", 0.5, NULL}};
    struct method_ctx c = {.model = g, .forget = &forget, .args = args, .n_args = 2,
                           .base_lr = 1e-3, .seed = 1, .on_step = on_step};
    CHECK_EQ_INT(m->unlearn_lm(&c, &err), 0);
    double after = forget_nll(g, &forget);
    printf("# plugin_ga: forget nll %.4f -> %.4f\n", before, after);
    CHECK(after > before + 0.1);
    CHECK_EQ_INT(steps_seen, 10);
    struct lm_set empty = {NULL, 0};
    c.forget = &empty;
    CHECK(m->unlearn_lm(&c, &err) < 0);
    CHECK_STREQ(err.msg, "method 'plugin_ga': the forget set is empty");
    gpt_free(g);
}

static void test_bad_plugins(void)
{
    struct lethe_error err = {0};
    char want[PATH_MAX + 256];
    const char *p = plugin_path("bad_abi.so");
    CHECK(method_plugin_load(p, &err) == NULL);
    snprintf(want, sizeof(want), "plug-in '%s': built for ABI 1, this lethe reads ABI 2", p);
    CHECK_STREQ(err.msg, want);
    CHECK_EQ_INT(err.code, LETHE_EINPUT);

    p = plugin_path("no_symbol.so");
    CHECK(method_plugin_load(p, &err) == NULL);
    snprintf(want, sizeof(want),
             "plug-in '%s': not a Lethe plug-in (no symbol 'lethe_method_plugin')", p);
    CHECK_STREQ(err.msg, want);

    p = plugin_path("incomplete.so");
    CHECK(method_plugin_load(p, &err) == NULL);
    snprintf(want, sizeof(want), "plug-in '%s': descriptor incomplete: no unlearn_lm", p);
    CHECK_STREQ(err.msg, want);

    p = plugin_path("nothing_here.so");
    CHECK(method_plugin_load(p, &err) == NULL);
    snprintf(want, sizeof(want), "plug-in '%s': no such file", p);
    CHECK_STREQ(err.msg, want);

    /* a text file and a folder are not shared objects */
    char tmp[] = "/tmp/lethe-plugin-XXXXXX";
    int fd = mkstemp(tmp);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello, not ELF\n", 15) == 15);
    close(fd);
    CHECK(method_plugin_load(tmp, &err) == NULL);
    snprintf(want, sizeof(want), "plug-in '%s': not a shared object", tmp);
    CHECK_STREQ(err.msg, want);
    unlink(tmp);
    CHECK(method_plugin_load(plugin_dir, &err) == NULL);
    CHECK_CONTAINS(err.msg, "not a shared object (not a regular file)");
}

int main(void)
{
    find_plugins();
    RUN(test_example_plugin);
    RUN(test_bad_plugins);
    return test_done();
}
