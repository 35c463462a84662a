/* SCATTER_ND (TF SparseToDense): an output of shape dims[0..rank) filled
 * with the default value, then out[indices[i]] = updates[i] (or the one
 * update, when it is a scalar) in order, so a repeated index keeps the last
 * update. Each row of indices is a complete index (k == rank). An index
 * outside the output is skipped (TF with validate_indices and tfjs throw).
 * Any dtype for the values: it moves elements of their size. */
#include <string.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status scatter_nd_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 3, 3);
    if (st) return st;
    const kn_scatter_nd_params *p = s->params;
    const kn_tensor *idx = s->in[0], *upd = s->in[1], *def = s->in[2];
    if (p->rank < 1 || p->rank > KILN_MAX_RANK)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "output rank %d is not in [1, %d]", p->rank, KILN_MAX_RANK);
    for (int d = 0; d < p->rank; d++)
        if (p->dims[d] < 0) return kn_fail(KILN_ERR_BAD_BUNDLE, "output dim %d is %d, expected >= 0", d, p->dims[d]);
    if (idx->dtype != KILN_INT32 || idx->rank > 2)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "indices are %S, expected int32 of rank 0, 1 or 2", idx);
    /* Rank 2 is [n, k]; rank 1 is n indices into a vector; rank 0, one. */
    int32_t n = idx->rank == 0 ? 1 : idx->dims[0], k = idx->rank == 2 ? idx->dims[1] : 1;
    if (k != p->rank)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "indices %S give %d coordinates, the output has rank %d", idx, k,
                       p->rank);
    if (upd->rank > 1 || (upd->rank == 1 && upd->dims[0] != n))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "updates are %S, expected a scalar or %d values", upd, n);
    if (def->rank != 0 || def->dtype != upd->dtype)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "default value is %S, expected a scalar of the updates' dtype %s", def,
                       kiln_dtype_name(upd->dtype));
    return kn_set_checked_shape(out, upd->dtype, p->rank, p->dims);
}

static kiln_status scatter_nd_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_scatter_nd_params *p = s->params;
    const kn_tensor *idx = s->in[0], *upd = s->in[1], *y = s->out[0];
    const size_t es = kiln_dtype_size(y->dtype), count = kn_tensor_count(y);
    char *dst = y->data;
    if (count == 0) return KILN_OK;
    if (es == 1) {
        memset(dst, *(const uint8_t *)s->in[2]->data, count);
    } else { /* float32 or int32: the bits are the value */
        uint32_t bits, *w = (uint32_t *)(void *)dst;
        memcpy(&bits, s->in[2]->data, 4);
        for (size_t i = 0; i < count; i++) w[i] = bits;
    }
    const size_t n = kn_tensor_count(idx) / (size_t)p->rank, upd_step = upd->rank ? es : 0;
    const int32_t *iv = idx->data;
    const char *src = upd->data;
    for (size_t i = 0; i < n; i++, iv += p->rank, src += upd_step) {
        size_t at = 0;
        int d = 0;
        for (; d < p->rank && iv[d] >= 0 && iv[d] < p->dims[d]; d++) at = at * (size_t)p->dims[d] + (size_t)iv[d];
        if (d == p->rank) memcpy(dst + at * es, src, es);
    }
    return KILN_OK;
}

const kn_op_def kn_op_scatter_nd = {
    .name = "ScatterNd",
    .n_params = sizeof(kn_scatter_nd_params) / 4,
    .infer = scatter_nd_infer,
    .eval = scatter_nd_eval,
};
