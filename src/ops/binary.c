/* BINARY: elementwise a (op) b with NumPy/TensorFlow broadcasting, and an
 * optional fused activation on float32 results. Arithmetic keeps the
 * operands' dtype; comparisons and logic ops give bool. */
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

/* Rows of operands of type T giving results of type U. */
#define DEFINE_ROWS(NAME, T, U, EXPR)                                           \
    static void NAME##_vv(void *py, const void *pa, const void *pb, size_t n) { \
        U *y = py;                                                              \
        const T *va = pa, *vb = pb;                                             \
        KN_ELEMENTWISE(U, y, n, T a = va[at]; T b = vb[at], EXPR);              \
    }                                                                           \
    static void NAME##_vs(void *py, const void *pa, const void *pb, size_t n) { \
        U *y = py;                                                              \
        const T *va = pa, b = *(const T *)pb;                                   \
        KN_ELEMENTWISE(U, y, n, T a = va[at], EXPR);                            \
    }                                                                           \
    static void NAME##_sv(void *py, const void *pa, const void *pb, size_t n) { \
        U *y = py;                                                              \
        const T a = *(const T *)pa, *vb = pb;                                   \
        KN_ELEMENTWISE(U, y, n, T b = vb[at], EXPR);                            \
    }
#define ROWS(NAME) {NAME##_vv, NAME##_vs, NAME##_sv}

/* The six comparisons of one operand type, bool (uint8_t 0/1) results. */
#define DEFINE_COMPARISONS(S, T)                    \
    DEFINE_ROWS(equal_##S, T, uint8_t, a == b)      \
    DEFINE_ROWS(not_equal_##S, T, uint8_t, a != b)  \
    DEFINE_ROWS(less_##S, T, uint8_t, a < b)        \
    DEFINE_ROWS(less_equal_##S, T, uint8_t, a <= b) \
    DEFINE_ROWS(greater_##S, T, uint8_t, a > b)     \
    DEFINE_ROWS(greater_equal_##S, T, uint8_t, a >= b)
#define COMPARISON_ROWS(S)                                                                  \
    [KN_BINARY_EQUAL] = ROWS(equal_##S), [KN_BINARY_NOT_EQUAL] = ROWS(not_equal_##S),       \
    [KN_BINARY_LESS] = ROWS(less_##S), [KN_BINARY_LESS_EQUAL] = ROWS(less_equal_##S),       \
    [KN_BINARY_GREATER] = ROWS(greater_##S), [KN_BINARY_GREATER_EQUAL] = ROWS(greater_equal_##S)

/* TF FloorMod: the truncated remainder moved to the divisor's sign. */
static inline float tf_floor_mod_f32(float a, float b) {
    float r = fmodf(a, b);
    return r != 0.0f && (r < 0.0f) != (b < 0.0f) ? r + b : r;
}

/* int32 FloorDiv and FloorMod in 64 bits, so INT32_MIN / -1 cannot trap: its
 * quotient 2^31 wraps to INT32_MIN (as TF's int32 arithmetic and tfjs do) and
 * its remainder is 0. Dividing by 0 is an error in TF; here it gives 0 for
 * both, as tfjs does. */
static inline int32_t tf_floor_div_i32(int32_t a, int32_t b) {
    if (b == 0) return 0;
    int64_t q = (int64_t)a / b;
    if (q * b != a && (a < 0) != (b < 0)) q--;
    return (int32_t)(uint32_t)q;
}

static inline int32_t tf_floor_mod_i32(int32_t a, int32_t b) {
    if (b == 0) return 0;
    int64_t r = (int64_t)a % b;
    return (int32_t)(r != 0 && (r < 0) != (b < 0) ? r + b : r);
}

DEFINE_ROWS(add_f32, float, float, a + b)
DEFINE_ROWS(sub_f32, float, float, a - b)
DEFINE_ROWS(mul_f32, float, float, a * b)
DEFINE_ROWS(div_f32, float, float, a / b)
/* Maximum and Minimum propagate NaN from either side, as TF's do. */
DEFINE_ROWS(max_f32, float, float, a > b || a != a ? a : b)
DEFINE_ROWS(min_f32, float, float, a < b || a != a ? a : b)
DEFINE_ROWS(pow_f32, float, float, powf(a, b))
DEFINE_ROWS(sqdiff_f32, float, float, (a - b) * (a - b))
DEFINE_ROWS(prelu_f32, float, float, a > 0.0f ? a : b * a)
DEFINE_ROWS(floor_div_f32, float, float, floorf(a / b))
DEFINE_ROWS(floor_mod_f32, float, float, tf_floor_mod_f32(a, b))
DEFINE_ROWS(atan2_f32, float, float, atan2f(a, b))
DEFINE_COMPARISONS(f32, float)

/* int32 arithmetic wraps like TensorFlow's; going through uint32_t keeps
 * that defined behaviour in C. */
#define WRAP(expr) ((int32_t)(uint32_t)(expr))
DEFINE_ROWS(add_i32, int32_t, int32_t, WRAP((uint32_t)a + (uint32_t)b))
DEFINE_ROWS(sub_i32, int32_t, int32_t, WRAP((uint32_t)a - (uint32_t)b))
DEFINE_ROWS(mul_i32, int32_t, int32_t, WRAP((uint32_t)a * (uint32_t)b))
DEFINE_ROWS(max_i32, int32_t, int32_t, a > b ? a : b)
DEFINE_ROWS(min_i32, int32_t, int32_t, a < b ? a : b)
DEFINE_ROWS(sqdiff_i32, int32_t, int32_t, WRAP(((uint32_t)a - (uint32_t)b) * ((uint32_t)a - (uint32_t)b)))
DEFINE_ROWS(floor_div_i32, int32_t, int32_t, tf_floor_div_i32(a, b))
DEFINE_ROWS(floor_mod_i32, int32_t, int32_t, tf_floor_mod_i32(a, b))
DEFINE_COMPARISONS(i32, int32_t)

/* uint8 arithmetic wraps modulo 256, as TF's. */
DEFINE_ROWS(add_u8, uint8_t, uint8_t, (uint8_t)(a + b))
DEFINE_ROWS(sub_u8, uint8_t, uint8_t, (uint8_t)(a - b))
DEFINE_ROWS(mul_u8, uint8_t, uint8_t, (uint8_t)(a * b))
DEFINE_ROWS(max_u8, uint8_t, uint8_t, a > b ? a : b)
DEFINE_ROWS(min_u8, uint8_t, uint8_t, a < b ? a : b)
DEFINE_COMPARISONS(u8, uint8_t)

/* Bools are read as "nonzero is true" and written as 0 or 1. */
DEFINE_ROWS(equal_bool, uint8_t, uint8_t, (a != 0) == (b != 0))
DEFINE_ROWS(not_equal_bool, uint8_t, uint8_t, (a != 0) != (b != 0))
DEFINE_ROWS(and_bool, uint8_t, uint8_t, (a != 0) & (b != 0))
DEFINE_ROWS(or_bool, uint8_t, uint8_t, (a != 0) | (b != 0))

/* By operand dtype; a kind without rows is unsupported for that dtype
 * (infer says so). */
static const row_fn rows[KILN_BOOL + 1][KN_BINARY_COUNT][3] = {
    [KILN_FLOAT32] = {
        [KN_BINARY_ADD] = ROWS(add_f32),
        [KN_BINARY_SUB] = ROWS(sub_f32),
        [KN_BINARY_MUL] = ROWS(mul_f32),
        [KN_BINARY_DIV] = ROWS(div_f32),
        [KN_BINARY_MAX] = ROWS(max_f32),
        [KN_BINARY_MIN] = ROWS(min_f32),
        [KN_BINARY_POW] = ROWS(pow_f32),
        [KN_BINARY_SQUARED_DIFFERENCE] = ROWS(sqdiff_f32),
        [KN_BINARY_PRELU] = ROWS(prelu_f32),
        [KN_BINARY_FLOOR_DIV] = ROWS(floor_div_f32),
        [KN_BINARY_FLOOR_MOD] = ROWS(floor_mod_f32),
        [KN_BINARY_ATAN2] = ROWS(atan2_f32),
        COMPARISON_ROWS(f32),
    },
    [KILN_INT32] = {
        [KN_BINARY_ADD] = ROWS(add_i32),
        [KN_BINARY_SUB] = ROWS(sub_i32),
        [KN_BINARY_MUL] = ROWS(mul_i32),
        [KN_BINARY_MAX] = ROWS(max_i32),
        [KN_BINARY_MIN] = ROWS(min_i32),
        [KN_BINARY_SQUARED_DIFFERENCE] = ROWS(sqdiff_i32),
        [KN_BINARY_FLOOR_DIV] = ROWS(floor_div_i32),
        [KN_BINARY_FLOOR_MOD] = ROWS(floor_mod_i32),
        COMPARISON_ROWS(i32),
    },
    [KILN_UINT8] = {
        [KN_BINARY_ADD] = ROWS(add_u8),
        [KN_BINARY_SUB] = ROWS(sub_u8),
        [KN_BINARY_MUL] = ROWS(mul_u8),
        [KN_BINARY_MAX] = ROWS(max_u8),
        [KN_BINARY_MIN] = ROWS(min_u8),
        COMPARISON_ROWS(u8),
    },
    [KILN_BOOL] = {
        [KN_BINARY_EQUAL] = ROWS(equal_bool),
        [KN_BINARY_NOT_EQUAL] = ROWS(not_equal_bool),
        [KN_BINARY_LOGICAL_AND] = ROWS(and_bool),
        [KN_BINARY_LOGICAL_OR] = ROWS(or_bool),
    },
};

static const char *const kind_names[KN_BINARY_COUNT] = {
    "ADD", "SUB", "MUL", "DIV", "MAX", "MIN", "POW", "SQUARED_DIFFERENCE", "PRELU", "FLOOR_DIV", "FLOOR_MOD",
    "ATAN2", "EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "LOGICAL_AND", "LOGICAL_OR",
};

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
    if (a->dtype < KILN_FLOAT32 || a->dtype > KILN_BOOL || !rows[a->dtype][p->kind][VV])
        return kn_fail(KILN_ERR_UNSUPPORTED, "binary %s is not supported for %s", kind_names[p->kind],
                       kiln_dtype_name(a->dtype));
    kiln_dtype dtype = p->kind >= KN_BINARY_EQUAL ? KILN_BOOL : a->dtype;
    if (p->act != KN_ACT_NONE && dtype != KILN_FLOAT32)
        return kn_fail(KILN_ERR_UNSUPPORTED, "binary %s: fused activation %d needs a float32 result, got %s",
                       kind_names[p->kind], p->act, kiln_dtype_name(dtype));

    const kn_tensor *ab[2] = {a, b};
    int rank;
    int32_t dims[KILN_MAX_RANK];
    st = kn_broadcast_shape(ab, 2, &rank, dims);
    return st ? st : kn_set_checked_shape(out, dtype, rank, dims);
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
    kn_broadcast_strides(a, y, nest.stride[0]);
    kn_broadcast_strides(b, y, nest.stride[1]);
    kn_nest_simplify(&nest);

    /* Simplified, same shapes are one VV row, a scalar b one VS row, b[C]
     * against a[N,H,W,C] is N*H*W VV rows of C with b fixed, and anything
     * else walks its outer dims with per-operand strides. The innermost dim
     * has stride 1 for at least one operand (dims of 1 are gone) and 0 or 1
     * for the other. */
    size_t n = nest.dims[nest.rank - 1];
    size_t sa = nest.stride[0][nest.rank - 1], sb = nest.stride[1][nest.rank - 1];
    int variant = sa && sb ? VV : sa ? VS : SV;
    row_fn fn = rows[a->dtype][p->kind][variant];

    size_t ei = kiln_dtype_size(a->dtype), eo = kiln_dtype_size(y->dtype); /* operand, result bytes */
    const char *pa = a->data, *pb = b->data;
    char *py = y->data;
    size_t n_rows = kn_nest_rows(&nest);
    kn_cursor c = {{0}, {0, 0}};
    for (size_t r = 0; r < n_rows; r++, kn_nest_next(&nest, &c)) {
        char *yr = py + r * n * eo;
        const char *ar = pa + c.off[0] * ei, *br = pb + c.off[1] * ei;
        if (p->act == KN_ACT_NONE) {
            fn(yr, ar, br, n);
            continue;
        }
        for (size_t i = 0; i < n; i += ACT_CHUNK) {
            size_t m = n - i < ACT_CHUNK ? n - i : ACT_CHUNK;
            fn(yr + i * eo, ar + i * sa * ei, br + i * sb * ei, m);
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
