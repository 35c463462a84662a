/*
 * gemm.h — f32 GEMM microkernels (XNNPACK style) and their weight packing.
 *
 * A microkernel computes C = A · W + bias, then its epilogue (below), for
 * nc columns, where W was packed once (at load) into panels of NR output
 * channels: each panel holds NR biases, then K rows of NR weights, zero-padded
 * past the last channel. `gemm` reads m rows of A directly (any m: it goes MR
 * rows at a time); `igemm` (indirect GEMM, for convolutions) computes mr <= MR
 * rows and reads, for each of ks taps, MR row pointers (the input under that
 * tap, or a zero row for padding) of kc values each, so a convolution needs
 * no im2col buffer.
 *
 * One template (f32_gemm_template.h) written with vector extensions gives
 * every tile; each file f32_gemm_<MR>x<NR>_<isa>.c instantiates one, and
 * gemm_config.c picks the one this machine runs best.
 */
#ifndef KILN_KERNELS_GEMM_H
#define KILN_KERNELS_GEMM_H

#include <stddef.h>

/* What a microkernel does to each tile of sums before storing it, in this order: add the
 * residual (a ResNet-style shortcut), apply PReLU, clamp (Relu, Relu6). */
typedef struct kn_gemm_epilogue {
    /* NULL, or rows laid out like C's, r_stride apart (for igemm: its mr rows). R may be C
     * itself (a tile reads its residual before it stores), but no other overlap. */
    const float *r;
    size_t r_stride;
    const float *slopes; /* NULL, or the nc columns' PReLU slopes: v > 0 ? v : slope * v */
    float min, max;      /* clamp to [min, max]; -INFINITY and INFINITY clamp nothing */
} kn_gemm_epilogue;

typedef void (*kn_gemm_fn)(size_t m, size_t nc, size_t kc, const float *a, size_t a_stride, const float *w,
                           float *c, size_t c_stride, const kn_gemm_epilogue *ep);
typedef void (*kn_igemm_fn)(size_t mr, size_t nc, size_t kc, size_t ks, const float *const *a, const float *w,
                            float *c, size_t c_stride, const kn_gemm_epilogue *ep);

typedef struct kn_gemm_config {
    const char *name; /* e.g. "f32_gemm_8x32_avx512" */
    size_t mr, nr;
    kn_gemm_fn gemm;
    kn_igemm_fn igemm;
} kn_gemm_config;

/* The microkernel for this machine (chosen once, by CPU features natively). */
const kn_gemm_config *kn_gemm_config_get(void);
/* The best microkernel for n output channels (a narrower tile when n is small and odd-sized). */
const kn_gemm_config *kn_gemm_config_for(size_t n);

/* Floats needed to pack a k x n weight matrix for tile width nr. */
size_t kn_gemm_packed_floats(size_t k, size_t n, size_t nr);

/* Packs w (k rows of n, row stride w_stride) and bias (n values, or NULL for zeros). */
void kn_gemm_pack(size_t k, size_t n, size_t nr, const float *w, size_t w_stride, const float *bias,
                  float *packed);

#endif
