/* CRC-32C, reflected polynomial 0x82F63B78, slicing-by-4 over a table built
 * on the stack per call (1 µs), which keeps it thread-safe without globals
 * to initialize. */
#include <string.h>

#include "kn.h"

uint32_t kn_crc32c(const void *data, size_t size) {
    uint32_t table[4][256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 4; t++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];

    const uint8_t *p = data;
    uint32_t crc = 0xffffffffu;
    for (; size >= 4; size -= 4, p += 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        crc ^= w; /* little-endian, as format.h requires */
        crc = table[3][crc & 0xff] ^ table[2][(crc >> 8) & 0xff] ^ table[1][(crc >> 16) & 0xff] ^ table[0][crc >> 24];
    }
    for (; size; size--) crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}
