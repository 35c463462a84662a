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

/* y[r * y_row + c] = x[r + c * x_col] for r < rows, c < cols (in elements
 * of `es` bytes), in square tiles so that reads and writes both stay within
 * a few cache lines. */
static void transpose_2d(char *y, const char *x, size_t rows, size_t cols, size_t y_row, size_t x_col, size_t es) {
    enum { TILE = 16 };
    for (size_t r0 = 0; r0 < rows; r0 += TILE) {
        size_t r1 = r0 + TILE < rows ? r0 + TILE : rows;
        for (size_t c0 = 0; c0 < cols; c0 += TILE) {
            size_t c1 = c0 + TILE < cols ? c0 + TILE : cols;
            if (es == 4) {
                for (size_t r = r0; r < r1; r++)
                    for (size_t c = c0; c < c1; c++) memcpy(y + (r * y_row + c) * 4, x + (r + c * x_col) * 4, 4);
            } else {
                for (size_t r = r0; r < r1; r++)
                    for (size_t c = c0; c < c1; c++) y[r * y_row + c] = x[r + c * x_col];
            }
        }
    }
}

/*
 * A loop nest over y in order (operand 0) and x through the permuted strides
 * (operand 1), simplified so dims contiguous in both merge. If x's
 * innermost stride is 1 (the permutation keeps the innermost dim), each row
 * is one memcpy. Otherwise some other dim j walks x contiguously (x's own
 * innermost dim, which merging keeps at stride 1), and every position of
 * the remaining dims is a 2-D transpose between dim j and the innermost.
 */
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
    const int last = n.rank - 1;
    int j = last;
    while (n.stride[1][j] != 1) j--;
    kn_nest outer = {.rank = 0}; /* the dims but j and the innermost, then a unit innermost dim */
    for (int d = 0; d < last; d++) {
        if (d == j) continue;
        outer.dims[outer.rank] = n.dims[d];
        outer.stride[0][outer.rank] = n.stride[0][d];
        outer.stride[1][outer.rank] = n.stride[1][d];
        outer.rank++;
    }
    outer.dims[outer.rank++] = 1;
    const size_t rows = kn_nest_rows(&outer), len = n.dims[last];
    kn_cursor c = {0};
    for (size_t r = 0; r < rows; r++, kn_nest_next(&outer, &c)) {
        char *dst = (char *)y->data + c.off[0] * es;
        const char *src = (const char *)x->data + c.off[1] * es;
        if (j == last) memcpy(dst, src, len * es);
        else transpose_2d(dst, src, n.dims[j], len, n.stride[0][j], n.stride[1][last], es);
    }
    return KILN_OK;
}

const kn_op_def kn_op_transpose = {
    .name = "Transpose",
    .n_params = sizeof(kn_transpose_params) / 4,
    .infer = transpose_infer,
    .eval = transpose_eval,
};
