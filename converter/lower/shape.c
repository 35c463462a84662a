/* Lowering of constants, identities and shape/layout ops. */
#include <stdlib.h>
#include <string.h>

#include "lower.h"

/* Identity and friends: the output is the input, no step. */
static bool lower_identity(kc_lower *L) {
    if (!lower_inputs(L, 1, KC_MAX_NODE_OUTPUTS)) return false;
    if (strcmp(L->node->op, "IdentityN") != 0 && L->n_in != 1) return lower_fail(L, "expected 1 input");
    memcpy(L->out, L->in, sizeof(int) * (size_t)L->n_in);
    L->n_out = L->n_in;
    return true;
}

static int kiln_dtype_of(int tf_dtype) {
    switch (tf_dtype) {
    case TF_DT_FLOAT: return KILN_FLOAT32;
    case TF_DT_INT32: case TF_DT_INT64: return KILN_INT32;
    case TF_DT_UINT8: return KILN_UINT8;
    case TF_DT_QUINT8: case TF_DT_QINT8: return KILN_UINT8; /* raw bytes, for Dequantize (attr T says which) */
    case TF_DT_BOOL: return KILN_BOOL;
    default: return 0;
    }
}

static bool lower_const(kc_lower *L) {
    const tf_attr *v = tf_node_attr(L->node, "value");
    if (!v || v->kind != TF_ATTR_TENSOR || !v->tensor) return lower_fail(L, "has no 'value' tensor");
    const tf_tensor *t = v->tensor;
    int dtype = kiln_dtype_of(t->dtype);
    if (!dtype) return lower_fail(L, "constants of type %s are not supported", tf_dtype_name(t->dtype) ? tf_dtype_name(t->dtype) : "unknown");
    if (t->shape.unknown_rank || t->shape.rank > KILN_MAX_RANK) return lower_fail(L, "constant has rank above %d", KILN_MAX_RANK);
    int64_t count = tf_shape_count(&t->shape);
    if (count < 0 || count > (int64_t)1 << 31 || !t->data) return lower_fail(L, "constant has no data or an unknown shape");
    int32_t dims[KILN_MAX_RANK];
    for (int i = 0; i < t->shape.rank; i++) dims[i] = (int32_t)t->shape.dims[i];
    int id;
    if (t->dtype == TF_DT_INT64) {
        /* Kiln computes shapes and indices in int32; int64 constants are narrowed when they fit. */
        id = kc_add_const(L->p, KILN_INT32, t->shape.rank, dims, NULL);
        if (id < 0) return false;
        const int64_t *src = t->data;
        int32_t *dst = L->p->tensors[id].t.data;
        for (int64_t i = 0; i < count; i++) {
            if (src[i] < INT32_MIN || src[i] > INT32_MAX) return lower_fail(L, "int64 value %lld does not fit in int32", (long long)src[i]);
            dst[i] = (int32_t)src[i];
        }
    } else {
        id = kc_add_const(L->p, dtype, t->shape.rank, dims, t->data);
        if (id < 0) return false;
    }
    L->out[0] = id;
    L->n_out = 1;
    return true;
}

static bool lower_reshape_op(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    const kn_tensor *x = lower_tensor(L, L->in[0]);
    int32_t dims[KILN_MAX_RANK];
    int rank, infer_at = -1;
    if (!lower_const_ints(L, 1, dims, KILN_MAX_RANK, &rank)) return false;
    size_t known = 1, total = kn_tensor_count(x);
    for (int i = 0; i < rank; i++) {
        if (dims[i] == -1 && infer_at < 0) infer_at = i;
        else if (dims[i] < 0) return lower_fail(L, "shape has an invalid dimension %d", dims[i]);
        else known *= (size_t)dims[i];
    }
    if (infer_at >= 0) {
        if (known == 0 || total % known) return lower_fail(L, "cannot reshape %s: -1 in the shape does not divide", kc_shape(x));
        dims[infer_at] = (int32_t)(total / known);
    }
    return lower_reshape(L, L->in[0], rank, dims, NULL);
}

static bool lower_squeeze(kc_lower *L) {
    if (!lower_inputs(L, 1, 1)) return false;
    const kn_tensor *x = lower_tensor(L, L->in[0]);
    const int64_t *axes;
    size_t n_axes;
    if (!lower_attr_ints(L, "squeeze_dims", &axes, &n_axes)) return false;
    bool drop[KILN_MAX_RANK] = {false};
    for (size_t i = 0; i < n_axes; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + x->rank : axes[i];
        if (a < 0 || a >= x->rank || x->dims[a] != 1) return lower_fail(L, "cannot squeeze axis %lld of %s", (long long)axes[i], kc_shape(x));
        drop[a] = true;
    }
    int32_t dims[KILN_MAX_RANK];
    int rank = 0;
    for (int i = 0; i < x->rank; i++)
        if (!(n_axes ? drop[i] : x->dims[i] == 1)) dims[rank++] = x->dims[i];
    return lower_reshape(L, L->in[0], rank, dims, NULL);
}

static bool lower_expand_dims(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    const kn_tensor *x = lower_tensor(L, L->in[0]);
    int32_t axis;
    int n;
    if (!lower_const_ints(L, 1, &axis, 1, &n)) return false;
    if (n != 1) return lower_fail(L, "axis must be one value");
    if (axis < 0) axis += x->rank + 1;
    if (axis < 0 || axis > x->rank || x->rank >= KILN_MAX_RANK) return lower_fail(L, "axis out of range for %s", kc_shape(x));
    int32_t dims[KILN_MAX_RANK];
    for (int i = 0, j = 0; i <= x->rank; i++) dims[i] = i == axis ? 1 : x->dims[j++];
    return lower_reshape(L, L->in[0], x->rank + 1, dims, NULL);
}

/* The FILL step (dims computed at run time) that made tensor id, or NULL. */
static const kc_step *run_time_fill(kc_lower *L, int id) {
    int k = L->p->tensors[id].producer;
    const kc_step *s = k >= 0 ? &L->p->steps[k] : NULL;
    return s && s->op == KN_OP_FILL && s->n_in == 2 ? s : NULL;
}

/*
 * x joined along `axis` with a FILL of dims D computed at run time (the padding of
 * a variable-size tensor to a fixed size, as TF's NMS pad_to_max_output_size does):
 * a PAD of x by D[axis] on that side, with paddings built at run time. Planned
 * as one, the concatenation keeps its fixed size; the FILL's own size shrinks as
 * x grows, so the FILL cannot be planned at its largest from the shadow.
 */
static bool concat_as_pad(kc_lower *L, int x, const kc_step *fill, int axis, bool fill_first) {
    const kn_tensor *t = lower_tensor(L, x);
    const kn_fill_params *f = (const kn_fill_params *)fill->params;
    if (f->dtype != (int32_t)t->dtype || f->rank != t->rank)
        return lower_fail(L, "joins %s with a fill of rank %d and dtype %d", kc_shape(t), f->rank, f->dtype);
    if (!kc_is_const(L->p, fill->in[0])) return lower_fail(L, "joins a fill of a value known only at run time");
    /* Adding tensors and steps below moves both arrays: keep what is needed of t and fill. */
    int rank = t->rank, dims = fill->in[1];
    kn_pad_params prm = {.mode = KN_PAD_CONSTANT};
    memcpy(&prm.value_bits, lower_tensor(L, fill->in[0])->data, kiln_dtype_size(t->dtype));
    int32_t pick[KILN_MAX_RANK] = {0}, column[2] = {rank, 1};
    pick[axis] = 1;
    kn_pad_params side = {.mode = KN_PAD_CONSTANT};
    side.before[1] = fill_first ? 0 : 1; /* the amount goes to column 0 (before) or 1 (after) */
    side.after[1] = fill_first ? 1 : 0;
    int onehot = kc_add_const(L->p, KILN_INT32, 1, &rank, pick), amount, pads;
    if (onehot < 0 || !lower_binary(L, KN_BINARY_MUL, dims, onehot, &amount) ||
        !lower_reshape(L, amount, 2, column, &amount) ||
        !lower_emit(L, KN_OP_PAD, &amount, 1, &side, sizeof side, &pads))
        return false;
    int in[2] = {x, pads};
    return lower_emit(L, KN_OP_PAD, in, 2, &prm, sizeof prm, NULL);
}

static bool lower_concat(kc_lower *L) {
    if (!lower_inputs(L, 2, 256)) return false;
    int32_t axis;
    int n;
    if (!lower_const_ints(L, L->n_in - 1, &axis, 1, &n)) return false;
    int rank = lower_tensor(L, L->in[0])->rank;
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return lower_fail(L, "axis out of range for rank %d", rank);
    if (L->n_in == 3) {
        const kc_step *first = run_time_fill(L, L->in[0]), *second = run_time_fill(L, L->in[1]);
        if (!first != !second) return concat_as_pad(L, L->in[first ? 1 : 0], first ? first : second, axis, first);
    }
    kn_concat_params prm = {.axis = axis};
    return lower_emit(L, KN_OP_CONCAT, L->in, L->n_in - 1, &prm, sizeof prm, NULL);
}

static bool lower_pad(kc_lower *L) {
    bool v2 = strcmp(L->node->op, "PadV2") == 0, mirror = strcmp(L->node->op, "MirrorPad") == 0;
    if (!lower_inputs(L, v2 ? 3 : 2, v2 ? 3 : 2)) return false;
    const kn_tensor *x = lower_tensor(L, L->in[0]), *pads = lower_tensor(L, L->in[1]);
    /* Paddings computed at run time (from a variable-size tensor's shape) are an operand. */
    bool at_run_time = !kc_is_const(L->p, L->in[1]) && L->p->tensors[L->in[1]].shadow;
    if ((!kc_is_const(L->p, L->in[1]) && !at_run_time) || pads->dtype != KILN_INT32 || pads->rank != 2 ||
        pads->dims[0] != x->rank || pads->dims[1] != 2)
        return lower_fail(L, "paddings must be an int32[%d,2] known at convert time, got %s", x->rank, kc_shape(pads));
    kn_pad_params prm = {.mode = KN_PAD_CONSTANT};
    for (int i = 0; i < x->rank && !at_run_time; i++) {
        prm.before[i] = ((const int32_t *)pads->data)[2 * i];
        prm.after[i] = ((const int32_t *)pads->data)[2 * i + 1];
    }
    if (mirror) {
        const char *mode;
        if (!lower_attr_string(L, "mode", &mode)) return false;
        if (strcmp(mode, "REFLECT") == 0) prm.mode = KN_PAD_REFLECT;
        else if (strcmp(mode, "SYMMETRIC") == 0) prm.mode = KN_PAD_SYMMETRIC;
        else return lower_fail(L, "mode '%s' is not REFLECT or SYMMETRIC", mode);
    }
    if (v2) {
        const kn_tensor *v = lower_tensor(L, L->in[2]);
        if (!kc_is_const(L->p, L->in[2]) || kn_tensor_count(v) != 1 || v->dtype != x->dtype || kiln_dtype_size(v->dtype) != 4)
            return lower_fail(L, "constant_values must be a constant scalar of the input's dtype");
        memcpy(&prm.value_bits, v->data, 4);
    }
    if (at_run_time && mirror) return lower_fail(L, "mirror padding by amounts known only at run time");
    return lower_emit(L, KN_OP_PAD, L->in, at_run_time ? 2 : 1, &prm, sizeof prm, NULL);
}

/* Static shapes make Shape a constant; a variable-size tensor's Shape runs, with
 * its largest shape as shadow (to plan what depends on it). */
static bool lower_shape(kc_lower *L) {
    if (!lower_inputs(L, 1, 1)) return false;
    const kn_tensor *x = lower_tensor(L, L->in[0]);
    int32_t rank = x->rank;
    int32_t dims[KILN_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    L->n_out = 1;
    if (!L->p->tensors[L->in[0]].dynamic) {
        L->out[0] = kc_add_const(L->p, KILN_INT32, 1, &rank, dims);
        return L->out[0] >= 0;
    }
    kn_shape_params prm = {0};
    void *shadow = malloc(sizeof dims);
    if (!shadow || !lower_emit(L, KN_OP_SHAPE, L->in, 1, &prm, sizeof prm, NULL)) {
        free(shadow);
        return shadow ? false : lower_fail(L, "out of memory");
    }
    memcpy(shadow, dims, sizeof dims);
    L->p->tensors[L->out[0]].shadow = shadow;
    return true;
}

const struct kc_lowering kc_lowerings_shape[] = {
    {"Identity", lower_identity},   {"IdentityN", lower_identity}, {"StopGradient", lower_identity},
    {"Snapshot", lower_identity},   {"PreventGradient", lower_identity},
    {"Const", lower_const},
    {"Reshape", lower_reshape_op},  {"Squeeze", lower_squeeze},    {"ExpandDims", lower_expand_dims},
    {"ConcatV2", lower_concat},
    {"Pad", lower_pad},             {"PadV2", lower_pad},          {"MirrorPad", lower_pad},
    {"Shape", lower_shape},
    {NULL, NULL},
};
