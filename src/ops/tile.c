/* TILE: repeats x multiples[d] times along each dim d (TF Tile). Any dtype:
 * it copies bytes. Multiples past the input's rank must be 0. */
#include <string.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status tile_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 1);
    if (st) return st;
    const kn_tile_params *p = s->params;
    const kn_tensor *x = s->in[0];
    int32_t dims[KILN_MAX_RANK];
    for (int d = 0; d < KILN_MAX_RANK; d++) {
        int32_t m = p->multiples[d];
        if (d >= x->rank) {
            if (m)
                return kn_fail(KILN_ERR_BAD_BUNDLE, "dim %d has multiple %d, expected 0 past the rank of %S", d, m, x);
            continue;
        }
        if (m < 0) return kn_fail(KILN_ERR_BAD_BUNDLE, "dim %d has multiple %d, expected >= 0", d, m);
        int64_t dim = (int64_t)x->dims[d] * m;
        if (dim > INT32_MAX)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "tiling dim %d of %S %d times gives %lld, more than int32 holds", d, x,
                           m, (long long)dim);
        dims[d] = (int32_t)dim;
    }
    return kn_set_checked_shape(out, x->dtype, x->rank, dims);
}

typedef struct tile_walk {
    const kn_tile_params *p;
    const int32_t *dims;              /* x's */
    size_t x_stride[KILN_MAX_RANK];   /* bytes per index of dim d, in x */
    size_t y_stride[KILN_MAX_RANK];   /* and in y */
    int rank;
} tile_walk;

/* Fills y's block at dim d (dst) from x's block at dim d (src): one copy of
 * x's block laid out with y's strides, then that copy repeated, doubling
 * what is copied each time. */
static void tile_dim(const tile_walk *w, int d, const char *src, char *dst) {
    size_t n = (size_t)w->dims[d], chunk = n * w->y_stride[d];
    if (d == w->rank - 1) memcpy(dst, src, chunk);
    else
        for (size_t i = 0; i < n; i++) tile_dim(w, d + 1, src + i * w->x_stride[d], dst + i * w->y_stride[d]);
    size_t m = (size_t)w->p->multiples[d];
    for (size_t done = 1; done < m;) {
        size_t copies = done < m - done ? done : m - done;
        memcpy(dst + done * chunk, dst, copies * chunk);
        done += copies;
    }
}

static kiln_status tile_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_tensor *x = s->in[0], *y = s->out[0];
    if (kn_tensor_count(y) == 0) return KILN_OK;
    size_t es = kiln_dtype_size(x->dtype);
    if (x->rank == 0) {
        memcpy(y->data, x->data, es);
        return KILN_OK;
    }
    tile_walk w = {.p = s->params, .dims = x->dims, .rank = x->rank};
    w.x_stride[x->rank - 1] = w.y_stride[x->rank - 1] = es;
    for (int d = x->rank - 2; d >= 0; d--) {
        w.x_stride[d] = w.x_stride[d + 1] * (size_t)x->dims[d + 1];
        w.y_stride[d] = w.y_stride[d + 1] * (size_t)y->dims[d + 1];
    }
    tile_dim(&w, 0, x->data, y->data);
    return KILN_OK;
}

const kn_op_def kn_op_tile = {
    .name = "Tile",
    .n_params = sizeof(kn_tile_params) / 4,
    .infer = tile_infer,
    .eval = tile_eval,
};
