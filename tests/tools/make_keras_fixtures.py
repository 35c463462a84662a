#!/usr/bin/python3
"""Writes Keras model files for kiln-convert's tests, laid out as Keras writes them, without
TensorFlow or Keras (python3-h5py and numpy only).

    make_keras_fixtures.py OUT_DIR

For each model (mlp: a Sequential Dense/BatchNormalization/Dropout MLP; cnn: a functional CNN
with Conv2D, DepthwiseConv2D, SeparableConv2D, MaxPooling2D, Add, Concatenate,
GlobalAveragePooling2D and a softmax Dense; nested: a functional model calling a nested
Sequential and a nested functional model; text_rnn: a Sequential of int ids -> Embedding ->
LSTM (all steps) -> GRU (reset_after, Keras' default) -> Dense; bi_rnn: a functional
Bidirectional(LSTM) -> SimpleRNN -> Dense), OUT_DIR/<model>/ gets, with the same seeded weights:

  keras2.h5     tf.keras 2 (legacy HDF5): root attrs model_config / keras_version / backend,
                weights in model_weights/<layer>/ named by the weight_names attr ("dense/kernel:0";
                a recurrent layer's are its cell's, "lstm/lstm_cell/kernel:0", a Bidirectional's
                its two copies', "bidirectional/forward_lstm/lstm_cell/kernel:0");
  keras3.h5     Keras 3's legacy HDF5: the same container, weight names are variable paths
                ("dense/kernel", "block/b_dense/kernel" inside nested models,
                "lstm/lstm_cell/kernel"), Keras 3 config;
  keras3.keras  Keras 3's zip: metadata.json, config.json and model.weights.h5 with the weights at
                layers/<snake_case class name>[_k]/vars/<i> (saving_lib's naming; a recurrent
                layer's at .../cell/vars/<i>, a Bidirectional's at .../forward_layer/cell/vars/<i>
                and .../backward_layer/cell/vars/<i>), stored entries;
  tfjs/         the same model as a tfjs layers model (the Keras 2 config plus a weights
                manifest and weights.bin), which the tests run with @tensorflow/tfjs as the
                reference (tfjs has no GRU with reset_after: the tests compute those layers from
                the Keras equations).

cnn/keras3_deflate.keras is keras3.keras re-packed with deflate (as zip tools write it), and
bad/bomb.keras a zip whose model.weights.h5 inflates 64 MiB of zeros from ~64 KiB.
OUT_DIR/MANIFEST.json is written last and marks a complete set.
"""
import io
import json
import os
import re
import sys
import zipfile

import h5py
import numpy as np

KERAS2_VERSION = "2.15.0"
KERAS3_VERSION = "3.3.3"


# ---- layers: one description per layer, rendered per Keras version ------------------------------

def initializer(cls, k3, **config):
    d = {"class_name": cls, "config": {"seed": None, **config} if cls.startswith("Glorot") else config}
    if k3:
        return {"module": "keras.initializers", **d, "registered_name": None}
    return d


def dtype_of(k3):
    if k3:
        return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                "registered_name": None}
    return "float32"


def dense_config(units, activation, k3):
    return {"units": units, "activation": activation, "use_bias": True,
            "kernel_initializer": initializer("GlorotUniform", k3),
            "bias_initializer": initializer("Zeros", k3),
            "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None}


def conv_common(kernel, padding, activation, k3):
    return {"kernel_size": [kernel, kernel], "strides": [1, 1], "padding": padding,
            "data_format": "channels_last", "dilation_rate": [1, 1], "activation": activation,
            "use_bias": True, "bias_initializer": initializer("Zeros", k3), "bias_regularizer": None,
            "activity_regularizer": None, "bias_constraint": None}


def layer_config(cls, name, spec, k3, full=False):
    """The layer's "config" dict as Keras 2 (k3=False) or Keras 3 writes it (full: as in .keras
    configs, nested objects with their module)."""
    c = {"name": name, "trainable": True, "dtype": dtype_of(k3)}
    if cls == "Dense":
        c.update(dense_config(spec["units"], spec["activation"], k3))
    elif cls == "BatchNormalization":
        c.update({"axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
                  "beta_initializer": initializer("Zeros", k3), "gamma_initializer": initializer("Ones", k3),
                  "moving_mean_initializer": initializer("Zeros", k3),
                  "moving_variance_initializer": initializer("Ones", k3),
                  "beta_regularizer": None, "gamma_regularizer": None,
                  "beta_constraint": None, "gamma_constraint": None})
        if k3:
            c["synchronized"] = False
    elif cls == "Dropout":
        c.update({"rate": spec["rate"], "noise_shape": None, "seed": None})
    elif cls == "Conv2D":
        c.update({"filters": spec["filters"], **conv_common(spec["kernel"], "same", spec["activation"], k3),
                  "groups": 1, "kernel_initializer": initializer("GlorotUniform", k3),
                  "kernel_regularizer": None, "kernel_constraint": None})
    elif cls == "DepthwiseConv2D":
        c.update({**conv_common(spec["kernel"], "same", spec["activation"], k3), "depth_multiplier": 1,
                  "depthwise_initializer": initializer("GlorotUniform", k3),
                  "depthwise_regularizer": None, "depthwise_constraint": None})
    elif cls == "SeparableConv2D":
        c.update({"filters": spec["filters"], **conv_common(spec["kernel"], "same", spec["activation"], k3),
                  "depth_multiplier": 1, "depthwise_initializer": initializer("GlorotUniform", k3),
                  "pointwise_initializer": initializer("GlorotUniform", k3),
                  "depthwise_regularizer": None, "pointwise_regularizer": None,
                  "depthwise_constraint": None, "pointwise_constraint": None})
    elif cls == "MaxPooling2D":
        c.update({"pool_size": [2, 2], "padding": "valid", "strides": [2, 2], "data_format": "channels_last"})
    elif cls == "GlobalAveragePooling2D":
        c.update({"data_format": "channels_last", "keepdims": False})
    elif cls == "Concatenate":
        c.update({"axis": -1})
    elif cls == "Add":
        pass
    elif cls == "Embedding":
        c.update({"input_dim": spec["input_dim"], "output_dim": spec["output_dim"],
                  "embeddings_initializer": initializer("RandomUniform", k3, minval=-0.05, maxval=0.05, seed=None),
                  "embeddings_regularizer": None, "activity_regularizer": None, "embeddings_constraint": None,
                  "mask_zero": False})
        if not k3:
            c["input_length"] = None
    elif cls in RNN_GATES:
        c.update(rnn_config(cls, spec, k3))
    elif cls == "Bidirectional":
        # Keras 2 keeps the wrapped layer's own config (the copies are named forward_<name> and
        # backward_<name> when built); Keras 3 writes both copies, already named so.
        wcls, wname, wspec = spec["layer"]
        c["merge_mode"] = spec.get("merge_mode", "concat")
        if k3:
            c["layer"] = nested_layer(wcls, layer_config(wcls, "forward_" + wname, wspec, k3, full), full)
            c["backward_layer"] = nested_layer(
                wcls, layer_config(wcls, "backward_" + wname, {**wspec, "go_backwards": True}, k3, full), full)
        else:
            c["layer"] = nested_layer(wcls, layer_config(wcls, wname, wspec, k3), False)
    else:
        raise ValueError(cls)
    return c


# Gates per recurrent class (the kernel has units * gates columns), and Keras' names of its cell.
RNN_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}
RNN_CELL = {"LSTM": "lstm_cell", "GRU": "gru_cell", "SimpleRNN": "simple_rnn_cell"}


def rnn_config(cls, spec, k3):
    c = {"return_sequences": spec.get("return_sequences", False), "return_state": False,
         "go_backwards": spec.get("go_backwards", False), "stateful": False, "unroll": False,
         "units": spec["units"], "activation": spec.get("activation", "tanh"), "use_bias": True,
         "kernel_initializer": initializer("GlorotUniform", k3),
         "recurrent_initializer": initializer("Orthogonal", k3, gain=1.0, seed=None),
         "bias_initializer": initializer("Zeros", k3),
         "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
         "activity_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
         "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0}
    if cls != "SimpleRNN":
        c["recurrent_activation"] = "sigmoid"
    if cls == "LSTM":
        c["unit_forget_bias"] = True
    if cls == "GRU":
        c["reset_after"] = spec.get("reset_after", True)
    if k3:
        c.update({"zero_output_for_mask": False, "seed": None})
    else:
        c["time_major"] = False
        if cls != "SimpleRNN":
            c["implementation"] = 2
    return c


def nested_layer(cls, config, full):
    """A layer inside another layer's config (a Bidirectional's): {"class_name", "config"}, in
    .keras configs with the module and registered name too."""
    entry = {"class_name": cls, "config": config}
    return {"module": "keras.layers", **entry, "registered_name": None} if full else entry


def input_config(name, shape, k3, dtype="float32"):
    if k3:
        return {"batch_shape": [None, *shape], "dtype": dtype, "sparse": False, "name": name}
    return {"batch_input_shape": [None, *shape], "dtype": dtype, "sparse": False, "ragged": False, "name": name}


def input_dtype(model, name):
    return model.get("dtypes", {}).get(name, "float32")


# Weights of each class in Keras order (trainable, then non-trainable), each a dict: "k2" and
# "k3" its name below the layer in Keras 2 and Keras 3 (Keras 3 calls DepthwiseConv2D's kernel
# "kernel"), "tfjs" tfjs' name, "store" the .keras group below the layer that holds it as
# vars/<i>, "shape", "trainable".
def weight(k2, shape, k3=None, tfjs=None, store="vars", trainable=True):
    return {"k2": k2, "k3": k3 or k2, "tfjs": tfjs or k2, "store": store, "shape": shape, "trainable": trainable}


def rnn_weights(cls, spec, in_ch, copy=None):
    """A recurrent layer's kernel, recurrent_kernel and bias, which are its cell's: named
    "<cell>/kernel" in Keras, "kernel" in tfjs, at cell/vars in .keras; in a Bidirectional,
    copy is (the copy's name, its attribute): "forward_lstm/lstm_cell/kernel" in Keras,
    "forward_lstm/kernel" in tfjs, at forward_layer/cell/vars in .keras."""
    u, g = spec["units"], spec["units"] * RNN_GATES[cls]
    bias = [2, g] if cls == "GRU" and spec.get("reset_after", True) else [g]
    keras, store = RNN_CELL[cls] + "/", "cell/vars"
    if copy:
        keras, store = f"{copy[0]}/{keras}", f"{copy[1]}/{store}"
    tfjs = f"{copy[0]}/" if copy else ""
    return [weight(keras + n, shape, tfjs=tfjs + n, store=store)
            for n, shape in (("kernel", [in_ch, g]), ("recurrent_kernel", [u, g]), ("bias", bias))]


def weight_specs(cls, spec, in_ch):
    if cls == "Dense":
        return [weight("kernel", [in_ch, spec["units"]]), weight("bias", [spec["units"]])]
    if cls == "BatchNormalization":
        return [weight("gamma", [in_ch]), weight("beta", [in_ch]),
                weight("moving_mean", [in_ch], trainable=False), weight("moving_variance", [in_ch], trainable=False)]
    if cls == "Conv2D":
        k = spec["kernel"]
        return [weight("kernel", [k, k, in_ch, spec["filters"]]), weight("bias", [spec["filters"]])]
    if cls == "DepthwiseConv2D":
        k = spec["kernel"]
        return [weight("depthwise_kernel", [k, k, in_ch, 1], k3="kernel"), weight("bias", [in_ch])]
    if cls == "SeparableConv2D":
        k = spec["kernel"]
        return [weight("depthwise_kernel", [k, k, in_ch, 1]),
                weight("pointwise_kernel", [1, 1, in_ch, spec["filters"]]), weight("bias", [spec["filters"]])]
    if cls == "Embedding":
        return [weight("embeddings", [spec["input_dim"], spec["output_dim"]])]
    if cls in RNN_GATES:
        return rnn_weights(cls, spec, in_ch)
    if cls == "Bidirectional":
        wcls, wname, wspec = spec["layer"]
        return (rnn_weights(wcls, wspec, in_ch, ("forward_" + wname, "forward_layer")) +
                rnn_weights(wcls, wspec, in_ch, ("backward_" + wname, "backward_layer")))
    return []


def out_channels(cls, spec, in_ch):
    if cls == "Dense" or cls in RNN_GATES:
        return spec["units"]
    if cls == "Bidirectional":
        return 2 * spec["layer"][2]["units"]
    if cls == "Embedding":
        return spec["output_dim"]
    if cls in ("Conv2D", "SeparableConv2D"):
        return spec["filters"]
    return in_ch


# ---- models -----------------------------------------------------------------------------------
# A model: {"kind": "Sequential" | "Functional", "name", "inputs": [(name, shape)],
# "layers": [(cls, name, spec, [inbound layer names])], "outputs": [layer names]}; a layer whose
# cls is "Model" holds a nested model in spec. Layers are listed in Keras' (topological) order.

MLP = {"kind": "Sequential", "name": "mlp", "inputs": [("features", [8])], "layers": [
    ("Dense", "hidden", {"units": 16, "activation": "relu"}, []),
    ("BatchNormalization", "bn", {}, []),
    ("Dropout", "drop", {"rate": 0.25}, []),
    ("Dense", "out", {"units": 5, "activation": "tanh"}, []),
], "outputs": ["out"]}

CNN = {"kind": "Functional", "name": "cnn", "inputs": [("image", [10, 10, 3])], "layers": [
    ("Conv2D", "conv", {"filters": 6, "kernel": 3, "activation": "relu"}, ["image"]),
    ("DepthwiseConv2D", "dw", {"kernel": 3, "activation": "relu"}, ["conv"]),
    ("SeparableConv2D", "sep", {"filters": 6, "kernel": 3, "activation": "linear"}, ["conv"]),
    ("Add", "add", {}, ["dw", "sep"]),
    ("MaxPooling2D", "pool", {}, ["add"]),
    ("Conv2D", "conv_b", {"filters": 4, "kernel": 1, "activation": "sigmoid"}, ["pool"]),
    ("Concatenate", "cat", {}, ["pool", "conv_b"]),
    ("GlobalAveragePooling2D", "gap", {}, ["cat"]),
    ("Dense", "probs", {"units": 3, "activation": "softmax"}, ["gap"]),
], "outputs": ["probs"]}

BLOCK = {"kind": "Sequential", "name": "block", "inputs": [("block_in", [6])], "layers": [
    ("Dense", "b_dense", {"units": 8, "activation": "relu"}, []),
    ("BatchNormalization", "b_bn", {}, []),
    ("Dense", "b_out", {"units": 4, "activation": "tanh"}, []),
], "outputs": ["b_out"]}

HEAD = {"kind": "Functional", "name": "head", "inputs": [("h_in", [4])], "layers": [
    ("Dense", "h1", {"units": 5, "activation": "relu"}, ["h_in"]),
    ("Dense", "h2", {"units": 3, "activation": "linear"}, ["h1"]),
], "outputs": ["h2"]}

NESTED = {"kind": "Functional", "name": "nested", "inputs": [("x", [6])], "layers": [
    ("Model", "block", BLOCK, ["x"]),
    ("Model", "head", HEAD, ["block"]),
    ("Concatenate", "cat", {}, ["block", "head"]),
    ("Dense", "final", {"units": 2, "activation": "linear"}, ["cat"]),
], "outputs": ["final", "head"]}


# Recurrent models. text_rnn's GRU has reset_after=True (Keras 2 and 3's default), which tfjs
# lacks. Keras names layers after their class: lstm, gru, bidirectional, ...
TEXT_RNN = {"kind": "Sequential", "name": "text_rnn", "inputs": [("ids", [9])], "dtypes": {"ids": "int32"},
            "vocab": 20, "layers": [
    ("Embedding", "embedding", {"input_dim": 20, "output_dim": 6}, []),
    ("LSTM", "lstm", {"units": 8, "return_sequences": True}, []),
    ("GRU", "gru", {"units": 5, "reset_after": True}, []),
    ("Dense", "dense", {"units": 3, "activation": "softmax"}, []),
], "outputs": ["dense"]}

BI_RNN = {"kind": "Functional", "name": "bi_rnn", "inputs": [("x", [7, 4])], "layers": [
    ("Bidirectional", "bidirectional", {"layer": ("LSTM", "lstm", {"units": 5, "return_sequences": True})}, ["x"]),
    ("SimpleRNN", "simple_rnn", {"units": 4}, ["bidirectional"]),
    ("Dense", "dense", {"units": 2, "activation": "linear"}, ["simple_rnn"]),
], "outputs": ["dense", "bidirectional"]}


def layer_list(model):
    """The layers as Keras lists them: for a Sequential its layers, for a functional model its
    InputLayers first, then the layers."""
    if model["kind"] == "Sequential":
        return model["layers"]
    return [("InputLayer", n, {"shape": s}, []) for n, s in model["inputs"]] + model["layers"]


def shapes(model):
    """{layer or input name: its output shape without the batch dimension}."""
    sh = {n: list(s) for n, s in model["inputs"]}
    prev = model["inputs"][0][0]
    for cls, name, spec, inbound in model["layers"]:
        srcs = inbound or [prev]
        x = sh[srcs[0]]
        if cls == "Model":
            sh[name] = shapes(spec)[spec["outputs"][0]]
        elif cls == "Concatenate":
            sh[name] = [*x[:-1], sum(sh[s][-1] for s in srcs)]
        elif cls == "MaxPooling2D":
            sh[name] = [x[0] // 2, x[1] // 2, x[2]]
        elif cls == "GlobalAveragePooling2D":
            sh[name] = [x[-1]]
        elif cls == "Embedding":
            sh[name] = [*x, spec["output_dim"]]
        elif cls in RNN_GATES or cls == "Bidirectional":
            rs = (spec["layer"][2] if cls == "Bidirectional" else spec).get("return_sequences", False)
            sh[name] = [*x[:-1], out_channels(cls, spec, x[-1])] if rs else [out_channels(cls, spec, x[-1])]
        else:
            sh[name] = [*x[:-1], out_channels(cls, spec, x[-1])]
        prev = name
    return sh


# ---- weights ------------------------------------------------------------------------------------

def make_weights(model, rng, table=None):
    """{(model path, layer name): [(k2 name, k3 name, array, trainable)]} for every layer with
    weights, nested models included (their layers under the nested model's name)."""
    table = {} if table is None else table
    sh = shapes(model)
    prev = model["inputs"][0][0]
    for cls, name, spec, inbound in model["layers"]:
        src = (inbound or [prev])[0]
        if cls == "Model":
            make_weights(spec, rng, table)
        else:
            ws = []
            for w in weight_specs(cls, spec, sh[src][-1]):
                lo, hi = (0.5, 1.5) if w["k2"] == "moving_variance" else (-1.0, 1.0)
                ws.append({**w, "arr": rng.uniform(lo, hi, size=w["shape"]).astype(np.float32)})
            if ws:
                table[(model["name"], name)] = ws
        prev = name
    return table


def model_weights_in_order(model, weights, path_prefix, k3):
    """A nested model's weights as Keras' legacy h5 lists them for it as one layer: all
    trainable weights of its layers (nested ones included), then the non-trainable ones.
    Each (name, array); Keras 2 names are "<layer>/<weight>:0", Keras 3's the variable path."""
    train, frozen = [], []
    for cls, name, spec, _ in model["layers"]:
        if cls == "Model":
            inner = model_weights_in_order(spec, weights, path_prefix + spec["name"] + "/", k3)
            train += [w for w in inner if w[2]]
            frozen += [w for w in inner if not w[2]]
            continue
        for w in weights.get((model["name"], name), []):
            full = f"{path_prefix}{name}/{w['k3']}" if k3 else f"{name}/{w['k2']}:0"
            (train if w["trainable"] else frozen).append((full, w["arr"], w["trainable"]))
    return train + frozen


# ---- configs ------------------------------------------------------------------------------------

def keras3_tensor(layer, node, shape):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": [None, *shape], "dtype": "float32", "keras_history": [layer, node, 0]}}


def model_config(model, flavor):
    """The model's config: flavor "k2" (tf.keras 2, h5), "k3h5" (Keras 3 legacy h5) or "k3"
    (Keras 3 .keras)."""
    k3 = flavor != "k2"
    full = flavor == "k3"  # .keras configs name each object's module and registered name
    shape_of = shapes(model).__getitem__

    def node_index(src_name):
        # A nested model's first call is node 1 when the nested model has a node of its own:
        # functional models always, Sequential ones with an input shape in Keras 2 only.
        for cls, name, spec, _ in model["layers"]:
            if name == src_name and cls == "Model":
                return 1 if spec["kind"] == "Functional" or not k3 else 0
        return 0

    def wrap(cls, name, config, inbound, module="keras.layers"):
        entry = {"class_name": cls, "config": config}
        if full:
            entry = {"module": module, **entry, "registered_name": None}
        if model["kind"] == "Functional":
            entry["name"] = name
            if not inbound:
                entry["inbound_nodes"] = []
            elif k3:
                args = [keras3_tensor(s, node_index(s), shape_of(s)) for s in inbound]
                entry["inbound_nodes"] = [{"args": args if len(args) == 1 else [args], "kwargs": {}}]
            else:
                entry["inbound_nodes"] = [[[s, node_index(s), 0, {}] for s in inbound]]
        return entry

    layers = []
    for cls, name, spec, inbound in layer_list(model):
        if cls == "InputLayer":
            layers.append(wrap(cls, name, input_config(name, spec["shape"], k3, input_dtype(model, name)), []))
        elif cls == "Model":
            inner = model_config(spec, flavor)
            entry = wrap(spec["kind"], name, inner["config"], inbound, module="keras")
            if full and spec["kind"] == "Functional":
                entry["registered_name"] = "Functional"
            layers.append(entry)
        else:
            layers.append(wrap(cls, name, layer_config(cls, name, spec, k3, full), inbound))
    if model["kind"] == "Sequential":
        # Keras 2 and 3 both list the InputLayer first in a Sequential config.
        (iname, ishape), = model["inputs"]
        first = {"class_name": "InputLayer", "config": input_config(iname, ishape, k3, input_dtype(model, iname))}
        if full:
            first = {"module": "keras.layers", **first, "registered_name": None}
        config = {"name": model["name"], "layers": [first, *layers]}
        if k3:
            config.update({"trainable": True, "dtype": dtype_of(True)})
    else:
        ins = [[n, 0, 0] for n, _ in model["inputs"]]
        outs = [[n, node_index(n), 0] for n in model["outputs"]]
        config = {"name": model["name"], "trainable": True, "layers": layers,
                  # Keras 3 writes a single input unwrapped when the model was given one tensor.
                  "input_layers": ins[0] if k3 and len(ins) == 1 else ins, "output_layers": outs}
    result = {"class_name": model["kind"], "config": config}
    if full:
        result = {"module": "keras", **result, "registered_name": None if model["kind"] == "Sequential" else "Functional"}
    return result


# ---- files --------------------------------------------------------------------------------------

def save_names(group, key, names):
    # As Keras' save_attributes_to_hdf5_group: an array of bytes (an empty list becomes an
    # empty float64 array, as np.asarray([]) is).
    group.attrs[key] = np.asarray([n.encode("utf8") for n in names]) if names else np.asarray([])


def write_h5(path, model, weights, k3):
    with h5py.File(path, "w") as f:
        # model_metadata: strings as str (variable-length), the config as encoded JSON bytes.
        f.attrs["keras_version"] = KERAS3_VERSION if k3 else KERAS2_VERSION
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config(model, "k3h5" if k3 else "k2")).encode("utf8")
        mw = f.create_group("model_weights")
        keras_layers = [l for l in layer_list(model)]
        save_names(mw, "layer_names", [name for _, name, _, _ in keras_layers])
        mw.attrs["backend"] = b"tensorflow"
        mw.attrs["keras_version"] = (KERAS3_VERSION if k3 else KERAS2_VERSION).encode("utf8")
        for cls, name, spec, _ in sorted(keras_layers, key=lambda l: l[1]):
            g = mw.create_group(name)
            if cls == "Model":
                # Keras 3 paths of a nested Sequential's variables start with its name (its
                # build runs in its name scope); a nested functional model's layers are built
                # when called outside it.
                prefix = spec["name"] + "/" if k3 and spec["kind"] == "Sequential" else ""
                ws = model_weights_in_order(spec, weights, prefix, k3)
            else:
                ws = [((f"{name}/{w['k3']}" if k3 else f"{name}/{w['k2']}:0"), w["arr"])
                      for w in weights.get((model["name"], name), [])]
            save_names(g, "weight_names", [w[0] for w in ws])
            for n, arr, *_ in ws:
                g.create_dataset(n, data=arr)
        if k3:
            save_names(mw.create_group("top_level_model_weights"), "weight_names", [])


def snake_case(name):
    # keras.src.utils.naming.to_snake_case
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def write_state(f, path, model, weights):
    """saving_lib._save_state: the model's own vars, then its layers as a container, each
    named after its class in snake case, numbered from the second of a class on."""
    f.create_group(path + "vars" if path else "vars")
    used = {}
    layers = model["layers"] if model["kind"] == "Sequential" else layer_list(model)
    for cls, name, spec, _ in layers:
        auto = snake_case(spec["kind"] if cls == "Model" else cls)
        if auto in used:
            used[auto] += 1
            auto = f"{auto}_{used[auto]}"
        else:
            used[auto] = 0
        lp = f"{path}layers/{auto}/"
        if cls == "Model":
            write_state(f, lp, spec, weights)
            continue
        # Every saveable gets its vars group, empty or not: the layer, a recurrent layer's cell,
        # a Bidirectional's two copies (forward_layer, backward_layer) and their cells.
        stores = {"vars": []}
        if cls in RNN_GATES:
            stores["cell/vars"] = []
        if cls == "Bidirectional":
            for copy in ("forward_layer", "backward_layer"):
                stores[copy + "/vars"], stores[copy + "/cell/vars"] = [], []
        for w in weights.get((model["name"], name), []):
            stores[w["store"]].append(w["arr"])
        for store, arrs in stores.items():
            g = f.create_group(lp + store)
            for i, arr in enumerate(arrs):
                g[str(i)] = arr
            # Keras 3's Dropout and recurrent cells draw from a SeedGenerator, which saves its state too.
            if (store == "vars" and cls == "Dropout") or store.endswith("cell/vars"):
                f.create_group(lp + store[:-4] + "seed_generator/vars")["0"] = np.array([1337, 0], dtype=np.uint32)


def write_keras(path, model, weights, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        write_state(f, "", model, weights)
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": KERAS3_VERSION, "date_saved": "2024-05-01@12:00:00"}))
        zf.writestr("config.json", json.dumps(model_config(model, "k3")))
        zf.writestr("model.weights.h5", buf.getvalue())


def write_tfjs(dir_path, model, weights):
    """A tfjs layers model: tfjs names a weight "<layer>/<weight>" after its own layer, in
    nested models too, with Keras 2's weight names."""
    os.makedirs(dir_path, exist_ok=True)
    specs, data = [], []
    for (_, layer), ws in weights.items():
        for w in ws:
            specs.append({"name": f"{layer}/{w['tfjs']}", "shape": list(w["arr"].shape), "dtype": "float32"})
            data.append(w["arr"].astype("<f4").tobytes())
    with open(os.path.join(dir_path, "weights.bin"), "wb") as f:
        f.write(b"".join(data))
    doc = {"format": "layers-model", "generatedBy": "make_keras_fixtures.py", "convertedBy": None,
           "modelTopology": model_config(model, "k2"),
           "weightsManifest": [{"paths": ["weights.bin"], "weights": specs}]}
    with open(os.path.join(dir_path, "model.json"), "w") as f:
        json.dump(doc, f)


def endpoints(model):
    """Kiln's names for the model's inputs (after its InputLayers) and outputs (after the
    output layers), with the input shapes at batch 2 and dtypes; int inputs (token ids) with
    the range of the Embedding they feed."""
    inputs = []
    for n, s in model["inputs"]:
        inp = {"name": n, "shape": [2, *s], "dtype": input_dtype(model, n)}
        if inp["dtype"] == "int32":
            inp["range"] = [0, model["vocab"] - 1]
        inputs.append(inp)
    return {"inputs": inputs, "outputs": model["outputs"]}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    manifest = {}
    for seed, model in enumerate([MLP, CNN, NESTED, TEXT_RNN, BI_RNN]):
        d = os.path.join(out, model["name"])
        os.makedirs(d, exist_ok=True)
        weights = make_weights(model, np.random.RandomState(100 + seed))
        write_h5(os.path.join(d, "keras2.h5"), model, weights, k3=False)
        write_h5(os.path.join(d, "keras3.h5"), model, weights, k3=True)
        write_keras(os.path.join(d, "keras3.keras"), model, weights)
        write_tfjs(os.path.join(d, "tfjs"), model, weights)
        files = ["keras2.h5", "keras3.h5", "keras3.keras"]
        if model is CNN:
            write_keras(os.path.join(d, "keras3_deflate.keras"), model, weights, zipfile.ZIP_DEFLATED)
            files.append("keras3_deflate.keras")
        manifest[model["name"]] = {"files": files, **endpoints(model)}
    bad = os.path.join(out, "bad")
    os.makedirs(bad, exist_ok=True)
    with zipfile.ZipFile(os.path.join(bad, "bomb.keras"), "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": KERAS3_VERSION}))
        zf.writestr("config.json", json.dumps(model_config(MLP, "k3")))
        zf.writestr("model.weights.h5", bytes(64 << 20))
    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
