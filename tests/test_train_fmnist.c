/* Training sanity: an MLP (784-256-128-10) trained with AdamW on Fashion-MNIST reaches at least
 * 0.85 test accuracy in three epochs; reads the gzipped IDX files of the Debian package
 * dataset-fashion-mnist (scripts/deps.sh installs it). LETHE_TEST_SCALE=f (0 < f < 1) trains on
 * that fraction of the data for slow builds and then checks a lower bar (0.75). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nn/nn.h"
#include "tests/test.h"

#ifndef FMNIST_DIR
#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#endif

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads an IDX file of unsigned bytes: magic 0x0000080N with N dimensions, each a big-endian
 * uint32. Returns the data (malloc'ed) and the count of items (first dimension), or NULL with a
 * message in msg. want_dims: 3 for images (n, 28, 28), 1 for labels. */
static unsigned char *idx_read(const char *path, int want_dims, size_t *count, char *msg,
                               size_t msg_size)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(msg, msg_size, "cannot open '%s' (install the Debian package "
                 "dataset-fashion-mnist, e.g. with scripts/deps.sh)", path);
        return NULL;
    }
    unsigned char head[16];
    int nh = 4 + 4 * want_dims;
    unsigned char *data = NULL;
    if (gzread(f, head, (unsigned)nh) != nh) {
        snprintf(msg, msg_size, "'%s': truncated header", path);
        goto out;
    }
    if (be32(head) != (0x800u | (unsigned)want_dims)) {
        snprintf(msg, msg_size, "'%s': bad magic 0x%08x", path, be32(head));
        goto out;
    }
    size_t n = be32(head + 4), item = 1;
    for (int d = 1; d < want_dims; d++)
        item *= be32(head + 4 + 4 * d);
    if (want_dims == 3 && (be32(head + 8) != 28 || be32(head + 12) != 28)) {
        snprintf(msg, msg_size, "'%s': images are not 28x28", path);
        goto out;
    }
    data = xmalloc(n * item);
    size_t got = 0;
    while (got < n * item) {
        int r = gzread(f, data + got, (unsigned)(n * item - got > (1u << 30) ? (1u << 30)
                                                                           : n * item - got));
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got != n * item) {
        snprintf(msg, msg_size, "'%s': truncated data (%zu of %zu bytes)", path, got, n * item);
        free(data);
        data = NULL;
        goto out;
    }
    *count = n;
out:
    gzclose(f);
    return data;
}

struct split {
    float *x;       /* (n, 784) in [0, 1] */
    int *y;         /* (n) */
    size_t n;
};

static int load_split(struct split *s, const char *images, const char *labels)
{
    char path[512], msg[1024];
    size_t ni = 0, nl = 0;
    snprintf(path, sizeof(path), "%s/%s", FMNIST_DIR, images);
    unsigned char *img = idx_read(path, 3, &ni, msg, sizeof(msg));
    if (!img) {
        printf("# fashion-mnist: %s\n", msg);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s", FMNIST_DIR, labels);
    unsigned char *lab = idx_read(path, 1, &nl, msg, sizeof(msg));
    if (!lab || nl != ni) {
        printf("# fashion-mnist: %s\n", lab ? "image and label counts differ" : msg);
        free(img);
        free(lab);
        return -1;
    }
    s->n = ni;
    s->x = xmalloc(ni * 784 * sizeof(float));
    s->y = xmalloc(ni * sizeof(int));
    for (size_t i = 0; i < ni * 784; i++)
        s->x[i] = img[i] / 255.0f;
    for (size_t i = 0; i < ni; i++)
        s->y[i] = lab[i];
    free(img);
    free(lab);
    return 0;
}

static double evaluate(struct clf *m, const struct split *s)
{
    enum { EB = 1000 };
    int pred[EB];
    size_t correct = 0;
    for (size_t i = 0; i < s->n; i += EB) {
        int b = (int)(s->n - i < EB ? s->n - i : EB);
        clf_forward(m, s->x + i * 784, NULL, b, 0);
        clf_argmax(pred, clf_logits(m), b, 10);
        for (int k = 0; k < b; k++)
            correct += pred[k] == s->y[i + k];
    }
    return (double)correct / (double)s->n;
}

static void test_mlp_fashion_mnist(void)
{
    struct split train = {0}, test = {0};
    if (load_split(&train, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz") < 0 ||
        load_split(&test, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz") < 0) {
        CHECK(!"Fashion-MNIST is missing or unreadable: run scripts/deps.sh");
        free(train.x), free(train.y);
        return;
    }
    CHECK_EQ_INT(train.n, 60000);
    CHECK_EQ_INT(test.n, 10000);
    int counts[10] = {0};
    for (size_t i = 0; i < train.n; i++)
        counts[train.y[i] < 10 ? train.y[i] : 0]++;
    for (int k = 0; k < 10; k++) /* balanced classes */
        CHECK_EQ_INT(counts[k], 6000);

    double scale = 1.0, bar = 0.85;
    const char *env = getenv("LETHE_TEST_SCALE");
    if (env && atof(env) > 0 && atof(env) < 1) {
        scale = atof(env);
        bar = 0.75;
    }
    size_t n_train = (size_t)(train.n * scale);
    enum { B = 256, EPOCHS = 3 };
    struct clf_config cfg = clf_config_default(CLF_MLP);
    struct clf *m = clf_new(&cfg, 1);
    struct nn_params *p = clf_params(m);
    nn_params_alloc_grad(p);
    struct adamw opt;
    struct adamw_config oc = adamw_config_default();
    oc.weight_decay = 0.0;
    adamw_init(&opt, p, &oc);
    long steps_per_epoch = (long)(n_train / B), total = steps_per_epoch * EPOCHS, step = 0;
    struct lr_schedule sched = {LR_COSINE, 3e-3, 3e-4, steps_per_epoch / 10, total};
    CHECK(lr_schedule_check(&sched) == NULL);
    size_t *perm = xmalloc(n_train * sizeof(size_t));
    for (size_t i = 0; i < n_train; i++)
        perm[i] = i;
    float *xb = xmalloc((size_t)B * 784 * sizeof(float)), dl[B * 10];
    int yb[B];
    struct nn_rng r;
    nn_rng_seed(&r, 7);
    double loss_first = 0, loss_last = 0;
    for (int ep = 0; ep < EPOCHS; ep++) {
        for (size_t i = n_train - 1; i > 0; i--) { /* Fisher-Yates */
            size_t j = (size_t)(nn_rng_uniform(&r) * (double)(i + 1));
            size_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        double sum = 0;
        for (long s = 0; s < steps_per_epoch; s++, step++) {
            for (int b = 0; b < B; b++) {
                size_t k = perm[(size_t)s * B + b];
                memcpy(xb + (size_t)b * 784, train.x + k * 784, 784 * sizeof(float));
                yb[b] = train.y[k];
            }
            clf_forward(m, xb, NULL, B, 0);
            sum += clf_cross_entropy(dl, NULL, clf_logits(m), yb, NULL, B, 10);
            nn_params_zero_grad(p);
            clf_backward(m, dl);
            nn_clip_grad_norm(p, 1.0);
            adamw_step(&opt, p, lr_schedule_at(&sched, step));
        }
        if (ep == 0)
            loss_first = sum / steps_per_epoch;
        loss_last = sum / steps_per_epoch;
        printf("# epoch %d: mean training loss %.4f\n", ep + 1, sum / steps_per_epoch);
    }
    double acc = evaluate(m, &test);
    printf("# MLP 784-256-128-10, %zu training images, %d epochs, batch %d: test accuracy %.4f "
           "(bar %.2f)\n", n_train, EPOCHS, B, acc, bar);
    CHECK(loss_last < loss_first);
    CHECK(acc >= bar);
    adamw_release(&opt);
    clf_free(m);
    free(perm), free(xb);
    free(train.x), free(train.y), free(test.x), free(test.y);
}

int main(void)
{
    RUN(test_mlp_fashion_mnist);
    return test_done();
}
