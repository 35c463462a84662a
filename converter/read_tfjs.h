/*
 * read_tfjs.h — reads a TensorFlow.js model: model.json (a graph model's
 * GraphDef in protobuf's JSON form, or a layers model's Keras config, plus a
 * weights manifest) and its weight shards.
 *
 * Weights are decoded as tfjs does: float16 widened to float32, uint8/uint16
 * affine-quantized weights dequantized to float32 (or int32, rounded like
 * Math.round), all in host byte order. In a graph model each becomes the
 * "value" attr (TF_ATTR_TENSOR) of the Const node with the manifest entry's
 * name; tensor attrs without content (tfjs keeps Const values in the
 * manifest) have data NULL. A layers model is built into TF nodes by
 * keras.c, which looks its weights up by name ("<layer>/<weight>").
 */
#ifndef KILN_READ_TFJS_H
#define KILN_READ_TFJS_H

#include "tf_graph.h"

/* Limits on what read_tfjs reads. */
#define TFJS_MODEL_JSON_MAX ((uint64_t)256 << 20)
#define TFJS_SHARDS_MAX ((uint64_t)2 << 30)          /* all weight shards together */
#define TFJS_INLINE_TENSOR_MAX ((uint64_t)256 << 20) /* a tensor attr's decoded bytes */

/* Reads model_json_path and the shards it names (relative to its
 * directory). Returns NULL after kc_error on failure; messages name the
 * file and the byte offset in model.json, or the node or weight. */
tf_graph *read_tfjs(const char *model_json_path);

#endif
