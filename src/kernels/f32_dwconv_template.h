/*
 * The depthwise microkernel body. Include with KN_VW (floats per vector) and
 * KN_DWCONV naming the function. Four vectors of channels accumulate in
 * registers across every tap; narrower tails follow.
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

void KN_DWCONV(size_t channels, size_t ks, const float *const *in, const float *w, size_t w_stride,
               const float *bias, float *out, float min, float max) {
    size_t c = 0;
    for (; c + 4 * KN_VW <= channels; c += 4 * KN_VW) {
        kn_dv acc[4];
        _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) acc[v] = bias ? kn_dload(bias + c + v * KN_VW) : (kn_dv){0};
        for (size_t t = 0; t < ks; t++) {
            const float *x = in[t] + c, *wt = w + t * w_stride + c;
            _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) acc[v] += kn_dload(x + v * KN_VW) * kn_dload(wt + v * KN_VW);
        }
        _Pragma("GCC unroll 4") for (int v = 0; v < 4; v++) {
            kn_dv r = kn_dclamp(acc[v], min, max);
            memcpy(out + c + v * KN_VW, &r, sizeof r);
        }
    }
    for (; c + KN_VW <= channels; c += KN_VW) {
        kn_dv acc = bias ? kn_dload(bias + c) : (kn_dv){0};
        for (size_t t = 0; t < ks; t++) acc += kn_dload(in[t] + c) * kn_dload(w + t * w_stride + c);
        acc = kn_dclamp(acc, min, max);
        memcpy(out + c, &acc, sizeof acc);
    }
    for (; c < channels; c++) {
        float acc = bias ? bias[c] : 0.0f;
        for (size_t t = 0; t < ks; t++) acc += in[t][c] * w[t * w_stride + c];
        out[c] = acc < min ? min : acc > max ? max : acc;
    }
}
