/* UNARY: y = f(x) elementwise, same dtype and shape. float32 has every kind
 * but LOGICAL_NOT; int32 has the kinds that are exact on integers; bool has
 * LOGICAL_NOT. */
#include <math.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

#define T_F32 (1u << KILN_FLOAT32)
#define T_I32 (1u << KILN_INT32)
#define T_BOOL (1u << KILN_BOOL)

/* Each kind's name and the dtypes it takes. */
static const struct {
    const char *name;
    unsigned dtypes;
} kinds[KN_UNARY_COUNT] = {
    [KN_UNARY_RELU] = {"RELU", T_F32 | T_I32},
    [KN_UNARY_RELU6] = {"RELU6", T_F32},
    [KN_UNARY_ELU] = {"ELU", T_F32},
    [KN_UNARY_SIGMOID] = {"SIGMOID", T_F32},
    [KN_UNARY_TANH] = {"TANH", T_F32},
    [KN_UNARY_LEAKY_RELU] = {"LEAKY_RELU", T_F32},
    [KN_UNARY_RSQRT] = {"RSQRT", T_F32},
    [KN_UNARY_SQRT] = {"SQRT", T_F32},
    [KN_UNARY_SQUARE] = {"SQUARE", T_F32 | T_I32},
    [KN_UNARY_EXP] = {"EXP", T_F32},
    [KN_UNARY_LOG] = {"LOG", T_F32},
    [KN_UNARY_NEG] = {"NEG", T_F32 | T_I32},
    [KN_UNARY_ABS] = {"ABS", T_F32 | T_I32},
    [KN_UNARY_LOG1P] = {"LOG1P", T_F32},
    [KN_UNARY_FLOOR] = {"FLOOR", T_F32},
    [KN_UNARY_CEIL] = {"CEIL", T_F32},
    [KN_UNARY_ROUND] = {"ROUND", T_F32 | T_I32},
    [KN_UNARY_RECIPROCAL] = {"RECIPROCAL", T_F32},
    [KN_UNARY_SIN] = {"SIN", T_F32},
    [KN_UNARY_COS] = {"COS", T_F32},
    [KN_UNARY_TAN] = {"TAN", T_F32},
    [KN_UNARY_ATAN] = {"ATAN", T_F32},
    [KN_UNARY_ERF] = {"ERF", T_F32},
    [KN_UNARY_SOFTPLUS] = {"SOFTPLUS", T_F32},
    [KN_UNARY_SOFTSIGN] = {"SOFTSIGN", T_F32},
    [KN_UNARY_SELU] = {"SELU", T_F32},
    [KN_UNARY_SIGN] = {"SIGN", T_F32 | T_I32},
    [KN_UNARY_EXPM1] = {"EXPM1", T_F32},
    [KN_UNARY_LOGICAL_NOT] = {"LOGICAL_NOT", T_BOOL},
    [KN_UNARY_HARD_SIGMOID] = {"HARD_SIGMOID", T_F32},
    [KN_UNARY_GELU] = {"GELU", T_F32},
    [KN_UNARY_SWISH] = {"SWISH", T_F32},
};

static kiln_status unary_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 1);
    if (st) return st;
    const kn_unary_params *p = s->params;
    const kn_tensor *x = s->in[0];
    if (p->kind < 0 || p->kind >= KN_UNARY_COUNT)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "unknown unary kind %d", p->kind);
    if (x->dtype < KILN_FLOAT32 || x->dtype > KILN_BOOL || !(kinds[p->kind].dtypes & (1u << x->dtype)))
        return kn_fail(KILN_ERR_UNSUPPORTED, "unary %s is not supported for %s", kinds[p->kind].name,
                       kiln_dtype_name(x->dtype));
    kn_set_shape(out, x->dtype, x->rank, x->dims);
    return KILN_OK;
}

/* TF's Softplus switches to x above -T and to exp(x) below T, where
 * T = log(FLT_EPSILON) + 2: there log1p(exp(x)) equals them to float
 * precision, and exp(x) would overflow above. */
#define SOFTPLUS_T (-13.9423847f)
/* TF's SELU constants, scale and scale * alpha. */
#define SELU_SCALE 1.05070098735548049342f
#define SELU_SCALE_ALPHA 1.75809934084737685994f

/* Keras' hard sigmoid; NaN stays NaN. */
static inline float hard_sigmoid(float v) {
    float t = 0.2f * v + 0.5f;
    return t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
}

/* y[i] = EXPR of v = x[i], over the enclosing function's x, y and n: one
 * loop per kind, so no switch runs inside a loop. */
#define MAP(T, EXPR)                            \
    KN_ELEMENTWISE(T, y, n, T v = x[at], EXPR); \
    break

static void eval_f32(float *y, const float *x, size_t n, int kind, float alpha) {
    switch (kind) {
    /* NaN passes through RELU and RELU6, as in the fused activations. */
    case KN_UNARY_RELU: MAP(float, v < 0.0f ? 0.0f : v);
    case KN_UNARY_RELU6: MAP(float, v < 0.0f ? 0.0f : v > 6.0f ? 6.0f : v);
    case KN_UNARY_ELU: MAP(float, v > 0.0f ? v : expm1f(v));
    case KN_UNARY_SIGMOID: MAP(float, 1.0f / (1.0f + expf(-v)));
    case KN_UNARY_TANH: MAP(float, tanhf(v));
    case KN_UNARY_LEAKY_RELU: MAP(float, v > 0.0f ? v : alpha * v);
    case KN_UNARY_RSQRT: MAP(float, 1.0f / sqrtf(v));
    case KN_UNARY_SQRT: MAP(float, sqrtf(v));
    case KN_UNARY_SQUARE: MAP(float, v * v);
    case KN_UNARY_EXP: MAP(float, expf(v));
    case KN_UNARY_LOG: MAP(float, logf(v));
    case KN_UNARY_NEG: MAP(float, -v);
    case KN_UNARY_ABS: MAP(float, fabsf(v));
    case KN_UNARY_LOG1P: MAP(float, log1pf(v));
    case KN_UNARY_FLOOR: MAP(float, floorf(v));
    case KN_UNARY_CEIL: MAP(float, ceilf(v));
    case KN_UNARY_ROUND: MAP(float, rintf(v)); /* the default rounding mode: half to even */
    case KN_UNARY_RECIPROCAL: MAP(float, 1.0f / v);
    case KN_UNARY_SIN: MAP(float, sinf(v));
    case KN_UNARY_COS: MAP(float, cosf(v));
    case KN_UNARY_TAN: MAP(float, tanf(v));
    case KN_UNARY_ATAN: MAP(float, atanf(v));
    case KN_UNARY_ERF: MAP(float, erff(v));
    case KN_UNARY_SOFTPLUS: MAP(float, v > -SOFTPLUS_T ? v : v < SOFTPLUS_T ? expf(v) : log1pf(expf(v)));
    case KN_UNARY_SOFTSIGN: MAP(float, v / (1.0f + fabsf(v)));
    case KN_UNARY_SELU: MAP(float, v < 0.0f ? SELU_SCALE_ALPHA * expm1f(v) : SELU_SCALE * v);
    /* ±0 and NaN come back as they are (TF 2 gives NaN for NaN). */
    case KN_UNARY_SIGN: MAP(float, v > 0.0f ? 1.0f : v < 0.0f ? -1.0f : v);
    case KN_UNARY_EXPM1: MAP(float, expm1f(v));
    case KN_UNARY_HARD_SIGMOID: MAP(float, hard_sigmoid(v));
    /* As TF's gelu(approximate=False): x / sqrt(2), not x * (1 / sqrt(2)). */
    case KN_UNARY_GELU: MAP(float, 0.5f * v * (1.0f + erff(v / 1.41421356237309505f)));
    case KN_UNARY_SWISH: MAP(float, v * (1.0f / (1.0f + expf(-v))));
    }
}

/* int32 wraps like TensorFlow's (-INT32_MIN is INT32_MIN); the uint32_t
 * detour keeps that defined in C. */
static void eval_i32(int32_t *y, const int32_t *x, size_t n, int kind) {
    switch (kind) {
    case KN_UNARY_RELU: MAP(int32_t, v > 0 ? v : 0);
    case KN_UNARY_SQUARE: MAP(int32_t, (int32_t)((uint32_t)v * (uint32_t)v));
    case KN_UNARY_NEG: MAP(int32_t, (int32_t)(0u - (uint32_t)v));
    case KN_UNARY_ABS: MAP(int32_t, v < 0 ? (int32_t)(0u - (uint32_t)v) : v);
    case KN_UNARY_ROUND: MAP(int32_t, v);
    case KN_UNARY_SIGN: MAP(int32_t, (v > 0) - (v < 0));
    }
}

/* Bools are read as "nonzero is true" and written as 0 or 1. */
static void eval_bool(uint8_t *y, const uint8_t *x, size_t n, int kind) {
    switch (kind) {
    case KN_UNARY_LOGICAL_NOT: MAP(uint8_t, v == 0);
    }
}

static kiln_status unary_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_unary_params *p = s->params;
    const kn_tensor *x = s->in[0], *y = s->out[0];
    size_t n = kn_tensor_count(x);
    if (x->dtype == KILN_FLOAT32) eval_f32(y->data, x->data, n, p->kind, p->alpha);
    else if (x->dtype == KILN_INT32) eval_i32(y->data, x->data, n, p->kind);
    else eval_bool(y->data, x->data, n, p->kind);
    return KILN_OK;
}

static double unary_flops(const kn_step *s) { return (double)kn_tensor_count(s->out[0]); }

const kn_op_def kn_op_unary = {
    .name = "Unary",
    .n_params = sizeof(kn_unary_params) / 4,
    .infer = unary_infer,
    .eval = unary_eval,
    .flops = unary_flops,
};
