/* The JSON parser, base64 decoding, and read_tfjs on model.json + shard
 * fixtures written into a temporary directory. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "check.h"
#include "diag.h"
#include "json.h"
#include "read_tfjs.h"

/* ---- JSON ------------------------------------------------------------------------ */

static json_doc *parse(const char *text) { return json_parse(text, strlen(text), "t.json"); }

/* Parsing text[0..len) fails at byte `at` with a message containing `what`. */
static void check_json_error(int line, const char *text, size_t len, size_t at, const char *what) {
    char want[64];
    json_doc *doc = json_parse(text, len, "t.json");
    snprintf(want, sizeof want, "t.json: byte %zu: ", at);
    const char *msg = kc_last_error();
    if (doc || strncmp(msg, want, strlen(want)) != 0 || !strstr(msg, what)) {
        fprintf(stderr, "%s:%d: parsing '%.*s': %s, want \"%s%s\"\n", __FILE__, line, (int)len, text,
                doc ? "succeeded" : msg, want, what);
        check_failures++;
    }
    json_free(doc);
}
#define JSON_ERROR(text, at, what) check_json_error(__LINE__, text, sizeof text - 1, at, what)

static void test_json_values(void) {
    json_doc *doc = parse("\xef\xbb\xbf {\"b\": [1, -0, 1.5e3, -2.5E-3, 1e400, 9007199254740993],\n"
                          "\t\"a\": {\"t\": true, \"f\": false, \"n\": null, \"e\": {}, \"ea\": []},\r\n"
                          " \"s\": \"q\\\"b\\\\s\\/b\\bf\\fn\\nr\\rt\\tA\\u0041\\u00e9\\u20AC\\ud83d\\ude00\xc3\xa9\","
                          " \"nul\": \"x\\u0000y\", \"empty\": \"\"} ");
    CHECK(doc != NULL);
    if (!doc) return;
    const json_value *root = json_root(doc);
    CHECK(root->type == JSON_OBJECT && root->len == 5);
    /* member order is kept */
    CHECK(strcmp(root->members[0].key, "b") == 0 && strcmp(root->members[1].key, "a") == 0);
    CHECK(strcmp(root->members[4].key, "empty") == 0);

    const json_value *b = json_get(root, "b");
    double d;
    int64_t i;
    CHECK(json_array_len(b) == 6);
    CHECK(json_number(json_at(b, 0), &d) && d == 1);
    CHECK(json_number(json_at(b, 1), &d) && d == 0 && signbit(d));
    CHECK(json_number(json_at(b, 2), &d) && d == 1500);
    CHECK(json_number(json_at(b, 3), &d) && d == -2.5e-3);
    CHECK(json_number(json_at(b, 4), &d) && isinf(d)); /* as JSON.parse */
    CHECK(strcmp(json_at(b, 5)->str, "9007199254740993") == 0);
    CHECK(json_int64(json_at(b, 5), &i) && i == 9007199254740993); /* not rounded through double */
    CHECK(json_int64(json_at(b, 2), &i) && i == 1500);
    CHECK(!json_int64(json_at(b, 3), &i));
    CHECK(json_at(b, 6) == NULL);
    CHECK(b->items[0].offset == 11);

    const json_value *a = json_get(root, "a");
    CHECK(json_get(a, "t")->type == JSON_BOOL && json_get(a, "t")->b);
    CHECK(json_get(a, "f")->type == JSON_BOOL && !json_get(a, "f")->b);
    CHECK(json_get(a, "n")->type == JSON_NULL);
    CHECK(json_get(a, "e")->type == JSON_OBJECT && json_get(a, "e")->len == 0);
    CHECK(json_get(a, "ea")->type == JSON_ARRAY && json_array_len(json_get(a, "ea")) == 0);
    CHECK(json_get(a, "missing") == NULL);
    CHECK(json_get(b, "x") == NULL); /* not an object */

    const json_value *s = json_get(root, "s");
    const char *want = "q\"b\\s/b\bf\fn\nr\rt\tAA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9";
    CHECK(json_string(s) && strcmp(json_string(s), want) == 0 && s->len == strlen(want));
    const json_value *nul = json_get(root, "nul");
    CHECK(nul->len == 3 && memcmp(nul->str, "x\0y", 4) == 0);
    CHECK(json_string(json_get(root, "empty")) && json_get(root, "empty")->len == 0);

    /* type checks */
    CHECK(json_string(json_at(b, 0)) == NULL);
    CHECK(!json_number(s, &d));
    CHECK(json_array_len(s) == 0);
    CHECK(json_get(NULL, "a") == NULL && json_at(NULL, 0) == NULL);
    json_free(doc);

    /* int64 strings, as protobuf's JSON writes them */
    doc = parse("[\"-9223372036854775808\", \"9223372036854775807\", \"9223372036854775808\", \"12a\", \"\", "
                "\"-\", 2.0, 1e3, -9223372036854775809, 0.5]");
    const json_value *v = json_root(doc);
    CHECK(json_int64(json_at(v, 0), &i) && i == INT64_MIN);
    CHECK(json_int64(json_at(v, 1), &i) && i == INT64_MAX);
    CHECK(!json_int64(json_at(v, 2), &i));
    CHECK(!json_int64(json_at(v, 3), &i));
    CHECK(!json_int64(json_at(v, 4), &i));
    CHECK(!json_int64(json_at(v, 5), &i));
    CHECK(json_int64(json_at(v, 6), &i) && i == 2);
    CHECK(json_int64(json_at(v, 7), &i) && i == 1000);
    CHECK(!json_int64(json_at(v, 8), &i));
    CHECK(!json_int64(json_at(v, 9), &i));
    json_free(doc);

    /* scalars at the top level */
    doc = parse(" \"x\" ");
    CHECK(doc && json_root(doc)->type == JSON_STRING);
    json_free(doc);
}

static void test_json_errors(void) {
    JSON_ERROR("", 0, "expected a JSON value, got end of input");
    JSON_ERROR("  \n", 3, "expected a JSON value");
    JSON_ERROR("[1,]", 3, "expected a JSON value, got ']'");
    JSON_ERROR("{\"a\":1,}", 7, "expected a string key in object, got '}'");
    JSON_ERROR("{'a':1}", 1, "expected a string key");
    JSON_ERROR("{\"a\" 1}", 5, "expected ':' after object key");
    JSON_ERROR("{\"a\":1 \"b\":2}", 7, "expected ',' or '}' in object, got '\"'");
    JSON_ERROR("[1 2]", 3, "expected ',' or ']' in array");
    JSON_ERROR("[true false]", 6, "expected ',' or ']' in array");
    JSON_ERROR("[1", 2, "expected ',' or ']' in array, got end of input");
    JSON_ERROR("{\"a\":", 5, "expected a JSON value");
    JSON_ERROR("01", 0, "leading zeros");
    JSON_ERROR("[-]", 2, "expected a digit");
    JSON_ERROR("1.", 2, "expected a digit after '.'");
    JSON_ERROR("1.e5", 2, "expected a digit after '.'");
    JSON_ERROR("1e+", 3, "expected a digit in the exponent");
    JSON_ERROR(".5", 0, "expected a JSON value");
    JSON_ERROR("+1", 0, "expected a JSON value");
    JSON_ERROR("NaN", 0, "expected a JSON value");
    JSON_ERROR("[Infinity]", 1, "expected a JSON value");
    JSON_ERROR("tru", 0, "invalid literal");
    JSON_ERROR("[nulL]", 1, "invalid literal");
    JSON_ERROR("\"abc", 4, "unterminated string (opened at byte 0)");
    JSON_ERROR("[\"a\\", 4, "unterminated string (opened at byte 1)");
    JSON_ERROR("\"a\\x\"", 2, "invalid escape '\\x'");
    JSON_ERROR("\"\\u12\"", 1, "expected 4 hex digits");
    JSON_ERROR("\"ab\\u12g4\"", 3, "expected 4 hex digits");
    JSON_ERROR("\"\\ud800\"", 1, "unpaired surrogate \\ud800");
    JSON_ERROR("\"\\udc00\"", 1, "unpaired surrogate \\udc00");
    JSON_ERROR("\"\\ud800\\u0041\"", 1, "unpaired surrogate");
    JSON_ERROR("\"a\tb\"", 2, "control character 0x09");
    JSON_ERROR("\"a\nb\"", 2, "control character 0x0a");
    JSON_ERROR("\"\xff\"", 1, "invalid UTF-8");
    JSON_ERROR("\"x\xc0\x80\"", 2, "invalid UTF-8");        /* overlong */
    JSON_ERROR("\"\xed\xa0\x80\"", 1, "invalid UTF-8");     /* a surrogate */
    JSON_ERROR("\"\xf4\x90\x80\x80\"", 1, "invalid UTF-8"); /* above U+10FFFF */
    JSON_ERROR("\"\xe2\x82\"", 1, "invalid UTF-8");         /* cut short */
    JSON_ERROR("{\"a\":1,\"b\":{},\"a\":2}", 14, "duplicate key \"a\"");
    JSON_ERROR("[1] x", 4, "unexpected data after the JSON value");
    JSON_ERROR("[1]\0", 3, "unexpected data after the JSON value");
    JSON_ERROR("// c\n1", 0, "expected a JSON value, got '/'");
    JSON_ERROR("\xef\xbb", 0, "expected a JSON value, got byte 0xef");
}

static void test_json_depth(void) {
    size_t n = 100000;
    char *s = malloc(2 * n + 1);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = 0;
    /* JSON_MAX_DEPTH levels parse, one more does not */
    json_doc *doc = json_parse(s + n - JSON_MAX_DEPTH, 2 * JSON_MAX_DEPTH, "t.json");
    CHECK(doc != NULL);
    json_free(doc);
    check_json_error(__LINE__, s + n - JSON_MAX_DEPTH - 1, 2 * JSON_MAX_DEPTH + 2, JSON_MAX_DEPTH, "nesting deeper");
    /* deep garbage fails at the limit, without exhausting the stack */
    check_json_error(__LINE__, s, n, JSON_MAX_DEPTH, "nesting deeper than 256 levels");
    free(s);
}

/* Many keys (the duplicate check sorts them) and many items. */
static void test_json_large(void) {
    size_t n = 5000, cap = n * 24 + 64, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s + len, cap - len, "{");
    for (size_t i = 0; i < n; i++) len += (size_t)snprintf(s + len, cap - len, "%s\"k%zu\":[%zu]", i ? "," : "", i, i);
    len += (size_t)snprintf(s + len, cap - len, "}");
    json_doc *doc = json_parse(s, len, "t.json");
    CHECK(doc && json_root(doc)->len == n);
    int64_t v;
    CHECK(doc && json_int64(json_at(json_get(json_root(doc), "k4321"), 0), &v) && v == 4321);
    json_free(doc);
    /* the same with a duplicate far from the first */
    size_t at = len - 1;
    len = at + (size_t)snprintf(s + at, cap - at, ",\"k17\":0}");
    check_json_error(__LINE__, s, len, at + 1, "duplicate key \"k17\"");
    free(s);
}

/* ---- base64 ------------------------------------------------------------------------ */

/* Decodes in; returns the bytes (static buffer, NUL-terminated) or NULL. */
static const char *b64(const char *in, size_t *len) {
    static unsigned char out[256];
    size_t n;
    if (!base64_decode(in, strlen(in), out, &n)) return NULL;
    CHECK(n <= base64_decoded_max(strlen(in)));
    out[n] = 0;
    if (len) *len = n;
    return (const char *)out;
}

static bool b64_error(const char *in, const char *what) {
    if (b64(in, NULL) || !strstr(kc_last_error(), what)) {
        fprintf(stderr, "base64 '%s': got '%s', want '%s'\n", in, kc_last_error(), what);
        return false;
    }
    return true;
}

static void test_base64(void) {
    size_t n;
    const char *s;
    CHECK((s = b64("U0FNRQ==", &n)) && n == 4 && strcmp(s, "SAME") == 0);
    CHECK((s = b64("U0FNRQ", &n)) && n == 4 && strcmp(s, "SAME") == 0);
    CHECK((s = b64("VkFMSUQ=", &n)) && n == 5 && strcmp(s, "VALID") == 0);
    CHECK((s = b64("VkFMSUQ", &n)) && n == 5 && strcmp(s, "VALID") == 0);
    CHECK((s = b64("TldIQw==", &n)) && n == 4 && strcmp(s, "NWHC") == 0);
    CHECK((s = b64("", &n)) && n == 0);
    CHECK((s = b64("AAEC/+8=", &n)) && n == 5 && memcmp(s, "\x00\x01\x02\xff\xef", 5) == 0);
    CHECK((s = b64("QUJD", &n)) && n == 3 && strcmp(s, "ABC") == 0);
    CHECK((s = b64("QR==", &n)) && n == 1 && strcmp(s, "A") == 0); /* stray low bits ignored, as atob */

    CHECK(b64_error("U0F*RQ==", "base64 offset 3: invalid character '*'"));
    CHECK(b64_error("U0FN RQ==", "base64 offset 4: invalid byte 0x20"));
    CHECK(b64_error("U0F=RQ==", "base64 offset 3: '=' padding is only allowed at the end"));
    CHECK(b64_error("U0FNRQ=", "base64 offset 6: '=' padding must complete a group of 4"));
    CHECK(b64_error("QUJD=", "base64 offset 4: '=' padding must complete"));
    CHECK(b64_error("A===", "base64 offset 1: '=' padding is only allowed at the end"));
    CHECK(b64_error("A", "base64 offset 0: truncated"));
    CHECK(b64_error("QUJDR", "base64 offset 4: truncated"));
    CHECK(b64_error("ab-_", "base64 offset 2: invalid character '-'")); /* URL-safe alphabet */
}

/* ---- read_tfjs fixtures -------------------------------------------------------------- */

static char dir[64];
static char files[32][32];
static int n_files;

static const char *path_of(const char *name) {
    static char p[128];
    snprintf(p, sizeof p, "%s/%.31s", dir, name);
    return p;
}

static void write_file(const char *name, const void *data, size_t len) {
    FILE *f = fopen(path_of(name), "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len)) abort();
    fclose(f);
    for (int i = 0; i < n_files; i++)
        if (strcmp(files[i], name) == 0) return;
    if (n_files == 32) abort();
    snprintf(files[n_files++], sizeof files[0], "%s", name);
}

static tf_graph *load(const char *model_json) {
    write_file("model.json", model_json, strlen(model_json));
    return read_tfjs(path_of("model.json"));
}

/* Loading fails with a message containing each of the given strings. */
static void check_load_error(int line, const char *model_json, const char *what, const char *what2) {
    tf_graph *g = load(model_json);
    const char *msg = kc_last_error();
    if (g || !strstr(msg, what) || (what2 && !strstr(msg, what2))) {
        fprintf(stderr, "%s:%d: %s, want \"%s\"%s%s\n", __FILE__, line, g ? "loaded" : msg, what, what2 ? " and " : "",
                what2 ? what2 : "");
        check_failures++;
    }
    tf_graph_free(g);
}
#define LOAD_ERROR(json, what) check_load_error(__LINE__, json, what, NULL)
#define LOAD_ERROR2(json, what, what2) check_load_error(__LINE__, json, what, what2)

/* Little-endian shard bytes. */
typedef struct bytes {
    unsigned char b[1024];
    size_t n;
} bytes;

static void put_le(bytes *s, uint64_t v, size_t size) {
    for (size_t i = 0; i < size; i++) s->b[s->n++] = (unsigned char)(v >> 8 * i);
}

static void put_f32(bytes *s, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    put_le(s, u, 4);
}

static const tf_node *node(const tf_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) return &g->nodes[i];
    return NULL;
}

/* The node's "value" tensor if it has data of dtype and n elements. */
static const tf_tensor *value(const tf_graph *g, const char *name, int dtype, size_t n) {
    const tf_node *nd = node(g, name);
    const tf_attr *a = nd ? tf_node_attr(nd, "value") : NULL;
    if (!a || a->kind != TF_ATTR_TENSOR || !a->tensor || !a->tensor->data || a->tensor->dtype != dtype ||
        a->tensor->nbytes != n * tf_dtype_size(dtype)) {
        fprintf(stderr, "node %s: no %zu-element %s value\n", name, n, tf_dtype_name(dtype));
        return NULL;
    }
    return a->tensor;
}

static bool same_floats(const float *got, const float *want, size_t n) {
    return memcmp(got, want, n * sizeof *got) == 0; /* bitwise: exact, and -0 is not 0 */
}

static void test_tfjs_plain_weights(void) {
    bytes s = {0};
    float w[4] = {1.5f, -2, 3.25f, -0.0f};
    for (int i = 0; i < 4; i++) put_f32(&s, w[i]);
    put_le(&s, 0xdeadbeef, 4);                                                /* "ghost": no node has that name */
    put_le(&s, 7, 4), put_le(&s, (uint32_t)-1, 4), put_le(&s, 0x7fffffff, 4); /* int32 */
    put_le(&s, 0, 1), put_le(&s, 1, 1), put_le(&s, 2, 1);                     /* bool */
    put_f32(&s, 42);                                                          /* "bias": Const with no "value" attr */
    write_file("w.bin", s.b, s.n);
    tf_graph *g = load(
        "{\"format\": \"graph-model\", \"generatedBy\": \"2.15\", \"convertedBy\": \"TensorFlow.js Converter v4\",\n"
        " \"modelTopology\": {\"node\": [\n"
        "  {\"name\": \"x\", \"op\": \"Placeholder\", \"attr\": {\"dtype\": {\"type\": \"DT_FLOAT\"},"
        "   \"shape\": {\"shape\": {\"dim\": [{\"size\": \"-1\"}, {\"size\": \"4\"}]}}}},\n"
        "  {\"name\": \"w\", \"op\": \"Const\", \"attr\": {\"value\": {\"tensor\": {\"dtype\": \"DT_FLOAT\","
        "   \"tensorShape\": {\"dim\": [{\"size\": \"2\"}, {\"size\": \"2\"}]}}}, \"dtype\": {\"type\": "
        "\"DT_FLOAT\"}}},\n"
        "  {\"name\": \"idx\", \"op\": \"Const\", \"attr\": {\"value\": {\"tensor\": {\"dtype\": \"DT_INT32\","
        "   \"tensorShape\": {\"dim\": [{\"size\": \"3\"}]}}}, \"dtype\": {\"type\": \"DT_INT32\"}}},\n"
        "  {\"name\": \"flag\", \"op\": \"Const\", \"attr\": {\"value\": {\"tensor\": {\"dtype\": \"DT_BOOL\","
        "   \"tensorShape\": {\"dim\": [{\"size\": \"3\"}]}}}, \"dtype\": {\"type\": \"DT_BOOL\"}}},\n"
        "  {\"name\": \"bias\", \"op\": \"Const\", \"attr\": {\"dtype\": {\"type\": \"DT_FLOAT\"}}},\n"
        "  {\"name\": \"mm\", \"op\": \"MatMul\", \"input\": [\"x\", \"w:0\", \"^idx\"], \"device\": \"/cpu:0\"},\n"
        "  {\"name\": \"out\", \"op\": \"Identity\", \"input\": [\"mm\"], \"attr\": {\"T\": {\"type\": 1}}}\n"
        " ], \"library\": {}, \"versions\": {\"producer\": 1482}},\n"
        " \"weightsManifest\": [{\"paths\": [\"w.bin\"], \"weights\": [\n"
        "  {\"name\": \"w\", \"shape\": [2, 2], \"dtype\": \"float32\"},\n"
        "  {\"name\": \"ghost\", \"shape\": [1], \"dtype\": \"float32\"},\n"
        "  {\"name\": \"idx\", \"shape\": [3], \"dtype\": \"int32\"},\n"
        "  {\"name\": \"flag\", \"shape\": [3], \"dtype\": \"bool\"},\n"
        "  {\"name\": \"bias\", \"shape\": [], \"dtype\": \"float32\"}]}]}");
    CHECK(g != NULL);
    if (!g) {
        fprintf(stderr, "%s\n", kc_last_error());
        return;
    }
    CHECK(g->n_nodes == 7);
    CHECK(strcmp(g->nodes[0].name, "x") == 0 && strcmp(g->nodes[0].op, "Placeholder") == 0);
    const tf_node *mm = node(g, "mm");
    CHECK(mm && mm->n_inputs == 3 && strcmp(mm->inputs[0], "x") == 0 && strcmp(mm->inputs[1], "w:0") == 0 &&
          strcmp(mm->inputs[2], "^idx") == 0 && mm->n_attrs == 0);
    const tf_attr *shape = tf_node_attr(&g->nodes[0], "shape");
    CHECK(shape && shape->kind == TF_ATTR_SHAPE && shape->shape.rank == 2 && shape->shape.dims[0] == -1 &&
          shape->shape.dims[1] == 4);
    const tf_attr *t = tf_node_attr(node(g, "out"), "T");
    CHECK(t && t->kind == TF_ATTR_TYPE && t->type == TF_DT_FLOAT);

    const tf_tensor *tw = value(g, "w", TF_DT_FLOAT, 4);
    CHECK(tw && same_floats(tw->data, w, 4) && tw->shape.rank == 2 && tw->shape.dims[0] == 2 && tw->shape.dims[1] == 2);
    CHECK(node(g, "w")->n_attrs == 2); /* "value" was replaced, not added */
    const tf_tensor *ti = value(g, "idx", TF_DT_INT32, 3);
    CHECK(ti && ((int32_t *)ti->data)[0] == 7 && ((int32_t *)ti->data)[1] == -1 &&
          ((int32_t *)ti->data)[2] == INT32_MAX && ti->shape.rank == 1 && ti->shape.dims[0] == 3);
    const tf_tensor *tb = value(g, "flag", TF_DT_BOOL, 3);
    CHECK(tb && !((bool *)tb->data)[0] && ((bool *)tb->data)[1] && ((bool *)tb->data)[2]);
    CHECK(((unsigned char *)tb->data)[2] == 1); /* normalized */
    const tf_tensor *bias = value(g, "bias", TF_DT_FLOAT, 1);
    CHECK(bias && *(float *)bias->data == 42 && bias->shape.rank == 0);
    CHECK(node(g, "bias")->n_attrs == 2); /* "value" added */
    CHECK(g->n_sig_inputs == 0 && g->n_sig_outputs == 0);
    tf_graph_free(g);
}

/* A Const "name" of a float32 weight, for the model.json templates below. */
#define CONST(name) "{\"name\": \"" name "\", \"op\": \"Const\"}"

static void test_tfjs_quantized(void) {
    bytes s = {0};
    const uint8_t q8[5] = {0, 1, 7, 128, 255};
    for (int i = 0; i < 5; i++) put_le(&s, q8[i], 1);
    put_le(&s, 0, 2), put_le(&s, 1, 2), put_le(&s, 3, 2), put_le(&s, 65535, 2); /* uint16 -> int32 */
    put_le(&s, 255, 1), put_le(&s, 128, 1);                                     /* uint8 -> int32, wrapping */
    put_le(&s, 2, 2), put_le(&s, 65535, 2);                                     /* uint16 -> float32 */
    write_file("q.bin", s.b, s.n);
    tf_graph *g = load("{\"modelTopology\": {\"node\": [" CONST("a") "," CONST("b") "," CONST("c") "," CONST(
        "d") "]},\n"
             " \"weightsManifest\": [{\"paths\": [\"q.bin\"], \"weights\": [\n"
             "  {\"name\": \"a\", \"shape\": [5], \"dtype\": \"float32\", \"quantization\": {\"dtype\": \"uint8\","
             "   \"min\": -0.2625337182306776, \"scale\": 0.0021519157232022753, \"original_dtype\": \"float32\"}},\n"
             "  {\"name\": \"b\", \"shape\": [2, 2], \"dtype\": \"int32\", \"quantization\": {\"dtype\": \"uint16\","
             "   \"min\": -1, \"scale\": 0.5}},\n"
             "  {\"name\": \"c\", \"shape\": [2], \"dtype\": \"int32\", \"quantization\": {\"dtype\": \"uint8\","
             "   \"min\": -0.5, \"scale\": 16777216}},\n"
             "  {\"name\": \"d\", \"shape\": [2], \"dtype\": \"float32\", \"quantization\": {\"dtype\": \"uint16\","
             "   \"min\": 0.1, \"scale\": 1e-5}}]}]}");
    CHECK(g != NULL);
    if (!g) {
        fprintf(stderr, "%s\n", kc_last_error());
        return;
    }
    /* float32(q * scale + min) with the product and sum in double, as tfjs
     * computes them (float arithmetic would give e.g. -0x1.0aa188p-2 for q=1). */
    const float want_a[5] = {-0x1.0cd5a4p-2f, -0x1.0aa186p-2f, -0x1.fad1b6p-3f, 0x1.a71576p-7f, 0x1.2512dep-2f};
    const tf_tensor *a = value(g, "a", TF_DT_FLOAT, 5);
    CHECK(a && same_floats(a->data, want_a, 5));
    /* Math.round: -1 -> -1, -0.5 -> -0 -> 0, 0.5 -> 1, 32766.5 -> 32767 */
    const tf_tensor *b = value(g, "b", TF_DT_INT32, 4);
    const int32_t *bi = b ? b->data : NULL;
    CHECK(bi && bi[0] == -1 && bi[1] == 0 && bi[2] == 1 && bi[3] == 32767 && b->shape.rank == 2);
    /* 255 * 2^24 - 0.5 rounds to 4278190080, which Int32Array wraps to -16777216 */
    const tf_tensor *c = value(g, "c", TF_DT_INT32, 2);
    CHECK(c && ((int32_t *)c->data)[0] == -16777216 && ((int32_t *)c->data)[1] == INT32_MIN);
    const tf_tensor *d = value(g, "d", TF_DT_FLOAT, 2);
    CHECK(d && ((float *)d->data)[0] == 0x1.99ae92p-4f && ((float *)d->data)[1] == 0x1.82bd3cp-1f);
    tf_graph_free(g);
}

static void test_tfjs_float16(void) {
    const uint16_t h[10] = {0x3c00, 0xc100, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x8000, 0x3555, 0x7e00};
    const float want[9] = {1.0f, -2.5f, 65504.0f, 0x1p-24f, 0x1.ff8p-15f, INFINITY, -INFINITY, -0.0f, 0x1.554p-2f};
    bytes s = {0};
    for (int i = 0; i < 10; i++) put_le(&s, h[i], 2);
    write_file("h.bin", s.b, s.n);
    tf_graph *g = load("{\"format\": \"graph-model\", \"modelTopology\": {\"node\": [" CONST(
        "h") "]},\n"
             " \"weightsManifest\": [{\"paths\": [\"h.bin\"], \"weights\": [{\"name\": \"h\", \"shape\": "
             "[2, 5], \"dtype\": \"float32\", \"quantization\": {\"dtype\": \"float16\"}}]}]}");
    const tf_tensor *t = g ? value(g, "h", TF_DT_FLOAT, 10) : NULL;
    CHECK(t && same_floats(t->data, want, 9) && isnan(((float *)t->data)[9]));
    CHECK(t && t->shape.rank == 2 && t->shape.dims[0] == 2 && t->shape.dims[1] == 5);
    tf_graph_free(g);
}

/* A weight straddling two shards, and a second group starting afresh. */
static void test_tfjs_shards(void) {
    bytes s1 = {0}, s2 = {0}, s3 = {0};
    for (int i = 0; i < 5; i++) put_f32(&s1, (float)i);
    for (int i = 5; i < 7; i++) put_f32(&s2, (float)i);
    put_le(&s3, 99, 4);
    write_file("group1-shard1of2", s1.b, s1.n);
    write_file("group1-shard2of2", s2.b, s2.n);
    write_file("group2-shard1of1.bin", s3.b, s3.n);
    tf_graph *g = load("{\"modelTopology\": {\"node\": [" CONST("a") "," CONST("b") "," CONST(
        "c") "]},\n"
             " \"weightsManifest\": [\n"
             "  {\"paths\": [\"group1-shard1of2\", \"group1-shard2of2\"], \"weights\": [\n"
             "   {\"name\": \"a\", \"shape\": [3], \"dtype\": \"float32\"},\n"
             "   {\"name\": \"b\", \"shape\": [2, 2], \"dtype\": \"float32\"}]},\n"
             "  {\"paths\": [\"group2-shard1of1.bin\"], \"weights\": [\n"
             "   {\"name\": \"c\", \"shape\": [1], \"dtype\": \"int32\"}]}]}");
    const float wa[3] = {0, 1, 2}, wb[4] = {3, 4, 5, 6};
    const tf_tensor *a = g ? value(g, "a", TF_DT_FLOAT, 3) : NULL, *b = g ? value(g, "b", TF_DT_FLOAT, 4) : NULL;
    const tf_tensor *c = g ? value(g, "c", TF_DT_INT32, 1) : NULL;
    CHECK(a && same_floats(a->data, wa, 3));
    CHECK(b && same_floats(b->data, wb, 4));
    CHECK(c && *(int32_t *)c->data == 99);
    tf_graph_free(g);
}

static void test_tfjs_attrs(void) {
    tf_graph *g =
        load("{\"modelTopology\": {\"node\": [{\"name\": \"n\", \"op\": \"Op\", \"attr\": {\n"
             "  \"s\": {\"s\": \"U0FNRQ==\"}, \"s0\": {\"s\": \"\"},\n"
             "  \"i\": {\"i\": \"123\"}, \"i2\": {\"i\": -5}, \"i3\": {\"i\": \"-9223372036854775808\"},\n"
             "  \"f\": {\"f\": 0.5}, \"f1\": {\"f\": 1}, \"fn\": {\"f\": \"NaN\"}, \"fi\": {\"f\": \"-Infinity\"},\n"
             "  \"f3\": {\"f\": 0.1},\n"
             "  \"b\": {\"b\": true}, \"b0\": {\"b\": false},\n"
             "  \"t\": {\"type\": \"DT_INT32\"}, \"t2\": {\"type\": 10},\n"
             "  \"sh\": {\"shape\": {\"dim\": [{\"size\": \"-1\"}, {\"size\": 3}, {}]}},\n"
             "  \"shu\": {\"shape\": {\"unknownRank\": true}}, \"sh0\": {\"shape\": {}},\n"
             "  \"tf\": {\"tensor\": {\"dtype\": \"DT_FLOAT\", \"tensorShape\": {\"dim\": [{\"size\": \"3\"}]},"
             " \"floatVal\": [1, \"Infinity\"]}},\n"
             "  \"tc\": {\"tensor\": {\"dtype\": \"DT_INT32\", \"tensorShape\": {\"dim\": [{\"size\": \"2\"}]},"
             " \"tensorContent\": \"AQAAAP7///8=\"}},\n"
             "  \"th\": {\"tensor\": {\"dtype\": \"DT_HALF\", \"halfVal\": [15360]}},\n"
             "  \"ti\": {\"tensor\": {\"dtype\": \"DT_INT64\", \"tensorShape\": {\"dim\": [{\"size\": \"2\"}]},"
             " \"int64Val\": [\"9007199254740993\", \"-2\"]}},\n"
             "  \"tb\": {\"tensor\": {\"dtype\": \"DT_BOOL\", \"tensorShape\": {\"dim\": [{\"size\": \"2\"}]},"
             " \"boolVal\": [true]}},\n"
             "  \"tz\": {\"tensor\": {\"dtype\": \"DT_FLOAT\", \"tensorShape\": {\"dim\": [{\"size\": \"2\"}]}, "
             "\"floatVal\": []}},\n"
             "  \"tx\": {\"tensor\": {\"dtype\": \"DT_FLOAT\", \"floatVal\": [3, 4]}},\n"
             "  \"te\": {\"tensor\": {\"dtype\": \"DT_FLOAT\", \"tensorShape\": {\"dim\": [{\"size\": \"-1\"}]}}},\n"
             "  \"ts\": {\"tensor\": {\"dtype\": \"DT_STRING\", \"stringVal\": [\"YQ==\"]}},\n"
             "  \"fu\": {\"func\": {\"name\": \"body\", \"attr\": {}}},\n"
             "  \"ls\": {\"list\": {\"s\": [\"TldIQw==\", \"\"]}}, \"li\": {\"list\": {\"i\": [\"1\", 2, \"-3\"]}},\n"
             "  \"lf\": {\"list\": {\"f\": [0.25, \"NaN\"]}}, \"lb\": {\"list\": {\"b\": [true, false]}},\n"
             "  \"lt\": {\"list\": {\"type\": [\"DT_FLOAT\", 3]}},\n"
             "  \"lsh\": {\"list\": {\"shape\": [{\"dim\": [{\"size\": \"1\"}]}, {\"unknownRank\": true}]}},\n"
             "  \"le\": {\"list\": {}}, \"none\": {}, \"ph\": {\"placeholder\": \"T\"}\n"
             "}}]}}");
    CHECK(g != NULL);
    if (!g) {
        fprintf(stderr, "%s\n", kc_last_error());
        return;
    }
    const tf_node *n = &g->nodes[0];
    CHECK(n->n_attrs == 36);
    const tf_attr *a;
#define ATTR(name, k) ((a = tf_node_attr(n, name)) != NULL && a->kind == (k))
    CHECK(ATTR("s", TF_ATTR_S) && a->s_len == 4 && strcmp(a->s, "SAME") == 0);
    CHECK(ATTR("s0", TF_ATTR_S) && a->s_len == 0 && a->s[0] == 0);
    CHECK(ATTR("i", TF_ATTR_I) && a->i == 123);
    CHECK(ATTR("i2", TF_ATTR_I) && a->i == -5);
    CHECK(ATTR("i3", TF_ATTR_I) && a->i == INT64_MIN);
    CHECK(ATTR("f", TF_ATTR_F) && a->f == 0.5f);
    CHECK(ATTR("f1", TF_ATTR_F) && a->f == 1.0f);
    CHECK(ATTR("fn", TF_ATTR_F) && isnan(a->f));
    CHECK(ATTR("fi", TF_ATTR_F) && isinf(a->f) && a->f < 0);
    CHECK(ATTR("f3", TF_ATTR_F) && a->f == 0.1f);
    CHECK(ATTR("b", TF_ATTR_B) && a->b);
    CHECK(ATTR("b0", TF_ATTR_B) && !a->b);
    CHECK(ATTR("t", TF_ATTR_TYPE) && a->type == TF_DT_INT32);
    CHECK(ATTR("t2", TF_ATTR_TYPE) && a->type == TF_DT_BOOL);
    CHECK(ATTR("sh", TF_ATTR_SHAPE) && !a->shape.unknown_rank && a->shape.rank == 3 && a->shape.dims[0] == -1 &&
          a->shape.dims[1] == 3 && a->shape.dims[2] == 0);
    CHECK(ATTR("shu", TF_ATTR_SHAPE) && a->shape.unknown_rank);
    CHECK(ATTR("sh0", TF_ATTR_SHAPE) && !a->shape.unknown_rank && a->shape.rank == 0);

    const float tf_want[3] = {1, INFINITY, INFINITY}; /* the last value repeats */
    CHECK(ATTR("tf", TF_ATTR_TENSOR) && a->tensor->dtype == TF_DT_FLOAT && a->tensor->nbytes == 12 &&
          same_floats(a->tensor->data, tf_want, 3));
    CHECK(ATTR("tc", TF_ATTR_TENSOR) && a->tensor->dtype == TF_DT_INT32 && a->tensor->nbytes == 8 &&
          ((int32_t *)a->tensor->data)[0] == 1 && ((int32_t *)a->tensor->data)[1] == -2);
    CHECK(ATTR("th", TF_ATTR_TENSOR) && a->tensor->dtype == TF_DT_FLOAT && a->tensor->shape.rank == 0 &&
          a->tensor->nbytes == 4 && *(float *)a->tensor->data == 1.0f);
    CHECK(ATTR("ti", TF_ATTR_TENSOR) && a->tensor->dtype == TF_DT_INT64 &&
          ((int64_t *)a->tensor->data)[0] == 9007199254740993 && ((int64_t *)a->tensor->data)[1] == -2);
    CHECK(ATTR("tb", TF_ATTR_TENSOR) && a->tensor->dtype == TF_DT_BOOL && ((bool *)a->tensor->data)[0] &&
          ((bool *)a->tensor->data)[1]);
    CHECK(ATTR("tz", TF_ATTR_TENSOR) && a->tensor->nbytes == 8 && ((float *)a->tensor->data)[1] == 0);
    CHECK(ATTR("tx", TF_ATTR_TENSOR) && a->tensor->nbytes == 4 && *(float *)a->tensor->data == 3); /* extras ignored */
    /* no content: the value comes from the weights manifest, if at all */
    CHECK(ATTR("te", TF_ATTR_TENSOR) && a->tensor->data == NULL && a->tensor->shape.dims[0] == -1);
    CHECK(ATTR("ts", TF_ATTR_TENSOR) && a->tensor->dtype == TF_DT_STRING && a->tensor->data == NULL);
    CHECK(ATTR("fu", TF_ATTR_FUNC) && strcmp(a->s, "body") == 0 && a->s_len == 4);

    CHECK(ATTR("ls", TF_ATTR_LIST) && a->n_s == 2 && a->list_s_len[0] == 4 && strcmp(a->list_s[0], "NWHC") == 0 &&
          a->list_s_len[1] == 0 && a->n_i == 0);
    CHECK(ATTR("li", TF_ATTR_LIST) && a->n_i == 3 && a->list_i[0] == 1 && a->list_i[1] == 2 && a->list_i[2] == -3 &&
          a->n_s == 0);
    CHECK(ATTR("lf", TF_ATTR_LIST) && a->n_f == 2 && a->list_f[0] == 0.25f && isnan(a->list_f[1]));
    CHECK(ATTR("lb", TF_ATTR_LIST) && a->n_b == 2 && a->list_b[0] && !a->list_b[1]);
    CHECK(ATTR("lt", TF_ATTR_LIST) && a->n_type == 2 && a->list_type[0] == TF_DT_FLOAT &&
          a->list_type[1] == TF_DT_INT32);
    CHECK(ATTR("lsh", TF_ATTR_LIST) && a->n_shape == 2 && a->list_shape[0].rank == 1 && a->list_shape[0].dims[0] == 1 &&
          a->list_shape[1].unknown_rank);
    CHECK(ATTR("le", TF_ATTR_LIST) && a->n_s + a->n_i + a->n_f + a->n_b + a->n_type + a->n_shape == 0);
    CHECK(ATTR("none", TF_ATTR_NONE));
    CHECK(ATTR("ph", TF_ATTR_NONE));
#undef ATTR
    tf_graph_free(g);
}

static void test_tfjs_signature(void) {
    tf_graph *g =
        load("{\"signature\": {\"inputs\": {\"input_1\": {\"name\": \"input_1:0\", \"dtype\": \"DT_FLOAT\"},"
             " \"a\": {\"name\": \"a:0\"}},\n"
             " \"outputs\": {\"z_out\": {\"name\": \"Identity_1:0\"}, \"a_out\": {\"name\": \"Identity:0\"}}},\n"
             " \"modelTopology\": {\"node\": [{\"name\": \"input_1\", \"op\": \"Placeholder\"}]}}");
    CHECK(g && g->n_sig_inputs == 2 && g->n_sig_outputs == 2);
    if (g && g->n_sig_inputs == 2 && g->n_sig_outputs == 2) {
        /* map order kept */
        CHECK(strcmp(g->sig_inputs[0].key, "input_1") == 0 && strcmp(g->sig_inputs[0].tensor, "input_1:0") == 0);
        CHECK(strcmp(g->sig_inputs[1].key, "a") == 0 && strcmp(g->sig_inputs[1].tensor, "a:0") == 0);
        CHECK(strcmp(g->sig_outputs[0].key, "z_out") == 0 && strcmp(g->sig_outputs[0].tensor, "Identity_1:0") == 0);
        CHECK(strcmp(g->sig_outputs[1].key, "a_out") == 0 && strcmp(g->sig_outputs[1].tensor, "Identity:0") == 0);
    }
    tf_graph_free(g);

    /* older converters put it in userDefinedMetadata; outputs only is fine */
    g = load("{\"userDefinedMetadata\": {\"signature\": {\"outputs\": {\"Identity:0\": {\"name\": \"Identity:0\"}}}},"
             " \"modelTopology\": {\"node\": [{\"name\": \"x\", \"op\": \"Placeholder\"}]}, \"weightsManifest\": []}");
    CHECK(g && g->n_sig_inputs == 0 && g->n_sig_outputs == 1 && strcmp(g->sig_outputs[0].key, "Identity:0") == 0 &&
          strcmp(g->sig_outputs[0].tensor, "Identity:0") == 0);
    tf_graph_free(g);
}

#define TOPO "\"modelTopology\": {\"node\": [" CONST("w") "]}"
#define WEIGHT(spec) "{" TOPO ", \"weightsManifest\": [{\"paths\": [\"e.bin\"], \"weights\": [" spec "]}]}"

static void test_tfjs_errors(void) {
    bytes s = {0};
    put_f32(&s, 1), put_f32(&s, 2), put_f32(&s, 3);
    write_file("e.bin", s.b, s.n);

    /* a truncated shard: 12 bytes hold 3 floats, not 4 */
    LOAD_ERROR2(WEIGHT("{\"name\": \"w\", \"shape\": [4], \"dtype\": \"float32\"}"),
                "weight \"w\": 4 elements of 4 bytes from "
                "byte 0 do not fit in the 12 bytes of weightsManifest[0]'s shards",
                "model.json: byte ");
    LOAD_ERROR(WEIGHT("{\"name\": \"a\", \"shape\": [2], \"dtype\": \"float32\"}, {\"name\": \"w\", \"shape\": [2], "
                      "\"dtype\": \"float32\"}"),
               "weight \"w\": 2 elements of 4 bytes from byte 8 do not fit in the 12 bytes");
    LOAD_ERROR(WEIGHT("{\"name\": \"w\", \"shape\": [4611686018427387904, 4], \"dtype\": \"float32\"}"),
               "weight \"w\": the shape has too many elements");
    LOAD_ERROR(WEIGHT("{\"name\": \"w\", \"shape\": [3], \"dtype\": \"float64\"}"),
               "weight \"w\": unknown dtype \"float64\"");
    LOAD_ERROR(WEIGHT("{\"name\": \"w\", \"shape\": [3], \"dtype\": \"uint8\"}"),
               "weight \"w\": unknown dtype \"uint8\"");
    LOAD_ERROR(WEIGHT("{\"name\": \"w\", \"shape\": [1], \"dtype\": \"string\"}"),
               "weight \"w\": string weights are not supported");
    LOAD_ERROR(WEIGHT("{\"name\": \"w\", \"shape\": [1], \"dtype\": \"complex64\"}"),
               "weight \"w\": complex64 weights are not supported");
    LOAD_ERROR(
        WEIGHT("{\"name\": \"w\", \"shape\": [1], \"dtype\": \"float32\", \"quantization\": {\"dtype\": \"uint8\","
               " \"min\": 0}}"),
        "weight \"w\": uint8 quantization needs numbers \"scale\" and \"min\"");
    LOAD_ERROR(WEIGHT("{\"name\": \"w\", \"shape\": [1], \"dtype\": \"int32\", \"quantization\": {\"dtype\": "
                      "\"float16\"}}"),
               "weight \"w\": float16 quantization of int32 weights is not supported");
    LOAD_ERROR(WEIGHT("{\"name\": \"w\", \"shape\": [1], \"dtype\": \"float32\", \"quantization\": {\"dtype\": "
                      "\"int4\"}}"),
               "weight \"w\": unknown quantization dtype \"int4\"");
    LOAD_ERROR(WEIGHT("{\"name\": \"w\", \"shape\": [-1], \"dtype\": \"float32\"}"),
               "weight \"w\": negative dimension");
    LOAD_ERROR(WEIGHT("{\"name\": \"w\", \"dtype\": \"float32\"}"), "weight \"w\": missing \"shape\"");
    LOAD_ERROR("{" TOPO ", \"weightsManifest\": [{\"paths\": [\"nope.bin\"], \"weights\": []}]}",
               "nope.bin\": No such file or directory");
    LOAD_ERROR("{" TOPO ", \"weightsManifest\": [{\"paths\": [\".\"], \"weights\": []}]}", "is not a regular file");
    LOAD_ERROR("{" TOPO ", \"weightsManifest\": {}}", "weightsManifest: expected an array, got an object");

    /* bad JSON: the byte offset is in the message */
    LOAD_ERROR("{\"modelTopology\": {\"node\": [}}", "model.json: byte 28: expected a JSON value, got '}'");
    LOAD_ERROR("{\"format\": \"layers-model\", \"modelTopology\": {\"class_name\": \"Sequential\"}}",
               "model.json: model config: \"config\" has no \"layers\" list");
    LOAD_ERROR("{\"modelTopology\": {\"class_name\": \"Model\", \"config\": {}}}",
               "model.json: model config: \"config\" has no \"layers\" list");
    LOAD_ERROR("{\"format\": \"saved-model\", " TOPO "}", "unknown format \"saved-model\"");
    LOAD_ERROR("{\"format\": \"graph-model\"}", "model.json: byte 0: the top level: missing \"modelTopology\"");
    LOAD_ERROR("{\"modelTopology\": {\"versions\": {}}}", "modelTopology: missing \"node\"");
    LOAD_ERROR("[]", "the top level: expected an object, got an array");
    LOAD_ERROR("{\"modelTopology\": {\"node\": [{\"op\": \"Const\"}]}}", "modelTopology.node[0]: missing \"name\"");
    LOAD_ERROR("{\"modelTopology\": {\"node\": [{\"name\": \"a\"}]}}", "node \"a\": missing \"op\"");
    LOAD_ERROR("{\"modelTopology\": {\"node\": [" CONST("a") ", " CONST("a") "]}}", "two nodes are named \"a\"");
    LOAD_ERROR("{\"modelTopology\": {\"node\": [{\"name\": \"a\", \"op\": \"X\", \"input\": [\"b\", 1]}]}}",
               "node \"a\": expected a string, got a number");
    LOAD_ERROR2("{\"modelTopology\": {\"node\": [{\"name\": \"a\", \"op\": \"Pad\", \"attr\": {\"padding\": {\"s\": "
                "\"U0F*RQ==\"}}}]}}",
                "model.json: byte 81: node \"a\" attr \"padding\": base64 offset 3: invalid character '*'", NULL);
    LOAD_ERROR(
        "{\"modelTopology\": {\"node\": [{\"name\": \"a\", \"op\": \"X\", \"attr\": {\"k\": {\"i\": 1, \"f\": 2}}}]}}",
        "node \"a\" attr \"k\": more than one value");
    LOAD_ERROR(
        "{\"modelTopology\": {\"node\": [{\"name\": \"a\", \"op\": \"X\", \"attr\": {\"k\": {\"i\": \"1.5\"}}}]}}",
        "node \"a\" attr \"k\": expected an integer");
    LOAD_ERROR(
        "{\"modelTopology\": {\"node\": [{\"name\": \"a\", \"op\": \"X\", \"attr\": {\"k\": {\"type\": \"DT_X\"}}}]}}",
        "node \"a\" attr \"k\": unknown dtype \"DT_X\"");
    LOAD_ERROR(
        "{\"modelTopology\": {\"node\": [{\"name\": \"a\", \"op\": \"X\", \"attr\": {\"k\": {\"shape\": {\"dim\": "
        "[{},{},{},{},{},{},{},{},{}]}}}}]}}",
        "node \"a\" attr \"k\": rank 9 is over the limit of 8");
    LOAD_ERROR(
        "{\"modelTopology\": {\"node\": [{\"name\": \"a\", \"op\": \"X\", \"attr\": {\"k\": {\"list\": {\"func\": "
        "[{\"name\": \"f\"}]}}}}]}}",
        "node \"a\" attr \"k\": lists of \"func\" are not supported");
    LOAD_ERROR(
        "{\"modelTopology\": {\"node\": [{\"name\": \"a\", \"op\": \"X\", \"attr\": {\"k\": {\"tensor\": {\"dtype\":"
        " \"DT_INT32\", \"tensorShape\": {\"dim\": [{\"size\": \"2\"}]}, \"tensorContent\": \"AQAAAA==\"}}}}]}}",
        "tensorContent has 4 bytes for 2 elements of 4 bytes");
    LOAD_ERROR(
        "{\"modelTopology\": {\"node\": [{\"name\": \"a\", \"op\": \"X\", \"attr\": {\"k\": {\"tensor\": {\"dtype\":"
        " \"DT_UINT8\", \"intVal\": [256]}}}}]}}",
        "256 is out of range for DT_UINT8");
    LOAD_ERROR(
        "{\"modelTopology\": {\"node\": [{\"name\": \"a\", \"op\": \"X\", \"attr\": {\"k\": {\"tensor\": {\"dtype\":"
        " \"DT_FLOAT\", \"tensorShape\": {\"dim\": [{\"size\": \"1000000\"}, {\"size\": \"1000000\"}]},"
        " \"floatVal\": [1]}}}}]}}",
        "is over the 256 MiB limit");

    CHECK(read_tfjs(path_of("missing.json")) == NULL && strstr(kc_last_error(), "missing.json: cannot open"));
}

int main(void) {
    RUN(test_json_values);
    RUN(test_json_errors);
    RUN(test_json_depth);
    RUN(test_json_large);
    RUN(test_base64);

    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/kiln_tfjs_XXXXXX", tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_tfjs_plain_weights);
    RUN(test_tfjs_quantized);
    RUN(test_tfjs_float16);
    RUN(test_tfjs_shards);
    RUN(test_tfjs_attrs);
    RUN(test_tfjs_signature);
    RUN(test_tfjs_errors);
    for (int i = 0; i < n_files; i++) unlink(path_of(files[i]));
    rmdir(dir);
    return check_summary();
}
