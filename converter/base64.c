#include "base64.h"

#include "diag.h"

size_t base64_decoded_max(size_t n) { return n / 4 * 3 + 2; }

static int digit(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool base64_decode(const char *in, size_t n, unsigned char *out, size_t *out_len) {
    /* Padding: up to two '=' completing the last group of four. */
    size_t m = n;
    while (m > 0 && in[m - 1] == '=' && n - m < 2) m--;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)in[i];
        int d = digit(c);
        if (d < 0) {
            if (c == '=')
                kc_error("base64 offset %zu: '=' padding is only allowed at the end", i);
            else if (c > 0x20 && c < 0x7f)
                kc_error("base64 offset %zu: invalid character '%c'", i, c);
            else
                kc_error("base64 offset %zu: invalid byte 0x%02x", i, c);
            return false;
        }
        acc = (acc << 6 | (unsigned)d) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (m < n && n % 4 != 0) {
        kc_error("base64 offset %zu: '=' padding must complete a group of 4 characters", m);
        return false;
    }
    if (m % 4 == 1) {
        kc_error("base64 offset %zu: truncated (a lone character cannot encode a byte)", m - 1);
        return false;
    }
    *out_len = o;
    return true;
}
