/*
 * TF v1 while loops (frozen graphs) into Kiln loops. A loop frame is made of
 *   Enter(x)            a value entering the loop: invariant, or a variable's start
 *   Merge(Enter, Next)  a loop variable
 *   LoopCond(pred)      the condition, computed from variables and invariants
 *   Switch(Merge, cond) the variable in the body (output 1) and at the exit (output 0)
 *   NextIteration(v)    the variable's value for the next iteration
 *   Exit(Switch:0)      the variable after the loop
 * and becomes the plan
 *   copies of each start value into its variable's tensor
 *   [condition steps] LOOP_TEST [body steps] LOOP_NEXT(next values -> variables)
 * with the Exit nodes reading the variables' tensors.
 */
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "lower/lower.h"
#include "lowering.h"
#include "ops/params.h"

static const char *const frame_ops[] = {"Enter", "Merge", "Switch", "LoopCond", "NextIteration", "Exit"};

bool kc_is_frame_op(const char *op) {
    for (size_t i = 0; i < sizeof frame_ops / sizeof frame_ops[0]; i++)
        if (strcmp(frame_ops[i], op) == 0) return true;
    return false;
}

static bool is_op(const kc_graph_lowering *ls, int k, const char *op) { return strcmp(ls->g->nodes[k].op, op) == 0; }

/* A copy of tensor `src` into a new arena tensor (never folded). */
static int copy_of(kc_graph_lowering *ls, const char *node, int src) {
    const kn_tensor *t = &ls->p->tensors[src].t;
    kn_reshape_params prm = {.rank = t->rank};
    memcpy(prm.dims, t->dims, sizeof prm.dims);
    int id = kc_add_tensor(ls->p, t->dtype, t->rank, t->dims);
    if (id < 0 || !kc_emit_into(ls->p, node, KN_OP_RESHAPE, &src, 1, &prm, sizeof prm, 1, &id)) return -1;
    return id;
}

/* The tensor of a lowered node's output. */
static int value_of(const kc_graph_lowering *ls, tensor_ref r) {
    return ls->node_out[r.node] && r.index < ls->node_n_out[r.node] ? ls->node_out[r.node][r.index] : -1;
}

/*
 * Lowers, in dependency order, the frame nodes that `root` needs and that are
 * not lowered yet (iterative DFS; lowered nodes, Merges and Enters stop it).
 */
static bool lower_needed(kc_graph_lowering *ls, const kc_frame *f, int root, int *stack, int *next_input, char *state) {
    const graph_index *ix = ls->ix;
    if (ls->node_out[root]) return true;
    int top = 0;
    stack[top++] = root;
    state[root] = 1;
    while (top) {
        int k = stack[top - 1];
        if (next_input[k] < ix->n_inputs[k]) {
            int child = ix->inputs[k][next_input[k]++].node;
            if (ix->frame_of[child] != ix->frame_of[root] || ls->node_out[child]) continue;
            if (state[child] == 1) {
                kc_error("loop '%s': node '%s' (%s) depends on itself within one iteration", f->name,
                         ls->g->nodes[child].name, ls->g->nodes[child].op);
                return false;
            }
            state[child] = 1;
            stack[top++] = child;
            continue;
        }
        top--;
        state[k] = 2;
        if (kc_is_frame_op(ls->g->nodes[k].op)) {
            kc_error("loop '%s': node '%s' (%s) is not where a while loop has one", f->name, ls->g->nodes[k].name,
                     ls->g->nodes[k].op);
            return false;
        }
        if (!kc_lower_node(ls, k)) return false;
    }
    return true;
}

/* The one LoopCond of the frame, or -1. */
static int find_loop_cond(const kc_graph_lowering *ls, const kc_frame *f) {
    int found = -1;
    for (int i = 0; i < f->n_nodes; i++)
        if (is_op(ls, f->nodes[i], "LoopCond")) {
            if (found >= 0) return -1;
            found = f->nodes[i];
        }
    return found;
}

bool kc_lower_frame(kc_graph_lowering *ls, const kc_frame *f) {
    const graph_index *ix = ls->ix;
    kc_program *p = ls->p;
    int n = ls->g->n_nodes;
    int *stack = malloc(sizeof(int) * ((size_t)n + 1)), *next_input = calloc((size_t)n + 1, sizeof(int));
    char *state = calloc((size_t)n + 1, 1);
    int *vars = malloc(sizeof(int) * ((size_t)f->n_nodes + 1)), *nexts = malloc(sizeof(int) * ((size_t)f->n_nodes + 1));
    int n_vars = 0;
    bool ok = stack && next_input && state && vars && nexts;
    if (!ok) kc_error("out of memory");
    int cond_node = ok ? find_loop_cond(ls, f) : -1;
    if (ok && cond_node < 0) {
        kc_error("loop '%s' does not have exactly one LoopCond node", f->name);
        ok = false;
    }
    /* Enter: the value from outside. An invariant is used as is; a variable's start is copied below. */
    for (int i = 0; ok && i < f->n_nodes; i++) {
        int k = f->nodes[i];
        if (!is_op(ls, k, "Enter")) continue;
        int v = ix->n_inputs[k] == 1 ? value_of(ls, ix->inputs[k][0]) : -1;
        ok = v >= 0 && kc_set_outputs(ls, k, &v, 1);
        if (v < 0) kc_error("loop '%s': Enter '%s' needs one data input that Kiln produces", f->name, ls->g->nodes[k].name);
    }
    /* Merge: a loop variable, in its own tensor, written by a copy of its start value. */
    for (int i = 0; ok && i < f->n_nodes; i++) {
        int k = f->nodes[i];
        if (!is_op(ls, k, "Merge")) continue;
        int start = -1;
        for (int j = 0; j < ix->n_inputs[k]; j++)
            if (is_op(ls, ix->inputs[k][j].node, "Enter")) start = value_of(ls, ix->inputs[k][j]);
        if (ix->n_inputs[k] != 2 || start < 0) {
            kc_error("loop '%s': Merge '%s' does not join an Enter and a NextIteration", f->name, ls->g->nodes[k].name);
            ok = false;
            break;
        }
        int var = copy_of(ls, ls->g->nodes[k].name, start);
        ok = var >= 0 && kc_set_outputs(ls, k, &var, 1);
        vars[n_vars++] = k;
    }
    /* The condition, then the test. */
    int first_step = p->n_steps, test_step = -1;
    /* TF loops have no iteration limit; this one keeps a bad graph from running forever. */
    kn_loop_test_params test = {.exit_step = 0, .max_iterations = 1 << 20};
    if (ok && ix->n_inputs[cond_node] != 1) {
        kc_error("loop '%s': LoopCond '%s' needs one input", f->name, ls->g->nodes[cond_node].name);
        ok = false;
    }
    if (ok) ok = lower_needed(ls, f, ix->inputs[cond_node][0].node, stack, next_input, state);
    int cond = ok ? value_of(ls, ix->inputs[cond_node][0]) : -1;
    if (ok) {
        ok = cond >= 0 && kc_set_outputs(ls, cond_node, &cond, 1);
        test_step = p->n_steps;
        ok = ok && kc_emit_into(p, ls->g->nodes[cond_node].name, KN_OP_LOOP_TEST, &cond, 1, &test, sizeof test, 0, NULL);
    }
    /* Switch: the variable, in the body (output 1) and at the exit (output 0). */
    for (int i = 0; ok && i < f->n_nodes; i++) {
        int k = f->nodes[i];
        if (!is_op(ls, k, "Switch")) continue;
        int v = ix->n_inputs[k] == 2 ? value_of(ls, ix->inputs[k][0]) : -1;
        int both[2] = {v, v};
        ok = v >= 0 && kc_set_outputs(ls, k, both, 2);
        if (v < 0) kc_error("loop '%s': Switch '%s' does not switch a loop variable", f->name, ls->g->nodes[k].name);
    }
    /* The body: whatever each variable's NextIteration needs. */
    for (int v = 0; ok && v < n_vars; v++) {
        int merge = vars[v], next_node = -1;
        for (int j = 0; j < ix->n_inputs[merge]; j++)
            if (is_op(ls, ix->inputs[merge][j].node, "NextIteration")) next_node = ix->inputs[merge][j].node;
        if (next_node < 0) {
            kc_error("loop '%s': Merge '%s' has no NextIteration", f->name, ls->g->nodes[merge].name);
            ok = false;
            break;
        }
        if (ix->n_inputs[next_node] != 1) {
            kc_error("loop '%s': NextIteration '%s' needs one input", f->name, ls->g->nodes[next_node].name);
            ok = false;
            break;
        }
        ok = lower_needed(ls, f, ix->inputs[next_node][0].node, stack, next_input, state);
        nexts[v] = ok ? value_of(ls, ix->inputs[next_node][0]) : -1;
        ok = ok && nexts[v] >= 0;
    }
    /* LOOP_NEXT copies next values into variables one after the other: a next value that is
     * another variable is copied first, so no copy overwrites what a later one reads. */
    int *var_ids = malloc(sizeof(int) * ((size_t)n_vars + 1)), *next_ids = malloc(sizeof(int) * ((size_t)n_vars + 1));
    int n_pairs = 0;
    ok = ok && var_ids && next_ids;
    for (int v = 0; ok && v < n_vars; v++) {
        int var = ls->node_out[vars[v]][0], next = nexts[v];
        if (next == var) continue; /* updated in place, or unchanged */
        for (int w = 0; w < n_vars; w++)
            if (next == ls->node_out[vars[w]][0]) next = copy_of(ls, ls->g->nodes[vars[v]].name, next);
        ok = next >= 0;
        var_ids[n_pairs] = var;
        next_ids[n_pairs++] = next;
    }
    if (ok) {
        kn_loop_next_params back = {.first_step = first_step};
        ok = kc_emit_into(p, f->name, KN_OP_LOOP_NEXT, next_ids, n_pairs, &back, sizeof back, n_pairs, var_ids);
        ((kn_loop_test_params *)p->steps[test_step].params)->exit_step = p->n_steps;
    }
    /* Exit: the variable after the loop. */
    for (int i = 0; ok && i < f->n_nodes; i++) {
        int k = f->nodes[i];
        if (!is_op(ls, k, "Exit")) continue;
        int v = ix->n_inputs[k] == 1 ? value_of(ls, ix->inputs[k][0]) : -1;
        if (v < 0) kc_error("loop '%s': Exit '%s' does not read a loop variable", f->name, ls->g->nodes[k].name);
        ok = v >= 0 && kc_set_outputs(ls, k, &v, 1);
    }
    free(var_ids);
    free(next_ids);
    free(stack);
    free(next_input);
    free(state);
    free(vars);
    free(nexts);
    return ok;
}
