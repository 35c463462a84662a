/*
 * graph_index.h — a tf_graph with names resolved: node lookup by name, each
 * node's data inputs as (node, output) references and its control inputs,
 * and the graph's TF v1 while-loop frames (the nodes between each loop's
 * Enter and Exit nodes).
 */
#ifndef KILN_GRAPH_INDEX_H
#define KILN_GRAPH_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "tf_graph.h"

/* A reference to one output of one node. */
typedef struct tensor_ref {
    int node, index;
} tensor_ref;

/* A while loop: every node reachable from its Enter nodes up to its Exit nodes. */
typedef struct kc_frame {
    const char *name; /* the Enter nodes' frame_name */
    int *nodes;       /* in graph order */
    int n_nodes;
    int *inputs;      /* nodes outside the frame that frame nodes read */
    int n_inputs;
    int *controls;    /* nodes outside the frame that frame nodes have control edges from */
    int n_controls;
} kc_frame;

typedef struct graph_index {
    tf_graph *g;
    int *hash; /* open addressing over node names: node index or -1 */
    size_t hash_cap;
    tensor_ref **inputs; /* per node: its data inputs, resolved (control edges dropped) */
    int *n_inputs;
    /* per node: the nodes of its control inputs ("^name"), which only carry the deadness
     * of conditionals' untaken branches (Kiln has no side effects to order) */
    int **controls;
    int *n_controls;
    int *frame_of; /* per node: its frame, or -1 */
    kc_frame *frames;
    int n_frames;
} graph_index;

/* Resolves every name and finds the loop frames; false with kc_error set. */
bool index_graph(tf_graph *g, graph_index *ix);
void index_free(graph_index *ix);

/* Node index of the first `n` bytes of `name`, or -1. */
int find_node(const graph_index *ix, const char *name, size_t n);
/* Parses "node" or "node:3"; false if it names no node. */
bool parse_ref(const graph_index *ix, const char *s, tensor_ref *ref);

/* The frame whose first node is `node`, or NULL: the node a frame stands
 * for when the graph outside it is ordered. */
const kc_frame *frame_led_by(const graph_index *ix, int node);
/* The node that stands for `node` outside loops: itself, or its frame's first node. */
static inline int unit_of(const graph_index *ix, int node) {
    return ix->frame_of[node] < 0 ? node : ix->frames[ix->frame_of[node]].nodes[0];
}

#endif
