/* Lowering of the layout ops: Cast; slicing (StridedSlice, Slice, Split,
 * SplitV, Unpack) and joining (Pack); Tile, Transpose, BroadcastTo; the
 * block rearrangements (DepthToSpace, SpaceToDepth, SpaceToBatchND,
 * BatchToSpaceND), all RESHAPE + TRANSPOSE around PAD or SLICE; and the ops
 * whose result follows from static shapes or constants (Fill, ZerosLike,
 * OnesLike, Size, Rank, Range). Steps that would change nothing (a slice
 * taking everything, an identity permutation) are not emitted. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"

/* ---- Helpers ------------------------------------------------------------- */

/* An integer attribute TF gives a default for: graphs saved by TF2 omit it. */
static bool attr_int_or(kc_lower *L, const char *name, int64_t def, int64_t *value) {
    if (!tf_node_attr(L->node, name)) {
        *value = def;
        return true;
    }
    return lower_attr_int(L, name, value);
}

/* A type attribute, `def` when absent (-1: required). */
static bool attr_type(kc_lower *L, const char *name, int def, int *value) {
    const tf_attr *a = tf_node_attr(L->node, name);
    if (!a && def >= 0) {
        *value = def;
        return true;
    }
    if (!a || a->kind != TF_ATTR_TYPE) return lower_fail(L, "attribute '%s' is missing or not a type", name);
    *value = a->type;
    return true;
}

static bool set_output(kc_lower *L, int id) {
    L->out[0] = id;
    L->n_out = 1;
    return true;
}

/* "[2,3]" for messages about shapes that are not tensors yet. */
static const char *dims_str(int rank, const int32_t *dims) {
    kn_tensor t = {.name = ""};
    kn_set_shape(&t, KILN_INT32, rank, dims);
    return kc_shape(&t) + strlen("int32");
}

/* TF's axis rule: [-rank, rank) counts from the end when negative. */
static bool normalize_axis(kc_lower *L, int64_t axis, int rank, int *out) {
    if (axis < -rank || axis >= rank)
        return lower_fail(L, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return true;
}

/* A scalar constant axis given as input `input`. */
static bool const_axis(kc_lower *L, int input, int rank, int *axis) {
    int32_t v;
    int n;
    if (!lower_const_ints(L, input, &v, 1, &n)) return false;
    if (n != 1) return lower_fail(L, "axis (input %d) must be one value", input);
    return normalize_axis(L, v, rank, axis);
}

/* SLICE of x, or x itself when the slice takes all of it. */
static bool emit_slice(kc_lower *L, int x, const kn_slice_params *prm, int *out) {
    const kn_tensor *t = lower_tensor(L, x);
    bool whole = true;
    for (int d = 0; d < t->rank; d++)
        whole = whole && prm->size[d] == t->dims[d] && prm->begin[d] == 0 && (prm->stride[d] == 1 || prm->size[d] <= 1);
    if (whole) {
        *out = x;
        return true;
    }
    return lower_emit(L, KN_OP_SLICE, &x, 1, prm, sizeof *prm, out);
}

/* RESHAPE of x, or x itself when it already has that shape. */
static bool emit_reshape(kc_lower *L, int x, int rank, const int32_t *dims, int *out) {
    const kn_tensor *t = lower_tensor(L, x);
    if (t->rank == rank && (rank == 0 || memcmp(t->dims, dims, sizeof(int32_t) * (size_t)rank) == 0)) {
        *out = x;
        return true;
    }
    return lower_reshape(L, x, rank, dims, out);
}

/* TRANSPOSE of x, or x itself for the identity permutation. */
static bool emit_transpose(kc_lower *L, int x, const int32_t *perm, int *out) {
    const kn_tensor *t = lower_tensor(L, x);
    kn_transpose_params prm = {.perm = {0}};
    bool identity = true;
    for (int d = 0; d < t->rank; d++) {
        prm.perm[d] = perm[d];
        identity = identity && perm[d] == d;
    }
    if (identity) {
        *out = x;
        return true;
    }
    return lower_emit(L, KN_OP_TRANSPOSE, &x, 1, &prm, sizeof prm, out);
}

/* x broadcast to `dims` by TF's BroadcastTo rule (x's dims, aligned to the
 * right, are 1 or the target's): a RESHAPE to the target's rank, then a
 * TILE of the dims that grow. Folds when x is constant. */
static bool emit_broadcast(kc_lower *L, int x, int rank, const int32_t *dims, int *out) {
    const kn_tensor *t = lower_tensor(L, x);
    if (t->rank > rank) return lower_fail(L, "cannot broadcast %s to %s", kc_shape(t), dims_str(rank, dims));
    int32_t shape[KILN_MAX_RANK] = {0};
    kn_tile_params tile = {.multiples = {0}};
    bool grows = false;
    for (int d = 0; d < rank; d++) {
        int from = d - (rank - t->rank);
        shape[d] = from >= 0 ? t->dims[from] : 1;
        if (dims[d] < 0 || (shape[d] != dims[d] && shape[d] != 1))
            return lower_fail(L, "cannot broadcast %s to %s", kc_shape(t), dims_str(rank, dims));
        tile.multiples[d] = shape[d] == dims[d] ? 1 : dims[d];
        grows = grows || tile.multiples[d] != 1;
    }
    int id;
    if (!emit_reshape(L, x, rank, shape, &id)) return false;
    if (!grows) {
        *out = id;
        return true;
    }
    return lower_emit(L, KN_OP_TILE, &id, 1, &tile, sizeof tile, out);
}

/* ---- Cast ---------------------------------------------------------------- */

/* v rounded to the nearest float16 value, ties to even, as a float16 cast
 * rounds: 11 significant bits, spacing 2^-24 below 2^-14 (subnormals), and
 * infinity past the largest half, 65504. */
static float round_to_half(float v) {
    float a = fabsf(v);
    if (!(a < INFINITY)) return v;
    int e;
    frexpf(a, &e); /* a = m * 2^e, 0.5 <= m < 1 */
    float ulp = ldexpf(1.0f, (e - 1 < -14 ? -14 : e - 1) - 10);
    float r = nearbyintf(a / ulp) * ulp;
    return copysignf(r > 65504.0f ? INFINITY : r, v);
}

static bool lower_cast(kc_lower *L) {
    if (!lower_inputs(L, 1, 1)) return false;
    int dst = 0;
    if (!attr_type(L, "DstT", -1, &dst)) return false;
    const tf_attr *truncate = tf_node_attr(L->node, "Truncate");
    int x = L->in[0], dtype;
    switch (dst) {
    case TF_DT_FLOAT: dtype = KILN_FLOAT32; break;
    case TF_DT_INT32: case TF_DT_INT64: dtype = KILN_INT32; break;
    case TF_DT_UINT8: dtype = KILN_UINT8; break;
    case TF_DT_BOOL: dtype = KILN_BOOL; break;
    case TF_DT_HALF: case TF_DT_DOUBLE:
        /* Kiln has neither: a constant keeps the value TF computes, as
         * float32 (the way the readers keep float16 weights). */
        if (!kc_is_const(L->p, x))
            return lower_fail(L, "casting to %s is supported only for constants", tf_dtype_name(dst));
        if (dst == TF_DT_HALF && truncate && truncate->kind == TF_ATTR_B && truncate->b)
            return lower_fail(L, "Truncate casts to DT_HALF are not supported");
        dtype = KILN_FLOAT32;
        break;
    default:
        return lower_fail(L, "casting to %s is not supported",
                          tf_dtype_name(dst) ? tf_dtype_name(dst) : "an unknown type");
    }
    if (lower_tensor(L, x)->dtype == (kiln_dtype)dtype && dst != TF_DT_HALF) return set_output(L, x);
    kn_cast_params prm = {.dtype = dtype};
    int id;
    if (!lower_emit(L, KN_OP_CAST, &x, 1, &prm, sizeof prm, &id)) return false;
    if (dst == TF_DT_HALF) { /* a new folded constant: round it in place */
        kn_tensor *t = &L->p->tensors[id].t;
        float *v = t->data;
        for (size_t i = 0, n = kn_tensor_count(t); i < n; i++) v[i] = round_to_half(v[i]);
    }
    return set_output(L, id);
}

/* ---- Slicing ------------------------------------------------------------- */

/*
 * StridedSlice, as TF's ValidateStridedSliceOp defines it. The sparse spec
 * (one entry per begin value, with masks) becomes a dense one (one entry
 * per input dim): an ellipsis, explicit or implied at the end, expands to
 * whole dims; a new axis consumes no input dim; a shrunk dim takes the one
 * index `begin`. Each dense dim is then canonicalized (negative indices
 * count from the end, masked bounds take the whole range in the stride's
 * direction, and bounds clamp to it) into SLICE params; new and shrunk axes
 * are a RESHAPE after it.
 */
#define SS_MAX 32    /* TF's masks are 32 bits */
#define SS_NEW (-2)  /* final dim from a new axis: 1 */
#define SS_SHRINK (-1)

static bool lower_strided_slice(kc_lower *L) {
    if (!lower_inputs(L, 4, 4)) return false;
    int x = L->in[0];
    const kn_tensor *t = lower_tensor(L, x);
    int32_t begin[SS_MAX], end[SS_MAX], strides[SS_MAX];
    int nb, ne, ns;
    if (!lower_const_ints(L, 1, begin, SS_MAX - 1, &nb) || !lower_const_ints(L, 2, end, SS_MAX - 1, &ne) ||
        !lower_const_ints(L, 3, strides, SS_MAX - 1, &ns))
        return false;
    if (nb != ns || ne != ns) return lower_fail(L, "begin, end and strides have %d, %d and %d values", nb, ne, ns);
    int64_t masks[5];
    static const char *const mask_names[5] = {"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                              "shrink_axis_mask"};
    for (int i = 0; i < 5; i++)
        if (!attr_int_or(L, mask_names[i], 0, &masks[i])) return false;
    uint32_t begin_mask = (uint32_t)masks[0], end_mask = (uint32_t)masks[1], ellipsis = (uint32_t)masks[2];
    uint32_t new_axis = (uint32_t)masks[3], shrink = (uint32_t)masks[4];
    if (ellipsis & (ellipsis - 1)) return lower_fail(L, "ellipsis_mask 0x%x has more than one ellipsis", ellipsis);

    /* Sparse to dense. */
    int sparse = ns, new_after_ellipsis = 0;
    bool seen = false;
    for (int i = 0; i < ns; i++) {
        if (seen && (new_axis >> i & 1)) new_after_ellipsis++;
        if (ellipsis >> i & 1) seen = true;
    }
    if (!seen) ellipsis |= 1u << sparse++;
    int64_t db[KILN_MAX_RANK] = {0}, de[KILN_MAX_RANK] = {0}, ds[KILN_MAX_RANK] = {0};
    uint32_t dbm = 0, dem = 0, dshrink = 0;
    int gather[SS_MAX + KILN_MAX_RANK], n_gather = 0, full = 0;
    for (int i = 0; i < sparse; i++) {
        if (ellipsis >> i & 1) {
            int next = t->rank - (sparse - i) + 1 + new_after_ellipsis;
            if (next > t->rank) next = t->rank;
            for (; full < next; full++) {
                ds[full] = 1;
                dbm |= 1u << full;
                dem |= 1u << full;
                gather[n_gather++] = full;
            }
        } else if (new_axis >> i & 1) {
            gather[n_gather++] = SS_NEW;
        } else {
            if (full == t->rank) return lower_fail(L, "index %d is past the %d dims of %s", i, t->rank, kc_shape(t));
            db[full] = begin[i];
            de[full] = end[i];
            ds[full] = strides[i];
            dbm |= (begin_mask >> i & 1) << full;
            dem |= (end_mask >> i & 1) << full;
            dshrink |= (shrink >> i & 1) << full;
            gather[n_gather++] = shrink >> i & 1 ? SS_SHRINK : full;
            full++;
        }
    }

    /* Canonical bounds per dense dim. */
    kn_slice_params prm = {.begin = {0}};
    for (int d = 0; d < t->rank; d++) {
        int64_t dim = t->dims[d], stride = ds[d], b, e;
        if (stride == 0) return lower_fail(L, "stride of dim %d is 0", d);
        if (dshrink >> d & 1) {
            if (stride < 0)
                return lower_fail(L, "dim %d is shrunk with stride %lld; TF allows only positive strides there", d,
                                  (long long)stride);
            b = db[d] < 0 ? dim + db[d] : db[d];
            if (b < 0 || b >= dim)
                return lower_fail(L, "index %lld of dim %d is out of bounds for %s", (long long)db[d], d, kc_shape(t));
            e = b + 1;
        } else {
            /* Forward strides range over [0, dim], backward over [-1, dim - 1]. */
            int64_t lo = stride > 0 ? 0 : -1, hi = stride > 0 ? dim : dim - 1;
            if (dbm >> d & 1) b = stride > 0 ? lo : hi;
            else b = db[d] < 0 ? dim + db[d] : db[d];
            if (dem >> d & 1) e = stride > 0 ? hi : lo;
            else e = de[d] < 0 ? dim + de[d] : de[d];
            b = b < lo ? lo : b > hi ? hi : b;
            e = e < lo ? lo : e > hi ? hi : e;
        }
        int64_t len = e - b, size = 0;
        if (len != 0 && (len < 0) == (stride < 0)) size = len / stride + (len % stride != 0);
        prm.begin[d] = size ? (int32_t)b : 0;
        prm.size[d] = (int32_t)size;
        prm.stride[d] = (int32_t)stride;
    }
    int32_t dims[KILN_MAX_RANK];
    int rank = 0;
    for (int g = 0; g < n_gather; g++) {
        if (gather[g] == SS_SHRINK) continue;
        if (rank == KILN_MAX_RANK) return lower_fail(L, "the result has more than %d dims", KILN_MAX_RANK);
        dims[rank++] = gather[g] == SS_NEW ? 1 : prm.size[gather[g]];
    }
    int id;
    return emit_slice(L, x, &prm, &id) && emit_reshape(L, id, rank, dims, &id) && set_output(L, id);
}

/* Slice: begin and size per dim, size -1 meaning "to the end". */
/* A value computed at run time whose largest value the converter knows. */
static bool at_run_time(kc_lower *L, int id) { return !kc_is_const(L->p, id) && L->p->tensors[id].shadow; }

static bool lower_slice(kc_lower *L) {
    if (!lower_inputs(L, 3, 3)) return false;
    int x = L->in[0];
    const kn_tensor *t = lower_tensor(L, x);
    int32_t begin[KILN_MAX_RANK], size[KILN_MAX_RANK];
    int nb, ns;
    if (at_run_time(L, L->in[1]) || at_run_time(L, L->in[2])) /* begin and size become operands */
        return lower_emit(L, KN_OP_SLICE, L->in, 3, &(kn_slice_params){.begin = {0}}, sizeof(kn_slice_params), NULL);
    if (!lower_const_ints(L, 1, begin, KILN_MAX_RANK, &nb) || !lower_const_ints(L, 2, size, KILN_MAX_RANK, &ns))
        return false;
    if (nb != t->rank || ns != t->rank)
        return lower_fail(L, "begin and size have %d and %d values, expected %d for %s", nb, ns, t->rank, kc_shape(t));
    kn_slice_params prm = {.begin = {0}};
    for (int d = 0; d < t->rank; d++) {
        int64_t b = begin[d], n = size[d] == -1 ? t->dims[d] - b : size[d];
        if (b < 0 || b > t->dims[d] || n < 0 || b + n > t->dims[d])
            return lower_fail(L, "begin %d and size %d do not fit dim %d of %s", begin[d], size[d], d, kc_shape(t));
        prm.begin[d] = n ? (int32_t)b : 0;
        prm.size[d] = (int32_t)n;
        prm.stride[d] = 1;
    }
    int id;
    return emit_slice(L, x, &prm, &id) && set_output(L, id);
}

/* Outputs 0..n-1: consecutive pieces of x along `axis`, sizes[k] each
 * (their sum is the dim). */
static bool emit_pieces(kc_lower *L, int x, int axis, const int32_t *sizes, int n) {
    const kn_tensor *t = lower_tensor(L, x);
    kn_slice_params prm = {.begin = {0}};
    for (int d = 0; d < t->rank; d++) {
        prm.size[d] = t->dims[d];
        prm.stride[d] = 1;
    }
    int32_t at = 0;
    for (int k = 0; k < n; k++) {
        prm.begin[axis] = sizes[k] ? at : 0;
        prm.size[axis] = sizes[k];
        if (!emit_slice(L, x, &prm, &L->out[k])) return false;
        at += sizes[k];
    }
    L->n_out = n;
    return true;
}

static bool num_outputs(kc_lower *L, const char *attr, int64_t *n) {
    if (!lower_attr_int(L, attr, n)) return false;
    if (*n < 1 || *n > KC_MAX_NODE_OUTPUTS)
        return lower_fail(L, "%s is %lld, expected 1..%d", attr, (long long)*n, KC_MAX_NODE_OUTPUTS);
    return true;
}

/* Split(axis, value): num_split equal pieces. */
static bool lower_split(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    int x = L->in[1], axis = 0;
    const kn_tensor *t = lower_tensor(L, x);
    int64_t n;
    if (!num_outputs(L, "num_split", &n) || !const_axis(L, 0, t->rank, &axis)) return false;
    if (t->dims[axis] % n)
        return lower_fail(L, "dim %d of %s does not split into %lld equal pieces", axis, kc_shape(t), (long long)n);
    int32_t sizes[KC_MAX_NODE_OUTPUTS];
    for (int k = 0; k < n; k++) sizes[k] = t->dims[axis] / (int32_t)n;
    return emit_pieces(L, x, axis, sizes, (int)n);
}

/* SplitV(value, size_splits, axis): one size may be -1, the rest of the dim. */
static bool lower_split_v(kc_lower *L) {
    if (!lower_inputs(L, 3, 3)) return false;
    int x = L->in[0], axis = 0, n = 0;
    const kn_tensor *t = lower_tensor(L, x);
    int32_t sizes[KC_MAX_NODE_OUTPUTS];
    int64_t num;
    if (!num_outputs(L, "num_split", &num) || !const_axis(L, 2, t->rank, &axis) ||
        !lower_const_ints(L, 1, sizes, KC_MAX_NODE_OUTPUTS, &n))
        return false;
    if (n != num) return lower_fail(L, "size_splits has %d values, num_split is %lld", n, (long long)num);
    int64_t known = 0;
    int rest = -1;
    for (int k = 0; k < n; k++) {
        if (sizes[k] == -1 && rest < 0) rest = k;
        else if (sizes[k] < 0) return lower_fail(L, "size_splits[%d] is %d, expected >= 0 or a single -1", k, sizes[k]);
        else known += sizes[k];
    }
    if (rest >= 0 && known <= t->dims[axis]) sizes[rest] = t->dims[axis] - (int32_t)known;
    else if (rest >= 0 || known != t->dims[axis])
        return lower_fail(L, "size_splits add up to %lld, dim %d of %s is %d", (long long)known, axis, kc_shape(t),
                          t->dims[axis]);
    return emit_pieces(L, x, axis, sizes, n);
}

/* Unpack: one output per index along `axis`, without that axis. */
static bool lower_unpack(kc_lower *L) {
    if (!lower_inputs(L, 1, 1)) return false;
    int x = L->in[0], axis = 0;
    const kn_tensor t = *lower_tensor(L, x); /* a copy: emitting steps moves the tensor array */
    int64_t num, a;
    if (!lower_attr_int(L, "num", &num) || !attr_int_or(L, "axis", 0, &a) || !normalize_axis(L, a, t.rank, &axis))
        return false;
    if (num != t.dims[axis] || num > KC_MAX_NODE_OUTPUTS)
        return lower_fail(L, "num is %lld, dim %d of %s is %d (at most %d outputs)", (long long)num, axis,
                          kc_shape(&t), t.dims[axis], KC_MAX_NODE_OUTPUTS);
    int32_t sizes[KC_MAX_NODE_OUTPUTS], dims[KILN_MAX_RANK];
    for (int k = 0; k < num; k++) sizes[k] = 1;
    for (int d = 0, r = 0; d < t.rank; d++)
        if (d != axis) dims[r++] = t.dims[d];
    if (!emit_pieces(L, x, axis, sizes, (int)num)) return false;
    for (int k = 0; k < num; k++)
        if (!emit_reshape(L, L->out[k], t.rank - 1, dims, &L->out[k])) return false;
    return true;
}

/* Pack: the inputs (all of one shape) stacked along a new axis. */
static bool lower_pack(kc_lower *L) {
    if (!lower_inputs(L, 1, 255)) return false;
    const kn_tensor t0 = *lower_tensor(L, L->in[0]); /* a copy: emitting steps moves the tensor array */
    int64_t a;
    int axis = 0;
    if (!attr_int_or(L, "axis", 0, &a) || !normalize_axis(L, a, t0.rank + 1, &axis)) return false;
    if (t0.rank == KILN_MAX_RANK) return lower_fail(L, "cannot stack %s: rank above %d", kc_shape(&t0), KILN_MAX_RANK);
    int32_t dims[KILN_MAX_RANK];
    for (int d = 0, r = 0; d <= t0.rank; d++) dims[d] = d == axis ? 1 : t0.dims[r++];
    int parts[255];
    for (int i = 0; i < L->n_in; i++) {
        const kn_tensor *t = lower_tensor(L, L->in[i]);
        if (!kn_same_shape(t, &t0))
            return lower_fail(L, "input %d is %s, input 0 is %s: Pack needs one shape", i, kc_shape(t), kc_shape(&t0));
        if (!emit_reshape(L, L->in[i], t0.rank + 1, dims, &parts[i])) return false;
    }
    if (L->n_in == 1) return set_output(L, parts[0]);
    kn_concat_params prm = {.axis = axis};
    return lower_emit(L, KN_OP_CONCAT, parts, L->n_in, &prm, sizeof prm, NULL);
}

/* ---- Tile, Transpose, BroadcastTo ---------------------------------------- */

static bool lower_tile(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    int x = L->in[0], n;
    const kn_tensor *t = lower_tensor(L, x);
    kn_tile_params prm = {.multiples = {0}};
    if (!lower_const_ints(L, 1, prm.multiples, KILN_MAX_RANK, &n)) return false;
    if (n != t->rank) return lower_fail(L, "multiples has %d values, expected %d for %s", n, t->rank, kc_shape(t));
    bool identity = true;
    for (int d = 0; d < n; d++) {
        if (prm.multiples[d] < 0) return lower_fail(L, "multiples[%d] is %d, expected >= 0", d, prm.multiples[d]);
        identity = identity && prm.multiples[d] == 1;
    }
    if (identity) return set_output(L, x);
    return lower_emit(L, KN_OP_TILE, &x, 1, &prm, sizeof prm, NULL);
}

static bool lower_transpose(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    int x = L->in[0], n;
    const kn_tensor *t = lower_tensor(L, x);
    int32_t perm[KILN_MAX_RANK];
    if (!lower_const_ints(L, 1, perm, KILN_MAX_RANK, &n)) return false;
    bool used[KILN_MAX_RANK] = {false};
    if (n != t->rank) return lower_fail(L, "perm has %d values, expected %d for %s", n, t->rank, kc_shape(t));
    for (int d = 0; d < n; d++) {
        if (perm[d] < 0 || perm[d] >= n || used[perm[d]])
            return lower_fail(L, "perm %s is not a permutation of 0..%d", dims_str(n, perm), n - 1);
        used[perm[d]] = true;
    }
    int id;
    return emit_transpose(L, x, perm, &id) && set_output(L, id);
}

static bool lower_broadcast_to(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    int32_t dims[KILN_MAX_RANK];
    int rank, id;
    return lower_const_ints(L, 1, dims, KILN_MAX_RANK, &rank) && emit_broadcast(L, L->in[0], rank, dims, &id) &&
           set_output(L, id);
}

/* ---- Block rearrangements ------------------------------------------------ */

static bool block_size(kc_lower *L, const kn_tensor *t, int64_t *b) {
    if (!lower_require_nhwc(L) || !lower_attr_int(L, "block_size", b)) return false;
    if (*b < 2 || *b > 1 << 15) return lower_fail(L, "block_size %lld, expected 2..32768", (long long)*b);
    if (t->rank != 4) return lower_fail(L, "input must be 4-D NHWC, got %s", kc_shape(t));
    return true;
}

/* DepthToSpace (DCR): out[n, h*b + i, w*b + j, c] = x[n, h, w, (i*b + j)*C' + c]. */
static bool lower_depth_to_space(kc_lower *L) {
    if (!lower_inputs(L, 1, 1)) return false;
    int x = L->in[0], id;
    const kn_tensor *t = lower_tensor(L, x);
    int64_t b;
    if (!block_size(L, t, &b)) return false;
    if (t->dims[3] % (b * b))
        return lower_fail(L, "depth of %s is not a multiple of %lld", kc_shape(t), (long long)(b * b));
    int32_t n = t->dims[0], h = t->dims[1], w = t->dims[2], c = t->dims[3] / (int32_t)(b * b), bs = (int32_t)b;
    return lower_reshape(L, x, 6, (int32_t[]){n, h, w, bs, bs, c}, &id) &&
           emit_transpose(L, id, (int32_t[]){0, 1, 3, 2, 4, 5}, &id) &&
           lower_reshape(L, id, 4, (int32_t[]){n, h * bs, w * bs, c}, &id) && set_output(L, id);
}

/* SpaceToDepth, its inverse: out[n, h, w, (i*b + j)*C + c] = x[n, h*b + i, w*b + j, c]. */
static bool lower_space_to_depth(kc_lower *L) {
    if (!lower_inputs(L, 1, 1)) return false;
    int x = L->in[0], id;
    const kn_tensor *t = lower_tensor(L, x);
    int64_t b;
    if (!block_size(L, t, &b)) return false;
    if (t->dims[1] % b || t->dims[2] % b)
        return lower_fail(L, "height and width of %s are not multiples of %lld", kc_shape(t), (long long)b);
    int32_t n = t->dims[0], h = t->dims[1] / (int32_t)b, w = t->dims[2] / (int32_t)b, c = t->dims[3], bs = (int32_t)b;
    return lower_reshape(L, x, 6, (int32_t[]){n, h, bs, w, bs, c}, &id) &&
           emit_transpose(L, id, (int32_t[]){0, 1, 3, 2, 4, 5}, &id) &&
           lower_reshape(L, id, 4, (int32_t[]){n, h, w, bs * bs * c}, &id) && set_output(L, id);
}

/* The common part of SpaceToBatchND and BatchToSpaceND: block_shape [M]
 * and paddings or crops [M, 2] (constants, >= 0) for x = [batch] + M
 * spatial dims + the rest. The rest is one dim in the rank-(2M+2) middle
 * step, so M <= 3. */
typedef struct {
    int m;
    int32_t block[3];
    int32_t pads[3][2];
    int64_t block_count;
    int32_t rest; /* elements of the dims after the spatial ones */
    bool has_rest;
} block_spec;

static bool read_block_spec(kc_lower *L, const kn_tensor *t, const char *what, block_spec *s) {
    if (!lower_const_ints(L, 1, s->block, 3, &s->m)) return false;
    const kn_tensor *p = lower_tensor(L, L->in[2]);
    if (s->m < 1 || t->rank < 1 + s->m)
        return lower_fail(L, "block_shape has %d values, expected 1..3 and at most rank - 1 for %s", s->m, kc_shape(t));
    if (!kc_is_const(L->p, L->in[2]) || p->dtype != KILN_INT32 || p->rank != 2 || p->dims[0] != s->m || p->dims[1] != 2)
        return lower_fail(L, "%s must be a constant int32[%d,2], got %s", what, s->m, kc_shape(p));
    memcpy(s->pads, p->data, sizeof(int32_t) * 2 * (size_t)s->m);
    s->block_count = 1;
    for (int i = 0; i < s->m; i++) {
        if (s->block[i] < 1 || s->pads[i][0] < 0 || s->pads[i][1] < 0)
            return lower_fail(L, "block_shape[%d] is %d and %s %d, %d; expected a block >= 1 and %s >= 0", i,
                              s->block[i], what, s->pads[i][0], s->pads[i][1], what);
        s->block_count *= s->block[i];
        if (s->block_count > INT32_MAX) return lower_fail(L, "block_shape's product is too large");
    }
    s->rest = 1;
    s->has_rest = t->rank > 1 + s->m;
    for (int d = 1 + s->m; d < t->rank; d++) s->rest *= t->dims[d];
    return true;
}

/* SpaceToBatchND: zero-pad the spatial dims, split each into (dim / block,
 * block), move the block dims in front of the batch and merge them into it. */
static bool lower_space_to_batch(kc_lower *L) {
    if (!lower_inputs(L, 3, 3)) return false;
    int x = L->in[0], id;
    const kn_tensor *t = lower_tensor(L, x);
    const int rank = t->rank;
    block_spec s;
    if (!read_block_spec(L, t, "paddings", &s)) return false;
    if ((int64_t)t->dims[0] * s.block_count > INT32_MAX)
        return lower_fail(L, "%s in %lld blocks: the batch would be too large", kc_shape(t), (long long)s.block_count);
    kn_pad_params pad = {.mode = KN_PAD_CONSTANT};
    int32_t mid[KILN_MAX_RANK], perm[KILN_MAX_RANK], dims[KILN_MAX_RANK];
    int m = s.m, mid_rank = 1 + 2 * m + s.has_rest;
    mid[0] = t->dims[0];
    dims[0] = (int32_t)(t->dims[0] * s.block_count);
    for (int i = 0; i < m; i++) {
        int64_t padded = (int64_t)t->dims[1 + i] + s.pads[i][0] + s.pads[i][1];
        if (padded % s.block[i])
            return lower_fail(L, "padded dim %d of %s (%lld) is not a multiple of its block %d", 1 + i, kc_shape(t),
                              (long long)padded, s.block[i]);
        if (padded > INT32_MAX) return lower_fail(L, "padded dim %d of %s is too large", 1 + i, kc_shape(t));
        pad.before[1 + i] = s.pads[i][0];
        pad.after[1 + i] = s.pads[i][1];
        mid[1 + 2 * i] = dims[1 + i] = (int32_t)(padded / s.block[i]);
        mid[2 + 2 * i] = s.block[i];
        perm[i] = 2 + 2 * i;         /* the blocks, */
        perm[m + 1 + i] = 1 + 2 * i; /* then the batch, then the spatial dims */
    }
    perm[m] = 0;
    mid[2 * m + 1] = s.rest; /* the rest, when there is one, stays last */
    perm[2 * m + 1] = 2 * m + 1;
    for (int d = 1 + m; d < rank; d++) dims[d] = t->dims[d];
    bool padded = false;
    for (int i = 0; i < m; i++) padded = padded || s.pads[i][0] || s.pads[i][1];
    id = x;
    if (padded && !lower_emit(L, KN_OP_PAD, &x, 1, &pad, sizeof pad, &id)) return false;
    if (s.block_count == 1) return set_output(L, id);
    return lower_reshape(L, id, mid_rank, mid, &id) && emit_transpose(L, id, perm, &id) &&
           lower_reshape(L, id, rank, dims, &id) && set_output(L, id);
}

/* BatchToSpaceND, the inverse: split the batch into (blocks..., batch /
 * blocks), interleave each block dim after its spatial dim, merge them, and
 * crop. */
static bool lower_batch_to_space(kc_lower *L) {
    if (!lower_inputs(L, 3, 3)) return false;
    int x = L->in[0], id;
    const kn_tensor *t = lower_tensor(L, x);
    const int rank = t->rank;
    block_spec s;
    if (!read_block_spec(L, t, "crops", &s)) return false;
    if (t->dims[0] % s.block_count)
        return lower_fail(L, "batch of %s is not a multiple of the %lld blocks", kc_shape(t), (long long)s.block_count);
    int32_t mid[KILN_MAX_RANK], perm[KILN_MAX_RANK], dims[KILN_MAX_RANK];
    int m = s.m, mid_rank = 1 + 2 * m + s.has_rest;
    kn_slice_params crop = {.begin = {0}};
    mid[m] = dims[0] = t->dims[0] / (int32_t)s.block_count;
    perm[0] = m;
    for (int i = 0; i < m; i++) {
        int64_t full = (int64_t)t->dims[1 + i] * s.block[i];
        if (full > INT32_MAX || s.pads[i][0] + (int64_t)s.pads[i][1] > full)
            return lower_fail(L, "crops %d, %d of dim %d exceed its %lld elements", s.pads[i][0], s.pads[i][1], 1 + i,
                              (long long)full);
        mid[i] = s.block[i];
        mid[m + 1 + i] = t->dims[1 + i];
        perm[1 + 2 * i] = m + 1 + i; /* each spatial dim, */
        perm[2 + 2 * i] = i;         /* then its block */
        dims[1 + i] = (int32_t)full;
        crop.size[1 + i] = (int32_t)(full - s.pads[i][0] - s.pads[i][1]);
        crop.begin[1 + i] = crop.size[1 + i] ? s.pads[i][0] : 0;
    }
    mid[2 * m + 1] = s.rest;
    perm[2 * m + 1] = 2 * m + 1;
    for (int d = 1 + m; d < rank; d++) dims[d] = t->dims[d];
    for (int d = 0; d < rank; d++) {
        crop.stride[d] = 1;
        if (d == 0 || d > m) crop.size[d] = dims[d];
    }
    id = x;
    if (s.block_count > 1 && !(lower_reshape(L, x, mid_rank, mid, &id) && emit_transpose(L, id, perm, &id) &&
                                lower_reshape(L, id, rank, dims, &id)))
        return false;
    return emit_slice(L, id, &crop, &id) && set_output(L, id);
}

/* ---- Results known from shapes and constants ----------------------------- */

/* Fill(dims, value): value broadcast to dims; a constant when value is. Dims
 * computed at run time (from a variable-size tensor's shape) make a FILL step
 * planned at the dims' shadow. */
static bool lower_fill(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    int32_t dims[KILN_MAX_RANK];
    int rank, id;
    const kn_tensor *v = lower_tensor(L, L->in[1]), *by = lower_tensor(L, L->in[0]);
    if (v->rank != 0) return lower_fail(L, "value must be a scalar, got %s", kc_shape(v));
    if (!kc_is_const(L->p, L->in[0]) && L->p->tensors[L->in[0]].shadow) {
        if (by->dtype != KILN_INT32 || by->rank != 1 || by->dims[0] > KILN_MAX_RANK)
            return lower_fail(L, "dims must be int32[n], n <= %d, got %s", KILN_MAX_RANK, kc_shape(by));
        kn_fill_params prm = {.dtype = v->dtype, .rank = by->dims[0]};
        int in[2] = {L->in[1], L->in[0]};
        return lower_emit(L, KN_OP_FILL, in, 2, &prm, sizeof prm, NULL);
    }
    return lower_const_ints(L, 0, dims, KILN_MAX_RANK, &rank) && emit_broadcast(L, L->in[1], rank, dims, &id) &&
           set_output(L, id);
}

/* ZerosLike / OnesLike: a constant of x's shape and dtype. */
static bool lower_like(kc_lower *L, int value) {
    if (!lower_inputs(L, 1, 1)) return false;
    const kn_tensor *t = lower_tensor(L, L->in[0]);
    union {
        float f;
        int32_t i;
        uint8_t b;
    } v;
    if (t->dtype == KILN_FLOAT32) v.f = (float)value;
    else if (t->dtype == KILN_INT32) v.i = value;
    else v.b = (uint8_t)value;
    int32_t dims[KILN_MAX_RANK];
    memcpy(dims, t->dims, sizeof dims);
    int rank = t->rank;
    int id = kc_add_const(L->p, t->dtype, 0, NULL, &v); /* moves the tensor array: t is not used after */
    return id >= 0 && emit_broadcast(L, id, rank, dims, &id) && set_output(L, id);
}

static bool lower_zeros_like(kc_lower *L) { return lower_like(L, 0); }
static bool lower_ones_like(kc_lower *L) { return lower_like(L, 1); }

/* Size and Rank: int32 scalars (an int64 out_type is int32 in Kiln). */
static bool lower_size_rank(kc_lower *L) {
    if (!lower_inputs(L, 1, 1)) return false;
    const kn_tensor *t = lower_tensor(L, L->in[0]);
    bool size = strcmp(L->node->op, "Size") == 0;
    int out_type = TF_DT_INT32;
    if (size && !attr_type(L, "out_type", TF_DT_INT32, &out_type)) return false;
    if (size && out_type != TF_DT_INT32 && out_type != TF_DT_INT64)
        return lower_fail(L, "out_type %s is not int32 or int64",
                          tf_dtype_name(out_type) ? tf_dtype_name(out_type) : "unknown");
    size_t count = kn_tensor_count(t);
    if (count > INT32_MAX) return lower_fail(L, "%s has more elements than int32 holds", kc_shape(t));
    int32_t v = size ? (int32_t)count : t->rank;
    int id = kc_add_const(L->p, KILN_INT32, 0, NULL, &v);
    return id >= 0 && set_output(L, id);
}

/* Range(start, limit, delta), constant scalars: a constant of TF's count,
 * ceil(|limit - start| / |delta|) (computed in float for float32, as TF
 * does), each value the previous plus delta. */
/* Range(start, limit, delta) of int32 with a limit computed at run time: the
 * first max(0, ceil((limit - start) / delta)) values of the range to the
 * limit's largest value (its shadow), a constant, by a SLICE of run-time size. */
static bool run_time_range(kc_lower *L) {
    int32_t start, delta, n;
    if (!lower_const_ints(L, 0, &start, 1, &n) || !lower_const_ints(L, 2, &delta, 1, &n)) return false;
    const kc_tensor *limit = &L->p->tensors[L->in[1]];
    if (limit->t.dtype != KILN_INT32 || limit->t.rank != 0 || delta <= 0)
        return lower_fail(L, "a limit known only at run time needs int32 scalars and a delta > 0");
    int64_t largest = *(const int32_t *)limit->shadow, count = largest > start ? (largest - start + delta - 1) / delta : 0;
    if (count > (1 << 24)) return lower_fail(L, "range from %d to %lld is too long", start, (long long)largest);
    int32_t rows = (int32_t)count, one = 1, zero = 0, step = delta - 1;
    int values = kc_add_const(L->p, KILN_INT32, 1, &rows, NULL);
    if (values < 0) return false;
    for (int32_t i = 0; i < rows; i++) ((int32_t *)L->p->tensors[values].t.data)[i] = start + i * delta;
    /* count = max(0, (limit - start + delta - 1) floordiv delta), as an int32[1] */
    int c_start = kc_add_const(L->p, KILN_INT32, 0, NULL, &start), c_step = kc_add_const(L->p, KILN_INT32, 0, NULL, &step);
    int c_delta = kc_add_const(L->p, KILN_INT32, 0, NULL, &delta), c_zero = kc_add_const(L->p, KILN_INT32, 0, NULL, &zero);
    int c_begin = kc_add_const(L->p, KILN_INT32, 1, &one, &zero), id;
    if (c_start < 0 || c_step < 0 || c_delta < 0 || c_zero < 0 || c_begin < 0 ||
        !lower_binary(L, KN_BINARY_SUB, L->in[1], c_start, &id) || !lower_binary(L, KN_BINARY_ADD, id, c_step, &id) ||
        !lower_binary(L, KN_BINARY_FLOOR_DIV, id, c_delta, &id) || !lower_binary(L, KN_BINARY_MAX, id, c_zero, &id) ||
        !lower_reshape(L, id, 1, &one, &id))
        return false;
    int in[3] = {values, c_begin, id};
    return lower_emit(L, KN_OP_SLICE, in, 3, &(kn_slice_params){.begin = {0}}, sizeof(kn_slice_params), NULL);
}

static bool lower_range(kc_lower *L) {
    if (!lower_inputs(L, 3, 3)) return false;
    if (at_run_time(L, L->in[1]) && kc_is_const(L->p, L->in[0]) && kc_is_const(L->p, L->in[2])) return run_time_range(L);
    const kn_tensor *in[3];
    for (int i = 0; i < 3; i++) {
        in[i] = lower_tensor(L, L->in[i]);
        if (!kc_is_const(L->p, L->in[i]) || kn_tensor_count(in[i]) != 1 || in[i]->dtype != in[0]->dtype ||
            (in[i]->dtype != KILN_INT32 && in[i]->dtype != KILN_FLOAT32))
            return lower_fail(L, "start, limit and delta must be constant scalars of one type, int32 or float32");
    }
    const kiln_dtype dtype = in[0]->dtype;
    double start, limit, delta, count;
    if (dtype == KILN_FLOAT32) {
        float s = *(const float *)in[0]->data, l = *(const float *)in[1]->data, d = *(const float *)in[2]->data;
        start = s, limit = l, delta = d;
        count = ceilf(fabsf((l - s) / d));
    } else {
        int64_t s = *(const int32_t *)in[0]->data, l = *(const int32_t *)in[1]->data, d = *(const int32_t *)in[2]->data;
        start = (double)s, limit = (double)l, delta = (double)d;
        count = d ? (double)((llabs(l - s) + llabs(d) - 1) / llabs(d)) : 0;
    }
    if (delta == 0 || (delta > 0 ? start > limit : start < limit))
        return lower_fail(L, "cannot range from %g to %g by %g", start, limit, delta);
    if (!(count <= INT32_MAX)) return lower_fail(L, "range from %g to %g by %g is too long", start, limit, delta);
    int32_t n = (int32_t)count;
    int id = kc_add_const(L->p, dtype, 1, &n, NULL);
    if (id < 0) return false;
    void *data = L->p->tensors[id].t.data;
    if (dtype == KILN_FLOAT32) {
        float *v = data, val = (float)start;
        for (int32_t i = 0; i < n; i++, val += (float)delta) v[i] = val;
    } else { /* every value lies between start and limit */
        int32_t *v = data;
        for (int32_t i = 0; i < n; i++) v[i] = (int32_t)((int64_t)start + (int64_t)i * (int64_t)delta);
    }
    return set_output(L, id);
}

const struct kc_lowering kc_lowerings_layout[] = {
    {"Cast", lower_cast},
    {"StridedSlice", lower_strided_slice},
    {"Slice", lower_slice},
    {"Split", lower_split},
    {"SplitV", lower_split_v},
    {"Unpack", lower_unpack},
    {"Pack", lower_pack},
    {"Tile", lower_tile},
    {"Transpose", lower_transpose},
    {"BroadcastTo", lower_broadcast_to},
    {"DepthToSpace", lower_depth_to_space},
    {"SpaceToDepth", lower_space_to_depth},
    {"SpaceToBatchND", lower_space_to_batch},
    {"BatchToSpaceND", lower_batch_to_space},
    {"Fill", lower_fill},
    {"ZerosLike", lower_zeros_like},
    {"OnesLike", lower_ones_like},
    {"Size", lower_size_rank},
    {"Rank", lower_size_rank},
    {"Range", lower_range},
    {NULL, NULL},
};
