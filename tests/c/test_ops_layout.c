/* Ops CAST, SLICE, TILE, TRANSPOSE: hand-computed values, edge values of
 * each conversion, random shapes against naive loops written from the
 * definitions (every dtype width), empty results, and the errors infer
 * reports. Steps and tensors are built directly. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "kn.h"
#include "ops/params.h"

/* ---- Helpers ------------------------------------------------------------- */





/* A small deterministic generator for the random cases. */
static uint32_t rng_state = 2024;
static int rand_int(int lo, int hi) { /* inclusive */
    rng_state = rng_state * 1664525u + 1013904223u;
    return lo + (int)((rng_state >> 8) % (uint32_t)(hi - lo + 1));
}

static size_t count_of(const int32_t *dims, int rank) {
    size_t n = 1;
    for (int d = 0; d < rank; d++) n *= (size_t)dims[d];
    return n;
}

/* Flat index -> coordinates of a row-major shape. */
static void unravel(size_t i, const int32_t *dims, int rank, int64_t *idx) {
    for (int d = rank - 1; d >= 0; d--) {
        idx[d] = (int64_t)(i % (size_t)dims[d]);
        i /= (size_t)dims[d];
    }
}

static size_t ravel(const int64_t *idx, const int32_t *dims, int rank) {
    size_t at = 0;
    for (int d = 0; d < rank; d++) at = at * (size_t)dims[d] + (size_t)idx[d];
    return at;
}

/* ---- CAST ---------------------------------------------------------------- */

static kiln_status cast(kn_tensor *x, kiln_dtype to, void *y_data, kn_tensor *y) {
    kn_cast_params p = {.dtype = to};
    *y = tensor(to, y_data, 0);
    return run_op(KN_OP_CAST, &p, (kn_tensor *[]){x}, 1, y, 1);
}

/* float -> int32 truncates toward zero and saturates; NaN is 0. */
static void cast_float_to_int(void) {
    float x[20] = {2.7f, -2.7f, 0.5f, -0.5f, -0.0f, 1e10f, -1e10f, NAN, INFINITY, -INFINITY,
                   2147483520.0f, -2147483648.0f, 16777217.0f, 3, -3, 100.99f, -100.99f, 1, 0, -1};
    int32_t y[20];
    int32_t want[20] = {2, -2, 0, 0, 0, INT32_MAX, INT32_MIN, 0, INT32_MAX, INT32_MIN,
                        2147483520, INT32_MIN, 16777216, 3, -3, 100, -100, 1, 0, -1};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 4, 5), ty;
    CHECK(cast(&tx, KILN_INT32, y, &ty) == KILN_OK);
    CHECK(ty.dtype == KILN_INT32 && has_dims(&ty, 2, 4, 5));
    CHECK(memcmp(y, want, sizeof y) == 0);
}

/* -> uint8 wraps modulo 256, float through int32 first; -> bool is x != 0. */
static void cast_to_uint8_and_bool(void) {
    float xf[8] = {257.9f, -1.5f, 300, NAN, 255, -256, 1e10f, 0.25f};
    uint8_t y[8];
    kn_tensor tx = tensor(KILN_FLOAT32, xf, 1, 8), ty;
    CHECK(cast(&tx, KILN_UINT8, y, &ty) == KILN_OK);
    uint8_t want_u8[8] = {1, 255, 44, 0, 255, 0, 255, 0}; /* 1e10 saturates to INT32_MAX, whose low byte is 255 */
    CHECK(memcmp(y, want_u8, sizeof y) == 0);
    float xb[8] = {0, -0.0f, NAN, 0.5f, -1e-30f, INFINITY, 1, -2};
    tx = tensor(KILN_FLOAT32, xb, 1, 8);
    CHECK(cast(&tx, KILN_BOOL, y, &ty) == KILN_OK && ty.dtype == KILN_BOOL);
    uint8_t want_b[8] = {0, 0, 1, 1, 1, 1, 1, 1};
    CHECK(memcmp(y, want_b, sizeof y) == 0);

    int32_t xi[6] = {-1, 256, 511, 1000, INT32_MIN, 0};
    tx = tensor(KILN_INT32, xi, 1, 6);
    CHECK(cast(&tx, KILN_UINT8, y, &ty) == KILN_OK);
    uint8_t want_iu8[6] = {255, 0, 255, 232, 0, 0};
    CHECK(memcmp(y, want_iu8, 6) == 0);
    CHECK(cast(&tx, KILN_BOOL, y, &ty) == KILN_OK);
    uint8_t want_ib[6] = {1, 1, 1, 1, 1, 0};
    CHECK(memcmp(y, want_ib, 6) == 0);
}

static void cast_from_int_uint8_bool(void) {
    int32_t xi[4] = {16777217, -5, 0, INT32_MAX};
    float yf[4];
    kn_tensor tx = tensor(KILN_INT32, xi, 1, 4), ty;
    CHECK(cast(&tx, KILN_FLOAT32, yf, &ty) == KILN_OK);
    float want_f[4] = {16777216.0f, -5, 0, 2147483648.0f}; /* rounds to nearest */
    CHECK(memcmp(yf, want_f, sizeof yf) == 0);

    uint8_t xu[4] = {0, 1, 200, 255};
    int32_t yi[4];
    uint8_t yb[4];
    tx = tensor(KILN_UINT8, xu, 1, 4);
    CHECK(cast(&tx, KILN_FLOAT32, yf, &ty) == KILN_OK);
    CHECK(yf[0] == 0 && yf[1] == 1 && yf[2] == 200 && yf[3] == 255);
    CHECK(cast(&tx, KILN_INT32, yi, &ty) == KILN_OK);
    CHECK(yi[0] == 0 && yi[1] == 1 && yi[2] == 200 && yi[3] == 255);
    CHECK(cast(&tx, KILN_BOOL, yb, &ty) == KILN_OK);
    CHECK(yb[0] == 0 && yb[1] == 1 && yb[2] == 1 && yb[3] == 1);

    uint8_t xb[4] = {0, 1, 2, 0}; /* a stray 2 still reads as true */
    tx = tensor(KILN_BOOL, xb, 2, 2, 2);
    CHECK(cast(&tx, KILN_FLOAT32, yf, &ty) == KILN_OK);
    CHECK(yf[0] == 0 && yf[1] == 1 && yf[2] == 1 && yf[3] == 0);
    CHECK(cast(&tx, KILN_INT32, yi, &ty) == KILN_OK);
    CHECK(yi[0] == 0 && yi[1] == 1 && yi[2] == 1 && yi[3] == 0);
    CHECK(cast(&tx, KILN_UINT8, yb, &ty) == KILN_OK);
    CHECK(yb[0] == 0 && yb[1] == 1 && yb[2] == 1 && yb[3] == 0);
}

/* Same dtype copies; a scalar, an empty tensor and a 37-element one (full
 * blocks and a tail of the elementwise loop). */
static void cast_shapes(void) {
    float x[37], y[37];
    for (int i = 0; i < 37; i++) x[i] = (float)i - 18.5f;
    kn_tensor tx = tensor(KILN_FLOAT32, x, 1, 37), ty;
    CHECK(cast(&tx, KILN_FLOAT32, y, &ty) == KILN_OK);
    CHECK(memcmp(x, y, sizeof x) == 0);
    int32_t yi[37];
    CHECK(cast(&tx, KILN_INT32, yi, &ty) == KILN_OK);
    for (int i = 0; i < 37; i++) CHECK(yi[i] == (int32_t)x[i]);
    CHECK(yi[0] == -18 && yi[36] == 17);
    float s = -7.9f;
    int32_t si = 0;
    tx = tensor(KILN_FLOAT32, &s, 0);
    CHECK(cast(&tx, KILN_INT32, &si, &ty) == KILN_OK && ty.rank == 0 && si == -7);
    tx = tensor(KILN_FLOAT32, x, 3, 2, 0, 3);
    CHECK(cast(&tx, KILN_BOOL, yi, &ty) == KILN_OK && has_dims(&ty, 3, 2, 0, 3));
}

static void cast_errors(void) {
    float x[2] = {0};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 1, 2);
    kn_cast_params p = {.dtype = 0};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CAST, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "cast to dtype 0");
    p.dtype = 5;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CAST, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "cast to dtype 5");
    p.dtype = KILN_INT32;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CAST, &p, ((kn_tensor *[]){&tx, &tx}), 2, 1, "expected 1 inputs, got 2");
    kn_tensor bad = tensor((kiln_dtype)9, x, 1, 2);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CAST, &p, ((kn_tensor *[]){&bad, &bad}), 1, 1, "cannot cast");
}

/* ---- SLICE --------------------------------------------------------------- */

static kn_slice_params slice_params(int rank, const int32_t *begin, const int32_t *size, const int32_t *stride) {
    kn_slice_params p = {.begin = {0}};
    for (int d = 0; d < rank; d++) {
        p.begin[d] = begin[d];
        p.size[d] = size[d];
        p.stride[d] = stride[d];
    }
    return p;
}

/* x = 0..11 as [3,4]. */
static void slice_2d(void) {
    float x[12], y[12];
    for (int i = 0; i < 12; i++) x[i] = (float)i;
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 3, 4), ty = tensor(KILN_FLOAT32, y, 0);
    kn_slice_params p = slice_params(2, (int32_t[]){1, 1}, (int32_t[]){2, 2}, (int32_t[]){1, 1});
    CHECK(run_op(KN_OP_SLICE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 2, 2));
    float want1[4] = {5, 6, 9, 10};
    CHECK_ARRAY_NEAR(y, want1, 4, 0);
    /* Rows backwards, every other column from the last. */
    p = slice_params(2, (int32_t[]){2, 3}, (int32_t[]){3, 2}, (int32_t[]){-1, -2});
    CHECK(run_op(KN_OP_SLICE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 3, 2));
    float want2[6] = {11, 9, 7, 5, 3, 1};
    CHECK_ARRAY_NEAR(y, want2, 6, 0);
    /* Whole rows (one memcpy each), stride 2 over rows. */
    p = slice_params(2, (int32_t[]){0, 0}, (int32_t[]){2, 4}, (int32_t[]){2, 1});
    CHECK(run_op(KN_OP_SLICE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 2, 4));
    float want3[8] = {0, 1, 2, 3, 8, 9, 10, 11};
    CHECK_ARRAY_NEAR(y, want3, 8, 0);
    /* Everything: one copy. */
    p = slice_params(2, (int32_t[]){0, 0}, (int32_t[]){3, 4}, (int32_t[]){1, 1});
    CHECK(run_op(KN_OP_SLICE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 3, 4));
    CHECK_ARRAY_NEAR(y, x, 12, 0);
    /* A size-1 dim may have any stride. */
    p = slice_params(2, (int32_t[]){2, 1}, (int32_t[]){1, 3}, (int32_t[]){INT32_MAX, 1});
    CHECK(run_op(KN_OP_SLICE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 1, 3));
    float want4[3] = {9, 10, 11};
    CHECK_ARRAY_NEAR(y, want4, 3, 0);
}

/* Trailing whole dims are blocks: x [2,3,2,2] reversed along dim 1. */
static void slice_blocks_and_bytes(void) {
    float x[24], y[24];
    uint8_t xb[24], yb[24];
    for (int i = 0; i < 24; i++) {
        x[i] = (float)i;
        xb[i] = (uint8_t)i;
    }
    kn_tensor tx = tensor(KILN_FLOAT32, x, 4, 2, 3, 2, 2), ty = tensor(KILN_FLOAT32, y, 0);
    kn_slice_params p = slice_params(4, (int32_t[]){0, 2, 0, 0}, (int32_t[]){2, 3, 2, 2}, (int32_t[]){1, -1, 1, 1});
    CHECK(run_op(KN_OP_SLICE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 4, 2, 3, 2, 2));
    float want[24] = {8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3, 20, 21, 22, 23, 16, 17, 18, 19, 12, 13, 14, 15};
    CHECK_ARRAY_NEAR(y, want, 24, 0);
    kn_tensor tb = tensor(KILN_UINT8, xb, 4, 2, 3, 2, 2), tyb = tensor(KILN_UINT8, yb, 0);
    CHECK(run_op(KN_OP_SLICE, &p, (kn_tensor *[]){&tb}, 1, &tyb, 1) == KILN_OK && tyb.dtype == KILN_UINT8);
    for (int i = 0; i < 24; i++) CHECK(yb[i] == (uint8_t)want[i]);
    /* uint8 with a 4-byte block: the last dim of 4 taken whole, dim 0 stepped. */
    kn_tensor tb2 = tensor(KILN_UINT8, xb, 2, 6, 4);
    p = slice_params(2, (int32_t[]){5, 0}, (int32_t[]){3, 4}, (int32_t[]){-2, 1});
    CHECK(run_op(KN_OP_SLICE, &p, (kn_tensor *[]){&tb2}, 1, &tyb, 1) == KILN_OK && has_dims(&tyb, 2, 3, 4));
    uint8_t want2[12] = {20, 21, 22, 23, 12, 13, 14, 15, 4, 5, 6, 7};
    CHECK(memcmp(yb, want2, 12) == 0);
}

/* Size 0 in any dim gives an empty result; nothing is read or written. */
static void slice_empty(void) {
    float x[6] = {1, 2, 3, 4, 5, 6}, y[1] = {42};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3), ty = tensor(KILN_FLOAT32, y, 0);
    kn_slice_params p = slice_params(2, (int32_t[]){7, 0}, (int32_t[]){0, 3}, (int32_t[]){1, 1});
    CHECK(run_op(KN_OP_SLICE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 0, 3));
    CHECK(y[0] == 42);
    kn_tensor te = tensor(KILN_FLOAT32, x, 2, 0, 3);
    p = slice_params(2, (int32_t[]){0, 1}, (int32_t[]){0, 2}, (int32_t[]){1, 1});
    CHECK(run_op(KN_OP_SLICE, &p, (kn_tensor *[]){&te}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 0, 2));
    /* A scalar slices to itself. */
    kn_tensor ts = tensor(KILN_FLOAT32, x, 0);
    kn_slice_params none = {.begin = {0}};
    CHECK(run_op(KN_OP_SLICE, &none, (kn_tensor *[]){&ts}, 1, &ty, 1) == KILN_OK && ty.rank == 0 && y[0] == 1);
}

static void naive_slice(const float *x, const int32_t *x_dims, int rank, const kn_slice_params *p, float *y) {
    size_t n = count_of(p->size, rank);
    int64_t idx[KILN_MAX_RANK];
    for (size_t i = 0; i < n; i++) {
        unravel(i, p->size, rank, idx);
        for (int d = 0; d < rank; d++) idx[d] = p->begin[d] + idx[d] * p->stride[d];
        y[i] = x[ravel(idx, x_dims, rank)];
    }
}

/* Random shapes, strides of both signs and sizes, float32 and uint8. */
static void slice_matches_reference(void) {
    float x[1024], y[1024], want[1024];
    uint8_t xb[1024], yb[1024];
    for (int i = 0; i < 1024; i++) {
        x[i] = (float)i;
        xb[i] = (uint8_t)(i * 7);
    }
    for (int trial = 0; trial < 300; trial++) {
        int rank = rand_int(1, 5);
        int32_t dims[KILN_MAX_RANK];
        kn_slice_params p = {.begin = {0}};
        for (int d = 0; d < rank; d++) {
            dims[d] = rand_int(1, 4);
            int32_t stride = rand_int(1, 3) * (rand_int(0, 1) ? 1 : -1);
            int32_t reach = (dims[d] - 1) / (stride < 0 ? -stride : stride) + 1; /* most indices at this stride */
            int32_t size = rand_int(0, 4) ? rand_int(1, reach) : 0;
            int32_t span = size ? (size - 1) * (stride < 0 ? -stride : stride) : 0;
            int32_t first = rand_int(0, dims[d] - 1 - span); /* the lowest index read */
            p.begin[d] = stride > 0 ? first : first + span;
            p.size[d] = size;
            p.stride[d] = stride;
            if (rand_int(0, 3) == 0) { /* sometimes the whole dim, to make blocks */
                p.begin[d] = 0;
                p.size[d] = dims[d];
                p.stride[d] = 1;
            }
        }
        kn_tensor tx = tensor(KILN_FLOAT32, x, 0), ty = tensor(KILN_FLOAT32, y, 0);
        kn_set_shape(&tx, KILN_FLOAT32, rank, dims);
        CHECK(run_op(KN_OP_SLICE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK);
        naive_slice(x, dims, rank, &p, want);
        size_t n = count_of(p.size, rank);
        CHECK_ARRAY_NEAR(y, want, n, 0);
        kn_tensor tb = tensor(KILN_UINT8, xb, 0), tyb = tensor(KILN_UINT8, yb, 0);
        kn_set_shape(&tb, KILN_UINT8, rank, dims);
        CHECK(run_op(KN_OP_SLICE, &p, (kn_tensor *[]){&tb}, 1, &tyb, 1) == KILN_OK);
        for (size_t i = 0; i < n; i++) CHECK(yb[i] == xb[(size_t)want[i]]);
    }
}

static void slice_errors(void) {
    float x[12];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 3, 4);
    kn_slice_params p = slice_params(2, (int32_t[]){0, 0}, (int32_t[]){3, 4}, (int32_t[]){1, 0});
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SLICE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "stride 0");
    p = slice_params(2, (int32_t[]){0, 0}, (int32_t[]){-1, 4}, (int32_t[]){1, 1});
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SLICE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "size -1");
    p = slice_params(2, (int32_t[]){3, 0}, (int32_t[]){1, 4}, (int32_t[]){1, 1});
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SLICE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "reads index 3");
    p = slice_params(2, (int32_t[]){-1, 0}, (int32_t[]){1, 4}, (int32_t[]){1, 1});
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SLICE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "reads index -1");
    p = slice_params(2, (int32_t[]){0, 1}, (int32_t[]){3, 2}, (int32_t[]){1, -1}); /* reads 1, 0 then -1 */
    p.size[1] = 3;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SLICE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "reads index -1");
    p = slice_params(2, (int32_t[]){0, 1}, (int32_t[]){3, 2}, (int32_t[]){1, 3}); /* reads 1, 4 */
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SLICE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "reads index 4");
    /* The last index overflows int32 but not the check. */
    p = slice_params(2, (int32_t[]){INT32_MAX, 0}, (int32_t[]){INT32_MAX, 4}, (int32_t[]){INT32_MAX, 1});
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SLICE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "dim 0");
    p = slice_params(2, (int32_t[]){0, 3}, (int32_t[]){3, INT32_MAX}, (int32_t[]){1, INT32_MIN});
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SLICE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "dim 1");
    p = slice_params(2, (int32_t[]){0, 0}, (int32_t[]){3, 4}, (int32_t[]){1, 1});
    p.stride[2] = 1;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SLICE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "expected zeros past the rank");
    p.stride[2] = 0;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SLICE, &p, ((kn_tensor *[]){&tx, &tx}), 2, 1, "expected 1 inputs");
}

/* ---- TILE ---------------------------------------------------------------- */

static void tile_2d(void) {
    float x[6] = {1, 2, 3, 4, 5, 6}, y[36];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3), ty = tensor(KILN_FLOAT32, y, 0);
    kn_tile_params p = {.multiples = {2, 1}};
    CHECK(run_op(KN_OP_TILE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 4, 3));
    float want1[12] = {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6};
    CHECK_ARRAY_NEAR(y, want1, 12, 0);
    p = (kn_tile_params){.multiples = {1, 3}};
    CHECK(run_op(KN_OP_TILE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 2, 9));
    float want2[18] = {1, 2, 3, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 4, 5, 6};
    CHECK_ARRAY_NEAR(y, want2, 18, 0);
    p = (kn_tile_params){.multiples = {2, 2}};
    CHECK(run_op(KN_OP_TILE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 4, 6));
    float want3[24] = {1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6};
    CHECK_ARRAY_NEAR(y, want3, 24, 0);
    /* A column repeated 5 times: the doubling copies 1, 2 then 2 more. */
    kn_tensor tc = tensor(KILN_FLOAT32, x, 2, 3, 1);
    p = (kn_tile_params){.multiples = {1, 5}};
    CHECK(run_op(KN_OP_TILE, &p, (kn_tensor *[]){&tc}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 3, 5));
    float want4[15] = {1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3};
    CHECK_ARRAY_NEAR(y, want4, 15, 0);
}

static void tile_edges(void) {
    float x[6] = {1, 2, 3, 4, 5, 6}, y[8] = {42};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3), ty = tensor(KILN_FLOAT32, y, 0);
    kn_tile_params p = {.multiples = {0, 2}};
    CHECK(run_op(KN_OP_TILE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 0, 6));
    CHECK(y[0] == 42);
    kn_tensor te = tensor(KILN_FLOAT32, x, 2, 2, 0);
    p = (kn_tile_params){.multiples = {3, 3}};
    CHECK(run_op(KN_OP_TILE, &p, (kn_tensor *[]){&te}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 6, 0));
    kn_tensor ts = tensor(KILN_FLOAT32, x, 0);
    kn_tile_params none = {.multiples = {0}};
    CHECK(run_op(KN_OP_TILE, &none, (kn_tensor *[]){&ts}, 1, &ty, 1) == KILN_OK && ty.rank == 0 && y[0] == 1);
    uint8_t b[2] = {7, 9}, yb[8];
    kn_tensor tb = tensor(KILN_BOOL, b, 1, 2), tyb = tensor(KILN_BOOL, yb, 0);
    p = (kn_tile_params){.multiples = {4}};
    CHECK(run_op(KN_OP_TILE, &p, (kn_tensor *[]){&tb}, 1, &tyb, 1) == KILN_OK && has_dims(&tyb, 1, 8) && tyb.dtype == KILN_BOOL);
    uint8_t want[8] = {7, 9, 7, 9, 7, 9, 7, 9};
    CHECK(memcmp(yb, want, 8) == 0);
}

static void tile_matches_reference(void) {
    float x[64], y[4096], want[4096];
    for (int i = 0; i < 64; i++) x[i] = (float)i;
    for (int trial = 0; trial < 200; trial++) {
        int rank = rand_int(1, 4);
        int32_t dims[KILN_MAX_RANK], ydims[KILN_MAX_RANK];
        kn_tile_params p = {.multiples = {0}};
        for (int d = 0; d < rank; d++) {
            dims[d] = rand_int(1, 2 + (rank < 3));
            p.multiples[d] = rand_int(0, 4) ? rand_int(1, 3) : 0;
            ydims[d] = dims[d] * p.multiples[d];
        }
        kn_tensor tx = tensor(KILN_FLOAT32, x, 0), ty = tensor(KILN_FLOAT32, y, 0);
        kn_set_shape(&tx, KILN_FLOAT32, rank, dims);
        CHECK(run_op(KN_OP_TILE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK);
        CHECK(ty.rank == rank && memcmp(ty.dims, ydims, sizeof(int32_t) * (size_t)rank) == 0);
        size_t n = count_of(ydims, rank);
        int64_t idx[KILN_MAX_RANK];
        for (size_t i = 0; i < n; i++) {
            unravel(i, ydims, rank, idx);
            for (int d = 0; d < rank; d++) idx[d] %= dims[d];
            want[i] = x[ravel(idx, dims, rank)];
        }
        CHECK_ARRAY_NEAR(y, want, n, 0);
    }
}

static void tile_errors(void) {
    float x[4];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 2);
    kn_tile_params p = {.multiples = {1, -1}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_TILE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "multiple -1");
    p = (kn_tile_params){.multiples = {1, 1, 1}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_TILE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "expected 0 past the rank");
    kn_tensor big = tensor(KILN_FLOAT32, x, 2, 65536, 4);
    p = (kn_tile_params){.multiples = {65536, 1}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_TILE, &p, ((kn_tensor *[]){&big, &big}), 1, 1, "more than int32 holds");
    p = (kn_tile_params){.multiples = {16384, 1}}; /* 2^30 rows of 4: too many elements */
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_TILE, &p, ((kn_tensor *[]){&big, &big}), 1, 1, "elements");
}

/* ---- TRANSPOSE ----------------------------------------------------------- */

static void transpose_2d_and_nhwc(void) {
    float x[24], y[24];
    for (int i = 0; i < 24; i++) x[i] = (float)i;
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3), ty = tensor(KILN_FLOAT32, y, 0);
    kn_transpose_params p = {.perm = {1, 0}};
    CHECK(run_op(KN_OP_TRANSPOSE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 2, 3, 2));
    float want1[6] = {0, 3, 1, 4, 2, 5};
    CHECK_ARRAY_NEAR(y, want1, 6, 0);
    /* NHWC [1,2,3,4] -> NCHW [1,4,2,3]. */
    tx = tensor(KILN_FLOAT32, x, 4, 1, 2, 3, 4);
    p = (kn_transpose_params){.perm = {0, 3, 1, 2}};
    CHECK(run_op(KN_OP_TRANSPOSE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 4, 1, 4, 2, 3));
    float want2[24] = {0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23};
    CHECK_ARRAY_NEAR(y, want2, 24, 0);
    /* Keeping the innermost dim: rows of 4 move whole. [2,3,4] -> [3,2,4]. */
    tx = tensor(KILN_FLOAT32, x, 3, 2, 3, 4);
    p = (kn_transpose_params){.perm = {1, 0, 2}};
    CHECK(run_op(KN_OP_TRANSPOSE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 3, 3, 2, 4));
    float want3[24] = {0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23};
    CHECK_ARRAY_NEAR(y, want3, 24, 0);
    /* Identity, and moving only size-1 dims: plain copies. */
    p = (kn_transpose_params){.perm = {0, 1, 2}};
    CHECK(run_op(KN_OP_TRANSPOSE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK);
    CHECK_ARRAY_NEAR(y, x, 24, 0);
    tx = tensor(KILN_FLOAT32, x, 4, 1, 6, 1, 4);
    p = (kn_transpose_params){.perm = {2, 1, 0, 3}};
    CHECK(run_op(KN_OP_TRANSPOSE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 4, 1, 6, 1, 4));
    CHECK_ARRAY_NEAR(y, x, 24, 0);
}

static void transpose_edges(void) {
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {42};
    kn_tensor te = tensor(KILN_FLOAT32, x, 3, 2, 0, 3), ty = tensor(KILN_FLOAT32, y, 0);
    kn_transpose_params p = {.perm = {2, 0, 1}};
    CHECK(run_op(KN_OP_TRANSPOSE, &p, (kn_tensor *[]){&te}, 1, &ty, 1) == KILN_OK && has_dims(&ty, 3, 3, 2, 0));
    CHECK(y[0] == 42);
    kn_tensor ts = tensor(KILN_FLOAT32, x, 0);
    kn_transpose_params none = {.perm = {0}};
    CHECK(run_op(KN_OP_TRANSPOSE, &none, (kn_tensor *[]){&ts}, 1, &ty, 1) == KILN_OK && ty.rank == 0 && y[0] == 1);
    uint8_t b[6] = {1, 2, 3, 4, 5, 6}, yb[6];
    kn_tensor tb = tensor(KILN_UINT8, b, 2, 3, 2), tyb = tensor(KILN_UINT8, yb, 0);
    p = (kn_transpose_params){.perm = {1, 0}};
    CHECK(run_op(KN_OP_TRANSPOSE, &p, (kn_tensor *[]){&tb}, 1, &tyb, 1) == KILN_OK && has_dims(&tyb, 2, 2, 3));
    uint8_t want[6] = {1, 3, 5, 2, 4, 6};
    CHECK(memcmp(yb, want, 6) == 0);
}

static void transpose_matches_reference(void) {
    float x[2048], y[2048], want[2048];
    int32_t xi[2048], yi[2048];
    for (int i = 0; i < 2048; i++) {
        x[i] = (float)i;
        xi[i] = -i;
    }
    for (int trial = 0; trial < 200; trial++) {
        int rank = rand_int(1, 6);
        int32_t dims[KILN_MAX_RANK], ydims[KILN_MAX_RANK];
        kn_transpose_params p = {.perm = {0}};
        for (int d = 0; d < rank; d++) {
            dims[d] = rand_int(1, 3);
            p.perm[d] = d;
        }
        for (int d = rank - 1; d > 0; d--) { /* Fisher-Yates */
            int j = rand_int(0, d);
            int32_t t = p.perm[d];
            p.perm[d] = p.perm[j];
            p.perm[j] = t;
        }
        for (int d = 0; d < rank; d++) ydims[d] = dims[p.perm[d]];
        kn_tensor tx = tensor(KILN_FLOAT32, x, 0), ty = tensor(KILN_FLOAT32, y, 0);
        kn_set_shape(&tx, KILN_FLOAT32, rank, dims);
        CHECK(run_op(KN_OP_TRANSPOSE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK);
        CHECK(ty.rank == rank && memcmp(ty.dims, ydims, sizeof(int32_t) * (size_t)rank) == 0);
        size_t n = count_of(ydims, rank);
        int64_t idx[KILN_MAX_RANK], from[KILN_MAX_RANK];
        for (size_t i = 0; i < n; i++) {
            unravel(i, ydims, rank, idx);
            for (int d = 0; d < rank; d++) from[p.perm[d]] = idx[d];
            want[i] = x[ravel(from, dims, rank)];
        }
        CHECK_ARRAY_NEAR(y, want, n, 0);
        kn_tensor ti = tensor(KILN_INT32, xi, 0), tyi = tensor(KILN_INT32, yi, 0);
        kn_set_shape(&ti, KILN_INT32, rank, dims);
        CHECK(run_op(KN_OP_TRANSPOSE, &p, (kn_tensor *[]){&ti}, 1, &tyi, 1) == KILN_OK && tyi.dtype == KILN_INT32);
        for (size_t i = 0; i < n; i++) CHECK(yi[i] == -(int32_t)want[i]);
    }
}

/* Shapes past the 16x16 tiles of the 2-D path, with ragged edges, both widths. */
static void transpose_large(void) {
    static const struct {
        int rank;
        int32_t dims[4], perm[4];
    } cases[] = {
        {2, {33, 18}, {1, 0}},
        {4, {1, 37, 21, 5}, {0, 3, 1, 2}},
        {4, {2, 5, 17, 40}, {0, 2, 3, 1}},
        {3, {20, 3, 35}, {2, 1, 0}},
    };
    static float x[8000], y[8000];
    static uint8_t xb[8000], yb[8000];
    for (int i = 0; i < 8000; i++) {
        x[i] = (float)i;
        xb[i] = (uint8_t)(i * 13);
    }
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int rank = cases[k].rank;
        const int32_t *dims = cases[k].dims, *perm = cases[k].perm;
        kn_transpose_params p = {.perm = {0}};
        int32_t ydims[KILN_MAX_RANK];
        for (int d = 0; d < rank; d++) {
            p.perm[d] = perm[d];
            ydims[d] = dims[perm[d]];
        }
        kn_tensor tx = tensor(KILN_FLOAT32, x, 0), ty = tensor(KILN_FLOAT32, y, 0);
        kn_tensor tb = tensor(KILN_UINT8, xb, 0), tyb = tensor(KILN_UINT8, yb, 0);
        kn_set_shape(&tx, KILN_FLOAT32, rank, dims);
        kn_set_shape(&tb, KILN_UINT8, rank, dims);
        CHECK(run_op(KN_OP_TRANSPOSE, &p, (kn_tensor *[]){&tx}, 1, &ty, 1) == KILN_OK);
        CHECK(run_op(KN_OP_TRANSPOSE, &p, (kn_tensor *[]){&tb}, 1, &tyb, 1) == KILN_OK);
        size_t n = count_of(ydims, rank), bad = 0;
        int64_t idx[KILN_MAX_RANK], from[KILN_MAX_RANK];
        for (size_t i = 0; i < n; i++) {
            unravel(i, ydims, rank, idx);
            for (int d = 0; d < rank; d++) from[perm[d]] = idx[d];
            size_t at = ravel(from, dims, rank);
            bad += y[i] != x[at] || yb[i] != xb[at];
        }
        CHECK(bad == 0);
    }
}

static void transpose_errors(void) {
    float x[6];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3);
    kn_transpose_params p = {.perm = {0, 0}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_TRANSPOSE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "expected a permutation of 0..1");
    p = (kn_transpose_params){.perm = {1, 2}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_TRANSPOSE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "perm[1] is 2");
    p = (kn_transpose_params){.perm = {-1, 0}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_TRANSPOSE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "perm[0] is -1");
    p = (kn_transpose_params){.perm = {1, 0, 2}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_TRANSPOSE, &p, ((kn_tensor *[]){&tx, &tx}), 1, 1, "expected 0 past the rank");
}

int main(void) {
    RUN(cast_float_to_int);
    RUN(cast_to_uint8_and_bool);
    RUN(cast_from_int_uint8_bool);
    RUN(cast_shapes);
    RUN(cast_errors);
    RUN(slice_2d);
    RUN(slice_blocks_and_bytes);
    RUN(slice_empty);
    RUN(slice_matches_reference);
    RUN(slice_errors);
    RUN(tile_2d);
    RUN(tile_edges);
    RUN(tile_matches_reference);
    RUN(tile_errors);
    RUN(transpose_2d_and_nhwc);
    RUN(transpose_edges);
    RUN(transpose_matches_reference);
    RUN(transpose_large);
    RUN(transpose_errors);
    return check_summary();
}
