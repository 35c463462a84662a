#define _POSIX_C_SOURCE 200809L
#include "graph_index.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "lower/lower.h"

static uint64_t hash_name(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

int find_node(const graph_index *ix, const char *name, size_t n) {
    for (size_t i = hash_name(name, n) & (ix->hash_cap - 1);; i = (i + 1) & (ix->hash_cap - 1)) {
        int k = ix->hash[i];
        if (k < 0) return -1;
        const char *kn = ix->g->nodes[k].name;
        if (strncmp(kn, name, n) == 0 && kn[n] == '\0') return k;
    }
}

bool parse_ref(const graph_index *ix, const char *s, tensor_ref *ref) {
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

void index_free(graph_index *ix) {
    for (int i = 0; ix->g && i < ix->g->n_nodes; i++) {
        if (ix->inputs) free(ix->inputs[i]);
        if (ix->controls) free(ix->controls[i]);
    }
    for (int f = 0; f < ix->n_frames; f++) {
        free(ix->frames[f].nodes);
        free(ix->frames[f].inputs);
        free(ix->frames[f].controls);
    }
    free(ix->frames);
    free(ix->frame_of);
    free(ix->inputs);
    free(ix->n_inputs);
    free(ix->controls);
    free(ix->n_controls);
    free(ix->hash);
}

const kc_frame *frame_led_by(const graph_index *ix, int node) {
    int f = ix->frame_of[node];
    return f >= 0 && ix->frames[f].nodes[0] == node ? &ix->frames[f] : NULL;
}

static const char *frame_name(const tf_node *n) {
    const tf_attr *a = tf_node_attr(n, "frame_name");
    return a && a->kind == TF_ATTR_S ? a->s : "";
}

static bool append(int **items, int *n, int value) {
    int *p = realloc(*items, sizeof(int) * (size_t)(*n + 1));
    if (!p) return false;
    p[(*n)++] = value;
    *items = p;
    return true;
}

/*
 * Loop frames: from each Enter node, everything its values flow into, up to
 * and including the Exit nodes. A node reached from two frames, or an Enter
 * of another frame inside one (a nested loop), is an error for now.
 */
static bool find_frames(graph_index *ix) {
    const tf_graph *g = ix->g;
    int n = g->n_nodes;
    int *n_cons = calloc((size_t)n + 1, sizeof(int)), **cons = calloc((size_t)n + 1, sizeof(int *));
    int *queue = malloc(sizeof(int) * ((size_t)n + 1));
    ix->frame_of = malloc(sizeof(int) * ((size_t)n + 1));
    bool ok = n_cons && cons && queue && ix->frame_of, nested = false;
    for (int k = 0; ok && k < n; k++) ix->frame_of[k] = -1;
    for (int k = 0; ok && k < n; k++)
        for (int i = 0; ok && i < ix->n_inputs[k]; i++) ok = append(&cons[ix->inputs[k][i].node], &n_cons[ix->inputs[k][i].node], k);
    for (int e = 0; ok && e < n; e++) {
        if (strcmp(g->nodes[e].op, "Enter") != 0 || ix->frame_of[e] >= 0) continue;
        const char *name = frame_name(&g->nodes[e]);
        int f = 0;
        while (f < ix->n_frames && strcmp(ix->frames[f].name, name) != 0) f++;
        if (f == ix->n_frames) {
            kc_frame *frames = realloc(ix->frames, sizeof *frames * (size_t)(f + 1));
            if (!frames) {
                ok = false;
                break;
            }
            ix->frames = frames;
            memset(&frames[f], 0, sizeof frames[f]);
            frames[f].name = name;
            ix->n_frames++;
        }
        int head = 0, tail = 0;
        queue[tail++] = e;
        ix->frame_of[e] = f;
        while (ok && head < tail) {
            int k = queue[head++];
            if (strcmp(g->nodes[k].op, "Exit") == 0) continue; /* the frame ends here */
            for (int c = 0; ok && c < n_cons[k]; c++) {
                int next = cons[k][c];
                const tf_node *cn = &g->nodes[next];
                if (ix->frame_of[next] == f) continue;
                if (ix->frame_of[next] >= 0 || (strcmp(cn->op, "Enter") == 0 && strcmp(frame_name(cn), name) != 0)) {
                    kc_error("node '%s' (%s) is in two loops ('%s' and another): nested loops are not supported yet",
                             cn->name, cn->op, name);
                    ok = false;
                    nested = true;
                    break;
                }
                ix->frame_of[next] = f;
                queue[tail++] = next;
            }
        }
    }
    /* Each frame's nodes in graph order, and what it reads (or has control edges) from outside. */
    for (int k = 0; ok && k < n; k++)
        if (ix->frame_of[k] >= 0) ok = append(&ix->frames[ix->frame_of[k]].nodes, &ix->frames[ix->frame_of[k]].n_nodes, k);
    for (int k = 0; ok && k < n; k++) {
        int f = ix->frame_of[k];
        for (int i = 0; ok && f >= 0 && i < ix->n_inputs[k]; i++) {
            int src = ix->inputs[k][i].node;
            if (ix->frame_of[src] == f) continue;
            bool seen = false;
            for (int j = 0; j < ix->frames[f].n_inputs && !seen; j++) seen = ix->frames[f].inputs[j] == src;
            if (!seen) ok = append(&ix->frames[f].inputs, &ix->frames[f].n_inputs, src);
        }
        for (int i = 0; ok && f >= 0 && i < ix->n_controls[k]; i++) {
            int src = ix->controls[k][i];
            if (ix->frame_of[src] == f) continue;
            bool seen = false;
            for (int j = 0; j < ix->frames[f].n_controls && !seen; j++) seen = ix->frames[f].controls[j] == src;
            if (!seen) ok = append(&ix->frames[f].controls, &ix->frames[f].n_controls, src);
        }
    }
    if (!ok && !nested) kc_error("out of memory");
    for (int k = 0; cons && k < n; k++) free(cons[k]);
    free(cons);
    free(n_cons);
    free(queue);
    return ok;
}

bool index_graph(tf_graph *g, graph_index *ix) {
    memset(ix, 0, sizeof *ix);
    ix->g = g;
    ix->hash_cap = 16;
    while (ix->hash_cap < (size_t)g->n_nodes * 2) ix->hash_cap *= 2;
    ix->hash = malloc(sizeof(int) * ix->hash_cap);
    ix->inputs = calloc((size_t)g->n_nodes + 1, sizeof *ix->inputs);
    ix->n_inputs = calloc((size_t)g->n_nodes + 1, sizeof *ix->n_inputs);
    ix->controls = calloc((size_t)g->n_nodes + 1, sizeof *ix->controls);
    ix->n_controls = calloc((size_t)g->n_nodes + 1, sizeof *ix->n_controls);
    if (!ix->hash || !ix->inputs || !ix->n_inputs || !ix->controls || !ix->n_controls) {
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
        ix->controls[k] = malloc(sizeof(int) * ((size_t)node->n_inputs + 1));
        if (!ix->inputs[k] || !ix->controls[k]) {
            kc_error("out of memory");
            return false;
        }
        for (int i = 0; i < node->n_inputs; i++) {
            if (node->inputs[i][0] == '^') {
                /* One naming no node can carry no deadness: ignored, as it always was. */
                int c = find_node(ix, node->inputs[i] + 1, strlen(node->inputs[i] + 1));
                if (c >= 0) ix->controls[k][ix->n_controls[k]++] = c;
                continue;
            }
            tensor_ref *r = &ix->inputs[k][ix->n_inputs[k]];
            if (!parse_ref(ix, node->inputs[i], r)) {
                kc_error("node '%s' (%s): input '%s' names no node in the graph", node->name, node->op, node->inputs[i]);
                return false;
            }
            ix->n_inputs[k]++;
        }
    }
    return find_frames(ix);
}

