/* WHERE: where x is nonzero, as int32 coordinates [k, rank] (TF Where with one input). */
#include <string.h>

#include "ops/ops.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status where_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 1);
    if (st) return st;
    const kn_tensor *x = s->in[0];
    int32_t dims[2] = {(int32_t)kn_tensor_count(x), x->rank}; /* the most it can be */
    return kn_set_checked_shape(out, KILN_INT32, 2, dims);
}

static kiln_status where_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_tensor *x = s->in[0];
    kn_tensor *y = s->out[0];
    size_t n = kn_tensor_count(x), es = kiln_dtype_size(x->dtype), k = 0;
    const uint8_t *data = x->data, zero[4] = {0};
    int32_t *coords = y->data, idx[KILN_MAX_RANK] = {0};
    for (size_t i = 0; i < n; i++) {
        /* nonzero by bytes, except that -0.0f is zero */
        bool set = memcmp(data + i * es, zero, es) != 0 &&
                   !(x->dtype == KILN_FLOAT32 && ((const float *)x->data)[i] == 0.0f);
        if (set) memcpy(coords + k++ * (size_t)x->rank, idx, sizeof(int32_t) * (size_t)x->rank);
        for (int d = x->rank - 1; d >= 0; d--) { /* the next coordinate, C order */
            if (++idx[d] < x->dims[d]) break;
            idx[d] = 0;
        }
    }
    y->dims[0] = (int32_t)k;
    return KILN_OK;
}

const kn_op_def kn_op_where = {
    .name = "Where",
    .n_params = sizeof(kn_where_params) / 4,
    .flags = KN_OP_SHAPE_FROM_DATA,
    .infer = where_infer,
    .eval = where_eval,
};
