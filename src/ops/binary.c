/* BINARY: elementwise a (op) b with NumPy/TensorFlow broadcasting, and an
 * optional fused activation on float32 results. Arithmetic keeps the
 * operands' dtype; comparisons and logic ops give bool. */
#include <math.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/activation.h"
#include "ops/op_util.h"
#include "ops/params.h"

/* The float32 arithmetic that models spend their Binary time in (residual
 * adds, scales, PReLU, clamps): a row kernel y[0..n) = a (op) b, where a and
 * b each either advance with y or repeat their first element. Three
 * variants per kind keep the inner loops free of strides so they vectorize. */
typedef void (*row_fn)(void *y, const void *a, const void *b, size_t n);
enum { VV, VS, SV }; /* vector-vector, vector-scalar, scalar-vector */

#define DEFINE_ROWS(NAME, EXPR)                                                 \
    static void NAME##_vv(void *py, const void *pa, const void *pb, size_t n) { \
        float *y = py;                                                          \
        const float *va = pa, *vb = pb;                                         \
        KN_ELEMENTWISE(float, y, n, float a = va[at]; float b = vb[at], EXPR);  \
    }                                                                           \
    static void NAME##_vs(void *py, const void *pa, const void *pb, size_t n) { \
        float *y = py;                                                          \
        const float *va = pa, b = *(const float *)pb;                           \
        KN_ELEMENTWISE(float, y, n, float a = va[at], EXPR);                    \
    }                                                                           \
    static void NAME##_sv(void *py, const void *pa, const void *pb, size_t n) { \
        float *y = py;                                                          \
        const float a = *(const float *)pa, *vb = pb;                           \
        KN_ELEMENTWISE(float, y, n, float b = vb[at], EXPR);                    \
    }
#define ROWS(NAME) {NAME##_vv, NAME##_vs, NAME##_sv}

DEFINE_ROWS(add, a + b)
DEFINE_ROWS(sub, a - b)
DEFINE_ROWS(mul, a * b)
DEFINE_ROWS(div, a / b)
/* Maximum and Minimum propagate NaN from either side, as TF's do. */
DEFINE_ROWS(max, a > b || a != a ? a : b)
DEFINE_ROWS(min, a < b || a != a ? a : b)
DEFINE_ROWS(sqdiff, (a - b) * (a - b))
DEFINE_ROWS(prelu, a > 0.0f ? a : b * a)

static const row_fn f32_rows[KN_BINARY_COUNT][3] = {
    [KN_BINARY_ADD] = ROWS(add),
    [KN_BINARY_SUB] = ROWS(sub),
    [KN_BINARY_MUL] = ROWS(mul),
    [KN_BINARY_DIV] = ROWS(div),
    [KN_BINARY_MAX] = ROWS(max),
    [KN_BINARY_MIN] = ROWS(min),
    [KN_BINARY_SQUARED_DIFFERENCE] = ROWS(sqdiff),
    [KN_BINARY_PRELU] = ROWS(prelu),
};

/* Every other kind and dtype (comparisons, logic, integer arithmetic, and
 * pow, floor div/mod and atan2, which are library calls) shows in models on
 * shapes, indices and masks: small tensors. One plain loop with a switch per
 * element serves them all; vectorized rows for each were 48 KB of kiln.wasm
 * (docs/SIZES.md). */

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

static float f32_arith(int kind, float a, float b) {
    switch (kind) {
    case KN_BINARY_POW: return powf(a, b);
    case KN_BINARY_FLOOR_DIV: return floorf(a / b);
    case KN_BINARY_FLOOR_MOD: return tf_floor_mod_f32(a, b);
    default: return atan2f(a, b); /* KN_BINARY_ATAN2 */
    }
}

/* int32 and uint8 arithmetic wraps like TensorFlow's: computed in uint64_t
 * (defined wrapping in C), of which the store keeps the low 32 or 8 bits. */
static uint64_t int_arith(int kind, int64_t a, int64_t b) {
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (kind) {
    case KN_BINARY_ADD: return ua + ub;
    case KN_BINARY_SUB: return ua - ub;
    case KN_BINARY_MUL: return ua * ub;
    case KN_BINARY_MAX: return (uint64_t)(a > b ? a : b);
    case KN_BINARY_MIN: return (uint64_t)(a < b ? a : b);
    case KN_BINARY_SQUARED_DIFFERENCE: return (ua - ub) * (ua - ub);
    case KN_BINARY_FLOOR_DIV: return (uint64_t)tf_floor_div_i32((int32_t)a, (int32_t)b);
    default: return (uint64_t)tf_floor_mod_i32((int32_t)a, (int32_t)b); /* KN_BINARY_FLOOR_MOD */
    }
}

/* Comparisons read every dtype as double, which holds all their values
 * exactly; bools are read as "nonzero is true", so as 0 or 1. */
static double load_f64(kiln_dtype dtype, const void *p, size_t i) {
    switch (dtype) {
    case KILN_FLOAT32: return ((const float *)p)[i];
    case KILN_INT32: return ((const int32_t *)p)[i];
    case KILN_UINT8: return ((const uint8_t *)p)[i];
    default: return ((const uint8_t *)p)[i] != 0; /* KILN_BOOL */
    }
}

static uint8_t compare(int kind, double a, double b) {
    switch (kind) {
    case KN_BINARY_EQUAL: return a == b;
    case KN_BINARY_NOT_EQUAL: return a != b;
    case KN_BINARY_LESS: return a < b;
    case KN_BINARY_LESS_EQUAL: return a <= b;
    case KN_BINARY_GREATER: return a > b;
    case KN_BINARY_GREATER_EQUAL: return a >= b;
    case KN_BINARY_LOGICAL_AND: return a != 0 && b != 0;
    default: return a != 0 || b != 0; /* KN_BINARY_LOGICAL_OR */
    }
}

/* y[i] = a[i * sa] (op) b[i * sb] for i in [0, n): strides in elements.
 * `cold` (gcc and clang) builds it for size and keeps it out of binary_eval's
 * row loop, which stays as tight as with the vectorized rows alone. */
__attribute__((cold)) static void other_row(int kind, kiln_dtype dtype, void *py, const void *pa, size_t sa,
                                            const void *pb, size_t sb, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t ia = i * sa, ib = i * sb;
        if (kind >= KN_BINARY_EQUAL)
            ((uint8_t *)py)[i] = compare(kind, load_f64(dtype, pa, ia), load_f64(dtype, pb, ib));
        else if (dtype == KILN_FLOAT32)
            ((float *)py)[i] = f32_arith(kind, ((const float *)pa)[ia], ((const float *)pb)[ib]);
        else if (dtype == KILN_INT32)
            ((int32_t *)py)[i] =
                (int32_t)(uint32_t)int_arith(kind, ((const int32_t *)pa)[ia], ((const int32_t *)pb)[ib]);
        else
            ((uint8_t *)py)[i] = (uint8_t)int_arith(kind, ((const uint8_t *)pa)[ia], ((const uint8_t *)pb)[ib]);
    }
}

/* The kinds each operand dtype supports, one bit per kind (infer rejects the others). */
#define KIND(k) (1u << KN_BINARY_##k)
#define COMPARISONS \
    (KIND(EQUAL) | KIND(NOT_EQUAL) | KIND(LESS) | KIND(LESS_EQUAL) | KIND(GREATER) | KIND(GREATER_EQUAL))
#define WRAPPING_ARITH (KIND(ADD) | KIND(SUB) | KIND(MUL) | KIND(MAX) | KIND(MIN))
static const uint32_t supported[KILN_BOOL + 1] = {
    [KILN_FLOAT32] = KIND(LOGICAL_AND) - 1, /* all but logic */
    [KILN_INT32] = WRAPPING_ARITH | KIND(SQUARED_DIFFERENCE) | KIND(FLOOR_DIV) | KIND(FLOOR_MOD) | COMPARISONS,
    [KILN_UINT8] = WRAPPING_ARITH | COMPARISONS,
    [KILN_BOOL] = KIND(EQUAL) | KIND(NOT_EQUAL) | KIND(LOGICAL_AND) | KIND(LOGICAL_OR),
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
    if (a->dtype < KILN_FLOAT32 || a->dtype > KILN_BOOL || !(supported[a->dtype] >> p->kind & 1))
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
    row_fn fn = a->dtype == KILN_FLOAT32 ? f32_rows[p->kind][sa && sb ? VV : sa ? VS : SV] : NULL;

    size_t ei = kiln_dtype_size(a->dtype), eo = kiln_dtype_size(y->dtype); /* operand, result bytes */
    const char *pa = a->data, *pb = b->data;
    char *py = y->data;
    size_t n_rows = kn_nest_rows(&nest);
    kn_cursor c = {{0}, {0, 0}};
    for (size_t r = 0; r < n_rows; r++, kn_nest_next(&nest, &c)) {
        char *yr = py + r * n * eo;
        const char *ar = pa + c.off[0] * ei, *br = pb + c.off[1] * ei;
        if (p->act == KN_ACT_NONE) {
            if (fn)
                fn(yr, ar, br, n);
            else
                other_row(p->kind, a->dtype, yr, ar, sa, br, sb, n);
            continue;
        }
        for (size_t i = 0; i < n; i += ACT_CHUNK) {
            size_t m = n - i < ACT_CHUNK ? n - i : ACT_CHUNK;
            if (fn)
                fn(yr + i * eo, ar + i * sa * ei, br + i * sb * ei, m);
            else
                other_row(p->kind, a->dtype, yr + i * eo, ar + i * sa * ei, sa, br + i * sb * ei, sb, m);
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
