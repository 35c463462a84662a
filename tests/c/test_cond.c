/* TF v1 conditionals outside loops (tf.cond's Switch/Merge), resolved at convert time when
 * their predicate folds to a constant, and --input-value, which fixes an input so that it
 * does. Graphs are built as tf.cond emits them: a Switch per value entering a branch, pivots
 * (Identity of Switch(pred, pred)) whose control edges make a branch's constants dead, and a
 * Merge per result. Expected values are computed by hand. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"
#include "graph_builder.h"
#include "ops/params.h"

static const float X[3] = {0.5f, -1, 3};

/* "name/suffix" (the graph copies names; four can be in use in one call). */
static const char *nm(const char *name, const char *suffix) {
    static char buf[4][128];
    static int next;
    char *s = buf[next++ % 4];
    snprintf(s, sizeof buf[0], "%s/%s", name, suffix);
    return s;
}

/* A constant inside a branch: it runs only when the branch does, through a control edge
 * from the branch's pivot. */
static void branch_const(tf_graph *g, const char *name, int tf_dtype, int rank, const int64_t *dims,
                         const void *data, const char *pivot) {
    gb_const(g, name, tf_dtype, rank, dims, data);
    tf_node *n = &g->nodes[g->n_nodes - 1];
    char ctrl[160];
    snprintf(ctrl, sizeof ctrl, "^%s", pivot);
    n->inputs = tf_alloc(g, sizeof(char *));
    n->inputs[0] = tf_strdup(g, ctrl);
    n->n_inputs = 1;
}

/* tf.cond's pivots: NAME/pivot_t and NAME/pivot_f are live only in the true or false branch. */
static void pivots(tf_graph *g, const char *name, const char *pred) {
    gb_node2(g, nm(name, "switch"), "Switch", pred, pred);
    char s1[160], s0[160];
    snprintf(s1, sizeof s1, "%s/switch:1", name);
    snprintf(s0, sizeof s0, "%s/switch:0", name);
    gb_node2(g, nm(name, "pivot_t"), "Identity", s1, NULL);
    gb_node2(g, nm(name, "pivot_f"), "Identity", s0, NULL);
}

static void bool_const(tf_graph *g, const char *name, bool v) {
    uint8_t b = v;
    gb_const(g, name, TF_DT_BOOL, 0, NULL, &b);
}

/* y = cond(pred, 2 * x, [7, 8, 9]) and idx = its Merge's value_index. The false branch reads
 * nothing from outside: only its pivot's control edge makes it dead when pred is true. */
static tf_graph *simple_cond(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 1, (int64_t[]){3});
    pivots(g, "c", "pred");
    gb_node2(g, "c/x", "Switch", "x", "pred");
    branch_const(g, "c/two", TF_DT_FLOAT, 0, NULL, (float[]){2}, "c/pivot_t");
    gb_node2(g, "c/mul", "Mul", "c/x:1", "c/two");
    branch_const(g, "c/789", TF_DT_FLOAT, 1, (int64_t[]){3}, (float[]){7, 8, 9}, "c/pivot_f");
    gb_node2(g, "c/merge", "Merge", "c/mul", "c/789");
    gb_node2(g, "y", "Identity", "c/merge", NULL);
    gb_node2(g, "idx", "Identity", "c/merge:1", NULL);
    return g;
}

/* Converts with `opt` (its outputs: y, or y and idx), runs on X, checks y (3 floats) and idx. */
static void check_run(tf_graph *g, kc_options opt, const float *want_y, int want_idx, int want_binary_steps) {
    kc_program p = {0};
    bool ok = kc_convert(g, &opt, &p);
    if (!ok) fprintf(stderr, "  convert: %s\n", kc_last_error());
    CHECK(ok);
    tf_graph_free(g);
    gb_bundle b = {0};
    if (ok) {
        CHECK(p.n_inputs == 1 && strcmp(p.tensors[p.inputs[0]].t.name, "x") == 0);
        if (want_binary_steps >= 0) CHECK(gb_count_steps(&p, KN_OP_BINARY) == want_binary_steps);
        ok = kc_build_bundle(&p, &b.bytes, &b.size, &b.stats);
        CHECK(ok);
    }
    if (ok) {
        float y[3];
        int32_t idx = -1;
        CHECK(gb_run(&b, (const void *[]){X}, 1, (void *[]){y, &idx}, (size_t[]){sizeof y, sizeof idx},
                     opt.n_outputs) == KILN_OK);
        CHECK_ARRAY_NEAR(y, want_y, 3, 1e-6);
        if (opt.n_outputs == 2) CHECK(idx == want_idx);
    }
    free(b.bytes);
    kc_program_free(&p);
}

static void constant_predicate_takes_either_branch(void) {
    const char *outs[] = {"y", "idx"};
    kc_options opt = {.outputs = outs, .n_outputs = 2};
    for (int taken = 0; taken < 2; taken++) {
        tf_graph *g = simple_cond();
        bool_const(g, "pred", taken);
        const float doubled[3] = {1, -2, 6}, constant[3] = {7, 8, 9};
        /* The true branch is one Mul step; the false one folds to a constant output. */
        check_run(g, opt, taken ? doubled : constant, taken ? 0 : 1, taken ? 1 : 0);
    }
}

/* The predicate is computed from constants (2 < 1 is false; 1 < 2 true): folded, then resolved. */
static void folded_predicate(void) {
    const char *outs[] = {"y"};
    kc_options opt = {.outputs = outs, .n_outputs = 1};
    for (int taken = 0; taken < 2; taken++) {
        tf_graph *g = simple_cond();
        int32_t one = 1, two = 2;
        gb_const(g, "one", TF_DT_INT32, 0, NULL, &one);
        gb_const(g, "two", TF_DT_INT32, 0, NULL, &two);
        gb_node2(g, "pred", "Less", taken ? "one" : "two", taken ? "two" : "one");
        const float doubled[3] = {1, -2, 6}, constant[3] = {7, 8, 9};
        check_run(g, opt, taken ? doubled : constant, 0, -1);
    }
}

/* y = p1 ? (p2 ? -x : x * x) : x + 10, the inner cond inside the outer's true branch, with
 * its predicate p2 a constant of that branch (dead, with the whole inner cond, if p1 is false). */
static void nested_conds(void) {
    for (int p1 = 0; p1 < 2; p1++)
        for (int p2 = 0; p2 < 2; p2++) {
            tf_graph *g = tf_graph_new();
            gb_placeholder(g, "x", TF_DT_FLOAT, 1, (int64_t[]){3});
            bool_const(g, "p1", p1);
            pivots(g, "o", "p1");
            gb_node2(g, "o/x", "Switch", "x", "p1");
            uint8_t b2 = (uint8_t)p2;
            branch_const(g, "o/p2", TF_DT_BOOL, 0, NULL, &b2, "o/pivot_t");
            pivots(g, "i", "o/p2");
            gb_node2(g, "i/x", "Switch", "o/x:1", "o/p2");
            gb_node2(g, "i/neg", "Neg", "i/x:1", NULL);
            gb_node2(g, "i/square", "Square", "i/x:0", NULL);
            gb_node2(g, "i/merge", "Merge", "i/square", "i/neg");
            branch_const(g, "o/ten", TF_DT_FLOAT, 0, NULL, (float[]){10}, "o/pivot_f");
            gb_node2(g, "o/add", "AddV2", "o/x:0", "o/ten");
            gb_node2(g, "o/merge", "Merge", "o/add", "i/merge");
            gb_node2(g, "y", "Identity", "o/merge", NULL);
            gb_node2(g, "idx", "Identity", "o/merge:1", NULL);
            const char *outs[] = {"y", "idx"};
            kc_options opt = {.outputs = outs, .n_outputs = 2};
            float want[3];
            for (int i = 0; i < 3; i++) want[i] = !p1 ? X[i] + 10 : p2 ? -X[i] : X[i] * X[i];
            check_run(g, opt, want, p1, -1);
        }
}

static tf_node *enter(tf_graph *g, const char *frame, const char *name, const char *src, bool constant) {
    tf_node *n = gb_node2(g, name, "Enter", src, NULL);
    gb_attr_s(g, n, "frame_name", frame);
    gb_attr_b(g, n, "is_constant", constant);
    return n;
}

/* A while loop NAME: acc = src, then three times acc = acc + acc. Its result is NAME/exit. */
static void doubling_loop(tf_graph *g, const char *name, const char *src) {
    int32_t zero = 0, three = 3, one = 1;
    gb_const(g, nm(name, "zero"), TF_DT_INT32, 0, NULL, &zero);
    gb_const(g, nm(name, "three"), TF_DT_INT32, 0, NULL, &three);
    gb_const(g, nm(name, "one"), TF_DT_INT32, 0, NULL, &one);
    char a[160], b[160];
    enter(g, name, nm(name, "enter_i"), nm(name, "zero"), false);
    enter(g, name, nm(name, "enter_acc"), src, false);
    enter(g, name, nm(name, "enter_three"), nm(name, "three"), true);
    enter(g, name, nm(name, "enter_one"), nm(name, "one"), true);
    snprintf(a, sizeof a, "%s/enter_i", name);
    snprintf(b, sizeof b, "%s/next_i", name);
    gb_node2(g, nm(name, "merge_i"), "Merge", a, b);
    snprintf(a, sizeof a, "%s/enter_acc", name);
    snprintf(b, sizeof b, "%s/next_acc", name);
    gb_node2(g, nm(name, "merge_acc"), "Merge", a, b);
    snprintf(a, sizeof a, "%s/merge_i", name);
    snprintf(b, sizeof b, "%s/enter_three", name);
    gb_node2(g, nm(name, "less"), "Less", a, b);
    snprintf(a, sizeof a, "%s/less", name);
    gb_node2(g, nm(name, "cond"), "LoopCond", a, NULL);
    snprintf(a, sizeof a, "%s/merge_i", name);
    snprintf(b, sizeof b, "%s/cond", name);
    gb_node2(g, nm(name, "switch_i"), "Switch", a, b);
    snprintf(a, sizeof a, "%s/merge_acc", name);
    gb_node2(g, nm(name, "switch_acc"), "Switch", a, b);
    snprintf(a, sizeof a, "%s/switch_i:1", name);
    snprintf(b, sizeof b, "%s/enter_one", name);
    gb_node2(g, nm(name, "add_i"), "AddV2", a, b);
    snprintf(a, sizeof a, "%s/switch_acc:1", name);
    gb_node2(g, nm(name, "add_acc"), "AddV2", a, a);
    snprintf(a, sizeof a, "%s/add_i", name);
    gb_node2(g, nm(name, "next_i"), "NextIteration", a, NULL);
    snprintf(a, sizeof a, "%s/add_acc", name);
    gb_node2(g, nm(name, "next_acc"), "NextIteration", a, NULL);
    snprintf(a, sizeof a, "%s/switch_acc", name);
    gb_node2(g, nm(name, "exit"), "Exit", a, NULL);
}

/* A cond's result feeds a while loop: z = 8 * cond(pred, 2x, [7, 8, 9]). */
static void cond_feeds_loop(void) {
    for (int taken = 0; taken < 2; taken++) {
        tf_graph *g = simple_cond();
        bool_const(g, "pred", taken);
        doubling_loop(g, "loop", "c/merge");
        gb_node2(g, "z", "Identity", "loop/exit", NULL);
        const char *outs[] = {"z"};
        kc_options opt = {.outputs = outs, .n_outputs = 1};
        float want[3];
        for (int i = 0; i < 3; i++) want[i] = 8 * (taken ? 2 * X[i] : (float)(7 + i));
        check_run(g, opt, want, 0, -1);
    }
}

/* A while loop inside a branch: y = cond(pred, x + 1, 8x). Not taken, the loop is dead
 * and not lowered: no loop steps in the plan. */
static void loop_in_branch(void) {
    for (int taken = 0; taken < 2; taken++) {
        tf_graph *g = tf_graph_new();
        gb_placeholder(g, "x", TF_DT_FLOAT, 1, (int64_t[]){3});
        bool_const(g, "pred", taken);
        pivots(g, "c", "pred");
        gb_node2(g, "c/x", "Switch", "x", "pred");
        branch_const(g, "c/one", TF_DT_FLOAT, 0, NULL, (float[]){1}, "c/pivot_t");
        gb_node2(g, "c/add", "AddV2", "c/x:1", "c/one");
        gb_node2(g, "c/x_f", "Identity", "c/x:0", NULL);
        doubling_loop(g, "loop", "c/x_f");
        gb_node2(g, "c/merge", "Merge", "loop/exit", "c/add");
        gb_node2(g, "y", "Identity", "c/merge", NULL);
        const char *outs[] = {"y"};
        kc_options opt = {.outputs = outs, .n_outputs = 1};
        kc_program p = {0};
        CHECK(kc_convert(g, &opt, &p));
        CHECK(gb_count_steps(&p, KN_OP_LOOP_TEST) == !taken);
        kc_program_free(&p);
        float want[3];
        for (int i = 0; i < 3; i++) want[i] = taken ? X[i] + 1 : 8 * X[i];
        check_run(g, opt, want, 0, -1);
    }
}

/* y = cond(ratio == 1, x, x * ratio) on an input `ratio` of unknown rank (as rvm's
 * downsample_ratio), with `training` (bool) and `bias` ([3]) inputs fixed too: out = y + bias
 * if not training. Fixed, they are constants: x is the only input left. */
static tf_graph *ratio_cond(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 1, (int64_t[]){3});
    tf_node *ratio = gb_node(g, "ratio", "Placeholder", 0, NULL);
    gb_attr_type(g, ratio, "dtype", TF_DT_FLOAT);
    tf_attr *shape = tf_node_add_attr(g, ratio, "shape");
    shape->kind = TF_ATTR_SHAPE;
    shape->shape.unknown_rank = true;
    gb_placeholder(g, "training", TF_DT_BOOL, 0, NULL);
    gb_placeholder(g, "bias", TF_DT_FLOAT, 1, (int64_t[]){3});
    gb_const(g, "one", TF_DT_FLOAT, 0, NULL, (float[]){1});
    gb_node2(g, "eq", "Equal", "ratio", "one");
    pivots(g, "c", "eq");
    gb_node2(g, "c/x", "Switch", "x", "eq");
    gb_node2(g, "c/ratio", "Switch", "ratio", "eq");
    gb_node2(g, "c/scaled", "Mul", "c/x:0", "c/ratio:0");
    gb_node2(g, "c/same", "Identity", "c/x:1", NULL);
    gb_node2(g, "c/merge", "Merge", "c/scaled", "c/same");
    gb_node2(g, "t/x", "Switch", "c/merge", "training");
    gb_node2(g, "t/biased", "AddV2", "t/x:0", "bias");
    gb_node2(g, "t/dropped", "Neg", "t/x:1", NULL); /* stands for a training-only path */
    gb_node2(g, "t/merge", "Merge", "t/biased", "t/dropped");
    gb_node2(g, "y", "Identity", "t/merge", NULL);
    return g;
}

static void input_value_fixes_predicate(void) {
    const char *outs[] = {"y"};
    const float ratios[] = {0.25f, 1};
    for (int r = 0; r < 2; r++) {
        kc_input_value values[] = {{"ratio", r ? "1" : "0.25"}, {"training", "false"}, {"bias", "1,2,3"}};
        kc_options opt = {.outputs = outs, .n_outputs = 1, .values = values, .n_values = 3};
        float want[3];
        for (int i = 0; i < 3; i++) want[i] = X[i] * ratios[r] + (float)(i + 1);
        check_run(ratio_cond(), opt, want, 0, r ? 1 : 2);
    }
}

/* Converting `g` (freed here) with `opt` must fail with a message containing `needle`. */
static void expect_error(tf_graph *g, kc_options opt, const char *needle) {
    kc_program p = {0};
    bool ok = kc_convert(g, &opt, &p);
    if (ok || !strstr(kc_last_error(), needle))
        fprintf(stderr, "  conversion %s \"%s\", want an error with \"%s\"\n", ok ? "succeeded" : "failed with",
                ok ? "" : kc_last_error(), needle);
    CHECK(!ok && strstr(kc_last_error(), needle));
    kc_program_free(&p);
    tf_graph_free(g);
}

static void errors_are_named(void) {
    const char *outs[] = {"y"};
    /* A predicate known only at run time: named, with the input it depends on. */
    kc_input_spec all[] = {{"x", -1, {0}}, {"ratio", 0, {0}}, {"training", -1, {0}}, {"bias", -1, {0}}};
    expect_error(ratio_cond(), (kc_options){.inputs = all, .n_inputs = 4, .outputs = outs, .n_outputs = 1},
                 "Switch 'c/x' (a conditional outside any while loop): its predicate 'eq' is known only at run time");
    kc_input_value training[] = {{"training", "false"}, {"bias", "0,0,0"}};
    expect_error(ratio_cond(), (kc_options){.inputs = all, .n_inputs = 2, .outputs = outs, .n_outputs = 1,
                                            .values = training, .n_values = 2},
                 "it depends on input 'ratio': fix that input's value with --input-value ratio=VALUE");
    kc_input_value ratio1[] = {{"ratio", "1"}, {"bias", "0,0,0"}};
    expect_error(ratio_cond(), (kc_options){.inputs = (kc_input_spec[]){{"x", -1, {0}}, {"training", -1, {0}}},
                                            .n_inputs = 2, .outputs = outs, .n_outputs = 1, .values = ratio1,
                                            .n_values = 2},
                 "predicate 'training' is known only at run time; Kiln resolves conditionals when converting, so "
                 "the predicate must be known at convert time; it depends on input 'training'");
    /* Values that do not parse or do not fit. */
    kc_input_value bad[][2] = {{{"ratio", "abc"}}, {{"training", "2"}, {"ratio", "1"}}, {{"bias", "1,2"}, {"ratio", "1"}},
                               {{"ratio", "1e39"}}, {{"ratio", "1,"}}, {{"nothing", "1"}}};
    const char *why[] = {"'abc' is not a valid float32 value", "'2' is not a valid bool value",
                         "2 values given, but input 'bias'", "'1e39' is not a valid float32 value",
                         "'' is not a valid float32 value", "'nothing' names no node"};
    for (int i = 0; i < 6; i++)
        expect_error(ratio_cond(), (kc_options){.outputs = outs, .n_outputs = 1, .values = bad[i], .n_values = bad[i][1].name ? 2 : 1},
                     why[i]);
    kc_input_spec spec = {.name = "ratio", .rank = 0};
    kc_input_value ratio[] = {{"ratio", "1"}, {"ratio", "2"}};
    expect_error(ratio_cond(), (kc_options){.inputs = &spec, .n_inputs = 1, .outputs = outs, .n_outputs = 1,
                                            .values = ratio, .n_values = 1},
                 "both --input and --input-value");
    expect_error(ratio_cond(), (kc_options){.outputs = outs, .n_outputs = 1, .values = ratio, .n_values = 2},
                 "given twice");
    /* An output on the branch not taken. */
    tf_graph *g = simple_cond();
    bool_const(g, "pred", false);
    GB_EXPECT_ERROR(g, "c/mul", "a branch that its conditional does not take");
    /* A predicate that is not one bool. */
    g = simple_cond();
    gb_const(g, "pred", TF_DT_FLOAT, 0, NULL, (float[]){1});
    GB_EXPECT_ERROR(g, "y", "its predicate is float32[]; it must be one bool");
    /* A Merge whose inputs are both live (no Switch makes either dead). */
    g = simple_cond();
    bool_const(g, "pred", true);
    gb_node2(g, "both", "Merge", "x", "c/mul");
    GB_EXPECT_ERROR(g, "both", "inputs 0 and 1 are both live");
    g = simple_cond();
    bool_const(g, "pred", true);
    gb_node2(g, "none", "Merge", NULL, NULL);
    GB_EXPECT_ERROR(g, "none", "Merge 'none' has no data inputs");
}

/* A loop's own Switch and Merge are still the loop's (a cond elsewhere does not change them). */
/* A TF1 Assert guard: a cond on a run-time predicate whose Merge only a control edge reads.
 * It orders side effects Kiln does not have: the graph converts and y = x + 1 runs. */
static void assert_guard_on_run_time_predicate(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 1, (int64_t[]){3});
    gb_node2(g, "sum", "Sum", "x", "axis");
    gb_const(g, "axis", TF_DT_INT32, 0, NULL, (int32_t[]){0});
    gb_const(g, "zero", TF_DT_FLOAT, 0, NULL, (float[]){0});
    gb_node2(g, "ok", "Greater", "sum", "zero");
    pivots(g, "guard", "ok");
    gb_node2(g, "guard/merge", "Merge", "guard/pivot_t", "guard/pivot_f");
    gb_const(g, "one", TF_DT_FLOAT, 0, NULL, (float[]){1});
    tf_node *y = gb_node(g, "y", "AddV2", 3, (const char *[]){"x", "one", "^guard/merge"});
    gb_attr_type(g, y, "T", TF_DT_FLOAT);
    const float want[3] = {X[0] + 1, X[1] + 1, X[2] + 1};
    check_run(g, (kc_options){.outputs = (const char *[]){"y"}, .n_outputs = 1}, want, 0, 1);
}

static void loops_unchanged_beside_conds(void) {
    tf_graph *g = simple_cond();
    bool_const(g, "pred", true);
    doubling_loop(g, "loop", "x");
    gb_node2(g, "z", "AddV2", "loop/exit", "y");
    const char *outs[] = {"z"};
    float want[3];
    for (int i = 0; i < 3; i++) want[i] = 8 * X[i] + 2 * X[i];
    check_run(g, (kc_options){.outputs = outs, .n_outputs = 1}, want, 0, -1);
}

int main(void) {
    RUN(constant_predicate_takes_either_branch);
    RUN(folded_predicate);
    RUN(nested_conds);
    RUN(cond_feeds_loop);
    RUN(loop_in_branch);
    RUN(input_value_fixes_predicate);
    RUN(errors_are_named);
    RUN(loops_unchanged_beside_conds);
    RUN(assert_guard_on_run_time_predicate);
    return check_summary();
}
