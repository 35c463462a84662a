/* Ops RESIZE, CONV2D_TRANSPOSE and batched (and int32) MATMUL: hand-computed values for
 * every resize flag combination (upscale, downscale, non-square, 1x1, empty),
 * resizes against tfjs' formulas on random data, conv transpose by hand and
 * as the adjoint of a naive conv for several stride / pad / dilation combos,
 * batch broadcasting against a naive loop, and infer's rejections. Steps and
 * tensors are built directly; prepare, scratch and release run as the loader
 * and executor run them. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kn.h"
#include "ops/params.h"

/* ---- Helpers ------------------------------------------------------------- */



/* infer into *out (keeping its data pointer), prepare (with the inputs that
 * are not `runtime` bound, as the loader does for constants), then eval with
 * the scratch prepare asked for, then release. */
static kiln_status run_with(int op, const void *params, kn_tensor **in, int n_in, kn_tensor *out, int runtime) {
    const kn_op_def *def = kn_op_lookup((uint32_t)op);
    CHECK(def != NULL);
    if (!def) return KILN_ERR_UNSUPPORTED;
    kn_tensor *outs[1] = {out};
    void *data = out->data;
    kn_step s = {.op = (uint16_t)op, .n_in = (uint8_t)n_in, .n_out = 1, .n_params = def->n_params,
                 .params = params, .name = "test", .in = in, .out = outs};
    kiln_status st = def->infer(&s, out);
    if (st != KILN_OK) {
        fprintf(stderr, "  infer: %s\n", kiln_last_error());
        return st;
    }
    CHECK(out->data == data); /* infer leaves data alone */
    size_t scratch_size = 0;
    void *hidden = runtime >= 0 && runtime < n_in ? in[runtime]->data : NULL;
    if (hidden) in[runtime]->data = NULL;
    st = def->prepare ? def->prepare(&s, &scratch_size) : KILN_OK;
    if (hidden) in[runtime]->data = hidden;
    void *scratch = scratch_size ? malloc(scratch_size) : NULL;
    if (st == KILN_OK) {
        if (scratch) memset(scratch, 0xA5, scratch_size); /* eval must not rely on zeroed scratch */
        st = def->eval(&s, scratch);
    }
    free(scratch);
    if (s.state && def->release) def->release(s.state);
    return st;
}


static uint32_t rng = 2024u;
/* Uniform in [-1, 1). */
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

static float *rand_array(size_t n) {
    float *a = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) a[i] = frand();
    return a;
}

/* ---- Resize: hand-computed ------------------------------------------------ */

enum { NONE = 0, ALIGN = 1, HALF = 2 }; /* the three flag combinations TF allows */

static kn_resize_params resize_params(int mode, int out_h, int out_w, int flags) {
    kn_resize_params p = {mode, out_h, out_w, flags == ALIGN, flags == HALF};
    return p;
}

/* x[n][h][w][c] = 100n + 10h + w, negated in channel 1: bilinear of a
 * function linear in h and w is that function at the source position each
 * output reads (clamped at the edges), so each case lists, per axis and flag
 * combination, that position worked out from TF's formulas. */
static void bilinear_case(int H, int W, int OH, int OW, const double *eh, const double *ew, int flags) {
    enum { N = 2, C = 2 };
    float x[N * 8 * 8 * C], y[N * 8 * 8 * C], want[N * 8 * 8 * C];
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++)
            for (int w = 0; w < W; w++)
                for (int c = 0; c < C; c++) x[((n * H + h) * W + w) * C + c] = (float)((c ? -1 : 1) * (100 * n + 10 * h + w));
    for (int n = 0; n < N; n++)
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++)
                for (int c = 0; c < C; c++)
                    want[((n * OH + i) * OW + j) * C + c] = (float)((c ? -1 : 1) * (100 * n + 10 * eh[i] + ew[j]));
    kn_resize_params p = resize_params(KN_RESIZE_BILINEAR, OH, OW, flags);
    kn_tensor xt = tensor(KILN_FLOAT32, x, 4, N, H, W, C), yt = {.data = y};
    kn_tensor *in[] = {&xt};
    CHECK(run_op(KN_OP_RESIZE, &p, in, 1, &yt, 1) == KILN_OK);
    CHECK(has_shape(&yt, KILN_FLOAT32, 4, N, OH, OW, C));
    CHECK_ARRAY_NEAR(y, want, (size_t)N * OH * OW * C, 1e-4);
}

/* Upscale 2x3 -> 4x5 (non-square, different ratios per axis). */
static void resize_bilinear_upscale(void) {
    /* H 2 -> 4. none: ratio 1/2, src 0, .5, 1, 1.5 (1.5 reads rows 1 and 1).
     * align: ratio 1/3, src 0, 1/3, 2/3, 1. half: ratio 1/2, src .5(i+.5)-.5 =
     * -.25 (clamped to row 0), .25, .75, 1.25 (rows 1 and 1). */
    const double h_none[4] = {0, 0.5, 1, 1}, h_align[4] = {0, 1 / 3.0, 2 / 3.0, 1}, h_half[4] = {0, 0.25, 0.75, 1};
    /* W 3 -> 5. none: ratio .6, src 0, .6, 1.2, 1.8, 2.4 (-> 2). align: ratio .5.
     * half: ratio .6, src -.2 (-> 0), .4, 1, 1.6, 2.2 (-> 2). */
    const double w_none[5] = {0, 0.6, 1.2, 1.8, 2}, w_align[5] = {0, 0.5, 1, 1.5, 2}, w_half[5] = {0, 0.4, 1, 1.6, 2};
    bilinear_case(2, 3, 4, 5, h_none, w_none, NONE);
    bilinear_case(2, 3, 4, 5, h_align, w_align, ALIGN);
    bilinear_case(2, 3, 4, 5, h_half, w_half, HALF);
}

/* Downscale 3x5 -> 2x2. */
static void resize_bilinear_downscale(void) {
    /* H 3 -> 2. none: ratio 1.5, src 0, 1.5. align: ratio 2, src 0, 2. half: src .25, 1.75. */
    const double h_none[2] = {0, 1.5}, h_align[2] = {0, 2}, h_half[2] = {0.25, 1.75};
    /* W 5 -> 2. none: ratio 2.5, src 0, 2.5. align: ratio 4. half: src .75, 3.25. */
    const double w_none[2] = {0, 2.5}, w_align[2] = {0, 4}, w_half[2] = {0.75, 3.25};
    bilinear_case(3, 5, 2, 2, h_none, w_none, NONE);
    bilinear_case(3, 5, 2, 2, h_align, w_align, ALIGN);
    bilinear_case(3, 5, 2, 2, h_half, w_half, HALF);
    /* To 1x1: align_corners has no corners to align (ratio in/out = 3 and 5,
     * src 0); half-pixel reads src 3 * .5 - .5 = 1 and 5 * .5 - .5 = 2. */
    const double zero[1] = {0}, h1[1] = {1}, w1[1] = {2};
    bilinear_case(3, 5, 1, 1, zero, zero, NONE);
    bilinear_case(3, 5, 1, 1, zero, zero, ALIGN);
    bilinear_case(3, 5, 1, 1, h1, w1, HALF);
    /* Same size: a copy with every flag. */
    const double same_h[3] = {0, 1, 2}, same_w[5] = {0, 1, 2, 3, 4};
    for (int f = NONE; f <= HALF; f++) bilinear_case(3, 5, 3, 5, same_h, same_w, f);
}

/* Nearest on x[h][w] = 10h + w (one channel) in each dtype: per axis, the
 * source index each output reads. */
static void nearest_case(kiln_dtype dtype, int H, int W, int OH, int OW, const int *ih, const int *iw, int flags) {
    union {
        float f[64];
        int32_t i[64];
        uint8_t b[64];
    } x, y;
    memset(&y, 0, sizeof y);
    for (int h = 0; h < H; h++)
        for (int w = 0; w < W; w++) {
            int v = 10 * h + w;
            if (dtype == KILN_FLOAT32) x.f[h * W + w] = (float)v;
            else if (dtype == KILN_INT32) x.i[h * W + w] = v;
            else x.b[h * W + w] = (uint8_t)v;
        }
    kn_resize_params p = resize_params(KN_RESIZE_NEAREST, OH, OW, flags);
    kn_tensor xt = tensor(dtype, &x, 4, 1, H, W, 1), yt = {.data = &y};
    kn_tensor *in[] = {&xt};
    CHECK(run_op(KN_OP_RESIZE, &p, in, 1, &yt, 1) == KILN_OK);
    CHECK(has_shape(&yt, dtype, 4, 1, OH, OW, 1));
    for (int i = 0; i < OH; i++)
        for (int j = 0; j < OW; j++) {
            int want = 10 * ih[i] + iw[j], at = i * OW + j;
            int got = dtype == KILN_FLOAT32 ? (int)y.f[at] : dtype == KILN_INT32 ? y.i[at] : y.b[at];
            if (got != want) {
                fprintf(stderr, "  nearest %s %dx%d->%dx%d flags %d: [%d][%d] = %d, want %d\n",
                        kiln_dtype_name(dtype), H, W, OH, OW, flags, i, j, got, want);
                check_failures++;
            }
        }
}

static void resize_nearest_flags(void) {
    const kiln_dtype dtypes[3] = {KILN_FLOAT32, KILN_INT32, KILN_UINT8};
    for (int d = 0; d < 3; d++) {
        kiln_dtype t = dtypes[d];
        /* H 3 -> 5 and W 5 -> 2 (non-square). H: none
         * ratio .6, floor(0, .6, 1.2, 1.8, 2.4); align ratio .5, round(0, .5,
         * 1, 1.5, 2) rounding halves up; half floor(.6(i + .5)) = floor(.3,
         * .9, 1.5, 2.1, 2.7). W: none ratio 2.5, floor(0, 2.5); align ratio
         * 4; half floor(1.25, 3.75). */
        nearest_case(t, 3, 5, 5, 2, (const int[]){0, 0, 1, 1, 2}, (const int[]){0, 2}, NONE);
        nearest_case(t, 3, 5, 5, 2, (const int[]){0, 1, 1, 2, 2}, (const int[]){0, 4}, ALIGN);
        nearest_case(t, 3, 5, 5, 2, (const int[]){0, 0, 1, 2, 2}, (const int[]){1, 3}, HALF);
        /* H 4 -> 3, W 2 -> 4. H: none ratio 4/3, floor(0, 1.33, 2.67); align
         * ratio 1.5, round(0, 1.5, 3); half floor(.67, 2, 3.33). W: none .5,
         * floor(0, .5, 1, 1.5); align 1/3, round(0, .33, .67, 1); half
         * floor(.25, .75, 1.25, 1.75). */
        nearest_case(t, 4, 2, 3, 4, (const int[]){0, 1, 2}, (const int[]){0, 0, 1, 1}, NONE);
        nearest_case(t, 4, 2, 3, 4, (const int[]){0, 2, 3}, (const int[]){0, 0, 1, 1}, ALIGN);
        nearest_case(t, 4, 2, 3, 4, (const int[]){0, 2, 3}, (const int[]){0, 0, 1, 1}, HALF);
        /* To 1x1 from 3x5: src 0 except half-pixel: floor(3 * .5) = 1, floor(5 * .5) = 2. */
        nearest_case(t, 3, 5, 1, 1, (const int[]){0}, (const int[]){0}, NONE);
        nearest_case(t, 3, 5, 1, 1, (const int[]){0}, (const int[]){0}, ALIGN);
        nearest_case(t, 3, 5, 1, 1, (const int[]){1}, (const int[]){2}, HALF);
    }
}

/* A 1x1 image resizes to a constant image in both modes and every flag. */
static void resize_from_1x1(void) {
    float x[3] = {1.5f, -2, 7}, y[4 * 6 * 3], want[4 * 6 * 3];
    for (int i = 0; i < 4 * 6 * 3; i++) want[i] = x[i % 3];
    for (int mode = KN_RESIZE_BILINEAR; mode <= KN_RESIZE_NEAREST; mode++)
        for (int f = NONE; f <= HALF; f++) {
            kn_resize_params p = resize_params(mode, 4, 6, f);
            kn_tensor xt = tensor(KILN_FLOAT32, x, 4, 1, 1, 1, 3), yt = {.data = y};
            memset(y, 0, sizeof y);
            CHECK(run_op(KN_OP_RESIZE, &p, (kn_tensor *[]){&xt}, 1, &yt, 1) == KILN_OK);
            CHECK(has_shape(&yt, KILN_FLOAT32, 4, 1, 4, 6, 3));
            CHECK_ARRAY_NEAR(y, want, 4 * 6 * 3, 0);
        }
}

/* Empty batch or channels: an empty output, nothing read. */
static void resize_empty(void) {
    for (int mode = KN_RESIZE_BILINEAR; mode <= KN_RESIZE_NEAREST; mode++) {
        kn_resize_params p = resize_params(mode, 3, 4, NONE);
        kn_tensor x0 = tensor(KILN_FLOAT32, NULL, 4, 0, 2, 2, 3), y0 = {.data = NULL};
        CHECK(run_op(KN_OP_RESIZE, &p, (kn_tensor *[]){&x0}, 1, &y0, 1) == KILN_OK);
        CHECK(has_shape(&y0, KILN_FLOAT32, 4, 0, 3, 4, 3));
        kn_tensor xc = tensor(KILN_FLOAT32, NULL, 4, 2, 2, 2, 0), yc = {.data = NULL};
        CHECK(run_op(KN_OP_RESIZE, &p, (kn_tensor *[]){&xc}, 1, &yc, 1) == KILN_OK);
        CHECK(has_shape(&yc, KILN_FLOAT32, 4, 2, 3, 4, 0));
    }
}

/* ---- Resize: tfjs' formulas on random data -------------------------------- */

/* tfjs' cpu kernels, in double, written from their definition. */
static void ref_resize(int mode, int flags, const float *x, int N, int H, int W, int C, int OH, int OW, float *y) {
    bool align = flags == ALIGN, half = flags == HALF;
    double rh = (align && OH > 1) ? (double)(H - 1) / (OH - 1) : (double)H / OH;
    double rw = (align && OW > 1) ? (double)(W - 1) / (OW - 1) : (double)W / OW;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++)
                for (int c = 0; c < C; c++) {
                    double v;
                    if (mode == KN_RESIZE_BILINEAR) {
                        double sh = half ? rh * (i + 0.5) - 0.5 : rh * i, sw = half ? rw * (j + 0.5) - 0.5 : rw * j;
                        int h0 = (int)fmax(0, floor(sh)), h1 = (int)fmin(H - 1, ceil(sh));
                        int w0 = (int)fmax(0, floor(sw)), w1 = (int)fmin(W - 1, ceil(sw));
                        double fh = sh - h0, fw = sw - w0;
#define X(h, w) (double)x[(((size_t)n * H + (h)) * W + (w)) * C + c]
                        double top = X(h0, w0) + (X(h0, w1) - X(h0, w0)) * fw;
                        double bot = X(h1, w0) + (X(h1, w1) - X(h1, w0)) * fw;
                        v = top + (bot - top) * fh;
                    } else {
                        double sh = half ? rh * (i + 0.5) : rh * i, sw = half ? rw * (j + 0.5) : rw * j;
                        int h = (int)fmin(H - 1, align ? floor(sh + 0.5) : floor(sh));
                        int w = (int)fmin(W - 1, align ? floor(sw + 0.5) : floor(sw));
                        v = X(h < 0 ? 0 : h, w < 0 ? 0 : w);
#undef X
                    }
                    y[(((size_t)n * OH + i) * OW + j) * C + c] = (float)v;
                }
}

/* Shapes that make bilinear reuse, replace and swap its cached rows. */
static void resize_reference(void) {
    const int shapes[][6] = {{2, 5, 7, 3, 11, 4}, {1, 9, 4, 5, 3, 9}, {1, 3, 3, 1, 17, 2}, {3, 6, 6, 2, 6, 6},
                             {1, 2, 9, 16, 5, 5}, {1, 7, 2, 4, 7, 13}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int N = shapes[s][0], H = shapes[s][1], W = shapes[s][2], C = shapes[s][3], OH = shapes[s][4],
                  OW = shapes[s][5];
        size_t ny = (size_t)N * OH * OW * C;
        float *x = rand_array((size_t)N * H * W * C), *y = malloc(sizeof(float) * ny), *want = malloc(sizeof(float) * ny);
        for (int mode = KN_RESIZE_BILINEAR; mode <= KN_RESIZE_NEAREST; mode++)
            for (int f = NONE; f <= HALF; f++) {
                kn_resize_params p = resize_params(mode, OH, OW, f);
                kn_tensor xt = tensor(KILN_FLOAT32, x, 4, N, H, W, C), yt = {.data = y};
                CHECK(run_op(KN_OP_RESIZE, &p, (kn_tensor *[]){&xt}, 1, &yt, 1) == KILN_OK);
                ref_resize(mode, f, x, N, H, W, C, OH, OW, want);
                CHECK_ARRAY_NEAR(y, want, ny, mode == KN_RESIZE_NEAREST ? 0 : 1e-6);
            }
        free(x);
        free(y);
        free(want);
    }
}

static void resize_infer_errors(void) {
    kn_tensor x = tensor(KILN_FLOAT32, NULL, 4, 1, 4, 4, 2), *in[] = {&x};
    kn_resize_params p = resize_params(2, 8, 8, NONE);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESIZE, &p, in, 1, 1, "resize mode 2, expected 0 (bilinear) or 1 (nearest)");
    p = resize_params(KN_RESIZE_BILINEAR, 8, 8, NONE);
    p.align_corners = 2;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESIZE, &p, in, 1, 1, "align_corners 2 and half_pixel_centers 0, expected each 0 or 1");
    p.align_corners = p.half_pixel_centers = 1;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESIZE, &p, in, 1, 1, "align_corners and half_pixel_centers are both set");
    p = resize_params(KN_RESIZE_BILINEAR, 0, 8, NONE);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESIZE, &p, in, 1, 1, "output size 0x8, expected each >= 1");
    p = resize_params(KN_RESIZE_NEAREST, 8, -1, NONE);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESIZE, &p, in, 1, 1, "output size 8x-1, expected each >= 1");
    p = resize_params(KN_RESIZE_BILINEAR, 8, 8, NONE);
    kn_tensor xi = tensor(KILN_INT32, NULL, 4, 1, 4, 4, 2), xb = tensor(KILN_BOOL, NULL, 4, 1, 4, 4, 2);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESIZE, &p, ((kn_tensor *[]){&xi}), 1, 1, "input is int32[1,4,4,2], expected float32");
    p.mode = KN_RESIZE_NEAREST;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESIZE, &p, ((kn_tensor *[]){&xb}), 1, 1, "expected float32, int32 or uint8");
    kn_tensor x3 = tensor(KILN_FLOAT32, NULL, 3, 4, 4, 2), xh0 = tensor(KILN_FLOAT32, NULL, 4, 1, 0, 4, 2);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESIZE, &p, ((kn_tensor *[]){&x3}), 1, 1, "input is float32[4,4,2], expected [N,H,W,C] with H, W >= 1");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESIZE, &p, ((kn_tensor *[]){&xh0}), 1, 1, "expected [N,H,W,C] with H, W >= 1");
    p = resize_params(KN_RESIZE_NEAREST, 1 << 16, 1 << 16, NONE);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESIZE, &p, in, 1, 1, "has more than 2147483648 elements");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESIZE, &p, ((kn_tensor *[]){&x, &x}), 2, 1, "expected 1 inputs, got 2");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESIZE, &p, ((kn_tensor *[]){NULL}), 1, 1, "input 0 is missing");
}

/* ---- Conv2D transpose ------------------------------------------------------ */

static kn_conv_transpose_params ct_params(int stride, int dilation, int pt, int pl, int pb, int pr, int out_h,
                                          int out_w) {
    kn_conv_transpose_params p = {{stride, stride, dilation, dilation, pt, pl, pb, pr, KN_ACT_NONE, 0}, out_h, out_w};
    return p;
}

/* Stride 2, 2x2 filter, no pads: each input pixel stamps x * filter on its
 * own 2x2 block of the 4x4 output. */
static void conv_transpose_stamp(void) {
    float x[4] = {1, 2, 3, 4}, f[4] = {1, 10, 100, 1000}, y[16];
    const float want[16] = {1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400, 4000};
    kn_conv_transpose_params p = ct_params(2, 1, 0, 0, 0, 0, 4, 4);
    kn_tensor xt = tensor(KILN_FLOAT32, x, 4, 1, 2, 2, 1), ft = tensor(KILN_FLOAT32, f, 4, 2, 2, 1, 1);
    kn_tensor yt = {.data = y};
    kn_tensor *in[] = {&xt, &ft};
    CHECK(run_op(KN_OP_CONV2D_TRANSPOSE, &p, in, 2, &yt, 1) == KILN_OK);
    CHECK(has_shape(&yt, KILN_FLOAT32, 4, 1, 4, 4, 1));
    CHECK_ARRAY_NEAR(y, want, 16, 0);
    const kn_op_def *def = kn_op_lookup(KN_OP_CONV2D_TRANSPOSE);
    kn_step s = {.n_in = 2, .n_out = 1, .params = &p, .in = in, .out = (kn_tensor *[]){&yt}};
    CHECK_NEAR(def->flops(&s), 2.0 * 4 * 4, 1e-9);
}

/* Stride 2, 3x3 filter, SAME for a 3x3 result (forward: ceil(3 / 2) = 2,
 * pads (2 - 1) * 2 + 3 - 3 = 2, one each side), separable so each axis is a
 * 1-D transpose: o = 2i - 1 + k gives out[0] = a0 f1, out[1] = a0 f2 + a1 f0,
 * out[2] = a1 f1. Rows: a = (1, 2), f = (1, 2, 3) -> (2, 5, 4); columns:
 * a = (1, -1), f = (1, 1, 2) -> (1, 1, -1). Then bias -3 and RELU; the filter
 * also as a run-time tensor (transposed in scratch). */
static void conv_transpose_same_bias_relu(void) {
    float x[4] = {1, -1, 2, -2}, f[9], bias[1] = {-3}, y[9];
    const float u[3] = {1, 2, 3}, v[3] = {1, 1, 2};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) f[i * 3 + j] = u[i] * v[j];
    const float plain[9] = {2, 2, -2, 5, 5, -5, 4, 4, -4}, relu[9] = {0, 0, 0, 2, 2, 0, 1, 1, 0};
    kn_conv_transpose_params p = ct_params(2, 1, 1, 1, 1, 1, 3, 3);
    kn_tensor xt = tensor(KILN_FLOAT32, x, 4, 1, 2, 2, 1), ft = tensor(KILN_FLOAT32, f, 4, 3, 3, 1, 1);
    kn_tensor bt = tensor(KILN_FLOAT32, bias, 1, 1), yt = {.data = y};
    kn_tensor *in[] = {&xt, &ft, &bt};
    for (int runtime = -1; runtime <= 1; runtime += 2) {
        p.conv.act = KN_ACT_NONE;
        CHECK(run_with(KN_OP_CONV2D_TRANSPOSE, &p, in, 2, &yt, runtime) == KILN_OK);
        CHECK(has_shape(&yt, KILN_FLOAT32, 4, 1, 3, 3, 1));
        CHECK_ARRAY_NEAR(y, plain, 9, 1e-6);
        p.conv.act = KN_ACT_RELU;
        CHECK(run_with(KN_OP_CONV2D_TRANSPOSE, &p, in, 3, &yt, runtime) == KILN_OK);
        CHECK_ARRAY_NEAR(y, relu, 9, 1e-6);
    }
}

typedef struct {
    int N, H, W, C;     /* x: the conv's output / the transpose's input */
    int OH, OW, OC;     /* the transpose's output / the conv's input */
    int KH, KW;
    int stride_h, stride_w, dil_h, dil_w;
    int pt, pl, pb, pr;
} ct_case;

/* The forward conv from its definition: u[N,OH,OW,OC] -> [N,H,W,C] with filter [KH,KW,OC,C]. */
static void naive_conv(const ct_case *k, const float *u, const float *f, double *out) {
    for (int n = 0; n < k->N; n++)
        for (int h = 0; h < k->H; h++)
            for (int w = 0; w < k->W; w++)
                for (int c = 0; c < k->C; c++) {
                    double acc = 0;
                    for (int kh = 0; kh < k->KH; kh++)
                        for (int kw = 0; kw < k->KW; kw++) {
                            int ih = h * k->stride_h - k->pt + kh * k->dil_h, iw = w * k->stride_w - k->pl + kw * k->dil_w;
                            if (ih < 0 || ih >= k->OH || iw < 0 || iw >= k->OW) continue;
                            for (int oc = 0; oc < k->OC; oc++)
                                acc += (double)u[((n * k->OH + ih) * k->OW + iw) * k->OC + oc] *
                                       f[((kh * k->KW + kw) * k->OC + oc) * k->C + c];
                        }
                    out[((n * k->H + h) * k->W + w) * k->C + c] = acc;
                }
}

/* The transpose from its definition: x scatters x * filter, then bias and RELU6 or PRELU. */
static void naive_conv_transpose(const ct_case *k, const float *x, const float *f, const float *bias, int act,
                                 const float *slope, float *y) {
    size_t ny = (size_t)k->N * k->OH * k->OW * k->OC;
    double *acc = calloc(ny, sizeof(double));
    for (int n = 0; n < k->N; n++)
        for (int h = 0; h < k->H; h++)
            for (int w = 0; w < k->W; w++)
                for (int kh = 0; kh < k->KH; kh++)
                    for (int kw = 0; kw < k->KW; kw++) {
                        int oh = h * k->stride_h - k->pt + kh * k->dil_h, ow = w * k->stride_w - k->pl + kw * k->dil_w;
                        if (oh < 0 || oh >= k->OH || ow < 0 || ow >= k->OW) continue;
                        for (int oc = 0; oc < k->OC; oc++)
                            for (int c = 0; c < k->C; c++)
                                acc[((n * k->OH + oh) * k->OW + ow) * k->OC + oc] +=
                                    (double)x[((n * k->H + h) * k->W + w) * k->C + c] *
                                    f[((kh * k->KW + kw) * k->OC + oc) * k->C + c];
                    }
    for (size_t i = 0; i < ny; i++) {
        double v = acc[i] + bias[i % (size_t)k->OC];
        if (act == KN_ACT_RELU6) v = v < 0 ? 0 : v > 6 ? 6 : v;
        else if (v < 0) v *= slope[i % (size_t)k->OC];
        y[i] = (float)v;
    }
    free(acc);
}

/* <conv(u), x> == <u, conv_transpose(x)> on random data, and the fused
 * bias + PRELU and RELU6 against the scatter written from the definition; each with
 * the filter constant (packed for the GEMM when there are enough output
 * channels, as most cases have) and at run time (the direct loop). */
static void conv_transpose_adjoint(void) {
    const ct_case cases[] = {
        /* N H W C  OH OW OC  KH KW  sh sw dh dw  pt pl pb pr */
        {1, 2, 2, 1, 4, 4, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0},        /* stamp */
        {2, 4, 5, 3, 8, 10, 21, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1},       /* SAME-like, even out */
        {1, 3, 3, 6, 7, 7, 16, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0},        /* VALID, odd out */
        {1, 3, 4, 2, 8, 9, 3, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0},        /* out past the last window (floor) */
        {1, 4, 4, 5, 4, 4, 19, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},        /* stride 1, dilation 2 */
        {1, 3, 2, 4, 8, 7, 18, 2, 3, 3, 2, 2, 3, 1, 0, 2, 3},        /* mixed strides and dilations */
        {2, 2, 3, 9, 4, 7, 24, 4, 4, 2, 3, 1, 1, 1, 2, 2, 1},        /* 4x4 filter, asymmetric pads */
        {1, 1, 1, 3, 1, 1, 17, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},        /* 1x1, every tap but one in the padding */
        {1, 3, 3, 2, 9, 9, 16, 2, 2, 3, 3, 1, 1, 0, 0, 0, 0},        /* stride 3 > 2 taps: a phase gets no tap */
        {1, 3, 3, 2, 7, 7, 20, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0},        /* dilation 2, stride 2: odd rows get no tap */
        {1, 2, 11, 17, 4, 44, 37, 3, 4, 2, 4, 1, 1, 1, 1, 1, 1},    /* rows and channels past a GEMM tile */
        {1, 2, 1, 3, 4, 2, 33, 3, 2, 2, 5, 1, 1, 1, 0, 1, 0},        /* stride 5 > out width 2 */
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const ct_case *k = &cases[ci];
        size_t nx = (size_t)k->N * k->H * k->W * k->C, ny = (size_t)k->N * k->OH * k->OW * k->OC;
        size_t nf = (size_t)k->KH * k->KW * k->OC * k->C;
        float *x = rand_array(nx), *u = rand_array(ny), *f = rand_array(nf), *bias = rand_array((size_t)k->OC);
        float *slope = rand_array((size_t)k->OC), *y = malloc(sizeof(float) * ny), *want = malloc(sizeof(float) * ny);
        double *cu = malloc(sizeof(double) * nx);
        naive_conv(k, u, f, cu);
        kn_conv_transpose_params p = {{k->stride_h, k->stride_w, k->dil_h, k->dil_w, k->pt, k->pl, k->pb, k->pr,
                                       KN_ACT_NONE, 0}, k->OH, k->OW};
        kn_tensor xt = tensor(KILN_FLOAT32, x, 4, k->N, k->H, k->W, k->C);
        kn_tensor ft = tensor(KILN_FLOAT32, f, 4, k->KH, k->KW, k->OC, k->C);
        kn_tensor bt = tensor(KILN_FLOAT32, bias, 1, k->OC), st = tensor(KILN_FLOAT32, slope, 1, k->OC);
        kn_tensor yt = {.data = y};
        kn_tensor *in[] = {&xt, &ft, &bt, &st};
        for (int runtime = -1; runtime <= 1; runtime += 2) {
            p.conv.act = KN_ACT_NONE;
            CHECK(run_with(KN_OP_CONV2D_TRANSPOSE, &p, in, 2, &yt, runtime) == KILN_OK);
            CHECK(has_shape(&yt, KILN_FLOAT32, 4, k->N, k->OH, k->OW, k->OC));
            double lhs = 0, rhs = 0, scale = 0;
            for (size_t i = 0; i < nx; i++) lhs += cu[i] * x[i], scale += fabs(cu[i] * x[i]);
            for (size_t i = 0; i < ny; i++) rhs += (double)u[i] * y[i];
            if (!(fabs(lhs - rhs) <= 1e-5 * (scale + 1))) {
                fprintf(stderr, "  case %zu: <conv(u), x> = %.9g, <u, conv_transpose(x)> = %.9g\n", ci, lhs, rhs);
                check_failures++;
            }
            p.conv.act = KN_ACT_PRELU;
            CHECK(run_with(KN_OP_CONV2D_TRANSPOSE, &p, in, 4, &yt, runtime) == KILN_OK);
            naive_conv_transpose(k, x, f, bias, KN_ACT_PRELU, slope, want);
            CHECK_ARRAY_NEAR(y, want, ny, 1e-5);
            p.conv.act = KN_ACT_RELU6; /* the GEMM's clamp, also on outputs no tap reaches */
            for (size_t i = 0; i < (size_t)k->OC; i++) bias[i] *= 8;
            CHECK(run_with(KN_OP_CONV2D_TRANSPOSE, &p, in, 3, &yt, runtime) == KILN_OK);
            naive_conv_transpose(k, x, f, bias, KN_ACT_RELU6, slope, want);
            CHECK_ARRAY_NEAR(y, want, ny, 1e-5);
            for (size_t i = 0; i < (size_t)k->OC; i++) bias[i] /= 8;
        }
        free(x), free(u), free(f), free(bias), free(slope), free(y), free(want), free(cu);
    }
}

static void conv_transpose_infer_errors(void) {
    kn_tensor x = tensor(KILN_FLOAT32, NULL, 4, 1, 3, 3, 4), f = tensor(KILN_FLOAT32, NULL, 4, 3, 3, 2, 4);
    kn_tensor *in[] = {&x, &f};
    kn_conv_transpose_params p = ct_params(2, 1, 1, 1, 1, 1, 6, 6); /* SAME: ceil(6 / 2) = 3 */
    kn_tensor y = {.name = ""};
    const kn_op_def *def = kn_op_lookup(KN_OP_CONV2D_TRANSPOSE);
    kn_step s = {.n_in = 2, .n_out = 1, .params = &p, .in = in, .out = (kn_tensor *[]){&y}};
    CHECK(def->infer(&s, &y) == KILN_OK && has_shape(&y, KILN_FLOAT32, 4, 1, 6, 6, 2));
    p.out_h = p.out_w = 5; /* also maps to 3 */
    CHECK(def->infer(&s, &y) == KILN_OK && has_shape(&y, KILN_FLOAT32, 4, 1, 5, 5, 2));

    p = ct_params(2, 1, 1, 1, 1, 1, 8, 6);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONV2D_TRANSPOSE, &p, in, 2, 1, "a conv of a 8x6 input with these params gives 4x3, but the input is float32[1,3,3,4]");
    p = ct_params(2, 1, 1, 1, 1, 1, 0, 6);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONV2D_TRANSPOSE, &p, in, 2, 1, "output size 0x6, expected each >= 1");
    p = ct_params(0, 1, 1, 1, 1, 1, 6, 6);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONV2D_TRANSPOSE, &p, in, 2, 1, "height: window 3, stride 0, dilation 1, expected each >= 1");
    p = ct_params(2, 1, -1, 1, 1, 1, 6, 6);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONV2D_TRANSPOSE, &p, in, 2, 1, "height: pads -1 and 1, expected each in [0, 1048576]");
    p = ct_params(1, 1, 0, 0, 0, 0, 1, 1);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONV2D_TRANSPOSE, &p, in, 2, 1, "output size would be < 1");
    p = ct_params(2, 1, 1, 1, 1, 1, 6, 6);
    kn_tensor f_bad = tensor(KILN_FLOAT32, NULL, 4, 3, 3, 2, 5);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONV2D_TRANSPOSE, &p, ((kn_tensor *[]){&x, &f_bad}), 2, 1, "filter is float32[3,3,2,5], expected [KH,KW,OC,4] for input float32[1,3,3,4]");
    kn_tensor bias3 = tensor(KILN_FLOAT32, NULL, 1, 3);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONV2D_TRANSPOSE, &p, ((kn_tensor *[]){&x, &f, &bias3}), 3, 1, "bias is float32[3], expected float32[2]");
    p.conv.act = KN_ACT_PRELU;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONV2D_TRANSPOSE, &p, in, 2, 1, "PRELU");
    p.conv.act = KN_ACT_NONE;
    kn_tensor x3 = tensor(KILN_FLOAT32, NULL, 3, 3, 3, 4), xi = tensor(KILN_INT32, NULL, 4, 1, 3, 3, 4);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONV2D_TRANSPOSE, &p, ((kn_tensor *[]){&x3, &f}), 2, 1, "input is float32[3,3,4], expected rank 4");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONV2D_TRANSPOSE, &p, ((kn_tensor *[]){&xi, &f}), 2, 1, "int32");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONV2D_TRANSPOSE, &p, ((kn_tensor *[]){&x}), 1, 1, "expected 2 to 4 inputs, got 1");
}

/* ---- Batched MatMul --------------------------------------------------------- */

/* a[2,2,3] . b[3,2]: b is shared by both batches. Batch 0 is
 * [[1,2,3],[4,5,6]] . [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]; batch 1
 * picks rows 0 and 1 of b. Then with bias (1, -100) and RELU over the last dim. */
static void matmul_rank3_by_rank2(void) {
    float a[12] = {1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0}, b[6] = {7, 8, 9, 10, 11, 12}, bias[2] = {1, -100}, y[8];
    const float want[8] = {58, 64, 139, 154, 7, 8, 9, 10}, biased[8] = {59, 0, 140, 54, 8, 0, 10, 0};
    kn_matmul_params p = {0, 0, KN_ACT_NONE, 0};
    kn_tensor at = tensor(KILN_FLOAT32, a, 3, 2, 2, 3), bt = tensor(KILN_FLOAT32, b, 2, 3, 2);
    kn_tensor biast = tensor(KILN_FLOAT32, bias, 1, 2), yt = {.data = y};
    kn_tensor *in[] = {&at, &bt, &biast};
    CHECK(run_op(KN_OP_MATMUL, &p, in, 2, &yt, 1) == KILN_OK);
    CHECK(has_shape(&yt, KILN_FLOAT32, 3, 2, 2, 2));
    CHECK_ARRAY_NEAR(y, want, 8, 0);
    p.act = KN_ACT_RELU;
    CHECK(run_op(KN_OP_MATMUL, &p, in, 3, &yt, 1) == KILN_OK);
    CHECK_ARRAY_NEAR(y, biased, 8, 0);
    const kn_op_def *def = kn_op_lookup(KN_OP_MATMUL);
    kn_step s = {.n_in = 2, .n_out = 1, .params = &p, .in = in, .out = (kn_tensor *[]){&yt}};
    CHECK_NEAR(def->flops(&s), 2.0 * 8 * 3, 1e-9);
}

/* Random operands with broadcast batch dims, every transpose combination,
 * against the naive product indexed through NumPy broadcasting. */
static void matmul_broadcast_reference(void) {
    /* rank a, dims a (batch..., M, K as [M,K]), rank b, dims b ([K,N]) */
    const struct {
        int ra, a[5], rb, b[5];
    } cases[] = {
        {4, {2, 1, 3, 4}, 4, {1, 3, 4, 5}},    /* [2,1] x [1,3] -> [2,3] */
        {2, {3, 4}, 3, {2, 4, 5}},             /* a shared by every batch of b */
        {5, {2, 1, 2, 3, 2}, 4, {3, 2, 2, 4}}, /* ranks 5 and 4: [2,1,2] x [3,2] -> [2,3,2] */
        {3, {1, 4, 6}, 3, {3, 6, 1}},          /* batch of 1 against 3, N = 1 */
        {3, {3, 1, 7}, 3, {3, 7, 2}},          /* equal batches, M = 1 */
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const int ra = cases[ci].ra, rb = cases[ci].rb;
        const int M = cases[ci].a[ra - 2], K = cases[ci].a[ra - 1], N = cases[ci].b[rb - 1];
        int rank = ra > rb ? ra : rb, ydims[5];
        size_t na = 1, nb = 1, nbatch = 1;
        for (int d = 0; d < ra; d++) na *= (size_t)cases[ci].a[d];
        for (int d = 0; d < rb; d++) nb *= (size_t)cases[ci].b[d];
        for (int d = 0; d < rank - 2; d++) {
            int da = d - (rank - ra) >= 0 ? cases[ci].a[d - (rank - ra)] : 1;
            int db = d - (rank - rb) >= 0 ? cases[ci].b[d - (rank - rb)] : 1;
            ydims[d] = da > db ? da : db;
            nbatch *= (size_t)ydims[d];
        }
        ydims[rank - 2] = M;
        ydims[rank - 1] = N;
        float *a = rand_array(na), *b = rand_array(nb), *at = malloc(sizeof(float) * na), *bt = malloc(sizeof(float) * nb);
        float *y = malloc(sizeof(float) * nbatch * M * N), *want = malloc(sizeof(float) * nbatch * M * N);
        /* at, bt: each matrix transposed. */
        for (size_t m = 0; m < na / (size_t)(M * K); m++)
            for (int i = 0; i < M; i++)
                for (int k = 0; k < K; k++) at[m * M * K + (size_t)k * M + i] = a[m * M * K + (size_t)i * K + k];
        for (size_t m = 0; m < nb / (size_t)(K * N); m++)
            for (int k = 0; k < K; k++)
                for (int j = 0; j < N; j++) bt[m * K * N + (size_t)j * K + k] = b[m * K * N + (size_t)k * N + j];
        /* want: for each output batch index, its a and b matrices by broadcasting. */
        for (size_t t = 0; t < nbatch; t++) {
            size_t rem = t, ia = 0, ib = 0, sa = 1, sb = 1;
            for (int d = rank - 3; d >= 0; d--) {
                size_t idx = rem % (size_t)ydims[d];
                rem /= (size_t)ydims[d];
                int ad = d - (rank - ra), bd = d - (rank - rb);
                int da = ad >= 0 ? cases[ci].a[ad] : 1, db = bd >= 0 ? cases[ci].b[bd] : 1;
                ia += (da == 1 ? 0 : idx) * sa;
                ib += (db == 1 ? 0 : idx) * sb;
                sa *= (size_t)da;
                sb *= (size_t)db;
            }
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double acc = 0;
                    for (int k = 0; k < K; k++)
                        acc += (double)a[ia * M * K + (size_t)i * K + k] * b[ib * K * N + (size_t)k * N + j];
                    want[(t * M + i) * N + j] = (float)acc;
                }
        }
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                kn_matmul_params p = {ta, tb, KN_ACT_NONE, 0};
                kn_tensor A = {.name = "", .dtype = KILN_FLOAT32, .rank = ra, .data = ta ? at : a};
                kn_tensor B = {.name = "", .dtype = KILN_FLOAT32, .rank = rb, .data = tb ? bt : b};
                memcpy(A.dims, cases[ci].a, sizeof(int) * (size_t)ra);
                memcpy(B.dims, cases[ci].b, sizeof(int) * (size_t)rb);
                if (ta) A.dims[ra - 2] = K, A.dims[ra - 1] = M;
                if (tb) B.dims[rb - 2] = N, B.dims[rb - 1] = K;
                kn_tensor yt = {.data = y};
                CHECK(run_op(KN_OP_MATMUL, &p, (kn_tensor *[]){&A, &B}, 2, &yt, 1) == KILN_OK);
                bool shape_ok = yt.rank == rank;
                for (int d = 0; shape_ok && d < rank; d++) shape_ok = yt.dims[d] == ydims[d];
                CHECK(shape_ok);
                CHECK_ARRAY_NEAR(y, want, nbatch * M * N, 1e-5);
            }
        free(a), free(b), free(at), free(bt), free(y), free(want);
    }
}

/* K = 0 gives the bias (or zeros); an empty batch, M or N gives an empty output. */
static void matmul_empty(void) {
    float bias[3] = {1, 2, 3}, y[6];
    const float want[6] = {1, 2, 3, 1, 2, 3};
    kn_matmul_params p = {0, 0, KN_ACT_NONE, 0};
    kn_tensor a = tensor(KILN_FLOAT32, NULL, 2, 2, 0), b = tensor(KILN_FLOAT32, NULL, 2, 0, 3);
    kn_tensor bt = tensor(KILN_FLOAT32, bias, 1, 3), yt = {.data = y};
    memset(y, 0xff, sizeof y);
    CHECK(run_op(KN_OP_MATMUL, &p, (kn_tensor *[]){&a, &b, &bt}, 3, &yt, 1) == KILN_OK);
    CHECK(has_shape(&yt, KILN_FLOAT32, 2, 2, 3));
    CHECK_ARRAY_NEAR(y, want, 6, 0);
    for (int i = 0; i < 6; i++) y[i] = 9;
    CHECK(run_op(KN_OP_MATMUL, &p, (kn_tensor *[]){&a, &b}, 2, &yt, 1) == KILN_OK);
    CHECK(y[0] == 0 && y[5] == 0);

    kn_tensor a0 = tensor(KILN_FLOAT32, NULL, 3, 0, 2, 4), b0 = tensor(KILN_FLOAT32, NULL, 2, 4, 3), y0 = {.data = NULL};
    CHECK(run_op(KN_OP_MATMUL, &p, (kn_tensor *[]){&a0, &b0}, 2, &y0, 1) == KILN_OK);
    CHECK(has_shape(&y0, KILN_FLOAT32, 3, 0, 2, 3));
    kn_tensor am = tensor(KILN_FLOAT32, NULL, 3, 2, 0, 4), bn = tensor(KILN_FLOAT32, NULL, 3, 1, 4, 0);
    CHECK(run_op(KN_OP_MATMUL, &p, (kn_tensor *[]){&am, &bn}, 2, &y0, 1) == KILN_OK);
    CHECK(has_shape(&y0, KILN_FLOAT32, 3, 2, 0, 0));
}

/* int32 (TF MatMul on indices): a[2,1,2] . b[2,2] stored transposed, a
 * product that overflows wraps modulo 2^32, and K = 0 gives zeros. */
static void matmul_int32(void) {
    int32_t a[4] = {1, 2, 3, -4}, bt[4] = {5, 7, 6, 8}, y[4]; /* b = [[5,6],[7,8]] */
    const int32_t want[4] = {19, 22, -13, -14};
    kn_matmul_params p = {0, 1, KN_ACT_NONE, 0};
    kn_tensor at = tensor(KILN_INT32, a, 3, 2, 1, 2), btt = tensor(KILN_INT32, bt, 2, 2, 2), yt = {.data = y};
    CHECK(run_op(KN_OP_MATMUL, &p, (kn_tensor *[]){&at, &btt}, 2, &yt, 1) == KILN_OK);
    CHECK(has_shape(&yt, KILN_INT32, 3, 2, 1, 2));
    CHECK(memcmp(y, want, sizeof want) == 0);
    int32_t big[2] = {65536, 65536}, ones[2] = {65536, 1}, wrapped;
    kn_tensor bigt = tensor(KILN_INT32, big, 2, 1, 2), onest = tensor(KILN_INT32, ones, 2, 2, 1), wt = {.data = &wrapped};
    p.transpose_b = 0;
    CHECK(run_op(KN_OP_MATMUL, &p, (kn_tensor *[]){&bigt, &onest}, 2, &wt, 1) == KILN_OK);
    CHECK(wrapped == 65536); /* 2^32 + 2^16 */
    int32_t zeros[2] = {7, 7};
    kn_tensor a0 = tensor(KILN_INT32, NULL, 2, 1, 0), b0 = tensor(KILN_INT32, NULL, 2, 0, 2), zt = {.data = zeros};
    CHECK(run_op(KN_OP_MATMUL, &p, (kn_tensor *[]){&a0, &b0}, 2, &zt, 1) == KILN_OK);
    CHECK(has_shape(&zt, KILN_INT32, 2, 1, 2) && zeros[0] == 0 && zeros[1] == 0); /* K = 0 */

    kn_tensor bias = tensor(KILN_INT32, NULL, 1, 1), bf = tensor(KILN_FLOAT32, NULL, 2, 2, 1);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_MATMUL, &p, ((kn_tensor *[]){&bigt, &onest, &bias}), 3, 1, "int32 operands take no bias and no activation");
    p.act = KN_ACT_RELU;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_MATMUL, &p, ((kn_tensor *[]){&bigt, &onest}), 2, 1, "int32 operands take no bias and no activation (act 1)");
    p.act = KN_ACT_NONE;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_MATMUL, &p, ((kn_tensor *[]){&bigt, &bf}), 2, 1, "operand 1 is float32[2,1], expected int32");
}

static void matmul_batch_infer_errors(void) {
    kn_matmul_params p = {0, 0, KN_ACT_NONE, 0};
    kn_tensor a = tensor(KILN_FLOAT32, NULL, 3, 2, 4, 5), b = tensor(KILN_FLOAT32, NULL, 3, 3, 5, 6);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_MATMUL, &p, ((kn_tensor *[]){&a, &b}), 2, 1, "batch dims of a float32[2,4,5] and b float32[3,5,6] do not broadcast");
    kn_tensor b4 = tensor(KILN_FLOAT32, NULL, 4, 2, 1, 4, 6);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_MATMUL, &p, ((kn_tensor *[]){&a, &b4}), 2, 1, "inner dims differ: a is float32[2,4,5] (transpose_a 0, K = 5), b is float32[2,1,4,6] (transpose_b 0, K = 4)");
    p.transpose_a = 1; /* a read as [5,4]: K = 4 */
    kn_tensor y = {.name = ""};
    const kn_op_def *def = kn_op_lookup(KN_OP_MATMUL);
    kn_step s = {.n_in = 2, .n_out = 1, .params = &p, .in = (kn_tensor *[]){&a, &b4}, .out = (kn_tensor *[]){&y}};
    CHECK(def->infer(&s, &y) == KILN_OK && has_shape(&y, KILN_FLOAT32, 4, 2, 2, 5, 6));
    kn_tensor bias5 = tensor(KILN_FLOAT32, NULL, 1, 5), ai = tensor(KILN_INT32, NULL, 3, 2, 4, 5);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_MATMUL, &p, ((kn_tensor *[]){&a, &b4, &bias5}), 3, 1, "bias is float32[5], expected float32[6]");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_MATMUL, &p, ((kn_tensor *[]){&ai, &b4}), 2, 1, "int32");
    kn_tensor s0 = tensor(KILN_FLOAT32, NULL, 0);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_MATMUL, &p, ((kn_tensor *[]){&s0, &b4}), 2, 1, "a is float32[] and b is float32[2,1,4,6], expected each of rank 2 or more");
    kn_tensor big_a = tensor(KILN_FLOAT32, NULL, 3, 1 << 16, 1 << 8, 1), big_b = tensor(KILN_FLOAT32, NULL, 2, 1, 1 << 8);
    p.transpose_a = 0;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_MATMUL, &p, ((kn_tensor *[]){&big_a, &big_b}), 2, 1, "has more than 2147483648 elements");
}

int main(void) {
    RUN(resize_bilinear_upscale);
    RUN(resize_bilinear_downscale);
    RUN(resize_nearest_flags);
    RUN(resize_from_1x1);
    RUN(resize_empty);
    RUN(resize_reference);
    RUN(resize_infer_errors);
    RUN(conv_transpose_stamp);
    RUN(conv_transpose_same_bias_relu);
    RUN(conv_transpose_adjoint);
    RUN(conv_transpose_infer_errors);
    RUN(matmul_rank3_by_rank2);
    RUN(matmul_broadcast_reference);
    RUN(matmul_empty);
    RUN(matmul_int32);
    RUN(matmul_batch_infer_errors);
    return check_summary();
}
