/* SOFTMAX: y = exp(x - max) / sum(exp(x - max)) along one axis of a
 * float32 tensor. Subtracting the max keeps exp from overflowing. */
#include <math.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status softmax_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 1);
    if (st) return st;
    st = kn_expect_inputs(s, 0, 1, KILN_FLOAT32);
    if (st) return st;
    const kn_softmax_params *p = s->params;
    const kn_tensor *x = s->in[0];
    if (p->axis < 0 || p->axis >= x->rank)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "softmax axis %d is out of range for %S", p->axis, x);
    kn_set_shape(out, x->dtype, x->rank, x->dims);
    return KILN_OK;
}

/* One softmax over n values `stride` apart. Reads each x before writing the
 * y at the same place, so y may be x. */
static void softmax_run(float *y, const float *x, size_t n, size_t stride) {
    float max = x[0];
    for (size_t j = 1; j < n; j++)
        if (x[j * stride] > max) max = x[j * stride];
    float sum = 0.0f;
    for (size_t j = 0; j < n; j++) {
        float e = expf(x[j * stride] - max);
        y[j * stride] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    for (size_t j = 0; j < n; j++) y[j * stride] *= inv;
}

static kiln_status softmax_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_softmax_params *p = s->params;
    const kn_tensor *x = s->in[0], *y = s->out[0];
    size_t outer = 1, inner = 1, n = (size_t)x->dims[p->axis];
    for (int d = 0; d < p->axis; d++) outer *= (size_t)x->dims[d];
    for (int d = p->axis + 1; d < x->rank; d++) inner *= (size_t)x->dims[d];
    if (n == 0) return KILN_OK;
    const float *px = x->data;
    float *py = y->data;
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t base = o * n * inner + i;
            softmax_run(py + base, px + base, n, inner);
        }
    return KILN_OK;
}

/* Per element: compare, subtract, exp, add, multiply. */
static double softmax_flops(const kn_step *s) { return 5.0 * (double)kn_tensor_count(s->out[0]); }

const kn_op_def kn_op_softmax = {
    .name = "Softmax",
    .n_params = sizeof(kn_softmax_params) / 4,
    .infer = softmax_infer,
    .eval = softmax_eval,
    .flops = softmax_flops,
};
