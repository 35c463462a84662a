/* Lowerings of converter/lower/elementwise.c end to end: a TF graph built by
 * hand, converted, loaded and run, against values computed here from TF's
 * definitions; and the conversion errors they report. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"
#include "graph_builder.h"

/* Converts g (freed here), runs it on the inputs and copies the outputs;
 * false (with the error printed) if conversion or the run fails. */
static bool convert_run(tf_graph *g, const void *const *in, int n_in, void *const *out, const size_t *sizes, int n_out) {
    gb_bundle b = {0};
    bool ok = gb_convert(g, NULL, &b);
    tf_graph_free(g);
    if (!ok) {
        fprintf(stderr, "  conversion failed: %s\n", kc_last_error());
        return false;
    }
    ok = gb_run(&b, in, n_in, out, sizes, n_out) == KILN_OK;
    if (!ok) fprintf(stderr, "  run failed: %s\n", kiln_last_error());
    free(b.bytes);
    return ok;
}

/* Converts g (freed here), expecting failure with `want` in the message. */
static void expect_convert_error(tf_graph *g, const char *want) {
    gb_bundle b = {0};
    CHECK(!gb_convert(g, NULL, &b));
    free(b.bytes);
    tf_graph_free(g);
    if (!strstr(kc_last_error(), want)) {
        fprintf(stderr, "  error '%s' lacks '%s'\n", kc_last_error(), want);
        check_failures++;
    }
}

/* got matches want: both NaN, or within tol * (1 + |want|) (infinities equal). */
static bool near(float got, double want, double tol) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= tol * (1 + fabs(want));
}

/* ---- unary -------------------------------------------------------------- */

static double softplus(double x) { return log1p(exp(x)); }
static double softsign(double x) { return x / (1 + fabs(x)); }
static double selu(double x) { return x < 0 ? 1.7580993408473768 * expm1(x) : 1.0507009873554805 * x; }
static double sign(double x) { return x > 0 ? 1 : x < 0 ? -1 : x; }
static double reciprocal(double x) { return 1 / x; }

/* Each float op on a row of values, half-way cases included (Round is half to even). */
static void unary_ops(void) {
    static const struct { const char *op; double (*ref)(double); } ops[] = {
        {"Log1p", log1p}, {"Floor", floor}, {"Ceil", ceil}, {"Round", nearbyint}, {"Rint", nearbyint},
        {"Reciprocal", reciprocal}, {"Inv", reciprocal}, {"Sin", sin}, {"Cos", cos}, {"Tan", tan},
        {"Atan", atan}, {"Erf", erf}, {"Softplus", softplus}, {"Softsign", softsign}, {"Selu", selu},
        {"Sign", sign}, {"Expm1", expm1},
    };
    const float x[8] = {-2.5f, -1.5f, -0.5f, 0, 0.5f, 1.5f, 2.5f, 20};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        tf_graph *g = tf_graph_new();
        gb_placeholder(g, "x", TF_DT_FLOAT, 2, (int64_t[]){2, 4});
        gb_node2(g, "y", ops[k].op, "x", NULL);
        float y[8];
        if (!convert_run(g, (const void *[]){x}, 1, (void *[]){y}, (size_t[]){sizeof y}, 1)) {
            CHECK(!ops[k].op);
            continue;
        }
        for (int i = 0; i < 8; i++)
            if (!near(y[i], ops[k].ref(x[i]), 2e-6)) {
                fprintf(stderr, "  %s(%g) = %.9g, want %.9g\n", ops[k].op, (double)x[i], (double)y[i], ops[k].ref(x[i]));
                check_failures++;
            }
    }
}

/* Sign and Round on int32, LogicalNot on bool. */
static void unary_int_and_bool_ops(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "i", TF_DT_INT32, 1, (int64_t[]){4});
    gb_placeholder(g, "b", TF_DT_BOOL, 1, (int64_t[]){3});
    gb_node2(g, "sign", "Sign", "i", NULL);
    gb_node2(g, "round", "Round", "i", NULL);
    gb_node2(g, "not", "LogicalNot", "b", NULL);
    int32_t i[4] = {INT32_MIN, -3, 0, 9}, sign_y[4], round_y[4];
    uint8_t b[3] = {1, 0, 1}, not_y[3];
    CHECK(convert_run(g, (const void *[]){i, b}, 2, (void *[]){sign_y, round_y, not_y},
                      (size_t[]){sizeof sign_y, sizeof round_y, sizeof not_y}, 3));
    CHECK(memcmp(sign_y, (int32_t[]){-1, -1, 0, 1}, sizeof sign_y) == 0);
    CHECK(memcmp(round_y, i, sizeof round_y) == 0);
    CHECK(memcmp(not_y, (uint8_t[]){0, 1, 0}, 3) == 0);
}

/* ---- binary ------------------------------------------------------------- */

/* a[2,3] (op) b[3] for the float ops; comparisons give bool. */
static void binary_float_ops(void) {
    const float a[6] = {7, -7, 3.5f, -0.5f, 2, NAN}, b[3] = {2, -2, 0.5f};
    static const struct { const char *op; float want[6]; } arith[] = {
        {"FloorDiv", {3, 3, 7, -1, -1, NAN}},
        {"FloorMod", {1, -1, 0, 1.5f, 0, NAN}},
        {"Div", {3.5f, 3.5f, 7, -0.25f, -1, NAN}},
        {"Atan2", {1.2924967f, -1.8490960f, 1.4288993f, -0.24497866f, 2.3561945f, NAN}},
    };
    for (size_t k = 0; k < sizeof arith / sizeof arith[0]; k++) {
        tf_graph *g = tf_graph_new();
        gb_placeholder(g, "a", TF_DT_FLOAT, 2, (int64_t[]){2, 3});
        gb_const(g, "b", TF_DT_FLOAT, 1, (int64_t[]){3}, b);
        gb_node2(g, "y", arith[k].op, "a", "b");
        float y[6];
        CHECK(convert_run(g, (const void *[]){a}, 1, (void *[]){y}, (size_t[]){sizeof y}, 1));
        for (int i = 0; i < 6; i++)
            if (!near(y[i], arith[k].want[i], 1e-6)) {
                fprintf(stderr, "  %s [%d] = %.9g, want %.9g\n", arith[k].op, i, (double)y[i], (double)arith[k].want[i]);
                check_failures++;
            }
    }
    /* a = [[7, -7, 3.5], [-0.5, 2, NaN]] against c = [2, -7, 0.5] */
    static const struct { const char *op; uint8_t want[6]; } cmp[] = {
        {"Equal", {0, 1, 0, 0, 0, 0}},   {"NotEqual", {1, 0, 1, 1, 1, 1}},
        {"Less", {0, 0, 0, 1, 0, 0}},    {"LessEqual", {0, 1, 0, 1, 0, 0}},
        {"Greater", {1, 0, 1, 0, 1, 0}}, {"GreaterEqual", {1, 1, 1, 0, 1, 0}},
    };
    const float c[3] = {2, -7, 0.5f};
    for (size_t k = 0; k < sizeof cmp / sizeof cmp[0]; k++) {
        tf_graph *g = tf_graph_new();
        gb_placeholder(g, "a", TF_DT_FLOAT, 2, (int64_t[]){2, 3});
        gb_placeholder(g, "b", TF_DT_FLOAT, 1, (int64_t[]){3});
        gb_node2(g, "y", cmp[k].op, "a", "b");
        uint8_t y[6];
        CHECK(convert_run(g, (const void *[]){a, c}, 2, (void *[]){y}, (size_t[]){sizeof y}, 1));
        if (memcmp(y, cmp[k].want, 6) != 0) {
            fprintf(stderr, "  %s: %d %d %d %d %d %d\n", cmp[k].op, y[0], y[1], y[2], y[3], y[4], y[5]);
            check_failures++;
        }
    }
}

/* int32 FloorDiv / FloorMod (with INT32_MIN / -1 and a zero divisor), uint8
 * Add and Mul (wrapping), bool LogicalAnd / LogicalOr, broadcast. */
static void binary_int_uint8_bool_ops(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "i", TF_DT_INT32, 1, (int64_t[]){5});
    gb_const(g, "d", TF_DT_INT32, 1, (int64_t[]){5}, (int32_t[]){2, -2, -1, 0, 3});
    gb_node2(g, "fdiv", "FloorDiv", "i", "d");
    gb_node2(g, "fmod", "FloorMod", "i", "d");
    gb_placeholder(g, "u", TF_DT_UINT8, 1, (int64_t[]){3});
    gb_const(g, "k", TF_DT_UINT8, 0, NULL, (uint8_t[]){100});
    gb_node2(g, "uadd", "AddV2", "u", "k");
    gb_node2(g, "umul", "Mul", "k", "u");
    gb_placeholder(g, "p", TF_DT_BOOL, 2, (int64_t[]){2, 1});
    gb_placeholder(g, "q", TF_DT_BOOL, 1, (int64_t[]){2});
    gb_node2(g, "and", "LogicalAnd", "p", "q");
    gb_node2(g, "or", "LogicalOr", "p", "q");
    int32_t i[5] = {-7, -7, INT32_MIN, 5, -7}, fdiv[5], fmod_y[5];
    uint8_t u[3] = {1, 156, 200}, uadd[3], umul[3], p[2] = {1, 0}, q[2] = {1, 0}, and_y[4], or_y[4];
    CHECK(convert_run(g, (const void *[]){i, u, p, q}, 4, (void *[]){fdiv, fmod_y, uadd, umul, and_y, or_y},
                      (size_t[]){sizeof fdiv, sizeof fmod_y, sizeof uadd, sizeof umul, sizeof and_y, sizeof or_y}, 6));
    CHECK(memcmp(fdiv, (int32_t[]){-4, 3, INT32_MIN, 0, -3}, sizeof fdiv) == 0);
    CHECK(memcmp(fmod_y, (int32_t[]){1, -1, 0, 0, 2}, sizeof fmod_y) == 0);
    CHECK(memcmp(uadd, (uint8_t[]){101, 0, 44}, 3) == 0);
    CHECK(memcmp(umul, (uint8_t[]){100, 240, 32}, 3) == 0);
    CHECK(memcmp(and_y, (uint8_t[]){1, 0, 0, 0}, 4) == 0);
    CHECK(memcmp(or_y, (uint8_t[]){1, 1, 1, 0}, 4) == 0);
}

static void binary_errors(void) {
    /* TF's Div truncates integers (tfjs floors them): refused, by name. */
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "i", TF_DT_INT32, 1, (int64_t[]){2});
    gb_node2(g, "div", "Div", "i", "i");
    expect_convert_error(g, "node 'div' (Div): Div on int32");
    g = tf_graph_new();
    gb_placeholder(g, "i", TF_DT_INT32, 1, (int64_t[]){2});
    gb_node2(g, "t", "TruncateDiv", "i", "i");
    expect_convert_error(g, "TruncateDiv: 1 node");
    /* Comparing float with int32, logic on floats. */
    g = tf_graph_new();
    gb_placeholder(g, "f", TF_DT_FLOAT, 1, (int64_t[]){2});
    gb_placeholder(g, "i", TF_DT_INT32, 1, (int64_t[]){2});
    gb_node2(g, "less", "Less", "f", "i");
    expect_convert_error(g, "node 'less'");
    g = tf_graph_new();
    gb_placeholder(g, "f", TF_DT_FLOAT, 1, (int64_t[]){2});
    gb_node2(g, "and", "LogicalAnd", "f", "f");
    expect_convert_error(g, "LOGICAL_AND is not supported for float32");
}

/* ---- reductions, clip, log-softmax -------------------------------------- */

static void any_all(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "b", TF_DT_BOOL, 2, (int64_t[]){2, 3});
    gb_const(g, "axis", TF_DT_INT32, 1, (int64_t[]){1}, (int32_t[]){-1});
    gb_node2(g, "any", "Any", "b", "axis");
    tf_node *all = gb_node2(g, "all", "All", "b", "axis");
    gb_attr_b(g, all, "keep_dims", true);
    gb_const(g, "none", TF_DT_INT32, 1, (int64_t[]){0}, NULL);
    gb_node2(g, "copy", "All", "b", "none"); /* no axes: the identity */
    uint8_t b[6] = {0, 1, 0, 1, 1, 1}, any_y[2], all_y[2], copy_y[6];
    CHECK(convert_run(g, (const void *[]){b}, 1, (void *[]){any_y, all_y, copy_y},
                      (size_t[]){sizeof any_y, sizeof all_y, sizeof copy_y}, 3));
    CHECK(any_y[0] == 1 && any_y[1] == 1 && all_y[0] == 0 && all_y[1] == 1);
    CHECK(memcmp(copy_y, b, 6) == 0);

    g = tf_graph_new();
    gb_placeholder(g, "f", TF_DT_FLOAT, 1, (int64_t[]){2});
    gb_const(g, "axis", TF_DT_INT32, 0, NULL, (int32_t[]){0});
    gb_node2(g, "any", "Any", "f", "axis");
    expect_convert_error(g, "ANY is not supported for float32");
}

/* Max over an empty axis gives -inf, as TF's reducer identity. */
static void max_of_empty(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 2, (int64_t[]){3, 0});
    gb_const(g, "axis", TF_DT_INT32, 0, NULL, (int32_t[]){1});
    gb_node2(g, "max", "Max", "x", "axis");
    gb_node2(g, "min", "Min", "x", "axis");
    float x[1], max_y[3], min_y[3];
    CHECK(convert_run(g, (const void *[]){x}, 1, (void *[]){max_y, min_y}, (size_t[]){sizeof max_y, sizeof min_y}, 2));
    CHECK(max_y[0] == -INFINITY && max_y[2] == -INFINITY && min_y[1] == INFINITY);
}

/* ClipByValue = max(min(x, hi), lo): where lo > hi the result is lo. */
static void clip_by_value(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 2, (int64_t[]){2, 3});
    gb_const(g, "lo", TF_DT_FLOAT, 0, NULL, (float[]){-1});
    gb_const(g, "hi", TF_DT_FLOAT, 1, (int64_t[]){3}, (float[]){1, 2, -2});
    gb_node(g, "clip", "ClipByValue", 3, (const char *[]){"x", "lo", "hi"});
    float x[6] = {-5, 0.5f, 0, 5, NAN, 3}, y[6];
    CHECK(convert_run(g, (const void *[]){x}, 1, (void *[]){y}, (size_t[]){sizeof y}, 1));
    float want[6] = {-1, 0.5f, -1, 1, NAN, -1};
    for (int i = 0; i < 6; i++) CHECK(near(y[i], want[i], 0));

    /* Bounds that would enlarge x are refused. */
    g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 1, (int64_t[]){3});
    gb_const(g, "lo", TF_DT_FLOAT, 2, (int64_t[]){2, 3}, (float[]){0, 0, 0, 0, 0, 0});
    gb_const(g, "hi", TF_DT_FLOAT, 0, NULL, (float[]){1});
    gb_node(g, "clip", "ClipByValue", 3, (const char *[]){"x", "lo", "hi"});
    expect_convert_error(g, "must broadcast to x's shape float32[3]");
}

/* LogSoftmax over the last axis, stable for large logits. */
static void log_softmax(void) {
    tf_graph *g = tf_graph_new();
    gb_placeholder(g, "x", TF_DT_FLOAT, 2, (int64_t[]){3, 4});
    gb_node2(g, "y", "LogSoftmax", "x", NULL);
    float x[12] = {1, 2, 3, 4, 1000, 1001, 1002, 1003, -50, 0, 0, -50}, y[12];
    CHECK(convert_run(g, (const void *[]){x}, 1, (void *[]){y}, (size_t[]){sizeof y}, 1));
    for (int r = 0; r < 3; r++) {
        double max = -INFINITY, sum = 0;
        for (int j = 0; j < 4; j++) max = fmax(max, x[r * 4 + j]);
        for (int j = 0; j < 4; j++) sum += exp(x[r * 4 + j] - max);
        for (int j = 0; j < 4; j++) CHECK(near(y[r * 4 + j], x[r * 4 + j] - max - log(sum), 1e-6));
    }
}

/* ---- Dequantize ---------------------------------------------------------- */

/* Dequantize of a [2,3] constant of `qtype` with the given attrs and ranges (nr values each). */
static bool dequantize(int qtype, const uint8_t *q, const char *mode, int axis, bool narrow, const float *mins,
                       const float *maxs, int nr, float *y) {
    tf_graph *g = tf_graph_new();
    gb_const(g, "q", qtype, 2, (int64_t[]){2, 3}, q);
    gb_const(g, "min", TF_DT_FLOAT, nr == 1 ? 0 : 1, (int64_t[]){nr}, mins);
    gb_const(g, "max", TF_DT_FLOAT, nr == 1 ? 0 : 1, (int64_t[]){nr}, maxs);
    tf_node *n = gb_node(g, "w", "Dequantize", 3, (const char *[]){"q", "min", "max"});
    gb_attr_type(g, n, "T", qtype);
    if (mode) gb_attr_s(g, n, "mode", mode);
    if (axis != -1) gb_attr_i(g, n, "axis", axis);
    if (narrow) gb_attr_b(g, n, "narrow_range", true);
    /* Used by a run-time step, as weights are. */
    gb_placeholder(g, "x", TF_DT_FLOAT, 0, NULL);
    gb_node2(g, "y", "Mul", "x", "w");
    const float one = 1;
    return convert_run(g, (const void *[]){&one}, 1, (void *[]){y}, (size_t[]){6 * sizeof(float)}, 1);
}

static bool all_near(const float *got, const float *want, int n) {
    bool ok = true;
    for (int i = 0; i < n; i++)
        if (!near(got[i], want[i], 1e-6)) {
            fprintf(stderr, "  [%d] = %.9g, want %.9g\n", i, (double)got[i], (double)want[i]);
            ok = false;
        }
    return ok;
}

/* quint8 in each mode, on range [-0.5, 1.5]: step 2/255. */
static void dequantize_quint8(void) {
    const uint8_t q[6] = {0, 1, 64, 128, 254, 255};
    const float lo = -0.5f, hi = 1.5f;
    float y[6] = {0};
    /* MIN_COMBINED (the default mode): min + q * (max - min) / 255 */
    CHECK(dequantize(TF_DT_QUINT8, q, NULL, -1, false, &lo, &hi, 1, y));
    const float combined[6] = {-0.5f, -0.49215686f, 0.00196078f, 0.50392157f, 1.49215686f, 1.5f};
    CHECK(all_near(y, combined, 6));
    /* MIN_FIRST: min rounded to a whole step first (-64 steps), so q = 64 is exactly 0 */
    CHECK(dequantize(TF_DT_QUINT8, q, "MIN_FIRST", -1, false, &lo, &hi, 1, y));
    const float first[6] = {-0.50196078f, -0.49411765f, 0, 0.50196078f, 1.49019608f, 1.49803922f};
    CHECK(all_near(y, first, 6));
    CHECK(y[2] == 0);
    /* SCALED: q * max / 255, min unused */
    CHECK(dequantize(TF_DT_QUINT8, q, "SCALED", -1, false, &lo, &hi, 1, y));
    const float scaled[6] = {0, 0.00588235f, 0.37647059f, 0.75294118f, 1.49411765f, 1.5f};
    CHECK(all_near(y, scaled, 6));
    /* min == max: every value is min (MIN_FIRST has no step then) */
    CHECK(dequantize(TF_DT_QUINT8, q, "MIN_FIRST", -1, false, &hi, &hi, 1, y));
    CHECK(y[0] == 1.5f && y[5] == 1.5f);
}

/* qint8 bytes {-128, -1, 0, 1, 127, -127} in each mode. */
static void dequantize_qint8(void) {
    const uint8_t q[6] = {0x80, 0xff, 0, 1, 0x7f, 0x81};
    float lo = -1, hi = 1, y[6] = {0};
    /* MIN_COMBINED shifts by 128 first: min + (q + 128) * (max - min) / 255 */
    CHECK(dequantize(TF_DT_QINT8, q, "MIN_COMBINED", -1, false, &lo, &hi, 1, y));
    const float combined[6] = {-1, -0.00392157f, 0.00392157f, 0.01176471f, 1, -0.99215686f};
    CHECK(all_near(y, combined, 6));
    /* SCALED: q * max(min / -128, max / 127) */
    CHECK(dequantize(TF_DT_QINT8, q, "SCALED", -1, false, &lo, &hi, 1, y));
    const float scaled[6] = {-1.00787402f, -0.00787402f, 0, 0.00787402f, 1, -1};
    CHECK(all_near(y, scaled, 6));
    /* narrow_range: q * max(min / -127, max / 127) */
    lo = -2;
    CHECK(dequantize(TF_DT_QINT8, q, "SCALED", -1, true, &lo, &hi, 1, y));
    const float narrow[6] = {-2.01574803f, -0.01574803f, 0, 0.01574803f, 2, -2};
    CHECK(all_near(y, narrow, 6));
    /* MIN_FIRST on [-0.5, 1.5]: (q + 128) steps of 2/255 from min rounded to -64 steps */
    lo = -0.5f;
    hi = 1.5f;
    CHECK(dequantize(TF_DT_QINT8, q, "MIN_FIRST", -1, false, &lo, &hi, 1, y));
    const float first[6] = {-0.50196078f, 0.49411765f, 0.50196078f, 0.50980392f, 1.49803922f, -0.49411765f};
    CHECK(all_near(y, first, 6));
}

/* One range per slice along `axis`. */
static void dequantize_per_axis(void) {
    const uint8_t q[6] = {0, 51, 255, 0, 51, 255};
    float y[6] = {0};
    const float lo0[2] = {0, -1}, hi0[2] = {255, 1}; /* rows */
    CHECK(dequantize(TF_DT_QUINT8, q, "MIN_COMBINED", 0, false, lo0, hi0, 2, y));
    const float rows[6] = {0, 51, 255, -1, -0.6f, 1};
    CHECK(all_near(y, rows, 6));
    const float lo1[3] = {0, 0, 0}, hi1[3] = {1, 5, 255}; /* columns */
    CHECK(dequantize(TF_DT_QUINT8, q, "SCALED", 1, false, lo1, hi1, 3, y));
    const float cols[6] = {0, 1, 255, 0, 1, 255};
    CHECK(all_near(y, cols, 6));
}

static void dequantize_errors(void) {
    const uint8_t q[6] = {0};
    const float r[3] = {0, 1, 2};
    tf_graph *g = tf_graph_new();
    gb_const(g, "q", TF_DT_QUINT8, 2, (int64_t[]){2, 3}, q);
    gb_placeholder(g, "min", TF_DT_FLOAT, 0, NULL);
    gb_const(g, "max", TF_DT_FLOAT, 0, NULL, r);
    gb_attr_type(g, gb_node(g, "w", "Dequantize", 3, (const char *[]){"q", "min", "max"}), "T", TF_DT_QUINT8);
    expect_convert_error(g, "min_range must be a float32 constant of 1 value(s)");

    static const struct { const char *mode; int axis; int nr; const char *want; } cases[] = {
        {"MIN_FIRST", 1, 3, "MIN_FIRST mode has no per-axis form"},
        {"SCALED", 1, 1, "min_range must be a float32 constant of 3 value(s), got float32[]"},
        {"SCALED", 2, 1, "axis 2 is out of range"},
        {"MAX_FIRST", -1, 1, "mode 'MAX_FIRST' is not"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        g = tf_graph_new();
        gb_const(g, "q", TF_DT_QUINT8, 2, (int64_t[]){2, 3}, q);
        gb_const(g, "min", TF_DT_FLOAT, cases[c].nr == 1 ? 0 : 1, (int64_t[]){cases[c].nr}, r);
        gb_const(g, "max", TF_DT_FLOAT, cases[c].nr == 1 ? 0 : 1, (int64_t[]){cases[c].nr}, r);
        tf_node *n = gb_node(g, "w", "Dequantize", 3, (const char *[]){"q", "min", "max"});
        gb_attr_type(g, n, "T", TF_DT_QUINT8);
        gb_attr_s(g, n, "mode", cases[c].mode);
        gb_attr_i(g, n, "axis", cases[c].axis);
        expect_convert_error(g, cases[c].want);
    }
}

int main(void) {
    RUN(unary_ops);
    RUN(unary_int_and_bool_ops);
    RUN(binary_float_ops);
    RUN(binary_int_uint8_bool_ops);
    RUN(binary_errors);
    RUN(any_all);
    RUN(max_of_empty);
    RUN(clip_by_value);
    RUN(log_softmax);
    RUN(dequantize_quint8);
    RUN(dequantize_qint8);
    RUN(dequantize_per_axis);
    RUN(dequantize_errors);
    return check_summary();
}
