#define _POSIX_C_SOURCE 200809L
#include "convert.h"

#include <float.h>
#include <math.h>
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
    const kc_input_spec **specs;   /* inputs only: the --input given for it, or NULL */
    const kc_input_value **values; /* inputs only: the --input-value fixing it (a constant), or NULL */
    int n;
} endpoints;

static void endpoints_free(endpoints *e) {
    for (int i = 0; i < e->n; i++) free(e->names[i]);
    free(e->refs);
    free(e->names);
    free(e->specs);
    free(e->values);
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
    const kc_input_value **values = realloc(e->values, sizeof *values * (size_t)(e->n + 1));
    if (values) e->values = values;
    if (!refs || !names || !specs || !values || !(e->names[e->n] = ref_name(ix, r))) {
        kc_error("out of memory");
        return false;
    }
    e->refs[e->n] = r;
    e->specs[e->n] = NULL;
    e->values[e->n] = NULL;
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

/* Marks the inputs that --input-value fixes; a tensor not among the inputs is added (it
 * cuts the graph there, as feeding it would). */
static bool fix_inputs(const graph_index *ix, const kc_options *opt, endpoints *in) {
    for (int v = 0; v < opt->n_values; v++) {
        const char *name = opt->values[v].name;
        tensor_ref r;
        if (!parse_ref(ix, name, &r)) {
            kc_error("--input-value '%s' names no node in the graph", name);
            return false;
        }
        int i = 0;
        while (i < in->n && (in->refs[i].node != r.node || in->refs[i].index != r.index)) i++;
        if (i < in->n && in->specs[i]) {
            kc_error("'%s' is given with both --input and --input-value: an input with a fixed value is no longer "
                     "an input", name);
            return false;
        }
        if (i < in->n && in->values[i]) {
            kc_error("--input-value '%s' is given twice", name);
            return false;
        }
        if (i == in->n && !endpoints_add(ix, in, name, "--input-value")) return false;
        in->values[i] = &opt->values[v];
    }
    return true;
}

static bool pick_inputs(const graph_index *ix, const kc_options *opt, endpoints *in) {
    const tf_graph *g = ix->g;
    for (int i = 0; i < opt->n_inputs; i++) {
        if (!endpoints_add(ix, in, opt->inputs[i].name, "--input")) return false;
        in->specs[in->n - 1] = &opt->inputs[i];
    }
    for (int i = 0; !opt->n_inputs && i < g->n_sig_inputs; i++)
        if (!endpoints_add(ix, in, g->sig_inputs[i].tensor, "signature input")) return false;
    for (int k = 0; !opt->n_inputs && !g->n_sig_inputs && k < g->n_nodes; k++)
        if (strcmp(g->nodes[k].op, "Placeholder") == 0 && !endpoints_add(ix, in, g->nodes[k].name, "input"))
            return false;
    return fix_inputs(ix, opt, in);
}

static bool is_fed_node(const endpoints *in, int node) {
    for (int i = 0; i < in->n; i++)
        if (in->refs[i].node == node) return true;
    return false;
}

/* Data inputs of unit k (a loop: what its nodes read from outside), then, with `controls`,
 * its control inputs. */
static int n_children(const graph_index *ix, int k, bool controls) {
    const kc_frame *f = frame_led_by(ix, k);
    return f ? f->n_inputs + (controls ? f->n_controls : 0) : ix->n_inputs[k] + (controls ? ix->n_controls[k] : 0);
}

static int child_of(const graph_index *ix, int k, int i) {
    const kc_frame *f = frame_led_by(ix, k);
    if (f) return i < f->n_inputs ? f->inputs[i] : f->controls[i - f->n_inputs];
    return i < ix->n_inputs[k] ? ix->inputs[k][i].node : ix->controls[k][i - ix->n_inputs[k]];
}

/*
 * The nodes the outputs need, in an order where every node comes after its
 * inputs (iterative depth-first search, so deep graphs cannot overflow the
 * stack). A while loop counts as one node, its first: its nodes are ordered
 * when it is lowered. Feeding a node cuts the graph there. With `controls`,
 * control inputs count too (for the deadness of conditionals' untaken
 * branches they carry). Writes the order to `order` (n_nodes slots) and
 * returns its length, or -1 on a cycle.
 */
static int topo_order(const graph_index *ix, const endpoints *in, const endpoints *out, bool controls, int *order) {
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
            if (!fed && next_input[k] < n_children(ix, k, controls)) {
                int child = unit_of(ix, child_of(ix, k, next_input[k]++));
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

/* Node k is a conditional's `op` ("Switch" or "Merge"): one outside any while loop. */
static bool is_cond_op(const graph_index *ix, int k, const char *op) {
    return ix->frame_of[k] < 0 && strcmp(ix->g->nodes[k].op, op) == 0;
}

/* Whether Kiln lowers node k: a known op, a loop's own op inside its loop, or a conditional's. */
static bool supported(const graph_index *ix, int k) {
    const char *op = ix->g->nodes[k].op;
    return kc_find_lowering(op) || (ix->frame_of[k] >= 0 && kc_is_frame_op(op)) || is_cond_op(ix, k, "Switch") ||
           is_cond_op(ix, k, "Merge");
}

/* What prepare() finds: the endpoints and the units to convert, in order. */
typedef struct {
    graph_index ix;
    endpoints in, out;
    int *order, n_order;
    /* per node: its value is computed. Otherwise the node is in the order only for the
     * deadness its control edges carry (conditionals): it is neither checked nor lowered. */
    char *value;
} conversion;

static void conversion_free(conversion *c) {
    free(c->order);
    free(c->value);
    endpoints_free(&c->in);
    endpoints_free(&c->out);
    index_free(&c->ix);
}

/* The values to compute: the outputs', what they read, and every conditional's predicate
 * (which decides what is dead). One pass from the end of the order: consumers come later. */
static bool mark_values(conversion *c) {
    const graph_index *ix = &c->ix;
    if (!(c->value = calloc((size_t)ix->g->n_nodes + 1, 1))) {
        kc_error("out of memory");
        return false;
    }
    for (int o = 0; o < c->out.n; o++) c->value[unit_of(ix, c->out.refs[o].node)] = 1;
    for (int i = c->n_order - 1; i >= 0; i--) {
        int k = c->order[i];
        if (is_fed_node(&c->in, k)) continue;
        if (is_cond_op(ix, k, "Switch") && ix->n_inputs[k] == 2) c->value[unit_of(ix, ix->inputs[k][1].node)] = 1;
        for (int j = 0; c->value[k] && j < n_children(ix, k, false); j++) c->value[unit_of(ix, child_of(ix, k, j))] = 1;
    }
    return true;
}

/* The units whose value is computed, each loop's nodes in place of the loop. */
static int *needed_nodes(const conversion *c, int *count) {
    const graph_index *ix = &c->ix;
    int *nodes = malloc(sizeof(int) * ((size_t)ix->g->n_nodes + 1));
    if (!nodes) {
        kc_error("out of memory");
        return NULL;
    }
    *count = 0;
    for (int i = 0; i < c->n_order; i++) {
        const kc_frame *f = frame_led_by(ix, c->order[i]);
        if (!c->value[c->order[i]]) continue;
        if (!f) nodes[(*count)++] = c->order[i];
        for (int j = 0; f && j < f->n_nodes; j++) nodes[(*count)++] = f->nodes[j];
    }
    return nodes;
}

/* Whether needed node order[j] is unsupported and of type op. */
static bool unsupported_of(const graph_index *ix, const endpoints *in, const int *order, int j, const char *op) {
    return strcmp(ix->g->nodes[order[j]].op, op) == 0 && !is_fed_node(in, order[j]) && !supported(ix, order[j]);
}

/* Every unsupported op among the needed nodes, in one message. */
static bool check_supported(const graph_index *ix, const endpoints *in, const int *order, int n) {
    const tf_graph *g = ix->g;
    char *msg = NULL, *seen = calloc((size_t)n + 1, 1);
    size_t len = 0;
    FILE *f = seen ? open_memstream(&msg, &len) : NULL;
    int n_types = 0;
    for (int i = 0; f && i < n; i++) {
        const char *op = g->nodes[order[i]].op;
        if (seen[i] || !unsupported_of(ix, in, order, i, op)) continue;
        int count = 0, shown = 0;
        for (int j = i; j < n; j++) count += unsupported_of(ix, in, order, j, op);
        fprintf(f, "\n  %s: %d node%s: ", op, count, count == 1 ? "" : "s");
        for (int j = i; j < n; j++) {
            if (!unsupported_of(ix, in, order, j, op)) continue;
            seen[j] = 1;
            if (shown < 5) fprintf(f, "%s'%s'", shown ? ", " : "", g->nodes[order[j]].name);
            shown++;
        }
        if (count > 5) fprintf(f, " and %d more", count - 5);
        n_types++;
    }
    bool ok = f && fclose(f) == 0;
    if (!ok) kc_error("out of memory");
    else if (n_types) kc_error("%d unsupported op type%s:%s", n_types, n_types == 1 ? "" : "s", msg);
    free(msg);
    free(seen);
    return ok && n_types == 0;
}

/* The Kiln dtype of a fed tensor (a Placeholder's dtype, another node's T), or 0. */
static int fed_dtype(const tf_node *node) {
    const tf_attr *dt = tf_node_attr(node, strcmp(node->op, "Placeholder") == 0 ? "dtype" : "T");
    if (!dt || dt->kind != TF_ATTR_TYPE) return 0;
    return dt->type == TF_DT_FLOAT ? KILN_FLOAT32
           : dt->type == TF_DT_INT32 ? KILN_INT32
           : dt->type == TF_DT_UINT8 ? KILN_UINT8
           : dt->type == TF_DT_BOOL  ? KILN_BOOL
                                     : 0;
}

/* Parses one value of --input-value (up to ',' or the end) into `out` as `dtype`; the end of
 * what it read goes to *end. False with kc_error set. */
static bool parse_value(const kc_input_value *val, const char *s, int dtype, uint8_t *out, const char **end) {
    static const char *const names[] = {"", "float32", "int32", "uint8", "bool"};
    double v = 0;
    char *e;
    if (dtype == KILN_BOOL && strncmp(s, "true", 4) == 0) {
        v = 1;
        e = (char *)s + 4;
    } else if (dtype == KILN_BOOL && strncmp(s, "false", 5) == 0) {
        e = (char *)s + 5;
    } else {
        v = strtod(s, &e);
    }
    *end = e;
    bool integral = v == floor(v);
    bool ok = e != s && (*e == ',' || *e == '\0') &&
              (dtype == KILN_FLOAT32 ? isfinite(v) && fabs(v) <= FLT_MAX
               : dtype == KILN_INT32 ? integral && v >= INT32_MIN && v <= INT32_MAX
               : dtype == KILN_UINT8 ? integral && v >= 0 && v <= 255
                                     : v == 0 || v == 1);
    if (!ok) {
        size_t n = strcspn(s, ",");
        kc_error("--input-value %s=%s: '%.*s' is not a valid %s value", val->name, val->values, (int)n, s, names[dtype]);
        return false;
    }
    if (dtype == KILN_FLOAT32) {
        float f = (float)v;
        memcpy(out, &f, 4);
    } else if (dtype == KILN_INT32) {
        int32_t i = (int32_t)v;
        memcpy(out, &i, 4);
    } else {
        *out = (uint8_t)v;
    }
    return true;
}

/* The constant standing for an input fixed with --input-value: its values in the input's
 * dtype, shaped as the model declares the input when that holds as many values, else a
 * scalar (one value) or a vector. */
static int make_fixed(kc_program *p, const tf_node *node, const char *name, const kc_input_value *val, int dtype) {
    int n = 1;
    for (const char *c = val->values; *c; c++) n += *c == ',';
    size_t elem = dtype == KILN_FLOAT32 || dtype == KILN_INT32 ? 4 : 1;
    uint8_t *data = malloc(elem * (size_t)n);
    if (!data) {
        kc_error("out of memory");
        return -1;
    }
    const char *s = val->values;
    for (int j = 0; j < n; j++) {
        if (!parse_value(val, s, dtype, data + elem * (size_t)j, &s)) {
            free(data);
            return -1;
        }
        if (*s) s++;
    }
    int32_t dims[KILN_MAX_RANK] = {n};
    int rank = n == 1 ? 0 : 1;
    const tf_attr *shape = tf_node_attr(node, "shape");
    if (shape && shape->kind == TF_ATTR_SHAPE && !shape->shape.unknown_rank && shape->shape.rank <= KILN_MAX_RANK) {
        int64_t count = 1; /* capped at n + 1: more than given is all that matters */
        bool known = true;
        for (int d = 0; d < shape->shape.rank; d++) {
            int64_t dim = shape->shape.dims[d];
            known = known && dim >= 0;
            count = !known ? count : dim > n ? n + 1 : count * dim > n ? n + 1 : count * dim;
        }
        if (known && count != n) {
            kc_error("--input-value %s: %d value%s given, but input '%s' is declared with a shape of another size",
                     val->name, n, n == 1 ? "" : "s", name);
            free(data);
            return -1;
        }
        for (int d = 0; known && d < shape->shape.rank; d++) dims[d] = (int32_t)shape->shape.dims[d];
        if (known) rank = shape->shape.rank;
    }
    int id = kc_add_const(p, dtype, rank, dims, data);
    free(data);
    return id;
}

/* Creates the program input for a fed tensor, with its shape and dtype (or, for an input
 * fixed with --input-value, its constant). */
static int make_input(kc_program *p, const graph_index *ix, const endpoints *in, int i) {
    const tf_node *node = &ix->g->nodes[in->refs[i].node];
    const kc_input_spec *spec = in->specs[i];
    const tf_attr *shape_attr = tf_node_attr(node, "shape");
    int dtype = fed_dtype(node);
    if (!dtype) {
        kc_error("input '%s' (%s): its dtype is missing or not float32, int32, uint8 or bool", in->names[i], node->op);
        return -1;
    }
    if (in->values[i]) return make_fixed(p, node, in->names[i], in->values[i], dtype);
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
static bool bind_outputs(kc_program *p, const endpoints *out, const kc_graph_lowering *ls, const char *dead) {
    const graph_index *ix = ls->ix;
    p->outputs = malloc(sizeof(int) * (size_t)(out->n + 1));
    if (!p->outputs) return false;
    for (int o = 0; o < out->n; o++) {
        tensor_ref r = out->refs[o];
        if (dead[r.node] || (r.index < ls->node_n_out[r.node] && ls->node_out[r.node][r.index] < 0)) {
            kc_error("output '%s' is computed only on a branch that its conditional does not take", out->names[o]);
            return false;
        }
        if (r.index >= ls->node_n_out[r.node]) {
            kc_error("output '%s': node '%s' (%s) has only %d output(s)", out->names[o], ix->g->nodes[r.node].name,
                     ix->g->nodes[r.node].op, ls->node_n_out[r.node]);
            return false;
        }
        int id = ls->node_out[r.node][r.index];
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

/* The tensor of data input i of node k, or -1 with kc_error set. */
static int input_tensor(const kc_graph_lowering *ls, int k, int i) {
    const tf_node *node = &ls->g->nodes[k];
    tensor_ref r = ls->ix->inputs[k][i];
    const tf_node *src = &ls->g->nodes[r.node];
    if (r.index < ls->node_n_out[r.node] && ls->node_out[r.node] && ls->node_out[r.node][r.index] >= 0)
        return ls->node_out[r.node][r.index];
    if (strcmp(src->op, "Placeholder") == 0)
        kc_error("node '%s' (%s) needs placeholder '%s', which is not an input (inputs come from the signature or --input)",
                 node->name, node->op, src->name);
    else if (r.index < ls->node_n_out[r.node] && ls->node_out[r.node])
        kc_error("node '%s' (%s): input %d reads the output of Switch '%s' that its predicate does not take",
                 node->name, node->op, i, src->name);
    else
        kc_error("node '%s' (%s): input %d uses output %d of '%s' (%s), which Kiln does not produce", node->name,
                 node->op, i, r.index, src->name, src->op);
    return -1;
}

bool kc_lower_node(kc_graph_lowering *ls, int k) {
    const tf_node *node = &ls->g->nodes[k];
    const graph_index *ix = ls->ix;
    int args[1024];
    if (ix->n_inputs[k] > 1024) {
        kc_error("node '%s' (%s) has %d inputs; at most 1024 are supported", node->name, node->op, ix->n_inputs[k]);
        return false;
    }
    for (int i = 0; i < ix->n_inputs[k]; i++)
        if ((args[i] = input_tensor(ls, k, i)) < 0) return false;
    kc_lower L = {.p = ls->p, .node = node, .in = args, .n_in = ix->n_inputs[k]};
    return kc_find_lowering(node->op)(&L) && kc_set_outputs(ls, k, L.out, L.n_out);
}

/* ---- Conditionals outside loops (TF v1 Switch/Merge) ---------------------------------------
 * They are resolved at convert time, with TF's deadness rules: a Switch forwards its data to
 * output 1 if its predicate is true, else to output 0, and the other output is dead; a node
 * with a dead data or control input is dead and does not run; a Merge forwards its one live
 * data input (output 0) and that input's index (output 1), and is dead only if all its data
 * inputs are. Dead nodes are not lowered. */

typedef struct {
    char *dead;           /* per node */
    signed char *untaken; /* per Switch: its dead output (0 or 1), else -1 */
} deadness;

static bool ref_dead(const deadness *d, tensor_ref r) { return d->dead[r.node] || d->untaken[r.node] == r.index; }

/* Whether node k (not a loop) has a dead input, as its op counts them. */
static bool node_dead(const graph_index *ix, const deadness *d, int k) {
    int n_dead = 0;
    for (int i = 0; i < ix->n_inputs[k]; i++) n_dead += ref_dead(d, ix->inputs[k][i]);
    if (is_cond_op(ix, k, "Merge")) return ix->n_inputs[k] > 0 && n_dead == ix->n_inputs[k];
    for (int i = 0; !n_dead && i < ix->n_controls[k]; i++) n_dead += d->dead[ix->controls[k][i]];
    return n_dead > 0;
}

/* Whether unit k is dead; a loop is dead, with all its nodes, if anything it reads from
 * outside is (a loop inside an untaken branch). */
static bool unit_dead(const graph_index *ix, deadness *d, int k) {
    const kc_frame *f = frame_led_by(ix, k);
    if (!f) {
        d->dead[k] = node_dead(ix, d, k);
        return d->dead[k];
    }
    bool dead = false;
    for (int j = 0; j < f->n_nodes && !dead; j++) {
        int m = f->nodes[j];
        for (int i = 0; i < ix->n_inputs[m] && !dead; i++)
            dead = ix->frame_of[ix->inputs[m][i].node] != ix->frame_of[m] && ref_dead(d, ix->inputs[m][i]);
        for (int i = 0; i < ix->n_controls[m] && !dead; i++)
            dead = ix->frame_of[ix->controls[m][i]] != ix->frame_of[m] && d->dead[ix->controls[m][i]];
    }
    for (int j = 0; j < f->n_nodes; j++) d->dead[f->nodes[j]] = dead;
    return dead;
}

/* The first model input (not fixed) that node k's value depends on, or -1. */
static int input_behind(const graph_index *ix, const endpoints *in, int k) {
    int n = ix->g->n_nodes, top = 0, found = -1;
    int *stack = malloc(sizeof(int) * ((size_t)n + 1));
    char *seen = calloc((size_t)n + 1, 1);
    if (stack && seen) {
        stack[top++] = k;
        seen[k] = 1;
    }
    while (top && found < 0) {
        int m = stack[--top];
        for (int i = 0; i < in->n && found < 0; i++)
            if (in->refs[i].node == m && !in->values[i]) found = i;
        for (int i = 0; i < ix->n_inputs[m] && !is_fed_node(in, m); i++) {
            int src = ix->inputs[m][i].node;
            if (!seen[src]) {
                seen[src] = 1;
                stack[top++] = src;
            }
        }
    }
    free(stack);
    free(seen);
    return found;
}

/* A Switch whose value is needed: its predicate must be a constant by now; the output it
 * does not take is dead, and it gets outputs (the other is the tensor -1). */
static bool resolve_switch(kc_graph_lowering *ls, const conversion *c, deadness *d, int k) {
    const graph_index *ix = ls->ix;
    const tf_node *node = &ls->g->nodes[k];
    if (ix->n_inputs[k] != 2) {
        kc_error("Switch '%s' has %d data inputs; it needs 2 (data, predicate)", node->name, ix->n_inputs[k]);
        return false;
    }
    int pred = input_tensor(ls, k, 1);
    if (pred < 0) return false;
    const kn_tensor *t = &ls->p->tensors[pred].t;
    if (!kc_is_const(ls->p, pred)) {
        /* Read only through control edges (a TF1 Assert guard), it orders side effects Kiln does
         * not have: both sides stay live, as when control edges are ignored. */
        if (!c->value[k]) return true;
        int i = input_behind(ix, &c->in, ix->inputs[k][1].node);
        char hint[512] = "";
        if (i >= 0)
            snprintf(hint, sizeof hint, "; it depends on input '%s': fix that input's value with --input-value %s=VALUE",
                     c->in.names[i], c->in.names[i]);
        kc_error("Switch '%s' (a conditional outside any while loop): its predicate '%s' is known only at run time; "
                 "Kiln resolves conditionals when converting, so the predicate must be known at convert time%s",
                 node->name, ls->g->nodes[ix->inputs[k][1].node].name, hint);
        return false;
    }
    if (t->dtype != KILN_BOOL || kn_tensor_count(t) != 1) {
        kc_error("Switch '%s': its predicate is %s; it must be one bool", node->name, kc_shape(t));
        return false;
    }
    d->untaken[k] = *(const uint8_t *)t->data ? 0 : 1;
    if (!c->value[k]) return true;
    int outs[2];
    outs[1 - d->untaken[k]] = input_tensor(ls, k, 0);
    outs[d->untaken[k]] = -1;
    return outs[1 - d->untaken[k]] >= 0 && kc_set_outputs(ls, k, outs, 2);
}

/* A Merge: its one live input and that input's index. */
static bool lower_merge(kc_graph_lowering *ls, const deadness *d, int k) {
    const graph_index *ix = ls->ix;
    int live = -1;
    for (int i = 0; i < ix->n_inputs[k]; i++) {
        if (ref_dead(d, ix->inputs[k][i])) continue;
        if (live >= 0) {
            kc_error("Merge '%s': inputs %d and %d are both live; Kiln takes a conditional's Merge from one branch",
                     ls->g->nodes[k].name, live, i);
            return false;
        }
        live = i;
    }
    if (live < 0) {
        kc_error("Merge '%s' has no data inputs", ls->g->nodes[k].name);
        return false;
    }
    int32_t index = live, none[1] = {0};
    int outs[2] = {input_tensor(ls, k, live), kc_add_const(ls->p, KILN_INT32, 0, none, &index)};
    return outs[0] >= 0 && outs[1] >= 0 && kc_set_outputs(ls, k, outs, 2);
}

static bool lower_graph(tf_graph *g, const conversion *c, kc_program *p) {
    const graph_index *ix = &c->ix;
    const endpoints *in = &c->in;
    kc_graph_lowering ls = {.g = g, .ix = ix, .p = p};
    ls.node_out = calloc((size_t)g->n_nodes + 1, sizeof *ls.node_out);
    ls.node_n_out = calloc((size_t)g->n_nodes + 1, sizeof *ls.node_n_out);
    char *fed = calloc((size_t)g->n_nodes + 1, 1);
    deadness d = {calloc((size_t)g->n_nodes + 1, 1), malloc((size_t)g->n_nodes + 1)};
    ls.fed = fed;
    bool ok = ls.node_out && ls.node_n_out && fed && d.dead && d.untaken &&
              (p->inputs = malloc(sizeof(int) * (size_t)(in->n + 1)));
    if (!ok) kc_error("out of memory");
    if (d.untaken) memset(d.untaken, -1, (size_t)g->n_nodes + 1);
    /* Inputs first, in the order given, so the bundle lists them that way. */
    for (int i = 0; ok && i < in->n; i++) {
        int id = make_input(p, ix, in, i);
        tensor_ref r = in->refs[i];
        ok = id >= 0;
        if (ok && !ls.node_out[r.node]) ok = (ls.node_out[r.node] = calloc(KC_MAX_NODE_OUTPUTS, sizeof(int))) != NULL;
        if (ok) {
            ls.node_out[r.node][r.index] = id;
            if (ls.node_n_out[r.node] <= r.index) ls.node_n_out[r.node] = r.index + 1;
            if (!in->values[i]) p->inputs[p->n_inputs++] = id;
            fed[r.node] = 1;
        }
    }
    for (int oi = 0; ok && oi < c->n_order; oi++) {
        int k = c->order[oi];
        const kc_frame *frame = frame_led_by(ix, k);
        if (fed[k] || unit_dead(ix, &d, k)) continue;
        if (is_cond_op(ix, k, "Switch")) ok = resolve_switch(&ls, c, &d, k);
        else if (!c->value[k]) continue;
        else if (is_cond_op(ix, k, "Merge")) ok = lower_merge(&ls, &d, k);
        else ok = frame ? kc_lower_frame(&ls, frame) : kc_lower_node(&ls, k);
    }
    if (ok) ok = bind_outputs(p, &c->out, &ls, d.dead);
    for (int k = 0; ls.node_out && k < g->n_nodes; k++) free(ls.node_out[k]);
    free(ls.node_out);
    free(ls.node_n_out);
    free(fed);
    free(d.dead);
    free(d.untaken);
    return ok && kc_fuse(p) && kc_compact(p);
}

/* Resolves names, picks endpoints and orders the needed nodes (control edges count only
 * when the graph has conditionals, whose deadness they carry). */
static bool prepare(tf_graph *g, const kc_options *opt, conversion *c) {
    if (!tf_apply_default_attrs(g) || !kc_prepare_arrays(g) || !index_graph(g, &c->ix) ||
        !pick_outputs(&c->ix, opt, &c->out) || !pick_inputs(&c->ix, opt, &c->in))
        return false;
    bool conds = false;
    for (int k = 0; k < g->n_nodes && !conds; k++) conds = is_cond_op(&c->ix, k, "Switch");
    c->order = malloc(sizeof(int) * ((size_t)g->n_nodes + 1));
    if (!c->order) {
        kc_error("out of memory");
        return false;
    }
    c->n_order = topo_order(&c->ix, &c->in, &c->out, conds, c->order);
    return c->n_order >= 0 && mark_values(c);
}

bool kc_convert(tf_graph *g, const kc_options *opt, kc_program *p) {
    conversion c = {0};
    int *needed = NULL, n_needed = 0;
    bool ok = prepare(g, opt, &c) && (needed = needed_nodes(&c, &n_needed)) &&
              check_supported(&c.ix, &c.in, needed, n_needed) && lower_graph(g, &c, p);
    free(needed);
    conversion_free(&c);
    return ok;
}

char *kc_list_ops(tf_graph *g, const kc_options *opt) {
    conversion c = {0};
    int *needed = NULL, n = 0;
    char *text = NULL;
    size_t len = 0;
    if (prepare(g, opt, &c) && (needed = needed_nodes(&c, &n))) {
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
                ok = ok && (is_fed_node(&c.in, needed[j]) || supported(&c.ix, needed[j]));
            }
            fprintf(f, "%-32s %5d  %s\n", op, count, ok ? "ok" : "UNSUPPORTED");
        }
        if (f) fclose(f);
    }
    free(needed);
    conversion_free(&c);
    return text;
}
