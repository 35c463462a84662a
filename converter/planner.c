#include "planner.h"

#include <stdlib.h>

static size_t align_up(size_t v, size_t align) { return (v + align - 1) & ~(align - 1); }

static int by_size_desc(const void *a, const void *b, void *bufs_v) {
    const kc_buffer *bufs = bufs_v;
    const kc_buffer *x = &bufs[*(const int *)a], *y = &bufs[*(const int *)b];
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return *(const int *)a - *(const int *)b; /* stable: same input, same plan */
}

/* qsort has no context argument in C11, so a small merge sort. */
static void sort_indices(int *idx, int *tmp, int n, kc_buffer *bufs) {
    if (n < 2) return;
    int half = n / 2;
    sort_indices(idx, tmp, half, bufs);
    sort_indices(idx + half, tmp, n - half, bufs);
    int i = 0, j = half, k = 0;
    while (i < half && j < n) tmp[k++] = by_size_desc(&idx[j], &idx[i], bufs) < 0 ? idx[j++] : idx[i++];
    while (i < half) tmp[k++] = idx[i++];
    while (j < n) tmp[k++] = idx[j++];
    for (k = 0; k < n; k++) idx[k] = tmp[k];
}

/*
 * The placed buffers, indexed by lifetime: a segment tree over plan steps. A
 * buffer is stored at the O(log steps) nodes that together cover its lifetime
 * exactly; `count` is how many entries a subtree holds, so a query only walks
 * subtrees that hold some. Finding the placed buffers alive with a new one
 * costs O((log steps + k) log steps) for k of them, instead of a walk over
 * every placed buffer (which made planning quadratic: 80,000 steps took 13 s).
 */
typedef struct {
    int **items, *n_items, *cap_items, *count;
    int leaves;
} lifetime_index;

static bool index_init(lifetime_index *ix, int steps) {
    ix->leaves = 1;
    while (ix->leaves < steps) ix->leaves *= 2;
    size_t nodes = 2 * (size_t)ix->leaves;
    ix->items = calloc(nodes, sizeof *ix->items);
    ix->n_items = calloc(nodes, sizeof *ix->n_items);
    ix->cap_items = calloc(nodes, sizeof *ix->cap_items);
    ix->count = calloc(nodes, sizeof *ix->count);
    return ix->items && ix->n_items && ix->cap_items && ix->count;
}

static void index_free(lifetime_index *ix) {
    for (size_t i = 0; ix->items && i < 2 * (size_t)ix->leaves; i++) free(ix->items[i]);
    free(ix->items);
    free(ix->n_items);
    free(ix->cap_items);
    free(ix->count);
}

/* Stores buffer id at the nodes under `node` (steps [lo, hi]) covering [first, last]; false on OOM. */
static bool index_add(lifetime_index *ix, int node, int lo, int hi, int first, int last, int id) {
    if (last < lo || hi < first) return true;
    ix->count[node]++;
    if (first <= lo && hi <= last) {
        if (ix->n_items[node] == ix->cap_items[node]) {
            int cap = ix->cap_items[node] ? 2 * ix->cap_items[node] : 4;
            int *grown = realloc(ix->items[node], sizeof(int) * (size_t)cap);
            if (!grown) return false;
            ix->items[node] = grown;
            ix->cap_items[node] = cap;
        }
        ix->items[node][ix->n_items[node]++] = id;
        return true;
    }
    int mid = lo + (hi - lo) / 2;
    return index_add(ix, 2 * node, lo, mid, first, last, id) && index_add(ix, 2 * node + 1, mid + 1, hi, first, last, id);
}

/* A placed buffer's extent in the arena. */
typedef struct {
    size_t offset, end;
} extent;

/* Appends the extents of the placed buffers alive during [first, last] to out
 * (each once: seen[id] == stamp marks those already taken). */
static void index_query(const lifetime_index *ix, int node, int lo, int hi, int first, int last, const kc_buffer *bufs,
                        int *seen, int stamp, extent *out, int *n_out) {
    if (!ix->count[node] || last < lo || hi < first) return;
    for (int i = 0; i < ix->n_items[node]; i++) {
        int id = ix->items[node][i];
        if (seen[id] == stamp) continue;
        seen[id] = stamp;
        out[(*n_out)++] = (extent){bufs[id].offset, bufs[id].offset + bufs[id].size};
    }
    if (lo == hi) return;
    int mid = lo + (hi - lo) / 2;
    index_query(ix, 2 * node, lo, mid, first, last, bufs, seen, stamp, out, n_out);
    index_query(ix, 2 * node + 1, mid + 1, hi, first, last, bufs, seen, stamp, out, n_out);
}

static int by_offset(const void *a, const void *b) {
    size_t x = ((const extent *)a)->offset, y = ((const extent *)b)->offset;
    return x < y ? -1 : x > y;
}

bool kc_plan_memory(kc_buffer *bufs, int n, size_t align, size_t *arena_size) {
    int steps = 1;
    for (int i = 0; i < n; i++)
        if (bufs[i].first >= 0 && bufs[i].last >= bufs[i].first && bufs[i].last >= steps) steps = bufs[i].last + 1;
    size_t m = (size_t)(n ? n : 1);
    int *order = malloc(sizeof(int) * m), *tmp = malloc(sizeof(int) * m), *seen = malloc(sizeof(int) * m);
    extent *alive = malloc(sizeof(extent) * m);
    lifetime_index ix = {0};
    bool ok = order && tmp && seen && alive && index_init(&ix, steps);
    size_t total = 0;
    for (int i = 0; ok && i < n; i++) {
        order[i] = i;
        seen[i] = -1;
    }
    if (ok) sort_indices(order, tmp, n, bufs);
    for (int oi = 0; ok && oi < n; oi++) {
        kc_buffer *b = &bufs[order[oi]];
        int first = b->first < 0 ? 0 : b->first, last = b->last < first ? first : b->last, n_alive = 0;
        /* The first gap that fits among the buffers alive with b, by offset. */
        index_query(&ix, 1, 0, ix.leaves - 1, first, last, bufs, seen, oi, alive, &n_alive);
        qsort(alive, (size_t)n_alive, sizeof *alive, by_offset);
        size_t candidate = 0;
        for (int k = 0; k < n_alive && alive[k].offset < candidate + b->size; k++) {
            size_t end = align_up(alive[k].end, align);
            if (end > candidate) candidate = end;
        }
        b->offset = candidate;
        if (candidate + b->size > total) total = candidate + b->size;
        ok = index_add(&ix, 1, 0, ix.leaves - 1, first, last, order[oi]);
    }
    *arena_size = align_up(total, align);
    index_free(&ix);
    free(order);
    free(tmp);
    free(seen);
    free(alive);
    return ok;
}
