#include "tf_graph.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A simple bump pool: the graph is built once and freed at once. */
typedef struct pool_block {
    struct pool_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} pool_block;

struct tf_pool {
    pool_block *head;
};

static const struct {
    int dtype;
    const char *name;
    size_t size;
} dtypes[] = {
    {TF_DT_FLOAT, "DT_FLOAT", 4},   {TF_DT_DOUBLE, "DT_DOUBLE", 8}, {TF_DT_INT32, "DT_INT32", 4},
    {TF_DT_UINT8, "DT_UINT8", 1},   {TF_DT_INT16, "DT_INT16", 2},   {TF_DT_INT8, "DT_INT8", 1},
    {TF_DT_STRING, "DT_STRING", 0}, {TF_DT_INT64, "DT_INT64", 8},   {TF_DT_BOOL, "DT_BOOL", 1},
    {TF_DT_QINT8, "DT_QINT8", 1},   {TF_DT_QUINT8, "DT_QUINT8", 1}, {TF_DT_QINT32, "DT_QINT32", 4},
    {TF_DT_HALF, "DT_HALF", 2},     {TF_DT_RESOURCE, "DT_RESOURCE", 0}, {TF_DT_VARIANT, "DT_VARIANT", 0},
    {TF_DT_UINT32, "DT_UINT32", 4}, {TF_DT_UINT64, "DT_UINT64", 8},
};

const char *tf_dtype_name(int dtype) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].dtype == dtype) return dtypes[i].name;
    return NULL;
}

int tf_dtype_from_name(const char *name) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(dtypes[i].name, name) == 0) return dtypes[i].dtype;
    return -1;
}

size_t tf_dtype_size(int dtype) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].dtype == dtype) return dtypes[i].size;
    return 0;
}

tf_graph *tf_graph_new(void) {
    tf_graph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->pool = calloc(1, sizeof *g->pool);
    if (!g->pool) {
        free(g);
        return NULL;
    }
    return g;
}

void tf_graph_free(tf_graph *g) {
    if (!g) return;
    for (pool_block *b = g->pool->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(g->pool);
    free(g->nodes);
    free(g);
}

void *tf_alloc(tf_graph *g, size_t size) {
    if (size > SIZE_MAX - sizeof(pool_block) - 15) return NULL;
    size = (size + 15) & ~(size_t)15;
    pool_block *b = g->pool->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > (1u << 20) ? size : (1u << 20);
        pool_block *nb = malloc(sizeof *nb + cap);
        if (!nb) return NULL;
        nb->used = 0;
        nb->cap = cap;
        /* A block made for one large allocation goes behind the head, which keeps serving small ones. */
        if (b && cap == size) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            g->pool->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *tf_strndup(tf_graph *g, const char *s, size_t n) {
    char *d = tf_alloc(g, n + 1);
    if (d) memcpy(d, s, n);
    return d;
}

char *tf_strdup(tf_graph *g, const char *s) { return tf_strndup(g, s, strlen(s)); }

tf_node *tf_graph_add_node(tf_graph *g) {
    if (g->n_nodes == g->nodes_cap) {
        int cap = g->nodes_cap ? g->nodes_cap * 2 : 64;
        tf_node *nodes = realloc(g->nodes, sizeof *nodes * (size_t)cap);
        if (!nodes) return NULL;
        g->nodes = nodes;
        g->nodes_cap = cap;
    }
    tf_node *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    return n;
}

tf_attr *tf_node_add_attr(tf_graph *g, tf_node *n, const char *name) {
    if (n->n_attrs == n->attrs_cap) {
        int cap = n->attrs_cap ? n->attrs_cap * 2 : 8;
        tf_attr *attrs = tf_alloc(g, sizeof *attrs * (size_t)cap);
        if (!attrs) return NULL;
        if (n->n_attrs) memcpy(attrs, n->attrs, sizeof *attrs * (size_t)n->n_attrs);
        n->attrs = attrs;
        n->attrs_cap = cap;
    }
    tf_attr *a = &n->attrs[n->n_attrs];
    memset(a, 0, sizeof *a);
    a->name = tf_strdup(g, name);
    if (!a->name) return NULL;
    n->n_attrs++;
    return a;
}

const tf_attr *tf_node_attr(const tf_node *n, const char *name) {
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t tf_shape_count(const tf_shape *s) {
    if (s->unknown_rank) return -1;
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->dims[i] < 0) return -1;
        if (s->dims[i] && n > INT64_MAX / s->dims[i]) return -1;
        n *= s->dims[i];
    }
    return n;
}

float tf_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = h >> 10 & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) {
        float f = ldexpf((float)mant, -24); /* zero or subnormal, exact */
        return sign ? -f : f;
    }
    if (exp == 31)
        bits = sign | 0x7f800000u | mant << 13; /* inf, or NaN keeping its payload */
    else
        bits = sign | (exp + 112) << 23 | mant << 13;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

bool tf_read_varint(const uint8_t *d, size_t *pos, size_t end, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 70 && *pos < end; shift += 7) {
        uint8_t b = d[(*pos)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

