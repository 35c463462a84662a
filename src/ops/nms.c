/* NMS: greedy non-maximum suppression, as TF's NonMaxSuppressionV3/V4/V5 and
 * tfjs compute it when soft-NMS is off (params.h). Scratch holds the
 * candidates, sorted by a heap sort: no allocation, a total order. */
#include <string.h>

#include "ops/ops.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status nms_infer(const kn_step *s, kn_tensor *out) {
    const kn_nms_params *p = s->params;
    if (s->n_in != 2 || !s->in[0] || !s->in[1] || s->n_out < 1 || s->n_out > 3)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "expected boxes and scores and 1 to 3 outputs, got %d inputs, %d outputs",
                       s->n_in, s->n_out);
    const kn_tensor *boxes = s->in[0], *scores = s->in[1];
    if (boxes->dtype != KILN_FLOAT32 || boxes->rank != 2 || boxes->dims[1] != 4 || scores->dtype != KILN_FLOAT32 ||
        scores->rank != 1 || scores->dims[0] != boxes->dims[0])
        return kn_fail(KILN_ERR_BAD_BUNDLE, "boxes %S and scores %S, expected float32[n,4] and float32[n]", boxes, scores);
    if (p->max_output < 0 || (p->pad_to_max != 0 && p->pad_to_max != 1))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "max_output %d and pad_to_max %d out of range", p->max_output, p->pad_to_max);
    int32_t k = p->pad_to_max || p->max_output < boxes->dims[0] ? p->max_output : boxes->dims[0];
    kiln_status st = kn_set_checked_shape(&out[0], KILN_INT32, 1, &k);
    if (st == KILN_OK && s->n_out > 1) st = kn_set_checked_shape(&out[1], KILN_FLOAT32, 1, &k);
    if (st == KILN_OK && s->n_out > 2) kn_set_shape(&out[2], KILN_INT32, 0, NULL);
    return st;
}

static kiln_status nms_prepare(kn_step *s, size_t *scratch) {
    *scratch = sizeof(int32_t) * (size_t)s->in[0]->dims[0];
    return KILN_OK;
}

/* Box a comes after box b: a lower score, or the same and a higher index. */
static bool after(const float *score, int32_t a, int32_t b) {
    return score[a] < score[b] || (score[a] == score[b] && a > b);
}

static void sift_down(int32_t *h, size_t root, size_t n, const float *score) {
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && after(score, h[child + 1], h[child])) child++;
        if (!after(score, h[child], h[root])) return;
        int32_t t = h[root];
        h[root] = h[child];
        h[child] = t;
    }
}

/* IoU in double, as tfjs computes it; boxes of no area overlap nothing. */
static double iou(const float *a, const float *b) {
    double ay0 = a[0] < a[2] ? a[0] : a[2], ay1 = a[0] < a[2] ? a[2] : a[0];
    double ax0 = a[1] < a[3] ? a[1] : a[3], ax1 = a[1] < a[3] ? a[3] : a[1];
    double by0 = b[0] < b[2] ? b[0] : b[2], by1 = b[0] < b[2] ? b[2] : b[0];
    double bx0 = b[1] < b[3] ? b[1] : b[3], bx1 = b[1] < b[3] ? b[3] : b[1];
    double area_a = (ay1 - ay0) * (ax1 - ax0), area_b = (by1 - by0) * (bx1 - bx0);
    if (area_a <= 0 || area_b <= 0) return 0.0;
    double h = (ay1 < by1 ? ay1 : by1) - (ay0 > by0 ? ay0 : by0), w = (ax1 < bx1 ? ax1 : bx1) - (ax0 > bx0 ? ax0 : bx0);
    double inter = (h > 0 ? h : 0) * (w > 0 ? w : 0);
    return inter / (area_a + area_b - inter);
}

static kiln_status nms_eval(const kn_step *s, void *scratch) {
    const kn_nms_params *p = s->params;
    const float *boxes = s->in[0]->data, *score = s->in[1]->data;
    size_t n = (size_t)s->in[0]->dims[0], count = 0, kept = 0;
    int32_t *cand = scratch, *sel = s->out[0]->data;
    for (size_t i = 0; i < n; i++)
        if (score[i] > p->score_threshold) cand[count++] = (int32_t)i;
    /* Heap sort: ascending by "after", so the best box comes first. */
    for (size_t i = count / 2; i-- > 0;) sift_down(cand, i, count, score);
    for (size_t end = count; end > 1; end--) {
        int32_t t = cand[0];
        cand[0] = cand[end - 1];
        cand[end - 1] = t;
        sift_down(cand, 0, end - 1, score);
    }
    for (size_t c = 0; c < count && kept < (size_t)p->max_output; c++) {
        const float *box = boxes + 4 * (size_t)cand[c];
        bool suppressed = false;
        for (size_t j = kept; j-- > 0 && !suppressed;) suppressed = iou(box, boxes + 4 * (size_t)sel[j]) >= p->iou_threshold;
        if (!suppressed) sel[kept++] = cand[c];
    }
    size_t shown = p->pad_to_max ? (size_t)p->max_output : kept;
    for (size_t j = kept; j < shown; j++) sel[j] = 0;
    s->out[0]->dims[0] = (int32_t)shown;
    if (s->n_out > 1) {
        float *sc = s->out[1]->data;
        for (size_t j = 0; j < shown; j++) sc[j] = j < kept ? score[sel[j]] : 0.0f;
        s->out[1]->dims[0] = (int32_t)shown;
    }
    if (s->n_out > 2) *(int32_t *)s->out[2]->data = (int32_t)kept;
    return KILN_OK;
}

const kn_op_def kn_op_nms = {
    .name = "NonMaxSuppression",
    .n_params = sizeof(kn_nms_params) / 4,
    .flags = KN_OP_SHAPE_FROM_DATA,
    .infer = nms_infer,
    .prepare = nms_prepare,
    .eval = nms_eval,
};
