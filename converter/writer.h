/* writer.h — plans the arena and serializes a kc_program as a .kiln bundle
 * (format: src/format.h, docs/BUNDLE.md). */
#ifndef KILN_WRITER_H
#define KILN_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "program.h"

typedef struct kc_bundle_stats {
    size_t file_size;
    size_t weights_size;      /* bytes of constant data (without alignment padding) */
    size_t arena_size;        /* planned arena */
    size_t activations_size;  /* sum of all arena tensors, had each its own buffer */
    int n_steps, n_tensors, n_weights;
} kc_bundle_stats;

/* Builds the whole bundle in memory (malloc'd into *bytes). */
bool kc_build_bundle(const kc_program *p, uint8_t **bytes, size_t *size, kc_bundle_stats *stats);


#endif
