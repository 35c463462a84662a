/*
 * planner.h — static memory planning: place every intermediate tensor in one
 * arena so that tensors alive at the same time never overlap. Greedy by
 * size, as in TFLite Micro's GreedyMemoryPlanner and XNNPACK: the largest
 * buffer is placed first, each at the lowest offset that does not collide
 * with an already placed buffer whose lifetime intersects its own.
 */
#ifndef KILN_PLANNER_H
#define KILN_PLANNER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kc_buffer {
    size_t size;
    int first, last; /* inclusive range of plan steps during which the buffer is alive */
    size_t offset;   /* set by kc_plan_memory */
} kc_buffer;

/* Assigns each buffer an offset aligned to `align` (a power of two) and
 * returns the arena size; false only when out of memory. */
bool kc_plan_memory(kc_buffer *bufs, int n, size_t align, size_t *arena_size);

#endif
