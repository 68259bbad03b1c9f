/* rng.h - seeded random streams keyed by (seed, purpose, sub-key).
 *
 * Every random number in tlsweep comes from a stream created here, so that a
 * configuration's result depends only on the configuration: no rand(), no
 * global state. The generator is xoshiro256** (Blackman & Vigna), its state
 * filled by SplitMix64 from a hash of the key. Streams with different keys
 * are independent for all practical purposes. */
#ifndef TLSWEEP_RNG_H
#define TLSWEEP_RNG_H

#include <stdint.h>

/* What a stream is used for: part of the key, so that e.g. the source set and
 * the network initialisation never share random numbers. Values are part of
 * the results' definition: never renumber them. */
typedef enum {
    TLS_STREAM_SOURCE = 1,         /* source domain sample; key: seed */
    TLS_STREAM_TARGET_TEST = 2,    /* target test/unlabelled sample; key: seed */
    TLS_STREAM_TARGET_TRAIN = 3,   /* labelled target sample; key: seed, n_target */
    TLS_STREAM_INIT = 4,           /* network initialisation; key: seed */
    TLS_STREAM_SHUFFLE = 5,        /* source batch order; key: seed */
    TLS_STREAM_PAD = 6,            /* proxy A-distance split; key: seed */
    TLS_STREAM_DISTANCE = 7,       /* subsets for the MMD^2 distances; key: seed */
    TLS_STREAM_TARGET_BATCH = 8,   /* align.target_batch's per-step target points; key: seed */
    TLS_STREAM_SOURCE_HOLDOUT = 9, /* selection.source_holdout: held-out source points; key: seed */
    TLS_STREAM_TARGET_HOLDOUT = 10, /* selection.target_holdout's held-out labelled target points;
                                       key: seed, n_target */
    TLS_STREAM_LABEL_SWAP = 11,     /* data.shift_kind conditional: which target labels are swapped;
                                       key: seed, then 0 (test set) or n_target (labelled set) */
    TLS_STREAM_TS_KNN = 12          /* the k-NN transferability score's subsample; key: seed,
                                       n_target */
} tls_stream;

typedef struct {
    uint64_t s[4];
    int have_spare; /* Box-Muller produces normals in pairs */
    double spare;
} tls_rng;

/* Initialises rng for stream `purpose` of `seed`, refined by `sub`. */
void tls_rng_init(tls_rng *rng, uint64_t seed, tls_stream purpose, uint64_t sub);

uint64_t tls_rng_u64(tls_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double tls_rng_uniform(tls_rng *rng);
/* Standard normal (Box-Muller). */
double tls_rng_normal(tls_rng *rng);
/* Uniform integer in [0, n), unbiased (rejection). n > 0. */
uint64_t tls_rng_below(tls_rng *rng, uint64_t n);
/* In-place Fisher-Yates shuffle of idx[0..n). */
void tls_rng_shuffle(tls_rng *rng, int *idx, int n);

#endif
