/* The compute lowerings end to end (ResizeBilinear, ResizeNearestNeighbor,
 * Conv2DBackpropInput, BatchMatMul, BatchMatMulV2, BatchMatMulV3): TF graphs
 * built by hand, converted with kc_convert, run through the runtime, and
 * checked against values worked out from TF's definitions; then the errors
 * lowering reports. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"
#include "graph_builder.h"
#include "ops/params.h"

/* ---- Helpers ------------------------------------------------------------- */

static union {
    float f[256];
    int32_t i[256];
    uint8_t b[1024];
} out;

static void ints(tf_graph *g, const char *name, int n, const int32_t *v) {
    gb_const(g, name, TF_DT_INT32, 1, (int64_t[]){n}, v);
}

/* gb_convert_run for one output, copied into `out`. */
static bool convert_run(tf_graph *g, const char *output, const void *const *inputs, kc_program *p) {
    void *outs[1] = {out.b};
    return gb_convert_run(g, 1, &output, inputs, outs, sizeof out, p);
}

/* ---- Resize -------------------------------------------------------------- */

/* x[1,2,3,1] = 10h + w (float32, or int32 / uint8) resized to 4x5. */
static tf_graph *resize_graph(const char *op, int tf_dtype, int align, int half) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", tf_dtype, 4, (int64_t[]){1, 2, 3, 1});
    ints(g, "size", 2, (int32_t[]){4, 5});
    tf_node *r = gb_node2(g, "r", op, "x", "size");
    if (align >= 0) gb_attr_b(g, r, "align_corners", align);
    if (half >= 0) gb_attr_b(g, r, "half_pixel_centers", half);
    return g;
}

/* Bilinear of 10h + w is 10 * (source row) + (source column), each clamped
 * at the edges: H 2 -> 4 and W 3 -> 5 read, by TF's formulas (see
 * test_ops_compute.c), rows 0, .5, 1, 1 and columns 0, .6, 1.2, 1.8, 2 with
 * no flags; rows 0, .25, .75, 1 and columns 0, .4, 1, 1.6, 2 with
 * half-pixel centers. Integer images are cast to float first, as TF returns float. */
static void resize_bilinear(void) {
    const float x[6] = {0, 1, 2, 10, 11, 12};
    const int32_t xi[6] = {0, 1, 2, 10, 11, 12};
    const double h_none[4] = {0, 0.5, 1, 1}, w_none[5] = {0, 0.6, 1.2, 1.8, 2};
    const double h_half[4] = {0, 0.25, 0.75, 1}, w_half[5] = {0, 0.4, 1, 1.6, 2};
    float want_none[20], want_half[20];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++) {
            want_none[i * 5 + j] = (float)(10 * h_none[i] + w_none[j]);
            want_half[i * 5 + j] = (float)(10 * h_half[i] + w_half[j]);
        }
    kc_program p;
    /* No attrs: both default to false. */
    if (convert_run(resize_graph("ResizeBilinear", TF_DT_FLOAT, -1, -1), "r", (const void *[]){x}, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 4, 1, 4, 5, 1));
        CHECK(gb_count_steps(&p, KN_OP_RESIZE) == 1);
        CHECK_ARRAY_NEAR(out.f, want_none, 20, 1e-5);
    }
    kc_program_free(&p);
    if (convert_run(resize_graph("ResizeBilinear", TF_DT_FLOAT, 0, 1), "r", (const void *[]){x}, &p)) {
        CHECK_ARRAY_NEAR(out.f, want_half, 20, 1e-5);
    }
    kc_program_free(&p);
    if (convert_run(resize_graph("ResizeBilinear", TF_DT_INT32, 0, 1), "r", (const void *[]){xi}, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 4, 1, 4, 5, 1));
        CHECK(gb_count_steps(&p, KN_OP_CAST) == 1);
        CHECK_ARRAY_NEAR(out.f, want_half, 20, 1e-5);
    }
    kc_program_free(&p);
}

/* Nearest keeps the dtype. H 2 -> 4 reads rows 0, 0, 1, 1 with any flag;
 * W 3 -> 5 reads round(0, .5, 1, 1.5, 2) = 0, 1, 1, 2, 2 with align_corners
 * (halves round up). */
static void resize_nearest(void) {
    const uint8_t x[6] = {0, 1, 2, 10, 11, 12};
    const uint8_t want[20] = {0, 1, 1, 2, 2, 0, 1, 1, 2, 2, 10, 11, 11, 12, 12, 10, 11, 11, 12, 12};
    kc_program p;
    if (convert_run(resize_graph("ResizeNearestNeighbor", TF_DT_UINT8, 1, 0), "r", (const void *[]){x}, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_UINT8, 4, 1, 4, 5, 1));
        CHECK(memcmp(out.b, want, sizeof want) == 0);
    }
    kc_program_free(&p);
}

/* ---- Conv2DBackpropInput ---------------------------------------------------- */

/* out_backprop x[1,2,2,1] = [[1,-1],[2,-2]] through a separable 3x3 filter
 * u (1,2,3) x v (1,1,2), stride 2, into input_sizes [1,3,3,1]: by the 1-D
 * transpose out[0] = a0 f1, out[1] = a0 f2 + a1 f0, out[2] = a1 f1 (the
 * forward conv pads one on each side, as SAME does for 3 -> 2), the result
 * is (2, 5, 4) x (1, 1, -1). */
static tf_graph *backprop_graph_strides(const char *padding, int out_size, const int32_t *sizes,
                                       const int64_t *strides) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "dy", TF_DT_FLOAT, 4, (int64_t[]){1, 2, 2, 1});
    float f[9];
    const float u[3] = {1, 2, 3}, v[3] = {1, 1, 2};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) f[i * 3 + j] = u[i] * v[j];
    gb_const(g, "f", TF_DT_FLOAT, 4, (int64_t[]){3, 3, 1, 1}, f);
    int32_t default_sizes[4] = {1, out_size, out_size, 1};
    ints(g, "sizes", 4, sizes ? sizes : default_sizes);
    tf_node *c = gb_node(g, "c", "Conv2DBackpropInput", 3, (const char *[]){"sizes", "f", "dy"});
    gb_attr_ints(g, c, "strides", 4, strides);
    gb_attr_s(g, c, "padding", padding);
    return g;
}

static tf_graph *backprop_graph(const char *padding, int out_size, const int32_t *sizes) {
    return backprop_graph_strides(padding, out_size, sizes, (const int64_t[]){1, 2, 2, 1});
}

static void conv2d_backprop_input(void) {
    const float dy[4] = {1, -1, 2, -2};
    const float want[9] = {2, 2, -2, 5, 5, -5, 4, 4, -4};
    kc_program p;
    /* SAME; dilations, explicit_paddings and data_format from the OpDef defaults. */
    if (convert_run(backprop_graph("SAME", 3, NULL), "c", (const void *[]){dy}, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 4, 1, 3, 3, 1));
        CHECK(gb_count_steps(&p, KN_OP_CONV2D_TRANSPOSE) == 1);
        CHECK_ARRAY_NEAR(out.f, want, 9, 1e-5);
    }
    kc_program_free(&p);
    /* The same pads, explicit. */
    tf_graph *g = backprop_graph("EXPLICIT", 3, NULL);
    gb_attr_ints(g, &g->nodes[g->n_nodes - 1], "explicit_paddings", 8, (int64_t[]){0, 0, 1, 1, 1, 1, 0, 0});
    if (convert_run(g, "c", (const void *[]){dy}, &p)) CHECK_ARRAY_NEAR(out.f, want, 9, 1e-5);
    kc_program_free(&p);
    /* SAME for a 4x4 result: ceil(4 / 2) = 2, pads (2 - 1) * 2 + 3 - 4 = 1: 0 before, 1 after. So
     * o = 2i + k: out[0] = a0 f0, out[1] = a0 f1, out[2] = a0 f2 + a1 f0, out[3] = a1 f1:
     * rows (1, 2, 3 + 2, 4), columns (1, 1, 2 - 1, -1). */
    const float rows[4] = {1, 2, 5, 4}, cols[4] = {1, 1, 1, -1};
    float want4[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) want4[i * 4 + j] = rows[i] * cols[j];
    if (convert_run(backprop_graph("SAME", 4, NULL), "c", (const void *[]){dy}, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 4, 1, 4, 4, 1));
        CHECK_ARRAY_NEAR(out.f, want4, 16, 1e-5);
    }
    kc_program_free(&p);
    /* VALID for a 5x5 result ((5 - 3) / 2 + 1 = 2): o = 2i + k, each input
     * stamps its 3x3 block, the blocks overlapping on row / column 2:
     * rows (1, 2, 3 + 2, 4, 6), columns (1, 1, 2 - 1, -1, -2). */
    const float rows5[5] = {1, 2, 5, 4, 6}, cols5[5] = {1, 1, 1, -1, -2};
    float want5[25];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) want5[i * 5 + j] = rows5[i] * cols5[j];
    if (convert_run(backprop_graph("VALID", 5, NULL), "c", (const void *[]){dy}, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 4, 1, 5, 5, 1));
        CHECK_ARRAY_NEAR(out.f, want5, 25, 1e-5);
    }
    kc_program_free(&p);
}

/* ---- BatchMatMul ------------------------------------------------------------ */

/* x[2,2,3] . y[3,2] (a constant shared by both batches) = [[58,64],[139,154]]
 * and rows 0 and 1 of y. */
static void batch_matmul_v2_broadcast(void) {
    const float x[12] = {1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0}, yv[6] = {7, 8, 9, 10, 11, 12};
    const float want[8] = {58, 64, 139, 154, 7, 8, 9, 10};
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 3, (int64_t[]){2, 2, 3});
    gb_const(g, "y", TF_DT_FLOAT, 2, (int64_t[]){3, 2}, yv);
    tf_node *m = gb_node2(g, "m", "BatchMatMulV2", "x", "y");
    gb_attr_b(g, m, "adj_x", false);
    gb_attr_b(g, m, "adj_y", false);
    kc_program p;
    if (convert_run(g, "m", (const void *[]){x}, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 2, 2));
        CHECK(gb_count_steps(&p, KN_OP_MATMUL) == 1);
        CHECK_ARRAY_NEAR(out.f, want, 8, 0);
    }
    kc_program_free(&p);
}

/* adj_x / adj_y transpose the last two dims: x stored [1,3,2] with adj_x
 * (BatchMatMulV3, no adj_y attr) and y stored [2,2,3] with adj_y
 * (BatchMatMul) give the same products as above, batch of x broadcast. */
static void batch_matmul_adjoints(void) {
    const float xt[6] = {1, 4, 2, 5, 3, 6}; /* [[1,2,3],[4,5,6]] transposed */
    const float y[12] = {7, 8, 9, 10, 11, 12, 1, 0, 0, 1, 0, 0};
    const float yt[12] = {7, 9, 11, 8, 10, 12, 1, 0, 0, 0, 1, 0}; /* each [3,2] of y as [2,3] */
    const float want[8] = {58, 64, 139, 154, 1, 2, 4, 5};
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 3, (int64_t[]){1, 3, 2});
    gb_const(g, "y", TF_DT_FLOAT, 3, (int64_t[]){2, 3, 2}, y);
    gb_attr_b(g, gb_node2(g, "m", "BatchMatMulV3", "x", "y"), "adj_x", true);
    kc_program p;
    if (convert_run(g, "m", (const void *[]){xt}, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 2, 2));
        CHECK_ARRAY_NEAR(out.f, want, 8, 0);
    }
    kc_program_free(&p);

    const float x[6] = {1, 2, 3, 4, 5, 6};
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 3, (int64_t[]){1, 2, 3});
    gb_const(g, "y", TF_DT_FLOAT, 3, (int64_t[]){2, 2, 3}, yt);
    gb_attr_b(g, gb_node2(g, "m", "BatchMatMul", "x", "y"), "adj_y", true);
    if (convert_run(g, "m", (const void *[]){x}, &p)) CHECK_ARRAY_NEAR(out.f, want, 8, 0);
    kc_program_free(&p);
}

/* Constant operands fold: no step is left, the output is a weight. */
static void batch_matmul_folds(void) {
    const float a[4] = {1, 2, 3, 4}, b[4] = {0, 1, 1, 0};
    const float want[4] = {2, 1, 4, 3};
    tf_graph *g = tf_graph_new();
    gb_const(g, "a", TF_DT_FLOAT, 3, (int64_t[]){1, 2, 2}, a);
    gb_const(g, "b", TF_DT_FLOAT, 2, (int64_t[]){2, 2}, b);
    gb_node2(g, "m", "BatchMatMulV2", "a", "b");
    kc_options opt = {.outputs = (const char *[]){"m"}, .n_outputs = 1};
    kc_program p = {0};
    CHECK(kc_convert(g, &opt, &p));
    CHECK(gb_count_steps(&p, KN_OP_MATMUL) == 0);
    const kn_tensor *t = &p.tensors[p.outputs[0]].t;
    CHECK(t->data && t->rank == 3 && t->dims[0] == 1 && t->dims[1] == 2 && t->dims[2] == 2);
    if (t->data) CHECK_ARRAY_NEAR((const float *)t->data, want, 4, 0);
    kc_program_free(&p);
    tf_graph_free(g);
}

/* ---- Errors ------------------------------------------------------------------- */

static void lowering_errors(void) {
    /* Resize: size not a constant, wrong length or zero, both flags, 3-D images. */
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 2, 3, 1});
    gb_placeholder(g, "size", TF_DT_INT32, 1, (int64_t[]){2});
    gb_node2(g, "r", "ResizeBilinear", "x", "size");
    GB_EXPECT_ERROR(g, "r", "node 'r' (ResizeBilinear): input 1 must be a constant known at convert time");
    g = resize_graph("ResizeBilinear", TF_DT_FLOAT, 1, 1);
    GB_EXPECT_ERROR(g, "r", "align_corners and half_pixel_centers cannot both be true");
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 2, 3, 1});
    ints(g, "size", 3, (int32_t[]){4, 5, 6});
    gb_node2(g, "r", "ResizeNearestNeighbor", "x", "size");
    GB_EXPECT_ERROR(g, "r", "input 1 must be a scalar or vector of at most 2 values, got 1-D with 3");
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 2, 3, 1});
    gb_const(g, "size", TF_DT_INT32, 0, NULL, (int32_t[]){4});
    gb_node2(g, "r", "ResizeNearestNeighbor", "x", "size");
    GB_EXPECT_ERROR(g, "r", "size must be 2 values, each >= 1");
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 2, 3, 1});
    ints(g, "size", 2, (int32_t[]){0, 5});
    gb_node2(g, "r", "ResizeNearestNeighbor", "x", "size");
    GB_EXPECT_ERROR(g, "r", "size must be 2 values, each >= 1");
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 3, (int64_t[]){2, 3, 1});
    ints(g, "size", 2, (int32_t[]){4, 5});
    gb_node2(g, "r", "ResizeBilinear", "x", "size");
    GB_EXPECT_ERROR(g, "r", "images must be 4-D [N,H,W,C], got float32[2,3,1]");
    g = resize_graph("ResizeBilinear", TF_DT_BOOL, 0, 0);
    GB_EXPECT_ERROR(g, "r", "input is bool[1,2,3,1], expected float32");

    /* Conv2DBackpropInput: sizes that do not fit, a forward conv that does
     * not map back, unknown padding, bad strides, NCHW. */
    GB_EXPECT_ERROR(backprop_graph("SAME", 3, (const int32_t[]){2, 3, 3, 1}), "c",
                 "input_sizes [2,3,3,1] do not fit out_backprop float32[1,2,2,1] and filter float32[3,3,1,1]");
    GB_EXPECT_ERROR(backprop_graph("SAME", 3, (const int32_t[]){1, 3, 3, 2}), "c", "do not fit");
    GB_EXPECT_ERROR(backprop_graph("SAME", 6, NULL), "c",
                 "a conv of a 6x6 input with these params gives 3x3, but the input is float32[1,2,2,1]");
    GB_EXPECT_ERROR(backprop_graph("FULL", 3, NULL), "c", "padding 'FULL' is not supported");
    g = backprop_graph("EXPLICIT", 3, NULL);
    gb_attr_ints(g, &g->nodes[g->n_nodes - 1], "explicit_paddings", 8, (int64_t[]){1, 0, 1, 1, 1, 1, 0, 0});
    GB_EXPECT_ERROR(g, "c", "explicit_paddings must pad only H and W");
    GB_EXPECT_ERROR(backprop_graph_strides("SAME", 3, NULL, (const int64_t[]){2, 2, 2, 1}), "c",
                 "attribute 'strides' must be [1, h, w, 1]");
    g = backprop_graph("SAME", 3, NULL);
    gb_attr_s(g, &g->nodes[g->n_nodes - 1], "data_format", "NCHW");
    GB_EXPECT_ERROR(g, "c", "data_format NCHW is not supported");
    g = tf_graph_new();
    gb_placeholder(g, "dy", TF_DT_FLOAT, 4, (int64_t[]){1, 2, 2, 1});
    gb_placeholder(g, "sizes", TF_DT_INT32, 1, (int64_t[]){4});
    gb_const(g, "f", TF_DT_FLOAT, 4, (int64_t[]){1, 1, 1, 1}, (float[]){1});
    gb_node(g, "c", "Conv2DBackpropInput", 3, (const char *[]){"sizes", "f", "dy"});
    GB_EXPECT_ERROR(g, "c", "input 0 must be a constant known at convert time");

    /* BatchMatMul: batch dims that do not broadcast; one input. */
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 3, (int64_t[]){2, 2, 3});
    gb_placeholder(g, "y", TF_DT_FLOAT, 3, (int64_t[]){3, 3, 2});
    gb_node2(g, "m", "BatchMatMulV2", "x", "y");
    GB_EXPECT_ERROR(g, "m", "batch dims of a float32[2,2,3] and b float32[3,3,2] do not broadcast");
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 3, (int64_t[]){2, 2, 3});
    gb_node2(g, "m", "BatchMatMulV2", "x", NULL);
    GB_EXPECT_ERROR(g, "m", "expected 2 inputs, got 1");
}

int main(void) {
    RUN(resize_bilinear);
    RUN(resize_nearest);
    RUN(conv2d_backprop_input);
    RUN(batch_matmul_v2_broadcast);
    RUN(batch_matmul_adjoints);
    RUN(batch_matmul_folds);
    RUN(lowering_errors);
    return check_summary();
}
