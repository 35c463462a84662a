/* Converter diagnostics. A failing converter function records one message
 * (what failed and where: file, byte offset, node name, op) and returns
 * false/NULL; the caller may prefix context with kc_error_prefix. */
#ifndef KILN_DIAG_H
#define KILN_DIAG_H

#if defined(__GNUC__)
#define KC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define KC_PRINTF(a, b)
#endif

void kc_error(const char *fmt, ...) KC_PRINTF(1, 2);
/* Prepends "prefix: " to the current message. */
void kc_error_prefix(const char *fmt, ...) KC_PRINTF(1, 2);
const char *kc_last_error(void);

struct kiln_tensor_desc;
/* "float32[1,224,224,3]" for messages; the string lives until the 8th call after. */
const char *kc_shape(const struct kiln_tensor_desc *t);

#endif
