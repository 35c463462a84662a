/* GATHER (TF GatherV2): slices of params along `axis` picked by int32
 * indices, with the first batch_dims dims of params and indices walked
 * together. Any dtype: it copies bytes. An index outside [0, dim) gives
 * zeros, as TF on GPU and tfjs' WebGL backend do (TF on CPU and tfjs' CPU
 * backend throw instead; a kernel that cannot fail is the better fit). */
#include <string.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status gather_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 2, 2);
    if (st) return st;
    const kn_gather_params *p = s->params;
    const kn_tensor *x = s->in[0], *idx = s->in[1];
    if (idx->dtype != KILN_INT32) return kn_fail(KILN_ERR_BAD_BUNDLE, "indices are %S, expected int32", idx);
    if (p->axis < 0 || p->axis >= x->rank)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "gather axis %d is out of range for params %S", p->axis, x);
    if (p->batch_dims < 0 || p->batch_dims > p->axis || p->batch_dims > idx->rank)
        return kn_fail(KILN_ERR_BAD_BUNDLE,
                       "batch_dims %d must be in [0, %d] (at most the axis and the rank of indices %S)",
                       p->batch_dims, p->axis < idx->rank ? p->axis : idx->rank, idx);
    for (int d = 0; d < p->batch_dims; d++)
        if (x->dims[d] != idx->dims[d])
            return kn_fail(KILN_ERR_BAD_BUNDLE, "batch dim %d differs: params %S, indices %S", d, x, idx);
    int rank = x->rank - 1 + idx->rank - p->batch_dims;
    if (rank > KILN_MAX_RANK)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "gathering %S from %S gives rank %d, more than %d", idx, x, rank,
                       KILN_MAX_RANK);
    /* params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis+1:] */
    int32_t dims[KILN_MAX_RANK];
    int r = 0;
    for (int d = 0; d < p->axis; d++) dims[r++] = x->dims[d];
    for (int d = p->batch_dims; d < idx->rank; d++) dims[r++] = idx->dims[d];
    for (int d = p->axis + 1; d < x->rank; d++) dims[r++] = x->dims[d];
    return kn_set_checked_shape(out, x->dtype, rank, dims);
}

/*
 * params is [batch, outer, dim, inner] and indices [batch, n]: out is
 * [batch, outer, n, inner], each inner block a copy of the block its index
 * names. Blocks of one float or int32 are copied as words.
 */
static kiln_status gather_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_gather_params *p = s->params;
    const kn_tensor *x = s->in[0], *idx = s->in[1], *y = s->out[0];
    if (kn_tensor_count(y) == 0) return KILN_OK;
    size_t batch = 1, outer = 1, inner = 1, n = 1;
    for (int d = 0; d < p->batch_dims; d++) batch *= (size_t)x->dims[d];
    for (int d = p->batch_dims; d < p->axis; d++) outer *= (size_t)x->dims[d];
    for (int d = p->axis + 1; d < x->rank; d++) inner *= (size_t)x->dims[d];
    for (int d = p->batch_dims; d < idx->rank; d++) n *= (size_t)idx->dims[d];
    const int32_t dim = x->dims[p->axis];
    const size_t block = inner * kiln_dtype_size(x->dtype);
    const int32_t *iv = idx->data;
    const char *src = x->data;
    char *dst = y->data;
    for (size_t b = 0; b < batch; b++, iv += n)
        for (size_t o = 0; o < outer; o++, src += (size_t)dim * block)
            for (size_t i = 0; i < n; i++, dst += block) {
                int32_t k = iv[i];
                if (k < 0 || k >= dim) memset(dst, 0, block);
                else if (block == 4) memcpy(dst, src + (size_t)k * 4, 4);
                else memcpy(dst, src + (size_t)k * block, block);
            }
    return KILN_OK;
}

const kn_op_def kn_op_gather = {
    .name = "Gather",
    .n_params = sizeof(kn_gather_params) / 4,
    .infer = gather_infer,
    .eval = gather_eval,
};
