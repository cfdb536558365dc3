/* xoshiro256** seeded through splitmix64 (Blackman & Vigna 2021; Steele et al. 2014 for
 * splitmix64): the one generator behind every seeded draw in Lethe. */
#include "base.h"

static uint64_t splitmix64_impl(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void xoshiro256_seed(uint64_t s[4], uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        s[i] = splitmix64_impl(&seed);
}

static uint64_t rotl_impl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t xoshiro256_next(uint64_t s[4])
{
    uint64_t result = rotl_impl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl_impl(s[3], 45);
    return result;
}
