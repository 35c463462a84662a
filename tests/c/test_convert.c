/* From a TF graph built by hand to a bundle and back through the runtime:
 * conversion, constant folding, defaults, the loader's validation and the
 * executor, checked against values computed here from the definitions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"
#include "graph_builder.h"

/* ---- a small CNN: old-style graph without dilations/data_format, BatchNorm as constant math ---- */

/* x[1,5,5,2] -> Conv2D 3x3 stride 2 SAME (4 filters) -> *bn_scale + bn_shift (folded from
 * Rsqrt/Mul/Sub on constants) -> Relu6 -> Mean over H,W -> MatMul [4,3] -> Softmax */
static tf_graph *small_cnn(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "input", TF_DT_FLOAT, 4, (int64_t[]){-1, 5, 5, 2});
    float w[3 * 3 * 2 * 4], var[4] = {0.5f, 1, 2, 4}, gamma[4] = {1, -1, 0.5f, 2}, beta[4] = {0.1f, 0.2f, -0.3f, 0};
    float mean[4] = {0, 0.5f, -0.5f, 1}, fc[4 * 3];
    for (int i = 0; i < 72; i++) w[i] = (float)((i * 7) % 11 - 5) / 10.0f;
    for (int i = 0; i < 12; i++) fc[i] = (float)((i * 5) % 7 - 3) / 4.0f;
    gb_const(g, "w", TF_DT_FLOAT, 4, (int64_t[]){3, 3, 2, 4}, w);
    tf_node *conv = gb_node2(g, "conv", "Conv2D", "input", "w");
    gb_attr_ints(g, conv, "strides", 4, (int64_t[]){1, 2, 2, 1});
    gb_attr_s(g, conv, "padding", "SAME");
    gb_const(g, "var", TF_DT_FLOAT, 1, (int64_t[]){4}, var);
    gb_const(g, "gamma", TF_DT_FLOAT, 1, (int64_t[]){4}, gamma);
    gb_const(g, "beta", TF_DT_FLOAT, 1, (int64_t[]){4}, beta);
    gb_const(g, "mean", TF_DT_FLOAT, 1, (int64_t[]){4}, mean);
    gb_node2(g, "bn/rsqrt", "Rsqrt", "var", NULL);
    gb_node2(g, "bn/scale", "Mul", "bn/rsqrt", "gamma");
    gb_node2(g, "bn/mul_mean", "Mul", "mean", "bn/scale");
    gb_node2(g, "bn/shift", "Sub", "beta", "bn/mul_mean");
    gb_node2(g, "bn/mul", "Mul", "conv", "bn/scale");
    gb_node2(g, "bn/out", "Add", "bn/mul", "bn/shift");
    gb_node2(g, "bn/out/read", "Identity", "bn/out", NULL);
    gb_attr_type(g, gb_node2(g, "relu", "Relu6", "bn/out/read", NULL), "T", TF_DT_FLOAT);
    gb_const(g, "axes", TF_DT_INT32, 1, (int64_t[]){2}, (int32_t[]){1, 2});
    tf_node *mean_node = gb_node2(g, "pool", "Mean", "relu", "axes");
    gb_attr_b(g, mean_node, "keep_dims", false);
    gb_const(g, "fc", TF_DT_FLOAT, 2, (int64_t[]){4, 3}, fc);
    gb_node2(g, "logits", "MatMul", "pool", "fc");
    gb_node2(g, "probs", "Softmax", "logits", NULL);
    return g;
}

/* The same network computed directly from the definitions. */
static void small_cnn_reference(const float *x, float *probs) {
    tf_graph *g = small_cnn();
    const float *w = gb_const_data(g, "w"), *var = gb_const_data(g, "var"), *gamma = gb_const_data(g, "gamma");
    const float *beta = gb_const_data(g, "beta"), *mean = gb_const_data(g, "mean"), *fc = gb_const_data(g, "fc");
    /* SAME, stride 2 on 5: out 3, total pad (3-1)*2+3-5 = 2, one on each side. */
    double pooled[4] = {0};
    for (int oc = 0; oc < 4; oc++) {
        double scale = gamma[oc] / sqrt(var[oc]), shift = beta[oc] - mean[oc] * scale;
        for (int oy = 0; oy < 3; oy++)
            for (int ox = 0; ox < 3; ox++) {
                double acc = 0;
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        for (int ic = 0; ic < 2; ic++) {
                            int iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
                            if (iy < 0 || iy >= 5 || ix < 0 || ix >= 5) continue;
                            acc += x[(iy * 5 + ix) * 2 + ic] * w[((ky * 3 + kx) * 2 + ic) * 4 + oc];
                        }
                double v = acc * scale + shift;
                pooled[oc] += (v < 0 ? 0 : v > 6 ? 6 : v) / 9.0;
            }
    }
    double logits[3], max = -1e30, sum = 0;
    for (int j = 0; j < 3; j++) {
        logits[j] = 0;
        for (int k = 0; k < 4; k++) logits[j] += pooled[k] * fc[k * 3 + j];
        if (logits[j] > max) max = logits[j];
    }
    for (int j = 0; j < 3; j++) sum += exp(logits[j] - max);
    for (int j = 0; j < 3; j++) probs[j] = (float)(exp(logits[j] - max) / sum);
    tf_graph_free(g);
}

static void small_cnn_matches_reference(void) {
    tf_graph *g = small_cnn();
    gb_bundle b = {0};
    CHECK(gb_convert(g, NULL, &b));
    if (!b.bytes) {
        fprintf(stderr, "  %s\n", kc_last_error());
        tf_graph_free(g);
        return;
    }
    /* The BatchNorm constants fold into the conv's weights and bias, Relu6 into its
     * epilogue: conv, mean, matmul, softmax. */
    CHECK(b.stats.n_steps == 4);
    float x[50], got[3], want[3];
    for (int i = 0; i < 50; i++) x[i] = (float)((i * 13) % 17) / 8.0f - 1.0f;
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){got}, (size_t[]){sizeof got}, 1) == KILN_OK);
    small_cnn_reference(x, want);
    CHECK_ARRAY_NEAR(got, want, 3, 1e-5);
    free(b.bytes);
    tf_graph_free(g);
}

/* The loader rejects every truncation and every single flipped byte with an error, never a crash. */
static void damaged_bundles_fail_cleanly(void) {
    tf_graph *g = small_cnn();
    gb_bundle b = {0};
    CHECK(gb_convert(g, NULL, &b));
    tf_graph_free(g);
    if (!b.bytes) return;
    uint8_t *copy = aligned_alloc(64, (b.size + 63) & ~(size_t)63);
    int failures = 0;
    for (size_t cut = 0; cut < b.size; cut += 1 + cut / 16) {
        memcpy(copy, b.bytes, cut);
        kiln_model *m = NULL;
        if (kiln_model_load(copy, cut, &m) != KILN_OK && m == NULL && kiln_last_error()[0]) failures++;
        else CHECK(!"a truncated bundle loaded");
        kiln_model_free(m);
    }
    CHECK(failures > 0);
    for (size_t at = 0; at < b.size; at += 7) {
        memcpy(copy, b.bytes, b.size);
        copy[at] ^= 0x5a;
        kiln_model *m = NULL;
        kiln_status st = kiln_model_load(copy, b.size, &m);
        CHECK(st != KILN_OK && m == NULL);
        kiln_model_free(m);
    }
    memcpy(copy, b.bytes, b.size);
    kiln_model *m = NULL;
    CHECK(kiln_model_load(copy, b.size - 1, &m) == KILN_ERR_BAD_BUNDLE);
    CHECK(strstr(kiln_last_error(), "truncated") != NULL);
    copy[b.size - 1] ^= 1;
    CHECK(kiln_model_load(copy, b.size, &m) == KILN_ERR_BAD_BUNDLE);
    CHECK(strstr(kiln_last_error(), "checksum") != NULL);
    free(copy);
    free(b.bytes);
}

static void wrong_inputs_are_named_errors(void) {
    tf_graph *g = small_cnn();
    gb_bundle b = {0};
    CHECK(gb_convert(g, NULL, &b));
    tf_graph_free(g);
    if (!b.bytes) return;
    void *copy = aligned_alloc(64, (b.size + 63) & ~(size_t)63);
    memcpy(copy, b.bytes, b.size);
    kiln_model *m = NULL;
    kiln_context *c = NULL;
    CHECK(kiln_model_load(copy, b.size, &m) == KILN_OK);
    CHECK(kiln_context_create(m, &c) == KILN_OK);
    float x[50] = {0};
    int32_t good[4] = {1, 5, 5, 2}, bad[4] = {1, 5, 4, 2};
    CHECK(kiln_set_input(c, 0, KILN_FLOAT32, bad, 4, x, 40 * 4) == KILN_ERR_INVALID_ARGUMENT);
    CHECK(strstr(kiln_last_error(), "input 'input': expected shape float32[1,5,5,2], got float32[1,5,4,2]") != NULL);
    CHECK(kiln_set_input(c, 0, KILN_INT32, good, 4, x, sizeof x) == KILN_ERR_INVALID_ARGUMENT);
    CHECK(strstr(kiln_last_error(), "expected dtype float32, got int32") != NULL);
    CHECK(kiln_set_input(c, 1, KILN_FLOAT32, good, 4, x, sizeof x) == KILN_ERR_INVALID_ARGUMENT);
    CHECK(kiln_set_input(c, 0, KILN_FLOAT32, good, 4, x, sizeof x - 4) == KILN_ERR_INVALID_ARGUMENT);
    CHECK(kiln_set_input(c, 0, KILN_FLOAT32, good, 4, x, sizeof x) == KILN_OK);
    CHECK(kiln_model_find_input(m, "input") == 0 && kiln_model_find_output(m, "probs") == 0);
    kiln_context_free(c);
    kiln_model_free(m);
    free(copy);
    free(b.bytes);
}

/* Every unsupported op type is listed, with its nodes, in one message. */
static void unsupported_ops_listed_at_once(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 2, (int64_t[]){1, 4});
    gb_node2(g, "a", "Frobnicate", "x", NULL);
    gb_node2(g, "b", "Relu", "a", NULL);
    gb_node2(g, "c", "Frobnicate", "b", NULL);
    gb_node2(g, "d", "Zorch", "c", NULL);
    gb_bundle b = {0};
    CHECK(!gb_convert(g, NULL, &b));
    const char *e = kc_last_error();
    CHECK(strstr(e, "2 unsupported op types") != NULL);
    CHECK(strstr(e, "Frobnicate: 2 nodes: 'a', 'c'") != NULL || strstr(e, "Frobnicate: 2 nodes: 'c', 'a'") != NULL);
    CHECK(strstr(e, "Zorch: 1 node: 'd'") != NULL);
    tf_graph_free(g);
}

/* --input cuts the graph and sets the shape; --output picks a tensor. */
static void inputs_and_outputs_by_name(void) {
    tf_graph *g = small_cnn();
    kc_input_spec in = {.name = "relu", .rank = 4, .dims = {1, 3, 3, 4}};
    const char *outs[] = {"logits"};
    kc_options opt = {&in, 1, outs, 1};
    gb_bundle b = {0};
    CHECK(gb_convert(g, &opt, &b));
    tf_graph_free(g);
    if (!b.bytes) return;
    CHECK(b.stats.n_steps == 2); /* mean, matmul */
    float x[36], got[3];
    for (int i = 0; i < 36; i++) x[i] = (float)i / 36.0f;
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){got}, (size_t[]){sizeof got}, 1) == KILN_OK);
    free(b.bytes);
}

/* Pad (H and W, zeros) before a VALID conv becomes the conv's own padding: one step,
 * the same values as a SAME conv of the unpadded input. */
static void pad_folds_into_conv(void) {
    float w[3 * 3 * 2 * 3], x[4 * 5 * 2];
    for (int i = 0; i < 54; i++) w[i] = (float)(i % 7) / 7.0f - 0.4f;
    for (int i = 0; i < 40; i++) x[i] = (float)(i % 9) / 4.0f - 1.0f;
    float results[2][4 * 5 * 3];
    for (int variant = 0; variant < 2; variant++) {
        tf_graph *g = tf_graph_new();
        gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 4, 5, 2});
        gb_const(g, "w", TF_DT_FLOAT, 4, (int64_t[]){3, 3, 2, 3}, w);
        tf_node *conv;
        if (variant == 0) {
            gb_const(g, "pads", TF_DT_INT32, 2, (int64_t[]){4, 2}, (int32_t[]){0, 0, 1, 1, 1, 1, 0, 0});
            gb_node2(g, "padded", "Pad", "x", "pads");
            conv = gb_node2(g, "conv", "Conv2D", "padded", "w");
            gb_attr_s(g, conv, "padding", "VALID");
        } else {
            conv = gb_node2(g, "conv", "Conv2D", "x", "w");
            gb_attr_s(g, conv, "padding", "SAME");
        }
        gb_attr_ints(g, conv, "strides", 4, (int64_t[]){1, 1, 1, 1});
        gb_bundle b;
        CHECK(gb_convert(g, NULL, &b));
        tf_graph_free(g);
        if (!b.bytes) return;
        CHECK(b.stats.n_steps == 1);
        CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){results[variant]}, (size_t[]){sizeof results[0]}, 1) ==
              KILN_OK);
        free(b.bytes);
    }
    CHECK_ARRAY_NEAR(results[0], results[1], 60, 1e-6);
}

/* A few bytes of graph cannot make the converter build a huge constant. */
static void huge_constants_are_refused(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 1, (int64_t[]){1});
    gb_const(g, "dims", TF_DT_INT32, 1, (int64_t[]){2}, (int32_t[]){20000, 20000});
    float one = 1;
    gb_const(g, "one", TF_DT_FLOAT, 0, NULL, &one);
    gb_node2(g, "big", "Fill", "dims", "one");
    gb_node2(g, "out", "Mul", "x", "big");
    gb_bundle b;
    CHECK(!gb_convert(g, NULL, &b));
    CHECK(strstr(kc_last_error(), "the limit is") != NULL);
    tf_graph_free(g);
}

int main(void) {
    RUN(huge_constants_are_refused);
    RUN(pad_folds_into_conv);
    RUN(small_cnn_matches_reference);
    RUN(damaged_bundles_fail_cleanly);
    RUN(wrong_inputs_are_named_errors);
    RUN(unsupported_ops_listed_at_once);
    RUN(inputs_and_outputs_by_name);
    return check_summary();
}
