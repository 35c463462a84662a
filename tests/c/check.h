/* A tiny test harness: each test_*.c is one ctest executable whose main
 * calls RUN(fn) for each case and returns check_summary(). */
#ifndef KILN_CHECK_H
#define KILN_CHECK_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "kn.h"

extern int check_failures;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
            check_failures++;                                                         \
        }                                                                             \
    } while (0)

#define CHECK_NEAR(got, want, tol)                                                             \
    do {                                                                                       \
        double g_ = (got), w_ = (want);                                                        \
        if (!(fabs(g_ - w_) <= (tol))) {                                                       \
            fprintf(stderr, "%s:%d: %s = %.9g, want %.9g (tol %g)\n", __FILE__, __LINE__, #got, \
                    g_, w_, (double)(tol));                                                    \
            check_failures++;                                                                  \
        }                                                                                      \
    } while (0)

/* Every element of got[0..n) within tol of want[0..n). */
#define CHECK_ARRAY_NEAR(got, want, n, tol) check_array_near(__FILE__, __LINE__, #got, got, want, n, tol)
void check_array_near(const char *file, int line, const char *what, const float *got, const float *want,
                      size_t n, double tol);

#define RUN(fn)                                   \
    do {                                          \
        int before_ = check_failures;             \
        fn();                                     \
        fprintf(stderr, "%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #fn); \
    } while (0)

int check_summary(void);

/* Whether got[0..n) equals want[0..n); prints each difference. */
bool ints_equal(const int32_t *got, const int32_t *want, size_t n);

/* ---- Running one op by hand, as the loader and the executor do ------------ */

/* A tensor over caller-owned data, dims listed after rank. */
kn_tensor tensor(kiln_dtype dtype, void *data, int rank, ...);
/* t has this dtype and shape (dims after rank); prints what it has otherwise. */
bool has_shape(const kn_tensor *t, kiln_dtype dtype, int rank, ...);
/* t has this shape, whatever its dtype. */
bool has_dims(const kn_tensor *t, int rank, ...);
/* infer into out[0..n_out) (their data pointers are kept), then eval if out[0] has data. */
kiln_status run_op(int op, const void *params, kn_tensor **in, int n_in, kn_tensor *out, int n_out);
/* infer must fail with `want` and a message containing `needle`. */
#define EXPECT_INFER_FAIL(want, op, params, in, n_in, n_out, needle) \
    expect_infer_fail(__FILE__, __LINE__, want, op, params, in, n_in, n_out, needle)
void expect_infer_fail(const char *file, int line, kiln_status want, int op, const void *params, kn_tensor **in,
                       int n_in, int n_out, const char *needle);

#endif
