/* MatMul: out[M,N] = a[M,K] . b[K,N] + bias[N], then the fused activation.
 * a is stored [K,M] when transpose_a, b is stored [N,K] when transpose_b. */
#include <string.h>

#include "ops/ops.h"
#include "ops/activation.h"
#include "ops/nn_util.h"

static kiln_status matmul_infer(const kn_step *s, kn_tensor *out) {
    const kn_matmul_params *p = s->params;
    kiln_status st;
    if ((st = kn_check_operand_count(s, 2, 4)) || (st = kn_expect_inputs(s, 0, 2, KILN_FLOAT32)) ||
        (st = kn_check_dims(s->in[0], "a", 2)) || (st = kn_check_dims(s->in[1], "b", 2)))
        return st;
    if ((p->transpose_a != 0 && p->transpose_a != 1) || (p->transpose_b != 0 && p->transpose_b != 1))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "transpose_a %d and transpose_b %d, expected each 0 or 1",
                       p->transpose_a, p->transpose_b);
    const kn_tensor *a = s->in[0], *b = s->in[1];
    int32_t ka = a->dims[p->transpose_a ? 0 : 1], kb = b->dims[p->transpose_b ? 1 : 0];
    if (ka != kb)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "inner dims differ: a is %S (transpose_a %d, K = %d), b is %S "
                       "(transpose_b %d, K = %d)", a, p->transpose_a, ka, b, p->transpose_b, kb);
    int32_t dims[2] = {a->dims[p->transpose_a ? 1 : 0], b->dims[p->transpose_b ? 0 : 1]};
    if ((st = kn_check_bias(s, dims[1])) || (st = kn_act_check(s, p->act, 3, dims[1]))) return st;
    return kn_set_checked_shape(out, KILN_FLOAT32, 2, dims);
}

static kiln_status matmul_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_matmul_params *p = s->params;
    const kn_tensor *at = s->in[0], *yt = s->out[0];
    const float *a = at->data, *b = s->in[1]->data;
    const float *bias = s->n_in > 2 && s->in[2] ? s->in[2]->data : NULL;
    const float *prelu = s->n_in > 3 && s->in[3] ? s->in[3]->data : NULL;
    float *y = yt->data;
    const size_t M = (size_t)yt->dims[0], N = (size_t)yt->dims[1];
    const size_t K = (size_t)at->dims[p->transpose_a ? 0 : 1];
    /* a(i,k) is ai[k * a_step] for row i's base ai. */
    const size_t a_step = p->transpose_a ? M : 1;

    for (size_t i = 0; i < M; i++) {
        const float *ai = p->transpose_a ? a + i : a + i * K;
        float *restrict yr = y + i * N;
        if (bias) memcpy(yr, bias, sizeof(float) * N);
        else memset(yr, 0, sizeof(float) * N);
        if (!p->transpose_b) {
            /* Rows of b are contiguous in n: accumulate a(i,k) * b[k,:]. */
            for (size_t k = 0; k < K; k++) {
                const float av = ai[k * a_step];
                const float *restrict br = b + k * N;
                for (size_t j = 0; j < N; j++) yr[j] += av * br[j];
            }
        } else {
            /* b is stored [N,K]: each output is a dot product with row j of b. */
            for (size_t j = 0; j < N; j++) {
                const float *br = b + j * K;
                float sum = 0.0f;
                for (size_t k = 0; k < K; k++) sum += ai[k * a_step] * br[k];
                yr[j] += sum;
            }
        }
        kn_act_apply(yr, N, p->act, p->act_alpha, prelu, N);
    }
    return KILN_OK;
}

static double matmul_flops(const kn_step *s) {
    const kn_matmul_params *p = s->params;
    return 2.0 * (double)kn_tensor_count(s->out[0]) * s->in[0]->dims[p->transpose_a ? 0 : 1];
}

const kn_op_def kn_op_matmul = {
    .name = "MatMul",
    .n_params = sizeof(kn_matmul_params) / 4,
    .infer = matmul_infer,
    .eval = matmul_eval,
    .flops = matmul_flops,
};
