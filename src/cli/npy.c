/* .npy reading and writing for kiln-run. The format: "\x93NUMPY", a version
 * byte pair, a little-endian header length (2 bytes in 1.0, 4 in 2.0/3.0),
 * then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (1, 224, 224, 3), }
 * padded with spaces and a newline, then the raw data. */
#define _POSIX_C_SOURCE 200809L

#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Headers are a few hundred bytes; anything far larger is a corrupt file. */
#define NPY_MAX_HEADER (1u << 20)

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static size_t elem_size(kiln_dtype dtype) {
    switch (dtype) {
    case KILN_FLOAT32: case KILN_INT32: return 4;
    case KILN_UINT8: case KILN_BOOL: return 1;
    }
    return 0;
}

static const char *dtype_descr(kiln_dtype dtype) {
    switch (dtype) {
    case KILN_FLOAT32: return "<f4";
    case KILN_INT32: return "<i4";
    case KILN_UINT8: return "|u1";
    case KILN_BOOL: return "|b1";
    }
    return NULL;
}

/* ---- header parsing ------------------------------------------------------ */

typedef struct {
    const char *s, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r')) c->s++;
}

static int eat(cursor *c, char ch) {
    skip_ws(c);
    if (c->s < c->end && *c->s == ch) {
        c->s++;
        return 1;
    }
    return 0;
}

/* A quoted Python string ('...' or "..."), without escapes (numpy writes none). */
static int parse_string(cursor *c, char *buf, size_t cap) {
    skip_ws(c);
    if (c->s >= c->end || (*c->s != '\'' && *c->s != '"')) return 0;
    char q = *c->s++;
    size_t n = 0;
    while (c->s < c->end && *c->s != q) {
        if (*c->s == '\\' || n + 1 >= cap) return 0;
        buf[n++] = *c->s++;
    }
    if (c->s >= c->end) return 0;
    c->s++;
    buf[n] = '\0';
    return 1;
}

static int parse_word(cursor *c, const char *word) {
    skip_ws(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->s) < n || memcmp(c->s, word, n) != 0) return 0;
    c->s += n;
    return 1;
}

/* Parses the header dict into dtype/rank/dims. Returns NULL or what was wrong. */
static const char *parse_header(const char *text, size_t len, npy_array *a, char *descr, size_t descr_cap) {
    cursor c = {text, text + len};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!eat(&c, '{')) return "it does not start with '{'";
    for (;;) {
        if (eat(&c, '}')) break;
        char key[32];
        if (!parse_string(&c, key, sizeof key)) return "expected a quoted key";
        if (!eat(&c, ':')) return "expected ':' after a key";
        if (strcmp(key, "descr") == 0) {
            if (!parse_string(&c, descr, descr_cap)) return "'descr' is not a short string";
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (parse_word(&c, "False")) {
                have_order = 1;
            } else if (parse_word(&c, "True")) {
                return "fortran_order is True; only C order is supported";
            } else {
                return "'fortran_order' is neither True nor False";
            }
        } else if (strcmp(key, "shape") == 0) {
            if (!eat(&c, '(')) return "'shape' is not a tuple";
            a->rank = 0;
            for (;;) {
                if (eat(&c, ')')) break;
                skip_ws(&c);
                if (c.s >= c.end || *c.s < '0' || *c.s > '9') return "a shape entry is not a non-negative integer";
                unsigned long long d = 0;
                while (c.s < c.end && *c.s >= '0' && *c.s <= '9') {
                    d = d * 10 + (unsigned long long)(*c.s++ - '0');
                    if (d > INT32_MAX) return "a dim is larger than 2^31-1";
                }
                if (c.s < c.end && *c.s == 'L') c.s++; /* Python 2 longs */
                if (a->rank >= KILN_MAX_RANK) return "the rank is larger than KILN_MAX_RANK (8)";
                a->dims[a->rank++] = (int32_t)d;
                if (eat(&c, ')')) break;
                if (!eat(&c, ',')) return "expected ',' or ')' in 'shape'";
            }
            have_shape = 1;
        } else {
            return "it has a key other than 'descr', 'fortran_order' and 'shape'";
        }
        if (eat(&c, '}')) break;
        if (!eat(&c, ',')) return "expected ',' or '}' after a value";
    }
    skip_ws(&c);
    if (c.s != c.end) return "it has text after the closing '}'";
    if (!have_descr) return "it has no 'descr'";
    if (!have_order) return "it has no 'fortran_order'";
    if (!have_shape) return "it has no 'shape'";
    return NULL;
}

/* ---- reading ------------------------------------------------------------- */

void npy_free(npy_array *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int npy_read(const char *path, npy_array *out, char *err, size_t errlen) {
    npy_array a;
    memset(&a, 0, sizeof a);
    if (out) memset(out, 0, sizeof *out);
    if (!path || !out) {
        set_err(err, errlen, "npy_read: NULL argument");
        return -1;
    }
    char *header = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    long file_size;
    if (fseek(f, 0, SEEK_END) != 0 || (file_size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        set_err(err, errlen, "%s: cannot get its size: %s", path, strerror(errno));
        goto fail;
    }

    unsigned char pre[12];
    if (file_size < 10 || fread(pre, 1, 10, f) != 10) {
        set_err(err, errlen, "%s: not a .npy file (only %ld bytes)", path, file_size);
        goto fail;
    }
    if (memcmp(pre, npy_magic, sizeof npy_magic) != 0) {
        set_err(err, errlen, "%s: not a .npy file (bad magic)", path);
        goto fail;
    }
    size_t prefix, header_len;
    if (pre[6] == 1) {
        prefix = 10;
        header_len = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            set_err(err, errlen, "%s: truncated .npy preamble", path);
            goto fail;
        }
        prefix = 12;
        header_len = le32(pre + 8);
    } else {
        set_err(err, errlen, "%s: unsupported .npy version %d.%d", path, pre[6], pre[7]);
        goto fail;
    }
    if (header_len > NPY_MAX_HEADER || header_len > (size_t)file_size - prefix) {
        set_err(err, errlen, "%s: truncated .npy header (%zu bytes declared, file is %ld bytes)", path,
                header_len, file_size);
        goto fail;
    }
    header = malloc(header_len + 1);
    if (!header) {
        set_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (fread(header, 1, header_len, f) != header_len) {
        set_err(err, errlen, "%s: cannot read the .npy header", path);
        goto fail;
    }
    header[header_len] = '\0';

    char descr[16];
    const char *why = parse_header(header, header_len, &a, descr, sizeof descr);
    if (why) {
        /* Quote the start of the header; it is a single line of ASCII in a valid file. */
        set_err(err, errlen, "%s: bad .npy header: %s: %.120s", path, why, header);
        goto fail;
    }
    if (strcmp(descr, "<f4") == 0) a.dtype = KILN_FLOAT32;
    else if (strcmp(descr, "<i4") == 0) a.dtype = KILN_INT32;
    else if (strcmp(descr, "|u1") == 0 || strcmp(descr, "<u1") == 0) a.dtype = KILN_UINT8;
    else if (strcmp(descr, "|b1") == 0 || strcmp(descr, "<b1") == 0) a.dtype = KILN_BOOL;
    else if (descr[0] == '>') {
        set_err(err, errlen, "%s: big-endian dtype '%s' is not supported (only little-endian)", path, descr);
        goto fail;
    } else {
        set_err(err, errlen, "%s: dtype '%s' is not supported (only <f4, <i4, |u1, |b1)", path, descr);
        goto fail;
    }

    size_t esize = elem_size(a.dtype);
    a.count = 1;
    for (int i = 0; i < a.rank; i++) {
        size_t d = (size_t)a.dims[i];
        if (d != 0 && a.count > SIZE_MAX / d) {
            set_err(err, errlen, "%s: the shape's element count overflows", path);
            goto fail;
        }
        a.count *= d;
    }
    if (a.count > SIZE_MAX / esize) {
        set_err(err, errlen, "%s: the shape's byte size overflows", path);
        goto fail;
    }
    a.nbytes = a.count * esize;
    size_t have = (size_t)file_size - prefix - header_len;
    if (have != a.nbytes) {
        set_err(err, errlen, "%s: the shape needs %zu data bytes, the file has %zu", path, a.nbytes, have);
        goto fail;
    }
    a.data = malloc(a.nbytes ? a.nbytes : 1);
    if (!a.data) {
        set_err(err, errlen, "%s: out of memory for %zu bytes", path, a.nbytes);
        goto fail;
    }
    if (fread(a.data, 1, a.nbytes, f) != a.nbytes) {
        set_err(err, errlen, "%s: cannot read %zu data bytes", path, a.nbytes);
        goto fail;
    }
    if (a.dtype == KILN_BOOL) {
        /* Kiln's bools are one byte, 0 or 1. */
        const unsigned char *b = a.data;
        for (size_t i = 0; i < a.count; i++) {
            if (b[i] > 1) {
                set_err(err, errlen, "%s: bool element %zu is %d, not 0 or 1", path, i, b[i]);
                goto fail;
            }
        }
    }
    free(header);
    fclose(f);
    *out = a;
    return 0;

fail:
    free(header);
    free(a.data);
    fclose(f);
    return -1;
}

/* ---- writing ------------------------------------------------------------- */

int npy_write(const char *path, kiln_dtype dtype, const int32_t *dims, int rank, const void *data,
              char *err, size_t errlen) {
    const char *descr = dtype_descr(dtype);
    if (!path || !descr || rank < 0 || rank > KILN_MAX_RANK || (rank > 0 && !dims)) {
        set_err(err, errlen, "%s: npy_write: bad arguments (dtype %d, rank %d)", path ? path : "(null)",
                (int)dtype, rank);
        return -1;
    }
    size_t esize = elem_size(dtype), count = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) {
            set_err(err, errlen, "%s: npy_write: dim %d is negative (%d)", path, i, (int)dims[i]);
            return -1;
        }
        size_t d = (size_t)dims[i];
        if (d != 0 && count > SIZE_MAX / d) {
            set_err(err, errlen, "%s: npy_write: the element count overflows", path);
            return -1;
        }
        count *= d;
    }
    if (count > SIZE_MAX / esize) {
        set_err(err, errlen, "%s: npy_write: the byte size overflows", path);
        return -1;
    }
    size_t nbytes = count * esize;
    if (nbytes && !data) {
        set_err(err, errlen, "%s: npy_write: no data for %zu bytes", path, nbytes);
        return -1;
    }

    /* The header: at most 8 dims of 10 digits, well under the buffer. */
    char header[256];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < rank; i++)
        n += snprintf(header + n, sizeof header - (size_t)n, i ? ", %d" : "%d", (int)dims[i]);
    n += snprintf(header + n, sizeof header - (size_t)n, "%s), }", rank == 1 ? "," : "");
    /* Pad with spaces so that 10 (preamble) + header + '\n' is a multiple of 64. */
    size_t len = (size_t)n;
    while ((10 + len + 1) % 64 != 0) header[len++] = ' ';
    header[len++] = '\n';

    unsigned char pre[10];
    memcpy(pre, npy_magic, sizeof npy_magic);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (unsigned char)(len & 0xff);
    pre[9] = (unsigned char)(len >> 8);

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        set_err(err, errlen, "%s: out of memory", path);
        return -1;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    FILE *f = fopen(tmp, "wb");
    if (!f) {
        set_err(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre && fwrite(header, 1, len, f) == len &&
             (nbytes == 0 || fwrite(data, 1, nbytes, f) == nbytes);
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        set_err(err, errlen, "%s: write failed: %s", tmp, strerror(saved));
        remove(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        set_err(err, errlen, "%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}
