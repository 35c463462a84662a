/* Lowering of detector post-processing whose output sizes depend on the data:
 * Where and NonMaxSuppression. Their outputs are planned at their largest and
 * vary in dim 0 at run time (see program.h: dynamic tensors). */
#include <string.h>

#include "lower.h"

static bool lower_where(kc_lower *L) {
    if (!lower_inputs(L, 1, 1)) return false;
    kn_where_params prm = {0};
    return lower_emit(L, KN_OP_WHERE, L->in, 1, &prm, sizeof prm, NULL);
}

/* A constant scalar input as float. */
static bool const_float(kc_lower *L, int input, float *v) {
    const kn_tensor *t = lower_tensor(L, L->in[input]);
    if (!kc_is_const(L->p, L->in[input]) || kn_tensor_count(t) != 1 || (t->dtype != KILN_FLOAT32 && t->dtype != KILN_INT32))
        return lower_fail(L, "input %d must be a constant scalar", input);
    *v = t->dtype == KILN_FLOAT32 ? *(const float *)t->data : (float)*(const int32_t *)t->data;
    return true;
}

/* V3 (boxes, scores, max_output_size, iou_threshold, score_threshold) -> indices;
 * V4 (same; attr pad_to_max_output_size) -> indices, valid_outputs;
 * V5 (same + soft_nms_sigma) -> indices, scores, valid_outputs. */
static bool lower_nms(kc_lower *L) {
    int version = L->node->op[strlen(L->node->op) - 1] - '0';
    if (!lower_inputs(L, version == 5 ? 6 : 5, version == 5 ? 6 : 5)) return false;
    int32_t max_output;
    int n;
    float sigma = 0;
    kn_nms_params prm = {0};
    if (!lower_const_ints(L, 2, &max_output, 1, &n) || !const_float(L, 3, &prm.iou_threshold) ||
        !const_float(L, 4, &prm.score_threshold) || (version == 5 && !const_float(L, 5, &sigma)))
        return false;
    if (sigma != 0) return lower_fail(L, "soft-NMS (soft_nms_sigma %g) is not supported", (double)sigma);
    const tf_attr *pad = tf_node_attr(L->node, "pad_to_max_output_size");
    prm.max_output = max_output;
    prm.pad_to_max = pad && pad->kind == TF_ATTR_B && pad->b;
    int out[3];
    if (!kc_emit(L->p, L->node->name, KN_OP_NMS, L->in, 2, &prm, sizeof prm, 3, out)) return false;
    L->out[0] = out[0];
    L->out[1] = version == 5 ? out[1] : out[2];
    L->out[2] = out[2];
    L->n_out = version == 3 ? 1 : version == 4 ? 2 : 3;
    return true;
}

const struct kc_lowering kc_lowerings_detect[] = {
    {"Where", lower_where},
    {"NonMaxSuppressionV3", lower_nms},
    {"NonMaxSuppressionV4", lower_nms},
    {"NonMaxSuppressionV5", lower_nms},
    {NULL, NULL},
};
