#include "graph_builder.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"

tf_node *gb_node(tf_graph *g, const char *name, const char *op, int n_in, const char *const *inputs) {
    tf_node *n = tf_graph_add_node(g);
    n->name = tf_strdup(g, name);
    n->op = tf_strdup(g, op);
    n->inputs = tf_alloc(g, sizeof(char *) * (size_t)(n_in ? n_in : 1));
    for (int i = 0; i < n_in; i++) n->inputs[n->n_inputs++] = tf_strdup(g, inputs[i]);
    return n;
}

tf_node *gb_node2(tf_graph *g, const char *name, const char *op, const char *in0, const char *in1) {
    const char *in[2] = {in0, in1};
    return gb_node(g, name, op, in1 ? 2 : in0 ? 1 : 0, in);
}

void gb_attr_s(tf_graph *g, tf_node *n, const char *name, const char *value) {
    tf_attr *a = tf_node_add_attr(g, n, name);
    a->kind = TF_ATTR_S;
    a->s = tf_strdup(g, value);
    a->s_len = strlen(value);
}

void gb_attr_i(tf_graph *g, tf_node *n, const char *name, int64_t value) {
    tf_attr *a = tf_node_add_attr(g, n, name);
    a->kind = TF_ATTR_I;
    a->i = value;
}

void gb_attr_f(tf_graph *g, tf_node *n, const char *name, float value) {
    tf_attr *a = tf_node_add_attr(g, n, name);
    a->kind = TF_ATTR_F;
    a->f = value;
}

void gb_attr_b(tf_graph *g, tf_node *n, const char *name, bool value) {
    tf_attr *a = tf_node_add_attr(g, n, name);
    a->kind = TF_ATTR_B;
    a->b = value;
}

void gb_attr_type(tf_graph *g, tf_node *n, const char *name, int tf_dtype) {
    tf_attr *a = tf_node_add_attr(g, n, name);
    a->kind = TF_ATTR_TYPE;
    a->type = tf_dtype;
}

void gb_attr_ints(tf_graph *g, tf_node *n, const char *name, int count, const int64_t *values) {
    tf_attr *a = tf_node_add_attr(g, n, name);
    a->kind = TF_ATTR_LIST;
    a->n_i = (size_t)count;
    a->list_i = tf_alloc(g, sizeof(int64_t) * (size_t)(count ? count : 1));
    if (count) memcpy(a->list_i, values, sizeof(int64_t) * (size_t)count);
}

void gb_attr_strings(tf_graph *g, tf_node *n, const char *name, int count, const char *const *values) {
    tf_attr *a = tf_node_add_attr(g, n, name);
    a->kind = TF_ATTR_LIST;
    a->n_s = (size_t)count;
    a->list_s = tf_alloc(g, sizeof(char *) * (size_t)(count ? count : 1));
    a->list_s_len = tf_alloc(g, sizeof(size_t) * (size_t)(count ? count : 1));
    for (int i = 0; i < count; i++) {
        a->list_s[i] = tf_strdup(g, values[i]);
        a->list_s_len[i] = strlen(values[i]);
    }
}

void gb_placeholder(tf_graph *g, const char *name, int tf_dtype, int rank, const int64_t *dims) {
    tf_node *n = gb_node(g, name, "Placeholder", 0, NULL);
    gb_attr_type(g, n, "dtype", tf_dtype);
    tf_attr *a = tf_node_add_attr(g, n, "shape");
    a->kind = TF_ATTR_SHAPE;
    a->shape.rank = rank;
    if (rank) memcpy(a->shape.dims, dims, sizeof(int64_t) * (size_t)rank);
}

void gb_const(tf_graph *g, const char *name, int tf_dtype, int rank, const int64_t *dims, const void *data) {
    tf_node *n = gb_node(g, name, "Const", 0, NULL);
    gb_attr_type(g, n, "dtype", tf_dtype);
    tf_attr *a = tf_node_add_attr(g, n, "value");
    a->kind = TF_ATTR_TENSOR;
    a->tensor = tf_alloc(g, sizeof *a->tensor);
    a->tensor->dtype = tf_dtype;
    a->tensor->shape.rank = rank;
    if (rank) memcpy(a->tensor->shape.dims, dims, sizeof(int64_t) * (size_t)rank);
    a->tensor->nbytes = (size_t)tf_shape_count(&a->tensor->shape) * tf_dtype_size(tf_dtype);
    a->tensor->data = tf_alloc(g, a->tensor->nbytes + 1);
    if (a->tensor->nbytes) memcpy(a->tensor->data, data, a->tensor->nbytes);
}

const void *gb_const_data(const tf_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) return tf_node_attr(&g->nodes[i], "value")->tensor->data;
    return NULL;
}

bool gb_convert(tf_graph *g, const kc_options *opt, gb_bundle *b) {
    kc_program p = {0};
    kc_options none = {0};
    memset(b, 0, sizeof *b);
    bool ok = kc_convert(g, opt ? opt : &none, &p) && kc_build_bundle(&p, &b->bytes, &b->size, &b->stats);
    kc_program_free(&p);
    return ok;
}

bool gb_load(tf_graph *g, int n_out, const char *const *outputs, gb_loaded *l) {
    kc_options opt = {.outputs = outputs, .n_outputs = n_out};
    gb_bundle b;
    memset(l, 0, sizeof *l);
    bool ok = gb_convert(g, &opt, &b);
    if (!ok) fprintf(stderr, "  convert: %s\n", kc_last_error());
    tf_graph_free(g);
    CHECK(ok);
    if (!ok) return false;
    l->copy = aligned_alloc(64, (b.size + 63) & ~(size_t)63);
    memcpy(l->copy, b.bytes, b.size);
    ok = kiln_model_load(l->copy, b.size, &l->m) == KILN_OK && kiln_context_create(l->m, &l->c) == KILN_OK;
    if (!ok) fprintf(stderr, "  load: %s\n", kiln_last_error());
    CHECK(ok);
    free(b.bytes);
    return ok;
}

void gb_unload(gb_loaded *l) {
    kiln_context_free(l->c);
    kiln_model_free(l->m);
    free(l->copy);
    memset(l, 0, sizeof *l);
}

kiln_status gb_run(const gb_bundle *b, const void *const *inputs, int n_inputs, void *const *outs,
                   const size_t *out_sizes, int n_outs) {
    void *copy = aligned_alloc(64, (b->size + 63) & ~(size_t)63);
    memcpy(copy, b->bytes, b->size);
    kiln_model *m = NULL;
    kiln_context *c = NULL;
    kiln_status st = kiln_model_load(copy, b->size, &m);
    if (st == KILN_OK) st = kiln_context_create(m, &c);
    for (int i = 0; st == KILN_OK && i < n_inputs; i++) {
        const kiln_tensor_desc *t = kiln_model_input(m, i);
        st = kiln_set_input(c, i, kiln_tensor_dtype(t), kiln_tensor_dims(t), kiln_tensor_rank(t), inputs[i],
                            kiln_tensor_size(t));
    }
    if (st == KILN_OK) st = kiln_run(c);
    for (int k = 0; st == KILN_OK && k < n_outs; k++) {
        const kiln_tensor_desc *o = kiln_context_output(c, k);
        CHECK(o && kiln_tensor_size(o) == out_sizes[k]);
        if (o && kiln_tensor_size(o) == out_sizes[k]) memcpy(outs[k], kiln_tensor_data(o), out_sizes[k]);
    }
    kiln_context_free(c);
    kiln_model_free(m);
    free(copy);
    return st;
}

int gb_count_steps(const kc_program *p, int op) {
    int n = 0;
    for (int i = 0; i < p->n_steps; i++) n += p->steps[i].op == op;
    return n;
}

bool gb_output_is(const kc_program *p, int k, kiln_dtype dtype, int rank, ...) {
    const kn_tensor *t = &p->tensors[p->outputs[k]].t;
    bool same = t->dtype == dtype && t->rank == rank;
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++) same = va_arg(ap, int) == t->dims[i] && same;
    va_end(ap);
    if (!same) fprintf(stderr, "  output %d is %s\n", k, kc_shape(t));
    return same;
}

void gb_expect_error(const char *file, int line, tf_graph *g, const char *output, const char *needle) {
    kc_options opt = {.outputs = &output, .n_outputs = 1};
    kc_program p = {0};
    bool ok = kc_convert(g, &opt, &p);
    if (ok || !strstr(kc_last_error(), needle)) {
        fprintf(stderr, "%s:%d: conversion %s \"%s\", want an error with \"%s\"\n", file, line,
                ok ? "succeeded" : "failed with", ok ? "" : kc_last_error(), needle);
        check_failures++;
    }
    kc_program_free(&p);
    tf_graph_free(g);
}

bool gb_convert_run(tf_graph *g, int n_out, const char *const *outputs, const void *const *inputs,
                    void *const *outs, size_t capacity, kc_program *p) {
    kc_options opt = {.outputs = outputs, .n_outputs = n_out};
    memset(p, 0, sizeof *p);
    bool ok = kc_convert(g, &opt, p);
    tf_graph_free(g);
    if (!ok) {
        fprintf(stderr, "  convert: %s\n", kc_last_error());
        CHECK(ok);
        return false;
    }
    gb_bundle b = {0};
    size_t sizes[16];
    CHECK(n_out <= 16);
    for (int k = 0; k < n_out && k < 16; k++) {
        sizes[k] = kn_tensor_bytes(&p->tensors[p->outputs[k]].t);
        CHECK(sizes[k] <= capacity);
    }
    CHECK(kc_build_bundle(p, &b.bytes, &b.size, &b.stats));
    kiln_status st = gb_run(&b, inputs, p->n_inputs, outs, sizes, n_out);
    if (st != KILN_OK) fprintf(stderr, "  run: %s\n", kiln_last_error());
    CHECK(st == KILN_OK);
    free(b.bytes);
    return st == KILN_OK;
}
