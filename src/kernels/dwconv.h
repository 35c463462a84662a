/*
 * dwconv.h — f32 depthwise convolution microkernels (channel multiplier 1).
 *
 * One call computes one output pixel over all channels:
 *   out[c] = clamp(bias[c] + sum over taps t of in[t][c] * w[t * w_stride + c], min, max)
 * where in[t] points at the input pixel under tap t (or a zero row, for
 * padding). The filter is TF's [KH, KW, C, 1] as is: no packing. Channels
 * are done in blocks of vectors held in registers across all taps.
 */
#ifndef KILN_KERNELS_DWCONV_H
#define KILN_KERNELS_DWCONV_H

#include <stddef.h>

typedef void (*kn_dwconv_fn)(size_t channels, size_t ks, const float *const *in, const float *w, size_t w_stride,
                             const float *bias, float *out, float min, float max);

typedef struct kn_dwconv_config {
    const char *name;
    kn_dwconv_fn dwconv;
} kn_dwconv_config;

const kn_dwconv_config *kn_dwconv_config_get(void);

#endif
