/* The index lowerings end to end (GatherV2, Gather, GatherNd, Select,
 * SelectV2, ArgMax, ArgMin, TopKV2, TopK, SparseToDense, OneHot): TF graphs
 * built by hand, converted with kc_convert, run through the runtime, and
 * checked against values worked out from TF's definitions. Most graphs read
 * x = float32[2,3,4] with x[i][j][k] = 12i + 4j + k, so a result names the
 * elements it took. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"
#include "graph_builder.h"
#include "ops/params.h"

/* ---- Helpers ------------------------------------------------------------- */

static float x_data[24];
#define MAX_OUT 2
static union {
    float f[256];
    int32_t i[256];
    uint8_t b[1024];
} out[MAX_OUT];

/* A graph with the placeholder x = float32[2,3,4]. */
static tf_graph *graph_x(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 3, (int64_t[]){2, 3, 4});
    return g;
}

static void ints(tf_graph *g, const char *name, int rank, const int64_t *dims, const int32_t *v) {
    gb_const(g, name, TF_DT_INT32, rank, dims, v);
}
static void scalar_i(tf_graph *g, const char *name, int32_t v) { gb_const(g, name, TF_DT_INT32, 0, NULL, &v); }
static void scalar_f(tf_graph *g, const char *name, float v) { gb_const(g, name, TF_DT_FLOAT, 0, NULL, &v); }

/* Converts g (and frees it) for the named outputs; if that works, runs the
 * bundle on `inputs` (one per model input, in the order of the placeholders;
 * NULL: x_data) and copies output k into out[k]. The caller checks shapes in
 * *p and frees it. */
static bool convert_run(tf_graph *g, int n_out, const char *const *outputs, const void *const *inputs,
                        kc_program *p) {
    void *outs[MAX_OUT];
    for (int k = 0; k < MAX_OUT; k++) outs[k] = out[k].b;
    const void *x_only[1] = {x_data};
    return gb_convert_run(g, n_out, outputs, inputs ? inputs : x_only, outs, sizeof out[0], p);
}

/* ---- Gather -------------------------------------------------------------- */

static void gather_v2_negative_axis(void) {
    /* x[:, :, [3, 0]] */
    tf_graph *g = graph_x();
    ints(g, "i", 1, (int64_t[]){2}, (int32_t[]){3, 0});
    scalar_i(g, "axis", -1);
    gb_node(g, "gather", "GatherV2", 3, (const char *[]){"x", "i", "axis"});
    kc_program p;
    const char *name = "gather";
    if (convert_run(g, 1, &name, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 3, 2));
        CHECK(gb_count_steps(&p, KN_OP_GATHER) == 1);
        float want[12] = {3, 0, 7, 4, 11, 8, 15, 12, 19, 16, 23, 20};
        CHECK_ARRAY_NEAR(out[0].f, want, 12, 0);
    }
    kc_program_free(&p);
}

static void gather_v2_batch_dims(void) {
    /* batch_dims -1 is 1 for rank-2 indices: y[b][n] = x[b][:, i[b][n]] along axis 2. */
    tf_graph *g = graph_x();
    ints(g, "i", 2, (int64_t[]){2, 2}, (int32_t[]){1, 2, 0, 3});
    scalar_i(g, "axis", 2);
    tf_node *n = gb_node(g, "gather", "GatherV2", 3, (const char *[]){"x", "i", "axis"});
    gb_attr_i(g, n, "batch_dims", -1);
    kc_program p;
    const char *name = "gather";
    if (convert_run(g, 1, &name, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 3, 2));
        float want[12] = {1, 2, 5, 6, 9, 10, 12, 15, 16, 19, 20, 23};
        CHECK_ARRAY_NEAR(out[0].f, want, 12, 0);
    }
    kc_program_free(&p);
}

static void gather_old_op_and_folding(void) {
    /* Gather: axis 0, int64 indices (narrowed by the converter), validate_indices ignored. */
    tf_graph *g = graph_x();
    int64_t i64[2] = {1, 1};
    gb_const(g, "i", TF_DT_INT64, 1, (int64_t[]){2}, i64);
    tf_node *n = gb_node2(g, "gather", "Gather", "x", "i");
    gb_attr_b(g, n, "validate_indices", true);
    kc_program p;
    const char *name = "gather";
    if (convert_run(g, 1, &name, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 3, 4));
        CHECK_ARRAY_NEAR(out[0].f, x_data + 12, 12, 0);
        CHECK_ARRAY_NEAR(out[0].f + 12, x_data + 12, 12, 0);
    }
    kc_program_free(&p);

    /* All constant: folded into a constant, no step. */
    g = graph_x();
    ints(g, "params", 1, (int64_t[]){4}, (int32_t[]){10, 20, 30, 40});
    ints(g, "i", 1, (int64_t[]){3}, (int32_t[]){3, 3, 0});
    scalar_i(g, "axis", 0);
    gb_node(g, "gather", "GatherV2", 3, (const char *[]){"params", "i", "axis"});
    gb_node2(g, "y", "AddV2", "gather", "gather");
    name = "y";
    kc_options opt = {.outputs = &name, .n_outputs = 1};
    memset(&p, 0, sizeof p);
    CHECK(kc_convert(g, &opt, &p));
    tf_graph_free(g);
    CHECK(p.n_steps == 0 && kc_is_const(&p, p.outputs[0]));
    if (p.n_outputs == 1 && kc_is_const(&p, p.outputs[0])) {
        const int32_t *v = p.tensors[p.outputs[0]].t.data;
        CHECK(v[0] == 80 && v[1] == 80 && v[2] == 20);
    }
    kc_program_free(&p);
}

static void gather_nd(void) {
    /* x[[1, 2], [0, 1]] rows of 4, then single elements with k = 3. */
    tf_graph *g = graph_x();
    ints(g, "i", 2, (int64_t[]){2, 2}, (int32_t[]){1, 2, 0, 1});
    ints(g, "j", 2, (int64_t[]){2, 3}, (int32_t[]){1, 0, 3, 0, 2, 1});
    gb_node2(g, "rows", "GatherNd", "x", "i");
    gb_node2(g, "elems", "GatherNd", "x", "j");
    kc_program p;
    const char *names[2] = {"rows", "elems"};
    if (convert_run(g, 2, names, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 2, 2, 4));
        CHECK(gb_output_is(&p, 1, KILN_FLOAT32, 1, 2));
        float want_rows[8] = {20, 21, 22, 23, 4, 5, 6, 7}, want_elems[2] = {15, 9};
        CHECK_ARRAY_NEAR(out[0].f, want_rows, 8, 0);
        CHECK_ARRAY_NEAR(out[1].f, want_elems, 2, 0);
    }
    kc_program_free(&p);
}

/* ---- Select -------------------------------------------------------------- */

static void select_v1_rows(void) {
    /* TF1 Select with a vector condition picks rows: [true, false] takes
     * x[0] and e[1]; a same-shape condition picks elements. */
    tf_graph *g = graph_x();
    gb_placeholder(g, "c", TF_DT_BOOL, 1, (int64_t[]){2});
    float minus[24];
    for (int i = 0; i < 24; i++) minus[i] = -1;
    gb_const(g, "e", TF_DT_FLOAT, 3, (int64_t[]){2, 3, 4}, minus);
    gb_node(g, "sel", "Select", 3, (const char *[]){"c", "x", "e"});
    kc_program p;
    const char *name = "sel";
    uint8_t c[2] = {1, 0};
    const void *inputs[2] = {x_data, c};
    if (convert_run(g, 1, &name, inputs, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 3, 4));
        CHECK_ARRAY_NEAR(out[0].f, x_data, 12, 0);
        CHECK_ARRAY_NEAR(out[0].f + 12, minus, 12, 0);
    }
    kc_program_free(&p);

    /* A rank-1 condition with rank-1 operands is elementwise. */
    g = tf_graph_new();
    gb_placeholder(g, "c", TF_DT_BOOL, 1, (int64_t[]){3});
    gb_const(g, "a", TF_DT_FLOAT, 1, (int64_t[]){3}, (float[]){1, 2, 3});
    gb_const(g, "b", TF_DT_FLOAT, 1, (int64_t[]){3}, (float[]){-1, -2, -3});
    gb_node(g, "sel", "Select", 3, (const char *[]){"c", "a", "b"});
    uint8_t c3[3] = {0, 1, 0};
    const void *in3[1] = {c3};
    if (convert_run(g, 1, &name, in3, &p)) {
        float want[3] = {-1, 2, -3};
        CHECK_ARRAY_NEAR(out[0].f, want, 3, 0);
    }
    kc_program_free(&p);
}

static void select_v2_broadcast(void) {
    /* cond [3,1] (per j), x [2,3,4], a scalar 0: y = cond[j] ? x : 0. */
    tf_graph *g = graph_x();
    uint8_t c[3] = {1, 0, 1};
    gb_const(g, "c", TF_DT_BOOL, 2, (int64_t[]){3, 1}, c);
    scalar_f(g, "zero", 0);
    gb_node(g, "sel", "SelectV2", 3, (const char *[]){"c", "x", "zero"});
    kc_program p;
    const char *name = "sel";
    if (convert_run(g, 1, &name, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 3, 4));
        bool ok = true;
        for (int i = 0; i < 24; i++) ok = ok && out[0].f[i] == (c[(i / 4) % 3] ? x_data[i] : 0);
        CHECK(ok);
    }
    kc_program_free(&p);
}

/* ---- ArgMax / ArgMin ----------------------------------------------------- */

static void arg_max_min(void) {
    /* ArgMax over the last axis (-1, int64 output) of y = x mod 5;
     * ArgMin over axis 0 of -x. */
    tf_graph *g = graph_x();
    scalar_f(g, "five", 5);
    gb_node2(g, "m", "FloorMod", "x", "five");
    scalar_i(g, "last", -1);
    tf_node *n = gb_node2(g, "amax", "ArgMax", "m", "last");
    gb_attr_type(g, n, "output_type", TF_DT_INT64);
    gb_node2(g, "neg", "Neg", "x", NULL);
    scalar_i(g, "first", 0);
    n = gb_node2(g, "amin", "ArgMin", "neg", "first");
    gb_attr_type(g, n, "output_type", TF_DT_INT32);
    kc_program p;
    const char *names[2] = {"amax", "amin"};
    if (convert_run(g, 2, names, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_INT32, 2, 2, 3));
        CHECK(gb_output_is(&p, 1, KILN_INT32, 2, 3, 4));
        /* Rows of x mod 5: {0,1,2,3} {4,0,1,2} {3,4,0,1} {2,3,4,0} {1,2,3,4} {0,1,2,3} */
        int32_t want_max[6] = {3, 0, 1, 2, 3, 3}, want_min[12];
        for (int i = 0; i < 12; i++) want_min[i] = 1;
        CHECK(ints_equal(out[0].i, want_max, 6));
        CHECK(ints_equal(out[1].i, want_min, 12));
    }
    kc_program_free(&p);
}

/* ---- TopK ---------------------------------------------------------------- */

static void topk_v2_and_v1(void) {
    /* The two largest of each row of x (ascending rows: the last two,
     * reversed), as values and indices; TopK v1 with its k attribute. */
    tf_graph *g = graph_x();
    scalar_i(g, "k", 2);
    tf_node *n = gb_node2(g, "top", "TopKV2", "x", "k");
    gb_attr_b(g, n, "sorted", true);
    kc_program p;
    const char *names[2] = {"top", "top:1"};
    if (convert_run(g, 2, names, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 3, 2));
        CHECK(gb_output_is(&p, 1, KILN_INT32, 3, 2, 3, 2));
        CHECK(gb_count_steps(&p, KN_OP_TOPK) == 1);
        bool ok = true;
        for (int r = 0; r < 6; r++)
            ok = ok && out[0].f[2 * r] == (float)(4 * r + 3) && out[0].f[2 * r + 1] == (float)(4 * r + 2) &&
                 out[1].i[2 * r] == 3 && out[1].i[2 * r + 1] == 2;
        CHECK(ok);
    }
    kc_program_free(&p);

    g = graph_x();
    gb_node2(g, "neg", "Neg", "x", NULL);
    n = gb_node2(g, "top", "TopK", "neg", NULL);
    gb_attr_i(g, n, "k", 4);
    const char *idx_only = "top:1";
    if (convert_run(g, 1, &idx_only, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_INT32, 3, 2, 3, 4));
        bool ok = true;
        for (int i = 0; i < 24; i++) ok = ok && out[0].i[i] == i % 4;
        CHECK(ok);
    }
    kc_program_free(&p);
}

/* ---- SparseToDense ------------------------------------------------------- */

static void sparse_to_dense(void) {
    /* Indices fed at run time (one out of range, skipped); values and default constant. */
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "idx", TF_DT_INT32, 2, (int64_t[]){3, 2});
    ints(g, "shape", 1, (int64_t[]){2}, (int32_t[]){3, 4});
    gb_const(g, "vals", TF_DT_FLOAT, 1, (int64_t[]){3}, (float[]){5, 6, 7});
    scalar_f(g, "def", 0.5f);
    tf_node *n = gb_node(g, "dense", "SparseToDense", 4, (const char *[]){"idx", "shape", "vals", "def"});
    gb_attr_b(g, n, "validate_indices", true);
    kc_program p;
    const char *name = "dense";
    int32_t idx[6] = {0, 1, 2, 3, 3, 0};
    const void *inputs[1] = {idx};
    if (convert_run(g, 1, &name, inputs, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 2, 3, 4));
        float want[12] = {0.5f, 5, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 6};
        CHECK_ARRAY_NEAR(out[0].f, want, 12, 0);
    }
    kc_program_free(&p);

    /* Vector indices and a scalar value, all constant: folded (nanodet's form). */
    g = graph_x();
    ints(g, "idx", 1, (int64_t[]){2}, (int32_t[]){4, 1});
    ints(g, "shape", 1, (int64_t[]){1}, (int32_t[]){5});
    scalar_i(g, "one", 1);
    scalar_i(g, "zero", 0);
    gb_node(g, "dense", "SparseToDense", 4, (const char *[]){"idx", "shape", "one", "zero"});
    kc_options opt = {.outputs = &name, .n_outputs = 1};
    memset(&p, 0, sizeof p);
    CHECK(kc_convert(g, &opt, &p));
    tf_graph_free(g);
    CHECK(p.n_steps == 0 && kc_is_const(&p, p.outputs[0]));
    if (p.n_outputs == 1 && kc_is_const(&p, p.outputs[0]))
        CHECK(ints_equal(p.tensors[p.outputs[0]].t.data, (int32_t[]){0, 1, 0, 0, 1}, 5));
    kc_program_free(&p);
}

/* ---- OneHot -------------------------------------------------------------- */

static void one_hot(void) {
    /* Last axis (default), then axis 0; indices outside [0, depth) give all off. */
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "i", TF_DT_INT32, 1, (int64_t[]){4});
    scalar_i(g, "depth", 3);
    scalar_f(g, "on", 5);
    scalar_f(g, "off", -1);
    gb_node(g, "last", "OneHot", 4, (const char *[]){"i", "depth", "on", "off"});
    tf_node *n = gb_node(g, "first", "OneHot", 4, (const char *[]){"i", "depth", "on", "off"});
    gb_attr_i(g, n, "axis", 0);
    kc_program p;
    const char *names[2] = {"last", "first"};
    int32_t idx[4] = {2, -1, 0, 3};
    const void *inputs[1] = {idx};
    if (convert_run(g, 2, names, inputs, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 2, 4, 3));
        CHECK(gb_output_is(&p, 1, KILN_FLOAT32, 2, 3, 4));
        float want_last[12] = {-1, -1, 5, -1, -1, -1, 5, -1, -1, -1, -1, -1};
        float want_first[12] = {-1, -1, 5, -1, -1, -1, -1, -1, 5, -1, -1, -1};
        CHECK_ARRAY_NEAR(out[0].f, want_last, 12, 0);
        CHECK_ARRAY_NEAR(out[1].f, want_first, 12, 0);
    }
    kc_program_free(&p);

    /* uint8 indices of rank 2 and a middle axis, with int32 on/off. */
    g = tf_graph_new();
    gb_placeholder(g, "i", TF_DT_UINT8, 2, (int64_t[]){2, 2});
    scalar_i(g, "depth", 2);
    scalar_i(g, "on", 1);
    scalar_i(g, "off", 0);
    n = gb_node(g, "hot", "OneHot", 4, (const char *[]){"i", "depth", "on", "off"});
    gb_attr_i(g, n, "axis", 1);
    const char *name = "hot";
    uint8_t ib[4] = {1, 0, 255, 1};
    const void *in_b[1] = {ib};
    if (convert_run(g, 1, &name, in_b, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_INT32, 3, 2, 2, 2));
        /* y[a][d][b] = i[a][b] == d */
        int32_t want[8] = {0, 1, 1, 0, 0, 0, 0, 1};
        CHECK(ints_equal(out[0].i, want, 8));
    }
    kc_program_free(&p);
}

/* ---- Errors -------------------------------------------------------------- */

static void lowering_errors(void) {
    tf_graph *g = graph_x();
    ints(g, "i", 1, (int64_t[]){1}, (int32_t[]){0});
    gb_placeholder(g, "axis", TF_DT_INT32, 0, NULL);
    gb_node(g, "gather", "GatherV2", 3, (const char *[]){"x", "i", "axis"});
    GB_EXPECT_ERROR(g, "gather", "input 2 must be a constant");

    g = graph_x();
    ints(g, "i", 1, (int64_t[]){1}, (int32_t[]){0});
    scalar_i(g, "axis", -4);
    gb_node(g, "gather", "GatherV2", 3, (const char *[]){"x", "i", "axis"});
    GB_EXPECT_ERROR(g, "gather", "axis -4 is out of range for float32[2,3,4]");

    g = graph_x();
    ints(g, "i", 1, (int64_t[]){1}, (int32_t[]){0});
    scalar_i(g, "axis", 0);
    tf_node *n = gb_node(g, "gather", "GatherV2", 3, (const char *[]){"x", "i", "axis"});
    gb_attr_i(g, n, "batch_dims", 1);
    GB_EXPECT_ERROR(g, "gather", "batch_dims 1 must be in [0, 0]");

    g = graph_x();
    scalar_i(g, "d", 3);
    gb_node2(g, "am", "ArgMax", "x", "d");
    GB_EXPECT_ERROR(g, "am", "axis 3 is out of range");

    g = graph_x();
    gb_placeholder(g, "c", TF_DT_BOOL, 1, (int64_t[]){3});
    gb_node(g, "sel", "Select", 3, (const char *[]){"c", "x", "x"});
    GB_EXPECT_ERROR(g, "sel", "one value per row");

    g = graph_x();
    scalar_i(g, "k", 5);
    gb_node2(g, "top", "TopKV2", "x", "k");
    GB_EXPECT_ERROR(g, "top", "k 5 must be in [0, 4]");

    g = tf_graph_new();
    gb_placeholder(g, "i", TF_DT_INT32, 1, (int64_t[]){2});
    scalar_i(g, "depth", 3);
    scalar_f(g, "on", 1);
    scalar_f(g, "off", 0);
    n = gb_node(g, "hot", "OneHot", 4, (const char *[]){"i", "depth", "on", "off"});
    gb_attr_i(g, n, "axis", -2);
    GB_EXPECT_ERROR(g, "hot", "axis -2 must be -1 or in [0, 1]");

    g = tf_graph_new();
    gb_placeholder(g, "idx", TF_DT_INT32, 1, (int64_t[]){2});
    gb_placeholder(g, "shape", TF_DT_INT32, 1, (int64_t[]){1});
    scalar_f(g, "v", 1);
    gb_node(g, "dense", "SparseToDense", 4, (const char *[]){"idx", "shape", "v", "v"});
    GB_EXPECT_ERROR(g, "dense", "input 1 must be a constant");
}

int main(void) {
    for (int i = 0; i < 24; i++) x_data[i] = (float)i;
    RUN(gather_v2_negative_axis);
    RUN(gather_v2_batch_dims);
    RUN(gather_old_op_and_folding);
    RUN(gather_nd);
    RUN(select_v1_rows);
    RUN(select_v2_broadcast);
    RUN(arg_max_min);
    RUN(topk_v2_and_v1);
    RUN(sparse_to_dense);
    RUN(one_hot);
    RUN(lowering_errors);
    return check_summary();
}
