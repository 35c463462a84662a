/*
 * read_keras_file.h — reads a Keras model file into TF graph nodes (through
 * keras.c):
 *
 *   .h5 / .hdf5  Keras 2 (tf.keras) or Keras 3 legacy HDF5: the root
 *                attribute model_config (the model's JSON config), keras_version
 *                (2.x or 3.x picks the flavor), and the weights under
 *                model_weights/<layer>/, listed in order by the group's
 *                weight_names attribute ("dense/kernel:0", "dense/kernel");
 *   .keras       Keras 3's zip: config.json, metadata.json (keras_version) and
 *                model.weights.h5, whose weights sit at
 *                layers/<name>/vars/<i>, <name> being the layer's class in
 *                snake case numbered per class (dense, dense_1, ...) within its
 *                model, nested models adding layers/<name>/ levels, RNN cells
 *                a cell/ level and a Bidirectional's two copies forward_layer/
 *                and backward_layer/ levels.
 *
 * Which container a file is comes from its first bytes, not its name.
 * Weights are float32 or float16 (widened) datasets of any rank.
 */
#ifndef KILN_READ_KERAS_FILE_H
#define KILN_READ_KERAS_FILE_H

#include "tf_graph.h"

#define KERAS_FILE_MAX ((uint64_t)4 << 30)      /* a .keras archive, read into memory */
#define KERAS_CONFIG_MAX ((uint64_t)256 << 20)  /* model_config or config.json */
#define KERAS_METADATA_MAX ((uint64_t)1 << 20)  /* metadata.json */
#define KERAS_WEIGHTS_MAX ((uint64_t)2 << 30)   /* model.weights.h5, and all weights together as float32 */

/* NULL after kc_error; messages start with the path and name the attribute,
 * archive entry, HDF5 object or layer at fault. HDF5's own error printing is
 * turned off for the process. */
tf_graph *read_keras_file(const char *path);

/* How long the child process that reads a file first (HDF5 crashes and loops
 * on some damaged files) may take before the file is called damaged: this
 * many milliseconds (10000 unless set) plus 1 s per 8 MiB of file. The fuzz
 * harness lowers it, so that each looping input costs less. */
extern unsigned read_keras_file_limit_ms;

#endif
