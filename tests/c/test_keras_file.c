/* Keras model files (read_keras_file.c, zip.c) read from the fixtures of
 * tests/tools/make_keras_fixtures.py (tests/setup.sh writes them to
 * tests/fixtures/keras/), then damaged: truncated and flipped bytes, missing
 * attributes, weights and entries, wrong shapes and types, lying zip sizes
 * and a zip bomb. Damage must give an error naming the file, never a crash.
 * Values are checked against the datasets read here with HDF5 directly and
 * against float16 bits decoded by hand. tests/js/keras_files.test.mjs runs the
 * models against tfjs. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, dup */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "diag.h"
#include "graph_builder.h"
#include "read_keras_file.h"

#define FIXTURES "tests/fixtures/keras/"

static char tdir[] = "/tmp/kiln-keras-file-XXXXXX";

static const char *tpath(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tdir, name);
    return buf[k];
}

static unsigned char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    long n;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && (data = malloc((size_t)n + 1))) {
        rewind(f);
        *size = fread(data, 1, (size_t)n, f);
    }
    if (f) fclose(f);
    if (!data) fprintf(stderr, "  cannot read %s (run tests/setup.sh)\n", path), check_failures++;
    return data;
}

static void spit(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, size, f) == size);
    if (f) fclose(f);
}

static const char *copy_fixture(const char *fixture, const char *name) {
    size_t size = 0;
    unsigned char *data = slurp(fixture, &size);
    const char *p = tpath(name);
    if (data) spit(p, data, size);
    free(data);
    return p;
}

/* Reading must fail with a message that starts with the path and contains
 * every needle (NULL-terminated). */
static void expect_fail(const char *path, const char *const *needles) {
    tf_graph *g = read_keras_file(path);
    CHECK(!g);
    tf_graph_free(g);
    if (g) return;
    const char *msg = kc_last_error();
    if (strncmp(msg, path, strlen(path)) != 0) fprintf(stderr, "  message does not start with %s: %s\n", path, msg), check_failures++;
    for (; *needles; needles++)
        if (!strstr(msg, *needles)) fprintf(stderr, "  message lacks \"%s\": %s\n", *needles, msg), check_failures++;
}

#define EXPECT_FAIL(path, ...) expect_fail(path, (const char *const[]){__VA_ARGS__, NULL})

/* A damaged file: reading may succeed (a flipped bit of a weight is still a
 * weight) or fail, naming the file. True if it failed. */
static bool survives(const char *path) {
    tf_graph *g = read_keras_file(path);
    if (g) {
        tf_graph_free(g);
        return false;
    }
    if (strncmp(kc_last_error(), path, strlen(path)) != 0)
        fprintf(stderr, "  message does not start with %s: %s\n", path, kc_last_error()), check_failures++;
    return true;
}

/* ---- reading ------------------------------------------------------------------------- */

/* The mlp's first kernel, from all three containers, is the dataset's values. */
static void reads_weights(void) {
    hid_t f = H5Fopen(FIXTURES "mlp/keras2.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, "model_weights/hidden/hidden/kernel:0", H5P_DEFAULT) : -1;
    float want[8 * 16];
    CHECK(d >= 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, want) >= 0);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    if (d < 0) return;
    static const char *const files[] = {"mlp/keras2.h5", "mlp/keras3.h5", "mlp/keras3.keras"};
    for (int i = 0; i < 3; i++) {
        char path[256];
        snprintf(path, sizeof path, FIXTURES "%s", files[i]);
        tf_graph *g = read_keras_file(path);
        if (!g) fprintf(stderr, "  %s\n", kc_last_error());
        CHECK(g);
        const float *got = g ? gb_const_data(g, "hidden/kernel") : NULL;
        CHECK(!g || got);
        if (got) CHECK(memcmp(got, want, sizeof want) == 0);
        tf_graph_free(g);
    }
}

/* The data of the Const a Bidirectional's copy ("forward_", "backward_") has
 * for its weight `w`: "bidirectional/forward_lstm/kernel" (or, from a Keras 3
 * config, which names the copy forward_lstm already, ".../forward_forward_lstm/kernel"). */
static const float *copy_weight(const tf_graph *g, const char *dir, const char *w) {
    char prefix[64], suffix[64];
    snprintf(prefix, sizeof prefix, "bidirectional/%s", dir);
    snprintf(suffix, sizeof suffix, "_lstm/%s", w);
    for (int i = 0; i < g->n_nodes; i++) {
        const char *n = g->nodes[i].name;
        size_t len = strlen(n);
        if (strcmp(g->nodes[i].op, "Const") == 0 && strncmp(n, prefix, strlen(prefix)) == 0 &&
            len > strlen(suffix) && strcmp(n + len - strlen(suffix), suffix) == 0)
            return gb_const_data(g, n);
    }
    return NULL;
}

/* bi_rnn's Bidirectional(LSTM): each copy's kernel, recurrent_kernel and bias
 * are read from the copy's own datasets (forward_lstm/lstm_cell/... in the
 * .h5 files, forward_layer/cell/vars/i and backward_layer/cell/vars/i in the
 * .keras), compared with keras2.h5's datasets. Also with the weight_names
 * listed backward copy first, where names decide. */
static void reads_bidirectional_weights(void) {
    static const char *const dirs[2] = {"forward_", "backward_"}, *const ws[3] = {"kernel", "recurrent_kernel", "bias"};
    static const hsize_t counts[3] = {4 * 20, 5 * 20, 20};
    float want[2][3][5 * 20];
    hid_t f = H5Fopen(FIXTURES "bi_rnn/keras2.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    if (f < 0) return;
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 3; k++) {
            char name[160];
            snprintf(name, sizeof name, "model_weights/bidirectional/bidirectional/%slstm/lstm_cell/%s:0", dirs[d], ws[k]);
            hid_t ds = H5Dopen2(f, name, H5P_DEFAULT), space = ds >= 0 ? H5Dget_space(ds) : -1;
            CHECK(space >= 0 && (hsize_t)H5Sget_simple_extent_npoints(space) == counts[k] &&
                  H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, want[d][k]) >= 0);
            if (space >= 0) H5Sclose(space);
            if (ds >= 0) H5Dclose(ds);
        }
    H5Fclose(f);

    /* keras2.h5 with weight_names reordered: backward copy's three, then the forward's. */
    const char *reordered = copy_fixture(FIXTURES "bi_rnn/keras2.h5", "bi_reordered.h5");
    f = H5Fopen(reordered, H5F_ACC_RDWR, H5P_DEFAULT);
    enum { LEN = 64 };
    char names[6][LEN] = {{0}};
    for (int i = 0; i < 6; i++)
        snprintf(names[i], LEN, "bidirectional/%slstm/lstm_cell/%s:0", dirs[i < 3], ws[i % 3]);
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate_simple(1, (hsize_t[]){6}, NULL);
    H5Tset_size(type, LEN);
    CHECK(f >= 0 && H5Adelete_by_name(f, "model_weights/bidirectional", "weight_names", H5P_DEFAULT) >= 0);
    hid_t a = H5Acreate_by_name(f, "model_weights/bidirectional", "weight_names", type, space, H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT);
    CHECK(a >= 0 && H5Awrite(a, type, names) >= 0);
    H5Aclose(a), H5Sclose(space), H5Tclose(type), H5Fclose(f);

    const char *const files[] = {FIXTURES "bi_rnn/keras2.h5", FIXTURES "bi_rnn/keras3.h5", FIXTURES "bi_rnn/keras3.keras",
                                 reordered};
    for (int i = 0; i < 4; i++) {
        tf_graph *g = read_keras_file(files[i]);
        if (!g) fprintf(stderr, "  %s\n", kc_last_error());
        CHECK(g);
        for (int d = 0; g && d < 2; d++)
            for (int k = 0; k < 3; k++) {
                const float *got = copy_weight(g, dirs[d], ws[k]);
                if (!got || memcmp(got, want[d][k], counts[k] * sizeof(float)) != 0)
                    fprintf(stderr, "  %s: %s%s differs\n", files[i], dirs[d], ws[k]), check_failures++;
            }
        tf_graph_free(g);
    }
}

/* Replaces a dataset of an .h5 by one of `type` holding `data` in `shape`. */
static void replace_dataset(const char *file, const char *name, hid_t type, int rank, const hsize_t *dims,
                            const void *data) {
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT), space = H5Screate_simple(rank, dims, NULL);
    CHECK(f >= 0 && H5Ldelete(f, name, H5P_DEFAULT) >= 0);
    hid_t d = H5Dcreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(d >= 0 && H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(d);
    H5Sclose(space);
    H5Fclose(f);
}

/* float16 weights are widened exactly: 0x3800 = 0.5, 0xbd00 = -1.25,
 * 0x3555 = 1.3330078125 / 4, 0x0001 = 2^-24 (the smallest subnormal). */
static void widens_float16(void) {
    const char *p = copy_fixture(FIXTURES "mlp/keras2.h5", "f16.h5");
    static const uint16_t bits[4] = {0x3800, 0xbd00, 0x3555, 0x0001};
    static const float want[4] = {0.5f, -1.25f, 0.333251953125f, 5.9604644775390625e-08f};
    uint16_t data[8 * 16];
    for (int i = 0; i < 8 * 16; i++) data[i] = bits[i % 4];
    /* IEEE half as h5py declares it (HDF5 1.10 has no predefined one). */
    hid_t f16 = H5Tcopy(H5T_IEEE_F32LE);
    CHECK(H5Tset_fields(f16, 15, 10, 5, 0, 10) >= 0 && H5Tset_size(f16, 2) >= 0 && H5Tset_ebias(f16, 15) >= 0);
    replace_dataset(p, "model_weights/hidden/hidden/kernel:0", f16, 2, (hsize_t[]){8, 16}, data);
    H5Tclose(f16);
    tf_graph *g = read_keras_file(p);
    if (!g) fprintf(stderr, "  %s\n", kc_last_error());
    const float *got = g ? gb_const_data(g, "hidden/kernel") : NULL;
    CHECK(got);
    for (int i = 0; got && i < 8 * 16; i++) CHECK_NEAR(got[i], want[i % 4], 0);
    tf_graph_free(g);
}

/* ---- damaged .h5 --------------------------------------------------------------------- */

static void damaged_h5(void) {
    size_t size = 0;
    unsigned char *data = slurp(FIXTURES "mlp/keras2.h5", &size);
    if (!data) return;
    const char *p = tpath("damaged.h5");
    /* HDF5 prints nothing of its own: stderr stays empty through a failure. */
    const char *err = tpath("stderr.txt");
    fflush(stderr);
    int saved = dup(2);
    FILE *sink = fopen(err, "w");
    CHECK(sink && dup2(fileno(sink), 2) >= 0);
    spit(p, data, size / 2);
    bool failed = !read_keras_file(p);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(sink);
    CHECK(failed);
    size_t printed = 1;
    free(slurp(err, &printed));
    CHECK(printed == 0);

    const size_t cuts[] = {0, 3, 8, 96, 1000, size / 3, size / 2, size - 100, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        spit(p, data, cuts[i]);
        EXPECT_FAIL(p, "damaged.h5");
    }
    spit(p, data, size / 2);
    EXPECT_FAIL(p, "cannot open as HDF5", "truncated");

    /* Flip every 23rd byte in turn: whatever breaks must be an error (HDF5 crashes or loops
     * on some of these in the process that reads the file first). Each goes to a new file, as
     * HDF5 in one process may keep what it learnt of a file by its name. */
    int errors = 0, tries = 0;
    for (size_t at = 0; at < size; at += 23, tries++) {
        char name[64];
        snprintf(name, sizeof name, "flip%zu.h5", at);
        const char *q = tpath(name);
        data[at] ^= 0xff;
        spit(q, data, size);
        errors += survives(q);
        data[at] ^= 0xff;
        remove(q);
    }
    CHECK(errors > 0);
    fprintf(stderr, "  %d of %d flipped .h5 files failed to read\n", errors, tries);
    spit(p, "not a model\n", 12);
    EXPECT_FAIL(p, "neither an HDF5 file (.h5) nor a zip archive (.keras)");
    free(data);
}

/* A file on which HDF5 loops (found by fuzz_kerasfile: a variable-length
 * string attribute whose global heap collection makes HDF5 1.10 go round
 * forever): the reading child is killed at the limit, and the error says so. */
static void looping_h5(void) {
    const char *p = copy_fixture("tests/fuzz/regressions/kerasfile/h5-global-heap-loop-slow-unit-342bef31", "loops.h5");
    unsigned saved = read_keras_file_limit_ms;
    read_keras_file_limit_ms = 300;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_FAIL(p, "reading it did not finish in 0.3 s (the HDF5 library loops on it)");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(seconds >= 0.3 && seconds < 5);
    read_keras_file_limit_ms = saved;
}

static void h5_attr_delete(const char *file, const char *obj, const char *attr) {
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(f >= 0 && H5Adelete_by_name(f, obj, attr, H5P_DEFAULT) >= 0);
    H5Fclose(f);
}

static void h5_unlink(const char *file, const char *name) {
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(f >= 0 && H5Ldelete(f, name, H5P_DEFAULT) >= 0);
    H5Fclose(f);
}

static void missing_parts_h5(void) {
    const char *p = copy_fixture(FIXTURES "mlp/keras2.h5", "no_config.h5");
    h5_attr_delete(p, ".", "model_config");
    EXPECT_FAIL(p, "no model_config attribute");

    p = copy_fixture(FIXTURES "mlp/keras2.h5", "no_kernel.h5");
    h5_unlink(p, "model_weights/hidden/hidden/kernel:0");
    EXPECT_FAIL(p, "layer 'hidden' (Dense)", "model_weights/hidden/hidden/kernel:0");

    p = copy_fixture(FIXTURES "mlp/keras2.h5", "no_bn.h5");
    h5_unlink(p, "model_weights/bn");
    EXPECT_FAIL(p, "layer 'bn' (BatchNormalization)", "no 'gamma'");

    p = copy_fixture(FIXTURES "mlp/keras2.h5", "no_names.h5");
    h5_attr_delete(p, "model_weights/out", "weight_names");
    EXPECT_FAIL(p, "model_weights/out", "no weight_names attribute");

    p = copy_fixture(FIXTURES "mlp/keras2.h5", "no_weights.h5");
    h5_unlink(p, "model_weights");
    EXPECT_FAIL(p, "no model_weights group");

    /* Inside a nested model, names pick the weight: without it, the error names it. */
    p = copy_fixture(FIXTURES "nested/keras3.h5", "nested_no_gamma.h5");
    h5_unlink(p, "model_weights/block/block/b_bn/gamma");
    EXPECT_FAIL(p, "layer 'block/b_bn'", "model_weights/block/block/b_bn/gamma");

    p = copy_fixture(FIXTURES "mlp/keras2.h5", "bad_config.h5");
    hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT), s = H5Screate(H5S_SCALAR), t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 9);
    H5Adelete(f, "model_config");
    hid_t a = H5Acreate2(f, "model_config", t, s, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(a >= 0 && H5Awrite(a, t, "{\"class\":") >= 0);
    H5Aclose(a), H5Tclose(t), H5Sclose(s), H5Fclose(f);
    EXPECT_FAIL(p, "model_config: byte 9");
}

static void wrong_weights_h5(void) {
    const char *p = copy_fixture(FIXTURES "mlp/keras2.h5", "shape.h5");
    float f[8 * 15] = {0};
    replace_dataset(p, "model_weights/hidden/hidden/kernel:0", H5T_NATIVE_FLOAT, 2, (hsize_t[]){8, 15}, f);
    EXPECT_FAIL(p, "layer 'hidden' (Dense)", "weight 'kernel' has shape [8,15], expected [*,16]");

    p = copy_fixture(FIXTURES "mlp/keras2.h5", "int.h5");
    int32_t n[16] = {0};
    replace_dataset(p, "model_weights/hidden/hidden/bias:0", H5T_NATIVE_INT32, 1, (hsize_t[]){16}, n);
    EXPECT_FAIL(p, "model_weights/hidden/hidden/bias:0", "must be float32 or float16");
}

/* A recurrent layer's weights missing or of the wrong shape: the error names
 * the layer and the dataset or the shape. */
static void wrong_rnn_weights(void) {
    const char *p = copy_fixture(FIXTURES "bi_rnn/keras2.h5", "bi_no_rec.h5");
    h5_unlink(p, "model_weights/bidirectional/bidirectional/backward_lstm/lstm_cell/recurrent_kernel:0");
    EXPECT_FAIL(p, "layer 'bidirectional' (Bidirectional)", "backward_lstm/lstm_cell/recurrent_kernel:0");

    /* A reset_after=false GRU's bias in a reset_after=true GRU. */
    p = copy_fixture(FIXTURES "text_rnn/keras3.h5", "gru_bias.h5");
    float bias[15] = {0};
    replace_dataset(p, "model_weights/gru/gru/gru_cell/bias", H5T_NATIVE_FLOAT, 1, (hsize_t[]){15}, bias);
    EXPECT_FAIL(p, "layer 'gru' (GRU)", "weight 'bias' has shape [15], expected [2,15]");
}

/* ---- damaged .keras ------------------------------------------------------------------ */

/* Offset of the central directory header of `name`, or 0. */
static size_t central(const unsigned char *z, size_t size, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i + 46 + n <= size; i++)
        if (memcmp(z + i, "PK\1\2", 4) == 0 && z[i + 28] == n && z[i + 29] == 0 && memcmp(z + i + 46, name, n) == 0)
            return i;
    return 0;
}

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> 8 * i);
}

static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Writes the archive with the central directory's uncompressed size of `name` set to `usize`. */
static void with_usize(const char *path, const unsigned char *z, size_t size, const char *name, uint32_t usize) {
    unsigned char *copy = malloc(size);
    memcpy(copy, z, size);
    size_t at = central(copy, size, name);
    CHECK(at > 0);
    put32(copy + at + 24, usize);
    spit(path, copy, size);
    free(copy);
}

/* Every occurrence of `from` (in the local header and the directory) renamed. */
static void renamed(const char *path, const unsigned char *z, size_t size, const char *from, const char *to) {
    unsigned char *copy = malloc(size);
    memcpy(copy, z, size);
    int hits = 0;
    for (size_t i = 0; i + strlen(from) <= size; i++)
        if (memcmp(copy + i, from, strlen(from)) == 0) memcpy(copy + i, to, strlen(to)), hits++;
    CHECK(hits >= 2);
    spit(path, copy, size);
    free(copy);
}

static void damaged_keras(void) {
    size_t size = 0;
    unsigned char *data = slurp(FIXTURES "mlp/keras3.keras", &size);
    if (!data) return;
    const char *p = tpath("damaged.keras");
    const size_t cuts[] = {4, 30, 100, size / 2, size - 23, size - 22, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        spit(p, data, cuts[i]);
        EXPECT_FAIL(p, "damaged.keras");
    }
    spit(p, data, size - 1);
    EXPECT_FAIL(p, "not a zip archive (no end of central directory record)");

    /* Flip every 17th byte: entries' data is CRC-checked, so nearly all fail. */
    int errors = 0, tries = 0;
    for (size_t at = 0; at < size; at += 17, tries++) {
        data[at] ^= 0x20;
        spit(p, data, size);
        errors += survives(p);
        data[at] ^= 0x20;
    }
    CHECK(errors > tries * 9 / 10);
    fprintf(stderr, "  %d of %d flipped .keras files failed to read\n", errors, tries);

    size_t at = central(data, size, "model.weights.h5");
    CHECK(at > 0);
    size_t local = get32(data + at + 42) + 30 + 16 + 100; /* a byte of the weights file */
    data[local] ^= 1;
    spit(p, data, size);
    data[local] ^= 1;
    EXPECT_FAIL(p, "model.weights.h5: CRC-32");

    renamed(p, data, size, "config.json", "config.jsoX");
    EXPECT_FAIL(p, "the archive has no config.json");
    renamed(p, data, size, "model.weights.h5", "model.weights.h6");
    EXPECT_FAIL(p, "the archive has no model.weights.h5");
    /* metadata.json renamed config.json, its last two bytes moved to the extra field. */
    unsigned char *twice = malloc(size);
    memcpy(twice, data, size);
    at = central(twice, size, "metadata.json");
    CHECK(at > 0);
    size_t lh = get32(twice + at + 42); /* its local header */
    twice[lh + 26] = 11, twice[lh + 28] = 2, memcpy(twice + lh + 30, "config.json", 11);
    twice[at + 28] = 11, twice[at + 30] = 2, memcpy(twice + at + 46, "config.json", 11);
    spit(p, twice, size);
    free(twice);
    EXPECT_FAIL(p, "holds \"config.json\" twice");

    /* Limits: a declared size over the limit, ZIP64, a lying stored size. */
    with_usize(p, data, size, "model.weights.h5", 0xf0000000u);
    EXPECT_FAIL(p, "model.weights.h5: declares 4026531840 bytes, over the limit of 2147483648");
    with_usize(p, data, size, "model.weights.h5", 0xffffffffu);
    EXPECT_FAIL(p, "needs ZIP64, which is not supported");
    with_usize(p, data, size, "config.json", 10);
    EXPECT_FAIL(p, "config.json: a stored entry of");
    free(data);

    EXPECT_FAIL(FIXTURES "bad/bomb.keras", "model.weights.h5: 67108864 bytes deflated to",
                "over the limit of 100:1 compression");

    /* Deflated entries that inflate to more or less than declared. */
    data = slurp(FIXTURES "cnn/keras3_deflate.keras", &size);
    if (!data) return;
    at = central(data, size, "config.json");
    CHECK(at > 0);
    uint32_t usize = get32(data + at + 24);
    with_usize(p, data, size, "config.json", usize - 1);
    EXPECT_FAIL(p, "config.json: inflates to more than its declared");
    with_usize(p, data, size, "config.json", usize + 1);
    EXPECT_FAIL(p, "config.json: the deflate data ends after");
    free(data);
}

int main(void) {
    if (!mkdtemp(tdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(reads_weights);
    RUN(reads_bidirectional_weights);
    RUN(widens_float16);
    RUN(damaged_h5);
    RUN(looping_h5);
    RUN(missing_parts_h5);
    RUN(wrong_weights_h5);
    RUN(wrong_rnn_weights);
    RUN(damaged_keras);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tdir);
    return check_summary();
}
