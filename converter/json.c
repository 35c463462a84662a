#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

/* The DOM lives in an arena freed at once by json_free. */
typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(8) unsigned char data[];
} arena_block;

struct json_doc {
    json_value root;
    arena_block *blocks;
};

typedef struct parser {
    const unsigned char *text;
    size_t len, pos;
    const char *name;
    json_doc *doc;
    int depth;
    /* Children of the arrays and objects being parsed, innermost last; each
     * container moves its own into the arena when it closes. */
    json_member *stack;
    size_t n_stack, cap_stack;
    const json_member **sorted; /* scratch for the duplicate-key check */
    size_t cap_sorted;
} parser;

static bool fail(parser *p, size_t at, const char *fmt, ...) KC_PRINTF(3, 4);

static bool fail(parser *p, size_t at, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kc_error("%s: byte %zu: %s", p->name, at, msg);
    return false;
}

/* What is at `at`, for "expected X, got Y" messages. */
static const char *got(const parser *p, size_t at, char buf[16]) {
    if (at >= p->len) return "end of input";
    unsigned char c = p->text[at];
    if (c > 0x20 && c < 0x7f)
        snprintf(buf, 16, "'%c'", c);
    else
        snprintf(buf, 16, "byte 0x%02x", c);
    return buf;
}

static void *arena_alloc(parser *p, size_t size) {
    if (size > SIZE_MAX / 2) return NULL;
    size = (size + 7) & ~(size_t)7;
    arena_block *b = p->doc->blocks;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = p->doc->blocks;
        b->used = 0;
        b->cap = cap;
        p->doc->blocks = b;
    }
    void *r = b->data + b->used;
    b->used += size;
    return r;
}

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        unsigned char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int hex4(const unsigned char *s) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Length of the valid UTF-8 sequence at s[0..n) (n >= 1), or 0 if invalid:
 * no overlong forms, surrogates or code points above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return len;
}

static size_t put_utf8(char *d, unsigned cp) {
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xc0 | cp >> 6);
        d[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | cp >> 12);
        d[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | cp >> 18);
    d[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    d[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* At '"'. The decoded string is never longer than its JSON text, so one
 * allocation of the text's size holds it. */
static bool parse_string(parser *p, const char **out, size_t *out_len) {
    size_t open = p->pos, start = open + 1, end = start;
    while (end < p->len && p->text[end] != '"') end += p->text[end] == '\\' ? 2 : 1;
    if (end >= p->len) return fail(p, p->len, "unterminated string (opened at byte %zu)", open);
    char *d = arena_alloc(p, end - start + 1);
    if (!d) return fail(p, open, "out of memory");
    size_t n = 0;
    for (size_t i = start; i < end;) {
        unsigned char c = p->text[i];
        if (c < 0x20) return fail(p, i, "control character 0x%02x in a string must be escaped", c);
        if (c >= 0x80) {
            size_t k = utf8_len(p->text + i, end - i);
            if (!k) return fail(p, i, "invalid UTF-8 in a string");
            memcpy(d + n, p->text + i, k);
            n += k;
            i += k;
            continue;
        }
        if (c != '\\') {
            d[n++] = (char)c;
            i++;
            continue;
        }
        /* The scan above skipped the byte after each backslash, so i + 1 < end. */
        unsigned char e = p->text[i + 1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            d[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            i += 2;
            continue;
        }
        if (e != 'u') return fail(p, i, "invalid escape '\\%c' in a string", e > 0x20 && e < 0x7f ? e : '?');
        int cp = end - i >= 6 ? hex4(p->text + i + 2) : -1;
        if (cp < 0) return fail(p, i, "expected 4 hex digits after '\\u'");
        size_t used = 6;
        if (cp >= 0xdc00 && cp <= 0xdfff) return fail(p, i, "unpaired surrogate \\u%04x in a string", cp);
        if (cp >= 0xd800 && cp <= 0xdbff) {
            int lo = end - i >= 12 && p->text[i + 6] == '\\' && p->text[i + 7] == 'u' ? hex4(p->text + i + 8) : -1;
            if (lo < 0xdc00 || lo > 0xdfff) return fail(p, i, "unpaired surrogate \\u%04x in a string", cp);
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            used = 12;
        }
        n += put_utf8(d + n, (unsigned)cp);
        i += used;
    }
    d[n] = 0;
    *out = d;
    *out_len = n;
    p->pos = end + 1;
    return true;
}

static bool is_digit(parser *p, size_t at) { return at < p->len && p->text[at] >= '0' && p->text[at] <= '9'; }

static bool parse_number(parser *p, json_value *v) {
    size_t start = p->pos, i = start;
    char buf[16];
    if (p->text[i] == '-') i++;
    if (!is_digit(p, i)) return fail(p, i, "expected a digit, got %s", got(p, i, buf));
    if (p->text[i] == '0') {
        i++;
        if (is_digit(p, i)) return fail(p, start, "leading zeros are not allowed in numbers");
    } else
        while (is_digit(p, i)) i++;
    if (i < p->len && p->text[i] == '.') {
        i++;
        if (!is_digit(p, i)) return fail(p, i, "expected a digit after '.', got %s", got(p, i, buf));
        while (is_digit(p, i)) i++;
    }
    if (i < p->len && (p->text[i] == 'e' || p->text[i] == 'E')) {
        i++;
        if (i < p->len && (p->text[i] == '+' || p->text[i] == '-')) i++;
        if (!is_digit(p, i)) return fail(p, i, "expected a digit in the exponent, got %s", got(p, i, buf));
        while (is_digit(p, i)) i++;
    }
    size_t n = i - start;
    char *s = arena_alloc(p, n + 1);
    if (!s) return fail(p, start, "out of memory");
    memcpy(s, p->text + start, n);
    s[n] = 0;
    /* strtod rounds correctly (glibc); out-of-range values become +-inf or
     * 0 as in JavaScript's JSON.parse. A locale with another decimal point
     * would stop it early, which we report rather than misread. */
    char *e;
    v->num = strtod(s, &e);
    if (e != s + n) return fail(p, start, "cannot convert the number %s (is LC_NUMERIC \"C\"?)", s);
    v->type = JSON_NUMBER;
    v->str = s;
    v->len = n;
    p->pos = i;
    return true;
}

static bool push(parser *p, const char *key, size_t key_len, size_t key_offset, const json_value *v) {
    if (p->n_stack == p->cap_stack) {
        size_t cap = p->cap_stack ? p->cap_stack * 2 : 64;
        json_member *s = cap <= SIZE_MAX / sizeof *s ? realloc(p->stack, cap * sizeof *s) : NULL;
        if (!s) return fail(p, v->offset, "out of memory");
        p->stack = s;
        p->cap_stack = cap;
    }
    p->stack[p->n_stack++] = (json_member){key, key_len, key_offset, *v};
    return true;
}

static int cmp_key(const void *a, const void *b) {
    const json_member *x = *(const json_member *const *)a, *y = *(const json_member *const *)b;
    int c = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);
    if (c) return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Sorting the keys finds duplicates in O(n log n), even for huge objects. */
static bool check_duplicates(parser *p, const json_member *m, size_t n) {
    if (n < 2) return true;
    if (n > p->cap_sorted) {
        const json_member **s = n <= SIZE_MAX / sizeof *s ? realloc(p->sorted, n * sizeof *s) : NULL;
        if (!s) return fail(p, m[0].value.offset, "out of memory");
        p->sorted = s;
        p->cap_sorted = n;
    }
    for (size_t i = 0; i < n; i++) p->sorted[i] = &m[i];
    qsort(p->sorted, n, sizeof *p->sorted, cmp_key);
    for (size_t i = 1; i < n; i++) {
        const json_member *a = p->sorted[i - 1], *b = p->sorted[i];
        if (cmp_key(&a, &b) == 0) {
            const json_member *later = a->key_offset > b->key_offset ? a : b;
            return fail(p, later->key_offset, "duplicate key \"%.*s\" in object",
                        (int)(later->key_len < 100 ? later->key_len : 100), later->key);
        }
    }
    return true;
}

static bool parse_value(parser *p, json_value *v);

/* At '[' or '{'. */
static bool parse_container(parser *p, json_value *v) {
    bool object = p->text[p->pos] == '{';
    char close = object ? '}' : ']', buf[16];
    if (++p->depth > JSON_MAX_DEPTH) return fail(p, p->pos, "nesting deeper than %d levels", JSON_MAX_DEPTH);
    size_t base = p->n_stack;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            const char *key = NULL;
            size_t key_len = 0, key_offset = 0;
            json_value item;
            skip_ws(p);
            if (object) {
                key_offset = p->pos;
                if (p->pos >= p->len || p->text[p->pos] != '"')
                    return fail(p, p->pos, "expected a string key in object, got %s", got(p, p->pos, buf));
                if (!parse_string(p, &key, &key_len)) return false;
                skip_ws(p);
                if (p->pos >= p->len || p->text[p->pos] != ':')
                    return fail(p, p->pos, "expected ':' after object key, got %s", got(p, p->pos, buf));
                p->pos++;
            }
            if (!parse_value(p, &item) || !push(p, key, key_len, key_offset, &item)) return false;
            skip_ws(p);
            if (p->pos < p->len && p->text[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->pos < p->len && p->text[p->pos] == close) {
                p->pos++;
                break;
            }
            return fail(p, p->pos, "expected ',' or '%c' in %s, got %s", close, object ? "object" : "array",
                        got(p, p->pos, buf));
        }
    }
    size_t n = p->n_stack - base;
    v->type = object ? JSON_OBJECT : JSON_ARRAY;
    v->len = n;
    if (n) {
        const json_member *kids = p->stack + base;
        size_t each = object ? sizeof(json_member) : sizeof(json_value);
        void *mem = n <= SIZE_MAX / each ? arena_alloc(p, n * each) : NULL;
        if (!mem) return fail(p, v->offset, "out of memory");
        if (object) {
            if (!check_duplicates(p, kids, n)) return false;
            memcpy(mem, kids, n * each);
            v->members = mem;
        } else {
            json_value *items = mem;
            for (size_t i = 0; i < n; i++) items[i] = kids[i].value;
            v->items = items;
        }
    }
    p->n_stack = base;
    p->depth--;
    return true;
}

static bool parse_literal(parser *p, json_value *v, const char *word, json_type type, bool b) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return fail(p, p->pos, "invalid literal (expected \"%s\")", word);
    v->type = type;
    v->b = b;
    p->pos += n;
    return true;
}

static bool parse_value(parser *p, json_value *v) {
    char buf[16];
    skip_ws(p);
    memset(v, 0, sizeof *v);
    v->offset = p->pos;
    if (p->pos >= p->len) return fail(p, p->pos, "expected a JSON value, got end of input");
    switch (p->text[p->pos]) {
    case '{':
    case '[': return parse_container(p, v);
    case '"': v->type = JSON_STRING; return parse_string(p, &v->str, &v->len);
    case 't': return parse_literal(p, v, "true", JSON_BOOL, true);
    case 'f': return parse_literal(p, v, "false", JSON_BOOL, false);
    case 'n': return parse_literal(p, v, "null", JSON_NULL, false);
    default:
        if (p->text[p->pos] == '-' || is_digit(p, p->pos)) return parse_number(p, v);
        return fail(p, p->pos, "expected a JSON value, got %s", got(p, p->pos, buf));
    }
}

void json_free(json_doc *doc) {
    if (!doc) return;
    for (arena_block *b = doc->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(doc);
}

json_doc *json_parse(const char *text, size_t len, const char *name) {
    parser p = {.text = (const unsigned char *)text, .len = len, .name = name, .doc = calloc(1, sizeof(json_doc))};
    if (!p.doc) {
        kc_error("%s: out of memory", name);
        return NULL;
    }
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) p.pos = 3;
    bool ok = parse_value(&p, &p.doc->root);
    if (ok) {
        skip_ws(&p);
        if (p.pos < len) ok = fail(&p, p.pos, "unexpected data after the JSON value");
    }
    free(p.stack);
    free(p.sorted);
    if (!ok) {
        json_free(p.doc);
        return NULL;
    }
    return p.doc;
}

const json_value *json_root(const json_doc *doc) { return &doc->root; }

const char *json_type_name(json_type t) {
    switch (t) {
    case JSON_NULL: return "null";
    case JSON_BOOL: return "a boolean";
    case JSON_NUMBER: return "a number";
    case JSON_STRING: return "a string";
    case JSON_ARRAY: return "an array";
    case JSON_OBJECT: return "an object";
    }
    return "?";
}

const json_value *json_get(const json_value *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < obj->len; i++) {
        const json_member *m = &obj->members[i];
        if (m->key_len == n && memcmp(m->key, key, n) == 0) return &m->value;
    }
    return NULL;
}

size_t json_array_len(const json_value *arr) { return arr && arr->type == JSON_ARRAY ? arr->len : 0; }

const json_value *json_at(const json_value *arr, size_t i) {
    return arr && arr->type == JSON_ARRAY && i < arr->len ? &arr->items[i] : NULL;
}

const char *json_string(const json_value *v) { return v && v->type == JSON_STRING ? v->str : NULL; }

bool json_number(const json_value *v, double *out) {
    if (!v || v->type != JSON_NUMBER) return false;
    *out = v->num;
    return true;
}

bool json_int64(const json_value *v, int64_t *out) {
    if (!v || (v->type != JSON_NUMBER && v->type != JSON_STRING)) return false;
    const char *s = v->str;
    size_t n = v->len, i = 0;
    bool neg = n > 0 && s[0] == '-';
    i = neg;
    if (i == n) return false;
    /* Accumulate negatively so that INT64_MIN fits. */
    int64_t acc = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        int d = s[i] - '0';
        if (acc < (INT64_MIN + d) / 10) return false;
        acc = acc * 10 - d;
    }
    if (i < n) {
        /* Not plain digits: a number like 1e3 or 2.0 may still be integral;
         * anything else (including such strings) is not an integer. */
        if (v->type != JSON_NUMBER) return false;
        double d = v->num;
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != (double)(int64_t)d) return false;
        *out = (int64_t)d;
        return true;
    }
    if (!neg && acc == INT64_MIN) return false;
    *out = neg ? acc : -acc;
    return true;
}
