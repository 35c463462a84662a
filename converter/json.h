/*
 * json.h — a small strict JSON parser (RFC 8259) producing a read-only DOM.
 *
 * Strict: no comments, trailing commas, NaN/Infinity literals, unescaped
 * control characters, invalid UTF-8, unpaired \u surrogates or duplicate
 * object keys. A leading UTF-8 byte order mark is skipped (RFC 8259 allows
 * that). Nesting is limited to JSON_MAX_DEPTH; the caller bounds the input
 * size. Errors go to kc_error as "<name>: byte <offset>: <what>", offsets
 * counting from 0.
 */
#ifndef KILN_JSON_H
#define KILN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 256

typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_member json_member;

typedef struct json_value {
    json_type type;
    bool b;        /* JSON_BOOL */
    size_t offset; /* where the value starts in the input */
    size_t len;    /* string: bytes (without the NUL); number: text length; array/object: count */
    /* JSON_STRING: the decoded UTF-8, NUL-terminated (it may contain NULs
     * from \u0000). JSON_NUMBER: the number's text as written, so that
     * integers beyond 2^53 are not lost. */
    const char *str;
    double num;                     /* JSON_NUMBER, correctly rounded */
    const struct json_value *items; /* JSON_ARRAY */
    const json_member *members;     /* JSON_OBJECT, in input order */
} json_value;

struct json_member {
    const char *key; /* decoded like a string value */
    size_t key_len;
    size_t key_offset;
    json_value value;
};

typedef struct json_doc json_doc;

/* Parses text[0..len); name (usually the file name) prefixes error messages.
 * Returns NULL after kc_error. The DOM does not refer to text. */
json_doc *json_parse(const char *text, size_t len, const char *name);
const json_value *json_root(const json_doc *doc);
void json_free(json_doc *doc);

/* "a string", "an object", ... for messages. */
const char *json_type_name(json_type t);

/* Lookups; all accept NULL and return NULL/0/false on a type mismatch. */
const json_value *json_get(const json_value *obj, const char *key);
size_t json_array_len(const json_value *arr);
const json_value *json_at(const json_value *arr, size_t i);
const char *json_string(const json_value *v);
bool json_number(const json_value *v, double *out);
/* An integer given as a number or as a decimal string ("-12"; protobuf's
 * JSON form of int64). Numbers with a fraction or exponent are accepted when
 * their value is integral. False if not an integer or out of int64 range. */
bool json_int64(const json_value *v, int64_t *out);

#endif
