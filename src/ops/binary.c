/* BINARY: elementwise a (op) b with NumPy/TensorFlow broadcasting, and an
 * optional fused activation on float32 results. */
#include <math.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/activation.h"
#include "ops/op_util.h"
#include "ops/params.h"

/* A row kernel: y[0..n) = a (op) b, where a and b each either advance with
 * y or repeat their first element. Three variants per kind keep the inner
 * loops free of strides so they vectorize. */
typedef void (*row_fn)(void *y, const void *a, const void *b, size_t n);
enum { VV, VS, SV }; /* vector-vector, vector-scalar, scalar-vector */

#define DEFINE_ROWS(NAME, T, EXPR)                                              \
    static void NAME##_vv(void *py, const void *pa, const void *pb, size_t n) { \
        T *y = py;                                                              \
        const T *va = pa, *vb = pb;                                             \
        KN_ELEMENTWISE(T, y, n, T a = va[at]; T b = vb[at], EXPR);              \
    }                                                                           \
    static void NAME##_vs(void *py, const void *pa, const void *pb, size_t n) { \
        T *y = py;                                                              \
        const T *va = pa, b = *(const T *)pb;                                   \
        KN_ELEMENTWISE(T, y, n, T a = va[at], EXPR);                            \
    }                                                                           \
    static void NAME##_sv(void *py, const void *pa, const void *pb, size_t n) { \
        T *y = py;                                                              \
        const T a = *(const T *)pa, *vb = pb;                                   \
        KN_ELEMENTWISE(T, y, n, T b = vb[at], EXPR);                            \
    }
#define ROWS(NAME) {NAME##_vv, NAME##_vs, NAME##_sv}

DEFINE_ROWS(add_f32, float, a + b)
DEFINE_ROWS(sub_f32, float, a - b)
DEFINE_ROWS(mul_f32, float, a * b)
DEFINE_ROWS(div_f32, float, a / b)
DEFINE_ROWS(max_f32, float, a > b ? a : b)
DEFINE_ROWS(min_f32, float, a < b ? a : b)
DEFINE_ROWS(pow_f32, float, powf(a, b))
DEFINE_ROWS(sqdiff_f32, float, (a - b) * (a - b))
DEFINE_ROWS(prelu_f32, float, a > 0.0f ? a : b * a)

/* int32 arithmetic wraps like TensorFlow's; going through uint32_t keeps
 * that defined behaviour in C. */
#define WRAP(expr) ((int32_t)(uint32_t)(expr))
DEFINE_ROWS(add_i32, int32_t, WRAP((uint32_t)a + (uint32_t)b))
DEFINE_ROWS(sub_i32, int32_t, WRAP((uint32_t)a - (uint32_t)b))
DEFINE_ROWS(mul_i32, int32_t, WRAP((uint32_t)a * (uint32_t)b))
DEFINE_ROWS(max_i32, int32_t, a > b ? a : b)
DEFINE_ROWS(min_i32, int32_t, a < b ? a : b)
DEFINE_ROWS(sqdiff_i32, int32_t, WRAP(((uint32_t)a - (uint32_t)b) * ((uint32_t)a - (uint32_t)b)))

static const row_fn f32_rows[KN_BINARY_COUNT][3] = {
    [KN_BINARY_ADD] = ROWS(add_f32),
    [KN_BINARY_SUB] = ROWS(sub_f32),
    [KN_BINARY_MUL] = ROWS(mul_f32),
    [KN_BINARY_DIV] = ROWS(div_f32),
    [KN_BINARY_MAX] = ROWS(max_f32),
    [KN_BINARY_MIN] = ROWS(min_f32),
    [KN_BINARY_POW] = ROWS(pow_f32),
    [KN_BINARY_SQUARED_DIFFERENCE] = ROWS(sqdiff_f32),
    [KN_BINARY_PRELU] = ROWS(prelu_f32),
};

/* Kinds without an int32 row are unsupported for int32 (infer says so). */
static const row_fn i32_rows[KN_BINARY_COUNT][3] = {
    [KN_BINARY_ADD] = ROWS(add_i32),
    [KN_BINARY_SUB] = ROWS(sub_i32),
    [KN_BINARY_MUL] = ROWS(mul_i32),
    [KN_BINARY_MAX] = ROWS(max_i32),
    [KN_BINARY_MIN] = ROWS(min_i32),
    [KN_BINARY_SQUARED_DIFFERENCE] = ROWS(sqdiff_i32),
};

static const char *const kind_names[KN_BINARY_COUNT] = {
    "ADD", "SUB", "MUL", "DIV", "MAX", "MIN", "POW", "SQUARED_DIFFERENCE", "PRELU",
};

/* Dim `d` of `t` once its shape is right-aligned to `rank` dims (1 where
 * it has none). */
static int32_t aligned_dim(const kn_tensor *t, int rank, int d) {
    int i = d - (rank - t->rank);
    return i < 0 ? 1 : t->dims[i];
}

static kiln_status binary_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 2, 2);
    if (st) return st;
    const kn_binary_params *p = s->params;
    const kn_tensor *a = s->in[0], *b = s->in[1];
    if (p->kind < 0 || p->kind >= KN_BINARY_COUNT)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "unknown binary kind %d", p->kind);
    if (p->act < 0 || p->act >= KN_ACT_COUNT || p->act == KN_ACT_PRELU)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "binary activation %d is not one of NONE..LEAKY_RELU", p->act);
    if (a->dtype != b->dtype)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "operands %S and %S have different dtypes", a, b);
    if (a->dtype == KILN_INT32) {
        if (!i32_rows[p->kind][VV])
            return kn_fail(KILN_ERR_UNSUPPORTED, "binary %s is not supported for int32", kind_names[p->kind]);
        if (p->act != KN_ACT_NONE)
            return kn_fail(KILN_ERR_UNSUPPORTED, "binary %s: fused activation %d needs float32, got int32",
                           kind_names[p->kind], p->act);
    } else if (a->dtype != KILN_FLOAT32) {
        return kn_fail(KILN_ERR_UNSUPPORTED, "binary %s is not supported for %s", kind_names[p->kind],
                       kiln_dtype_name(a->dtype));
    }

    int rank = a->rank > b->rank ? a->rank : b->rank;
    int32_t dims[KILN_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        int32_t da = aligned_dim(a, rank, d), db = aligned_dim(b, rank, d);
        if (da != db && da != 1 && db != 1)
            return kn_fail(KILN_ERR_BAD_BUNDLE,
                           "cannot broadcast %S with %S: dims %d and %d differ and neither is 1", a, b, da, db);
        dims[d] = da == 1 ? db : da;
    }
    return kn_set_checked_shape(out, a->dtype, rank, dims);
}

/* Operand x's element strides over y's dims: contiguous over its own dims,
 * 0 along dims it is broadcast in. */
static void broadcast_strides(const kn_tensor *x, const kn_tensor *y, size_t *stride) {
    size_t step = 1;
    for (int d = y->rank - 1; d >= 0; d--) {
        int32_t dim = aligned_dim(x, y->rank, d);
        stride[d] = dim == 1 ? 0 : step;
        step *= (size_t)dim;
    }
}

/* With a fused activation, long rows go in chunks that stay in L1 between
 * the op and the activation pass. */
enum { ACT_CHUNK = 1024 };

static kiln_status binary_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_binary_params *p = s->params;
    const kn_tensor *a = s->in[0], *b = s->in[1], *y = s->out[0];
    if (kn_tensor_count(y) == 0) return KILN_OK;

    kn_nest nest = {.rank = y->rank};
    for (int d = 0; d < y->rank; d++) nest.dims[d] = (size_t)y->dims[d];
    broadcast_strides(a, y, nest.stride[0]);
    broadcast_strides(b, y, nest.stride[1]);
    kn_nest_simplify(&nest);

    /* Simplified, same shapes are one VV row, a scalar b one VS row, b[C]
     * against a[N,H,W,C] is N*H*W VV rows of C with b fixed, and anything
     * else walks its outer dims with per-operand strides. The innermost dim
     * has stride 1 for at least one operand (dims of 1 are gone) and 0 or 1
     * for the other. */
    size_t n = nest.dims[nest.rank - 1];
    size_t sa = nest.stride[0][nest.rank - 1], sb = nest.stride[1][nest.rank - 1];
    int variant = sa && sb ? VV : sa ? VS : SV;
    row_fn fn = (a->dtype == KILN_FLOAT32 ? f32_rows : i32_rows)[p->kind][variant];

    const size_t es = 4; /* float32 and int32 */
    const char *pa = a->data, *pb = b->data;
    char *py = y->data;
    size_t rows = kn_nest_rows(&nest);
    kn_cursor c = {{0}, {0, 0}};
    for (size_t r = 0; r < rows; r++, kn_nest_next(&nest, &c)) {
        char *yr = py + r * n * es;
        const char *ar = pa + c.off[0] * es, *br = pb + c.off[1] * es;
        if (p->act == KN_ACT_NONE) {
            fn(yr, ar, br, n);
            continue;
        }
        for (size_t i = 0; i < n; i += ACT_CHUNK) {
            size_t m = n - i < ACT_CHUNK ? n - i : ACT_CHUNK;
            fn(yr + i * es, ar + i * sa * es, br + i * sb * es, m);
            kn_act_apply((float *)y->data + r * n + i, m, p->act, p->act_alpha, NULL, 1);
        }
    }
    return KILN_OK;
}

static double binary_flops(const kn_step *s) { return (double)kn_tensor_count(s->out[0]); }

const kn_op_def kn_op_binary = {
    .name = "Binary",
    .n_params = sizeof(kn_binary_params) / 4,
    .infer = binary_infer,
    .eval = binary_eval,
    .flops = binary_flops,
};
