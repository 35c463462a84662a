/* Lowering of image resizes (ResizeBilinear, ResizeNearestNeighbor),
 * transposed convolutions (Conv2DBackpropInput) and batched matrix products
 * (BatchMatMul, BatchMatMulV2, BatchMatMulV3). */
#include <string.h>

#include "lower.h"

/* A bool attribute that may be absent (false, its OpDef default). */
static bool optional_bool(kc_lower *L, const char *name, bool *value) {
    *value = false;
    return !tf_node_attr(L->node, name) || lower_attr_bool(L, name, value);
}

/* images[N,H,W,C], size (a constant [2]: new height and width). Bilinear
 * works in float32, so integer images are cast first, as TF returns float. */
static bool lower_resize(kc_lower *L, int mode) {
    if (!lower_inputs(L, 2, 2)) return false;
    int32_t size[2];
    int n;
    bool align, half;
    if (!lower_const_ints(L, 1, size, 2, &n) || !optional_bool(L, "align_corners", &align) ||
        !optional_bool(L, "half_pixel_centers", &half))
        return false;
    if (n != 2 || size[0] < 1 || size[1] < 1) return lower_fail(L, "size must be 2 values, each >= 1");
    if (align && half) return lower_fail(L, "align_corners and half_pixel_centers cannot both be true");
    int x = L->in[0];
    const kn_tensor *t = lower_tensor(L, x);
    if (t->rank != 4) return lower_fail(L, "images must be 4-D [N,H,W,C], got %s", kc_shape(t));
    if (mode == KN_RESIZE_BILINEAR && (t->dtype == KILN_INT32 || t->dtype == KILN_UINT8)) {
        kn_cast_params c = {.dtype = KILN_FLOAT32};
        if (!lower_emit(L, KN_OP_CAST, &x, 1, &c, sizeof c, &x)) return false;
    }
    kn_resize_params r = {.mode = mode, .out_h = size[0], .out_w = size[1], .align_corners = align,
                          .half_pixel_centers = half};
    return lower_emit(L, KN_OP_RESIZE, &x, 1, &r, sizeof r, NULL);
}

static bool lower_resize_bilinear(kc_lower *L) { return lower_resize(L, KN_RESIZE_BILINEAR); }
static bool lower_resize_nearest(kc_lower *L) { return lower_resize(L, KN_RESIZE_NEAREST); }

/* input_sizes (a constant [N,H,W,C]: the result's shape), filter [KH,KW,C,OC]
 * of the forward conv, out_backprop [N,OH,OW,OC]. The pads are the forward
 * conv's: explicit, or TF's SAME / VALID rule applied to the result's size. */
static bool lower_conv2d_backprop_input(kc_lower *L) {
    if (!lower_inputs(L, 3, 3)) return false;
    int32_t sizes[4];
    int n;
    if (!lower_const_ints(L, 0, sizes, 4, &n)) return false;
    const kn_tensor *f = lower_tensor(L, L->in[1]), *x = lower_tensor(L, L->in[2]);
    if (n != 4 || f->rank != 4 || x->rank != 4)
        return lower_fail(L, "expected input_sizes of 4 values, a 4-D filter and a 4-D out_backprop, got %d values, "
                          "filter %s and out_backprop %s", n, kc_shape(f), kc_shape(x));
    if (sizes[0] != x->dims[0] || sizes[1] < 1 || sizes[2] < 1 || sizes[3] != f->dims[2])
        return lower_fail(L, "input_sizes [%d,%d,%d,%d] do not fit out_backprop %s and filter %s", sizes[0], sizes[1],
                          sizes[2], sizes[3], kc_shape(x), kc_shape(f));
    kn_conv_transpose_params t = {.out_h = sizes[1], .out_w = sizes[2]};
    if (!lower_conv_window(L, sizes[1], sizes[2], f->dims[0], f->dims[1], true, &t.conv)) return false;
    int in[2] = {L->in[2], L->in[1]};
    return lower_emit(L, KN_OP_CONV2D_TRANSPOSE, in, 2, &t, sizeof t, NULL);
}

/* x[..., M, K] . y[..., K, N], batch dims broadcast (BatchMatMul requires
 * them equal, which broadcasting covers); adj_* transposes the last two dims
 * (the adjoint of a real matrix). */
static bool lower_batch_matmul(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    bool adj_x, adj_y;
    if (!optional_bool(L, "adj_x", &adj_x) || !optional_bool(L, "adj_y", &adj_y)) return false;
    kn_matmul_params m = {.transpose_a = adj_x, .transpose_b = adj_y, .act = KN_ACT_NONE};
    return lower_emit(L, KN_OP_MATMUL, L->in, 2, &m, sizeof m, NULL);
}

const struct kc_lowering kc_lowerings_compute[] = {
    {"ResizeBilinear", lower_resize_bilinear},
    {"ResizeNearestNeighbor", lower_resize_nearest},
    {"Conv2DBackpropInput", lower_conv2d_backprop_input},
    {"BatchMatMul", lower_batch_matmul},
    {"BatchMatMulV2", lower_batch_matmul},
    {"BatchMatMulV3", lower_batch_matmul},
    {NULL, NULL},
};
