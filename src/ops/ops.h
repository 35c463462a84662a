/* The ops this runtime links, one kn_op_def each (src/ops/<op>.c). The
 * registry (registry.c) maps op codes to them. */
#ifndef KILN_OPS_OPS_H
#define KILN_OPS_OPS_H

#include "kn.h"

extern const kn_op_def kn_op_conv2d, kn_op_depthwise_conv2d, kn_op_matmul, kn_op_binary, kn_op_unary,
    kn_op_softmax, kn_op_pool2d, kn_op_reduce, kn_op_concat, kn_op_pad, kn_op_reshape;

#endif
