/*
 * The depthwise microkernel body. Include with KN_VW (floats per vector) and
 * KN_DWCONV naming the function. Pixels go four at a time (then one by one),
 * channels in blocks of two vectors, one vector, then scalars.
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

static inline kn_dv kn_dclamp(kn_dv v, float min, float max) {
    kn_dv lo = (kn_dv){0} + min, hi = (kn_dv){0} + max;
    kn_di below = v < lo, above = v > hi;
    v = (kn_dv)((below & (kn_di)lo) | (~below & (kn_di)v));
    return (kn_dv)((above & (kn_di)hi) | (~above & (kn_di)v));
}

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
