/* Conv2D transpose (TF Conv2DBackpropInput): x[N,H,W,C] and filter
 * [KH,KW,OC,C] give y[N,out_h,out_w,OC], the gradient with respect to its
 * input of a Conv2D (these strides, dilations and pads) whose input is y and
 * whose output is x: x[n,h,w,c] scatters x * filter[kh,kw,oc,c] to
 * y[n, h*stride_h - pad_top + kh*dilation_h, w*stride_w - pad_left + kw*dilation_w, oc].
 * Then bias[OC] and the fused activation, as Conv2D.
 *
 * The kernel gathers: output o along an axis (stride s, pad p, dilation d)
 * receives tap t from input (o + p - t*d) / s exactly when t*d = o + p
 * (mod s). So the output's phase (o + p) mod s picks a fixed group of taps,
 * and each phase of the output (a sub-grid of stride s) is an ordinary
 * convolution with that group, whose input index moves by one as the output
 * moves by s. prepare groups the taps; with constant weights and enough
 * output channels to fill the GEMM tile it also packs each group pair for
 * the microkernel (kernels/gemm.h), and eval runs an indirect GEMM per phase
 * and output row. Otherwise eval accumulates dot products of input pixels
 * with filter rows [kh,kw,oc,:]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "ops/ops.h"
#include "ops/activation.h"
#include "ops/nn_util.h"

static kiln_status conv_transpose_infer(const kn_step *s, kn_tensor *out) {
    const kn_conv_transpose_params *p = s->params;
    kiln_status st;
    if ((st = kn_check_operand_count(s, 2, 4)) || (st = kn_expect_inputs(s, 0, 2, KILN_FLOAT32)) ||
        (st = kn_check_dims(s->in[0], "input", 4)) || (st = kn_check_dims(s->in[1], "filter", 4)))
        return st;
    const kn_tensor *x = s->in[0], *f = s->in[1];
    if (f->dims[3] != x->dims[3])
        return kn_fail(KILN_ERR_BAD_BUNDLE, "filter is %S, expected [KH,KW,OC,%d] for input %S", f, x->dims[3], x);
    if (p->out_h < 1 || p->out_w < 1)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "output size %dx%d, expected each >= 1", p->out_h, p->out_w);
    /* The forward conv must map the output's size back to the input's. */
    kn_tensor fwd_in = {.name = "", .dtype = KILN_FLOAT32, .rank = 4, .dims = {x->dims[0], p->out_h, p->out_w, f->dims[2]}};
    int32_t fwd[4] = {0};
    if ((st = kn_conv_out_hw(&p->conv, &fwd_in, f, fwd))) return st;
    if (fwd[1] != x->dims[1] || fwd[2] != x->dims[2])
        return kn_fail(KILN_ERR_BAD_BUNDLE,
                       "a conv of a %dx%d input with these params gives %dx%d, but the input is %S",
                       p->out_h, p->out_w, fwd[1], fwd[2], x);
    int32_t dims[4] = {x->dims[0], p->out_h, p->out_w, f->dims[2]};
    if ((st = kn_check_bias(s, dims[3])) || (st = kn_act_check(s, p->conv.act, 3, dims[3]))) return st;
    return kn_set_checked_shape(out, KILN_FLOAT32, 4, dims);
}

/* ---- prepare: tap groups, and packed weights ---------------------------------- */

/* The taps of one axis grouped by phase: group g holds the taps t with
 * t*dilation mod stride == phase[g], listed in order[start[g] .. start[g+1]).
 * Phases no tap has get no group: their outputs are the bias alone. */
typedef struct {
    int32_t n_groups, most; /* groups, and taps in the largest */
    int32_t *phase, *start, *order;
} tap_groups;

typedef struct {
    tap_groups h, w;
    const kn_gemm_config *gemm; /* the rest only with packed weights */
    size_t *packed_at;          /* [h group * w.n_groups + w group]: where its weights start in packed */
    float *packed;
} ct_state;

static int compare_keys(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool group_taps(int32_t k, int32_t stride, int32_t dilation, tap_groups *g) {
    int64_t *keys = malloc(sizeof(int64_t) * (size_t)k); /* phase * k + tap: sorts by phase, then tap */
    g->phase = malloc(sizeof(int32_t) * (size_t)k);
    g->start = malloc(sizeof(int32_t) * ((size_t)k + 1));
    g->order = malloc(sizeof(int32_t) * (size_t)k);
    if (!keys || !g->phase || !g->start || !g->order) {
        free(keys);
        return false;
    }
    for (int32_t t = 0; t < k; t++) keys[t] = (int64_t)t * dilation % stride * k + t;
    qsort(keys, (size_t)k, sizeof *keys, compare_keys);
    g->n_groups = g->most = 0;
    for (int32_t i = 0; i < k; i++) {
        int32_t phase = (int32_t)(keys[i] / k);
        g->order[i] = (int32_t)(keys[i] % k);
        if (i == 0 || phase != g->phase[g->n_groups - 1]) {
            g->phase[g->n_groups] = phase;
            g->start[g->n_groups++] = i;
        }
    }
    g->start[g->n_groups] = k;
    for (int32_t i = 0; i < g->n_groups; i++)
        if (g->start[i + 1] - g->start[i] > g->most) g->most = g->start[i + 1] - g->start[i];
    free(keys);
    return true;
}

/* The group of taps of output phase `phase`, or -1 if no tap has it. */
static int32_t group_of(const tap_groups *g, int64_t phase) {
    for (int32_t i = 0; i < g->n_groups; i++)
        if (g->phase[i] == phase) return i;
    return -1;
}

static void ct_release(void *state) {
    ct_state *st = state;
    free(st->h.phase), free(st->h.start), free(st->h.order);
    free(st->w.phase), free(st->w.start), free(st->w.order);
    free(st->packed_at);
    free(st->packed);
    free(st);
}

/* Packs group pair (gh, gw): rows tap by tap (h taps outer), C per tap,
 * each row the OC weights of filter[kh,kw,:,c], as the igemm reads them. */
static void pack_pair(const ct_state *st, int32_t gh, int32_t gw, const kn_tensor *f, const float *bias, float *tmp,
                      float *packed) {
    const int32_t KW = f->dims[1];
    const size_t OC = (size_t)f->dims[2], C = (size_t)f->dims[3];
    const float *w = f->data;
    const int32_t *khs = st->h.order + st->h.start[gh], *kws = st->w.order + st->w.start[gw];
    const int32_t nh = st->h.start[gh + 1] - st->h.start[gh], nw = st->w.start[gw + 1] - st->w.start[gw];
    float *row = tmp;
    for (int32_t a = 0; a < nh; a++)
        for (int32_t b = 0; b < nw; b++) {
            const float *tap = w + ((size_t)khs[a] * KW + kws[b]) * OC * C;
            for (size_t c = 0; c < C; c++, row += OC)
                for (size_t oc = 0; oc < OC; oc++) row[oc] = tap[oc * C + c];
        }
    kn_gemm_pack((size_t)nh * nw * C, OC, st->gemm->nr, tmp, OC, bias, packed);
}

/* Packs every group pair (prepare checked the sizes fit); false when out of memory. */
static bool pack_all(ct_state *st, const kn_tensor *f, const float *bias) {
    const size_t OC = (size_t)f->dims[2], C = (size_t)f->dims[3], nr = st->gemm->nr;
    const size_t pairs = (size_t)st->h.n_groups * (size_t)st->w.n_groups;
    st->packed_at = malloc(sizeof(size_t) * pairs);
    if (!st->packed_at) return false;
    size_t total = 0;
    for (int32_t gh = 0; gh < st->h.n_groups; gh++)
        for (int32_t gw = 0; gw < st->w.n_groups; gw++) {
            size_t taps = (size_t)(st->h.start[gh + 1] - st->h.start[gh]) * (size_t)(st->w.start[gw + 1] - st->w.start[gw]);
            st->packed_at[(size_t)gh * st->w.n_groups + gw] = total;
            total += kn_gemm_packed_floats(taps * C, OC, nr);
        }
    st->packed = aligned_alloc(64, (total * sizeof(float) + 63) & ~(size_t)63);
    float *tmp = malloc(sizeof(float) * (size_t)st->h.most * (size_t)st->w.most * C * OC);
    if (!st->packed || !tmp) {
        free(tmp);
        return false;
    }
    for (int32_t gh = 0; gh < st->h.n_groups; gh++)
        for (int32_t gw = 0; gw < st->w.n_groups; gw++)
            pack_pair(st, gh, gw, f, bias, tmp, st->packed + st->packed_at[(size_t)gh * st->w.n_groups + gw]);
    free(tmp);
    return true;
}

/* Scratch of the GEMM path: a zero row for taps that land outside x, then
 * the tap pointers of one row block. */
static uint64_t gemm_scratch(const ct_state *st, size_t C) {
    return kn_zero_row_bytes(C) + sizeof(float *) * (uint64_t)st->gemm->mr * (uint64_t)st->h.most * st->w.most;
}

/* The GEMM tile computes nr output channels at once: with fewer than half
 * of that, dot products waste less. */
static kiln_status conv_transpose_prepare(kn_step *s, size_t *scratch) {
    const kn_conv_params *p = &((const kn_conv_transpose_params *)s->params)->conv;
    const kn_tensor *f = s->in[1], *b = s->n_in > 2 ? s->in[2] : NULL;
    const uint64_t OC = (uint64_t)f->dims[2], C = (uint64_t)f->dims[3];
    ct_state *st = calloc(1, sizeof *st);
    if (!st || !group_taps(f->dims[0], p->stride_h, p->dilation_h, &st->h) ||
        !group_taps(f->dims[1], p->stride_w, p->dilation_w, &st->w)) {
        if (st) ct_release(st);
        return kn_fail(KILN_ERR_OUT_OF_MEMORY, "out of memory grouping conv transpose taps");
    }
    s->state = st;
    const kn_gemm_config *gemm = kn_gemm_config_get();
    if (!f->data || (b && !b->data) || 2 * OC < gemm->nr) return KILN_OK;
    st->gemm = gemm;
    /* Packed: the filter (each tap is in exactly one group pair) plus a bias
     * row and panel padding per pair; the staging buffer: the largest pair. */
    uint64_t pairs = (uint64_t)st->h.n_groups * (uint64_t)st->w.n_groups, panels = (OC + gemm->nr - 1) / gemm->nr;
    uint64_t packed = panels * gemm->nr * ((uint64_t)f->dims[0] * (uint64_t)f->dims[1] * C + pairs) * sizeof(float);
    uint64_t staging = (uint64_t)st->h.most * (uint64_t)st->w.most * C * OC * sizeof(float);
    uint64_t bytes = gemm_scratch(st, (size_t)C);
    if (packed > SIZE_MAX / 2 || staging > SIZE_MAX / 2 || bytes > SIZE_MAX)
        return kn_fail(KILN_ERR_OUT_OF_MEMORY, "conv transpose weights %S are too large to pack", f);
    if (!pack_all(st, f, b ? b->data : NULL))
        return kn_fail(KILN_ERR_OUT_OF_MEMORY, "out of memory packing conv transpose weights");
    *scratch = (size_t)bytes;
    return KILN_OK;
}

/* ---- eval ------------------------------------------------------------------------- */

/* One phase of one output row: `count` pixels, `stride` floats apart from
 * y, all reached by the taps khs[0..nh) x kws[0..nw); its first pixel is
 * output (oh, ow0). */
typedef struct {
    float *y;
    size_t count, stride;
    int64_t oh, ow0;
    const int32_t *khs, *kws;
    size_t nh, nw;
} phase_run;

/* Pixels no tap reaches, and the start of every other: the bias (or 0),
 * clamped to [lo, hi]. */
static void fill_bias(const phase_run *r, size_t OC, const float *bias, float lo, float hi) {
    float *y = r->y;
    for (size_t j = 0; j < r->count; j++, y += r->stride)
        for (size_t oc = 0; oc < OC; oc++) {
            float v = bias ? bias[oc] : 0.0f;
            y[oc] = v < lo ? lo : v > hi ? hi : v;
        }
}

/* x . w over n floats, in eight partial sums so that it vectorizes. */
static float dot(const float *restrict x, const float *restrict w, size_t n) {
    float part[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t l = 0; l < 8; l++) part[l] += x[i + l] * w[i + l];
    for (size_t l = 0; l < 4; l++) part[l] += part[l + 4]; /* a tree: short dependency chains */
    float sum = (part[0] + part[2]) + (part[1] + part[3]);
    for (; i < n; i++) sum += x[i] * w[i];
    return sum;
}

/* Tap by tap, each pixel of the run adds its input pixel's C values times
 * the OC filter rows [kh,kw,oc,:]; the input column moves by one per pixel. */
static void phase_direct(const kn_step *s, const phase_run *r, const float *xn) {
    const kn_conv_params *p = &((const kn_conv_transpose_params *)s->params)->conv;
    const kn_tensor *xt = s->in[0], *ft = s->in[1];
    const int64_t H = xt->dims[1], W = xt->dims[2], KW = ft->dims[1];
    const size_t C = (size_t)xt->dims[3], OC = (size_t)ft->dims[2];
    const float *w = ft->data;
    for (size_t a = 0; a < r->nh; a++) {
        int64_t ih = (r->oh + p->pad_top - (int64_t)r->khs[a] * p->dilation_h) / p->stride_h;
        if (ih < 0 || ih >= H) continue;
        for (size_t b = 0; b < r->nw; b++) {
            int64_t iw0 = (r->ow0 + p->pad_left - (int64_t)r->kws[b] * p->dilation_w) / p->stride_w;
            const float *wt = w + (size_t)(r->khs[a] * KW + r->kws[b]) * OC * C;
            /* Pixels j with 0 <= iw0 + j < W. */
            int64_t first = iw0 < 0 ? -iw0 : 0, end = W - iw0 < (int64_t)r->count ? W - iw0 : (int64_t)r->count;
            for (int64_t j = first; j < end; j++) {
                const float *xp = xn + (size_t)(ih * W + iw0 + j) * C;
                float *acc = r->y + (size_t)j * r->stride;
                for (size_t oc = 0; oc < OC; oc++) acc[oc] += dot(xp, wt + oc * C, C);
            }
        }
    }
}

/* The run in blocks of mr pixels, each an indirect GEMM over its taps. */
static void phase_gemm(const kn_step *s, const phase_run *r, const float *xn, const float *packed, const float *zero,
                       const float **ptrs, float lo, float hi) {
    const ct_state *st = s->state;
    const kn_conv_params *p = &((const kn_conv_transpose_params *)s->params)->conv;
    const kn_tensor *xt = s->in[0];
    const int64_t H = xt->dims[1], W = xt->dims[2];
    const size_t C = (size_t)xt->dims[3], OC = (size_t)s->out[0]->dims[3], mr = st->gemm->mr;
    for (size_t j0 = 0; j0 < r->count; j0 += mr) {
        size_t rows = r->count - j0 < mr ? r->count - j0 : mr;
        /* Row i's pointer for tap (a, b); rows past `rows` repeat the last. */
        for (size_t i = 0; i < mr; i++) {
            int64_t ow = r->ow0 + (int64_t)(j0 + (i < rows ? i : rows - 1)) * p->stride_w;
            for (size_t a = 0; a < r->nh; a++) {
                int64_t ih = (r->oh + p->pad_top - (int64_t)r->khs[a] * p->dilation_h) / p->stride_h;
                for (size_t b = 0; b < r->nw; b++) {
                    int64_t iw = (ow + p->pad_left - (int64_t)r->kws[b] * p->dilation_w) / p->stride_w;
                    bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                    ptrs[(a * r->nw + b) * mr + i] = inside ? xn + (size_t)(ih * W + iw) * C : zero;
                }
            }
        }
        st->gemm->igemm(rows, OC, C, r->nh * r->nw, ptrs, packed, r->y + j0 * r->stride, r->stride,
                        &(kn_gemm_epilogue){.min = lo, .max = hi});
    }
}

static kiln_status conv_transpose_eval(const kn_step *s, void *scratch) {
    const ct_state *st = s->state;
    const kn_conv_params *p = &((const kn_conv_transpose_params *)s->params)->conv;
    const kn_tensor *xt = s->in[0], *yt = s->out[0];
    const float *bias = s->n_in > 2 && s->in[2] ? s->in[2]->data : NULL;
    const int64_t H = xt->dims[1], W = xt->dims[2], N = yt->dims[0], OH = yt->dims[1], OW = yt->dims[2];
    const int64_t sh = p->stride_h, sw = p->stride_w;
    const size_t C = (size_t)xt->dims[3], OC = (size_t)yt->dims[3];
    /* The GEMM clamps for RELU and RELU6; other activations, and all of
     * them on the direct path, run over the whole output at the end. */
    const bool clamped = st->packed && (p->act == KN_ACT_RELU || p->act == KN_ACT_RELU6);
    const float lo = clamped ? 0.0f : -INFINITY, hi = clamped && p->act == KN_ACT_RELU6 ? 6.0f : INFINITY;
    float *zero = scratch;
    const float **ptrs = NULL;
    if (st->packed) {
        ptrs = (const float **)(void *)((char *)scratch + kn_zero_row_bytes(C));
        memset(zero, 0, sizeof(float) * C);
    }
    const int64_t phases_w = sw < OW ? sw : OW; /* column phases present in the output */

    for (int64_t n = 0; n < N; n++) {
        const float *xn = (const float *)xt->data + (size_t)(n * H * W) * C;
        for (int64_t oh = 0; oh < OH; oh++) {
            int32_t gh = group_of(&st->h, (oh + p->pad_top) % sh);
            for (int64_t ow0 = 0; ow0 < phases_w; ow0++) {
                int32_t gw = group_of(&st->w, (ow0 + p->pad_left) % sw);
                phase_run r = {.y = (float *)yt->data + (size_t)((n * OH + oh) * OW + ow0) * OC,
                               .count = (size_t)((OW - 1 - ow0) / sw + 1), .stride = (size_t)sw * OC,
                               .oh = oh, .ow0 = ow0};
                if (gh < 0 || gw < 0) {
                    fill_bias(&r, OC, bias, lo, hi);
                    continue;
                }
                r.khs = st->h.order + st->h.start[gh];
                r.kws = st->w.order + st->w.start[gw];
                r.nh = (size_t)(st->h.start[gh + 1] - st->h.start[gh]);
                r.nw = (size_t)(st->w.start[gw + 1] - st->w.start[gw]);
                if (st->packed) {
                    phase_gemm(s, &r, xn, st->packed + st->packed_at[(size_t)gh * st->w.n_groups + gw], zero, ptrs,
                               lo, hi);
                } else {
                    fill_bias(&r, OC, bias, lo, hi);
                    phase_direct(s, &r, xn);
                }
            }
        }
    }
    if (p->act != KN_ACT_NONE && !clamped) {
        const float *prelu = s->n_in > 3 && s->in[3] ? s->in[3]->data : NULL;
        kn_act_apply(yt->data, kn_tensor_count(yt), p->act, p->act_alpha, prelu, OC);
    }
    return KILN_OK;
}

/* Every input value times every filter tap (counting the few that land in the padding). */
static double conv_transpose_flops(const kn_step *s) {
    const kn_tensor *f = s->in[1];
    return 2.0 * (double)kn_tensor_count(s->in[0]) * f->dims[0] * f->dims[1] * f->dims[2];
}

const kn_op_def kn_op_conv2d_transpose = {
    .name = "Conv2DTranspose",
    .n_params = sizeof(kn_conv_transpose_params) / 4,
    .infer = conv_transpose_infer,
    .prepare = conv_transpose_prepare,
    .release = ct_release,
    .eval = conv_transpose_eval,
    .flops = conv_transpose_flops,
};
