#include "tlsweep/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void tls_rng_init(tls_rng *rng, uint64_t seed, tls_stream purpose, uint64_t sub) {
    /* Mix the three key parts through SplitMix64 one after the other, so that
     * (seed, purpose, sub) tuples map to unrelated states. */
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ (0x5851f42d4c957f2dULL * (uint64_t)purpose);
    h = splitmix64(&x);
    x = h ^ (0x14057b7ef767814fULL * (sub + 1));
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
    rng->have_spare = 0;
    rng->spare = 0.0;
}

uint64_t tls_rng_u64(tls_rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double tls_rng_uniform(tls_rng *rng) {
    return (double)(tls_rng_u64(rng) >> 11) * 0x1.0p-53;
}

double tls_rng_normal(tls_rng *rng) {
    if (rng->have_spare) {
        rng->have_spare = 0;
        return rng->spare;
    }
    double u1 = 1.0 - tls_rng_uniform(rng); /* (0, 1]: log is finite */
    double u2 = tls_rng_uniform(rng);
    double r = sqrt(-2.0 * log(u1));
    double a = 2.0 * M_PI * u2;
    rng->spare = r * sin(a);
    rng->have_spare = 1;
    return r * cos(a);
}

uint64_t tls_rng_below(tls_rng *rng, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = tls_rng_u64(rng);
    while (x >= limit);
    return x % n;
}

void tls_rng_shuffle(tls_rng *rng, int *idx, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)tls_rng_below(rng, (uint64_t)i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
