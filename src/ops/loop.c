/* LOOP_TEST and LOOP_NEXT: the two steps that make a loop (see params.h).
 * Their jumps are carried out by the executor (src/context.c); here are
 * their operand checks. The loader checks the jump targets. */
#include "ops/ops.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status loop_test_infer(const kn_step *s, kn_tensor *out) {
    KN_UNUSED(out);
    const kn_loop_test_params *p = s->params;
    if (s->n_in != 1 || s->n_out != 0 || !s->in[0])
        return kn_fail(KILN_ERR_BAD_BUNDLE, "expected 1 input and no outputs, got %d and %d", s->n_in, s->n_out);
    if (s->in[0]->dtype != KILN_BOOL || kn_tensor_count(s->in[0]) != 1)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "condition is %S, expected one bool", s->in[0]);
    if (p->max_iterations < 0) return kn_fail(KILN_ERR_BAD_BUNDLE, "max_iterations %d < 0", p->max_iterations);
    return KILN_OK;
}

static kiln_status loop_next_infer(const kn_step *s, kn_tensor *out) {
    if (s->n_in != s->n_out) return kn_fail(KILN_ERR_BAD_BUNDLE, "%d next values for %d loop variables", s->n_in, s->n_out);
    for (int i = 0; i < s->n_in; i++) {
        if (!s->in[i]) return kn_fail(KILN_ERR_BAD_BUNDLE, "next value %d is missing", i);
        kn_set_shape(&out[i], s->in[i]->dtype, s->in[i]->rank, s->in[i]->dims);
    }
    return KILN_OK;
}

/* The executor runs both; eval is never called. */
static kiln_status no_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(s);
    KN_UNUSED(scratch);
    return kn_fail(KILN_ERR_RUNTIME, "loop steps are run by the executor");
}

const kn_op_def kn_op_loop_test = {
    .name = "LoopTest",
    .n_params = sizeof(kn_loop_test_params) / 4,
    .infer = loop_test_infer,
    .eval = no_eval,
};

const kn_op_def kn_op_loop_next = {
    .name = "LoopNext",
    .n_params = sizeof(kn_loop_next_params) / 4,
    .infer = loop_next_infer,
    .eval = no_eval,
};
