/* TRANSPOSE: out dim d is x dim perm[d] (TF Transpose). Any dtype: it
 * copies bytes. perm is a permutation of 0..rank-1; entries past the rank
 * must be 0. */
#include <string.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status transpose_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 1);
    if (st) return st;
    const kn_transpose_params *p = s->params;
    const kn_tensor *x = s->in[0];
    int32_t dims[KILN_MAX_RANK];
    bool used[KILN_MAX_RANK] = {false};
    for (int d = 0; d < KILN_MAX_RANK; d++) {
        int32_t from = p->perm[d];
        if (d >= x->rank) {
            if (from) return kn_fail(KILN_ERR_BAD_BUNDLE, "perm[%d] is %d, expected 0 past the rank of %S", d, from, x);
            continue;
        }
        if (from < 0 || from >= x->rank || used[from])
            return kn_fail(KILN_ERR_BAD_BUNDLE, "perm[%d] is %d, expected a permutation of 0..%d for %S", d, from,
                           x->rank - 1, x);
        used[from] = true;
        dims[d] = x->dims[from];
    }
    return kn_set_checked_shape(out, x->dtype, x->rank, dims);
}

/* Copies n elements of `es` bytes, read `step` elements apart. */
static void gather_elements(char *dst, const char *src, size_t n, size_t step, size_t es) {
    if (es == 4) {
        for (size_t i = 0; i < n; i++) memcpy(dst + i * 4, src + i * step * 4, 4);
    } else {
        for (size_t i = 0; i < n; i++) dst[i] = src[i * step];
    }
}

/* A loop nest over y in order (operand 0) and x through the permuted strides
 * (operand 1), simplified so dims contiguous in both merge. When the
 * permutation keeps the innermost dim, x's innermost stride is 1 and each
 * row is one memcpy. */
static kiln_status transpose_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_transpose_params *p = s->params;
    const kn_tensor *x = s->in[0], *y = s->out[0];
    if (kn_tensor_count(y) == 0) return KILN_OK;
    size_t es = kiln_dtype_size(x->dtype), x_stride[KILN_MAX_RANK];
    kn_nest n = {.rank = x->rank};
    for (int d = x->rank - 1; d >= 0; d--) {
        x_stride[d] = d == x->rank - 1 ? 1 : x_stride[d + 1] * (size_t)x->dims[d + 1];
        n.stride[0][d] = d == x->rank - 1 ? 1 : n.stride[0][d + 1] * (size_t)y->dims[d + 1];
    }
    for (int d = 0; d < x->rank; d++) {
        n.dims[d] = (size_t)y->dims[d];
        n.stride[1][d] = x_stride[p->perm[d]];
    }
    kn_nest_simplify(&n);
    const size_t rows = kn_nest_rows(&n), len = n.dims[n.rank - 1], step = n.stride[1][n.rank - 1];
    kn_cursor c = {0};
    for (size_t r = 0; r < rows; r++) {
        char *dst = (char *)y->data + c.off[0] * es;
        const char *src = (const char *)x->data + c.off[1] * es;
        if (step == 1) memcpy(dst, src, len * es);
        else gather_elements(dst, src, len, step, es);
        kn_nest_next(&n, &c);
    }
    return KILN_OK;
}

const kn_op_def kn_op_transpose = {
    .name = "Transpose",
    .n_params = sizeof(kn_transpose_params) / 4,
    .infer = transpose_infer,
    .eval = transpose_eval,
};
