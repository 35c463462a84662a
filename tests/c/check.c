#include "check.h"

int check_failures;

void check_array_near(const char *file, int line, const char *what, const float *got, const float *want,
                      size_t n, double tol) {
    for (size_t i = 0; i < n; i++) {
        if (!(fabs((double)got[i] - (double)want[i]) <= tol)) {
            fprintf(stderr, "%s:%d: %s[%zu] = %.9g, want %.9g (tol %g)\n", file, line, what, i, got[i],
                    want[i], tol);
            check_failures++;
            return;
        }
    }
}

int check_summary(void) {
    if (check_failures) fprintf(stderr, "%d check(s) failed\n", check_failures);
    return check_failures ? 1 : 0;
}
