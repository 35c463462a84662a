/*
 * keras.h — a Keras model config (the JSON of a tfjs layers model's
 * modelTopology, of an .h5 file's model_config or of a .keras file's
 * config.json) turned into TF graph nodes that the converter lowers like any
 * other graph.
 *
 * The config is {"class_name": "Sequential" | "Model" | "Functional",
 * "config": {...}}, as Keras 2 or Keras 3 writes it (inbound nodes as
 * [[["layer", node_index, tensor_index, {}], ...]] or as {"args": [...]}
 * with keras_history); models may be nested as layers. Weights come from a
 * callback, so any container (tfjs shards, HDF5) can supply them.
 *
 * The graph gets one Placeholder per model input, named after its
 * InputLayer (a Sequential without one gets "<first layer>_input", as Keras
 * names it), and a signature whose outputs are named after the output
 * layers: "layer" for a layer's first output, "layer:i" for its i-th (a
 * nested model with several outputs). A layer called more than once (shared
 * layers) names its later calls "layer_1", ... unless those names are taken.
 * Intermediate nodes are named "layer/Op".
 *
 * Recurrent layers (LSTM, GRU, SimpleRNN, Bidirectional) become TF while
 * loops over the steps (Enter/Merge/Switch/LoopCond/NextIteration/Exit with
 * TensorLists), one frame "<call>/while" per loop, which the converter
 * lowers to Kiln loops. Their initial states are the call's inputs after
 * the sequence (Keras 2 and tfjs list them so; Keras 3's initial_state
 * keyword is read too). Keras masks (Embedding mask_zero, Masking) reaching
 * a recurrent layer are refused, as are stateful and time_major layers.
 */
#ifndef KILN_KERAS_H
#define KILN_KERAS_H

#include <stdbool.h>

#include "json.h"
#include "tf_graph.h"

/* Whose semantics to follow where Keras versions and tfjs differ (KERAS_2
 * is tf.keras in TensorFlow 2): hard_sigmoid is clip(0.2x + 0.5, 0, 1) in
 * tfjs and Keras 2 but relu6(x + 3) / 6 in Keras 3; bilinear UpSampling2D
 * uses half-pixel centers in Keras (tf.image.resize) but not in tfjs;
 * Keras 3 names DepthwiseConv2D's weight "kernel", not "depthwise_kernel",
 * and gives Sequential models no node of their own (see node indices in
 * keras.c). */
typedef enum keras_flavor { KERAS_TFJS, KERAS_2, KERAS_3 } keras_flavor;

/* One weight the builder needs.
 *
 * LSTM, GRU and SimpleRNN weights are "kernel", "recurrent_kernel" and
 * "bias" (indices 0-2), which Keras 2 stores under the cell's scope
 * ("lstm/lstm_cell/kernel:0") and Keras 3 as the cell's variables
 * ("layers/lstm/cell/vars/0"). A Bidirectional layer's weights belong to its
 * two copies of the wrapped layer: `layer` is the Bidirectional, `name` is
 * "forward_<wrapped>/kernel", ..., "backward_<wrapped>/kernel", ... (as tfjs
 * and Keras 2 name them: "bidirectional/forward_lstm/lstm_cell/kernel:0"),
 * and `index` counts the forward copy's weights, then the backward copy's
 * (Keras 3 keeps them as forward_layer/cell/vars/i and backward_layer/...). */
typedef struct keras_weight_ref {
    const char *scope; /* the enclosing nested models' layer names, each followed by '/'; "" at the top */
    const char *layer; /* the layer's own name */
    const char *name;  /* "kernel", "bias", "gamma", "beta", "moving_mean", ..., "forward_lstm/kernel" */
    int index;         /* its position among the layer's weights, in Keras order (as .keras files number them) */
} keras_weight_ref;

/* Looks a weight up: sets *out to it, or to NULL if the container has no
 * such weight, and returns true; returns false after kc_error if the lookup
 * itself failed. The tensor must live as long as the graph (put it in the
 * graph's pool). */
typedef bool (*keras_weight_fn)(void *ctx, const keras_weight_ref *ref, tf_tensor **out);

typedef struct keras_source {
    keras_flavor flavor;
    keras_weight_fn weight;
    void *ctx;
} keras_source;

/* Adds the model's nodes and signature to `g` (normally empty). Every layer
 * class the builder does not know is reported at once, with the layers that
 * use it. False after kc_error; messages name the layer and its class. */
bool keras_build(tf_graph *g, const json_value *model, const keras_source *src);

#endif
