/*
 * convert.h — from a TF graph to a Kiln program: fill OpDef defaults, pick
 * inputs and outputs, prune, order, check every op is supported, lower
 * (conditionals outside loops are resolved then: their predicate must fold
 * to a constant).
 */
#ifndef KILN_CONVERT_H
#define KILN_CONVERT_H

#include <stdbool.h>

#include "program.h"
#include "tf_graph.h"

/* An input given on the command line: a tensor name and, optionally, its shape. */
typedef struct kc_input_spec {
    const char *name;
    int rank; /* -1: shape not given */
    int32_t dims[KILN_MAX_RANK];
} kc_input_spec;

/* An input whose value is fixed at convert time (--input-value NAME=V[,V...]): it
 * becomes a constant and is no longer a model input, so conditionals on it resolve. */
typedef struct kc_input_value {
    const char *name;   /* "node" or "node:1" */
    const char *values; /* comma-separated, in the input's dtype ("0.25", "1,2,3", "true") */
} kc_input_value;

typedef struct kc_options {
    const kc_input_spec *inputs; /* default: the signature's inputs, else every reachable Placeholder */
    int n_inputs;
    const char *const *outputs; /* default: the signature's outputs, else the graph's sinks */
    int n_outputs;
    const kc_input_value *values; /* inputs made constants; taken out of the inputs above */
    int n_values;
} kc_options;

/* Converts `g` into `p` (which must be zeroed). False with kc_error set. */
bool kc_convert(tf_graph *g, const kc_options *opt, kc_program *p);

/* The op types of the nodes the requested outputs depend on, each marked
 * supported or not, one per line, into a malloc'd string. */
char *kc_list_ops(tf_graph *g, const kc_options *opt);

#endif
