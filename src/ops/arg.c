/* ARG (TF ArgMax / ArgMin): the int32 index of the largest or smallest value
 * along `axis`, the first one on ties. Values are compared with a strict >
 * (<) starting from the first, as tfjs does: a NaN is picked only when it
 * comes first, since nothing compares greater or less than it. (TF leaves
 * NaN unspecified; its CPU kernel skips them.) */
#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status arg_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 1);
    if (st) return st;
    const kn_arg_params *p = s->params;
    const kn_tensor *x = s->in[0];
    if (p->kind != KN_ARG_MAX && p->kind != KN_ARG_MIN)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "unknown arg kind %d", p->kind);
    if (x->dtype != KILN_FLOAT32 && x->dtype != KILN_INT32 && x->dtype != KILN_UINT8)
        return kn_fail(KILN_ERR_UNSUPPORTED, "arg of %S: only float32, int32 and uint8 are supported", x);
    if (p->axis < 0 || p->axis >= x->rank)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "arg axis %d is out of range for %S", p->axis, x);
    if (x->dims[p->axis] == 0)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "arg axis %d of %S is empty: no index to return", p->axis, x);
    int32_t dims[KILN_MAX_RANK];
    for (int d = 0, r = 0; d < x->rank; d++)
        if (d != p->axis) dims[r++] = x->dims[d];
    return kn_set_checked_shape(out, KILN_INT32, x->rank - 1, dims);
}

/* x is [outer, n, inner]. A single row (inner 1) keeps its best in
 * registers; otherwise y[o, i] walks j = 1..n-1 holding the best index so
 * far, one inner row at a time so reads stay sequential. BETTER(v, w) says
 * v replaces w. */
#define DEFINE_ARG(NAME, T, BETTER)                                                  \
    static void NAME(int32_t *y, const T *x, size_t outer, size_t n, size_t inner) { \
        for (size_t o = 0; o < outer; o++, x += n * inner, y += inner) {             \
            if (inner == 1) {                                                        \
                T best = x[0];                                                       \
                size_t at = 0;                                                       \
                for (size_t j = 1; j < n; j++)                                       \
                    if (BETTER(x[j], best)) {                                        \
                        best = x[j];                                                 \
                        at = j;                                                      \
                    }                                                                \
                y[0] = (int32_t)at;                                                  \
                continue;                                                            \
            }                                                                        \
            for (size_t i = 0; i < inner; i++) y[i] = 0;                             \
            for (size_t j = 1; j < n; j++) {                                         \
                const T *row = x + j * inner;                                        \
                for (size_t i = 0; i < inner; i++) {                                 \
                    T v = row[i], w = x[(size_t)y[i] * inner + i];                   \
                    if (BETTER(v, w)) y[i] = (int32_t)j;                             \
                }                                                                    \
            }                                                                        \
        }                                                                            \
    }
#define GREATER(v, w) ((v) > (w))
#define LESS(v, w) ((v) < (w))
DEFINE_ARG(argmax_f32, float, GREATER)
DEFINE_ARG(argmin_f32, float, LESS)
DEFINE_ARG(argmax_i32, int32_t, GREATER)
DEFINE_ARG(argmin_i32, int32_t, LESS)
DEFINE_ARG(argmax_u8, uint8_t, GREATER)
DEFINE_ARG(argmin_u8, uint8_t, LESS)

static kiln_status arg_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_arg_params *p = s->params;
    const kn_tensor *x = s->in[0], *y = s->out[0];
    size_t outer = 1, inner = 1, n = (size_t)x->dims[p->axis];
    for (int d = 0; d < p->axis; d++) outer *= (size_t)x->dims[d];
    for (int d = p->axis + 1; d < x->rank; d++) inner *= (size_t)x->dims[d];
    bool max = p->kind == KN_ARG_MAX;
    switch (x->dtype) {
    case KILN_FLOAT32: (max ? argmax_f32 : argmin_f32)(y->data, x->data, outer, n, inner); break;
    case KILN_INT32: (max ? argmax_i32 : argmin_i32)(y->data, x->data, outer, n, inner); break;
    default: (max ? argmax_u8 : argmin_u8)(y->data, x->data, outer, n, inner); break;
    }
    return KILN_OK;
}

const kn_op_def kn_op_arg = {
    .name = "Arg",
    .n_params = sizeof(kn_arg_params) / 4,
    .infer = arg_infer,
    .eval = arg_eval,
};
