/* Conv2D: x[N,H,W,C] * filter[KH,KW,C,OC] (HWIO) + bias[OC] (+ residual[N,OH,OW,OC],
 * operand 4: a ResNet-style shortcut added in the epilogue), then the fused
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

/* Operand 4, added to the output before the activation; NULL if absent. */
static const kn_tensor *residual_of(const kn_step *s) { return s->n_in > 4 ? s->in[4] : NULL; }

static kiln_status conv2d_infer(const kn_step *s, kn_tensor *out) {
    const kn_conv_params *p = s->params;
    kiln_status st;
    if ((st = kn_check_operand_count(s, 2, 5)) || (st = kn_expect_inputs(s, 0, 2, KILN_FLOAT32)) ||
        (st = kn_check_dims(s->in[0], "input", 4)) || (st = kn_check_dims(s->in[1], "filter", 4)))
        return st;
    const kn_tensor *x = s->in[0], *f = s->in[1];
    if (f->dims[2] != x->dims[3])
        return kn_fail(KILN_ERR_BAD_BUNDLE, "filter is %S, expected [KH,KW,%d,OC] for input %S", f, x->dims[3], x);
    int32_t dims[4] = {x->dims[0], 0, 0, f->dims[3]};
    if ((st = kn_conv_out_hw(p, x, f, dims)) || (st = kn_check_bias(s, dims[3])) ||
        (st = kn_act_check(s, p->act, 3, dims[3])) || (st = kn_set_checked_shape(out, KILN_FLOAT32, 4, dims)))
        return st;
    const kn_tensor *r = residual_of(s);
    if (r && !(r->dtype == KILN_FLOAT32 && kn_same_shape(r, out)))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "residual is %S, expected the output's shape %S", r, out);
    return KILN_OK;
}

/* The direct loop: any weights, slow. */
static kiln_status conv2d_eval_reference(const kn_step *s) {
    const kn_conv_params *p = s->params;
    const kn_tensor *xt = s->in[0], *ft = s->in[1], *yt = s->out[0];
    const float *x = xt->data, *w = ft->data;
    const float *bias = s->n_in > 2 && s->in[2] ? s->in[2]->data : NULL;
    const float *prelu = s->n_in > 3 && s->in[3] ? s->in[3]->data : NULL;
    const float *residual = residual_of(s) ? residual_of(s)->data : NULL;
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
                if (residual) {
                    const float *rp = residual + (acc - y);
                    for (int32_t oc = 0; oc < OC; oc++) acc[oc] += rp[oc];
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

/* The indirect GEMM's taps. With dilation_w 1 a tap is a whole filter row: its KW
 * columns of C channels are KW*C contiguous input values (NHWC), so the microkernel's
 * K loop runs KW*C long over KH pointers instead of C long over KH*KW (a first layer
 * with 3 channels and a 5x5 filter: 15 long, not 3). The packed weights are in the
 * same (kh, kw, c) order either way. */
typedef struct {
    size_t run;     /* filter columns per tap: KW, or 1 when dilation_w > 1 */
    size_t kc;      /* values per tap: run * C */
    size_t per_row; /* taps per filter row: KW / run */
} conv_taps;

static conv_taps taps_of(const kn_conv_params *p, size_t KW, size_t C) {
    size_t run = p->dilation_w == 1 ? KW : 1;
    return (conv_taps){run, run * C, KW / run};
}

/* Scratch: a zero tap for rows in the padding, a copy of each tap of one row block that
 * hangs over the left or right edge (zeros outside), then the block's tap pointers. */
static size_t taps_zero_bytes(const conv_taps *t) { return kn_zero_row_bytes(t->kc); }
static size_t taps_edge_bytes(const conv_taps *t, size_t KH, size_t mr) {
    return kn_zero_row_bytes(mr * KH * t->per_row * t->kc);
}
static size_t taps_scratch_bytes(const conv_taps *t, size_t KH, size_t mr) {
    return taps_zero_bytes(t) + taps_edge_bytes(t, KH, mr) + sizeof(float *) * mr * KH * t->per_row;
}

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
    conv_taps t = taps_of(s->params, (size_t)KW, (size_t)C);
    *scratch = taps_scratch_bytes(&t, (size_t)KH, st->gemm->mr);
    return KILN_OK;
}

static void conv2d_release(void *state) {
    conv2d_state *st = state;
    free(st->packed);
    free(st);
}

/* What the indirection of an image needs, in sizes. */
typedef struct {
    conv_taps taps;
    size_t H, W, C, KH, OW, sh, sw, dh, dw, pt, pl;
    size_t oh0, oh1, ow0, ow1; /* output rows and columns whose taps read no padding */
} conv_geometry;

static conv_geometry geometry_of(const kn_conv_params *p, const kn_tensor *x, const kn_tensor *f, const kn_tensor *y,
                                 const conv_taps *t) {
    conv_geometry g = {*t, (size_t)x->dims[1], (size_t)x->dims[2], (size_t)x->dims[3], (size_t)f->dims[0],
                       (size_t)y->dims[2], (size_t)p->stride_h, (size_t)p->stride_w, (size_t)p->dilation_h,
                       (size_t)p->dilation_w, (size_t)p->pad_top, (size_t)p->pad_left, 0, 0, 0, 0};
    kn_window_interior(g.H, g.KH, g.sh, g.dh, g.pt, (size_t)y->dims[1], &g.oh0, &g.oh1);
    kn_window_interior(g.W, (size_t)f->dims[1], g.sw, g.dw, g.pl, g.OW, &g.ow0, &g.ow1);
    return g;
}

/* Tap pointers of output pixel (oh, ow), row i of the block, when some tap reads padding:
 * rows outside read the zero tap, runs partly outside read a padded copy in `edge`. */
static void edge_pixel_taps(const conv_geometry *g, const float *xn, size_t oh, size_t ow, size_t i, size_t mr,
                            const float *zero, float *edge, const float **ptrs) {
    const conv_taps *tp = &g->taps;
    const size_t ks = g->KH * tp->per_row;
    for (size_t kh = 0, t = 0; kh < g->KH; kh++) {
        int64_t ih = (int64_t)(oh * g->sh + kh * g->dh) - (int64_t)g->pt;
        for (size_t r = 0; r < tp->per_row; r++, t++) {
            int64_t iw = (int64_t)(ow * g->sw + r * g->dw) - (int64_t)g->pl;
            /* The run's columns [c0, c1) lie inside the input. */
            int64_t c0 = iw < 0 ? -iw : 0, c1 = (int64_t)g->W - iw;
            if (c1 > (int64_t)tp->run) c1 = (int64_t)tp->run;
            if (ih < 0 || ih >= (int64_t)g->H || c0 >= c1) {
                ptrs[t * mr + i] = zero;
                continue;
            }
            const float *src = xn + ((size_t)ih * g->W + (size_t)(iw + c0)) * g->C;
            if (c0 == 0 && c1 == (int64_t)tp->run) {
                ptrs[t * mr + i] = src;
            } else {
                float *e = edge + (i * ks + t) * tp->kc;
                memset(e, 0, sizeof(float) * tp->kc);
                memcpy(e + (size_t)c0 * g->C, src, sizeof(float) * (size_t)(c1 - c0) * g->C);
                ptrs[t * mr + i] = e;
            }
        }
    }
}

/* The tap pointers of a row block: `rows` output pixels from (oh, ow) on, then rows up to
 * mr repeating the last. A block inside one output row that reads no padding (most of
 * them) is pointers a stride apart. */
static void block_taps(const conv_geometry *g, const float *xn, size_t oh, size_t ow, size_t rows, size_t mr,
                       const float *zero, float *edge, const float **ptrs) {
    const conv_taps *tp = &g->taps;
    const size_t ks = g->KH * tp->per_row, C = g->C;
    if (oh >= g->oh0 && oh < g->oh1 && ow >= g->ow0 && ow + rows <= g->ow1) {
        const float *at = xn + ((oh * g->sh - g->pt) * g->W + ow * g->sw - g->pl) * C;
        for (size_t kh = 0, t = 0; kh < g->KH; kh++, at += g->dh * g->W * C)
            for (size_t r = 0; r < tp->per_row; r++, t++) {
                const float *tap = at + r * g->dw * C;
                const float **row = ptrs + t * mr;
                for (size_t i = 0; i < rows; i++) row[i] = tap + i * g->sw * C;
                for (size_t i = rows; i < mr; i++) row[i] = row[rows - 1];
            }
        return;
    }
    for (size_t i = 0; i < rows; i++) {
        edge_pixel_taps(g, xn, oh, ow, i, mr, zero, edge, ptrs);
        if (++ow == g->OW) ow = 0, oh++;
    }
    for (size_t i = rows; i < mr; i++)
        for (size_t t = 0; t < ks; t++) ptrs[t * mr + i] = ptrs[t * mr + rows - 1];
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
    const float *x = xt->data, *res = residual_of(s) ? residual_of(s)->data : NULL;
    float *y = yt->data;
    const size_t H = (size_t)xt->dims[1], W = (size_t)xt->dims[2], C = (size_t)xt->dims[3];
    const size_t KH = (size_t)ft->dims[0], KW = (size_t)ft->dims[1], OC = (size_t)ft->dims[3];
    const size_t N = (size_t)yt->dims[0], OH = (size_t)yt->dims[1], OW = (size_t)yt->dims[2];
    const size_t mr = st->gemm->mr, nr = st->gemm->nr, k = KH * KW * C;
    const size_t nb = panel_block(k, OC, nr), panel_floats = nr * (k + 1);
    /* The microkernel's epilogue adds the residual and applies PReLU or the clamp; what
     * neither does (ELU, sigmoid, tanh, leaky relu) runs over the output afterwards. */
    const bool prelu = p->act == KN_ACT_PRELU;
    const float *slopes = prelu ? s->in[3]->data : NULL;
    kn_gemm_epilogue ep = {.r_stride = OC};
    kn_act_clamp(p->act, &ep.min, &ep.max);

    bool pointwise = KH == 1 && KW == 1 && p->stride_h == 1 && p->stride_w == 1 && !p->pad_top && !p->pad_left &&
                     !p->pad_bottom && !p->pad_right;
    if (pointwise) {
        const size_t m = N * H * W; /* the input pixels are the GEMM's rows */
        for (size_t n0 = 0; n0 < OC; n0 += nb) {
            size_t nc = OC - n0 < nb ? OC - n0 : nb;
            const float *w = st->packed + n0 / nr * panel_floats;
            ep.r = res ? res + n0 : NULL;
            ep.slopes = prelu ? slopes + n0 : NULL;
            st->gemm->gemm(m, nc, C, x, C, w, y + n0, OC, &ep);
        }
    } else {
        const conv_taps tp = taps_of(p, KW, C);
        const size_t ks = KH * tp.per_row, pixels = OH * OW;
        float *zero = scratch, *edge = (float *)(void *)((char *)scratch + taps_zero_bytes(&tp));
        const float **ptrs = (const float **)(void *)((char *)edge + taps_edge_bytes(&tp, KH, mr));
        memset(zero, 0, sizeof(float) * tp.kc);
        const conv_geometry g = geometry_of(p, xt, ft, yt, &tp);
        for (size_t n = 0; n < N; n++) {
            const float *xn = x + n * H * W * C;
            float *yn = y + n * pixels * OC;
            const float *rn = res ? res + n * pixels * OC : NULL;
            /* (oh, ow): the block's first pixel, advanced without a division per block. */
            for (size_t m0 = 0, oh = 0, ow = 0; m0 < pixels; m0 += mr) {
                size_t rows = pixels - m0 < mr ? pixels - m0 : mr;
                block_taps(&g, xn, oh, ow, rows, mr, zero, edge, ptrs);
                for (ow += mr; ow >= OW; ow -= OW) oh++;
                for (size_t n0 = 0; n0 < OC; n0 += nb) {
                    size_t nc = OC - n0 < nb ? OC - n0 : nb;
                    ep.r = rn ? rn + m0 * OC + n0 : NULL;
                    ep.slopes = prelu ? slopes + n0 : NULL;
                    st->gemm->igemm(rows, nc, tp.kc, ks, ptrs, st->packed + n0 / nr * panel_floats, yn + m0 * OC + n0,
                                    OC, &ep);
                }
            }
        }
    }
    if (!prelu) kn_act_after_clamp(s, p->act, p->act_alpha, y, kn_tensor_count(yt), OC);
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
