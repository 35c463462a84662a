#define _POSIX_C_SOURCE 200809L /* fseeko */

#include "tensor_bundle.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"
#include "files.h"
#include "kn.h"
#include "snappy.h"
#include "tensor_bundle.pb-c.h"

/* LevelDB's table layout (table/format.h): a 48-byte footer ends the file. */
#define FOOTER_SIZE 48
#define TABLE_MAGIC 0xdb4775248b80fb57ull
#define TRAILER_SIZE 5 /* after every block: compression type, masked CRC-32C */
#define NO_COMPRESSION 0
#define SNAPPY_COMPRESSION 1
#define MAX_INDEX_BYTES ((uint64_t)1 << 31)
#define MAX_TENSOR_BYTES ((uint64_t)1 << 31) /* as read_pb.c's limit on constants */
/* Keys are tensor names, far shorter than these; the limits stop a table whose
 * keys share ever longer prefixes (4 bytes an entry) from taking memory
 * quadratic in its size. */
#define MAX_KEY_BYTES (1 << 16)
#define MAX_KEYS_TOTAL ((size_t)1 << 28)
#define BUNDLE_VERSION 1 /* the checkpoint format version TF writes and reads today */

typedef struct entry {
    const char *key;
    int dtype;
    bool unknown_rank;
    size_t n_dims; /* may exceed TF_MAX_RANK: refused when read */
    int64_t dims[TF_MAX_RANK];
    int32_t shard;
    int64_t offset, size;
    uint32_t crc; /* masked */
    bool sliced;
} entry;

struct tb_reader {
    tf_graph *pool; /* keys and paths */
    const char *prefix, *index_path;
    int num_shards;
    bool have_header;
    entry *entries; /* in key order: the table's */
    size_t n, cap;
    size_t key_bytes; /* all keys' */
    /* The shard read last, kept open: tensors are read in key order, mostly from one shard. */
    FILE *shard;
    int shard_id;
    uint64_t shard_size;
    char *shard_path;
};

/* The index file in memory, while tb_open parses it. */
typedef struct table {
    tb_reader *r;
    const uint8_t *data;
    size_t size;
    uint64_t next_block; /* data blocks must come in file order, so none is read twice */
} table;

/* Where in the index a problem is: a byte of the file, or of a block's decompressed contents. */
typedef struct loc {
    uint64_t block; /* the block's offset in the file (or the byte's, for a file position) */
    size_t pos;     /* in the block's contents */
    bool compressed;
} loc;

static loc file_byte(uint64_t at) { return (loc){.block = at}; }

/* LevelDB and TF store CRCs masked, so that a CRC of data holding CRCs stays strong. */
static uint32_t masked_crc(const void *data, size_t n) {
    uint32_t crc = kn_crc32c(data, n);
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool oom(void) {
    kc_error("out of memory");
    return false;
}

KC_PRINTF(3, 4) static bool corrupt(const table *t, loc at, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at.compressed)
        kc_error("%s: corrupt table: %s at byte %zu of the Snappy block at byte %llu", t->r->index_path, msg, at.pos,
                 (unsigned long long)at.block);
    else
        kc_error("%s: corrupt table: %s at byte %llu", t->r->index_path, msg, (unsigned long long)(at.block + at.pos));
    return false;
}

/* A varint32 (LevelDB's entry lengths) at *pos, below end. */
static bool read_varint32(const uint8_t *d, size_t *pos, size_t end, uint64_t *v) {
    return tf_read_varint(d, pos, end, v) && *v <= UINT32_MAX;
}

typedef struct handle {
    uint64_t offset, size;
} handle;

/* A BlockHandle (two varint64s) at d[*pos..end); `at` is its place, for messages. */
static bool read_handle(const table *t, const uint8_t *d, size_t *pos, size_t end, loc at, handle *h) {
    if (!tf_read_varint(d, pos, end, &h->offset) || !tf_read_varint(d, pos, end, &h->size))
        return corrupt(t, at, "bad block handle varint");
    return true;
}

/* The contents of the block at h, checksum checked and decompressed. *owned is
 * set when they were allocated (free them), else they point into the file. */
static bool read_block(const table *t, handle h, const uint8_t **out, size_t *len, uint8_t **owned) {
    *owned = NULL;
    if (h.offset > t->size || h.size > t->size - h.offset || TRAILER_SIZE > t->size - h.offset - h.size)
        return corrupt(t, file_byte(h.offset), "block of %llu bytes past the end of the file (%zu bytes)",
                       (unsigned long long)h.size, t->size);
    const uint8_t *block = t->data + h.offset, *trailer = block + h.size;
    uint32_t stored = le32(trailer + 1), computed = masked_crc(block, (size_t)h.size + 1); /* contents + type */
    if (stored != computed)
        return corrupt(t, file_byte(h.offset), "block checksum mismatch (stored 0x%08x, computed 0x%08x)", stored,
                       computed);
    if (trailer[0] == NO_COMPRESSION) {
        *out = block;
        *len = (size_t)h.size;
        return true;
    }
    if (trailer[0] != SNAPPY_COMPRESSION)
        return corrupt(t, file_byte(h.offset), "unknown block compression type %d", trailer[0]);
    if (snappy_uncompressed_length(block, (size_t)h.size, len)) {
        if (!(*owned = malloc(*len ? *len : 1)))
            return oom();
        if (snappy_decompress(block, (size_t)h.size, *owned, *len)) {
            *out = *owned;
            return true;
        }
        free(*owned);
        *owned = NULL;
    }
    kc_error_prefix("%s: corrupt table: block at byte %llu", t->r->index_path, (unsigned long long)h.offset);
    return false;
}

/* Called with each key/value of a block; returns false with kc_error set to stop. */
typedef bool (*entry_fn)(table *t, loc at, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len);

/* Walks the entries of a block (keys prefix-compressed against the previous
 * one; the restart array at the end is only needed for seeking, so it is
 * only bounds-checked). Offsets in messages are the block's in the file plus
 * the entry's in the block's (uncompressed) contents. */
static bool walk_block(table *t, handle h, entry_fn fn) {
    const uint8_t *d = NULL;
    uint8_t *owned;
    size_t n = 0;
    if (!read_block(t, h, &d, &n, &owned))
        return false;
    bool ok = false;
    char *key = NULL;
    size_t key_len = 0, pos = 0, end;
    if (n < 4) {
        corrupt(t, file_byte(h.offset), "block of %zu bytes has no restart count", n);
        goto done;
    }
    uint32_t restarts = le32(d + n - 4);
    if (restarts > (n - 4) / 4) {
        corrupt(t, file_byte(h.offset), "restart count %u too large for a block of %zu bytes", restarts, n);
        goto done;
    }
    end = n - 4 - 4 * (size_t)restarts;
    if (!(key = malloc(end + 1))) { /* no key is longer than the block's entries */
        oom();
        goto done;
    }
    while (pos < end) {
        loc at = {.block = h.offset, .pos = pos, .compressed = owned != NULL};
        uint64_t shared, fresh, value_len;
        if (!read_varint32(d, &pos, end, &shared) || !read_varint32(d, &pos, end, &fresh) ||
            !read_varint32(d, &pos, end, &value_len)) {
            corrupt(t, at, "bad entry header varint");
            goto done;
        }
        if (shared > key_len || fresh > end - pos || value_len > end - pos - fresh) {
            corrupt(t, at, "entry (shared %llu, new %llu, value %llu bytes) does not fit its block",
                    (unsigned long long)shared, (unsigned long long)fresh, (unsigned long long)value_len);
            goto done;
        }
        memcpy(key + shared, d + pos, (size_t)fresh);
        key_len = (size_t)(shared + fresh);
        pos += (size_t)fresh;
        at.pos = pos; /* messages about the value point at it */
        if (!fn(t, at, (const uint8_t *)key, key_len, d + pos, (size_t)value_len))
            goto done;
        pos += (size_t)value_len;
    }
    ok = true;
done:
    free(key);
    free(owned);
    return ok;
}

static bool read_header(const table *t, loc at, const uint8_t *value, size_t len) {
    tb_reader *r = t->r;
    Tensorflow__BundleHeaderProto *h = tensorflow__bundle_header_proto__unpack(NULL, len, value);
    if (!h)
        return corrupt(t, at, "header (key \"\") is not a BundleHeaderProto");
    bool ok = false;
    if (h->num_shards < 1)
        kc_error("%s: header says %d shards", r->index_path, h->num_shards);
    else if (h->endianness != TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__LITTLE)
        kc_error("%s: big-endian checkpoints are not supported", r->index_path);
    else if (h->version && h->version->min_consumer > BUNDLE_VERSION)
        kc_error("%s: checkpoint format version %d or newer is needed to read it (this reader: %d)", r->index_path,
                 h->version->min_consumer, BUNDLE_VERSION);
    else
        ok = true;
    r->num_shards = h->num_shards;
    r->have_header = true;
    tensorflow__bundle_header_proto__free_unpacked(h, NULL);
    return ok;
}

/* One key/value of a data block: the header or a tensor's entry. */
static bool add_entry(table *t, loc at, const uint8_t *key, size_t key_len, const uint8_t *value, size_t len) {
    tb_reader *r = t->r;
    /* Keys must increase (bytewise), which the binary search in tb_read relies on; "" is the smallest. */
    const char *prev = r->n ? r->entries[r->n - 1].key : NULL;
    if (key_len == 0) {
        if (r->have_header || prev)
            return corrupt(t, at, "header key \"\" is not the first key");
        return read_header(t, at, value, len);
    }
    if (key_len > MAX_KEY_BYTES || key_len > MAX_KEYS_TOTAL - r->key_bytes)
        return corrupt(t, at, "key of %zu bytes (keys so far: %zu bytes), over the limit", key_len, r->key_bytes);
    r->key_bytes += key_len;
    if (memchr(key, '\0', key_len))
        return corrupt(t, at, "key with a NUL byte");
    if (prev) {
        size_t prev_len = strlen(prev);
        int c = memcmp(prev, key, prev_len < key_len ? prev_len : key_len);
        if (c > 0 || (c == 0 && prev_len >= key_len))
            return corrupt(t, at, "key '%.*s' is not after '%s'", (int)key_len, (const char *)key, prev);
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        entry *bigger = realloc(r->entries, cap * sizeof *bigger);
        if (!bigger)
            return oom();
        r->entries = bigger;
        r->cap = cap;
    }
    entry *e = &r->entries[r->n];
    if (!(e->key = tf_strndup(r->pool, (const char *)key, key_len)))
        return oom();
    Tensorflow__BundleEntryProto *p = tensorflow__bundle_entry_proto__unpack(NULL, len, value);
    if (!p)
        return corrupt(t, at, "key '%s': value is not a BundleEntryProto", e->key);
    e->dtype = (int)p->dtype;
    e->unknown_rank = !p->shape || p->shape->unknown_rank;
    e->n_dims = p->shape ? p->shape->n_dim : 0;
    for (size_t i = 0; i < e->n_dims && i < TF_MAX_RANK; i++)
        e->dims[i] = p->shape->dim[i]->size;
    e->shard = p->shard_id;
    e->offset = p->offset;
    e->size = p->size;
    e->crc = p->crc32c;
    e->sliced = p->n_slices > 0;
    tensorflow__bundle_entry_proto__free_unpacked(p, NULL);
    r->n++;
    return true;
}

/* One key/value of the index block: the handle of a data block. */
static bool walk_data_block(table *t, loc at, const uint8_t *key, size_t key_len, const uint8_t *value, size_t len) {
    (void)key, (void)key_len;
    handle h;
    size_t pos = 0;
    if (!read_handle(t, value, &pos, len, at, &h))
        return false;
    if (h.offset < t->next_block)
        return corrupt(t, at, "data block at byte %llu overlaps the one before", (unsigned long long)h.offset);
    if (!walk_block(t, h, add_entry))
        return false;
    t->next_block = h.offset + h.size; /* no overflow: read_block checked it against the file size */
    return true;
}

static bool parse_table(table *t) {
    if (t->size < FOOTER_SIZE)
        return corrupt(t, file_byte(0), "file of %zu bytes is shorter than a table footer", t->size);
    size_t footer = t->size - FOOTER_SIZE, pos = footer;
    uint64_t magic = le32(t->data + t->size - 8) | (uint64_t)le32(t->data + t->size - 4) << 32;
    if (magic != TABLE_MAGIC)
        return corrupt(t, file_byte(t->size - 8), "bad magic number 0x%016llx", (unsigned long long)magic);
    handle metaindex, index;
    if (!read_handle(t, t->data, &pos, t->size - 8, file_byte(footer), &metaindex) ||
        !read_handle(t, t->data, &pos, t->size - 8, file_byte(footer), &index))
        return false;
    /* The metaindex block lists filters, which a reader that walks every key
     * does not need; it is only checked, as a sign of a damaged file. */
    const uint8_t *meta;
    size_t meta_len;
    uint8_t *owned;
    if (!read_block(t, metaindex, &meta, &meta_len, &owned))
        return false;
    free(owned);
    if (!walk_block(t, index, walk_data_block))
        return false;
    if (!t->r->have_header) {
        kc_error("%s: no header entry (key \"\"): not a TensorFlow checkpoint index", t->r->index_path);
        return false;
    }
    return true;
}

static char *concat(tf_graph *pool, const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    char *s = tf_alloc(pool, na + nb + 1);
    if (s) {
        memcpy(s, a, na);
        memcpy(s + na, b, nb);
    }
    return s;
}

tb_reader *tb_open(const char *prefix) {
    tb_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->pool = tf_graph_new())) {
        free(r);
        oom();
        return NULL;
    }
    r->shard_id = -1;
    if (!(r->prefix = tf_strdup(r->pool, prefix)) || !(r->index_path = concat(r->pool, prefix, ".index"))) {
        oom();
        tb_close(r);
        return NULL;
    }
    table t = {.r = r};
    uint8_t *data = kc_read_file(r->index_path, MAX_INDEX_BYTES, &t.size);
    t.data = data;
    bool ok = data && parse_table(&t);
    free(data);
    if (!ok) {
        tb_close(r);
        return NULL;
    }
    return r;
}

void tb_close(tb_reader *r) {
    if (!r)
        return;
    if (r->shard)
        fclose(r->shard);
    free(r->shard_path);
    free(r->entries);
    tf_graph_free(r->pool);
    free(r);
}

size_t tb_count(const tb_reader *r) { return r->n; }

const char *tb_key(const tb_reader *r, size_t i) { return i < r->n ? r->entries[i].key : NULL; }

static const entry *find(const tb_reader *r, const char *key) {
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        /* strcmp compares as unsigned char, the table's bytewise order */
        int c = strcmp(r->entries[mid].key, key);
        if (c == 0)
            return &r->entries[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Opens shard e->shard (closing the one open before); false with kc_error set. */
static bool open_shard(tb_reader *r, int id) {
    if (r->shard_id == id)
        return true;
    if (r->shard)
        fclose(r->shard);
    r->shard = NULL;
    r->shard_id = -1;
    free(r->shard_path);
    int n = snprintf(NULL, 0, "%s.data-%05d-of-%05d", r->prefix, id, r->num_shards);
    if (n < 0 || !(r->shard_path = malloc((size_t)n + 1)))
        return oom();
    snprintf(r->shard_path, (size_t)n + 1, "%s.data-%05d-of-%05d", r->prefix, id, r->num_shards);
    struct stat st;
    if (!(r->shard = fopen(r->shard_path, "rb")) || fstat(fileno(r->shard), &st) != 0) {
        kc_error("%s: %s", r->shard_path, strerror(errno));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        kc_error("%s: not a regular file", r->shard_path);
        return false;
    }
    r->shard_id = id;
    r->shard_size = (uint64_t)st.st_size;
    return true;
}

/* Checks e's dtype, shape and extent against its shard, for tb_read; fills the
 * shape and element count. */
static bool check_entry(tb_reader *r, const entry *e, tf_shape *shape, size_t *count) {
    const char *name = tf_dtype_name(e->dtype);
    size_t in_size = tf_dtype_size(e->dtype);
    if (e->sliced) {
        kc_error("%s: '%s' is stored in slices (a partitioned variable), which is not supported", r->index_path,
                 e->key);
        return false;
    }
    if (!in_size) {
        if (name)
            kc_error("%s: '%s' is %s, which is not supported", r->index_path, e->key, name);
        else
            kc_error("%s: '%s' has unknown dtype %d", r->index_path, e->key, e->dtype);
        return false;
    }
    if (e->unknown_rank || e->n_dims > TF_MAX_RANK) {
        kc_error("%s: '%s' has %s", r->index_path, e->key, e->unknown_rank ? "no shape" : "more than 8 dimensions");
        return false;
    }
    *shape = (tf_shape){.rank = (int)e->n_dims};
    memcpy(shape->dims, e->dims, sizeof e->dims);
    for (int d = 0; d < shape->rank; d++)
        if (shape->dims[d] < 0) {
            kc_error("%s: '%s' has a negative dimension", r->index_path, e->key);
            return false;
        }
    int64_t n = tf_shape_count(shape); /* -1 on overflow */
    size_t out_size = tf_dtype_size(e->dtype == TF_DT_HALF ? TF_DT_FLOAT : e->dtype);
    if (n < 0 || (uint64_t)n > MAX_TENSOR_BYTES / out_size) {
        kc_error("%s: '%s' is over %llu bytes", r->index_path, e->key, (unsigned long long)MAX_TENSOR_BYTES);
        return false;
    }
    if (e->size != n * (int64_t)in_size) {
        kc_error("%s: '%s' has %lld bytes, but %lld elements of %s need %lld", r->index_path, e->key,
                 (long long)e->size, (long long)n, name, (long long)(n * (int64_t)in_size));
        return false;
    }
    if (e->shard < 0 || e->shard >= r->num_shards) {
        kc_error("%s: '%s' is in shard %d of %d", r->index_path, e->key, e->shard, r->num_shards);
        return false;
    }
    if (!open_shard(r, e->shard)) {
        kc_error_prefix("tensor '%s'", e->key);
        return false;
    }
    if (e->offset < 0 || (uint64_t)e->offset > r->shard_size ||
        (uint64_t)e->size > r->shard_size - (uint64_t)e->offset) {
        kc_error("%s: '%s' is at bytes [%lld, %lld), past the end of the file (%llu bytes)", r->shard_path, e->key,
                 (long long)e->offset, (long long)e->offset + (long long)e->size, (unsigned long long)r->shard_size);
        return false;
    }
    *count = (size_t)n;
    return true;
}

bool tb_read(tb_reader *r, const char *key, tf_graph *g, tf_tensor **out) {
    const entry *e = find(r, key);
    if (!e) {
        kc_error("%s: no tensor '%s'", r->index_path, key);
        return false;
    }
    tf_shape shape;
    size_t count;
    if (!check_entry(r, e, &shape, &count))
        return false;
    bool half = e->dtype == TF_DT_HALF;
    tf_tensor *t = tf_alloc(g, sizeof *t);
    if (!t)
        return oom();
    t->dtype = half ? TF_DT_FLOAT : e->dtype;
    t->shape = shape;
    t->nbytes = count * tf_dtype_size(t->dtype);
    /* float16 is read into a scratch buffer, then widened into the pool */
    uint8_t *raw = half ? malloc(e->size ? (size_t)e->size : 1) : NULL;
    t->data = tf_alloc(g, t->nbytes);
    if ((half && !raw) || !t->data) {
        free(raw);
        return oom();
    }
    uint8_t *bytes = half ? raw : t->data;
    bool ok = false;
    if (fseeko(r->shard, (off_t)e->offset, SEEK_SET) != 0 ||
        fread(bytes, 1, (size_t)e->size, r->shard) != (size_t)e->size) {
        kc_error("%s: '%s': read of %lld bytes at byte %lld failed: %s", r->shard_path, e->key, (long long)e->size,
                 (long long)e->offset, ferror(r->shard) ? strerror(errno) : "file shrank while reading");
    } else {
        uint32_t computed = masked_crc(bytes, (size_t)e->size);
        if (computed != e->crc)
            kc_error("%s: '%s': checksum mismatch over bytes [%lld, %lld) (stored 0x%08x, computed 0x%08x)",
                     r->shard_path, e->key, (long long)e->offset, (long long)(e->offset + e->size), e->crc, computed);
        else
            ok = true;
    }
    if (ok && half)
        for (size_t i = 0; i < count; i++)
            ((float *)t->data)[i] = tf_half_to_float((uint16_t)(raw[2 * i] | raw[2 * i + 1] << 8));
    if (ok && e->dtype == TF_DT_BOOL) /* C bools must be 0 or 1 */
        for (size_t i = 0; i < count; i++)
            bytes[i] = bytes[i] != 0;
    free(raw);
    if (ok)
        *out = t;
    return ok;
}
