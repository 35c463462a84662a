#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char message[8192];

void kc_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
}

void kc_error_prefix(const char *fmt, ...) {
    char prefix[1024], old[sizeof message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, message, sizeof old);
    snprintf(message, sizeof message, "%s: %s", prefix, old);
}

const char *kc_last_error(void) { return message; }
