/* kc_fuse's residual and PReLU fusions on graphs built by hand: which steps are left, and
 * the bundle's outputs against values computed here from the definitions. The unfused
 * cases (a second reader of the conv output, a shortcut that broadcasts, an activation
 * already fused, Sub; PReLU with slopes given at run time or after a depthwise conv) must
 * keep their Binary step and still compute the same values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "graph_builder.h"
#include "ops/params.h"

/* x[1,4,4,3] into a 1x1 conv 3 -> 3 with bias: c = x W + b. */
enum { PIXELS = 16, CH = 3 };
static const float W[CH * CH] = {0.5f, -1, 0.25f, 1, 0.75f, -0.5f, -0.25f, 0.5f, 1};
static const float B[CH] = {0.1f, -0.2f, 0.3f};
static const float ALPHA[CH] = {0.1f, 0.2f, 0.3f};

static void input_values(float *x) {
    for (int i = 0; i < PIXELS * CH; i++) x[i] = (float)((i * 7) % 13) / 4.0f - 1.5f;
}

/* c at pixel p, channel o, from the definition. */
static float conv_at(const float *x, int p, int o) {
    float acc = B[o];
    for (int c = 0; c < CH; c++) acc += x[p * CH + c] * W[c * CH + o];
    return acc;
}

/* "name" = Conv2D(in, w) + b (BiasAdd), 1x1, stride 1, VALID; w and b made once. */
static void conv1x1(tf_graph *g, const char *name, const char *in) {
    if (!gb_const_data(g, "w")) {
        gb_const(g, "w", TF_DT_FLOAT, 4, (int64_t[]){1, 1, CH, CH}, W);
        gb_const(g, "b", TF_DT_FLOAT, 1, (int64_t[]){CH}, B);
    }
    char conv[64];
    snprintf(conv, sizeof conv, "%s/conv", name);
    tf_node *n = gb_node2(g, conv, "Conv2D", in, "w");
    gb_attr_ints(g, n, "strides", 4, (int64_t[]){1, 1, 1, 1});
    gb_attr_s(g, n, "padding", "VALID");
    gb_node2(g, name, "BiasAdd", conv, "b");
}

static tf_graph *with_input(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 4, (int64_t[]){1, 4, 4, CH});
    return g;
}

/* The Conv2D steps of p that have a residual operand. */
static int residual_convs(const kc_program *p) {
    int n = 0;
    for (int i = 0; i < p->n_steps; i++)
        n += p->steps[i].op == KN_OP_CONV2D && p->steps[i].n_in > 4 && p->steps[i].in[4] >= 0;
    return n;
}

/* relu(conv(x) + tanh(x)): the shortcut's step comes after the conv's in the plan, so the
 * fused conv moves to the Add's place; Relu joins the epilogue. One conv, one tanh left. */
static void residual_add_relu_is_one_step(void) {
    for (int order = 0; order < 2; order++) {
        tf_graph *g = with_input();
        conv1x1(g, "c", "x");
        gb_attr_type(g, gb_node2(g, "t", "Tanh", "x", NULL), "T", TF_DT_FLOAT);
        gb_node2(g, "sum", "AddV2", order ? "t" : "c", order ? "c" : "t");
        gb_attr_type(g, gb_node2(g, "y", "Relu", "sum", NULL), "T", TF_DT_FLOAT);
        float x[PIXELS * CH], y[PIXELS * CH], want[PIXELS * CH];
        input_values(x);
        kc_program p;
        if (gb_convert_run(g, 1, (const char *[]){"y"}, (const void *[]){x}, (void *[]){y}, sizeof y, &p)) {
            CHECK(p.n_steps == 2);
            CHECK(gb_count_steps(&p, KN_OP_BINARY) == 0);
            CHECK(residual_convs(&p) == 1);
            const kc_step *conv = &p.steps[p.n_steps - 1];
            CHECK(conv->op == KN_OP_CONV2D && ((const kn_conv_params *)conv->params)->act == KN_ACT_RELU);
            CHECK(conv->n_in == 5 && conv->in[4] == p.steps[0].out[0]); /* after the tanh, reading it */
            for (int i = 0; i < PIXELS * CH; i++) {
                float v = conv_at(x, i / CH, i % CH) + tanhf(x[i]);
                want[i] = v > 0 ? v : 0;
            }
            CHECK_ARRAY_NEAR(y, want, PIXELS * CH, 1e-5);
        }
        kc_program_free(&p);
    }
}

/* conv1(x) + conv2(tanh(x)): either could take the other as its residual; the later one does. */
static void residual_of_two_convs(void) {
    tf_graph *g = with_input();
    conv1x1(g, "c1", "x");
    gb_attr_type(g, gb_node2(g, "t", "Tanh", "x", NULL), "T", TF_DT_FLOAT);
    conv1x1(g, "c2", "t");
    gb_node2(g, "y", "Add", "c1", "c2");
    float x[PIXELS * CH], t[PIXELS * CH], y[PIXELS * CH], want[PIXELS * CH];
    input_values(x);
    for (int i = 0; i < PIXELS * CH; i++) t[i] = tanhf(x[i]);
    kc_program p;
    if (gb_convert_run(g, 1, (const char *[]){"y"}, (const void *[]){x}, (void *[]){y}, sizeof y, &p)) {
        CHECK(p.n_steps == 3);
        CHECK(gb_count_steps(&p, KN_OP_BINARY) == 0);
        CHECK(residual_convs(&p) == 1);
        for (int i = 0; i < PIXELS * CH; i++) want[i] = conv_at(x, i / CH, i % CH) + conv_at(t, i / CH, i % CH);
        CHECK_ARRAY_NEAR(y, want, PIXELS * CH, 1e-5);
    }
    kc_program_free(&p);
}

/* Prelu(conv(x) + x, alpha) with alpha [1,1,3] constant (facemesh's block): the residual and
 * the PReLU both join the conv, alpha as its operand 3. */
static void residual_add_prelu_is_one_step(void) {
    tf_graph *g = with_input();
    conv1x1(g, "c", "x");
    gb_node2(g, "sum", "AddV2", "x", "c");
    gb_const(g, "alpha", TF_DT_FLOAT, 3, (int64_t[]){1, 1, CH}, ALPHA);
    gb_node2(g, "y", "Prelu", "sum", "alpha");
    float x[PIXELS * CH], y[PIXELS * CH], want[PIXELS * CH];
    input_values(x);
    kc_program p;
    if (gb_convert_run(g, 1, (const char *[]){"y"}, (const void *[]){x}, (void *[]){y}, sizeof y, &p)) {
        CHECK(p.n_steps == 1);
        CHECK(residual_convs(&p) == 1);
        CHECK(((const kn_conv_params *)p.steps[0].params)->act == KN_ACT_PRELU);
        for (int i = 0; i < PIXELS * CH; i++) {
            float v = conv_at(x, i / CH, i % CH) + x[i];
            want[i] = v > 0 ? v : ALPHA[i % CH] * v;
        }
        CHECK_ARRAY_NEAR(y, want, PIXELS * CH, 1e-5);
    }
    kc_program_free(&p);
}

/* What must keep its Add: 0) the conv output is also a model output; 1) the shortcut is
 * [1,1,1,3] (broadcast); 2) Relu before the Add (act(conv) + r is not act(conv + r));
 * 3) conv - r. Each still computes the Add. */
static void residual_not_fused(void) {
    for (int variant = 0; variant < 4; variant++) {
        tf_graph *g = with_input();
        gb_placeholder(g, "r", TF_DT_FLOAT, 4, (int64_t[]){1, variant == 1 ? 1 : 4, variant == 1 ? 1 : 4, CH});
        conv1x1(g, "c", "x");
        const char *lhs = "c";
        if (variant == 2) gb_attr_type(g, gb_node2(g, lhs = "relu", "Relu", "c", NULL), "T", TF_DT_FLOAT);
        gb_node2(g, "y", variant == 3 ? "Sub" : "AddV2", lhs, "r");
        float x[PIXELS * CH], r[PIXELS * CH], out[2][PIXELS * CH], want[PIXELS * CH];
        input_values(x);
        for (int i = 0; i < PIXELS * CH; i++) r[i] = (float)(i % 5) - 2.0f;
        kc_program p;
        const char *outputs[] = {"y", "c"};
        if (gb_convert_run(g, variant == 0 ? 2 : 1, outputs, (const void *[]){x, r}, (void *[]){out[0], out[1]},
                           sizeof out[0], &p)) {
            CHECK(gb_count_steps(&p, KN_OP_BINARY) == 1);
            CHECK(residual_convs(&p) == 0);
            for (int i = 0; i < PIXELS * CH; i++) {
                float c = conv_at(x, i / CH, i % CH), rv = variant == 1 ? r[i % CH] : r[i];
                if (variant == 2) c = c > 0 ? c : 0;
                want[i] = variant == 3 ? c - rv : c + rv;
            }
            CHECK_ARRAY_NEAR(out[0], want, PIXELS * CH, 1e-5);
            if (variant == 0) {
                for (int i = 0; i < PIXELS * CH; i++) want[i] = conv_at(x, i / CH, i % CH);
                CHECK_ARRAY_NEAR(out[1], want, PIXELS * CH, 1e-5);
            }
        }
        kc_program_free(&p);
    }
}

/* PReLU stays a Binary step when its slopes are an input, or after a depthwise conv (whose
 * kernel has no PReLU epilogue); the values are PReLU's either way. */
static void prelu_not_fused(void) {
    for (int variant = 0; variant < 2; variant++) {
        tf_graph *g = with_input();
        if (variant == 0) {
            conv1x1(g, "c", "x");
            gb_placeholder(g, "alpha", TF_DT_FLOAT, 1, (int64_t[]){CH});
        } else {
            gb_const(g, "dw_w", TF_DT_FLOAT, 4, (int64_t[]){1, 1, CH, 1}, W);
            tf_node *n = gb_node2(g, "c", "DepthwiseConv2dNative", "x", "dw_w");
            gb_attr_ints(g, n, "strides", 4, (int64_t[]){1, 1, 1, 1});
            gb_attr_s(g, n, "padding", "VALID");
            gb_const(g, "alpha", TF_DT_FLOAT, 1, (int64_t[]){CH}, ALPHA);
        }
        gb_node2(g, "y", "Prelu", "c", "alpha");
        float x[PIXELS * CH], y[PIXELS * CH], want[PIXELS * CH], alpha[CH];
        memcpy(alpha, ALPHA, sizeof alpha);
        input_values(x);
        kc_program p;
        if (gb_convert_run(g, 1, (const char *[]){"y"}, (const void *[]){x, alpha}, (void *[]){y}, sizeof y, &p)) {
            CHECK(gb_count_steps(&p, KN_OP_BINARY) == 1);
            for (int i = 0; i < PIXELS * CH; i++) {
                float v = variant == 0 ? conv_at(x, i / CH, i % CH) : x[i] * W[i % CH];
                want[i] = v > 0 ? v : ALPHA[i % CH] * v;
            }
            CHECK_ARRAY_NEAR(y, want, PIXELS * CH, 1e-5);
        }
        kc_program_free(&p);
    }
}

int main(void) {
    RUN(residual_add_relu_is_one_step);
    RUN(residual_of_two_convs);
    RUN(residual_add_prelu_is_one_step);
    RUN(residual_not_fused);
    RUN(prelu_not_fused);
    return check_summary();
}
