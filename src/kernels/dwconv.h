/*
 * dwconv.h — f32 depthwise convolution microkernels (channel multiplier 1).
 *
 * One call computes n_pixels consecutive output pixels over all channels:
 *   out[j * out_step + c] = clamp(bias[c] + sum over taps t of
 *                                 in[t][j * in_step + c] * w[t * w_stride + c], min, max)
 * where in[t] points at the first pixel's input under tap t (or into a zero
 * region, for padding). The filter is TF's [KH, KW, C, 1] as is: no packing.
 * Blocks of channels for up to four pixels accumulate in registers across
 * every tap, so each weight vector loaded serves four pixels.
 */
#ifndef KILN_KERNELS_DWCONV_H
#define KILN_KERNELS_DWCONV_H

#include <stddef.h>

typedef void (*kn_dwconv_fn)(size_t channels, size_t ks, const float *const *in, size_t in_step, size_t n_pixels,
                             const float *w, size_t w_stride, const float *bias, float *out, size_t out_step,
                             float min, float max);

typedef struct kn_dwconv_config {
    const char *name;
    kn_dwconv_fn dwconv;
} kn_dwconv_config;

const kn_dwconv_config *kn_dwconv_config_get(void);

#endif
