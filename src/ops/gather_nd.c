/* GATHER_ND (TF GatherNd): each row of k int32 indices names a slice of
 * params, params[i0, ..., ik-1, ...]. Any dtype: it copies bytes. A row with
 * an index outside its dim gives zeros, as TF on GPU and tfjs' WebGL backend
 * do (TF on CPU and tfjs' CPU backend throw). */
#include <string.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status gather_nd_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 2, 2);
    if (st) return st;
    const kn_gather_nd_params *p = s->params;
    const kn_tensor *x = s->in[0], *idx = s->in[1];
    if (p->batch_dims != 0)
        return kn_fail(KILN_ERR_UNSUPPORTED, "gather_nd batch_dims %d is not supported (only 0)", p->batch_dims);
    if (idx->dtype != KILN_INT32 || idx->rank < 1)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "indices are %S, expected int32 of rank >= 1", idx);
    int k = idx->dims[idx->rank - 1];
    if (k > x->rank)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "indices %S index %d dims but params %S has %d", idx, k, x, x->rank);
    int rank = idx->rank - 1 + x->rank - k;
    if (rank > KILN_MAX_RANK)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "gathering %S from %S gives rank %d, more than %d", idx, x, rank,
                       KILN_MAX_RANK);
    /* indices.shape[:-1] + params.shape[k:] */
    int32_t dims[KILN_MAX_RANK];
    int r = 0;
    for (int d = 0; d < idx->rank - 1; d++) dims[r++] = idx->dims[d];
    for (int d = k; d < x->rank; d++) dims[r++] = x->dims[d];
    return kn_set_checked_shape(out, x->dtype, rank, dims);
}

static kiln_status gather_nd_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_tensor *x = s->in[0], *idx = s->in[1], *y = s->out[0];
    if (kn_tensor_count(y) == 0) return KILN_OK;
    const int k = idx->dims[idx->rank - 1];
    size_t block = kiln_dtype_size(x->dtype), stride[KILN_MAX_RANK]; /* bytes per index of dim d < k */
    for (int d = k; d < x->rank; d++) block *= (size_t)x->dims[d];
    for (int d = k - 1; d >= 0; d--) stride[d] = d == k - 1 ? block : stride[d + 1] * (size_t)x->dims[d + 1];
    const size_t rows = kn_tensor_count(y) * kiln_dtype_size(y->dtype) / block;
    const int32_t *iv = idx->data;
    char *dst = y->data;
    for (size_t r = 0; r < rows; r++, iv += k, dst += block) {
        const char *src = x->data;
        for (int d = 0; d < k && src; d++)
            src = iv[d] < 0 || iv[d] >= x->dims[d] ? NULL : src + (size_t)iv[d] * stride[d];
        if (src) memcpy(dst, src, block);
        else memset(dst, 0, block);
    }
    return KILN_OK;
}

const kn_op_def kn_op_gather_nd = {
    .name = "GatherNd",
    .n_params = sizeof(kn_gather_nd_params) / 4,
    .infer = gather_nd_infer,
    .eval = gather_nd_eval,
};
