/* MatMul and TF's BatchMatMulV2: out[..., M, N] = a[..., M, K] . b[..., K, N]
 * + bias[N], then the fused activation. a's last two dims are stored [K,M]
 * when transpose_a, b's [N,K] when transpose_b. The batch dims (all but the
 * last two; either operand may have none) broadcast as NumPy does. float32,
 * or int32 (TF MatMul on indices; wraps on overflow) with no bias or activation. */
#include <string.h>

#include "ops/ops.h"
#include "ops/activation.h"
#include "ops/nn_util.h"

/* The batch dims of t: its shape less the last two dims. */
static kn_tensor batch_of(const kn_tensor *t) {
    kn_tensor b = *t;
    b.rank = t->rank - 2;
    return b;
}

static kiln_status matmul_infer(const kn_step *s, kn_tensor *out) {
    const kn_matmul_params *p = s->params;
    kiln_status st;
    kiln_dtype dtype = s->n_in > 0 && s->in[0] && s->in[0]->dtype == KILN_INT32 ? KILN_INT32 : KILN_FLOAT32;
    if ((st = kn_check_operand_count(s, 2, 4)) || (st = kn_expect_inputs(s, 0, 2, dtype))) return st;
    const kn_tensor *a = s->in[0], *b = s->in[1];
    if (dtype == KILN_INT32 && ((s->n_in > 2 && s->in[2]) || p->act != KN_ACT_NONE))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "int32 operands take no bias and no activation (act %d)", p->act);
    if (a->rank < 2 || b->rank < 2)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "a is %S and b is %S, expected each of rank 2 or more", a, b);
    if ((p->transpose_a != 0 && p->transpose_a != 1) || (p->transpose_b != 0 && p->transpose_b != 1))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "transpose_a %d and transpose_b %d, expected each 0 or 1",
                       p->transpose_a, p->transpose_b);
    const int32_t *ad = a->dims + a->rank - 2, *bd = b->dims + b->rank - 2; /* the matrices' dims */
    int32_t ka = ad[p->transpose_a ? 0 : 1], kb = bd[p->transpose_b ? 1 : 0];
    if (ka != kb)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "inner dims differ: a is %S (transpose_a %d, K = %d), b is %S "
                       "(transpose_b %d, K = %d)", a, p->transpose_a, ka, b, p->transpose_b, kb);
    const kn_tensor batches[2] = {batch_of(a), batch_of(b)};
    const kn_tensor *const pair[2] = {&batches[0], &batches[1]};
    int32_t dims[KILN_MAX_RANK];
    int rank;
    if ((st = kn_broadcast_shape(pair, 2, &rank, dims)))
        return kn_fail(st, "batch dims of a %S and b %S do not broadcast", a, b);
    dims[rank] = ad[p->transpose_a ? 1 : 0];
    dims[rank + 1] = bd[p->transpose_b ? 0 : 1];
    if ((st = kn_check_bias(s, dims[rank + 1])) || (st = kn_act_check(s, p->act, 3, dims[rank + 1]))) return st;
    return kn_set_checked_shape(out, dtype, rank + 2, dims);
}

/* One product y[M,N] = a . b + bias, then the activation. */
static void matmul_one(const kn_matmul_params *p, const float *a, const float *b, const float *bias,
                       const float *prelu, float *y, size_t M, size_t N, size_t K) {
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
    }
    kn_act_apply(y, M * N, p->act, p->act_alpha, prelu, N);
}

/* The int32 product, in uint32 so that overflow wraps (as TF's does) without UB. */
static void matmul_one_int(const kn_matmul_params *p, const int32_t *a, const int32_t *b, int32_t *y, size_t M,
                           size_t N, size_t K) {
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            uint32_t sum = 0;
            for (size_t k = 0; k < K; k++) {
                uint32_t av = (uint32_t)(p->transpose_a ? a[k * M + i] : a[i * K + k]);
                uint32_t bv = (uint32_t)(p->transpose_b ? b[j * K + k] : b[k * N + j]);
                sum += av * bv;
            }
            y[i * N + j] = (int32_t)sum;
        }
}

static kiln_status matmul_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_matmul_params *p = s->params;
    const kn_tensor *at = s->in[0], *bt = s->in[1], *yt = s->out[0];
    const float *bias = s->n_in > 2 && s->in[2] ? s->in[2]->data : NULL;
    const float *prelu = s->n_in > 3 && s->in[3] ? s->in[3]->data : NULL;
    const size_t M = (size_t)yt->dims[yt->rank - 2], N = (size_t)yt->dims[yt->rank - 1];
    const size_t K = (size_t)at->dims[at->rank - (p->transpose_a ? 2 : 1)];
    if (kn_tensor_count(yt) == 0) return KILN_OK;
    if (K == 0) { /* empty products: a and b have no data to read */
        if (yt->dtype == KILN_INT32) {
            memset(yt->data, 0, kn_tensor_bytes(yt));
            return KILN_OK;
        }
        float *y = yt->data;
        for (size_t i = 0; i < kn_tensor_count(yt); i += N) {
            if (bias) memcpy(y + i, bias, sizeof(float) * N);
            else memset(y + i, 0, sizeof(float) * N);
        }
        kn_act_apply(y, kn_tensor_count(yt), p->act, p->act_alpha, prelu, N);
        return KILN_OK;
    }

    /* Walk the output's batch dims; a and b advance by whole matrices, or
     * not at all along the dims they are broadcast in. */
    const kn_tensor ab = batch_of(at), bb = batch_of(bt), yb = batch_of(yt);
    kn_nest nest = {.rank = yb.rank};
    for (int d = 0; d < yb.rank; d++) nest.dims[d] = (size_t)yb.dims[d];
    kn_broadcast_strides(&ab, &yb, nest.stride[0]);
    kn_broadcast_strides(&bb, &yb, nest.stride[1]);
    kn_broadcast_strides(&yb, &yb, nest.stride[2]);
    kn_nest_simplify(&nest);
    const int last = nest.rank - 1;
    const size_t rows = kn_nest_rows(&nest);
    kn_cursor c = {{0}, {0}};
    for (size_t r = 0; r < rows; r++, kn_nest_next(&nest, &c))
        for (size_t i = 0; i < nest.dims[last]; i++) {
            size_t a_at = (c.off[0] + i * nest.stride[0][last]) * M * K, b_at = (c.off[1] + i * nest.stride[1][last]) * K * N;
            size_t y_at = (c.off[2] + i * nest.stride[2][last]) * M * N;
            if (yt->dtype == KILN_INT32)
                matmul_one_int(p, (const int32_t *)at->data + a_at, (const int32_t *)bt->data + b_at,
                               (int32_t *)yt->data + y_at, M, N, K);
            else
                matmul_one(p, (const float *)at->data + a_at, (const float *)bt->data + b_at, bias, prelu,
                           (float *)yt->data + y_at, M, N, K);
        }
    return KILN_OK;
}

static double matmul_flops(const kn_step *s) {
    const kn_matmul_params *p = s->params;
    const kn_tensor *a = s->in[0];
    return 2.0 * (double)kn_tensor_count(s->out[0]) * a->dims[a->rank - (p->transpose_a ? 2 : 1)];
}

const kn_op_def kn_op_matmul = {
    .name = "MatMul",
    .n_params = sizeof(kn_matmul_params) / 4,
    .infer = matmul_infer,
    .eval = matmul_eval,
    .flops = matmul_flops,
};
