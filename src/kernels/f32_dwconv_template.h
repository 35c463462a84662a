/*
 * The depthwise microkernel body. Include with KN_VW (floats per vector) and
 * KN_DWCONV naming the function. Blocks of four, two and one vectors of
 * channels accumulate in registers across every tap; scalars finish.
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

/* `nv` vectors of channels from c: taps alternate between two accumulator
 * sets, so even one vector has two independent FMA chains. */
#define KN_DW_BLOCK(nv)                                                                                   \
    for (; c + (nv) * KN_VW <= channels; c += (nv) * KN_VW) {                                             \
        kn_dv a0[nv], a1[nv];                                                                             \
        _Pragma("GCC unroll 4") for (int v = 0; v < (nv); v++) {                                          \
            a0[v] = bias ? kn_dload(bias + c + v * KN_VW) : (kn_dv){0};                                   \
            a1[v] = (kn_dv){0};                                                                           \
        }                                                                                                 \
        size_t t = 0;                                                                                     \
        for (; t + 2 <= ks; t += 2) {                                                                     \
            const float *x0 = in[t] + c, *x1 = in[t + 1] + c;                                             \
            const float *w0 = w + t * w_stride + c, *w1 = w0 + w_stride;                                  \
            _Pragma("GCC unroll 4") for (int v = 0; v < (nv); v++) {                                      \
                a0[v] += kn_dload(x0 + v * KN_VW) * kn_dload(w0 + v * KN_VW);                             \
                a1[v] += kn_dload(x1 + v * KN_VW) * kn_dload(w1 + v * KN_VW);                             \
            }                                                                                             \
        }                                                                                                 \
        if (t < ks) {                                                                                     \
            const float *x0 = in[t] + c, *w0 = w + t * w_stride + c;                                      \
            _Pragma("GCC unroll 4") for (int v = 0; v < (nv); v++) a0[v] += kn_dload(x0 + v * KN_VW) * kn_dload(w0 + v * KN_VW); \
        }                                                                                                 \
        _Pragma("GCC unroll 4") for (int v = 0; v < (nv); v++) {                                          \
            kn_dv r = kn_dclamp(a0[v] + a1[v], min, max);                                                 \
            memcpy(out + c + v * KN_VW, &r, sizeof r);                                                    \
        }                                                                                                 \
    }

void KN_DWCONV(size_t channels, size_t ks, const float *const *in, const float *w, size_t w_stride,
               const float *bias, float *out, float min, float max) {
    size_t c = 0;
    KN_DW_BLOCK(4)
    KN_DW_BLOCK(2)
    KN_DW_BLOCK(1)
    for (; c < channels; c++) {
        float acc = bias ? bias[c] : 0.0f;
        for (size_t t = 0; t < ks; t++) acc += in[t][c] * w[t * w_stride + c];
        out[c] = acc < min ? min : acc > max ? max : acc;
    }
}
