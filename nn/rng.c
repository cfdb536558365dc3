/* The engine's random numbers: base/rng.c's xoshiro256**; uniform doubles from the top 53 bits;
 * normals by Box-Muller. */
#include <math.h>

#include "nn/nn.h"

void nn_rng_seed(struct nn_rng *r, uint64_t seed)
{
    xoshiro256_seed(r->s, seed);
}

uint64_t nn_rng_next(struct nn_rng *r)
{
    return xoshiro256_next(r->s);
}

double nn_rng_uniform(struct nn_rng *r)
{
    return (double)(nn_rng_next(r) >> 11) * 0x1.0p-53;
}

double nn_rng_normal(struct nn_rng *r)
{
    /* Box-Muller, one value per call (the pair's second value is dropped for simplicity and
     * so that the stream does not depend on call parity). */
    double u1 = nn_rng_uniform(r), u2 = nn_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}
