/* read_pb: GraphDefs built with protobuf-c, packed, and read back. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "diag.h"
#include "graph.pb-c.h"
#include "read_pb.h"

/* ---- Building test messages: all memory comes from an arena freed per case. */

static void *blocks[4096];
static size_t n_blocks;

static void *arena(size_t size) {
    if (n_blocks == sizeof blocks / sizeof blocks[0]) abort();
    return blocks[n_blocks++] = calloc(1, size ? size : 1);
}

static void arena_free(void) {
    while (n_blocks) free(blocks[--n_blocks]);
}

/* A copy of array (n elements of size bytes) with room for one more. */
static void *grow(void *array, size_t n, size_t size) {
    void *p = arena((n + 1) * size);
    if (n) memcpy(p, array, n * size);
    return p;
}

#define APPEND(array, n, item)                                  \
    do {                                                        \
        (array) = grow((array), (n), sizeof *(array));          \
        (array)[(n)++] = (item);                                \
    } while (0)

static Tensorflow__NodeDef *node(const char *name, const char *op) {
    Tensorflow__NodeDef *n = arena(sizeof *n);
    tensorflow__node_def__init(n);
    n->name = (char *)name;
    n->op = (char *)op;
    return n;
}

static Tensorflow__AttrValue *attr_value(void) {
    Tensorflow__AttrValue *v = arena(sizeof *v);
    tensorflow__attr_value__init(v);
    return v;
}

/* Adds attr key to n and returns its (empty) value. */
static Tensorflow__AttrValue *add_attr(Tensorflow__NodeDef *n, const char *key) {
    Tensorflow__NodeDef__AttrEntry *e = arena(sizeof *e);
    tensorflow__node_def__attr_entry__init(e);
    e->key = (char *)key;
    e->value = attr_value();
    APPEND(n->attr, n->n_attr, e);
    return e->value;
}

static Tensorflow__TensorShapeProto *shape(int rank, const int64_t *dims) {
    Tensorflow__TensorShapeProto *s = arena(sizeof *s);
    tensorflow__tensor_shape_proto__init(s);
    for (int i = 0; i < rank; i++) {
        Tensorflow__TensorShapeProto__Dim *d = arena(sizeof *d);
        tensorflow__tensor_shape_proto__dim__init(d);
        d->size = dims[i];
        APPEND(s->dim, s->n_dim, d);
    }
    return s;
}

/* Adds a tensor attr "value" of dtype and shape (rank < 0: no tensor_shape) to n. */
static Tensorflow__TensorProto *add_tensor(Tensorflow__NodeDef *n, int dtype, int rank, const int64_t *dims) {
    Tensorflow__AttrValue *v = add_attr(n, "value");
    Tensorflow__TensorProto *t = arena(sizeof *t);
    tensorflow__tensor_proto__init(t);
    t->dtype = (Tensorflow__DataType)dtype;
    if (rank >= 0) t->tensor_shape = shape(rank, dims);
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TENSOR;
    v->tensor = t;
    return t;
}

static uint8_t *pack_nodes(Tensorflow__NodeDef **nodes, size_t n, size_t *size) {
    Tensorflow__GraphDef gd = TENSORFLOW__GRAPH_DEF__INIT;
    gd.n_node = n;
    gd.node = nodes;
    *size = tensorflow__graph_def__get_packed_size(&gd);
    uint8_t *buf = arena(*size);
    tensorflow__graph_def__pack(&gd, buf);
    return buf;
}

static tf_graph *read_nodes(Tensorflow__NodeDef **nodes, size_t n) {
    size_t size;
    uint8_t *buf = pack_nodes(nodes, n, &size);
    return read_pb(buf, size, "test.pb");
}

/* Reads a graph whose only node is n; its attr "value" tensor. */
static const tf_tensor *read_tensor(Tensorflow__NodeDef *n, tf_graph **g) {
    *g = read_nodes(&n, 1);
    CHECK(*g != NULL);
    if (!*g) {
        fprintf(stderr, "  %s\n", kc_last_error());
        return NULL;
    }
    const tf_attr *a = tf_node_attr(&(*g)->nodes[0], "value");
    CHECK(a && a->kind == TF_ATTR_TENSOR && a->tensor);
    return a && a->kind == TF_ATTR_TENSOR ? a->tensor : NULL;
}

/* Expects reading data to fail with a message containing want. */
static void expect_bytes_error(const uint8_t *data, size_t size, const char *want) {
    tf_graph *g = read_pb(data, size, "test.pb");
    CHECK(g == NULL);
    CHECK(strstr(kc_last_error(), want) != NULL);
    if (g || !strstr(kc_last_error(), want)) fprintf(stderr, "  got '%s', want '%s'\n", g ? "" : kc_last_error(), want);
    tf_graph_free(g);
}

static void expect_error(Tensorflow__NodeDef **nodes, size_t n, const char *want) {
    size_t size;
    uint8_t *buf = pack_nodes(nodes, n, &size);
    expect_bytes_error(buf, size, want);
}

/* ---- Cases ----------------------------------------------------------------- */

static void test_nodes_and_inputs(void) {
    Tensorflow__NodeDef *nodes[3] = {node("x", "Placeholder"), node("y", "Split"), node("sum", "AddV2")};
    APPEND(nodes[2]->input, nodes[2]->n_input, (char *)"x");
    APPEND(nodes[2]->input, nodes[2]->n_input, (char *)"y:1");
    APPEND(nodes[2]->input, nodes[2]->n_input, (char *)"^x");
    nodes[2]->device = (char *)"/device:CPU:0";
    tf_graph *g = read_nodes(nodes, 3);
    CHECK(g && g->n_nodes == 3);
    if (g && g->n_nodes == 3) {
        CHECK(strcmp(g->nodes[0].name, "x") == 0 && strcmp(g->nodes[0].op, "Placeholder") == 0);
        CHECK(g->nodes[0].n_inputs == 0 && g->nodes[0].n_attrs == 0);
        CHECK(strcmp(g->nodes[1].name, "y") == 0 && strcmp(g->nodes[1].op, "Split") == 0);
        const tf_node *n = &g->nodes[2];
        CHECK(strcmp(n->name, "sum") == 0 && strcmp(n->op, "AddV2") == 0);
        CHECK(n->n_inputs == 3);
        CHECK(strcmp(n->inputs[0], "x") == 0 && strcmp(n->inputs[1], "y:1") == 0 && strcmp(n->inputs[2], "^x") == 0);
    }
    tf_graph_free(g);
    arena_free();
}

static void test_scalar_attrs(void) {
    Tensorflow__NodeDef *n = node("n", "Op");
    Tensorflow__AttrValue *v;
    v = add_attr(n, "s");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_S;
    v->s = (ProtobufCBinaryData){5, (uint8_t *)"SA\0ME"};
    v = add_attr(n, "empty_s");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_S;
    v = add_attr(n, "i");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_I;
    v->i = -7;
    v = add_attr(n, "zero_i");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_I;
    v = add_attr(n, "f");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_F;
    v->f = 0.25f;
    v = add_attr(n, "b");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_B;
    v->b = 0;
    v = add_attr(n, "type");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TYPE;
    v->type = TENSORFLOW__DATA_TYPE__DT_HALF;
    v = add_attr(n, "shape");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_SHAPE;
    v->shape = shape(4, (int64_t[]){-1, 224, 224, 3});
    v = add_attr(n, "unknown");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_SHAPE;
    v->shape = shape(0, NULL);
    v->shape->unknown_rank = 1;
    v = add_attr(n, "func");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_FUNC;
    v->func = arena(sizeof *v->func);
    tensorflow__name_attr_list__init(v->func);
    v->func->name = (char *)"body_fn";
    add_attr(n, "none");
    v = add_attr(n, "placeholder");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_PLACEHOLDER;
    v->placeholder = (char *)"T";

    tf_graph *g = read_nodes(&n, 1);
    CHECK(g != NULL);
    if (!g) {
        arena_free();
        return;
    }
    const tf_node *r = &g->nodes[0];
    CHECK(r->n_attrs == 12);
    const tf_attr *a = tf_node_attr(r, "s");
    CHECK(a && a->kind == TF_ATTR_S && a->s_len == 5 && memcmp(a->s, "SA\0ME", 6) == 0);
    a = tf_node_attr(r, "empty_s");
    CHECK(a && a->kind == TF_ATTR_S && a->s_len == 0 && a->s && a->s[0] == 0);
    a = tf_node_attr(r, "i");
    CHECK(a && a->kind == TF_ATTR_I && a->i == -7);
    a = tf_node_attr(r, "zero_i");
    CHECK(a && a->kind == TF_ATTR_I && a->i == 0);
    a = tf_node_attr(r, "f");
    CHECK(a && a->kind == TF_ATTR_F && a->f == 0.25f);
    a = tf_node_attr(r, "b");
    CHECK(a && a->kind == TF_ATTR_B && !a->b);
    a = tf_node_attr(r, "type");
    CHECK(a && a->kind == TF_ATTR_TYPE && a->type == TF_DT_HALF);
    a = tf_node_attr(r, "shape");
    CHECK(a && a->kind == TF_ATTR_SHAPE && !a->shape.unknown_rank && a->shape.rank == 4);
    CHECK(a && a->shape.dims[0] == -1 && a->shape.dims[1] == 224 && a->shape.dims[3] == 3);
    a = tf_node_attr(r, "unknown");
    CHECK(a && a->kind == TF_ATTR_SHAPE && a->shape.unknown_rank);
    a = tf_node_attr(r, "func");
    CHECK(a && a->kind == TF_ATTR_FUNC && strcmp(a->s, "body_fn") == 0 && a->s_len == 7);
    a = tf_node_attr(r, "none");
    CHECK(a && a->kind == TF_ATTR_NONE);
    a = tf_node_attr(r, "placeholder");
    CHECK(a && a->kind == TF_ATTR_NONE);
    tf_graph_free(g);
    arena_free();
}

static void test_list_attrs(void) {
    Tensorflow__NodeDef *n = node("conv", "Conv2D");
    Tensorflow__AttrValue *v;
    Tensorflow__AttrValue__ListValue *l;
#define NEW_LIST(key)                                          \
    (v = add_attr(n, key), v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_LIST, \
     l = v->list = arena(sizeof *l), tensorflow__attr_value__list_value__init(l))
    NEW_LIST("strides");
    for (int k = 0; k < 4; k++) APPEND(l->i, l->n_i, k == 0 || k == 3 ? 1 : 2);
    NEW_LIST("names");
    APPEND(l->s, l->n_s, ((ProtobufCBinaryData){1, (uint8_t *)"a"}));
    APPEND(l->s, l->n_s, ((ProtobufCBinaryData){2, (uint8_t *)"bc"}));
    NEW_LIST("floats");
    APPEND(l->f, l->n_f, 0.5f);
    APPEND(l->f, l->n_f, -1.0f);
    NEW_LIST("bools");
    APPEND(l->b, l->n_b, 1);
    APPEND(l->b, l->n_b, 0);
    NEW_LIST("types");
    APPEND(l->type, l->n_type, TENSORFLOW__DATA_TYPE__DT_FLOAT);
    APPEND(l->type, l->n_type, TENSORFLOW__DATA_TYPE__DT_INT32);
    NEW_LIST("_output_shapes");
    APPEND(l->shape, l->n_shape, shape(2, (int64_t[]){2, 3}));
    APPEND(l->shape, l->n_shape, shape(0, NULL));
    l->shape[1]->unknown_rank = 1;
    NEW_LIST("empty");
#undef NEW_LIST

    tf_graph *g = read_nodes(&n, 1);
    CHECK(g != NULL);
    if (!g) {
        arena_free();
        return;
    }
    const tf_node *r = &g->nodes[0];
    const tf_attr *a = tf_node_attr(r, "strides");
    CHECK(a && a->kind == TF_ATTR_LIST && a->n_i == 4 && a->n_s == 0 && a->n_f == 0);
    CHECK(a && a->n_i == 4 && a->list_i[0] == 1 && a->list_i[1] == 2 && a->list_i[2] == 2 && a->list_i[3] == 1);
    a = tf_node_attr(r, "names");
    CHECK(a && a->kind == TF_ATTR_LIST && a->n_s == 2 && a->n_i == 0);
    CHECK(a && a->n_s == 2 && strcmp(a->list_s[0], "a") == 0 && a->list_s_len[0] == 1);
    CHECK(a && a->n_s == 2 && strcmp(a->list_s[1], "bc") == 0 && a->list_s_len[1] == 2);
    a = tf_node_attr(r, "floats");
    CHECK(a && a->kind == TF_ATTR_LIST && a->n_f == 2 && a->list_f[0] == 0.5f && a->list_f[1] == -1.0f);
    a = tf_node_attr(r, "bools");
    CHECK(a && a->kind == TF_ATTR_LIST && a->n_b == 2 && a->list_b[0] && !a->list_b[1]);
    a = tf_node_attr(r, "types");
    CHECK(a && a->kind == TF_ATTR_LIST && a->n_type == 2 && a->list_type[0] == TF_DT_FLOAT &&
          a->list_type[1] == TF_DT_INT32);
    a = tf_node_attr(r, "_output_shapes");
    CHECK(a && a->kind == TF_ATTR_LIST && a->n_shape == 2);
    CHECK(a && a->n_shape == 2 && a->list_shape[0].rank == 2 && a->list_shape[0].dims[1] == 3);
    CHECK(a && a->n_shape == 2 && a->list_shape[1].unknown_rank);
    a = tf_node_attr(r, "empty");
    CHECK(a && a->kind == TF_ATTR_LIST && a->n_s + a->n_i + a->n_f + a->n_b + a->n_type + a->n_shape == 0);
    tf_graph_free(g);
    arena_free();
}

static void test_duplicate_attr_last_wins(void) {
    Tensorflow__NodeDef *n = node("n", "Identity");
    Tensorflow__AttrValue *v = add_attr(n, "T");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TYPE;
    v->type = TENSORFLOW__DATA_TYPE__DT_FLOAT;
    v = add_attr(n, "T");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_I;
    v->i = 5;
    tf_graph *g = read_nodes(&n, 1);
    CHECK(g && g->nodes[0].n_attrs == 1);
    const tf_attr *a = g ? tf_node_attr(&g->nodes[0], "T") : NULL;
    CHECK(a && a->kind == TF_ATTR_I && a->i == 5 && a->type == 0);
    tf_graph_free(g);
    arena_free();
}

static void test_tensor_content(void) {
    tf_graph *g;
    const float want[6] = {0, 1.5f, -2, 3, 4e-3f, 5e7f};
    Tensorflow__NodeDef *n = node("w", "Const");
    Tensorflow__TensorProto *t = add_tensor(n, TF_DT_FLOAT, 2, (int64_t[]){2, 3});
    t->tensor_content = (ProtobufCBinaryData){sizeof want, (uint8_t *)want};
    const tf_tensor *r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_FLOAT && r->shape.rank == 2 && r->shape.dims[0] == 2 && r->shape.dims[1] == 3);
    CHECK(r && r->nbytes == sizeof want);
    if (r && r->nbytes == sizeof want) CHECK_ARRAY_NEAR((const float *)r->data, want, 6, 0);
    tf_graph_free(g);

    /* float16 content widens to float32 */
    const uint8_t half[4] = {0x55, 0x35, 0xff, 0x7b}; /* 0x3555, 0x7bff */
    n = node("h", "Const");
    t = add_tensor(n, TF_DT_HALF, 1, (int64_t[]){2});
    t->tensor_content = (ProtobufCBinaryData){sizeof half, (uint8_t *)half};
    r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_FLOAT && r->nbytes == 8);
    if (r && r->nbytes == 8) CHECK_ARRAY_NEAR((const float *)r->data, ((float[]){0.333251953125f, 65504}), 2, 0);
    tf_graph_free(g);

    /* bool content: any nonzero byte is true */
    const uint8_t bools[3] = {0, 2, 1};
    n = node("b", "Const");
    t = add_tensor(n, TF_DT_BOOL, 1, (int64_t[]){3});
    t->tensor_content = (ProtobufCBinaryData){3, (uint8_t *)bools};
    r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_BOOL && r->nbytes == 3);
    if (r && r->nbytes == 3) CHECK(memcmp(r->data, "\0\1\1", 3) == 0);
    tf_graph_free(g);

    /* int64 content */
    const int64_t big[2] = {(int64_t)1 << 40, -5};
    n = node("i64", "Const");
    t = add_tensor(n, TF_DT_INT64, 1, (int64_t[]){2});
    t->tensor_content = (ProtobufCBinaryData){sizeof big, (uint8_t *)big};
    r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_INT64 && r->nbytes == 16 && memcmp(r->data, big, 16) == 0);
    tf_graph_free(g);
    arena_free();
}

static void test_typed_values(void) {
    tf_graph *g;
    /* float_val shorter than the shape: the last value repeats */
    Tensorflow__NodeDef *n = node("f", "Const");
    Tensorflow__TensorProto *t = add_tensor(n, TF_DT_FLOAT, 1, (int64_t[]){5});
    APPEND(t->float_val, t->n_float_val, 1.0f);
    APPEND(t->float_val, t->n_float_val, 2.0f);
    const tf_tensor *r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_FLOAT && r->nbytes == 20);
    if (r && r->nbytes == 20) CHECK_ARRAY_NEAR((const float *)r->data, ((float[]){1, 2, 2, 2, 2}), 5, 0);
    tf_graph_free(g);

    /* a scalar without tensor_shape */
    n = node("scalar", "Const");
    t = add_tensor(n, TF_DT_FLOAT, -1, NULL);
    APPEND(t->float_val, t->n_float_val, 3.5f);
    r = read_tensor(n, &g);
    CHECK(r && r->shape.rank == 0 && !r->shape.unknown_rank && r->nbytes == 4 && *(const float *)r->data == 3.5f);
    tf_graph_free(g);

    /* values past the shape are ignored, as TF does */
    n = node("extra", "Const");
    t = add_tensor(n, TF_DT_FLOAT, 1, (int64_t[]){2});
    for (int k = 1; k <= 3; k++) APPEND(t->float_val, t->n_float_val, (float)k);
    r = read_tensor(n, &g);
    CHECK(r && r->nbytes == 8);
    if (r && r->nbytes == 8) CHECK_ARRAY_NEAR((const float *)r->data, ((float[]){1, 2}), 2, 0);
    tf_graph_free(g);

    /* no values: zeros */
    n = node("zeros", "Const");
    add_tensor(n, TF_DT_FLOAT, 2, (int64_t[]){2, 2});
    r = read_tensor(n, &g);
    CHECK(r && r->nbytes == 16);
    if (r && r->nbytes == 16) CHECK_ARRAY_NEAR((const float *)r->data, ((float[]){0, 0, 0, 0}), 4, 0);
    tf_graph_free(g);

    /* int_val */
    n = node("i", "Const");
    t = add_tensor(n, TF_DT_INT32, 1, (int64_t[]){3});
    APPEND(t->int_val, t->n_int_val, 7);
    APPEND(t->int_val, t->n_int_val, -8);
    APPEND(t->int_val, t->n_int_val, 9);
    r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_INT32 && r->nbytes == 12);
    if (r && r->nbytes == 12) CHECK(memcmp(r->data, (int32_t[]){7, -8, 9}, 12) == 0);
    tf_graph_free(g);

    /* int_val into 8-bit types wraps like TF's cast */
    n = node("u8", "Const");
    t = add_tensor(n, TF_DT_UINT8, 1, (int64_t[]){5});
    APPEND(t->int_val, t->n_int_val, 1);
    APPEND(t->int_val, t->n_int_val, 255);
    APPEND(t->int_val, t->n_int_val, 256);
    APPEND(t->int_val, t->n_int_val, -1);
    r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_UINT8 && r->nbytes == 5);
    if (r && r->nbytes == 5) CHECK(memcmp(r->data, (uint8_t[]){1, 255, 0, 255, 255}, 5) == 0);
    tf_graph_free(g);

    /* int64_val */
    n = node("i64", "Const");
    t = add_tensor(n, TF_DT_INT64, 1, (int64_t[]){2});
    APPEND(t->int64_val, t->n_int64_val, -((int64_t)1 << 40));
    r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_INT64 && r->nbytes == 16);
    if (r && r->nbytes == 16) {
        const int64_t *v = r->data;
        CHECK(v[0] == -((int64_t)1 << 40) && v[1] == -((int64_t)1 << 40));
    }
    tf_graph_free(g);

    /* half_val widens to float32: 1, -2, 0.5, smallest subnormal, inf, -0 */
    n = node("h", "Const");
    t = add_tensor(n, TF_DT_HALF, 1, (int64_t[]){6});
    const int32_t bits[6] = {0x3c00, 0xc000, 0x3800, 0x0001, 0x7c00, 0x8000};
    for (int k = 0; k < 6; k++) APPEND(t->half_val, t->n_half_val, bits[k]);
    r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_FLOAT && r->nbytes == 24);
    if (r && r->nbytes == 24) {
        const float *f = r->data;
        CHECK(f[0] == 1 && f[1] == -2 && f[2] == 0.5f && f[3] == ldexpf(1, -24) && isinf(f[4]) && f[4] > 0);
        CHECK(f[5] == 0 && signbit(f[5]));
    }
    tf_graph_free(g);

    /* bool_val */
    n = node("b", "Const");
    t = add_tensor(n, TF_DT_BOOL, 1, (int64_t[]){3});
    APPEND(t->bool_val, t->n_bool_val, 1);
    APPEND(t->bool_val, t->n_bool_val, 0);
    r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_BOOL && r->nbytes == 3);
    if (r && r->nbytes == 3) CHECK(memcmp(r->data, "\1\0\0", 3) == 0);
    tf_graph_free(g);

    /* double_val */
    n = node("d", "Const");
    t = add_tensor(n, TF_DT_DOUBLE, 1, (int64_t[]){2});
    APPEND(t->double_val, t->n_double_val, 1e300);
    r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_DOUBLE && r->nbytes == 16);
    if (r && r->nbytes == 16) CHECK(((const double *)r->data)[0] == 1e300 && ((const double *)r->data)[1] == 1e300);
    tf_graph_free(g);

    /* strings keep dtype and shape only */
    n = node("s", "Const");
    t = add_tensor(n, TF_DT_STRING, 1, (int64_t[]){2});
    APPEND(t->string_val, t->n_string_val, ((ProtobufCBinaryData){1, (uint8_t *)"a"}));
    APPEND(t->string_val, t->n_string_val, ((ProtobufCBinaryData){1, (uint8_t *)"b"}));
    r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_STRING && r->shape.rank == 1 && r->shape.dims[0] == 2);
    CHECK(r && !r->data && r->nbytes == 0);
    tf_graph_free(g);

    /* zero elements */
    n = node("empty", "Const");
    add_tensor(n, TF_DT_FLOAT, 2, (int64_t[]){0, 3});
    r = read_tensor(n, &g);
    CHECK(r && r->dtype == TF_DT_FLOAT && r->nbytes == 0 && r->shape.dims[1] == 3);
    tf_graph_free(g);
    arena_free();
}

static void test_tensor_errors(void) {
    Tensorflow__NodeDef *n = node("conv1/weights", "Const");
    Tensorflow__TensorProto *t = add_tensor(n, TF_DT_FLOAT, 4, (int64_t[]){3, 3, 3, 32});
    t->tensor_content = (ProtobufCBinaryData){100, arena(100)};
    expect_error(&n, 1,
                 "test.pb: node 'conv1/weights': attr 'value': tensor_content has 100 bytes, shape "
                 "float32[3,3,3,32] needs 3456");

    n = node("absurd", "Const");
    add_tensor(n, TF_DT_FLOAT, 3, (int64_t[]){100000, 100000, 1000});
    expect_error(&n, 1, "node 'absurd': attr 'value': tensor shape float32[100000,100000,1000] has more than 2^31");

    n = node("huge", "Const"); /* 2^30 repeated floats: 4 GiB */
    t = add_tensor(n, TF_DT_FLOAT, 1, (int64_t[]){(int64_t)1 << 30});
    APPEND(t->float_val, t->n_float_val, 1.0f);
    expect_error(&n, 1, "over the 2 GiB limit");

    n = node("neg", "Const");
    add_tensor(n, TF_DT_INT32, 2, (int64_t[]){2, -5});
    expect_error(&n, 1, "attr 'value': shape dimension 1 is -5");

    n = node("unknown", "Const");
    add_tensor(n, TF_DT_INT32, 2, (int64_t[]){2, -1});
    expect_error(&n, 1, "tensor shape int32[2,?] is not fully known");

    n = node("rank9", "Const");
    add_tensor(n, TF_DT_INT32, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1});
    expect_error(&n, 1, "shape has rank 9, over the limit of 8");

    n = node("nodtype", "Const");
    add_tensor(n, TF_DT_INVALID, 0, NULL);
    expect_error(&n, 1, "node 'nodtype': attr 'value': tensor has no dtype");

    n = node("list", "Op");
    Tensorflow__AttrValue *v = add_attr(n, "shapes");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_LIST;
    v->list = arena(sizeof *v->list);
    tensorflow__attr_value__list_value__init(v->list);
    APPEND(v->list->shape, v->list->n_shape, shape(1, (int64_t[]){3}));
    APPEND(v->list->shape, v->list->n_shape, shape(1, (int64_t[]){-2}));
    expect_error(&n, 1, "node 'list': attr 'shapes': shape 1 of the list: shape dimension 0 is -2");

    n = node("tensors", "Op");
    v = add_attr(n, "values");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_LIST;
    v->list = arena(sizeof *v->list);
    tensorflow__attr_value__list_value__init(v->list);
    Tensorflow__TensorProto *lt = arena(sizeof *lt);
    tensorflow__tensor_proto__init(lt);
    lt->dtype = TENSORFLOW__DATA_TYPE__DT_FLOAT;
    APPEND(v->list->tensor, v->list->n_tensor, lt);
    expect_error(&n, 1, "node 'tensors': attr 'values': lists of tensors are not supported");
    arena_free();
}

static void test_node_errors(void) {
    Tensorflow__NodeDef *nodes[2] = {node("a", "Const"), node("", "Const")};
    expect_error(nodes, 2, "test.pb: node 1 has no name");
    nodes[1] = node("b", "");
    expect_error(nodes, 2, "test.pb: node 'b' has no op");
    arena_free();
}

/* Every prefix of a valid GraphDef, and every single-byte corruption, reads
 * cleanly: a graph or an error, never a crash (run under ASan). */
static void test_truncated_and_corrupt(void) {
    Tensorflow__NodeDef *nodes[3] = {node("x", "Placeholder"), node("w", "Const"), node("y", "MatMul")};
    Tensorflow__AttrValue *v = add_attr(nodes[0], "shape");
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_SHAPE;
    v->shape = shape(2, (int64_t[]){-1, 3});
    Tensorflow__TensorProto *t = add_tensor(nodes[1], TF_DT_FLOAT, 2, (int64_t[]){3, 2});
    APPEND(t->float_val, t->n_float_val, 0.5f);
    APPEND(nodes[2]->input, nodes[2]->n_input, (char *)"x");
    APPEND(nodes[2]->input, nodes[2]->n_input, (char *)"w");
    size_t size;
    uint8_t *full = pack_nodes(nodes, 3, &size);

    int failed = 0;
    for (size_t len = 1; len < size; len++) {
        uint8_t *copy = malloc(len); /* exact size, so ASan sees any overread */
        memcpy(copy, full, len);
        tf_graph *g = read_pb(copy, len, "test.pb");
        if (g) CHECK(g->n_nodes < 3);
        else {
            failed++;
            CHECK(strncmp(kc_last_error(), "test.pb: ", 9) == 0);
        }
        tf_graph_free(g);
        free(copy);
    }
    CHECK(failed > (int)size / 2);
    expect_bytes_error(full, size - 1, "test.pb: not a valid GraphDef: malformed protobuf at byte offset ");
    expect_bytes_error(full, size - 1, "runs past the end of its message");
    expect_bytes_error(full, 5, "at byte offset 0: field 1 runs past the end of its message");

    for (size_t at = 0; at < size; at++) {
        for (int flip = 0; flip < 2; flip++) {
            uint8_t *copy = malloc(size);
            memcpy(copy, full, size);
            copy[at] = flip ? 0xff : (uint8_t)(copy[at] ^ 0x5a);
            tf_graph_free(read_pb(copy, size, "test.pb"));
            free(copy);
        }
    }
    arena_free();
}

static void test_not_a_graphdef(void) {
    expect_bytes_error((const uint8_t *)"", 0, "test.pb: empty, not a GraphDef");
    const char *text = "node { name: \"x\" op: \"Placeholder\" }";
    expect_bytes_error((const uint8_t *)text, strlen(text),
                       "test.pb: not a valid GraphDef: malformed protobuf at byte offset 0:");
    /* a SavedModel starts with field 1 as a varint */
    expect_bytes_error((const uint8_t[]){0x08, 0x01}, 2, "at byte offset 0: field 1 has wire type 0, not a message");
    /* field 3 of a TensorShapeProto.Dim nested in the node's attr: wire type 3 at byte 13 */
    const uint8_t nested[] = {0x0a, 0x0c, 0x2a, 0x0a, 0x0a, 0x01, 'a', 0x12, 0x05, 0x3a, 0x03, 0x12, 0x01, 0x1b};
    expect_bytes_error(nested, sizeof nested, "at byte offset 13: field 3 has invalid wire type 3");
    /* well framed, but NodeDef.name (a string) sent as a varint: only protobuf-c notices */
    expect_bytes_error((const uint8_t[]){0x0a, 0x02, 0x08, 0x01}, 4,
                       "test.pb: not a valid GraphDef (protobuf parse failed)");
}

/* attr func -> NameAttrList attr -> AttrValue func ... nested `depth` times. */
static Tensorflow__NodeDef *nested_funcs(int depth) {
    Tensorflow__NodeDef *n = node("call", "PartitionedCall");
    Tensorflow__AttrValue *v = add_attr(n, "f");
    for (int k = 0; k < depth; k++) {
        v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_FUNC;
        v->func = arena(sizeof *v->func);
        tensorflow__name_attr_list__init(v->func);
        v->func->name = (char *)"fn";
        Tensorflow__NameAttrList__AttrEntry *e = arena(sizeof *e);
        tensorflow__name_attr_list__attr_entry__init(e);
        e->key = (char *)"g";
        e->value = attr_value();
        APPEND(v->func->attr, v->func->n_attr, e);
        v = e->value;
    }
    return n;
}

static void test_nesting_limit(void) {
    Tensorflow__NodeDef *n = nested_funcs(10);
    tf_graph *g = read_nodes(&n, 1);
    const tf_attr *a = g ? tf_node_attr(&g->nodes[0], "f") : NULL;
    CHECK(a && a->kind == TF_ATTR_FUNC && strcmp(a->s, "fn") == 0);
    tf_graph_free(g);
    n = nested_funcs(100);
    expect_error(&n, 1, "messages nested deeper than 64");
    arena_free();
}

/* TF_MAX_NODES + 1 empty nodes (2 bytes each): refused by the scan, before
 * protobuf-c would allocate them; exactly TF_MAX_NODES pass the scan. */
static void test_node_limit(void) {
    size_t n = (size_t)TF_MAX_NODES + 1;
    uint8_t *d = malloc(2 * n);
    CHECK(d != NULL);
    if (!d) return;
    for (size_t i = 0; i < n; i++) d[2 * i] = 0x0a, d[2 * i + 1] = 0; /* field 1 (node), length 0 */
    char want[64];
    snprintf(want, sizeof want, "at byte offset %zu: more than %d nodes", 2 * (n - 1), TF_MAX_NODES);
    expect_bytes_error(d, 2 * n, want);
    free(d);
}

static void test_read_pb_file(void) {
    tf_graph *g = read_pb_file("/nonexistent/model.pb");
    CHECK(!g && strstr(kc_last_error(), "/nonexistent/model.pb: No such file") != NULL);
    g = read_pb_file("/");
    CHECK(!g && strcmp(kc_last_error(), "/: not a regular file") == 0);

    Tensorflow__NodeDef *nodes[2] = {node("x", "Placeholder"), node("y", "Relu")};
    APPEND(nodes[1]->input, nodes[1]->n_input, (char *)"x");
    size_t size;
    uint8_t *buf = pack_nodes(nodes, 2, &size);
    char path[] = "/tmp/kiln_test_read_pb_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) {
        arena_free();
        return;
    }
    CHECK(write(fd, buf, size) == (ssize_t)size);
    close(fd);
    g = read_pb_file(path);
    CHECK(g && g->n_nodes == 2 && strcmp(g->nodes[1].inputs[0], "x") == 0);
    tf_graph_free(g);

    CHECK(truncate(path, 0) == 0);
    g = read_pb_file(path);
    CHECK(!g && strstr(kc_last_error(), "empty, not a GraphDef") != NULL);
    unlink(path);
    arena_free();
}

int main(void) {
    RUN(test_nodes_and_inputs);
    RUN(test_scalar_attrs);
    RUN(test_list_attrs);
    RUN(test_duplicate_attr_last_wins);
    RUN(test_tensor_content);
    RUN(test_typed_values);
    RUN(test_tensor_errors);
    RUN(test_node_errors);
    RUN(test_truncated_and_corrupt);
    RUN(test_not_a_graphdef);
    RUN(test_nesting_limit);
    RUN(test_node_limit);
    RUN(test_read_pb_file);
    return check_summary();
}
