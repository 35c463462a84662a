/* Helpers for tests that build TF graphs by hand, convert them and run the
 * bundle through the public runtime API. */
#ifndef KILN_GRAPH_BUILDER_H
#define KILN_GRAPH_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "convert.h"
#include "writer.h"

/* A node with up to `n_in` inputs given as strings ("x", "x:1", "^ctrl"). */
tf_node *gb_node(tf_graph *g, const char *name, const char *op, int n_in, const char *const *inputs);
/* Shorthand for nodes with at most two inputs (NULL for none). */
tf_node *gb_node2(tf_graph *g, const char *name, const char *op, const char *in0, const char *in1);

void gb_attr_s(tf_graph *g, tf_node *n, const char *name, const char *value);
void gb_attr_i(tf_graph *g, tf_node *n, const char *name, int64_t value);
void gb_attr_f(tf_graph *g, tf_node *n, const char *name, float value);
void gb_attr_b(tf_graph *g, tf_node *n, const char *name, bool value);
void gb_attr_type(tf_graph *g, tf_node *n, const char *name, int tf_dtype);
void gb_attr_ints(tf_graph *g, tf_node *n, const char *name, int count, const int64_t *values);
void gb_attr_strings(tf_graph *g, tf_node *n, const char *name, int count, const char *const *values);

/* A Placeholder with dtype and shape attrs (-1 for unknown dims). */
void gb_placeholder(tf_graph *g, const char *name, int tf_dtype, int rank, const int64_t *dims);
/* A Const holding count(dims) elements of tf_dtype copied from data. */
void gb_const(tf_graph *g, const char *name, int tf_dtype, int rank, const int64_t *dims, const void *data);
/* The data of the Const named `name`, or NULL. */
const void *gb_const_data(const tf_graph *g, const char *name);

typedef struct gb_bundle {
    uint8_t *bytes;
    size_t size;
    kc_bundle_stats stats;
} gb_bundle;

/* Converts (opt may be NULL) and builds the bundle in memory; false with kc_last_error() set. */
bool gb_convert(tf_graph *g, const kc_options *opt, gb_bundle *b);

/* Loads a bundle, feeds inputs (one buffer per model input, in order, sized as the model
 * says), runs, and copies output `k` into outs[k] (out_sizes[k] bytes, which must match).
 * Returns the first failing status. */
kiln_status gb_run(const gb_bundle *b, const void *const *inputs, int n_inputs, void *const *outs,
                   const size_t *out_sizes, int n_outs);

/* A bundle loaded into a model with one context, for tests that run it several times. */
typedef struct gb_loaded {
    void *copy; /* the bundle's bytes, 64-byte aligned */
    kiln_model *m;
    kiln_context *c;
} gb_loaded;

/* Converts g (freed here) for the named outputs and loads it; false, with a CHECK
 * failure, if either fails. gb_unload frees what it made, also after a failure. */
bool gb_load(tf_graph *g, int n_out, const char *const *outputs, gb_loaded *l);
void gb_unload(gb_loaded *l);

/* Converts g (freed here) for the named outputs into *p (which the caller frees), builds the
 * bundle and runs it on `inputs` (one per model input), copying output k into outs[k] (each
 * `capacity` bytes at most). False, with a CHECK failure, if any of that fails. */
bool gb_convert_run(tf_graph *g, int n_out, const char *const *outputs, const void *const *inputs,
                    void *const *outs, size_t capacity, kc_program *p);

/* Steps of op `op` in a converted program. */
int gb_count_steps(const kc_program *p, int op);
/* Output k of p has this dtype and shape (dims after rank); prints what it is otherwise. */
bool gb_output_is(const kc_program *p, int k, kiln_dtype dtype, int rank, ...);
/* Converting g (freed here) for `output` must fail with a message containing `needle`. */
#define GB_EXPECT_ERROR(g, output, needle) gb_expect_error(__FILE__, __LINE__, g, output, needle)
void gb_expect_error(const char *file, int line, tf_graph *g, const char *output, const char *needle);

#endif
