#define _POSIX_C_SOURCE 200809L

#include "read_pb.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "files.h"
#include "graph.pb-c.h"

/* tensor_content holds little-endian elements, copied as they are. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "read_pb.c assumes a little-endian host"
#endif

#define MAX_PB_BYTES 0x7fffffff /* protobuf's 2 GiB message limit */
#define MAX_ELEMENTS ((int64_t)1 << 31)
#define MAX_TENSOR_BYTES ((uint64_t)1 << 31) /* typed values repeat, so the file size does not bound this */
#define MAX_DEPTH 64

static bool oom(void) {
    kc_error("out of memory");
    return false;
}

/* n elements of size bytes from the pool; NULL on overflow or OOM. */
static void *alloc_array(tf_graph *g, size_t n, size_t size) {
    return n > SIZE_MAX / size ? NULL : tf_alloc(g, n * size);
}

/* ---- Wire-format scan -------------------------------------------------------
 * protobuf-c says nothing about why unpacking failed, and it recurses without
 * limit (AttrValue -> ListValue -> NameAttrList -> AttrValue ...). So the
 * framing is checked first, following the message fields the .proto files
 * declare: this finds the first malformed field and bounds the nesting. */

typedef enum { M_NONE, M_LEAF, M_GRAPH, M_NODE, M_ATTR_ENTRY, M_ATTR, M_LIST, M_FUNC, M_TENSOR, M_SHAPE } msg_kind;

/* The kind of message in field `field` of a message of kind m (M_NONE: not a message). */
static msg_kind submessage(msg_kind m, uint64_t field) {
    switch (m) {
    case M_GRAPH: return field == 1 ? M_NODE : field == 4 ? M_LEAF : M_NONE;
    case M_NODE: return field == 5 ? M_ATTR_ENTRY : M_NONE;
    case M_ATTR_ENTRY: return field == 2 ? M_ATTR : M_NONE;
    case M_ATTR:
        return field == 1 ? M_LIST : field == 7 ? M_SHAPE : field == 8 ? M_TENSOR : field == 10 ? M_FUNC : M_NONE;
    case M_LIST: return field == 7 ? M_SHAPE : field == 8 ? M_TENSOR : field == 9 ? M_FUNC : M_NONE;
    case M_FUNC: return field == 2 ? M_ATTR_ENTRY : M_NONE;
    case M_TENSOR: return field == 2 ? M_SHAPE : field == 14 ? M_LEAF : M_NONE;
    case M_SHAPE: return field == 2 ? M_LEAF : M_NONE;
    default: return M_NONE;
    }
}

typedef struct scan_error {
    size_t at;
    char why[96];
    size_t nodes; /* GraphDef nodes seen so far */
} scan_error;

static bool scan_fail(scan_error *err, size_t at, const char *fmt, ...) KC_PRINTF(3, 4);
static bool scan_fail(scan_error *err, size_t at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->why, sizeof err->why, fmt, ap);
    va_end(ap);
    err->at = at;
    return false;
}

/* Checks the fields of a message of kind m in d[pos, end). */
static bool scan(const uint8_t *d, size_t pos, size_t end, msg_kind m, int depth, scan_error *err) {
    while (pos < end) {
        size_t at = pos;
        uint64_t tag, len;
        if (!tf_read_varint(d, &pos, end, &tag) || tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
            return scan_fail(err, at, "bad field tag");
        unsigned long long field = tag >> 3;
        unsigned wire = tag & 7;
        msg_kind sub = submessage(m, field);
        if (m == M_GRAPH && field == 1 && ++err->nodes > TF_MAX_NODES) /* before protobuf-c allocates them all */
            return scan_fail(err, at, "more than %d nodes", TF_MAX_NODES);
        if (sub != M_NONE && wire != 2)
            return scan_fail(err, at, "field %llu has wire type %u, not a message", field, wire);
        switch (wire) {
        case 0:
            if (!tf_read_varint(d, &pos, end, &len)) return scan_fail(err, at, "field %llu: bad varint", field);
            break;
        case 1:
        case 5:
            len = wire == 1 ? 8 : 4;
            if (len > end - pos) return scan_fail(err, at, "field %llu runs past the end of its message", field);
            pos += len;
            break;
        case 2:
            if (!tf_read_varint(d, &pos, end, &len) || len > end - pos)
                return scan_fail(err, at, "field %llu runs past the end of its message", field);
            if (sub != M_NONE) {
                if (depth == MAX_DEPTH) return scan_fail(err, at, "messages nested deeper than %d", MAX_DEPTH);
                if (!scan(d, pos, pos + len, sub, depth + 1, err)) return false;
            }
            pos += len;
            break;
        default: return scan_fail(err, at, "field %llu has invalid wire type %u", field, wire);
        }
    }
    return true;
}

/* ---- Shapes and tensors ------------------------------------------------------- */

/* "float32[3,3,3,32]", for messages. */
static void describe(char *buf, size_t cap, int dtype, const tf_shape *s) {
    const char *name = tf_dtype_name(dtype);
    size_t n;
    if (dtype == TF_DT_FLOAT || dtype == TF_DT_DOUBLE || dtype == TF_DT_HALF)
        n = (size_t)snprintf(buf, cap, "float%d", dtype == TF_DT_FLOAT ? 32 : dtype == TF_DT_DOUBLE ? 64 : 16);
    else if (name) /* "DT_INT32" -> "int32" */
        for (n = 0, name += 3; *name && n + 1 < cap; name++) buf[n++] = (char)tolower((unsigned char)*name);
    else
        n = (size_t)snprintf(buf, cap, "dtype(%d)", dtype);
    for (int i = 0; i < s->rank && n < cap; i++) {
        n += (size_t)snprintf(buf + n, cap - n, i ? "," : "[");
        if (n < cap) n += (size_t)(s->dims[i] < 0 ? snprintf(buf + n, cap - n, "?")
                                                 : snprintf(buf + n, cap - n, "%lld", (long long)s->dims[i]));
    }
    if (n < cap) snprintf(buf + n, cap - n, "%s", s->unknown_rank ? "[unknown rank]" : s->rank ? "]" : "[]");
}

/* A TensorShapeProto (NULL: a scalar) as a tf_shape; dims may be -1 (unknown). */
static bool convert_shape(const Tensorflow__TensorShapeProto *sp, tf_shape *s) {
    memset(s, 0, sizeof *s);
    if (!sp) return true;
    if (sp->unknown_rank) {
        s->unknown_rank = true;
        return true;
    }
    if (sp->n_dim > TF_MAX_RANK) {
        kc_error("shape has rank %zu, over the limit of %d", sp->n_dim, TF_MAX_RANK);
        return false;
    }
    s->rank = (int)sp->n_dim;
    for (int i = 0; i < s->rank; i++) {
        s->dims[i] = sp->dim[i]->size;
        if (s->dims[i] < -1) {
            kc_error("shape dimension %d is %lld", i, (long long)s->dims[i]);
            return false;
        }
    }
    return true;
}

/* Number of values in the typed field TF uses for dtype. */
static size_t typed_count(const Tensorflow__TensorProto *tp, int dtype) {
    switch (dtype) {
    case TF_DT_FLOAT: return tp->n_float_val;
    case TF_DT_DOUBLE: return tp->n_double_val;
    case TF_DT_INT64: return tp->n_int64_val;
    case TF_DT_BOOL: return tp->n_bool_val;
    case TF_DT_HALF: return tp->n_half_val;
    case TF_DT_UINT32: return tp->n_uint32_val;
    case TF_DT_UINT64: return tp->n_uint64_val;
    default: return tp->n_int_val; /* the 8, 16 and 32-bit integer types */
    }
}

/* Fills count elements from the typed field. As in TF, a field shorter than
 * the shape repeats its last value, an empty one gives zeros, and values past
 * the shape are ignored. */
static void fill_typed(const Tensorflow__TensorProto *tp, int dtype, void *out, size_t count) {
    size_t n = typed_count(tp, dtype);
    if (n == 0) return; /* pool memory is zeroed */
    for (size_t i = 0; i < count; i++) {
        size_t k = i < n ? i : n - 1;
        switch (dtype) {
        case TF_DT_FLOAT: ((float *)out)[i] = tp->float_val[k]; break;
        case TF_DT_DOUBLE: ((double *)out)[i] = tp->double_val[k]; break;
        case TF_DT_INT64: ((int64_t *)out)[i] = tp->int64_val[k]; break;
        case TF_DT_BOOL: ((uint8_t *)out)[i] = tp->bool_val[k] != 0; break;
        case TF_DT_HALF: ((float *)out)[i] = tf_half_to_float((uint16_t)tp->half_val[k]); break;
        case TF_DT_UINT32: ((uint32_t *)out)[i] = tp->uint32_val[k]; break;
        case TF_DT_UINT64: ((uint64_t *)out)[i] = tp->uint64_val[k]; break;
        case TF_DT_INT16: ((uint16_t *)out)[i] = (uint16_t)tp->int_val[k]; break;
        case TF_DT_INT32:
        case TF_DT_QINT32: ((int32_t *)out)[i] = tp->int_val[k]; break;
        default: ((uint8_t *)out)[i] = (uint8_t)tp->int_val[k]; break; /* 8-bit types */
        }
    }
}

/* Copies count little-endian elements of tensor_content. */
static void copy_content(const uint8_t *in, int dtype, void *out, size_t count) {
    if (dtype == TF_DT_HALF)
        for (size_t i = 0; i < count; i++)
            ((float *)out)[i] = tf_half_to_float((uint16_t)(in[2 * i] | in[2 * i + 1] << 8));
    else if (dtype == TF_DT_BOOL) /* C bools must be 0 or 1 */
        for (size_t i = 0; i < count; i++) ((uint8_t *)out)[i] = in[i] != 0;
    else
        memcpy(out, in, count * tf_dtype_size(dtype));
}

static bool convert_tensor(tf_graph *g, const Tensorflow__TensorProto *tp, tf_tensor *t) {
    int dtype = (int)tp->dtype;
    char desc[192];
    if (dtype == TF_DT_INVALID) {
        kc_error("tensor has no dtype");
        return false;
    }
    if (!convert_shape(tp->tensor_shape, &t->shape)) return false;
    describe(desc, sizeof desc, dtype, &t->shape);
    bool known = !t->shape.unknown_rank;
    for (int i = 0; i < t->shape.rank; i++) known = known && t->shape.dims[i] >= 0;
    if (!known) {
        kc_error("tensor shape %s is not fully known", desc);
        return false;
    }
    int64_t count = 1;
    for (int i = 0; i < t->shape.rank; i++) {
        int64_t d = t->shape.dims[i];
        if (d && count > MAX_ELEMENTS / d) {
            kc_error("tensor shape %s has more than 2^31 elements", desc);
            return false;
        }
        count *= d;
    }
    t->dtype = dtype == TF_DT_HALF ? TF_DT_FLOAT : dtype;
    size_t in_size = tf_dtype_size(dtype);
    if (in_size == 0) return true; /* strings, resources, dtypes tf_graph has no size for: no data */
    uint64_t nbytes = (uint64_t)count * tf_dtype_size(t->dtype);
    if (nbytes > MAX_TENSOR_BYTES) {
        kc_error("tensor %s needs %llu bytes, over the 2 GiB limit", desc, (unsigned long long)nbytes);
        return false;
    }
    const ProtobufCBinaryData *content = &tp->tensor_content;
    if (content->len && content->len != (uint64_t)count * in_size) {
        kc_error("tensor_content has %zu bytes, shape %s needs %llu", content->len, desc,
                 (unsigned long long)count * in_size);
        return false;
    }
    t->nbytes = (size_t)nbytes;
    if (!(t->data = tf_alloc(g, t->nbytes))) return oom();
    if (content->len)
        copy_content(content->data, dtype, t->data, (size_t)count);
    else
        fill_typed(tp, dtype, t->data, (size_t)count);
    return true;
}

/* ---- Attrs and nodes --------------------------------------------------------- */

/* Bytes as a NUL-terminated copy. */
static char *copy_bytes(tf_graph *g, const ProtobufCBinaryData *b) {
    char *s = tf_alloc(g, b->len + 1);
    if (s && b->len) memcpy(s, b->data, b->len);
    return s;
}

static bool convert_list(tf_graph *g, tf_attr *a, const Tensorflow__AttrValue__ListValue *l) {
    if (l->n_tensor || l->n_func) { /* tf_attr has no room for them; read_tfjs refuses them too */
        kc_error("lists of %s are not supported", l->n_tensor ? "tensors" : "funcs");
        return false;
    }
    a->kind = TF_ATTR_LIST;
    a->list_s = alloc_array(g, l->n_s, sizeof *a->list_s);
    a->list_s_len = alloc_array(g, l->n_s, sizeof *a->list_s_len);
    a->list_i = alloc_array(g, l->n_i, sizeof *a->list_i);
    a->list_f = alloc_array(g, l->n_f, sizeof *a->list_f);
    a->list_b = alloc_array(g, l->n_b, sizeof *a->list_b);
    a->list_type = alloc_array(g, l->n_type, sizeof *a->list_type);
    a->list_shape = alloc_array(g, l->n_shape, sizeof *a->list_shape);
    if (!a->list_s || !a->list_s_len || !a->list_i || !a->list_f || !a->list_b || !a->list_type || !a->list_shape)
        return oom();
    for (size_t k = 0; k < l->n_s; k++) {
        if (!(a->list_s[k] = copy_bytes(g, &l->s[k]))) return oom();
        a->list_s_len[k] = l->s[k].len;
    }
    for (size_t k = 0; k < l->n_i; k++) a->list_i[k] = l->i[k];
    for (size_t k = 0; k < l->n_f; k++) a->list_f[k] = l->f[k];
    for (size_t k = 0; k < l->n_b; k++) a->list_b[k] = l->b[k] != 0;
    for (size_t k = 0; k < l->n_type; k++) a->list_type[k] = (int)l->type[k];
    for (size_t k = 0; k < l->n_shape; k++) {
        if (!convert_shape(l->shape[k], &a->list_shape[k])) {
            kc_error_prefix("shape %zu of the list", k);
            return false;
        }
    }
    a->n_s = l->n_s;
    a->n_i = l->n_i;
    a->n_f = l->n_f;
    a->n_b = l->n_b;
    a->n_type = l->n_type;
    a->n_shape = l->n_shape;
    return true;
}

static bool convert_attr(tf_graph *g, tf_attr *a, const Tensorflow__AttrValue *v) {
    switch (v ? v->value_case : TENSORFLOW__ATTR_VALUE__VALUE__NOT_SET) {
    case TENSORFLOW__ATTR_VALUE__VALUE_S:
        a->kind = TF_ATTR_S;
        a->s_len = v->s.len;
        return (a->s = copy_bytes(g, &v->s)) != NULL || oom();
    case TENSORFLOW__ATTR_VALUE__VALUE_I:
        a->kind = TF_ATTR_I;
        a->i = v->i;
        return true;
    case TENSORFLOW__ATTR_VALUE__VALUE_F:
        a->kind = TF_ATTR_F;
        a->f = v->f;
        return true;
    case TENSORFLOW__ATTR_VALUE__VALUE_B:
        a->kind = TF_ATTR_B;
        a->b = v->b != 0;
        return true;
    case TENSORFLOW__ATTR_VALUE__VALUE_TYPE:
        a->kind = TF_ATTR_TYPE;
        a->type = (int)v->type;
        return true;
    case TENSORFLOW__ATTR_VALUE__VALUE_SHAPE:
        a->kind = TF_ATTR_SHAPE;
        return convert_shape(v->shape, &a->shape);
    case TENSORFLOW__ATTR_VALUE__VALUE_TENSOR:
        a->kind = TF_ATTR_TENSOR;
        if (!(a->tensor = tf_alloc(g, sizeof *a->tensor))) return oom();
        return convert_tensor(g, v->tensor, a->tensor);
    case TENSORFLOW__ATTR_VALUE__VALUE_LIST: return convert_list(g, a, v->list);
    case TENSORFLOW__ATTR_VALUE__VALUE_FUNC:
        a->kind = TF_ATTR_FUNC;
        a->s_len = strlen(v->func->name);
        return (a->s = tf_strdup(g, v->func->name)) != NULL || oom();
    default: /* no value, or a placeholder (only meaningful inside function bodies) */
        a->kind = TF_ATTR_NONE;
        return true;
    }
}

/* The attr named key, reset, or a new one: in a protobuf map the last entry for a key wins. */
static tf_attr *attr_slot(tf_graph *g, tf_node *n, const char *key) {
    for (int k = 0; k < n->n_attrs; k++) {
        if (strcmp(n->attrs[k].name, key) == 0) {
            const char *name = n->attrs[k].name;
            memset(&n->attrs[k], 0, sizeof n->attrs[k]);
            n->attrs[k].name = name;
            return &n->attrs[k];
        }
    }
    return tf_node_add_attr(g, n, key);
}

static bool convert_node(tf_graph *g, const Tensorflow__NodeDef *nd, size_t index) {
    if (!nd->name[0]) {
        kc_error("node %zu has no name", index);
        return false;
    }
    if (!nd->op[0]) {
        kc_error("node '%s' has no op", nd->name);
        return false;
    }
    tf_node *n = tf_graph_add_node(g);
    if (!n) return oom();
    n->name = tf_strdup(g, nd->name);
    n->op = tf_strdup(g, nd->op);
    n->inputs = alloc_array(g, nd->n_input, sizeof *n->inputs);
    if (!n->name || !n->op || !n->inputs) return oom();
    for (size_t k = 0; k < nd->n_input; k++)
        if (!(n->inputs[k] = tf_strdup(g, nd->input[k]))) return oom();
    n->n_inputs = (int)nd->n_input; /* fewer than 2^30: each takes 2 bytes of a < 2 GiB message */
    for (size_t k = 0; k < nd->n_attr; k++) {
        const Tensorflow__NodeDef__AttrEntry *e = nd->attr[k];
        tf_attr *a = attr_slot(g, n, e->key);
        if (!a) return oom();
        if (!convert_attr(g, a, e->value)) {
            kc_error_prefix("node '%s': attr '%s'", nd->name, e->key);
            return false;
        }
    }
    return true;
}

tf_graph *read_pb(const uint8_t *data, size_t size, const char *path) {
    scan_error err = {.nodes = 0};
    if (size == 0) {
        kc_error("%s: empty, not a GraphDef", path);
        return NULL;
    }
    if (size > MAX_PB_BYTES) {
        kc_error("%s: %zu bytes, over protobuf's 2 GiB limit", path, size);
        return NULL;
    }
    if (!scan(data, 0, size, M_GRAPH, 0, &err)) {
        kc_error("%s: not a valid GraphDef: malformed protobuf at byte offset %zu: %s", path, err.at, err.why);
        return NULL;
    }
    Tensorflow__GraphDef *gd = tensorflow__graph_def__unpack(NULL, size, data);
    if (!gd) {
        kc_error("%s: not a valid GraphDef (protobuf parse failed)", path);
        return NULL;
    }
    tf_graph *g = tf_graph_new();
    bool ok = g != NULL || oom();
    for (size_t k = 0; ok && k < gd->n_node; k++) ok = convert_node(g, gd->node[k], k);
    tensorflow__graph_def__free_unpacked(gd, NULL);
    if (!ok) {
        kc_error_prefix("%s", path);
        tf_graph_free(g);
        return NULL;
    }
    return g;
}

tf_graph *read_pb_file(const char *path) {
    size_t size;
    uint8_t *data = kc_read_file(path, MAX_PB_BYTES, &size);
    tf_graph *g = data ? read_pb(data, size, path) : NULL;
    free(data);
    return g;
}
