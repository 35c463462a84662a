#include "zip.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "diag.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64_LOCATOR 0x07064b50u
#define END_SIZE 22
#define CENTRAL_SIZE 46
#define LOCAL_SIZE 30

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* The end of central directory record: the last signature from which a
 * record with its comment fits in the file. */
static bool find_end(const zip_archive *z, size_t *at) {
    if (z->size < END_SIZE) {
        kc_error("%s: %zu bytes is too short for a zip archive", z->name, z->size);
        return false;
    }
    size_t last = z->size - END_SIZE, lowest = last > 0xffff ? last - 0xffff : 0;
    for (size_t i = last + 1; i-- > lowest;)
        if (le32(z->data + i) == SIG_END && le16(z->data + i + 20) <= z->size - i - END_SIZE) {
            *at = i;
            return true;
        }
    kc_error("%s: not a zip archive (no end of central directory record)", z->name);
    return false;
}

bool zip_open(zip_archive *z, const unsigned char *data, size_t size, const char *name) {
    *z = (zip_archive){.name = name, .data = data, .size = size};
    size_t end;
    if (!find_end(z, &end)) return false;
    const unsigned char *e = data + end;
    uint16_t disk = le16(e + 4), cd_disk = le16(e + 6), here = le16(e + 8), total = le16(e + 10);
    uint32_t cd_size = le32(e + 12), cd_offset = le32(e + 16);
    if ((end >= 20 && le32(data + end - 20) == SIG_END64_LOCATOR) || total == 0xffff || cd_size == 0xffffffffu ||
        cd_offset == 0xffffffffu) {
        kc_error("%s: ZIP64 archives are not supported", name);
        return false;
    }
    if (disk || cd_disk || here != total) {
        kc_error("%s: byte %zu: archives split over several disks are not supported", name, end);
        return false;
    }
    if (cd_offset > end || cd_size > end - cd_offset) {
        kc_error("%s: byte %zu: the central directory (%u bytes at byte %u) is outside the archive's %zu bytes", name,
                 end, cd_size, cd_offset, end);
        return false;
    }
    if (!(z->entries = calloc(total ? total : 1, sizeof *z->entries))) {
        kc_error("%s: out of memory", name);
        return false;
    }
    size_t at = cd_offset, cd_end = (size_t)cd_offset + cd_size;
    for (; z->n_entries < total; z->n_entries++) {
        const unsigned char *c = data + at;
        if (cd_end - at < CENTRAL_SIZE || le32(c) != SIG_CENTRAL) {
            kc_error("%s: byte %zu: central directory entry %zu of %u is missing or damaged", name, at, z->n_entries,
                     total);
            zip_close(z);
            return false;
        }
        zip_entry *ze = &z->entries[z->n_entries];
        size_t name_len = le16(c + 28), extra = le16(c + 30), comment = le16(c + 32);
        if (name_len + extra + comment > cd_end - at - CENTRAL_SIZE) {
            kc_error("%s: byte %zu: central directory entry %zu runs past the directory", name, at, z->n_entries);
            zip_close(z);
            return false;
        }
        *ze = (zip_entry){(const char *)c + CENTRAL_SIZE, name_len, le16(c + 8), le16(c + 10), le32(c + 16),
                          le32(c + 20), le32(c + 24), le32(c + 42)};
        if (ze->csize == 0xffffffffu || ze->usize == 0xffffffffu || ze->local_offset == 0xffffffffu) {
            kc_error("%s: byte %zu: entry \"%.*s\" needs ZIP64, which is not supported", name, at, (int)name_len,
                     ze->name);
            zip_close(z);
            return false;
        }
        at += CENTRAL_SIZE + name_len + extra + comment;
    }
    return true;
}

void zip_close(zip_archive *z) {
    free(z->entries);
    z->entries = NULL;
    z->n_entries = 0;
}

const zip_entry *zip_find(const zip_archive *z, const char *name, bool *dup) {
    size_t n = strlen(name);
    const zip_entry *hit = NULL;
    *dup = false;
    for (size_t i = 0; i < z->n_entries; i++) {
        const zip_entry *e = &z->entries[i];
        if (e->name_len != n || memcmp(e->name, name, n) != 0) continue;
        if (hit) {
            kc_error("%s: the archive holds \"%s\" twice", z->name, name);
            *dup = true;
            return NULL;
        }
        hit = e;
    }
    return hit;
}

static bool inflate_entry(const zip_archive *z, const zip_entry *e, const unsigned char *src, unsigned char *dst) {
    z_stream s = {.next_in = (unsigned char *)src, .avail_in = e->csize, .next_out = dst, .avail_out = e->usize};
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK) { /* raw deflate, as zip stores it */
        kc_error("%s: %.*s: out of memory", z->name, (int)e->name_len, e->name);
        return false;
    }
    int rc = inflate(&s, Z_FINISH);
    uLong out = s.total_out;
    bool more = rc == Z_BUF_ERROR && s.avail_out == 0 && s.avail_in > 0;
    inflateEnd(&s);
    if (rc == Z_STREAM_END && out == e->usize) return true;
    if (more)
        kc_error("%s: %.*s: inflates to more than its declared %u bytes", z->name, (int)e->name_len, e->name,
                 e->usize);
    else if (rc == Z_STREAM_END || rc == Z_BUF_ERROR)
        kc_error("%s: %.*s: the deflate data ends after %lu of its declared %u bytes", z->name, (int)e->name_len,
                 e->name, out, e->usize);
    else
        kc_error("%s: %.*s: damaged deflate data (%s)", z->name, (int)e->name_len, e->name,
                 s.msg ? s.msg : "zlib error");
    return false;
}

bool zip_read(const zip_archive *z, const zip_entry *e, uint64_t limit, const unsigned char **data, size_t *len,
              unsigned char **owned) {
    const char *zn = z->name;
    int nl = (int)e->name_len;
    *owned = NULL;
    if (e->flags & 1) {
        kc_error("%s: %.*s: encrypted entries are not supported", zn, nl, e->name);
        return false;
    }
    if (e->method != 0 && e->method != 8) {
        kc_error("%s: %.*s: compression method %u is not supported (stored and deflate are)", zn, nl, e->name,
                 e->method);
        return false;
    }
    if (e->usize > limit) {
        kc_error("%s: %.*s: declares %u bytes, over the limit of %llu", zn, nl, e->name, e->usize,
                 (unsigned long long)limit);
        return false;
    }
    if (e->method == 8 && e->usize > (1u << 20) && e->usize / ZIP_RATIO_MAX > e->csize) {
        kc_error("%s: %.*s: %u bytes deflated to %u is over the limit of %d:1 compression (a zip bomb?)", zn, nl,
                 e->name, e->usize, e->csize, ZIP_RATIO_MAX);
        return false;
    }
    size_t at = e->local_offset;
    const unsigned char *h = z->data + at;
    if (at > z->size || z->size - at < LOCAL_SIZE || le32(h) != SIG_LOCAL) {
        kc_error("%s: byte %zu: the local header of \"%.*s\" is missing or damaged", zn, at, nl, e->name);
        return false;
    }
    size_t start = at + LOCAL_SIZE + le16(h + 26) + le16(h + 28);
    if (le16(h + 26) != e->name_len || memcmp(h + LOCAL_SIZE, e->name, e->name_len) != 0 || start > z->size ||
        z->size - start < e->csize) {
        kc_error("%s: byte %zu: the local header of \"%.*s\" does not match the central directory, or its data "
                 "runs past the end",
                 zn, at, nl, e->name);
        return false;
    }
    const unsigned char *src = z->data + start;
    if (e->method == 0) {
        if (e->csize != e->usize) {
            kc_error("%s: %.*s: a stored entry of %u bytes declares %u uncompressed", zn, nl, e->name, e->csize,
                     e->usize);
            return false;
        }
        *data = src;
    } else {
        if (!(*owned = malloc(e->usize ? e->usize : 1))) {
            kc_error("%s: %.*s: out of memory", zn, nl, e->name);
            return false;
        }
        if (!inflate_entry(z, e, src, *owned)) {
            free(*owned);
            *owned = NULL;
            return false;
        }
        *data = *owned;
    }
    *len = e->usize;
    uint32_t crc = (uint32_t)crc32(0, *data, e->usize);
    if (crc != e->crc) {
        kc_error("%s: %.*s: CRC-32 %08x does not match the declared %08x (the archive is damaged)", zn, nl, e->name,
                 crc, e->crc);
        free(*owned);
        *owned = NULL;
        return false;
    }
    return true;
}
