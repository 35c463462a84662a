/*
 * read_pb.h — reads a binary TensorFlow GraphDef (a frozen .pb) into a tf_graph.
 *
 * Every NodeDef becomes a tf_node with attrs as read_tfjs makes them
 * (placeholder attrs have kind TF_ATTR_NONE; non-empty lists of tensors or
 * funcs are refused, tf_attr has no room for them).
 * Tensors keep their dtype with host-order data, DT_HALF widened to float32;
 * strings and dtypes without an element size in tf_graph (DT_RESOURCE,
 * DT_BFLOAT16, complex...) keep dtype and shape only, data NULL.
 */
#ifndef KILN_READ_PB_H
#define KILN_READ_PB_H

#include <stddef.h>
#include <stdint.h>

#include "tf_graph.h"

/* Parses data[0, size) as a GraphDef; path only names it in messages.
 * Returns NULL after kc_error on failure. */
tf_graph *read_pb(const uint8_t *data, size_t size, const char *path);

/* Reads a GraphDef file (at most 2 GiB, protobuf's limit) with read_pb. */
tf_graph *read_pb_file(const char *path);

#endif
