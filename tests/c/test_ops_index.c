/* Ops GATHER, GATHER_ND, SELECT, ARG, TOPK, SCATTER_ND: hand-computed values,
 * batch dims, out-of-range indices, ties and NaN, broadcasting and top-k
 * against naive references on random shapes, empty tensors, and the errors
 * infer reports. Steps and tensors are built directly. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "kn.h"
#include "ops/params.h"

/* ---- Helpers ------------------------------------------------------------- */

static bool bytes_equal(const uint8_t *got, const uint8_t *want, size_t n) {
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            fprintf(stderr, "  [%zu] = %u, want %u\n", i, got[i], want[i]);
            ok = false;
        }
    return ok;
}

/* A small deterministic generator for the random cases. */
static uint32_t rng_state = 777;
static int rand_int(int lo, int hi) { /* inclusive */
    rng_state = rng_state * 1664525u + 1013904223u;
    return lo + (int)((rng_state >> 8) % (uint32_t)(hi - lo + 1));
}

/* ---- GATHER -------------------------------------------------------------- */

static kiln_status gather(int axis, int batch_dims, kn_tensor *x, kn_tensor *idx, kn_tensor *y) {
    kn_gather_params p = {.axis = axis, .batch_dims = batch_dims};
    kn_tensor *in[2] = {x, idx};
    return run_op(KN_OP_GATHER, &p, in, 2, y, 1);
}

static void gather_rows(void) {
    float x[6] = {0, 1, 10, 11, 20, 21}, y[8];
    int32_t i[4] = {2, 0, 1, 2};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 3, 2), ti = tensor(KILN_INT32, i, 2, 2, 2);
    kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(gather(0, 0, &tx, &ti, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 3, 2, 2, 2));
    float want[8] = {20, 21, 0, 1, 10, 11, 20, 21};
    CHECK_ARRAY_NEAR(y, want, 8, 0);
}

/* x[i][j][k] = 100i + 10j + k, gathered along the middle axis. */
static void gather_inner_axis(void) {
    float x[12], y[8];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++) x[i * 6 + j * 2 + k] = (float)(100 * i + 10 * j + k);
    int32_t idx[2] = {2, 0};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 3, 2, 3, 2), ti = tensor(KILN_INT32, idx, 1, 2);
    kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(gather(1, 0, &tx, &ti, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 3, 2, 2, 2));
    float want[8] = {20, 21, 0, 1, 120, 121, 100, 101};
    CHECK_ARRAY_NEAR(y, want, 8, 0);
    /* The last axis, with a scalar index: the axis goes away. */
    int32_t one = 1;
    kn_tensor ts = tensor(KILN_INT32, &one, 0);
    CHECK(gather(2, 0, &tx, &ts, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 2, 2, 3));
    float want_last[6] = {1, 11, 21, 101, 111, 121};
    CHECK_ARRAY_NEAR(y, want_last, 6, 0);
}

static void gather_batch_dims(void) {
    /* batch_dims 1, axis 1: y[b][i] = x[b][idx[b][i]]. */
    float x[6] = {0, 1, 2, 10, 11, 12}, y[6];
    int32_t idx[4] = {2, 0, 1, 1};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3), ti = tensor(KILN_INT32, idx, 2, 2, 2);
    kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(gather(1, 1, &tx, &ti, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 2, 2, 2));
    float want[4] = {2, 0, 11, 11};
    CHECK_ARRAY_NEAR(y, want, 4, 0);

    /* batch_dims 1, axis 2 over x[2,2,3]: an outer dim between batch and
     * axis, and the indices' own dims after the batch: y[b][o][i] = x[b][o][idx[b][i]]. */
    float x3[12];
    for (int v = 0; v < 12; v++) x3[v] = (float)v;
    int32_t idx3[2] = {2, 0};
    kn_tensor t3 = tensor(KILN_FLOAT32, x3, 3, 2, 2, 3), ti3 = tensor(KILN_INT32, idx3, 2, 2, 1);
    CHECK(gather(2, 1, &t3, &ti3, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 3, 2, 2, 1));
    float want3[4] = {2, 5, 6, 9};
    CHECK_ARRAY_NEAR(y, want3, 4, 0);

    /* batch_dims == rank of indices: one index per batch row. */
    int32_t idx1[2] = {1, 2};
    kn_tensor ti1 = tensor(KILN_INT32, idx1, 1, 2);
    CHECK(gather(1, 1, &tx, &ti1, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 1, 2));
    float want1[2] = {1, 12};
    CHECK_ARRAY_NEAR(y, want1, 2, 0);
}

/* Out-of-range indices give zeros; uint8 and int32 data copy exactly. */
static void gather_out_of_range(void) {
    float x[3] = {5, 6, 7}, y[5];
    int32_t idx[5] = {-1, 3, 1, INT32_MIN, INT32_MAX};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 1, 3), ti = tensor(KILN_INT32, idx, 1, 5);
    kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(gather(0, 0, &tx, &ti, &ty) == KILN_OK);
    float want[5] = {0, 0, 6, 0, 0};
    CHECK_ARRAY_NEAR(y, want, 5, 0);

    uint8_t xb[6] = {1, 2, 3, 4, 5, 6}, yb[6];
    int32_t ib[3] = {1, 7, 0};
    kn_tensor txb = tensor(KILN_UINT8, xb, 2, 3, 2), tib = tensor(KILN_INT32, ib, 1, 3);
    kn_tensor tyb = tensor(KILN_UINT8, yb, 0);
    CHECK(gather(0, 0, &txb, &tib, &tyb) == KILN_OK);
    CHECK(has_shape(&tyb, KILN_UINT8, 2, 3, 2));
    uint8_t wantb[6] = {3, 4, 0, 0, 1, 2};
    CHECK(bytes_equal(yb, wantb, 6));

    int32_t xi[4] = {-5, INT32_MAX, INT32_MIN, 9}, yi[4];
    int32_t ii[4] = {3, 2, 1, 4};
    kn_tensor txi = tensor(KILN_INT32, xi, 1, 4), tii = tensor(KILN_INT32, ii, 1, 4);
    kn_tensor tyi = tensor(KILN_INT32, yi, 0);
    CHECK(gather(0, 0, &txi, &tii, &tyi) == KILN_OK);
    int32_t wanti[4] = {9, INT32_MIN, INT32_MAX, 0};
    CHECK(ints_equal(yi, wanti, 4));
}

static void gather_empty(void) {
    float x[6] = {0}, y[1] = {42};
    int32_t idx[1] = {0};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 3, 2), ty = tensor(KILN_FLOAT32, y, 0);
    kn_tensor none = tensor(KILN_INT32, idx, 1, 0);
    CHECK(gather(0, 0, &tx, &none, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 2, 0, 2));
    kn_tensor rows0 = tensor(KILN_INT32, idx, 2, 2, 0);
    CHECK(gather(1, 0, &tx, &rows0, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 3, 3, 2, 0));
    /* An empty axis: every index is out of range, so zeros. */
    int32_t two[2] = {0, 0};
    kn_tensor tx0 = tensor(KILN_FLOAT32, x, 2, 1, 0), ti = tensor(KILN_INT32, two, 1, 1);
    CHECK(gather(1, 0, &tx0, &ti, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 2, 1, 1));
    CHECK(y[0] == 0);
    /* Empty params off the axis: nothing to write. */
    kn_tensor tx00 = tensor(KILN_FLOAT32, x, 2, 0, 3);
    y[0] = 42;
    CHECK(gather(1, 0, &tx00, &ti, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 2, 0, 1));
    CHECK(y[0] == 42);
}

static void gather_errors(void) {
    float x[1];
    int32_t i[1];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3), ti = tensor(KILN_INT32, i, 2, 2, 2);
    kn_tensor tf = tensor(KILN_FLOAT32, x, 1, 2), t3 = tensor(KILN_INT32, i, 2, 3, 2);
    kn_tensor *in[2] = {&tx, &ti};
    kn_gather_params p = {.axis = 2};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER, &p, in, 2, 1, "axis 2 is out of range");
    p.axis = -1;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER, &p, in, 2, 1, "axis -1 is out of range");
    p = (kn_gather_params){.axis = 0, .batch_dims = 1};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER, &p, in, 2, 1, "batch_dims 1 must be in [0, 0]");
    p = (kn_gather_params){.axis = 1, .batch_dims = -1};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER, &p, in, 2, 1, "batch_dims -1");
    in[1] = &t3;
    p.batch_dims = 1;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER, &p, in, 2, 1, "batch dim 0 differs");
    in[1] = &tf;
    p.batch_dims = 0;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER, &p, in, 2, 1, "expected int32");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER, &p, in, 1, 1, "expected 2 inputs");
    kn_tensor big = tensor(KILN_FLOAT32, x, 8, 1, 1, 1, 1, 1, 1, 1, 1);
    kn_tensor i3 = tensor(KILN_INT32, i, 3, 1, 1, 1);
    in[0] = &big;
    in[1] = &i3;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER, &p, in, 2, 1, "gives rank 10");
    /* Too many elements: 2^20 params rows gathered by 2^12 indices of 2^20 each. */
    kn_tensor wide = tensor(KILN_FLOAT32, x, 2, 4, 1 << 20), many = tensor(KILN_INT32, i, 1, 1 << 12);
    p.axis = 0;
    in[0] = &wide;
    in[1] = &many;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER, &p, in, 2, 1, "more than");
}

/* ---- GATHER_ND ----------------------------------------------------------- */

static kiln_status gather_nd(kn_tensor *x, kn_tensor *idx, kn_tensor *y) {
    kn_gather_nd_params p = {.batch_dims = 0};
    kn_tensor *in[2] = {x, idx};
    return run_op(KN_OP_GATHER_ND, &p, in, 2, y, 1);
}

static void gather_nd_values(void) {
    float x[6] = {0, 1, 2, 10, 11, 12}, y[12];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3), ty = tensor(KILN_FLOAT32, y, 0);
    /* Elements: k == rank. */
    int32_t i2[6] = {0, 1, 1, 2, 1, 0};
    kn_tensor ti2 = tensor(KILN_INT32, i2, 2, 3, 2);
    CHECK(gather_nd(&tx, &ti2, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 1, 3));
    float want2[3] = {1, 12, 10};
    CHECK_ARRAY_NEAR(y, want2, 3, 0);
    /* Rows: k = 1, with a leading batch of indices. */
    int32_t i1[2] = {1, 0};
    kn_tensor ti1 = tensor(KILN_INT32, i1, 3, 1, 2, 1);
    CHECK(gather_nd(&tx, &ti1, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 3, 1, 2, 3));
    float want1[6] = {10, 11, 12, 0, 1, 2};
    CHECK_ARRAY_NEAR(y, want1, 6, 0);
    /* k = 0: every row is all of x. */
    kn_tensor ti0 = tensor(KILN_INT32, i1, 2, 2, 0);
    CHECK(gather_nd(&tx, &ti0, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 3, 2, 2, 3));
    float want0[12] = {0, 1, 2, 10, 11, 12, 0, 1, 2, 10, 11, 12};
    CHECK_ARRAY_NEAR(y, want0, 12, 0);
    /* A single index vector: rank-1 indices give a scalar. */
    int32_t iv[2] = {1, 1};
    kn_tensor tiv = tensor(KILN_INT32, iv, 1, 2);
    CHECK(gather_nd(&tx, &tiv, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 0));
    CHECK(y[0] == 11);
}

/* Each coordinate is checked against its own dim: {0, 3} is out of range
 * even though its flat offset 3 lies inside x. */
static void gather_nd_out_of_range(void) {
    int32_t x[6] = {0, 1, 2, 10, 11, 12}, y[4];
    int32_t idx[8] = {0, 3, -1, 0, 1, 2, 2, 0};
    kn_tensor tx = tensor(KILN_INT32, x, 2, 2, 3), ti = tensor(KILN_INT32, idx, 2, 4, 2);
    kn_tensor ty = tensor(KILN_INT32, y, 0);
    CHECK(gather_nd(&tx, &ti, &ty) == KILN_OK);
    int32_t want[4] = {0, 0, 12, 0};
    CHECK(ints_equal(y, want, 4));
    /* Slices of uint8: out-of-range rows are zero rows. */
    uint8_t xb[6] = {1, 2, 3, 4, 5, 6}, yb[6];
    int32_t ib[2] = {5, 1};
    kn_tensor txb = tensor(KILN_UINT8, xb, 2, 2, 3), tib = tensor(KILN_INT32, ib, 2, 2, 1);
    kn_tensor tyb = tensor(KILN_UINT8, yb, 0);
    CHECK(gather_nd(&txb, &tib, &tyb) == KILN_OK);
    uint8_t wantb[6] = {0, 0, 0, 4, 5, 6};
    CHECK(bytes_equal(yb, wantb, 6));
}

static void gather_nd_empty_and_errors(void) {
    float x[6] = {0}, y[1] = {42};
    int32_t i[2] = {0};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3), ty = tensor(KILN_FLOAT32, y, 0);
    kn_tensor none = tensor(KILN_INT32, i, 2, 0, 2);
    CHECK(gather_nd(&tx, &none, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 1, 0));
    CHECK(y[0] == 42);

    kn_tensor k3 = tensor(KILN_INT32, i, 2, 1, 3), scalar = tensor(KILN_INT32, i, 0);
    kn_tensor fl = tensor(KILN_FLOAT32, x, 2, 1, 2);
    kn_tensor *in[2] = {&tx, &k3};
    kn_gather_nd_params p = {.batch_dims = 0};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER_ND, &p, in, 2, 1, "index 3 dims but params");
    in[1] = &scalar;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER_ND, &p, in, 2, 1, "int32 of rank >= 1");
    in[1] = &fl;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER_ND, &p, in, 2, 1, "int32 of rank >= 1");
    p.batch_dims = 1;
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_GATHER_ND, &p, in, 2, 1, "batch_dims 1");
    p.batch_dims = 0;
    kn_tensor big = tensor(KILN_FLOAT32, x, 8, 1, 1, 1, 1, 1, 1, 1, 1);
    kn_tensor i4 = tensor(KILN_INT32, i, 4, 1, 1, 1, 0);
    in[0] = &big;
    in[1] = &i4;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_GATHER_ND, &p, in, 2, 1, "gives rank 11");
}

/* ---- SELECT -------------------------------------------------------------- */

static kiln_status select_op(kn_tensor *c, kn_tensor *a, kn_tensor *b, kn_tensor *y) {
    kn_select_params p = {0};
    kn_tensor *in[3] = {c, a, b};
    return run_op(KN_OP_SELECT, &p, in, 3, y, 1);
}

static void select_same_shape_and_scalar(void) {
    uint8_t c[4] = {1, 0, 0, 2}; /* any nonzero is true */
    float a[4] = {1, 2, 3, 4}, b[4] = {-1, -2, -3, -4}, y[4];
    kn_tensor tc = tensor(KILN_BOOL, c, 2, 2, 2), ta = tensor(KILN_FLOAT32, a, 2, 2, 2);
    kn_tensor tb = tensor(KILN_FLOAT32, b, 2, 2, 2), ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(select_op(&tc, &ta, &tb, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 2, 2, 2));
    float want[4] = {1, -2, -3, 4};
    CHECK_ARRAY_NEAR(y, want, 4, 0);
    /* A scalar condition picks a whole operand. */
    uint8_t t = 1, f = 0;
    kn_tensor tt = tensor(KILN_BOOL, &t, 0), tf = tensor(KILN_BOOL, &f, 0);
    CHECK(select_op(&tt, &ta, &tb, &ty) == KILN_OK);
    CHECK_ARRAY_NEAR(y, a, 4, 0);
    CHECK(select_op(&tf, &ta, &tb, &ty) == KILN_OK);
    CHECK_ARRAY_NEAR(y, b, 4, 0);
    /* Scalars everywhere give a scalar. */
    float sa = 7, sb = 8;
    kn_tensor tsa = tensor(KILN_FLOAT32, &sa, 0), tsb = tensor(KILN_FLOAT32, &sb, 0);
    CHECK(select_op(&tf, &tsa, &tsb, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 0));
    CHECK(y[0] == 8);
}

static void select_broadcast(void) {
    /* cond [2,1], a [1,3], b scalar -> [2,3]. */
    uint8_t c[2] = {0, 1};
    int32_t a[3] = {1, 2, 3}, b = -9, y[6];
    kn_tensor tc = tensor(KILN_BOOL, c, 2, 2, 1), ta = tensor(KILN_INT32, a, 2, 1, 3);
    kn_tensor tb = tensor(KILN_INT32, &b, 0), ty = tensor(KILN_INT32, y, 0);
    CHECK(select_op(&tc, &ta, &tb, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_INT32, 2, 2, 3));
    int32_t want[6] = {-9, -9, -9, 1, 2, 3};
    CHECK(ints_equal(y, want, 6));
    /* cond [3] against a [2,1] and b [2,3]: the condition is the widest only along the last dim. */
    uint8_t c3[3] = {1, 0, 1};
    int32_t a2[2] = {10, 20}, b6[6] = {0, 1, 2, 3, 4, 5};
    kn_tensor tc3 = tensor(KILN_BOOL, c3, 1, 3), ta2 = tensor(KILN_INT32, a2, 2, 2, 1);
    kn_tensor tb6 = tensor(KILN_INT32, b6, 2, 2, 3);
    CHECK(select_op(&tc3, &ta2, &tb6, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_INT32, 2, 2, 3));
    int32_t want3[6] = {10, 1, 10, 20, 4, 20};
    CHECK(ints_equal(y, want3, 6));
    /* uint8 and bool operands move single bytes. */
    uint8_t cb[4] = {1, 0, 1, 0}, ab[2] = {7, 8}, bb[1] = {9}, yb[4];
    kn_tensor tcb = tensor(KILN_BOOL, cb, 2, 2, 2), tab = tensor(KILN_UINT8, ab, 1, 2);
    kn_tensor tbb = tensor(KILN_UINT8, bb, 1, 1), tyb = tensor(KILN_UINT8, yb, 0);
    CHECK(select_op(&tcb, &tab, &tbb, &tyb) == KILN_OK);
    uint8_t wantb[4] = {7, 9, 7, 9};
    CHECK(bytes_equal(yb, wantb, 4));
    tab.dtype = tbb.dtype = KILN_BOOL;
    CHECK(select_op(&tcb, &tab, &tbb, &tyb) == KILN_OK);
    CHECK(tyb.dtype == KILN_BOOL && bytes_equal(yb, wantb, 4));
}

/* Random shapes of rank 0..5 where each operand drops leading dims or has
 * 1s, against a naive loop over the output. */
static void select_random_against_reference(void) {
    static uint8_t c[4096];
    static int32_t a[4096], b[4096], y[4096];
    for (int v = 0; v < 4096; v++) {
        c[v] = (uint8_t)rand_int(0, 1);
        a[v] = v;
        b[v] = -v - 1;
    }
    for (int trial = 0; trial < 300; trial++) {
        int rank = rand_int(0, 5);
        int32_t dims[5];
        for (int d = 0; d < rank; d++) dims[d] = rand_int(1, 4);
        kn_tensor ops[3];
        void *data[3] = {c, a, b};
        kiln_dtype types[3] = {KILN_BOOL, KILN_INT32, KILN_INT32};
        for (int k = 0; k < 3; k++) {
            int r = rand_int(0, rank);
            ops[k] = tensor(types[k], data[k], 0);
            ops[k].rank = r;
            for (int d = 0; d < r; d++) ops[k].dims[d] = rand_int(0, 2) ? dims[rank - r + d] : 1;
        }
        kn_tensor ty = tensor(KILN_INT32, y, 0);
        CHECK(select_op(&ops[0], &ops[1], &ops[2], &ty) == KILN_OK);
        size_t count = 1;
        for (int d = 0; d < ty.rank; d++) count *= (size_t)ty.dims[d];
        bool ok = true;
        for (size_t i = 0; i < count && ok; i++) {
            size_t rest = i, off[3] = {0, 0, 0}, step[3] = {1, 1, 1};
            for (int d = ty.rank - 1; d >= 0; d--) {
                size_t at = rest % (size_t)ty.dims[d];
                rest /= (size_t)ty.dims[d];
                for (int k = 0; k < 3; k++) {
                    int od = d - (ty.rank - ops[k].rank);
                    if (od < 0) continue;
                    if (ops[k].dims[od] != 1) off[k] += at * step[k];
                    step[k] *= (size_t)ops[k].dims[od];
                }
            }
            int32_t want = c[off[0]] ? a[off[1]] : b[off[2]];
            if (y[i] != want) {
                fprintf(stderr, "  trial %d: y[%zu] = %d, want %d\n", trial, i, y[i], want);
                ok = false;
            }
        }
        CHECK(ok);
    }
}

static void select_empty_and_errors(void) {
    uint8_t c[1] = {1};
    float a[3] = {0}, y[1] = {42};
    kn_tensor tc = tensor(KILN_BOOL, c, 2, 0, 1), ta = tensor(KILN_FLOAT32, a, 1, 3);
    kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(select_op(&tc, &ta, &ta, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 2, 0, 3));
    CHECK(y[0] == 42);

    kn_tensor fc = tensor(KILN_FLOAT32, a, 1, 3), ti = tensor(KILN_INT32, a, 1, 3);
    kn_tensor t2 = tensor(KILN_FLOAT32, a, 1, 2), tb = tensor(KILN_BOOL, c, 1, 3);
    kn_select_params p = {0};
    kn_tensor *in[3] = {&fc, &ta, &ta};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SELECT, &p, in, 3, 1, "expected bool");
    in[0] = &tb;
    in[2] = &ti;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SELECT, &p, in, 3, 1, "different dtypes");
    in[2] = &t2;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SELECT, &p, in, 3, 1, "dims 3 and 2 differ");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SELECT, &p, in, 2, 1, "expected 3 inputs");
}

/* ---- ARG ----------------------------------------------------------------- */

static kiln_status arg(int kind, int axis, kn_tensor *x, kn_tensor *y) {
    kn_arg_params p = {.kind = kind, .axis = axis};
    kn_tensor *in[1] = {x};
    return run_op(KN_OP_ARG, &p, in, 1, y, 1);
}

static void arg_values_and_ties(void) {
    float x[6] = {1, 5, 5, 4, -2, 4};
    int32_t y[6];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3), ty = tensor(KILN_INT32, y, 0);
    CHECK(arg(KN_ARG_MAX, 1, &tx, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_INT32, 1, 2));
    CHECK(y[0] == 1 && y[1] == 0); /* first of the tied 5s; first of the tied 4s */
    CHECK(arg(KN_ARG_MIN, 1, &tx, &ty) == KILN_OK);
    CHECK(y[0] == 0 && y[1] == 1);
    /* Axis 0 walks columns (inner > 1). */
    CHECK(arg(KN_ARG_MAX, 0, &tx, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_INT32, 1, 3));
    int32_t want_max0[3] = {1, 0, 0};
    CHECK(ints_equal(y, want_max0, 3));
    CHECK(arg(KN_ARG_MIN, 0, &tx, &ty) == KILN_OK);
    int32_t want_min0[3] = {0, 1, 1};
    CHECK(ints_equal(y, want_min0, 3));
    /* int32 extremes and uint8. */
    int32_t xi[4] = {INT32_MIN, 3, INT32_MAX, INT32_MAX};
    kn_tensor txi = tensor(KILN_INT32, xi, 1, 4);
    CHECK(arg(KN_ARG_MAX, 0, &txi, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_INT32, 0) && y[0] == 2);
    CHECK(arg(KN_ARG_MIN, 0, &txi, &ty) == KILN_OK);
    CHECK(y[0] == 0);
    uint8_t xb[6] = {3, 255, 0, 0, 255, 3};
    kn_tensor txb = tensor(KILN_UINT8, xb, 3, 2, 1, 3);
    CHECK(arg(KN_ARG_MAX, 2, &txb, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_INT32, 2, 2, 1) && y[0] == 1 && y[1] == 1);
    CHECK(arg(KN_ARG_MIN, 2, &txb, &ty) == KILN_OK);
    CHECK(y[0] == 2 && y[1] == 0);
    /* A dim of 1: always index 0. */
    CHECK(arg(KN_ARG_MAX, 1, &txb, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_INT32, 2, 2, 3));
    int32_t zeros[6] = {0};
    CHECK(ints_equal(y, zeros, 6));
}

/* As tfjs: a NaN is picked only when it comes first; elsewhere it is never
 * greater or less than the best so far. Infinities compare as numbers. */
static void arg_nan(void) {
    float x[9] = {NAN, 1, 2, 1, NAN, 3, -INFINITY, NAN, -INFINITY};
    int32_t y[3];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 3, 3), ty = tensor(KILN_INT32, y, 0);
    CHECK(arg(KN_ARG_MAX, 1, &tx, &ty) == KILN_OK);
    int32_t want_max[3] = {0, 2, 0};
    CHECK(ints_equal(y, want_max, 3));
    CHECK(arg(KN_ARG_MIN, 1, &tx, &ty) == KILN_OK);
    int32_t want_min[3] = {0, 0, 0};
    CHECK(ints_equal(y, want_min, 3));
    /* The same rows as columns: axis 0, walked one inner row at a time. */
    float xt[9] = {NAN, 1, -INFINITY, 1, NAN, NAN, 2, 3, -INFINITY};
    kn_tensor txt = tensor(KILN_FLOAT32, xt, 2, 3, 3);
    CHECK(arg(KN_ARG_MAX, 0, &txt, &ty) == KILN_OK);
    CHECK(ints_equal(y, want_max, 3));
    CHECK(arg(KN_ARG_MIN, 0, &txt, &ty) == KILN_OK);
    CHECK(ints_equal(y, want_min, 3));
}

static void arg_empty_and_errors(void) {
    float x[1] = {0};
    int32_t y[1] = {42};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 0, 3), ty = tensor(KILN_INT32, y, 0);
    CHECK(arg(KN_ARG_MAX, 1, &tx, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_INT32, 1, 0));
    CHECK(y[0] == 42);

    kn_tensor *in[1] = {&tx};
    kn_arg_params p = {.kind = KN_ARG_MAX, .axis = 0};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_ARG, &p, in, 1, 1, "axis 0 of float32[0,3] is empty");
    p.axis = 2;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_ARG, &p, in, 1, 1, "axis 2 is out of range");
    p.axis = -1;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_ARG, &p, in, 1, 1, "axis -1 is out of range");
    p = (kn_arg_params){.kind = 2, .axis = 1};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_ARG, &p, in, 1, 1, "unknown arg kind 2");
    kn_tensor tb = tensor(KILN_BOOL, x, 1, 1), ts = tensor(KILN_FLOAT32, x, 0);
    p.kind = KN_ARG_MIN;
    p.axis = 0;
    in[0] = &tb;
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_ARG, &p, in, 1, 1, "only float32, int32 and uint8");
    in[0] = &ts;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_ARG, &p, in, 1, 1, "out of range for float32[]");
}

/* ---- TOPK ---------------------------------------------------------------- */

static kiln_status topk(int k, kn_tensor *x, kn_tensor *vals, kn_tensor *ids) {
    kn_topk_params p = {.k = k};
    kn_tensor *in[1] = {x};
    kn_tensor out[2] = {*vals, *ids};
    kiln_status st = run_op(KN_OP_TOPK, &p, in, 1, out, 2);
    *vals = out[0];
    *ids = out[1];
    return st;
}

static void topk_values_and_ties(void) {
    float x[10] = {1, 3, 3, 2, 3, 0, -1, 7, 7, -5}, v[10];
    int32_t ids[10];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 5), tv = tensor(KILN_FLOAT32, v, 0), ti = tensor(KILN_INT32, ids, 0);
    CHECK(topk(2, &tx, &tv, &ti) == KILN_OK);
    CHECK(has_shape(&tv, KILN_FLOAT32, 2, 2, 2) && has_shape(&ti, KILN_INT32, 2, 2, 2));
    float want_v[4] = {3, 3, 7, 7};
    int32_t want_i[4] = {1, 2, 2, 3};
    CHECK_ARRAY_NEAR(v, want_v, 4, 0);
    CHECK(ints_equal(ids, want_i, 4));
    /* k = dim sorts every row; ties stay in index order. */
    CHECK(topk(5, &tx, &tv, &ti) == KILN_OK);
    float want_all_v[10] = {3, 3, 3, 2, 1, 7, 7, 0, -1, -5};
    int32_t want_all_i[10] = {1, 2, 4, 3, 0, 2, 3, 0, 1, 4};
    CHECK_ARRAY_NEAR(v, want_all_v, 10, 0);
    CHECK(ints_equal(ids, want_all_i, 10));
    /* k = 0: an empty last dim. */
    CHECK(topk(0, &tx, &tv, &ti) == KILN_OK);
    CHECK(has_shape(&tv, KILN_FLOAT32, 2, 2, 0) && has_shape(&ti, KILN_INT32, 2, 2, 0));
    /* k = 1 on a vector. */
    CHECK(topk(1, &tx, &tv, &ti) == KILN_OK);
    CHECK(v[0] == 3 && ids[0] == 1 && v[1] == 7 && ids[1] == 2);
}

static void topk_int_and_nan(void) {
    int32_t xi[5] = {INT32_MIN, 4, INT32_MAX, 4, 0}, vi[3], ids[5];
    kn_tensor tx = tensor(KILN_INT32, xi, 1, 5), tv = tensor(KILN_INT32, vi, 0), ti = tensor(KILN_INT32, ids, 0);
    CHECK(topk(3, &tx, &tv, &ti) == KILN_OK);
    int32_t want_v[3] = {INT32_MAX, 4, 4}, want_i[3] = {2, 1, 3};
    CHECK(ints_equal(vi, want_v, 3) && ints_equal(ids, want_i, 3));
    uint8_t xb[4] = {9, 200, 9, 255}, vb[4];
    kn_tensor txb = tensor(KILN_UINT8, xb, 1, 4), tvb = tensor(KILN_UINT8, vb, 0);
    CHECK(topk(4, &txb, &tvb, &ti) == KILN_OK);
    uint8_t want_b[4] = {255, 200, 9, 9};
    int32_t want_bi[4] = {3, 1, 0, 2};
    CHECK(tvb.dtype == KILN_UINT8 && bytes_equal(vb, want_b, 4));
    CHECK(ints_equal(ids, want_bi, 4));
    /* NaN ranks above every number, NaNs among themselves by index. */
    float xf[5] = {1, NAN, INFINITY, NAN, -INFINITY}, vf[5];
    kn_tensor txf = tensor(KILN_FLOAT32, xf, 1, 5), tvf = tensor(KILN_FLOAT32, vf, 0);
    CHECK(topk(5, &txf, &tvf, &ti) == KILN_OK);
    int32_t want_fi[5] = {1, 3, 2, 0, 4};
    CHECK(ints_equal(ids, want_fi, 5));
    CHECK(isnan(vf[0]) && isnan(vf[1]) && vf[2] == INFINITY && vf[3] == 1 && vf[4] == -INFINITY);
}

/* Random rows with many ties, against selection by repeated scans: the
 * best not yet taken, lowest index first among equals. */
static void topk_random_against_reference(void) {
    static float x[4096], v[4096];
    static int32_t ids[4096];
    for (int trial = 0; trial < 200; trial++) {
        int rows = rand_int(1, 4), n = rand_int(1, 200), k = rand_int(0, n);
        int spread = rand_int(1, 50);
        for (int i = 0; i < rows * n; i++) x[i] = (float)rand_int(0, spread);
        kn_tensor tx = tensor(KILN_FLOAT32, x, 2, rows, n), tv = tensor(KILN_FLOAT32, v, 0);
        kn_tensor ti = tensor(KILN_INT32, ids, 0);
        CHECK(topk(k, &tx, &tv, &ti) == KILN_OK);
        bool ok = true;
        for (int r = 0; r < rows && ok; r++) {
            bool taken[200] = {false};
            for (int j = 0; j < k && ok; j++) {
                int best = -1;
                for (int i = 0; i < n; i++)
                    if (!taken[i] && (best < 0 || x[r * n + i] > x[r * n + best])) best = i;
                taken[best] = true;
                if (ids[r * k + j] != best || v[r * k + j] != x[r * n + best]) {
                    fprintf(stderr, "  trial %d row %d: [%d] = %d (%g), want %d (%g)\n", trial, r, j,
                            ids[r * k + j], (double)v[r * k + j], best, (double)x[r * n + best]);
                    ok = false;
                }
            }
        }
        CHECK(ok);
    }
}

static void topk_errors(void) {
    float x[1];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3);
    kn_tensor *in[1] = {&tx};
    kn_topk_params p = {.k = 4};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_TOPK, &p, in, 1, 2, "k 4 must be in [0, 3]");
    p.k = -1;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_TOPK, &p, in, 1, 2, "k -1 must be in [0, 3]");
    p.k = 1;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_TOPK, &p, in, 1, 1, "expected 1 input and 2 outputs");
    kn_tensor ts = tensor(KILN_FLOAT32, x, 0), tb = tensor(KILN_BOOL, x, 1, 3);
    in[0] = &ts;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_TOPK, &p, in, 1, 2, "needs rank >= 1");
    in[0] = &tb;
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_TOPK, &p, in, 1, 2, "only float32, int32 and uint8");
}

/* ---- SCATTER_ND ---------------------------------------------------------- */

static kiln_status scatter(int rank, const int32_t *dims, kn_tensor *idx, kn_tensor *upd, kn_tensor *def,
                           kn_tensor *y) {
    kn_scatter_nd_params p = {.rank = rank};
    memcpy(p.dims, dims, sizeof(int32_t) * (size_t)rank);
    kn_tensor *in[3] = {idx, upd, def};
    return run_op(KN_OP_SCATTER_ND, &p, in, 3, y, 1);
}

static void scatter_values(void) {
    int32_t idx[6] = {0, 1, 1, 2, 1, 0};
    float upd[3] = {5, 6, 7}, def = -1, y[6];
    kn_tensor ti = tensor(KILN_INT32, idx, 2, 3, 2), tu = tensor(KILN_FLOAT32, upd, 1, 3);
    kn_tensor td = tensor(KILN_FLOAT32, &def, 0), ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(scatter(2, (int32_t[]){2, 3}, &ti, &tu, &td, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 2, 2, 3));
    float want[6] = {-1, 5, -1, 7, -1, 6};
    CHECK_ARRAY_NEAR(y, want, 6, 0);
    /* One scalar update for every index. */
    float one = 9;
    kn_tensor ts = tensor(KILN_FLOAT32, &one, 0);
    CHECK(scatter(2, (int32_t[]){2, 3}, &ti, &ts, &td, &ty) == KILN_OK);
    float want_s[6] = {-1, 9, -1, 9, -1, 9};
    CHECK_ARRAY_NEAR(y, want_s, 6, 0);
    /* Rank-1 indices address a vector; a scalar index, one element. */
    int32_t iv[3] = {3, 0, 3};
    int32_t ui[3] = {1, 2, 3}, di = 0, yi[5];
    kn_tensor tiv = tensor(KILN_INT32, iv, 1, 3), tui = tensor(KILN_INT32, ui, 1, 3);
    kn_tensor tdi = tensor(KILN_INT32, &di, 0), tyi = tensor(KILN_INT32, yi, 0);
    CHECK(scatter(1, (int32_t[]){5}, &tiv, &tui, &tdi, &tyi) == KILN_OK);
    CHECK(has_shape(&tyi, KILN_INT32, 1, 5));
    int32_t want_v[5] = {2, 0, 0, 3, 0}; /* index 3 twice: the last update wins */
    CHECK(ints_equal(yi, want_v, 5));
    int32_t is = 4;
    kn_tensor tis = tensor(KILN_INT32, &is, 0), tus = tensor(KILN_INT32, ui, 0);
    CHECK(scatter(1, (int32_t[]){5}, &tis, &tus, &tdi, &tyi) == KILN_OK);
    int32_t want_1[5] = {0, 0, 0, 0, 1};
    CHECK(ints_equal(yi, want_1, 5));
}

static void scatter_out_of_range_and_bytes(void) {
    int32_t idx[8] = {0, 3, -1, 0, 1, 1, 2, 0};
    uint8_t upd[4] = {1, 1, 1, 1}, def = 0, y[6];
    kn_tensor ti = tensor(KILN_INT32, idx, 2, 4, 2), tu = tensor(KILN_BOOL, upd, 1, 4);
    kn_tensor td = tensor(KILN_BOOL, &def, 0), ty = tensor(KILN_BOOL, y, 0);
    CHECK(scatter(2, (int32_t[]){2, 3}, &ti, &tu, &td, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_BOOL, 2, 2, 3));
    uint8_t want[6] = {0, 0, 0, 0, 1, 0};
    CHECK(bytes_equal(y, want, 6));
    uint8_t d8 = 200;
    kn_tensor tu8 = tensor(KILN_UINT8, upd, 1, 4), td8 = tensor(KILN_UINT8, &d8, 0);
    CHECK(scatter(2, (int32_t[]){2, 3}, &ti, &tu8, &td8, &ty) == KILN_OK);
    uint8_t want8[6] = {200, 200, 200, 200, 1, 200};
    CHECK(bytes_equal(y, want8, 6));
}

static void scatter_empty_and_errors(void) {
    int32_t idx[2] = {0, 0};
    float upd[1] = {1}, def = 3, y[4] = {42};
    kn_tensor none = tensor(KILN_INT32, idx, 2, 0, 2), tu0 = tensor(KILN_FLOAT32, upd, 1, 0);
    kn_tensor td = tensor(KILN_FLOAT32, &def, 0), ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(scatter(2, (int32_t[]){2, 2}, &none, &tu0, &td, &ty) == KILN_OK);
    float want[4] = {3, 3, 3, 3};
    CHECK_ARRAY_NEAR(y, want, 4, 0);
    kn_tensor ti = tensor(KILN_INT32, idx, 2, 1, 2), tu = tensor(KILN_FLOAT32, upd, 1, 1);
    y[0] = 42;
    CHECK(scatter(2, (int32_t[]){0, 3}, &ti, &tu, &td, &ty) == KILN_OK);
    CHECK(has_shape(&ty, KILN_FLOAT32, 2, 0, 3));
    CHECK(y[0] == 42);

    kn_scatter_nd_params p = {.rank = 3, .dims = {2, 2, 2}};
    kn_tensor *in[3] = {&ti, &tu, &td};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SCATTER_ND, &p, in, 3, 1, "give 2 coordinates, the output has rank 3");
    p = (kn_scatter_nd_params){.rank = 2, .dims = {2, -1}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SCATTER_ND, &p, in, 3, 1, "dim 1 is -1");
    p = (kn_scatter_nd_params){.rank = 0};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SCATTER_ND, &p, in, 3, 1, "rank 0 is not in [1, 8]");
    p = (kn_scatter_nd_params){.rank = 2, .dims = {2, 2}};
    kn_tensor tu2 = tensor(KILN_FLOAT32, upd, 1, 2), td1 = tensor(KILN_FLOAT32, &def, 1, 1);
    kn_tensor tdi = tensor(KILN_INT32, &def, 0), tif = tensor(KILN_FLOAT32, idx, 2, 1, 2);
    in[1] = &tu2;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SCATTER_ND, &p, in, 3, 1, "expected a scalar or 1 values");
    in[1] = &tu;
    in[2] = &td1;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SCATTER_ND, &p, in, 3, 1, "expected a scalar of the updates' dtype");
    in[2] = &tdi;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SCATTER_ND, &p, in, 3, 1, "expected a scalar of the updates' dtype");
    in[2] = &td;
    in[0] = &tif;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SCATTER_ND, &p, in, 3, 1, "expected int32 of rank 0, 1 or 2");
    in[0] = &ti;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SCATTER_ND, &p, in, 2, 1, "expected 3 inputs");
}

int main(void) {
    RUN(gather_rows);
    RUN(gather_inner_axis);
    RUN(gather_batch_dims);
    RUN(gather_out_of_range);
    RUN(gather_empty);
    RUN(gather_errors);
    RUN(gather_nd_values);
    RUN(gather_nd_out_of_range);
    RUN(gather_nd_empty_and_errors);
    RUN(select_same_shape_and_scalar);
    RUN(select_broadcast);
    RUN(select_random_against_reference);
    RUN(select_empty_and_errors);
    RUN(arg_values_and_ties);
    RUN(arg_nan);
    RUN(arg_empty_and_errors);
    RUN(topk_values_and_ties);
    RUN(topk_int_and_nan);
    RUN(topk_random_against_reference);
    RUN(topk_errors);
    RUN(scatter_values);
    RUN(scatter_out_of_range_and_bytes);
    RUN(scatter_empty_and_errors);
    return check_summary();
}
