/*
 * lowering.h — the state of one graph being lowered (convert.c), shared with
 * the lowering of while loops (loops.c).
 */
#ifndef KILN_LOWERING_H
#define KILN_LOWERING_H

#include <stdbool.h>

#include "graph_index.h"
#include "program.h"

typedef struct kc_graph_lowering {
    tf_graph *g;
    const graph_index *ix;
    kc_program *p;
    int **node_out;   /* per node: the program tensors of its outputs, once lowered */
    int *node_n_out;
    const char *fed;  /* per node: 1 if it is a model input (its outputs are set, it is not lowered) */
} kc_graph_lowering;

/* Lowers node k, whose inputs are all lowered, through its op's lowering. */
bool kc_lower_node(kc_graph_lowering *ls, int k);

/* Records the tensors of node k's outputs. */
bool kc_set_outputs(kc_graph_lowering *ls, int k, const int *ids, int n);

/* Lowers a whole while loop (loops.c): its condition, body, LOOP_TEST and
 * LOOP_NEXT steps, and sets the outputs of its Exit nodes. */
bool kc_lower_frame(kc_graph_lowering *ls, const kc_frame *f);

/* The TF ops of loop frames, which only kc_lower_frame lowers. */
bool kc_is_frame_op(const char *op);

#endif
