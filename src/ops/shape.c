/* SHAPE: a tensor's dims as they are at run time, int32 [rank]. */
#include "ops/ops.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status shape_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 1);
    if (st) return st;
    int32_t rank = s->in[0]->rank;
    return kn_set_checked_shape(out, KILN_INT32, 1, &rank);
}

static kiln_status shape_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    int32_t *y = s->out[0]->data;
    for (int d = 0; d < s->in[0]->rank; d++) y[d] = s->in[0]->dims[d];
    return KILN_OK;
}

const kn_op_def kn_op_shape = {
    .name = "Shape",
    .n_params = sizeof(kn_shape_params) / 4,
    .infer = shape_infer,
    .eval = shape_eval,
};
