/* The op table: op code -> Infer/Prepare/Eval. Op codes are in ops/params.h. */
#include "ops/ops.h"
#include "ops/params.h"

static const kn_op_def *const table[KN_OP_COUNT] = {
    [KN_OP_CONV2D] = &kn_op_conv2d,
    [KN_OP_DEPTHWISE_CONV2D] = &kn_op_depthwise_conv2d,
    [KN_OP_MATMUL] = &kn_op_matmul,
    [KN_OP_BINARY] = &kn_op_binary,
    [KN_OP_UNARY] = &kn_op_unary,
    [KN_OP_SOFTMAX] = &kn_op_softmax,
    [KN_OP_POOL2D] = &kn_op_pool2d,
    [KN_OP_REDUCE] = &kn_op_reduce,
    [KN_OP_CONCAT] = &kn_op_concat,
    [KN_OP_PAD] = &kn_op_pad,
    [KN_OP_RESHAPE] = &kn_op_reshape,
    [KN_OP_CAST] = &kn_op_cast,
    [KN_OP_SLICE] = &kn_op_slice,
    [KN_OP_TILE] = &kn_op_tile,
    [KN_OP_TRANSPOSE] = &kn_op_transpose,
    [KN_OP_FILL] = &kn_op_fill,
    [KN_OP_SET_ROWS] = &kn_op_set_rows,
    [KN_OP_LOOP_TEST] = &kn_op_loop_test,
    [KN_OP_LOOP_NEXT] = &kn_op_loop_next,
    [KN_OP_WHERE] = &kn_op_where,
    [KN_OP_NMS] = &kn_op_nms,
    [KN_OP_SHAPE] = &kn_op_shape,
    [KN_OP_GATHER] = &kn_op_gather,
    [KN_OP_GATHER_ND] = &kn_op_gather_nd,
    [KN_OP_SELECT] = &kn_op_select,
    [KN_OP_ARG] = &kn_op_arg,
    [KN_OP_TOPK] = &kn_op_topk,
    [KN_OP_SCATTER_ND] = &kn_op_scatter_nd,
    [KN_OP_RESIZE] = &kn_op_resize,
    [KN_OP_CONV2D_TRANSPOSE] = &kn_op_conv2d_transpose,
};

const kn_op_def *kn_op_lookup(uint32_t op) { return op < KN_OP_COUNT ? table[op] : NULL; }
