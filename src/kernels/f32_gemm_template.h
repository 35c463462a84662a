/*
 * The GEMM/IGEMM microkernel body. Include with KN_MR (rows), KN_VW (floats
 * per vector) and KN_NV (vectors per row, NR = KN_NV * KN_VW) defined, and
 * KN_GEMM / KN_IGEMM naming the two functions. The accumulator tile is
 * KN_MR x KN_NV vectors: size it for the target's registers (V8 gives wasm
 * 15 xmm registers: at most 8 accumulators; AVX-512 has 32 zmm).
 */
#include <math.h>
#include <stdbool.h>
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

/* lo > v ? lo : v, and hi < v ? hi : v: a NaN in v passes through (as TF's Relu keeps
 * it), and x86 maxps/minps compute exactly this with the bound first. */
#if defined(__AVX__) && KN_VW == 8
#include <immintrin.h>
static inline kn_vf kn_max(kn_vf lo, kn_vf v) { return (kn_vf)_mm256_max_ps((__m256)lo, (__m256)v); }
static inline kn_vf kn_min(kn_vf hi, kn_vf v) { return (kn_vf)_mm256_min_ps((__m256)hi, (__m256)v); }
#elif defined(__AVX512F__) && KN_VW == 16
#include <immintrin.h>
static inline kn_vf kn_max(kn_vf lo, kn_vf v) { return (kn_vf)_mm512_max_ps((__m512)lo, (__m512)v); }
static inline kn_vf kn_min(kn_vf hi, kn_vf v) { return (kn_vf)_mm512_min_ps((__m512)hi, (__m512)v); }
#else
static inline kn_vf kn_max(kn_vf lo, kn_vf v) { return kn_select(lo > v, lo, v); }
static inline kn_vf kn_min(kn_vf hi, kn_vf v) { return kn_select(hi < v, hi, v); }
#endif

/* Stores the tile's rows, the last panel possibly narrower than NR: whole vectors, then
 * the last part of one through a buffer. Every index into acc is a constant after
 * unrolling, so the accumulators stay in registers. */
static inline void kn_store_tile(kn_vf acc[KN_MR][KN_NV], float *const *cr, size_t nc) {
    if (nc >= KN_NR) {
        KN_UNROLL for (size_t i = 0; i < KN_MR; i++)
            KN_UNROLL for (size_t j = 0; j < KN_NV; j++) kn_store(cr[i] + j * KN_VW, acc[i][j]);
        return;
    }
    KN_UNROLL for (size_t i = 0; i < KN_MR; i++) {
        KN_UNROLL for (size_t j = 0; j < KN_NV; j++) {
            if ((j + 1) * KN_VW <= nc) {
                kn_store(cr[i] + j * KN_VW, acc[i][j]);
            } else if (j * KN_VW < nc) {
                float part[KN_VW];
                kn_store(part, acc[i][j]);
                memcpy(cr[i] + j * KN_VW, part, (nc - j * KN_VW) * sizeof(float));
            }
        }
    }
}

/* Adds the residual before the clamp: rows r, r_stride apart (laid out as the output rows;
 * rows past mr repeat the last). Its row pointers are made here, not kept through the K
 * loop, where they would take registers. A last panel narrower than NR reads its rows
 * through a zero-padded copy. */
static inline void kn_add_tile(kn_vf acc[KN_MR][KN_NV], const float *r, size_t r_stride, size_t mr, size_t nc) {
    const float *src[KN_MR];
    float part[KN_MR][KN_NR];
    for (size_t i = 0; i < KN_MR; i++) src[i] = r + (i < mr ? i : mr - 1) * r_stride;
    if (nc < KN_NR) {
        memset(part, 0, sizeof part);
        for (size_t i = 0; i < KN_MR; i++) src[i] = memcpy(part[i], src[i], nc * sizeof(float));
    }
    KN_UNROLL for (size_t i = 0; i < KN_MR; i++)
        KN_UNROLL for (size_t j = 0; j < KN_NV; j++) acc[i][j] += kn_load(src[i] + j * KN_VW);
}

/* PReLU with one slope per column: v > 0 ? v : slope * v (a NaN stays NaN). A last panel
 * narrower than NR reads its slopes through a zero-padded copy. */
static inline void kn_prelu_tile(kn_vf acc[KN_MR][KN_NV], const float *slopes, size_t nc) {
    float part[KN_NR];
    if (nc < KN_NR) {
        memset(part, 0, sizeof part);
        slopes = memcpy(part, slopes, nc * sizeof(float));
    }
    KN_UNROLL for (size_t j = 0; j < KN_NV; j++) {
        const kn_vf s = kn_load(slopes + j * KN_VW), zero = {0};
        KN_UNROLL for (size_t i = 0; i < KN_MR; i++)
            acc[i][j] = kn_select(acc[i][j] > zero, acc[i][j], acc[i][j] * s);
    }
}

static inline void kn_init_tile(kn_vf acc[KN_MR][KN_NV], const float *bias) {
    KN_UNROLL for (size_t j = 0; j < KN_NV; j++) {
        kn_vf b = kn_load(bias + j * KN_VW);
        KN_UNROLL for (size_t i = 0; i < KN_MR; i++) acc[i][j] = b;
    }
}

/* Each bound only when it clamps anything (-inf and inf mean none): most layers
 * have no clamp or just the lower one, and a tile's epilogue is short. */
static inline void kn_clamp_tile(kn_vf acc[KN_MR][KN_NV], float min, float max) {
    if (min > -INFINITY) {
        kn_vf lo = kn_splat(min);
        KN_UNROLL for (size_t i = 0; i < KN_MR; i++)
            KN_UNROLL for (size_t j = 0; j < KN_NV; j++) acc[i][j] = kn_max(lo, acc[i][j]);
    }
    if (max < INFINITY) {
        kn_vf hi = kn_splat(max);
        KN_UNROLL for (size_t i = 0; i < KN_MR; i++)
            KN_UNROLL for (size_t j = 0; j < KN_NV; j++) acc[i][j] = kn_min(hi, acc[i][j]);
    }
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

/* The end of a tile, as the epilogue asks (gemm.h): with `extra`, the residual from r (this
 * panel's first row, or NULL) and PReLU with this panel's slopes (or NULL); the clamp; the
 * store. The epilogue arrives as values, not through its pointer: for all the compiler
 * knows, stores to C could change what that points at. */
static inline __attribute__((always_inline)) void kn_finish_tile(kn_vf acc[KN_MR][KN_NV], float *const *cr,
                                                                 const float *r, size_t r_stride,
                                                                 const float *slopes, size_t mr, size_t nc,
                                                                 float min, float max, bool extra) {
    if (extra && r) kn_add_tile(acc, r, r_stride, mr, nc);
    if (extra && slopes) kn_prelu_tile(acc, slopes, nc);
    kn_clamp_tile(acc, min, max);
    kn_store_tile(acc, cr, nc);
}

/* The next panel, NR columns on: output rows, and with `extra` the residual and slopes. */
static inline void kn_next_panel(float **cr, const float **r, const float **slopes, bool extra) {
    for (size_t i = 0; i < KN_MR; i++) cr[i] += KN_NR;
    if (extra && *r) *r += KN_NR;
    if (extra && *slopes) *slopes += KN_NR;
}

/* One block of mr <= KN_MR rows, all nc columns; r: the block's first residual row. */
static inline __attribute__((always_inline)) void kn_gemm_block(size_t mr, size_t nc, size_t kc, const float *a,
                                                                size_t a_stride, const float *w, float *c,
                                                                size_t c_stride, const float *r, size_t r_stride,
                                                                const float *slopes, float min, float max,
                                                                bool extra) {
    /* Rows past mr repeat the last one: they compute and store the same values. */
    const float *ar[KN_MR];
    float *cr[KN_MR];
    for (size_t i = 0; i < KN_MR; i++) {
        size_t row = i < mr ? i : mr - 1;
        ar[i] = a + row * a_stride;
        cr[i] = c + row * c_stride;
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
        kn_finish_tile(acc, cr, r, r_stride, slopes, mr, nc, min, max, extra);
        if (nc <= KN_NR) return;
        nc -= KN_NR;
        kn_next_panel(cr, &r, &slopes, extra);
    }
}

/* The row blocks loop here, not in the caller: with few channels (K = N = 24) a call per
 * block cost 10% of the time. */
static inline __attribute__((always_inline)) void kn_gemm_rows(size_t m, size_t nc, size_t kc, const float *a,
                                                               size_t a_stride, const float *w, float *c,
                                                               size_t c_stride, const kn_gemm_epilogue *ep,
                                                               bool extra) {
    const float *r = ep->r, *slopes = ep->slopes;
    const size_t r_stride = ep->r_stride;
    const float min = ep->min, max = ep->max;
    for (size_t m0 = 0; m0 < m; m0 += KN_MR)
        kn_gemm_block(m - m0 < KN_MR ? m - m0 : KN_MR, nc, kc, a + m0 * a_stride, a_stride, w, c + m0 * c_stride,
                      c_stride, r ? r + m0 * r_stride : NULL, r_stride, slopes, min, max, extra);
}

static inline __attribute__((always_inline)) void kn_igemm_rows(size_t mr, size_t nc, size_t kc, size_t ks,
                                                                const float *const *a, const float *w, float *c,
                                                                size_t c_stride, const kn_gemm_epilogue *ep,
                                                                bool extra) {
    const float *r = ep->r, *slopes = ep->slopes;
    const size_t r_stride = ep->r_stride;
    const float min = ep->min, max = ep->max;
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
        kn_finish_tile(acc, cr, r, r_stride, slopes, mr, nc, min, max, extra);
        if (nc <= KN_NR) return;
        nc -= KN_NR;
        kn_next_panel(cr, &r, &slopes, extra);
    }
}

/* With a residual or PReLU, a function of its own: sharing one with the plain epilogue,
 * their code made V8 keep the plain path's values worse (MobileNetV2 2% slower in wasm). */
static __attribute__((noinline)) void kn_gemm_extra(size_t m, size_t nc, size_t kc, const float *a, size_t a_stride,
                                                    const float *w, float *c, size_t c_stride,
                                                    const kn_gemm_epilogue *ep) {
    kn_gemm_rows(m, nc, kc, a, a_stride, w, c, c_stride, ep, true);
}

static __attribute__((noinline)) void kn_igemm_extra(size_t mr, size_t nc, size_t kc, size_t ks,
                                                     const float *const *a, const float *w, float *c,
                                                     size_t c_stride, const kn_gemm_epilogue *ep) {
    kn_igemm_rows(mr, nc, kc, ks, a, w, c, c_stride, ep, true);
}

void KN_GEMM(size_t m, size_t nc, size_t kc, const float *a, size_t a_stride, const float *w, float *c,
             size_t c_stride, const kn_gemm_epilogue *ep) {
    if (ep->r || ep->slopes) kn_gemm_extra(m, nc, kc, a, a_stride, w, c, c_stride, ep);
    else kn_gemm_rows(m, nc, kc, a, a_stride, w, c, c_stride, ep, false);
}

void KN_IGEMM(size_t mr, size_t nc, size_t kc, size_t ks, const float *const *a, const float *w, float *c,
              size_t c_stride, const kn_gemm_epilogue *ep) {
    if (ep->r || ep->slopes) kn_igemm_extra(mr, nc, kc, ks, a, w, c, c_stride, ep);
    else kn_igemm_rows(mr, nc, kc, ks, a, w, c, c_stride, ep, false);
}
