/* SLICE: out[i0, i1, ...] = x[begin[0] + i0 * stride[0], ...], i_d < size[d].
 * Strides may be negative (StridedSlice stepping backwards). Any dtype: it
 * copies bytes. Params past the input's rank must be 0. Or (TF Slice of
 * amounts computed at run time) begin and size are operands 1 and 2, int32
 * [rank] each, stride 1, a size of -1 meaning to the end of the dim. */
#include <string.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

/* The params, or the amounts of operands 1 and 2 once their values are known
 * (false before, or if they do not fit x). */
static bool amounts(const kn_step *s, kn_slice_params *q, kiln_status *st) {
    *st = KILN_OK;
    *q = *(const kn_slice_params *)s->params;
    if (s->n_in == 1) return true;
    const kn_tensor *x = s->in[0], *b = s->in[1], *n = s->in[2];
    for (int i = 1; i < 3; i++)
        if (s->in[i]->dtype != KILN_INT32 || s->in[i]->rank != 1 || s->in[i]->dims[0] != x->rank) {
            *st = kn_fail(KILN_ERR_BAD_BUNDLE, "input %d is %S, expected int32[%d]", i, s->in[i], x->rank);
            return false;
        }
    if (!b->data || !n->data) return false;
    memset(q, 0, sizeof *q);
    for (int d = 0; d < x->rank; d++) {
        int64_t begin = ((const int32_t *)b->data)[d], size = ((const int32_t *)n->data)[d];
        if (size == -1) size = x->dims[d] - begin;
        if (begin < 0 || begin > x->dims[d] || size < 0 || begin + size > x->dims[d]) {
            *st = kn_fail(KILN_ERR_RUNTIME, "begin %lld and size %lld do not fit dim %d of %S", (long long)begin,
                          (long long)((const int32_t *)n->data)[d], d, x);
            return false;
        }
        q->begin[d] = size ? (int32_t)begin : 0;
        q->size[d] = (int32_t)size;
        q->stride[d] = 1;
    }
    return true;
}

static kiln_status slice_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, s->n_in == 3 ? 3 : 1); /* x, or x with begin and size */
    if (st) return st;
    kn_slice_params q;
    const kn_slice_params *p = &q;
    const kn_tensor *x = s->in[0];
    if (!amounts(s, &q, &st)) {
        if (st) return st;
        /* at load: the amounts come at run time; the plan gave the largest shape */
        if (out->dtype != x->dtype || out->rank != x->rank)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "output %S does not match input %S", out, x);
        return KILN_OK;
    }
    for (int d = 0; d < KILN_MAX_RANK; d++) {
        int32_t begin = p->begin[d], size = p->size[d], stride = p->stride[d];
        if (d >= x->rank) {
            if (begin || size || stride)
                return kn_fail(KILN_ERR_BAD_BUNDLE,
                               "dim %d has begin %d, size %d, stride %d, expected zeros past the rank of %S", d,
                               begin, size, stride, x);
            continue;
        }
        if (size < 0 || stride == 0)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "dim %d has size %d and stride %d, expected size >= 0, stride != 0",
                           d, size, stride);
        /* The first and last index read; those between lie between them. */
        int64_t last = (int64_t)begin + (int64_t)(size - 1) * stride;
        if (size > 0 && (begin < 0 || begin >= x->dims[d] || last < 0 || last >= x->dims[d]))
            return kn_fail(KILN_ERR_BAD_BUNDLE,
                           "dim %d of %S: begin %d, size %d, stride %d reads index %lld, expected indices in [0, %d)",
                           d, x, begin, size, stride, (long long)(begin < 0 || begin >= x->dims[d] ? begin : last),
                           x->dims[d]);
    }
    return kn_set_checked_shape(out, x->dtype, x->rank, p->size);
}

/* Copies n blocks of `block` bytes, read `step` bytes apart. */
static void gather_blocks(char *dst, const char *src, size_t n, ptrdiff_t step, size_t block) {
    if (block == 4) {
        for (size_t i = 0; i < n; i++) memcpy(dst + i * 4, src + (ptrdiff_t)i * step, 4);
    } else if (block == 1) {
        for (size_t i = 0; i < n; i++) dst[i] = src[(ptrdiff_t)i * step];
    } else {
        for (size_t i = 0; i < n; i++) memcpy(dst + i * block, src + (ptrdiff_t)i * step, block);
    }
}

/*
 * Trailing dims taken whole are one block; the innermost dim k that is
 * really sliced makes a row of y: one memcpy when its stride is 1, else
 * size[k] blocks. Rows walk the dims before k (odometer order), with signed
 * byte steps. Steps of size-1 dims are 0, so every offset stays below
 * 2^35 in magnitude (|stride| * (size - 1) < dim otherwise).
 */
static kiln_status slice_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    kn_slice_params q;
    kiln_status st;
    if (!amounts(s, &q, &st)) return st ? st : kn_fail(KILN_ERR_RUNTIME, "slice amounts are not known");
    const kn_slice_params *p = &q;
    const kn_tensor *x = s->in[0], *y = s->out[0];
    if (kn_tensor_count(y) == 0) return KILN_OK;
    int k = x->rank;
    size_t block = kiln_dtype_size(x->dtype);
    while (k > 0 && p->begin[k - 1] == 0 && p->stride[k - 1] == 1 && p->size[k - 1] == x->dims[k - 1])
        block *= (size_t)x->dims[--k];
    if (k == 0) {
        memmove(y->data, x->data, block);
        return KILN_OK;
    }
    k--;

    int64_t x_stride[KILN_MAX_RANK], step[KILN_MAX_RANK]; /* bytes */
    int64_t start = 0;
    x_stride[k] = (int64_t)block;
    for (int d = k - 1; d >= 0; d--) x_stride[d] = x_stride[d + 1] * x->dims[d + 1];
    for (int d = 0; d <= k; d++) {
        start += (int64_t)p->begin[d] * x_stride[d];
        step[d] = p->size[d] > 1 ? (int64_t)p->stride[d] * x_stride[d] : 0;
    }

    const size_t n = (size_t)p->size[k], row_bytes = n * block;
    const char *base = (const char *)x->data + start;
    size_t rows = 1, idx[KILN_MAX_RANK] = {0};
    for (int d = 0; d < k; d++) rows *= (size_t)p->size[d];
    int64_t off = 0;
    char *dst = y->data;
    for (size_t r = 0; r < rows; r++, dst += row_bytes) {
        const char *src = base + (ptrdiff_t)off;
        if (p->stride[k] == 1) memcpy(dst, src, row_bytes);
        else gather_blocks(dst, src, n, (ptrdiff_t)step[k], block);
        for (int d = k - 1; d >= 0; d--) {
            off += step[d];
            if (++idx[d] < (size_t)p->size[d]) break;
            off -= step[d] * p->size[d];
            idx[d] = 0;
        }
    }
    return KILN_OK;
}

const kn_op_def kn_op_slice = {
    .name = "Slice",
    .n_params = sizeof(kn_slice_params) / 4,
    .flags = KN_OP_SHAPE_FROM_VALUES,
    .infer = slice_infer,
    .eval = slice_eval,
};
