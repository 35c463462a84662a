/* RESHAPE: the input's elements under the shape in params. The converter
 * resolves TF's -1 dim, except for a tensor whose size is known only at run
 * time: there one dim may stay -1, to be worked out from the element count. */
#include <string.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status reshape_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 1);
    if (st) return st;
    const kn_reshape_params *p = s->params;
    const kn_tensor *x = s->in[0];
    if (p->rank < 0 || p->rank > KILN_MAX_RANK)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "reshape rank %d is outside 0..%d", p->rank, KILN_MAX_RANK);
    int32_t dims[KILN_MAX_RANK];
    int unknown = -1;
    memcpy(dims, p->dims, sizeof dims);
    kn_tensor shape = {.name = ""};
    kn_set_shape(&shape, x->dtype, p->rank, dims);
    for (int d = 0; d < p->rank; d++) {
        if (dims[d] == -1 && unknown < 0) unknown = d, dims[d] = 1;
        else if (dims[d] < 0) return kn_fail(KILN_ERR_BAD_BUNDLE, "reshape to %S: dim %d is negative", &shape, d);
    }
    size_t want = kn_tensor_count(x), got;
    if (!kn_num_elements(dims, p->rank, KN_MAX_ELEMENTS, &got))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "reshape to %S: too many elements", &shape);
    if (unknown >= 0 && got && want % got == 0 && want / got <= INT32_MAX) dims[unknown] = (int32_t)(want / got), got = want;
    if (got != want) return kn_fail(KILN_ERR_BAD_BUNDLE, "cannot reshape %S (%zu elements) to %S", x, want, &shape);
    kn_set_shape(out, x->dtype, p->rank, dims);
    return KILN_OK;
}

/* The data is unchanged; a plan may give y the same memory as x. */
static kiln_status reshape_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_tensor *x = s->in[0], *y = s->out[0];
    if (y->data != x->data) memmove(y->data, x->data, kn_tensor_bytes(x));
    return KILN_OK;
}

const kn_op_def kn_op_reshape = {
    .name = "Reshape",
    .n_params = sizeof(kn_reshape_params) / 4,
    .infer = reshape_infer,
    .eval = reshape_eval,
};
