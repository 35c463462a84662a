/* Conv2D: x[N,H,W,C] * filter[KH,KW,C,OC] (HWIO) + bias[OC], then the fused
 * activation; explicit pads, strides and dilations, as TensorFlow's. */
#include <string.h>

#include "ops/ops.h"
#include "ops/activation.h"
#include "ops/nn_util.h"

static kiln_status conv2d_infer(const kn_step *s, kn_tensor *out) {
    const kn_conv_params *p = s->params;
    kiln_status st;
    if ((st = kn_check_operand_count(s, 2, 4)) || (st = kn_expect_inputs(s, 0, 2, KILN_FLOAT32)) ||
        (st = kn_check_dims(s->in[0], "input", 4)) || (st = kn_check_dims(s->in[1], "filter", 4)))
        return st;
    const kn_tensor *x = s->in[0], *f = s->in[1];
    if (f->dims[2] != x->dims[3])
        return kn_fail(KILN_ERR_BAD_BUNDLE, "filter is %S, expected [KH,KW,%d,OC] for input %S", f, x->dims[3], x);
    int32_t dims[4] = {x->dims[0], 0, 0, f->dims[3]};
    if ((st = kn_conv_out_hw(p, x, f, dims)) || (st = kn_check_bias(s, dims[3])) ||
        (st = kn_act_check(s, p->act, 3, dims[3])))
        return st;
    return kn_set_checked_shape(out, KILN_FLOAT32, 4, dims);
}

static kiln_status conv2d_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_conv_params *p = s->params;
    const kn_tensor *xt = s->in[0], *ft = s->in[1], *yt = s->out[0];
    const float *x = xt->data, *w = ft->data;
    const float *bias = s->n_in > 2 && s->in[2] ? s->in[2]->data : NULL;
    const float *prelu = s->n_in > 3 && s->in[3] ? s->in[3]->data : NULL;
    float *y = yt->data;
    const int32_t H = xt->dims[1], W = xt->dims[2], C = xt->dims[3];
    const int32_t KH = ft->dims[0], KW = ft->dims[1], OC = ft->dims[3];
    const int32_t N = yt->dims[0], OH = yt->dims[1], OW = yt->dims[2];

    for (int32_t n = 0; n < N; n++) {
        for (int32_t oh = 0; oh < OH; oh++) {
            int64_t ih0 = (int64_t)oh * p->stride_h - p->pad_top;
            int32_t kh0, kh1;
            kn_tap_range(ih0, KH, p->dilation_h, H, &kh0, &kh1);
            for (int32_t ow = 0; ow < OW; ow++) {
                int64_t iw0 = (int64_t)ow * p->stride_w - p->pad_left;
                int32_t kw0, kw1;
                kn_tap_range(iw0, KW, p->dilation_w, W, &kw0, &kw1);
                /* Accumulate the OC outputs of this pixel in place: each input
                 * value scales one contiguous filter row [kh,kw,c,:]. */
                float *restrict acc = y + (((size_t)n * OH + oh) * OW + ow) * OC;
                if (bias) memcpy(acc, bias, sizeof(float) * (size_t)OC);
                else memset(acc, 0, sizeof(float) * (size_t)OC);
                for (int32_t kh = kh0; kh < kh1; kh++) {
                    size_t ih = (size_t)(ih0 + (int64_t)kh * p->dilation_h);
                    for (int32_t kw = kw0; kw < kw1; kw++) {
                        size_t iw = (size_t)(iw0 + (int64_t)kw * p->dilation_w);
                        const float *xp = x + (((size_t)n * H + ih) * W + iw) * C;
                        const float *wp = w + ((size_t)kh * KW + kw) * C * OC;
                        for (int32_t c = 0; c < C; c++) {
                            const float xv = xp[c];
                            const float *restrict wr = wp + (size_t)c * OC;
                            for (int32_t oc = 0; oc < OC; oc++) acc[oc] += xv * wr[oc];
                        }
                    }
                }
                kn_act_apply(acc, (size_t)OC, p->act, p->act_alpha, prelu, (size_t)OC);
            }
        }
    }
    return KILN_OK;
}

static double conv2d_flops(const kn_step *s) {
    const kn_tensor *f = s->in[1];
    return 2.0 * (double)kn_tensor_count(s->out[0]) * f->dims[0] * f->dims[1] * f->dims[2];
}

const kn_op_def kn_op_conv2d = {
    .name = "Conv2D",
    .n_params = sizeof(kn_conv_params) / 4,
    .infer = conv2d_infer,
    .eval = conv2d_eval,
    .flops = conv2d_flops,
};
