/* REDUCE: SUM, MEAN, MAX, MIN or PROD (float32, int32), ANY or ALL (bool)
 * over the axes in axes_mask. An empty reduction gives the kind's identity,
 * as TF: 0 for SUM and int32 MEAN, 1 for PROD, NaN for float32 MEAN, -inf /
 * INT32_MIN for MAX, +inf / INT32_MAX for MIN, false for ANY, true for ALL. */
#include <math.h>
#include <string.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static const char *const kind_names[KN_REDUCE_COUNT] = {"SUM", "MEAN", "MAX", "MIN", "PROD", "ANY", "ALL"};

static bool reduced(const kn_reduce_params *p, int d) { return ((uint32_t)p->axes_mask >> d) & 1u; }

static kiln_status reduce_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 1);
    if (st) return st;
    const kn_reduce_params *p = s->params;
    const kn_tensor *x = s->in[0];
    if (p->kind < 0 || p->kind >= KN_REDUCE_COUNT)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "unknown reduce kind %d", p->kind);
    bool logical = p->kind == KN_REDUCE_ANY || p->kind == KN_REDUCE_ALL;
    if (logical ? x->dtype != KILN_BOOL : x->dtype != KILN_FLOAT32 && x->dtype != KILN_INT32)
        return kn_fail(KILN_ERR_UNSUPPORTED, "reduce %s is not supported for %s", kind_names[p->kind],
                       kiln_dtype_name(x->dtype));
    if (p->keep_dims != 0 && p->keep_dims != 1)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "keep_dims is %d, expected 0 or 1", p->keep_dims);
    if ((uint32_t)p->axes_mask >> x->rank)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "axes_mask 0x%x names axes beyond %S", (unsigned)p->axes_mask, x);

    int rank = 0;
    int32_t dims[KILN_MAX_RANK];
    for (int d = 0; d < x->rank; d++) {
        if (!reduced(p, d)) dims[rank++] = x->dims[d];
        else if (p->keep_dims) dims[rank++] = 1;
    }
    kn_set_shape(out, x->dtype, rank, dims);
    return KILN_OK;
}

/* Accumulators: `rows` folds x[0..n) elementwise into y[0..n) (the reduced
 * axes are outside the innermost run), `fold` folds x[0..n) into y[0] (the
 * innermost run is reduced). Both go in the input's order. */
typedef void (*acc_fn)(void *y, const void *x, size_t n);
enum { ROWS, FOLD };

#define DEFINE_ACC(NAME, T, OP)                                      \
    static void NAME##_rows(void *py, const void *px, size_t n) {    \
        T *y = py;                                                   \
        const T *x = px;                                             \
        KN_ELEMENTWISE(T, y, n, T s = y[at]; T v = x[at], OP(s, v)); \
    }                                                                \
    static void NAME##_fold(void *py, const void *px, size_t n) {    \
        T *y = py, acc = *y;                                         \
        const T *x = px;                                             \
        for (size_t i = 0; i < n; i++) acc = OP(acc, x[i]);          \
        *y = acc;                                                    \
    }
#define ACC(NAME) {[ROWS] = NAME##_rows, [FOLD] = NAME##_fold}

#define OP_ADD(s, v) ((s) + (v))
#define OP_MUL(s, v) ((s) * (v))
#define OP_MAX(s, v) ((v) > (s) ? (v) : (s))
#define OP_MIN(s, v) ((v) < (s) ? (v) : (s))
/* float32 MAX and MIN propagate NaN, as TF's reducers do. */
#define OP_MAX_F32(s, v) ((v) > (s) || (v) != (v) ? (v) : (s))
#define OP_MIN_F32(s, v) ((v) < (s) || (v) != (v) ? (v) : (s))
/* Bools are read as "nonzero is true" and written as 0 or 1. */
#define OP_OR(s, v) ((uint8_t)((s) | ((v) != 0)))
#define OP_AND(s, v) ((uint8_t)((s) & ((v) != 0)))
/* int32 sums and products wrap like TensorFlow's, defined via uint32_t. */
#define OP_ADD_I32(s, v) ((int32_t)((uint32_t)(s) + (uint32_t)(v)))
#define OP_MUL_I32(s, v) ((int32_t)((uint32_t)(s) * (uint32_t)(v)))

DEFINE_ACC(sum_f32, float, OP_ADD)
DEFINE_ACC(prod_f32, float, OP_MUL)
DEFINE_ACC(max_f32, float, OP_MAX_F32)
DEFINE_ACC(min_f32, float, OP_MIN_F32)
DEFINE_ACC(sum_i32, int32_t, OP_ADD_I32)
DEFINE_ACC(prod_i32, int32_t, OP_MUL_I32)
DEFINE_ACC(max_i32, int32_t, OP_MAX)
DEFINE_ACC(min_i32, int32_t, OP_MIN)
DEFINE_ACC(any_bool, uint8_t, OP_OR)
DEFINE_ACC(all_bool, uint8_t, OP_AND)

/* By dtype (the pairs infer allows). MEAN accumulates a sum, then divides. */
static const acc_fn accs[KILN_BOOL + 1][KN_REDUCE_COUNT][2] = {
    [KILN_FLOAT32] = {[KN_REDUCE_SUM] = ACC(sum_f32), [KN_REDUCE_MEAN] = ACC(sum_f32), [KN_REDUCE_MAX] = ACC(max_f32),
                      [KN_REDUCE_MIN] = ACC(min_f32), [KN_REDUCE_PROD] = ACC(prod_f32)},
    [KILN_INT32] = {[KN_REDUCE_SUM] = ACC(sum_i32), [KN_REDUCE_MEAN] = ACC(sum_i32), [KN_REDUCE_MAX] = ACC(max_i32),
                    [KN_REDUCE_MIN] = ACC(min_i32), [KN_REDUCE_PROD] = ACC(prod_i32)},
    [KILN_BOOL] = {[KN_REDUCE_ANY] = ACC(any_bool), [KN_REDUCE_ALL] = ACC(all_bool)},
};

/* Fills y with the kind's identity, the start of every accumulation. */
static void fill_identity(const kn_tensor *y, int kind, size_t n) {
    if (y->dtype == KILN_FLOAT32) {
        float *v = y->data;
        float init = kind == KN_REDUCE_MAX ? -INFINITY : kind == KN_REDUCE_MIN ? INFINITY
                   : kind == KN_REDUCE_PROD ? 1.0f : 0.0f;
        for (size_t i = 0; i < n; i++) v[i] = init;
    } else if (y->dtype == KILN_INT32) {
        int32_t *v = y->data;
        int32_t init = kind == KN_REDUCE_MAX ? INT32_MIN : kind == KN_REDUCE_MIN ? INT32_MAX
                     : kind == KN_REDUCE_PROD ? 1 : 0;
        for (size_t i = 0; i < n; i++) v[i] = init;
    } else {
        memset(y->data, kind == KN_REDUCE_ALL, n);
    }
}

/* Turns MEAN's sums into means. An empty reduction gives NaN for float32
 * and 0 for int32 (TF's identities); int32 truncates toward zero like TF's
 * integer division. */
static void finish_mean(const kn_tensor *y, size_t n, size_t count) {
    if (y->dtype == KILN_FLOAT32) {
        float *v = y->data;
        for (size_t i = 0; i < n; i++) v[i] = count ? v[i] / (float)count : NAN;
    } else {
        int32_t *v = y->data;
        for (size_t i = 0; i < n; i++) v[i] = count ? (int32_t)((int64_t)v[i] / (int64_t)count) : 0;
    }
}

static kiln_status reduce_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_reduce_params *p = s->params;
    const kn_tensor *x = s->in[0], *y = s->out[0];
    const size_t es = kiln_dtype_size(x->dtype);
    size_t n_out = kn_tensor_count(y), n_reduced = 1;
    for (int d = 0; d < x->rank; d++)
        if (reduced(p, d)) n_reduced *= (size_t)x->dims[d];

    /* Each output reduces a single input (an empty mask, or only size-1
     * axes): every kind is the identity, so this is a copy. */
    if (n_reduced == 1) {
        memmove(y->data, x->data, n_out * es);
        return KILN_OK;
    }

    fill_identity(y, p->kind, n_out);
    if (n_out && n_reduced) {
        /* Operand 0 is x, contiguous; operand 1 is y, which stays put
         * (stride 0) along reduced axes. */
        kn_nest nest = {.rank = x->rank};
        size_t xs = 1, ys = 1;
        for (int d = x->rank - 1; d >= 0; d--) {
            nest.dims[d] = (size_t)x->dims[d];
            nest.stride[0][d] = xs;
            nest.stride[1][d] = reduced(p, d) ? 0 : ys;
            xs *= nest.dims[d];
            if (!reduced(p, d)) ys *= nest.dims[d];
        }
        kn_nest_simplify(&nest);
        /* The common global average pool, x[1,H,W,C] over axes 1 and 2,
         * becomes [H*W, C] with C kept: H*W contiguous row accumulations. */
        size_t n = nest.dims[nest.rank - 1];
        bool inner_reduced = nest.stride[1][nest.rank - 1] == 0;
        acc_fn fn = accs[x->dtype][p->kind][inner_reduced ? FOLD : ROWS];
        const char *px = x->data;
        char *py = y->data;
        size_t rows = kn_nest_rows(&nest);
        kn_cursor c = {{0}, {0, 0}};
        for (size_t r = 0; r < rows; r++, kn_nest_next(&nest, &c)) fn(py + c.off[1] * es, px + c.off[0] * es, n);
    }
    if (p->kind == KN_REDUCE_MEAN) finish_mean(y, n_out, n_reduced);
    return KILN_OK;
}

static double reduce_flops(const kn_step *s) { return (double)kn_tensor_count(s->in[0]); }

const kn_op_def kn_op_reduce = {
    .name = "Reduce",
    .n_params = sizeof(kn_reduce_params) / 4,
    .infer = reduce_infer,
    .eval = reduce_eval,
    .flops = reduce_flops,
};
