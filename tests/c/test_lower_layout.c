/* The layout lowerings end to end: TF graphs built by hand, converted with
 * kc_convert, run through the runtime, and checked against values worked
 * out here from TF's definitions. Most graphs read x = float32[2,3,4] with
 * x[i][j][k] = 12i + 4j + k, so a result names the elements it took. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"
#include "graph_builder.h"
#include "ops/params.h"

/* ---- Helpers ------------------------------------------------------------- */

static float x_data[24];
#define MAX_OUT 8
static union {
    float f[1024];
    int32_t i[1024];
    uint8_t b[4096];
} out[MAX_OUT];

/* A graph with the placeholder x = float32[2,3,4]. */
static tf_graph *graph_x(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 3, (int64_t[]){2, 3, 4});
    return g;
}

static void ints(tf_graph *g, const char *name, int n, const int32_t *v) {
    gb_const(g, name, TF_DT_INT32, 1, (int64_t[]){n}, v);
}

static void scalar_i(tf_graph *g, const char *name, int32_t v) { gb_const(g, name, TF_DT_INT32, 0, NULL, &v); }
static void scalar_f(tf_graph *g, const char *name, float v) { gb_const(g, name, TF_DT_FLOAT, 0, NULL, &v); }

/* Converts g (and frees it) for the named outputs; if that works, runs the
 * bundle on `inputs` (one per model input; NULL: x_data) and copies output
 * k into out[k]. The caller checks shapes in *p and frees it. */
static bool convert_run(tf_graph *g, int n_out, const char *const *outputs, const void *const *inputs,
                        kc_program *p) {
    void *outs[MAX_OUT];
    for (int k = 0; k < MAX_OUT; k++) outs[k] = out[k].b;
    const void *x_only[1] = {x_data};
    return gb_convert_run(g, n_out, outputs, inputs ? inputs : x_only, outs, sizeof out[0], p);
}

/* x[i][j][k] */
static float xv(int i, int j, int k) { return (float)(12 * i + 4 * j + k); }

/* ---- StridedSlice -------------------------------------------------------- */

enum { BEGIN = 0, END, ELLIPSIS, NEW_AXIS, SHRINK };

/* A StridedSlice of `in` named `name`; masks[BEGIN..SHRINK], zero ones left
 * out as TF2 graphs do. */
static void strided_slice(tf_graph *g, const char *name, const char *in, int n, const int32_t *begin,
                          const int32_t *end, const int32_t *strides, const int masks[5]) {
    static const char *const mask_names[5] = {"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                              "shrink_axis_mask"};
    char b[64], e[64], s[64];
    snprintf(b, sizeof b, "%s/begin", name);
    snprintf(e, sizeof e, "%s/end", name);
    snprintf(s, sizeof s, "%s/strides", name);
    ints(g, b, n, begin);
    ints(g, e, n, end);
    ints(g, s, n, strides);
    tf_node *node = gb_node(g, name, "StridedSlice", 4, (const char *[]){in, b, e, s});
    for (int i = 0; i < 5; i++)
        if (masks[i]) gb_attr_i(g, node, mask_names[i], masks[i]);
}

/* x sliced by one StridedSlice; checks the result's shape and values
 * (SS_EMPTY: an empty result). L(...) lists begin, end, strides, masks. */
#define SS(n, begin, end, strides, masks, want, rank, ...)                                                  \
    check_strided_slice(__LINE__, n, (const int32_t[])begin, (const int32_t[])end, (const int32_t[])strides, \
                        (const int[5])masks, want, sizeof want / sizeof want[0], rank, (const int32_t[]){__VA_ARGS__})
#define SS_EMPTY(n, begin, end, strides, masks, rank, ...)                                                  \
    check_strided_slice(__LINE__, n, (const int32_t[])begin, (const int32_t[])end, (const int32_t[])strides, \
                        (const int[5])masks, NULL, 0, rank, (const int32_t[]){__VA_ARGS__})
#define L(...) {__VA_ARGS__}

static void check_strided_slice(int line, int n, const int32_t *begin, const int32_t *end, const int32_t *strides,
                                const int masks[5], const float *want, size_t n_want, int rank,
                                const int32_t *dims) {
    tf_graph *g = graph_x();
    strided_slice(g, "ss", "x", n, begin, end, strides, masks);
    kc_program p;
    const char *name = "ss";
    if (!convert_run(g, 1, &name, NULL, &p)) {
        fprintf(stderr, "  (case at line %d)\n", line);
        kc_program_free(&p);
        return;
    }
    const kn_tensor *t = &p.tensors[p.outputs[0]].t;
    size_t count = kn_tensor_count(t);
    if (t->rank != rank || memcmp(t->dims, dims, sizeof(int32_t) * (size_t)rank) != 0 || count != n_want ||
        (count && memcmp(out[0].f, want, sizeof(float) * count) != 0)) {
        fprintf(stderr, "%s:%d: strided slice gave %s:", __FILE__, line, kc_shape(t));
        for (size_t i = 0; i < count && i < 24; i++) fprintf(stderr, " %g", out[0].f[i]);
        fprintf(stderr, "\n");
        check_failures++;
    }
    kc_program_free(&p);
}

static void strided_slice_ranges(void) {
    /* x[0:2, 1:3, ::2] */
    SS(3, L(0, 1, 0), L(2, 3, 4), L(1, 1, 2), L(0), ((float[]){4, 6, 8, 10, 16, 18, 20, 22}), 3, 2, 2, 2);
    /* begin_mask alone: x[:2, 1:2, :2] */
    SS(3, L(1, 1, 1), L(2, 2, 2), L(1, 1, 1), L(5), ((float[]){4, 5, 16, 17}), 3, 2, 1, 2);
    /* end_mask alone: x[1:, 0:1, 2:] */
    SS(3, L(1, 0, 2), L(0, 1, 0), L(1, 1, 1), L(0, 5), ((float[]){14, 15}), 3, 1, 1, 2);
    /* Negative indices count from the end: x[-1:3, -2:-1, -3:-1] (end 3 clamps to 2). */
    SS(3, L(-1, -2, -3), L(3, -1, -1), L(1, 1, 1), L(0), ((float[]){17, 18}), 3, 1, 1, 2);
    /* Out of range bounds clamp: x[-100:100, 1:100, 2:100]. */
    SS(3, L(-100, 1, 2), L(100, 100, 100), L(1, 1, 1), L(0), ((float[]){6, 7, 10, 11, 18, 19, 22, 23}), 3, 2, 2, 2);
    /* Fewer indices than dims: the rest are taken whole. x[1:2] */
    SS(1, L(1), L(2), L(1), L(0),
       ((float[]){12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}), 3, 1, 3, 4);
}

static void strided_slice_negative_strides(void) {
    /* x[::-1, 2:0:-1, ::-3] */
    SS(3, L(0, 2, 0), L(0, 0, 0), L(-1, -1, -3), L(5, 5), ((float[]){23, 20, 19, 16, 11, 8, 7, 4}), 3, 2, 2, 2);
    /* Backward bounds clamp to [-1, dim - 1]: x[1, 1, 100:-100:-1] as a range on each dim. */
    SS(3, L(1, 1, 100), L(2, 2, -100), L(1, 1, -1), L(0), ((float[]){19, 18, 17, 16}), 3, 1, 1, 4);
    /* Backward with negative indices: x[0, 0, -1:-4:-2] */
    SS(3, L(0, 0, -1), L(1, 1, -4), L(1, 1, -2), L(0), ((float[]){3, 1}), 3, 1, 1, 2);
    /* Begin masked backward starts at the end; end masked runs past 0. x[0, 0, :0:-1] and x[0, 0, 2::-1] */
    SS(3, L(0, 0, 0), L(1, 1, 0), L(1, 1, -1), L(4), ((float[]){3, 2, 1}), 3, 1, 1, 3);
    SS(3, L(0, 0, 2), L(1, 1, 0), L(1, 1, -1), L(0, 4), ((float[]){2, 1, 0}), 3, 1, 1, 3);
}

static void strided_slice_shrink_and_new_axes(void) {
    /* x[1, 2, 3]: a scalar. */
    SS(3, L(1, 2, 3), L(2, 3, 4), L(1, 1, 1), L(0, 0, 0, 0, 7), ((float[]){23}), 0, 0);
    /* x[-1, :, -1]: shrink takes `begin` alone, whatever `end` says. */
    SS(3, L(-1, 0, -1), L(0, 3, 0), L(1, 1, 1), L(0, 0, 0, 0, 5), ((float[]){15, 19, 23}), 1, 3);
    /* Shrink with a stride other than 1 still takes one index: x[:, 1::7] on dim 1 shrunk. */
    SS(2, L(0, 1), L(0, 0), L(1, 7), L(1, 1, 0, 0, 2), ((float[]){4, 5, 6, 7, 16, 17, 18, 19}), 2, 2, 4);
    /* x[tf.newaxis]: a new axis in front, nothing sliced. */
    SS(1, L(0), L(0), L(1), L(0, 0, 0, 1), x_data, 4, 1, 2, 3, 4);
    /* x[tf.newaxis, 1]: the new axis consumes no input dim. */
    SS(2, L(0, 1), L(0, 2), L(1, 1), L(0, 0, 0, 1, 2),
       ((float[]){12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}), 3, 1, 3, 4);
    /* New and shrink on one index: new wins. x[:, tf.newaxis, 1:2] */
    SS(3, L(0, 0, 1), L(0, 0, 2), L(1, 1, 1), L(1, 1, 0, 2, 2),
       ((float[]){4, 5, 6, 7, 16, 17, 18, 19}), 4, 2, 1, 1, 4);
}

static void strided_slice_ellipsis(void) {
    /* x[1, ..., 1:3]: the ellipsis in the middle covers dim 1. */
    SS(3, L(1, 0, 1), L(2, 0, 3), L(1, 1, 1), L(0, 0, 2, 0, 1), ((float[]){13, 14, 17, 18, 21, 22}), 2, 3, 2);
    /* x[..., 0]: dims 0 and 1 whole. */
    SS(2, L(0, 0), L(0, 1), L(1, 1), L(0, 0, 1, 0, 2), ((float[]){0, 4, 8, 12, 16, 20}), 2, 2, 3);
    /* x[..., tf.newaxis, 0]: a new axis after the ellipsis shortens what it covers by none. */
    SS(3, L(0, 0, 0), L(0, 0, 1), L(1, 1, 1), L(0, 0, 1, 2, 4), ((float[]){0, 4, 8, 12, 16, 20}), 3, 2, 3, 1);
    /* x[...]: everything. */
    SS(1, L(0), L(0), L(1), L(0, 0, 1), x_data, 3, 2, 3, 4);
    /* An ellipsis covering nothing: x[1, ..., 2, 3]. */
    SS(4, L(1, 0, 2, 3), L(2, 0, 3, 4), L(1, 1, 1, 1), L(0, 0, 2, 0, 13), ((float[]){23}), 0, 0);
    /* Every mask at once: x[::-1, ..., tf.newaxis, -1] */
    SS(4, L(0, 0, 0, -1), L(0, 0, 0, 0), L(-1, 1, 1, 1), L(1, 1, 2, 4, 8), ((float[]){15, 19, 23, 3, 7, 11}), 3, 2,
       3, 1);
}

static void strided_slice_empty_and_identity(void) {
    /* Empty: x[1:1], and a forward range running backwards x[:, 2:1]. */
    SS_EMPTY(1, L(1), L(1), L(1), L(0), 3, 0, 3, 4);
    SS_EMPTY(2, L(0, 2), L(0, 1), L(1, 1), L(1, 1), 3, 2, 0, 4);
    /* A backward stride over a forward range: x[:, :, 1:3:-1]. */
    SS_EMPTY(3, L(0, 0, 1), L(0, 0, 3), L(1, 1, -1), L(3, 3), 3, 2, 3, 0);

    /* x[:] and x[0:2, ::1] are the identity: no SLICE, no RESHAPE of x's own. */
    tf_graph *g = graph_x();
    strided_slice(g, "ss", "x", 2, (int32_t[]){0, 0}, (int32_t[]){2, 0}, (int32_t[]){1, 1}, (int[5]){0, 2});
    kc_program p;
    const char *name = "ss";
    if (convert_run(g, 1, &name, NULL, &p)) {
        CHECK(gb_count_steps(&p, KN_OP_SLICE) == 0);
        CHECK(p.n_steps == 1); /* the output's own copy of the input */
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 3, 4));
        CHECK(memcmp(out[0].f, x_data, sizeof x_data) == 0);
    }
    kc_program_free(&p);
    /* x[tf.newaxis, ..., 1:3]: one SLICE, then one RESHAPE. */
    g = graph_x();
    strided_slice(g, "ss", "x", 3, (int32_t[]){0, 0, 1}, (int32_t[]){0, 0, 3}, (int32_t[]){1, 1, 1},
                  (int[5]){0, 0, 2, 1});
    if (convert_run(g, 1, &name, NULL, &p)) {
        CHECK(p.n_steps == 2 && gb_count_steps(&p, KN_OP_SLICE) == 1 && gb_count_steps(&p, KN_OP_RESHAPE) == 1);
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 4, 1, 2, 3, 2));
        CHECK(out[0].f[0] == 1 && out[0].f[1] == 2 && out[0].f[11] == 22);
    }
    kc_program_free(&p);
}

static void strided_slice_errors(void) {
    static const struct {
        int n, n_strides;
        int32_t begin[4], end[4], strides[4];
        int masks[5];
        const char *needle;
    } cases[] = {
        {3, 3, {0, 0, 0}, {1, 1, 1}, {1, 0, 1}, {0}, "stride of dim 1 is 0"},
        {3, 3, {0, 0, 0}, {1, 1, 1}, {1, 1, -1}, {0, 0, 0, 0, 4}, "positive strides"},
        {3, 3, {0, 3, 0}, {1, 4, 1}, {1, 1, 1}, {0, 0, 0, 0, 2}, "index 3 of dim 1 is out of bounds"},
        {3, 3, {0, 0, -5}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0, 0, 4}, "index -5 of dim 2 is out of bounds"},
        {3, 3, {0, 0, 0}, {1, 1, 1}, {1, 1, 1}, {0, 0, 5}, "more than one ellipsis"},
        {4, 4, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}, {0}, "index 3 is past the 3 dims"},
        {3, 2, {0, 0, 0}, {1, 1, 1}, {1, 1}, {0}, "begin, end and strides have 3, 3 and 2 values"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tf_graph *g = graph_x();
        int n = cases[c].n;
        ints(g, "b", n, cases[c].begin);
        ints(g, "e", n, cases[c].end);
        ints(g, "s", cases[c].n_strides, cases[c].strides);
        tf_node *node = gb_node(g, "ss", "StridedSlice", 4, (const char *[]){"x", "b", "e", "s"});
        gb_attr_i(g, node, "begin_mask", cases[c].masks[0]);
        gb_attr_i(g, node, "ellipsis_mask", cases[c].masks[2]);
        gb_attr_i(g, node, "shrink_axis_mask", cases[c].masks[4]);
        GB_EXPECT_ERROR(g, "ss", cases[c].needle);
    }
    /* begin must be known at convert time. */
    tf_graph *g = graph_x();
    gb_placeholder(g, "b", TF_DT_INT32, 1, (int64_t[]){3});
    ints(g, "e", 3, (int32_t[]){1, 1, 1});
    gb_node(g, "ss", "StridedSlice", 4, (const char *[]){"x", "b", "e", "e"});
    GB_EXPECT_ERROR(g, "ss", "input 1 must be a constant");
    /* More than 8 dims after new axes. */
    g = graph_x();
    strided_slice(g, "ss", "x", 6, (int32_t[]){0, 0, 0, 0, 0, 0}, (int32_t[]){0, 0, 0, 0, 0, 0},
                  (int32_t[]){1, 1, 1, 1, 1, 1}, (int[5]){0, 0, 0, 63});
    GB_EXPECT_ERROR(g, "ss", "more than 8 dims");
}

/* Shape -> StridedSlice -> Pack -> Reshape, the Keras Reshape idiom: the
 * shape arithmetic folds and only the reshape is left. */
static void shape_arithmetic_folds(void) {
    tf_graph *g = graph_x();
    gb_node2(g, "shape", "Shape", "x", NULL);
    strided_slice(g, "batch", "shape", 1, (int32_t[]){0}, (int32_t[]){1}, (int32_t[]){1}, (int[5]){0, 0, 0, 0, 1});
    scalar_i(g, "minus1", -1);
    scalar_i(g, "two", 2);
    tf_node *pack = gb_node(g, "new_shape", "Pack", 3, (const char *[]){"batch", "minus1", "two"});
    gb_attr_i(g, pack, "N", 3);
    gb_node2(g, "y", "Reshape", "x", "new_shape");
    kc_program p;
    const char *name = "y";
    if (convert_run(g, 1, &name, NULL, &p)) {
        CHECK(p.n_steps == 1 && gb_count_steps(&p, KN_OP_RESHAPE) == 1);
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 6, 2));
        CHECK(memcmp(out[0].f, x_data, sizeof x_data) == 0);
    }
    kc_program_free(&p);
}

/* ---- Slice, Split, SplitV, Unpack, Pack ---------------------------------- */

static void slice_with_minus_one(void) {
    tf_graph *g = graph_x();
    ints(g, "begin", 3, (int32_t[]){0, 1, 1});
    ints(g, "size", 3, (int32_t[]){-1, 2, -1});
    gb_node(g, "s", "Slice", 3, (const char *[]){"x", "begin", "size"});
    kc_program p;
    const char *name = "s";
    if (convert_run(g, 1, &name, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 2, 3));
        float want[12] = {5, 6, 7, 9, 10, 11, 17, 18, 19, 21, 22, 23};
        CHECK_ARRAY_NEAR(out[0].f, want, 12, 0);
    }
    kc_program_free(&p);
    g = graph_x();
    ints(g, "begin", 3, (int32_t[]){0, 1, 1});
    ints(g, "size", 3, (int32_t[]){-1, 3, -1});
    gb_node(g, "s", "Slice", 3, (const char *[]){"x", "begin", "size"});
    GB_EXPECT_ERROR(g, "s", "begin 1 and size 3 do not fit dim 1");
    g = graph_x();
    ints(g, "begin", 2, (int32_t[]){0, 1});
    gb_node(g, "s", "Slice", 3, (const char *[]){"x", "begin", "begin"});
    GB_EXPECT_ERROR(g, "s", "expected 3");
}

/* One Split node with num_split outputs along `axis`; checks each piece's
 * shape (dims) and first value. */
static void check_split(int line, int32_t axis, int num, const int32_t *dims, const float *firsts) {
    tf_graph *g = graph_x();
    scalar_i(g, "axis", axis);
    tf_node *node = gb_node2(g, "split", "Split", "axis", "x");
    gb_attr_i(g, node, "num_split", num);
    static const char *const names[] = {"split", "split:1", "split:2", "split:3"};
    kc_program p;
    if (convert_run(g, num, names, NULL, &p)) {
        for (int k = 0; k < num; k++) {
            const kn_tensor *t = &p.tensors[p.outputs[k]].t;
            if (t->rank != 3 || memcmp(t->dims, dims, sizeof(int32_t) * 3) || out[k].f[0] != firsts[k]) {
                fprintf(stderr, "%s:%d: piece %d is %s starting %g\n", __FILE__, line, k, kc_shape(t), out[k].f[0]);
                check_failures++;
            }
        }
    }
    kc_program_free(&p);
}

static void split_axes(void) {
    check_split(__LINE__, 0, 2, (int32_t[]){1, 3, 4}, (float[]){0, 12});
    check_split(__LINE__, -3, 2, (int32_t[]){1, 3, 4}, (float[]){0, 12});
    check_split(__LINE__, 1, 3, (int32_t[]){2, 1, 4}, (float[]){0, 4, 8});
    check_split(__LINE__, -2, 3, (int32_t[]){2, 1, 4}, (float[]){0, 4, 8});
    check_split(__LINE__, 2, 4, (int32_t[]){2, 3, 1}, (float[]){0, 1, 2, 3});
    check_split(__LINE__, -1, 2, (int32_t[]){2, 3, 2}, (float[]){0, 2});
    /* All of a middle piece, for the values. */
    tf_graph *g = graph_x();
    scalar_i(g, "axis", -1);
    gb_attr_i(g, gb_node2(g, "split", "Split", "axis", "x"), "num_split", 2);
    const char *name = "split:1";
    kc_program p;
    if (convert_run(g, 1, &name, NULL, &p)) {
        float want[12] = {2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23};
        CHECK_ARRAY_NEAR(out[0].f, want, 12, 0);
    }
    kc_program_free(&p);
    /* num_split 1 is the input itself. */
    g = graph_x();
    scalar_i(g, "axis", 1);
    gb_attr_i(g, gb_node2(g, "split", "Split", "axis", "x"), "num_split", 1);
    name = "split";
    if (convert_run(g, 1, &name, NULL, &p)) CHECK(gb_count_steps(&p, KN_OP_SLICE) == 0);
    kc_program_free(&p);

    g = graph_x();
    scalar_i(g, "axis", 1);
    gb_attr_i(g, gb_node2(g, "split", "Split", "axis", "x"), "num_split", 2);
    GB_EXPECT_ERROR(g, "split", "does not split into 2 equal pieces");
    g = graph_x();
    scalar_i(g, "axis", 3);
    gb_attr_i(g, gb_node2(g, "split", "Split", "axis", "x"), "num_split", 2);
    GB_EXPECT_ERROR(g, "split", "axis 3 is out of range for rank 3");
}

static void split_v(void) {
    /* Sizes {2, 0, -1} along dim 1: [2,2,4], an empty [2,0,4], and the rest [2,1,4]. */
    tf_graph *g = graph_x();
    ints(g, "sizes", 3, (int32_t[]){2, 0, -1});
    scalar_i(g, "axis", -2);
    tf_node *node = gb_node(g, "sv", "SplitV", 3, (const char *[]){"x", "sizes", "axis"});
    gb_attr_i(g, node, "num_split", 3);
    kc_program p;
    if (convert_run(g, 3, (const char *[]){"sv", "sv:1", "sv:2"}, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 2, 4));
        CHECK(gb_output_is(&p, 1, KILN_FLOAT32, 3, 2, 0, 4));
        CHECK(gb_output_is(&p, 2, KILN_FLOAT32, 3, 2, 1, 4));
        float want0[16] = {0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 18, 19};
        float want2[8] = {8, 9, 10, 11, 20, 21, 22, 23};
        CHECK_ARRAY_NEAR(out[0].f, want0, 16, 0);
        CHECK_ARRAY_NEAR(out[2].f, want2, 8, 0);
    }
    kc_program_free(&p);
    /* Sizes {1, 3} along the last dim, no -1. */
    g = graph_x();
    ints(g, "sizes", 2, (int32_t[]){1, 3});
    scalar_i(g, "axis", 2);
    gb_attr_i(g, gb_node(g, "sv", "SplitV", 3, (const char *[]){"x", "sizes", "axis"}), "num_split", 2);
    if (convert_run(g, 2, (const char *[]){"sv", "sv:1"}, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 3, 1));
        CHECK(gb_output_is(&p, 1, KILN_FLOAT32, 3, 2, 3, 3));
        CHECK(out[0].f[1] == 4 && out[1].f[0] == 1 && out[1].f[3] == 5);
    }
    kc_program_free(&p);

    static const struct {
        int32_t sizes[2];
        const char *needle;
    } bad[] = {{{1, 2}, "add up to 3, dim 2"}, {{-1, -1}, "size_splits[1] is -1"}, {{5, -1}, "add up to 5"}};
    for (size_t c = 0; c < 3; c++) {
        g = graph_x();
        ints(g, "sizes", 2, bad[c].sizes);
        scalar_i(g, "axis", 2);
        gb_attr_i(g, gb_node(g, "sv", "SplitV", 3, (const char *[]){"x", "sizes", "axis"}), "num_split", 2);
        GB_EXPECT_ERROR(g, "sv", bad[c].needle);
    }
}

static void unpack_axes(void) {
    static const struct {
        int axis, num, rank0, rank1;
        float first1, second1; /* output 1's first two values */
    } cases[] = {
        {0, 2, 3, 4, 12, 13}, {1, 3, 2, 4, 4, 5}, {-2, 3, 2, 4, 4, 5}, {-1, 4, 2, 3, 1, 5}, {2, 4, 2, 3, 1, 5},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tf_graph *g = graph_x();
        tf_node *node = gb_node2(g, "u", "Unpack", "x", NULL);
        gb_attr_i(g, node, "num", cases[c].num);
        if (cases[c].axis) gb_attr_i(g, node, "axis", cases[c].axis); /* 0 by default */
        kc_program p;
        if (convert_run(g, 2, (const char *[]){"u", "u:1"}, NULL, &p)) {
            CHECK(gb_output_is(&p, 1, KILN_FLOAT32, 2, cases[c].rank0, cases[c].rank1));
            CHECK(out[1].f[0] == cases[c].first1 && out[1].f[1] == cases[c].second1);
            CHECK(out[0].f[0] == 0);
        }
        kc_program_free(&p);
    }
    tf_graph *g = graph_x();
    gb_attr_i(g, gb_node2(g, "u", "Unpack", "x", NULL), "num", 3);
    GB_EXPECT_ERROR(g, "u", "num is 3, dim 0");
}

/* Pack of two inputs a, b = float32[2,2] (a = 0..3, b = 10..13) and a constant c. */
static void check_pack(int line, int axis, int d0, int d1, int d2, const float *want) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "a", TF_DT_FLOAT, 2, (int64_t[]){2, 2});
    gb_placeholder(g, "b", TF_DT_FLOAT, 2, (int64_t[]){2, 2});
    gb_const(g, "c", TF_DT_FLOAT, 2, (int64_t[]){2, 2}, (float[]){20, 21, 22, 23});
    tf_node *node = gb_node(g, "pack", "Pack", 3, (const char *[]){"a", "b", "c"});
    gb_attr_i(g, node, "N", 3);
    if (axis) gb_attr_i(g, node, "axis", axis);
    float a[4] = {0, 1, 2, 3}, b[4] = {10, 11, 12, 13};
    kc_program p;
    const char *name = "pack";
    if (convert_run(g, 1, &name, (const void *[]){a, b}, &p)) {
        const kn_tensor *t = &p.tensors[p.outputs[0]].t;
        if (!gb_output_is(&p, 0, KILN_FLOAT32, 3, d0, d1, d2) || memcmp(out[0].f, want, 12 * sizeof(float))) {
            fprintf(stderr, "%s:%d: Pack axis %d gave %s\n", __FILE__, line, axis, kc_shape(t));
            check_failures++;
        }
    }
    kc_program_free(&p);
}

static void pack_axes(void) {
    check_pack(__LINE__, 0, 3, 2, 2, (float[]){0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23});
    check_pack(__LINE__, -3, 3, 2, 2, (float[]){0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23});
    check_pack(__LINE__, 1, 2, 3, 2, (float[]){0, 1, 10, 11, 20, 21, 2, 3, 12, 13, 22, 23});
    check_pack(__LINE__, 2, 2, 2, 3, (float[]){0, 10, 20, 1, 11, 21, 2, 12, 22, 3, 13, 23});
    check_pack(__LINE__, -1, 2, 2, 3, (float[]){0, 10, 20, 1, 11, 21, 2, 12, 22, 3, 13, 23});

    /* Scalars stack into a vector; constants fold. */
    tf_graph *g = graph_x();
    scalar_i(g, "p", 7);
    scalar_i(g, "q", -2);
    gb_attr_i(g, gb_node(g, "pack", "Pack", 2, (const char *[]){"p", "q"}), "N", 2);
    kc_program p;
    const char *name = "pack";
    if (convert_run(g, 1, &name, NULL, &p)) {
        CHECK(p.n_steps == 0 && gb_output_is(&p, 0, KILN_INT32, 1, 2));
        CHECK(out[0].i[0] == 7 && out[0].i[1] == -2);
    }
    kc_program_free(&p);

    g = graph_x();
    gb_const(g, "c", TF_DT_FLOAT, 2, (int64_t[]){2, 2}, (float[]){0, 0, 0, 0});
    gb_attr_i(g, gb_node(g, "pack", "Pack", 2, (const char *[]){"x", "c"}), "N", 2);
    GB_EXPECT_ERROR(g, "pack", "Pack needs one shape");
    g = graph_x();
    gb_attr_i(g, gb_node2(g, "pack", "Pack", "x", NULL), "axis", 4);
    GB_EXPECT_ERROR(g, "pack", "axis 4 is out of range for rank 4");
}

/* ---- Tile, Transpose, BroadcastTo ---------------------------------------- */

static void tile_and_transpose(void) {
    tf_graph *g = graph_x();
    ints(g, "m", 3, (int32_t[]){1, 2, 1});
    gb_node2(g, "tile", "Tile", "x", "m");
    ints(g, "perm", 3, (int32_t[]){2, 0, 1});
    gb_node2(g, "tr", "Transpose", "x", "perm");
    ints(g, "ones", 3, (int32_t[]){1, 1, 1});
    gb_node2(g, "tile1", "Tile", "x", "ones");
    ints(g, "same", 3, (int32_t[]){0, 1, 2});
    gb_node2(g, "tr1", "Transpose", "x", "same");
    kc_program p;
    if (convert_run(g, 4, (const char *[]){"tile", "tr", "tile1", "tr1"}, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 6, 4));
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 6; j++)
                for (int k = 0; k < 4; k++) CHECK(out[0].f[(i * 6 + j) * 4 + k] == xv(i, j % 3, k));
        CHECK(gb_output_is(&p, 1, KILN_FLOAT32, 3, 4, 2, 3));
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++) CHECK(out[1].f[(k * 2 + i) * 3 + j] == xv(i, j, k));
        /* Identity multiples and perm emit nothing: only the outputs' own copies of x. */
        CHECK(gb_count_steps(&p, KN_OP_TILE) == 1 && gb_count_steps(&p, KN_OP_TRANSPOSE) == 1);
        CHECK(memcmp(out[2].f, x_data, sizeof x_data) == 0 && memcmp(out[3].f, x_data, sizeof x_data) == 0);
    }
    kc_program_free(&p);
    /* Multiples of 0 give an empty tensor. */
    g = graph_x();
    ints(g, "m", 3, (int32_t[]){1, 0, 2});
    gb_node2(g, "tile", "Tile", "x", "m");
    const char *name = "tile";
    if (convert_run(g, 1, &name, NULL, &p)) CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 0, 8));
    kc_program_free(&p);

    g = graph_x();
    ints(g, "perm", 3, (int32_t[]){2, 0, 2});
    gb_node2(g, "tr", "Transpose", "x", "perm");
    GB_EXPECT_ERROR(g, "tr", "perm [2,0,2] is not a permutation of 0..2");
    g = graph_x();
    ints(g, "m", 2, (int32_t[]){1, 2});
    gb_node2(g, "tile", "Tile", "x", "m");
    GB_EXPECT_ERROR(g, "tile", "multiples has 2 values, expected 3");
}

static void broadcast_to(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "v", TF_DT_FLOAT, 2, (int64_t[]){3, 1});
    ints(g, "shape", 3, (int32_t[]){2, 3, 4});
    gb_node2(g, "b", "BroadcastTo", "v", "shape");
    ints(g, "same", 2, (int32_t[]){3, 1});
    gb_node2(g, "b1", "BroadcastTo", "v", "same");
    float v[3] = {1, 2, 3};
    kc_program p;
    if (convert_run(g, 2, (const char *[]){"b", "b1"}, (const void *[]){v}, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 3, 2, 3, 4));
        for (int i = 0; i < 24; i++) CHECK(out[0].f[i] == v[(i / 4) % 3]);
        CHECK(gb_output_is(&p, 1, KILN_FLOAT32, 2, 3, 1) && out[1].f[2] == 3);
        CHECK(gb_count_steps(&p, KN_OP_TILE) == 1);
    }
    kc_program_free(&p);
    g = tf_graph_new();
    gb_placeholder(g, "v", TF_DT_FLOAT, 2, (int64_t[]){3, 1});
    ints(g, "shape", 2, (int32_t[]){2, 1});
    gb_node2(g, "b", "BroadcastTo", "v", "shape");
    GB_EXPECT_ERROR(g, "b", "cannot broadcast float32[3,1] to [2,1]");
}

/* ---- Block rearrangements ------------------------------------------------ */

/* DepthToSpace then SpaceToDepth on a [1,1,2,8] input with block 2. */
static void depth_space_round_trip(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 1, 2, 8});
    tf_node *d2s = gb_node2(g, "d2s", "DepthToSpace", "x", NULL);
    gb_attr_i(g, d2s, "block_size", 2);
    gb_attr_s(g, d2s, "data_format", "NHWC");
    gb_attr_i(g, gb_node2(g, "s2d", "SpaceToDepth", "d2s", NULL), "block_size", 2);
    kc_program p;
    if (convert_run(g, 2, (const char *[]){"d2s", "s2d"}, NULL, &p)) {
        /* out[0, h*2 + i, w*2 + j, c] = x[0, h, w, (i*2 + j)*2 + c], x[0,0,w,ch] = 8w + ch */
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 4, 1, 2, 4, 2));
        float want[16] = {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15};
        CHECK_ARRAY_NEAR(out[0].f, want, 16, 0);
        CHECK(gb_output_is(&p, 1, KILN_FLOAT32, 4, 1, 1, 2, 8));
        CHECK_ARRAY_NEAR(out[1].f, x_data, 16, 0);
    }
    kc_program_free(&p);
    /* SpaceToDepth alone: [1,2,4,1] -> [1,1,2,4]. */
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 2, 4, 1});
    gb_attr_i(g, gb_node2(g, "s2d", "SpaceToDepth", "x", NULL), "block_size", 2);
    const char *name = "s2d";
    if (convert_run(g, 1, &name, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 4, 1, 1, 2, 4));
        float want[8] = {0, 1, 4, 5, 2, 3, 6, 7};
        CHECK_ARRAY_NEAR(out[0].f, want, 8, 0);
    }
    kc_program_free(&p);

    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 1, 2, 6});
    gb_attr_i(g, gb_node2(g, "d2s", "DepthToSpace", "x", NULL), "block_size", 2);
    GB_EXPECT_ERROR(g, "d2s", "not a multiple of 4");
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 3, 2, 1});
    gb_attr_i(g, gb_node2(g, "s2d", "SpaceToDepth", "x", NULL), "block_size", 2);
    GB_EXPECT_ERROR(g, "s2d", "not multiples of 2");
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 2, 2, 4});
    tf_node *nchw = gb_node2(g, "d2s", "DepthToSpace", "x", NULL);
    gb_attr_i(g, nchw, "block_size", 2);
    gb_attr_s(g, nchw, "data_format", "NCHW");
    GB_EXPECT_ERROR(g, "d2s", "data_format NCHW is not supported");
}

/* TF's SpaceToBatchND written from its definition: out[(blk)*B + b, s..., r]
 * = padded[b, s_i * block_i + blk_i..., r], blk flattened over the block dims. */
static void space_to_batch_reference(const float *x, const int32_t *x_dims, int rank, int m, const int32_t *block,
                                     const int32_t (*pads)[2], float *y, int32_t *y_dims) {
    int32_t batch = x_dims[0], blocks = 1;
    for (int i = 0; i < m; i++) blocks *= block[i];
    y_dims[0] = batch * blocks;
    for (int i = 0; i < m; i++) y_dims[1 + i] = (x_dims[1 + i] + pads[i][0] + pads[i][1]) / block[i];
    for (int d = 1 + m; d < rank; d++) y_dims[d] = x_dims[d];
    size_t n = 1, rest = 1;
    for (int d = 0; d < rank; d++) n *= (size_t)y_dims[d];
    for (int d = 1 + m; d < rank; d++) rest *= (size_t)x_dims[d];
    for (size_t o = 0; o < n; o++) {
        size_t at = o;
        int32_t idx[KILN_MAX_RANK];
        for (int d = rank - 1; d >= 0; d--) {
            idx[d] = (int32_t)(at % (size_t)y_dims[d]);
            at /= (size_t)y_dims[d];
        }
        int32_t b = idx[0] % batch, blk = idx[0] / batch;
        size_t src = (size_t)b;
        bool inside = true;
        for (int i = m - 1, stride = 1; i >= 0; i--) { /* blk's digit for dim i, last dim fastest */
            int32_t off = (blk / stride) % block[i];
            stride *= block[i];
            idx[1 + i] = idx[1 + i] * block[i] + off - pads[i][0];
            inside = inside && idx[1 + i] >= 0 && idx[1 + i] < x_dims[1 + i];
        }
        for (int d = 1; d <= m; d++) src = src * (size_t)x_dims[d] + (size_t)(inside ? idx[d] : 0);
        size_t r = o % rest;
        y[o] = inside ? x[src * rest + r] : 0.0f;
    }
}

/* SpaceToBatchND then BatchToSpaceND with the same numbers as crops: back to x. */
static void check_space_batch(int line, int rank, const int32_t *x_dims, int m, const int32_t *block,
                              const int32_t (*pads)[2]) {
    tf_graph *g = tf_graph_new();
    int64_t dims64[KILN_MAX_RANK];
    for (int d = 0; d < rank; d++) dims64[d] = x_dims[d];
    gb_placeholder(g, "x", TF_DT_FLOAT, rank, dims64);
    ints(g, "block", m, block);
    gb_const(g, "pads", TF_DT_INT32, 2, (int64_t[]){m, 2}, pads);
    gb_node(g, "s2b", "SpaceToBatchND", 3, (const char *[]){"x", "block", "pads"});
    gb_node(g, "b2s", "BatchToSpaceND", 3, (const char *[]){"s2b", "block", "pads"});
    static float x[512], want[2048];
    int32_t want_dims[KILN_MAX_RANK];
    size_t n = 1;
    for (int d = 0; d < rank; d++) n *= (size_t)x_dims[d];
    for (size_t i = 0; i < n; i++) x[i] = (float)i + 1;
    space_to_batch_reference(x, x_dims, rank, m, block, pads, want, want_dims);
    kc_program p;
    if (convert_run(g, 2, (const char *[]){"s2b", "b2s"}, (const void *[]){x}, &p)) {
        const kn_tensor *t = &p.tensors[p.outputs[0]].t;
        size_t count = kn_tensor_count(t);
        if (t->rank != rank || memcmp(t->dims, want_dims, sizeof(int32_t) * (size_t)rank) ||
            memcmp(out[0].f, want, count * sizeof(float))) {
            fprintf(stderr, "%s:%d: SpaceToBatchND gave %s, not the reference\n", __FILE__, line, kc_shape(t));
            check_failures++;
        }
        t = &p.tensors[p.outputs[1]].t;
        if (t->rank != rank || memcmp(t->dims, x_dims, sizeof(int32_t) * (size_t)rank) ||
            memcmp(out[1].f, x, n * sizeof(float))) {
            fprintf(stderr, "%s:%d: BatchToSpaceND gave %s, not x back\n", __FILE__, line, kc_shape(t));
            check_failures++;
        }
    }
    kc_program_free(&p);
}

static void space_to_batch_and_back(void) {
    /* TF's documented example: [1,2,2,1] = 1..4 with 2x2 blocks gives [4,1,1,1] = 1, 2, 3, 4. */
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 2, 2, 1});
    ints(g, "block", 2, (int32_t[]){2, 2});
    gb_const(g, "pads", TF_DT_INT32, 2, (int64_t[]){2, 2}, (int32_t[]){0, 0, 0, 0});
    gb_node(g, "s2b", "SpaceToBatchND", 3, (const char *[]){"x", "block", "pads"});
    float x[4] = {1, 2, 3, 4};
    kc_program p;
    const char *name = "s2b";
    if (convert_run(g, 1, &name, (const void *[]){x}, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 4, 4, 1, 1, 1));
        CHECK_ARRAY_NEAR(out[0].f, x, 4, 0);
    }
    kc_program_free(&p);
    /* By hand: [1,2,3,1] = 0..5 padded by one column on the right. */
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 2, 3, 1});
    ints(g, "block", 2, (int32_t[]){2, 2});
    gb_const(g, "pads", TF_DT_INT32, 2, (int64_t[]){2, 2}, (int32_t[]){0, 0, 0, 1});
    gb_node(g, "s2b", "SpaceToBatchND", 3, (const char *[]){"x", "block", "pads"});
    if (convert_run(g, 1, &name, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 4, 4, 1, 2, 1));
        float want[8] = {0, 2, 1, 0, 3, 5, 4, 0};
        CHECK_ARRAY_NEAR(out[0].f, want, 8, 0);
    }
    kc_program_free(&p);

    /* Against the reference and back: batch 2, channels, pads on both sides, 1 to 3 block dims. */
    check_space_batch(__LINE__, 4, (int32_t[]){2, 4, 3, 2}, 2, (int32_t[]){2, 3}, (const int32_t[][2]){{1, 1}, {2, 1}});
    check_space_batch(__LINE__, 4, (int32_t[]){2, 3, 1, 3}, 1, (int32_t[]){2}, (const int32_t[][2]){{0, 1}});
    check_space_batch(__LINE__, 3, (int32_t[]){1, 5, 2}, 2, (int32_t[]){3, 2}, (const int32_t[][2]){{1, 0}, {0, 0}});
    check_space_batch(__LINE__, 4, (int32_t[]){1, 2, 2, 2}, 3, (int32_t[]){2, 1, 2},
                      (const int32_t[][2]){{0, 0}, {1, 0}, {0, 0}});
    check_space_batch(__LINE__, 4, (int32_t[]){2, 2, 2, 3}, 2, (int32_t[]){1, 1}, (const int32_t[][2]){{1, 0}, {0, 2}});

    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 3, 3, 1});
    ints(g, "block", 2, (int32_t[]){2, 2});
    gb_const(g, "pads", TF_DT_INT32, 2, (int64_t[]){2, 2}, (int32_t[]){0, 0, 0, 1});
    gb_node(g, "s2b", "SpaceToBatchND", 3, (const char *[]){"x", "block", "pads"});
    GB_EXPECT_ERROR(g, "s2b", "padded dim 1 of float32[1,3,3,1] (3) is not a multiple of its block 2");
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){3, 2, 2, 1});
    ints(g, "block", 2, (int32_t[]){2, 2});
    gb_const(g, "crops", TF_DT_INT32, 2, (int64_t[]){2, 2}, (int32_t[]){0, 0, 0, 0});
    gb_node(g, "b2s", "BatchToSpaceND", 3, (const char *[]){"x", "block", "crops"});
    GB_EXPECT_ERROR(g, "b2s", "batch of float32[3,2,2,1] is not a multiple of the 4 blocks");
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){4, 2, 2, 1});
    ints(g, "block", 2, (int32_t[]){2, 2});
    gb_const(g, "crops", TF_DT_INT32, 2, (int64_t[]){2, 2}, (int32_t[]){3, 2, 0, 0});
    gb_node(g, "b2s", "BatchToSpaceND", 3, (const char *[]){"x", "block", "crops"});
    GB_EXPECT_ERROR(g, "b2s", "crops 3, 2 of dim 1 exceed its 4 elements");
}

/* ---- Fill, ZerosLike, OnesLike, Size, Rank, Range, Cast ------------------ */

static void fill_and_likes(void) {
    tf_graph *g = graph_x();
    ints(g, "dims", 2, (int32_t[]){2, 3});
    scalar_f(g, "seven", 7);
    gb_node2(g, "fill", "Fill", "dims", "seven");
    gb_placeholder(g, "v", TF_DT_FLOAT, 0, NULL);
    gb_node2(g, "fill_v", "Fill", "dims", "v");
    ints(g, "empty", 2, (int32_t[]){2, 0});
    gb_node2(g, "fill_0", "Fill", "empty", "v");
    gb_node2(g, "zeros", "ZerosLike", "x", NULL);
    gb_attr_type(g, gb_node2(g, "xi", "Cast", "x", NULL), "DstT", TF_DT_INT32);
    gb_node2(g, "ones_i", "OnesLike", "xi", NULL);
    gb_attr_type(g, gb_node2(g, "xb", "Cast", "x", NULL), "DstT", TF_DT_BOOL);
    gb_node2(g, "ones_b", "OnesLike", "xb", NULL);
    float v = -2.5f;
    kc_program p;
    if (convert_run(g, 6, (const char *[]){"fill", "fill_v", "fill_0", "zeros", "ones_i", "ones_b"},
                    (const void *[]){x_data, &v}, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 2, 2, 3));
        CHECK(gb_output_is(&p, 1, KILN_FLOAT32, 2, 2, 3));
        CHECK(gb_output_is(&p, 2, KILN_FLOAT32, 2, 2, 0));
        CHECK(gb_output_is(&p, 3, KILN_FLOAT32, 3, 2, 3, 4));
        CHECK(gb_output_is(&p, 4, KILN_INT32, 3, 2, 3, 4));
        CHECK(gb_output_is(&p, 5, KILN_BOOL, 3, 2, 3, 4));
        for (int i = 0; i < 6; i++) CHECK(out[0].f[i] == 7 && out[1].f[i] == -2.5f);
        for (int i = 0; i < 24; i++) CHECK(out[3].f[i] == 0 && out[4].i[i] == 1 && out[5].b[i] == 1);
        /* The constant Fill, ZerosLike and OnesLike fold; the Fill of v is one TILE (and the empty one another). */
        CHECK(kc_is_const(&p, p.outputs[0]) && kc_is_const(&p, p.outputs[3]) && kc_is_const(&p, p.outputs[5]));
        CHECK(gb_count_steps(&p, KN_OP_TILE) == 2);
    }
    kc_program_free(&p);
    g = graph_x();
    ints(g, "dims", 2, (int32_t[]){2, -3});
    scalar_f(g, "seven", 7);
    gb_node2(g, "fill", "Fill", "dims", "seven");
    GB_EXPECT_ERROR(g, "fill", "cannot broadcast float32[] to [2,-3]");
    g = graph_x();
    ints(g, "dims", 2, (int32_t[]){2, 3});
    gb_node2(g, "fill", "Fill", "dims", "dims");
    GB_EXPECT_ERROR(g, "fill", "value must be a scalar");
}

static void size_and_rank(void) {
    tf_graph *g = graph_x();
    gb_node2(g, "size", "Size", "x", NULL);
    gb_attr_type(g, gb_node2(g, "size64", "Size", "x", NULL), "out_type", TF_DT_INT64);
    gb_node2(g, "rank", "Rank", "x", NULL);
    kc_program p;
    if (convert_run(g, 3, (const char *[]){"size", "size64", "rank"}, NULL, &p)) {
        CHECK(gb_output_is(&p, 0, KILN_INT32, 0) && gb_output_is(&p, 1, KILN_INT32, 0) && gb_output_is(&p, 2, KILN_INT32, 0));
        CHECK(out[0].i[0] == 24 && out[1].i[0] == 24 && out[2].i[0] == 3);
        CHECK(p.n_steps == 0);
    }
    kc_program_free(&p);
    g = graph_x();
    gb_attr_type(g, gb_node2(g, "size", "Size", "x", NULL), "out_type", TF_DT_FLOAT);
    GB_EXPECT_ERROR(g, "size", "out_type DT_FLOAT is not int32 or int64");
}

/* One Range node of constants; checks its values (n of them). */
static void check_range(int line, bool is_float, double start, double limit, double delta, const double *want,
                        int n) {
    tf_graph *g = tf_graph_new();
    const char *names[3] = {"start", "limit", "delta"};
    double v[3] = {start, limit, delta};
    for (int i = 0; i < 3; i++) {
        if (is_float) scalar_f(g, names[i], (float)v[i]);
        else scalar_i(g, names[i], (int32_t)v[i]);
    }
    gb_node(g, "range", "Range", 3, names);
    kc_program p;
    const char *name = "range";
    if (convert_run(g, 1, &name, NULL, &p)) {
        bool ok = gb_output_is(&p, 0, is_float ? KILN_FLOAT32 : KILN_INT32, 1, n);
        for (int i = 0; ok && i < n; i++) ok = is_float ? out[0].f[i] == (float)want[i] : out[0].i[i] == want[i];
        if (!ok) {
            fprintf(stderr, "%s:%d: Range(%g, %g, %g) is wrong\n", __FILE__, line, start, limit, delta);
            check_failures++;
        }
    }
    kc_program_free(&p);
}

static void range_values(void) {
    check_range(__LINE__, false, 0, 10, 3, (double[]){0, 3, 6, 9}, 4);
    check_range(__LINE__, false, 10, 0, -3, (double[]){10, 7, 4, 1}, 4);
    check_range(__LINE__, false, -2, 2, 1, (double[]){-2, -1, 0, 1}, 4);
    check_range(__LINE__, false, 5, 5, 1, NULL, 0);
    check_range(__LINE__, false, 5, 5, -2, NULL, 0);
    check_range(__LINE__, false, -2147483647 - 1, 2147483647, 2147483647, (double[]){-2147483648.0, -1, 2147483646}, 3);
    check_range(__LINE__, true, 1, 2, 0.25, (double[]){1, 1.25, 1.5, 1.75}, 4);
    check_range(__LINE__, true, 1, -1, -0.5, (double[]){1, 0.5, 0, -0.5}, 4);
    check_range(__LINE__, true, 0, 1, 0.3, (double[]){0, 0.3f, 0.3f + 0.3f, 0.3f + 0.3f + 0.3f}, 4);
    check_range(__LINE__, true, 0, 0.5, 1, (double[]){0}, 1);

    static const struct {
        int32_t start, limit, delta;
        const char *needle;
    } bad[] = {{0, 10, 0, "cannot range from 0 to 10 by 0"},
               {0, 10, -1, "cannot range from 0 to 10 by -1"},
               {10, 0, 1, "cannot range from 10 to 0 by 1"}};
    for (size_t c = 0; c < 3; c++) {
        tf_graph *g = tf_graph_new();
        scalar_i(g, "start", bad[c].start);
        scalar_i(g, "limit", bad[c].limit);
        scalar_i(g, "delta", bad[c].delta);
        gb_node(g, "range", "Range", 3, (const char *[]){"start", "limit", "delta"});
        GB_EXPECT_ERROR(g, "range", bad[c].needle);
    }
    tf_graph *g = graph_x();
    scalar_i(g, "start", 0);
    scalar_f(g, "delta", 1);
    gb_node(g, "range", "Range", 3, (const char *[]){"start", "x", "delta"});
    GB_EXPECT_ERROR(g, "range", "must be constant scalars of one type");
}

static void cast_nodes(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "v", TF_DT_FLOAT, 1, (int64_t[]){6});
    gb_attr_type(g, gb_node2(g, "to_i", "Cast", "v", NULL), "DstT", TF_DT_INT32);
    gb_attr_type(g, gb_node2(g, "to_i64", "Cast", "v", NULL), "DstT", TF_DT_INT64);
    gb_attr_type(g, gb_node2(g, "to_u8", "Cast", "v", NULL), "DstT", TF_DT_UINT8);
    gb_attr_type(g, gb_node2(g, "to_b", "Cast", "v", NULL), "DstT", TF_DT_BOOL);
    gb_attr_type(g, gb_node2(g, "back", "Cast", "to_i", NULL), "DstT", TF_DT_FLOAT);
    tf_node *same = gb_node2(g, "same", "Cast", "to_i", NULL);
    gb_attr_type(g, same, "DstT", TF_DT_INT64); /* int32 to int64 is int32 to int32 in Kiln: no step */
    gb_attr_type(g, same, "SrcT", TF_DT_INT32);
    gb_attr_b(g, same, "Truncate", false);
    float v[6] = {-1.5f, 2.99f, 0, 300, -0.5f, NAN};
    kc_program p;
    if (convert_run(g, 6, (const char *[]){"to_i", "to_i64", "to_u8", "to_b", "back", "same"}, (const void *[]){v},
                    &p)) {
        int32_t want_i[6] = {-1, 2, 0, 300, 0, 0};
        uint8_t want_u8[6] = {255, 2, 0, 44, 0, 0}, want_b[6] = {1, 1, 0, 1, 1, 1};
        float want_f[6] = {-1, 2, 0, 300, 0, 0};
        CHECK(gb_output_is(&p, 0, KILN_INT32, 1, 6) && memcmp(out[0].i, want_i, sizeof want_i) == 0);
        CHECK(gb_output_is(&p, 1, KILN_INT32, 1, 6) && memcmp(out[1].i, want_i, sizeof want_i) == 0);
        CHECK(gb_output_is(&p, 2, KILN_UINT8, 1, 6) && memcmp(out[2].b, want_u8, 6) == 0);
        CHECK(gb_output_is(&p, 3, KILN_BOOL, 1, 6) && memcmp(out[3].b, want_b, 6) == 0);
        CHECK(gb_output_is(&p, 4, KILN_FLOAT32, 1, 6) && memcmp(out[4].f, want_f, sizeof want_f) == 0);
        CHECK(gb_output_is(&p, 5, KILN_INT32, 1, 6) && memcmp(out[5].i, want_i, sizeof want_i) == 0);
        CHECK(gb_count_steps(&p, KN_OP_CAST) == 5); /* "same" is to_i's tensor */
    }
    kc_program_free(&p);

    /* float16 and float64 only for constants: the value TF computes, kept as float32. */
    g = tf_graph_new();
    gb_const(g, "c", TF_DT_FLOAT, 1, (int64_t[]){6}, (float[]){0.1f, 65519, 65520, 3e-8f, 1e-8f, -2049});
    gb_attr_type(g, gb_node2(g, "half", "Cast", "c", NULL), "DstT", TF_DT_HALF);
    tf_node *back = gb_node2(g, "back", "Cast", "half", NULL);
    gb_attr_type(g, back, "SrcT", TF_DT_HALF);
    gb_attr_type(g, back, "DstT", TF_DT_FLOAT);
    gb_attr_type(g, gb_node2(g, "dbl", "Cast", "c", NULL), "DstT", TF_DT_DOUBLE);
    if (convert_run(g, 3, (const char *[]){"half", "back", "dbl"}, NULL, &p)) {
        float want[6] = {0.0999755859375f, 65504, INFINITY, 5.9604645e-8f, 0, -2048};
        CHECK(gb_output_is(&p, 0, KILN_FLOAT32, 1, 6) && memcmp(out[0].f, want, sizeof want) == 0);
        CHECK(memcmp(out[1].f, want, sizeof want) == 0);
        CHECK(out[2].f[0] == 0.1f && out[2].f[3] == 3e-8f);
        CHECK(p.n_steps == 0);
    }
    kc_program_free(&p);

    g = graph_x();
    gb_attr_type(g, gb_node2(g, "half", "Cast", "x", NULL), "DstT", TF_DT_HALF);
    GB_EXPECT_ERROR(g, "half", "casting to DT_HALF is supported only for constants");
    g = graph_x();
    gb_attr_type(g, gb_node2(g, "s", "Cast", "x", NULL), "DstT", TF_DT_STRING);
    GB_EXPECT_ERROR(g, "s", "casting to DT_STRING is not supported");
    g = graph_x();
    gb_node2(g, "c", "Cast", "x", NULL);
    GB_EXPECT_ERROR(g, "c", "attribute 'DstT' is missing");
}

int main(void) {
    for (int i = 0; i < 24; i++) x_data[i] = (float)i;
    RUN(strided_slice_ranges);
    RUN(strided_slice_negative_strides);
    RUN(strided_slice_shrink_and_new_axes);
    RUN(strided_slice_ellipsis);
    RUN(strided_slice_empty_and_identity);
    RUN(strided_slice_errors);
    RUN(shape_arithmetic_folds);
    RUN(slice_with_minus_one);
    RUN(split_axes);
    RUN(split_v);
    RUN(unpack_axes);
    RUN(pack_axes);
    RUN(tile_and_transpose);
    RUN(broadcast_to);
    RUN(depth_space_round_trip);
    RUN(space_to_batch_and_back);
    RUN(fill_and_likes);
    RUN(size_and_rank);
    RUN(range_values);
    RUN(cast_nodes);
    return check_summary();
}
