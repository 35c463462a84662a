/*
 * The GEMM/IGEMM microkernel body. Include with KN_MR (rows), KN_VW (floats
 * per vector) and KN_NV (vectors per row, NR = KN_NV * KN_VW) defined, and
 * KN_GEMM / KN_IGEMM naming the two functions. The accumulator tile is
 * KN_MR x KN_NV vectors: size it for the target's registers (V8 gives wasm
 * 15 xmm registers: at most 8 accumulators; AVX-512 has 32 zmm).
 */
#include <string.h>

#include "kernels/gemm.h"

/* Every loop over the tile must unroll fully so the accumulators live in registers. */
#define KN_UNROLL _Pragma("GCC unroll 16")

#define KN_NR (KN_NV * KN_VW)

typedef float kn_vf __attribute__((vector_size(KN_VW * 4)));
typedef int kn_vi __attribute__((vector_size(KN_VW * 4)));

static inline kn_vf kn_load(const float *p) {
    kn_vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void kn_store(float *p, kn_vf v) { memcpy(p, &v, sizeof v); }

/* scalar op vector broadcasts the scalar (a GCC/Clang vector-extension rule). */
static inline kn_vf kn_splat(float x) { return (kn_vf){0} + x; }

/* max(lo, min(v, hi)) by masks: C (unlike C++) has no vector ?: in gcc. */
static inline kn_vf kn_select(kn_vi mask, kn_vf a, kn_vf b) {
    return (kn_vf)((mask & (kn_vi)a) | (~mask & (kn_vi)b));
}

static inline kn_vf kn_clamp(kn_vf v, kn_vf lo, kn_vf hi) {
    v = kn_select(v < lo, lo, v);
    return kn_select(v > hi, hi, v);
}

/* Stores the tile's rows, the last panel possibly narrower than NR. */
static inline void kn_store_tile(kn_vf acc[KN_MR][KN_NV], float *const *cr, size_t nc) {
    if (nc >= KN_NR) {
        KN_UNROLL for (size_t i = 0; i < KN_MR; i++)
            KN_UNROLL for (size_t j = 0; j < KN_NV; j++) kn_store(cr[i] + j * KN_VW, acc[i][j]);
        return;
    }
    for (size_t i = 0; i < KN_MR; i++) {
        float row[KN_NR];
        memcpy(row, acc[i], sizeof row);
        memcpy(cr[i], row, nc * sizeof(float));
    }
}

static inline void kn_init_tile(kn_vf acc[KN_MR][KN_NV], const float *bias) {
    KN_UNROLL for (size_t j = 0; j < KN_NV; j++) {
        kn_vf b = kn_load(bias + j * KN_VW);
        KN_UNROLL for (size_t i = 0; i < KN_MR; i++) acc[i][j] = b;
    }
}

static inline void kn_clamp_tile(kn_vf acc[KN_MR][KN_NV], float min, float max) {
    kn_vf lo = kn_splat(min), hi = kn_splat(max);
    KN_UNROLL for (size_t i = 0; i < KN_MR; i++)
        KN_UNROLL for (size_t j = 0; j < KN_NV; j++) acc[i][j] = kn_clamp(acc[i][j], lo, hi);
}

/* One multiply-accumulate step: row values x[i] times the NR weights at w. */
#define KN_MAC_STEP(acc, x, w)                                                                 \
    do {                                                                                       \
        kn_vf b_[KN_NV];                                                                       \
        KN_UNROLL for (size_t j_ = 0; j_ < KN_NV; j_++) b_[j_] = kn_load((w) + j_ * KN_VW);   \
        KN_UNROLL for (size_t i_ = 0; i_ < KN_MR; i_++) {                                      \
            const float a_ = (x)[i_];                                                          \
            KN_UNROLL for (size_t j_ = 0; j_ < KN_NV; j_++) acc[i_][j_] += a_ * b_[j_];        \
        }                                                                                      \
    } while (0)

void KN_GEMM(size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride, const float *w, float *c,
             size_t c_stride, float min, float max) {
    /* Rows past mr repeat the last one: they compute and store the same values. */
    const float *ar[KN_MR];
    float *cr[KN_MR];
    for (size_t i = 0; i < KN_MR; i++) {
        size_t r = i < mr ? i : mr - 1;
        ar[i] = a + r * a_stride;
        cr[i] = c + r * c_stride;
    }
    for (;;) {
        kn_vf acc[KN_MR][KN_NV];
        kn_init_tile(acc, w);
        w += KN_NR;
        for (size_t k = 0; k < kc; k++, w += KN_NR) {
            float x[KN_MR];
            KN_UNROLL for (size_t i = 0; i < KN_MR; i++) x[i] = ar[i][k];
            KN_MAC_STEP(acc, x, w);
        }
        kn_clamp_tile(acc, min, max);
        kn_store_tile(acc, cr, nc);
        if (nc <= KN_NR) return;
        nc -= KN_NR;
        for (size_t i = 0; i < KN_MR; i++) cr[i] += KN_NR;
    }
}

void KN_IGEMM(size_t mr, size_t nc, size_t kc, size_t ks, const float *const *a, const float *w, float *c,
              size_t c_stride, float min, float max) {
    float *cr[KN_MR];
    for (size_t i = 0; i < KN_MR; i++) cr[i] = c + (i < mr ? i : mr - 1) * c_stride;
    for (;;) {
        kn_vf acc[KN_MR][KN_NV];
        kn_init_tile(acc, w);
        w += KN_NR;
        for (size_t t = 0; t < ks; t++) {
            const float *const *at = a + t * KN_MR;
            for (size_t k = 0; k < kc; k++, w += KN_NR) {
                float x[KN_MR];
                KN_UNROLL for (size_t i = 0; i < KN_MR; i++) x[i] = at[i][k];
                KN_MAC_STEP(acc, x, w);
            }
        }
        kn_clamp_tile(acc, min, max);
        kn_store_tile(acc, cr, nc);
        if (nc <= KN_NR) return;
        nc -= KN_NR;
        for (size_t i = 0; i < KN_MR; i++) cr[i] += KN_NR;
    }
}
