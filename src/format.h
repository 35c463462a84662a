/*
 * The .kiln bundle format, version 1. Shared by the loader (src/model.c)
 * and the writer (converter/writer.c); docs/BUNDLE.md describes it in prose.
 *
 * All integers are little-endian. The file is:
 *
 *   header       kn_header, 128 bytes
 *   sections     each starts on a 64-byte boundary:
 *     STRINGS    NUL-terminated UTF-8 names, referenced by byte offset
 *     TENSORS    n_tensors records: kn_tensor_rec, then `rank` int32 dims
 *     IO         n_inputs then n_outputs tensor ids (u32)
 *     PLAN       n_steps variable-length step records (u32 words)
 *     WEIGHTS    constant tensor data, each tensor 16-byte aligned
 *
 * A step record is:
 *   word 0   op (low 16 bits) | n_inputs (bits 16-23) | n_outputs (24-31)
 *   word 1   n_params
 *   word 2   node name (STRINGS offset, KN_NO_STRING if none)
 *   then     n_inputs tensor ids (KN_NO_TENSOR for an absent optional operand)
 *   then     n_outputs tensor ids
 *   then     n_params parameter words (the op's params struct, src/ops/params.h)
 *
 * The checksum is CRC-32C of bytes [12, file_size).
 */
#ifndef KILN_FORMAT_H
#define KILN_FORMAT_H

#include <stdint.h>

#define KN_MAGIC 0x4e4c494bu /* "KILN" read as a little-endian u32 */
#define KN_FORMAT_VERSION 1u
#define KN_HEADER_SIZE 128u
#define KN_ALIGN 64u        /* sections, and arena tensors */
#define KN_WEIGHT_ALIGN 16u /* constant tensors inside WEIGHTS */
#define KN_NO_STRING 0xffffffffu
#define KN_NO_TENSOR 0xffffffffu

enum kn_section { KN_SEC_STRINGS, KN_SEC_TENSORS, KN_SEC_IO, KN_SEC_PLAN, KN_SEC_WEIGHTS, KN_SEC_COUNT };

enum kn_storage {
    KN_STORAGE_ARENA = 0,  /* offset is into the context's arena */
    KN_STORAGE_WEIGHTS = 1 /* offset is into the WEIGHTS section */
};

typedef struct kn_header {
    uint32_t magic;
    uint32_t version;
    uint32_t checksum;
    uint32_t header_size;
    uint64_t file_size;
    uint64_t arena_size;
    uint32_t n_tensors;
    uint32_t n_steps;
    uint32_t n_inputs;
    uint32_t n_outputs;
    struct { uint64_t offset, size; } sections[KN_SEC_COUNT];
} kn_header;

/* A tensor record's fixed part; its dims follow it. */
typedef struct kn_tensor_rec {
    uint32_t name;   /* STRINGS offset or KN_NO_STRING */
    uint8_t dtype;   /* kiln_dtype */
    uint8_t rank;
    uint8_t storage; /* kn_storage */
    uint8_t reserved;
    uint64_t offset; /* 16-byte aligned, into the arena or the WEIGHTS section */
} kn_tensor_rec;

#define KN_STEP_HEADER_WORDS 3u

_Static_assert(sizeof(kn_header) == KN_HEADER_SIZE, "kn_header is 128 bytes");
_Static_assert(sizeof(kn_tensor_rec) == 16, "kn_tensor_rec is 16 bytes");

#endif
