/* MaxPool / AvgPool over x[N,H,W,C] with explicit pads. Padded positions
 * are skipped: MAX takes the maximum of the in-bounds elements, AVG divides
 * by their count (TensorFlow's behaviour for SAME padding). */
#include <math.h>

#include "ops/ops.h"
#include "ops/nn_util.h"

static kiln_status pool2d_infer(const kn_step *s, kn_tensor *out) {
    const kn_pool_params *p = s->params;
    kiln_status st;
    if ((st = kn_check_operands(s, 1, 1)) || (st = kn_expect_inputs(s, 0, 1, KILN_FLOAT32)) ||
        (st = kn_check_dims(s->in[0], "input", 4)))
        return st;
    if (p->kind != KN_POOL_MAX && p->kind != KN_POOL_AVG)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "pool kind %d, expected %d (max) or %d (avg)", p->kind, KN_POOL_MAX,
                       KN_POOL_AVG);
    const kn_tensor *x = s->in[0];
    int32_t dims[4] = {x->dims[0], 0, 0, x->dims[3]};
    if ((st = kn_window_out("height", x->dims[1], p->window_h, p->stride_h, 1, p->pad_top, p->pad_bottom,
                            &dims[1])) ||
        (st = kn_window_out("width", x->dims[2], p->window_w, p->stride_w, 1, p->pad_left, p->pad_right,
                            &dims[2])))
        return st;
    /* Pads smaller than the window put at least one input element in every
     * window, so eval never meets an empty one. */
    if (p->pad_top >= p->window_h || p->pad_bottom >= p->window_h || p->pad_left >= p->window_w ||
        p->pad_right >= p->window_w)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "pads top %d bottom %d left %d right %d, expected each less than the "
                       "%dx%d window", p->pad_top, p->pad_bottom, p->pad_left, p->pad_right, p->window_h,
                       p->window_w);
    return kn_set_checked_shape(out, KILN_FLOAT32, 4, dims);
}

static kiln_status pool2d_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_pool_params *p = s->params;
    const kn_tensor *xt = s->in[0], *yt = s->out[0];
    const float *x = xt->data;
    float *y = yt->data;
    const int32_t H = xt->dims[1], W = xt->dims[2], C = xt->dims[3];
    const int32_t N = yt->dims[0], OH = yt->dims[1], OW = yt->dims[2];
    const bool is_max = p->kind == KN_POOL_MAX;

    for (int32_t n = 0; n < N; n++) {
        for (int32_t oh = 0; oh < OH; oh++) {
            int64_t ih0 = (int64_t)oh * p->stride_h - p->pad_top;
            int32_t kh0, kh1;
            kn_tap_range(ih0, p->window_h, 1, H, &kh0, &kh1);
            for (int32_t ow = 0; ow < OW; ow++) {
                int64_t iw0 = (int64_t)ow * p->stride_w - p->pad_left;
                int32_t kw0, kw1;
                kn_tap_range(iw0, p->window_w, 1, W, &kw0, &kw1);
                float *restrict yr = y + (((size_t)n * OH + oh) * OW + ow) * C;
                for (int32_t c = 0; c < C; c++) yr[c] = is_max ? -INFINITY : 0.0f;
                for (int32_t kh = kh0; kh < kh1; kh++) {
                    for (int32_t kw = kw0; kw < kw1; kw++) {
                        const float *restrict xp =
                            x + (((size_t)n * H + (size_t)(ih0 + kh)) * W + (size_t)(iw0 + kw)) * C;
                        if (is_max) {
                            for (int32_t c = 0; c < C; c++) yr[c] = xp[c] > yr[c] ? xp[c] : yr[c];
                        } else {
                            for (int32_t c = 0; c < C; c++) yr[c] += xp[c];
                        }
                    }
                }
                if (!is_max) {
                    const float count = (float)((int64_t)(kh1 - kh0) * (kw1 - kw0));
                    for (int32_t c = 0; c < C; c++) yr[c] /= count;
                }
            }
        }
    }
    return KILN_OK;
}

/* One compare or add per window element (plus AVG's divide, not counted). */
static double pool2d_flops(const kn_step *s) {
    const kn_pool_params *p = s->params;
    return (double)kn_tensor_count(s->out[0]) * p->window_h * p->window_w;
}

const kn_op_def kn_op_pool2d = {
    .name = "Pool2D",
    .n_params = sizeof(kn_pool_params) / 4,
    .infer = pool2d_infer,
    .eval = pool2d_eval,
    .flops = pool2d_flops,
};
