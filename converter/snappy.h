/*
 * snappy.h — decompression of raw Snappy blocks (no framing format), as
 * LevelDB-format tables (a checkpoint's `.index`) store compressed blocks.
 * Every length, offset and copy is checked against the buffers.
 */
#ifndef KILN_SNAPPY_H
#define KILN_SNAPPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The uncompressed length the block declares (its leading varint). False
 * with kc_error set if the varint is cut off or too long, or the length is
 * more than any Snappy stream of n bytes can produce. */
bool snappy_uncompressed_length(const uint8_t *in, size_t n, size_t *len);

/* Decompresses in[0..n) into out, exactly out_len bytes (the declared length).
 * False with kc_error set (what and at which byte of the block) if the stream
 * is malformed: a cut-off element, a copy from before the output's start or
 * with offset 0, or output longer or shorter than declared. */
bool snappy_decompress(const uint8_t *in, size_t n, uint8_t *out, size_t out_len);

#endif
