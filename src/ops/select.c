/* SELECT (TF SelectV2): y = cond ? a : b elementwise, with NumPy
 * broadcasting of all three. Any dtype for a and b: it moves elements of
 * their size. */
#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status select_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 3, 3);
    if (st) return st;
    const kn_tensor *c = s->in[0], *a = s->in[1], *b = s->in[2];
    if (c->dtype != KILN_BOOL) return kn_fail(KILN_ERR_BAD_BUNDLE, "condition is %S, expected bool", c);
    if (a->dtype != b->dtype)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "operands %S and %S have different dtypes", a, b);
    int rank;
    int32_t dims[KILN_MAX_RANK];
    const kn_tensor *const all[3] = {c, a, b};
    st = kn_broadcast_shape(all, 3, &rank, dims);
    if (st) return st;
    return kn_set_checked_shape(out, a->dtype, rank, dims);
}

/* One row of n elements of type T; each operand advances by its stride
 * (0 or 1 on simplified nests, but any works). Bools are nonzero-is-true. */
#define DEFINE_ROW(NAME, T)                                                                          \
    static void NAME(T *y, const uint8_t *c, const T *a, const T *b, size_t n, size_t sc, size_t sa, \
                     size_t sb) {                                                                    \
        if (sc == 1 && sa == 1 && sb == 1) {                                                         \
            KN_ELEMENTWISE(T, y, n, , c[at] ? a[at] : b[at]);                                        \
            return;                                                                                  \
        }                                                                                            \
        for (size_t i = 0; i < n; i++) y[i] = c[i * sc] ? a[i * sa] : b[i * sb];                     \
    }
DEFINE_ROW(select_row8, uint8_t)
DEFINE_ROW(select_row32, uint32_t)

static kiln_status select_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_tensor *c = s->in[0], *a = s->in[1], *b = s->in[2], *y = s->out[0];
    if (kn_tensor_count(y) == 0) return KILN_OK;
    kn_nest nest = {.rank = y->rank};
    for (int d = 0; d < y->rank; d++) nest.dims[d] = (size_t)y->dims[d];
    kn_broadcast_strides(c, y, nest.stride[0]);
    kn_broadcast_strides(a, y, nest.stride[1]);
    kn_broadcast_strides(b, y, nest.stride[2]);
    kn_nest_simplify(&nest);
    const int in = nest.rank - 1;
    const size_t n = nest.dims[in], sc = nest.stride[0][in], sa = nest.stride[1][in], sb = nest.stride[2][in];
    const size_t rows = kn_nest_rows(&nest);
    kn_cursor cur = {{0}, {0}};
    for (size_t r = 0; r < rows; r++, kn_nest_next(&nest, &cur)) {
        const uint8_t *cr = (const uint8_t *)c->data + cur.off[0];
        if (kiln_dtype_size(y->dtype) == 4)
            select_row32((uint32_t *)y->data + r * n, cr, (const uint32_t *)a->data + cur.off[1],
                         (const uint32_t *)b->data + cur.off[2], n, sc, sa, sb);
        else
            select_row8((uint8_t *)y->data + r * n, cr, (const uint8_t *)a->data + cur.off[1],
                        (const uint8_t *)b->data + cur.off[2], n, sc, sa, sb);
    }
    return KILN_OK;
}

const kn_op_def kn_op_select = {
    .name = "Select",
    .n_params = sizeof(kn_select_params) / 4,
    .infer = select_infer,
    .eval = select_eval,
};
