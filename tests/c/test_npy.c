/* .npy reading and writing (src/cli/npy.c): round trips of every dtype at
 * ranks 0..4, and malformed files that must each give an error. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli/npy.h"

static char dir[] = "/tmp/kiln_test_npy_XXXXXX";

static void path_of(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", dir, name); }

static void write_bytes(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(bytes, 1, n, f) == n);
    fclose(f);
}

/* Reads a whole file into a malloc'd buffer. */
static unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)size + 1);
    *n = fread(b, 1, (size_t)size, f);
    fclose(f);
    return b;
}

static void round_trip(kiln_dtype dtype, int rank) {
    static const int32_t shapes[5][4] = {{0}, {5}, {2, 3}, {2, 1, 3}, {2, 3, 1, 2}};
    const int32_t *dims = shapes[rank];
    size_t count = 1;
    for (int i = 0; i < rank; i++) count *= (size_t)dims[i];
    size_t esize = dtype == KILN_FLOAT32 || dtype == KILN_INT32 ? 4 : 1;
    unsigned char *data = malloc(count * esize);
    for (size_t i = 0; i < count; i++) {
        if (dtype == KILN_FLOAT32) ((float *)data)[i] = (float)i * 0.5f - 1.25f;
        else if (dtype == KILN_INT32) ((int32_t *)data)[i] = (int32_t)i * 1000 - 70000;
        else if (dtype == KILN_UINT8) data[i] = (unsigned char)(i * 37 + 200);
        else data[i] = (unsigned char)(i % 2);
    }
    char path[256], err[256];
    path_of(path, sizeof path, "rt.npy");
    CHECK(npy_write(path, dtype, dims, rank, data, err, sizeof err) == 0);

    /* v1.0 and the data 64-byte aligned, and no .tmp left behind. */
    size_t n = 0;
    unsigned char *bytes = read_bytes(path, &n);
    CHECK(bytes != NULL && n >= 64);
    if (bytes) {
        CHECK(bytes[6] == 1 && bytes[7] == 0);
        size_t hl = (size_t)bytes[8] | (size_t)bytes[9] << 8;
        CHECK((10 + hl) % 64 == 0);
        CHECK(bytes[10 + hl - 1] == '\n');
        CHECK(n == 10 + hl + count * esize);
        free(bytes);
    }
    char tmp[270];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0);

    npy_array a;
    int rc = npy_read(path, &a, err, sizeof err);
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "  %s\n", err);
    } else {
        CHECK(a.dtype == dtype);
        CHECK(a.rank == rank);
        for (int i = 0; i < rank; i++) CHECK(a.dims[i] == dims[i]);
        CHECK(a.count == count);
        CHECK(a.nbytes == count * esize);
        CHECK(memcmp(a.data, data, count * esize) == 0);
    }
    npy_free(&a);
    CHECK(a.data == NULL);
    free(data);
}

static void round_trips(void) {
    const kiln_dtype dtypes[] = {KILN_FLOAT32, KILN_INT32, KILN_UINT8, KILN_BOOL};
    for (size_t d = 0; d < sizeof dtypes / sizeof *dtypes; d++)
        for (int rank = 0; rank <= 4; rank++) round_trip(dtypes[d], rank);
}

static void header_text(void) {
    char path[256], err[256];
    path_of(path, sizeof path, "h.npy");
    int32_t dims[2] = {1, 5};
    float v[5] = {0};
    CHECK(npy_write(path, KILN_FLOAT32, dims, 2, v, err, sizeof err) == 0);
    size_t n = 0;
    unsigned char *b = read_bytes(path, &n);
    CHECK(b != NULL);
    if (b) {
        const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 5), }";
        CHECK(memcmp(b + 10, want, strlen(want)) == 0);
        free(b);
    }
    /* A 1-d shape is written as a one-element tuple, "(7,)". */
    int32_t one[1] = {7};
    unsigned char u[7] = {0};
    CHECK(npy_write(path, KILN_UINT8, one, 1, u, err, sizeof err) == 0);
    b = read_bytes(path, &n);
    if (b) {
        CHECK(strstr((const char *)b + 10, "'shape': (7,), }") != NULL);
        free(b);
    }
}

/* A v1.0 file built by hand: header text as given (padded), then nbytes of data. */
static void make_file(const char *path, const char *header, size_t nbytes) {
    size_t hl = strlen(header);
    size_t padded = hl + 1;
    while ((10 + padded) % 64) padded++;
    size_t total = 10 + padded + nbytes;
    unsigned char *b = calloc(1, total);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(padded & 0xff);
    b[9] = (unsigned char)(padded >> 8);
    memcpy(b + 10, header, hl);
    memset(b + 10 + hl, ' ', padded - hl - 1);
    b[10 + padded - 1] = '\n';
    write_bytes(path, b, total);
    free(b);
}

/* Reading must fail with a message that names the file and contains `what`. */
static void expect_error(const char *path, const char *what) {
    npy_array a;
    char err[512] = "";
    int rc = npy_read(path, &a, err, sizeof err);
    CHECK(rc == -1);
    CHECK(a.data == NULL);
    CHECK(strstr(err, path) != NULL);
    if (!strstr(err, what)) {
        fprintf(stderr, "  error \"%s\" does not say \"%s\"\n", err, what);
        check_failures++;
    }
    if (rc == 0) npy_free(&a);
}

static void hand_made_files(void) {
    char path[256];
    path_of(path, sizeof path, "m.npy");
    /* v2.0 and v3.0 (4-byte header length) read too. */
    const char *h = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }";
    size_t hl = strlen(h) + 1;
    while ((12 + hl) % 64) hl++;
    unsigned char b[256] = {0};
    memcpy(b, "\x93NUMPY\x02\x00", 8);
    b[8] = (unsigned char)hl;
    memset(b + 12, ' ', hl);
    memcpy(b + 12, h, strlen(h));
    b[12 + hl - 1] = '\n';
    int32_t v[2] = {-7, 9};
    memcpy(b + 12 + hl, v, sizeof v);
    for (int version = 2; version <= 3; version++) {
        b[6] = (unsigned char)version;
        write_bytes(path, b, 12 + hl + sizeof v);
        npy_array a;
        char err[256];
        CHECK(npy_read(path, &a, err, sizeof err) == 0);
        CHECK(a.dtype == KILN_INT32 && a.rank == 1 && a.dims[0] == 2);
        if (a.data) CHECK(((int32_t *)a.data)[0] == -7 && ((int32_t *)a.data)[1] == 9);
        npy_free(&a);
    }
    /* Double quotes, no trailing comma, key order changed: still a valid dict. */
    make_file(path, "{\"shape\": (3, 1), \"fortran_order\": False, \"descr\": \"|b1\"}", 3);
    npy_array a;
    char err[256];
    CHECK(npy_read(path, &a, err, sizeof err) == 0);
    CHECK(a.dtype == KILN_BOOL && a.rank == 2 && a.dims[0] == 3 && a.dims[1] == 1);
    npy_free(&a);
}

static void malformed(void) {
    char path[256], err[256];
    path_of(path, sizeof path, "bad.npy");
    int32_t dims[2] = {2, 3};
    float v[6] = {1, 2, 3, 4, 5, 6};
    CHECK(npy_write(path, KILN_FLOAT32, dims, 2, v, err, sizeof err) == 0);
    size_t n = 0;
    unsigned char *good = read_bytes(path, &n);
    CHECK(good != NULL && n == 128 + sizeof v); /* 10 + 60 header chars + newline, padded to 128 */
    if (!good) return;

    write_bytes(path, good, n - 1); /* truncated data */
    expect_error(path, "needs 24 data bytes, the file has 23");
    write_bytes(path, good, 40); /* truncated header */
    expect_error(path, "truncated .npy header");
    write_bytes(path, good, 7); /* shorter than the preamble */
    expect_error(path, "not a .npy file");
    write_bytes(path, good, 0);
    expect_error(path, "not a .npy file");

    unsigned char *b = malloc(n + 4);
    memcpy(b, good, n);
    b[1] = 'X'; /* bad magic */
    write_bytes(path, b, n);
    expect_error(path, "bad magic");

    memcpy(b, good, n);
    b[6] = 4; /* unknown version */
    write_bytes(path, b, n);
    expect_error(path, "unsupported .npy version 4.0");

    memcpy(b, good, n);
    b[8] = 0xff; /* header longer than the file */
    b[9] = 0xff;
    write_bytes(path, b, n);
    expect_error(path, "truncated .npy header");

    memcpy(b, good, n);
    memcpy(b + n, "\0\0\0\0", 4); /* extra data after the array */
    write_bytes(path, b, n + 4);
    expect_error(path, "needs 24 data bytes, the file has 28");
    free(b);
    free(good);

    make_file(path, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24);
    expect_error(path, "fortran_order is True");
    make_file(path, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", 24);
    expect_error(path, "big-endian");
    make_file(path, "{'descr': '>i4', 'fortran_order': False, 'shape': (2, 3), }", 24);
    expect_error(path, "big-endian");
    make_file(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 48);
    expect_error(path, "dtype '<f8' is not supported");
    make_file(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", 24); /* shape > data */
    expect_error(path, "needs 32 data bytes, the file has 24");
    make_file(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 24);
    expect_error(path, "not a non-negative integer");
    make_file(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (3000000000,), }", 24);
    expect_error(path, "larger than 2^31-1");
    make_file(path, "{'descr': '|u1', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647, 2147483647), }", 4);
    expect_error(path, "overflows");
    make_file(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4);
    expect_error(path, "larger than KILN_MAX_RANK");
    make_file(path, "{'descr': '<f4', 'fortran_order': False, }", 4);
    expect_error(path, "no 'shape'");
    make_file(path, "{'descr': '<f4', 'shape': (1,), }", 4);
    expect_error(path, "no 'fortran_order'");
    make_file(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4);
    expect_error(path, "a key other than");
    make_file(path, "'descr': '<f4'", 4);
    expect_error(path, "does not start with '{'");
    make_file(path, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", 2);
    {
        /* bools other than 0/1 */
        size_t m = 0;
        unsigned char *c = read_bytes(path, &m);
        if (c) {
            c[m - 1] = 2;
            write_bytes(path, c, m);
            free(c);
        }
        expect_error(path, "bool element 1 is 2");
    }
    path_of(path, sizeof path, "missing.npy");
    expect_error(path, "cannot open");
}

static void write_errors(void) {
    char path[256], err[256];
    int32_t neg[1] = {-1};
    path_of(path, sizeof path, "w.npy");
    CHECK(npy_write(path, KILN_FLOAT32, neg, 1, NULL, err, sizeof err) == -1);
    CHECK(strstr(err, "negative") != NULL);
    int32_t d1[1] = {4};
    CHECK(npy_write(path, (kiln_dtype)99, d1, 1, "abcd", err, sizeof err) == -1);
    CHECK(npy_write(path, KILN_FLOAT32, d1, KILN_MAX_RANK + 1, "abcd", err, sizeof err) == -1);
    CHECK(npy_write(path, KILN_FLOAT32, d1, 1, NULL, err, sizeof err) == -1);
    /* A directory that does not exist: a clear error, no file. */
    CHECK(npy_write("/nonexistent-kiln-dir/x.npy", KILN_UINT8, d1, 1, "abcd", err, sizeof err) == -1);
    CHECK(strstr(err, "/nonexistent-kiln-dir/x.npy.tmp") != NULL);
    /* A zero-element array needs no data. */
    int32_t z[2] = {0, 3};
    CHECK(npy_write(path, KILN_INT32, z, 2, NULL, err, sizeof err) == 0);
    npy_array a;
    CHECK(npy_read(path, &a, err, sizeof err) == 0);
    CHECK(a.count == 0 && a.nbytes == 0 && a.data != NULL && a.rank == 2);
    npy_free(&a);
}

static void cleanup(void) {
    const char *names[] = {"rt.npy", "h.npy", "m.npy", "bad.npy", "w.npy"};
    char path[256];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        path_of(path, sizeof path, names[i]);
        remove(path);
    }
    rmdir(dir);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(round_trips);
    RUN(header_text);
    RUN(hand_made_files);
    RUN(malformed);
    RUN(write_errors);
    cleanup();
    return check_summary();
}
