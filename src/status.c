/* Status codes and the thread's last-error message. The formatter is our
 * own so the runtime needs no libc I/O (and stays small in wasm). */
#include <stdarg.h>
#include <string.h>

#include "kn.h"

#define KN_ERROR_CAP 1024

static _Thread_local char last_error[KN_ERROR_CAP];

const char *kiln_last_error(void) { return last_error; }

const char *kiln_status_name(kiln_status status) {
    switch (status) {
    case KILN_OK: return "ok";
    case KILN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case KILN_ERR_BAD_BUNDLE: return "bad bundle";
    case KILN_ERR_UNSUPPORTED: return "unsupported";
    case KILN_ERR_OUT_OF_MEMORY: return "out of memory";
    case KILN_ERR_RUNTIME: return "runtime error";
    }
    return "unknown";
}

const char *kiln_dtype_name(kiln_dtype dtype) {
    switch (dtype) {
    case KILN_FLOAT32: return "float32";
    case KILN_INT32: return "int32";
    case KILN_UINT8: return "uint8";
    case KILN_BOOL: return "bool";
    }
    return "unknown";
}

size_t kiln_dtype_size(kiln_dtype dtype) {
    switch (dtype) {
    case KILN_FLOAT32: case KILN_INT32: return 4;
    case KILN_UINT8: case KILN_BOOL: return 1;
    }
    return 0;
}

typedef struct {
    char *buf;
    size_t len, cap;
} sink;

static void put_char(sink *s, char c) {
    if (s->len + 1 < s->cap) s->buf[s->len++] = c;
}

static void put_str(sink *s, const char *str) {
    if (!str) str = "(null)";
    while (*str) put_char(s, *str++);
}

static void put_unsigned(sink *s, unsigned long long v, unsigned base) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n) put_char(s, digits[--n]);
}

static void put_signed(sink *s, long long v) {
    if (v < 0) {
        put_char(s, '-');
        put_unsigned(s, 0ull - (unsigned long long)v, 10);
    } else {
        put_unsigned(s, (unsigned long long)v, 10);
    }
}

static void put_shape(sink *s, const kn_tensor *t) {
    put_str(s, kiln_dtype_name(t->dtype));
    put_char(s, '[');
    for (int i = 0; i < t->rank && i < KILN_MAX_RANK; i++) {
        if (i) put_char(s, ',');
        put_signed(s, t->dims[i]);
    }
    put_char(s, ']');
}

static void format(sink *s, const char *fmt, va_list ap) {
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put_char(s, *p);
            continue;
        }
        p++;
        if (*p == 's') put_str(s, va_arg(ap, const char *));
        else if (*p == 'd') put_signed(s, va_arg(ap, int));
        else if (*p == 'u') put_unsigned(s, va_arg(ap, unsigned), 10);
        else if (*p == 'x') put_unsigned(s, va_arg(ap, unsigned), 16);
        else if (*p == 'S') put_shape(s, va_arg(ap, const kn_tensor *));
        else if (p[0] == 'z' && p[1] == 'u') { put_unsigned(s, va_arg(ap, size_t), 10); p++; }
        else if (p[0] == 'l' && p[1] == 'l' && p[2] == 'd') { put_signed(s, va_arg(ap, long long)); p += 2; }
        else if (p[0] == 'l' && p[1] == 'l' && p[2] == 'u') { put_unsigned(s, va_arg(ap, unsigned long long), 10); p += 2; }
        else if (*p == '%') put_char(s, '%');
        else break; /* unknown conversion: stop rather than misread the arguments */
    }
    s->buf[s->len] = '\0';
}

kiln_status kn_fail(kiln_status status, const char *fmt, ...) {
    sink s = {last_error, 0, KN_ERROR_CAP};
    va_list ap;
    va_start(ap, fmt);
    format(&s, fmt, ap);
    va_end(ap);
    return status;
}

kiln_status kn_fail_in_step(const kn_step *step, kiln_status status) {
    char detail[KN_ERROR_CAP];
    memcpy(detail, last_error, sizeof detail);
    const kn_op_def *def = kn_op_lookup(step->op);
    return kn_fail(status, "step '%s' (%s): %s", step->name ? step->name : "",
                   def ? def->name : "unknown op", detail);
}
