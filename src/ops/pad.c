/* PAD: grows each dim by before[d] + after[d], filling with a constant
 * (TF Pad/PadV2) or with a mirror of the input (TF MirrorPad: REFLECT leaves
 * out the edge, SYMMETRIC repeats it). Any dtype: it copies bytes. The
 * amounts are in params, or in an optional int32 [rank, 2] operand computed
 * at run time (after a detector's variable-size output). */
#include <string.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static const char *const mode_names[] = {"CONSTANT", "REFLECT", "SYMMETRIC"};

/* The params, with the amounts of operand 1 when there is one (its values, once known). */
static kn_pad_params amounts(const kn_step *s) {
    kn_pad_params q = *(const kn_pad_params *)s->params;
    const kn_tensor *by = s->n_in > 1 ? s->in[1] : NULL;
    if (by && by->data)
        for (int d = 0; d < s->in[0]->rank; d++) {
            q.before[d] = ((const int32_t *)by->data)[2 * d];
            q.after[d] = ((const int32_t *)by->data)[2 * d + 1];
        }
    return q;
}

static kiln_status pad_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 2);
    if (st) return st;
    const kn_tensor *x = s->in[0], *by = s->n_in > 1 ? s->in[1] : NULL;
    if (by && (by->dtype != KILN_INT32 || by->rank != 2 || by->dims[0] != x->rank || by->dims[1] != 2))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "paddings are %S, expected int32[%d,2]", by, x->rank);
    if (by && !by->data) { /* at load: the amounts come at run time; the plan gave the largest shape */
        if (out->dtype != x->dtype || out->rank != x->rank)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "output %S does not match input %S", out, x);
        return KILN_OK;
    }
    kn_pad_params q = amounts(s);
    const kn_pad_params *p = &q;
    if (p->mode < KN_PAD_CONSTANT || p->mode > KN_PAD_SYMMETRIC)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "unknown pad mode %d", p->mode);
    int32_t dims[KILN_MAX_RANK];
    for (int d = 0; d < KILN_MAX_RANK; d++) {
        int32_t before = p->before[d], after = p->after[d];
        if (before < 0 || after < 0)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "dim %d pads %d before and %d after, expected >= 0", d, before, after);
        if (d >= x->rank) {
            if (before || after)
                return kn_fail(KILN_ERR_BAD_BUNDLE, "dim %d is padded but %S has only %d dims", d, x, x->rank);
            continue;
        }
        /* A mirror reaches only as far as the data (less the edge for
         * REFLECT); an unpadded empty dim is fine. */
        int32_t reach = p->mode == KN_PAD_REFLECT ? x->dims[d] - 1 : x->dims[d];
        if (p->mode != KN_PAD_CONSTANT && (before || after) && (before > reach || after > reach))
            return kn_fail(KILN_ERR_BAD_BUNDLE, "%s pad of dim %d of %S by %d before and %d after, at most %d allowed",
                           mode_names[p->mode], d, x, before, after, reach);
        int64_t dim = (int64_t)before + x->dims[d] + after;
        if (dim > INT32_MAX)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "padded dim %d of %S has %lld elements, more than int32 holds", d, x,
                           (long long)dim);
        dims[d] = (int32_t)dim;
    }
    return kn_set_checked_shape(out, x->dtype, x->rank, dims);
}

/* The input index that padded position i (output index - before) reads
 * along a dim of size n, or -1 where CONSTANT fills. infer bounded i so a
 * single reflection lands inside. */
static int64_t source_index(int64_t i, int64_t n, int mode) {
    if (i >= 0 && i < n) return i;
    if (mode == KN_PAD_CONSTANT) return -1;
    int64_t edge = mode == KN_PAD_SYMMETRIC; /* SYMMETRIC repeats the edge element */
    return i < 0 ? -i - edge : 2 * n - 2 + edge - i;
}

static void fill(char *y, size_t n, size_t es, uint32_t bits) {
    if (es == 1) {
        memset(y, (int)(bits & 0xffu), n);
        return;
    }
    uint32_t *v = (uint32_t *)(void *)y; /* float32 or int32: the bits are the value */
    for (size_t i = 0; i < n; i++) v[i] = bits;
}

/* Writes one block of `block` bytes at padded position i of a dim of size n
 * whose blocks start at `x`. */
static void put_block(char *y, const char *x, int64_t i, int64_t n, size_t block, const kn_pad_params *p,
                      size_t es) {
    int64_t src = source_index(i, n, p->mode);
    if (src < 0) fill(y, block / es, es, p->value_bits);
    else memcpy(y, x + (size_t)src * block, block);
}

/*
 * Dims after the last padded one, k, are copied whole: a row of the output
 * is its dim k of blocks (`block` bytes: everything inward of k), made of
 * the before blocks, the input's row in one memcpy, and the after blocks.
 * Rows walk the output's dims before k; each maps to an input row or, in
 * CONSTANT mode, to padding. NHWC spatial padding is thus rows of W*C.
 */
static kiln_status pad_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    kn_pad_params q = amounts(s);
    const kn_pad_params *p = &q;
    const kn_tensor *x = s->in[0], *y = s->out[0];
    size_t es = kiln_dtype_size(x->dtype);
    int k = x->rank - 1;
    while (k >= 0 && !p->before[k] && !p->after[k]) k--;
    if (k < 0) {
        memmove(y->data, x->data, kn_tensor_bytes(x));
        return KILN_OK;
    }
    if (kn_tensor_count(y) == 0) return KILN_OK;

    size_t block = es, x_stride[KILN_MAX_RANK]; /* bytes */
    for (int d = x->rank - 1; d > k; d--) block *= (size_t)x->dims[d];
    x_stride[k] = block;
    for (int d = k - 1; d >= 0; d--) x_stride[d] = x_stride[d + 1] * (size_t)x->dims[d + 1];

    const int64_t n = x->dims[k];
    const size_t row_bytes = (size_t)y->dims[k] * block;
    size_t rows = 1, idx[KILN_MAX_RANK] = {0};
    for (int d = 0; d < k; d++) rows *= (size_t)y->dims[d];
    char *dst = y->data;
    for (size_t r = 0; r < rows; r++, dst += row_bytes) {
        const char *src = x->data;
        for (int d = 0; d < k && src; d++) {
            int64_t i = source_index((int64_t)idx[d] - p->before[d], x->dims[d], p->mode);
            src = i < 0 ? NULL : src + (size_t)i * x_stride[d];
        }
        if (!src) {
            fill(dst, row_bytes / es, es, p->value_bits);
        } else {
            char *o = dst;
            /* CONSTANT fills each side in one go (padded channels are many 4-byte blocks). */
            if (p->mode == KN_PAD_CONSTANT) {
                fill(o, (size_t)p->before[k] * block / es, es, p->value_bits);
                o += (size_t)p->before[k] * block;
            } else {
                for (int64_t j = -p->before[k]; j < 0; j++, o += block) put_block(o, src, j, n, block, p, es);
            }
            memcpy(o, src, (size_t)n * block);
            o += (size_t)n * block;
            if (p->mode == KN_PAD_CONSTANT)
                fill(o, (size_t)p->after[k] * block / es, es, p->value_bits);
            else
                for (int64_t j = n; j < n + p->after[k]; j++, o += block) put_block(o, src, j, n, block, p, es);
        }
        for (int d = k - 1; d >= 0; d--) { /* next row, odometer order */
            if (++idx[d] < (size_t)y->dims[d]) break;
            idx[d] = 0;
        }
    }
    return KILN_OK;
}

const kn_op_def kn_op_pad = {
    .name = "Pad",
    .n_params = sizeof(kn_pad_params) / 4,
    .flags = KN_OP_SHAPE_FROM_VALUES,
    .infer = pad_infer,
    .eval = pad_eval,
};
