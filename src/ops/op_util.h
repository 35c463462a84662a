/* Helpers shared by the ops: operand and output checks for infer, the
 * blocked elementwise loop, and a collapsed loop nest for kernels that
 * walk two operands with strides (binary, reduce). */
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

/* A loop nest over two operands: dims[] outermost first, and each operand's
 * element stride per dim (0 where it repeats: a broadcast or reduced dim). */
typedef struct kn_nest {
    int rank;
    size_t dims[KILN_MAX_RANK];
    size_t stride[2][KILN_MAX_RANK];
} kn_nest;

/* Drops size-1 dims and merges neighbours that both operands walk as one
 * contiguous run, so kernels get the longest possible innermost loop (same
 * shapes collapse to one dim). Leaves rank >= 1; the innermost stride of
 * each operand is then 0 or 1 when its dims were contiguous. */
static inline void kn_nest_simplify(kn_nest *n) {
    int m = 0;
    for (int d = 0; d < n->rank; d++) {
        if (n->dims[d] == 1) continue;
        if (m > 0 && n->stride[0][m - 1] == n->stride[0][d] * n->dims[d] &&
            n->stride[1][m - 1] == n->stride[1][d] * n->dims[d]) {
            n->dims[m - 1] *= n->dims[d];
        } else {
            n->dims[m] = n->dims[d];
            m++;
        }
        n->stride[0][m - 1] = n->stride[0][d];
        n->stride[1][m - 1] = n->stride[1][d];
    }
    if (m == 0) { /* one element */
        n->dims[0] = 1;
        n->stride[0][0] = n->stride[1][0] = 1;
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
    size_t off[2];
} kn_cursor;

/* Moves the cursor to the next row (odometer order). */
static inline void kn_nest_next(const kn_nest *n, kn_cursor *c) {
    for (int d = n->rank - 2; d >= 0; d--) {
        c->off[0] += n->stride[0][d];
        c->off[1] += n->stride[1][d];
        if (++c->idx[d] < n->dims[d]) return;
        c->off[0] -= n->stride[0][d] * n->dims[d];
        c->off[1] -= n->stride[1][d] * n->dims[d];
        c->idx[d] = 0;
    }
}

#endif
