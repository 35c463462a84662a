/* FILL: a fresh buffer of one value (the zeros behind a TensorArray or TensorList). */
#include <string.h>

#include "ops/ops.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status fill_infer(const kn_step *s, kn_tensor *out) {
    const kn_fill_params *p = s->params;
    kiln_status st = kn_check_operands(s, 0, 0);
    if (st) return st;
    if (!kiln_dtype_size((kiln_dtype)p->dtype)) return kn_fail(KILN_ERR_BAD_BUNDLE, "unknown dtype %d", p->dtype);
    if (p->rank < 0 || p->rank > KILN_MAX_RANK) return kn_fail(KILN_ERR_BAD_BUNDLE, "rank %d is not in 0..8", p->rank);
    return kn_set_checked_shape(out, (kiln_dtype)p->dtype, p->rank, p->dims);
}

static kiln_status fill_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_fill_params *p = s->params;
    kn_tensor *y = s->out[0];
    size_t n = kn_tensor_count(y), size = kiln_dtype_size(y->dtype);
    uint8_t *d = y->data;
    if (p->value_bits == 0) {
        memset(d, 0, n * size);
        return KILN_OK;
    }
    uint8_t value[4];
    memcpy(value, &p->value_bits, 4);
    for (size_t i = 0; i < n; i++) memcpy(d + i * size, value, size);
    return KILN_OK;
}

const kn_op_def kn_op_fill = {
    .name = "Fill",
    .n_params = sizeof(kn_fill_params) / 4,
    .infer = fill_infer,
    .eval = fill_eval,
};
