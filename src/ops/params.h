/*
 * Op codes and parameter blocks: the part of the bundle format that says
 * what each step does. The converter fills these structs; the runtime reads
 * them in place from the plan. Every field is 32 bits (int32_t or float),
 * so a struct is exactly its words in the bundle.
 *
 * Op codes and field order are part of format version 1: never renumber or
 * reorder; add new ops and new fields at the end (with a version bump).
 *
 * Operand conventions (all tensors NHWC, as TensorFlow uses by default):
 *   CONV2D            in: x[N,H,W,C], filter[KH,KW,C,OC], bias[OC]?, alpha?, residual?      out: y[N,OH,OW,OC]
 *   DEPTHWISE_CONV2D  in: x[N,H,W,C], filter[KH,KW,C,M], bias[C*M]?, alpha?            out: y[N,OH,OW,C*M]
 *   MATMUL            in: a[M,K] (or [K,M] if transpose_a), b[K,N] (or [N,K]), bias[N]?, alpha?  out: [M,N]
 *   BINARY            in: a, b (NumPy broadcasting)                                     out: broadcast shape
 *   UNARY             in: x                                                             out: same shape
 *   SOFTMAX           in: x, softmax over `axis`                                        out: same shape
 *   POOL2D            in: x[N,H,W,C]                                                    out: y[N,OH,OW,C]
 *   REDUCE            in: x, over the axes in `axes_mask`                               out: reduced shape
 *   CONCAT            in: x0..xn-1 (n >= 1), along `axis`                                out: joined shape
 *   PAD               in: x                                                             out: padded shape
 *   RESHAPE           in: x                                                             out: x's data, shape from params
 *
 * "alpha?" is the per-channel slope tensor, float32[channels], present only
 * when the fused activation is KN_ACT_PRELU. CONV2D's "residual?" has the
 * output's shape and is added before the activation: y = act(conv + bias +
 * residual), a ResNet-style shortcut (an older runtime rejects the fifth
 * operand by name).
 */
#ifndef KILN_OPS_PARAMS_H
#define KILN_OPS_PARAMS_H

#include <stdint.h>

enum kn_op {
    KN_OP_CONV2D = 1,
    KN_OP_DEPTHWISE_CONV2D = 2,
    KN_OP_MATMUL = 3,
    KN_OP_BINARY = 4,
    KN_OP_UNARY = 5,
    KN_OP_SOFTMAX = 6,
    KN_OP_POOL2D = 7,
    KN_OP_REDUCE = 8,
    KN_OP_CONCAT = 9,
    KN_OP_PAD = 10,
    KN_OP_RESHAPE = 11,
    KN_OP_CAST = 12,
    KN_OP_SLICE = 13,
    KN_OP_TILE = 14,
    KN_OP_TRANSPOSE = 15,
    KN_OP_GATHER = 16,
    KN_OP_GATHER_ND = 17,
    KN_OP_SELECT = 18,
    KN_OP_ARG = 19,
    KN_OP_TOPK = 20,
    KN_OP_RESIZE = 21,
    KN_OP_CONV2D_TRANSPOSE = 22,
    KN_OP_SCATTER_ND = 23,
    KN_OP_FILL = 24,
    KN_OP_SET_ROWS = 25,
    KN_OP_LOOP_TEST = 26,
    KN_OP_LOOP_NEXT = 27,
    KN_OP_WHERE = 28,
    KN_OP_NMS = 29,
    KN_OP_SHAPE = 30,
    KN_OP_COUNT
};

/* A fused activation, applied by the kernel's epilogue. */
enum kn_act {
    KN_ACT_NONE = 0,
    KN_ACT_RELU = 1,
    KN_ACT_RELU6 = 2,
    KN_ACT_ELU = 3,        /* x > 0 ? x : exp(x) - 1 */
    KN_ACT_SIGMOID = 4,
    KN_ACT_TANH = 5,
    KN_ACT_LEAKY_RELU = 6, /* x > 0 ? x : alpha * x, alpha in act_alpha */
    KN_ACT_PRELU = 7,      /* x > 0 ? x : alpha[c] * x, alpha is an operand */
    KN_ACT_COUNT
};

typedef struct kn_conv_params {
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right; /* explicit; SAME is resolved by the converter */
    int32_t act;     /* enum kn_act */
    float act_alpha; /* LEAKY_RELU slope */
} kn_conv_params;

typedef struct kn_matmul_params {
    int32_t transpose_a, transpose_b;
    int32_t act;
    float act_alpha;
} kn_matmul_params;

enum kn_binary_kind {
    KN_BINARY_ADD = 0,
    KN_BINARY_SUB = 1,
    KN_BINARY_MUL = 2,
    KN_BINARY_DIV = 3,
    KN_BINARY_MAX = 4,
    KN_BINARY_MIN = 5,
    KN_BINARY_POW = 6,
    KN_BINARY_SQUARED_DIFFERENCE = 7,
    KN_BINARY_PRELU = 8, /* a > 0 ? a : b * a */
    KN_BINARY_FLOOR_DIV = 9,  /* floor(a / b); int32: rounds toward -inf, b == 0 gives 0 */
    KN_BINARY_FLOOR_MOD = 10, /* a - floor(a / b) * b, sign of b (TF FloorMod) */
    KN_BINARY_ATAN2 = 11,     /* atan2(a, b) */
    /* Comparisons and logic: the output is bool. Logic ops take bool inputs. */
    KN_BINARY_EQUAL = 12,
    KN_BINARY_NOT_EQUAL = 13,
    KN_BINARY_LESS = 14,
    KN_BINARY_LESS_EQUAL = 15,
    KN_BINARY_GREATER = 16,
    KN_BINARY_GREATER_EQUAL = 17,
    KN_BINARY_LOGICAL_AND = 18,
    KN_BINARY_LOGICAL_OR = 19,
    KN_BINARY_COUNT
};

typedef struct kn_binary_params {
    int32_t kind; /* enum kn_binary_kind */
    int32_t act;  /* applied to the result; never KN_ACT_PRELU */
    float act_alpha;
} kn_binary_params;

enum kn_unary_kind {
    KN_UNARY_RELU = 0,
    KN_UNARY_RELU6 = 1,
    KN_UNARY_ELU = 2,
    KN_UNARY_SIGMOID = 3,
    KN_UNARY_TANH = 4,
    KN_UNARY_LEAKY_RELU = 5, /* alpha */
    KN_UNARY_RSQRT = 6,
    KN_UNARY_SQRT = 7,
    KN_UNARY_SQUARE = 8,
    KN_UNARY_EXP = 9,
    KN_UNARY_LOG = 10,
    KN_UNARY_NEG = 11,
    KN_UNARY_ABS = 12,
    KN_UNARY_LOG1P = 13,
    KN_UNARY_FLOOR = 14,
    KN_UNARY_CEIL = 15,
    KN_UNARY_ROUND = 16,      /* half to even, as TF Round */
    KN_UNARY_RECIPROCAL = 17,
    KN_UNARY_SIN = 18,
    KN_UNARY_COS = 19,
    KN_UNARY_TAN = 20,
    KN_UNARY_ATAN = 21,
    KN_UNARY_ERF = 22,
    KN_UNARY_SOFTPLUS = 23,   /* log(1 + exp(x)), stable for large |x| */
    KN_UNARY_SOFTSIGN = 24,   /* x / (1 + |x|) */
    KN_UNARY_SELU = 25,
    KN_UNARY_SIGN = 26,
    KN_UNARY_EXPM1 = 27,
    KN_UNARY_LOGICAL_NOT = 28, /* bool */
    KN_UNARY_HARD_SIGMOID = 29, /* Keras: clip(0.2 x + 0.5, 0, 1) */
    KN_UNARY_GELU = 30,        /* exact: 0.5 x (1 + erf(x / sqrt 2)) */
    KN_UNARY_SWISH = 31,       /* x * sigmoid(x) */
    KN_UNARY_COUNT
};

typedef struct kn_unary_params {
    int32_t kind; /* enum kn_unary_kind */
    float alpha;
} kn_unary_params;

typedef struct kn_softmax_params {
    int32_t axis; /* 0 <= axis < rank */
} kn_softmax_params;

enum kn_pool_kind { KN_POOL_MAX = 0, KN_POOL_AVG = 1 };

typedef struct kn_pool_params {
    int32_t kind; /* enum kn_pool_kind; AVG divides by the in-bounds count, as TF does */
    int32_t window_h, window_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
} kn_pool_params;

enum kn_reduce_kind {
    KN_REDUCE_SUM = 0,
    KN_REDUCE_MEAN = 1,
    KN_REDUCE_MAX = 2,
    KN_REDUCE_MIN = 3,
    KN_REDUCE_PROD = 4,
    KN_REDUCE_ANY = 5, /* bool */
    KN_REDUCE_ALL = 6, /* bool */
    KN_REDUCE_COUNT
};

typedef struct kn_reduce_params {
    int32_t kind;      /* enum kn_reduce_kind */
    int32_t axes_mask; /* bit d set: reduce axis d */
    int32_t keep_dims; /* 1: reduced axes stay as size 1 */
} kn_reduce_params;

typedef struct kn_concat_params {
    int32_t axis; /* 0 <= axis < rank */
} kn_concat_params;

enum kn_pad_mode { KN_PAD_CONSTANT = 0, KN_PAD_REFLECT = 1, KN_PAD_SYMMETRIC = 2 };

typedef struct kn_pad_params {
    int32_t mode; /* enum kn_pad_mode */
    int32_t before[8], after[8];
    uint32_t value_bits; /* the constant, in the tensor's dtype (float32 bits or int32) */
} kn_pad_params;

typedef struct kn_reshape_params {
    int32_t rank;
    int32_t dims[8]; /* the output shape; same element count as the input */
} kn_reshape_params;

/* CAST: float32, int32, uint8, bool to any of them. float to int truncates
 * toward zero (TF); to bool is x != 0; to uint8 wraps modulo 256. */
typedef struct kn_cast_params {
    int32_t dtype; /* kiln_dtype of the output */
} kn_cast_params;

/* SLICE: out[i0..] = x[begin[d] + i_d * stride[d]], i_d < size[d]. Strides may
 * be negative (StridedSlice with a negative step); the converter resolves
 * every StridedSlice mask into this form plus reshapes. With operands 1 and 2
 * (TF Slice's begin and size computed at run time, int32 [rank], size -1 to
 * the end, stride 1) the params are unused. */
typedef struct kn_slice_params {
    int32_t begin[8], size[8], stride[8];
} kn_slice_params;

/* TILE: out dim d = x dim d * multiples[d]. */
typedef struct kn_tile_params {
    int32_t multiples[8];
} kn_tile_params;

/* TRANSPOSE: out dim d = x dim perm[d]. */
typedef struct kn_transpose_params {
    int32_t perm[8];
} kn_transpose_params;

/* GATHER: in params, indices (int32). With batch_dims b:
 * out = params.shape[:axis] + indices.shape[b:] + params.shape[axis+1:].
 * An index out of [0, dim) gives zeros (as TF on GPU; TF on CPU errors). */
typedef struct kn_gather_params {
    int32_t axis, batch_dims;
} kn_gather_params;

/* GATHER_ND: in params, indices (int32, last dim k <= rank of params).
 * out = indices.shape[:-1] + params.shape[k:]; out-of-range slices are zeros. */
typedef struct kn_gather_nd_params {
    int32_t batch_dims; /* 0 only, for now */
} kn_gather_nd_params;

/* SELECT: in cond (bool), a, b (same dtype), NumPy broadcasting of all three
 * (TF SelectV2; Select's rank-1 cond is reshaped by the converter). */
typedef struct kn_select_params {
    int32_t unused;
} kn_select_params;

enum kn_arg_kind { KN_ARG_MAX = 0, KN_ARG_MIN = 1 };

/* ARG: index (int32) of the largest / smallest value along axis, the first on ties. */
typedef struct kn_arg_params {
    int32_t kind, axis;
} kn_arg_params;

/* TOPK: the k largest values along the last axis, and their int32 indices
 * (two outputs), sorted descending; ties keep the lower index first. With an
 * int32 scalar operand 1 (k computed at run time), params.k is unused. */
typedef struct kn_topk_params {
    int32_t k;
} kn_topk_params;

enum kn_resize_mode { KN_RESIZE_BILINEAR = 0, KN_RESIZE_NEAREST = 1 };

/* RESIZE: x[N,H,W,C] -> [N,out_h,out_w,C], TF's ResizeBilinear / ResizeNearestNeighbor. */
typedef struct kn_resize_params {
    int32_t mode;
    int32_t out_h, out_w;
    int32_t align_corners, half_pixel_centers;
} kn_resize_params;

/* CONV2D_TRANSPOSE (TF Conv2DBackpropInput): in x[N,H,W,C], filter[KH,KW,OC,C], bias[OC]?, alpha?
 * out [N,out_h,out_w,OC]: the gradient of a Conv2D with these strides, dilations and pads
 * whose input is out and whose output is x. */
typedef struct kn_conv_transpose_params {
    kn_conv_params conv;
    int32_t out_h, out_w;
} kn_conv_transpose_params;

/* SCATTER_ND (SparseToDense): in indices (int32 [n, k] or [n]), updates ([n] or a scalar),
 * default (scalar); out of shape dims[0..rank) filled with default, then out[indices[i]] =
 * updates[i]. Out-of-range indices are skipped. */
typedef struct kn_scatter_nd_params {
    int32_t rank;
    int32_t dims[8];
} kn_scatter_nd_params;

/* FILL: no inputs; out (shape and dtype from params) filled with value_bits.
 * A fresh buffer for a TensorArray / TensorList: never folded into the weights.
 * Or (TF Fill of dims computed at run time) in: value (a scalar of dtype), dims
 * (int32 [rank]); params.dims and value_bits are then unused. */
typedef struct kn_fill_params {
    int32_t dtype, rank;
    int32_t dims[8];
    uint32_t value_bits;
} kn_fill_params;

/* SET_ROWS (TensorArrayWrite/Scatter, TensorListSetItem): in buffer[n, E...], indices
 * (int32 scalar, or [k]), values ([E...], or [k, E...]); out: the buffer itself, updated in
 * place (the output tensor is input 0). An index outside [0, n) is a run-time error. */
typedef struct kn_set_rows_params {
    int32_t unused;
} kn_set_rows_params;

/*
 * Loops (TF while loops). A loop is a run of steps:
 *   [cond steps] LOOP_TEST [body steps] LOOP_NEXT
 * LOOP_TEST reads a bool scalar: false jumps to exit_step (the step after
 * LOOP_NEXT); true goes on, at most max_iterations times per entry, after
 * which the run fails. LOOP_NEXT copies each input (the next values) to the
 * matching output (the loop variables) and jumps back to first_step (the
 * first cond step). Loop variables are written before the loop by copies.
 */
typedef struct kn_loop_test_params {
    int32_t exit_step;
    int32_t max_iterations;
} kn_loop_test_params;

typedef struct kn_loop_next_params {
    int32_t first_step;
} kn_loop_next_params;

/* WHERE: the coordinates of x's nonzero elements in C order, int32 [k, rank];
 * planned as [count(x), rank], k known after the run. */
typedef struct kn_where_params {
    int32_t unused;
} kn_where_params;

/* NMS (TF NonMaxSuppressionV3/V4/V5 without soft-NMS): in boxes float32 [n, 4]
 * (corners in either order), scores float32 [n]. Greedy, best score first
 * (ties: lower index), keeping scores > score_threshold and dropping a box whose
 * IoU with a kept one is >= iou_threshold, at most max_output. Outputs: the kept
 * indices int32 [k], then optionally their scores float32 [k] and k as an int32
 * scalar. With pad_to_max, k outputs are padded with zeros to max_output. */
typedef struct kn_nms_params {
    int32_t max_output;
    float iou_threshold, score_threshold;
    int32_t pad_to_max;
} kn_nms_params;

/* SHAPE: the dims of x as it is at run time, int32 [rank] (static shapes are
 * constants, folded by the converter; this is for variable-size tensors). */
typedef struct kn_shape_params {
    int32_t unused;
} kn_shape_params;

#endif
