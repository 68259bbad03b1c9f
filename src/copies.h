/* Which copy of a kernel runs, for kernels kept in several copies (one per
 * instruction set, the same bits from each): the copies are listed fastest
 * first, the last runs on any CPU. The first copy this CPU can run is chosen
 * on first use; tls_copies_select names another (tests, benchmarks).
 * Internal to src/ (mmd.c, nn.c). */
#ifndef TLSWEEP_COPIES_H
#define TLSWEEP_COPIES_H

#include <string.h>

typedef struct {
    int n;                      /* copies */
    const char *(*name)(int i); /* copy i's name: "avx512", "avx2", "generic" */
    int (*usable)(int i);       /* this CPU runs copy i */
    int selected;               /* index of the copy that runs; -1 until chosen */
} tls_copies;

/* The copy that runs. */
static inline int tls_copies_index(tls_copies *c) {
    int s = __atomic_load_n(&c->selected, __ATOMIC_ACQUIRE);
    if (s >= 0) return s;
    s = 0;
    while (!c->usable(s)) s++;
    __atomic_store_n(&c->selected, s, __ATOMIC_RELEASE);
    return s;
}

/* Runs copy `name` from now on, or the first usable one for "auto".
 * 0, or -1 for an unknown name or a copy this CPU cannot run. */
static inline int tls_copies_select(tls_copies *c, const char *name) {
    for (int i = 0; i < c->n; i++)
        if (strcmp(name, c->name(i)) == 0) {
            if (!c->usable(i)) return -1;
            __atomic_store_n(&c->selected, i, __ATOMIC_RELEASE);
            return 0;
        }
    if (strcmp(name, "auto") != 0) return -1;
    __atomic_store_n(&c->selected, -1, __ATOMIC_RELEASE);
    tls_copies_index(c);
    return 0;
}

#if defined(__x86_64__)
/* The AVX-512 subsets the AVX-512 copies use. */
static inline int tls_cpu_avx512(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq");
}
#endif

#endif
