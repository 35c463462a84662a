/* Lowering of elementwise, normalization, softmax and reduction ops, and of
 * Dequantize on constants. */
#include <math.h>
#include <string.h>

#include "lower.h"

static const struct {
    const char *op;
    int kind;
} binaries[] = {
    {"Add", KN_BINARY_ADD},         {"AddV2", KN_BINARY_ADD},     {"BiasAdd", KN_BINARY_ADD},
    {"Sub", KN_BINARY_SUB},         {"Mul", KN_BINARY_MUL},       {"RealDiv", KN_BINARY_DIV},
    {"Div", KN_BINARY_DIV},         {"Maximum", KN_BINARY_MAX},   {"Minimum", KN_BINARY_MIN},
    {"Pow", KN_BINARY_POW},         {"SquaredDifference", KN_BINARY_SQUARED_DIFFERENCE},
    {"Prelu", KN_BINARY_PRELU},     {"FloorDiv", KN_BINARY_FLOOR_DIV}, {"FloorMod", KN_BINARY_FLOOR_MOD},
    {"Atan2", KN_BINARY_ATAN2},     {"Equal", KN_BINARY_EQUAL},   {"NotEqual", KN_BINARY_NOT_EQUAL},
    {"Less", KN_BINARY_LESS},       {"LessEqual", KN_BINARY_LESS_EQUAL},
    {"Greater", KN_BINARY_GREATER}, {"GreaterEqual", KN_BINARY_GREATER_EQUAL},
    {"LogicalAnd", KN_BINARY_LOGICAL_AND}, {"LogicalOr", KN_BINARY_LOGICAL_OR},
};

static bool lower_binary_op(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    if (strcmp(L->node->op, "BiasAdd") == 0) {
        if (!lower_require_nhwc(L)) return false;
        if (lower_tensor(L, L->in[1])->rank != 1) return lower_fail(L, "bias must be 1-D");
    }
    /* TF's Div is RealDiv on floats but truncates integers toward zero (tfjs
     * floors them instead), so only the float case is unambiguous. */
    kiln_dtype dtype = lower_tensor(L, L->in[0])->dtype;
    if (strcmp(L->node->op, "Div") == 0 && dtype != KILN_FLOAT32)
        return lower_fail(L, "Div on %s (TF truncates integer quotients) is not supported, only on float32",
                          kiln_dtype_name(dtype));
    for (size_t i = 0; i < sizeof binaries / sizeof binaries[0]; i++)
        if (strcmp(binaries[i].op, L->node->op) == 0)
            return lower_binary(L, binaries[i].kind, L->in[0], L->in[1], NULL);
    return lower_fail(L, "internal error: no binary kind");
}

static const struct {
    const char *op;
    int kind;
} unaries[] = {
    {"Relu", KN_UNARY_RELU},         {"Relu6", KN_UNARY_RELU6},       {"Elu", KN_UNARY_ELU},
    {"Sigmoid", KN_UNARY_SIGMOID},   {"Tanh", KN_UNARY_TANH},         {"LeakyRelu", KN_UNARY_LEAKY_RELU},
    {"Rsqrt", KN_UNARY_RSQRT},       {"Sqrt", KN_UNARY_SQRT},         {"Square", KN_UNARY_SQUARE},
    {"Exp", KN_UNARY_EXP},           {"Log", KN_UNARY_LOG},           {"Neg", KN_UNARY_NEG},
    {"Abs", KN_UNARY_ABS},           {"Log1p", KN_UNARY_LOG1P},       {"Floor", KN_UNARY_FLOOR},
    {"Ceil", KN_UNARY_CEIL},         {"Round", KN_UNARY_ROUND},       {"Rint", KN_UNARY_ROUND},
    {"Reciprocal", KN_UNARY_RECIPROCAL}, {"Inv", KN_UNARY_RECIPROCAL}, {"Sin", KN_UNARY_SIN},
    {"Cos", KN_UNARY_COS},           {"Tan", KN_UNARY_TAN},           {"Atan", KN_UNARY_ATAN},
    {"Erf", KN_UNARY_ERF},           {"Softplus", KN_UNARY_SOFTPLUS}, {"Softsign", KN_UNARY_SOFTSIGN},
    {"Selu", KN_UNARY_SELU},         {"Sign", KN_UNARY_SIGN},         {"Expm1", KN_UNARY_EXPM1},
    {"LogicalNot", KN_UNARY_LOGICAL_NOT},
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

/* ClipByValue(x, lo, hi) = max(min(x, hi), lo), in TF's order (it decides
 * when lo > hi); lo and hi broadcast to x's shape. */
static bool lower_clip_by_value(kc_lower *L) {
    if (!lower_inputs(L, 3, 3)) return false;
    int t;
    if (!lower_binary(L, KN_BINARY_MIN, L->in[0], L->in[2], &t) || !lower_binary(L, KN_BINARY_MAX, t, L->in[1], &t))
        return false;
    const kn_tensor *x = lower_tensor(L, L->in[0]); /* after emitting, which may move the tensors */
    if (!kn_same_shape(lower_tensor(L, t), x))
        return lower_fail(L, "clip bounds %s and %s must broadcast to x's shape %s",
                          kc_shape(lower_tensor(L, L->in[1])), kc_shape(lower_tensor(L, L->in[2])), kc_shape(x));
    L->out[0] = t;
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

/* LogSoftmax over the last axis, as TF computes it:
 * d = x - max(x), y = d - log(sum(exp(d))). */
static bool lower_log_softmax(kc_lower *L) {
    if (!lower_inputs(L, 1, 1)) return false;
    const kn_tensor *x = lower_tensor(L, L->in[0]);
    if (x->rank < 1) return lower_fail(L, "input must have rank >= 1");
    kn_reduce_params max = {.kind = KN_REDUCE_MAX, .axes_mask = 1 << (x->rank - 1), .keep_dims = 1};
    kn_reduce_params sum = {.kind = KN_REDUCE_SUM, .axes_mask = 1 << (x->rank - 1), .keep_dims = 1};
    int m, d, t;
    return lower_emit(L, KN_OP_REDUCE, L->in, 1, &max, sizeof max, &m) &&
           lower_binary(L, KN_BINARY_SUB, L->in[0], m, &d) && lower_unary(L, KN_UNARY_EXP, 0, d, &t) &&
           lower_emit(L, KN_OP_REDUCE, &t, 1, &sum, sizeof sum, &t) && lower_unary(L, KN_UNARY_LOG, 0, t, &t) &&
           lower_binary(L, KN_BINARY_SUB, d, t, NULL);
}

static const struct {
    const char *op;
    int kind;
} reductions[] = {
    {"Sum", KN_REDUCE_SUM}, {"Mean", KN_REDUCE_MEAN}, {"Max", KN_REDUCE_MAX}, {"Min", KN_REDUCE_MIN},
    {"Prod", KN_REDUCE_PROD}, {"Any", KN_REDUCE_ANY}, {"All", KN_REDUCE_ALL},
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

/* ---- Dequantize ---------------------------------------------------------- */

enum { DQ_MIN_COMBINED, DQ_MIN_FIRST, DQ_SCALED };

/* One value of TF's Dequantize on the CPU (tensorflow/core/kernels/
 * dequantize_op.cc, and quantization_utils.h for MIN_FIRST), with the same
 * float operations in the same order. */
static float dequantize_one(int mode, bool is_signed, bool narrow, float min, float max, int q) {
    float lowest = is_signed ? -128.0f : 0.0f, highest = is_signed ? 127.0f : 255.0f;
    switch (mode) {
    case DQ_MIN_COMBINED: {
        /* qint8 is shifted by half the range, 128, onto quint8's 0..255. */
        float scale = (max - min) / (highest - lowest);
        return ((float)q + (is_signed ? 128.0f : 0.0f)) * scale + min;
    }
    case DQ_MIN_FIRST: {
        /* min is rounded to a multiple of the step first, so 0 stays exact. */
        float scale = (float)((double)(max - min) / 255.0);
        float min_rounded = max == min ? min : roundf(min / scale) * scale;
        return (min_rounded - lowest * scale) + (float)q * scale;
    }
    default: { /* DQ_SCALED: symmetric, q = 0 is 0 */
        float from_min = min / (lowest + (narrow ? 1.0f : 0.0f)), from_max = max / highest;
        float scale = !is_signed ? from_max : from_min < from_max ? from_max : from_min; /* std::max */
        return (float)q * scale;
    }
    }
}

/* Dequantize(q, min_range, max_range) of a constant q, as TF1 weight-quantized
 * graphs have it: folded into a float32 constant. q arrives as the raw bytes
 * of its quint8 or qint8 data (attr T says which). */
static bool lower_dequantize(kc_lower *L) {
    if (!lower_inputs(L, 3, 3)) return false;
    const tf_attr *t_attr = tf_node_attr(L->node, "T"), *dtype_attr = tf_node_attr(L->node, "dtype");
    int qtype = t_attr && t_attr->kind == TF_ATTR_TYPE ? t_attr->type : 0;
    if (qtype != TF_DT_QUINT8 && qtype != TF_DT_QINT8)
        return lower_fail(L, "T must be quint8 or qint8, got %s",
                          tf_dtype_name(qtype) ? tf_dtype_name(qtype) : "nothing");
    if (dtype_attr && dtype_attr->kind == TF_ATTR_TYPE && dtype_attr->type != TF_DT_FLOAT)
        return lower_fail(L, "output dtype %s is not supported (float32 only)",
                          tf_dtype_name(dtype_attr->type) ? tf_dtype_name(dtype_attr->type) : "unknown");
    /* The OpDef's defaults, for graphs that leave them out. */
    const char *mode_name = "MIN_COMBINED";
    bool narrow = false;
    int64_t axis = -1;
    if (tf_node_attr(L->node, "mode") && !lower_attr_string(L, "mode", &mode_name)) return false;
    if (tf_node_attr(L->node, "narrow_range") && !lower_attr_bool(L, "narrow_range", &narrow)) return false;
    if (tf_node_attr(L->node, "axis") && !lower_attr_int(L, "axis", &axis)) return false;
    int mode = strcmp(mode_name, "MIN_COMBINED") == 0 ? DQ_MIN_COMBINED
             : strcmp(mode_name, "MIN_FIRST") == 0    ? DQ_MIN_FIRST
             : strcmp(mode_name, "SCALED") == 0       ? DQ_SCALED
                                                      : -1;
    if (mode < 0) return lower_fail(L, "mode '%s' is not MIN_COMBINED, MIN_FIRST or SCALED", mode_name);

    const kn_tensor *q = lower_tensor(L, L->in[0]);
    if (!kc_is_const(L->p, L->in[0]))
        return lower_fail(L, "input 0 must be a constant known at convert time (quantized weights); "
                             "quantized activations are not supported");
    if (q->dtype != KILN_UINT8) return lower_fail(L, "input 0 must hold 8-bit quantized data, got %s", kc_shape(q));
    /* TF: a non-negative axis has one range per slice along it; MIN_FIRST has none. */
    if (axis >= q->rank) return lower_fail(L, "axis %lld is out of range for %s", (long long)axis, kc_shape(q));
    if (axis >= 0 && mode == DQ_MIN_FIRST) return lower_fail(L, "MIN_FIRST mode has no per-axis form (TF neither)");
    size_t slices = 1, inner = 1;
    if (axis >= 0) {
        slices = (size_t)q->dims[axis];
        for (int d = (int)axis + 1; d < q->rank; d++) inner *= (size_t)q->dims[d];
    }
    const float *ranges[2];
    for (int i = 0; i < 2; i++) {
        const kn_tensor *r = lower_tensor(L, L->in[1 + i]);
        if (!kc_is_const(L->p, L->in[1 + i]) || r->dtype != KILN_FLOAT32 || kn_tensor_count(r) != slices)
            return lower_fail(L, "%s must be a float32 constant of %zu value(s), got %s", i ? "max_range" : "min_range",
                              slices, kc_shape(r));
        ranges[i] = r->data;
    }

    /* Adding the constant may move the tensors (their data stays put): copy what q says first. */
    const uint8_t *src = q->data;
    size_t count = kn_tensor_count(q);
    int32_t dims[KILN_MAX_RANK];
    memcpy(dims, q->dims, sizeof dims);
    int id = kc_add_const(L->p, KILN_FLOAT32, q->rank, dims, NULL);
    if (id < 0) return false;
    float *dst = L->p->tensors[id].t.data;
    bool is_signed = qtype == TF_DT_QINT8;
    for (size_t i = 0; i < count; i++) {
        size_t s = (i / inner) % slices;
        int v = src[i] - (is_signed && src[i] >= 128 ? 256 : 0); /* qint8 is two's complement */
        dst[i] = dequantize_one(mode, is_signed, narrow, ranges[0][s], ranges[1][s], v);
    }
    L->out[0] = id;
    L->n_out = 1;
    return true;
}

const struct kc_lowering kc_lowerings_elementwise[] = {
    {"Add", lower_binary_op},     {"AddV2", lower_binary_op},   {"BiasAdd", lower_binary_op},
    {"Sub", lower_binary_op},     {"Mul", lower_binary_op},     {"RealDiv", lower_binary_op},
    {"Div", lower_binary_op},     {"Maximum", lower_binary_op}, {"Minimum", lower_binary_op},
    {"Pow", lower_binary_op},     {"SquaredDifference", lower_binary_op}, {"Prelu", lower_binary_op},
    {"FloorDiv", lower_binary_op}, {"FloorMod", lower_binary_op}, {"Atan2", lower_binary_op},
    {"Equal", lower_binary_op},   {"NotEqual", lower_binary_op}, {"Less", lower_binary_op},
    {"LessEqual", lower_binary_op}, {"Greater", lower_binary_op}, {"GreaterEqual", lower_binary_op},
    {"LogicalAnd", lower_binary_op}, {"LogicalOr", lower_binary_op},
    {"Relu", lower_unary_op},     {"Relu6", lower_unary_op},    {"Elu", lower_unary_op},
    {"Sigmoid", lower_unary_op},  {"Tanh", lower_unary_op},     {"LeakyRelu", lower_unary_op},
    {"Rsqrt", lower_unary_op},    {"Sqrt", lower_unary_op},     {"Square", lower_unary_op},
    {"Exp", lower_unary_op},      {"Log", lower_unary_op},      {"Neg", lower_unary_op},
    {"Abs", lower_unary_op},      {"Log1p", lower_unary_op},    {"Floor", lower_unary_op},
    {"Ceil", lower_unary_op},     {"Round", lower_unary_op},    {"Rint", lower_unary_op},
    {"Reciprocal", lower_unary_op}, {"Inv", lower_unary_op},    {"Sin", lower_unary_op},
    {"Cos", lower_unary_op},      {"Tan", lower_unary_op},      {"Atan", lower_unary_op},
    {"Erf", lower_unary_op},      {"Softplus", lower_unary_op}, {"Softsign", lower_unary_op},
    {"Selu", lower_unary_op},     {"Sign", lower_unary_op},     {"Expm1", lower_unary_op},
    {"LogicalNot", lower_unary_op},
    {"AddN", lower_addn},         {"ClipByValue", lower_clip_by_value},
    {"FusedBatchNorm", lower_batchnorm}, {"FusedBatchNormV2", lower_batchnorm}, {"FusedBatchNormV3", lower_batchnorm},
    {"Softmax", lower_softmax},   {"LogSoftmax", lower_log_softmax},
    {"Sum", lower_reduce},        {"Mean", lower_reduce},       {"Max", lower_reduce},
    {"Min", lower_reduce},        {"Prod", lower_reduce},       {"Any", lower_reduce},
    {"All", lower_reduce},
    {"Dequantize", lower_dequantize},
    {NULL, NULL},
};
