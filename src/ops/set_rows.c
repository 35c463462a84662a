/* SET_ROWS: writes rows of a buffer in place (TensorArrayWrite/Scatter,
 * TensorListSetItem). The step's output is its input 0. */
#include <string.h>

#include "ops/ops.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status set_rows_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 3, 3);
    if (st) return st;
    const kn_tensor *buf = s->in[0], *idx = s->in[1], *val = s->in[2];
    if (buf->rank < 1) return kn_fail(KILN_ERR_BAD_BUNDLE, "buffer %S has no rows", buf);
    if (idx->dtype != KILN_INT32 || idx->rank > 1)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "indices are %S, expected an int32 scalar or vector", idx);
    /* values: one row ([E...]) for a scalar index, [k, E...] for k indices */
    int lead = idx->rank;
    bool ok = val->dtype == buf->dtype && val->rank == buf->rank - 1 + lead && (!lead || val->dims[0] == idx->dims[0]);
    for (int d = 1; ok && d < buf->rank; d++) ok = val->dims[d - 1 + lead] == buf->dims[d];
    if (!ok) return kn_fail(KILN_ERR_BAD_BUNDLE, "values %S do not fit rows of %S at indices %S", val, buf, idx);
    return kn_set_checked_shape(out, buf->dtype, buf->rank, buf->dims);
}

static kiln_status set_rows_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_tensor *buf = s->in[0], *idx = s->in[1], *val = s->in[2];
    uint8_t *dst = s->out[0]->data;
    size_t rows = (size_t)buf->dims[0], row_bytes = rows ? kn_tensor_bytes(buf) / rows : 0;
    size_t k = kn_tensor_count(idx);
    const int32_t *ix = idx->data;
    const uint8_t *src = val->data;
    if (dst != buf->data) memmove(dst, buf->data, kn_tensor_bytes(buf));
    for (size_t i = 0; i < k; i++) {
        if (ix[i] < 0 || (size_t)ix[i] >= rows)
            return kn_fail(KILN_ERR_RUNTIME, "row index %d is outside [0, %zu)", ix[i], rows);
        memmove(dst + (size_t)ix[i] * row_bytes, src + i * row_bytes, row_bytes);
    }
    return KILN_OK;
}

const kn_op_def kn_op_set_rows = {
    .name = "SetRows",
    .n_params = sizeof(kn_set_rows_params) / 4,
    .infer = set_rows_infer,
    .eval = set_rows_eval,
};
