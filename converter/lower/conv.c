/* Lowering of convolutions, matrix products and pooling, including the
 * tfjs converter's fused forms (_FusedConv2D, FusedDepthwiseConv2dNative,
 * _FusedMatMul) whose `fused_ops` list a BiasAdd and an activation. */
#include <string.h>

#include "lower.h"

/* What the fused_ops of a fused node add after the product: a bias operand,
 * an activation and (Prelu) its alpha operand, taken from the node's extra
 * inputs (num_args of them) starting at input `first_arg`. */
typedef struct {
    int bias;  /* tensor id or -1 */
    int act;   /* enum kn_act */
    float alpha;
    int prelu; /* tensor id or -1 */
} fused_tail;

/* Reshapes a PReLU alpha to [channels] (tfjs gives [1,1,C] or [C]). */
static bool channel_vector(kc_lower *L, int id, int32_t channels, const char *what, int *out) {
    const kn_tensor *t = lower_tensor(L, id);
    if (kn_tensor_count(t) != (size_t)channels)
        return lower_fail(L, "%s has %zu values, expected one per channel (%d)", what, kn_tensor_count(t), channels);
    if (t->rank == 1) {
        *out = id;
        return true;
    }
    return lower_reshape(L, id, 1, &channels, out);
}

static bool parse_fused(kc_lower *L, int first_arg, int32_t channels, fused_tail *tail) {
    tail->bias = tail->prelu = -1;
    tail->act = KN_ACT_NONE;
    tail->alpha = 0;
    const tf_attr *ops = tf_node_attr(L->node, "fused_ops");
    int64_t num_args = 0;
    if (!ops) return true; /* a plain Conv2D / MatMul */
    if (!lower_attr_int(L, "num_args", &num_args)) return false;
    if (num_args < 0 || first_arg + num_args != L->n_in)
        return lower_fail(L, "num_args is %lld but the node has %d inputs after its %d operands", (long long)num_args,
                          L->n_in - first_arg, first_arg);
    int arg = first_arg;
    for (size_t i = 0; i < ops->n_s; i++) {
        const char *op = ops->list_s[i];
        if (strcmp(op, "BiasAdd") == 0 && i == 0) {
            if (arg >= L->n_in) return lower_fail(L, "fused BiasAdd has no bias input");
            if (!channel_vector(L, L->in[arg++], channels, "bias", &tail->bias)) return false;
            continue;
        }
        int act = lower_activation(op);
        if (act < 0 || i != ops->n_s - 1)
            return lower_fail(L, "fused op '%s' at position %zu is not supported", op, i);
        tail->act = act;
        if (act == KN_ACT_LEAKY_RELU && !lower_attr_float(L, "leakyrelu_alpha", &tail->alpha)) return false;
        if (act == KN_ACT_PRELU) {
            if (arg >= L->n_in) return lower_fail(L, "fused Prelu has no alpha input");
            if (!channel_vector(L, L->in[arg++], channels, "Prelu alpha", &tail->prelu)) return false;
        }
    }
    if (arg != L->n_in) return lower_fail(L, "fused_ops use %d of the %d extra inputs", arg - first_arg, (int)num_args);
    return true;
}

static bool lower_conv_common(kc_lower *L, uint16_t op) {
    if (!lower_inputs(L, 2, 6)) return false;
    const kn_tensor *x = lower_tensor(L, L->in[0]), *w = lower_tensor(L, L->in[1]);
    if (w->rank != 4) return lower_fail(L, "filter must be 4-D, got %s", kc_shape(w));
    int32_t channels = op == KN_OP_CONV2D ? w->dims[3] : w->dims[2] * w->dims[3];
    kn_conv_params c = {0};
    fused_tail tail;
    if (x->rank != 4) return lower_fail(L, "input must be 4-D NHWC, got %d-D", x->rank);
    if (!lower_conv_window(L, x->dims[1], x->dims[2], w->dims[0], w->dims[1], true, &c) ||
        !parse_fused(L, 2, channels, &tail))
        return false;
    c.act = tail.act;
    c.act_alpha = tail.alpha;
    int in[4] = {L->in[0], L->in[1], tail.bias, tail.prelu};
    return lower_emit(L, op, in, tail.prelu >= 0 ? 4 : 3, &c, sizeof c, NULL);
}

static bool lower_conv2d(kc_lower *L) { return lower_conv_common(L, KN_OP_CONV2D); }
static bool lower_depthwise(kc_lower *L) { return lower_conv_common(L, KN_OP_DEPTHWISE_CONV2D); }

static bool lower_matmul(kc_lower *L) {
    if (!lower_inputs(L, 2, 6)) return false;
    bool ta, tb;
    if (!lower_attr_bool(L, "transpose_a", &ta) || !lower_attr_bool(L, "transpose_b", &tb)) return false;
    const kn_tensor *b = lower_tensor(L, L->in[1]);
    if (b->rank != 2) return lower_fail(L, "b must be 2-D, got %s", kc_shape(b));
    fused_tail tail;
    if (!parse_fused(L, 2, tb ? b->dims[0] : b->dims[1], &tail)) return false;
    kn_matmul_params m = {.transpose_a = ta, .transpose_b = tb, .act = tail.act, .act_alpha = tail.alpha};
    int in[4] = {L->in[0], L->in[1], tail.bias, tail.prelu};
    return lower_emit(L, KN_OP_MATMUL, in, tail.prelu >= 0 ? 4 : 3, &m, sizeof m, NULL);
}

static bool lower_pool(kc_lower *L, int kind) {
    if (!lower_inputs(L, 1, 1)) return false;
    kn_pool_params pp = {.kind = kind};
    kn_conv_params c = {0};
    const kn_tensor *x = lower_tensor(L, L->in[0]);
    if (x->rank != 4) return lower_fail(L, "input must be 4-D NHWC, got %d-D", x->rank);
    if (!lower_attr_hw(L, "ksize", &pp.window_h, &pp.window_w) ||
        !lower_conv_window(L, x->dims[1], x->dims[2], pp.window_h, pp.window_w, false, &c))
        return false;
    pp.stride_h = c.stride_h;
    pp.stride_w = c.stride_w;
    pp.pad_top = c.pad_top;
    pp.pad_left = c.pad_left;
    pp.pad_bottom = c.pad_bottom;
    pp.pad_right = c.pad_right;
    return lower_emit(L, KN_OP_POOL2D, L->in, 1, &pp, sizeof pp, NULL);
}

static bool lower_maxpool(kc_lower *L) { return lower_pool(L, KN_POOL_MAX); }
static bool lower_avgpool(kc_lower *L) { return lower_pool(L, KN_POOL_AVG); }

const struct kc_lowering kc_lowerings_conv[] = {
    {"Conv2D", lower_conv2d},
    {"_FusedConv2D", lower_conv2d},
    {"DepthwiseConv2dNative", lower_depthwise},
    {"FusedDepthwiseConv2dNative", lower_depthwise},
    {"MatMul", lower_matmul},
    {"_FusedMatMul", lower_matmul},
    {"MaxPool", lower_maxpool},
    {"AvgPool", lower_avgpool},
    {NULL, NULL},
};
