/*
 * TensorArrays (TF1) and TensorLists (TF2): a buffer [size, element...] in
 * the arena, made by a FILL step. The TensorArray handle and a TensorList
 * value are that buffer's tensor; writes are SET_ROWS steps updating it in
 * place, reads are GATHERs along axis 0. A TensorArray's "flow" (which only
 * orders its reads after its writes, as does Kiln's sequential plan) is a
 * constant.
 */
#include <string.h>

#include "lower.h"

/* A fresh zeroed buffer [rows, element...]. */
static int new_buffer(kc_lower *L, kiln_dtype dtype, int32_t rows, const int32_t *element, int rank) {
    if (rank + 1 > KILN_MAX_RANK) {
        lower_fail(L, "element rank %d is too high", rank);
        return -1;
    }
    kn_fill_params f = {.dtype = dtype, .rank = rank + 1};
    f.dims[0] = rows;
    memcpy(f.dims + 1, element, sizeof(int32_t) * (size_t)rank);
    int id = kc_add_tensor(L->p, dtype, f.rank, f.dims);
    if (id < 0 || !kc_emit_into(L->p, L->node->name, KN_OP_FILL, NULL, 0, &f, sizeof f, 1, &id)) return -1;
    return id;
}

static int flow_constant(kc_lower *L) {
    float zero = 0;
    return kc_add_const(L->p, KILN_FLOAT32, 0, NULL, &zero);
}

static kiln_dtype dtype_attr(kc_lower *L, const char *name) {
    const tf_attr *a = tf_node_attr(L->node, name);
    if (a && a->kind == TF_ATTR_TYPE) {
        switch (a->type) {
        case TF_DT_FLOAT: return KILN_FLOAT32;
        case TF_DT_INT32: case TF_DT_INT64: return KILN_INT32;
        case TF_DT_UINT8: return KILN_UINT8;
        case TF_DT_BOOL: return KILN_BOOL;
        }
    }
    lower_fail(L, "attribute '%s' is missing or not float32, int32, uint8 or bool", name);
    return (kiln_dtype)0;
}

/* A fully known shape attribute into dims; false if absent or partly unknown. */
static bool known_shape(const tf_attr *a, int32_t *dims, int *rank) {
    if (!a || a->kind != TF_ATTR_SHAPE || a->shape.unknown_rank || a->shape.rank > KILN_MAX_RANK - 1) return false;
    for (int d = 0; d < a->shape.rank; d++) {
        if (a->shape.dims[d] < 0 || a->shape.dims[d] > INT32_MAX) return false;
        dims[d] = (int32_t)a->shape.dims[d];
    }
    *rank = a->shape.rank;
    return true;
}

/* TensorArrayV3(size[, value]): the element shape comes from the attribute, or
 * (see kc_prepare_arrays) from a value scattered into it, given as input 1. */
static bool lower_tensor_array(kc_lower *L) {
    if (!lower_inputs(L, 1, 2)) return false;
    bool dynamic = false;
    const tf_attr *ds = tf_node_attr(L->node, "dynamic_size");
    if (ds && ds->kind == TF_ATTR_B) dynamic = ds->b;
    int32_t size, element[KILN_MAX_RANK];
    int n, rank;
    kiln_dtype dtype = dtype_attr(L, "dtype");
    if (!dtype || !lower_const_ints(L, 0, &size, 1, &n)) return false;
    if (dynamic || n != 1 || size < 0) return lower_fail(L, "only TensorArrays of a fixed, known size are supported");
    if (L->n_in == 2) {
        const kn_tensor *v = lower_tensor(L, L->in[1]);
        rank = v->rank - 1;
        if (rank < 0) return lower_fail(L, "the value scattered into it is a scalar");
        memcpy(element, v->dims + 1, sizeof(int32_t) * (size_t)rank);
    } else if (!known_shape(tf_node_attr(L->node, "element_shape"), element, &rank)) {
        return lower_fail(L, "its element shape is unknown (no element_shape, and no Gather or Scatter says it)");
    }
    int ids[2] = {new_buffer(L, dtype, size, element, rank), flow_constant(L)};
    memcpy(L->out, ids, sizeof ids);
    L->n_out = 2;
    return ids[0] >= 0 && ids[1] >= 0;
}

/* Write(handle, index, value, flow) and Scatter(handle, indices, value, flow). */
static bool lower_set_rows(kc_lower *L) {
    if (!lower_inputs(L, 4, 4)) return false;
    kn_set_rows_params prm = {0};
    int buffer = L->in[0];
    if (kc_is_const(L->p, buffer)) return lower_fail(L, "writes into a constant");
    L->out[0] = flow_constant(L);
    L->n_out = 1;
    return L->out[0] >= 0 && kc_emit_into(L->p, L->node->name, KN_OP_SET_ROWS, L->in, 3, &prm, sizeof prm, 1, &buffer);
}

/* Read(handle, index, flow), Gather(handle, indices, flow), TensorListGetItem(list, index, shape). */
static bool lower_read(kc_lower *L) {
    if (!lower_inputs(L, 3, 3)) return false;
    kn_gather_params prm = {.axis = 0, .batch_dims = 0};
    int in[2] = {L->in[0], L->in[1]};
    return lower_emit(L, KN_OP_GATHER, in, 2, &prm, sizeof prm, NULL);
}

/* Size(handle, flow) and TensorListLength(list): the buffer's row count. */
static bool lower_size(kc_lower *L) {
    if (!lower_inputs(L, 1, 2)) return false;
    int32_t rows = lower_tensor(L, L->in[0])->dims[0];
    L->out[0] = kc_add_const(L->p, KILN_INT32, 0, NULL, &rows);
    L->n_out = 1;
    return L->out[0] >= 0;
}

/* TensorListReserve(element_shape, num_elements). */
static bool lower_list_reserve(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    int32_t element[KILN_MAX_RANK], rows;
    int rank, n;
    kiln_dtype dtype = dtype_attr(L, "element_dtype");
    if (!dtype || !lower_const_ints(L, 0, element, KILN_MAX_RANK - 1, &rank) || !lower_const_ints(L, 1, &rows, 1, &n))
        return false;
    if (lower_tensor(L, L->in[0])->rank == 0 || n != 1 || rows < 0)
        return lower_fail(L, "element shape and size must be known");
    for (int d = 0; d < rank; d++)
        if (element[d] < 0) return lower_fail(L, "element shape dimension %d is unknown", d);
    L->out[0] = new_buffer(L, dtype, rows, element, rank);
    L->n_out = 1;
    return L->out[0] >= 0;
}

/* TensorListSetItem(list, index, item): in place; the list is its output. */
static bool lower_list_set(kc_lower *L) {
    if (!lower_inputs(L, 3, 3)) return false;
    kn_set_rows_params prm = {0};
    int buffer = L->in[0];
    if (kc_is_const(L->p, buffer)) return lower_fail(L, "writes into a constant list");
    L->out[0] = buffer;
    L->n_out = 1;
    return kc_emit_into(L->p, L->node->name, KN_OP_SET_ROWS, L->in, 3, &prm, sizeof prm, 1, &buffer);
}

/* TensorListFromTensor(tensor, element_shape): the rows of a copy, which may be written later. */
static bool lower_list_from_tensor(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    const kn_tensor *t = lower_tensor(L, L->in[0]);
    if (t->rank < 1) return lower_fail(L, "a list needs a tensor of rank >= 1");
    kn_reshape_params prm = {.rank = t->rank};
    memcpy(prm.dims, t->dims, sizeof prm.dims);
    int id = kc_add_tensor(L->p, t->dtype, t->rank, t->dims);
    L->out[0] = id;
    L->n_out = 1;
    return id >= 0 && kc_emit_into(L->p, L->node->name, KN_OP_RESHAPE, L->in, 1, &prm, sizeof prm, 1, &id);
}

/* TensorListStack(list, element_shape): the buffer is already the stacked tensor. */
static bool lower_list_stack(kc_lower *L) {
    if (!lower_inputs(L, 2, 2)) return false;
    L->out[0] = L->in[0];
    L->n_out = 1;
    return true;
}

const struct kc_lowering kc_lowerings_arrays[] = {
    {"TensorArrayV3", lower_tensor_array},
    {"TensorArrayWriteV3", lower_set_rows},
    {"TensorArrayScatterV3", lower_set_rows},
    {"TensorArrayReadV3", lower_read},
    {"TensorArrayGatherV3", lower_read},
    {"TensorArraySizeV3", lower_size},
    {"TensorListReserve", lower_list_reserve},
    {"TensorListSetItem", lower_list_set},
    {"TensorListGetItem", lower_read},
    {"TensorListFromTensor", lower_list_from_tensor},
    {"TensorListStack", lower_list_stack},
    {"TensorListLength", lower_size},
    {NULL, NULL},
};

static const tf_node *node_named(const tf_graph *g, const char *input) {
    size_t n = strcspn(input, ":");
    for (int k = 0; k < g->n_nodes; k++)
        if (strncmp(g->nodes[k].name, input, n) == 0 && g->nodes[k].name[n] == '\0') return &g->nodes[k];
    return NULL;
}

/* The node a handle or list input comes from, looking through the nodes that pass a
 * value along: Identity, and a loop's Enter, Merge (its start), Switch and Exit. */
static const tf_node *source_of(const tf_graph *g, const char *input) {
    static const char *const passing[] = {"Enter", "Identity", "Merge", "Switch", "Exit"};
    for (int hops = 0; hops < 64; hops++) {
        const tf_node *found = node_named(g, input);
        bool passes = false;
        for (size_t i = 0; found && i < sizeof passing / sizeof passing[0]; i++)
            passes = passes || strcmp(found->op, passing[i]) == 0;
        if (!passes || !found->n_inputs) return found;
        input = found->inputs[0];
    }
    return NULL;
}

/* The values of a Const int vector, all >= 0, into dims; false otherwise. */
static bool known_dims(const tf_graph *g, const char *input, int32_t *dims, int *rank) {
    const tf_node *n = node_named(g, input);
    const tf_attr *v = n && strcmp(n->op, "Const") == 0 ? tf_node_attr(n, "value") : NULL;
    const tf_tensor *t = v && v->kind == TF_ATTR_TENSOR ? v->tensor : NULL;
    if (!t || !t->data || t->shape.rank != 1 || t->shape.dims[0] > KILN_MAX_RANK - 1 ||
        (t->dtype != TF_DT_INT32 && t->dtype != TF_DT_INT64))
        return false;
    *rank = (int)t->shape.dims[0];
    for (int d = 0; d < *rank; d++) {
        int64_t x = t->dtype == TF_DT_INT32 ? ((const int32_t *)t->data)[d] : ((const int64_t *)t->data)[d];
        if (x < 0 || x > INT32_MAX) return false;
        dims[d] = (int32_t)x;
    }
    return true;
}

/* A TensorListReserve of unknown element shape takes the shape its TensorListStack or
 * TensorListGetItem declares (a constant), found through the loop that fills it. */
static void list_shape_from_readers(tf_graph *g, tf_node *reserve) {
    int32_t dims[KILN_MAX_RANK];
    int rank;
    if (reserve->n_inputs < 2 || known_dims(g, reserve->inputs[0], dims, &rank)) return;
    for (int k = 0; k < g->n_nodes; k++) {
        tf_node *use = &g->nodes[k];
        bool reads = strcmp(use->op, "TensorListStack") == 0 || strcmp(use->op, "TensorListGetItem") == 0;
        if (!reads || use->n_inputs < 2 || source_of(g, use->inputs[0]) != reserve) continue;
        const char *shape = use->inputs[use->n_inputs - 1]; /* element_shape is the last data input */
        if (known_dims(g, shape, dims, &rank)) {
            reserve->inputs[0] = shape;
            return;
        }
    }
}

bool kc_prepare_arrays(tf_graph *g) {
    for (int t = 0; t < g->n_nodes; t++) {
        tf_node *ta = &g->nodes[t];
        int32_t dims[KILN_MAX_RANK];
        int rank;
        if (strcmp(ta->op, "TensorListReserve") == 0) list_shape_from_readers(g, ta);
        if (strcmp(ta->op, "TensorArrayV3") != 0 || known_shape(tf_node_attr(ta, "element_shape"), dims, &rank))
            continue;
        const char *scattered = NULL;
        for (int k = 0; k < g->n_nodes; k++) {
            tf_node *use = &g->nodes[k];
            bool gather = strcmp(use->op, "TensorArrayGatherV3") == 0, scatter = strcmp(use->op, "TensorArrayScatterV3") == 0;
            if ((!gather && !scatter) || use->n_inputs < 3 || source_of(g, use->inputs[0]) != ta) continue;
            const tf_attr *shape = tf_node_attr(use, "element_shape");
            if (gather && known_shape(shape, dims, &rank)) {
                tf_attr *a = (tf_attr *)tf_node_attr(ta, "element_shape");
                if (!a && !(a = tf_node_add_attr(g, ta, "element_shape"))) return false;
                a->kind = TF_ATTR_SHAPE;
                a->shape = shape->shape;
                scattered = NULL;
                break;
            }
            if (scatter) scattered = use->inputs[2];
        }
        if (!scattered) continue;
        /* The scattered value becomes an input: it is lowered first and gives the shape. */
        const char **inputs = tf_alloc(g, sizeof(char *) * (size_t)(ta->n_inputs + 1));
        if (!inputs) return false;
        memcpy(inputs, ta->inputs, sizeof(char *) * (size_t)ta->n_inputs);
        inputs[ta->n_inputs] = scattered;
        ta->inputs = inputs;
        ta->n_inputs++;
    }
    return true;
}
