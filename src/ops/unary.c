/* UNARY: y = f(x) elementwise. float32 has every kind; int32 has the four
 * that are exact on integers (NEG, ABS, SQUARE, RELU). */
#include <math.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static const char *const kind_names[KN_UNARY_COUNT] = {
    "RELU", "RELU6", "ELU", "SIGMOID", "TANH", "LEAKY_RELU", "RSQRT",
    "SQRT", "SQUARE", "EXP", "LOG", "NEG", "ABS",
};

static bool int32_kind(int kind) {
    return kind == KN_UNARY_NEG || kind == KN_UNARY_ABS || kind == KN_UNARY_SQUARE || kind == KN_UNARY_RELU;
}

static kiln_status unary_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 1);
    if (st) return st;
    const kn_unary_params *p = s->params;
    const kn_tensor *x = s->in[0];
    if (p->kind < 0 || p->kind >= KN_UNARY_COUNT)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "unknown unary kind %d", p->kind);
    if (x->dtype != KILN_FLOAT32 && !(x->dtype == KILN_INT32 && int32_kind(p->kind)))
        return kn_fail(KILN_ERR_UNSUPPORTED, "unary %s is not supported for %s", kind_names[p->kind],
                       kiln_dtype_name(x->dtype));
    kn_set_shape(out, x->dtype, x->rank, x->dims);
    return KILN_OK;
}

/* y[i] = EXPR of v = x[i], over the enclosing function's x, y and n: one
 * loop per kind, so no switch runs inside a loop. */
#define MAP(T, EXPR)                            \
    KN_ELEMENTWISE(T, y, n, T v = x[at], EXPR); \
    break

static void eval_f32(float *y, const float *x, size_t n, int kind, float alpha) {
    switch (kind) {
    case KN_UNARY_RELU: MAP(float, v > 0.0f ? v : 0.0f);
    case KN_UNARY_RELU6: MAP(float, v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f);
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
    }
}

static kiln_status unary_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_unary_params *p = s->params;
    const kn_tensor *x = s->in[0], *y = s->out[0];
    size_t n = kn_tensor_count(x);
    if (x->dtype == KILN_FLOAT32) eval_f32(y->data, x->data, n, p->kind, p->alpha);
    else eval_i32(y->data, x->data, n, p->kind);
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
