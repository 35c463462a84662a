#include "snappy.h"

#include <string.h>

#include "diag.h"

/* A Snappy element yields at most 64 bytes from 3 (a copy with a 2-byte
 * offset), so no valid stream expands more than 22 times. */
#define MAX_EXPANSION 22

/* Reads the length varint (at most 32 bits: 5 bytes); returns its size, 0 if bad. */
static size_t read_length(const uint8_t *in, size_t n, uint64_t *v) {
    *v = 0;
    for (size_t i = 0; i < n && i < 5; i++) {
        *v |= (uint64_t)(in[i] & 0x7f) << (7 * i);
        if (!(in[i] & 0x80))
            return *v > UINT32_MAX ? 0 : i + 1;
    }
    return 0;
}

bool snappy_uncompressed_length(const uint8_t *in, size_t n, size_t *len) {
    uint64_t v;
    size_t k = read_length(in, n, &v);
    if (!k) {
        kc_error("snappy: bad length varint at byte 0");
        return false;
    }
    if (v > (uint64_t)(n - k) * MAX_EXPANSION) {
        kc_error("snappy: declared length %llu is impossible for %zu compressed bytes", (unsigned long long)v, n);
        return false;
    }
    *len = (size_t)v;
    return true;
}

static bool fail(const char *what, size_t at) {
    kc_error("snappy: %s at byte %zu", what, at);
    return false;
}

bool snappy_decompress(const uint8_t *in, size_t n, uint8_t *out, size_t out_len) {
    uint64_t declared;
    size_t pos = read_length(in, n, &declared), done = 0;
    if (!pos)
        return fail("bad length varint", 0);
    if (declared != out_len)
        return fail("declared length differs from the output buffer", 0);
    while (pos < n) {
        size_t at = pos, len, offset = 0;
        uint8_t tag = in[pos++];
        switch (tag & 3) {
        case 0: { /* literal: length - 1 in the tag, or in 1-4 bytes after it */
            uint64_t lit = tag >> 2;
            if (lit >= 60) {
                size_t extra = (size_t)lit - 59;
                if (extra > n - pos)
                    return fail("literal length cut off", at);
                lit = 0;
                for (size_t i = 0; i < extra; i++)
                    lit |= (uint64_t)in[pos + i] << (8 * i);
                pos += extra;
            }
            lit += 1;
            if (lit > n - pos)
                return fail("literal cut off", at);
            if (lit > out_len - done)
                return fail("literal past the declared length", at);
            memcpy(out + done, in + pos, (size_t)lit);
            pos += (size_t)lit;
            done += (size_t)lit;
            continue;
        }
        case 1: /* copy, 4..11 bytes, 11-bit offset */
            if (n - pos < 1)
                return fail("copy cut off", at);
            len = 4 + ((tag >> 2) & 7);
            offset = (size_t)(tag >> 5) << 8 | in[pos];
            pos += 1;
            break;
        case 2: /* copy, 1..64 bytes, 16-bit offset */
            if (n - pos < 2)
                return fail("copy cut off", at);
            len = 1 + (tag >> 2);
            offset = (size_t)in[pos] | (size_t)in[pos + 1] << 8;
            pos += 2;
            break;
        default: /* copy, 1..64 bytes, 32-bit offset */
            if (n - pos < 4)
                return fail("copy cut off", at);
            len = 1 + (tag >> 2);
            for (int i = 0; i < 4; i++)
                offset |= (size_t)in[pos + i] << (8 * i);
            pos += 4;
            break;
        }
        if (offset == 0 || offset > done)
            return fail("copy from before the start of the output", at);
        if (len > out_len - done)
            return fail("copy past the declared length", at);
        /* Byte by byte: a copy may overlap the bytes it produces (offset < len
         * repeats a pattern). */
        for (size_t i = 0; i < len; i++)
            out[done + i] = out[done - offset + i];
        done += len;
    }
    if (done != out_len)
        return fail("stream ends before the declared length", n);
    return true;
}
