/* One model, several threads: each thread has its own context (and its own
 * last-error message); results equal a single-threaded run. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "graph_builder.h"

#define THREADS 4
#define RUNS 20

/* conv 3x3 -> relu -> depthwise 3x3 -> mean -> matmul -> softmax on x[1,16,16,8]. */
static tf_graph *network(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 16, 16, 8});
    static float w[3 * 3 * 8 * 24], dw[3 * 3 * 24], fc[24 * 10];
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) w[i] = (float)((i * 37) % 19) / 19.0f - 0.5f;
    for (size_t i = 0; i < sizeof dw / sizeof dw[0]; i++) dw[i] = (float)((i * 11) % 7) / 7.0f - 0.3f;
    for (size_t i = 0; i < sizeof fc / sizeof fc[0]; i++) fc[i] = (float)((i * 5) % 13) / 13.0f - 0.5f;
    gb_const(g, "w", TF_DT_FLOAT, 4, (int64_t[]){3, 3, 8, 24}, w);
    gb_const(g, "dw", TF_DT_FLOAT, 4, (int64_t[]){3, 3, 24, 1}, dw);
    gb_const(g, "fc", TF_DT_FLOAT, 2, (int64_t[]){24, 10}, fc);
    gb_const(g, "axes", TF_DT_INT32, 1, (int64_t[]){2}, (int32_t[]){1, 2});
    tf_node *c = gb_node2(g, "conv", "Conv2D", "x", "w");
    gb_attr_ints(g, c, "strides", 4, (int64_t[]){1, 1, 1, 1});
    gb_attr_s(g, c, "padding", "SAME");
    gb_node2(g, "relu", "Relu", "conv", NULL);
    tf_node *d = gb_node2(g, "dwconv", "DepthwiseConv2dNative", "relu", "dw");
    gb_attr_ints(g, d, "strides", 4, (int64_t[]){1, 2, 2, 1});
    gb_attr_s(g, d, "padding", "SAME");
    gb_attr_b(g, gb_node2(g, "pool", "Mean", "dwconv", "axes"), "keep_dims", false);
    gb_node2(g, "logits", "MatMul", "pool", "fc");
    gb_node2(g, "probs", "Softmax", "logits", NULL);
    return g;
}

typedef struct {
    const kiln_model *model;
    float input[16 * 16 * 8];
    float output[10];
    kiln_status status;
} job;

static void *worker(void *arg) {
    job *j = arg;
    kiln_context *ctx = NULL;
    j->status = kiln_context_create(j->model, &ctx);
    int32_t dims[4] = {1, 16, 16, 8};
    for (int r = 0; r < RUNS && j->status == KILN_OK; r++) {
        j->status = kiln_set_input(ctx, 0, KILN_FLOAT32, dims, 4, j->input, sizeof j->input);
        if (j->status == KILN_OK) j->status = kiln_run(ctx);
    }
    if (j->status == KILN_OK) memcpy(j->output, kiln_tensor_data(kiln_context_output(ctx, 0)), sizeof j->output);
    /* A failing call on this thread sets this thread's message only. */
    CHECK(kiln_set_input(ctx, 7, KILN_FLOAT32, dims, 4, j->input, sizeof j->input) == KILN_ERR_INVALID_ARGUMENT);
    CHECK(strstr(kiln_last_error(), "no input 7") != NULL);
    kiln_context_free(ctx);
    return NULL;
}

static void threads_match_single_thread(void) {
    tf_graph *g = network();
    gb_bundle b;
    CHECK(gb_convert(g, NULL, &b));
    tf_graph_free(g);
    if (!b.bytes) return;
    void *bytes = aligned_alloc(64, (b.size + 63) & ~(size_t)63);
    memcpy(bytes, b.bytes, b.size);
    kiln_model *model = NULL;
    CHECK(kiln_model_load(bytes, b.size, &model) == KILN_OK);
    static job jobs[THREADS], solo[THREADS];
    pthread_t tid[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t].model = solo[t].model = model;
        for (size_t i = 0; i < 16 * 16 * 8; i++) jobs[t].input[i] = (float)((i * (t + 3)) % 23) / 23.0f;
        memcpy(solo[t].input, jobs[t].input, sizeof jobs[t].input);
        worker(&solo[t]); /* the reference: one after the other, on this thread */
    }
    for (int t = 0; t < THREADS; t++) CHECK(pthread_create(&tid[t], NULL, worker, &jobs[t]) == 0);
    for (int t = 0; t < THREADS; t++) pthread_join(tid[t], NULL);
    for (int t = 0; t < THREADS; t++) {
        CHECK(jobs[t].status == KILN_OK && solo[t].status == KILN_OK);
        CHECK(memcmp(jobs[t].output, solo[t].output, sizeof jobs[t].output) == 0);
    }
    CHECK(memcmp(jobs[0].output, jobs[1].output, sizeof jobs[0].output) != 0); /* inputs differ, so must outputs */
    kiln_model_free(model);
    free(bytes);
    free(b.bytes);
}

int main(void) {
    RUN(threads_match_single_thread);
    return check_summary();
}
