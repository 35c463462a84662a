#include "check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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

kn_tensor tensor(kiln_dtype dtype, void *data, int rank, ...) {
    kn_tensor t = {.name = "", .dtype = dtype, .rank = rank, .data = data};
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++) t.dims[i] = va_arg(ap, int);
    va_end(ap);
    return t;
}

static bool dims_match(const kn_tensor *t, int rank, va_list ap) {
    bool same = t->rank == rank;
    for (int i = 0; i < rank; i++) same = va_arg(ap, int) == t->dims[i] && same;
    return same;
}

bool has_shape(const kn_tensor *t, kiln_dtype dtype, int rank, ...) {
    va_list ap;
    va_start(ap, rank);
    bool same = dims_match(t, rank, ap) && t->dtype == dtype;
    va_end(ap);
    if (!same)
        fprintf(stderr, "  got %s rank %d dims %d %d %d %d\n", kiln_dtype_name(t->dtype), t->rank, t->dims[0],
                t->dims[1], t->dims[2], t->dims[3]);
    return same;
}

bool has_dims(const kn_tensor *t, int rank, ...) {
    va_list ap;
    va_start(ap, rank);
    bool same = dims_match(t, rank, ap);
    va_end(ap);
    return same;
}

kiln_status run_op(int op, const void *params, kn_tensor **in, int n_in, kn_tensor *out, int n_out) {
    const kn_op_def *def = kn_op_lookup((uint32_t)op);
    CHECK(def != NULL);
    if (!def || n_out < 1 || n_out > 4) return KILN_ERR_UNSUPPORTED;
    kn_tensor *outs[4];
    void *data[4];
    for (int k = 0; k < n_out; k++) outs[k] = &out[k], data[k] = out[k].data;
    kn_step s = {.op = (uint16_t)op, .n_in = (uint8_t)n_in, .n_out = (uint8_t)n_out, .n_params = def->n_params,
                 .params = params, .name = "test", .in = in, .out = outs};
    kiln_status st = def->infer(&s, out);
    for (int k = 0; k < n_out; k++) out[k].data = data[k];
    if (st != KILN_OK) fprintf(stderr, "  infer: %s\n", kiln_last_error());
    if (st != KILN_OK || !out[0].data) return st;
    size_t scratch_size = 0;
    st = def->prepare ? def->prepare(&s, &scratch_size) : KILN_OK;
    void *scratch = scratch_size ? malloc(scratch_size) : NULL;
    if (scratch) memset(scratch, 0xA5, scratch_size); /* eval must not rely on zeroed scratch */
    if (st == KILN_OK) st = def->eval(&s, scratch);
    free(scratch);
    if (s.state && def->release) def->release(s.state);
    return st;
}

void expect_infer_fail(const char *file, int line, kiln_status want, int op, const void *params, kn_tensor **in,
                       int n_in, int n_out, const char *needle) {
    const kn_op_def *def = kn_op_lookup((uint32_t)op);
    kn_tensor y[4] = {{.name = ""}, {.name = ""}, {.name = ""}, {.name = ""}};
    kn_tensor *outs[4] = {&y[0], &y[1], &y[2], &y[3]};
    kn_fail(KILN_OK, "");
    kn_step s = {.op = (uint16_t)op, .n_in = (uint8_t)n_in, .n_out = (uint8_t)n_out, .n_params = def->n_params,
                 .params = params, .name = "test", .in = in, .out = outs};
    kiln_status st = def->infer(&s, y);
    if (st != want || !kiln_last_error()[0] || !strstr(kiln_last_error(), needle)) {
        fprintf(stderr, "%s:%d: infer returned %s \"%s\", want %s with \"%s\"\n", file, line, kiln_status_name(st),
                kiln_last_error(), kiln_status_name(want), needle);
        check_failures++;
    }
}

bool ints_equal(const int32_t *got, const int32_t *want, size_t n) {
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            fprintf(stderr, "  [%zu] = %d, want %d\n", i, got[i], want[i]);
            ok = false;
        }
    return ok;
}
