/* FILL: a fresh buffer of one value (the zeros behind a TensorArray or TensorList,
 * TF Fill). Value and dims are in params, or (TF Fill of dims computed at run
 * time) the value is operand 0, a scalar, and the dims operand 1, int32 [rank]. */
#include <string.h>

#include "ops/ops.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status fill_infer(const kn_step *s, kn_tensor *out) {
    const kn_fill_params *p = s->params;
    kiln_status st = kn_check_operands(s, 0, 2);
    if (st) return st;
    if (!kiln_dtype_size((kiln_dtype)p->dtype)) return kn_fail(KILN_ERR_BAD_BUNDLE, "unknown dtype %d", p->dtype);
    if (p->rank < 0 || p->rank > KILN_MAX_RANK) return kn_fail(KILN_ERR_BAD_BUNDLE, "rank %d is not in 0..8", p->rank);
    if (s->n_in == 1) return kn_fail(KILN_ERR_BAD_BUNDLE, "expected 0 or 2 inputs, got 1");
    const kn_tensor *by = s->n_in == 2 ? s->in[1] : NULL;
    if (by && (s->in[0]->dtype != (kiln_dtype)p->dtype || s->in[0]->rank != 0 || by->dtype != KILN_INT32 ||
               by->rank != 1 || by->dims[0] != p->rank))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "inputs %S and %S are not a value of dtype %d and int32[%d] dims",
                       s->in[0], by, p->dtype, p->rank);
    if (!by) return kn_set_checked_shape(out, (kiln_dtype)p->dtype, p->rank, p->dims);
    if (!by->data) { /* at load: the dims come at run time; the plan gave the largest shape */
        if (out->dtype != (kiln_dtype)p->dtype || out->rank != p->rank)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "output %S is not %d-D of dtype %d", out, p->rank, p->dtype);
        return KILN_OK;
    }
    const int32_t *dims = by->data;
    for (int d = 0; d < p->rank; d++)
        if (dims[d] < 0) return kn_fail(KILN_ERR_RUNTIME, "dim %d is %d", d, (int)dims[d]);
    return kn_set_checked_shape(out, (kiln_dtype)p->dtype, p->rank, dims);
}

static kiln_status fill_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_fill_params *p = s->params;
    kn_tensor *y = s->out[0];
    size_t n = kn_tensor_count(y), size = kiln_dtype_size(y->dtype);
    uint8_t *d = y->data, value[4];
    memcpy(value, s->n_in ? s->in[0]->data : (const void *)&p->value_bits, size);
    if (!memcmp(value, "\0\0\0\0", size)) {
        memset(d, 0, n * size);
        return KILN_OK;
    }
    for (size_t i = 0; i < n; i++) memcpy(d + i * size, value, size);
    return KILN_OK;
}

const kn_op_def kn_op_fill = {
    .name = "Fill",
    .n_params = sizeof(kn_fill_params) / 4,
    .flags = KN_OP_SHAPE_FROM_VALUES,
    .infer = fill_infer,
    .eval = fill_eval,
};
