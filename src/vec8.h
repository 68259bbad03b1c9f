/* vec8.h - the 8-float vector type of the hand-vectorized kernels (mmd.c,
 * nn.c), in GCC/clang vector extensions. Internal to src/.
 *
 * v8f values pass only between a file's own static functions, so the note
 * that a 32-byte vector argument's ABI depends on AVX concerns no interface:
 * the including file is compiled without -Wpsabi. ld8/st8 are macros, not
 * functions, so that no v8f crosses a call between copies compiled for
 * different targets (clang rejects that ABI mismatch). */
#ifndef TLSWEEP_VEC8_H
#define TLSWEEP_VEC8_H

#include <stdint.h>

#pragma GCC diagnostic ignored "-Wpsabi"

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
/* the same, at any float address */
typedef float v8f_unaligned __attribute__((vector_size(32), aligned(4), may_alias));

#define ld8(p)    (*(const v8f_unaligned *)(p))
#define st8(p, v) (*(v8f_unaligned *)(p) = (v))

#endif
