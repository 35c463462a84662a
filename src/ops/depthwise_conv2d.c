/* DepthwiseConv2dNative: x[N,H,W,C], filter[KH,KW,C,M]; output channel
 * c*M + m is input channel c convolved with filter[:,:,c,m], plus
 * bias[C*M], then the fused activation.
 *
 * With a channel multiplier of 1 (the usual case) eval runs the machine's
 * depthwise microkernel (kernels/dwconv.h) pixel by pixel; otherwise, the
 * direct reference loop. */
#include <math.h>
#include <string.h>

#include "kernels/dwconv.h"
#include "ops/ops.h"
#include "ops/activation.h"
#include "ops/nn_util.h"

static kiln_status depthwise_infer(const kn_step *s, kn_tensor *out) {
    const kn_conv_params *p = s->params;
    kiln_status st;
    if ((st = kn_check_operand_count(s, 2, 4)) || (st = kn_expect_inputs(s, 0, 2, KILN_FLOAT32)) ||
        (st = kn_check_dims(s->in[0], "input", 4)) || (st = kn_check_dims(s->in[1], "filter", 4)))
        return st;
    const kn_tensor *x = s->in[0], *f = s->in[1];
    if (f->dims[2] != x->dims[3])
        return kn_fail(KILN_ERR_BAD_BUNDLE, "filter is %S, expected [KH,KW,%d,M] for input %S", f, x->dims[3], x);
    int64_t channels = (int64_t)f->dims[2] * f->dims[3];
    if (channels > INT32_MAX)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "filter is %S, output channels C*M = %lld are too many", f,
                       (long long)channels);
    int32_t dims[4] = {x->dims[0], 0, 0, (int32_t)channels};
    if ((st = kn_conv_out_hw(p, x, f, dims)) || (st = kn_check_bias(s, dims[3])) ||
        (st = kn_act_check(s, p->act, 3, dims[3])))
        return st;
    return kn_set_checked_shape(out, KILN_FLOAT32, 4, dims);
}

/* The direct loop: any channel multiplier. */
static kiln_status depthwise_eval_reference(const kn_step *s) {
    const kn_conv_params *p = s->params;
    const kn_tensor *xt = s->in[0], *ft = s->in[1], *yt = s->out[0];
    const float *x = xt->data, *w = ft->data;
    const float *bias = s->n_in > 2 && s->in[2] ? s->in[2]->data : NULL;
    const float *prelu = s->n_in > 3 && s->in[3] ? s->in[3]->data : NULL;
    float *y = yt->data;
    const int32_t H = xt->dims[1], W = xt->dims[2], C = xt->dims[3];
    const int32_t KH = ft->dims[0], KW = ft->dims[1], M = ft->dims[3];
    const int32_t N = yt->dims[0], OH = yt->dims[1], OW = yt->dims[2], OC = yt->dims[3];

    for (int32_t n = 0; n < N; n++) {
        for (int32_t oh = 0; oh < OH; oh++) {
            int64_t ih0 = (int64_t)oh * p->stride_h - p->pad_top;
            int32_t kh0, kh1;
            kn_tap_range(ih0, KH, p->dilation_h, H, &kh0, &kh1);
            for (int32_t ow = 0; ow < OW; ow++) {
                int64_t iw0 = (int64_t)ow * p->stride_w - p->pad_left;
                int32_t kw0, kw1;
                kn_tap_range(iw0, KW, p->dilation_w, W, &kw0, &kw1);
                float *restrict acc = y + (((size_t)n * OH + oh) * OW + ow) * OC;
                if (bias) memcpy(acc, bias, sizeof(float) * (size_t)OC);
                else memset(acc, 0, sizeof(float) * (size_t)OC);
                for (int32_t kh = kh0; kh < kh1; kh++) {
                    size_t ih = (size_t)(ih0 + (int64_t)kh * p->dilation_h);
                    for (int32_t kw = kw0; kw < kw1; kw++) {
                        size_t iw = (size_t)(iw0 + (int64_t)kw * p->dilation_w);
                        const float *restrict xp = x + (((size_t)n * H + ih) * W + iw) * C;
                        const float *restrict wp = w + ((size_t)kh * KW + kw) * OC;
                        /* M == 1 (the usual case) gets a flat loop the compiler vectorizes. */
                        if (M == 1) {
                            for (int32_t c = 0; c < C; c++) acc[c] += xp[c] * wp[c];
                        } else {
                            for (int32_t c = 0; c < C; c++)
                                for (int32_t m = 0; m < M; m++) acc[c * M + m] += xp[c] * wp[c * M + m];
                        }
                    }
                }
                kn_act_apply(acc, (size_t)OC, p->act, p->act_alpha, prelu, (size_t)OC);
            }
        }
    }
    return KILN_OK;
}

/* Floats of zeros that padded taps read: enough for a whole output row's run of pixels. */
static size_t zero_floats(const kn_conv_params *p, size_t kw, size_t ow, size_t c) {
    return ((kw - 1) * (size_t)p->dilation_w + (ow - 1) * (size_t)p->stride_w + 1) * c;
}

static kiln_status depthwise_prepare(kn_step *s, size_t *scratch) {
    const kn_tensor *f = s->in[1], *y = s->out[0];
    if (f->dims[3] != 1) return KILN_OK;
    s->state = (void *)kn_dwconv_config_get();
    /* The zeros for padded taps, then one pixel's tap pointers. */
    size_t zeros = zero_floats(s->params, (size_t)f->dims[1], (size_t)y->dims[2], (size_t)f->dims[2]);
    *scratch = kn_zero_row_bytes(zeros) + sizeof(float *) * (size_t)f->dims[0] * (size_t)f->dims[1];
    return KILN_OK;
}

/* Tap pointers of output pixel (oh, ow) of image xn; taps outside the input read zeros. */
static void pixel_taps(const kn_conv_params *p, const float *xn, const float *zero, size_t H, size_t W, size_t C,
                       size_t KH, size_t KW, size_t oh, size_t ow, const float **taps) {
    for (size_t kh = 0; kh < KH; kh++) {
        int64_t ih = (int64_t)(oh * (size_t)p->stride_h + kh * (size_t)p->dilation_h) - p->pad_top;
        for (size_t kw = 0; kw < KW; kw++) {
            int64_t iw = (int64_t)(ow * (size_t)p->stride_w + kw * (size_t)p->dilation_w) - p->pad_left;
            bool inside = ih >= 0 && ih < (int64_t)H && iw >= 0 && iw < (int64_t)W;
            /* A padded row's taps point into the zeros where a run of pixels can advance from. */
            taps[kh * KW + kw] = inside ? xn + ((size_t)ih * W + (size_t)iw) * C
                                 : zero + (iw >= 0 && iw < (int64_t)W ? kw * (size_t)p->dilation_w * C : 0);
        }
    }
}

static kiln_status depthwise_eval(const kn_step *s, void *scratch) {
    const kn_dwconv_config *dw = s->state;
    if (!dw) return depthwise_eval_reference(s);
    const kn_conv_params *p = s->params;
    const kn_tensor *xt = s->in[0], *ft = s->in[1], *yt = s->out[0];
    const float *x = xt->data, *w = ft->data;
    const float *bias = s->n_in > 2 && s->in[2] ? s->in[2]->data : NULL;
    float *y = yt->data;
    const size_t H = (size_t)xt->dims[1], W = (size_t)xt->dims[2], C = (size_t)xt->dims[3];
    const size_t KH = (size_t)ft->dims[0], KW = (size_t)ft->dims[1];
    const size_t N = (size_t)yt->dims[0], OH = (size_t)yt->dims[1], OW = (size_t)yt->dims[2];
    const size_t sw = (size_t)p->stride_w;
    size_t zeros = zero_floats(p, KW, OW, C);
    float *zero = scratch;
    const float **taps = (const float **)(void *)((char *)scratch + kn_zero_row_bytes(zeros));
    memset(zero, 0, sizeof(float) * zeros);
    float lo, hi;
    kn_act_clamp(p->act, &lo, &hi);
    /* Output columns whose every tap lies inside the input's width: [first, end). */
    size_t first, end;
    kn_window_interior(W, KW, sw, (size_t)p->dilation_w, (size_t)p->pad_left, OW, &first, &end);
    /* 3x3 filters (nearly all of them) have a row kernel for strides 1 and 2. */
    kn_dwconv3x3_fn row3 = KH == 3 && KW == 3 && p->dilation_h == 1 && p->dilation_w == 1 && sw <= 2
                               ? dw->dwconv3x3[sw - 1] : NULL;
    for (size_t n = 0; n < N; n++) {
        const float *xn = x + n * H * W * C;
        for (size_t oh = 0; oh < OH; oh++) {
            float *row = y + (n * OH + oh) * OW * C;
            for (size_t ow = 0; ow < OW; ow++) {
                if (ow == first && end > first) { /* the interior: one call, pixels sw * C apart */
                    pixel_taps(p, xn, zero, H, W, C, KH, KW, oh, ow, taps);
                    if (row3) {
                        /* Each filter row's first tap; a padded row's is already the zeros' start. */
                        const float *rows[3] = {taps[0], taps[3], taps[6]};
                        row3(C, rows, end - first, w, bias, row + ow * C, lo, hi);
                    } else {
                        dw->dwconv(C, KH * KW, taps, sw * C, end - first, w, C, bias, row + ow * C, C, lo, hi);
                    }
                    ow = end - 1;
                    continue;
                }
                pixel_taps(p, xn, zero, H, W, C, KH, KW, oh, ow, taps);
                dw->dwconv(C, KH * KW, taps, 0, 1, w, C, bias, row + ow * C, C, lo, hi);
            }
        }
    }
    kn_act_after_clamp(s, p->act, p->act_alpha, y, kn_tensor_count(yt), C);
    return KILN_OK;
}

static double depthwise_flops(const kn_step *s) {
    const kn_tensor *f = s->in[1];
    return 2.0 * (double)kn_tensor_count(s->out[0]) * f->dims[0] * f->dims[1];
}

const kn_op_def kn_op_depthwise_conv2d = {
    .name = "DepthwiseConv2dNative",
    .n_params = sizeof(kn_conv_params) / 4,
    .infer = depthwise_infer,
    .prepare = depthwise_prepare,
    .eval = depthwise_eval,
    .flops = depthwise_flops,
};
