/* TOPK (TF TopKV2): the k largest values of each row along the last axis,
 * and their int32 indices (two outputs), sorted descending; equal values
 * keep the lower index first, as TF. A NaN ranks above every number (TF and
 * tfjs leave NaN order unspecified; this keeps the order total). k is in
 * params, or in an optional int32 scalar operand 1 computed at run time (k of
 * a variable-size tensor: sorting all of it). */
#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

/* k: the params', or operand 1's once its value is known (-1 before). */
static int32_t k_of(const kn_step *s) {
    if (s->n_in < 2) return ((const kn_topk_params *)s->params)->k;
    return s->in[1]->data ? *(const int32_t *)s->in[1]->data : -1;
}

static kiln_status topk_infer(const kn_step *s, kn_tensor *out) {
    if (s->n_in < 1 || s->n_in > 2 || !s->in[0] || (s->n_in == 2 && !s->in[1]) || s->n_out != 2)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "expected 1 input and 2 outputs (or 2 inputs, with k), got %d and %d",
                       s->n_in, s->n_out);
    const kn_tensor *x = s->in[0];
    if (x->dtype != KILN_FLOAT32 && x->dtype != KILN_INT32 && x->dtype != KILN_UINT8)
        return kn_fail(KILN_ERR_UNSUPPORTED, "top_k of %S: only float32, int32 and uint8 are supported", x);
    if (x->rank < 1) return kn_fail(KILN_ERR_BAD_BUNDLE, "top_k needs rank >= 1, got %S", x);
    if (s->n_in == 2 && (s->in[1]->dtype != KILN_INT32 || s->in[1]->rank != 0))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "k is %S, expected an int32 scalar", s->in[1]);
    int32_t k = k_of(s);
    if (s->n_in == 2 && k < 0 && !s->in[1]->data) { /* at load: k comes at run time; the plan gave the largest */
        for (int i = 0; i < 2; i++)
            if (out[i].dtype != (i ? KILN_INT32 : x->dtype) || out[i].rank != x->rank)
                return kn_fail(KILN_ERR_BAD_BUNDLE, "output %d %S does not match input %S", i, &out[i], x);
        return KILN_OK;
    }
    if (k < 0 || k > x->dims[x->rank - 1])
        return kn_fail(s->n_in == 2 ? KILN_ERR_RUNTIME : KILN_ERR_BAD_BUNDLE, "k %d must be in [0, %d], the last dim of %S",
                       k, x->dims[x->rank - 1], x);
    int32_t dims[KILN_MAX_RANK];
    for (int d = 0; d < x->rank; d++) dims[d] = x->dims[d];
    dims[x->rank - 1] = k;
    kn_set_shape(&out[0], x->dtype, x->rank, dims);
    kn_set_shape(&out[1], KILN_INT32, x->rank, dims);
    return KILN_OK;
}

/* Element i of row x ranks before element j. */
#define BEFORE(x, i, j) ((x)[i] > (x)[j] || ((x)[i] == (x)[j] && (i) < (j)))
#define BEFORE_F32(x, i, j) (is_nan((x)[i]) ? !is_nan((x)[j]) || (i) < (j) : !is_nan((x)[j]) && BEFORE(x, i, j))
static inline bool is_nan(float v) { return v != v; }

/*
 * Per row, h = the row of the indices output holds a heap of the k
 * elements ranking first so far, with the one ranking last at the root; an
 * element that ranks before the root replaces it. Heapsort then leaves h in
 * rank order: O(n log k) per row, and no memory beyond the outputs.
 */
#define DEFINE_TOPK(NAME, T, RANKS_BEFORE)                                               \
    static void NAME##_sift(const T *x, int32_t *h, size_t size, size_t at) {            \
        for (;;) {                                                                       \
            size_t last = at, l = 2 * at + 1, r = l + 1;                                 \
            if (l < size && RANKS_BEFORE(x, h[last], h[l])) last = l;                    \
            if (r < size && RANKS_BEFORE(x, h[last], h[r])) last = r;                    \
            if (last == at) return;                                                      \
            int32_t t = h[at];                                                           \
            h[at] = h[last];                                                             \
            h[last] = t;                                                                 \
            at = last;                                                                   \
        }                                                                                \
    }                                                                                    \
    static void NAME(T *vals, int32_t *h, const T *x, size_t rows, size_t n, size_t k) { \
        for (size_t r = 0; r < rows; r++, x += n, h += k, vals += k) {                   \
            for (size_t i = 0; i < k; i++) h[i] = (int32_t)i;                            \
            for (size_t i = k / 2; i-- > 0;) NAME##_sift(x, h, k, i);                    \
            for (size_t j = k; j < n; j++)                                               \
                if (RANKS_BEFORE(x, (int32_t)j, h[0])) {                                 \
                    h[0] = (int32_t)j;                                                   \
                    NAME##_sift(x, h, k, 0);                                             \
                }                                                                        \
            for (size_t end = k; end-- > 1;) {                                           \
                int32_t t = h[0];                                                        \
                h[0] = h[end];                                                           \
                h[end] = t;                                                              \
                NAME##_sift(x, h, end, 0);                                               \
            }                                                                            \
            for (size_t i = 0; i < k; i++) vals[i] = x[h[i]];                            \
        }                                                                                \
    }
DEFINE_TOPK(topk_f32, float, BEFORE_F32)
DEFINE_TOPK(topk_i32, int32_t, BEFORE)
DEFINE_TOPK(topk_u8, uint8_t, BEFORE)

static kiln_status topk_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_tensor *x = s->in[0];
    size_t n = (size_t)x->dims[x->rank - 1], k = (size_t)s->out[1]->dims[x->rank - 1];
    if (k == 0) return KILN_OK;
    size_t rows = kn_tensor_count(x) / n;
    void *vals = s->out[0]->data;
    int32_t *ids = s->out[1]->data;
    switch (x->dtype) {
    case KILN_FLOAT32: topk_f32(vals, ids, x->data, rows, n, k); break;
    case KILN_INT32: topk_i32(vals, ids, x->data, rows, n, k); break;
    default: topk_u8(vals, ids, x->data, rows, n, k); break;
    }
    return KILN_OK;
}

const kn_op_def kn_op_topk = {
    .name = "TopK",
    .n_params = sizeof(kn_topk_params) / 4,
    .flags = KN_OP_SHAPE_FROM_VALUES,
    .infer = topk_infer,
    .eval = topk_eval,
};
