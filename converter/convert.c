#define _POSIX_C_SOURCE 200809L
#include "convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fuse.h"
#include "graph_index.h"
#include "lowering.h"
#include "lower/lower.h"
#include "opdefs.h"

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
 * stack). A while loop counts as one node, its first: its nodes are ordered
 * when it is lowered. Feeding a node cuts the graph there. Writes the order
 * to `order` (n_nodes slots) and returns its length, or -1 on a cycle.
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
        int root = unit_of(ix, out->refs[o].node), top = 0;
        if (state[root]) continue;
        stack[top++] = root;
        state[root] = 1;
        while (top) {
            int k = stack[top - 1];
            bool fed = is_fed_node(in, k);
            const kc_frame *frame = frame_led_by(ix, k);
            int n_children = frame ? frame->n_inputs : ix->n_inputs[k];
            if (!fed && next_input[k] < n_children) {
                int i = next_input[k]++;
                int child = unit_of(ix, frame ? frame->inputs[i] : ix->inputs[k][i].node);
                if (state[child] == 1) {
                    kc_error("the graph has a cycle through node '%s' (%s) outside any while loop",
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

/* Whether Kiln lowers node k: a known op, or a loop's own op inside its loop. */
static bool supported(const graph_index *ix, int k) {
    const char *op = ix->g->nodes[k].op;
    return kc_find_lowering(op) || (ix->frame_of[k] >= 0 && kc_is_frame_op(op));
}

/* The order with each loop's nodes in place of the loop: every node the outputs need. */
static int *needed_nodes(const graph_index *ix, const int *order, int n, int *count) {
    int *nodes = malloc(sizeof(int) * ((size_t)ix->g->n_nodes + 1));
    if (!nodes) {
        kc_error("out of memory");
        return NULL;
    }
    *count = 0;
    for (int i = 0; i < n; i++) {
        const kc_frame *f = frame_led_by(ix, order[i]);
        if (!f) nodes[(*count)++] = order[i];
        for (int j = 0; f && j < f->n_nodes; j++) nodes[(*count)++] = f->nodes[j];
    }
    return nodes;
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
        if (seen[i] || is_fed_node(in, order[i]) || supported(ix, order[i])) continue;
        /* Collect every node of this op type. */
        int count = 0;
        char names[1024] = "";
        size_t nl = 0;
        for (int j = i; j < n; j++) {
            if (strcmp(g->nodes[order[j]].op, node->op) != 0 || is_fed_node(in, order[j]) || supported(ix, order[j]))
                continue;
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
            kn_tensor t = p->tensors[id].t; /* a copy: adding a tensor may move the array */
            kn_reshape_params prm = {.rank = t.rank};
            memcpy(prm.dims, t.dims, sizeof prm.dims);
            if (kc_is_const(p, id)) id = kc_add_const(p, t.dtype, t.rank, t.dims, t.data);
            else if (!kc_emit(p, out->names[o], KN_OP_RESHAPE, (int[]){id}, 1, &prm, sizeof prm, 1, &id)) return false;
            if (id < 0) return false;
        }
        if (!kc_set_name(p, id, out->names[o])) return false;
        p->outputs[p->n_outputs++] = id;
    }
    return true;
}

bool kc_set_outputs(kc_graph_lowering *ls, int k, const int *ids, int n) {
    if (!ls->node_out[k] && !(ls->node_out[k] = calloc(KC_MAX_NODE_OUTPUTS, sizeof(int)))) {
        kc_error("out of memory");
        return false;
    }
    memcpy(ls->node_out[k], ids, sizeof(int) * (size_t)n);
    ls->node_n_out[k] = n;
    return true;
}

bool kc_lower_node(kc_graph_lowering *ls, int k) {
    const tf_node *node = &ls->g->nodes[k];
    const graph_index *ix = ls->ix;
    int args[1024];
    if (ix->n_inputs[k] > 1024) {
        kc_error("node '%s' (%s) has %d inputs; at most 1024 are supported", node->name, node->op, ix->n_inputs[k]);
        return false;
    }
    for (int i = 0; i < ix->n_inputs[k]; i++) {
        tensor_ref r = ix->inputs[k][i];
        if (r.index >= ls->node_n_out[r.node] || !ls->node_out[r.node]) {
            const tf_node *src = &ls->g->nodes[r.node];
            if (strcmp(src->op, "Placeholder") == 0)
                kc_error("node '%s' (%s) needs placeholder '%s', which is not an input (inputs come from the signature or --input)",
                         node->name, node->op, src->name);
            else
                kc_error("node '%s' (%s): input %d uses output %d of '%s' (%s), which Kiln does not produce",
                         node->name, node->op, i, r.index, src->name, src->op);
            return false;
        }
        args[i] = ls->node_out[r.node][r.index];
    }
    kc_lower L = {.p = ls->p, .node = node, .in = args, .n_in = ix->n_inputs[k]};
    return kc_find_lowering(node->op)(&L) && kc_set_outputs(ls, k, L.out, L.n_out);
}

static bool lower_graph(tf_graph *g, const graph_index *ix, const endpoints *in, const endpoints *out,
                        const int *order, int n_order, kc_program *p) {
    kc_graph_lowering ls = {.g = g, .ix = ix, .p = p};
    ls.node_out = calloc((size_t)g->n_nodes + 1, sizeof *ls.node_out);
    ls.node_n_out = calloc((size_t)g->n_nodes + 1, sizeof *ls.node_n_out);
    char *fed = calloc((size_t)g->n_nodes + 1, 1);
    ls.fed = fed;
    bool ok = ls.node_out && ls.node_n_out && fed && (p->inputs = malloc(sizeof(int) * (size_t)(in->n + 1)));
    if (!ok) kc_error("out of memory");
    /* Inputs first, in the order given, so the bundle lists them that way. */
    for (int i = 0; ok && i < in->n; i++) {
        int id = make_input(p, ix, in, i);
        tensor_ref r = in->refs[i];
        ok = id >= 0;
        if (ok && !ls.node_out[r.node]) ok = (ls.node_out[r.node] = calloc(KC_MAX_NODE_OUTPUTS, sizeof(int))) != NULL;
        if (ok) {
            ls.node_out[r.node][r.index] = id;
            if (ls.node_n_out[r.node] <= r.index) ls.node_n_out[r.node] = r.index + 1;
            p->inputs[p->n_inputs++] = id;
            fed[r.node] = 1;
        }
    }
    for (int oi = 0; ok && oi < n_order; oi++) {
        int k = order[oi];
        const kc_frame *frame = frame_led_by(ix, k);
        if (fed[k]) continue;
        ok = frame ? kc_lower_frame(&ls, frame) : kc_lower_node(&ls, k);
    }
    if (ok) ok = bind_outputs(p, out, ls.node_out, ls.node_n_out, ix);
    for (int k = 0; ls.node_out && k < g->n_nodes; k++) free(ls.node_out[k]);
    free(ls.node_out);
    free(ls.node_n_out);
    free(fed);
    return ok && kc_fuse(p) && kc_compact(p);
}

/* Resolves names, picks endpoints and orders the needed nodes. */
static bool prepare(tf_graph *g, const kc_options *opt, graph_index *ix, endpoints *in, endpoints *out, int **order,
                    int *n_order) {
    if (!tf_apply_default_attrs(g) || !kc_prepare_arrays(g) || !index_graph(g, ix) || !pick_outputs(ix, opt, out) ||
        !pick_inputs(ix, opt, in))
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
    int *needed = NULL, n_needed = 0;
    bool ok = prepare(g, opt, &ix, &in, &out, &order, &n_order) &&
              (needed = needed_nodes(&ix, order, n_order, &n_needed)) && check_supported(&ix, &in, needed, n_needed) &&
              lower_graph(g, &ix, &in, &out, order, n_order, p);
    free(needed);
    free(order);
    endpoints_free(&in);
    endpoints_free(&out);
    index_free(&ix);
    return ok;
}

char *kc_list_ops(tf_graph *g, const kc_options *opt) {
    graph_index ix = {0};
    endpoints in = {0}, out = {0};
    int *order = NULL, n_order = 0, *needed = NULL, n = 0;
    char *text = NULL;
    size_t len = 0;
    if (prepare(g, opt, &ix, &in, &out, &order, &n_order) && (needed = needed_nodes(&ix, order, n_order, &n))) {
        FILE *f = open_memstream(&text, &len);
        for (int i = 0; f && i < n; i++) {
            const char *op = g->nodes[needed[i]].op;
            bool first = true;
            for (int j = 0; j < i && first; j++) first = strcmp(g->nodes[needed[j]].op, op) != 0;
            if (!first) continue;
            int count = 0;
            bool ok = true; /* an op type is supported when all its nodes are */
            for (int j = i; j < n; j++) {
                if (strcmp(g->nodes[needed[j]].op, op) != 0) continue;
                count++;
                ok = ok && (is_fed_node(&in, needed[j]) || supported(&ix, needed[j]));
            }
            fprintf(f, "%-32s %5d  %s\n", op, count, ok ? "ok" : "UNSUPPORTED");
        }
        if (f) fclose(f);
    }
    free(needed);
    free(order);
    endpoints_free(&in);
    endpoints_free(&out);
    index_free(&ix);
    return text;
}
