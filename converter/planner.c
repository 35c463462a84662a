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

static bool overlap_in_time(const kc_buffer *a, const kc_buffer *b) { return a->first <= b->last && b->first <= a->last; }

static int by_offset(const void *a, const void *b, void *bufs_v) {
    const kc_buffer *bufs = bufs_v;
    size_t x = bufs[*(const int *)a].offset, y = bufs[*(const int *)b].offset;
    return x < y ? -1 : x > y;
}

bool kc_plan_memory(kc_buffer *bufs, int n, size_t align, size_t *arena_size) {
    int *order = malloc(sizeof(int) * (size_t)(n ? n : 1));
    int *tmp = malloc(sizeof(int) * (size_t)(n ? n : 1));
    int *placed = malloc(sizeof(int) * (size_t)(n ? n : 1)); /* placed buffers, kept sorted by offset */
    if (!order || !tmp || !placed) {
        free(order);
        free(tmp);
        free(placed);
        return false;
    }
    for (int i = 0; i < n; i++) order[i] = i;
    sort_indices(order, tmp, n, bufs);
    size_t total = 0;
    int n_placed = 0;
    for (int oi = 0; oi < n; oi++) {
        kc_buffer *b = &bufs[order[oi]];
        /* Walk the placed buffers by offset; take the first gap that fits among those alive with b. */
        size_t candidate = 0;
        for (int pi = 0; pi < n_placed; pi++) {
            const kc_buffer *q = &bufs[placed[pi]];
            if (!overlap_in_time(b, q)) continue;
            if (q->offset >= candidate + b->size) break;
            size_t end = align_up(q->offset + q->size, align);
            if (end > candidate) candidate = end;
        }
        b->offset = candidate;
        if (candidate + b->size > total) total = candidate + b->size;
        /* Insert into the offset-sorted list. */
        int at = n_placed;
        while (at > 0 && by_offset(&placed[at - 1], &order[oi], bufs) > 0) {
            placed[at] = placed[at - 1];
            at--;
        }
        placed[at] = order[oi];
        n_placed++;
    }
    *arena_size = align_up(total, align);
    free(order);
    free(tmp);
    free(placed);
    return true;
}
