/* TensorFlow checkpoint (tensor bundle) reader: the real SavedModel fixtures
 * against their known values and shapes, tables built here (uncompressed and
 * Snappy blocks) against hand-written tensors, raw Snappy streams against
 * hand-decoded bytes, and damaged files (flipped and cut bytes, missing and
 * short shards), which must always fail with a message and never crash. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "diag.h"
#include "snappy.h"
#include "tensor_bundle.h"
#include "tensor_bundle.pb-c.h"

#define FIXTURES "tests/data/savedmodel/"

/* ---- Files in a temp dir ------------------------------------------------- */

static char dir[64];
static char files[16][32];
static int n_files;

static const char *path_of(const char *name) {
    static char p[128];
    snprintf(p, sizeof p, "%s/%.31s", dir, name);
    return p;
}

static void write_file(const char *name, const void *data, size_t len) {
    /* A new file rather than a truncated one: ext4 flushes a file rewritten
     * through truncation on close, which made this test take 25 s instead of 0.4 s. */
    unlink(path_of(name));
    FILE *f = fopen(path_of(name), "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len))
        abort();
    fclose(f);
    for (int i = 0; i < n_files; i++)
        if (strcmp(files[i], name) == 0)
            return;
    if (n_files == 16)
        abort();
    snprintf(files[n_files++], sizeof files[0], "%s", name);
}

static uint8_t *load(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        abort();
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc(*n + 1);
    if (!d || fread(d, 1, *n, f) != *n)
        abort();
    fclose(f);
    return d;
}

/* The last error mentions a and b (b may be NULL). */
static bool error_has(const char *a, const char *b) {
    const char *e = kc_last_error();
    bool ok = e && strstr(e, a) && (!b || strstr(e, b));
    if (!ok)
        fprintf(stderr, "  error was: %s (wanted '%s'%s%s)\n", e ? e : "(none)", a, b ? " and " : "", b ? b : "");
    return ok;
}

/* ---- The real fixtures ---------------------------------------------------- */

/* Reads key as a float scalar; NAN if it fails. */
static float read_scalar(tb_reader *r, const char *key, tf_graph *g) {
    tf_tensor *t;
    if (!tb_read(r, key, g, &t)) {
        fprintf(stderr, "  %s: %s\n", key, kc_last_error());
        return NAN;
    }
    CHECK(t->dtype == TF_DT_FLOAT && t->shape.rank == 0 && t->nbytes == 4);
    return t->nbytes == 4 ? *(float *)t->data : NAN;
}

static void test_half_plus_two_tf1(void) {
    tb_reader *r = tb_open(FIXTURES "half_plus_two_tf1/variables/variables");
    CHECK(r != NULL);
    if (!r)
        return;
    /* y = a*x + b with a = 0.5, b = 2 (and c = 3 for half_plus_three); the
     * 20-byte shard holds five floats */
    static const char *keys[] = {"a", "a2", "b", "c", "c2"};
    static const float want[] = {0.5f, 0.5f, 2.0f, 3.0f, 3.0f};
    CHECK(tb_count(r) == 5);
    tf_graph *g = tf_graph_new();
    for (size_t i = 0; i < 5 && i < tb_count(r); i++) {
        CHECK(strcmp(tb_key(r, i), keys[i]) == 0);
        CHECK_NEAR(read_scalar(r, keys[i], g), want[i], 0);
    }
    CHECK(tb_key(r, 5) == NULL);
    tf_tensor *t;
    CHECK(!tb_read(r, "nope", g, &t) && error_has("variables.index", "no tensor 'nope'"));
    tf_graph_free(g);
    tb_close(r);
}

static void test_half_plus_two_tf2(void) {
    tb_reader *r = tb_open(FIXTURES "half_plus_two_tf2/variables/variables");
    CHECK(r != NULL);
    if (!r)
        return;
    static const char *keys[] = {"_CHECKPOINTABLE_OBJECT_GRAPH", "a/.ATTRIBUTES/VARIABLE_VALUE",
                                 "b/.ATTRIBUTES/VARIABLE_VALUE", "c/.ATTRIBUTES/VARIABLE_VALUE"};
    CHECK(tb_count(r) == 4);
    for (size_t i = 0; i < 4 && i < tb_count(r); i++)
        CHECK(strcmp(tb_key(r, i), keys[i]) == 0);
    tf_graph *g = tf_graph_new();
    CHECK_NEAR(read_scalar(r, keys[1], g), 0.5, 0);
    CHECK_NEAR(read_scalar(r, keys[2], g), 2.0, 0);
    CHECK_NEAR(read_scalar(r, keys[3], g), 3.0, 0);
    tf_tensor *t;
    CHECK(!tb_read(r, keys[0], g, &t) && error_has("_CHECKPOINTABLE_OBJECT_GRAPH", "DT_STRING"));
    tf_graph_free(g);
    tb_close(r);
}

static bool dims_are(const tf_tensor *t, int rank, int64_t d0, int64_t d1) {
    return t->shape.rank == rank && (rank < 1 || t->shape.dims[0] == d0) && (rank < 2 || t->shape.dims[1] == d1);
}

/* Keras MLP 13 -> 40 -> 30 -> 20 -> 15 -> 10 -> 5 -> 1 (tests/data/README.md), trained with Adam. */
static void test_churn_mlp(void) {
    tb_reader *r = tb_open(FIXTURES "churn_mlp/variables/variables");
    CHECK(r != NULL);
    if (!r)
        return;
    static const int64_t width[] = {13, 40, 30, 20, 15, 10, 5, 1};
    tf_graph *g = tf_graph_new();
    /* 7 layers' kernel and bias, Adam's m and v for each, 4 metric values,
     * the iteration count, the learning rate and the object graph */
    CHECK(tb_count(r) == 7 * 2 * 3 + 4 + 2 + 1);
    int read = 0;
    for (size_t i = 0; i < tb_count(r); i++) {
        tf_tensor *t;
        if (tb_read(r, tb_key(r, i), g, &t))
            read++;
        else
            CHECK(strcmp(tb_key(r, i), "_CHECKPOINTABLE_OBJECT_GRAPH") == 0 && error_has("DT_STRING", NULL));
    }
    CHECK(read == 48);
    char key[96];
    tf_tensor *t;
    for (int k = 0; k < 7; k++) {
        snprintf(key, sizeof key, "layer_with_weights-%d/kernel/.ATTRIBUTES/VARIABLE_VALUE", k);
        CHECK(tb_read(r, key, g, &t) && t->dtype == TF_DT_FLOAT && dims_are(t, 2, width[k], width[k + 1]));
        snprintf(key, sizeof key, "layer_with_weights-%d/bias/.ATTRIBUTES/VARIABLE_VALUE", k);
        CHECK(tb_read(r, key, g, &t) && t->dtype == TF_DT_FLOAT && dims_are(t, 1, width[k + 1], 0));
        /* Adam's slots follow the weights in order: m then v, kernel then bias */
        for (int slot = 0; slot < 4; slot++) {
            snprintf(key, sizeof key, "optimizer/_variables/%d/.ATTRIBUTES/VARIABLE_VALUE", 4 * k + slot + 1);
            bool ok = tb_read(r, key, g, &t);
            CHECK(ok && (slot < 2 ? dims_are(t, 2, width[k], width[k + 1]) : dims_are(t, 1, width[k + 1], 0)));
            if (ok && slot % 2 == 1) /* v, a running mean of squared gradients, is never negative */
                for (size_t e = 0; e < t->nbytes / 4; e++)
                    CHECK(((float *)t->data)[e] >= 0);
        }
    }
    CHECK(tb_read(r, "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE", g, &t) && t->dtype == TF_DT_INT64 &&
          t->shape.rank == 0 && *(int64_t *)t->data > 0);
    CHECK_NEAR(read_scalar(r, "optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE", g), 0.001, 1e-9);
    tf_graph_free(g);
    tb_close(r);
}

/* ---- Damaged copies of the fixtures --------------------------------------- */

/* Every key of prefix read as floats (NULL for those that fail), to compare two readings. */
typedef struct listing {
    size_t n;
    char **keys;
    float **values;
    size_t *counts;
} listing;

static void list_free(listing *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]), free(l->values[i]);
    free(l->keys), free(l->values), free(l->counts);
}

static bool list_all(const char *prefix, listing *l) {
    tb_reader *r = tb_open(prefix);
    if (!r)
        return false;
    tf_graph *g = tf_graph_new();
    l->n = tb_count(r);
    l->keys = calloc(l->n, sizeof *l->keys);
    l->values = calloc(l->n, sizeof *l->values);
    l->counts = calloc(l->n, sizeof *l->counts);
    for (size_t i = 0; i < l->n; i++) {
        l->keys[i] = strdup(tb_key(r, i));
        tf_tensor *t;
        if (tb_read(r, l->keys[i], g, &t) && t->dtype == TF_DT_FLOAT) {
            l->counts[i] = t->nbytes / 4;
            l->values[i] = malloc(t->nbytes + 1);
            memcpy(l->values[i], t->data, t->nbytes);
        }
    }
    tf_graph_free(g);
    tb_close(r);
    return true;
}

static bool same_listing(const listing *a, const listing *b) {
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->keys[i], b->keys[i]) != 0 || a->counts[i] != b->counts[i] || (!a->values[i]) != (!b->values[i]) ||
            (a->values[i] && memcmp(a->values[i], b->values[i], 4 * a->counts[i]) != 0))
            return false;
    return true;
}

/* Every cut of the index fails; every flipped byte fails, except in the
 * footer's padding (the only bytes no checksum covers), where the reading
 * must then be the same as the intact file's. */
static void check_damaged_index(const uint8_t *index, size_t n, const uint8_t *data, size_t data_len,
                                const char *data_name) {
    write_file(data_name, data, data_len);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s", path_of("v"));
    write_file("v.index", index, n);
    listing intact = {0};
    CHECK(list_all(prefix, &intact));
    int cut_opened = 0, flip_opened_early = 0, flip_differs = 0, no_message = 0;
    for (size_t len = 0; len < n; len++) {
        write_file("v.index", index, len);
        tb_reader *r = tb_open(prefix);
        if (r) {
            cut_opened++;
            tb_close(r);
        } else if (!strstr(kc_last_error(), "v.index")) {
            no_message++;
        }
    }
    uint8_t *copy = malloc(n);
    for (size_t at = 0; at < n; at++) {
        memcpy(copy, index, n);
        copy[at] ^= 0x5a;
        write_file("v.index", copy, n);
        listing got = {0};
        if (list_all(prefix, &got)) {
            if (at < n - 48)
                flip_opened_early++;
            if (!same_listing(&intact, &got))
                flip_differs++;
            list_free(&got);
        } else if (!strstr(kc_last_error(), "v.index")) {
            no_message++;
        }
    }
    CHECK(cut_opened == 0);
    CHECK(flip_opened_early == 0);
    CHECK(flip_differs == 0);
    CHECK(no_message == 0);
    free(copy);
    list_free(&intact);
    write_file("v.index", index, n);
}

static void test_damaged_indexes(void) {
    static const char *models[] = {"half_plus_two_tf1", "half_plus_two_tf2", "churn_mlp"};
    for (int m = 0; m < 3; m++) {
        char path[128];
        size_t n, data_len;
        snprintf(path, sizeof path, FIXTURES "%s/variables/variables.index", models[m]);
        uint8_t *index = load(path, &n);
        snprintf(path, sizeof path, FIXTURES "%s/variables/variables.data-00000-of-00001", models[m]);
        uint8_t *data = load(path, &data_len);
        check_damaged_index(index, n, data, data_len, "v.data-00000-of-00001");
        free(index);
        free(data);
    }
}

static void test_damaged_shards(void) {
    size_t n, data_len;
    uint8_t *index = load(FIXTURES "half_plus_two_tf1/variables/variables.index", &n);
    uint8_t *data = load(FIXTURES "half_plus_two_tf1/variables/variables.data-00000-of-00001", &data_len);
    write_file("s.index", index, n);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s", path_of("s"));
    tf_graph *g = tf_graph_new();
    tf_tensor *t;

    /* No shard: the index opens, reads name the missing file. */
    unlink(path_of("s.data-00000-of-00001"));
    tb_reader *r = tb_open(prefix);
    CHECK(r != NULL);
    CHECK(r && !tb_read(r, "a", g, &t) && error_has("s.data-00000-of-00001", "No such file"));
    tb_close(r);

    /* Each flipped byte of the five floats breaks exactly one tensor's checksum. */
    CHECK(data_len == 20);
    for (size_t at = 0; at < data_len; at++) {
        uint8_t copy[20];
        memcpy(copy, data, sizeof copy);
        copy[at] ^= 0x01;
        write_file("s.data-00000-of-00001", copy, sizeof copy);
        r = tb_open(prefix);
        int failed = 0;
        for (size_t i = 0; r && i < tb_count(r); i++)
            if (!tb_read(r, tb_key(r, i), g, &t)) {
                failed++;
                CHECK(error_has("s.data-00000-of-00001", "checksum mismatch") && error_has(tb_key(r, i), NULL));
            }
        CHECK(failed == 1);
        tb_close(r);
    }

    /* A short shard: the two tensors in its first 10 bytes still read. */
    write_file("s.data-00000-of-00001", data, 10);
    r = tb_open(prefix);
    int ok = 0, past_end = 0;
    for (size_t i = 0; r && i < tb_count(r); i++) {
        if (tb_read(r, tb_key(r, i), g, &t))
            ok++;
        else
            past_end += error_has("past the end of the file (10 bytes)", NULL);
    }
    CHECK(ok == 2 && past_end == 3);
    tb_close(r);
    tf_graph_free(g);
    free(index);
    free(data);
}

/* ---- Raw Snappy streams ---------------------------------------------------- */

/* Decompresses into a buffer of exactly the declared size (so ASan sees any overrun). */
static uint8_t *unsnappy(const uint8_t *in, size_t n, size_t *len) {
    if (!snappy_uncompressed_length(in, n, len))
        return NULL;
    uint8_t *out = malloc(*len ? *len : 1);
    if (!snappy_decompress(in, n, out, *len)) {
        free(out);
        return NULL;
    }
    return out;
}

static void check_stream(const uint8_t *in, size_t n, const uint8_t *want, size_t want_len) {
    size_t len = 0;
    uint8_t *out = unsnappy(in, n, &len);
    CHECK(out && len == want_len && memcmp(out, want, want_len) == 0);
    if (!out)
        fprintf(stderr, "  %s\n", kc_last_error());
    free(out);
    for (size_t cut = 0; cut < n; cut++) { /* no prefix of a stream is a stream */
        out = unsnappy(in, cut, &len);
        CHECK(!out && error_has("snappy", NULL));
        free(out);
    }
}

static void test_snappy_streams(void) {
    /* literal "abcd", then a copy with a 1-byte offset: 4 bytes from 4 back */
    static const uint8_t s1[] = {8, 3 << 2, 'a', 'b', 'c', 'd', 1 | 0 << 2, 4};
    check_stream(s1, sizeof s1, (const uint8_t *)"abcdabcd", 8);

    /* overlapping: "ab" then 10 bytes from 2 back repeat the pair */
    static const uint8_t s2[] = {12, 1 << 2, 'a', 'b', 1 | 6 << 2, 2};
    check_stream(s2, sizeof s2, (const uint8_t *)"abababababab", 12);

    /* "ab", a 2-byte-offset copy of 64 bytes from 2 back ("abab..."), then a
     * 4-byte-offset copy of 3 bytes from 65 back ("bab") */
    static const uint8_t s3[] = {69, 1 << 2, 'a', 'b', 2 | 63 << 2, 2, 0, 3 | 2 << 2, 65, 0, 0, 0};
    uint8_t want3[69];
    for (int i = 0; i < 66; i++)
        want3[i] = "ab"[i % 2];
    memcpy(want3 + 66, "bab", 3);
    check_stream(s3, sizeof s3, want3, sizeof want3);

    /* a 300-byte literal (length in 2 bytes after tag 61), a 61-byte one (1
     * byte after tag 60), then copies reaching back 361 bytes (1-byte offset
     * with 3 high bits in the tag) and 300 bytes (2-byte offset) */
    uint8_t s4[400], want4[400];
    size_t n = 0, w = 0;
    s4[n++] = 0, s4[n++] = 0; /* length varint, filled below */
    s4[n++] = 61 << 2, s4[n++] = 299 & 0xff, s4[n++] = 299 >> 8;
    for (int i = 0; i < 300; i++)
        s4[n++] = want4[w++] = (uint8_t)(i * 7 % 251);
    s4[n++] = 60 << 2, s4[n++] = 60;
    for (int i = 0; i < 61; i++)
        s4[n++] = want4[w++] = (uint8_t)(200 - i);
    s4[n++] = 1 | (9 - 4) << 2 | (361 >> 8) << 5, s4[n++] = 361 & 0xff; /* 9 bytes from want4[0] */
    for (int i = 0; i < 9; i++)
        want4[w + i] = want4[i];
    w += 9;
    s4[n++] = 2 | (20 - 1) << 2, s4[n++] = 300 & 0xff, s4[n++] = 300 >> 8; /* 20 bytes from want4[370 - 300] */
    for (int i = 0; i < 20; i++)
        want4[w + i] = want4[w - 300 + i];
    w += 20;
    s4[0] = (uint8_t)(w | 0x80), s4[1] = (uint8_t)(w >> 7);
    CHECK(w == 390);
    check_stream(s4, n, want4, w);

    /* malformed streams */
    static const struct {
        uint8_t in[12];
        size_t n;
        const char *error;
    } bad[] = {
        {{4, 0 << 2, 'a', 1 | 0 << 2, 0}, 5, "copy from before the start"},      /* offset 0 */
        {{6, 1 << 2, 'a', 'b', 1 | 0 << 2, 3}, 6, "copy from before the start"}, /* 3 back, 2 written */
        {{5, 1 << 2, 'a', 'b', 1 | 0 << 2, 2}, 6, "copy past the declared length"},
        {{1, 1 << 2, 'a', 'b'}, 4, "literal past the declared length"},
        {{3, 2 << 2, 'a', 'b'}, 4, "literal cut off"},
        {{3, 1 << 2, 'a', 'b'}, 4, "stream ends before the declared length"},
        {{9, 61 << 2, 8}, 3, "literal length cut off"},
        {{9, 1 << 2, 'a', 'b', 2 | 3 << 2, 2}, 6, "copy cut off"},
        {{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 6, "bad length varint"},
        {{0x80, 0x80, 0x80, 0x80, 0x10}, 5, "bad length varint"},       /* 2^32 */
        {{0xe8, 0x07, 0, 'a'}, 4, "impossible for 4 compressed bytes"}, /* 1000 from 2 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len;
        uint8_t *out = unsnappy(bad[i].in, bad[i].n, &len);
        CHECK(!out && error_has("snappy", bad[i].error));
        free(out);
    }
    /* the declared length must match the buffer the caller gives */
    uint8_t out[8];
    CHECK(!snappy_decompress(s1, sizeof s1, out, 7) && error_has("declared length", NULL));
}

/* ---- Tables built here ------------------------------------------------------ */

typedef struct buf {
    uint8_t *d;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n) + 64;
        if (!(b->d = realloc(b->d, b->cap)))
            abort();
    }
    if (p && n)
        memcpy(b->d + b->n, p, n); /* p NULL: room for a packed message */
    b->n += n;
}

static void put_byte(buf *b, uint8_t v) { put(b, &v, 1); }

static void put_varint(buf *b, uint64_t v) {
    for (; v >= 0x80; v >>= 7)
        put_byte(b, (uint8_t)(v | 0x80));
    put_byte(b, (uint8_t)v);
}

static void put_u32(buf *b, uint32_t v) {
    for (int i = 0; i < 4; i++)
        put_byte(b, (uint8_t)(v >> 8 * i));
}

static uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

/* What the test's Snappy encoder used, to check the table tests reach each copy kind. */
static int used_copy1, used_copy2, used_overlap;

/* Greedy Snappy: the longest earlier match of 4..64 bytes becomes a copy
 * (1-byte offset when it fits, else 2-byte), everything else literals. */
static void snappy_encode(buf *o, const uint8_t *in, size_t n) {
    put_varint(o, n);
    size_t lit = 0, pos = 0;
    while (pos <= n) {
        size_t best = 0, best_from = 0;
        for (size_t from = pos >= 65535 ? pos - 65535 : 0; pos < n && from < pos; from++) {
            size_t len = 0;
            while (len < 64 && pos + len < n && in[from + len] == in[pos + len])
                len++;
            if (len > best)
                best = len, best_from = from;
        }
        if (best < 4 && pos < n) {
            pos++;
            continue;
        }
        for (size_t left = pos - lit; left;) { /* literals before it, in chunks of at most 256 */
            size_t chunk = left < 256 ? left : 256;
            if (chunk <= 60)
                put_byte(o, (uint8_t)((chunk - 1) << 2));
            else
                put_byte(o, 60 << 2), put_byte(o, (uint8_t)(chunk - 1));
            put(o, in + lit, chunk);
            lit += chunk, left -= chunk;
        }
        if (pos == n)
            break;
        size_t offset = pos - best_from;
        if (best <= 11 && offset < 2048) {
            put_byte(o, (uint8_t)(1 | (best - 4) << 2 | (offset >> 8) << 5));
            put_byte(o, (uint8_t)offset);
            used_copy1++;
        } else {
            put_byte(o, (uint8_t)(2 | (best - 1) << 2));
            put_byte(o, (uint8_t)offset), put_byte(o, (uint8_t)(offset >> 8));
            used_copy2++;
        }
        used_overlap += offset < best;
        pos += best;
        lit = pos;
    }
}

typedef struct kv {
    const char *key;
    buf value;
} kv;

typedef struct bh {
    uint64_t offset, size;
} bh;

/* A block's contents: keys prefix-compressed against the one before, one restart point. */
static void block_contents(buf *b, const kv *kvs, int n) {
    const char *prev = "";
    for (int i = 0; i < n; i++) {
        size_t shared = 0, len = strlen(kvs[i].key);
        while (prev[shared] && prev[shared] == kvs[i].key[shared])
            shared++;
        put_varint(b, shared), put_varint(b, len - shared), put_varint(b, kvs[i].value.n);
        put(b, kvs[i].key + shared, len - shared);
        put(b, kvs[i].value.d, kvs[i].value.n);
        prev = kvs[i].key;
    }
    put_u32(b, 0), put_u32(b, 1);
}

/* Stores bytes as a block with compression type `type` (bytes already compressed if it says so). */
static bh put_block(buf *file, const uint8_t *bytes, size_t n, uint8_t type) {
    bh h = {file->n, n};
    put(file, bytes, n);
    put_byte(file, type);
    put_u32(file, mask(kn_crc32c(file->d + h.offset, n + 1)));
    return h;
}

static void put_handle(buf *b, bh h) { put_varint(b, h.offset), put_varint(b, h.size); }

static void put_footer(buf *file, bh meta, bh index) {
    size_t start = file->n;
    put_handle(file, meta), put_handle(file, index);
    while (file->n < start + 40)
        put_byte(file, 0);
    put_u32(file, 0x8b80fb57u), put_u32(file, 0xdb477524u);
}

/* A table of kvs: the first `split` in an uncompressed block, the rest in a Snappy one. */
static void build_table(buf *file, const kv *kvs, int n, int split) {
    buf contents = {0}, packed = {0}, index = {0};
    kv index_kvs[2] = {{0}};
    int n_blocks = 0;
    for (int first = 0; first < n; first = split, split = n) {
        contents.n = packed.n = 0;
        block_contents(&contents, kvs + first, split - first);
        bh h;
        if (first == 0) {
            h = put_block(file, contents.d, contents.n, 0);
        } else {
            snappy_encode(&packed, contents.d, contents.n);
            h = put_block(file, packed.d, packed.n, 1);
        }
        index_kvs[n_blocks].key = kvs[split - 1].key;
        put_handle(&index_kvs[n_blocks++].value, h);
    }
    contents.n = 0;
    block_contents(&contents, NULL, 0);
    bh meta = put_block(file, contents.d, contents.n, 0);
    block_contents(&index, index_kvs, n_blocks);
    bh ih = put_block(file, index.d, index.n, 0);
    put_footer(file, meta, ih);
    free(contents.d), free(packed.d), free(index.d);
    for (int i = 0; i < n_blocks; i++)
        free(index_kvs[i].value.d);
}

static buf header(int num_shards, int endianness, int min_consumer) {
    Tensorflow__VersionDef v = TENSORFLOW__VERSION_DEF__INIT;
    v.producer = 1;
    v.min_consumer = min_consumer;
    Tensorflow__BundleHeaderProto h = TENSORFLOW__BUNDLE_HEADER_PROTO__INIT;
    h.num_shards = num_shards;
    h.endianness = (Tensorflow__BundleHeaderProto__Endianness)endianness;
    h.version = &v;
    buf b = {0};
    put(&b, NULL, tensorflow__bundle_header_proto__get_packed_size(&h));
    tensorflow__bundle_header_proto__pack(&h, b.d);
    return b;
}

/* An entry for `size` bytes at `offset` of shard 0 with the crc of data[offset..], unless size overruns it. */
static buf entry(int dtype, int rank, const int64_t *dims, int64_t offset, int64_t size, const uint8_t *data,
                 size_t data_len) {
    Tensorflow__TensorShapeProto shape = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
    Tensorflow__TensorShapeProto__Dim dim[TF_MAX_RANK + 1], *dimp[TF_MAX_RANK + 1];
    for (int i = 0; i < rank; i++) {
        tensorflow__tensor_shape_proto__dim__init(&dim[i]);
        dim[i].size = dims[i];
        dimp[i] = &dim[i];
    }
    shape.n_dim = (size_t)rank;
    shape.dim = dimp;
    Tensorflow__BundleEntryProto e = TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
    e.dtype = (Tensorflow__DataType)dtype;
    e.shape = &shape;
    e.offset = offset;
    e.size = size;
    if (offset >= 0 && size >= 0 && (uint64_t)offset + (uint64_t)size <= data_len)
        e.crc32c = mask(kn_crc32c(data + offset, (size_t)size));
    buf b = {0};
    put(&b, NULL, tensorflow__bundle_entry_proto__get_packed_size(&e));
    tensorflow__bundle_entry_proto__pack(&e, b.d);
    return b;
}

/* Sets fields of a packed entry (a protobuf field appended later wins). */
static void entry_set(buf *b, int field, uint64_t value) {
    put_varint(b, (uint64_t)field << 3 | (field == 6 ? 5 : 0));
    if (field == 6)
        put_u32(b, (uint32_t)value);
    else
        put_varint(b, value);
}

static void test_built_table(void) {
    /* The shard: float[2,3] 1..6 @0, half[3] @24, int64 @30, bool[4] @38,
     * double[2] @42, int8[3] @58, uint8 @61, int32[2] @62. */
    uint8_t data[70];
    float f[6] = {1, 2, 3, 4, 5, 6};
    uint16_t h[3] = {0x3c00, 0xc000, 0x7bff}; /* 1, -2, 65504 */
    int64_t i64 = -5;
    uint8_t bools[4] = {0, 1, 2, 0};
    double dbl[2] = {0.25, -1e300};
    int8_t i8[3] = {-1, 0, 127};
    uint8_t u8 = 255;
    int32_t i32[2] = {-7, 1 << 30};
    memcpy(data, f, 24), memcpy(data + 24, h, 6), memcpy(data + 30, &i64, 8), memcpy(data + 38, bools, 4);
    memcpy(data + 42, dbl, 16), memcpy(data + 58, i8, 3), memcpy(data + 61, &u8, 1), memcpy(data + 62, i32, 8);
    static const int64_t d23[] = {2, 3}, d3[] = {3}, d4[] = {4}, d2[] = {2}, d1[] = {1},
                         huge[] = {(int64_t)1 << 40, (int64_t)1 << 40}, big[] = {(int64_t)1 << 29}, neg[] = {-1};
    size_t L = sizeof data;
    kv kvs[] = {
        {"", header(2, 0, 0)},
        {"bool", entry(TF_DT_BOOL, 1, d4, 38, 4, data, L)},
        {"double", entry(TF_DT_DOUBLE, 1, d2, 42, 16, data, L)},
        {"float", entry(TF_DT_FLOAT, 2, d23, 0, 24, data, L)},
        {"half", entry(TF_DT_HALF, 1, d3, 24, 6, data, L)},
        /* the Snappy block from here */
        {"int32", entry(TF_DT_INT32, 1, d2, 62, 8, data, L)},
        {"int64", entry(TF_DT_INT64, 0, NULL, 30, 8, data, L)},
        {"int8", entry(TF_DT_INT8, 1, d3, 58, 3, data, L)},
        {"uint8", entry(TF_DT_UINT8, 1, d1, 61, 1, data, L)},
        {"x_bad_crc", entry(TF_DT_FLOAT, 1, d2, 0, 8, data, L)},
        {"x_hostile_size", entry(TF_DT_FLOAT, 1, big, 4, (int64_t)1 << 31, data, L)},
        {"x_huge", entry(TF_DT_FLOAT, 2, huge, 0, 0, data, L)},
        {"x_negative_dim", entry(TF_DT_FLOAT, 1, neg, 0, 0, data, L)},
        {"x_other_shard", entry(TF_DT_FLOAT, 1, d1, 0, 4, data, L)},
        {"x_past_end", entry(TF_DT_FLOAT, 1, d2, 66, 8, data, L)},
        {"x_shard_2", entry(TF_DT_FLOAT, 1, d1, 0, 4, data, L)},
        {"x_size_mismatch", entry(TF_DT_FLOAT, 1, d3, 0, 8, data, L)},
        {"x_sliced", entry(TF_DT_FLOAT, 1, d1, 0, 4, data, L)},
        {"x_string", entry(TF_DT_STRING, 0, NULL, 0, 4, data, L)},
        {"x_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", entry(TF_DT_FLOAT, 0, NULL, 8, 4, data, L)},
    };
    int n = (int)(sizeof kvs / sizeof kvs[0]);
    entry_set(&kvs[9].value, 6, 0x12345678); /* x_bad_crc */
    entry_set(&kvs[13].value, 3, 1);         /* x_other_shard: shard 1, whose file is missing */
    entry_set(&kvs[15].value, 3, 2);         /* x_shard_2 of 2 */
    put_byte(&kvs[17].value, 7 << 3 | 2), put_byte(&kvs[17].value, 0); /* x_sliced: one empty slice */
    buf index = {0};
    used_copy1 = used_copy2 = used_overlap = 0;
    build_table(&index, kvs, n, 5);
    CHECK(used_copy1 > 0 && used_copy2 > 0 && used_overlap > 0);
    write_file("t.index", index.d, index.n);
    write_file("t.data-00000-of-00002", data, sizeof data);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s", path_of("t"));

    tb_reader *r = tb_open(prefix);
    CHECK(r != NULL);
    if (!r)
        fprintf(stderr, "  %s\n", kc_last_error());
    CHECK(r && tb_count(r) == (size_t)n - 1);
    for (int i = 1; r && i < n; i++)
        CHECK(strcmp(tb_key(r, (size_t)i - 1), kvs[i].key) == 0);
    tf_graph *g = tf_graph_new();
    tf_tensor *t;
    if (r) {
        CHECK(tb_read(r, "float", g, &t) && t->dtype == TF_DT_FLOAT && dims_are(t, 2, 2, 3) && t->nbytes == 24);
        CHECK_ARRAY_NEAR((float *)t->data, f, 6, 0);
        static const float hw[] = {1, -2, 65504};
        CHECK(tb_read(r, "half", g, &t) && t->dtype == TF_DT_FLOAT && dims_are(t, 1, 3, 0) && t->nbytes == 12);
        CHECK_ARRAY_NEAR((float *)t->data, hw, 3, 0);
        CHECK(tb_read(r, "int64", g, &t) && t->dtype == TF_DT_INT64 && t->shape.rank == 0 && *(int64_t *)t->data == -5);
        static const uint8_t bw[] = {0, 1, 1, 0};
        CHECK(tb_read(r, "bool", g, &t) && t->dtype == TF_DT_BOOL && t->nbytes == 4 && memcmp(t->data, bw, 4) == 0);
        CHECK(tb_read(r, "double", g, &t) && t->dtype == TF_DT_DOUBLE && t->nbytes == 16 &&
              ((double *)t->data)[0] == 0.25 && ((double *)t->data)[1] == -1e300);
        CHECK(tb_read(r, "int8", g, &t) && t->dtype == TF_DT_INT8 && memcmp(t->data, i8, 3) == 0);
        CHECK(tb_read(r, "uint8", g, &t) && t->dtype == TF_DT_UINT8 && *(uint8_t *)t->data == 255);
        CHECK(tb_read(r, "int32", g, &t) && t->dtype == TF_DT_INT32 && ((int32_t *)t->data)[0] == -7 &&
              ((int32_t *)t->data)[1] == 1 << 30);
        CHECK_NEAR(read_scalar(r, "x_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", g), 3, 0);

        static const struct {
            const char *key, *error;
        } bad[] = {
            {"x_bad_crc", "checksum mismatch over bytes [0, 8)"},
            {"x_huge", "over 2147483648 bytes"},
            {"x_hostile_size", "past the end of the file (70 bytes)"},
            {"x_negative_dim", "negative dimension"},
            {"x_other_shard", "t.data-00001-of-00002: No such file"},
            {"x_past_end", "bytes [66, 74), past the end"},
            {"x_shard_2", "in shard 2 of 2"},
            {"x_size_mismatch", "has 8 bytes, but 3 elements of DT_FLOAT need 12"},
            {"x_sliced", "slices"},
            {"x_string", "DT_STRING, which is not supported"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CHECK(!tb_read(r, bad[i].key, g, &t) && error_has(bad[i].key, bad[i].error));
        /* the reader still works after errors (and after the shard it had open changed) */
        CHECK(tb_read(r, "int8", g, &t) && memcmp(t->data, i8, 3) == 0);
    }
    tf_graph_free(g);
    tb_close(r);

    /* damaged copies of the built table: the Snappy block's errors too */
    check_damaged_index(index.d, index.n, data, sizeof data, "v.data-00000-of-00002");
    for (int i = 0; i < n; i++)
        free(kvs[i].value.d);
    free(index.d);
}

/* Opening the table of kvs fails with a message containing `error`. */
static void expect_open_error(const kv *kvs, int n, int split, const char *error) {
    buf index = {0};
    build_table(&index, kvs, n, split);
    write_file("e.index", index.d, index.n);
    tb_reader *r = tb_open(path_of("e"));
    CHECK(!r && error_has("e.index", error));
    tb_close(r);
    free(index.d);
}

/* A table with one block stored as given with type `type`: the only data
 * block, or the index block (after an empty metaindex block at byte 0). */
static void expect_block_error(const uint8_t *bytes, size_t n, uint8_t type, bool as_index, const char *error) {
    buf file = {0}, index = {0}, empty = {0};
    block_contents(&empty, NULL, 0);
    kv index_kv = {"k", {0}};
    bh meta, ih;
    if (as_index) {
        meta = put_block(&file, empty.d, empty.n, 0);
        ih = put_block(&file, bytes, n, type);
    } else {
        put_handle(&index_kv.value, put_block(&file, bytes, n, type));
        meta = put_block(&file, empty.d, empty.n, 0);
        block_contents(&index, &index_kv, 1);
        ih = put_block(&file, index.d, index.n, 0);
    }
    put_footer(&file, meta, ih);
    write_file("e.index", file.d, file.n);
    tb_reader *r = tb_open(path_of("e"));
    CHECK(!r && error_has("e.index", error));
    tb_close(r);
    free(file.d), free(index.d), free(empty.d), free(index_kv.value.d);
}

static void test_bad_tables(void) {
    uint8_t data[4] = {0};
    kv kvs[3] = {{"", header(1, 0, 0)},
                 {"b", entry(TF_DT_FLOAT, 0, NULL, 0, 4, data, 4)},
                 {"a", entry(TF_DT_FLOAT, 0, NULL, 0, 4, data, 4)}};
    expect_open_error(kvs, 3, 3, "key 'a' is not after 'b'");
    expect_open_error(kvs, 3, 2, "key 'a' is not after 'b'"); /* across blocks, in the Snappy one */
    kvs[2].key = "b";
    expect_open_error(kvs, 3, 3, "key 'b' is not after 'b'");
    expect_open_error(kvs + 1, 1, 1, "no header entry");
    char *long_key = malloc(70001);
    memset(long_key, 'k', 70000);
    long_key[70000] = '\0';
    kv too_long[2] = {kvs[0], {long_key, kvs[1].value}};
    expect_open_error(too_long, 2, 2, "key of 70000 bytes (keys so far: 0 bytes), over the limit");
    free(long_key);
    kv two_headers[2] = {kvs[0], kvs[0]};
    expect_open_error(two_headers, 2, 2, "header key \"\" is not the first key");

    free(kvs[0].value.d);
    kvs[0].value = header(0, 0, 0);
    expect_open_error(kvs, 2, 2, "header says 0 shards");
    free(kvs[0].value.d);
    kvs[0].value = header(1, 1, 0);
    expect_open_error(kvs, 2, 2, "big-endian");
    free(kvs[0].value.d);
    kvs[0].value = header(1, 0, 2);
    expect_open_error(kvs, 2, 2, "version 2 or newer");
    kvs[0].value.n = 1; /* a field's tag without its value */
    expect_open_error(kvs, 2, 2, "not a BundleHeaderProto");
    free(kvs[0].value.d);
    kvs[0].value = header(1, 0, 0);
    kvs[1].value.n = 1;
    expect_open_error(kvs, 2, 2, "key 'b': value is not a BundleEntryProto");
    for (int i = 0; i < 3; i++)
        free(kvs[i].value.d);

    /* blocks that pass their checksum but not their parse */
    static const uint8_t few[] = {0, 0, 0};
    expect_block_error(few, sizeof few, 0, false, "block of 3 bytes has no restart count");
    static const uint8_t restarts[] = {0, 0, 0, 0, 9, 0, 0, 0};
    expect_block_error(restarts, sizeof restarts, 0, false, "restart count 9 too large");
    static const uint8_t overrun[] = {0, 5, 0, 'a', 0, 0, 0, 0, 1, 0, 0, 0};
    expect_block_error(overrun, sizeof overrun, 0, false, "does not fit its block at byte 0");
    static const uint8_t varint[] = {0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 1, 0, 0, 0};
    expect_block_error(varint, sizeof varint, 0, false, "bad entry header varint");
    expect_block_error(few, sizeof few, 2, false, "unknown block compression type 2");
    static const uint8_t zero_offset[] = {5, 0 << 2, 'a', 1 | 0 << 2, 0};
    expect_block_error(zero_offset, sizeof zero_offset, 1, false,
                       "block at byte 0: snappy: copy from before the start of the output at byte 3");
    /* index blocks: data block handles out of the file, cut off, or naming a block twice */
    static const uint8_t far[] = {0, 1, 3, 'k', 0xff, 0x7f, 1, 0, 0, 0, 0, 1, 0, 0, 0}; /* 1 byte at 16383 */
    expect_block_error(far, sizeof far, 0, true, "block of 1 bytes past the end of the file");
    static const uint8_t cut[] = {0, 1, 2, 'k', 0xff, 0x7f, 0, 0, 0, 0, 1, 0, 0, 0};
    expect_block_error(cut, sizeof cut, 0, true,
                       "bad block handle varint at byte 17"); /* the entry, after the 13-byte metaindex */
    static const uint8_t twice[] = {0, 1, 2, 'a', 0, 8, 0, 1, 2, 'b', 0, 8, 0, 0, 0, 0, 1, 0, 0, 0};
    expect_block_error(twice, sizeof twice, 0, true, "data block at byte 0 overlaps the one before");
    /* footer handles */
    buf file = {0}, empty = {0};
    block_contents(&empty, NULL, 0);
    bh meta = put_block(&file, empty.d, empty.n, 0);
    put_footer(&file, meta, (bh){1000, 8});
    write_file("e.index", file.d, file.n);
    CHECK(!tb_open(path_of("e")) && error_has("e.index: corrupt table: block of 8 bytes past the end", "at byte 1000"));
    file.n -= 48;
    put_footer(&file, (bh){2, 8}, meta);
    write_file("e.index", file.d, file.n);
    CHECK(!tb_open(path_of("e")) && error_has("block checksum mismatch", "at byte 2"));
    file.d[file.n - 1] ^= 1;
    write_file("e.index", file.d, file.n);
    CHECK(!tb_open(path_of("e")) && error_has("bad magic number 0xda4775248b80fb57", "at byte 53"));
    free(file.d), free(empty.d);
}

int main(void) {
    RUN(test_half_plus_two_tf1);
    RUN(test_half_plus_two_tf2);
    RUN(test_churn_mlp);
    RUN(test_snappy_streams);

    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/kiln_tb_XXXXXX", tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_damaged_shards);
    RUN(test_damaged_indexes);
    RUN(test_built_table);
    RUN(test_bad_tables);
    for (int i = 0; i < n_files; i++)
        unlink(path_of(files[i]));
    rmdir(dir);
    return check_summary();
}
