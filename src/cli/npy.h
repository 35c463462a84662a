/*
 * npy.h — read and write NumPy .npy files, the tensor files kiln-run takes and
 * gives. Only what Kiln's tensors can hold: float32, int32, uint8 and bool,
 * little-endian, C order, rank <= KILN_MAX_RANK, dims <= INT32_MAX.
 *
 * Both calls return 0 on success and -1 on failure, with a message naming the
 * file and what was wrong in err[0..errlen).
 */
#ifndef KILN_CLI_NPY_H
#define KILN_CLI_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "kiln.h"

typedef struct npy_array {
    kiln_dtype dtype;
    int rank;
    int32_t dims[KILN_MAX_RANK];
    size_t count;  /* elements: the product of dims (1 for rank 0) */
    size_t nbytes; /* count * element size */
    void *data;    /* malloc'd, nbytes long (never NULL after a successful read) */
} npy_array;

/* Reads a .npy file of format version 1.0, 2.0 or 3.0. On failure *out is
 * left empty (npy_free on it is harmless). */
int npy_read(const char *path, npy_array *out, char *err, size_t errlen);

/* Frees what npy_read allocated and empties the array. */
void npy_free(npy_array *a);

/* Writes a version 1.0 file whose data starts at a multiple of 64 bytes.
 * Atomic: the file is written as PATH.tmp, then renamed to PATH. `data` holds
 * the product of dims elements (it may be NULL when that is 0). */
int npy_write(const char *path, kiln_dtype dtype, const int32_t *dims, int rank, const void *data,
              char *err, size_t errlen);

#endif
