/*
 * tensor_bundle.h — TensorFlow's checkpoint format (a SavedModel's variables/):
 * `<prefix>.index` is a LevelDB-format table (blocks possibly Snappy-compressed)
 * whose key "" holds a BundleHeaderProto and every other key a BundleEntryProto
 * (dtype, shape, shard id, offset, size, masked CRC-32C); the bytes live in
 * `<prefix>.data-<shard>-of-<count>`. Every read checks its checksum.
 */
#ifndef KILN_TENSOR_BUNDLE_H
#define KILN_TENSOR_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>

#include "tf_graph.h"

typedef struct tb_reader tb_reader;

/* Opens `<prefix>.index` (e.g. "dir/variables/variables") and validates the
 * table; NULL with kc_error set (naming the file and byte offset) on failure. */
tb_reader *tb_open(const char *prefix);
void tb_close(tb_reader *r);

/* The number of tensors and the i-th key, for listings and messages. */
size_t tb_count(const tb_reader *r);
const char *tb_key(const tb_reader *r, size_t i);

/* Reads the tensor stored under `key` into a tf_tensor allocated in g's pool
 * (host order; DT_HALF widened to float). False with kc_error set if the key
 * is missing, its shard is missing or short, or its checksum does not match. */
bool tb_read(tb_reader *r, const char *key, tf_graph *g, tf_tensor **out);

#endif
