/* The ops this runtime links, one kn_op_def each (src/ops/<op>.c). The
 * registry (registry.c) maps op codes to them. */
#ifndef KILN_OPS_OPS_H
#define KILN_OPS_OPS_H

#include "kn.h"

extern const kn_op_def kn_op_conv2d, kn_op_depthwise_conv2d, kn_op_matmul, kn_op_binary, kn_op_unary,
    kn_op_softmax, kn_op_pool2d, kn_op_reduce, kn_op_concat, kn_op_pad, kn_op_reshape;
extern const kn_op_def kn_op_cast, kn_op_slice, kn_op_tile, kn_op_transpose;
extern const kn_op_def kn_op_gather, kn_op_gather_nd, kn_op_select, kn_op_arg, kn_op_topk, kn_op_scatter_nd;
extern const kn_op_def kn_op_resize, kn_op_conv2d_transpose;

/* Loops and the buffers behind TensorArrays (fill.c, set_rows.c, loop.c). */
extern const kn_op_def kn_op_fill, kn_op_set_rows, kn_op_loop_test, kn_op_loop_next;

/* Shapes known at run time (where.c, nms.c, shape.c). */
extern const kn_op_def kn_op_where, kn_op_nms, kn_op_shape;

#endif
