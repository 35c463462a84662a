/* Whole files in and out (files.h). */
#define _POSIX_C_SOURCE 200809L

#include "files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"

uint8_t *kc_read_file(const char *path, uint64_t max, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        kc_error("%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    uint8_t *data = NULL;
    if (fstat(fileno(f), &st) != 0)
        kc_error("%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        kc_error("%s: not a regular file", path);
    else if ((uint64_t)st.st_size > max)
        kc_error("%s: %lld bytes, over the %llu-byte limit", path, (long long)st.st_size, (unsigned long long)max);
    else if (!(data = malloc(st.st_size ? (size_t)st.st_size : 1)))
        kc_error("%s: out of memory", path);
    else if (fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        kc_error("%s: read failed: %s", path, ferror(f) ? strerror(errno) : "file shrank while reading");
        free(data);
        data = NULL;
    }
    *size = data ? (size_t)st.st_size : 0;
    fclose(f);
    return data;
}

bool kc_write_file_atomic(const char *path, const uint8_t *bytes, size_t size) {
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) {
        kc_error("out of memory");
        return false;
    }
    snprintf(tmp, n + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        kc_error("%s: cannot create a temporary file next to it: %s", path, strerror(errno));
        free(tmp);
        return false;
    }
    fchmod(fd, 0644); /* mkstemp makes it 0600; a bundle is meant to be shared */
    FILE *f = fdopen(fd, "wb");
    bool ok = f && fwrite(bytes, 1, size, f) == size;
    ok = (f ? fclose(f) == 0 : (close(fd), false)) && ok;
    if (ok && rename(tmp, path) != 0) ok = false;
    if (!ok) {
        kc_error("%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return ok;
}
