/* Conv2D, DepthwiseConv2dNative, MatMul and Pool2D: hand-computed cases,
 * comparisons against naive loops written straight from the definitions,
 * and infer's rejections. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kn.h"
#include "ops/params.h"

#include "ops/ops.h"

/* ---- Helpers ------------------------------------------------------------- */

#define F4(data, a, b, c, d) tensor(KILN_FLOAT32, data, 4, a, b, c, d)
#define F2(data, a, b) tensor(KILN_FLOAT32, data, 2, a, b)
#define F1(data, a) tensor(KILN_FLOAT32, data, 1, a)

static kn_step make_step(const kn_op_def *def, const void *params, kn_tensor **in, int n_in, kn_tensor **out) {
    kn_step s = {.n_in = (uint8_t)n_in, .n_out = 1, .n_params = def->n_params, .params = params,
                 .name = "test", .in = in, .out = out};
    return s;
}

/* Infers y's shape, checks it is `rank` dims `want_dims`, then evaluates
 * into y->data (which must hold the output). */
static void conv_run(const kn_op_def *def, const void *params, kn_tensor **in, int n_in, kn_tensor *y, int rank,
                   const int32_t *want_dims) {
    kn_tensor *out[1] = {y};
    kn_step s = make_step(def, params, in, n_in, out);
    void *data = y->data;
    kiln_status st = def->infer(&s, y);
    if (st != KILN_OK) fprintf(stderr, "  infer: %s\n", kiln_last_error());
    CHECK(st == KILN_OK);
    CHECK(y->dtype == KILN_FLOAT32);
    CHECK(y->rank == rank);
    CHECK(memcmp(y->dims, want_dims, sizeof(int32_t) * (size_t)rank) == 0);
    if (st != KILN_OK || y->rank != rank || memcmp(y->dims, want_dims, sizeof(int32_t) * (size_t)rank)) return;
    CHECK(y->data == data); /* infer leaves data alone */
    CHECK(def->eval(&s, NULL) == KILN_OK);
}

/* infer must fail with KILN_ERR_BAD_BUNDLE and a message containing `needle`. */
#define EXPECT_BAD(def, params, in, n_in, needle) expect_bad(__LINE__, def, params, in, n_in, 1, needle)
static void expect_bad(int line, const kn_op_def *def, const void *params, kn_tensor **in, int n_in, int n_out,
                       const char *needle) {
    kn_tensor y = {.name = ""};
    kn_tensor *out[1] = {&y};
    kn_step s = make_step(def, params, in, n_in, out);
    s.n_out = (uint8_t)n_out;
    kiln_status st = def->infer(&s, &y);
    if (st != KILN_ERR_BAD_BUNDLE || !strstr(kiln_last_error(), needle)) {
        fprintf(stderr, "%s:%d: infer returned %s \"%s\", want bad bundle with \"%s\"\n", __FILE__, line,
                kiln_status_name(st), kiln_last_error(), needle);
        check_failures++;
    }
}

static uint32_t rng = 12345u;
/* Uniform in [-1, 1). */
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

static float *rand_array(size_t n, float scale) {
    float *a = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) a[i] = scale * frand();
    return a;
}

/* TensorFlow's SAME padding for one axis. */
static void same_pads(int in, int k, int stride, int dilation, int32_t *before, int32_t *after) {
    int out = (in + stride - 1) / stride;
    int total = (out - 1) * stride + (k - 1) * dilation + 1 - in;
    if (total < 0) total = 0;
    *before = total / 2;
    *after = total - *before;
}

/* Output size by counting window positions that fit in the padded input. */
static int count_positions(int in, int k, int stride, int dilation, int pad_a, int pad_b) {
    int n = 0;
    while (n * stride + (k - 1) * dilation <= in + pad_a + pad_b - 1) n++;
    return n;
}

static double ref_act(double v, int act, float alpha, float slope) {
    switch (act) {
    case KN_ACT_RELU: return v < 0 ? 0 : v;
    case KN_ACT_RELU6: return v < 0 ? 0 : v > 6 ? 6 : v;
    case KN_ACT_ELU: return v < 0 ? exp(v) - 1 : v;
    case KN_ACT_SIGMOID: return 1 / (1 + exp(-v));
    case KN_ACT_TANH: return tanh(v);
    case KN_ACT_LEAKY_RELU: return v < 0 ? alpha * v : v;
    case KN_ACT_PRELU: return v < 0 ? slope * v : v;
    default: return v;
    }
}

static kn_conv_params conv_params(int stride, int dilation, int pad) {
    kn_conv_params p = {stride, stride, dilation, dilation, pad, pad, pad, pad, KN_ACT_NONE, 0.0f};
    return p;
}

static float seq25[25], neg25[25];

/* ---- Conv2D: hand-computed -------------------------------------------------- */

/* 5x5 input 1..25, 3x3 kernel, stride 2, SAME (pads 1/1): out[i][j] =
 * x[2i-1][2j-1] + 2 * x[2i+1][2j+1], zero outside. */
static void conv_same_stride2(void) {
    float w[9] = {1, 0, 0, 0, 0, 0, 0, 0, 2}, y[9];
    const float want[9] = {14, 18, 0, 34, 7 + 38, 9, 0, 17, 19};
    kn_conv_params p = conv_params(2, 1, 0);
    same_pads(5, 3, 2, 1, &p.pad_top, &p.pad_bottom);
    same_pads(5, 3, 2, 1, &p.pad_left, &p.pad_right);
    CHECK(p.pad_top == 1 && p.pad_bottom == 1);
    kn_tensor x = F4(seq25, 1, 5, 5, 1), f = F4(w, 3, 3, 1, 1), out = {.data = y};
    kn_tensor *in[] = {&x, &f};
    conv_run(&kn_op_conv2d, &p, in, 2, &out, 4, (const int32_t[]){1, 3, 3, 1});
    CHECK_ARRAY_NEAR(y, want, 9, 1e-5);

    kn_step s = make_step(&kn_op_conv2d, &p, in, 2, (kn_tensor *[]){&out});
    CHECK_NEAR(kn_op_conv2d.flops(&s), 2.0 * 9 * 9, 1e-9);
}

/* 5x5 input 1..25, 3x3 ones, stride 2, VALID: sums of the four 3x3 corners. */
static void conv_valid_stride2(void) {
    float w[9], y[4];
    for (int i = 0; i < 9; i++) w[i] = 1;
    const float want[4] = {63, 81, 153, 171};
    kn_conv_params p = conv_params(2, 1, 0);
    kn_tensor x = F4(seq25, 1, 5, 5, 1), f = F4(w, 3, 3, 1, 1), out = {.data = y};
    kn_tensor *in[] = {&x, &f, NULL}; /* bias slot present but empty */
    conv_run(&kn_op_conv2d, &p, in, 3, &out, 4, (const int32_t[]){1, 2, 2, 1});
    CHECK_ARRAY_NEAR(y, want, 4, 1e-5);
}

/* Dilation 2, kernel [[1,10],[100,1000]], VALID: out[i][j] = x[i][j] +
 * 10 x[i][j+2] + 100 x[i+2][j] + 1000 x[i+2][j+2] = 1111 (5i+j) + 14131. */
static void conv_dilation2(void) {
    float w[4] = {1, 10, 100, 1000}, y[9], want[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) want[i * 3 + j] = 1111.0f * (float)(5 * i + j) + 14131.0f;
    kn_conv_params p = conv_params(1, 2, 0);
    kn_tensor x = F4(seq25, 1, 5, 5, 1), f = F4(w, 2, 2, 1, 1), out = {.data = y};
    kn_tensor *in[] = {&x, &f};
    conv_run(&kn_op_conv2d, &p, in, 2, &out, 4, (const int32_t[]){1, 3, 3, 1});
    CHECK_ARRAY_NEAR(y, want, 9, 1e-3);
}

/* 1x1 conv, 2 -> 3 channels with bias: (a, b) -> (10 + a + b/2, 20 + b, 30 - a + 2b). */
static void conv_channels_bias(void) {
    float xv[8] = {1, 2, 3, 4, 5, 6, 7, 8}, w[6] = {1, 0, -1, 0.5f, 1, 2}, b[3] = {10, 20, 30}, y[12];
    const float want[12] = {12, 22, 33, 15, 24, 35, 18, 26, 37, 21, 28, 39};
    kn_conv_params p = conv_params(1, 1, 0);
    kn_tensor x = F4(xv, 1, 2, 2, 2), f = F4(w, 1, 1, 2, 3), bias = F1(b, 3), out = {.data = y};
    kn_tensor *in[] = {&x, &f, &bias};
    conv_run(&kn_op_conv2d, &p, in, 3, &out, 4, (const int32_t[]){1, 2, 2, 3});
    CHECK_ARRAY_NEAR(y, want, 12, 1e-5);
}

/* The same conv plus a residual, then Relu: max(0, conv + bias + r), r's sign chosen so that
 * some sums cross zero. */
static void conv_residual_relu(void) {
    float xv[8] = {1, 2, 3, 4, 5, 6, 7, 8}, w[6] = {1, 0, -1, 0.5f, 1, 2}, b[3] = {10, 20, 30}, y[12];
    float rv[12] = {-20, 1, -40, 0.5f, -30, 0, -18, 2, -36, 1, -24, -39.5f};
    /* conv + bias is {12, 22, 33, 15, 24, 35, 18, 26, 37, 21, 28, 39} (conv_channels_bias). */
    const float want[12] = {0, 23, 0, 15.5f, 0, 35, 0, 28, 1, 22, 4, 0};
    kn_conv_params p = conv_params(1, 1, 0);
    p.act = KN_ACT_RELU;
    kn_tensor x = F4(xv, 1, 2, 2, 2), f = F4(w, 1, 1, 2, 3), bias = F1(b, 3), r = F4(rv, 1, 2, 2, 3);
    kn_tensor out = {.data = y};
    kn_tensor *in[] = {&x, &f, &bias, NULL, &r};
    conv_run(&kn_op_conv2d, &p, in, 5, &out, 4, (const int32_t[]){1, 2, 2, 3});
    CHECK_ARRAY_NEAR(y, want, 12, 1e-5);
}

/* Every fused activation on known pre-activations: a 1x1 conv with filter
 * (1, -1) turns x = -8, -0.5, 0.5, 7 into pairs (v, -v). */
static void conv_activations(void) {
    float xv[4] = {-8, -0.5f, 0.5f, 7}, w[2] = {1, -1}, slopes[2] = {0.1f, 0.25f}, y[8];
    const float pre[8] = {-8, 8, -0.5f, 0.5f, 0.5f, -0.5f, 7, -7};
    const float relu[8] = {0, 8, 0, 0.5f, 0.5f, 0, 7, 0};
    const float relu6[8] = {0, 6, 0, 0.5f, 0.5f, 0, 6, 0};
    const float leaky[8] = {-1.6f, 8, -0.1f, 0.5f, 0.5f, -0.1f, 7, -1.4f};
    const float prelu[8] = {-0.8f, 8, -0.05f, 0.5f, 0.5f, -0.125f, 7, -1.75f};
    for (int act = 0; act < KN_ACT_COUNT; act++) {
        kn_conv_params p = conv_params(1, 1, 0);
        p.act = act;
        p.act_alpha = 0.2f;
        kn_tensor x = F4(xv, 1, 1, 4, 1), f = F4(w, 1, 1, 1, 2), alpha = F1(slopes, 2), out = {.data = y};
        kn_tensor *in[] = {&x, &f, NULL, act == KN_ACT_PRELU ? &alpha : NULL};
        conv_run(&kn_op_conv2d, &p, in, 4, &out, 4, (const int32_t[]){1, 1, 4, 2});
        float want[8];
        for (int i = 0; i < 8; i++) want[i] = (float)ref_act(pre[i], act, 0.2f, slopes[i % 2]);
        CHECK_ARRAY_NEAR(y, want, 8, 1e-6);
        if (act == KN_ACT_RELU) CHECK_ARRAY_NEAR(y, relu, 8, 1e-6);
        if (act == KN_ACT_RELU6) CHECK_ARRAY_NEAR(y, relu6, 8, 1e-6);
        if (act == KN_ACT_LEAKY_RELU) CHECK_ARRAY_NEAR(y, leaky, 8, 1e-6);
        if (act == KN_ACT_PRELU) CHECK_ARRAY_NEAR(y, prelu, 8, 1e-6);
        if (act == KN_ACT_ELU) CHECK_NEAR(y[0], expm1(-8.0), 1e-6);
        if (act == KN_ACT_SIGMOID) CHECK_NEAR(y[3], 0.62245933, 1e-6);
        if (act == KN_ACT_TANH) CHECK_NEAR(y[2], -0.46211716, 1e-6);
    }
}

/* ---- Conv2D and depthwise against a naive reference ------------------------ */

typedef struct conv_case {
    bool depthwise;
    int n, h, w, c;
    int kh, kw, m; /* m: output channels (conv) or channel multiplier (depthwise) */
    kn_conv_params p;
    bool bias;
    bool residual; /* conv only: a residual operand added before the activation */
} conv_case;

static void check_conv_case(const conv_case *cc) {
    const kn_conv_params *p = &cc->p;
    const int oc = cc->depthwise ? cc->c * cc->m : cc->m;
    const int oh = count_positions(cc->h, cc->kh, p->stride_h, p->dilation_h, p->pad_top, p->pad_bottom);
    const int ow = count_positions(cc->w, cc->kw, p->stride_w, p->dilation_w, p->pad_left, p->pad_right);
    const size_t ny = (size_t)cc->n * oh * ow * oc;
    float *xv = rand_array((size_t)cc->n * cc->h * cc->w * cc->c, 3.0f);
    float *wv = rand_array((size_t)cc->kh * cc->kw * cc->c * cc->m, 1.0f);
    float *bv = rand_array((size_t)oc, 2.0f), *slopes = rand_array((size_t)oc, 0.5f);
    float *y = malloc(sizeof(float) * ny), *want = malloc(sizeof(float) * ny), *rv = rand_array(ny, 2.0f);

    kn_tensor x = F4(xv, cc->n, cc->h, cc->w, cc->c), f = F4(wv, cc->kh, cc->kw, cc->c, cc->m);
    kn_tensor bias = F1(bv, oc), alpha = F1(slopes, oc), res = F4(rv, cc->n, oh, ow, oc), out = {.data = y};
    kn_tensor *in[] = {&x, &f, cc->bias ? &bias : NULL, p->act == KN_ACT_PRELU ? &alpha : NULL, &res};
    const kn_op_def *def = cc->depthwise ? &kn_op_depthwise_conv2d : &kn_op_conv2d;
    conv_run(def, p, in, cc->residual ? 5 : 4, &out, 4, (const int32_t[]){cc->n, oh, ow, oc});

    for (int b = 0; b < cc->n; b++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
                for (int o = 0; o < oc; o++) {
                    double acc = cc->bias ? bv[o] : 0.0;
                    for (int u = 0; u < cc->kh; u++)
                        for (int v = 0; v < cc->kw; v++) {
                            int r = i * p->stride_h - p->pad_top + u * p->dilation_h;
                            int q = j * p->stride_w - p->pad_left + v * p->dilation_w;
                            if (r < 0 || r >= cc->h || q < 0 || q >= cc->w) continue;
                            const float *px = xv + (((size_t)b * cc->h + r) * cc->w + q) * cc->c;
                            const float *tap = wv + ((size_t)u * cc->kw + v) * cc->c * cc->m;
                            if (cc->depthwise) {
                                acc += (double)px[o / cc->m] * tap[o];
                            } else {
                                for (int k = 0; k < cc->c; k++) acc += (double)px[k] * tap[k * cc->m + o];
                            }
                        }
                    const size_t at = (((size_t)b * oh + i) * ow + j) * oc + o;
                    if (cc->residual) acc += rv[at];
                    want[at] = (float)ref_act(acc, p->act, p->act_alpha, slopes[o]);
                }
    CHECK_ARRAY_NEAR(y, want, ny, 1e-4);
    free(xv);
    free(wv);
    free(bv);
    free(slopes);
    free(y);
    free(want);
    free(rv);
}

static conv_case same_case(bool depthwise, int n, int h, int w, int c, int k, int m, int stride, int dilation) {
    conv_case cc = {depthwise, n, h, w, c, k, k, m, conv_params(stride, dilation, 0), true};
    same_pads(h, k, stride, dilation, &cc.p.pad_top, &cc.p.pad_bottom);
    same_pads(w, k, stride, dilation, &cc.p.pad_left, &cc.p.pad_right);
    return cc;
}

static void conv_reference(void) {
    for (int dw = 0; dw < 2; dw++) {
        bool depthwise = dw == 1;
        int m = depthwise ? 2 : 5;
        conv_case cases[] = {
            same_case(depthwise, 1, 5, 5, 3, 3, m, 2, 1), /* odd SAME, stride 2 (pads 1/1) */
            same_case(depthwise, 2, 6, 7, 3, 3, m, 2, 1), /* even SAME, stride 2 (pads 0/1 and 1/1) */
            same_case(depthwise, 1, 7, 7, 4, 3, m, 1, 2), /* dilated SAME (pads 2/2) */
            same_case(depthwise, 1, 8, 5, 2, 4, m, 3, 1), /* even kernel, stride 3 */
            same_case(depthwise, 1, 3, 3, 2, 5, m, 1, 1), /* kernel larger than the input */
            /* asymmetric pads, different strides and dilations per axis, no bias */
            {depthwise, 2, 7, 6, 3, 3, 2, m, {2, 1, 1, 2, 1, 0, 2, 1, KN_ACT_NONE, 0}, false},
            same_case(depthwise, 1, 4, 4, 8, 1, m, 1, 1), /* 1x1 */
        };
        /* Conv2D also with a residual operand (depthwise has none). */
        for (int residual = 0; residual <= !depthwise; residual++) {
            for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                cases[i].residual = residual;
                check_conv_case(&cases[i]);
            }
            conv_case act_case = same_case(depthwise, 1, 6, 6, 3, 3, m, 2, 1);
            act_case.residual = residual;
            for (int act = 0; act < KN_ACT_COUNT; act++) {
                act_case.p.act = act;
                act_case.p.act_alpha = 0.3f;
                check_conv_case(&act_case);
            }
        }
    }
    conv_case mobilenet_like = same_case(true, 1, 14, 14, 16, 3, 1, 2, 1); /* depthwise, multiplier 1 */
    mobilenet_like.p.act = KN_ACT_RELU6;
    check_conv_case(&mobilenet_like);
}

/* ---- Depthwise: hand-computed ------------------------------------------------ */

/* 3x3 input, channel 0 = 1..9 and channel 1 = 10..90, 2x2 filter, multiplier
 * 2, VALID: (c0,m0) all ones (window sum), (c0,m1) top-left tap only,
 * (c1,m0) bottom-right tap only, (c1,m1) all -1. Bias (1, 2, 3, 4). */
static void depthwise_multiplier2(void) {
    float xv[18], y[16];
    for (int i = 0; i < 9; i++) {
        xv[2 * i] = (float)(i + 1);
        xv[2 * i + 1] = 10.0f * (float)(i + 1);
    }
    /* [kh][kw][c][m] */
    float w[16] = {1, 1, 0, -1, /* tap (0,0) */ 1, 0, 0, -1, /* (0,1) */
                   1, 0, 0, -1, /* (1,0) */ 1, 0, 1, -1 /* (1,1) */};
    float b[4] = {1, 2, 3, 4};
    const float want[16] = {12 + 1, 1 + 2, 50 + 3, -120 + 4, 16 + 1, 2 + 2, 60 + 3, -160 + 4,
                            24 + 1, 4 + 2, 80 + 3, -240 + 4, 28 + 1, 5 + 2, 90 + 3, -280 + 4};
    kn_conv_params p = conv_params(1, 1, 0);
    kn_tensor x = F4(xv, 1, 3, 3, 2), f = F4(w, 2, 2, 2, 2), bias = F1(b, 4), out = {.data = y};
    kn_tensor *in[] = {&x, &f, &bias};
    conv_run(&kn_op_depthwise_conv2d, &p, in, 3, &out, 4, (const int32_t[]){1, 2, 2, 4});
    CHECK_ARRAY_NEAR(y, want, 16, 1e-5);

    kn_step s = make_step(&kn_op_depthwise_conv2d, &p, in, 3, (kn_tensor *[]){&out});
    CHECK_NEAR(kn_op_depthwise_conv2d.flops(&s), 2.0 * 16 * 4, 1e-9);
}

/* ---- MatMul ------------------------------------------------------------------- */

/* [[1,2,3],[4,5,6]] . [[7,8],[9,10],[11,12]] = [[58,64],[139,154]], stored
 * transposed or not, plus bias (1, -200) and RELU. */
static void matmul_transposes(void) {
    float a[6] = {1, 2, 3, 4, 5, 6}, at[6] = {1, 4, 2, 5, 3, 6};
    float b[6] = {7, 8, 9, 10, 11, 12}, bt[6] = {7, 9, 11, 8, 10, 12};
    float bias_v[2] = {1, -200}, y[4];
    const float plain[4] = {58, 64, 139, 154}, biased[4] = {59, 0, 140, 0};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            kn_matmul_params p = {ta, tb, KN_ACT_NONE, 0};
            kn_tensor ta_t = ta ? F2(at, 3, 2) : F2(a, 2, 3), tb_t = tb ? F2(bt, 2, 3) : F2(b, 3, 2);
            kn_tensor bias = F1(bias_v, 2), out = {.data = y};
            kn_tensor *in[] = {&ta_t, &tb_t, &bias};
            conv_run(&kn_op_matmul, &p, in, 2, &out, 2, (const int32_t[]){2, 2});
            CHECK_ARRAY_NEAR(y, plain, 4, 1e-5);
            p.act = KN_ACT_RELU;
            conv_run(&kn_op_matmul, &p, in, 3, &out, 2, (const int32_t[]){2, 2});
            CHECK_ARRAY_NEAR(y, biased, 4, 1e-5);

            kn_step s = make_step(&kn_op_matmul, &p, in, 3, (kn_tensor *[]){&out});
            CHECK_NEAR(kn_op_matmul.flops(&s), 2.0 * 2 * 2 * 3, 1e-9);
        }
}

/* Random 3x17 . 17x5 with bias and PRELU, each transpose combination. */
static void matmul_reference(void) {
    enum { M = 3, K = 17, N = 5 };
    float *a = rand_array(M * K, 1.0f), *b = rand_array(K * N, 1.0f), *bias_v = rand_array(N, 1.0f);
    float *slopes = rand_array(N, 0.5f), at[K * M], bt[N * K], y[M * N], want[M * N];
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) at[k * M + i] = a[i * K + k];
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) bt[j * K + k] = b[k * N + j];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = bias_v[j];
            for (int k = 0; k < K; k++) acc += (double)a[i * K + k] * b[k * N + j];
            want[i * N + j] = (float)ref_act(acc, KN_ACT_PRELU, 0, slopes[j]);
        }
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            kn_matmul_params p = {ta, tb, KN_ACT_PRELU, 0};
            kn_tensor a_t = ta ? F2(at, K, M) : F2(a, M, K), b_t = tb ? F2(bt, N, K) : F2(b, K, N);
            kn_tensor bias = F1(bias_v, N), alpha = F1(slopes, N), out = {.data = y};
            kn_tensor *in[] = {&a_t, &b_t, &bias, &alpha};
            conv_run(&kn_op_matmul, &p, in, 4, &out, 2, (const int32_t[]){M, N});
            CHECK_ARRAY_NEAR(y, want, M * N, 1e-5);
        }
    free(a);
    free(b);
    free(bias_v);
    free(slopes);
}

/* ---- Pool2D ------------------------------------------------------------------- */

static kn_pool_params pool_params(int kind, int window, int stride, int pad) {
    kn_pool_params p = {kind, window, window, stride, stride, pad, pad, pad, pad};
    return p;
}

/* 5x5, 3x3 window, stride 2, SAME (pads 1/1). Channel 0 is -(1..25), so
 * padding counted as 0 would win every border window; channel 1 is 1..25. */
static void pool_max_borders(void) {
    float xv[50], y[18];
    for (int i = 0; i < 25; i++) {
        xv[2 * i] = neg25[i];
        xv[2 * i + 1] = seq25[i];
    }
    const float want[18] = {-1, 7,  -2, 9,  -4, 10, -6,  17, -7,
                            19, -9, 20, -16, 22, -17, 24, -19, 25};
    kn_pool_params p = pool_params(KN_POOL_MAX, 3, 2, 1);
    kn_tensor x = F4(xv, 1, 5, 5, 2), out = {.data = y};
    kn_tensor *in[] = {&x};
    conv_run(&kn_op_pool2d, &p, in, 1, &out, 4, (const int32_t[]){1, 3, 3, 2});
    CHECK_ARRAY_NEAR(y, want, 18, 0);

    kn_step s = make_step(&kn_op_pool2d, &p, in, 1, (kn_tensor *[]){&out});
    CHECK_NEAR(kn_op_pool2d.flops(&s), 18.0 * 9, 1e-9);
}

/* AVG divides by the in-bounds count: corners by 4, edges by 6, centre by 9. */
static void pool_avg_borders(void) {
    float y[9];
    const float want[9] = {(1 + 2 + 6 + 7) / 4.0f,    33 / 6.0f,  (4 + 5 + 9 + 10) / 4.0f,
                           69 / 6.0f,                  13,         87 / 6.0f,
                           (16 + 17 + 21 + 22) / 4.0f, 123 / 6.0f, (19 + 20 + 24 + 25) / 4.0f};
    kn_pool_params p = pool_params(KN_POOL_AVG, 3, 2, 1);
    kn_tensor x = F4(seq25, 1, 5, 5, 1), out = {.data = y};
    kn_tensor *in[] = {&x};
    conv_run(&kn_op_pool2d, &p, in, 1, &out, 4, (const int32_t[]){1, 3, 3, 1});
    CHECK_ARRAY_NEAR(y, want, 9, 1e-5);

    /* 2x2 VALID, stride 2: the last row and column are dropped. */
    const float valid[4] = {4, 6, 14, 16};
    p = pool_params(KN_POOL_AVG, 2, 2, 0);
    conv_run(&kn_op_pool2d, &p, in, 1, &out, 4, (const int32_t[]){1, 2, 2, 1});
    CHECK_ARRAY_NEAR(y, valid, 4, 1e-5);

    /* 2x2 window, stride 1, SAME on 5x5: pads 0 top/left, 1 bottom/right. */
    float y25[25];
    p = pool_params(KN_POOL_AVG, 2, 1, 0);
    same_pads(5, 2, 1, 1, &p.pad_top, &p.pad_bottom);
    same_pads(5, 2, 1, 1, &p.pad_left, &p.pad_right);
    CHECK(p.pad_top == 0 && p.pad_bottom == 1);
    out.data = y25;
    conv_run(&kn_op_pool2d, &p, in, 1, &out, 4, (const int32_t[]){1, 5, 5, 1});
    CHECK_NEAR(y25[0], (1 + 2 + 6 + 7) / 4.0, 1e-5);
    CHECK_NEAR(y25[4], (5 + 10) / 2.0, 1e-5);
    CHECK_NEAR(y25[20], (21 + 22) / 2.0, 1e-5);
    CHECK_NEAR(y25[24], 25, 1e-5);
}

/* Random pools, batch 2 and 3 channels, asymmetric pads, against a naive loop. */
static void pool_reference(void) {
    const kn_pool_params cases[] = {
        {KN_POOL_MAX, 3, 2, 2, 1, 1, 0, 2, 1},
        {KN_POOL_AVG, 3, 2, 2, 1, 1, 0, 2, 1},
        {KN_POOL_MAX, 2, 3, 1, 2, 0, 2, 1, 0},
        {KN_POOL_AVG, 2, 3, 1, 2, 0, 2, 1, 0},
    };
    enum { N = 2, H = 7, W = 6, C = 3 };
    float *xv = rand_array(N * H * W * C, 1.0f);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const kn_pool_params *p = &cases[t];
        int oh = count_positions(H, p->window_h, p->stride_h, 1, p->pad_top, p->pad_bottom);
        int ow = count_positions(W, p->window_w, p->stride_w, 1, p->pad_left, p->pad_right);
        size_t ny = (size_t)N * oh * ow * C;
        float *y = malloc(sizeof(float) * ny), *want = malloc(sizeof(float) * ny);
        kn_tensor x = F4(xv, N, H, W, C), out = {.data = y};
        kn_tensor *in[] = {&x};
        conv_run(&kn_op_pool2d, p, in, 1, &out, 4, (const int32_t[]){N, oh, ow, C});
        for (int b = 0; b < N; b++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int c = 0; c < C; c++) {
                        double acc = p->kind == KN_POOL_MAX ? -1e30 : 0;
                        int count = 0;
                        for (int u = 0; u < p->window_h; u++)
                            for (int v = 0; v < p->window_w; v++) {
                                int r = i * p->stride_h - p->pad_top + u, q = j * p->stride_w - p->pad_left + v;
                                if (r < 0 || r >= H || q < 0 || q >= W) continue;
                                double e = xv[((b * H + r) * W + q) * C + c];
                                acc = p->kind == KN_POOL_MAX ? (e > acc ? e : acc) : acc + e;
                                count++;
                            }
                        want[((b * oh + i) * ow + j) * C + c] = (float)(p->kind == KN_POOL_MAX ? acc : acc / count);
                    }
        CHECK_ARRAY_NEAR(y, want, ny, 1e-5);
        free(y);
        free(want);
    }
    free(xv);
}

/* ---- infer rejections (no data is bound: infer must not read any) ----------- */

static void conv_infer_errors(void) {
    kn_conv_params p = conv_params(1, 1, 0);
    kn_tensor x = F4(NULL, 1, 5, 5, 3), f = F4(NULL, 3, 3, 3, 4);
    kn_tensor *ok[] = {&x, &f};

    kn_tensor f_bad = F4(NULL, 3, 3, 2, 4);
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x, &f_bad}), 2,
               "filter is float32[3,3,2,4], expected [KH,KW,3,OC] for input float32[1,5,5,3]");
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x, NULL}), 2, "operand 1 is missing");
    EXPECT_BAD(&kn_op_conv2d, &p, ok, 1, "expected 2 to 5 inputs, got 1");
    expect_bad(__LINE__, &kn_op_conv2d, &p, ok, 2, 2, "expected 1 output, got 2");

    kn_tensor x3 = tensor(KILN_FLOAT32, NULL, 3, 5, 5, 3);
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x3, &f}), 2, "input is float32[5,5,3], expected rank 4");
    kn_tensor xi = tensor(KILN_INT32, NULL, 4, 1, 5, 5, 3);
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&xi, &f}), 2, "operand 0 is int32[1,5,5,3], expected float32");
    kn_tensor x0 = F4(NULL, 1, 0, 5, 3);
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x0, &f}), 2, "every dim >= 1");
    kn_tensor x_huge = F4(NULL, 1, 1 << 16, 1 << 16, 3);
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x_huge, &f}), 2, "at most 2147483648 elements");

    kn_conv_params bad = p;
    bad.stride_w = 0;
    EXPECT_BAD(&kn_op_conv2d, &bad, ok, 2, "width: window 3, stride 0, dilation 1, expected each >= 1");
    bad = p;
    bad.dilation_h = -1;
    EXPECT_BAD(&kn_op_conv2d, &bad, ok, 2, "height: window 3, stride 1, dilation -1");
    bad = p;
    bad.pad_left = -1;
    EXPECT_BAD(&kn_op_conv2d, &bad, ok, 2, "width: pads -1 and 0, expected each in [0, 1048576]");
    bad = p;
    bad.pad_bottom = (1 << 20) + 1;
    EXPECT_BAD(&kn_op_conv2d, &bad, ok, 2, "height: pads 0 and 1048577");

    /* 3x3 input, 5x5 kernel, VALID: output size would be 3 - 5 + 1 = -1. */
    kn_tensor x_small = F4(NULL, 1, 3, 3, 3), f_big = F4(NULL, 5, 5, 3, 4);
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x_small, &f_big}), 2,
               "height: window spans 5 (size 5, dilation 1) but the padded input is 3, output size would be < 1");
    bad = p;
    bad.dilation_w = 3; /* span 7 > 5 */
    EXPECT_BAD(&kn_op_conv2d, &bad, ok, 2, "width: window spans 7 (size 3, dilation 3) but the padded input is 5");

    /* 1 x 32768 x 32768 x 1 is 2^30 elements, but 4 output channels make 2^32. */
    kn_tensor x_big = F4(NULL, 1, 1 << 15, 1 << 15, 1), f_1x1 = F4(NULL, 1, 1, 1, 4);
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x_big, &f_1x1}), 2,
               "output float32[1,32768,32768,4] has more than 2147483648 elements");

    kn_tensor b3 = F1(NULL, 3), bi = tensor(KILN_INT32, NULL, 1, 4);
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x, &f, &b3}), 3, "bias is float32[3], expected float32[4]");
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x, &f, &bi}), 3, "bias is int32[4], expected float32[4]");

    kn_tensor alpha4 = F1(NULL, 4), alpha3 = F1(NULL, 3);
    bad = p;
    bad.act = KN_ACT_COUNT;
    EXPECT_BAD(&kn_op_conv2d, &bad, ok, 2, "unknown activation 8");
    bad.act = KN_ACT_PRELU;
    EXPECT_BAD(&kn_op_conv2d, &bad, ok, 2, "PRELU activation needs an alpha operand");
    EXPECT_BAD(&kn_op_conv2d, &bad, ((kn_tensor *[]){&x, &f, NULL, &alpha3}), 4,
               "PRELU alpha is float32[3], expected float32[4]");
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x, &f, NULL, &alpha4}), 4,
               "alpha operand given without PRELU activation");

    /* The residual (operand 4) must have the output's shape [1,3,3,4] and dtype: no broadcasting. */
    kn_tensor r_ok = F4(NULL, 1, 3, 3, 4), r_bcast = F4(NULL, 1, 1, 1, 4);
    kn_tensor r_int = tensor(KILN_INT32, NULL, 4, 1, 3, 3, 4);
    kn_tensor y = {.name = ""};
    kn_step good = make_step(&kn_op_conv2d, &p, ((kn_tensor *[]){&x, &f, NULL, NULL, &r_ok}), 5,
                             (kn_tensor *[]){&y});
    CHECK(kn_op_conv2d.infer(&good, &y) == KILN_OK);
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x, &f, NULL, NULL, &r_bcast}), 5,
               "residual is float32[1,1,1,4], expected the output's shape float32[1,3,3,4]");
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x, &f, NULL, NULL, &r_int}), 5,
               "residual is int32[1,3,3,4], expected the output's shape float32[1,3,3,4]");
    EXPECT_BAD(&kn_op_conv2d, &p, ((kn_tensor *[]){&x, &f, NULL, NULL, &r_ok, &r_ok}), 6,
               "expected 2 to 5 inputs, got 6");
}

static void depthwise_infer_errors(void) {
    kn_conv_params p = conv_params(1, 1, 1);
    kn_tensor x = F4(NULL, 1, 5, 5, 3), f = F4(NULL, 3, 3, 3, 2), f_bad = F4(NULL, 3, 3, 6, 1);
    kn_tensor b3 = F1(NULL, 3), b6 = F1(NULL, 6), y = {.name = ""};
    EXPECT_BAD(&kn_op_depthwise_conv2d, &p, ((kn_tensor *[]){&x, &f_bad}), 2,
               "filter is float32[3,3,6,1], expected [KH,KW,3,M] for input float32[1,5,5,3]");
    EXPECT_BAD(&kn_op_depthwise_conv2d, &p, ((kn_tensor *[]){&x, &f, &b3}), 3,
               "bias is float32[3], expected float32[6]");
    EXPECT_BAD(&kn_op_depthwise_conv2d, &p, ((kn_tensor *[]){NULL, &f}), 2, "operand 0 is missing");
    kn_conv_params bad = p;
    bad.stride_h = 0;
    EXPECT_BAD(&kn_op_depthwise_conv2d, &bad, ((kn_tensor *[]){&x, &f}), 2, "height: window 3, stride 0");

    kn_step s = make_step(&kn_op_depthwise_conv2d, &p, (kn_tensor *[]){&x, &f, &b6}, 3, (kn_tensor *[]){&y});
    CHECK(kn_op_depthwise_conv2d.infer(&s, &y) == KILN_OK);
    CHECK(y.rank == 4 && y.dims[0] == 1 && y.dims[1] == 5 && y.dims[2] == 5 && y.dims[3] == 6);
}

static void matmul_infer_errors(void) {
    kn_matmul_params p = {0, 0, KN_ACT_NONE, 0};
    kn_tensor a = F2(NULL, 2, 3), b = F2(NULL, 4, 5), b_ok = F2(NULL, 3, 5), bias4 = F1(NULL, 4);
    EXPECT_BAD(&kn_op_matmul, &p, ((kn_tensor *[]){&a, &b}), 2,
               "inner dims differ: a is float32[2,3] (transpose_a 0, K = 3), b is float32[4,5] (transpose_b 0, K = 4)");
    EXPECT_BAD(&kn_op_matmul, &p, ((kn_tensor *[]){&a, &b_ok, &bias4}), 3, "bias is float32[4], expected float32[5]");
    EXPECT_BAD(&kn_op_matmul, &p, ((kn_tensor *[]){&a}), 1, "expected 2 to 4 inputs, got 1");
    kn_tensor a1 = F1(NULL, 3);
    EXPECT_BAD(&kn_op_matmul, &p, ((kn_tensor *[]){&a1, &b_ok}), 2,
               "a is float32[3] and b is float32[3,5], expected each of rank 2 or more");
    kn_matmul_params bad = {0, 2, KN_ACT_NONE, 0};
    EXPECT_BAD(&kn_op_matmul, &bad, ((kn_tensor *[]){&a, &b_ok}), 2,
               "transpose_a 0 and transpose_b 2, expected each 0 or 1");
    bad.transpose_b = 1; /* b [4,5] read as [5,4]: K = 5 */
    EXPECT_BAD(&kn_op_matmul, &bad, ((kn_tensor *[]){&a, &b}), 2, "(transpose_b 1, K = 5)");
}

static void pool_infer_errors(void) {
    kn_tensor x = F4(NULL, 1, 5, 5, 3);
    kn_tensor *in[] = {&x};
    kn_pool_params p = pool_params(7, 2, 2, 0);
    EXPECT_BAD(&kn_op_pool2d, &p, in, 1, "pool kind 7, expected 0 (max) or 1 (avg)");
    p = pool_params(KN_POOL_MAX, 0, 1, 0);
    EXPECT_BAD(&kn_op_pool2d, &p, in, 1, "height: window 0, stride 1, dilation 1, expected each >= 1");
    p = pool_params(KN_POOL_AVG, 2, 2, 0);
    p.pad_right = 2;
    EXPECT_BAD(&kn_op_pool2d, &p, in, 1, "pads top 0 bottom 0 left 0 right 2, expected each less than the 2x2 window");
    p = pool_params(KN_POOL_MAX, 3, 1, 0);
    p.pad_top = 3;
    EXPECT_BAD(&kn_op_pool2d, &p, in, 1, "pads top 3 bottom 0 left 0 right 0, expected each less than the 3x3 window");
    p = pool_params(KN_POOL_MAX, 6, 1, 0);
    EXPECT_BAD(&kn_op_pool2d, &p, in, 1, "output size would be < 1");
    p = pool_params(KN_POOL_MAX, 2, 2, 0);
    EXPECT_BAD(&kn_op_pool2d, &p, ((kn_tensor *[]){&x, &x}), 2, "expected 1 inputs, got 2");
    EXPECT_BAD(&kn_op_pool2d, &p, ((kn_tensor *[]){NULL}), 1, "input 0 is missing");
}

int main(void) {
    for (int i = 0; i < 25; i++) {
        seq25[i] = (float)(i + 1);
        neg25[i] = -seq25[i];
    }
    RUN(conv_same_stride2);
    RUN(conv_valid_stride2);
    RUN(conv_dilation2);
    RUN(conv_channels_bias);
    RUN(conv_residual_relu);
    RUN(conv_activations);
    RUN(conv_reference);
    RUN(depthwise_multiplier2);
    RUN(matmul_transposes);
    RUN(matmul_reference);
    RUN(pool_max_borders);
    RUN(pool_avg_borders);
    RUN(pool_reference);
    RUN(conv_infer_errors);
    RUN(depthwise_infer_errors);
    RUN(matmul_infer_errors);
    RUN(pool_infer_errors);
    return check_summary();
}
