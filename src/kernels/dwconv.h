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

/* A 3x3 filter with dilation 1 along a run of n_pixels output pixels of one row, stride
 * S (1 or 2, one function each) along it:
 *   out[j * channels + c] = clamp(bias[c] + sum over r, k < 3 of
 *                                 rows[r][(j * S + k) * channels + c] * w[(r * 3 + k) * channels + c], min, max)
 * where rows[r] points at filter row r's input under the first pixel's leftmost tap (or
 * at zeros), and w is TF's [3, 3, channels, 1]. Neighbouring pixels share input columns,
 * which the general kernel's tap pointers cannot show it. */
typedef void (*kn_dwconv3x3_fn)(size_t channels, const float *const *rows, size_t n_pixels, const float *w,
                                const float *bias, float *out, float min, float max);

typedef struct kn_dwconv_config {
    const char *name;
    kn_dwconv_fn dwconv;
    kn_dwconv3x3_fn dwconv3x3[2]; /* stride 1, stride 2; NULL where the general kernel is as fast */
} kn_dwconv_config;

const kn_dwconv_config *kn_dwconv_config_get(void);

#endif
