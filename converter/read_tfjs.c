#define _POSIX_C_SOURCE 200809L /* stat */

#include "read_tfjs.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base64.h"
#include "diag.h"
#include "json.h"
#include "keras.h"

/* A decoded weight of a layers model, by its manifest name. */
typedef struct named_weight {
    const char *name;
    tf_tensor *t;
} named_weight;

typedef struct reader {
    const char *path; /* model.json, for messages */
    size_t dir_len;   /* length of its directory prefix, with the '/' */
    tf_graph *g;
    tf_node **by_name;    /* graph models: nodes sorted by name, to attach weights */
    uint64_t shard_bytes; /* read so far, against TFJS_SHARDS_MAX */
    bool layers;          /* a Keras layers model: weights go to `weights` */
    bool layers_numbered; /* its weights are named "<layer>/<index>" */
    named_weight *weights;
    size_t n_weights, weights_cap;
} reader;

/* "<model.json>: byte <offset>: <message>", without the offset if at is NULL. */
static bool fail(const reader *r, const json_value *at, const char *fmt, ...) KC_PRINTF(3, 4);

static bool fail(const reader *r, const json_value *at, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at)
        kc_error("%s: byte %zu: %s", r->path, at->offset, msg);
    else
        kc_error("%s: %s", r->path, msg);
    return false;
}

/* n elements of `each` bytes from the graph's pool. */
static void *alloc(const reader *r, size_t n, size_t each) {
    void *p = n <= SIZE_MAX / 2 / each ? tf_alloc(r->g, n * each) : NULL;
    if (!p) kc_error("%s: out of memory", r->path);
    return p;
}

static const char *keep(const reader *r, const char *s) {
    char *d = tf_strdup(r->g, s);
    if (!d) kc_error("%s: out of memory", r->path);
    return d;
}

static bool expect(const reader *r, const json_value *v, json_type type, const char *ctx) {
    if (v->type == type) return true;
    return fail(r, v, "%s: expected %s, got %s", ctx, json_type_name(type), json_type_name(v->type));
}

/* A string without NUL bytes (names, dtypes and paths are C strings); it
 * lives in the JSON document. */
static const char *cstr(const reader *r, const json_value *v, const char *ctx) {
    if (!expect(r, v, JSON_STRING, ctx)) return NULL;
    if (strlen(v->str) != v->len) {
        fail(r, v, "%s: the string contains a NUL character", ctx);
        return NULL;
    }
    return v->str;
}

/* A member that must be present. */
static const json_value *need(const reader *r, const json_value *obj, const char *key, const char *ctx) {
    const json_value *v = json_get(obj, key);
    if (!v) fail(r, obj, "%s: missing \"%s\"", ctx, key);
    return v;
}

/* ---- attr values ----------------------------------------------------------- */

static bool read_int(const reader *r, const json_value *v, const char *ctx, int64_t *out) {
    if (json_int64(v, out)) return true;
    return fail(r, v, "%s: expected an integer", ctx);
}

/* Protobuf's JSON writes non-finite floats as strings. */
static bool read_double(const reader *r, const json_value *v, const char *ctx, double *out) {
    if (json_number(v, out)) return true;
    const char *s = json_string(v);
    if (s && strcmp(s, "NaN") == 0)
        *out = NAN;
    else if (s && strcmp(s, "Infinity") == 0)
        *out = INFINITY;
    else if (s && strcmp(s, "-Infinity") == 0)
        *out = -INFINITY;
    else
        return fail(r, v, "%s: expected a number", ctx);
    return true;
}

static bool read_float(const reader *r, const json_value *v, const char *ctx, float *out) {
    double d;
    if (!read_double(r, v, ctx, &d)) return false;
    *out = (float)d; /* AttrValue.f is a float; this rounds to nearest */
    return true;
}

static bool read_bool(const reader *r, const json_value *v, const char *ctx, bool *out) {
    if (!expect(r, v, JSON_BOOL, ctx)) return false;
    *out = v->b;
    return true;
}

/* "DT_FLOAT", or the enum's number. */
static bool read_dtype(const reader *r, const json_value *v, const char *ctx, int *out) {
    int64_t n;
    if (v->type == JSON_STRING) {
        const char *s = cstr(r, v, ctx);
        if (!s) return false;
        *out = tf_dtype_from_name(s);
        if (*out < 0) return fail(r, v, "%s: unknown dtype \"%.100s\"", ctx, s);
        return true;
    }
    if (!json_int64(v, &n)) return fail(r, v, "%s: expected a dtype, got %s", ctx, json_type_name(v->type));
    if (n < 0 || n > INT_MAX || !tf_dtype_name((int)n)) return fail(r, v, "%s: unknown dtype %" PRId64, ctx, n);
    *out = (int)n;
    return true;
}

/* Base64 bytes into the pool, NUL-terminated. */
static bool read_bytes(const reader *r, const json_value *v, const char *ctx, const char **out, size_t *out_len) {
    if (!expect(r, v, JSON_STRING, ctx)) return false;
    unsigned char *d = alloc(r, base64_decoded_max(v->len) + 1, 1);
    if (!d) return false;
    if (!base64_decode(v->str, v->len, d, out_len)) {
        kc_error_prefix("%s: byte %zu: %s", r->path, v->offset, ctx);
        return false;
    }
    d[*out_len] = 0;
    *out = (const char *)d;
    return true;
}

/* TensorShapeProto: {"dim":[{"size":"3"},...]} or {"unknownRank":true}.
 * Protobuf's JSON omits zero values, so a dim without "size" is 0 and a
 * shape without "dim" is a scalar. */
static bool read_shape(const reader *r, const json_value *v, const char *ctx, tf_shape *s) {
    memset(s, 0, sizeof *s);
    if (!expect(r, v, JSON_OBJECT, ctx)) return false;
    const json_value *unknown = json_get(v, "unknownRank");
    if (unknown) {
        if (!read_bool(r, unknown, ctx, &s->unknown_rank)) return false;
        if (s->unknown_rank) return true;
    }
    const json_value *dims = json_get(v, "dim");
    if (!dims) return true;
    if (!expect(r, dims, JSON_ARRAY, ctx)) return false;
    if (dims->len > TF_MAX_RANK)
        return fail(r, dims, "%s: rank %zu is over the limit of %d", ctx, dims->len, TF_MAX_RANK);
    for (size_t i = 0; i < dims->len; i++) {
        const json_value *d = &dims->items[i], *size;
        if (!expect(r, d, JSON_OBJECT, ctx)) return false;
        if ((size = json_get(d, "size")) && !read_int(r, size, ctx, &s->dims[i])) return false;
        if (s->dims[i] < -1) return fail(r, d, "%s: invalid dimension %" PRId64, ctx, s->dims[i]);
    }
    s->rank = (int)dims->len;
    return true;
}

/* Stores element i of a tensor from its little-endian bits in wire dtype
 * `wire`; halves are widened to float and bools normalized to 0/1. */
static void put_bits(void *data, int wire, size_t i, uint64_t bits) {
    unsigned char *d = data;
    switch (wire) {
    case TF_DT_HALF: {
        float f = tf_half_to_float((uint16_t)bits);
        memcpy(d + 4 * i, &f, 4);
        break;
    }
    case TF_DT_FLOAT:
    case TF_DT_INT32: {
        uint32_t u = (uint32_t)bits;
        memcpy(d + 4 * i, &u, 4);
        break;
    }
    case TF_DT_DOUBLE:
    case TF_DT_INT64: memcpy(d + 8 * i, &bits, 8); break;
    case TF_DT_INT16: {
        uint16_t u = (uint16_t)bits;
        memcpy(d + 2 * i, &u, 2);
        break;
    }
    case TF_DT_BOOL: ((bool *)data)[i] = bits != 0; break;
    default: d[i] = (unsigned char)bits; break; /* INT8, UINT8 */
    }
}

static uint64_t load_le(const unsigned char *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) v = v << 8 | p[i - 1];
    return v;
}

/* The JSON field of TensorProto holding values of a dtype whose content we
 * keep (NULL for the others). */
static const char *val_field(int dtype) {
    switch (dtype) {
    case TF_DT_FLOAT: return "floatVal";
    case TF_DT_DOUBLE: return "doubleVal";
    case TF_DT_INT32:
    case TF_DT_INT16:
    case TF_DT_INT8:
    case TF_DT_UINT8: return "intVal";
    case TF_DT_INT64: return "int64Val";
    case TF_DT_BOOL: return "boolVal";
    case TF_DT_HALF: return "halfVal"; /* the bits, as integers */
    default: return NULL;
    }
}

/* One element of a *Val array as little-endian bits of `dtype`. */
static bool value_bits(const reader *r, const json_value *v, int dtype, const char *ctx, uint64_t *bits) {
    if (dtype == TF_DT_FLOAT || dtype == TF_DT_DOUBLE) {
        double d;
        if (!read_double(r, v, ctx, &d)) return false;
        if (dtype == TF_DT_DOUBLE) {
            memcpy(bits, &d, 8);
        } else {
            float f = (float)d;
            uint32_t u;
            memcpy(&u, &f, 4);
            *bits = u;
        }
        return true;
    }
    if (dtype == TF_DT_BOOL) {
        bool b;
        if (!read_bool(r, v, ctx, &b)) return false;
        *bits = b;
        return true;
    }
    int64_t n, lo = INT64_MIN, hi = INT64_MAX;
    if (!read_int(r, v, ctx, &n)) return false;
    switch (dtype) {
    case TF_DT_INT32: lo = INT32_MIN, hi = INT32_MAX; break;
    case TF_DT_INT16: lo = INT16_MIN, hi = INT16_MAX; break;
    case TF_DT_INT8: lo = INT8_MIN, hi = INT8_MAX; break;
    case TF_DT_UINT8: lo = 0, hi = UINT8_MAX; break;
    case TF_DT_HALF: lo = 0, hi = UINT16_MAX; break;
    }
    if (n < lo || n > hi) return fail(r, v, "%s: %" PRId64 " is out of range for %s", ctx, n, tf_dtype_name(dtype));
    *bits = (uint64_t)n;
    return true;
}

/* TensorProto content: tensorContent (raw little-endian bytes, base64) or
 * the typed *Val array, where (as in TensorFlow and read_pb) fewer values
 * than elements repeat the last one and extra values are ignored. No content
 * leaves data NULL. */
static bool read_tensor_content(const reader *r, const json_value *v, const char *ctx, tf_tensor *t) {
    int wire = t->dtype;                   /* as stored in the file; halves become floats */
    if (wire == TF_DT_STRING) return true; /* strings are not kept */
    const char *field = val_field(wire);
    if (!field) {
        for (size_t i = 0; i < v->len; i++) {
            const char *k = v->members[i].key;
            if (strcmp(k, "dtype") && strcmp(k, "tensorShape") && strcmp(k, "versionNumber"))
                return fail(r, v, "%s: tensor values of dtype %s are not supported", ctx, tf_dtype_name(wire));
        }
        return true;
    }
    const json_value *raw = json_get(v, "tensorContent"), *vals = json_get(v, field);
    if (!raw && !vals) return true;
    int64_t count = tf_shape_count(&t->shape);
    if (count < 0) return fail(r, v, "%s: a tensor with values needs a fully known shape", ctx);
    size_t wire_size = tf_dtype_size(wire);
    t->dtype = wire == TF_DT_HALF ? TF_DT_FLOAT : wire;
    size_t each = tf_dtype_size(t->dtype);
    if ((uint64_t)count > TFJS_INLINE_TENSOR_MAX / each)
        return fail(r, v,
                    "%s: a tensor of %" PRId64 " elements is over the %" PRIu64 " MiB limit for model.json tensors",
                    ctx, count, TFJS_INLINE_TENSOR_MAX >> 20);
    size_t n = (size_t)count;
    if (!(t->data = alloc(r, n, each))) return false;
    t->nbytes = n * each;
    if (raw) {
        if (!expect(r, raw, JSON_STRING, ctx)) return false;
        unsigned char *bytes = malloc(base64_decoded_max(raw->len));
        size_t len;
        if (!bytes) return fail(r, raw, "out of memory");
        if (!base64_decode(raw->str, raw->len, bytes, &len)) {
            free(bytes);
            kc_error_prefix("%s: byte %zu: %s: tensorContent", r->path, raw->offset, ctx);
            return false;
        }
        bool ok = len == n * wire_size;
        for (size_t i = 0; ok && i < n; i++) put_bits(t->data, wire, i, load_le(bytes + i * wire_size, wire_size));
        free(bytes);
        if (!ok)
            return fail(r, raw, "%s: tensorContent has %zu bytes for %zu elements of %zu bytes", ctx, len, n,
                        wire_size);
        return true;
    }
    if (!expect(r, vals, JSON_ARRAY, ctx)) return false;
    uint64_t bits = 0; /* no values: zeros */
    for (size_t i = 0; i < n; i++) {
        if (i < vals->len && !value_bits(r, &vals->items[i], wire, ctx, &bits)) return false;
        put_bits(t->data, wire, i, bits);
    }
    return true;
}

static bool read_tensor(const reader *r, const json_value *v, const char *ctx, tf_tensor **out) {
    if (!expect(r, v, JSON_OBJECT, ctx)) return false;
    tf_tensor *t = alloc(r, 1, sizeof *t);
    const json_value *dtype = need(r, v, "dtype", ctx), *shape = json_get(v, "tensorShape");
    if (!t || !dtype || !read_dtype(r, dtype, ctx, &t->dtype)) return false;
    if (shape && !read_shape(r, shape, ctx, &t->shape)) return false;
    if (!read_tensor_content(r, v, ctx, t)) return false;
    *out = t;
    return true;
}

/* AttrValue.ListValue: {"i":[...]}, {"s":[...]}, ...; {} is an empty list. */
static bool read_list(const reader *r, const json_value *v, const char *ctx, tf_attr *a) {
    if (!expect(r, v, JSON_OBJECT, ctx)) return false;
    for (size_t m = 0; m < v->len; m++) {
        const char *kind = v->members[m].key;
        const json_value *arr = &v->members[m].value;
        if (!expect(r, arr, JSON_ARRAY, ctx)) return false;
        size_t n = arr->len;
        bool ok = true;
        if (strcmp(kind, "s") == 0) {
            ok = (a->list_s = alloc(r, n, sizeof *a->list_s)) && (a->list_s_len = alloc(r, n, sizeof *a->list_s_len));
            for (size_t i = 0; ok && i < n; i++)
                ok = read_bytes(r, &arr->items[i], ctx, &a->list_s[i], &a->list_s_len[i]);
            a->n_s = n;
        } else if (strcmp(kind, "i") == 0) {
            ok = (a->list_i = alloc(r, n, sizeof *a->list_i)) != NULL;
            for (size_t i = 0; ok && i < n; i++) ok = read_int(r, &arr->items[i], ctx, &a->list_i[i]);
            a->n_i = n;
        } else if (strcmp(kind, "f") == 0) {
            ok = (a->list_f = alloc(r, n, sizeof *a->list_f)) != NULL;
            for (size_t i = 0; ok && i < n; i++) ok = read_float(r, &arr->items[i], ctx, &a->list_f[i]);
            a->n_f = n;
        } else if (strcmp(kind, "b") == 0) {
            ok = (a->list_b = alloc(r, n, sizeof *a->list_b)) != NULL;
            for (size_t i = 0; ok && i < n; i++) ok = read_bool(r, &arr->items[i], ctx, &a->list_b[i]);
            a->n_b = n;
        } else if (strcmp(kind, "type") == 0) {
            ok = (a->list_type = alloc(r, n, sizeof *a->list_type)) != NULL;
            for (size_t i = 0; ok && i < n; i++) ok = read_dtype(r, &arr->items[i], ctx, &a->list_type[i]);
            a->n_type = n;
        } else if (strcmp(kind, "shape") == 0) {
            ok = (a->list_shape = alloc(r, n, sizeof *a->list_shape)) != NULL;
            for (size_t i = 0; ok && i < n; i++) ok = read_shape(r, &arr->items[i], ctx, &a->list_shape[i]);
            a->n_shape = n;
        } else if (n > 0) {
            return fail(r, arr, "%s: lists of \"%.40s\" are not supported", ctx, kind);
        }
        if (!ok) return false;
    }
    a->kind = TF_ATTR_LIST;
    return true;
}

/* AttrValue: an object with one member naming the kind, or {} for none. */
static bool read_attr(const reader *r, const json_value *v, const char *ctx, tf_attr *a) {
    if (!expect(r, v, JSON_OBJECT, ctx)) return false;
    if (v->len == 0) {
        a->kind = TF_ATTR_NONE;
        return true;
    }
    if (v->len > 1) return fail(r, v, "%s: more than one value", ctx);
    const char *kind = v->members[0].key;
    const json_value *x = &v->members[0].value;
    if (strcmp(kind, "s") == 0) {
        a->kind = TF_ATTR_S;
        return read_bytes(r, x, ctx, &a->s, &a->s_len);
    }
    if (strcmp(kind, "i") == 0) {
        a->kind = TF_ATTR_I;
        return read_int(r, x, ctx, &a->i);
    }
    if (strcmp(kind, "f") == 0) {
        a->kind = TF_ATTR_F;
        return read_float(r, x, ctx, &a->f);
    }
    if (strcmp(kind, "b") == 0) {
        a->kind = TF_ATTR_B;
        return read_bool(r, x, ctx, &a->b);
    }
    if (strcmp(kind, "type") == 0) {
        a->kind = TF_ATTR_TYPE;
        return read_dtype(r, x, ctx, &a->type);
    }
    if (strcmp(kind, "shape") == 0) {
        a->kind = TF_ATTR_SHAPE;
        return read_shape(r, x, ctx, &a->shape);
    }
    if (strcmp(kind, "tensor") == 0) {
        a->kind = TF_ATTR_TENSOR;
        return read_tensor(r, x, ctx, &a->tensor);
    }
    if (strcmp(kind, "func") == 0) {
        const json_value *name = expect(r, x, JSON_OBJECT, ctx) ? need(r, x, "name", ctx) : NULL;
        const char *s = name ? cstr(r, name, ctx) : NULL;
        if (!s || !(a->s = keep(r, s))) return false;
        a->s_len = strlen(s);
        a->kind = TF_ATTR_FUNC;
        return true;
    }
    if (strcmp(kind, "list") == 0) return read_list(r, x, ctx, a);
    if (strcmp(kind, "placeholder") == 0) { /* only meaningful inside function bodies, as in read_pb */
        a->kind = TF_ATTR_NONE;
        return true;
    }
    return fail(r, v, "%s: unsupported attr value \"%.40s\"", ctx, kind);
}

/* ---- nodes ------------------------------------------------------------------- */

static bool read_node(const reader *r, const json_value *v, size_t index) {
    char ctx[256];
    snprintf(ctx, sizeof ctx, "modelTopology.node[%zu]", index);
    if (!expect(r, v, JSON_OBJECT, ctx)) return false;
    const json_value *name_v = need(r, v, "name", ctx);
    const char *name = name_v ? cstr(r, name_v, ctx) : NULL;
    if (!name) return false;
    if (!*name) return fail(r, name_v, "%s: empty node name", ctx);
    snprintf(ctx, sizeof ctx, "node \"%.150s\"", name);
    const json_value *op_v = need(r, v, "op", ctx), *inputs = json_get(v, "input"), *attrs = json_get(v, "attr");
    const char *op = op_v ? cstr(r, op_v, ctx) : NULL;
    if (!op) return false;
    if (!*op) return fail(r, op_v, "%s: empty op", ctx);
    if (inputs && !expect(r, inputs, JSON_ARRAY, ctx)) return false;
    if (attrs && !expect(r, attrs, JSON_OBJECT, ctx)) return false;
    if ((inputs && inputs->len > INT_MAX) || (attrs && attrs->len > INT_MAX / 2))
        return fail(r, v, "%s: too many inputs or attrs", ctx);

    tf_node *n = tf_graph_add_node(r->g);
    if (!n) return fail(r, NULL, "out of memory");
    if (!(n->name = keep(r, name)) || !(n->op = keep(r, op))) return false;
    if (inputs) {
        if (!(n->inputs = alloc(r, inputs->len, sizeof *n->inputs))) return false;
        for (size_t i = 0; i < inputs->len; i++) {
            const char *s = cstr(r, &inputs->items[i], ctx);
            if (!s || !(n->inputs[i] = keep(r, s))) return false;
        }
        n->n_inputs = (int)inputs->len;
    }
    for (size_t i = 0; attrs && i < attrs->len; i++) {
        const json_member *m = &attrs->members[i];
        if (strlen(m->key) != m->key_len) return fail(r, &m->value, "%s: an attr name contains a NUL character", ctx);
        char actx[400];
        snprintf(actx, sizeof actx, "%s attr \"%.100s\"", ctx, m->key);
        tf_attr *a = tf_node_add_attr(r->g, n, m->key);
        if (!a) return fail(r, NULL, "out of memory");
        if (!read_attr(r, &m->value, actx, a)) return false;
    }
    return true;
}

static int cmp_node(const void *a, const void *b) {
    return strcmp((*(tf_node *const *)a)->name, (*(tf_node *const *)b)->name);
}

/* Sorts the nodes by name for find_node, rejecting duplicate names. */
static bool index_nodes(reader *r) {
    size_t n = (size_t)r->g->n_nodes;
    if (n == 0) return true;
    if (!(r->by_name = malloc(n * sizeof *r->by_name))) return fail(r, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) r->by_name[i] = &r->g->nodes[i];
    qsort(r->by_name, n, sizeof *r->by_name, cmp_node);
    for (size_t i = 1; i < n; i++)
        if (strcmp(r->by_name[i - 1]->name, r->by_name[i]->name) == 0)
            return fail(r, NULL, "two nodes are named \"%.150s\"", r->by_name[i]->name);
    return true;
}

static tf_node *find_node(const reader *r, const char *name) {
    if (!r->by_name) return NULL;
    tf_node key = {.name = name}, *kp = &key;
    tf_node **hit = bsearch(&kp, r->by_name, (size_t)r->g->n_nodes, sizeof *r->by_name, cmp_node);
    return hit ? *hit : NULL;
}

/* ---- files ------------------------------------------------------------------- */

/* The size of a regular file; `at` is the JSON value naming it, if any. */
static bool file_size(const reader *r, const json_value *at, const char *path, uint64_t *size) {
    struct stat st;
    if (stat(path, &st) != 0) return fail(r, at, "cannot open \"%s\": %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return fail(r, at, "\"%s\" is not a regular file", path);
    *size = (uint64_t)st.st_size;
    return true;
}

static bool read_exact(const reader *r, const json_value *at, const char *path, unsigned char *dst, uint64_t size) {
    FILE *f = fopen(path, "rb");
    if (!f) return fail(r, at, "cannot open \"%s\": %s", path, strerror(errno));
    size_t got = size ? fread(dst, 1, (size_t)size, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if (got != size)
        return fail(r, at, "\"%s\": %s after %zu of %" PRIu64 " bytes", path, err ? "read error" : "file shrank", got,
                    size);
    return true;
}

/* ---- weights ----------------------------------------------------------------- */

/* JavaScript's Math.round (halves toward +inf) then ToInt32 (wrap modulo 2^32),
 * as tfjs stores dequantized int32 weights into an Int32Array. */
static int32_t js_round_int32(double x) {
    if (!isfinite(x)) return 0;
    double f = floor(x);
    if (x - f >= 0.5) f += 1; /* x - f is exact */
    f = fmod(f, 4294967296.0);
    if (f < 0) f += 4294967296.0;
    uint32_t u = (uint32_t)f;
    int32_t i;
    memcpy(&i, &u, sizeof i);
    return i;
}

static bool set_value_attr(const reader *r, tf_node *n, tf_tensor *t) {
    tf_attr *a = NULL;
    for (int i = 0; i < n->n_attrs && !a; i++)
        if (strcmp(n->attrs[i].name, "value") == 0) a = &n->attrs[i];
    if (a) {
        const char *name = a->name;
        memset(a, 0, sizeof *a);
        a->name = name;
    } else if (!(a = tf_node_add_attr(r->g, n, "value"))) {
        return fail(r, NULL, "out of memory");
    }
    a->kind = TF_ATTR_TENSOR;
    a->tensor = t;
    return true;
}

/* Keeps a layers model's weight for the Keras builder's lookups. */
static bool keep_weight(reader *r, const char *name, tf_tensor *t) {
    if (r->n_weights == r->weights_cap) {
        size_t cap = r->weights_cap ? r->weights_cap * 2 : 256;
        named_weight *grown = realloc(r->weights, sizeof *grown * cap);
        if (!grown) return fail(r, NULL, "out of memory");
        r->weights = grown;
        r->weights_cap = cap;
    }
    r->weights[r->n_weights].name = keep(r, name);
    r->weights[r->n_weights].t = t;
    return r->weights[r->n_weights++].name != NULL;
}

/* One manifest entry: its bytes start at group[*off]. Decodes it like tfjs's
 * io_utils decodeWeight and attaches it to the node of the same name (graph
 * models) or keeps it by name (layers models). */
static bool read_weight(reader *r, const json_value *w, size_t group, const unsigned char *buf, uint64_t total,
                        uint64_t *off) {
    char ctx[256];
    snprintf(ctx, sizeof ctx, "weightsManifest[%zu].weights", group);
    if (!expect(r, w, JSON_OBJECT, ctx)) return false;
    const json_value *name_v = need(r, w, "name", ctx);
    const char *name = name_v ? cstr(r, name_v, ctx) : NULL;
    if (!name) return false;
    snprintf(ctx, sizeof ctx, "weight \"%.150s\"", name);
    const json_value *shape_v = need(r, w, "shape", ctx), *dtype_v = need(r, w, "dtype", ctx);
    const json_value *quant = json_get(w, "quantization");
    const char *dtype = dtype_v ? cstr(r, dtype_v, ctx) : NULL;
    if (!shape_v || !dtype || !expect(r, shape_v, JSON_ARRAY, ctx)) return false;

    tf_shape shape = {0};
    if (shape_v->len > TF_MAX_RANK)
        return fail(r, shape_v, "%s: rank %zu is over the limit of %d", ctx, shape_v->len, TF_MAX_RANK);
    for (size_t i = 0; i < shape_v->len; i++) {
        if (!read_int(r, &shape_v->items[i], ctx, &shape.dims[i])) return false;
        if (shape.dims[i] < 0) return fail(r, &shape_v->items[i], "%s: negative dimension", ctx);
    }
    shape.rank = (int)shape_v->len;
    int64_t count = tf_shape_count(&shape);
    if (count < 0) return fail(r, shape_v, "%s: the shape has too many elements", ctx);

    /* wire: the stored element type (for affine quantization, wire_size
     * unsigned bytes); out: the type we keep. */
    int wire = 0, out;
    size_t wire_size = 0;
    bool affine = false;
    double scale = 0, min = 0;
    bool is_f32 = strcmp(dtype, "float32") == 0, is_i32 = strcmp(dtype, "int32") == 0;
    if (quant) {
        const json_value *qd = expect(r, quant, JSON_OBJECT, ctx) ? need(r, quant, "dtype", ctx) : NULL;
        const char *q = qd ? cstr(r, qd, ctx) : NULL;
        if (!q) return false;
        if (strcmp(q, "uint8") == 0 || strcmp(q, "uint16") == 0) {
            if (!json_number(json_get(quant, "scale"), &scale) || !json_number(json_get(quant, "min"), &min))
                return fail(r, quant, "%s: %s quantization needs numbers \"scale\" and \"min\"", ctx, q);
            if (!is_f32 && !is_i32)
                return fail(r, dtype_v, "%s: %s quantization of %.40s weights is not supported", ctx, q, dtype);
            wire_size = q[4] == '8' ? 1 : 2;
            out = is_f32 ? TF_DT_FLOAT : TF_DT_INT32;
            affine = true;
        } else if (strcmp(q, "float16") == 0) {
            if (!is_f32)
                return fail(r, dtype_v, "%s: float16 quantization of %.40s weights is not supported", ctx, dtype);
            wire = TF_DT_HALF;
            out = TF_DT_FLOAT;
        } else {
            return fail(r, qd, "%s: unknown quantization dtype \"%.40s\" (tfjs has uint8, uint16 and float16)", ctx, q);
        }
    } else if (is_f32 || is_i32) {
        wire = out = is_f32 ? TF_DT_FLOAT : TF_DT_INT32;
    } else if (strcmp(dtype, "bool") == 0) {
        wire = out = TF_DT_BOOL;
    } else if (strcmp(dtype, "string") == 0 || strcmp(dtype, "complex64") == 0) {
        return fail(r, dtype_v, "%s: %s weights are not supported", ctx, dtype);
    } else {
        return fail(r, dtype_v,
                    "%s: unknown dtype \"%.40s\" (tfjs weights are float32, int32, bool, string or complex64)", ctx,
                    dtype);
    }

    if (!affine) wire_size = tf_dtype_size(wire);
    size_t out_size = tf_dtype_size(out);
    if ((uint64_t)count > (total - *off) / wire_size)
        return fail(r, w,
                    "%s: %" PRId64 " elements of %zu bytes from byte %" PRIu64 " do not fit in the %" PRIu64
                    " bytes of weightsManifest[%zu]'s shards",
                    ctx, count, wire_size, *off, total, group);
    const unsigned char *src = buf + *off;
    *off += (uint64_t)count * wire_size;

    tf_node *node = r->layers ? NULL : find_node(r, name);
    if (!node && !r->layers) return true; /* tfjs ignores weights that no node uses */
    size_t n = (size_t)count; /* fits: count * wire_size <= total */
    tf_tensor *t = alloc(r, 1, sizeof *t);
    if (!t || !(t->data = alloc(r, n, out_size))) return false;
    t->dtype = out;
    t->shape = shape;
    t->nbytes = n * out_size;
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = load_le(src + i * wire_size, wire_size);
        if (!affine) {
            put_bits(t->data, wire, i, bits);
            continue;
        }
        /* q * scale + min in double, as JavaScript computes it; volatile
         * keeps compilers from fusing it into an fma, which rounds once. */
        volatile double product = (double)bits * scale;
        double x = product + min;
        if (out == TF_DT_FLOAT)
            ((float *)t->data)[i] = (float)x;
        else
            ((int32_t *)t->data)[i] = js_round_int32(x);
    }
    return r->layers ? keep_weight(r, name, t) : set_value_attr(r, node, t);
}

/* A manifest group: its shards concatenated in order hold its weights in order. */
static bool read_group(reader *r, const json_value *grp, size_t index) {
    char ctx[64];
    snprintf(ctx, sizeof ctx, "weightsManifest[%zu]", index);
    if (!expect(r, grp, JSON_OBJECT, ctx)) return false;
    const json_value *paths = need(r, grp, "paths", ctx), *weights = need(r, grp, "weights", ctx);
    if (!paths || !weights || !expect(r, paths, JSON_ARRAY, ctx) || !expect(r, weights, JSON_ARRAY, ctx)) return false;

    uint64_t *sizes = calloc(paths->len ? paths->len : 1, sizeof *sizes), total = 0;
    char **full = calloc(paths->len ? paths->len : 1, sizeof *full);
    unsigned char *buf = NULL;
    bool ok = sizes && full;
    if (!ok) fail(r, NULL, "out of memory");
    for (size_t i = 0; ok && i < paths->len; i++) {
        const char *p = cstr(r, &paths->items[i], ctx);
        ok = p && (full[i] = malloc(r->dir_len + strlen(p) + 1));
        if (p && !ok) fail(r, NULL, "out of memory");
        if (!ok) break;
        memcpy(full[i], r->path, r->dir_len);
        strcpy(full[i] + r->dir_len, p);
        ok = file_size(r, &paths->items[i], full[i], &sizes[i]);
        if (ok && sizes[i] > TFJS_SHARDS_MAX - r->shard_bytes - total)
            ok = fail(r, &paths->items[i],
                      "the weight shards are over the limit of %" PRIu64 " GiB together (at \"%s\")",
                      TFJS_SHARDS_MAX >> 30, full[i]);
        if (ok) total += sizes[i];
    }
    if (ok && !(buf = malloc(total ? (size_t)total : 1))) ok = fail(r, NULL, "out of memory");
    uint64_t off = 0;
    for (size_t i = 0; ok && i < paths->len; i++) {
        ok = read_exact(r, &paths->items[i], full[i], buf + off, sizes[i]);
        off += sizes[i];
    }
    r->shard_bytes += total;
    off = 0;
    for (size_t i = 0; ok && i < weights->len; i++) ok = read_weight(r, &weights->items[i], index, buf, total, &off);
    for (size_t i = 0; full && i < paths->len; i++) free(full[i]);
    free(full);
    free(sizes);
    free(buf);
    return ok;
}

/* ---- the model --------------------------------------------------------------- */

/* signature.inputs / .outputs: {key: {"name": "x:0", ...}, ...} in order. */
static bool read_endpoints(const reader *r, const json_value *map, const char *ctx, tf_endpoint **out, int *n_out) {
    if (!map) return true;
    if (!expect(r, map, JSON_OBJECT, ctx)) return false;
    if (map->len > INT_MAX) return fail(r, map, "%s: too many entries", ctx);
    tf_endpoint *e = alloc(r, map->len, sizeof *e);
    if (!e) return false;
    for (size_t i = 0; i < map->len; i++) {
        const json_member *m = &map->members[i];
        const json_value *name = expect(r, &m->value, JSON_OBJECT, ctx) ? need(r, &m->value, "name", ctx) : NULL;
        const char *s = name ? cstr(r, name, ctx) : NULL;
        if (!s) return false;
        if (strlen(m->key) != m->key_len) return fail(r, &m->value, "%s: a key contains a NUL character", ctx);
        if (!(e[i].key = keep(r, m->key)) || !(e[i].tensor = keep(r, s))) return false;
    }
    *out = e;
    *n_out = (int)map->len;
    return true;
}

static bool read_manifest(reader *r, const json_value *root) {
    const json_value *manifest = json_get(root, "weightsManifest");
    if (manifest && !expect(r, manifest, JSON_ARRAY, "weightsManifest")) return false;
    for (size_t i = 0; i < json_array_len(manifest); i++)
        if (!read_group(r, &manifest->items[i], i)) return false;
    return true;
}

static int cmp_weight(const void *a, const void *b) {
    return strcmp(((const named_weight *)a)->name, ((const named_weight *)b)->name);
}

/* The Keras builder's weight lookup. tfjs matches a layer's weights by
 * "<layer>/<weight>" (their originalName, which leaves out the models that
 * enclose the layer), or by "<layer>/<index>" when the manifest numbers
 * them (models from Keras 3: tfjs' isKerasSavedModelFormat). */
static bool tfjs_weight(void *ctx, const keras_weight_ref *ref, tf_tensor **out) {
    const reader *r = ctx;
    char index[16];
    snprintf(index, sizeof index, "%d", ref->index);
    const char *last = r->layers_numbered ? index : ref->name;
    size_t n = strlen(ref->layer) + strlen(last) + 2;
    char *key = malloc(n);
    if (!key) return fail(r, NULL, "out of memory");
    snprintf(key, n, "%s/%s", ref->layer, last);
    named_weight probe = {.name = key};
    const named_weight *hit = r->n_weights ? bsearch(&probe, r->weights, r->n_weights, sizeof *r->weights, cmp_weight) : NULL;
    free(key);
    *out = hit ? hit->t : NULL;
    return true;
}

/* A Keras layers model: modelTopology is the Keras model config, or holds
 * it as model_config (tensorflowjs_converter's output). */
static bool read_layers_model(reader *r, const json_value *root, const json_value *topology) {
    const json_value *config = json_get(topology, "model_config");
    r->layers = true;
    if (!read_manifest(r, root)) return false;
    if (r->n_weights) {
        const char *first = strrchr(r->weights[0].name, '/');
        r->layers_numbered = first && first[1] >= '0' && first[1] <= '9';
        qsort(r->weights, r->n_weights, sizeof *r->weights, cmp_weight);
    }
    for (size_t i = 1; i < r->n_weights; i++)
        if (strcmp(r->weights[i - 1].name, r->weights[i].name) == 0)
            return fail(r, NULL, "two weights are named \"%.150s\"", r->weights[i].name);
    keras_source src = {.flavor = KERAS_TFJS, .weight = tfjs_weight, .ctx = r};
    if (!keras_build(r->g, config ? config : topology, &src)) {
        kc_error_prefix("%s", r->path);
        return false;
    }
    return true;
}

static bool read_model(reader *r, const json_value *root) {
    if (!expect(r, root, JSON_OBJECT, "the top level")) return false;
    const json_value *format = json_get(root, "format");
    const char *f = NULL;
    if (format && !(f = cstr(r, format, "format"))) return false;
    if (f && strcmp(f, "layers-model") != 0 && strcmp(f, "graph-model") != 0)
        return fail(r, format, "unknown format \"%.40s\" (expected \"graph-model\" or \"layers-model\")", f);
    const json_value *topology = need(r, root, "modelTopology", "the top level");
    if (!topology || !expect(r, topology, JSON_OBJECT, "modelTopology")) return false;
    const json_value *nodes = json_get(topology, "node");
    /* Layers models written before "format" existed have no "node". */
    if ((f && strcmp(f, "layers-model") == 0) ||
        (!f && !nodes && (json_get(topology, "class_name") || json_get(topology, "model_config"))))
        return read_layers_model(r, root, topology);
    if (!nodes) return fail(r, topology, "modelTopology: missing \"node\"");
    if (!expect(r, nodes, JSON_ARRAY, "modelTopology.node")) return false;
    if (nodes->len > TF_MAX_NODES) return fail(r, nodes, "%zu nodes, over the limit of %d", nodes->len, TF_MAX_NODES);
    for (size_t i = 0; i < nodes->len; i++)
        if (!read_node(r, &nodes->items[i], i)) return false;
    if (!index_nodes(r) || !read_manifest(r, root)) return false;

    /* Converters put the signature at the top level or in userDefinedMetadata. */
    const json_value *sig = json_get(root, "signature");
    if (!sig) sig = json_get(json_get(root, "userDefinedMetadata"), "signature");
    if (!sig) return true;
    if (!expect(r, sig, JSON_OBJECT, "signature")) return false;
    tf_graph *g = r->g;
    return read_endpoints(r, json_get(sig, "inputs"), "signature.inputs", &g->sig_inputs, &g->n_sig_inputs) &&
           read_endpoints(r, json_get(sig, "outputs"), "signature.outputs", &g->sig_outputs, &g->n_sig_outputs);
}

tf_graph *read_tfjs(const char *model_json_path) {
    const char *slash = strrchr(model_json_path, '/');
    reader r = {.path = model_json_path, .dir_len = slash ? (size_t)(slash - model_json_path) + 1 : 0};
    uint64_t size = 0;
    if (!file_size(&r, NULL, model_json_path, &size)) return NULL;
    if (size > TFJS_MODEL_JSON_MAX) {
        fail(&r, NULL, "%" PRIu64 " bytes is over the limit of %" PRIu64 " MiB for model.json", size,
             TFJS_MODEL_JSON_MAX >> 20);
        return NULL;
    }
    unsigned char *text = malloc(size ? (size_t)size : 1);
    if (!text) {
        fail(&r, NULL, "out of memory");
        return NULL;
    }
    json_doc *doc = read_exact(&r, NULL, model_json_path, text, size)
                        ? json_parse((const char *)text, (size_t)size, model_json_path)
                        : NULL;
    free(text);
    if (!doc) return NULL;
    r.g = tf_graph_new();
    bool ok = r.g ? read_model(&r, json_root(doc)) : fail(&r, NULL, "out of memory");
    free(r.by_name);
    free(r.weights);
    json_free(doc);
    if (!ok) {
        tf_graph_free(r.g);
        return NULL;
    }
    return r.g;
}
