/* Checks and window arithmetic shared by conv2d.c, depthwise_conv2d.c,
 * matmul.c and pool2d.c (on top of op_util.h's). */
#ifndef KILN_OPS_NN_UTIL_H
#define KILN_OPS_NN_UTIL_H

#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

#define KN_MAX_PAD (1 << 20)

/* infer: min_in..max_in inputs, of which those past the required ones may
 * be NULL (absent optional operands), and one output. */
static inline kiln_status kn_check_operand_count(const kn_step *s, int min_in, int max_in) {
    if (s->n_in < min_in || s->n_in > max_in)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "expected %d to %d inputs, got %d", min_in, max_in, s->n_in);
    if (s->n_out != 1) return kn_fail(KILN_ERR_BAD_BUNDLE, "expected 1 output, got %d", s->n_out);
    return KILN_OK;
}

/* infer: `t` has rank `rank`, every dim >= 1, and at most KN_MAX_ELEMENTS
 * elements (so eval's element indices fit a 32-bit size_t). */
static inline kiln_status kn_check_dims(const kn_tensor *t, const char *what, int rank) {
    bool ok = t->rank == rank;
    for (int i = 0; ok && i < rank; i++) ok = t->dims[i] >= 1;
    size_t count;
    if (!ok || !kn_num_elements(t->dims, rank, KN_MAX_ELEMENTS, &count))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "%s is %S, expected rank %d with every dim >= 1 and at most %zu elements",
                       what, t, rank, KN_MAX_ELEMENTS);
    return KILN_OK;
}

/* infer: the optional bias (operand 2), when present, is float32[channels]. */
static inline kiln_status kn_check_bias(const kn_step *s, int32_t channels) {
    const kn_tensor *b = s->n_in > 2 ? s->in[2] : NULL;
    if (b && (b->dtype != KILN_FLOAT32 || b->rank != 1 || b->dims[0] != channels))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "bias is %S, expected float32[%d]", b, channels);
    return KILN_OK;
}

/* infer: validates one spatial axis (window/kernel >= 1, stride >= 1,
 * dilation >= 1, pads in [0, KN_MAX_PAD]) and computes its output size,
 * (in + pad_a + pad_b - ((k - 1) * dilation + 1)) / stride + 1, which must
 * be >= 1. */
static inline kiln_status kn_window_out(const char *axis, int32_t in, int32_t k, int32_t stride,
                                        int32_t dilation, int32_t pad_a, int32_t pad_b, int32_t *out) {
    if (k < 1 || stride < 1 || dilation < 1)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "%s: window %d, stride %d, dilation %d, expected each >= 1", axis, k,
                       stride, dilation);
    if (pad_a < 0 || pad_b < 0 || pad_a > KN_MAX_PAD || pad_b > KN_MAX_PAD)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "%s: pads %d and %d, expected each in [0, %d]", axis, pad_a, pad_b,
                       KN_MAX_PAD);
    int64_t span = (int64_t)(k - 1) * dilation + 1;
    int64_t padded = (int64_t)in + pad_a + pad_b;
    if (padded < span)
        return kn_fail(KILN_ERR_BAD_BUNDLE,
                       "%s: window spans %lld (size %d, dilation %d) but the padded input is %lld, "
                       "output size would be < 1",
                       axis, (long long)span, k, dilation, (long long)padded);
    int64_t size = (padded - span) / stride + 1;
    if (size > INT32_MAX)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "%s: output size %lld is too large", axis, (long long)size);
    *out = (int32_t)size;
    return KILN_OK;
}

/* infer: output height and width of a conv from its params, input x[N,H,W,C]
 * and filter [KH,KW,...], into dims[1] and dims[2]. */
static inline kiln_status kn_conv_out_hw(const kn_conv_params *p, const kn_tensor *x, const kn_tensor *f,
                                         int32_t dims[4]) {
    kiln_status st = kn_window_out("height", x->dims[1], f->dims[0], p->stride_h, p->dilation_h, p->pad_top,
                                   p->pad_bottom, &dims[1]);
    if (st) return st;
    return kn_window_out("width", x->dims[2], f->dims[1], p->stride_w, p->dilation_w, p->pad_left, p->pad_right,
                         &dims[2]);
}

/* eval: the taps [*lo, *hi) of a k-tap window whose first tap is at
 * `start` that land inside [0, size), i.e. 0 <= start + tap * dilation < size. */
static inline void kn_tap_range(int64_t start, int32_t k, int32_t dilation, int32_t size, int32_t *lo,
                                int32_t *hi) {
    int64_t l = start < 0 ? (-start + dilation - 1) / dilation : 0;
    int64_t h = start < size ? (size - start + dilation - 1) / dilation : 0;
    if (h > k) h = k;
    *lo = (int32_t)(l < h ? l : h);
    *hi = (int32_t)h;
}

/* eval: the output positions [*first, *end) along one axis whose whole window (k taps,
 * dilation apart) lies inside the input of `size`: no padding is read there. */
static inline void kn_window_interior(size_t size, size_t k, size_t stride, size_t dilation, size_t pad,
                                      size_t out, size_t *first, size_t *end) {
    size_t span = (k - 1) * dilation, f = (pad + stride - 1) / stride;
    size_t e = size + pad >= span + 1 ? (size + pad - span - 1) / stride + 1 : 0;
    if (e > out) e = out;
    *first = f < e ? f : e;
    *end = e;
}

/* Scratch layout of the conv kernels: a zero row of `channels` floats for
 * padded taps, rounded up so the tap pointers after it are aligned. */
static inline size_t kn_zero_row_bytes(size_t channels) { return (sizeof(float) * channels + 63) & ~(size_t)63; }

#endif
