/*
 * lower.h — turning one TF node into Kiln steps. Each TF op has a lowering
 * function in one of the files of this folder, listed in table.c. A lowering
 * function reads the node's attributes and input tensors (ids in the
 * program, shapes known, constants with data) and emits steps with kc_emit,
 * which infers shapes and folds constants.
 */
#ifndef KILN_LOWER_H
#define KILN_LOWER_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "ops/params.h"
#include "program.h"
#include "tf_graph.h"

#define KC_MAX_NODE_OUTPUTS 64

typedef struct kc_lower {
    kc_program *p;
    const tf_node *node;
    const int *in; /* program tensor ids of the node's data inputs */
    int n_in;
    int out[KC_MAX_NODE_OUTPUTS]; /* set by the lowering function */
    int n_out;
} kc_lower;

typedef bool (*kc_lower_fn)(kc_lower *L);

/* One entry of a lowering table; each file ends its table with {NULL, NULL}. */
struct kc_lowering {
    const char *op;
    kc_lower_fn fn;
};

/* The lowering of a TF op, or NULL if Kiln does not support it. */
kc_lower_fn kc_find_lowering(const char *op);

/* Before lowering: gives each TensorArrayV3 whose element shape is unknown the
 * shape its Gather declares, or else the value scattered into it as an extra
 * input, and each TensorListReserve of unknown element shape the one its Stack
 * or GetItem declares (lower/arrays.c). False only when out of memory. */
bool kc_prepare_arrays(tf_graph *g);

/* ---- Helpers for lowering functions (lower/common.c) ------------------- */

/* Sets "node 'name' (Op): <message>" and returns false. */
bool lower_fail(kc_lower *L, const char *fmt, ...) KC_PRINTF(2, 3);

/* Requires between `min` and `max` data inputs. */
bool lower_inputs(kc_lower *L, int min, int max);

/* Attributes (defaults were filled in from the OpDefs). Each fails if the
 * attribute is missing or of another kind. */
bool lower_attr_string(kc_lower *L, const char *name, const char **value);
bool lower_attr_int(kc_lower *L, const char *name, int64_t *value);
bool lower_attr_float(kc_lower *L, const char *name, float *value);
bool lower_attr_bool(kc_lower *L, const char *name, bool *value);
bool lower_attr_ints(kc_lower *L, const char *name, const int64_t **values, size_t *n);
/* True if the string attr `name` equals `want` (missing: false). */
bool lower_attr_is(kc_lower *L, const char *name, const char *want);
/* Requires data_format NHWC (or absent). */
bool lower_require_nhwc(kc_lower *L);

/* Reads a constant integer input (int32) into `values` (up to `max`);
 * fails naming the input if it is not a constant known at convert time. */
bool lower_const_ints(kc_lower *L, int input, int32_t *values, int max, int *n);

/* The tensor behind a program id. */
static inline const kn_tensor *lower_tensor(kc_lower *L, int id) { return &L->p->tensors[id].t; }

/* Emits one step for this node; the first output goes to L->out[0] unless `out` is given. */
bool lower_emit(kc_lower *L, uint16_t op, const int *in, int n_in, const void *params, size_t params_size,
                int *out);

/* Emits a binary op of kind `kind` on a and b into *out. */
bool lower_binary(kc_lower *L, int kind, int a, int b, int *out);
/* Emits a unary op into *out. */
bool lower_unary(kc_lower *L, int kind, float alpha, int x, int *out);
/* Emits a reshape of x to the given shape into *out. */
bool lower_reshape(kc_lower *L, int x, int rank, const int32_t *dims, int *out);

/* TF padding: fills pad_before/pad_after for one spatial dim with
 * TF's SAME or VALID rule, and returns false for an unknown padding. */
bool lower_padding(kc_lower *L, const char *padding, int32_t in, int32_t window, int32_t stride,
                   int32_t dilation, int32_t *before, int32_t *after);

/* An attribute [1, h, w, 1] (strides, dilations, ksize in NHWC) into *h and *w. */
bool lower_attr_hw(kc_lower *L, const char *name, int32_t *h, int32_t *w);

/* A convolution's or pooling's strides, dilations (if it has them) and padding
 * (SAME, VALID, or EXPLICIT) into c; SAME is resolved for an in_h x in_w input
 * and a kh x kw window. */
bool lower_conv_window(kc_lower *L, int32_t in_h, int32_t in_w, int32_t kh, int32_t kw, bool has_dilations,
                       kn_conv_params *c);

/* Maps a TF activation name ("Relu", "Relu6", "Elu", "Sigmoid", "Tanh",
 * "LeakyRelu", "Prelu") to enum kn_act; -1 if unknown. */
int lower_activation(const char *name);

#endif
