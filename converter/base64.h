/* base64.h — standard base64 decoding (RFC 4648 alphabet, '=' padding
 * optional), as tfjs model.json stores bytes attrs and tensor contents. */
#ifndef KILN_BASE64_H
#define KILN_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* An upper bound of the decoded size of n base64 characters. */
size_t base64_decoded_max(size_t n);

/* Decodes in[0..n) into out (room for base64_decoded_max(n) bytes) and sets
 * *out_len. On invalid input returns false after kc_error naming the
 * offending character's offset in `in`. Like the browsers' atob, non-zero
 * bits left over in the last character are ignored; whitespace and the
 * URL-safe alphabet are rejected. */
bool base64_decode(const char *in, size_t n, unsigned char *out, size_t *out_len);

#endif
