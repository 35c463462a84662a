#define _POSIX_C_SOURCE 200809L

#include "read_savedmodel.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"
#include "files.h"
#include "graph.pb-c.h"
#include "read_pb.h"
#include "saved_model.pb-c.h"
#include "tensor_bundle.h"

#define MAX_PB_BYTES 0x7fffffff /* protobuf's 2 GiB message limit */
#define MAX_NESTING 100         /* messages inside messages: protobuf-c recurses once per level */
#define MAX_CALL_DEPTH 64       /* function calls inside function calls */
#define MAX_FLAT_NODES TF_MAX_NODES
#define MAX_RESOLVE_STEPS (1 << 20) /* call boundaries one tensor name may cross */

typedef Tensorflow__NodeDef node_def;
typedef Tensorflow__AttrValue attr_value;

/* ---- Names to indices ----------------------------------------------------------
 * Open addressing over strings; the arrays live in the reader's pool (a
 * tf_graph used as an arena, so everything is freed at once). */

typedef struct name_map {
    const char **keys;
    int *vals;
    size_t cap, n;
} name_map;

static uint64_t hash_str(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The value of the first n bytes of s, or -1. */
static int map_get(const name_map *m, const char *s, size_t n) {
    if (!m->cap) return -1;
    for (size_t i = hash_str(s, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return -1;
        if (strncmp(m->keys[i], s, n) == 0 && m->keys[i][n] == '\0') return m->vals[i];
    }
}

/* Adds key (kept by pointer): 1 if added, 0 if it was there, -1 when out of memory. */
static int map_put(tf_graph *pool, name_map *m, const char *key, int val) {
    if (map_get(m, key, strlen(key)) >= 0) return 0;
    if (2 * (m->n + 1) > m->cap) {
        name_map bigger = {.cap = m->cap ? 2 * m->cap : 64};
        bigger.keys = tf_alloc(pool, bigger.cap * sizeof *bigger.keys);
        bigger.vals = tf_alloc(pool, bigger.cap * sizeof *bigger.vals);
        if (!bigger.keys || !bigger.vals) return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) map_put(pool, &bigger, m->keys[i], m->vals[i]);
        *m = bigger;
    }
    size_t i = hash_str(key, strlen(key)) & (m->cap - 1);
    while (m->keys[i]) i = (i + 1) & (m->cap - 1);
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 1;
}

/* ---- The reader's state -------------------------------------------------------- */

/* A caller's attr value for a placeholder in a function body. */
typedef struct binding {
    const char *key;
    const attr_value *value;
} binding;

typedef struct func {
    const Tensorflow__FunctionDef *fd;
    node_def **body; /* fd's nodes, functional loops expanded (see expand_loops) */
    size_t n_body;
    name_map nodes; /* body node name -> index */
    bool indexed;
} func;

/* The top-level graph, or one inlined call of a function. */
typedef struct scope {
    func *fn; /* NULL: the top-level graph */
    struct scope *parent;
    const node_def *call; /* the calling node, in parent */
    const char *prefix;   /* what the names of its nodes start with: "" or "<call>/" */
    binding *binds;
    size_t n_binds;
    node_def **nodes;
    size_t n_nodes;
    const name_map *names;
    struct scope **callees; /* per node: the call it makes, once inlined */
    int *flat;              /* per node: 1 + its node in the output, 0 if none yet */
    bool *seen;             /* per node: visited by the restore walk */
    int depth;
} scope;

/* Output `index` of node `node` of scope `s`. */
typedef struct tref {
    scope *s;
    int node, index;
} tref;

/* A node of the output graph. Nodes made for the signature (s == NULL) are built at once. */
typedef struct flat {
    const char *name;
    scope *s;
    int node;
    node_def *nd;
    const char *key; /* a variable's checkpoint key */
} flat;

typedef struct endpoint {
    const char *key;
    const Tensorflow__TensorInfo *info;
    tref t;   /* inputs: the tensor the signature feeds */
    int flat; /* its node in the output */
} endpoint;

/* A variable the restore op assigns: from checkpoint key `key`, or from a slice of it. */
typedef struct restore {
    scope *s;
    int node;
    const char *key;
    bool sliced;
} restore;

typedef struct reader {
    const char *dir;
    tf_graph *pool;
    const Tensorflow__MetaGraphDef *mg;
    func *funcs;
    name_map fn_names, op_names, top_names, flat_names;
    scope top;
    flat *flats;
    int n_flats, cap_flats;
    endpoint *ins, *outs;
    int n_ins, n_outs;
    restore *restores;
    int n_restores, cap_restores;
} reader;

static bool oom(void) {
    kc_error("out of memory");
    return false;
}

static char *concat(reader *r, const char *a, const char *b, const char *c) {
    size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
    char *s = tf_alloc(r->pool, na + nb + nc + 1);
    if (s) {
        memcpy(s, a, na);
        memcpy(s + na, b, nb);
        memcpy(s + na + nb, c, nc);
    }
    return s;
}

/* "function 'F' (inlined as 'call')" or "the graph", for messages. */
static const char *where(reader *r, const scope *s) {
    if (!s->fn) return "the graph";
    const char *name = s->fn->fd->signature->name;
    size_t cap = strlen(name) + strlen(s->prefix) + 32;
    char *w = tf_alloc(r->pool, cap);
    if (!w) return "a function";
    snprintf(w, cap, "function '%s' (inlined as '%.*s')", name, (int)strlen(s->prefix) - 1, s->prefix);
    return w;
}

/* ---- Loading saved_model.pb ------------------------------------------------------ */

/* How deeply messages nest in d[pos, end): -1 if it is not a message at
 * all, else the deepest chain of length-delimited fields that parse as
 * messages (protobuf-c recurses once per level), counting no further than
 * budget + 1. Bytes that happen to parse as messages only make the count
 * larger, never smaller. */
static int nesting(const uint8_t *d, size_t pos, size_t end, int budget) {
    int depth = 0;
    while (pos < end) {
        uint64_t tag, len;
        if (!tf_read_varint(d, &pos, end, &tag) || tag >> 3 == 0) return -1;
        switch (tag & 7) {
        case 0:
            if (!tf_read_varint(d, &pos, end, &len)) return -1;
            break;
        case 1:
        case 5:
            len = (tag & 7) == 1 ? 8 : 4;
            if (len > end - pos) return -1;
            pos += len;
            break;
        case 2:
            if (!tf_read_varint(d, &pos, end, &len) || len > end - pos) return -1;
            if (budget > 0) {
                int sub = nesting(d, pos, pos + len, budget - 1);
                if (sub >= depth) depth = sub + 1;
                if (depth > budget) return depth;
            }
            pos += len;
            break;
        default: return -1;
        }
    }
    return depth;
}

/* Reads and unpacks dir/saved_model.pb. */
static Tensorflow__SavedModel *load_model(const char *dir) {
    char *path = malloc(strlen(dir) + sizeof "/saved_model.pbtxt");
    if (!path) {
        oom();
        return NULL;
    }
    sprintf(path, "%s/saved_model.pbtxt", dir);
    struct stat st;
    bool text = stat(path, &st) == 0;
    path[strlen(path) - 3] = '\0'; /* saved_model.pb */
    size_t size = 0;
    uint8_t *data = text && stat(path, &st) != 0 ? NULL : kc_read_file(path, MAX_PB_BYTES, &size);
    Tensorflow__SavedModel *model = NULL;
    if (!data) {
        if (text) kc_error("saved_model.pbtxt (text format) is not supported: save the model in binary form");
    } else {
        int depth = nesting(data, 0, size, MAX_NESTING);
        if (size == 0)
            kc_error("saved_model.pb: empty, not a SavedModel");
        else if (depth < 0)
            kc_error("saved_model.pb: not a SavedModel: malformed protobuf");
        else if (depth > MAX_NESTING)
            kc_error("saved_model.pb: not a SavedModel: messages nested deeper than %d", MAX_NESTING);
        else if (!(model = tensorflow__saved_model__unpack(NULL, size, data)))
            kc_error("saved_model.pb: not a SavedModel (protobuf parse failed)");
    }
    free(data);
    free(path);
    return model;
}

/* The MetaGraph tagged "serve". */
static const Tensorflow__MetaGraphDef *serve_graph(const Tensorflow__SavedModel *model) {
    for (size_t i = 0; i < model->n_meta_graphs; i++) {
        const Tensorflow__MetaGraphDef *mg = model->meta_graphs[i];
        for (size_t t = 0; mg->meta_info_def && t < mg->meta_info_def->n_tags; t++)
            if (strcmp(mg->meta_info_def->tags[t], "serve") == 0) {
                if (!mg->graph_def) {
                    kc_error("saved_model.pb: the \"serve\" MetaGraph has no graph");
                    return NULL;
                }
                return mg;
            }
    }
    kc_error("saved_model.pb: no MetaGraph is tagged \"serve\" (it has %zu MetaGraph%s)", model->n_meta_graphs,
             model->n_meta_graphs == 1 ? "" : "s");
    return NULL;
}

/* Signatures users call: not TF's internal ones ("__saved_model_init_op"). */
static bool public_signature(const char *key) { return strncmp(key, "__", 2) != 0; }

static const Tensorflow__SignatureDef *find_signature(const Tensorflow__MetaGraphDef *mg, const char *name) {
    char names[1024] = "";
    size_t len = 0;
    for (size_t i = 0; i < mg->n_signature_def; i++) {
        const char *key = mg->signature_def[i]->key;
        if (strcmp(key, name) == 0 && mg->signature_def[i]->value) return mg->signature_def[i]->value;
        if (public_signature(key) && len < sizeof names)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s'%s'", len ? ", " : "", key);
    }
    kc_error("no signature '%s' in the \"serve\" MetaGraph (it has %s)", name, len ? names : "none");
    return NULL;
}

/* ---- Functions, OpDefs and attrs -------------------------------------------------- */

static bool index_nodes(reader *r, name_map *m, node_def *const *nodes, size_t n, const char *what) {
    if (n > MAX_FLAT_NODES) {
        kc_error("%s has %zu nodes, over the limit of %d", what, n, MAX_FLAT_NODES);
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        int added = map_put(r->pool, m, nodes[k]->name, (int)k);
        if (added < 0) return oom();
        if (!added) {
            kc_error("%s has two nodes named '%s'", what, nodes[k]->name);
            return false;
        }
    }
    return true;
}

static bool index_library(reader *r) {
    const Tensorflow__FunctionDefLibrary *lib = r->mg->graph_def->library;
    size_t n = lib ? lib->n_function : 0;
    if (n && !(r->funcs = tf_alloc(r->pool, n * sizeof *r->funcs))) return oom();
    for (size_t i = 0; i < n; i++) {
        const Tensorflow__FunctionDef *fd = lib->function[i];
        if (!fd->signature || !fd->signature->name[0]) {
            kc_error("function %zu of the library has no name", i);
            return false;
        }
        r->funcs[i].fd = fd;
        if (map_put(r->pool, &r->fn_names, fd->signature->name, (int)i) < 0) return oom();
    }
    const Tensorflow__MetaGraphDef__MetaInfoDef *info = r->mg->meta_info_def;
    const Tensorflow__OpList *ops = info ? info->stripped_op_list : NULL;
    for (size_t i = 0; ops && i < ops->n_op; i++)
        if (map_put(r->pool, &r->op_names, ops->op[i]->name, (int)i) < 0) return oom();
    return true;
}

/* The file's OpDef for op, or NULL. */
static const Tensorflow__OpDef *opdef(const reader *r, const char *op) {
    int i = map_get(&r->op_names, op, strlen(op));
    return i < 0 ? NULL : r->mg->meta_info_def->stripped_op_list->op[i];
}

/* Function attr `key` (a string; protobuf bytes are not NUL-terminated), or empty. */
static ProtobufCBinaryData function_attr(const func *fn, const char *key) {
    for (size_t i = 0; i < fn->fd->n_attr; i++) {
        const attr_value *v = fn->fd->attr[i]->value;
        if (strcmp(fn->fd->attr[i]->key, key) == 0 && v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_S)
            return v->s;
    }
    return (ProtobufCBinaryData){0, NULL};
}

static bool same_bytes(ProtobufCBinaryData a, ProtobufCBinaryData b) {
    return a.len == b.len && (!a.len || memcmp(a.data, b.data, a.len) == 0);
}

/* The library function named name (n bytes), or NULL. A function made for
 * another device (a Keras RNN's CuDNN version) is replaced by the one that
 * implements the same API on the CPU. */
static func *library_function(const reader *r, const char *name, size_t n) {
    static const ProtobufCBinaryData cpu = {3, (uint8_t *)"CPU"};
    int i = map_get(&r->fn_names, name, n);
    func *fn = i < 0 ? NULL : &r->funcs[i];
    ProtobufCBinaryData api = fn ? function_attr(fn, "api_implements") : (ProtobufCBinaryData){0, NULL};
    if (!api.len || same_bytes(function_attr(fn, "api_preferred_device"), cpu)) return fn;
    const Tensorflow__FunctionDefLibrary *lib = r->mg->graph_def->library;
    for (size_t k = 0; k < lib->n_function; k++)
        if (same_bytes(function_attr(&r->funcs[k], "api_implements"), api) &&
            same_bytes(function_attr(&r->funcs[k], "api_preferred_device"), cpu))
            return &r->funcs[k];
    return fn;
}

static bool is_placeholder(const attr_value *v) { return v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_PLACEHOLDER; }

/* The value of a placeholder in scope s, or NULL if its caller gave none. */
static const attr_value *bound(const scope *s, const attr_value *v) {
    for (size_t i = 0; i < s->n_binds; i++)
        if (strcmp(s->binds[i].key, v->placeholder) == 0) return s->binds[i].value;
    return NULL;
}

/* Node attr `name` with placeholders bound (an unbound one stays a
 * placeholder), else the OpDef default, else NULL. */
static const attr_value *attr_of(const reader *r, const scope *s, const node_def *nd, const char *name) {
    for (size_t i = 0; i < nd->n_attr; i++) {
        const attr_value *v = nd->attr[i]->value;
        if (strcmp(nd->attr[i]->key, name) != 0 || !v) continue;
        const attr_value *b = is_placeholder(v) ? bound(s, v) : v;
        return b ? b : v;
    }
    const Tensorflow__OpDef *od = opdef(r, nd->op);
    for (size_t i = 0; od && i < od->n_attr; i++)
        if (strcmp(od->attr[i]->name, name) == 0) return od->attr[i]->default_value;
    return NULL;
}

/* Node nd's data inputs (control inputs, "^node", come after them). */
static size_t n_data_inputs(const node_def *nd) {
    size_t n = 0;
    while (n < nd->n_input && nd->input[n][0] != '^') n++;
    return n;
}

/* An arg of a function's signature, counted as one tensor. */
static bool single_arg(const Tensorflow__OpDef *sig, const Tensorflow__OpDef__ArgDef *a) {
    if (!a->number_attr[0] && !a->type_list_attr[0]) return true;
    kc_error("function '%s': arg '%s' is a list of tensors; only single-tensor args are supported", sig->name, a->name);
    return false;
}

static bool expand_loops(reader *r, node_def *const *nodes, size_t n, bool in_function, const char *what,
                         node_def ***out, size_t *n_out);

/* The inlined call node k of scope s makes, or *out = NULL if it calls no function. */
static bool callee_of(reader *r, scope *s, int k, scope **out) {
    *out = s->callees[k];
    if (*out) return true;
    const node_def *nd = s->nodes[k];
    func *fn;
    size_t n_src = 0;
    Tensorflow__NameAttrList__AttrEntry **f_attrs = NULL;
    if (strcmp(nd->op, "StatefulPartitionedCall") == 0 || strcmp(nd->op, "PartitionedCall") == 0) {
        const attr_value *f = attr_of(r, s, nd, "f");
        if (!f || f->value_case != TENSORFLOW__ATTR_VALUE__VALUE_FUNC || !f->func) {
            kc_error("%s: node '%s' (%s) names no function in attr 'f'", where(r, s), nd->name, nd->op);
            return false;
        }
        if (!(fn = library_function(r, f->func->name, strlen(f->func->name)))) {
            kc_error("%s: node '%s' (%s) calls function '%s', which is not in the function library", where(r, s),
                     nd->name, nd->op, f->func->name);
            return false;
        }
        f_attrs = f->func->attr;
        n_src = f->func->n_attr;
    } else if (!(fn = library_function(r, nd->op, strlen(nd->op)))) {
        return true;
    } else {
        n_src = nd->n_attr;
    }
    const Tensorflow__OpDef *sig = fn->fd->signature;
    if (s->depth == MAX_CALL_DEPTH) {
        kc_error("%s: node '%s' calls '%s': calls nest deeper than %d (a recursive function?)", where(r, s), nd->name,
                 sig->name, MAX_CALL_DEPTH);
        return false;
    }
    if (n_data_inputs(nd) != sig->n_input_arg) {
        kc_error("%s: node '%s' passes %zu inputs to function '%s', which takes %zu", where(r, s), nd->name,
                 n_data_inputs(nd), sig->name, sig->n_input_arg);
        return false;
    }
    for (size_t i = 0; i < sig->n_input_arg; i++)
        if (!single_arg(sig, sig->input_arg[i])) return false;
    for (size_t i = 0; i < sig->n_output_arg; i++)
        if (!single_arg(sig, sig->output_arg[i])) return false;
    scope *c = tf_alloc(r->pool, sizeof *c);
    if (!c) return oom();
    if (!fn->indexed) {
        const char *what = concat(r, "function '", sig->name, "'");
        if (!what) return oom();
        if (!expand_loops(r, fn->fd->node_def, fn->fd->n_node_def, true, what, &fn->body, &fn->n_body) ||
            !index_nodes(r, &fn->nodes, fn->body, fn->n_body, what))
            return false;
        fn->indexed = true;
    }
    *c = (scope){.fn = fn, .parent = s, .call = nd, .depth = s->depth + 1, .nodes = fn->body, .n_nodes = fn->n_body,
                 .names = &fn->nodes};
    c->prefix = concat(r, s->prefix, nd->name, "/");
    c->binds = tf_alloc(r->pool, (n_src + 1) * sizeof *c->binds);
    c->callees = tf_alloc(r->pool, (c->n_nodes + 1) * sizeof *c->callees);
    c->flat = tf_alloc(r->pool, (c->n_nodes + 1) * sizeof *c->flat);
    c->seen = tf_alloc(r->pool, c->n_nodes + 1);
    if (!c->prefix || !c->binds || !c->callees || !c->flat || !c->seen) return oom();
    /* The call's attrs bind the body's placeholders; the caller's own placeholders are bound first. */
    for (size_t i = 0; i < n_src; i++) {
        const char *key = f_attrs ? f_attrs[i]->key : nd->attr[i]->key;
        const attr_value *v = f_attrs ? f_attrs[i]->value : nd->attr[i]->value;
        if (v && is_placeholder(v)) v = bound(s, v);
        if (v) c->binds[c->n_binds++] = (binding){key, v};
    }
    *out = s->callees[k] = c;
    return true;
}

/* The count of output arg a of node nd: number_attr tensors, one per type in
 * type_list_attr, or one. -1 after kc_error. */
static int64_t arg_count(const reader *r, const scope *s, const node_def *nd, const char *arg, const char *number_attr,
                         const char *type_list_attr) {
    const char *attr = number_attr[0] ? number_attr : type_list_attr[0] ? type_list_attr : NULL;
    if (!attr) return 1;
    const attr_value *v = attr_of(r, s, nd, attr);
    if (v && number_attr[0] && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_I && v->i >= 0) return v->i;
    if (v && !number_attr[0] && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST) return (int64_t)v->list->n_type;
    kc_error("node '%s' (%s): output arg '%s' needs attr '%s' (%s), which is missing or not one", nd->name, nd->op, arg,
             attr, number_attr[0] ? "an int" : "a list of types");
    return -1;
}

/* Output args of multi-output ops, for files whose stripped_op_list lacks
 * them: "arg" is one tensor, "arg*attr" attr (an int) tensors, "arg+attr"
 * one tensor per type in the list attr. Other ops are taken to have one
 * output arg, as most have. */
static const struct {
    const char *op, *args;
} known_outputs[] = {
    {"Split", "output*num_split"},
    {"SplitV", "output*num_split"},
    {"Unpack", "output*num"},
    {"ShapeN", "output*N"},
    {"IdentityN", "output+T"},
    {"StatefulPartitionedCall", "output+Tout"},
    {"PartitionedCall", "output+Tout"},
    {"While", "output+T"},
    {"StatelessWhile", "output+T"},
    {"If", "output+Tout"},
    {"StatelessIf", "output+Tout"},
    {"TopK", "values indices"},
    {"TopKV2", "values indices"},
    {"Unique", "y idx"},
    {"Switch", "output_false output_true"},
    {"Merge", "output value_index"},
    {"MaxPoolWithArgmax", "output argmax"},
    {"NonMaxSuppressionV4", "selected_indices valid_outputs"},
    {"NonMaxSuppressionV5", "selected_indices selected_scores valid_outputs"},
    {"FusedBatchNorm", "y batch_mean batch_variance reserve_space_1 reserve_space_2"},
    {"FusedBatchNormV2", "y batch_mean batch_variance reserve_space_1 reserve_space_2"},
    {"FusedBatchNormV3", "y batch_mean batch_variance reserve_space_1 reserve_space_2 reserve_space_3"},
};

/* Parses one "arg", "arg*attr" or "arg+attr" of known_outputs at *p into
 * buffers; false at the end. */
static bool next_known_arg(const char **p, char *name, char *number_attr, char *list_attr) {
    while (**p == ' ') (*p)++;
    if (!**p) return false;
    size_t n = strcspn(*p, " *+"), m;
    memcpy(name, *p, n);
    name[n] = '\0';
    *p += n;
    number_attr[0] = list_attr[0] = '\0';
    if (**p == '*' || **p == '+') {
        char *dst = **p == '*' ? number_attr : list_attr;
        m = strcspn(++*p, " ");
        memcpy(dst, *p, m);
        dst[m] = '\0';
        *p += m;
    }
    return true;
}

/* The output index of "out" or "out:i" (element i of output arg out) of
 * node k of a function body: the output args before out, counted. */
static bool out_index(reader *r, scope *s, int k, const char *spec, int *index) {
    const node_def *nd = s->nodes[k];
    size_t n = strcspn(spec, ":");
    long element = 0;
    if (spec[n]) {
        char *end;
        element = strtol(spec + n + 1, &end, 10);
        if (end == spec + n + 1 || *end || element < 0 || element >= INT32_MAX) {
            kc_error("%s: bad tensor name '%s:%s'", where(r, s), nd->name, spec);
            return false;
        }
    }
    int64_t offset = 0;
    bool found = false;
    const func *fn = library_function(r, nd->op, strlen(nd->op));
    const Tensorflow__OpDef *od = fn ? fn->fd->signature : opdef(r, nd->op);
    if (od) {
        for (size_t a = 0; a < od->n_output_arg && !found; a++) {
            const Tensorflow__OpDef__ArgDef *arg = od->output_arg[a];
            if (strlen(arg->name) == n && strncmp(arg->name, spec, n) == 0) {
                found = true;
            } else {
                int64_t c = fn ? 1 : arg_count(r, s, nd, arg->name, arg->number_attr, arg->type_list_attr);
                if (c < 0) return false;
                offset += c;
            }
        }
    } else {
        const char *args = NULL;
        for (size_t i = 0; i < sizeof known_outputs / sizeof known_outputs[0] && !args; i++)
            if (strcmp(known_outputs[i].op, nd->op) == 0) args = known_outputs[i].args;
        char name[64], number_attr[64], list_attr[64];
        for (const char *p = args; p && !found && next_known_arg(&p, name, number_attr, list_attr);) {
            if (strlen(name) == n && strncmp(name, spec, n) == 0) {
                found = true;
            } else {
                int64_t c = arg_count(r, s, nd, name, number_attr, list_attr);
                if (c < 0) return false;
                offset += c;
            }
        }
        found = found || !args;
    }
    if (!found) {
        kc_error("%s: node '%s' (%s) has no output arg '%.*s'", where(r, s), nd->name, nd->op, (int)n, spec);
        return false;
    }
    if (offset + element > INT32_MAX) {
        kc_error("%s: bad tensor name '%s:%s'", where(r, s), nd->name, spec);
        return false;
    }
    *index = (int)(offset + element);
    return true;
}

/* The output of the return value named out_arg of the inlined call c. */
static const char *ret_of(const scope *c, const char *out_arg) {
    const Tensorflow__FunctionDef *fd = c->fn->fd;
    for (size_t i = 0; i < fd->n_ret; i++)
        if (strcmp(fd->ret[i]->key, out_arg) == 0) return fd->ret[i]->value;
    return NULL;
}

/* The node and output that input `in` of a node of scope s names, through
 * function boundaries: a function's input arg is its caller's input, and a
 * call's output is the function's return value. */
static bool resolve(reader *r, scope *s, const char *in, tref *out) {
    for (long step = 0; step < MAX_RESOLVE_STEPS; step++) {
        size_t n = strcspn(in, ":");
        const char *rest = in[n] ? in + n + 1 : NULL;
        if (s->fn) {
            const Tensorflow__OpDef *sig = s->fn->fd->signature;
            size_t a = 0;
            while (a < sig->n_input_arg && !(strncmp(sig->input_arg[a]->name, in, n) == 0 && !sig->input_arg[a]->name[n]))
                a++;
            if (a < sig->n_input_arg) {
                if (rest && strcmp(rest, "0") != 0) {
                    kc_error("%s: '%s' names an element of arg '%s', which is one tensor", where(r, s), in,
                             sig->input_arg[a]->name);
                    return false;
                }
                in = s->call->input[a];
                s = s->parent;
                continue;
            }
        }
        int k = map_get(s->names, in, n);
        if (k < 0) {
            kc_error("%s: input '%s' names no node%s", where(r, s), in, s->fn ? " or input arg" : "");
            return false;
        }
        int index = 0;
        if (s->fn && rest) {
            if (!out_index(r, s, k, rest, &index)) return false;
        } else if (rest) {
            char *end;
            long v = strtol(rest, &end, 10);
            if (end == rest || *end || v < 0 || v >= INT32_MAX) {
                kc_error("%s: bad tensor name '%s'", where(r, s), in);
                return false;
            }
            index = (int)v;
        }
        scope *c;
        if (!callee_of(r, s, k, &c)) return false;
        if (!c) {
            *out = (tref){s, k, index};
            return true;
        }
        const Tensorflow__OpDef *sig = c->fn->fd->signature;
        const char *ret = (size_t)index < sig->n_output_arg ? ret_of(c, sig->output_arg[index]->name) : NULL;
        if (!ret) {
            kc_error("%s: '%s' asks for output %d of function '%s', which returns %zu", where(r, s), in, index,
                     sig->name, sig->n_output_arg);
            return false;
        }
        in = ret;
        s = c;
    }
    kc_error("function calls and return values form a cycle at '%s'", in);
    return false;
}

/* ---- The restore op: which checkpoint key each variable has ------------------------- */

static bool is_variable(const char *op) {
    return strcmp(op, "VariableV2") == 0 || strcmp(op, "VarHandleOp") == 0 || strcmp(op, "Variable") == 0;
}

/* Element i of the string tensor in Const node t, NUL-terminated; NULL if there is none. */
static const char *const_string(reader *r, tref t, size_t i) {
    const node_def *nd = t.s->nodes[t.node];
    const attr_value *v = strcmp(nd->op, "Const") == 0 ? attr_of(r, t.s, nd, "value") : NULL;
    if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_TENSOR || i >= v->tensor->n_string_val) return NULL;
    const ProtobufCBinaryData *b = &v->tensor->string_val[i];
    return b->len ? tf_strndup(r->pool, (const char *)b->data, b->len) : ""; /* data may be NULL when empty */
}

/* Records the variable an Assign or AssignVariableOp node fills, if it fills it from RestoreV2. */
static bool record_restore(reader *r, scope *s, const node_def *nd) {
    tref var, val;
    if (n_data_inputs(nd) < 2 || !resolve(r, s, nd->input[0], &var) || !resolve(r, s, nd->input[1], &val))
        return n_data_inputs(nd) < 2;
    for (int hops = 0; strcmp(val.s->nodes[val.node]->op, "Identity") == 0; hops++) {
        const node_def *id = val.s->nodes[val.node];
        if (hops == MAX_RESOLVE_STEPS || !n_data_inputs(id)) return true;
        if (!resolve(r, val.s, id->input[0], &val)) return false;
    }
    const node_def *rv = val.s->nodes[val.node];
    if (strcmp(rv->op, "RestoreV2") != 0 || n_data_inputs(rv) < 3) return true;
    tref names, slices;
    if (!resolve(r, val.s, rv->input[1], &names) || !resolve(r, val.s, rv->input[2], &slices)) return false;
    const char *key = const_string(r, names, (size_t)val.index), *slice = const_string(r, slices, (size_t)val.index);
    if (!key) {
        kc_error("%s: RestoreV2 node '%s' has no constant tensor name for output %d", where(r, val.s), rv->name,
                 val.index);
        return false;
    }
    if (r->n_restores == r->cap_restores) {
        int cap = r->cap_restores ? 2 * r->cap_restores : 64;
        restore *bigger = tf_alloc(r->pool, (size_t)cap * sizeof *bigger);
        if (!bigger) return oom();
        if (r->n_restores) memcpy(bigger, r->restores, (size_t)r->n_restores * sizeof *bigger);
        r->restores = bigger;
        r->cap_restores = cap;
    }
    r->restores[r->n_restores++] = (restore){var.s, var.node, key, slice && slice[0]};
    return true;
}

/* Walks the nodes the restore op runs (data and control inputs, into function
 * calls and their control outputs) and records what each assignment restores. */
static bool walk_restore(reader *r, const char *op_name) {
    int k = map_get(&r->top_names, op_name, strcspn(op_name, ":"));
    if (k < 0) {
        kc_error("the saver's restore op '%s' is not in the graph", op_name);
        return false;
    }
    size_t cap = 64, n = 0;
    tref *stack = malloc(cap * sizeof *stack);
    bool ok = stack != NULL || oom();
    if (ok) stack[n++] = (tref){&r->top, k, 0};
    while (ok && n) {
        tref t = stack[--n];
        if (t.s->seen[t.node]) continue;
        t.s->seen[t.node] = true;
        const node_def *nd = t.s->nodes[t.node];
        scope *c;
        if (!(ok = callee_of(r, t.s, t.node, &c))) break;
        if (!c && (strcmp(nd->op, "Assign") == 0 || strcmp(nd->op, "AssignVariableOp") == 0) &&
            !(ok = record_restore(r, t.s, nd)))
            break;
        /* What runs before this node: its inputs; for a call, the body's return values and control outputs. */
        size_t n_next = c ? c->fn->fd->n_ret + c->fn->fd->n_control_ret : nd->n_input;
        if (n + n_next > cap) {
            cap = 2 * (n + n_next);
            tref *bigger = realloc(stack, cap * sizeof *stack);
            if (!(ok = bigger != NULL || oom())) break;
            stack = bigger;
        }
        for (size_t i = 0; ok && i < n_next; i++) {
            const Tensorflow__FunctionDef *fd = c ? c->fn->fd : NULL;
            const char *in = !c ? nd->input[i] : i < fd->n_ret ? fd->ret[i]->value : fd->control_ret[i - fd->n_ret]->value;
            scope *in_scope = c ? c : t.s;
            bool control = in[0] == '^' || (c && i >= fd->n_ret);
            if (control) {
                const char *name = in[0] == '^' ? in + 1 : in;
                int j = map_get(in_scope->names, name, strlen(name));
                if (j < 0) {
                    kc_error("%s: control input '%s' names no node", where(r, in_scope), name);
                    ok = false;
                } else {
                    stack[n++] = (tref){in_scope, j, 0};
                }
            } else {
                ok = resolve(r, in_scope, in, &stack[n]);
                n += ok;
            }
        }
    }
    free(stack);
    return ok;
}

/* ---- Building the output graph --------------------------------------------------------- */

static node_def *new_node(reader *r, const char *name, const char *op, size_t n_inputs, size_t n_attrs) {
    node_def *nd = tf_alloc(r->pool, sizeof *nd);
    if (!nd) return NULL;
    tensorflow__node_def__init(nd);
    nd->name = (char *)name;
    nd->op = (char *)op;
    nd->input = tf_alloc(r->pool, (n_inputs + 1) * sizeof *nd->input);
    nd->attr = tf_alloc(r->pool, (n_attrs + 1) * sizeof *nd->attr);
    return nd->input && nd->attr ? nd : NULL;
}

static bool add_attr(reader *r, node_def *nd, const char *key, const attr_value *v) {
    Tensorflow__NodeDef__AttrEntry *e = tf_alloc(r->pool, sizeof *e);
    if (!e) return oom();
    tensorflow__node_def__attr_entry__init(e);
    e->key = (char *)key;
    e->value = (attr_value *)v;
    nd->attr[nd->n_attr++] = e;
    return true;
}

static attr_value *new_attr(reader *r, Tensorflow__AttrValue__ValueCase kind) {
    attr_value *v = tf_alloc(r->pool, sizeof *v);
    if (v) {
        tensorflow__attr_value__init(v);
        v->value_case = kind;
    }
    return v;
}

static attr_value *type_attr(reader *r, int dtype) {
    attr_value *v = new_attr(r, TENSORFLOW__ATTR_VALUE__VALUE_TYPE);
    if (v) v->type = (Tensorflow__DataType)dtype;
    return v;
}

/* A new output node named `name` (made unique: "name_1", ...); its index, or -1. */
static int add_flat(reader *r, const char *name, scope *s, int node) {
    if (r->n_flats == MAX_FLAT_NODES) {
        kc_error("the inlined graph has more than %d nodes", MAX_FLAT_NODES);
        return -1;
    }
    if (r->n_flats == r->cap_flats) {
        int cap = r->cap_flats ? 2 * r->cap_flats : 256;
        flat *bigger = realloc(r->flats, (size_t)cap * sizeof *bigger);
        if (!bigger) return oom() - 1;
        r->flats = bigger;
        r->cap_flats = cap;
    }
    const char *unique = name;
    char *buf = NULL;
    for (int i = 1; map_get(&r->flat_names, unique, strlen(unique)) >= 0; i++) {
        if (!buf && !(buf = tf_alloc(r->pool, strlen(name) + 16))) return oom() - 1;
        sprintf(buf, "%s_%d", name, i);
        unique = buf;
    }
    if (buf && !(unique = tf_strdup(r->pool, buf))) return oom() - 1;
    if (map_put(r->pool, &r->flat_names, unique, r->n_flats) < 0) return oom() - 1;
    r->flats[r->n_flats] = (flat){.name = unique, .s = s, .node = node};
    return r->n_flats++;
}

/* The output graph's name for tensor t: a signature input's Placeholder, or
 * the node made for t's node (made now if new), with ":index" when not 0. */
static const char *tensor_name(reader *r, tref t) {
    const char *name = NULL;
    for (int i = 0; i < r->n_ins && !name; i++)
        if (r->ins[i].t.s == t.s && r->ins[i].t.node == t.node && r->ins[i].t.index == t.index) {
            name = r->flats[r->ins[i].flat].name;
            t.index = 0;
        }
    if (!name) {
        if (!t.s->flat[t.node]) {
            const node_def *nd = t.s->nodes[t.node];
            char *full = concat(r, t.s->prefix, nd->name, "");
            int f = full ? add_flat(r, full, t.s, t.node) : (oom() - 1);
            if (f < 0) return NULL;
            t.s->flat[t.node] = f + 1;
        }
        name = r->flats[t.s->flat[t.node] - 1].name;
    }
    if (!t.index) return name;
    char *s = tf_alloc(r->pool, strlen(name) + 16);
    if (s) sprintf(s, "%s:%d", name, t.index);
    else oom();
    return s;
}

/* The output node for flat node i: inputs resolved and renamed, attrs bound,
 * variables and resource reads turned into constants and Identities. */
static bool build_node(reader *r, int i) {
    scope *s = r->flats[i].s;
    const node_def *src = s->nodes[r->flats[i].node];
    const Tensorflow__OpDef *od = opdef(r, src->op);
    size_t n_in = n_data_inputs(src);
    node_def *nd = new_node(r, r->flats[i].name, src->op, n_in, src->n_attr + (od ? od->n_attr : 0) + 2);
    if (!nd) return oom();
    r->flats[i].nd = nd;
    const char *op = src->op, *renamed = NULL;
    const attr_value *dtype = attr_of(r, s, src, "dtype");
    if (is_variable(op)) {
        nd->op = "Const"; /* its value and dtype come from the checkpoint */
        return true;
    }
    if (strcmp(op, "ReadVariableOp") == 0 || strcmp(op, "PlaceholderWithDefault") == 0) {
        renamed = "Identity";
        if (dtype && !add_attr(r, nd, "T", dtype)) return false;
    } else if (strcmp(op, "ResourceGather") == 0) {
        const attr_value *batch_dims = attr_of(r, s, src, "batch_dims"), *tindices = attr_of(r, s, src, "Tindices");
        if (batch_dims && batch_dims->value_case == TENSORFLOW__ATTR_VALUE__VALUE_I && batch_dims->i != 0) {
            kc_error("%s: ResourceGather node '%s' has batch_dims %lld; only 0 is supported", where(r, s), src->name,
                     (long long)batch_dims->i);
            return false;
        }
        renamed = "Gather";
        if ((dtype && !add_attr(r, nd, "Tparams", dtype)) || (tindices && !add_attr(r, nd, "Tindices", tindices)))
            return false;
    }
    for (size_t k = 0; k < n_in; k++) {
        tref t;
        if (!resolve(r, s, src->input[k], &t) || !(nd->input[k] = (char *)tensor_name(r, t))) {
            kc_error_prefix("node '%s'", r->flats[i].name);
            return false;
        }
        nd->n_input++;
    }
    if (renamed) {
        nd->op = (char *)renamed;
        return true;
    }
    /* Attrs: "_"-prefixed ones are the runtime's (OpDef attr names never start with '_'). */
    for (size_t k = 0; k < src->n_attr; k++) {
        const char *key = src->attr[k]->key;
        const attr_value *v = src->attr[k]->value;
        if (key[0] == '_' || !v) continue;
        if (is_placeholder(v) && !(v = bound(s, v))) {
            kc_error("%s: node '%s' (%s): attr '%s' is placeholder '%s', which the call does not bind", where(r, s),
                     src->name, op, key, src->attr[k]->value->placeholder);
            return false;
        }
        if (s->fn && strcmp(key, "frame_name") == 0 && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_S) {
            /* Each inlined call of a function runs its loops in frames of its own. */
            attr_value *frame = new_attr(r, TENSORFLOW__ATTR_VALUE__VALUE_S);
            char *name = frame ? tf_alloc(r->pool, strlen(s->prefix) + v->s.len + 1) : NULL;
            if (!name) return oom();
            memcpy(name, s->prefix, strlen(s->prefix));
            memcpy(name + strlen(s->prefix), v->s.data, v->s.len);
            frame->s = (ProtobufCBinaryData){strlen(s->prefix) + v->s.len, (uint8_t *)name};
            v = frame;
        }
        if (!add_attr(r, nd, key, v)) return false;
    }
    for (size_t k = 0; od && k < od->n_attr; k++) {
        const Tensorflow__OpDef__AttrDef *a = od->attr[k];
        bool have = false;
        for (size_t j = 0; j < nd->n_attr && !have; j++) have = strcmp(nd->attr[j]->key, a->name) == 0;
        if (!have && a->default_value && !add_attr(r, nd, a->name, a->default_value)) return false;
    }
    return true;
}

/* ---- Functional loops ---------------------------------------------------------------
 * A While or StatelessWhile node W runs its cond and body functions until cond returns
 * false. It is expanded, in its scope's node list, into the TF v1 loop that the converter
 * runs with its loop construct (converter/loops.c), for variables x_i:
 *   W/enter_i  = Enter(x_i), frame W       W/merge_i = Merge(W/enter_i, W/next_i)
 *   W/cond     = PartitionedCall[cond](W/merge_*)     W/loop_cond = LoopCond(W/cond)
 *   W/switch_i = Switch(W/merge_i, W/loop_cond)       W/take_i = Identity(W/switch_i:1)
 *   W/body     = PartitionedCall[body](W/take_*)      W/next_i = NextIteration(W/body:i)
 *   W/exit_i   = Exit(W/switch_i)          W = IdentityN(W/exit_*)
 * W keeps its name, so its outputs resolve as before. A variable the body returns unchanged
 * (a captured weight, the iteration limit) enters as a loop invariant instead: cond and body
 * read W/enter_i, and W's output i is x_i itself, so a weight stays a constant. */

static bool is_while(const char *op) { return strcmp(op, "While") == 0 || strcmp(op, "StatelessWhile") == 0; }

/* Whether function fn returns its input arg i unchanged, directly or through Identity nodes. */
static bool returns_arg(const func *fn, size_t i) {
    const Tensorflow__FunctionDef *fd = fn->fd;
    const Tensorflow__OpDef *sig = fd->signature;
    const char *arg = sig->input_arg[i]->name, *v = NULL;
    for (size_t k = 0; k < fd->n_ret && !v; k++)
        if (strcmp(fd->ret[k]->key, sig->output_arg[i]->name) == 0) v = fd->ret[k]->value;
    for (int hops = 0; v && hops < 64; hops++) {
        size_t n = strcspn(v, ":");
        if (strcmp(v, arg) == 0) return true;
        const node_def *id = NULL;
        for (size_t k = 0; k < fd->n_node_def && !id; k++)
            if (strncmp(fd->node_def[k]->name, v, n) == 0 && !fd->node_def[k]->name[n]) id = fd->node_def[k];
        v = id && strcmp(id->op, "Identity") == 0 && n_data_inputs(id) == 1 ? id->input[0] : NULL;
    }
    return false;
}

/* The function attr `key` of While node w names, checked against the loop's variables. */
static func *loop_function(reader *r, const node_def *w, const char *key, const attr_value **f, size_t n_vars,
                           size_t n_outputs) {
    *f = NULL;
    for (size_t i = 0; i < w->n_attr && !*f; i++)
        if (strcmp(w->attr[i]->key, key) == 0) *f = w->attr[i]->value;
    func *fn = *f && (*f)->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC && (*f)->func
                   ? library_function(r, (*f)->func->name, strlen((*f)->func->name))
                   : NULL;
    if (!fn) {
        kc_error("%s node '%s': its %s function is missing from the function library", w->op, w->name, key);
        return NULL;
    }
    const Tensorflow__OpDef *sig = fn->fd->signature;
    if (sig->n_input_arg != n_vars || sig->n_output_arg != n_outputs) {
        kc_error("%s node '%s': %s function '%s' takes %zu and returns %zu tensors; the loop has %zu variables",
                 w->op, w->name, key, sig->name, sig->n_input_arg, sig->n_output_arg, n_vars);
        return NULL;
    }
    return fn;
}

typedef struct node_list {
    node_def **nodes;
    size_t n;
} node_list;

/* Appends a node named "<w>/<what>[_i]" with its inputs; NULL when out of memory. */
static node_def *loop_node(reader *r, node_list *l, const node_def *w, const char *what, long i, const char *op,
                           size_t n_in, const char *const *in, size_t n_attrs) {
    char *name = tf_alloc(r->pool, strlen(w->name) + strlen(what) + 24);
    node_def *nd = name ? new_node(r, name, op, n_in, n_attrs) : NULL;
    if (!nd) return NULL;
    sprintf(name, i < 0 ? "%s/%s" : "%s/%s_%ld", w->name, what, i);
    for (size_t k = 0; k < n_in; k++) nd->input[nd->n_input++] = (char *)in[k];
    l->nodes[l->n++] = nd;
    return nd;
}

/* "<w>/<what>_i" (i >= 0) or "<w>/<what>", with output `index` in the scope's naming style. */
static const char *loop_ref(reader *r, const node_def *w, const char *what, long i, const char *arg, int index,
                            bool in_function) {
    char *s = tf_alloc(r->pool, strlen(w->name) + strlen(what) + strlen(arg) + 48);
    if (!s) return NULL;
    int n = sprintf(s, i < 0 ? "%s/%s" : "%s/%s_%ld", w->name, what, i);
    if (in_function) sprintf(s + n, ":%s:%d", arg, index);
    else if (index) sprintf(s + n, ":%d", index);
    return s;
}

static bool expand_while(reader *r, node_list *l, const node_def *w, bool in_function) {
    size_t n = n_data_inputs(w);
    const attr_value *T = NULL, *cond_f, *body_f;
    for (size_t i = 0; i < w->n_attr && !T; i++)
        if (strcmp(w->attr[i]->key, "T") == 0) T = w->attr[i]->value;
    if (!T || T->value_case != TENSORFLOW__ATTR_VALUE__VALUE_LIST || T->list->n_type != n) {
        kc_error("%s node '%s': attr T must list the types of its %zu inputs", w->op, w->name, n);
        return false;
    }
    func *body = loop_function(r, w, "body", &body_f, n, n);
    if (!body || !loop_function(r, w, "cond", &cond_f, n, 1)) return false;
    attr_value *frame = new_attr(r, TENSORFLOW__ATTR_VALUE__VALUE_S), *bool_type = type_attr(r, TF_DT_BOOL);
    attr_value *cond_out = new_attr(r, TENSORFLOW__ATTR_VALUE__VALUE_LIST), *two = new_attr(r, TENSORFLOW__ATTR_VALUE__VALUE_I);
    Tensorflow__AttrValue__ListValue *bools = tf_alloc(r->pool, sizeof *bools);
    const char **cond_in = tf_alloc(r->pool, (n + 1) * sizeof *cond_in), **body_in = tf_alloc(r->pool, (n + 1) * sizeof *body_in);
    const char **results = tf_alloc(r->pool, (n + 1) * sizeof *results);
    if (!frame || !bool_type || !cond_out || !two || !bools || !cond_in || !body_in || !results) return oom();
    frame->s = (ProtobufCBinaryData){strlen(w->name), (uint8_t *)w->name};
    tensorflow__attr_value__list_value__init(bools);
    bools->n_type = 1;
    bools->type = &bool_type->type;
    cond_out->list = bools;
    two->i = 2;
    for (size_t i = 0; i < n; i++) {
        attr_value *type = type_attr(r, T->list->type[i]), *invariant = new_attr(r, TENSORFLOW__ATTR_VALUE__VALUE_B);
        if (!type || !invariant) return oom();
        invariant->b = returns_arg(body, i);
        node_def *enter = loop_node(r, l, w, "enter", (long)i, "Enter", 1, (const char *const *)&w->input[i], 3);
        if (!enter || !add_attr(r, enter, "T", type) || !add_attr(r, enter, "frame_name", frame) ||
            !add_attr(r, enter, "is_constant", invariant))
            return false;
        if (invariant->b) {
            cond_in[i] = body_in[i] = enter->name;
            results[i] = w->input[i];
            continue;
        }
        const char *merge_in[2] = {enter->name, loop_ref(r, w, "next", (long)i, "output", 0, in_function)};
        const char *loop_cond = loop_ref(r, w, "loop_cond", -1, "output", 0, in_function);
        const char *next_in = loop_ref(r, w, "body", -1, "output", (int)i, in_function);
        const char *take_in = loop_ref(r, w, "switch", (long)i, "output_true", in_function ? 0 : 1, in_function);
        node_def *merge = merge_in[1] && loop_cond && next_in && take_in
                              ? loop_node(r, l, w, "merge", (long)i, "Merge", 2, merge_in, 2) : NULL;
        const char *switch_in[2] = {merge ? merge->name : NULL, loop_cond};
        node_def *sw = merge ? loop_node(r, l, w, "switch", (long)i, "Switch", 2, switch_in, 1) : NULL;
        node_def *take = sw ? loop_node(r, l, w, "take", (long)i, "Identity", 1, &take_in, 1) : NULL;
        node_def *next = take ? loop_node(r, l, w, "next", (long)i, "NextIteration", 1, &next_in, 1) : NULL;
        const char *exit_in = sw ? sw->name : NULL;
        node_def *exit = next ? loop_node(r, l, w, "exit", (long)i, "Exit", 1, &exit_in, 1) : NULL;
        if (!exit) return oom();
        if (!add_attr(r, merge, "T", type) || !add_attr(r, merge, "N", two) || !add_attr(r, sw, "T", type) ||
            !add_attr(r, take, "T", type) || !add_attr(r, next, "T", type) || !add_attr(r, exit, "T", type))
            return false;
        cond_in[i] = merge->name;
        body_in[i] = take->name;
        results[i] = exit->name;
    }
    node_def *cond = loop_node(r, l, w, "cond", -1, "PartitionedCall", n, cond_in, 3);
    const char *pred = loop_ref(r, w, "cond", -1, "output", 0, in_function);
    node_def *loop_cond = cond && pred ? loop_node(r, l, w, "loop_cond", -1, "LoopCond", 1, &pred, 0) : NULL;
    node_def *call = loop_cond ? loop_node(r, l, w, "body", -1, "PartitionedCall", n, body_in, 3) : NULL;
    node_def *ids = call ? new_node(r, w->name, "IdentityN", n, 1) : NULL;
    if (!ids) return oom();
    for (size_t i = 0; i < n; i++) ids->input[ids->n_input++] = (char *)results[i];
    l->nodes[l->n++] = ids;
    return add_attr(r, cond, "f", cond_f) && add_attr(r, cond, "Tin", T) && add_attr(r, cond, "Tout", cond_out) &&
           add_attr(r, call, "f", body_f) && add_attr(r, call, "Tin", T) && add_attr(r, call, "Tout", T) &&
           add_attr(r, ids, "T", T);
}

/* The node list of a scope with each While node expanded (see above). */
static bool expand_loops(reader *r, node_def *const *nodes, size_t n, bool in_function, const char *what,
                         node_def ***out, size_t *n_out) {
    size_t extra = 0;
    for (size_t k = 0; k < n; k++)
        if (is_while(nodes[k]->op)) extra += 6 * nodes[k]->n_input + 4;
    if (!extra) {
        *out = (node_def **)nodes;
        *n_out = n;
        return true;
    }
    if (n + extra > MAX_FLAT_NODES) {
        kc_error("%s has over %d nodes once its loops are expanded", what, MAX_FLAT_NODES);
        return false;
    }
    node_list l = {tf_alloc(r->pool, (n + extra) * sizeof *l.nodes), 0};
    if (!l.nodes) return oom();
    for (size_t k = 0; k < n; k++) {
        if (!is_while(nodes[k]->op)) {
            l.nodes[l.n++] = nodes[k];
        } else if (!expand_while(r, &l, nodes[k], in_function)) {
            kc_error_prefix("%s", what);
            return false;
        }
    }
    *out = l.nodes;
    *n_out = l.n;
    return true;
}

/* The signature's endpoints, sorted by key. */
static int by_key(const void *a, const void *b) {
    return strcmp(((const endpoint *)a)->key, ((const endpoint *)b)->key);
}

/* A signature's inputs or outputs, sorted by key. */
static endpoint *endpoints_of(reader *r, const Tensorflow__SignatureDef *sig, bool inputs, int *n) {
    size_t count = inputs ? sig->n_inputs : sig->n_outputs;
    endpoint *e = tf_alloc(r->pool, (count + 1) * sizeof *e);
    if (!e) {
        oom();
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        e[i] = inputs ? (endpoint){.key = sig->inputs[i]->key, .info = sig->inputs[i]->value}
                      : (endpoint){.key = sig->outputs[i]->key, .info = sig->outputs[i]->value};
    qsort(e, count, sizeof *e, by_key);
    *n = (int)count;
    return e;
}

/* The signature's nodes: a Placeholder per input, an Identity per output, named by the keys. */
static bool add_signature(reader *r, const Tensorflow__SignatureDef *sig) {
    if (!(r->ins = endpoints_of(r, sig, true, &r->n_ins)) || !(r->outs = endpoints_of(r, sig, false, &r->n_outs)))
        return false;
    if (r->n_outs == 0) {
        kc_error("the signature has no outputs");
        return false;
    }
    for (int i = 0; i < r->n_ins + r->n_outs; i++) {
        endpoint *e = i < r->n_ins ? &r->ins[i] : &r->outs[i - r->n_ins];
        const char *what = i < r->n_ins ? "input" : "output";
        if (!e->info || !e->info->name[0]) {
            kc_error("signature %s '%s' is not a dense tensor (sparse and composite tensors are not supported)", what,
                     e->key);
            return false;
        }
        if (!e->key[0] || strchr(e->key, ':') || e->key[0] == '^') {
            kc_error("signature %s key '%s' cannot name a tensor", what, e->key);
            return false;
        }
        for (int j = 0; j < r->n_outs && i < r->n_ins; j++)
            if (strcmp(e->key, r->outs[j].key) == 0) {
                kc_error("signature key '%s' names both an input and an output", e->key);
                return false;
            }
    }
    for (int i = 0; i < r->n_ins; i++) {
        endpoint *e = &r->ins[i];
        if (!resolve(r, &r->top, e->info->name, &e->t)) {
            kc_error_prefix("signature input '%s'", e->key);
            return false;
        }
    }
    /* The first nodes made, so they keep the keys as names. */
    for (int i = 0; i < r->n_ins + r->n_outs; i++) {
        endpoint *e = i < r->n_ins ? &r->ins[i] : &r->outs[i - r->n_ins];
        if ((e->flat = add_flat(r, e->key, NULL, -1)) < 0) return false;
    }
    for (int i = 0; i < r->n_ins; i++) {
        endpoint *e = &r->ins[i];
        node_def *nd = new_node(r, e->key, "Placeholder", 0, 2);
        attr_value *dtype = type_attr(r, e->info->dtype), *shape = type_attr(r, 0);
        Tensorflow__TensorShapeProto *unknown = tf_alloc(r->pool, sizeof *unknown);
        if (!nd || !dtype || !shape || !unknown) return oom();
        tensorflow__tensor_shape_proto__init(unknown);
        unknown->unknown_rank = true;
        shape->value_case = TENSORFLOW__ATTR_VALUE__VALUE_SHAPE;
        shape->shape = e->info->tensor_shape ? e->info->tensor_shape : unknown;
        if (!add_attr(r, nd, "dtype", dtype) || !add_attr(r, nd, "shape", shape)) return false;
        r->flats[e->flat].nd = nd;
    }
    for (int i = 0; i < r->n_outs; i++) {
        endpoint *e = &r->outs[i];
        node_def *nd = new_node(r, e->key, "Identity", 1, 1);
        attr_value *dtype = type_attr(r, e->info->dtype);
        tref t;
        if (!nd || !dtype) return oom();
        r->flats[e->flat].nd = nd;
        if (!resolve(r, &r->top, e->info->name, &t) || !(nd->input[0] = (char *)tensor_name(r, t))) {
            kc_error_prefix("signature output '%s'", e->key);
            return false;
        }
        nd->n_input = 1;
        if (!add_attr(r, nd, "T", dtype)) return false;
    }
    return true;
}


/* ---- Variables ----------------------------------------------------------------------- */

static const node_def *source_of(const flat *f) { return f->s ? f->s->nodes[f->node] : NULL; }

/* The checkpoint key of every variable in the output graph. */
static bool variable_keys(reader *r) {
    const char *restore_op = r->mg->saver_def ? r->mg->saver_def->restore_op_name : "";
    bool any = false;
    for (int i = 0; i < r->n_flats && !any; i++) any = source_of(&r->flats[i]) && is_variable(source_of(&r->flats[i])->op);
    if (!any) return true;
    if (restore_op[0] && !walk_restore(r, restore_op)) {
        kc_error_prefix("finding the variables' checkpoint keys");
        return false;
    }
    for (int i = 0; i < r->n_flats; i++) {
        flat *f = &r->flats[i];
        const node_def *src = source_of(f);
        if (!src || !is_variable(src->op)) continue;
        if (!restore_op[0]) { /* no saver: TF1 stores a variable under its name */
            const attr_value *shared = strcmp(src->op, "VarHandleOp") == 0 ? attr_of(r, f->s, src, "shared_name") : NULL;
            bool named = shared && shared->value_case == TENSORFLOW__ATTR_VALUE__VALUE_S && shared->s.len;
            f->key = named ? tf_strndup(r->pool, (const char *)shared->s.data, shared->s.len) : src->name;
            if (!f->key) return oom();
            continue;
        }
        for (int j = r->n_restores - 1; j >= 0 && !f->key; j--) {
            const restore *e = &r->restores[j];
            if (e->s != f->s || e->node != f->node) continue;
            if (e->sliced) {
                kc_error("variable '%s' is restored from a slice of '%s' (a partitioned variable): not supported",
                         f->name, e->key);
                return false;
            }
            f->key = e->key;
        }
        if (!f->key) {
            kc_error("variable '%s' (%s) is not restored by the saver's restore op '%s', so its value is unknown",
                     f->name, src->op, restore_op);
            return false;
        }
    }
    return true;
}

/* "[2,3]", for messages. */
static const char *dims_text(reader *r, const tf_shape *s) {
    size_t cap = 24 * (size_t)s->rank + 3, n = 1;
    char *buf = tf_alloc(r->pool, cap);
    if (!buf) return "[?]";
    buf[0] = '[';
    for (int d = 0; d < s->rank; d++)
        n += (size_t)snprintf(buf + n, cap - n, d ? ",%lld" : "%lld", (long long)s->dims[d]);
    snprintf(buf + n, cap - n, "]");
    return buf;
}

/* Whether the variable's dtype and shape attrs (when known) agree with its checkpoint value. */
static bool value_fits(reader *r, const flat *f, const tf_tensor *t) {
    const node_def *src = source_of(f);
    const attr_value *dtype = attr_of(r, f->s, src, "dtype"), *shape = attr_of(r, f->s, src, "shape");
    if (dtype && dtype->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TYPE) {
        int want = (int)dtype->type == TF_DT_HALF ? TF_DT_FLOAT : (int)dtype->type; /* tb_read widens float16 */
        if (want != t->dtype) {
            const char *a = tf_dtype_name((int)dtype->type), *b = tf_dtype_name(t->dtype);
            kc_error("variable '%s' is %s but its checkpoint value '%s' is %s", f->name, a ? a : "?", f->key,
                     b ? b : "?");
            return false;
        }
    }
    const Tensorflow__TensorShapeProto *sp =
        shape && shape->value_case == TENSORFLOW__ATTR_VALUE__VALUE_SHAPE ? shape->shape : NULL;
    if (!sp || sp->unknown_rank) return true;
    bool fits = sp->n_dim == (size_t)t->shape.rank;
    for (size_t d = 0; fits && d < sp->n_dim; d++) fits = sp->dim[d]->size < 0 || sp->dim[d]->size == t->shape.dims[d];
    if (!fits) {
        tf_shape declared = {.rank = sp->n_dim <= TF_MAX_RANK ? (int)sp->n_dim : TF_MAX_RANK};
        for (int d = 0; d < declared.rank; d++) declared.dims[d] = sp->dim[d]->size;
        kc_error("variable '%s' has shape %s but its checkpoint value '%s' has shape %s", f->name,
                 dims_text(r, &declared), f->key, dims_text(r, &t->shape));
    }
    return fits;
}

/* Gives each variable's Const node (node i of g is flat node i) its checkpoint value. */
static bool read_variables(reader *r, tf_graph *g) {
    tb_reader *tb = NULL;
    bool ok = true;
    for (int i = 0; ok && i < r->n_flats; i++) {
        const flat *f = &r->flats[i];
        if (!f->key) continue;
        if (!tb) {
            char *prefix = concat(r, r->dir, "/variables/variables", "");
            if (!prefix) return oom();
            if (!(tb = tb_open(prefix))) {
                kc_error_prefix("variables");
                return false;
            }
        }
        tf_tensor *t;
        tf_attr *value, *dtype;
        if (!tb_read(tb, f->key, g, &t)) {
            kc_error_prefix("variable '%s'", f->name);
            ok = false;
        } else if (!(ok = value_fits(r, f, t))) {
        } else if (!(value = tf_node_add_attr(g, &g->nodes[i], "value")) ||
                   !(dtype = tf_node_add_attr(g, &g->nodes[i], "dtype"))) {
            ok = oom();
        } else {
            value->kind = TF_ATTR_TENSOR;
            value->tensor = t;
            dtype->kind = TF_ATTR_TYPE;
            dtype->type = t->dtype;
        }
    }
    tb_close(tb);
    return ok;
}

/* ---- Entry points ------------------------------------------------------------------------- */

static bool open_reader(reader *r, const char *dir, Tensorflow__SavedModel **model) {
    r->dir = dir;
    if (!(r->pool = tf_graph_new())) return oom();
    return (*model = load_model(dir)) != NULL && (r->mg = serve_graph(*model)) != NULL;
}

static void close_reader(reader *r, Tensorflow__SavedModel *model) {
    free(r->flats);
    tf_graph_free(r->pool);
    if (model) tensorflow__saved_model__free_unpacked(model, NULL);
}

static bool index_top(reader *r) {
    scope *s = &r->top;
    const Tensorflow__GraphDefWithLibrary *gd = r->mg->graph_def;
    *s = (scope){.prefix = "", .names = &r->top_names};
    if (!expand_loops(r, gd->node, gd->n_node, false, "the graph", &s->nodes, &s->n_nodes)) return false;
    s->callees = tf_alloc(r->pool, (s->n_nodes + 1) * sizeof *s->callees);
    s->flat = tf_alloc(r->pool, (s->n_nodes + 1) * sizeof *s->flat);
    s->seen = tf_alloc(r->pool, s->n_nodes + 1);
    if (!s->callees || !s->flat || !s->seen) return oom();
    return index_nodes(r, &r->top_names, s->nodes, s->n_nodes, "the graph");
}

/* The output nodes, packed as a GraphDef and read by read_pb. */
static tf_graph *read_output(reader *r) {
    node_def **nodes = malloc((size_t)r->n_flats * sizeof *nodes);
    if (!nodes) {
        oom();
        return NULL;
    }
    for (int i = 0; i < r->n_flats; i++) nodes[i] = r->flats[i].nd;
    Tensorflow__GraphDef gd = TENSORFLOW__GRAPH_DEF__INIT;
    gd.n_node = (size_t)r->n_flats;
    gd.node = nodes;
    size_t size = tensorflow__graph_def__get_packed_size(&gd);
    uint8_t *buf = size <= MAX_PB_BYTES ? malloc(size) : NULL;
    tf_graph *g = NULL;
    if (size > MAX_PB_BYTES)
        kc_error("the inlined graph takes %zu bytes, over protobuf's 2 GiB limit", size);
    else if (!buf)
        oom();
    else if (tensorflow__graph_def__pack(&gd, buf) == size)
        g = read_pb(buf, size, "the inlined graph");
    free(buf);
    free(nodes);
    return g;
}

static bool set_signature(reader *r, tf_graph *g) {
    g->sig_inputs = tf_alloc(g, (size_t)(r->n_ins + 1) * sizeof *g->sig_inputs);
    g->sig_outputs = tf_alloc(g, (size_t)(r->n_outs + 1) * sizeof *g->sig_outputs);
    if (!g->sig_inputs || !g->sig_outputs) return oom();
    for (int i = 0; i < r->n_ins + r->n_outs; i++) {
        bool in = i < r->n_ins;
        const char *key = tf_strdup(g, in ? r->ins[i].key : r->outs[i - r->n_ins].key);
        if (!key) return oom();
        (in ? g->sig_inputs : g->sig_outputs)[in ? i : i - r->n_ins] = (tf_endpoint){key, key};
    }
    g->n_sig_inputs = r->n_ins;
    g->n_sig_outputs = r->n_outs;
    return true;
}

tf_graph *read_savedmodel(const char *dir, const char *signature) {
    reader r = {0};
    Tensorflow__SavedModel *model = NULL;
    const Tensorflow__SignatureDef *sig = NULL;
    tf_graph *g = NULL;
    bool ok = open_reader(&r, dir, &model) &&
              (sig = find_signature(r.mg, signature ? signature : "serving_default")) != NULL && index_library(&r) &&
              index_top(&r) && add_signature(&r, sig);
    /* Building a node makes the nodes its inputs name, which are built in turn. */
    for (int i = 0; ok && i < r.n_flats; i++)
        if (!r.flats[i].nd) ok = build_node(&r, i);
    ok = ok && variable_keys(&r) && (g = read_output(&r)) != NULL && read_variables(&r, g) && set_signature(&r, g);
    if (!ok) {
        tf_graph_free(g);
        g = NULL;
        kc_error_prefix("%s", dir);
    }
    close_reader(&r, model);
    return g;
}

/* "float32[?,13]", for the listing. */
static void describe(FILE *f, const Tensorflow__TensorInfo *t) {
    const char *name = tf_dtype_name((int)t->dtype);
    if (name)
        for (name += 3; *name; name++) fputc(tolower((unsigned char)*name), f);
    else
        fprintf(f, "dtype(%d)", (int)t->dtype);
    const Tensorflow__TensorShapeProto *s = t->tensor_shape;
    if (!s || s->unknown_rank) {
        fputs(" (any shape)", f);
        return;
    }
    fputc('[', f);
    for (size_t d = 0; d < s->n_dim; d++) {
        if (d) fputc(',', f);
        if (s->dim[d]->size < 0) fputc('?', f);
        else fprintf(f, "%lld", (long long)s->dim[d]->size);
    }
    fputc(']', f);
}

static int by_signature_key(const void *a, const void *b) {
    return strcmp((*(Tensorflow__MetaGraphDef__SignatureDefEntry *const *)a)->key,
                  (*(Tensorflow__MetaGraphDef__SignatureDefEntry *const *)b)->key);
}

char *read_savedmodel_signatures(const char *dir) {
    reader r = {0};
    Tensorflow__SavedModel *model = NULL;
    Tensorflow__MetaGraphDef__SignatureDefEntry **sigs = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = NULL;
    bool ok = open_reader(&r, dir, &model);
    size_t n = ok ? r.mg->n_signature_def : 0;
    if (ok && !(ok = (sigs = malloc((n + 1) * sizeof *sigs)) && (f = open_memstream(&text, &len)))) oom();
    if (ok) {
        memcpy(sigs, r.mg->signature_def, n * sizeof *sigs);
        qsort(sigs, n, sizeof *sigs, by_signature_key);
    }
    for (size_t i = 0; ok && i < n; i++) {
        const Tensorflow__SignatureDef *sig = sigs[i]->value;
        if (!public_signature(sigs[i]->key) || !sig) continue;
        fprintf(f, "%s%s\n", sigs[i]->key, strcmp(sigs[i]->key, "serving_default") == 0 ? " (default)" : "");
        for (int pass = 0; ok && pass < 2; pass++) {
            int count = 0;
            endpoint *e = endpoints_of(&r, sig, pass == 0, &count);
            ok = e != NULL;
            for (int j = 0; ok && j < count; j++) {
                fprintf(f, "  %s %s: ", pass == 0 ? "input " : "output", e[j].key);
                if (e[j].info && e[j].info->name[0]) {
                    describe(f, e[j].info);
                    fprintf(f, "  (%s)\n", e[j].info->name);
                } else {
                    fputs("not a dense tensor\n", f);
                }
            }
        }
    }
    if (f) fclose(f);
    free(sigs);
    if (!ok) {
        free(text);
        text = NULL;
        kc_error_prefix("%s", dir);
    }
    close_reader(&r, model);
    return text;
}
