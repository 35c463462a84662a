#define _POSIX_C_SOURCE 200809L
#include "convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fuse.h"
#include "lower/lower.h"
#include "opdefs.h"

/* A reference to one output of one node. */
typedef struct {
    int node, index;
} tensor_ref;

/* The graph with names resolved, as the conversion works on it. */
typedef struct {
    tf_graph *g;
    int *hash; /* open addressing over node names: node index or -1 */
    size_t hash_cap;
    tensor_ref **inputs; /* per node: its data inputs, resolved */
    int *n_inputs;
} graph_index;

static uint64_t hash_name(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int find_node(const graph_index *ix, const char *name, size_t n) {
    for (size_t i = hash_name(name, n) & (ix->hash_cap - 1);; i = (i + 1) & (ix->hash_cap - 1)) {
        int k = ix->hash[i];
        if (k < 0) return -1;
        const char *kn = ix->g->nodes[k].name;
        if (strncmp(kn, name, n) == 0 && kn[n] == '\0') return k;
    }
}

/* Parses "node", "node:3" into a reference; false if it names no node. */
static bool parse_ref(const graph_index *ix, const char *s, tensor_ref *ref) {
    size_t n = strlen(s);
    const char *colon = strrchr(s, ':');
    ref->index = 0;
    if (colon && colon[1]) {
        char *end;
        long v = strtol(colon + 1, &end, 10);
        if (*end == '\0' && v >= 0 && v < KC_MAX_NODE_OUTPUTS) {
            ref->index = (int)v;
            n = (size_t)(colon - s);
        }
    }
    ref->node = find_node(ix, s, n);
    return ref->node >= 0;
}

static void index_free(graph_index *ix) {
    if (ix->inputs && ix->g)
        for (int i = 0; i < ix->g->n_nodes; i++) free(ix->inputs[i]);
    free(ix->inputs);
    free(ix->n_inputs);
    free(ix->hash);
}

static bool index_graph(tf_graph *g, graph_index *ix) {
    memset(ix, 0, sizeof *ix);
    ix->g = g;
    ix->hash_cap = 16;
    while (ix->hash_cap < (size_t)g->n_nodes * 2) ix->hash_cap *= 2;
    ix->hash = malloc(sizeof(int) * ix->hash_cap);
    ix->inputs = calloc((size_t)g->n_nodes + 1, sizeof *ix->inputs);
    ix->n_inputs = calloc((size_t)g->n_nodes + 1, sizeof *ix->n_inputs);
    if (!ix->hash || !ix->inputs || !ix->n_inputs) {
        kc_error("out of memory");
        return false;
    }
    memset(ix->hash, 0xff, sizeof(int) * ix->hash_cap);
    for (int k = 0; k < g->n_nodes; k++) {
        const char *name = g->nodes[k].name;
        if (find_node(ix, name, strlen(name)) >= 0) {
            kc_error("two nodes are named '%s'", name);
            return false;
        }
        size_t i = hash_name(name, strlen(name)) & (ix->hash_cap - 1);
        while (ix->hash[i] >= 0) i = (i + 1) & (ix->hash_cap - 1);
        ix->hash[i] = k;
    }
    for (int k = 0; k < g->n_nodes; k++) {
        const tf_node *node = &g->nodes[k];
        ix->inputs[k] = malloc(sizeof(tensor_ref) * ((size_t)node->n_inputs + 1));
        if (!ix->inputs[k]) {
            kc_error("out of memory");
            return false;
        }
        for (int i = 0; i < node->n_inputs; i++) {
            if (node->inputs[i][0] == '^') continue; /* control edges order side effects; Kiln has none */
            tensor_ref *r = &ix->inputs[k][ix->n_inputs[k]];
            if (!parse_ref(ix, node->inputs[i], r)) {
                kc_error("node '%s' (%s): input '%s' names no node in the graph", node->name, node->op, node->inputs[i]);
                return false;
            }
            ix->n_inputs[k]++;
        }
    }
    return true;
}

/* The model's endpoints: refs plus the names they get in the bundle. */
typedef struct {
    tensor_ref *refs;
    char **names;
    const kc_input_spec **specs; /* inputs only: the --input given for it, or NULL */
    int n;
} endpoints;

static void endpoints_free(endpoints *e) {
    for (int i = 0; i < e->n; i++) free(e->names[i]);
    free(e->refs);
    free(e->names);
    free(e->specs);
}

/* A tensor's bundle name: the node name, with ":N" only for outputs other than 0. */
static char *ref_name(const graph_index *ix, tensor_ref r) {
    const char *node = ix->g->nodes[r.node].name;
    size_t n = strlen(node) + 16;
    char *s = malloc(n);
    if (s) snprintf(s, n, r.index ? "%s:%d" : "%s", node, r.index);
    return s;
}

static bool endpoints_add(const graph_index *ix, endpoints *e, const char *tensor, const char *what) {
    tensor_ref r;
    if (!parse_ref(ix, tensor, &r)) {
        kc_error("%s '%s' names no node in the graph", what, tensor);
        return false;
    }
    for (int i = 0; i < e->n; i++)
        if (e->refs[i].node == r.node && e->refs[i].index == r.index) return true; /* given twice */
    tensor_ref *refs = realloc(e->refs, sizeof *refs * (size_t)(e->n + 1));
    if (refs) e->refs = refs;
    char **names = realloc(e->names, sizeof *names * (size_t)(e->n + 1));
    if (names) e->names = names;
    const kc_input_spec **specs = realloc(e->specs, sizeof *specs * (size_t)(e->n + 1));
    if (specs) e->specs = specs;
    if (!refs || !names || !specs || !(e->names[e->n] = ref_name(ix, r))) {
        kc_error("out of memory");
        return false;
    }
    e->refs[e->n] = r;
    e->specs[e->n] = NULL;
    e->n++;
    return true;
}

static bool pick_outputs(const graph_index *ix, const kc_options *opt, endpoints *out) {
    const tf_graph *g = ix->g;
    if (opt->n_outputs) {
        for (int i = 0; i < opt->n_outputs; i++)
            if (!endpoints_add(ix, out, opt->outputs[i], "--output")) return false;
        return true;
    }
    if (g->n_sig_outputs) {
        for (int i = 0; i < g->n_sig_outputs; i++)
            if (!endpoints_add(ix, out, g->sig_outputs[i].tensor, "signature output")) return false;
        return true;
    }
    /* The graph's sinks: nodes nothing consumes (by data or control edge). */
    char *consumed = calloc((size_t)g->n_nodes + 1, 1);
    if (!consumed) {
        kc_error("out of memory");
        return false;
    }
    for (int k = 0; k < g->n_nodes; k++)
        for (int i = 0; i < g->nodes[k].n_inputs; i++) {
            const char *in = g->nodes[k].inputs[i];
            tensor_ref r;
            if (parse_ref(ix, in[0] == '^' ? in + 1 : in, &r)) consumed[r.node] = 1;
        }
    bool ok = true;
    for (int k = 0; ok && k < g->n_nodes; k++)
        if (!consumed[k] && strcmp(g->nodes[k].op, "NoOp") != 0)
            ok = endpoints_add(ix, out, g->nodes[k].name, "output");
    free(consumed);
    if (ok && out->n == 0) {
        kc_error("the graph has no outputs; name them with --output");
        return false;
    }
    return ok;
}

static bool pick_inputs(const graph_index *ix, const kc_options *opt, endpoints *in) {
    const tf_graph *g = ix->g;
    for (int i = 0; i < opt->n_inputs; i++) {
        if (!endpoints_add(ix, in, opt->inputs[i].name, "--input")) return false;
        in->specs[in->n - 1] = &opt->inputs[i];
    }
    if (opt->n_inputs) return true;
    for (int i = 0; i < g->n_sig_inputs; i++)
        if (!endpoints_add(ix, in, g->sig_inputs[i].tensor, "signature input")) return false;
    if (g->n_sig_inputs) return true;
    for (int k = 0; k < g->n_nodes; k++)
        if (strcmp(g->nodes[k].op, "Placeholder") == 0 && !endpoints_add(ix, in, g->nodes[k].name, "input"))
            return false;
    return true;
}

static bool is_fed_node(const endpoints *in, int node) {
    for (int i = 0; i < in->n; i++)
        if (in->refs[i].node == node) return true;
    return false;
}

/*
 * The nodes the outputs need, in an order where every node comes after its
 * inputs (iterative depth-first search, so deep graphs cannot overflow the
 * stack). Feeding a node cuts the graph there. Writes the order to `order`
 * (n_nodes slots) and returns its length, or -1 on a cycle.
 */
static int topo_order(const graph_index *ix, const endpoints *in, const endpoints *out, int *order) {
    int n_nodes = ix->g->n_nodes, n = 0;
    char *state = calloc((size_t)n_nodes + 1, 1); /* 0 new, 1 on the stack, 2 done */
    int *stack = malloc(sizeof(int) * ((size_t)n_nodes + 1));
    int *next_input = calloc((size_t)n_nodes + 1, sizeof(int));
    if (!state || !stack || !next_input) {
        kc_error("out of memory");
        n = -1;
        goto done;
    }
    for (int o = 0; o < out->n; o++) {
        int root = out->refs[o].node, top = 0;
        if (state[root]) continue;
        stack[top++] = root;
        state[root] = 1;
        while (top) {
            int k = stack[top - 1];
            bool fed = is_fed_node(in, k);
            if (!fed && next_input[k] < ix->n_inputs[k]) {
                int child = ix->inputs[k][next_input[k]++].node;
                if (state[child] == 1) {
                    kc_error("the graph has a cycle through node '%s' (%s): TF control flow is not supported yet",
                             ix->g->nodes[child].name, ix->g->nodes[child].op);
                    n = -1;
                    goto done;
                }
                if (state[child] == 0) {
                    state[child] = 1;
                    stack[top++] = child;
                }
                continue;
            }
            state[k] = 2;
            order[n++] = k;
            top--;
        }
    }
done:
    free(state);
    free(stack);
    free(next_input);
    return n;
}

/* Every unsupported op among the needed nodes, in one message. */
static bool check_supported(const graph_index *ix, const endpoints *in, const int *order, int n) {
    const tf_graph *g = ix->g;
    size_t cap = 4096, len = 0;
    char *msg = malloc(cap);
    int n_types = 0;
    char *seen = calloc((size_t)n + 1, 1);
    if (!msg || !seen) {
        free(msg);
        free(seen);
        kc_error("out of memory");
        return false;
    }
    msg[0] = '\0';
    for (int i = 0; i < n; i++) {
        const tf_node *node = &g->nodes[order[i]];
        if (seen[i] || is_fed_node(in, order[i]) || kc_find_lowering(node->op)) continue;
        /* Collect every node of this op type. */
        int count = 0;
        char names[1024] = "";
        size_t nl = 0;
        for (int j = i; j < n; j++) {
            if (strcmp(g->nodes[order[j]].op, node->op) != 0 || is_fed_node(in, order[j])) continue;
            seen[j] = 1;
            if (count < 5 && nl < sizeof names)
                nl += (size_t)snprintf(names + nl, sizeof names - nl, "%s'%s'", count ? ", " : "", g->nodes[order[j]].name);
            count++;
        }
        if (count > 5 && nl < sizeof names) snprintf(names + nl, sizeof names - nl, " and %d more", count - 5);
        char line[1400];
        int m = snprintf(line, sizeof line, "\n  %s: %d node%s: %s", node->op, count, count == 1 ? "" : "s", names);
        if (len + (size_t)m + 1 > cap) {
            char *bigger = realloc(msg, cap = (len + (size_t)m + 1) * 2);
            if (!bigger) break;
            msg = bigger;
        }
        memcpy(msg + len, line, (size_t)m + 1);
        len += (size_t)m;
        n_types++;
    }
    if (n_types) kc_error("%d unsupported op type%s:%s", n_types, n_types == 1 ? "" : "s", msg);
    free(msg);
    free(seen);
    return n_types == 0;
}

/* Creates the program input for a fed tensor, with its shape and dtype. */
static int make_input(kc_program *p, const graph_index *ix, const endpoints *in, int i) {
    const tf_node *node = &ix->g->nodes[in->refs[i].node];
    const kc_input_spec *spec = in->specs[i];
    const tf_attr *dt = tf_node_attr(node, strcmp(node->op, "Placeholder") == 0 ? "dtype" : "T");
    const tf_attr *shape_attr = tf_node_attr(node, "shape");
    int dtype = 0;
    if (dt && dt->kind == TF_ATTR_TYPE) dtype = dt->type == TF_DT_FLOAT ? KILN_FLOAT32
                                                : dt->type == TF_DT_INT32 ? KILN_INT32
                                                : dt->type == TF_DT_UINT8 ? KILN_UINT8
                                                : dt->type == TF_DT_BOOL ? KILN_BOOL : 0;
    if (!dtype) {
        kc_error("input '%s' (%s): its dtype is missing or not float32, int32, uint8 or bool", in->names[i], node->op);
        return -1;
    }
    int32_t dims[KILN_MAX_RANK];
    int rank;
    if (spec && spec->rank >= 0) {
        rank = spec->rank;
        memcpy(dims, spec->dims, sizeof dims);
    } else if (shape_attr && shape_attr->kind == TF_ATTR_SHAPE && !shape_attr->shape.unknown_rank &&
               shape_attr->shape.rank <= KILN_MAX_RANK) {
        rank = shape_attr->shape.rank;
        for (int d = 0; d < rank; d++) {
            int64_t v = shape_attr->shape.dims[d];
            if (v < 0 && d == 0) v = 1; /* an unknown batch dimension means one image */
            if (v < 0 || v > INT32_MAX) {
                kc_error("input '%s' has unknown dimension %d: give its shape with --input %s:D0,D1,...", in->names[i],
                         d, in->names[i]);
                return -1;
            }
            dims[d] = (int32_t)v;
        }
    } else {
        kc_error("input '%s' has no known shape: give it with --input %s:D0,D1,...", in->names[i], in->names[i]);
        return -1;
    }
    int id = kc_add_tensor(p, dtype, rank, dims);
    if (id >= 0 && !kc_set_name(p, id, in->names[i])) {
        kc_error("out of memory");
        return -1;
    }
    return id;
}

/* Gives every model output its own named tensor: an output that is also an
 * input, a constant shared with another output, or another output's tensor
 * gets a copy. */
static bool bind_outputs(kc_program *p, const endpoints *out, int **node_out, const int *node_n_out,
                         const graph_index *ix) {
    p->outputs = malloc(sizeof(int) * (size_t)(out->n + 1));
    if (!p->outputs) return false;
    for (int o = 0; o < out->n; o++) {
        tensor_ref r = out->refs[o];
        if (r.index >= node_n_out[r.node]) {
            kc_error("output '%s': node '%s' (%s) has only %d output(s)", out->names[o], ix->g->nodes[r.node].name,
                     ix->g->nodes[r.node].op, node_n_out[r.node]);
            return false;
        }
        int id = node_out[r.node][r.index];
        if (p->tensors[id].t.name[0]) {
            kn_tensor *t = &p->tensors[id].t;
            kn_reshape_params prm = {.rank = t->rank};
            memcpy(prm.dims, t->dims, sizeof prm.dims);
            if (kc_is_const(p, id)) id = kc_add_const(p, t->dtype, t->rank, t->dims, t->data);
            else if (!kc_emit(p, out->names[o], KN_OP_RESHAPE, &id, 1, &prm, sizeof prm, 1, &id)) return false;
            if (id < 0) return false;
        }
        if (!kc_set_name(p, id, out->names[o])) return false;
        p->outputs[p->n_outputs++] = id;
    }
    return true;
}

static bool lower_graph(tf_graph *g, const graph_index *ix, const endpoints *in, const endpoints *out,
                        const int *order, int n_order, kc_program *p) {
    int **node_out = calloc((size_t)g->n_nodes + 1, sizeof *node_out);
    int *node_n_out = calloc((size_t)g->n_nodes + 1, sizeof *node_n_out);
    int *args = malloc(sizeof(int) * 1024);
    bool ok = node_out && node_n_out && args && (p->inputs = malloc(sizeof(int) * (size_t)(in->n + 1)));
    if (!ok) kc_error("out of memory");
    /* Inputs first, in the order given, so the bundle lists them that way. */
    for (int i = 0; ok && i < in->n; i++) {
        int id = make_input(p, ix, in, i);
        tensor_ref r = in->refs[i];
        ok = id >= 0;
        if (ok && !node_out[r.node]) ok = (node_out[r.node] = calloc(KC_MAX_NODE_OUTPUTS, sizeof(int))) != NULL;
        if (ok) {
            node_out[r.node][r.index] = id;
            if (node_n_out[r.node] <= r.index) node_n_out[r.node] = r.index + 1;
            p->inputs[p->n_inputs++] = id;
        }
    }
    for (int oi = 0; ok && oi < n_order; oi++) {
        int k = order[oi];
        const tf_node *node = &g->nodes[k];
        if (is_fed_node(in, k)) continue;
        if (ix->n_inputs[k] > 1024) {
            kc_error("node '%s' (%s) has %d inputs; at most 1024 are supported", node->name, node->op, ix->n_inputs[k]);
            ok = false;
            break;
        }
        for (int i = 0; ok && i < ix->n_inputs[k]; i++) {
            tensor_ref r = ix->inputs[k][i];
            if (r.index >= node_n_out[r.node] || !node_out[r.node]) {
                const tf_node *src = &g->nodes[r.node];
                if (strcmp(src->op, "Placeholder") == 0)
                    kc_error("node '%s' (%s) needs placeholder '%s', which is not an input (inputs come from the signature or --input)",
                             node->name, node->op, src->name);
                else
                    kc_error("node '%s' (%s): input %d uses output %d of '%s' (%s), which Kiln does not produce",
                             node->name, node->op, i, r.index, src->name, src->op);
                ok = false;
                break;
            }
            args[i] = node_out[r.node][r.index];
        }
        if (!ok) break;
        kc_lower L = {.p = p, .node = node, .in = args, .n_in = ix->n_inputs[k]};
        ok = kc_find_lowering(node->op)(&L);
        if (ok && !(node_out[k] = malloc(sizeof(int) * KC_MAX_NODE_OUTPUTS))) {
            kc_error("out of memory");
            ok = false;
        }
        if (ok) {
            memcpy(node_out[k], L.out, sizeof(int) * KC_MAX_NODE_OUTPUTS);
            node_n_out[k] = L.n_out;
        }
    }
    if (ok) ok = bind_outputs(p, out, node_out, node_n_out, ix);
    for (int k = 0; node_out && k < g->n_nodes; k++) free(node_out[k]);
    free(node_out);
    free(node_n_out);
    free(args);
    return ok && kc_fuse(p) && kc_compact(p);
}

/* Resolves names, picks endpoints and orders the needed nodes. */
static bool prepare(tf_graph *g, const kc_options *opt, graph_index *ix, endpoints *in, endpoints *out, int **order,
                    int *n_order) {
    if (!tf_apply_default_attrs(g) || !index_graph(g, ix) || !pick_outputs(ix, opt, out) || !pick_inputs(ix, opt, in))
        return false;
    *order = malloc(sizeof(int) * ((size_t)g->n_nodes + 1));
    if (!*order) {
        kc_error("out of memory");
        return false;
    }
    *n_order = topo_order(ix, in, out, *order);
    return *n_order >= 0;
}

bool kc_convert(tf_graph *g, const kc_options *opt, kc_program *p) {
    graph_index ix = {0};
    endpoints in = {0}, out = {0};
    int *order = NULL, n_order = 0;
    bool ok = prepare(g, opt, &ix, &in, &out, &order, &n_order) && check_supported(&ix, &in, order, n_order) &&
              lower_graph(g, &ix, &in, &out, order, n_order, p);
    free(order);
    endpoints_free(&in);
    endpoints_free(&out);
    index_free(&ix);
    return ok;
}

char *kc_list_ops(tf_graph *g, const kc_options *opt) {
    graph_index ix = {0};
    endpoints in = {0}, out = {0};
    int *order = NULL, n_order = 0;
    char *text = NULL;
    size_t len = 0;
    if (prepare(g, opt, &ix, &in, &out, &order, &n_order)) {
        FILE *f = open_memstream(&text, &len);
        for (int i = 0; f && i < n_order; i++) {
            const char *op = g->nodes[order[i]].op;
            bool first = true;
            for (int j = 0; j < i && first; j++) first = strcmp(g->nodes[order[j]].op, op) != 0;
            if (!first) continue;
            int count = 0;
            for (int j = i; j < n_order; j++) count += strcmp(g->nodes[order[j]].op, op) == 0;
            bool fed = is_fed_node(&in, order[i]);
            fprintf(f, "%-32s %5d  %s\n", op, count, fed || kc_find_lowering(op) ? "ok" : "UNSUPPORTED");
        }
        if (f) fclose(f);
    }
    free(order);
    endpoints_free(&in);
    endpoints_free(&out);
    index_free(&ix);
    return text;
}
