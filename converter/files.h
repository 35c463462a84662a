/*
 * files.h — whole files in and out, for the readers and kiln-convert. Errors go
 * through kc_error and name the path.
 */
#ifndef KILN_FILES_H
#define KILN_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* The whole of the regular file `path`, of at most `max` bytes, in a malloc'd
 * buffer (*size set); NULL with kc_error set ("PATH: No such file or
 * directory", "PATH: N bytes, over the M-byte limit", ...). */
uint8_t *kc_read_file(const char *path, uint64_t max, size_t *size);

/* Writes bytes to path through a temporary file next to it and a rename: a
 * failure leaves nothing behind and never replaces a good file with a
 * partial one. False with kc_error set. */
bool kc_write_file_atomic(const char *path, const uint8_t *bytes, size_t size);

#endif
