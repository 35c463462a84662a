/* Helpers shared by the lowering functions. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"

bool lower_fail(kc_lower *L, const char *fmt, ...) {
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kc_error("node '%s' (%s): %s", L->node->name, L->node->op, msg);
    return false;
}

bool lower_inputs(kc_lower *L, int min, int max) {
    if (L->n_in < min || L->n_in > max) {
        if (min == max) return lower_fail(L, "expected %d inputs, got %d", min, L->n_in);
        return lower_fail(L, "expected %d to %d inputs, got %d", min, max, L->n_in);
    }
    return true;
}

static const tf_attr *attr_of(kc_lower *L, const char *name, tf_attr_kind kind, const char *what) {
    const tf_attr *a = tf_node_attr(L->node, name);
    if (!a) {
        lower_fail(L, "missing attribute '%s'", name);
        return NULL;
    }
    /* An empty list is stored as a list with no members, whatever its type. */
    if (a->kind != kind) {
        lower_fail(L, "attribute '%s' is not %s", name, what);
        return NULL;
    }
    return a;
}

bool lower_attr_string(kc_lower *L, const char *name, const char **value) {
    const tf_attr *a = attr_of(L, name, TF_ATTR_S, "a string");
    if (a) *value = a->s;
    return a != NULL;
}

bool lower_attr_int(kc_lower *L, const char *name, int64_t *value) {
    const tf_attr *a = attr_of(L, name, TF_ATTR_I, "an integer");
    if (a) *value = a->i;
    return a != NULL;
}

bool lower_attr_float(kc_lower *L, const char *name, float *value) {
    const tf_attr *a = attr_of(L, name, TF_ATTR_F, "a float");
    if (a) *value = a->f;
    return a != NULL;
}

bool lower_attr_bool(kc_lower *L, const char *name, bool *value) {
    const tf_attr *a = attr_of(L, name, TF_ATTR_B, "a bool");
    if (a) *value = a->b;
    return a != NULL;
}

bool lower_attr_ints(kc_lower *L, const char *name, const int64_t **values, size_t *n) {
    const tf_attr *a = attr_of(L, name, TF_ATTR_LIST, "a list");
    if (!a) return false;
    if (a->n_s || a->n_f || a->n_b || a->n_type || a->n_shape) return lower_fail(L, "attribute '%s' is not a list of integers", name);
    *values = a->list_i;
    *n = a->n_i;
    return true;
}

bool lower_attr_is(kc_lower *L, const char *name, const char *want) {
    const tf_attr *a = tf_node_attr(L->node, name);
    return a && a->kind == TF_ATTR_S && strcmp(a->s, want) == 0;
}

bool lower_require_nhwc(kc_lower *L) {
    const tf_attr *a = tf_node_attr(L->node, "data_format");
    if (a && a->kind == TF_ATTR_S && strcmp(a->s, "NHWC") != 0 && strcmp(a->s, "NWC") != 0 && strcmp(a->s, "NDHWC") != 0)
        return lower_fail(L, "data_format %s is not supported (only NHWC, TensorFlow's default)", a->s);
    return true;
}

bool lower_const_ints(kc_lower *L, int input, int32_t *values, int max, int *n) {
    const kn_tensor *t = lower_tensor(L, L->in[input]);
    if (!kc_is_const(L->p, L->in[input]))
        return lower_fail(L, "input %d must be a constant known at convert time", input);
    if (t->dtype != KILN_INT32) return lower_fail(L, "input %d must be int32, got %s", input, kiln_dtype_name(t->dtype));
    size_t count = kn_tensor_count(t);
    if (t->rank > 1 || count > (size_t)max)
        return lower_fail(L, "input %d must be a scalar or vector of at most %d values, got %d-D with %zu", input, max,
                          t->rank, count);
    memcpy(values, t->data, count * sizeof(int32_t));
    *n = (int)count;
    return true;
}

bool lower_emit(kc_lower *L, uint16_t op, const int *in, int n_in, const void *params, size_t params_size,
                int *out) {
    int id;
    if (!kc_emit(L->p, L->node->name, op, in, n_in, params, params_size, 1, &id)) return false;
    if (out) {
        *out = id;
    } else {
        L->out[0] = id;
        L->n_out = 1;
    }
    return true;
}

bool lower_binary(kc_lower *L, int kind, int a, int b, int *out) {
    kn_binary_params prm = {.kind = kind, .act = KN_ACT_NONE};
    int in[2] = {a, b}, id;
    if (!lower_emit(L, KN_OP_BINARY, in, 2, &prm, sizeof prm, out ? out : &id)) return false;
    if (!out) L->out[0] = id, L->n_out = 1;
    else id = *out;
    /* The minimum of a value computed from data (no shadow) and one with a shadow is at
     * most that shadow: it bounds what depends on it (a count of valid boxes). */
    kc_tensor *y = &L->p->tensors[id];
    for (int i = 0; i < 2 && kind == KN_BINARY_MIN && !y->t.data && !y->shadow; i++) {
        const kc_tensor *x = &L->p->tensors[in[i]];
        if (!x->shadow || kn_tensor_count(&x->t) != kn_tensor_count(&y->t) || x->t.dtype != y->t.dtype) continue;
        size_t bytes = kn_tensor_bytes(&y->t);
        if (!(y->shadow = malloc(bytes ? bytes : 1))) return lower_fail(L, "out of memory");
        memcpy(y->shadow, x->shadow, bytes);
    }
    return true;
}

bool lower_unary(kc_lower *L, int kind, float alpha, int x, int *out) {
    kn_unary_params prm = {.kind = kind, .alpha = alpha};
    return lower_emit(L, KN_OP_UNARY, &x, 1, &prm, sizeof prm, out);
}

bool lower_reshape(kc_lower *L, int x, int rank, const int32_t *dims, int *out) {
    kn_reshape_params prm = {.rank = rank};
    memcpy(prm.dims, dims, sizeof(int32_t) * (size_t)rank);
    /* A tensor of varying dim 0: the dim of the target that carries it is worked out at run time. */
    const kc_tensor *t = &L->p->tensors[x];
    if (t->dynamic && t->t.rank > 0)
        for (int d = 0; d < rank; d++)
            if (prm.dims[d] == t->t.dims[0]) {
                prm.dims[d] = -1;
                break;
            }
    return lower_emit(L, KN_OP_RESHAPE, &x, 1, &prm, sizeof prm, out);
}

bool lower_padding(kc_lower *L, const char *padding, int32_t in, int32_t window, int32_t stride,
                   int32_t dilation, int32_t *before, int32_t *after) {
    if (strcmp(padding, "VALID") == 0) {
        *before = *after = 0;
        return true;
    }
    if (strcmp(padding, "SAME") != 0)
        return lower_fail(L, "padding '%s' is not supported (SAME, VALID or EXPLICIT)", padding);
    /* TF: out = ceil(in / stride); the padding that needs is split with the odd pixel at the end. */
    int64_t out = ((int64_t)in + stride - 1) / stride;
    int64_t effective = (int64_t)(window - 1) * dilation + 1;
    int64_t total = (out - 1) * stride + effective - in;
    if (total < 0) total = 0;
    *before = (int32_t)(total / 2);
    *after = (int32_t)(total - total / 2);
    return true;
}

int lower_activation(const char *name) {
    static const struct {
        const char *name;
        int act;
    } acts[] = {{"Relu", KN_ACT_RELU},       {"Relu6", KN_ACT_RELU6},         {"Elu", KN_ACT_ELU},
                {"Sigmoid", KN_ACT_SIGMOID}, {"Tanh", KN_ACT_TANH},           {"LeakyRelu", KN_ACT_LEAKY_RELU},
                {"Prelu", KN_ACT_PRELU}};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (strcmp(acts[i].name, name) == 0) return acts[i].act;
    return -1;
}

bool lower_attr_hw(kc_lower *L, const char *name, int32_t *h, int32_t *w) {
    const int64_t *v = NULL;
    size_t n = 0;
    if (!lower_attr_ints(L, name, &v, &n)) return false;
    if (n != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 || v[1] > 1 << 16 || v[2] > 1 << 16)
        return lower_fail(L, "attribute '%s' must be [1, h, w, 1] with h, w in [1, 65536]", name);
    *h = (int32_t)v[1];
    *w = (int32_t)v[2];
    return true;
}

bool lower_conv_window(kc_lower *L, int32_t in_h, int32_t in_w, int32_t kh, int32_t kw, bool has_dilations,
                       kn_conv_params *c) {
    const char *padding;
    c->dilation_h = c->dilation_w = 1;
    if (!lower_require_nhwc(L) || !lower_attr_hw(L, "strides", &c->stride_h, &c->stride_w) ||
        (has_dilations && !lower_attr_hw(L, "dilations", &c->dilation_h, &c->dilation_w)) ||
        !lower_attr_string(L, "padding", &padding))
        return false;
    if (strcmp(padding, "EXPLICIT") == 0) {
        const int64_t *p = NULL;
        size_t n = 0;
        if (!lower_attr_ints(L, "explicit_paddings", &p, &n)) return false;
        if (n != 8 || p[0] || p[1] || p[6] || p[7]) return lower_fail(L, "explicit_paddings must pad only H and W");
        for (int i = 2; i < 6; i++)
            if (p[i] < 0 || p[i] > 1 << 20) return lower_fail(L, "explicit padding %lld out of range", (long long)p[i]);
        c->pad_top = (int32_t)p[2];
        c->pad_bottom = (int32_t)p[3];
        c->pad_left = (int32_t)p[4];
        c->pad_right = (int32_t)p[5];
        return true;
    }
    return lower_padding(L, padding, in_h, kh, c->stride_h, c->dilation_h, &c->pad_top, &c->pad_bottom) &&
           lower_padding(L, padding, in_w, kw, c->stride_w, c->dilation_w, &c->pad_left, &c->pad_right);
}
