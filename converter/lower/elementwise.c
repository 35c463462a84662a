/* Lowering of elementwise, normalization, softmax and reduction ops. */
#include <string.h>

#include "lower.h"

static const struct {
    const char *op;
    int kind;
} binaries[] = {
    {"Add", KN_BINARY_ADD},         {"AddV2", KN_BINARY_ADD},     {"BiasAdd", KN_BINARY_ADD},
    {"Sub", KN_BINARY_SUB},         {"Mul", KN_BINARY_MUL},       {"RealDiv", KN_BINARY_DIV},
    {"Maximum", KN_BINARY_MAX},     {"Minimum", KN_BINARY_MIN},   {"Pow", KN_BINARY_POW},
    {"SquaredDifference", KN_BINARY_SQUARED_DIFFERENCE},          {"Prelu", KN_BINARY_PRELU},
};

static bool lower_binary_op(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    if (strcmp(L->node->op, "BiasAdd") == 0) {
        if (!lower_require_nhwc(L)) return false;
        if (lower_tensor(L, L->in[1])->rank != 1) return lower_fail(L, "bias must be 1-D");
    }
    for (size_t i = 0; i < sizeof binaries / sizeof binaries[0]; i++)
        if (strcmp(binaries[i].op, L->node->op) == 0)
            return lower_binary(L, binaries[i].kind, L->in[0], L->in[1], NULL);
    return lower_fail(L, "internal error: no binary kind");
}

static const struct {
    const char *op;
    int kind;
} unaries[] = {
    {"Relu", KN_UNARY_RELU},   {"Relu6", KN_UNARY_RELU6}, {"Elu", KN_UNARY_ELU},
    {"Sigmoid", KN_UNARY_SIGMOID}, {"Tanh", KN_UNARY_TANH}, {"LeakyRelu", KN_UNARY_LEAKY_RELU},
    {"Rsqrt", KN_UNARY_RSQRT}, {"Sqrt", KN_UNARY_SQRT},   {"Square", KN_UNARY_SQUARE},
    {"Exp", KN_UNARY_EXP},     {"Log", KN_UNARY_LOG},     {"Neg", KN_UNARY_NEG},
    {"Abs", KN_UNARY_ABS},
};

static bool lower_unary_op(kc_lower *L) {
    if (!lower_inputs(L, 1, 1)) return false;
    float alpha = 0;
    if (strcmp(L->node->op, "LeakyRelu") == 0 && !lower_attr_float(L, "alpha", &alpha)) return false;
    for (size_t i = 0; i < sizeof unaries / sizeof unaries[0]; i++)
        if (strcmp(unaries[i].op, L->node->op) == 0) return lower_unary(L, unaries[i].kind, alpha, L->in[0], NULL);
    return lower_fail(L, "internal error: no unary kind");
}

/* AddN: a chain of adds. */
static bool lower_addn(kc_lower *L) {
    if (!lower_inputs(L, 1, 1 << 16)) return false;
    int acc = L->in[0];
    for (int i = 1; i < L->n_in; i++)
        if (!lower_binary(L, KN_BINARY_ADD, acc, L->in[i], &acc)) return false;
    L->out[0] = acc;
    L->n_out = 1;
    return true;
}

/* Inference-mode batch norm: y = x * s + (offset - mean * s), s = scale / sqrt(var + eps).
 * With constant statistics (the usual case) s and the shift fold to constants. */
static bool lower_batchnorm(kc_lower *L) {
    if (!lower_inputs(L, 5, 6) || !lower_require_nhwc(L)) return false;
    bool training;
    float eps;
    if (!lower_attr_bool(L, "is_training", &training) || !lower_attr_float(L, "epsilon", &eps)) return false;
    if (training) return lower_fail(L, "is_training=true (batch statistics) is not supported; freeze the graph for inference");
    int eps_id = kc_add_const(L->p, KILN_FLOAT32, 0, NULL, &eps);
    int s, shift, t;
    bool ok = eps_id >= 0 && lower_binary(L, KN_BINARY_ADD, L->in[4], eps_id, &t) &&
              lower_unary(L, KN_UNARY_RSQRT, 0, t, &t) && lower_binary(L, KN_BINARY_MUL, L->in[1], t, &s) &&
              lower_binary(L, KN_BINARY_MUL, L->in[3], s, &t) && lower_binary(L, KN_BINARY_SUB, L->in[2], t, &shift) &&
              lower_binary(L, KN_BINARY_MUL, L->in[0], s, &t) && lower_binary(L, KN_BINARY_ADD, t, shift, &L->out[0]);
    L->n_out = 1; /* the batch statistics outputs (1..5) are training-only */
    return ok;
}

static bool lower_softmax(kc_lower *L) {
    if (!lower_inputs(L, 1, 1)) return false;
    const kn_tensor *x = lower_tensor(L, L->in[0]);
    if (x->rank < 1) return lower_fail(L, "input must have rank >= 1");
    kn_softmax_params prm = {.axis = x->rank - 1};
    return lower_emit(L, KN_OP_SOFTMAX, L->in, 1, &prm, sizeof prm, NULL);
}

static const struct {
    const char *op;
    int kind;
} reductions[] = {
    {"Sum", KN_REDUCE_SUM}, {"Mean", KN_REDUCE_MEAN}, {"Max", KN_REDUCE_MAX},
    {"Min", KN_REDUCE_MIN}, {"Prod", KN_REDUCE_PROD},
};

static bool lower_reduce(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    bool keep;
    int32_t axes[KILN_MAX_RANK];
    int n;
    if (!lower_attr_bool(L, "keep_dims", &keep) || !lower_const_ints(L, 1, axes, KILN_MAX_RANK, &n)) return false;
    int rank = lower_tensor(L, L->in[0])->rank;
    kn_reduce_params prm = {.keep_dims = keep};
    for (int i = 0; i < n; i++) {
        int a = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (a < 0 || a >= rank) return lower_fail(L, "axis %d is out of range for rank %d", axes[i], rank);
        prm.axes_mask |= 1 << a;
    }
    for (size_t i = 0; i < sizeof reductions / sizeof reductions[0]; i++)
        if (strcmp(reductions[i].op, L->node->op) == 0) prm.kind = reductions[i].kind;
    return lower_emit(L, KN_OP_REDUCE, L->in, 1, &prm, sizeof prm, NULL);
}

const struct kc_lowering kc_lowerings_elementwise[] = {
    {"Add", lower_binary_op},     {"AddV2", lower_binary_op},   {"BiasAdd", lower_binary_op},
    {"Sub", lower_binary_op},     {"Mul", lower_binary_op},     {"RealDiv", lower_binary_op},
    {"Maximum", lower_binary_op}, {"Minimum", lower_binary_op}, {"Pow", lower_binary_op},
    {"SquaredDifference", lower_binary_op}, {"Prelu", lower_binary_op},
    {"Relu", lower_unary_op},     {"Relu6", lower_unary_op},    {"Elu", lower_unary_op},
    {"Sigmoid", lower_unary_op},  {"Tanh", lower_unary_op},     {"LeakyRelu", lower_unary_op},
    {"Rsqrt", lower_unary_op},    {"Sqrt", lower_unary_op},     {"Square", lower_unary_op},
    {"Exp", lower_unary_op},      {"Log", lower_unary_op},      {"Neg", lower_unary_op},
    {"Abs", lower_unary_op},
    {"AddN", lower_addn},
    {"FusedBatchNorm", lower_batchnorm}, {"FusedBatchNormV2", lower_batchnorm}, {"FusedBatchNormV3", lower_batchnorm},
    {"Softmax", lower_softmax},
    {"Sum", lower_reduce},        {"Mean", lower_reduce},       {"Max", lower_reduce},
    {"Min", lower_reduce},        {"Prod", lower_reduce},
    {NULL, NULL},
};
