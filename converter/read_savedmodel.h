/*
 * read_savedmodel.h — reads a TensorFlow SavedModel directory
 * (saved_model.pb and the checkpoint in variables/) into a plain frozen
 * tf_graph for one signature of its MetaGraph tagged "serve".
 *
 * The graph holds what the signature's outputs need, and nothing else:
 * - Function calls (StatefulPartitionedCall, PartitionedCall, or a node whose
 *   op is a library function) are inlined, recursively; an inlined node is
 *   named "<call node>/<body node>". Functional control flow (While,
 *   StatelessWhile, If, ...) is kept as it is: the converter reports it as
 *   unsupported.
 * - Variables (VariableV2, VarHandleOp) become Const nodes holding their
 *   checkpoint values, each found under the key the saver's restore op reads
 *   it from (saver_def.restore_op_name -> RestoreV2 -> Assign or
 *   AssignVariableOp, through function calls in TF2); without a restore op
 *   the key is the variable's name. ReadVariableOp becomes Identity,
 *   ResourceGather Gather, an unfed PlaceholderWithDefault Identity.
 * - Control edges and internal attrs ("_output_shapes", ...) are dropped; the
 *   OpDef defaults the file carries (stripped_op_list) are added.
 * - Each signature input becomes a Placeholder named by its key, with the
 *   signature's dtype and shape; it stands for the tensor the signature
 *   names, which may be any tensor: feeding it cuts the graph there. Each
 *   output becomes an Identity named by its key. g->sig_inputs and
 *   g->sig_outputs list them (key and tensor are both the key), sorted by
 *   key, so a converted bundle's inputs and outputs are named by the keys.
 */
#ifndef KILN_READ_SAVEDMODEL_H
#define KILN_READ_SAVEDMODEL_H

#include "tf_graph.h"

/* Reads the SavedModel in dir for signature `signature` (NULL:
 * "serving_default"). Returns NULL after kc_error on failure; messages
 * start with dir and name the node, function or variable. */
tf_graph *read_savedmodel(const char *dir, const char *signature);

/* The signatures of the "serve" MetaGraph, with their inputs and outputs
 * (key, dtype, shape and tensor), as text in a malloc'd string; NULL after
 * kc_error on failure. */
char *read_savedmodel_signatures(const char *dir);

#endif
