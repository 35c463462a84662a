/*
 * zip.h — a small reader of zip archives held in memory (PKWARE APPNOTE):
 * the central directory, stored and deflated entries, CRC-32 checked.
 * Every offset and length is checked against the buffer; ZIP64, multi-disk
 * archives and encrypted entries are refused. Errors go to kc_error as
 * "<name>: <what>" naming the entry and byte offset.
 */
#ifndef KILN_ZIP_H
#define KILN_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A deflated entry may expand at most this many times, once over 1 MiB:
 * model files compress little (random-looking floats), while a zip bomb
 * reaches deflate's limit of ~1032. */
#define ZIP_RATIO_MAX 100

typedef struct zip_entry {
    const char *name; /* in the archive, not NUL-terminated */
    size_t name_len;
    uint16_t flags, method;
    uint32_t crc, csize, usize;
    uint32_t local_offset; /* its local header */
} zip_entry;

typedef struct zip_archive {
    const char *name; /* for messages */
    const unsigned char *data;
    size_t size;
    zip_entry *entries;
    size_t n_entries;
} zip_archive;

/* Reads the central directory of data[0..size), which must outlive z.
 * False after kc_error. */
bool zip_open(zip_archive *z, const unsigned char *data, size_t size, const char *name);
void zip_close(zip_archive *z);

/* The entry called `name`, or NULL (without kc_error) if there is none; a
 * name that appears twice is an error (*dup set, after kc_error). */
const zip_entry *zip_find(const zip_archive *z, const char *name, bool *dup);

/* The entry's bytes: for a stored entry a pointer into the archive (*owned
 * NULL), for a deflated one a malloc'd buffer (*owned, to free). Refuses
 * entries declaring more than `limit` bytes or over ZIP_RATIO_MAX; checks the
 * local header, the sizes and the CRC. False after kc_error. */
bool zip_read(const zip_archive *z, const zip_entry *e, uint64_t limit, const unsigned char **data, size_t *len,
              unsigned char **owned);

#endif
