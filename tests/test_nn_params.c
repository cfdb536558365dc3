/* Tests for the parameter table and the random number generator of nn/. */
#include <stdlib.h>

#include "nn/nn.h"
#include "tests/test.h"

static void test_table(void)
{
    struct nn_params p = {0};
    int s1[2] = {3, 5}, s2[1] = {7};
    CHECK_EQ_INT(nn_params_add(&p, "h.0.attn.c_attn.weight", NN_T_LINEAR, 2, s1), 0);
    CHECK_EQ_INT(nn_params_add(&p, "h.0.attn.c_attn.bias", NN_T_BIAS, 1, s2), 1);
    nn_params_alloc(&p);
    CHECK_EQ_INT(p.tensors[0].numel, 15);
    CHECK_EQ_INT(p.tensors[1].offset % 16, 0);
    CHECK(p.tensors[1].offset >= 15);
    CHECK(((uintptr_t)p.data & 63) == 0);
    CHECK(nn_params_find(&p, "h.0.attn.c_attn.bias") == &p.tensors[1]);
    CHECK(nn_params_find(&p, "nope") == NULL);
    CHECK_EQ_INT(nn_params_freeze(&p, "h.0.attn.*", 1), 2);
    CHECK_EQ_INT(nn_params_freeze(&p, "*.bias", 0), 1);
    CHECK_EQ_INT(p.tensors[0].frozen, 1);
    CHECK_EQ_INT(p.tensors[1].frozen, 0);
    nn_params_alloc_grad(&p);
    p.grad[3] = 1.0f;
    nn_params_zero_grad(&p);
    CHECK(p.grad[3] == 0.0f);
    nn_params_release(&p);
    nn_params_release(NULL);
}

static void test_rng(void)
{
    /* xoshiro256** reference: state {1, 2, 3, 4} gives 11520, 0, 1509978240, 1215971899390074240
     * (the first outputs of Vigna's reference xoshiro256starstar.c with that state). */
    struct nn_rng r = {{1, 2, 3, 4}};
    CHECK(nn_rng_next(&r) == 11520ULL);
    CHECK(nn_rng_next(&r) == 0ULL);
    CHECK(nn_rng_next(&r) == 1509978240ULL);
    CHECK(nn_rng_next(&r) == 1215971899390074240ULL);
    /* same seed, same stream; uniform in [0,1); normal mean/variance */
    struct nn_rng a, b;
    nn_rng_seed(&a, 42);
    nn_rng_seed(&b, 42);
    double sum = 0, sum2 = 0;
    int n = 200000, same = 1;
    for (int i = 0; i < n; i++) {
        double u = nn_rng_uniform(&a);
        same &= u == nn_rng_uniform(&b);
        CHECK(u >= 0.0 && u < 1.0);
        double z = nn_rng_normal(&a);
        nn_rng_normal(&b);
        sum += z;
        sum2 += z * z;
    }
    CHECK(same);
    CHECK_NEAR(sum / n, 0.0, 0.01);
    CHECK_NEAR(sum2 / n, 1.0, 0.01);
}

int main(void)
{
    RUN(test_table);
    RUN(test_rng);
    return test_done();
}
