#include "opdefs.h"

#include <string.h>

#include "diag.h"

/* One default. Lists are written out; the only list defaults Kiln needs are
 * small integer lists and the empty list. */
typedef struct {
    const char *ops; /* space-separated op names sharing this default */
    const char *attr;
    tf_attr_kind kind; /* TF_ATTR_S/I/F/B or TF_ATTR_LIST (of ints) */
    const char *s;
    int64_t i;
    float f;
    int n_list;
    int64_t list[4];
} op_default;

#define CONVS "Conv2D _FusedConv2D DepthwiseConv2dNative FusedDepthwiseConv2dNative Conv2DBackpropInput"
#define FUSED "_FusedConv2D FusedDepthwiseConv2dNative _FusedMatMul"
#define NHWC_OPS CONVS " MaxPool AvgPool BiasAdd FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3"
#define REDUCTIONS "Mean Sum Max Min Prod All Any"
#define BATCHNORMS "FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3"

static const op_default defaults[] = {
    {CONVS, "dilations", TF_ATTR_LIST, NULL, 0, 0, 4, {1, 1, 1, 1}},
    {CONVS, "explicit_paddings", TF_ATTR_LIST, NULL, 0, 0, 0, {0}},
    {NHWC_OPS, "data_format", TF_ATTR_S, "NHWC", 0, 0, 0, {0}},
    {FUSED, "fused_ops", TF_ATTR_LIST, NULL, 0, 0, 0, {0}},
    {FUSED, "num_args", TF_ATTR_I, NULL, 0, 0, 0, {0}},
    {FUSED, "epsilon", TF_ATTR_F, NULL, 0, 0.0001f, 0, {0}},
    {FUSED " LeakyRelu", "leakyrelu_alpha", TF_ATTR_F, NULL, 0, 0.2f, 0, {0}},
    {"LeakyRelu", "alpha", TF_ATTR_F, NULL, 0, 0.2f, 0, {0}},
    {"MatMul _FusedMatMul BatchMatMul BatchMatMulV2", "transpose_a", TF_ATTR_B, NULL, 0, 0, 0, {0}},
    {"MatMul _FusedMatMul", "transpose_b", TF_ATTR_B, NULL, 0, 0, 0, {0}},
    {"BatchMatMul BatchMatMulV2", "adj_x", TF_ATTR_B, NULL, 0, 0, 0, {0}},
    {"BatchMatMul BatchMatMulV2", "adj_y", TF_ATTR_B, NULL, 0, 0, 0, {0}},
    {REDUCTIONS, "keep_dims", TF_ATTR_B, NULL, 0, 0, 0, {0}},
    {BATCHNORMS, "epsilon", TF_ATTR_F, NULL, 0, 0.0001f, 0, {0}},
    {BATCHNORMS, "is_training", TF_ATTR_B, NULL, 1, 0, 0, {0}},
    {"Squeeze", "squeeze_dims", TF_ATTR_LIST, NULL, 0, 0, 0, {0}},
    {"MirrorPad", "mode", TF_ATTR_S, "REFLECT", 0, 0, 0, {0}},
};

/* True if `op` is one of the space-separated names in `ops`. */
static bool in_list(const char *ops, const char *op) {
    size_t n = strlen(op);
    for (const char *p = ops; (p = strstr(p, op)) != NULL; p += n)
        if ((p == ops || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return true;
    return false;
}

bool tf_apply_default_attrs(tf_graph *g) {
    for (int ni = 0; ni < g->n_nodes; ni++) {
        tf_node *node = &g->nodes[ni];
        for (size_t d = 0; d < sizeof defaults / sizeof defaults[0]; d++) {
            const op_default *def = &defaults[d];
            if (!in_list(def->ops, node->op) || tf_node_attr(node, def->attr)) continue;
            tf_attr *a = tf_node_add_attr(g, node, def->attr);
            if (!a) {
                kc_error("out of memory");
                return false;
            }
            a->kind = def->kind;
            switch (def->kind) {
            case TF_ATTR_S:
                a->s = def->s;
                a->s_len = strlen(def->s);
                break;
            case TF_ATTR_I: a->i = def->i; break;
            case TF_ATTR_F: a->f = def->f; break;
            case TF_ATTR_B: a->b = def->i != 0; break;
            default: /* TF_ATTR_LIST of ints */
                a->n_i = (size_t)def->n_list;
                a->list_i = tf_alloc(g, sizeof(int64_t) * 4);
                if (!a->list_i) {
                    kc_error("out of memory");
                    return false;
                }
                memcpy(a->list_i, def->list, sizeof(int64_t) * 4);
                break;
            }
        }
    }
    return true;
}
