/*
 * The depthwise microkernel bodies. Include with KN_VW (floats per vector) and
 * KN_DWCONV naming the general kernel, and optionally KN_DWCONV3X3_S1 and
 * KN_DWCONV3X3_S2 naming 3x3 row kernels. General: pixels go four at a time
 * (then one by one), channels in blocks of two vectors, one vector, then scalars.
 */
#include <string.h>

#include "kernels/dwconv.h"

typedef float kn_dv __attribute__((vector_size(KN_VW * 4)));
typedef int kn_di __attribute__((vector_size(KN_VW * 4)));

static inline kn_dv kn_dload(const float *p) {
    kn_dv v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* max(lo, min(v, hi)) with a NaN in v passing through; x86's maxps/minps do exactly
 * that with the bound first, in one instruction each. */
#if defined(__AVX__) && KN_VW == 8
#include <immintrin.h>
static inline kn_dv kn_dclamp(kn_dv v, float min, float max) {
    v = (kn_dv)_mm256_max_ps(_mm256_set1_ps(min), (__m256)v);
    return (kn_dv)_mm256_min_ps(_mm256_set1_ps(max), (__m256)v);
}
#else
static inline kn_dv kn_dclamp(kn_dv v, float min, float max) {
    kn_dv lo = (kn_dv){0} + min, hi = (kn_dv){0} + max;
    kn_di below = v < lo, above = v > hi;
    v = (kn_dv)((below & (kn_di)lo) | (~below & (kn_di)v));
    return (kn_dv)((above & (kn_di)hi) | (~above & (kn_di)v));
}
#endif

/* NP pixels by NV vectors of channels from c, in registers across all taps. */
#define KN_DW_TILE(NV, NP)                                                                                    \
    for (; c + (NV) * KN_VW <= channels; c += (NV) * KN_VW) {                                                 \
        kn_dv acc[NP][NV];                                                                                    \
        _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++) {                                              \
            kn_dv b = bias ? kn_dload(bias + c + v * KN_VW) : (kn_dv){0};                                     \
            _Pragma("GCC unroll 4") for (int q = 0; q < (NP); q++) acc[q][v] = b;                             \
        }                                                                                                     \
        for (size_t t = 0; t < ks; t++) {                                                                     \
            const float *x = in[t] + pixel * in_step + c, *wt = w + t * w_stride + c;                          \
            _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++) {                                          \
                kn_dv wv = kn_dload(wt + v * KN_VW);                                                          \
                _Pragma("GCC unroll 4") for (int q = 0; q < (NP); q++)                                        \
                    acc[q][v] += kn_dload(x + q * in_step + v * KN_VW) * wv;                                  \
            }                                                                                                 \
        }                                                                                                     \
        _Pragma("GCC unroll 4") for (int q = 0; q < (NP); q++)                                                \
            _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++) {                                          \
                kn_dv r = kn_dclamp(acc[q][v], min, max);                                                     \
                memcpy(out + (pixel + q) * out_step + c + v * KN_VW, &r, sizeof r);                           \
            }                                                                                                 \
    }

/* The channels left after the vector tiles, pixel by pixel. */
static inline void kn_dw_scalar_tail(size_t c, size_t channels, size_t ks, const float *const *in, size_t at,
                                     const float *w, size_t w_stride, const float *bias, float *o, float min,
                                     float max) {
    for (; c < channels; c++) {
        float acc = bias ? bias[c] : 0.0f;
        for (size_t t = 0; t < ks; t++) acc += in[t][at + c] * w[t * w_stride + c];
        o[c] = acc < min ? min : acc > max ? max : acc;
    }
}

void KN_DWCONV(size_t channels, size_t ks, const float *const *in, size_t in_step, size_t n_pixels, const float *w,
               size_t w_stride, const float *bias, float *out, size_t out_step, float min, float max) {
    size_t pixel = 0;
    for (; pixel + 4 <= n_pixels; pixel += 4) {
        size_t c = 0;
        KN_DW_TILE(2, 4)
        KN_DW_TILE(1, 4)
        for (size_t q = 0; q < 4; q++)
            kn_dw_scalar_tail(c, channels, ks, in, (pixel + q) * in_step, w, w_stride, bias,
                              out + (pixel + q) * out_step, min, max);
    }
    for (; pixel < n_pixels; pixel++) {
        size_t c = 0;
        KN_DW_TILE(4, 1)
        KN_DW_TILE(1, 1)
        kn_dw_scalar_tail(c, channels, ks, in, pixel * in_step, w, w_stride, bias, out + pixel * out_step, min, max);
    }
}

#ifdef KN_DWCONV3X3_S1
/* The 3x3 row kernels (dwconv.h): eight pixels at a time, then four, two, one; for each
 * group, every channel vector, then the last channels. Within a filter row, pixel q's
 * tap k reads input column q*S + k, so with stride 1 the eight pixels' 24 products
 * read 10 input vectors (not 24): the loads are written per product and the compiler
 * merges the equal ones. Eight accumulators also cover the FMA latency, which four do
 * not. Pixel groups outermost keep the input rows' working set to a few pixels (a
 * whole row of 128 pixels of 24 channels, three times over, would not fit L1). */
#define KN_DW3_STEP(S, NP)                                                                                    \
    for (; pixel + (NP) <= n_pixels; pixel += (NP)) {                                                         \
        size_t c = 0;                                                                                         \
        for (; c + KN_VW <= channels; c += KN_VW) {                                                           \
            const size_t at = pixel * (S) * channels + c;                                                     \
            kn_dv acc[NP];                                                                                    \
            const kn_dv b = bias ? kn_dload(bias + c) : (kn_dv){0};                                           \
            _Pragma("GCC unroll 8") for (int q = 0; q < (NP); q++) acc[q] = b;                                 \
            _Pragma("GCC unroll 3") for (int r = 0; r < 3; r++) {                                              \
                const float *x = rows[r] + at, *wr = w + (size_t)r * 3 * channels + c;                        \
                kn_dv w0 = kn_dload(wr), w1 = kn_dload(wr + channels), w2 = kn_dload(wr + 2 * channels);      \
                _Pragma("GCC unroll 8") for (int q = 0; q < (NP); q++) {                                      \
                    acc[q] += kn_dload(x + (size_t)(q * (S)) * channels) * w0;                                \
                    acc[q] += kn_dload(x + (size_t)(q * (S) + 1) * channels) * w1;                            \
                    acc[q] += kn_dload(x + (size_t)(q * (S) + 2) * channels) * w2;                            \
                }                                                                                             \
            }                                                                                                 \
            _Pragma("GCC unroll 8") for (int q = 0; q < (NP); q++) {                                          \
                kn_dv v = kn_dclamp(acc[q], min, max);                                                        \
                memcpy(out + (pixel + q) * channels + c, &v, sizeof v);                                       \
            }                                                                                                 \
        }                                                                                                     \
        if (c < channels) kn_dw3_scalar_tail(S, c, channels, rows, pixel, (NP), w, bias, out, min, max);      \
    }

/* Channels [c, channels) of pixels [pixel, pixel + np), through the general kernel's scalar loop. */
static void kn_dw3_scalar_tail(size_t S, size_t c, size_t channels, const float *const *rows, size_t pixel,
                               size_t np, const float *w, const float *bias, float *out, float min, float max) {
    for (size_t end = pixel + np; pixel < end; pixel++) {
        const float *in[9];
        for (size_t t = 0; t < 9; t++) in[t] = rows[t / 3] + (pixel * S + t % 3) * channels;
        kn_dw_scalar_tail(c, channels, 9, in, 0, w, channels, bias, out + pixel * channels, min, max);
    }
}

static inline __attribute__((always_inline)) void kn_dw3_row(size_t S, size_t channels, const float *const *rows,
                                                             size_t n_pixels, const float *w, const float *bias,
                                                             float *out, float min, float max) {
    size_t pixel = 0;
    KN_DW3_STEP(S, 8)
    KN_DW3_STEP(S, 4)
    KN_DW3_STEP(S, 2)
    KN_DW3_STEP(S, 1)
}

void KN_DWCONV3X3_S1(size_t channels, const float *const *rows, size_t n_pixels, const float *w, const float *bias,
                     float *out, float min, float max) {
    kn_dw3_row(1, channels, rows, n_pixels, w, bias, out, min, max);
}

void KN_DWCONV3X3_S2(size_t channels, const float *const *rows, size_t n_pixels, const float *w, const float *bias,
                     float *out, float min, float max) {
    kn_dw3_row(2, channels, rows, n_pixels, w, bias, out, min, max);
}
#endif
