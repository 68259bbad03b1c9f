/* vec8.h - the 8- and 16-float vector types of the hand-vectorized kernels
 * (mmd.c, nn.c), in GCC/clang vector extensions. Internal to src/.
 *
 * Vector values pass only between a file's own static functions, so the note
 * that a 32- or 64-byte vector argument's ABI depends on AVX concerns no
 * interface: the including file is compiled without -Wpsabi. The loads and
 * stores are macros, not functions, so that no vector crosses a call between
 * copies compiled for different targets (clang rejects that ABI mismatch). */
#ifndef TLSWEEP_VEC8_H
#define TLSWEEP_VEC8_H

#include <stdint.h>

#pragma GCC diagnostic ignored "-Wpsabi"

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
/* the same, at any float address */
typedef float v8f_unaligned __attribute__((vector_size(32), aligned(4), may_alias));
typedef float v16f_unaligned __attribute__((vector_size(64), aligned(4), may_alias));

#define ld8(p)     (*(const v8f_unaligned *)(p))
#define st8(p, v)  (*(v8f_unaligned *)(p) = (v))
#define ld16(p)    (*(const v16f_unaligned *)(p))
#define st16(p, v) (*(v16f_unaligned *)(p) = (v))

#endif
