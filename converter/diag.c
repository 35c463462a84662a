#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kn.h"

static char message[8192];

void kc_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
}

void kc_error_prefix(const char *fmt, ...) {
    char prefix[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t plen = strlen(prefix), mlen = strlen(message);
    strcat(prefix, ": ");
    plen += 2;
    if (plen + mlen >= sizeof message) mlen = sizeof message - plen - 1;
    memmove(message + plen, message, mlen);
    memcpy(message + plen + mlen, "", 1);
    memcpy(message, prefix, plen);
}

const char *kc_last_error(void) { return message; }

const char *kc_shape(const kn_tensor *t) {
    static char ring[8][160];
    static int next;
    char *b = ring[next++ % 8];
    size_t n = (size_t)snprintf(b, sizeof ring[0], "%s[", kiln_dtype_name(t->dtype));
    for (int i = 0; i < t->rank && n < sizeof ring[0]; i++)
        n += (size_t)snprintf(b + n, sizeof ring[0] - n, i ? ",%d" : "%d", t->dims[i]);
    if (n < sizeof ring[0] - 1) strcat(b, "]");
    return b;
}
