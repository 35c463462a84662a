/*
 * tf_graph.h — a TensorFlow GraphDef in memory, as the model readers give it
 * to the converter. Both readers (read_pb.c for binary GraphDefs, read_tfjs.c
 * for tfjs model.json) produce this; graph passes and lowering consume it.
 *
 * All memory belongs to the graph's pool and is freed by tf_graph_free.
 */
#ifndef KILN_TF_GRAPH_H
#define KILN_TF_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TensorFlow's DataType numbers (tensorflow/core/framework/types.proto). */
enum tf_dtype {
    TF_DT_INVALID = 0,
    TF_DT_FLOAT = 1,
    TF_DT_DOUBLE = 2,
    TF_DT_INT32 = 3,
    TF_DT_UINT8 = 4,
    TF_DT_INT16 = 5,
    TF_DT_INT8 = 6,
    TF_DT_STRING = 7,
    TF_DT_INT64 = 9,
    TF_DT_BOOL = 10,
    TF_DT_QINT8 = 11,
    TF_DT_QUINT8 = 12,
    TF_DT_QINT32 = 13,
    TF_DT_HALF = 19,
    TF_DT_RESOURCE = 20,
    TF_DT_VARIANT = 21,
    TF_DT_UINT32 = 22,
    TF_DT_UINT64 = 23
};

/* Name of a DataType ("DT_FLOAT"), or NULL; and the reverse (-1 if unknown). */
const char *tf_dtype_name(int dtype);
int tf_dtype_from_name(const char *name);
/* Bytes per element for fixed-size dtypes, 0 otherwise. */
size_t tf_dtype_size(int dtype);

#define TF_MAX_RANK 8
/* Nodes in one graph: far above real models (the largest have ~10^5), low enough
 * that a hostile file cannot make the converter's per-node memory run away. */
#define TF_MAX_NODES (1 << 22)

typedef struct tf_shape {
    bool unknown_rank;
    int rank;
    int64_t dims[TF_MAX_RANK]; /* -1 for an unknown dimension */
} tf_shape;

/* A constant value. `data` holds count(shape) elements of `dtype` in host
 * order (float16 already widened to float32 by the readers, so dtype is
 * TF_DT_FLOAT then); strings are not kept. */
typedef struct tf_tensor {
    int dtype;
    tf_shape shape;
    void *data;
    size_t nbytes;
} tf_tensor;

typedef enum tf_attr_kind {
    TF_ATTR_NONE = 0, /* present with no value */
    TF_ATTR_S,
    TF_ATTR_I,
    TF_ATTR_F,
    TF_ATTR_B,
    TF_ATTR_TYPE,
    TF_ATTR_SHAPE,
    TF_ATTR_TENSOR,
    TF_ATTR_FUNC, /* name only, in s */
    TF_ATTR_LIST  /* list: the members below with n > 0 say which kind */
} tf_attr_kind;

typedef struct tf_attr {
    const char *name;
    tf_attr_kind kind;
    /* scalar values */
    const char *s; /* bytes, NUL-terminated for convenience; s_len excludes the NUL */
    size_t s_len;
    int64_t i;
    float f;
    bool b;
    int type;
    tf_shape shape;
    tf_tensor *tensor;
    /* list values (kind == TF_ATTR_LIST); an empty list has all counts 0 */
    size_t n_s, n_i, n_f, n_b, n_type, n_shape;
    const char **list_s;
    size_t *list_s_len;
    int64_t *list_i;
    float *list_f;
    bool *list_b;
    int *list_type;
    tf_shape *list_shape;
} tf_attr;

typedef struct tf_node {
    const char *name;
    const char *op;
    const char **inputs; /* "node", "node:2" or "^control" as in the GraphDef */
    int n_inputs;
    tf_attr *attrs;
    int n_attrs;
    int attrs_cap;
} tf_node;

/* A named graph endpoint from a model signature: key and tensor ("x:0"). */
typedef struct tf_endpoint {
    const char *key;
    const char *tensor;
} tf_endpoint;

typedef struct tf_pool tf_pool;

typedef struct tf_graph {
    tf_node *nodes;
    int n_nodes;
    int nodes_cap;
    /* From the model's signature, when it has one (tfjs "signature"). */
    tf_endpoint *sig_inputs, *sig_outputs;
    int n_sig_inputs, n_sig_outputs;
    tf_pool *pool;
} tf_graph;

tf_graph *tf_graph_new(void);
void tf_graph_free(tf_graph *g);

/* Pool allocation for everything a graph owns. Returns NULL only when out of
 * memory. Memory is zeroed. */
void *tf_alloc(tf_graph *g, size_t size);
char *tf_strdup(tf_graph *g, const char *s);
char *tf_strndup(tf_graph *g, const char *s, size_t n);

/* Appends a node (zeroed) and returns it; NULL when out of memory. The
 * returned pointer is valid until the next tf_graph_add_node. */
tf_node *tf_graph_add_node(tf_graph *g);
/* Appends an attr (zeroed, with its name set) to a node; NULL on OOM. */
tf_attr *tf_node_add_attr(tf_graph *g, tf_node *n, const char *name);

const tf_attr *tf_node_attr(const tf_node *n, const char *name);

/* Elements in a fully known shape, or -1 if unknown or overflowing. */
int64_t tf_shape_count(const tf_shape *s);

/* The exact float32 value of IEEE binary16 bits (NaN payloads kept). */
float tf_half_to_float(uint16_t h);

/* A protobuf / LevelDB varint at d[*pos, end), advancing *pos; false if it is
 * cut off or longer than 10 bytes. */
bool tf_read_varint(const uint8_t *d, size_t *pos, size_t end, uint64_t *v);

#endif
