/* Helpers shared by the ops: operand and output checks for infer, NumPy
 * broadcasting, the blocked elementwise loop, and a collapsed loop nest for
 * kernels that walk up to three operands with strides (binary, reduce,
 * transpose, select). */
#ifndef KILN_OPS_OP_UTIL_H
#define KILN_OPS_OP_UTIL_H

#include "kn.h"

/* infer's first check: min_in..max_in inputs, all present, and one output. */
static inline kiln_status kn_check_operands(const kn_step *s, int min_in, int max_in) {
    if (s->n_in < min_in || s->n_in > max_in) {
        if (min_in == max_in)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "expected %d inputs, got %d", min_in, s->n_in);
        return kn_fail(KILN_ERR_BAD_BUNDLE, "expected %d to %d inputs, got %d", min_in, max_in, s->n_in);
    }
    if (s->n_out != 1) return kn_fail(KILN_ERR_BAD_BUNDLE, "expected 1 output, got %d", s->n_out);
    for (int i = 0; i < s->n_in; i++)
        if (!s->in[i]) return kn_fail(KILN_ERR_BAD_BUNDLE, "input %d is missing", i);
    return KILN_OK;
}

/* infer's last step: writes out's shape once its element count is known to
 * fit KN_MAX_ELEMENTS. */
static inline kiln_status kn_set_checked_shape(kn_tensor *out, kiln_dtype dtype, int rank, const int32_t *dims) {
    size_t count;
    if (!kn_num_elements(dims, rank, KN_MAX_ELEMENTS, &count)) {
        kn_tensor shown = {.name = ""};
        kn_set_shape(&shown, dtype, rank, dims);
        return kn_fail(KILN_ERR_BAD_BUNDLE, "output %S has more than %zu elements", &shown, KN_MAX_ELEMENTS);
    }
    kn_set_shape(out, dtype, rank, dims);
    return KILN_OK;
}

/* Dim `d` of `t` once its shape is right-aligned to `rank` dims (1 where it
 * has none): how NumPy broadcasting lines shapes up. */
static inline int32_t kn_aligned_dim(const kn_tensor *t, int rank, int d) {
    int i = d - (rank - t->rank);
    return i < 0 ? 1 : t->dims[i];
}

/* infer: the NumPy broadcast shape of the n operands x[0..n) into *rank and
 * dims; fails naming two operands whose dims differ where neither is 1. */
static inline kiln_status kn_broadcast_shape(const kn_tensor *const *x, int n, int *rank, int32_t *dims) {
    int r = 0;
    for (int i = 0; i < n; i++) r = x[i]->rank > r ? x[i]->rank : r;
    *rank = r;
    for (int d = 0; d < r; d++) {
        int from = 0; /* the operand that set dims[d] */
        dims[d] = 1;
        for (int i = 0; i < n; i++) {
            int32_t dim = kn_aligned_dim(x[i], r, d);
            if (dim == dims[d] || dim == 1) continue;
            if (dims[d] != 1)
                return kn_fail(KILN_ERR_BAD_BUNDLE,
                               "cannot broadcast %S with %S: dims %d and %d differ and neither is 1", x[from], x[i],
                               dims[d], dim);
            dims[d] = dim;
            from = i;
        }
    }
    return KILN_OK;
}

/* eval: operand x's element strides over the dims of y (its broadcast
 * result): contiguous over x's own dims, 0 along dims x is broadcast in. */
static inline void kn_broadcast_strides(const kn_tensor *x, const kn_tensor *y, size_t *stride) {
    size_t step = 1;
    for (int d = y->rank - 1; d >= 0; d--) {
        int32_t dim = kn_aligned_dim(x, y->rank, d);
        stride[d] = dim == 1 ? 0 : step;
        step *= (size_t)dim;
    }
}

/* The elementwise loop: for each i in [0, n), runs LOAD, which declares
 * the inputs at index `at`, and stores EXPR into y[i]. Full blocks are
 * computed into a local array first, so compilers vectorize them with no
 * runtime overlap check between y and the inputs: that check fails (to
 * scalar code) when y is an input, as in in-place ops, and gcc -O2 does
 * not emit it at all. */
#define KN_BLOCK 16
#define KN_ELEMENTWISE(T, y, n, LOAD, EXPR)                                     \
    do {                                                                        \
        size_t i_ = 0;                                                          \
        for (; i_ + KN_BLOCK <= (n); i_ += KN_BLOCK) {                          \
            T block_[KN_BLOCK];                                                 \
            for (size_t j_ = 0; j_ < KN_BLOCK; j_++) {                          \
                size_t at = i_ + j_;                                            \
                LOAD;                                                           \
                block_[j_] = (EXPR);                                            \
            }                                                                   \
            for (size_t j_ = 0; j_ < KN_BLOCK; j_++) (y)[i_ + j_] = block_[j_]; \
        }                                                                       \
        for (; i_ < (n); i_++) {                                                \
            size_t at = i_;                                                     \
            LOAD;                                                               \
            (y)[i_] = (EXPR);                                                   \
        }                                                                       \
    } while (0)

/* A loop nest over up to KN_NEST_OPERANDS operands: dims[] outermost first,
 * and each operand's element stride per dim (0 where it repeats: a broadcast
 * or reduced dim). Operands a kernel does not use keep all-zero strides
 * (zero-initialize the nest), which never stop dims from merging. */
#define KN_NEST_OPERANDS 3
typedef struct kn_nest {
    int rank;
    size_t dims[KILN_MAX_RANK];
    size_t stride[KN_NEST_OPERANDS][KILN_MAX_RANK];
} kn_nest;

/* Drops size-1 dims and merges neighbours that every operand walks as one
 * contiguous run, so kernels get the longest possible innermost loop (same
 * shapes collapse to one dim). Leaves rank >= 1; the innermost stride of
 * each operand is then 0 or 1 when its dims were contiguous. */
static inline void kn_nest_simplify(kn_nest *n) {
    int m = 0;
    for (int d = 0; d < n->rank; d++) {
        if (n->dims[d] == 1) continue;
        bool merge = m > 0;
        for (int k = 0; merge && k < KN_NEST_OPERANDS; k++)
            merge = n->stride[k][m - 1] == n->stride[k][d] * n->dims[d];
        if (merge) {
            n->dims[m - 1] *= n->dims[d];
        } else {
            n->dims[m] = n->dims[d];
            m++;
        }
        for (int k = 0; k < KN_NEST_OPERANDS; k++) n->stride[k][m - 1] = n->stride[k][d];
    }
    if (m == 0) { /* one element */
        n->dims[0] = 1;
        for (int k = 0; k < KN_NEST_OPERANDS; k++) n->stride[k][0] = 1;
        m = 1;
    }
    n->rank = m;
}

/* Rows of the nest: iterations of every dim but the innermost. */
static inline size_t kn_nest_rows(const kn_nest *n) {
    size_t rows = 1;
    for (int d = 0; d < n->rank - 1; d++) rows *= n->dims[d];
    return rows;
}

/* Position in the outer dims, and each operand's element offset there. */
typedef struct kn_cursor {
    size_t idx[KILN_MAX_RANK];
    size_t off[KN_NEST_OPERANDS];
} kn_cursor;

/* Moves the cursor to the next row (odometer order). */
static inline void kn_nest_next(const kn_nest *n, kn_cursor *c) {
    for (int d = n->rank - 2; d >= 0; d--) {
        for (int k = 0; k < KN_NEST_OPERANDS; k++) c->off[k] += n->stride[k][d];
        if (++c->idx[d] < n->dims[d]) return;
        for (int k = 0; k < KN_NEST_OPERANDS; k++) c->off[k] -= n->stride[k][d] * n->dims[d];
        c->idx[d] = 0;
    }
}

#endif
