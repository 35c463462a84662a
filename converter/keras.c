/*
 * keras.c — Keras model configs to TF graph nodes (see keras.h).
 *
 * Each layer call becomes a few ordinary TF nodes ending in an Identity
 * named after the call, so the converter's lowerings, constant folding and
 * pruning apply unchanged. Shapes are not known here (inputs may be resized
 * with --input), so whatever depends on them (Flatten, Reshape, UpSampling,
 * Conv2DTranspose) is computed from a Shape node, which the converter folds;
 * only ranks are tracked, to check axes.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "keras.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

#define KERAS_MAX_NESTING 32
#define KERAS_MAX_OUTPUTS 64 /* outputs of one layer call (a nested model's), as a TF node has at most */
#define KERAS_MAX_DIM (1 << 24)

/* A tensor as the builder knows it: the TF tensor name, rank and TF dtype,
 * and whether Keras would give it a mask (see build_call). */
typedef struct ktensor {
    const char *ref;
    int rank;
    int dtype;
    bool masked;
} ktensor;

typedef struct kcall {
    bool built;
    ktensor *out;
    int n_out;
} kcall;

typedef struct klayer {
    const json_value *entry, *config, *inbound; /* inbound: the inbound_nodes array (functional models) */
    const char *name, *cls;
    int node_offset; /* node index of call 0 in references (see first_call_node) */
    kcall *calls;
    int n_calls;
} klayer;

typedef struct kmodel {
    const char *node_scope;   /* prefix of this model's node names: "" or "<call>/" */
    const char *weight_scope; /* keras_weight_ref.scope for its layers */
    bool top;
    klayer *layers;
    int n_layers;
} kmodel;

typedef struct kname {
    const char *name; /* NULL: free slot */
    bool reserved;    /* a top-level layer's name, kept for its first call */
} kname;

/* A weight already made into a Const, so shared layers use one copy. */
typedef struct kweight {
    const json_value *layer;
    const char *name, *ref;
    const tf_tensor *t;
} kweight;

typedef struct kb {
    tf_graph *g;
    const keras_source *src;
    kname *names;
    size_t names_cap, n_names;
    kweight *weights;
    size_t n_weights, weights_cap;
    bool oom; /* sticky: node helpers do nothing after running out of memory */
    int depth;
} kb;

/* One layer call being built. */
typedef struct kctx {
    kb *b;
    const kmodel *m;
    const klayer *l;
    const char *call; /* the name of the call's result */
    const ktensor *in;
    int n_in;
    ktensor out[KERAS_MAX_OUTPUTS];
    int n_out;
} kctx;

static bool out_of_memory(kb *b) {
    if (!b->oom) kc_error("out of memory");
    b->oom = true;
    return false;
}

static bool kfail(const kctx *c, const char *fmt, ...) KC_PRINTF(2, 3);

static bool kfail(const kctx *c, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kc_error("layer '%s%s' (%s): %s", c->m->weight_scope, c->l->name, c->l->cls, msg);
    return false;
}

/* ---- names ------------------------------------------------------------------ */

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static kname *name_slot(kb *b, const char *name) {
    for (size_t i = hash_str(name) & (b->names_cap - 1);; i = (i + 1) & (b->names_cap - 1))
        if (!b->names[i].name || strcmp(b->names[i].name, name) == 0) return &b->names[i];
}

/* Adds a name known to be absent; it is copied into the graph's pool. */
static const char *name_add(kb *b, const char *name, bool reserved) {
    if (b->n_names * 2 >= b->names_cap) {
        size_t cap = b->names_cap ? b->names_cap * 2 : 256;
        kname *old = b->names, *grown = calloc(cap, sizeof *grown);
        size_t old_cap = b->names_cap;
        if (!grown) return out_of_memory(b), NULL;
        b->names = grown;
        b->names_cap = cap;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].name) *name_slot(b, old[i].name) = old[i];
        free(old);
    }
    char *copy = tf_strdup(b->g, name);
    if (!copy) return out_of_memory(b), NULL;
    kname *s = name_slot(b, copy);
    s->name = copy;
    s->reserved = reserved;
    b->n_names++;
    return copy;
}

static kname *name_find(kb *b, const char *name) {
    if (!b->names_cap) return NULL;
    kname *s = name_slot(b, name);
    return s->name ? s : NULL;
}

/* `base` if no node has it yet, else base_1, base_2, ... */
static const char *unique_name(kb *b, const char *base) {
    if (b->oom) return NULL;
    if (!name_find(b, base)) return name_add(b, base, false);
    size_t n = strlen(base) + 24;
    char *buf = malloc(n);
    if (!buf) return out_of_memory(b), NULL;
    const char *got = NULL;
    for (unsigned k = 1; !got; k++) {
        snprintf(buf, n, "%s_%u", base, k);
        if (!name_find(b, buf)) got = name_add(b, buf, false);
        if (b->oom) break;
    }
    free(buf);
    return got;
}

/* a + b (+ c) in the graph's pool. */
static const char *concat3(kb *b, const char *x, const char *y, const char *z) {
    size_t nx = strlen(x), ny = strlen(y), nz = strlen(z);
    char *s = tf_alloc(b->g, nx + ny + nz + 1);
    if (!s) return out_of_memory(b), NULL;
    memcpy(s, x, nx);
    memcpy(s + nx, y, ny);
    memcpy(s + nx + ny, z, nz);
    return s;
}

/* ---- nodes ------------------------------------------------------------------ */

/* A node with exactly this (already claimed) name; NULL if an input is
 * missing (an earlier failure) or on OOM. Valid until the next node. */
static tf_node *add_node(kb *b, const char *name, const char *op, int n_in, const char *const *in) {
    if (b->oom || !name) return NULL;
    for (int i = 0; i < n_in; i++)
        if (!in[i]) return NULL;
    tf_node *n = tf_graph_add_node(b->g);
    const char **inputs = n ? tf_alloc(b->g, sizeof *inputs * (size_t)(n_in ? n_in : 1)) : NULL;
    if (!inputs) return out_of_memory(b), NULL;
    if (n_in) memcpy(inputs, in, sizeof *inputs * (size_t)n_in);
    n->name = name;
    n->op = op;
    n->inputs = inputs;
    n->n_inputs = n_in;
    return n;
}

/* A node named "<call>/<suffix>" (made unique). */
static tf_node *node(kctx *c, const char *suffix, const char *op, int n_in, const char *const *in) {
    kb *b = c->b;
    if (b->oom) return NULL;
    const char *base = concat3(b, c->call, "/", suffix);
    return add_node(b, base ? unique_name(b, base) : NULL, op, n_in, in);
}

static tf_attr *attr(kb *b, tf_node *n, const char *name, tf_attr_kind kind) {
    if (!n) return NULL;
    tf_attr *a = tf_node_add_attr(b->g, n, name);
    if (!a) return out_of_memory(b), NULL;
    a->kind = kind;
    return a;
}

static void attr_s(kb *b, tf_node *n, const char *name, const char *value) {
    tf_attr *a = attr(b, n, name, TF_ATTR_S);
    if (a) a->s = value, a->s_len = strlen(value);
}

static void attr_i(kb *b, tf_node *n, const char *name, int64_t value) {
    tf_attr *a = attr(b, n, name, TF_ATTR_I);
    if (a) a->i = value;
}

static void attr_f(kb *b, tf_node *n, const char *name, float value) {
    tf_attr *a = attr(b, n, name, TF_ATTR_F);
    if (a) a->f = value;
}

static void attr_b(kb *b, tf_node *n, const char *name, bool value) {
    tf_attr *a = attr(b, n, name, TF_ATTR_B);
    if (a) a->b = value;
}

static void attr_type(kb *b, tf_node *n, const char *name, int dtype) {
    tf_attr *a = attr(b, n, name, TF_ATTR_TYPE);
    if (a) a->type = dtype;
}

static void attr_ints(kb *b, tf_node *n, const char *name, int count, const int64_t *values) {
    tf_attr *a = attr(b, n, name, TF_ATTR_LIST);
    if (!a) return;
    if (!(a->list_i = tf_alloc(b->g, sizeof *a->list_i * (size_t)count))) {
        out_of_memory(b);
        return;
    }
    memcpy(a->list_i, values, sizeof *a->list_i * (size_t)count);
    a->n_i = (size_t)count;
}

/* [1, h, w, 1], as TF's NHWC strides, dilations and ksize. */
static void attr_hw(kb *b, tf_node *n, const char *name, const int64_t *hw) {
    attr_ints(b, n, name, 4, (int64_t[]){1, hw[0], hw[1], 1});
}

static const char *name_of(const tf_node *n) { return n ? n->name : NULL; }

static const char *op1(kctx *c, const char *op, const char *x) { return name_of(node(c, op, op, 1, &x)); }

static const char *op2(kctx *c, const char *op, const char *x, const char *y) {
    return name_of(node(c, op, op, 2, (const char *[]){x, y}));
}

static const char *const_node(kctx *c, const char *suffix, tf_tensor *t) {
    tf_node *n = node(c, suffix, "Const", 0, NULL);
    attr_type(c->b, n, "dtype", t->dtype);
    tf_attr *a = attr(c->b, n, "value", TF_ATTR_TENSOR);
    if (a) a->tensor = t;
    return name_of(n);
}

/* A Const of `count` elements of `size` bytes copied from data, shaped dims[0..rank). */
static const char *const_of(kctx *c, const char *suffix, int dtype, int rank, const int64_t *dims, const void *data) {
    kb *b = c->b;
    if (b->oom) return NULL;
    tf_tensor *t = tf_alloc(b->g, sizeof *t);
    int64_t count = 1;
    for (int i = 0; i < rank; i++) count *= dims[i];
    size_t nbytes = (size_t)count * tf_dtype_size(dtype);
    if (!t || !(t->data = tf_alloc(b->g, nbytes ? nbytes : 1))) return out_of_memory(b), NULL;
    t->dtype = dtype;
    t->shape.rank = rank;
    if (rank) memcpy(t->shape.dims, dims, sizeof *dims * (size_t)rank);
    memcpy(t->data, data, nbytes);
    t->nbytes = nbytes;
    return const_node(c, suffix, t);
}

static const char *const_ints(kctx *c, const char *suffix, int n, const int32_t *v) {
    return const_of(c, suffix, TF_DT_INT32, 1, (int64_t[]){n}, v);
}

static const char *const_int(kctx *c, const char *suffix, int32_t v) {
    return const_of(c, suffix, TF_DT_INT32, 0, NULL, &v);
}

static const char *const_float(kctx *c, const char *suffix, float v) {
    return const_of(c, suffix, TF_DT_FLOAT, 0, NULL, &v);
}

/* The call's result: an Identity named after the call. */
static bool finish(kctx *c, const char *y, int rank, int dtype) {
    if (!add_node(c->b, c->call, "Identity", 1, &y)) return c->b->oom ? false : out_of_memory(c->b);
    c->out[0] = (ktensor){c->call, rank, dtype, false};
    c->n_out = 1;
    return true;
}

/* The call's n (2 to KERAS_MAX_OUTPUTS) results: an IdentityN named after
 * the call, whose outputs are "call", "call:1", ... */
static bool finish_n(kctx *c, int n, const ktensor *y) {
    kb *b = c->b;
    const char *refs[KERAS_MAX_OUTPUTS] = {0};
    for (int i = 0; i < n; i++) refs[i] = y[i].ref;
    if (!add_node(b, c->call, "IdentityN", n, refs)) return b->oom ? false : out_of_memory(b);
    for (int i = 0; i < n; i++) {
        char suffix[16];
        snprintf(suffix, sizeof suffix, ":%d", i);
        c->out[i] = (ktensor){i ? concat3(b, c->call, suffix, "") : c->call, y[i].rank, y[i].dtype, y[i].masked};
        if (!c->out[i].ref) return false;
    }
    c->n_out = n;
    return true;
}

/* ---- config values ------------------------------------------------------------ */

static const json_value *cfg(const kctx *c, const char *key) {
    const json_value *v = json_get(c->l->config, key);
    return v && v->type != JSON_NULL ? v : NULL;
}

static bool cfg_bool(const kctx *c, const char *key, bool def, bool *out) {
    const json_value *v = cfg(c, key);
    *out = def;
    if (!v) return true;
    if (v->type != JSON_BOOL) return kfail(c, "'%s' must be true or false", key);
    *out = v->b;
    return true;
}

static bool cfg_float(const kctx *c, const char *key, double def, double *out) {
    const json_value *v = cfg(c, key);
    *out = def;
    if (v && !json_number(v, out)) return kfail(c, "'%s' must be a number", key);
    return true;
}

static bool cfg_str(const kctx *c, const char *key, const char *def, const char **out) {
    const json_value *v = cfg(c, key);
    *out = def;
    if (v && !(*out = json_string(v))) return kfail(c, "'%s' must be a string", key);
    return true;
}

/* An integer in [lo, hi]; `required` if it has no default. */
static bool cfg_int(const kctx *c, const char *key, bool required, int64_t def, int64_t lo, int64_t hi, int64_t *out) {
    const json_value *v = cfg(c, key);
    *out = def;
    if (!v) return required ? kfail(c, "missing '%s'", key) : true;
    if (!json_int64(v, out) || *out < lo || *out > hi)
        return kfail(c, "'%s' must be an integer from %" PRId64 " to %" PRId64, key, lo, hi);
    return true;
}

/* n integers in [lo, hi], given as one number (for all) or a list of n;
 * `def` (>= lo) for all when absent, or required if def < lo. */
static bool cfg_ints(const kctx *c, const char *key, int n, int64_t def, int64_t lo, int64_t hi, int64_t *out) {
    const json_value *v = cfg(c, key);
    for (int i = 0; i < n; i++) out[i] = def;
    if (!v) return def >= lo ? true : kfail(c, "missing '%s'", key);
    bool ok = json_int64(v, &out[0]);
    for (int i = 1; ok && i < n; i++) out[i] = out[0];
    if (!ok && json_array_len(v) == (size_t)n) {
        ok = true;
        for (int i = 0; ok && i < n; i++) ok = json_int64(json_at(v, (size_t)i), &out[i]);
    }
    for (int i = 0; ok && i < n; i++) ok = out[i] >= lo && out[i] <= hi;
    if (!ok)
        return kfail(c, "'%s' must be %d integer%s from %" PRId64 " to %" PRId64, key, n, n > 1 ? "s" : "", lo, hi);
    return true;
}

/* Padding or cropping amounts for n spatial dims: one number for all, a
 * list of n (each before and after), or a list of n [before, after] pairs
 * (for n == 1, a plain [before, after]). */
static bool cfg_pairs(const kctx *c, const char *key, int n, int64_t def, int64_t (*out)[2]) {
    const json_value *v = cfg(c, key);
    int64_t x;
    for (int i = 0; i < n; i++) out[i][0] = out[i][1] = def;
    if (!v) return true;
    bool ok = true;
    if (json_int64(v, &x)) {
        for (int i = 0; i < n; i++) out[i][0] = out[i][1] = x;
    } else if (n == 1 && json_array_len(v) == 2) {
        ok = json_int64(json_at(v, 0), &out[0][0]) && json_int64(json_at(v, 1), &out[0][1]);
    } else if (json_array_len(v) == (size_t)n) {
        for (int i = 0; ok && i < n; i++) {
            const json_value *p = json_at(v, (size_t)i);
            if (json_int64(p, &x))
                out[i][0] = out[i][1] = x;
            else
                ok = json_array_len(p) == 2 && json_int64(json_at(p, 0), &out[i][0]) &&
                     json_int64(json_at(p, 1), &out[i][1]);
        }
    } else {
        ok = false;
    }
    for (int i = 0; ok && i < n; i++)
        ok = out[i][0] >= 0 && out[i][1] >= 0 && out[i][0] <= KERAS_MAX_DIM && out[i][1] <= KERAS_MAX_DIM;
    if (!ok) return kfail(c, "'%s' must be a number, %d numbers or %d [before, after] pairs, all >= 0", key, n, n);
    return true;
}

static bool channels_last(const kctx *c) {
    const char *f;
    if (!cfg_str(c, "data_format", "channels_last", &f)) return false;
    if (strcmp(f, "channels_last") != 0)
        return kfail(c, "data_format '%s' is not supported (only channels_last, TensorFlow's default)", f);
    return true;
}

/* Keras padding names to TF's. */
static bool cfg_padding(const kctx *c, bool causal_ok, const char **tf_padding, bool *causal) {
    const char *p;
    if (!cfg_str(c, "padding", "valid", &p)) return false;
    *causal = false;
    if (strcmp(p, "same") == 0) {
        *tf_padding = "SAME";
    } else if (strcmp(p, "valid") == 0) {
        *tf_padding = "VALID";
    } else if (causal_ok && strcmp(p, "causal") == 0) {
        *tf_padding = "VALID";
        *causal = true;
    } else {
        return kfail(c, "padding '%s' is not supported (same, valid%s)", p, causal_ok ? " or causal" : "");
    }
    return true;
}

/* One input of rank lo..hi. */
static bool one_input(const kctx *c, int lo, int hi) {
    if (c->n_in != 1) return kfail(c, "expected 1 input, got %d", c->n_in);
    int r = c->in[0].rank;
    if (r < lo || r > hi) {
        if (lo == hi) return kfail(c, "expected a %d-D input, got %d-D", lo, r);
        return kfail(c, "expected an input of rank %d to %d, got %d-D", lo, hi, r);
    }
    return true;
}

/* ---- weights ------------------------------------------------------------------ */

typedef struct kw {
    const char *ref;
    const tf_tensor *t;
} kw;

static void format_shape(char *buf, size_t n, int rank, const int64_t *dims) {
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && len < n; i++)
        len += (size_t)(dims[i] < 0 ? snprintf(buf + len, n - len, "%s*", i ? "," : "")
                                    : snprintf(buf + len, n - len, "%s%" PRId64, i ? "," : "", dims[i]));
    if (len < n) snprintf(buf + len, n - len, "]");
}

/* The layer's weight `name` (its index-th in Keras order) as a Const,
 * float32 and of the given rank and dims (-1: any), made once per layer. */
static bool weight(kctx *c, const char *name, int index, int rank, const int64_t *dims, kw *w) {
    kb *b = c->b;
    for (size_t i = 0; i < b->n_weights; i++) {
        const kweight *k = &b->weights[i];
        if (k->layer == c->l->entry && strcmp(k->name, name) == 0) {
            *w = (kw){k->ref, k->t};
            return true;
        }
    }
    keras_weight_ref ref = {c->m->weight_scope, c->l->name, name, index};
    tf_tensor *t = NULL;
    if (!b->src->weight(b->src->ctx, &ref, &t)) {
        kc_error_prefix("layer '%s%s' (%s)", c->m->weight_scope, c->l->name, c->l->cls);
        return false;
    }
    if (!t) return kfail(c, "the weights have no '%s' (weight %d of the layer)", name, index);
    if (t->dtype != TF_DT_FLOAT || !t->data || t->shape.unknown_rank)
        return kfail(c, "weight '%s' must be float32 with known values and shape", name);
    bool ok = t->shape.rank == rank;
    for (int i = 0; ok && i < rank; i++) ok = dims[i] < 0 || t->shape.dims[i] == dims[i];
    if (!ok) {
        char got[160], want[160];
        format_shape(got, sizeof got, t->shape.rank, t->shape.dims);
        format_shape(want, sizeof want, rank, dims);
        return kfail(c, "weight '%s' has shape %s, expected %s", name, got, want);
    }
    /* One Const, "<layer>/<weight>", that every call of the layer uses. */
    kctx owner = *c;
    owner.call = concat3(b, c->m->node_scope, c->l->name, "");
    w->t = t;
    w->ref = owner.call ? const_node(&owner, name, t) : NULL;
    if (!w->ref) return b->oom ? false : out_of_memory(b);
    if (b->n_weights == b->weights_cap) {
        size_t cap = b->weights_cap ? b->weights_cap * 2 : 64;
        kweight *grown = realloc(b->weights, sizeof *grown * cap);
        if (!grown) return out_of_memory(b);
        b->weights = grown;
        b->weights_cap = cap;
    }
    b->weights[b->n_weights++] = (kweight){c->l->entry, name, w->ref, t};
    return true;
}

/* ---- activations -------------------------------------------------------------- */

static const char *const activation_names[] = {
    "linear",  "relu",     "relu6",    "elu",   "selu", "sigmoid", "hard_sigmoid", "tanh",
    "softmax", "softplus", "softsign", "swish", "silu", "gelu",    "exponential",  "leaky_relu",
};

/* An activation named by config `key` (missing or null: def), checked. */
static bool cfg_act(const kctx *c, const char *key, const char *def, const char **out) {
    if (!cfg_str(c, key, def, out)) return false;
    for (size_t i = 0; i < sizeof activation_names / sizeof activation_names[0]; i++)
        if (strcmp(*out, activation_names[i]) == 0) return true;
    return kfail(c, "%s '%s' is not supported", key, *out);
}

/* The layer's "activation" (missing or null: linear). */
static bool cfg_activation(const kctx *c, const char **out) { return cfg_act(c, "activation", "linear", out); }

static const char *softmax(kctx *c, const char *x, int rank, int axis) {
    if (axis == rank - 1) return op1(c, "Softmax", x);
    /* TF's Softmax works on the last axis: swap `axis` there and back. */
    int32_t perm[TF_MAX_RANK];
    for (int i = 0; i < rank; i++) perm[i] = i;
    perm[axis] = rank - 1;
    perm[rank - 1] = axis;
    const char *p = const_ints(c, "perm", rank, perm);
    return op2(c, "Transpose", op1(c, "Softmax", op2(c, "Transpose", x, p)), p);
}

/* Applies a checked activation to x of rank `rank`. */
static const char *activation(kctx *c, const char *x, int rank, const char *act) {
    keras_flavor flavor = c->b->src->flavor;
    static const struct {
        const char *keras, *tf;
    } plain[] = {{"relu", "Relu"},         {"relu6", "Relu6"},       {"elu", "Elu"},
                 {"selu", "Selu"},         {"sigmoid", "Sigmoid"},   {"tanh", "Tanh"},
                 {"softplus", "Softplus"}, {"softsign", "Softsign"}, {"exponential", "Exp"}};
    if (strcmp(act, "linear") == 0) return x;
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (strcmp(act, plain[i].keras) == 0) return op1(c, plain[i].tf, x);
    if (strcmp(act, "softmax") == 0) return softmax(c, x, rank, rank - 1);
    if (strcmp(act, "swish") == 0 || strcmp(act, "silu") == 0) return op2(c, "Mul", x, op1(c, "Sigmoid", x));
    if (strcmp(act, "leaky_relu") == 0) { /* Keras 3's activation function, slope 0.2 */
        tf_node *n = node(c, "LeakyRelu", "LeakyRelu", 1, &x);
        attr_f(c->b, n, "alpha", 0.2f);
        return name_of(n);
    }
    if (strcmp(act, "gelu") == 0) { /* exact: 0.5 x (1 + erf(x / sqrt 2)) */
        const char *e = op1(c, "Erf", op2(c, "RealDiv", x, const_float(c, "sqrt2", 1.41421356237309515f)));
        const char *cdf = op2(c, "Mul", const_float(c, "half", 0.5f), op2(c, "AddV2", const_float(c, "one", 1), e));
        return op2(c, "Mul", x, cdf);
    }
    /* hard_sigmoid */
    if (flavor == KERAS_3)
        return op2(c, "RealDiv", op1(c, "Relu6", op2(c, "AddV2", x, const_float(c, "three", 3))),
                   const_float(c, "six", 6));
    const char *y = op2(c, "AddV2", op2(c, "Mul", x, const_float(c, "slope", 0.2f)), const_float(c, "half", 0.5f));
    return op2(c, "Minimum", op2(c, "Maximum", y, const_float(c, "zero", 0)), const_float(c, "one", 1));
}

/* ---- layers ------------------------------------------------------------------- */

static const char *shape_of(kctx *c, const char *x) {
    tf_node *n = node(c, "Shape", "Shape", 1, &x);
    attr_type(c->b, n, "out_type", TF_DT_INT32);
    return name_of(n);
}

static const char *strided_slice(kctx *c, const char *x, int rank, const int32_t *begin, const int32_t *end,
                                 int64_t begin_mask, int64_t end_mask) {
    int32_t ones[TF_MAX_RANK] = {1, 1, 1, 1, 1, 1, 1, 1};
    const char *b0 = const_ints(c, "begin", rank, begin), *e0 = const_ints(c, "end", rank, end);
    const char *s0 = const_ints(c, "strides", rank, ones);
    tf_node *n = node(c, "StridedSlice", "StridedSlice", 4, (const char *[]){x, b0, e0, s0});
    attr_i(c->b, n, "begin_mask", begin_mask);
    attr_i(c->b, n, "end_mask", end_mask);
    attr_i(c->b, n, "ellipsis_mask", 0);
    attr_i(c->b, n, "new_axis_mask", 0);
    attr_i(c->b, n, "shrink_axis_mask", 0);
    return name_of(n);
}

/* Shape(x)[begin:end], which the converter folds to a constant. */
static const char *shape_slice(kctx *c, const char *x, int begin, int end) {
    return strided_slice(c, shape_of(c, x), 1, (int32_t[]){begin}, (int32_t[]){end}, 0, 0);
}

/* x reshaped to [batch, dims...] (dims may hold one -1). */
static const char *reshape_batch(kctx *c, const char *x, int n, const int32_t *dims) {
    const char *batch = shape_slice(c, x, 0, 1), *rest = const_ints(c, "shape", n, dims);
    tf_node *cat = node(c, "ConcatV2", "ConcatV2", 3, (const char *[]){batch, rest, const_int(c, "axis", 0)});
    attr_i(c->b, cat, "N", 2);
    return op2(c, "Reshape", x, name_of(cat));
}

static const char *expand_dims(kctx *c, const char *x, int axis) {
    return op2(c, "ExpandDims", x, const_int(c, "dim", axis));
}

static const char *squeeze(kctx *c, const char *x, int axis) {
    tf_node *n = node(c, "Squeeze", "Squeeze", 1, &x);
    attr_ints(c->b, n, "squeeze_dims", 1, (int64_t[]){axis});
    return name_of(n);
}

/* Zero padding of x (rank `rank`) by pads[d] = {before, after}. */
static const char *pad(kctx *c, const char *x, int rank, const int64_t (*pads)[2]) {
    int32_t p[2 * TF_MAX_RANK];
    for (int d = 0; d < rank; d++) p[2 * d] = (int32_t)pads[d][0], p[2 * d + 1] = (int32_t)pads[d][1];
    return op2(c, "Pad", x, const_of(c, "paddings", TF_DT_INT32, 2, (int64_t[]){rank, 2}, p));
}

/* `n` copies of v, shaped [n]. */
static const char *const_fill(kctx *c, const char *suffix, int64_t n, float v) {
    float *data = malloc(sizeof *data * (size_t)(n ? n : 1));
    if (!data) return out_of_memory(c->b), NULL;
    for (int64_t i = 0; i < n; i++) data[i] = v;
    const char *ref = const_of(c, suffix, TF_DT_FLOAT, 1, &n, data);
    free(data);
    return ref;
}

static bool identity_layer(kctx *c) {
    if (!one_input(c, 0, TF_MAX_RANK)) return false;
    return finish(c, c->in[0].ref, c->in[0].rank, c->in[0].dtype);
}

/* ---- convolutions ---- */

typedef struct conv_cfg {
    int64_t filters;
    int64_t kernel[2], strides[2], dilation[2]; /* n spatial dims; a 1-D conv fills [0] */
    const char *padding, *act;
    bool causal, use_bias;
} conv_cfg;

static bool conv_config(kctx *c, int n, bool has_filters, bool causal_ok, conv_cfg *k) {
    int64_t groups;
    k->filters = 0;
    if (!channels_last(c) || (has_filters && !cfg_int(c, "filters", true, 0, 1, KERAS_MAX_DIM, &k->filters)) ||
        !cfg_ints(c, "kernel_size", n, 0, 1, 1 << 16, k->kernel) ||
        !cfg_ints(c, "strides", n, 1, 1, 1 << 16, k->strides) ||
        !cfg_ints(c, "dilation_rate", n, 1, 1, 1 << 16, k->dilation) ||
        !cfg_padding(c, causal_ok, &k->padding, &k->causal) || !cfg_bool(c, "use_bias", true, &k->use_bias) ||
        !cfg_activation(c, &k->act) || !cfg_int(c, "groups", false, 1, 1, KERAS_MAX_DIM, &groups))
        return false;
    if (groups != 1) return kfail(c, "groups=%" PRId64 " (grouped convolution) is not supported", groups);
    return true;
}

static void conv_attrs(kctx *c, tf_node *n, const int64_t *strides, const int64_t *dilations, const char *padding) {
    attr_hw(c->b, n, "strides", strides);
    attr_hw(c->b, n, "dilations", dilations);
    attr_s(c->b, n, "padding", padding);
}

/* Bias and activation after a convolution; the call's result. */
static bool conv_tail(kctx *c, const char *y, const conv_cfg *k, const kw *bias, int rank) {
    if (k->use_bias) y = op2(c, "BiasAdd", y, bias->ref);
    return finish(c, activation(c, y, rank, k->act), rank, TF_DT_FLOAT);
}

static bool conv_bias(kctx *c, const conv_cfg *k, int index, int64_t n, kw *bias) {
    return !k->use_bias || weight(c, "bias", index, 1, &n, bias);
}

static bool l_conv2d(kctx *c) {
    conv_cfg k;
    kw w, bias = {0};
    if (!one_input(c, 4, 4) || !conv_config(c, 2, true, false, &k) ||
        !weight(c, "kernel", 0, 4, (int64_t[]){k.kernel[0], k.kernel[1], -1, k.filters}, &w) ||
        !conv_bias(c, &k, 1, k.filters, &bias))
        return false;
    tf_node *n = node(c, "Conv2D", "Conv2D", 2, (const char *[]){c->in[0].ref, w.ref});
    conv_attrs(c, n, k.strides, k.dilation, k.padding);
    return conv_tail(c, name_of(n), &k, &bias, 4);
}

/* As a Conv2D over [batch, 1, steps, channels] with the kernel as [1, k, in, filters]. */
static bool l_conv1d(kctx *c) {
    conv_cfg k;
    kw w, bias = {0};
    if (!one_input(c, 3, 3) || !conv_config(c, 1, true, true, &k) ||
        !weight(c, "kernel", 0, 3, (int64_t[]){k.kernel[0], -1, k.filters}, &w) ||
        !conv_bias(c, &k, 1, k.filters, &bias))
        return false;
    const char *x = c->in[0].ref;
    if (k.causal) /* pad the past only, so step t sees steps <= t */
        x = pad(c, x, 3, (const int64_t[][2]){{0, 0}, {k.dilation[0] * (k.kernel[0] - 1), 0}, {0, 0}});
    const char *x4 = expand_dims(c, x, 1), *w4 = expand_dims(c, w.ref, 0);
    tf_node *n = node(c, "Conv2D", "Conv2D", 2, (const char *[]){x4, w4});
    conv_attrs(c, n, (int64_t[]){1, k.strides[0]}, (int64_t[]){1, k.dilation[0]}, k.padding);
    return conv_tail(c, squeeze(c, name_of(n), 1), &k, &bias, 3);
}

static bool l_depthwise(kctx *c) {
    conv_cfg k;
    int64_t mult;
    kw w, bias = {0};
    if (!one_input(c, 4, 4) || !conv_config(c, 2, false, false, &k) ||
        !cfg_int(c, "depth_multiplier", false, 1, 1, KERAS_MAX_DIM, &mult) ||
        !weight(c, c->b->src->flavor == KERAS_3 ? "kernel" : "depthwise_kernel", 0, 4,
                (int64_t[]){k.kernel[0], k.kernel[1], -1, mult}, &w) ||
        !conv_bias(c, &k, 1, -1, &bias))
        return false;
    tf_node *n = node(c, "DepthwiseConv2dNative", "DepthwiseConv2dNative", 2, (const char *[]){c->in[0].ref, w.ref});
    conv_attrs(c, n, k.strides, k.dilation, k.padding);
    return conv_tail(c, name_of(n), &k, &bias, 4);
}

/* A depthwise convolution (with the strides and dilations) then a 1x1 convolution. */
static bool l_separable(kctx *c) {
    conv_cfg k;
    int64_t mult, one[2] = {1, 1};
    kw dw, pw, bias = {0};
    if (!one_input(c, 4, 4) || !conv_config(c, 2, true, false, &k) ||
        !cfg_int(c, "depth_multiplier", false, 1, 1, KERAS_MAX_DIM, &mult) ||
        !weight(c, "depthwise_kernel", 0, 4, (int64_t[]){k.kernel[0], k.kernel[1], -1, mult}, &dw) ||
        !weight(c, "pointwise_kernel", 1, 4, (int64_t[]){1, 1, -1, k.filters}, &pw) ||
        !conv_bias(c, &k, 2, k.filters, &bias))
        return false;
    tf_node *n = node(c, "DepthwiseConv2dNative", "DepthwiseConv2dNative", 2, (const char *[]){c->in[0].ref, dw.ref});
    conv_attrs(c, n, k.strides, k.dilation, k.padding);
    const char *y = name_of(n);
    n = node(c, "Conv2D", "Conv2D", 2, (const char *[]){y, pw.ref});
    conv_attrs(c, n, one, one, "VALID");
    return conv_tail(c, name_of(n), &k, &bias, 4);
}

/* Conv2DBackpropInput, whose output size Keras computes (deconv_output_length)
 * as in * stride + extra for each spatial dim. */
static bool l_conv2d_transpose(kctx *c) {
    conv_cfg k;
    int64_t out_pad[2];
    kw w, bias = {0};
    bool has_out_pad = cfg(c, "output_padding") != NULL;
    if (!one_input(c, 4, 4) || !conv_config(c, 2, true, false, &k) ||
        (has_out_pad && !cfg_ints(c, "output_padding", 2, 0, 0, 1 << 16, out_pad)) ||
        !weight(c, "kernel", 0, 4, (int64_t[]){k.kernel[0], k.kernel[1], k.filters, -1}, &w) ||
        !conv_bias(c, &k, 1, k.filters, &bias))
        return false;
    bool same = strcmp(k.padding, "SAME") == 0;
    int32_t mul[4] = {1, 1, 1, 0}, add[4] = {0, 0, 0, (int32_t)k.filters};
    for (int d = 0; d < 2; d++) {
        int64_t span = (k.kernel[d] - 1) * k.dilation[d] + 1, extra;
        if (!has_out_pad)
            extra = same ? 0 : span > k.strides[d] ? span - k.strides[d] : 0;
        else
            extra = span - k.strides[d] - 2 * (same ? span / 2 : 0) + out_pad[d];
        mul[d + 1] = (int32_t)k.strides[d];
        add[d + 1] = (int32_t)extra;
    }
    const char *x = c->in[0].ref;
    const char *sizes =
        op2(c, "AddV2", op2(c, "Mul", shape_of(c, x), const_ints(c, "stride", 4, mul)), const_ints(c, "extra", 4, add));
    tf_node *n = node(c, "Conv2DBackpropInput", "Conv2DBackpropInput", 3, (const char *[]){sizes, w.ref, x});
    conv_attrs(c, n, k.strides, k.dilation, k.padding);
    return conv_tail(c, name_of(n), &k, &bias, 4);
}

static bool l_dense(kctx *c) {
    int64_t units;
    bool use_bias;
    const char *act;
    kw w, bias = {0};
    if (!one_input(c, 2, TF_MAX_RANK) || !cfg_int(c, "units", true, 0, 1, KERAS_MAX_DIM, &units) ||
        !cfg_bool(c, "use_bias", true, &use_bias) || !cfg_activation(c, &act) ||
        !weight(c, "kernel", 0, 2, (int64_t[]){-1, units}, &w) || (use_bias && !weight(c, "bias", 1, 1, &units, &bias)))
        return false;
    const ktensor *x = &c->in[0];
    /* Dense contracts the last axis; BatchMatMulV2 broadcasts the kernel over the others. */
    const char *y = op2(c, x->rank == 2 ? "MatMul" : "BatchMatMulV2", x->ref, w.ref);
    if (use_bias) y = op2(c, "BiasAdd", y, bias.ref);
    return finish(c, activation(c, y, x->rank, act), x->rank, TF_DT_FLOAT);
}

/* ---- pooling ---- */

static bool pool_config(kctx *c, int n, int64_t *size, int64_t *strides, const char **padding) {
    bool causal;
    if (!channels_last(c) || !cfg_ints(c, "pool_size", n, 2, 1, 1 << 16, size) ||
        !cfg_padding(c, false, padding, &causal))
        return false;
    if (!cfg(c, "strides")) { /* Keras: strides default to the pool size */
        memcpy(strides, size, sizeof *size * (size_t)n);
        return true;
    }
    return cfg_ints(c, "strides", n, 0, 1, 1 << 16, strides);
}

static bool pool2d(kctx *c, const char *op) {
    int64_t size[2], strides[2];
    const char *padding;
    if (!one_input(c, 4, 4) || !pool_config(c, 2, size, strides, &padding)) return false;
    tf_node *n = node(c, op, op, 1, &c->in[0].ref);
    attr_hw(c->b, n, "ksize", size);
    attr_hw(c->b, n, "strides", strides);
    attr_s(c->b, n, "padding", padding);
    return finish(c, name_of(n), 4, TF_DT_FLOAT);
}

/* Over [batch, 1, steps, channels]. */
static bool pool1d(kctx *c, const char *op) {
    int64_t size, strides;
    const char *padding;
    if (!one_input(c, 3, 3) || !pool_config(c, 1, &size, &strides, &padding)) return false;
    const char *x4 = expand_dims(c, c->in[0].ref, 1);
    tf_node *n = node(c, op, op, 1, &x4);
    attr_hw(c->b, n, "ksize", (int64_t[]){1, size});
    attr_hw(c->b, n, "strides", (int64_t[]){1, strides});
    attr_s(c->b, n, "padding", padding);
    return finish(c, squeeze(c, name_of(n), 1), 3, TF_DT_FLOAT);
}

static bool l_maxpool2d(kctx *c) { return pool2d(c, "MaxPool"); }
static bool l_avgpool2d(kctx *c) { return pool2d(c, "AvgPool"); }
static bool l_maxpool1d(kctx *c) { return pool1d(c, "MaxPool"); }
static bool l_avgpool1d(kctx *c) { return pool1d(c, "AvgPool"); }

/* A reduction over the spatial axes 1 .. rank-2. */
static bool global_pool(kctx *c, const char *op, int rank) {
    bool keep;
    if (!one_input(c, rank, rank) || !channels_last(c) || !cfg_bool(c, "keepdims", false, &keep)) return false;
    const char *axes = const_ints(c, "axes", rank - 2, (int32_t[]){1, 2});
    tf_node *n = node(c, op, op, 2, (const char *[]){c->in[0].ref, axes});
    attr_b(c->b, n, "keep_dims", keep);
    return finish(c, name_of(n), keep ? rank : 2, TF_DT_FLOAT);
}

static bool l_gap2d(kctx *c) { return global_pool(c, "Mean", 4); }
static bool l_gmp2d(kctx *c) { return global_pool(c, "Max", 4); }
static bool l_gap1d(kctx *c) { return global_pool(c, "Mean", 3); }
static bool l_gmp1d(kctx *c) { return global_pool(c, "Max", 3); }

/* ---- padding, cropping, resizing ---- */

static bool zero_padding(kctx *c, int n) {
    int64_t p[TF_MAX_RANK][2] = {{0}};
    if (!one_input(c, n + 2, n + 2) || !channels_last(c) || !cfg_pairs(c, "padding", n, 1, p + 1)) return false;
    return finish(c, pad(c, c->in[0].ref, n + 2, (const int64_t(*)[2])p), n + 2, c->in[0].dtype);
}

static bool l_zeropad1d(kctx *c) { return zero_padding(c, 1); }
static bool l_zeropad2d(kctx *c) { return zero_padding(c, 2); }

/* A StridedSlice whose ends count from the end (a 0 crop ends at the end). */
static bool cropping(kctx *c, int n) {
    int64_t p[2][2];
    int rank = n + 2;
    if (!one_input(c, rank, rank) || !channels_last(c) || !cfg_pairs(c, "cropping", n, 0, p)) return false;
    int32_t begin[4] = {0}, end[4] = {0};
    int64_t outer = 1 | 1 << (rank - 1), end_mask = outer;
    for (int d = 0; d < n; d++) {
        begin[d + 1] = (int32_t)p[d][0];
        end[d + 1] = (int32_t)-p[d][1];
        if (p[d][1] == 0) end_mask |= 1 << (d + 1);
    }
    return finish(c, strided_slice(c, c->in[0].ref, rank, begin, end, outer, end_mask), rank, c->in[0].dtype);
}

static bool l_crop1d(kctx *c) { return cropping(c, 1); }
static bool l_crop2d(kctx *c) { return cropping(c, 2); }

/* Resize to (H * sh, W * sw). tfjs resizes without half-pixel centers, Keras
 * (tf.image.resize) with them; for nearest with integer factors both agree. */
static const char *resize(kctx *c, const char *op, const char *x4, int64_t sh, int64_t sw) {
    const char *hw =
        op2(c, "Mul", shape_slice(c, x4, 1, 3), const_ints(c, "scale", 2, (int32_t[]){(int32_t)sh, (int32_t)sw}));
    tf_node *n = node(c, op, op, 2, (const char *[]){x4, hw});
    attr_b(c->b, n, "align_corners", false);
    attr_b(c->b, n, "half_pixel_centers", c->b->src->flavor != KERAS_TFJS);
    return name_of(n);
}

static bool l_upsampling2d(kctx *c) {
    int64_t size[2];
    const char *interp;
    if (!one_input(c, 4, 4) || !channels_last(c) || !cfg_ints(c, "size", 2, 2, 1, 1 << 16, size) ||
        !cfg_str(c, "interpolation", "nearest", &interp))
        return false;
    const char *op = strcmp(interp, "nearest") == 0    ? "ResizeNearestNeighbor"
                     : strcmp(interp, "bilinear") == 0 ? "ResizeBilinear"
                                                       : NULL;
    if (!op) return kfail(c, "interpolation '%s' is not supported (nearest or bilinear)", interp);
    return finish(c, resize(c, op, c->in[0].ref, size[0], size[1]), 4, TF_DT_FLOAT);
}

/* Repeats each step: a nearest resize of [batch, steps, 1, channels]. */
static bool l_upsampling1d(kctx *c) {
    int64_t size;
    if (!one_input(c, 3, 3) || !cfg_int(c, "size", false, 2, 1, 1 << 16, &size)) return false;
    const char *y = resize(c, "ResizeNearestNeighbor", expand_dims(c, c->in[0].ref, 2), size, 1);
    return finish(c, squeeze(c, y, 2), 3, TF_DT_FLOAT);
}

/* ---- shapes ---- */

static bool l_flatten(kctx *c) {
    if (!one_input(c, 1, TF_MAX_RANK) || !channels_last(c)) return false;
    return finish(c, reshape_batch(c, c->in[0].ref, 1, (int32_t[]){-1}), 2, c->in[0].dtype);
}

static bool l_reshape(kctx *c) {
    const json_value *t = cfg(c, "target_shape");
    size_t n = json_array_len(t);
    int32_t dims[TF_MAX_RANK];
    int unknown = 0;
    if (!one_input(c, 1, TF_MAX_RANK)) return false;
    if (!t || t->type != JSON_ARRAY || n > TF_MAX_RANK - 1)
        return kfail(c, "'target_shape' must be a list of at most %d dimensions", TF_MAX_RANK - 1);
    for (size_t i = 0; i < n; i++) {
        const json_value *v = json_at(t, i);
        int64_t d = -1; /* tfjs writes the unknown dimension as null */
        if ((v->type != JSON_NULL && !json_int64(v, &d)) || d < -1 || d > KERAS_MAX_DIM || (d == -1 && unknown++))
            return kfail(c, "'target_shape' must hold dimensions >= 0 and at most one -1 (or null)");
        dims[i] = (int32_t)d;
    }
    return finish(c, reshape_batch(c, c->in[0].ref, (int)n, dims), (int)n + 1, c->in[0].dtype);
}

static bool l_permute(kctx *c) {
    const json_value *v = cfg(c, "dims");
    if (!one_input(c, 2, TF_MAX_RANK)) return false;
    int rank = c->in[0].rank;
    int32_t perm[TF_MAX_RANK] = {0};
    bool seen[TF_MAX_RANK] = {false}, ok = json_array_len(v) == (size_t)rank - 1;
    for (int i = 1; ok && i < rank; i++) {
        int64_t d;
        ok = json_int64(json_at(v, (size_t)i - 1), &d) && d >= 1 && d < rank && !seen[d];
        if (ok) seen[d] = true, perm[i] = (int32_t)d;
    }
    if (!ok) return kfail(c, "'dims' must be a permutation of 1..%d for a %d-D input", rank - 1, rank);
    return finish(c, op2(c, "Transpose", c->in[0].ref, const_ints(c, "perm", rank, perm)), rank, c->in[0].dtype);
}

static bool l_repeat_vector(kctx *c) {
    int64_t n;
    if (!one_input(c, 2, 2) || !cfg_int(c, "n", true, 0, 0, KERAS_MAX_DIM, &n)) return false;
    const char *x3 = expand_dims(c, c->in[0].ref, 1);
    return finish(c, op2(c, "Tile", x3, const_ints(c, "multiples", 3, (int32_t[]){1, (int32_t)n, 1})), 3,
                  c->in[0].dtype);
}

/* ---- merging ---- */

static bool same_ranks(kctx *c, int min_inputs) {
    if (c->n_in < min_inputs) return kfail(c, "expected at least %d inputs, got %d", min_inputs, c->n_in);
    for (int i = 1; i < c->n_in; i++)
        if (c->in[i].rank != c->in[0].rank || c->in[i].dtype != c->in[0].dtype)
            return kfail(c, "input %d is %d-D %s, input 0 is %d-D %s", i, c->in[i].rank, tf_dtype_name(c->in[i].dtype),
                         c->in[0].rank, tf_dtype_name(c->in[0].dtype));
    return true;
}

static bool l_concatenate(kctx *c) {
    int64_t axis;
    if (!same_ranks(c, 1) || !cfg_int(c, "axis", false, -1, -TF_MAX_RANK, TF_MAX_RANK, &axis)) return false;
    int rank = c->in[0].rank;
    if (axis < -rank || axis >= rank) return kfail(c, "axis %" PRId64 " is out of range for %d-D inputs", axis, rank);
    const char **in = tf_alloc(c->b->g, sizeof *in * (size_t)(c->n_in + 1));
    if (!in) return out_of_memory(c->b);
    for (int i = 0; i < c->n_in; i++) in[i] = c->in[i].ref;
    in[c->n_in] = const_int(c, "axis", (int32_t)axis);
    tf_node *n = node(c, "ConcatV2", "ConcatV2", c->n_in + 1, in);
    attr_i(c->b, n, "N", c->n_in);
    return finish(c, name_of(n), rank, c->in[0].dtype);
}

/* Folds the inputs with a binary op. */
static const char *fold(kctx *c, const char *op) {
    const char *y = c->in[0].ref;
    for (int i = 1; i < c->n_in; i++) y = op2(c, op, y, c->in[i].ref);
    return y;
}

static bool merge(kctx *c, const char *op) {
    return same_ranks(c, 1) && finish(c, fold(c, op), c->in[0].rank, c->in[0].dtype);
}

static bool l_add(kctx *c) { return merge(c, "AddV2"); }
static bool l_multiply(kctx *c) { return merge(c, "Mul"); }
static bool l_maximum(kctx *c) { return merge(c, "Maximum"); }
static bool l_minimum(kctx *c) { return merge(c, "Minimum"); }

static bool l_subtract(kctx *c) {
    if (c->n_in != 2) return kfail(c, "expected 2 inputs, got %d", c->n_in);
    return merge(c, "Sub");
}

static bool l_average(kctx *c) {
    if (!same_ranks(c, 1)) return false;
    const char *y = op2(c, "RealDiv", fold(c, "AddV2"), const_float(c, "count", (float)c->n_in));
    return finish(c, y, c->in[0].rank, TF_DT_FLOAT);
}

/* ---- normalization and activations ---- */

/* An axis given as an integer or a one-element list, resolved for `rank`. */
static bool cfg_axis(kctx *c, int rank, int *axis) {
    const json_value *v = cfg(c, "axis");
    int64_t a = -1;
    if (v && !json_int64(v, &a) && !(json_array_len(v) == 1 && json_int64(json_at(v, 0), &a)))
        return kfail(c, "'axis' must be an integer or a list of one");
    if (a < -rank || a >= rank) return kfail(c, "axis %" PRId64 " is out of range for a %d-D input", a, rank);
    *axis = (int)(a < 0 ? a + rank : a);
    return true;
}

static bool l_batchnorm(kctx *c) {
    int axis;
    bool center, scale;
    double eps;
    kw gamma = {0}, beta = {0}, mean, var;
    int64_t any = -1;
    if (!one_input(c, 1, TF_MAX_RANK) || !cfg_axis(c, c->in[0].rank, &axis) || !cfg_bool(c, "center", true, &center) ||
        !cfg_bool(c, "scale", true, &scale) || !cfg_float(c, "epsilon", 1e-3, &eps))
        return false;
    if (axis != c->in[0].rank - 1)
        return kfail(c, "axis %d of a %d-D input: only the last axis (channels_last) is supported", axis,
                     c->in[0].rank);
    int i = 0;
    if ((scale && !weight(c, "gamma", i++, 1, &any, &gamma)) || (center && !weight(c, "beta", i++, 1, &any, &beta)) ||
        !weight(c, "moving_mean", i, 1, &any, &mean) || !weight(c, "moving_variance", i + 1, 1, &any, &var))
        return false;
    int64_t ch = mean.t->shape.dims[0];
    if (var.t->shape.dims[0] != ch || (scale && gamma.t->shape.dims[0] != ch) ||
        (center && beta.t->shape.dims[0] != ch))
        return kfail(c, "gamma, beta, moving_mean and moving_variance differ in length");
    const char *g = scale ? gamma.ref : const_fill(c, "gamma", ch, 1),
               *b = center ? beta.ref : const_fill(c, "beta", ch, 0);
    tf_node *n =
        node(c, "FusedBatchNormV3", "FusedBatchNormV3", 5, (const char *[]){c->in[0].ref, g, b, mean.ref, var.ref});
    attr_f(c->b, n, "epsilon", (float)eps);
    attr_b(c->b, n, "is_training", false);
    attr_s(c->b, n, "data_format", "NHWC");
    return finish(c, name_of(n), c->in[0].rank, TF_DT_FLOAT);
}

/* (x - mean) / max(sqrt(variance), 1e-7), or its inverse. */
static bool l_normalization(kctx *c) {
    const json_value *axis = json_get(c->l->config, "axis");
    bool invert, per_channel = true;
    kw w[2];
    static const char *const names[2] = {"mean", "variance"};
    const char *stat[2];
    if (!one_input(c, 1, TF_MAX_RANK) || !cfg_bool(c, "invert", false, &invert)) return false;
    if (axis && axis->type == JSON_NULL) {
        per_channel = false;
    } else {
        int a;
        if (!cfg_axis(c, c->in[0].rank, &a)) return false;
        if (a != c->in[0].rank - 1) return kfail(c, "only the last axis is supported, got axis %d", a);
    }
    for (int i = 0; i < 2; i++) {
        const json_value *given = cfg(c, names[i]);
        double v;
        if (given && json_number(given, &v))
            stat[i] = const_float(c, names[i], (float)v);
        else if (given)
            return kfail(c, "'%s' given as a list is not supported; adapt() the layer instead", names[i]);
        else if (!weight(c, names[i], i, per_channel, (int64_t[]){-1}, &w[i]))
            return false;
        else
            stat[i] = w[i].ref;
    }
    const char *x = c->in[0].ref, *mean = stat[0];
    const char *std = op2(c, "Maximum", op1(c, "Sqrt", stat[1]), const_float(c, "epsilon", 1e-7f));
    const char *y =
        invert ? op2(c, "AddV2", op2(c, "Mul", x, std), mean) : op2(c, "RealDiv", op2(c, "Sub", x, mean), std);
    return finish(c, y, c->in[0].rank, TF_DT_FLOAT);
}

/* x * scale + offset, each a number or a per-channel list. */
static const char *cfg_constant(kctx *c, const char *key, double def, bool *is_def) {
    const json_value *v = cfg(c, key);
    double d = def;
    *is_def = !v;
    if (!v || json_number(v, &d)) {
        *is_def = d == def;
        return const_float(c, key, (float)d);
    }
    size_t n = json_array_len(v);
    if (!n || n > KERAS_MAX_DIM) return kfail(c, "'%s' must be a number or a list of numbers", key), NULL;
    float *data = malloc(sizeof *data * n);
    if (!data) return out_of_memory(c->b), NULL;
    for (size_t i = 0; i < n; i++)
        if (!json_number(json_at(v, i), &d)) {
            free(data);
            return kfail(c, "'%s' must be a number or a list of numbers", key), NULL;
        } else {
            data[i] = (float)d;
        }
    const char *ref = const_of(c, key, TF_DT_FLOAT, 1, (int64_t[]){(int64_t)n}, data);
    free(data);
    return ref;
}

static bool l_rescaling(kctx *c) {
    bool no_offset, unused;
    if (!one_input(c, 0, TF_MAX_RANK)) return false;
    const char *scale = cfg_constant(c, "scale", 1, &unused);
    const char *offset = scale ? cfg_constant(c, "offset", 0, &no_offset) : NULL;
    if (!offset) return false;
    const char *y = op2(c, "Mul", c->in[0].ref, scale);
    if (!no_offset) y = op2(c, "AddV2", y, offset);
    return finish(c, y, c->in[0].rank, TF_DT_FLOAT);
}

static bool l_activation(kctx *c) {
    const char *act;
    if (!one_input(c, 0, TF_MAX_RANK) || !cfg_activation(c, &act)) return false;
    return finish(c, activation(c, c->in[0].ref, c->in[0].rank, act), c->in[0].rank, TF_DT_FLOAT);
}

/* min(max_value, x >= 0 ? x : negative_slope * x); Keras' threshold is not supported. */
static bool l_relu(kctx *c) {
    double max_value = INFINITY, slope, threshold;
    if (!one_input(c, 0, TF_MAX_RANK) || !cfg_float(c, "max_value", INFINITY, &max_value) ||
        !cfg_float(c, "negative_slope", 0, &slope) || !cfg_float(c, "threshold", 0, &threshold))
        return false;
    if (threshold != 0) return kfail(c, "threshold=%g is not supported (only 0)", threshold);
    if (max_value < 0 || slope < 0) return kfail(c, "max_value and negative_slope must be >= 0");
    const char *x = c->in[0].ref, *y;
    if (slope == 0 && max_value == 6) {
        y = op1(c, "Relu6", x);
    } else {
        if (slope == 0) {
            y = op1(c, "Relu", x);
        } else {
            tf_node *n = node(c, "LeakyRelu", "LeakyRelu", 1, &x);
            attr_f(c->b, n, "alpha", (float)slope);
            y = name_of(n);
        }
        if (max_value != INFINITY) y = op2(c, "Minimum", y, const_float(c, "max_value", (float)max_value));
    }
    return finish(c, y, c->in[0].rank, TF_DT_FLOAT);
}

static bool l_leaky_relu(kctx *c) {
    double alpha;
    /* Keras 3 calls it negative_slope; Keras 2 and tfjs alpha. */
    if (!one_input(c, 0, TF_MAX_RANK) || !cfg_float(c, "alpha", 0.3, &alpha) ||
        !cfg_float(c, "negative_slope", alpha, &alpha))
        return false;
    const char *x = c->in[0].ref;
    tf_node *n = node(c, "LeakyRelu", "LeakyRelu", 1, &x);
    attr_f(c->b, n, "alpha", (float)alpha);
    return finish(c, name_of(n), c->in[0].rank, TF_DT_FLOAT);
}

/* x > 0 ? x : alpha * (exp(x) - 1) = relu(x) + alpha * elu(min(x, 0)). */
static bool l_elu(kctx *c) {
    double alpha;
    if (!one_input(c, 0, TF_MAX_RANK) || !cfg_float(c, "alpha", 1, &alpha)) return false;
    const char *x = c->in[0].ref, *y;
    if (alpha == 1) {
        y = op1(c, "Elu", x);
    } else {
        const char *neg = op1(c, "Elu", op2(c, "Minimum", x, const_float(c, "zero", 0)));
        y = op2(c, "AddV2", op1(c, "Relu", x), op2(c, "Mul", neg, const_float(c, "alpha", (float)alpha)));
    }
    return finish(c, y, c->in[0].rank, TF_DT_FLOAT);
}

static bool l_prelu(kctx *c) {
    kw alpha;
    int64_t any[TF_MAX_RANK] = {-1, -1, -1, -1, -1, -1, -1, -1};
    if (!one_input(c, 2, TF_MAX_RANK) || !weight(c, "alpha", 0, c->in[0].rank - 1, any, &alpha)) return false;
    return finish(c, op2(c, "Prelu", c->in[0].ref, alpha.ref), c->in[0].rank, TF_DT_FLOAT);
}

static bool l_softmax(kctx *c) {
    int axis;
    if (!one_input(c, 1, TF_MAX_RANK) || !cfg_axis(c, c->in[0].rank, &axis)) return false;
    return finish(c, softmax(c, c->in[0].ref, c->in[0].rank, axis), c->in[0].rank, TF_DT_FLOAT);
}

static bool l_embedding(kctx *c) {
    int64_t n_in, n_out;
    bool mask_zero;
    kw w;
    if (!one_input(c, 0, TF_MAX_RANK - 1) || !cfg_bool(c, "mask_zero", false, &mask_zero) ||
        !cfg_int(c, "input_dim", true, 0, 1, INT32_MAX, &n_in) ||
        !cfg_int(c, "output_dim", true, 0, 1, KERAS_MAX_DIM, &n_out) ||
        !weight(c, "embeddings", 0, 2, (int64_t[]){n_in, n_out}, &w))
        return false;
    const char *ids = c->in[0].ref;
    if (c->in[0].dtype != TF_DT_INT32) { /* float ids are truncated, as Keras and tfjs cast them */
        tf_node *n = node(c, "Cast", "Cast", 1, &ids);
        attr_type(c->b, n, "SrcT", c->in[0].dtype);
        attr_type(c->b, n, "DstT", TF_DT_INT32);
        attr_b(c->b, n, "Truncate", false);
        ids = name_of(n);
    }
    tf_node *n = node(c, "GatherV2", "GatherV2", 3, (const char *[]){w.ref, ids, const_int(c, "axis", 0)});
    attr_i(c->b, n, "batch_dims", 0);
    if (!finish(c, name_of(n), c->in[0].rank + 1, TF_DT_FLOAT)) return false;
    c->out[0].masked = mask_zero;
    return true;
}

/* x * any(x != mask_value over the last axis): Keras' Masking, whose mask
 * only recurrent layers would use (and refuse). */
static bool l_masking(kctx *c) {
    double mask_value;
    if (!one_input(c, 1, TF_MAX_RANK) || !cfg_float(c, "mask_value", 0, &mask_value)) return false;
    const char *x = c->in[0].ref;
    tf_node *any = node(c, "Any", "Any", 2,
                        (const char *[]){op2(c, "NotEqual", x, const_float(c, "mask_value", (float)mask_value)),
                                         const_int(c, "axis", -1)});
    attr_b(c->b, any, "keep_dims", true);
    const char *keep = name_of(any);
    tf_node *cast = node(c, "Cast", "Cast", 1, &keep);
    attr_type(c->b, cast, "SrcT", TF_DT_BOOL);
    attr_type(c->b, cast, "DstT", TF_DT_FLOAT);
    attr_b(c->b, cast, "Truncate", false);
    if (!finish(c, op2(c, "Mul", x, name_of(cast)), c->in[0].rank, TF_DT_FLOAT)) return false;
    c->out[0].masked = true;
    return true;
}

/* ---- recurrent layers ---- */

/*
 * A recurrent layer runs as a TF while loop over the steps, which the
 * converter turns into a Kiln loop (loops.c, lower/arrays.c). The input
 * projection x·W + b of every step is one product before the loop, on the
 * input made time-major; its rows are a TensorList that the loop reads, so
 * only h·U and the gates run per step. Loop variables: the step i, h (and
 * c), and with return_sequences the TensorList of outputs, written in place:
 *
 *   i = 0, h = h0 (, c = c0) (, out = TensorListReserve(steps))
 *   while i < steps:
 *       t = go_backwards ? steps - 1 - i : i
 *       h (, c) = cell(xs[t], h (, c));  out[reverse_output ? steps - 1 - i : i] = h;  i += 1
 *
 * Gates are in Keras order: LSTM i, f, c, o; GRU z, r, h.
 */
typedef enum rnn_kind { RNN_SIMPLE, RNN_GRU, RNN_LSTM } rnn_kind;

static const struct {
    const char *cls;
    rnn_kind kind;
    int gates, states;
} rnn_kinds[] = {{"SimpleRNN", RNN_SIMPLE, 1, 1}, {"GRU", RNN_GRU, 3, 1}, {"LSTM", RNN_LSTM, 4, 2}};

typedef struct rnn_cfg {
    rnn_kind kind;
    int gates, states;
    int64_t units;
    const char *act, *rec_act;
    bool use_bias, return_sequences, return_state, go_backwards, reset_after;
} rnn_cfg;

/* The layer c->l describes (a Bidirectional's wrapped layer puts its config there), of class `cls`. */
static bool rnn_config(const kctx *c, const char *cls, rnn_cfg *k) {
    size_t n = sizeof rnn_kinds / sizeof rnn_kinds[0], i = 0;
    while (i < n && strcmp(rnn_kinds[i].cls, cls) != 0) i++;
    if (i == n) return kfail(c, "wraps a %s; only LSTM, GRU and SimpleRNN are supported", cls);
    bool tfjs = c->b->src->flavor == KERAS_TFJS, stateful, time_major;
    *k = (rnn_cfg){.kind = rnn_kinds[i].kind, .gates = rnn_kinds[i].gates, .states = rnn_kinds[i].states};
    /* Defaults: recurrent_activation hard_sigmoid in tfjs, sigmoid in Keras 2
     * and 3; reset_after false in tfjs (which has nothing else), true in Keras. */
    if (!cfg_int(c, "units", true, 0, 1, KERAS_MAX_DIM / 4, &k->units) || !cfg_act(c, "activation", "tanh", &k->act) ||
        !cfg_act(c, "recurrent_activation", tfjs ? "hard_sigmoid" : "sigmoid", &k->rec_act) ||
        !cfg_bool(c, "use_bias", true, &k->use_bias) || !cfg_bool(c, "return_sequences", false, &k->return_sequences) ||
        !cfg_bool(c, "return_state", false, &k->return_state) ||
        !cfg_bool(c, "go_backwards", false, &k->go_backwards) ||
        !cfg_bool(c, "reset_after", !tfjs, &k->reset_after) || !cfg_bool(c, "stateful", false, &stateful) ||
        !cfg_bool(c, "time_major", false, &time_major))
        return false;
    if (stateful)
        return kfail(c, "stateful=true is not supported (states carried from one run to the next); save the model "
                        "with stateful=false");
    if (time_major) return kfail(c, "time_major=true is not supported (only [batch, steps, features] inputs)");
    return true;
}

/* kernel, recurrent_kernel and bias, named prefix + name and numbered from `index`. */
static bool rnn_weights(kctx *c, const rnn_cfg *k, const char *prefix, int index, kw *w) {
    kb *b = c->b;
    int64_t g = k->gates * k->units;
    bool two_biases = k->kind == RNN_GRU && k->reset_after; /* [input bias, recurrent bias] */
    const char *kernel = concat3(b, prefix, "kernel", ""), *rec = concat3(b, prefix, "recurrent_kernel", ""),
               *bias = concat3(b, prefix, "bias", "");
    if (!kernel || !rec || !bias) return false;
    return weight(c, kernel, index, 2, (int64_t[]){-1, g}, &w[0]) &&
           weight(c, rec, index + 1, 2, (int64_t[]){k->units, g}, &w[1]) &&
           (!k->use_bias || (two_biases ? weight(c, bias, index + 2, 2, (int64_t[]){2, g}, &w[2])
                                        : weight(c, bias, index + 2, 1, &g, &w[2])));
}

/* The inputs of an RNN call: the sequence, then `n_init` initial states
 * (none: zeros). Masks are refused: Kiln does not skip masked steps. */
static bool rnn_inputs(const kctx *c, int n_init) {
    if (c->n_in != 1 && c->n_in != 1 + n_init)
        return kfail(c, "expected the sequence and optionally %d initial state%s, got %d inputs", n_init,
                     n_init > 1 ? "s" : "", c->n_in);
    if (c->in[0].rank != 3 || c->in[0].dtype != TF_DT_FLOAT)
        return kfail(c, "expected a float32 [batch, steps, features] input, got %d-D %s", c->in[0].rank,
                     tf_dtype_name(c->in[0].dtype));
    for (int i = 1; i < c->n_in; i++)
        if (c->in[i].rank != 2 || c->in[i].dtype != TF_DT_FLOAT)
            return kfail(c, "initial state %d must be float32 [batch, units], got %d-D %s", i - 1, c->in[i].rank,
                         tf_dtype_name(c->in[i].dtype));
    for (int i = 0; i < c->n_in; i++)
        if (c->in[i].masked)
            return kfail(c, "its input carries a Keras mask (from an Embedding with mask_zero=true or a Masking "
                            "layer): masked recurrent layers are not supported");
    return true;
}

static const char *output_of(kctx *c, const char *name, int i) {
    char suffix[16];
    snprintf(suffix, sizeof suffix, ":%d", i);
    return name ? concat3(c->b, name, suffix, "") : NULL;
}

static const char *enter(kctx *c, const char *frame, const char *x, bool constant) {
    tf_node *n = node(c, "while/Enter", "Enter", 1, &x);
    attr_s(c->b, n, "frame_name", frame);
    attr_b(c->b, n, "is_constant", constant);
    return name_of(n);
}

/* A node with a float element_dtype (the TensorList ops). */
static const char *list_op(kctx *c, const char *op, int n_in, const char *const *in) {
    tf_node *n = node(c, op, op, n_in, in);
    attr_type(c->b, n, "element_dtype", TF_DT_FLOAT);
    return name_of(n);
}

/* Split(axis 1) of a [batch, n * units] value into n pieces, in out[0..n). */
static void split_gates(kctx *c, const char *x, int n, const char **out) {
    tf_node *s = node(c, "Split", "Split", 2, (const char *[]){const_int(c, "axis", 1), x});
    attr_i(c->b, s, "num_split", n);
    for (int i = 0; i < n; i++) out[i] = output_of(c, name_of(s), i);
}

typedef struct rnn_io {
    const char *x;        /* [batch, steps, features] */
    const char *init[2];  /* initial h (and c), or NULLs: zeros */
    bool reverse_output;  /* the output sequence last step first (Bidirectional's backward layer) */
    const char *seq;      /* out: the outputs [batch, steps, units], with return_sequences */
    const char *state[2]; /* out: h (and c) after the last step */
} rnn_io;

/* One cell step from x_t (the step's input projection) and the states s (h, c); next (h, c).
 * bias_rec: GRU's recurrent bias (reset_after), else NULL. */
static void rnn_cell(kctx *c, const rnn_cfg *k, const char *frame, const kw *w, const char *bias_rec, const char *x_t,
                     const char *const *s, const char **next) {
    kb *b = c->b;
    const char *h = s[0], *u = enter(c, frame, w[1].ref, true), *hu;
    if (k->kind == RNN_SIMPLE) {
        next[0] = activation(c, op2(c, "AddV2", x_t, op2(c, "MatMul", h, u)), 2, k->act);
        return;
    }
    if (k->kind == RNN_LSTM) {
        const char *z[4];
        split_gates(c, op2(c, "AddV2", x_t, op2(c, "MatMul", h, u)), 4, z);
        const char *i = activation(c, z[0], 2, k->rec_act), *f = activation(c, z[1], 2, k->rec_act);
        const char *g = activation(c, z[2], 2, k->act), *o = activation(c, z[3], 2, k->rec_act);
        next[1] = op2(c, "AddV2", op2(c, "Mul", f, s[1]), op2(c, "Mul", i, g));
        next[0] = op2(c, "Mul", o, activation(c, next[1], 2, k->act));
        return;
    }
    /* GRU: reset_after applies r to h·U_h (+ its bias), otherwise to h before its product with U_h. */
    const char *xg[3], *hg[3], *u_h = NULL;
    split_gates(c, x_t, 3, xg);
    if (k->reset_after) {
        hu = op2(c, "MatMul", h, u);
        if (bias_rec) hu = op2(c, "BiasAdd", hu, enter(c, frame, bias_rec, true));
        split_gates(c, hu, 3, hg);
    } else {
        /* U as [U_z U_r] and U_h, split once before the loop */
        tf_node *n = node(c, "SplitV", "SplitV", 3,
                          (const char *[]){w[1].ref,
                                           const_ints(c, "size_splits", 2,
                                                      (int32_t[]){2 * (int32_t)k->units, (int32_t)k->units}),
                                           const_int(c, "axis", 1)});
        attr_i(b, n, "num_split", 2);
        const char *split = name_of(n);
        u_h = enter(c, frame, output_of(c, split, 1), true);
        split_gates(c, op2(c, "MatMul", h, enter(c, frame, output_of(c, split, 0), true)), 2, hg);
    }
    const char *z = activation(c, op2(c, "AddV2", xg[0], hg[0]), 2, k->rec_act);
    const char *r = activation(c, op2(c, "AddV2", xg[1], hg[1]), 2, k->rec_act);
    const char *rh = k->reset_after ? op2(c, "Mul", r, hg[2]) : op2(c, "MatMul", op2(c, "Mul", r, h), u_h);
    const char *hh = activation(c, op2(c, "AddV2", xg[2], rh), 2, k->act);
    next[0] = op2(c, "AddV2", hh, op2(c, "Mul", z, op2(c, "Sub", h, hh))); /* z·h + (1 - z)·hh */
}

enum { RNN_I, RNN_H, RNN_C, RNN_OUT, RNN_VARS };

/* The loop (see the top of this section); node names are "<c->call>/...". */
static bool rnn_loop(kctx *c, const rnn_cfg *k, const kw *w, rnn_io *io) {
    kb *b = c->b;
    int32_t units = (int32_t)k->units, g = k->gates * units;
    const char *row_shape = const_ints(c, "element_shape", 2, (int32_t[]){-1, g});
    const char *xw = op2(c, "BatchMatMulV2", op2(c, "Transpose", io->x, const_ints(c, "perm", 3, (int32_t[]){1, 0, 2})),
                         w[0].ref);
    const char *bias_rec = NULL;
    if (k->use_bias) {
        const char *bias = w[2].ref;
        if (k->kind == RNN_GRU && k->reset_after) { /* [input bias, recurrent bias] */
            tf_node *n = node(c, "Unpack", "Unpack", 1, &bias);
            attr_i(b, n, "num", 2);
            attr_i(b, n, "axis", 0);
            bias = output_of(c, name_of(n), 0);
            bias_rec = output_of(c, name_of(n), 1);
        }
        xw = op2(c, "BiasAdd", xw, bias);
    }
    const char *xs = list_op(c, "TensorListFromTensor", 2, (const char *[]){xw, row_shape});
    const char *steps = squeeze(c, shape_slice(c, io->x, 1, 2), 0);
    const char *last = op2(c, "Sub", steps, const_int(c, "one", 1));
    tf_node *cat = node(c, "ConcatV2", "ConcatV2", 3,
                        (const char *[]){shape_slice(c, io->x, 0, 1), const_ints(c, "units", 1, &units),
                                         const_int(c, "axis", 0)});
    attr_i(b, cat, "N", 2);
    const char *state_shape = name_of(cat), *zeros = NULL;
    if (!io->init[0]) zeros = op2(c, "Fill", state_shape, const_float(c, "zero", 0));

    const char *frame = unique_name(b, concat3(b, c->call, "/while", ""));
    const char *start[RNN_VARS] = {const_int(c, "i0", 0), io->init[0] ? io->init[0] : zeros,
                                   io->init[1] ? io->init[1] : zeros, NULL};
    bool used[RNN_VARS] = {true, true, k->kind == RNN_LSTM, k->return_sequences};
    if (k->return_sequences) start[RNN_OUT] = list_op(c, "TensorListReserve", 2, (const char *[]){state_shape, steps});
    if (!frame) return false;
    const char *next_name[RNN_VARS], *merge[RNN_VARS], *sw[RNN_VARS], *body[RNN_VARS] = {0}, *next[RNN_VARS] = {0};
    for (int v = 0; v < RNN_VARS; v++) {
        if (!used[v]) continue;
        /* NextIteration's name is claimed now: the Merge reads it before it exists. */
        next_name[v] = unique_name(b, concat3(b, c->call, "/while/NextIteration", ""));
        const char *in[2] = {enter(c, frame, start[v], false), next_name[v]};
        tf_node *n = node(c, "while/Merge", "Merge", 2, in);
        attr_i(b, n, "N", 2);
        merge[v] = name_of(n);
    }
    const char *less = op2(c, "Less", merge[RNN_I], enter(c, frame, steps, true));
    const char *cond = name_of(node(c, "while/LoopCond", "LoopCond", 1, &less));
    for (int v = 0; v < RNN_VARS; v++) {
        if (!used[v]) continue;
        sw[v] = name_of(node(c, "while/Switch", "Switch", 2, (const char *[]){merge[v], cond}));
        body[v] = output_of(c, sw[v], 1);
    }
    const char *i = body[RNN_I], *flipped = op2(c, "Sub", enter(c, frame, last, true), i);
    const char *t = k->go_backwards ? flipped : i;
    const char *x_t = list_op(c, "TensorListGetItem", 3, (const char *[]){enter(c, frame, xs, true), t, row_shape});
    rnn_cell(c, k, frame, w, bias_rec, x_t, body + RNN_H, next + RNN_H);
    next[RNN_I] = op2(c, "AddV2", i, const_int(c, "one", 1));
    if (k->return_sequences)
        next[RNN_OUT] = list_op(c, "TensorListSetItem", 3,
                                (const char *[]){body[RNN_OUT], io->reverse_output ? flipped : i, next[RNN_H]});
    const char *exit[RNN_VARS] = {0};
    for (int v = 0; v < RNN_VARS; v++) {
        if (!used[v]) continue;
        if (!add_node(b, next_name[v], "NextIteration", 1, &next[v])) return b->oom ? false : out_of_memory(b);
        exit[v] = name_of(node(c, "while/Exit", "Exit", 1, &sw[v]));
    }
    io->state[0] = exit[RNN_H];
    io->state[1] = exit[RNN_C];
    if (k->return_sequences) {
        const char *stacked = list_op(c, "TensorListStack", 2,
                                      (const char *[]){exit[RNN_OUT], const_ints(c, "element_shape", 2,
                                                                                 (int32_t[]){-1, units})});
        io->seq = op2(c, "Transpose", stacked, const_ints(c, "perm", 3, (int32_t[]){1, 0, 2}));
    }
    if (!io->state[0] || (k->return_sequences && !io->seq)) return b->oom ? false : out_of_memory(b);
    return true;
}

/* LSTM, GRU and SimpleRNN: outputs [output, h (, c)] with return_state. */
static bool l_rnn(kctx *c) {
    rnn_cfg k;
    kw w[3] = {{0}};
    if (!rnn_config(c, c->l->cls, &k) || !rnn_inputs(c, k.states) || !rnn_weights(c, &k, "", 0, w)) return false;
    rnn_io io = {.x = c->in[0].ref};
    for (int s = 0; s + 1 < c->n_in; s++) io.init[s] = c->in[s + 1].ref;
    if (!rnn_loop(c, &k, w, &io)) return false;
    ktensor y[3];
    int n = 0;
    y[n++] = k.return_sequences ? (ktensor){io.seq, 3, TF_DT_FLOAT, false}
                                : (ktensor){io.state[0], 2, TF_DT_FLOAT, false};
    for (int s = 0; k.return_state && s < k.states; s++) y[n++] = (ktensor){io.state[s], 2, TF_DT_FLOAT, false};
    return n == 1 ? finish(c, y[0].ref, y[0].rank, TF_DT_FLOAT) : finish_n(c, n, y);
}

/* A forward and a backward copy of an RNN layer, named forward_<layer> and
 * backward_<layer> (or backward_<backward_layer>; as given in Keras 3
 * configs, which name the copies themselves); their weights are
 * "<copy>/kernel", ..., the forward copy's first. Outputs: the merged
 * output (two with merge_mode null), then the forward then backward states. */
static bool l_bidirectional(kctx *c) {
    kb *b = c->b;
    const json_value *mode_v = json_get(c->l->config, "merge_mode"), *back = cfg(c, "backward_layer");
    const char *mode = "concat";
    if (mode_v && mode_v->type != JSON_NULL && !(mode = json_string(mode_v)))
        return kfail(c, "'merge_mode' must be a string or null");
    if (mode_v && mode_v->type == JSON_NULL) mode = NULL;
    if (mode && strcmp(mode, "concat") != 0 && strcmp(mode, "sum") != 0 && strcmp(mode, "mul") != 0 &&
        strcmp(mode, "ave") != 0)
        return kfail(c, "merge_mode '%s' is not supported (concat, sum, mul, ave or null)", mode);
    rnn_cfg k[2];
    rnn_io io[2] = {{0}};
    int index = 0;
    for (int d = 0; d < 2; d++) {
        const json_value *spec = d && back ? back : cfg(c, "layer");
        const json_value *config = json_get(spec, "config");
        const char *cls = json_string(json_get(spec, "class_name")), *name = json_string(json_get(config, "name"));
        if (!cls || !name || !config || config->type != JSON_OBJECT)
            return kfail(c, "'%s' must be a layer with a class_name and a config with a name",
                         d && back ? "backward_layer" : "layer");
        klayer sub = *c->l;
        sub.config = config;
        kctx s = *c;
        s.l = &sub;
        /* Keras 3 configs name the copies already; Keras 2 and tfjs name the wrapped layer. */
        const char *dir = d ? "backward_" : "forward_";
        bool named = b->src->flavor == KERAS_3 && strncmp(name, dir, strlen(dir)) == 0;
        const char *copy = named ? name : concat3(b, dir, name, "");
        s.call = copy ? concat3(b, c->call, "/", copy) : NULL;
        const char *prefix = copy ? concat3(b, copy, "/", "") : NULL;
        kw w[3] = {{0}};
        if (!prefix || !s.call || !rnn_config(&s, cls, &k[d]) || (d == 0 && !rnn_inputs(c, 2 * k[0].states)))
            return false;
        if (d && !back) k[1].go_backwards = !k[0].go_backwards;
        if (d && (k[1].return_sequences != k[0].return_sequences || k[1].return_state != k[0].return_state ||
                  k[1].states != k[0].states))
            return kfail(c, "the backward layer differs from the forward one in return_sequences, return_state "
                            "or kind");
        if (!rnn_weights(&s, &k[d], prefix, index, w)) return false;
        index += k[d].use_bias ? 3 : 2;
        io[d].x = c->in[0].ref;
        io[d].reverse_output = d == 1; /* Keras reverses the backward sequence back into input order */
        for (int i = 0; i + 1 < c->n_in && i < k[d].states; i++) io[d].init[i] = c->in[1 + d * k[0].states + i].ref;
        if (!rnn_loop(&s, &k[d], w, &io[d])) return false;
    }
    int rank = k[0].return_sequences ? 3 : 2, n = 0;
    const char *y[2] = {k[0].return_sequences ? io[0].seq : io[0].state[0],
                        k[1].return_sequences ? io[1].seq : io[1].state[0]};
    ktensor out[6];
    if (!mode) {
        out[n++] = (ktensor){y[0], rank, TF_DT_FLOAT, false};
        out[n++] = (ktensor){y[1], rank, TF_DT_FLOAT, false};
    } else {
        const char *m;
        if (strcmp(mode, "concat") == 0) {
            tf_node *cat = node(c, "ConcatV2", "ConcatV2", 3, (const char *[]){y[0], y[1], const_int(c, "axis", -1)});
            attr_i(b, cat, "N", 2);
            m = name_of(cat);
        } else if (strcmp(mode, "ave") == 0) {
            m = op2(c, "Mul", op2(c, "AddV2", y[0], y[1]), const_float(c, "half", 0.5f));
        } else {
            m = op2(c, strcmp(mode, "sum") == 0 ? "AddV2" : "Mul", y[0], y[1]);
        }
        out[n++] = (ktensor){m, rank, TF_DT_FLOAT, false};
    }
    for (int d = 0; k[0].return_state && d < 2; d++)
        for (int s = 0; s < k[d].states; s++) out[n++] = (ktensor){io[d].state[s], 2, TF_DT_FLOAT, false};
    return n == 1 ? finish(c, out[0].ref, rank, TF_DT_FLOAT) : finish_n(c, n, out);
}

/* ---- models ------------------------------------------------------------------- */

static bool build_model(kb *b, const json_value *model, const char *node_scope, const char *weight_scope, bool top,
                        const ktensor *in, int n_in, ktensor *out, int *n_out);

/* A model used as a layer: its graph, built on the call's inputs. */
static bool l_model(kctx *c) {
    kb *b = c->b;
    if (b->depth >= KERAS_MAX_NESTING) return kfail(c, "models are nested more than %d deep", KERAS_MAX_NESTING);
    const char *node_scope = concat3(b, c->call, "/", ""),
               *weight_scope = concat3(b, c->m->weight_scope, c->l->name, "/");
    ktensor inner[KERAS_MAX_OUTPUTS];
    int n = 0;
    b->depth++;
    bool ok = node_scope && weight_scope &&
              build_model(b, c->l->entry, node_scope, weight_scope, false, c->in, c->n_in, inner, &n);
    b->depth--;
    if (!ok) return false;
    if (n > 1) return finish_n(c, n, inner);
    if (!finish(c, inner[0].ref, inner[0].rank, inner[0].dtype)) return false;
    c->out[0].masked = inner[0].masked;
    return true;
}

typedef bool (*layer_fn)(kctx *c);

static const struct {
    const char *cls;
    layer_fn fn;
} layer_table[] = {
    {"Dense", l_dense},
    {"Conv1D", l_conv1d},
    {"Conv2D", l_conv2d},
    {"Conv2DTranspose", l_conv2d_transpose},
    {"DepthwiseConv2D", l_depthwise},
    {"SeparableConv2D", l_separable},
    {"MaxPooling1D", l_maxpool1d},
    {"MaxPooling2D", l_maxpool2d},
    {"AveragePooling1D", l_avgpool1d},
    {"AveragePooling2D", l_avgpool2d},
    {"GlobalAveragePooling1D", l_gap1d},
    {"GlobalAveragePooling2D", l_gap2d},
    {"GlobalMaxPooling1D", l_gmp1d},
    {"GlobalMaxPooling2D", l_gmp2d},
    {"ZeroPadding1D", l_zeropad1d},
    {"ZeroPadding2D", l_zeropad2d},
    {"Cropping1D", l_crop1d},
    {"Cropping2D", l_crop2d},
    {"UpSampling1D", l_upsampling1d},
    {"UpSampling2D", l_upsampling2d},
    {"Flatten", l_flatten},
    {"Reshape", l_reshape},
    {"Permute", l_permute},
    {"RepeatVector", l_repeat_vector},
    {"Concatenate", l_concatenate},
    {"Add", l_add},
    {"Subtract", l_subtract},
    {"Multiply", l_multiply},
    {"Average", l_average},
    {"Maximum", l_maximum},
    {"Minimum", l_minimum},
    {"BatchNormalization", l_batchnorm},
    {"Normalization", l_normalization},
    {"Rescaling", l_rescaling},
    {"Activation", l_activation},
    {"ReLU", l_relu},
    {"LeakyReLU", l_leaky_relu},
    {"ELU", l_elu},
    {"PReLU", l_prelu},
    {"Softmax", l_softmax},
    {"Embedding", l_embedding},
    {"Masking", l_masking},
    {"SimpleRNN", l_rnn},
    {"GRU", l_rnn},
    {"LSTM", l_rnn},
    {"Bidirectional", l_bidirectional},
    /* identities at inference */
    {"Dropout", identity_layer},
    {"SpatialDropout1D", identity_layer},
    {"SpatialDropout2D", identity_layer},
    {"SpatialDropout3D", identity_layer},
    {"GaussianNoise", identity_layer},
    {"GaussianDropout", identity_layer},
    {"AlphaDropout", identity_layer},
    {"ActivityRegularization", identity_layer},
    {"Identity", identity_layer},
    /* nested models */
    {"Sequential", l_model},
    {"Model", l_model},
    {"Functional", l_model},
};

static layer_fn find_layer_fn(const char *cls) {
    for (size_t i = 0; i < sizeof layer_table / sizeof layer_table[0]; i++)
        if (strcmp(layer_table[i].cls, cls) == 0) return layer_table[i].fn;
    return NULL;
}

static bool is_model_class(const char *cls) {
    return strcmp(cls, "Sequential") == 0 || strcmp(cls, "Model") == 0 || strcmp(cls, "Functional") == 0;
}

/* The layer list of a model: config.layers, or config itself (Keras 2.2's Sequential). */
static const json_value *model_layers(const json_value *model) {
    const json_value *config = json_get(model, "config");
    return config && config->type == JSON_ARRAY ? config : json_get(config, "layers");
}

/* Checks the structure of every layer entry (recursively) and lists every
 * unknown layer class at once. */
typedef struct unknown {
    const char *cls, *layer;
} unknown;

typedef struct scan {
    kb *b;
    unknown *list;
    size_t n, cap;
} scan;

static bool scan_model(scan *s, const json_value *model, const char *prefix);

static bool scan_layer(scan *s, const json_value *entry, size_t index, const char *prefix) {
    const json_value *config = json_get(entry, "config");
    const char *cls = json_string(json_get(entry, "class_name"));
    const char *name = json_string(json_get(entry, "name"));
    if (!name) name = json_string(json_get(config, "name"));
    if (!cls || !name || !config ||
        (config->type != JSON_OBJECT && !(is_model_class(cls) && config->type == JSON_ARRAY))) {
        kc_error("model config: %slayer %zu needs a string \"class_name\", a \"name\" and an object \"config\"", prefix,
                 index);
        return false;
    }
    if (is_model_class(cls)) {
        const char *inner = concat3(s->b, prefix, name, "/");
        return inner && scan_model(s, entry, inner);
    }
    if (strcmp(cls, "InputLayer") == 0 || find_layer_fn(cls)) return true;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        unknown *grown = realloc(s->list, sizeof *grown * cap);
        if (!grown) return out_of_memory(s->b);
        s->list = grown;
        s->cap = cap;
    }
    s->list[s->n++] = (unknown){cls, concat3(s->b, prefix, name, "")};
    return s->list[s->n - 1].layer != NULL;
}

static bool scan_model(scan *s, const json_value *model, const char *prefix) {
    const json_value *layers = model_layers(model);
    if (!layers || layers->type != JSON_ARRAY) {
        kc_error("model config: %s\"config\" has no \"layers\" list", prefix);
        return false;
    }
    for (size_t i = 0; i < layers->len; i++)
        if (!scan_layer(s, &layers->items[i], i, prefix)) return false;
    return true;
}

/* One message listing each unknown class with (up to 5 of) its layers. */
static bool report_unknown(const scan *s) {
    char *msg = NULL;
    size_t len = 0;
    bool *done = calloc(s->n + 1, sizeof *done);
    FILE *f = done ? open_memstream(&msg, &len) : NULL;
    int n_classes = 0;
    for (size_t i = 0; f && i < s->n; i++) {
        if (done[i]) continue;
        int count = 0;
        fprintf(f, "\n  %s: ", s->list[i].cls);
        for (size_t j = i; j < s->n; j++) {
            if (strcmp(s->list[j].cls, s->list[i].cls) != 0) continue;
            done[j] = true;
            if (count < 5) fprintf(f, "%s'%.200s'", count ? ", " : "", s->list[j].layer);
            count++;
        }
        if (count > 5) fprintf(f, " and %d more", count - 5);
        if (strcmp(s->list[i].cls, "Lambda") == 0) fputs(" (Python code, which cannot be converted)", f);
        n_classes++;
    }
    if (!f || fclose(f) != 0) kc_error("out of memory");
    else kc_error("%d unsupported Keras layer class%s:%s", n_classes, n_classes == 1 ? "" : "es", msg);
    free(msg);
    free(done);
    return false;
}

/* ---- building ---- */

static const char *layer_name(const json_value *entry) {
    const char *name = json_string(json_get(entry, "name"));
    return name ? name : json_string(json_get(json_get(entry, "config"), "name"));
}

/* References count a layer's nodes as Keras holds them, and a nested model
 * built on inputs has a node of its own (linking its inputs to its outputs)
 * before its calls: Functional models always; Sequential ones when they have
 * an input shape, except in Keras 3, where a Sequential has no node of its
 * own. So the node index of a layer's first call is 1 for those, else 0. */
static int first_call_node(const kb *b, const klayer *l) {
    if (strcmp(l->cls, "Model") == 0 || strcmp(l->cls, "Functional") == 0) return 1;
    if (strcmp(l->cls, "Sequential") != 0 || b->src->flavor == KERAS_3) return 0;
    const json_value *first = json_at(model_layers(l->entry), 0);
    const json_value *config = json_get(first, "config");
    const char *cls = json_string(json_get(first, "class_name"));
    return (cls && strcmp(cls, "InputLayer") == 0) || json_get(config, "batch_input_shape") ||
           json_get(config, "batch_shape");
}

static bool parse_layers(kb *b, const json_value *model, kmodel *m) {
    const json_value *layers = model_layers(model);
    m->n_layers = (int)layers->len;
    if (layers->len > INT32_MAX / 2 || !(m->layers = tf_alloc(b->g, sizeof *m->layers * (layers->len + 1))))
        return out_of_memory(b);
    for (size_t i = 0; i < layers->len; i++) {
        klayer *l = &m->layers[i];
        l->entry = &layers->items[i];
        l->config = json_get(l->entry, "config");
        l->cls = json_string(json_get(l->entry, "class_name"));
        l->name = layer_name(l->entry);
        l->inbound = json_get(l->entry, "inbound_nodes");
        l->node_offset = first_call_node(b, l);
        if (m->top) {
            if (name_find(b, l->name)) {
                kc_error("model config: two layers are named '%s'", l->name);
                return false;
            }
            if (!name_add(b, l->name, true)) return false;
        }
    }
    return true;
}

static klayer *find_layer(const kmodel *m, const char *name) {
    for (int i = 0; i < m->n_layers; i++)
        if (strcmp(m->layers[i].name, name) == 0) return &m->layers[i];
    return NULL;
}

/* The name of call k of a layer: its own name (top-level first calls keep
 * their reserved names), "name_k" for later calls, all under the scope. */
static const char *call_name(kb *b, const kmodel *m, const klayer *l, int k) {
    char suffix[24] = "";
    if (k) snprintf(suffix, sizeof suffix, "_%d", k);
    const char *base = concat3(b, m->node_scope, l->name, suffix);
    if (!base) return NULL;
    kname *s = name_find(b, base);
    if (m->top && k == 0 && s && s->reserved) {
        s->reserved = false;
        return s->name;
    }
    return unique_name(b, base);
}

/* Keras dtype names (or a Keras 3 DTypePolicy) to the TF dtype Kiln uses. */
static int keras_dtype(const json_value *v) {
    const char *s = json_string(v);
    if (!v || v->type == JSON_NULL) return TF_DT_FLOAT;
    if (!s) s = json_string(json_get(json_get(v, "config"), "name"));
    if (!s) return -1;
    if (strcmp(s, "float32") == 0) return TF_DT_FLOAT;
    if (strcmp(s, "int32") == 0 || strcmp(s, "int64") == 0) return TF_DT_INT32; /* Kiln narrows int64 */
    if (strcmp(s, "uint8") == 0) return TF_DT_UINT8;
    if (strcmp(s, "bool") == 0) return TF_DT_BOOL;
    return -1;
}

/* A top-level model input: a Placeholder named `name`, shaped by the layer's
 * batch_input_shape (Keras 2, tfjs) or batch_shape (Keras 3), or `shape`. */
static bool make_input(kb *b, const kmodel *m, const klayer *l, const char *name, const json_value *shape,
                       ktensor *out) {
    const json_value *config = l->config;
    kctx c = {.b = b, .m = m, .l = l};
    if (!shape) shape = json_get(config, "batch_input_shape");
    if (!shape) shape = json_get(config, "batch_shape");
    int dtype = keras_dtype(json_get(config, "dtype"));
    bool sparse = false, ragged = false;
    if (!cfg_bool(&c, "sparse", false, &sparse) || !cfg_bool(&c, "ragged", false, &ragged)) return false;
    if (sparse || ragged) return kfail(&c, "sparse and ragged inputs are not supported");
    if (dtype < 0) return kfail(&c, "the input dtype must be float32, int32, int64, uint8 or bool");
    if (!shape || shape->type != JSON_ARRAY || shape->len > TF_MAX_RANK)
        return kfail(&c, "the model input needs a shape (batch_input_shape or batch_shape) of rank %d at most",
                     TF_MAX_RANK);
    tf_node *n = add_node(b, name, "Placeholder", 0, NULL);
    tf_attr *a = attr(b, n, "shape", TF_ATTR_SHAPE);
    attr_type(b, n, "dtype", dtype);
    if (!a) return false;
    a->shape.rank = (int)shape->len;
    for (size_t i = 0; i < shape->len; i++) {
        const json_value *d = &shape->items[i];
        if (d->type == JSON_NULL) {
            a->shape.dims[i] = -1;
        } else if (!json_int64(d, &a->shape.dims[i]) || a->shape.dims[i] < 0 || a->shape.dims[i] > INT32_MAX) {
            return kfail(&c, "the input shape must hold integers >= 0 or null");
        }
    }
    *out = (ktensor){name, (int)shape->len, dtype};
    return true;
}

/* The references ["layer", node_index, tensor_index, ...] that a model's
 * input_layers / output_layers hold: one reference, a list or (Keras 3) a dict. */
static size_t ref_count(const json_value *v) {
    if (v && v->type == JSON_ARRAY && v->len && v->items[0].type == JSON_STRING) return 1;
    return v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) ? v->len : 0;
}

static const json_value *ref_at(const json_value *v, size_t i) {
    if (v->type == JSON_ARRAY && v->len && v->items[0].type == JSON_STRING) return v;
    return v->type == JSON_ARRAY ? &v->items[i] : &v->members[i].value;
}

typedef struct kref {
    const char *layer;
    int64_t node, tensor;
} kref;

static bool parse_ref(const json_value *v, kref *r) {
    return json_array_len(v) >= 3 && (r->layer = json_string(json_at(v, 0))) && json_int64(json_at(v, 1), &r->node) &&
           json_int64(json_at(v, 2), &r->tensor);
}

/* The tensor a reference names, or NULL (with *ready false) if its call is
 * not built yet; false after kc_error if it names nothing. */
static bool resolve(const kmodel *m, const kref *r, const char *what, const ktensor **t, bool *ready) {
    const klayer *src = find_layer(m, r->layer);
    *t = NULL;
    if (!src) {
        kc_error("model config: %s names layer '%s%s', which the model does not have", what, m->weight_scope, r->layer);
        return false;
    }
    int64_t k = r->node - src->node_offset;
    if (k < 0 || k >= src->n_calls) {
        kc_error("model config: %s uses node %" PRId64 " of layer '%s%s', whose calls are nodes %d to %d", what,
                 r->node, m->weight_scope, r->layer, src->node_offset, src->node_offset + src->n_calls - 1);
        return false;
    }
    const kcall *call = &src->calls[k];
    if (!call->built) {
        *ready = false;
        return true;
    }
    if (r->tensor < 0 || r->tensor >= call->n_out) {
        kc_error("model config: %s uses output %" PRId64 " of layer '%s%s', which has %d", what, r->tensor,
                 m->weight_scope, r->layer, call->n_out);
        return false;
    }
    *t = &call->out[r->tensor];
    return true;
}

/* Collects the tensor references of a Keras 3 call's args (keras tensors,
 * possibly in lists or dicts) into refs (up to max; *n counts all). */
static bool collect_k3(const json_value *v, kref *refs, int max, int *n) {
    if (!v) return true;
    if (v->type == JSON_ARRAY) {
        for (size_t i = 0; i < v->len; i++)
            if (!collect_k3(&v->items[i], refs, max, n)) return false;
        return true;
    }
    if (v->type != JSON_OBJECT) return true; /* a plain value argument */
    const char *cls = json_string(json_get(v, "class_name"));
    if (cls && strcmp(cls, "__keras_tensor__") == 0) {
        kref r;
        if (!parse_ref(json_get(json_get(v, "config"), "keras_history"), &r)) return false;
        if (*n < max) refs[*n] = r;
        (*n)++;
        return true;
    }
    for (size_t i = 0; i < v->len; i++)
        if (!collect_k3(&v->members[i].value, refs, max, n)) return false;
    return true;
}

/* The inputs of call k of a layer: *ready false if one is not built yet. */
static bool call_inputs(kb *b, const kmodel *m, const klayer *l, int k, ktensor **in, int *n_in, bool *ready) {
    const json_value *node_v = &l->inbound->items[k];
    char what[300];
    snprintf(what, sizeof what, "layer '%s%.200s' call %d", m->weight_scope, l->name, k);
    enum { MAX_REFS = 1024 };
    kref *refs = malloc(sizeof *refs * MAX_REFS);
    int n = 0;
    bool ok = refs != NULL;
    if (!ok) return out_of_memory(b);
    if (node_v->type == JSON_OBJECT) { /* Keras 3: {"args": [...], "kwargs": {...}} */
        /* initial_state is the one tensor keyword argument Kiln uses (RNN layers take it after the sequence) */
        ok = collect_k3(json_get(node_v, "args"), refs, MAX_REFS, &n) &&
             collect_k3(json_get(json_get(node_v, "kwargs"), "initial_state"), refs, MAX_REFS, &n);
    } else if (node_v->type == JSON_ARRAY) { /* Keras 2: [["layer", node, tensor, {kwargs}], ...] */
        for (size_t i = 0; ok && i < node_v->len; i++) {
            if (n < MAX_REFS) ok = parse_ref(&node_v->items[i], &refs[n]);
            n++;
        }
    } else {
        ok = false;
    }
    if (!ok || n > MAX_REFS || n == 0) {
        free(refs);
        kc_error("model config: %s: %s", what,
                 n > MAX_REFS ? "more than 1024 inputs"
                              : "its inbound node is not a list of [layer, node, tensor] references");
        return false;
    }
    *ready = true;
    const ktensor *t;
    for (int i = 0; ok && i < n && *ready; i++) ok = resolve(m, &refs[i], what, &t, ready);
    if (ok && *ready) {
        ok = (*in = tf_alloc(b->g, sizeof **in * (size_t)n)) != NULL;
        if (!ok) out_of_memory(b);
        for (int i = 0; ok && i < n; i++) {
            ok = resolve(m, &refs[i], what, &t, ready);
            if (ok) (*in)[i] = *t;
        }
        *n_in = n;
    }
    free(refs);
    return ok;
}

static bool build_call(kb *b, const kmodel *m, klayer *l, int k, const ktensor *in, int n_in) {
    kctx c = {.b = b, .m = m, .l = l, .in = in, .n_in = n_in};
    if (!(c.call = call_name(b, m, l, k))) return false;
    if (!find_layer_fn(l->cls)(&c)) return false;
    /* Keras passes a mask on through most layers; it only matters to the
     * recurrent layers, which refuse it, so every output of a masked input
     * counts as masked. */
    for (int i = 0; i < n_in; i++)
        for (int j = 0; in[i].masked && j < c.n_out; j++) c.out[j].masked = true;
    kcall *call = &l->calls[k];
    if (!(call->out = tf_alloc(b->g, sizeof *call->out * (size_t)c.n_out))) return out_of_memory(b);
    memcpy(call->out, c.out, sizeof *call->out * (size_t)c.n_out);
    call->n_out = c.n_out;
    call->built = true;
    return true;
}

static bool alloc_calls(kb *b, klayer *l, int n) {
    l->n_calls = n;
    return (l->calls = tf_alloc(b->g, sizeof *l->calls * (size_t)(n ? n : 1))) != NULL || out_of_memory(b);
}

/* Sets the call-0 output of an InputLayer. */
static bool set_input(kb *b, klayer *l, const ktensor *t) {
    if (!alloc_calls(b, l, 1) || !(l->calls[0].out = tf_alloc(b->g, sizeof *t))) return out_of_memory(b);
    l->calls[0].out[0] = *t;
    l->calls[0].n_out = 1;
    l->calls[0].built = true;
    return true;
}

/* Adds a top-level endpoint to the graph's signature. */
static bool add_endpoint(kb *b, tf_endpoint **list, int *n, const char *key, const char *tensor) {
    tf_endpoint *grown = tf_alloc(b->g, sizeof *grown * (size_t)(*n + 1));
    if (!grown) return out_of_memory(b);
    if (*n) memcpy(grown, *list, sizeof *grown * (size_t)*n);
    grown[*n] = (tf_endpoint){key, tensor};
    *list = grown;
    (*n)++;
    return true;
}

static bool build_sequential(kb *b, kmodel *m, const json_value *model, const ktensor *in, int n_in, ktensor *out) {
    int first = 0;
    ktensor x;
    if (m->n_layers == 0 || (m->n_layers == 1 && strcmp(m->layers[0].cls, "InputLayer") == 0)) {
        kc_error("model config: the Sequential model '%s%s' has no layers", m->weight_scope,
                 layer_name(model) ? layer_name(model) : "");
        return false;
    }
    if (strcmp(m->layers[0].cls, "InputLayer") == 0) first = 1;
    if (!m->top) {
        if (n_in != 1) {
            kc_error("model config: a Sequential model takes 1 input, got %d", n_in);
            return false;
        }
        x = in[0];
    } else if (first) {
        klayer *l = &m->layers[0];
        if (!make_input(b, m, l, call_name(b, m, l, 0), NULL, &x) ||
            !add_endpoint(b, &b->g->sig_inputs, &b->g->n_sig_inputs, l->name, x.ref))
            return false;
    } else { /* no InputLayer: Keras names the input after the first layer */
        klayer *l = &m->layers[0];
        const char *base = concat3(b, l->name, "_input", ""), *name = base ? unique_name(b, base) : NULL;
        const json_value *shape = json_get(json_get(model, "config"), "build_input_shape");
        if (!name || !make_input(b, m, l, name, shape, &x) ||
            !add_endpoint(b, &b->g->sig_inputs, &b->g->n_sig_inputs, name, name))
            return false;
    }
    for (int i = first; i < m->n_layers; i++) {
        klayer *l = &m->layers[i];
        if (!alloc_calls(b, l, 1) || !build_call(b, m, l, 0, &x, 1)) return false;
        if (l->calls[0].n_out != 1) {
            kc_error("model config: layer '%s%s' in a Sequential model has %d outputs", m->weight_scope, l->name,
                     l->calls[0].n_out);
            return false;
        }
        x = l->calls[0].out[0];
    }
    *out = x;
    return true;
}

static bool build_functional(kb *b, kmodel *m, const json_value *model, const ktensor *in, int n_in, ktensor *out,
                             int *n_out) {
    const json_value *config = json_get(model, "config");
    const json_value *inputs = json_get(config, "input_layers"), *outputs = json_get(config, "output_layers");
    size_t n_inputs = ref_count(inputs), n_outputs = ref_count(outputs);
    if (!n_outputs || n_outputs > KERAS_MAX_OUTPUTS || (!m->top && n_inputs != (size_t)n_in)) {
        kc_error("model config: model '%s' needs \"input_layers\"%s and 1 to %d \"output_layers\"",
                 layer_name(model) ? layer_name(model) : "", m->top ? "" : " matching its call's inputs",
                 KERAS_MAX_OUTPUTS);
        return false;
    }
    for (int i = 0; i < m->n_layers; i++) {
        klayer *l = &m->layers[i];
        if (strcmp(l->cls, "InputLayer") == 0) continue;
        if (l->inbound && l->inbound->type != JSON_ARRAY) {
            kc_error("model config: layer '%s%s': \"inbound_nodes\" must be a list", m->weight_scope, l->name);
            return false;
        }
        if (l->inbound && l->inbound->len > INT32_MAX / 2) return out_of_memory(b);
        if (!alloc_calls(b, l, l->inbound ? (int)l->inbound->len : 0)) return false;
    }
    for (size_t i = 0; i < n_inputs; i++) {
        kref r;
        klayer *l = parse_ref(ref_at(inputs, i), &r) ? find_layer(m, r.layer) : NULL;
        if (!l || strcmp(l->cls, "InputLayer") != 0 || r.node != 0 || r.tensor != 0 || l->calls) {
            kc_error("model config: input_layers[%zu] must name an InputLayer of the model once", i);
            return false;
        }
        ktensor t;
        if (m->top) {
            if (!make_input(b, m, l, call_name(b, m, l, 0), NULL, &t) ||
                !add_endpoint(b, &b->g->sig_inputs, &b->g->n_sig_inputs, l->name, t.ref))
                return false;
        } else {
            t = in[i];
        }
        if (!set_input(b, l, &t)) return false;
    }
    for (int i = 0; i < m->n_layers; i++)
        if (!m->layers[i].calls && !alloc_calls(b, &m->layers[i], 0)) return false; /* unused InputLayers */
    /* Build every call whose inputs are ready until none is left: configs
     * list layers in order, but shared layers may refer forward. */
    for (bool pending = true; pending;) {
        bool progress = false;
        pending = false;
        for (int i = 0; i < m->n_layers; i++) {
            klayer *l = &m->layers[i];
            for (int k = 0; k < l->n_calls; k++) {
                ktensor *args;
                int n_args;
                bool ready;
                if (l->calls[k].built) continue;
                if (!call_inputs(b, m, l, k, &args, &n_args, &ready)) return false;
                if (!ready) {
                    pending = true;
                    continue;
                }
                if (!build_call(b, m, l, k, args, n_args)) return false;
                progress = true;
            }
        }
        if (pending && !progress) {
            for (int i = 0; i < m->n_layers; i++)
                for (int k = 0; k < m->layers[i].n_calls; k++)
                    if (!m->layers[i].calls[k].built) {
                        kc_error("model config: layer '%s%s' call %d never gets its inputs (a cycle, or an input "
                                 "that is not in input_layers)",
                                 m->weight_scope, m->layers[i].name, k);
                        return false;
                    }
        }
    }
    for (size_t i = 0; i < n_outputs; i++) {
        kref r;
        const ktensor *t = NULL;
        bool ready = true;
        char what[64];
        snprintf(what, sizeof what, "output_layers[%zu]", i);
        if (!parse_ref(ref_at(outputs, i), &r)) {
            kc_error("model config: %s must be [layer, node, tensor]", what);
            return false;
        }
        if (!resolve(m, &r, what, &t, &ready)) return false;
        if (!t) {
            kc_error("model config: %s: layer '%s' is never called", what, r.layer);
            return false;
        }
        out[i] = *t;
    }
    *n_out = (int)n_outputs;
    return true;
}

static bool build_model(kb *b, const json_value *model, const char *node_scope, const char *weight_scope, bool top,
                        const ktensor *in, int n_in, ktensor *out, int *n_out) {
    kmodel m = {.node_scope = node_scope, .weight_scope = weight_scope, .top = top};
    if (!parse_layers(b, model, &m)) return false;
    if (strcmp(json_string(json_get(model, "class_name")), "Sequential") == 0) {
        *n_out = 1;
        return build_sequential(b, &m, model, in, n_in, out);
    }
    return build_functional(b, &m, model, in, n_in, out, n_out);
}

bool keras_build(tf_graph *g, const json_value *model, const keras_source *src) {
    kb b = {.g = g, .src = src};
    scan s = {.b = &b};
    const char *cls = json_string(json_get(model, "class_name"));
    ktensor out[KERAS_MAX_OUTPUTS];
    int n_out = 0;
    bool ok;
    if (!cls || !is_model_class(cls)) {
        kc_error("model config: expected a Sequential, Model or Functional model, got %s",
                 cls ? cls : "no \"class_name\"");
        ok = false;
    } else {
        ok = scan_model(&s, model, "") && (s.n == 0 || report_unknown(&s)) &&
             build_model(&b, model, "", "", true, NULL, 0, out, &n_out);
    }
    for (int i = 0; ok && i < n_out; i++)
        ok = add_endpoint(&b, &g->sig_outputs, &g->n_sig_outputs, out[i].ref, out[i].ref);
    free(s.list);
    free(b.names);
    free(b.weights);
    return ok;
}
