/* Conv2D: x[N,H,W,C] * filter[KH,KW,C,OC] (HWIO) + bias[OC], then the fused
 * activation; explicit pads, strides and dilations, as TensorFlow's.
 *
 * With constant weights (the normal case), prepare packs them once for the
 * machine's GEMM microkernel (kernels/gemm.h): a 1x1 stride-1 convolution is
 * then one GEMM over the pixels, any other an indirect GEMM that reads input
 * rows through per-tap pointers (no im2col buffer). Non-constant weights use
 * the direct reference loop, which the tests also compare the fast path with. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
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

/* The direct loop: any weights, slow. */
static kiln_status conv2d_eval_reference(const kn_step *s) {
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

typedef struct {
    const kn_gemm_config *gemm;
    float *packed; /* weights and bias, packed for gemm */
} conv2d_state;

/* Weight panels a row block streams through should stay in L2. */
#define KN_PANEL_BUDGET (256u * 1024u)

static kiln_status conv2d_prepare(kn_step *s, size_t *scratch) {
    const kn_tensor *f = s->in[1], *b = s->n_in > 2 ? s->in[2] : NULL;
    if (!f->data || (b && !b->data)) return KILN_OK; /* weights computed at run time: reference loop */
    const int32_t KH = f->dims[0], KW = f->dims[1], C = f->dims[2], OC = f->dims[3];
    conv2d_state *st = malloc(sizeof *st);
    if (!st) return kn_fail(KILN_ERR_OUT_OF_MEMORY, "out of memory packing weights");
    st->gemm = kn_gemm_config_for((size_t)OC);
    size_t k = (size_t)KH * KW * C, floats = kn_gemm_packed_floats(k, (size_t)OC, st->gemm->nr);
    st->packed = aligned_alloc(64, (floats * sizeof(float) + 63) & ~(size_t)63);
    if (!st->packed) {
        free(st);
        return kn_fail(KILN_ERR_OUT_OF_MEMORY, "out of memory packing %zu weights", floats);
    }
    kn_gemm_pack(k, (size_t)OC, st->gemm->nr, f->data, (size_t)OC, b ? b->data : NULL, st->packed);
    s->state = st;
    /* A zero row for padded taps, then the indirection pointers of one row block. */
    *scratch = kn_zero_row_bytes((size_t)C) + sizeof(float *) * st->gemm->mr * (size_t)KH * KW;
    return KILN_OK;
}

static void conv2d_release(void *state) {
    conv2d_state *st = state;
    free(st->packed);
    free(st);
}

/* Output channels per pass over the rows: as many NR-panels as fit the budget. */
static size_t panel_block(size_t k, size_t oc, size_t nr) {
    size_t panels = KN_PANEL_BUDGET / ((k + 1) * nr * sizeof(float));
    size_t block = (panels ? panels : 1) * nr;
    return block < oc ? block : oc;
}


static kiln_status conv2d_eval(const kn_step *s, void *scratch) {
    const conv2d_state *st = s->state;
    if (!st) return conv2d_eval_reference(s);
    const kn_conv_params *p = s->params;
    const kn_tensor *xt = s->in[0], *ft = s->in[1], *yt = s->out[0];
    const float *x = xt->data;
    float *y = yt->data;
    const size_t H = (size_t)xt->dims[1], W = (size_t)xt->dims[2], C = (size_t)xt->dims[3];
    const size_t KH = (size_t)ft->dims[0], KW = (size_t)ft->dims[1], OC = (size_t)ft->dims[3];
    const size_t N = (size_t)yt->dims[0], OH = (size_t)yt->dims[1], OW = (size_t)yt->dims[2];
    const size_t mr = st->gemm->mr, nr = st->gemm->nr, k = KH * KW * C;
    const size_t nb = panel_block(k, OC, nr), panel_floats = nr * (k + 1);
    float lo, hi;
    kn_act_clamp(p->act, &lo, &hi);

    bool pointwise = KH == 1 && KW == 1 && p->stride_h == 1 && p->stride_w == 1 && !p->pad_top && !p->pad_left &&
                     !p->pad_bottom && !p->pad_right;
    if (pointwise) {
        const size_t m = N * H * W; /* the input pixels are the GEMM's rows */
        for (size_t n0 = 0; n0 < OC; n0 += nb) {
            size_t nc = OC - n0 < nb ? OC - n0 : nb;
            const float *w = st->packed + n0 / nr * panel_floats;
            for (size_t m0 = 0; m0 < m; m0 += mr)
                st->gemm->gemm(m - m0 < mr ? m - m0 : mr, nc, C, x + m0 * C, C, w, y + m0 * OC + n0, OC, lo, hi);
        }
    } else {
        float *zero = scratch;
        const float **ptrs = (const float **)(void *)((char *)scratch + kn_zero_row_bytes(C));
        memset(zero, 0, sizeof(float) * C);
        const size_t pixels = OH * OW, ks = KH * KW;
        for (size_t n = 0; n < N; n++) {
            const float *xn = x + n * H * W * C;
            float *yn = y + n * pixels * OC;
            for (size_t m0 = 0; m0 < pixels; m0 += mr) {
                size_t rows = pixels - m0 < mr ? pixels - m0 : mr;
                /* Row i's pointer for tap t; rows past `rows` repeat the last. */
                for (size_t i = 0; i < mr; i++) {
                    size_t pix = m0 + (i < rows ? i : rows - 1), oh = pix / OW, ow = pix % OW;
                    for (size_t kh = 0; kh < KH; kh++) {
                        int64_t ih = (int64_t)(oh * (size_t)p->stride_h + kh * (size_t)p->dilation_h) - p->pad_top;
                        for (size_t kw = 0; kw < KW; kw++) {
                            int64_t iw = (int64_t)(ow * (size_t)p->stride_w + kw * (size_t)p->dilation_w) - p->pad_left;
                            bool inside = ih >= 0 && ih < (int64_t)H && iw >= 0 && iw < (int64_t)W;
                            ptrs[(kh * KW + kw) * mr + i] = inside ? xn + ((size_t)ih * W + (size_t)iw) * C : zero;
                        }
                    }
                }
                for (size_t n0 = 0; n0 < OC; n0 += nb) {
                    size_t nc = OC - n0 < nb ? OC - n0 : nb;
                    st->gemm->igemm(rows, nc, C, ks, ptrs, st->packed + n0 / nr * panel_floats, yn + m0 * OC + n0,
                                    OC, lo, hi);
                }
            }
        }
    }
    kn_act_after_clamp(s, p->act, p->act_alpha, y, kn_tensor_count(yt), OC);
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
    .prepare = conv2d_prepare,
    .release = conv2d_release,
    .eval = conv2d_eval,
    .flops = conv2d_flops,
};
