/* A tiny test harness: each test_*.c is one ctest executable whose main
 * calls RUN(fn) for each case and returns check_summary(). */
#ifndef KILN_CHECK_H
#define KILN_CHECK_H

#include <math.h>
#include <stdio.h>

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

#endif
