/* Lowering of the indexing and selection ops: GatherV2, Gather, GatherNd,
 * Select, SelectV2, ArgMax, ArgMin, TopKV2, TopK, SparseToDense, and OneHot
 * (built from EQUAL and SELECT). Axes are normalized here (TF counts
 * negative ones from the end); the kernels take them in [0, rank). */
#include <string.h>

#include "lower.h"

/* An integer attribute TF gives a default for: graphs saved by TF2 omit it. */
static bool int_attr_or(kc_lower *L, const char *name, int64_t def, int64_t *value) {
    if (!tf_node_attr(L->node, name)) {
        *value = def;
        return true;
    }
    return lower_attr_int(L, name, value);
}

/* A constant int32 scalar (or one-value vector) given as input `input`. */
static bool const_scalar(kc_lower *L, int input, const char *what, int32_t *value) {
    int n;
    if (!lower_const_ints(L, input, value, 1, &n)) return false;
    if (n != 1) return lower_fail(L, "%s (input %d) must be one value", what, input);
    return true;
}

/* `axis` in [-rank, rank) made non-negative. */
static bool normalize_axis(kc_lower *L, int32_t *axis, int rank, const kn_tensor *t) {
    if (*axis < -rank || *axis >= rank) return lower_fail(L, "axis %d is out of range for %s", *axis, kc_shape(t));
    if (*axis < 0) *axis += rank;
    return true;
}

/* GatherV2(params, indices, axis) with attr batch_dims; Gather(params,
 * indices) is the old axis-0 form (its validate_indices is ignored). */
static bool lower_gather(kc_lower *L) {
    bool v2 = strcmp(L->node->op, "GatherV2") == 0;
    if (!lower_inputs(L, v2 ? 3 : 2, v2 ? 3 : 2)) return false;
    const kn_tensor *x = lower_tensor(L, L->in[0]), *idx = lower_tensor(L, L->in[1]);
    int32_t axis = 0;
    int64_t batch_dims = 0;
    if (v2 && (!const_scalar(L, 2, "axis", &axis) || !int_attr_or(L, "batch_dims", 0, &batch_dims))) return false;
    if (!normalize_axis(L, &axis, x->rank, x)) return false;
    if (batch_dims < -idx->rank || batch_dims > idx->rank)
        return lower_fail(L, "batch_dims %lld is out of range for indices %s", (long long)batch_dims, kc_shape(idx));
    if (batch_dims < 0) batch_dims += idx->rank;
    kn_gather_params prm = {.axis = axis, .batch_dims = (int32_t)batch_dims};
    return lower_emit(L, KN_OP_GATHER, L->in, 2, &prm, sizeof prm, NULL);
}

static bool lower_gather_nd(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    kn_gather_nd_params prm = {.batch_dims = 0};
    return lower_emit(L, KN_OP_GATHER_ND, L->in, 2, &prm, sizeof prm, NULL);
}

/* Select(a > b, a, b) and its kin on int32 (a comparison of the two branches): the
 * BINARY_MIN or BINARY_MAX of them (-1 if not), which bounds sizes computed from data. */
static int select_as_min_max(kc_lower *L) {
    int k = L->p->tensors[L->in[0]].producer;
    const kc_step *c = k >= 0 ? &L->p->steps[k] : NULL;
    const kn_tensor *t = lower_tensor(L, L->in[1]), *e = lower_tensor(L, L->in[2]), *cond = lower_tensor(L, L->in[0]);
    if (!c || c->op != KN_OP_BINARY || c->n_in != 2 || t->dtype != KILN_INT32 || !kn_same_shape(t, e) ||
        t->rank != cond->rank || kn_tensor_count(t) != kn_tensor_count(cond))
        return -1;
    int kind = ((const kn_binary_params *)c->params)->kind, a = c->in[0], b = c->in[1];
    bool greater = kind == KN_BINARY_GREATER || kind == KN_BINARY_GREATER_EQUAL;
    if (!greater && kind != KN_BINARY_LESS && kind != KN_BINARY_LESS_EQUAL) return -1;
    bool a_first = L->in[1] == a && L->in[2] == b;
    if (!a_first && !(L->in[1] == b && L->in[2] == a)) return -1;
    return greater == a_first ? KN_BINARY_MAX : KN_BINARY_MIN; /* a > b ? a : b is the max */
}

/* SelectV2 broadcasts all three operands. TF1's Select also takes a vector
 * condition with higher-rank operands, picking whole rows: reshaped to
 * [n, 1, ...], that is the same broadcast. */
static bool lower_select(kc_lower *L) {
    if (!lower_inputs(L, 3, 3)) return false;
    int in[3] = {L->in[0], L->in[1], L->in[2]}, min_max = select_as_min_max(L);
    if (min_max >= 0) {
        L->n_out = 1;
        return lower_binary(L, min_max, in[1], in[2], &L->out[0]);
    }
    const kn_tensor *c = lower_tensor(L, in[0]), *t = lower_tensor(L, in[1]);
    if (strcmp(L->node->op, "Select") == 0 && c->rank == 1 && t->rank > 1) {
        if (c->dims[0] != t->dims[0])
            return lower_fail(L, "condition %s must have one value per row of %s", kc_shape(c), kc_shape(t));
        int32_t dims[KILN_MAX_RANK];
        dims[0] = c->dims[0];
        for (int d = 1; d < t->rank; d++) dims[d] = 1;
        if (!lower_reshape(L, in[0], t->rank, dims, &in[0])) return false;
    }
    kn_select_params prm = {0};
    return lower_emit(L, KN_OP_SELECT, in, 3, &prm, sizeof prm, NULL);
}

/* ArgMax/ArgMin(input, dimension); output_type int64 is int32 in Kiln. */
static bool lower_arg(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    const kn_tensor *x = lower_tensor(L, L->in[0]);
    int32_t axis;
    if (!const_scalar(L, 1, "dimension", &axis) || !normalize_axis(L, &axis, x->rank, x)) return false;
    const tf_attr *type = tf_node_attr(L->node, "output_type");
    if (type && (type->kind != TF_ATTR_TYPE || (type->type != TF_DT_INT32 && type->type != TF_DT_INT64)))
        return lower_fail(L, "output_type must be int32 or int64");
    kn_arg_params prm = {.kind = strcmp(L->node->op, "ArgMin") == 0 ? KN_ARG_MIN : KN_ARG_MAX, .axis = axis};
    return lower_emit(L, KN_OP_ARG, L->in, 1, &prm, sizeof prm, NULL);
}

/* TopKV2(input, k) and the old TopK with attr k: values and indices. The
 * result is always sorted, which `sorted = false` allows. A k computed at run
 * time (from a variable-size tensor's shape) is an operand. */
static bool lower_topk(kc_lower *L) {
    bool v2 = strcmp(L->node->op, "TopKV2") == 0;
    if (!lower_inputs(L, v2 ? 2 : 1, v2 ? 2 : 1)) return false;
    int32_t k;
    if (v2 && !kc_is_const(L->p, L->in[1]) && L->p->tensors[L->in[1]].shadow) {
        const kn_tensor *kt = lower_tensor(L, L->in[1]);
        if (kt->dtype != KILN_INT32 || kt->rank != 0) return lower_fail(L, "k must be an int32 scalar, got %s", kc_shape(kt));
        kn_topk_params prm = {.k = 0};
        if (!kc_emit(L->p, L->node->name, KN_OP_TOPK, L->in, 2, &prm, sizeof prm, 2, L->out)) return false;
        L->n_out = 2;
        return true;
    }
    if (v2) {
        if (!const_scalar(L, 1, "k", &k)) return false;
    } else {
        int64_t k64;
        if (!lower_attr_int(L, "k", &k64)) return false;
        if (k64 < 0 || k64 > INT32_MAX) return lower_fail(L, "k %lld is out of range", (long long)k64);
        k = (int32_t)k64;
    }
    kn_topk_params prm = {.k = k};
    if (!kc_emit(L->p, L->node->name, KN_OP_TOPK, L->in, 1, &prm, sizeof prm, 2, L->out)) return false;
    L->n_out = 2;
    return true;
}

/* SparseToDense(sparse_indices, output_shape, sparse_values, default_value);
 * validate_indices is ignored: out-of-range indices are skipped. */
static bool lower_sparse_to_dense(kc_lower *L) {
    if (!lower_inputs(L, 4, 4)) return false;
    kn_scatter_nd_params prm = {.rank = 0};
    if (!lower_const_ints(L, 1, prm.dims, KILN_MAX_RANK, &prm.rank)) return false;
    if (lower_tensor(L, L->in[1])->rank != 1) return lower_fail(L, "output_shape must be a vector");
    int in[3] = {L->in[0], L->in[2], L->in[3]};
    return lower_emit(L, KN_OP_SCATTER_ND, in, 3, &prm, sizeof prm, NULL);
}

/*
 * OneHot(indices, depth, on_value, off_value), attr axis (-1: last): the
 * output has a new dim of size depth at axis, on where the position along
 * it equals the index, off elsewhere (so indices outside [0, depth) give
 * all off). That is SELECT(EQUAL(indices with a 1 at axis, the positions
 * 0..depth-1 as int32[depth, 1, ...]), on, off) by broadcasting.
 */
static bool lower_one_hot(kc_lower *L) {
    if (!lower_inputs(L, 4, 4)) return false;
    int idx = L->in[0];
    const kn_tensor ti = *lower_tensor(L, idx); /* a copy: emitting steps may move the tensors */
    int32_t depth;
    int64_t axis;
    if (!const_scalar(L, 1, "depth", &depth) || !int_attr_or(L, "axis", -1, &axis)) return false;
    if (depth < 0) return lower_fail(L, "depth %d is negative", depth);
    int rank = ti.rank + 1;
    if (rank > KILN_MAX_RANK)
        return lower_fail(L, "indices %s: the output would have rank above %d", kc_shape(&ti), KILN_MAX_RANK);
    if (axis < -1 || axis > ti.rank)
        return lower_fail(L, "axis %lld must be -1 or in [0, %d]", (long long)axis, ti.rank);
    if (axis == -1) axis = ti.rank;
    if (lower_tensor(L, L->in[2])->rank != 0 || lower_tensor(L, L->in[3])->rank != 0)
        return lower_fail(L, "on_value and off_value must be scalars");
    if (ti.dtype != KILN_INT32) { /* uint8 indices: compare as int32, so depth may exceed 255 */
        kn_cast_params cast = {.dtype = KILN_INT32};
        if (!lower_emit(L, KN_OP_CAST, &idx, 1, &cast, sizeof cast, &idx)) return false;
    }
    int32_t dims[KILN_MAX_RANK];
    for (int d = 0, j = 0; d < rank; d++) dims[d] = d == axis ? 1 : ti.dims[j++];
    if (!lower_reshape(L, idx, rank, dims, &idx)) return false;
    int pos_rank = rank - (int)axis;
    dims[0] = depth;
    for (int d = 1; d < pos_rank; d++) dims[d] = 1;
    int pos = kc_add_const(L->p, KILN_INT32, pos_rank, dims, NULL);
    if (pos < 0) return false;
    int32_t *v = L->p->tensors[pos].t.data;
    for (int32_t i = 0; i < depth; i++) v[i] = i;
    int sel[3] = {-1, L->in[2], L->in[3]};
    if (!lower_binary(L, KN_BINARY_EQUAL, idx, pos, &sel[0])) return false;
    kn_select_params prm = {0};
    return lower_emit(L, KN_OP_SELECT, sel, 3, &prm, sizeof prm, NULL);
}

const struct kc_lowering kc_lowerings_index[] = {
    {"GatherV2", lower_gather},
    {"Gather", lower_gather},
    {"GatherNd", lower_gather_nd},
    {"Select", lower_select},
    {"SelectV2", lower_select},
    {"ArgMax", lower_arg},
    {"ArgMin", lower_arg},
    {"TopKV2", lower_topk},
    {"TopK", lower_topk},
    {"SparseToDense", lower_sparse_to_dense},
    {"OneHot", lower_one_hot},
    {NULL, NULL},
};
