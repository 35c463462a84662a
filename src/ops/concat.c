/* CONCAT: joins inputs of equal rank and dtype along `axis`. Pure data
 * movement, so any dtype works: it copies bytes. */
#include <string.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status concat_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 255);
    if (st) return st;
    const kn_concat_params *p = s->params;
    const kn_tensor *x0 = s->in[0];
    if (x0->rank < 1) return kn_fail(KILN_ERR_BAD_BUNDLE, "cannot concatenate scalars (%S)", x0);
    if (p->axis < 0 || p->axis >= x0->rank)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "concat axis %d is out of range for %S", p->axis, x0);

    int32_t dims[KILN_MAX_RANK];
    memcpy(dims, x0->dims, sizeof dims);
    int64_t joined = 0;
    for (int i = 0; i < s->n_in; i++) {
        const kn_tensor *x = s->in[i];
        if (x->dtype != x0->dtype || x->rank != x0->rank)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "input %d is %S, expected the dtype and rank of input 0, %S", i, x,
                           x0);
        for (int d = 0; d < x->rank; d++)
            if (d != p->axis && x->dims[d] != x0->dims[d])
                return kn_fail(KILN_ERR_BAD_BUNDLE, "input %d is %S, input 0 is %S: dim %d differs off axis %d", i,
                               x, x0, d, p->axis);
        joined += x->dims[p->axis];
    }
    if (joined > INT32_MAX)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "concatenated axis %d has %lld elements, more than int32 holds", p->axis,
                       (long long)joined);
    dims[p->axis] = (int32_t)joined;
    return kn_set_checked_shape(out, x0->dtype, x0->rank, dims);
}

/* y is `outer` rows; each row is every input's row in turn, where an
 * input's row is its dims from `axis` inward, one contiguous block. */
static kiln_status concat_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_concat_params *p = s->params;
    const kn_tensor *y = s->out[0];
    size_t outer = 1, inner = kiln_dtype_size(y->dtype);
    for (int d = 0; d < p->axis; d++) outer *= (size_t)y->dims[d];
    for (int d = p->axis + 1; d < y->rank; d++) inner *= (size_t)y->dims[d];
    char *dst = y->data;
    for (size_t o = 0; o < outer; o++)
        for (int i = 0; i < s->n_in; i++) {
            const kn_tensor *x = s->in[i];
            size_t block = (size_t)x->dims[p->axis] * inner;
            memcpy(dst, (const char *)x->data + o * block, block);
            dst += block;
        }
    return KILN_OK;
}

const kn_op_def kn_op_concat = {
    .name = "Concat",
    .n_params = sizeof(kn_concat_params) / 4,
    .infer = concat_infer,
    .eval = concat_eval,
};
