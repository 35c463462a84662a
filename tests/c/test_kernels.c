/* The fast kernels against the simple reference loops, on odd shapes: tails
 * of every tile and vector width, edge padding, strides, dilations, channels
 * not a multiple of anything, every fused activation. An op runs its fast
 * path when prepare gave it a state, and the reference loop otherwise. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/gemm.h"
#include "kn.h"
#include "ops/ops.h"
#include "ops/params.h"

static float *random_floats(size_t n, unsigned *seed) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return p;
}

/* got[0..n) within 1e-4 of want (NaN nowhere), else prints where and fails. */
static bool check_close(const float *got, const float *want, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-4f)) {
            fprintf(stderr, "%s: %g, want %g at %zu\n", what, got[i], want[i], i);
            CHECK(0);
            return false;
        }
    return true;
}

/* The step running `def` on these operands with output out[0], which infer (which must
 * succeed) shapes. */
static bool infer_step(const kn_op_def *def, kn_tensor **in, int n_in, const void *params, const char *what,
                       kn_tensor **out, kn_step *s) {
    *s = (kn_step){.op = 0, .n_in = (uint8_t)n_in, .n_out = 1, .n_params = def->n_params, .params = params,
                   .name = what, .in = in, .out = out};
    if (def->infer(s, out[0]) == KILN_OK) return true;
    fprintf(stderr, "%s: infer: %s\n", what, kiln_last_error());
    CHECK(0);
    return false;
}

/* Runs `def` twice on the same operands: prepared (fast) and unprepared (reference). */
static void compare_paths(const kn_op_def *def, kn_tensor **in, int n_in, const void *params, const char *what) {
    kn_tensor out_shape = {0};
    kn_tensor *outs[1] = {&out_shape};
    kn_step s;
    if (!infer_step(def, in, n_in, params, what, outs, &s)) return;
    size_t count = kn_tensor_count(&out_shape);
    kn_tensor fast = out_shape, ref = out_shape;
    fast.data = malloc(sizeof(float) * count + 4);
    ref.data = malloc(sizeof(float) * count + 4);
    size_t scratch_size = 0;
    CHECK(def->prepare(&s, &scratch_size) == KILN_OK);
    void *scratch = malloc(scratch_size + 64);
    outs[0] = &fast;
    CHECK(def->eval(&s, scratch) == KILN_OK);
    void *state = s.state;
    s.state = NULL;
    outs[0] = &ref;
    CHECK(def->eval(&s, NULL) == KILN_OK);
    if (state && def->release) def->release(state);
    float worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        float d = fabsf(((float *)fast.data)[i] - ((float *)ref.data)[i]);
        if (d > worst) worst = d, at = i;
    }
    if (!(worst <= 1e-4f)) {
        fprintf(stderr, "%s: fast and reference differ by %g at %zu\n", what, worst, at);
        CHECK(0);
    }
    CHECK(state != NULL); /* the fast path really ran */
    free(scratch);
    free(fast.data);
    free(ref.data);
}

typedef struct {
    int n, h, w, c, kh, kw, oc, sh, sw, dh, dw, pt, pl, pb, pr, act;
} conv_case;

static void conv_matches_reference(void) {
    static const conv_case cases[] = {
        {1, 5, 5, 3, 3, 3, 7, 1, 1, 1, 1, 1, 1, 1, 1, KN_ACT_NONE},    /* SAME 3x3, odd channels */
        {2, 9, 7, 5, 3, 3, 33, 2, 2, 1, 1, 0, 0, 1, 1, KN_ACT_RELU6},  /* stride 2, asymmetric pad, batch 2 */
        {1, 8, 8, 17, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, KN_ACT_RELU},   /* pointwise, one output channel */
        {1, 7, 11, 16, 1, 1, 40, 1, 1, 1, 1, 0, 0, 0, 0, KN_ACT_NONE}, /* pointwise, rows and panels with tails */
        {1, 10, 10, 4, 3, 3, 9, 1, 1, 2, 2, 2, 2, 2, 2, KN_ACT_ELU},   /* dilation 2 */
        {1, 6, 6, 2, 5, 5, 3, 3, 1, 1, 1, 2, 2, 2, 2, KN_ACT_SIGMOID}, /* 5x5, unequal strides */
        {1, 4, 4, 8, 1, 1, 16, 2, 2, 1, 1, 0, 0, 0, 0, KN_ACT_PRELU},  /* strided 1x1 takes the indirect path */
        {1, 3, 3, 1, 3, 3, 64, 1, 1, 1, 1, 1, 1, 1, 1, KN_ACT_TANH},   /* every tap touches padding */
        /* A first layer: 3 channels, a 5x5 filter row is one 15-long tap; SAME pads 1 and 2, so
         * runs hang over the left and the right edge; 24 outputs (the 4x24 tile where there is one). */
        {1, 17, 19, 3, 5, 5, 24, 2, 2, 1, 1, 1, 1, 2, 2, KN_ACT_RELU},
        {2, 9, 11, 3, 3, 3, 47, 2, 2, 1, 1, 0, 0, 1, 1, KN_ACT_RELU6},  /* 47: a tile's last panel 23 wide */
        {1, 3, 4, 5, 5, 5, 72, 1, 1, 1, 1, 2, 2, 2, 2, KN_ACT_NONE},    /* filter wider than the input */
        {1, 6, 7, 4, 1, 7, 48, 1, 1, 1, 1, 0, 3, 0, 3, KN_ACT_NONE},    /* 1x7: runs of 28 values, OW=7 */
        {1, 7, 5, 6, 3, 3, 24, 1, 2, 1, 3, 1, 3, 1, 3, KN_ACT_RELU},    /* dilation_w 3: one column a tap */
        {1, 9, 9, 24, 1, 1, 24, 1, 1, 1, 1, 0, 0, 0, 0, KN_ACT_RELU6},  /* pointwise 24 -> 24, 81 rows */
        {1, 5, 5, 40, 1, 1, 96, 1, 1, 1, 1, 0, 0, 0, 0, KN_ACT_NONE},   /* pointwise 40 -> 96 */
        {1, 6, 5, 12, 1, 1, 20, 1, 1, 1, 1, 0, 0, 0, 0, KN_ACT_PRELU},  /* pointwise PReLU, a narrow last panel */
        {1, 7, 9, 16, 3, 3, 56, 1, 1, 1, 1, 1, 1, 1, 1, KN_ACT_PRELU},  /* 3x3 PReLU over several panels */
    };
    unsigned seed = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const conv_case *k = &cases[i];
        float *x = random_floats((size_t)k->n * k->h * k->w * k->c, &seed);
        float *w = random_floats((size_t)k->kh * k->kw * k->c * k->oc, &seed);
        float *b = random_floats((size_t)k->oc, &seed), *alpha = random_floats((size_t)k->oc, &seed);
        kn_tensor xt = tensor(KILN_FLOAT32, x, 4, k->n, k->h, k->w, k->c);
        kn_tensor wt = tensor(KILN_FLOAT32, w, 4, k->kh, k->kw, k->c, k->oc);
        kn_tensor bt = tensor(KILN_FLOAT32, b, 1, k->oc), at = tensor(KILN_FLOAT32, alpha, 1, k->oc);
        kn_tensor *in[4] = {&xt, &wt, &bt, k->act == KN_ACT_PRELU ? &at : NULL};
        kn_conv_params p = {k->sh, k->sw, k->dh, k->dw, k->pt, k->pl, k->pb, k->pr, k->act, 0.1f};
        char what[64];
        snprintf(what, sizeof what, "conv case %zu", i);
        compare_paths(&kn_op_conv2d, in, k->act == KN_ACT_PRELU ? 4 : 3, &p, what);
        /* With a residual added before the activation: a tensor of the output's shape. */
        kn_tensor rt = {0};
        kn_step s;
        float *r = NULL;
        if (infer_step(&kn_op_conv2d, in, 4, &p, what, (kn_tensor *[]){&rt}, &s))
            rt.data = r = random_floats(kn_tensor_count(&rt), &seed);
        kn_tensor *with_residual[5] = {in[0], in[1], in[2], in[3], &rt};
        in[2] = NULL; /* and without bias */
        compare_paths(&kn_op_conv2d, in, k->act == KN_ACT_PRELU ? 4 : 3, &p, what);
        snprintf(what, sizeof what, "conv case %zu with residual", i);
        if (r) compare_paths(&kn_op_conv2d, with_residual, 5, &p, what);
        free(x), free(w), free(b), free(alpha), free(r);
    }
}

static void depthwise_matches_reference(void) {
    static const conv_case cases[] = {
        {1, 7, 7, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, KN_ACT_RELU6},
        {1, 9, 8, 37, 3, 3, 37, 2, 2, 1, 1, 0, 0, 1, 1, KN_ACT_NONE}, /* 37: vector blocks, vectors and scalars */
        {2, 6, 6, 67, 5, 5, 67, 1, 1, 1, 1, 2, 2, 2, 2, KN_ACT_RELU},
        {1, 8, 8, 16, 3, 3, 16, 1, 1, 2, 2, 2, 2, 2, 2, KN_ACT_LEAKY_RELU},
        {1, 5, 5, 33, 3, 3, 33, 1, 2, 1, 1, 1, 0, 1, 2, KN_ACT_PRELU},
        {1, 9, 21, 24, 5, 5, 24, 1, 1, 1, 1, 2, 2, 2, 2, KN_ACT_RELU}, /* BlazeFace-like: runs of 4 pixels */
        {1, 6, 23, 8, 3, 3, 8, 1, 3, 1, 2, 1, 2, 1, 2, KN_ACT_NONE},  /* stride 3, dilation 2 along a row */
        /* 3x3 with the row kernels: interiors of 15 pixels (8 + 4 + 2 + 1) and 24 channels
         * (vectors only), 13 (a vector and 5 scalars), 5 (scalars only); stride 2 on odd and
         * even widths; padding rows at the top and the bottom; batch 2. */
        {2, 6, 17, 24, 3, 3, 24, 1, 1, 1, 1, 1, 1, 1, 1, KN_ACT_RELU6},
        {1, 5, 17, 13, 3, 3, 13, 1, 1, 1, 1, 1, 1, 1, 1, KN_ACT_NONE},
        {1, 4, 17, 5, 3, 3, 5, 1, 1, 1, 1, 1, 1, 1, 1, KN_ACT_RELU},
        {1, 9, 33, 24, 3, 3, 24, 2, 2, 1, 1, 1, 1, 1, 1, KN_ACT_NONE},
        {2, 8, 32, 19, 3, 3, 19, 2, 2, 1, 1, 0, 0, 1, 1, KN_ACT_RELU6},
        {1, 4, 40, 16, 3, 3, 16, 1, 1, 1, 1, 0, 0, 0, 0, KN_ACT_NONE},  /* no padding: one run a row */
    };
    unsigned seed = 2;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const conv_case *k = &cases[i];
        float *x = random_floats((size_t)k->n * k->h * k->w * k->c, &seed);
        float *w = random_floats((size_t)k->kh * k->kw * k->c, &seed);
        float *b = random_floats((size_t)k->c, &seed), *alpha = random_floats((size_t)k->c, &seed);
        kn_tensor xt = tensor(KILN_FLOAT32, x, 4, k->n, k->h, k->w, k->c);
        kn_tensor wt = tensor(KILN_FLOAT32, w, 4, k->kh, k->kw, k->c, 1);
        kn_tensor bt = tensor(KILN_FLOAT32, b, 1, k->c), at = tensor(KILN_FLOAT32, alpha, 1, k->c);
        kn_tensor *in[4] = {&xt, &wt, &bt, k->act == KN_ACT_PRELU ? &at : NULL};
        kn_conv_params p = {k->sh, k->sw, k->dh, k->dw, k->pt, k->pl, k->pb, k->pr, k->act, 0.1f};
        char what[64];
        snprintf(what, sizeof what, "depthwise case %zu", i);
        compare_paths(&kn_op_depthwise_conv2d, in, k->act == KN_ACT_PRELU ? 4 : 3, &p, what);
        in[2] = NULL;
        compare_paths(&kn_op_depthwise_conv2d, in, k->act == KN_ACT_PRELU ? 4 : 3, &p, what);
        free(x), free(w), free(b), free(alpha);
    }
}

/* C = A * W + bias, then ep's residual, PReLU and clamp, by the plain triple loop. */
static void gemm_reference(size_t m, size_t n, size_t k, const float *a, const float *w, const float *bias,
                           const kn_gemm_epilogue *ep, float *c) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float acc = bias[j];
            for (size_t q = 0; q < k; q++) acc += a[i * k + q] * w[q * n + j];
            if (ep->r) acc += ep->r[i * ep->r_stride + j];
            if (ep->slopes && !(acc > 0)) acc *= ep->slopes[j];
            c[i * n + j] = acc < ep->min ? ep->min : acc > ep->max ? ep->max : acc;
        }
}

/* How a test passes the residual: none, its own rows (a wider stride than C's), or C itself
 * holding it (an output that overwrites its residual). */
enum { NO_RESIDUAL, RESIDUAL_APART, RESIDUAL_IN_PLACE, RESIDUAL_MODES };

/* Sets ep's residual for `mode`; in place, got is first filled with the residual's rows. */
static void set_residual(kn_gemm_epilogue *ep, int mode, const float *r, size_t r_stride, size_t m, size_t n,
                         float *got) {
    ep->r = mode == RESIDUAL_APART ? r : mode == RESIDUAL_IN_PLACE ? got : NULL;
    ep->r_stride = mode == RESIDUAL_APART ? r_stride : n;
    if (mode == RESIDUAL_IN_PLACE)
        for (size_t i = 0; i < m; i++) memcpy(got + i * n, r + i * r_stride, sizeof(float) * n);
}

/* Every tile this machine runs (kn_gemm_config_for picks by width), direct and indirect,
 * on row counts and widths that leave partial tiles and panels; the indirect path with
 * three taps of which one is a shared zero row; every epilogue: clamps or PReLU, each
 * without a residual, with one of its own and with one in the output. */
static void gemm_tiles_match_reference(void) {
    static const size_t widths[] = {1, 7, 8, 16, 23, 24, 25, 33, 40, 47, 48, 72, 96, 100};
    static const size_t depths[] = {1, 3, 15, 24, 37};
    /* The last: no clamp, PReLU. */
    static const float clamps[][2] = {
        {-INFINITY, INFINITY}, {0.0f, INFINITY}, {0.0f, 6.0f}, {-0.5f, 0.25f}, {-INFINITY, INFINITY}};
    /* The residual's rows: wider than any C row. */
    const size_t n_clamps = sizeof clamps / sizeof clamps[0], m = 13, r_stride = 105;
    unsigned seed = 3;
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++) {
        const size_t n = widths[wi];
        const kn_gemm_config *cfg = kn_gemm_config_for(n);
        for (size_t di = 0; di < sizeof depths / sizeof depths[0]; di++) {
            const size_t k = depths[di], ks = 3;
            float *a = random_floats(m * k * ks, &seed), *w = random_floats(k * ks * n, &seed);
            float *bias = random_floats(n, &seed), *zero = calloc(k, sizeof(float));
            float *res = random_floats(m * r_stride, &seed), *slopes = random_floats(n, &seed);
            float *packed = malloc(sizeof(float) * kn_gemm_packed_floats(k * ks, n, cfg->nr));
            float *got = malloc(sizeof(float) * m * n), *want = malloc(sizeof(float) * m * n);
            float *im2col = malloc(sizeof(float) * m * k * ks);
            const float **ptrs = malloc(sizeof(float *) * cfg->mr * ks);
            for (size_t ci = 0; ci < n_clamps; ci++) {
                for (int mode = 0; mode < RESIDUAL_MODES; mode++) {
                    kn_gemm_epilogue ep = {.slopes = ci + 1 == n_clamps ? slopes : NULL, .min = clamps[ci][0],
                                           .max = clamps[ci][1]};
                    kn_gemm_epilogue want_ep = ep;
                    set_residual(&want_ep, mode == NO_RESIDUAL ? NO_RESIDUAL : RESIDUAL_APART, res, r_stride, m, n,
                                 NULL);
                    char what[96];
                    /* Direct: the first k columns of each row of a (row stride k * ks). */
                    kn_gemm_pack(k, n, cfg->nr, w, n, bias, packed);
                    for (size_t i = 0; i < m; i++) memcpy(im2col + i * k, a + i * k * ks, sizeof(float) * k);
                    gemm_reference(m, n, k, im2col, w, bias, &want_ep, want);
                    set_residual(&ep, mode, res, r_stride, m, n, got);
                    cfg->gemm(m, n, k, a, k * ks, packed, got, n, &ep);
                    snprintf(what, sizeof what, "%s gemm n=%zu k=%zu epilogue %zu residual %d", cfg->name, n, k, ci,
                             mode);
                    if (!check_close(got, want, m * n, what)) continue;
                    /* Indirect: taps 0 and 2 read row i's two k-blocks, tap 1 the zero row. */
                    kn_gemm_pack(k * ks, n, cfg->nr, w, n, bias, packed);
                    for (size_t i = 0; i < m; i++) {
                        memcpy(im2col + i * k * ks, a + i * k * ks, sizeof(float) * k);
                        memset(im2col + i * k * ks + k, 0, sizeof(float) * k);
                        memcpy(im2col + i * k * ks + 2 * k, a + i * k * ks + 2 * k, sizeof(float) * k);
                    }
                    gemm_reference(m, n, k * ks, im2col, w, bias, &want_ep, want);
                    set_residual(&ep, mode, res, r_stride, m, n, got);
                    const float *r = ep.r;
                    for (size_t m0 = 0; m0 < m; m0 += cfg->mr) {
                        size_t rows = m - m0 < cfg->mr ? m - m0 : cfg->mr;
                        for (size_t i = 0; i < cfg->mr; i++) {
                            const float *row = a + (m0 + (i < rows ? i : rows - 1)) * k * ks;
                            ptrs[i] = row, ptrs[cfg->mr + i] = zero, ptrs[2 * cfg->mr + i] = row + 2 * k;
                        }
                        ep.r = r ? r + m0 * ep.r_stride : NULL;
                        cfg->igemm(rows, n, k, ks, ptrs, packed, got + m0 * n, n, &ep);
                    }
                    snprintf(what, sizeof what, "%s igemm n=%zu k=%zu epilogue %zu residual %d", cfg->name, n, k,
                             ci, mode);
                    check_close(got, want, m * n, what);
                }
            }
            free(a), free(w), free(bias), free(zero), free(res), free(slopes), free(packed), free(got), free(want);
            free(im2col), free(ptrs);
        }
    }
}

/* A NaN in a row stays NaN through the clamp of Relu and Relu6 (as TF's Relu keeps it),
 * in that row only. */
static void gemm_clamp_keeps_nan(void) {
    static const size_t widths[] = {8, 16, 24};
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++) {
        const size_t n = widths[wi], k = 4, m = 2;
        const kn_gemm_config *cfg = kn_gemm_config_for(n);
        float a[2 * 4] = {1, 2, NAN, 4, 1, 1, 1, 1}, w[4 * 24], packed[5 * 24 * 2], c[2 * 24];
        for (size_t i = 0; i < k * n; i++) w[i] = 0.5f;
        kn_gemm_pack(k, n, cfg->nr, w, n, NULL, packed);
        cfg->gemm(m, n, k, a, k, packed, c, n, &(kn_gemm_epilogue){.min = 0.0f, .max = 6.0f});
        for (size_t j = 0; j < n; j++) {
            CHECK(isnan(c[j]));
            CHECK_NEAR(c[n + j], 2.0, 0);
        }
    }
}

int main(void) {
    RUN(gemm_tiles_match_reference);
    RUN(gemm_clamp_keeps_nan);
    RUN(conv_matches_reference);
    RUN(depthwise_matches_reference);
    return check_summary();
}
