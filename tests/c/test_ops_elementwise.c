/* Ops BINARY, UNARY, SOFTMAX, REDUCE, CONCAT, PAD, RESHAPE: hand-computed
 * values, broadcasting and reduction against naive references, and the
 * errors infer reports. Steps and tensors are built directly. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "kn.h"
#include "ops/params.h"





static kiln_status binary(int kind, int act, kn_tensor *a, kn_tensor *b, kn_tensor *y) {
    kn_binary_params p = {.kind = kind, .act = act, .act_alpha = 0.1f};
    kn_tensor *in[2] = {a, b};
    return run_op(KN_OP_BINARY, &p, in, 2, y, 1);
}

/* got[i] matches want[i]: both NaN, the same infinity or signed zero, or
 * within rel * (1 + |want|). Prints the mismatches. */
static bool floats_match(const float *got, const float *want, int n, float rel) {
    bool ok = true;
    for (int i = 0; i < n; i++) {
        float g = got[i], w = want[i];
        bool same = isnan(w) ? isnan(g)
                  : isinf(w) || w == 0 ? g == w && signbit(g) == signbit(w)
                  : fabsf(g - w) <= rel * (1 + fabsf(w));
        if (!same) fprintf(stderr, "  [%d] = %.9g, want %.9g\n", i, (double)g, (double)w);
        ok = ok && same;
    }
    return ok;
}

/* A small deterministic generator for reference tests. */
static uint32_t rng_state = 12345;
static float rand_float(float lo, float hi) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(rng_state >> 8) / (float)(1u << 24);
}

/* ---- BINARY ------------------------------------------------------------- */

static void binary_same_shape(void) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {10, 20, 30, 40, 50, 60}, y[6];
    kn_tensor ta = tensor(KILN_FLOAT32, a, 2, 2, 3), tb = tensor(KILN_FLOAT32, b, 2, 2, 3);
    kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(binary(KN_BINARY_ADD, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 2, 2, 3) && ty.dtype == KILN_FLOAT32);
    float want[6] = {11, 22, 33, 44, 55, 66};
    CHECK_ARRAY_NEAR(y, want, 6, 0);
}

static void binary_scalar_both_ways(void) {
    float a[4] = {1, 2, 3, 4}, s = 10, y[4];
    kn_tensor tv = tensor(KILN_FLOAT32, a, 2, 2, 2), ts = tensor(KILN_FLOAT32, &s, 0);
    kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(binary(KN_BINARY_SUB, KN_ACT_NONE, &tv, &ts, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 2, 2, 2));
    float want_vs[4] = {-9, -8, -7, -6};
    CHECK_ARRAY_NEAR(y, want_vs, 4, 0);
    CHECK(binary(KN_BINARY_SUB, KN_ACT_NONE, &ts, &tv, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 2, 2, 2));
    float want_sv[4] = {9, 8, 7, 6};
    CHECK_ARRAY_NEAR(y, want_sv, 4, 0);
    /* A [1,1] tensor broadcasts like a scalar. */
    kn_tensor t11 = tensor(KILN_FLOAT32, &s, 2, 1, 1);
    CHECK(binary(KN_BINARY_DIV, KN_ACT_NONE, &tv, &t11, &ty) == KILN_OK);
    float want_div[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    CHECK_ARRAY_NEAR(y, want_div, 4, 1e-7);
}

static void binary_column_with_row(void) {
    float a[3] = {1, 2, 3}, b[4] = {10, 20, 30, 40}, y[12];
    kn_tensor ta = tensor(KILN_FLOAT32, a, 2, 3, 1), tb = tensor(KILN_FLOAT32, b, 2, 1, 4);
    kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(binary(KN_BINARY_ADD, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 2, 3, 4));
    float want[12] = {11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43};
    CHECK_ARRAY_NEAR(y, want, 12, 0);
}

static void binary_rank3_with_rank2(void) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[4] = {1, 10, 100, 1000}, y[24];
    kn_tensor ta = tensor(KILN_FLOAT32, a, 3, 2, 1, 3), tb = tensor(KILN_FLOAT32, b, 2, 4, 1);
    kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(binary(KN_BINARY_MUL, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 3, 2, 4, 3));
    float want[24] = {1, 2, 3, 10, 20, 30, 100, 200, 300, 1000, 2000, 3000,
                      4, 5, 6, 40, 50, 60, 400, 500, 600, 4000, 5000, 6000};
    CHECK_ARRAY_NEAR(y, want, 24, 0);
}

static void binary_scalars(void) {
    float a = 3, b = 4, y = 0;
    kn_tensor ta = tensor(KILN_FLOAT32, &a, 0), tb = tensor(KILN_FLOAT32, &b, 0);
    kn_tensor ty = tensor(KILN_FLOAT32, &y, 0);
    CHECK(binary(KN_BINARY_POW, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    CHECK(ty.rank == 0);
    CHECK_NEAR(y, 81, 1e-4);
}

static void binary_int32(void) {
    int32_t a[6] = {1, 2, 3, 4, 5, INT32_MAX}, b[3] = {10, -20, 1}, y[6];
    kn_tensor ta = tensor(KILN_INT32, a, 2, 2, 3), tb = tensor(KILN_INT32, b, 1, 3);
    kn_tensor ty = tensor(KILN_INT32, y, 0);
    CHECK(binary(KN_BINARY_ADD, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 2, 2, 3) && ty.dtype == KILN_INT32);
    int32_t want_add[6] = {11, -18, 4, 14, -15, INT32_MIN}; /* wraps, as in TF */
    CHECK(memcmp(y, want_add, sizeof y) == 0);
    CHECK(binary(KN_BINARY_SQUARED_DIFFERENCE, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    CHECK(y[0] == 81 && y[1] == 484 && y[2] == 4 && y[3] == 36);
    CHECK(binary(KN_BINARY_MIN, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    CHECK(y[0] == 1 && y[1] == -20 && y[5] == 1);
    CHECK(binary(KN_BINARY_MAX, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    CHECK(y[0] == 10 && y[1] == 2 && y[5] == INT32_MAX);
    CHECK(binary(KN_BINARY_MUL, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    CHECK(y[0] == 10 && y[1] == -40 && y[4] == -100);
    CHECK(binary(KN_BINARY_SUB, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    CHECK(y[0] == -9 && y[1] == 22 && y[2] == 2);
}

/* Every kind with a float32 result. */
static void binary_each_kind(void) {
    float a[4] = {-2, 0.5f, 3, 4}, b[4] = {2, 4, -1, 0.5f}, y[4];
    static const float want[KN_BINARY_EQUAL][4] = {
        [KN_BINARY_ADD] = {0, 4.5f, 2, 4.5f},
        [KN_BINARY_SUB] = {-4, -3.5f, 4, 3.5f},
        [KN_BINARY_MUL] = {-4, 2, -3, 2},
        [KN_BINARY_DIV] = {-1, 0.125f, -3, 8},
        [KN_BINARY_MAX] = {2, 4, 3, 4},
        [KN_BINARY_MIN] = {-2, 0.5f, -1, 0.5f},
        [KN_BINARY_POW] = {4, 0.0625f, 1.0f / 3, 2},
        [KN_BINARY_SQUARED_DIFFERENCE] = {16, 12.25f, 16, 12.25f},
        [KN_BINARY_PRELU] = {-4, 0.5f, 3, 4},
        [KN_BINARY_FLOOR_DIV] = {-1, 0, -3, 8},
        [KN_BINARY_FLOOR_MOD] = {0, 0.5f, 0, 0},
        [KN_BINARY_ATAN2] = {-0.78539816f, 0.12435499f, 1.8925469f, 1.4464413f},
    };
    kn_tensor ta = tensor(KILN_FLOAT32, a, 1, 4), tb = tensor(KILN_FLOAT32, b, 1, 4);
    for (int k = 0; k < KN_BINARY_EQUAL; k++) {
        kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
        CHECK(binary(k, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
        CHECK_ARRAY_NEAR(y, want[k], 4, 1e-6);
    }
}

static void binary_prelu_per_channel(void) {
    float x[6] = {-1, -2, 3, 4, -5, -6}, alpha[2] = {0.5f, 0.25f}, y[6];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 3, 2), ta = tensor(KILN_FLOAT32, alpha, 1, 2);
    kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(binary(KN_BINARY_PRELU, KN_ACT_NONE, &tx, &ta, &ty) == KILN_OK);
    float want[6] = {-0.5f, -0.5f, 3, 4, -2.5f, -1.5f};
    CHECK_ARRAY_NEAR(y, want, 6, 0);
}

/* FloorDiv and FloorMod round toward -inf; FloorMod takes the divisor's sign. */
static void binary_floor_div_mod_f32(void) {
    float a[11] = {7, -7, 7, -7, 7.5f, -0.0f, 1, INFINITY, 5, -5, 0};
    float b[11] = {2, 2, -2, -2, 2, 3, 0, 2, INFINITY, INFINITY, 0}, y[11];
    kn_tensor ta = tensor(KILN_FLOAT32, a, 1, 11), tb = tensor(KILN_FLOAT32, b, 1, 11), ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(binary(KN_BINARY_FLOOR_DIV, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    float div[11] = {3, -4, -4, 3, 3, -0.0f, INFINITY, INFINITY, 0, -0.0f, NAN};
    CHECK(floats_match(y, div, 11, 0));
    CHECK(binary(KN_BINARY_FLOOR_MOD, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    float mod[11] = {1, 1, -1, -1, 1.5f, -0.0f, NAN, NAN, 5, INFINITY, NAN};
    CHECK(floats_match(y, mod, 11, 0));
}

/* int32: -inf rounding, INT32_MIN / -1 wraps (no trap), division by 0 gives 0. */
static void binary_floor_div_mod_i32(void) {
    int32_t a[12] = {7, -7, 7, -7, 0, INT32_MIN, INT32_MIN, 5, INT32_MAX, -1, 1, -6};
    int32_t b[12] = {2, 2, -2, -2, 3, -1, 1, 0, -1, INT32_MIN, INT32_MIN, 3}, y[12];
    kn_tensor ta = tensor(KILN_INT32, a, 1, 12), tb = tensor(KILN_INT32, b, 1, 12), ty = tensor(KILN_INT32, y, 0);
    CHECK(binary(KN_BINARY_FLOOR_DIV, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    CHECK(ty.dtype == KILN_INT32);
    int32_t div[12] = {3, -4, -4, 3, 0, INT32_MIN, INT32_MIN, 0, -INT32_MAX, 0, -1, -2};
    CHECK(memcmp(y, div, sizeof y) == 0);
    CHECK(binary(KN_BINARY_FLOOR_MOD, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    int32_t mod[12] = {1, 1, -1, -1, 0, 0, 0, 0, 0, -1, -INT32_MAX, 0};
    CHECK(memcmp(y, mod, sizeof y) == 0);

    /* A scalar on either side. */
    int32_t v[4] = {-3, -1, 1, 4}, two = 2, y4[4];
    kn_tensor tv = tensor(KILN_INT32, v, 1, 4), t2 = tensor(KILN_INT32, &two, 0), t4 = tensor(KILN_INT32, y4, 0);
    CHECK(binary(KN_BINARY_FLOOR_DIV, KN_ACT_NONE, &tv, &t2, &t4) == KILN_OK);
    CHECK(y4[0] == -2 && y4[1] == -1 && y4[2] == 0 && y4[3] == 2);
    CHECK(binary(KN_BINARY_FLOOR_MOD, KN_ACT_NONE, &t2, &tv, &t4) == KILN_OK);
    CHECK(y4[0] == -1 && y4[1] == 0 && y4[2] == 0 && y4[3] == 2);
}

static void binary_atan2_and_nan_max_min(void) {
    float a[6] = {0.0f, -0.0f, 1, -1, INFINITY, NAN}, b[6] = {-1, -1, 0, 0, INFINITY, 1}, y[6];
    kn_tensor ta = tensor(KILN_FLOAT32, a, 1, 6), tb = tensor(KILN_FLOAT32, b, 1, 6), ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(binary(KN_BINARY_ATAN2, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    float want[6] = {3.14159265f, -3.14159265f, 1.57079633f, -1.57079633f, 0.78539816f, NAN};
    CHECK(floats_match(y, want, 6, 1e-7f));

    /* Maximum and Minimum propagate a NaN from either operand, as TF's do. */
    float u[4] = {NAN, 1, -INFINITY, 2}, v[4] = {1, NAN, 5, -INFINITY};
    kn_tensor tu = tensor(KILN_FLOAT32, u, 1, 4), tv = tensor(KILN_FLOAT32, v, 1, 4);
    CHECK(binary(KN_BINARY_MAX, KN_ACT_NONE, &tu, &tv, &ty) == KILN_OK);
    float max[4] = {NAN, NAN, 5, 2};
    CHECK(floats_match(y, max, 4, 0));
    CHECK(binary(KN_BINARY_MIN, KN_ACT_NONE, &tu, &tv, &ty) == KILN_OK);
    float min[4] = {NAN, NAN, -INFINITY, -INFINITY};
    CHECK(floats_match(y, min, 4, 0));
    float nan = NAN; /* a NaN scalar against a vector */
    kn_tensor tn = tensor(KILN_FLOAT32, &nan, 0);
    CHECK(binary(KN_BINARY_MAX, KN_ACT_NONE, &tn, &tv, &ty) == KILN_OK);
    CHECK(isnan(y[0]) && isnan(y[2]) && isnan(y[3]));
}

/* Comparisons on each dtype give bool; NaN compares unequal to everything. */
static void binary_comparisons(void) {
    float a[6] = {1, 2, NAN, -0.0f, -INFINITY, 3}, b[6] = {2, 2, 1, 0.0f, INFINITY, NAN};
    uint8_t y[12];
    static const uint8_t want[6][6] = {
        {0, 1, 0, 1, 0, 0}, /* EQUAL */
        {1, 0, 1, 0, 1, 1}, /* NOT_EQUAL */
        {1, 0, 0, 0, 1, 0}, /* LESS */
        {1, 1, 0, 1, 1, 0}, /* LESS_EQUAL */
        {0, 0, 0, 0, 0, 0}, /* GREATER */
        {0, 1, 0, 1, 0, 0}, /* GREATER_EQUAL */
    };
    kn_tensor ta = tensor(KILN_FLOAT32, a, 1, 6), tb = tensor(KILN_FLOAT32, b, 1, 6);
    for (int k = 0; k < 6; k++) {
        kn_tensor ty = tensor(KILN_BOOL, y, 0);
        CHECK(binary(KN_BINARY_EQUAL + k, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
        CHECK(ty.dtype == KILN_BOOL && has_dims(&ty, 1, 6));
        CHECK(memcmp(y, want[k], 6) == 0);
    }

    int32_t ia[4] = {INT32_MIN, -1, 0, 5}, zero = 0;
    kn_tensor tia = tensor(KILN_INT32, ia, 2, 2, 2), tz = tensor(KILN_INT32, &zero, 0), ty = tensor(KILN_BOOL, y, 0);
    CHECK(binary(KN_BINARY_LESS, KN_ACT_NONE, &tia, &tz, &ty) == KILN_OK);
    CHECK(ty.dtype == KILN_BOOL && has_dims(&ty, 2, 2, 2) && memcmp(y, (uint8_t[]){1, 1, 0, 0}, 4) == 0);
    CHECK(binary(KN_BINARY_GREATER_EQUAL, KN_ACT_NONE, &tz, &tia, &ty) == KILN_OK); /* 0 >= a */
    CHECK(memcmp(y, (uint8_t[]){1, 1, 1, 0}, 4) == 0);

    /* uint8 compares unsigned: 200 > 100. */
    uint8_t ua[3] = {0, 200, 255}, ub[3] = {255, 100, 255};
    kn_tensor tua = tensor(KILN_UINT8, ua, 1, 3), tub = tensor(KILN_UINT8, ub, 1, 3);
    CHECK(binary(KN_BINARY_GREATER, KN_ACT_NONE, &tua, &tub, &ty) == KILN_OK);
    CHECK(ty.dtype == KILN_BOOL && memcmp(y, (uint8_t[]){0, 1, 0}, 3) == 0);
    CHECK(binary(KN_BINARY_LESS_EQUAL, KN_ACT_NONE, &tua, &tub, &ty) == KILN_OK);
    CHECK(memcmp(y, (uint8_t[]){1, 0, 1}, 3) == 0);

    /* A size-0 operand broadcasts to a size-0 bool result and writes nothing. */
    kn_tensor t20 = tensor(KILN_FLOAT32, a, 2, 2, 0), t1 = tensor(KILN_FLOAT32, b, 1, 1);
    y[0] = 7;
    CHECK(binary(KN_BINARY_EQUAL, KN_ACT_NONE, &t20, &t1, &ty) == KILN_OK);
    CHECK(ty.dtype == KILN_BOOL && has_dims(&ty, 2, 2, 0) && y[0] == 7);
}

/* Bool EQUAL/NOT_EQUAL and logic, broadcast [2,1] against [3]; any nonzero byte is true. */
static void binary_bool_ops(void) {
    uint8_t a[2] = {1, 0}, b[3] = {1, 0, 2}, y[6];
    kn_tensor ta = tensor(KILN_BOOL, a, 2, 2, 1), tb = tensor(KILN_BOOL, b, 1, 3), ty = tensor(KILN_BOOL, y, 0);
    static const struct { int kind; uint8_t want[6]; } cases[] = {
        {KN_BINARY_EQUAL, {1, 0, 1, 0, 1, 0}},
        {KN_BINARY_NOT_EQUAL, {0, 1, 0, 1, 0, 1}},
        {KN_BINARY_LOGICAL_AND, {1, 0, 1, 0, 0, 0}},
        {KN_BINARY_LOGICAL_OR, {1, 1, 1, 1, 0, 1}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        CHECK(binary(cases[c].kind, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
        CHECK(ty.dtype == KILN_BOOL && has_dims(&ty, 2, 2, 3));
        CHECK(memcmp(y, cases[c].want, 6) == 0);
    }
    /* A bool scalar against a vector, both ways. */
    uint8_t t = 1;
    kn_tensor ts = tensor(KILN_BOOL, &t, 0);
    CHECK(binary(KN_BINARY_LOGICAL_AND, KN_ACT_NONE, &ts, &tb, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 1, 3) && memcmp(y, (uint8_t[]){1, 0, 1}, 3) == 0);
    CHECK(binary(KN_BINARY_NOT_EQUAL, KN_ACT_NONE, &tb, &ts, &ty) == KILN_OK);
    CHECK(memcmp(y, (uint8_t[]){0, 1, 0}, 3) == 0);
}

/* uint8 arithmetic wraps modulo 256. */
static void binary_uint8(void) {
    uint8_t a[4] = {200, 3, 16, 255}, b[4] = {100, 5, 17, 0}, y[4];
    kn_tensor ta = tensor(KILN_UINT8, a, 1, 4), tb = tensor(KILN_UINT8, b, 1, 4), ty = tensor(KILN_UINT8, y, 0);
    static const struct { int kind; uint8_t want[4]; } cases[] = {
        {KN_BINARY_ADD, {44, 8, 33, 255}},
        {KN_BINARY_SUB, {100, 254, 255, 255}},
        {KN_BINARY_MUL, {32, 15, 16, 0}},
        {KN_BINARY_MAX, {200, 5, 17, 255}},
        {KN_BINARY_MIN, {100, 3, 16, 0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        CHECK(binary(cases[c].kind, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
        CHECK(ty.dtype == KILN_UINT8 && memcmp(y, cases[c].want, 4) == 0);
    }
    uint8_t one = 1; /* scalar first */
    kn_tensor t1 = tensor(KILN_UINT8, &one, 0);
    CHECK(binary(KN_BINARY_SUB, KN_ACT_NONE, &t1, &ta, &ty) == KILN_OK);
    CHECK(memcmp(y, (uint8_t[]){57, 254, 241, 2}, 4) == 0);
}

static void binary_fused_activation(void) {
    float a[4] = {-3, 1, 5, 8}, one = 1, y[4];
    kn_tensor ta = tensor(KILN_FLOAT32, a, 1, 4), tb = tensor(KILN_FLOAT32, &one, 0);
    kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(binary(KN_BINARY_ADD, KN_ACT_RELU6, &ta, &tb, &ty) == KILN_OK);
    float want6[4] = {0, 2, 6, 6};
    CHECK_ARRAY_NEAR(y, want6, 4, 0);
    CHECK(binary(KN_BINARY_ADD, KN_ACT_LEAKY_RELU, &ta, &tb, &ty) == KILN_OK); /* alpha 0.1 */
    float want_leaky[4] = {-0.2f, 2, 6, 9};
    CHECK_ARRAY_NEAR(y, want_leaky, 4, 1e-6);
}

/* y[i] for output index i of a naive broadcast: unravel, then re-ravel into
 * each input with broadcast dims pinned to 0. */
static size_t broadcast_index(const kn_tensor *x, const kn_tensor *y, size_t i) {
    size_t xi = 0, x_step = 1;
    for (int d = y->rank - 1; d >= 0; d--) {
        size_t coord = i % (size_t)y->dims[d];
        i /= (size_t)y->dims[d];
        int xd = d - (y->rank - x->rank);
        if (xd < 0) continue;
        if (x->dims[xd] != 1) xi += coord * x_step;
        x_step *= (size_t)x->dims[xd];
    }
    return xi;
}

static void binary_matches_reference(void) {
    static const struct { int ra; int32_t da[4]; int rb; int32_t db[4]; } cases[] = {
        {4, {1, 5, 6, 7}, 1, {7}},        /* per-channel bias */
        {4, {1, 5, 6, 7}, 4, {1, 1, 1, 7}},
        {4, {1, 5, 6, 7}, 4, {1, 5, 6, 1}}, /* per-pixel scale */
        {4, {2, 5, 6, 7}, 4, {2, 1, 1, 7}}, /* squeeze-excite */
        {3, {5, 1, 7}, 3, {1, 6, 1}},
        {2, {6, 1}, 4, {2, 5, 6, 7}},
        {3, {3, 1, 1500}, 1, {1500}},     /* rows longer than the activation chunk */
        {1, {7}, 3, {5, 6, 1}},
    };
    static float a[2 * 5 * 6 * 7 + 4500], b[2 * 5 * 6 * 7 + 4500], y[2 * 5 * 6 * 7 + 4500];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        kn_tensor ta = tensor(KILN_FLOAT32, a, 0), tb = tensor(KILN_FLOAT32, b, 0);
        ta.rank = cases[c].ra;
        tb.rank = cases[c].rb;
        memcpy(ta.dims, cases[c].da, sizeof cases[c].da);
        memcpy(tb.dims, cases[c].db, sizeof cases[c].db);
        for (size_t i = 0; i < kn_tensor_count(&ta); i++) a[i] = rand_float(-2, 2);
        for (size_t i = 0; i < kn_tensor_count(&tb); i++) b[i] = rand_float(-2, 2);
        for (int kind = KN_BINARY_ADD; kind <= KN_BINARY_MIN; kind++) {
            kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
            CHECK(binary(kind, KN_ACT_RELU, &ta, &tb, &ty) == KILN_OK);
            size_t n = kn_tensor_count(&ty), bad = 0;
            for (size_t i = 0; i < n; i++) {
                float u = a[broadcast_index(&ta, &ty, i)], v = b[broadcast_index(&tb, &ty, i)];
                float want = kind == KN_BINARY_ADD ? u + v : kind == KN_BINARY_SUB ? u - v
                           : kind == KN_BINARY_MUL ? u * v : kind == KN_BINARY_DIV ? u / v
                           : kind == KN_BINARY_MAX ? (u > v ? u : v) : (u < v ? u : v);
                want = want > 0 ? want : 0;
                bad += !(fabsf(y[i] - want) <= 1e-6f * (1 + fabsf(want)));
            }
            if (bad) fprintf(stderr, "case %zu kind %d: %zu mismatches\n", c, kind, bad);
            CHECK(bad == 0);
        }
    }
}

static void binary_in_place(void) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {1, 2, 3};
    kn_tensor ta = tensor(KILN_FLOAT32, a, 2, 2, 3), tb = tensor(KILN_FLOAT32, b, 1, 3);
    kn_tensor ty = tensor(KILN_FLOAT32, a, 0);
    CHECK(binary(KN_BINARY_MUL, KN_ACT_NONE, &ta, &tb, &ty) == KILN_OK);
    float want[6] = {1, 4, 9, 4, 10, 18};
    CHECK_ARRAY_NEAR(a, want, 6, 0);
}

static void binary_errors(void) {
    kn_tensor a23 = tensor(KILN_FLOAT32, NULL, 2, 2, 3), a43 = tensor(KILN_FLOAT32, NULL, 2, 4, 3);
    kn_binary_params add = {.kind = KN_BINARY_ADD};
    kn_tensor *in[2] = {&a23, &a43};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_BINARY, &add, in, 2, 1, "");
    CHECK(strstr(kiln_last_error(), "float32[2,3]") && strstr(kiln_last_error(), "float32[4,3]"));

    kn_tensor i23 = tensor(KILN_INT32, NULL, 2, 2, 3), i3 = tensor(KILN_INT32, NULL, 1, 3);
    kn_tensor *mixed[2] = {&a23, &i3}, *ints[2] = {&i23, &i3};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_BINARY, &add, mixed, 2, 1, "");
    kn_binary_params pow_p = {.kind = KN_BINARY_POW};
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_BINARY, &pow_p, ints, 2, 1, "");
    CHECK(strstr(kiln_last_error(), "POW") && strstr(kiln_last_error(), "int32"));
    kn_binary_params relu_int = {.kind = KN_BINARY_ADD, .act = KN_ACT_RELU};
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_BINARY, &relu_int, ints, 2, 1, "");

    kn_tensor *same[2] = {&a23, &a23};
    kn_binary_params bad_kind = {.kind = KN_BINARY_COUNT}, prelu_act = {.kind = KN_BINARY_ADD, .act = KN_ACT_PRELU};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_BINARY, &bad_kind, same, 2, 1, "");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_BINARY, &prelu_act, same, 2, 1, "");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_BINARY, &add, same, 1, 1, "");
    kn_tensor *missing[2] = {&a23, NULL};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_BINARY, &add, missing, 2, 1, "");

    /* [65536,1] + [1,65536] would be 2^32 elements. */
    kn_tensor col = tensor(KILN_FLOAT32, NULL, 2, 65536, 1), row = tensor(KILN_FLOAT32, NULL, 2, 1, 65536);
    kn_tensor *huge[2] = {&col, &row};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_BINARY, &add, huge, 2, 1, "");

    /* Each dtype has only its kinds; comparisons give bool, so no activation. */
    kn_tensor f = tensor(KILN_FLOAT32, NULL, 1, 3), b3 = tensor(KILN_BOOL, NULL, 1, 3), u3 = tensor(KILN_UINT8, NULL, 1, 3);
    kn_tensor *floats[2] = {&f, &f}, *bools[2] = {&b3, &b3}, *bytes[2] = {&u3, &u3};
    kn_binary_params and_p = {.kind = KN_BINARY_LOGICAL_AND}, less = {.kind = KN_BINARY_LESS};
    kn_binary_params div_p = {.kind = KN_BINARY_DIV}, atan2_p = {.kind = KN_BINARY_ATAN2};
    kn_binary_params less_relu = {.kind = KN_BINARY_LESS, .act = KN_ACT_RELU};
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_BINARY, &and_p, floats, 2, 1, "");
    CHECK(strstr(kiln_last_error(), "LOGICAL_AND") && strstr(kiln_last_error(), "float32"));
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_BINARY, &less, bools, 2, 1, "");
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_BINARY, &add, bools, 2, 1, "");
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_BINARY, &div_p, bytes, 2, 1, "");
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_BINARY, &atan2_p, ints, 2, 1, "");
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_BINARY, &less_relu, floats, 2, 1, "");
    CHECK(strstr(kiln_last_error(), "bool") != NULL);
    kn_tensor *f_b[2] = {&f, &b3};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_BINARY, &less, f_b, 2, 1, "");
}

/* ---- UNARY -------------------------------------------------------------- */

static kiln_status unary(int kind, kn_tensor *x, kn_tensor *y) {
    kn_unary_params p = {.kind = kind, .alpha = 0.2f};
    return run_op(KN_OP_UNARY, &p, &x, 1, y, 1);
}

static void unary_each_kind(void) {
    float x[4] = {-2, -0.5f, 0.5f, 7}, pos[4] = {0.25f, 1, 4, 16}, y[4];
    static const struct { int kind; bool positive; float want[4]; } cases[] = {
        {KN_UNARY_RELU, false, {0, 0, 0.5f, 7}},
        {KN_UNARY_RELU6, false, {0, 0, 0.5f, 6}},
        {KN_UNARY_ELU, false, {-0.86466472f, -0.39346934f, 0.5f, 7}},
        {KN_UNARY_SIGMOID, false, {0.11920292f, 0.37754067f, 0.62245933f, 0.99908895f}},
        {KN_UNARY_TANH, false, {-0.96402758f, -0.46211716f, 0.46211716f, 0.99999834f}},
        {KN_UNARY_LEAKY_RELU, false, {-0.4f, -0.1f, 0.5f, 7}},
        {KN_UNARY_SQUARE, false, {4, 0.25f, 0.25f, 49}},
        {KN_UNARY_EXP, false, {0.13533528f, 0.60653066f, 1.6487213f, 1096.6332f}},
        {KN_UNARY_NEG, false, {2, 0.5f, -0.5f, -7}},
        {KN_UNARY_ABS, false, {2, 0.5f, 0.5f, 7}},
        {KN_UNARY_RSQRT, true, {2, 1, 0.5f, 0.25f}},
        {KN_UNARY_SQRT, true, {0.5f, 1, 2, 4}},
        {KN_UNARY_LOG, true, {-1.3862944f, 0, 1.3862944f, 2.7725887f}},
        {KN_UNARY_LOG1P, true, {0.22314355f, 0.69314718f, 1.6094379f, 2.8332133f}},
        {KN_UNARY_FLOOR, false, {-2, -1, 0, 7}},
        {KN_UNARY_CEIL, false, {-2, 0, 1, 7}},
        {KN_UNARY_ROUND, false, {-2, 0, 0, 7}},
        {KN_UNARY_RECIPROCAL, false, {-0.5f, -2, 2, 0.14285714f}},
        {KN_UNARY_SIN, false, {-0.90929743f, -0.47942554f, 0.47942554f, 0.6569866f}},
        {KN_UNARY_COS, false, {-0.41614684f, 0.87758256f, 0.87758256f, 0.75390225f}},
        {KN_UNARY_TAN, false, {2.1850399f, -0.54630249f, 0.54630249f, 0.87144798f}},
        {KN_UNARY_ATAN, false, {-1.1071487f, -0.46364761f, 0.46364761f, 1.4288993f}},
        {KN_UNARY_ERF, false, {-0.99532227f, -0.52049988f, 0.52049988f, 1}},
        {KN_UNARY_SOFTPLUS, false, {0.12692801f, 0.47407698f, 0.97407698f, 7.0009115f}},
        {KN_UNARY_SOFTSIGN, false, {-0.66666667f, -0.33333333f, 0.33333333f, 0.875f}},
        {KN_UNARY_SELU, false, {-1.5201665f, -0.69175819f, 0.52535049f, 7.3549069f}},
        {KN_UNARY_SIGN, false, {-1, -1, 1, 1}},
        {KN_UNARY_EXPM1, false, {-0.86466472f, -0.39346934f, 0.64872127f, 1095.6332f}},
        {KN_UNARY_HARD_SIGMOID, false, {0.1f, 0.4f, 0.6f, 1}},
        {KN_UNARY_GELU, false, {-0.045500264f, -0.15426877f, 0.34573123f, 7}},
        {KN_UNARY_SWISH, false, {-0.23840584f, -0.18877033f, 0.31122967f, 6.9936226f}},
    };
    CHECK(sizeof cases / sizeof cases[0] == KN_UNARY_COUNT - 1); /* all but LOGICAL_NOT (bool) */
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        kn_tensor tx = tensor(KILN_FLOAT32, cases[c].positive ? pos : x, 2, 2, 2);
        kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
        CHECK(unary(cases[c].kind, &tx, &ty) == KILN_OK);
        CHECK(has_dims(&ty, 2, 2, 2) && ty.dtype == KILN_FLOAT32);
        for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], cases[c].want[i], 2e-6 * (1 + fabs(cases[c].want[i])));
    }
}

static void unary_int32(void) {
    int32_t x[4] = {-3, 0, 5, INT32_MIN}, y[4];
    kn_tensor tx = tensor(KILN_INT32, x, 1, 4), ty = tensor(KILN_INT32, y, 0);
    CHECK(unary(KN_UNARY_NEG, &tx, &ty) == KILN_OK);
    CHECK(ty.dtype == KILN_INT32 && y[0] == 3 && y[1] == 0 && y[2] == -5 && y[3] == INT32_MIN);
    CHECK(unary(KN_UNARY_ABS, &tx, &ty) == KILN_OK);
    CHECK(y[0] == 3 && y[1] == 0 && y[2] == 5 && y[3] == INT32_MIN);
    CHECK(unary(KN_UNARY_SQUARE, &tx, &ty) == KILN_OK);
    CHECK(y[0] == 9 && y[1] == 0 && y[2] == 25 && y[3] == 0);
    CHECK(unary(KN_UNARY_RELU, &tx, &ty) == KILN_OK);
    CHECK(y[0] == 0 && y[1] == 0 && y[2] == 5 && y[3] == 0);
}

/* Each float32 kind on signed zeros, infinities, NaN and values near its edges. */
static void unary_edge_values(void) {
    static const struct { int kind; int n; float x[8], want[8]; } cases[] = {
        /* NaN passes through RELU and RELU6, as through the fused activations */
        {KN_UNARY_RELU, 4, {NAN, -0.0f, -INFINITY, INFINITY}, {NAN, -0.0f, 0, INFINITY}},
        {KN_UNARY_RELU6, 4, {NAN, 7, -1, 6}, {NAN, 6, 0, 6}},
        /* half to even; large values are already integers */
        {KN_UNARY_ROUND, 8, {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 2.4999998f, 3e9f, -0.0f}, {0, 2, 2, -0.0f, -2, 2, 3e9f, -0.0f}},
        {KN_UNARY_ROUND, 3, {INFINITY, -INFINITY, NAN}, {INFINITY, -INFINITY, NAN}},
        {KN_UNARY_FLOOR, 6, {-0.0f, -0.5f, 3e9f, INFINITY, NAN, -1e-45f}, {-0.0f, -1, 3e9f, INFINITY, NAN, -1}},
        {KN_UNARY_CEIL, 6, {-0.0f, -0.5f, 3e9f, -INFINITY, NAN, 1e-45f}, {-0.0f, -0.0f, 3e9f, -INFINITY, NAN, 1}},
        {KN_UNARY_RECIPROCAL, 4, {0.0f, -0.0f, INFINITY, NAN}, {INFINITY, -INFINITY, 0, NAN}},
        /* log1p keeps tiny x that 1 + x would lose */
        {KN_UNARY_LOG1P, 5, {-1, -2, 1e-10f, INFINITY, -0.0f}, {-INFINITY, NAN, 1e-10f, INFINITY, -0.0f}},
        {KN_UNARY_EXPM1, 5, {1e-10f, -INFINITY, 100, -0.0f, NAN}, {1e-10f, -1, INFINITY, -0.0f, NAN}},
        /* TF's thresholds: x above 13.94, exp(x) below -13.94 */
        {KN_UNARY_SOFTPLUS, 8, {100, 14, 13.9f, -13.9f, -100, -INFINITY, INFINITY, NAN},
         {100, 14, 13.900001f, 9.1898e-07f, 3.7200760e-44f, 0, INFINITY, NAN}},
        {KN_UNARY_SOFTSIGN, 4, {-0.0f, 1e30f, INFINITY, NAN}, {-0.0f, 1, NAN, NAN}},
        {KN_UNARY_SELU, 5, {0.0f, -0.0f, -100, INFINITY, NAN}, {0, -0.0f, -1.7580993f, INFINITY, NAN}},
        {KN_UNARY_SIGN, 7, {-0.0f, 0.0f, NAN, -INFINITY, INFINITY, 1e-45f, -3e38f}, {-0.0f, 0, NAN, -1, 1, 1, -1}},
        {KN_UNARY_ERF, 4, {INFINITY, -INFINITY, -0.0f, NAN}, {1, -1, -0.0f, NAN}},
        {KN_UNARY_ATAN, 3, {INFINITY, -INFINITY, -0.0f}, {1.5707964f, -1.5707964f, -0.0f}},
        {KN_UNARY_SIN, 4, {1e6f, -0.0f, INFINITY, NAN}, {-0.34999350f, -0.0f, NAN, NAN}},
        {KN_UNARY_COS, 2, {1e6f, INFINITY}, {0.93675212f, NAN}},
        {KN_UNARY_TAN, 2, {-0.0f, INFINITY}, {-0.0f, NAN}},
        {KN_UNARY_HARD_SIGMOID, 6, {-2.5f, 2.5f, -INFINITY, INFINITY, NAN, 0}, {0, 1, 0, 1, NAN, 0.5f}},
        /* the values of TF's tf.nn.gelu documentation */
        {KN_UNARY_GELU, 5, {-3, -1, 0, 1, 3}, {-0.00404951f, -0.15865529f, 0, 0.8413447f, 2.9959507f}},
        {KN_UNARY_SWISH, 4, {0, INFINITY, -100, NAN}, {0, INFINITY, -3.7200760e-42f, NAN}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float x[8], y[8];
        memcpy(x, cases[c].x, sizeof x);
        kn_tensor tx = tensor(KILN_FLOAT32, x, 1, cases[c].n), ty = tensor(KILN_FLOAT32, y, 0);
        CHECK(unary(cases[c].kind, &tx, &ty) == KILN_OK);
        if (!floats_match(y, cases[c].want, cases[c].n, 2e-6f)) {
            fprintf(stderr, "unary kind %d (case %zu) mismatches\n", cases[c].kind, c);
            check_failures++;
        }
    }
}

/* int32 SIGN and ROUND (the identity), bool LOGICAL_NOT. */
static void unary_int32_and_bool(void) {
    int32_t x[5] = {INT32_MIN, -5, 0, 7, INT32_MAX}, y[5];
    kn_tensor tx = tensor(KILN_INT32, x, 1, 5), ty = tensor(KILN_INT32, y, 0);
    CHECK(unary(KN_UNARY_SIGN, &tx, &ty) == KILN_OK);
    CHECK(ty.dtype == KILN_INT32 && memcmp(y, (int32_t[]){-1, -1, 0, 1, 1}, sizeof y) == 0);
    CHECK(unary(KN_UNARY_ROUND, &tx, &ty) == KILN_OK);
    CHECK(memcmp(y, x, sizeof y) == 0);

    uint8_t b[20], by[20];
    for (int i = 0; i < 20; i++) b[i] = (uint8_t)(i % 3); /* 0, 1, 2: nonzero is true */
    kn_tensor tb = tensor(KILN_BOOL, b, 2, 4, 5), tby = tensor(KILN_BOOL, by, 0);
    CHECK(unary(KN_UNARY_LOGICAL_NOT, &tb, &tby) == KILN_OK);
    CHECK(tby.dtype == KILN_BOOL && has_dims(&tby, 2, 4, 5));
    bool ok = true;
    for (int i = 0; i < 20; i++) ok = ok && by[i] == (b[i] == 0);
    CHECK(ok);
    uint8_t none = 0; /* a size-0 tensor is fine */
    kn_tensor t0 = tensor(KILN_BOOL, &none, 2, 0, 5), t0y = tensor(KILN_BOOL, &none, 0);
    CHECK(unary(KN_UNARY_LOGICAL_NOT, &t0, &t0y) == KILN_OK);
    CHECK(has_dims(&t0y, 2, 0, 5) && none == 0);
}

static void unary_in_place_and_errors(void) {
    float x[3] = {-1, 0, 4};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 1, 3), ty = tensor(KILN_FLOAT32, x, 0);
    CHECK(unary(KN_UNARY_SQUARE, &tx, &ty) == KILN_OK);
    CHECK(x[0] == 1 && x[1] == 0 && x[2] == 16);

    kn_tensor ti = tensor(KILN_INT32, NULL, 1, 3), tb = tensor(KILN_BOOL, NULL, 1, 3);
    kn_tensor *in = &ti;
    kn_unary_params exp_p = {.kind = KN_UNARY_EXP}, neg = {.kind = KN_UNARY_NEG}, bad = {.kind = -1};
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_UNARY, &exp_p, &in, 1, 1, "");
    CHECK(strstr(kiln_last_error(), "EXP") && strstr(kiln_last_error(), "int32"));
    in = &tb;
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_UNARY, &neg, &in, 1, 1, "");
    in = &tx;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_UNARY, &bad, &in, 1, 1, "");

    kn_unary_params not_p = {.kind = KN_UNARY_LOGICAL_NOT}, sin_p = {.kind = KN_UNARY_SIN};
    kn_unary_params sign = {.kind = KN_UNARY_SIGN}, count = {.kind = KN_UNARY_COUNT};
    kn_tensor tu = tensor(KILN_UINT8, NULL, 1, 3);
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_UNARY, &not_p, &in, 1, 1, "");
    CHECK(strstr(kiln_last_error(), "LOGICAL_NOT") && strstr(kiln_last_error(), "float32"));
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_UNARY, &count, &in, 1, 1, "");
    in = &ti;
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_UNARY, &sin_p, &in, 1, 1, "");
    in = &tb;
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_UNARY, &sign, &in, 1, 1, "");
    in = &tu;
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_UNARY, &sign, &in, 1, 1, "");
    CHECK(strstr(kiln_last_error(), "uint8") != NULL);
}

/* ---- SOFTMAX ------------------------------------------------------------ */

static void softmax_rows(void) {
    /* Rows 2 and 3 would overflow expf without subtracting the max. */
    float x[9] = {1, 2, 3, 1000, 1001, 1002, -1000, 0, -1000}, y[9];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 3, 3), ty = tensor(KILN_FLOAT32, y, 0);
    kn_softmax_params p = {.axis = 1};
    kn_tensor *in = &tx;
    CHECK(run_op(KN_OP_SOFTMAX, &p, &in, 1, &ty, 1) == KILN_OK);
    CHECK(has_dims(&ty, 2, 3, 3));
    float want[9] = {0.090030573f, 0.24472847f, 0.66524096f, 0.090030573f, 0.24472847f, 0.66524096f, 0, 1, 0};
    CHECK_ARRAY_NEAR(y, want, 9, 1e-6);
}

static void softmax_first_axis(void) {
    float x[4] = {-1, 5, 0, 5}, y[4];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 2), ty = tensor(KILN_FLOAT32, y, 0);
    kn_softmax_params p = {.axis = 0};
    kn_tensor *in = &tx;
    CHECK(run_op(KN_OP_SOFTMAX, &p, &in, 1, &ty, 1) == KILN_OK);
    float want[4] = {0.26894142f, 0.5f, 0.73105858f, 0.5f};
    CHECK_ARRAY_NEAR(y, want, 4, 1e-6);
}

static void softmax_errors(void) {
    kn_tensor x = tensor(KILN_FLOAT32, NULL, 2, 3, 3), scalar = tensor(KILN_FLOAT32, NULL, 0);
    kn_tensor ints = tensor(KILN_INT32, NULL, 1, 3);
    kn_tensor *in = &x;
    kn_softmax_params axis2 = {.axis = 2}, neg = {.axis = -1}, axis0 = {.axis = 0};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SOFTMAX, &axis2, &in, 1, 1, "");
    CHECK(strstr(kiln_last_error(), "axis 2") != NULL);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SOFTMAX, &neg, &in, 1, 1, "");
    in = &scalar;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SOFTMAX, &axis0, &in, 1, 1, "");
    in = &ints;
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_SOFTMAX, &axis0, &in, 1, 1, "");
}

/* ---- REDUCE ------------------------------------------------------------- */

static kiln_status reduce(int kind, int mask, int keep, kn_tensor *x, kn_tensor *y) {
    kn_reduce_params p = {.kind = kind, .axes_mask = mask, .keep_dims = keep};
    return run_op(KN_OP_REDUCE, &p, &x, 1, y, 1);
}

static void reduce_spatial_mean(void) {
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, y[3];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 4, 1, 2, 2, 3), ty = tensor(KILN_FLOAT32, y, 0);
    float want[3] = {5.5f, 6.5f, 7.5f};
    CHECK(reduce(KN_REDUCE_MEAN, 0x6, 1, &tx, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 4, 1, 1, 1, 3));
    CHECK_ARRAY_NEAR(y, want, 3, 0);
    memset(y, 0, sizeof y);
    CHECK(reduce(KN_REDUCE_MEAN, 0x6, 0, &tx, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 2, 1, 3));
    CHECK_ARRAY_NEAR(y, want, 3, 0);
}

static void reduce_kinds(void) {
    float x[6] = {1, -2, 3, 4, 5, -6}, y[3];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3), ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(reduce(KN_REDUCE_SUM, 0x1, 0, &tx, &ty) == KILN_OK);
    float sum0[3] = {5, 3, -3};
    CHECK(has_dims(&ty, 1, 3));
    CHECK_ARRAY_NEAR(y, sum0, 3, 0);
    CHECK(reduce(KN_REDUCE_MAX, 0x2, 1, &tx, &ty) == KILN_OK);
    float max1[2] = {3, 5};
    CHECK(has_dims(&ty, 2, 2, 1));
    CHECK_ARRAY_NEAR(y, max1, 2, 0);
    CHECK(reduce(KN_REDUCE_MIN, 0x2, 0, &tx, &ty) == KILN_OK);
    float min1[2] = {-2, -6};
    CHECK_ARRAY_NEAR(y, min1, 2, 0);
    CHECK(reduce(KN_REDUCE_PROD, 0x2, 0, &tx, &ty) == KILN_OK);
    float prod1[2] = {-6, -120};
    CHECK_ARRAY_NEAR(y, prod1, 2, 0);
    CHECK(reduce(KN_REDUCE_PROD, 0x1, 0, &tx, &ty) == KILN_OK);
    float prod0[3] = {4, -10, -18};
    CHECK_ARRAY_NEAR(y, prod0, 3, 0);
    CHECK(reduce(KN_REDUCE_SUM, 0x3, 0, &tx, &ty) == KILN_OK);
    CHECK(ty.rank == 0);
    CHECK_NEAR(y[0], 5, 0);
}

static void reduce_outer_and_inner_axes(void) {
    float x[12], y[3];
    for (int i = 0; i < 12; i++) x[i] = (float)i; /* x[i][j][k] = 6i + 2j + k */
    kn_tensor tx = tensor(KILN_FLOAT32, x, 3, 2, 3, 2), ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(reduce(KN_REDUCE_SUM, 0x5, 1, &tx, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 3, 1, 3, 1));
    float want[3] = {14, 22, 30};
    CHECK_ARRAY_NEAR(y, want, 3, 0);
}

static void reduce_int32(void) {
    int32_t x[4] = {-7, 2, 7, 3}, y[2];
    kn_tensor tx = tensor(KILN_INT32, x, 2, 2, 2), ty = tensor(KILN_INT32, y, 0);
    CHECK(reduce(KN_REDUCE_MEAN, 0x2, 0, &tx, &ty) == KILN_OK);
    CHECK(ty.dtype == KILN_INT32 && y[0] == -2 && y[1] == 5); /* -5/2 truncates toward zero */
    CHECK(reduce(KN_REDUCE_MEAN, 0x1, 0, &tx, &ty) == KILN_OK);
    CHECK(y[0] == 0 && y[1] == 2);
    CHECK(reduce(KN_REDUCE_MAX, 0x1, 0, &tx, &ty) == KILN_OK);
    CHECK(y[0] == 7 && y[1] == 3);
    CHECK(reduce(KN_REDUCE_MIN, 0x2, 0, &tx, &ty) == KILN_OK);
    CHECK(y[0] == -7 && y[1] == 3);
    CHECK(reduce(KN_REDUCE_PROD, 0x2, 0, &tx, &ty) == KILN_OK);
    CHECK(y[0] == -14 && y[1] == 21);
    CHECK(reduce(KN_REDUCE_SUM, 0x3, 1, &tx, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 2, 1, 1) && y[0] == 5);
}

static void reduce_empty_mask_and_empty_axis(void) {
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {0};
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3), ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(reduce(KN_REDUCE_MAX, 0, 0, &tx, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 2, 2, 3));
    CHECK_ARRAY_NEAR(y, x, 6, 0);

    /* Reducing an empty axis gives TF's identities: SUM 0, PROD 1, MEAN NaN,
     * MAX -inf, MIN +inf (Eigen's reducers, which TF fills with). */
    float dummy = 0;
    kn_tensor empty = tensor(KILN_FLOAT32, &dummy, 2, 0, 3);
    CHECK(reduce(KN_REDUCE_SUM, 0x1, 0, &empty, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 1, 3) && y[0] == 0 && y[2] == 0);
    CHECK(reduce(KN_REDUCE_PROD, 0x1, 0, &empty, &ty) == KILN_OK);
    CHECK(y[0] == 1 && y[2] == 1);
    CHECK(reduce(KN_REDUCE_MEAN, 0x1, 0, &empty, &ty) == KILN_OK);
    CHECK(isnan(y[0]) && isnan(y[2]));
    CHECK(reduce(KN_REDUCE_MAX, 0x1, 1, &empty, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 2, 1, 3) && y[0] == -INFINITY && y[2] == -INFINITY);
    CHECK(reduce(KN_REDUCE_MIN, 0x3, 0, &empty, &ty) == KILN_OK);
    CHECK(ty.rank == 0 && y[0] == INFINITY);
    /* Reducing the non-empty axis of an empty tensor gives an empty one. */
    CHECK(reduce(KN_REDUCE_MAX, 0x2, 0, &empty, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 1, 0));

    int32_t idummy = 0, iy[3];
    kn_tensor iempty = tensor(KILN_INT32, &idummy, 2, 3, 0), ity = tensor(KILN_INT32, iy, 0);
    CHECK(reduce(KN_REDUCE_MAX, 0x2, 0, &iempty, &ity) == KILN_OK);
    CHECK(has_dims(&ity, 1, 3) && iy[0] == INT32_MIN && iy[2] == INT32_MIN);
    CHECK(reduce(KN_REDUCE_MIN, 0x2, 0, &iempty, &ity) == KILN_OK);
    CHECK(iy[0] == INT32_MAX && iy[2] == INT32_MAX);
    CHECK(reduce(KN_REDUCE_MEAN, 0x2, 0, &iempty, &ity) == KILN_OK); /* MeanReducer's int identity */
    CHECK(iy[0] == 0 && iy[2] == 0);

    uint8_t bdummy = 0, by[3];
    kn_tensor bempty = tensor(KILN_BOOL, &bdummy, 2, 3, 0), bty = tensor(KILN_BOOL, by, 0);
    CHECK(reduce(KN_REDUCE_ANY, 0x2, 0, &bempty, &bty) == KILN_OK);
    CHECK(bty.dtype == KILN_BOOL && by[0] == 0 && by[2] == 0);
    CHECK(reduce(KN_REDUCE_ALL, 0x2, 0, &bempty, &bty) == KILN_OK);
    CHECK(by[0] == 1 && by[2] == 1);
}

/* ANY and ALL on bool, over inner, outer and all axes; any nonzero byte is true. */
static void reduce_any_all(void) {
    uint8_t x[6] = {1, 0, 2, 0, 0, 0}, y[3];
    kn_tensor tx = tensor(KILN_BOOL, x, 2, 2, 3), ty = tensor(KILN_BOOL, y, 0);
    CHECK(reduce(KN_REDUCE_ANY, 0x2, 0, &tx, &ty) == KILN_OK);
    CHECK(ty.dtype == KILN_BOOL && has_dims(&ty, 1, 2) && y[0] == 1 && y[1] == 0);
    CHECK(reduce(KN_REDUCE_ALL, 0x2, 1, &tx, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 2, 2, 1) && y[0] == 0 && y[1] == 0);
    CHECK(reduce(KN_REDUCE_ANY, 0x1, 0, &tx, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 1, 3) && y[0] == 1 && y[1] == 0 && y[2] == 1);
    uint8_t t[40];
    for (int i = 0; i < 40; i++) t[i] = (uint8_t)(1 + i % 2); /* 1 and 2: all true */
    kn_tensor tt = tensor(KILN_BOOL, t, 2, 20, 2);
    CHECK(reduce(KN_REDUCE_ALL, 0x1, 0, &tt, &ty) == KILN_OK); /* rows of 2, 20 times */
    CHECK(has_dims(&ty, 1, 2) && y[0] == 1 && y[1] == 1);
    CHECK(reduce(KN_REDUCE_ALL, 0x3, 0, &tt, &ty) == KILN_OK);
    CHECK(ty.rank == 0 && y[0] == 1);
    t[33] = 0;
    CHECK(reduce(KN_REDUCE_ALL, 0x3, 0, &tt, &ty) == KILN_OK);
    CHECK(y[0] == 0);
}

/* float32 MAX and MIN propagate NaN, in row and fold accumulations. */
static void reduce_nan(void) {
    float x[6] = {1, 5, NAN, 2, 3, 4}, y[3];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 3, 2), ty = tensor(KILN_FLOAT32, y, 0);
    CHECK(reduce(KN_REDUCE_MAX, 0x1, 0, &tx, &ty) == KILN_OK);
    CHECK(isnan(y[0]) && y[1] == 5);
    CHECK(reduce(KN_REDUCE_MIN, 0x1, 0, &tx, &ty) == KILN_OK);
    CHECK(isnan(y[0]) && y[1] == 2);
    CHECK(reduce(KN_REDUCE_MAX, 0x2, 0, &tx, &ty) == KILN_OK);
    CHECK(y[0] == 5 && isnan(y[1]) && y[2] == 4);
    CHECK(reduce(KN_REDUCE_MIN, 0x2, 0, &tx, &ty) == KILN_OK);
    CHECK(y[0] == 1 && isnan(y[1]) && y[2] == 3);
}

/* All 16 axis subsets of a rank-4 tensor, every float32 kind, against a naive loop. */
static void reduce_matches_reference(void) {
    enum { N = 2 * 3 * 4 * 5 };
    const int32_t dims[4] = {2, 3, 4, 5};
    float x[N], y[N], want[N];
    for (int i = 0; i < N; i++) x[i] = rand_float(0.5f, 1.5f);
    kn_tensor tx = tensor(KILN_FLOAT32, x, 4, 2, 3, 4, 5);
    for (int mask = 0; mask < 16; mask++)
        for (int kind = KN_REDUCE_SUM; kind <= KN_REDUCE_PROD; kind++) {
            kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
            CHECK(reduce(kind, mask, 1, &tx, &ty) == KILN_OK);
            size_t n_out = kn_tensor_count(&ty), n_red = N / n_out;
            for (size_t o = 0; o < n_out; o++)
                want[o] = kind == KN_REDUCE_MAX ? -INFINITY : kind == KN_REDUCE_MIN ? INFINITY
                        : kind == KN_REDUCE_PROD ? 1 : 0;
            for (int i = 0; i < N; i++) {
                size_t rest = (size_t)i, o = 0, o_step = 1;
                for (int d = 3; d >= 0; d--) {
                    size_t coord = rest % (size_t)dims[d];
                    rest /= (size_t)dims[d];
                    if (mask >> d & 1) continue;
                    o += coord * o_step;
                    o_step *= (size_t)dims[d];
                }
                float v = x[i];
                want[o] = kind == KN_REDUCE_MAX ? fmaxf(want[o], v) : kind == KN_REDUCE_MIN ? fminf(want[o], v)
                        : kind == KN_REDUCE_PROD ? want[o] * v : want[o] + v;
            }
            for (size_t o = 0; o < n_out; o++) {
                if (kind == KN_REDUCE_MEAN) want[o] /= (float)n_red;
                if (!(fabsf(y[o] - want[o]) <= 1e-5f * (1 + fabsf(want[o])))) {
                    fprintf(stderr, "mask %#x kind %d: y[%zu] = %g, want %g\n", (unsigned)mask, kind, o,
                            (double)y[o], (double)want[o]);
                    check_failures++;
                    break;
                }
            }
        }
}

static void reduce_errors(void) {
    kn_tensor x = tensor(KILN_FLOAT32, NULL, 2, 2, 3), u8 = tensor(KILN_UINT8, NULL, 2, 2, 3);
    kn_tensor *in = &x;
    kn_reduce_params beyond = {.kind = KN_REDUCE_SUM, .axes_mask = 0x4}, kind = {.kind = 9, .axes_mask = 1};
    kn_reduce_params keep = {.kind = KN_REDUCE_SUM, .axes_mask = 1, .keep_dims = 2};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_REDUCE, &beyond, &in, 1, 1, "");
    CHECK(strstr(kiln_last_error(), "0x4") != NULL);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_REDUCE, &kind, &in, 1, 1, "");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_REDUCE, &keep, &in, 1, 1, "");
    in = &u8;
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_REDUCE, &beyond, &in, 1, 1, "");
    /* ANY and ALL take bool only, and bool takes only them. */
    kn_tensor b = tensor(KILN_BOOL, NULL, 2, 2, 3);
    kn_reduce_params any = {.kind = KN_REDUCE_ANY, .axes_mask = 1}, sum = {.kind = KN_REDUCE_SUM, .axes_mask = 1};
    in = &x;
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_REDUCE, &any, &in, 1, 1, "");
    CHECK(strstr(kiln_last_error(), "ANY") && strstr(kiln_last_error(), "float32"));
    in = &b;
    EXPECT_INFER_FAIL(KILN_ERR_UNSUPPORTED, KN_OP_REDUCE, &sum, &in, 1, 1, "");
    CHECK(strstr(kiln_last_error(), "SUM") && strstr(kiln_last_error(), "bool"));
}

/* ---- CONCAT ------------------------------------------------------------- */

static void concat_three(int axis, kn_tensor *a, kn_tensor *b, kn_tensor *c, const float *want) {
    float y[16];
    kn_tensor ty = tensor(KILN_FLOAT32, y, 0);
    kn_concat_params p = {.axis = axis};
    kn_tensor *in[3] = {a, b, c};
    CHECK(run_op(KN_OP_CONCAT, &p, in, 3, &ty, 1) == KILN_OK);
    CHECK(ty.rank == 3 && ty.dims[axis] == 4 && kn_tensor_count(&ty) == 16);
    CHECK_ARRAY_NEAR(y, want, 16, 0);
}

static void concat_axes(void) {
    float a[4] = {1, 2, 3, 4}, b[8] = {10, 11, 12, 13, 14, 15, 16, 17}, c[4] = {20, 21, 22, 23};
    kn_tensor ta = tensor(KILN_FLOAT32, a, 3, 1, 2, 2), tb = tensor(KILN_FLOAT32, b, 3, 2, 2, 2);
    kn_tensor tc = tensor(KILN_FLOAT32, c, 3, 1, 2, 2);
    float want0[16] = {1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23};
    concat_three(0, &ta, &tb, &tc, want0);

    ta = tensor(KILN_FLOAT32, a, 3, 2, 1, 2);
    tc = tensor(KILN_FLOAT32, c, 3, 2, 1, 2);
    float want1[16] = {1, 2, 10, 11, 12, 13, 20, 21, 3, 4, 14, 15, 16, 17, 22, 23};
    concat_three(1, &ta, &tb, &tc, want1);

    ta = tensor(KILN_FLOAT32, a, 3, 2, 2, 1);
    tc = tensor(KILN_FLOAT32, c, 3, 2, 2, 1);
    float want2[16] = {1, 10, 11, 20, 2, 12, 13, 21, 3, 14, 15, 22, 4, 16, 17, 23};
    concat_three(2, &ta, &tb, &tc, want2);
}

static void concat_bytes(void) {
    uint8_t a[2] = {1, 2}, b[4] = {3, 4, 5, 6}, y[6];
    kn_tensor ta = tensor(KILN_UINT8, a, 2, 2, 1), tb = tensor(KILN_UINT8, b, 2, 2, 2);
    kn_tensor ty = tensor(KILN_UINT8, y, 0);
    kn_concat_params p = {.axis = 1};
    kn_tensor *in[2] = {&ta, &tb};
    CHECK(run_op(KN_OP_CONCAT, &p, in, 2, &ty, 1) == KILN_OK);
    CHECK(has_dims(&ty, 2, 2, 3) && ty.dtype == KILN_UINT8);
    uint8_t want[6] = {1, 3, 4, 2, 5, 6};
    CHECK(memcmp(y, want, 6) == 0);
}

static void concat_errors(void) {
    kn_tensor a = tensor(KILN_FLOAT32, NULL, 2, 2, 3), b = tensor(KILN_FLOAT32, NULL, 2, 3, 3);
    kn_tensor i = tensor(KILN_INT32, NULL, 2, 2, 3), s = tensor(KILN_FLOAT32, NULL, 0);
    kn_concat_params axis1 = {.axis = 1}, axis2 = {.axis = 2}, axis0 = {.axis = 0};
    kn_tensor *ab[2] = {&a, &b}, *ai[2] = {&a, &i}, *ss[2] = {&s, &s};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONCAT, &axis1, ab, 2, 1, ""); /* dim 0 differs */
    CHECK(strstr(kiln_last_error(), "dim 0") != NULL);
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONCAT, &axis2, ab, 2, 1, "");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONCAT, &axis0, ai, 2, 1, "");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONCAT, &axis0, ss, 2, 1, "");
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONCAT, &axis0, ab, 0, 1, "");
    /* Two inputs whose joined axis passes INT32_MAX. */
    kn_tensor big = tensor(KILN_FLOAT32, NULL, 1, INT32_MAX - 5);
    kn_tensor *bb[2] = {&big, &big};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_CONCAT, &axis0, bb, 2, 1, "");
}

/* ---- PAD ---------------------------------------------------------------- */

static kiln_status pad(kn_pad_params *p, kn_tensor *x, kn_tensor *y) { return run_op(KN_OP_PAD, p, &x, 1, y, 1); }

/* The TF docs' examples: [[1,2,3],[4,5,6]] padded by [[1,1],[2,2]]. */
static void pad_2d_modes(void) {
    float x[6] = {1, 2, 3, 4, 5, 6}, y[28];
    kn_tensor tx = tensor(KILN_FLOAT32, x, 2, 2, 3), ty = tensor(KILN_FLOAT32, y, 0);
    kn_pad_params p = {.mode = KN_PAD_CONSTANT, .before = {1, 2}, .after = {1, 2}};
    float value = -1;
    memcpy(&p.value_bits, &value, 4);
    CHECK(pad(&p, &tx, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 2, 4, 7));
    float constant[28] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, 1, 2, 3, -1, -1,
                          -1, -1, 4, 5, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    CHECK_ARRAY_NEAR(y, constant, 28, 0);

    p.mode = KN_PAD_REFLECT;
    CHECK(pad(&p, &tx, &ty) == KILN_OK);
    float reflect[28] = {6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1};
    CHECK_ARRAY_NEAR(y, reflect, 28, 0);

    p.mode = KN_PAD_SYMMETRIC;
    CHECK(pad(&p, &tx, &ty) == KILN_OK);
    float symmetric[28] = {2, 1, 1, 2, 3, 3, 2, 2, 1, 1, 2, 3, 3, 2, 5, 4, 4, 5, 6, 6, 5, 5, 4, 4, 5, 6, 6, 5};
    CHECK_ARRAY_NEAR(y, symmetric, 28, 0);
}

/* Mirrors by walking back and forth, independently of the op's formula. */
static int mirror_walk(int i, int n, int mode) {
    int edge = mode == KN_PAD_SYMMETRIC;
    while (i < 0 || i >= n) i = i < 0 ? -i - edge : 2 * (n - 1) + edge - i;
    return i;
}

/* x[2,3,2,2] padded on the two middle dims (whole [2] blocks per element of
 * dim 2) and then on the first and last dims, in each mode. */
static void pad_matches_reference(void) {
    enum { N = 2 * 3 * 2 * 2 };
    float x[N], y[512];
    for (int i = 0; i < N; i++) x[i] = (float)i;
    const int32_t dims[4] = {2, 3, 2, 2};
    static const int32_t befores[2][4] = {{0, 2, 1, 0}, {1, 0, 0, 1}}, afters[2][4] = {{0, 1, 1, 0}, {1, 2, 1, 1}};
    for (int mode = KN_PAD_CONSTANT; mode <= KN_PAD_SYMMETRIC; mode++)
        for (int c = 0; c < 2; c++) {
            kn_pad_params p = {.mode = mode, .value_bits = 0x40490fdbu /* 3.14159274f */};
            memcpy(p.before, befores[c], sizeof befores[c]);
            memcpy(p.after, afters[c], sizeof afters[c]);
            kn_tensor tx = tensor(KILN_FLOAT32, x, 4, 2, 3, 2, 2), ty = tensor(KILN_FLOAT32, y, 0);
            CHECK(pad(&p, &tx, &ty) == KILN_OK);
            size_t bad = 0, n = kn_tensor_count(&ty);
            for (size_t o = 0; o < n; o++) {
                size_t rest = o, src = 0, step = 1;
                bool fill = false;
                for (int d = 3; d >= 0; d--) {
                    int coord = (int)(rest % (size_t)ty.dims[d]) - p.before[d];
                    rest /= (size_t)ty.dims[d];
                    if (coord < 0 || coord >= dims[d]) {
                        if (mode == KN_PAD_CONSTANT) fill = true;
                        else coord = mirror_walk(coord, dims[d], mode);
                    }
                    src += (size_t)(fill ? 0 : coord) * step;
                    step *= (size_t)dims[d];
                }
                bad += y[o] != (fill ? 3.14159274f : x[src]);
            }
            if (bad) fprintf(stderr, "mode %d case %d: %zu mismatches\n", mode, c, bad);
            CHECK(bad == 0);
        }
}

static void pad_int_and_bytes(void) {
    int32_t x[2] = {7, 8}, y[5];
    kn_tensor tx = tensor(KILN_INT32, x, 1, 2), ty = tensor(KILN_INT32, y, 0);
    kn_pad_params p = {.mode = KN_PAD_CONSTANT, .before = {1}, .after = {2}, .value_bits = (uint32_t)-5};
    CHECK(pad(&p, &tx, &ty) == KILN_OK);
    CHECK(ty.dtype == KILN_INT32 && has_dims(&ty, 1, 5));
    CHECK(y[0] == -5 && y[1] == 7 && y[2] == 8 && y[3] == -5 && y[4] == -5);

    uint8_t b[2] = {1, 2}, by[4];
    kn_tensor tb = tensor(KILN_UINT8, b, 2, 1, 2), tby = tensor(KILN_UINT8, by, 0);
    kn_pad_params pb = {.mode = KN_PAD_CONSTANT, .before = {1}, .value_bits = 0x1ff};
    CHECK(pad(&pb, &tb, &tby) == KILN_OK);
    CHECK(has_dims(&tby, 2, 2, 2) && by[0] == 0xff && by[1] == 0xff && by[2] == 1 && by[3] == 2);

    /* No padding at all is a copy. */
    kn_pad_params none = {.mode = KN_PAD_REFLECT};
    CHECK(pad(&none, &tx, &ty) == KILN_OK);
    CHECK(has_dims(&ty, 1, 2) && y[0] == 7 && y[1] == 8);
}

static void pad_errors(void) {
    kn_tensor x = tensor(KILN_FLOAT32, NULL, 2, 2, 3);
    kn_tensor *in = &x;
    kn_pad_params reflect = {.mode = KN_PAD_REFLECT, .before = {0, 3}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_PAD, &reflect, &in, 1, 1, ""); /* reflect reaches 2 at most */
    CHECK(strstr(kiln_last_error(), "REFLECT") && strstr(kiln_last_error(), "at most 2"));
    kn_pad_params symmetric = {.mode = KN_PAD_SYMMETRIC, .after = {3}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_PAD, &symmetric, &in, 1, 1, "");
    kn_pad_params negative = {.mode = KN_PAD_CONSTANT, .before = {-1}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_PAD, &negative, &in, 1, 1, "");
    kn_pad_params beyond = {.mode = KN_PAD_CONSTANT, .after = {0, 0, 1}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_PAD, &beyond, &in, 1, 1, "");
    kn_pad_params mode = {.mode = 3};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_PAD, &mode, &in, 1, 1, "");
    kn_pad_params huge = {.mode = KN_PAD_CONSTANT, .before = {INT32_MAX}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_PAD, &huge, &in, 1, 1, "");
}

/* ---- RESHAPE ------------------------------------------------------------ */

static void reshape_copies_and_aliases(void) {
    int32_t x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {0};
    kn_tensor tx = tensor(KILN_INT32, x, 2, 2, 3), ty = tensor(KILN_INT32, y, 0);
    kn_reshape_params p = {.rank = 3, .dims = {3, 1, 2}};
    kn_tensor *in = &tx;
    CHECK(run_op(KN_OP_RESHAPE, &p, &in, 1, &ty, 1) == KILN_OK);
    CHECK(has_dims(&ty, 3, 3, 1, 2) && ty.dtype == KILN_INT32);
    CHECK(memcmp(x, y, sizeof x) == 0);

    kn_tensor same = tensor(KILN_INT32, x, 0);
    kn_reshape_params flat = {.rank = 1, .dims = {6}};
    CHECK(run_op(KN_OP_RESHAPE, &flat, &in, 1, &same, 1) == KILN_OK);
    CHECK(has_dims(&same, 1, 6) && x[5] == 6);

    float one = 2.5f, out = 0;
    kn_tensor t1 = tensor(KILN_FLOAT32, &one, 3, 1, 1, 1), t0 = tensor(KILN_FLOAT32, &out, 0);
    kn_reshape_params scalar = {.rank = 0};
    in = &t1;
    CHECK(run_op(KN_OP_RESHAPE, &scalar, &in, 1, &t0, 1) == KILN_OK);
    CHECK(t0.rank == 0 && out == 2.5f);
}

static void reshape_errors(void) {
    kn_tensor x = tensor(KILN_FLOAT32, NULL, 2, 2, 3);
    kn_tensor *in = &x;
    kn_reshape_params mismatch = {.rank = 2, .dims = {4, 2}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESHAPE, &mismatch, &in, 1, 1, "");
    CHECK(strstr(kiln_last_error(), "float32[2,3]") && strstr(kiln_last_error(), "float32[4,2]"));
    kn_reshape_params rank = {.rank = 9};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESHAPE, &rank, &in, 1, 1, "");
    kn_reshape_params negative = {.rank = 2, .dims = {-2, -3}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESHAPE, &negative, &in, 1, 1, "");
    kn_reshape_params overflow = {.rank = 3, .dims = {65536, 65536, 0x7fffffff}};
    EXPECT_INFER_FAIL(KILN_ERR_BAD_BUNDLE, KN_OP_RESHAPE, &overflow, &in, 1, 1, "");
}

int main(void) {
    RUN(binary_same_shape);
    RUN(binary_scalar_both_ways);
    RUN(binary_column_with_row);
    RUN(binary_rank3_with_rank2);
    RUN(binary_scalars);
    RUN(binary_int32);
    RUN(binary_each_kind);
    RUN(binary_prelu_per_channel);
    RUN(binary_floor_div_mod_f32);
    RUN(binary_floor_div_mod_i32);
    RUN(binary_atan2_and_nan_max_min);
    RUN(binary_comparisons);
    RUN(binary_bool_ops);
    RUN(binary_uint8);
    RUN(binary_fused_activation);
    RUN(binary_matches_reference);
    RUN(binary_in_place);
    RUN(binary_errors);
    RUN(unary_each_kind);
    RUN(unary_int32);
    RUN(unary_edge_values);
    RUN(unary_int32_and_bool);
    RUN(unary_in_place_and_errors);
    RUN(softmax_rows);
    RUN(softmax_first_axis);
    RUN(softmax_errors);
    RUN(reduce_spatial_mean);
    RUN(reduce_kinds);
    RUN(reduce_outer_and_inner_axes);
    RUN(reduce_int32);
    RUN(reduce_empty_mask_and_empty_axis);
    RUN(reduce_any_all);
    RUN(reduce_nan);
    RUN(reduce_matches_reference);
    RUN(reduce_errors);
    RUN(concat_axes);
    RUN(concat_bytes);
    RUN(concat_errors);
    RUN(pad_2d_modes);
    RUN(pad_matches_reference);
    RUN(pad_int_and_bytes);
    RUN(pad_errors);
    RUN(reshape_copies_and_aliases);
    RUN(reshape_errors);
    return check_summary();
}
