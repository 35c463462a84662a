/* Shapes known only at run time: Where and NonMaxSuppression make tensors of
 * varying size, planned at their largest; what follows runs on their actual
 * shapes (Shape, paddings computed at run time, reshapes), and outputs report
 * the shape they have. Checked against values worked out by hand. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"
#include "graph_builder.h"
#include "ops/params.h"

/* x[6] -> the values > 0.5, as picked = x[where(x > 0.5)], and padded = picked
 * padded with zeros back to 6 (paddings computed from Shape(picked) at run time). */
static tf_graph *pick_and_pad(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 1, (int64_t[]){6});
    float half = 0.5f;
    int32_t six = 6, zero = 0, axis = 0;
    gb_const(g, "half", TF_DT_FLOAT, 0, NULL, &half);
    gb_const(g, "six", TF_DT_INT32, 0, NULL, &six);
    gb_const(g, "zero", TF_DT_INT32, 0, NULL, &zero);
    gb_const(g, "axis", TF_DT_INT32, 0, NULL, &axis);
    gb_const(g, "begin", TF_DT_INT32, 1, (int64_t[]){1}, (int32_t[]){0});
    gb_const(g, "end", TF_DT_INT32, 1, (int64_t[]){1}, (int32_t[]){1});
    gb_const(g, "stride", TF_DT_INT32, 1, (int64_t[]){1}, (int32_t[]){1});
    gb_node2(g, "mask", "Greater", "x", "half");
    gb_node2(g, "where", "Where", "mask", NULL);
    tf_node *sq = gb_node2(g, "idx", "Squeeze", "where", NULL);
    gb_attr_ints(g, sq, "squeeze_dims", 1, (int64_t[]){1});
    gb_node(g, "picked", "GatherV2", 3, (const char *[]){"x", "idx", "axis"});
    gb_node2(g, "shape", "Shape", "picked", NULL);
    tf_node *ss = gb_node(g, "n", "StridedSlice", 4, (const char *[]){"shape", "begin", "end", "stride"});
    gb_attr_i(g, ss, "shrink_axis_mask", 1);
    gb_node2(g, "missing", "Sub", "six", "n");
    gb_node2(g, "row", "Pack", "zero", "missing");
    gb_attr_i(g, &g->nodes[g->n_nodes - 1], "N", 2);
    tf_node *pk = gb_node(g, "paddings", "Pack", 1, (const char *[]){"row"});
    gb_attr_i(g, pk, "N", 1);
    gb_node2(g, "padded", "Pad", "picked", "paddings");
    return g;
}

static void where_gather_pad(void) {
    tf_graph *g = pick_and_pad();
    const char *outs[] = {"padded", "picked"};
    gb_loaded l;
    bool ok = gb_load(g, 2, outs, &l);
    kiln_context *c = l.c;
    /* The same context, run with 3, 0 and 6 values picked. */
    const float inputs[3][6] = {{0.9f, 0.1f, 0.7f, 0.2f, 1.5f, 0.5f}, {0, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f}, {1, 2, 3, 4, 5, 6}};
    const int picked_count[3] = {3, 0, 6};
    for (int r = 0; ok && r < 3; r++) {
        CHECK(kiln_set_input(c, 0, KILN_FLOAT32, (int32_t[]){6}, 1, inputs[r], sizeof inputs[r]) == KILN_OK);
        CHECK(kiln_run(c) == KILN_OK);
        const kiln_tensor_desc *padded = kiln_context_output(c, 0), *picked = kiln_context_output(c, 1);
        CHECK(kiln_tensor_rank(padded) == 1 && kiln_tensor_dims(padded)[0] == 6);
        CHECK(kiln_tensor_rank(picked) == 1 && kiln_tensor_dims(picked)[0] == picked_count[r]);
        float want[6] = {0};
        int k = 0;
        for (int i = 0; i < 6; i++)
            if (inputs[r][i] > 0.5f) want[k++] = inputs[r][i];
        CHECK_ARRAY_NEAR((const float *)kiln_tensor_data(padded), want, 6, 0);
        CHECK_ARRAY_NEAR((const float *)kiln_tensor_data(picked), want, (size_t)k, 0);
    }
    gb_unload(&l);
}

/* Four boxes: 0 and 1 overlap (IoU 0.6), 2 far away, 3 inside 2 and tiny (IoU < 0.5). */
static void nms_keeps_the_best_of_overlapping_boxes(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "boxes", TF_DT_FLOAT, 2, (int64_t[]){4, 4});
    gb_placeholder(g, "scores", TF_DT_FLOAT, 1, (int64_t[]){4});
    int32_t max_out = 3;
    float iou = 0.5f, thr = 0.1f, sigma = 0;
    gb_const(g, "max", TF_DT_INT32, 0, NULL, &max_out);
    gb_const(g, "iou", TF_DT_FLOAT, 0, NULL, &iou);
    gb_const(g, "thr", TF_DT_FLOAT, 0, NULL, &thr);
    gb_const(g, "sigma", TF_DT_FLOAT, 0, NULL, &sigma);
    gb_node(g, "nms", "NonMaxSuppressionV5", 6, (const char *[]){"boxes", "scores", "max", "iou", "thr", "sigma"});
    const char *outs[] = {"nms", "nms:1", "nms:2"};
    gb_loaded l;
    bool ok = gb_load(g, 3, outs, &l);
    kiln_context *c = l.c;
    /* Box 0: [0,0,10,10]; box 1: [0,2,10,12] overlaps it by 80/120 = 0.67; box 2: [50,50,60,60];
     * box 3: [50,50,52,52] (IoU with 2: 4/100). Scores 0.6, 0.9, 0.05 (below thr), 0.3. */
    const float boxes[16] = {0, 0, 10, 10, 0, 2, 10, 12, 50, 50, 60, 60, 50, 50, 52, 52};
    const float scores[4] = {0.6f, 0.9f, 0.05f, 0.3f};
    if (ok) {
        CHECK(kiln_set_input(c, 0, KILN_FLOAT32, (int32_t[]){4, 4}, 2, boxes, sizeof boxes) == KILN_OK);
        CHECK(kiln_set_input(c, 1, KILN_FLOAT32, (int32_t[]){4}, 1, scores, sizeof scores) == KILN_OK);
        CHECK(kiln_run(c) == KILN_OK);
        const kiln_tensor_desc *idx = kiln_context_output(c, 0), *sc = kiln_context_output(c, 1), *n = kiln_context_output(c, 2);
        /* 1 (0.9) first; 0 overlaps it; 3 (0.3) kept; 2 is below the score threshold. */
        CHECK(kiln_tensor_dims(idx)[0] == 2 && kiln_tensor_dims(sc)[0] == 2);
        const int32_t *i = kiln_tensor_data(idx);
        const float *s = kiln_tensor_data(sc);
        CHECK(i[0] == 1 && i[1] == 3);
        CHECK_NEAR(s[0], 0.9f, 0);
        CHECK_NEAR(s[1], 0.3f, 0);
        CHECK(*(const int32_t *)kiln_tensor_data(n) == 2);
    }
    gb_unload(&l);
}

/* ---- Ops taking run-time amounts as operands: FILL dims, TOPK k, SLICE begin/size ---- */

static void fill_topk_slice_take_run_time_operands(void) {
    /* FILL(value, dims): dims [2, 3] of 2.5; [0, 3] is empty; a negative dim fails at run time. */
    float v = 2.5f, y[6] = {0};
    int32_t dims[2] = {2, 3};
    kn_fill_params fp = {.dtype = KILN_FLOAT32, .rank = 2};
    kn_tensor tv = tensor(KILN_FLOAT32, &v, 0), td = tensor(KILN_INT32, dims, 1, 2), ty = tensor(KILN_FLOAT32, y, 0);
    kn_tensor *fin[2] = {&tv, &td};
    CHECK(run_op(KN_OP_FILL, &fp, fin, 2, &ty, 1) == KILN_OK && has_shape(&ty, KILN_FLOAT32, 2, 2, 3));
    CHECK_ARRAY_NEAR(y, ((float[]){2.5f, 2.5f, 2.5f, 2.5f, 2.5f, 2.5f}), 6, 0);
    dims[0] = 0;
    CHECK(run_op(KN_OP_FILL, &fp, fin, 2, &ty, 1) == KILN_OK && has_shape(&ty, KILN_FLOAT32, 2, 0, 3));
    dims[0] = -1;
    EXPECT_INFER_FAIL(KILN_ERR_RUNTIME, KN_OP_FILL, &fp, fin, 2, 1, "dim 0 is -1");
    td.dims[0] = 3; /* dims must have one value per dim of the output */
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_FILL, &fp, fin, 2, 1, "int32[2] dims");

    /* TOPK(x, k): k = 3 of 5 (ties in index order), k = 0, and k > 5 fails at run time. */
    float x[5] = {1, 3, 3, 2, 0}, vals[5];
    int32_t k = 3, ids[5];
    kn_topk_params kp = {.k = 0};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 1, 5), tk = tensor(KILN_INT32, &k, 0);
    kn_tensor out[2] = {tensor(KILN_FLOAT32, vals, 0), tensor(KILN_INT32, ids, 0)};
    kn_tensor *kin[2] = {&tx, &tk};
    CHECK(run_op(KN_OP_TOPK, &kp, kin, 2, out, 2) == KILN_OK && has_shape(&out[1], KILN_INT32, 1, 3));
    CHECK_ARRAY_NEAR(vals, ((float[]){3, 3, 2}), 3, 0);
    CHECK(ids[0] == 1 && ids[1] == 2 && ids[2] == 3);
    k = 0;
    CHECK(run_op(KN_OP_TOPK, &kp, kin, 2, out, 2) == KILN_OK && has_shape(&out[0], KILN_FLOAT32, 1, 0));
    k = 6;
    EXPECT_INFER_FAIL(KILN_ERR_RUNTIME, KN_OP_TOPK, &kp, kin, 2, 2, "k 6 must be in [0, 5]");

    /* SLICE(x, begin, size) of x = [[0 1 2] [3 4 5]]: size -1 runs to the end of the dim. */
    float m[6] = {0, 1, 2, 3, 4, 5}, got[6];
    int32_t begin[2] = {1, 1}, size[2] = {1, -1};
    kn_slice_params sp = {.begin = {0}};
    kn_tensor tm = tensor(KILN_FLOAT32, m, 2, 2, 3), tb = tensor(KILN_INT32, begin, 1, 2), ts = tensor(KILN_INT32, size, 1, 2);
    kn_tensor tg = tensor(KILN_FLOAT32, got, 0);
    kn_tensor *sin[3] = {&tm, &tb, &ts};
    CHECK(run_op(KN_OP_SLICE, &sp, sin, 3, &tg, 1) == KILN_OK && has_shape(&tg, KILN_FLOAT32, 2, 1, 2));
    CHECK_ARRAY_NEAR(got, ((float[]){4, 5}), 2, 0);
    begin[0] = 0, begin[1] = 2, size[0] = 2, size[1] = 1;
    CHECK(run_op(KN_OP_SLICE, &sp, sin, 3, &tg, 1) == KILN_OK && has_shape(&tg, KILN_FLOAT32, 2, 2, 1));
    CHECK_ARRAY_NEAR(got, ((float[]){2, 5}), 2, 0);
    begin[0] = 1, begin[1] = 0, size[0] = 2; /* rows 1..2 of 2 */
    EXPECT_INFER_FAIL(KILN_ERR_RUNTIME, KN_OP_SLICE, &sp, sin, 3, 1, "do not fit dim 0");
}

/*
 * The detector post-processing of TF's object detection API in small, on x[6]:
 *   picked = x[where(x > 0.5)] (n values), n = Shape(picked)[0]
 *   joined = ConcatV2(picked, Fill([6 - n], -1))     padded to 6 (becomes a run-time PAD)
 *   sorted = TopKV2(picked, n)                      k known at run time
 *   count  = Sum(Cast(picked > 0.8)), valid = Select(n > count, count, n)   min(n, count), from data
 *   best   = GatherV2(sorted, Range(0, valid, 1))   the sorted values > 0.8
 *   front  = Slice(picked, [0], [valid])            the first `valid` picked values
 */
static tf_graph *post_processing(void) {
    tf_graph *g = pick_and_pad();
    float minus_one = -1, high = 0.8f;
    int32_t one = 1;
    gb_const(g, "minus_one", TF_DT_FLOAT, 0, NULL, &minus_one);
    gb_const(g, "high", TF_DT_FLOAT, 0, NULL, &high);
    gb_const(g, "one", TF_DT_INT32, 0, NULL, &one);
    gb_const(g, "sum_axis", TF_DT_INT32, 1, (int64_t[]){1}, (int32_t[]){0});
    tf_node *dims = gb_node(g, "fill_dims", "Pack", 1, (const char *[]){"missing"});
    gb_attr_i(g, dims, "N", 1);
    gb_node2(g, "filled", "Fill", "fill_dims", "minus_one");
    tf_node *cc = gb_node(g, "joined", "ConcatV2", 3, (const char *[]){"picked", "filled", "axis"});
    gb_attr_i(g, cc, "N", 2);
    gb_node2(g, "sorted", "TopKV2", "picked", "n");
    gb_node2(g, "is_high", "Greater", "picked", "high");
    tf_node *cast = gb_node2(g, "high_i", "Cast", "is_high", NULL);
    gb_attr_type(g, cast, "DstT", TF_DT_INT32);
    gb_node2(g, "count", "Sum", "high_i", "sum_axis");
    gb_node2(g, "more", "Greater", "n", "count");
    gb_node(g, "valid", "Select", 3, (const char *[]){"more", "count", "n"});
    gb_node(g, "range", "Range", 3, (const char *[]){"zero", "valid", "one"});
    gb_node(g, "best", "GatherV2", 3, (const char *[]){"sorted", "range", "axis"});
    tf_node *sz = gb_node(g, "size", "Pack", 1, (const char *[]){"valid"});
    gb_attr_i(g, sz, "N", 1);
    gb_node(g, "front", "Slice", 3, (const char *[]){"picked", "begin", "size"});
    return g;
}

static void detector_post_processing(void) {
    tf_graph *g = post_processing();
    const char *outs[] = {"joined", "best", "front"};
    gb_loaded l;
    bool ok = gb_load(g, 3, outs, &l);
    kiln_context *c = l.c;
    /* Picked: 0.9 0.7 1.5 (two > 0.8); none; all six (five > 0.8). */
    const float inputs[3][6] = {{0.9f, 0.1f, 0.7f, 0.2f, 1.5f, 0.5f}, {0, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f}, {1, 2, 3, 4, 5, 0.6f}};
    const float want_joined[3][6] = {{0.9f, 0.7f, 1.5f, -1, -1, -1}, {-1, -1, -1, -1, -1, -1}, {1, 2, 3, 4, 5, 0.6f}};
    const float want_best[3][5] = {{1.5f, 0.9f}, {0}, {5, 4, 3, 2, 1}};
    const float want_front[3][5] = {{0.9f, 0.7f}, {0}, {1, 2, 3, 4, 5}};
    const int valid[3] = {2, 0, 5};
    for (int r = 0; ok && r < 3; r++) {
        CHECK(kiln_set_input(c, 0, KILN_FLOAT32, (int32_t[]){6}, 1, inputs[r], sizeof inputs[r]) == KILN_OK);
        CHECK(kiln_run(c) == KILN_OK);
        const kiln_tensor_desc *joined = kiln_context_output(c, 0), *best = kiln_context_output(c, 1),
                               *front = kiln_context_output(c, 2);
        CHECK(kiln_tensor_rank(joined) == 1 && kiln_tensor_dims(joined)[0] == 6);
        CHECK_ARRAY_NEAR((const float *)kiln_tensor_data(joined), want_joined[r], 6, 0);
        CHECK(kiln_tensor_dims(best)[0] == valid[r] && kiln_tensor_dims(front)[0] == valid[r]);
        CHECK_ARRAY_NEAR((const float *)kiln_tensor_data(best), want_best[r], (size_t)valid[r], 0);
        CHECK_ARRAY_NEAR((const float *)kiln_tensor_data(front), want_front[r], (size_t)valid[r], 0);
    }
    gb_unload(&l);
}

int main(void) {
    RUN(where_gather_pad);
    RUN(nms_keeps_the_best_of_overlapping_boxes);
    RUN(fill_topk_slice_take_run_time_operands);
    RUN(detector_post_processing);
    return check_summary();
}
