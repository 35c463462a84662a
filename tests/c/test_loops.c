/* TF v1 while loops (Enter/Merge/Switch/LoopCond/NextIteration/Exit), as
 * frozen graphs have them, through conversion and the executor's loop
 * steps; and the loader's checks on loop structure. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"
#include "format.h"
#include "graph_builder.h"
#include "ops/params.h"

static tf_node *enter(tf_graph *g, const char *name, const char *src, bool constant) {
    tf_node *n = gb_node2(g, name, "Enter", src, NULL);
    gb_attr_s(g, n, "frame_name", "loop");
    gb_attr_b(g, n, "is_constant", constant);
    return n;
}

/* i = 0, acc = x; while i < limit: acc = acc * 2 + 1, i = i + 1. Outputs acc and i. */
static tf_graph *doubling_loop(int32_t limit) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 1, (int64_t[]){3});
    int32_t zero = 0, one = 1;
    float two = 2, onef = 1;
    gb_const(g, "zero", TF_DT_INT32, 0, NULL, &zero);
    gb_const(g, "limit", TF_DT_INT32, 0, NULL, &limit);
    gb_const(g, "one", TF_DT_INT32, 0, NULL, &one);
    gb_const(g, "two", TF_DT_FLOAT, 0, NULL, &two);
    gb_const(g, "onef", TF_DT_FLOAT, 0, NULL, &onef);
    enter(g, "enter_i", "zero", false);
    enter(g, "enter_acc", "x", false);
    enter(g, "enter_limit", "limit", true);
    enter(g, "enter_one", "one", true);
    enter(g, "enter_two", "two", true);
    enter(g, "enter_onef", "onef", true);
    gb_node2(g, "merge_i", "Merge", "enter_i", "next_i");
    gb_node2(g, "merge_acc", "Merge", "enter_acc", "next_acc");
    gb_node2(g, "less", "Less", "merge_i", "enter_limit");
    gb_node2(g, "cond", "LoopCond", "less", NULL);
    gb_node2(g, "switch_i", "Switch", "merge_i", "cond");
    gb_node2(g, "switch_acc", "Switch", "merge_acc", "cond");
    gb_node2(g, "body_i", "Identity", "switch_i:1", NULL);
    gb_node2(g, "body_acc", "Identity", "switch_acc:1", NULL);
    gb_node2(g, "add_i", "AddV2", "body_i", "enter_one");
    gb_node2(g, "mul", "Mul", "body_acc", "enter_two");
    gb_node2(g, "add_acc", "AddV2", "mul", "enter_onef");
    gb_node2(g, "next_i", "NextIteration", "add_i", NULL);
    gb_node2(g, "next_acc", "NextIteration", "add_acc", NULL);
    gb_node2(g, "exit_acc", "Exit", "switch_acc", NULL);
    gb_node2(g, "exit_i", "Exit", "switch_i", NULL);
    gb_node2(g, "acc", "Identity", "exit_acc", NULL);
    gb_node2(g, "count", "Identity", "exit_i", NULL);
    return g;
}

static void while_loop_runs(void) {
    for (int32_t limit = 0; limit <= 6; limit += 3) {
        tf_graph *g = doubling_loop(limit);
        const char *outs[] = {"acc", "count"};
        kc_options opt = {NULL, 0, outs, 2};
        gb_bundle b;
        bool ok = gb_convert(g, &opt, &b);
        if (!ok) fprintf(stderr, "  %s\n", kc_last_error());
        CHECK(ok);
        tf_graph_free(g);
        if (!ok) return;
        float x[3] = {0.5f, -1, 3}, acc[3];
        int32_t count;
        CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){acc, &count}, (size_t[]){sizeof acc, sizeof count}, 2) ==
              KILN_OK);
        CHECK(count == limit);
        float scale = (float)(1 << limit);
        for (int i = 0; i < 3; i++) CHECK_NEAR(acc[i], scale * x[i] + scale - 1, 1e-5);
        free(b.bytes);
    }
}

/* A loop whose condition never turns false stops at the iteration cap with a named error. */
static void runaway_loop_is_stopped(void) {
    tf_graph *g = doubling_loop(5);
    /* Make the condition i < limit always true: compare against a huge limit... by swapping in
     * "less" -> LessEqual(i, i). */
    for (int k = 0; k < g->n_nodes; k++)
        if (strcmp(g->nodes[k].name, "less") == 0) {
            g->nodes[k].op = "LessEqual";
            g->nodes[k].inputs[1] = "merge_i";
        }
    const char *outs[] = {"acc"};
    kc_options opt = {NULL, 0, outs, 1};
    gb_bundle b;
    CHECK(gb_convert(g, &opt, &b));
    tf_graph_free(g);
    if (!b.bytes) return;
    float x[3] = {0}, acc[3];
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){acc}, (size_t[]){sizeof acc}, 1) == KILN_ERR_RUNTIME);
    CHECK(strstr(kiln_last_error(), "iterations") != NULL);
    free(b.bytes);
}

/* Finds the first step with op `op` in a bundle's plan; returns its word offset or -1. */
static long find_step(const uint8_t *bytes, uint16_t op) {
    kn_header h;
    memcpy(&h, bytes, sizeof h);
    const uint8_t *plan = bytes + h.sections[KN_SEC_PLAN].offset;
    size_t pos = 0;
    for (uint32_t i = 0; i < h.n_steps; i++) {
        uint32_t w0, np;
        memcpy(&w0, plan + pos * 4, 4);
        memcpy(&np, plan + pos * 4 + 4, 4);
        if ((w0 & 0xffff) == op) return (long)(h.sections[KN_SEC_PLAN].offset / 4 + pos);
        pos += KN_STEP_HEADER_WORDS + ((w0 >> 16) & 0xff) + (w0 >> 24) + np;
    }
    return -1;
}

/* A bundle whose loop jumps are rewired (and checksum fixed) is rejected at load. */
static void malformed_loops_are_rejected(void) {
    tf_graph *g = doubling_loop(3);
    const char *outs[] = {"acc"};
    kc_options opt = {NULL, 0, outs, 1};
    gb_bundle b;
    CHECK(gb_convert(g, &opt, &b));
    tf_graph_free(g);
    if (!b.bytes) return;
    long next = find_step(b.bytes, KN_OP_LOOP_NEXT), test = find_step(b.bytes, KN_OP_LOOP_TEST);
    CHECK(next > 0 && test > 0);
    uint8_t *copy = aligned_alloc(64, (b.size + 63) & ~(size_t)63);
    /* LOOP_NEXT's first_step is its only param, the last word of its record. */
    uint32_t w0;
    memcpy(&w0, b.bytes + next * 4, 4);
    long first_word = next + KN_STEP_HEADER_WORDS + ((w0 >> 16) & 0xff) + (w0 >> 24);
    long exit_word = test + KN_STEP_HEADER_WORDS + 1; /* LOOP_TEST: 1 input, no outputs; exit_step first */
    struct {
        long word;
        uint32_t value;
    } edits[] = {{first_word, 0xffffffffu}, {exit_word, 1}, {exit_word, 1000}, {exit_word + 1, 0x80000000u}};
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        memcpy(copy, b.bytes, b.size);
        memcpy(copy + edits[e].word * 4, &edits[e].value, 4);
        uint32_t crc = kn_crc32c(copy + 12, b.size - 12);
        memcpy(copy + 8, &crc, 4);
        kiln_model *m = NULL;
        CHECK(kiln_model_load(copy, b.size, &m) == KILN_ERR_BAD_BUNDLE);
        kiln_model_free(m);
    }
    free(copy);
    free(b.bytes);
}

int main(void) {
    RUN(while_loop_runs);
    RUN(runaway_loop_is_stopped);
    RUN(malformed_loops_are_rejected);
    return check_summary();
}
