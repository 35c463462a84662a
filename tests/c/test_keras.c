/* Keras model configs (keras.c) built into TF graphs, converted and run,
 * checked against values computed here from the layer definitions. The
 * configs are written with single quotes, turned into JSON by json_of. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "diag.h"
#include "graph_builder.h"
#include "json.h"
#include "keras.h"
#include "read_tfjs.h"

/* ---- harness ------------------------------------------------------------------ */

/* A weight the test supplies, found by "<scope><layer>/<name>" or, with
 * by_index, "<scope><layer>/<index>". */
typedef struct tw {
    const char *key;
    int rank;
    int64_t dims[4];
    const float *data;
} tw;

typedef struct tsrc {
    tf_graph *g;
    const tw *w;
    int n;
    bool by_index;
} tsrc;

static bool lookup(void *ctx, const keras_weight_ref *ref, tf_tensor **out) {
    tsrc *s = ctx;
    char key[256];
    if (s->by_index)
        snprintf(key, sizeof key, "%s%s/%d", ref->scope, ref->layer, ref->index);
    else
        snprintf(key, sizeof key, "%s%s/%s", ref->scope, ref->layer, ref->name);
    *out = NULL;
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->w[i].key, key) != 0) continue;
        tf_tensor *t = tf_alloc(s->g, sizeof *t);
        t->dtype = TF_DT_FLOAT;
        t->shape.rank = s->w[i].rank;
        memcpy(t->shape.dims, s->w[i].dims, sizeof t->shape.dims[0] * 4);
        t->data = (void *)s->w[i].data;
        t->nbytes = (size_t)tf_shape_count(&t->shape) * sizeof(float);
        *out = t;
    }
    return true;
}

static char *json_of(const char *single_quoted) {
    size_t n = strlen(single_quoted) + 1;
    char *s = malloc(n);
    memcpy(s, single_quoted, n);
    for (char *p = s; *p; p++)
        if (*p == '\'') *p = '"';
    return s;
}

/* Builds and converts; false with kc_last_error() set. */
static bool build(const char *config, keras_flavor flavor, const tw *w, int n_w, bool by_index, gb_bundle *b) {
    char *text = json_of(config);
    json_doc *doc = json_parse(text, strlen(text), "config");
    tf_graph *g = tf_graph_new();
    tsrc s = {g, w, n_w, by_index};
    keras_source src = {flavor, lookup, &s};
    memset(b, 0, sizeof *b);
    bool ok = doc && keras_build(g, json_root(doc), &src) && gb_convert(g, NULL, b);
    tf_graph_free(g);
    json_free(doc);
    free(text);
    return ok;
}

static bool convert(const char *config, const tw *w, int n_w, gb_bundle *b) {
    bool ok = build(config, KERAS_TFJS, w, n_w, false, b);
    if (!ok) {
        fprintf(stderr, "  conversion failed: %s\n", kc_last_error());
        check_failures++;
    }
    return ok;
}

/* The conversion must fail with a message containing every `want` (NULL-terminated). */
static void expect_error(const char *config, const tw *w, int n_w, const char *const *want) {
    gb_bundle b;
    bool ok = build(config, KERAS_TFJS, w, n_w, false, &b);
    CHECK(!ok);
    free(b.bytes);
    if (ok) return;
    for (; *want; want++)
        if (!strstr(kc_last_error(), *want)) {
            fprintf(stderr, "  message lacks \"%s\": %s\n", *want, kc_last_error());
            check_failures++;
        }
}

/* The bundle's input i / output i is called `name`. */
static void check_names(const gb_bundle *b, const char *const *inputs, int n_in, const char *const *outputs, int n_out) {
    void *copy = aligned_alloc(64, (b->size + 63) & ~(size_t)63);
    memcpy(copy, b->bytes, b->size);
    kiln_model *m = NULL;
    CHECK(kiln_model_load(copy, b->size, &m) == KILN_OK);
    if (m) {
        CHECK(kiln_model_num_inputs(m) == n_in && kiln_model_num_outputs(m) == n_out);
        for (int i = 0; i < n_in && i < kiln_model_num_inputs(m); i++)
            if (strcmp(kiln_tensor_name(kiln_model_input(m, i)), inputs[i]) != 0) {
                fprintf(stderr, "  input %d is '%s', want '%s'\n", i, kiln_tensor_name(kiln_model_input(m, i)), inputs[i]);
                check_failures++;
            }
        for (int i = 0; i < n_out && i < kiln_model_num_outputs(m); i++)
            if (strcmp(kiln_tensor_name(kiln_model_output(m, i)), outputs[i]) != 0) {
                fprintf(stderr, "  output %d is '%s', want '%s'\n", i, kiln_tensor_name(kiln_model_output(m, i)), outputs[i]);
                check_failures++;
            }
    }
    kiln_model_free(m);
    free(copy);
}

/* One float input, one float output. */
static void run1(const gb_bundle *b, const float *x, float *y, size_t ny) {
    CHECK(gb_run(b, (const void *[]){x}, 1, (void *[]){y}, (size_t[]){ny * sizeof(float)}, 1) == KILN_OK);
}

/* Deterministic values in [-1, 1). */
static void fill(float *a, int n, int seed) {
    unsigned x = 2463534242u + (unsigned)seed * 7919u;
    for (int i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        a[i] = (float)((x >> 8) % 2000) / 1000.0f - 1.0f;
    }
}

/* NHWC convolution (depthwise: m outputs per input channel) with explicit
 * top/left padding; the reference for Conv2D, DepthwiseConv2D and friends. */
typedef struct conv_ref {
    int h, w, c, kh, kw, m, sh, sw, dh, dw, pt, pl, oh, ow;
    bool depthwise;
} conv_ref;

static void ref_conv(const conv_ref *p, const float *x, const float *k, const float *bias, float *y) {
    int oc_n = p->depthwise ? p->c * p->m : p->m;
    for (int oy = 0; oy < p->oh; oy++)
        for (int ox = 0; ox < p->ow; ox++)
            for (int oc = 0; oc < oc_n; oc++) {
                double acc = bias ? bias[oc] : 0;
                for (int ky = 0; ky < p->kh; ky++)
                    for (int kx = 0; kx < p->kw; kx++) {
                        int iy = oy * p->sh - p->pt + ky * p->dh, ix = ox * p->sw - p->pl + kx * p->dw;
                        if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) continue;
                        const float *px = x + (iy * p->w + ix) * p->c;
                        if (p->depthwise) {
                            int ic = oc / p->m, mm = oc % p->m;
                            acc += px[ic] * k[((ky * p->kw + kx) * p->c + ic) * p->m + mm];
                        } else {
                            for (int ic = 0; ic < p->c; ic++) acc += px[ic] * k[((ky * p->kw + kx) * p->c + ic) * p->m + oc];
                        }
                    }
                y[(oy * p->ow + ox) * oc_n + oc] = (float)acc;
            }
}

/* y[n] = x[n] @ k[in, out] + bias. */
static void ref_dense(const float *x, int n, int in, int out, const float *k, const float *bias, float *y) {
    for (int r = 0; r < n; r++)
        for (int j = 0; j < out; j++) {
            double acc = bias ? bias[j] : 0;
            for (int i = 0; i < in; i++) acc += x[r * in + i] * k[i * out + j];
            y[r * out + j] = (float)acc;
        }
}

#define INPUT(name, shape) \
    "{'class_name':'InputLayer','name':'" name "','config':{'batch_input_shape':" shape ",'dtype':'float32','name':'" name "'},'inbound_nodes':[]}"
/* A Keras 2 layer of a functional model, called once on the given inputs. */
#define LAYER(cls, name, config, inputs) \
    "{'class_name':'" cls "','name':'" name "','config':{'name':'" name "'" config "},'inbound_nodes':[[" inputs "]]}"
#define IN(name) "['" name "',0,0,{}]"
#define FUNCTIONAL(layers, inputs, outputs) \
    "{'class_name':'Model','config':{'name':'m','layers':[" layers "],'input_layers':[" inputs "],'output_layers':[" outputs "]}}"

/* ---- tests -------------------------------------------------------------------- */

/* Keras 2.2 Sequential without an InputLayer: the input is "<first layer>_input". */
static void sequential_dense_relu_softmax(void) {
    float k1[4 * 3], b1[3], k2[3 * 2], x[4] = {0.5f, -1, 2, 0.25f}, h[3], want[2], got[2];
    fill(k1, 12, 1), fill(b1, 3, 2), fill(k2, 6, 3);
    tw w[] = {{"d1/kernel", 2, {4, 3}, k1}, {"d1/bias", 1, {3}, b1}, {"d2/kernel", 2, {3, 2}, k2}};
    gb_bundle b;
    if (!convert("{'class_name':'Sequential','config':[{'class_name':'Dense','config':{'name':'d1','units':3,"
                 "'activation':'relu','use_bias':true,'batch_input_shape':[null,4],'dtype':'float32'}},"
                 "{'class_name':'Dropout','config':{'name':'drop','rate':0.5}},"
                 "{'class_name':'Dense','config':{'name':'d2','units':2,'activation':'softmax','use_bias':false}}]}",
                 w, 3, &b))
        return;
    check_names(&b, (const char *[]){"d1_input"}, 1, (const char *[]){"d2"}, 1);
    ref_dense(x, 1, 4, 3, k1, b1, h);
    for (int i = 0; i < 3; i++) h[i] = h[i] > 0 ? h[i] : 0;
    ref_dense(h, 1, 3, 2, k2, NULL, want);
    double m = fmax(want[0], want[1]), e0 = exp(want[0] - m), e1 = exp(want[1] - m);
    want[0] = (float)(e0 / (e0 + e1)), want[1] = (float)(e1 / (e0 + e1));
    run1(&b, x, got, 2);
    CHECK_ARRAY_NEAR(got, want, 2, 1e-6);
    free(b.bytes);
}

/* Two Dense branches merged every way, in Keras 2's and Keras 3's config forms. */
static float mk[4 * 3], mb[3], mk2[4 * 3];

static void merge_reference(const float *x, float *cat, float *mix) {
    float a[3], c[3];
    ref_dense(x, 1, 4, 3, mk, mb, a);
    ref_dense(x, 1, 4, 3, mk2, NULL, c);
    for (int i = 0; i < 3; i++) {
        cat[i] = a[i] + c[i], cat[3 + i] = a[i];
        mix[i] = a[i] - c[i], mix[3 + i] = a[i] * c[i], mix[6 + i] = (a[i] + c[i]) / 2;
        mix[9 + i] = fminf(a[i], c[i]), mix[12 + i] = fmaxf(a[i], c[i]);
    }
}

static void functional_merges(void) {
    fill(mk, 12, 4), fill(mb, 3, 5), fill(mk2, 12, 6);
    tw w[] = {{"a/kernel", 2, {4, 3}, mk}, {"a/bias", 1, {3}, mb}, {"c/kernel", 2, {4, 3}, mk2}};
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,4]") ","
                            LAYER("Dense", "a", ",'units':3", IN("x")) ","
                            LAYER("Dense", "c", ",'units':3,'use_bias':false", IN("x")) ","
                            LAYER("Add", "s", "", IN("a") "," IN("c")) ","
                            LAYER("Concatenate", "cat", ",'axis':-1", IN("s") "," IN("a")) ","
                            LAYER("Subtract", "sub", "", IN("a") "," IN("c")) ","
                            LAYER("Multiply", "mul", "", IN("a") "," IN("c")) ","
                            LAYER("Average", "avg", "", IN("a") "," IN("c")) ","
                            LAYER("Minimum", "mn", "", IN("a") "," IN("c")) ","
                            LAYER("Maximum", "mx", "", IN("a") "," IN("c")) ","
                            LAYER("Concatenate", "mix", ",'axis':1", IN("sub") "," IN("mul") "," IN("avg") "," IN("mn") "," IN("mx")),
                            "['x',0,0]", "['cat',0,0],['mix',0,0]"),
                 w, 3, &b))
        return;
    check_names(&b, (const char *[]){"x"}, 1, (const char *[]){"cat", "mix"}, 2);
    float x[4] = {1, -0.5f, 0.25f, 2}, cat[6], mix[15], want_cat[6], want_mix[15];
    merge_reference(x, want_cat, want_mix);
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){cat, mix}, (size_t[]){sizeof cat, sizeof mix}, 2) == KILN_OK);
    CHECK_ARRAY_NEAR(cat, want_cat, 6, 1e-6);
    CHECK_ARRAY_NEAR(mix, want_mix, 15, 1e-6);
    free(b.bytes);
}

#define K3T(name) \
    "{'class_name':'__keras_tensor__','config':{'shape':[null,3],'dtype':'float32','keras_history':['" name "',0,0]}}"
#define K3LAYER(cls, name, config, args) \
    "{'module':'keras.layers','class_name':'" cls "','config':{'name':'" name "','dtype':{'module':'keras'," \
    "'class_name':'DTypePolicy','config':{'name':'float32'}}" config "},'name':'" name "','inbound_nodes':" \
    "[{'args':" args ",'kwargs':{}}]}"

/* Keras 3: args with keras_history, batch_shape, dtype policies, a single
 * input_layers reference, and weights numbered by index. */
static void functional_keras3(void) {
    fill(mk, 12, 4), fill(mb, 3, 5), fill(mk2, 12, 6);
    tw w[] = {{"a/0", 2, {4, 3}, mk}, {"a/1", 1, {3}, mb}, {"c/0", 2, {4, 3}, mk2}};
    gb_bundle b;
    bool ok = build("{'module':'keras','class_name':'Functional','config':{'name':'f','trainable':true,'layers':["
                    "{'module':'keras.layers','class_name':'InputLayer','config':{'batch_shape':[null,4],'dtype':'float32',"
                    "'sparse':false,'name':'x'},'registered_name':null,'name':'x','inbound_nodes':[]},"
                    K3LAYER("Dense", "a", ",'units':3,'activation':'linear','use_bias':true",
                            "[{'class_name':'__keras_tensor__','config':{'shape':[null,4],'dtype':'float32','keras_history':['x',0,0]}}]") ","
                    K3LAYER("Dense", "c", ",'units':3,'use_bias':false",
                            "[{'class_name':'__keras_tensor__','config':{'shape':[null,4],'dtype':'float32','keras_history':['x',0,0]}}]") ","
                    K3LAYER("Add", "s", "", "[[" K3T("a") "," K3T("c") "]]") ","
                    K3LAYER("Concatenate", "cat", ",'axis':-1", "[[" K3T("s") "," K3T("a") "]]")
                    "],'input_layers':['x',0,0],'output_layers':[['cat',0,0]]},'registered_name':'Functional'}",
                    KERAS_3, w, 3, true, &b);
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "  %s\n", kc_last_error());
        return;
    }
    check_names(&b, (const char *[]){"x"}, 1, (const char *[]){"cat"}, 1);
    float x[4] = {1, -0.5f, 0.25f, 2}, cat[6], want_cat[6], mix[15];
    merge_reference(x, want_cat, mix);
    run1(&b, x, cat, 6);
    CHECK_ARRAY_NEAR(cat, want_cat, 6, 1e-6);
    free(b.bytes);
}

/* Conv2D: 3x3 stride 2 SAME with bias and relu; 2x3 stride (2,1) VALID, dilated, no bias. */
static void conv2d_same_valid(void) {
    float x[5 * 5 * 2], k1[3 * 3 * 2 * 3], b1[3], k2[2 * 3 * 2 * 2];
    fill(x, 50, 7), fill(k1, 54, 8), fill(b1, 3, 9), fill(k2, 24, 10);
    tw w[] = {{"c1/kernel", 4, {3, 3, 2, 3}, k1}, {"c1/bias", 1, {3}, b1}, {"c2/kernel", 4, {2, 3, 2, 2}, k2}};
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,5,5,2]") ","
                            LAYER("Conv2D", "c1", ",'filters':3,'kernel_size':[3,3],'strides':[2,2],'padding':'same',"
                                  "'data_format':'channels_last','dilation_rate':[1,1],'activation':'relu','use_bias':true", IN("x")) ","
                            LAYER("Conv2D", "c2", ",'filters':2,'kernel_size':[2,3],'strides':[2,1],'padding':'valid',"
                                  "'dilation_rate':[1,2],'use_bias':false", IN("x")),
                            "['x',0,0]", "['c1',0,0],['c2',0,0]"),
                 w, 3, &b))
        return;
    /* SAME: 5 -> 3, total padding (3-1)*2+3-5 = 2, one before. VALID dilated: 5 -> 2 rows, 5-(3-1)*2 = 1 column. */
    float y1[3 * 3 * 3], y2[2 * 1 * 2], w1[27], w2[4];
    ref_conv(&(conv_ref){5, 5, 2, 3, 3, 3, 2, 2, 1, 1, 1, 1, 3, 3, false}, x, k1, b1, w1);
    for (int i = 0; i < 27; i++) w1[i] = w1[i] > 0 ? w1[i] : 0;
    ref_conv(&(conv_ref){5, 5, 2, 2, 3, 2, 2, 1, 1, 2, 0, 0, 2, 1, false}, x, k2, NULL, w2);
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){y1, y2}, (size_t[]){sizeof y1, sizeof y2}, 2) == KILN_OK);
    CHECK_ARRAY_NEAR(y1, w1, 27, 1e-5);
    CHECK_ARRAY_NEAR(y2, w2, 4, 1e-5);
    free(b.bytes);
}

/* DepthwiseConv2D (multiplier 2, SAME, bias, relu6) and SeparableConv2D (stride 2). */
static void depthwise_and_separable(void) {
    float x[4 * 4 * 3], dk[3 * 3 * 3 * 2], db[6], sk[3 * 3 * 3 * 1], pk[3 * 2], pb[2];
    fill(x, 48, 11), fill(dk, 54, 12), fill(db, 6, 13), fill(sk, 27, 14), fill(pk, 6, 15), fill(pb, 2, 16);
    for (int i = 0; i < 48; i++) x[i] *= 8; /* so relu6 clips */
    tw w[] = {{"dw/depthwise_kernel", 4, {3, 3, 3, 2}, dk}, {"dw/bias", 1, {6}, db},
              {"sep/depthwise_kernel", 4, {3, 3, 3, 1}, sk}, {"sep/pointwise_kernel", 4, {1, 1, 3, 2}, pk},
              {"sep/bias", 1, {2}, pb}};
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,4,4,3]") ","
                            LAYER("DepthwiseConv2D", "dw", ",'kernel_size':[3,3],'strides':[1,1],'padding':'same',"
                                  "'depth_multiplier':2,'activation':'relu6','use_bias':true", IN("x")) ","
                            LAYER("SeparableConv2D", "sep", ",'filters':2,'kernel_size':3,'strides':2,'padding':'same',"
                                  "'depth_multiplier':1,'use_bias':true", IN("x")),
                            "['x',0,0]", "['dw',0,0],['sep',0,0]"),
                 w, 5, &b))
        return;
    float y1[4 * 4 * 6], y2[2 * 2 * 2], w1[96], mid[2 * 2 * 3], w2[8];
    ref_conv(&(conv_ref){4, 4, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1, 4, 4, true}, x, dk, db, w1);
    for (int i = 0; i < 96; i++) w1[i] = fminf(fmaxf(w1[i], 0), 6);
    /* SAME stride 2 on 4: out 2, total padding (2-1)*2+3-4 = 1, none before. */
    ref_conv(&(conv_ref){4, 4, 3, 3, 3, 1, 2, 2, 1, 1, 0, 0, 2, 2, true}, x, sk, NULL, mid);
    ref_dense(mid, 4, 3, 2, pk, pb, w2);
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){y1, y2}, (size_t[]){sizeof y1, sizeof y2}, 2) == KILN_OK);
    CHECK_ARRAY_NEAR(y1, w1, 96, 1e-5);
    CHECK_ARRAY_NEAR(y2, w2, 8, 1e-5);
    free(b.bytes);
}

/* BatchNormalization with axis 3 = last, and without gamma and beta (weights numbered then 0, 1). */
static void batch_normalization(void) {
    float x[2 * 2 * 3], g[3] = {1, 2, -0.5f}, be[3] = {0.1f, 0, -1}, mean[3] = {0.5f, -1, 0}, var[3] = {1, 4, 0.25f};
    fill(x, 12, 17);
    tw w[] = {{"bn/gamma", 1, {3}, g}, {"bn/beta", 1, {3}, be}, {"bn/moving_mean", 1, {3}, mean},
              {"bn/moving_variance", 1, {3}, var}, {"plain/moving_mean", 1, {3}, mean},
              {"plain/moving_variance", 1, {3}, var}};
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,2,2,3]") ","
                            LAYER("BatchNormalization", "bn", ",'axis':3,'epsilon':0.001,'center':true,'scale':true", IN("x")) ","
                            LAYER("BatchNormalization", "plain", ",'axis':[-1],'epsilon':0.01,'center':false,'scale':false", IN("x")),
                            "['x',0,0]", "['bn',0,0],['plain',0,0]"),
                 w, 6, &b))
        return;
    float y1[12], y2[12], w1[12], w2[12];
    for (int i = 0; i < 12; i++) {
        int c = i % 3;
        w1[i] = (float)((x[i] - mean[c]) / sqrt(var[c] + 0.001) * g[c] + be[c]);
        w2[i] = (float)((x[i] - mean[c]) / sqrt(var[c] + 0.01));
    }
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){y1, y2}, (size_t[]){sizeof y1, sizeof y2}, 2) == KILN_OK);
    CHECK_ARRAY_NEAR(y1, w1, 12, 1e-5);
    CHECK_ARRAY_NEAR(y2, w2, 12, 1e-5);
    free(b.bytes);
}

/* Max 2x2 (strides default to the pool), average 3x3 SAME stride 1 (padding
 * not counted), global average, global max keeping dims. */
static void pooling(void) {
    float x[4 * 4 * 2];
    fill(x, 32, 18);
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,4,4,2]") ","
                            LAYER("MaxPooling2D", "mp", ",'pool_size':[2,2],'strides':null,'padding':'valid'", IN("x")) ","
                            LAYER("AveragePooling2D", "ap", ",'pool_size':3,'strides':1,'padding':'same'", IN("x")) ","
                            LAYER("GlobalAveragePooling2D", "gap", "", IN("x")) ","
                            LAYER("GlobalMaxPooling2D", "gmp", ",'keepdims':true", IN("x")),
                            "['x',0,0]", "['mp',0,0],['ap',0,0],['gap',0,0],['gmp',0,0]"),
                 NULL, 0, &b))
        return;
    float mp[8], ap[32], gap[2], gmp[2], wmp[8], wap[32], wgap[2] = {0}, wgmp[2] = {-9, -9};
    for (int oy = 0; oy < 4; oy++)
        for (int ox = 0; ox < 4; ox++)
            for (int c = 0; c < 2; c++) {
                float v = x[(oy * 4 + ox) * 2 + c];
                wgap[c] += v / 16;
                wgmp[c] = fmaxf(wgmp[c], v);
                double sum = 0;
                int n = 0;
                for (int y = oy - 1; y <= oy + 1; y++)
                    for (int xx = ox - 1; xx <= ox + 1; xx++)
                        if (y >= 0 && y < 4 && xx >= 0 && xx < 4) sum += x[(y * 4 + xx) * 2 + c], n++;
                wap[(oy * 4 + ox) * 2 + c] = (float)(sum / n);
                if (oy < 2 && ox < 2) {
                    float m = -9;
                    for (int y = 0; y < 2; y++)
                        for (int xx = 0; xx < 2; xx++) m = fmaxf(m, x[((oy * 2 + y) * 4 + ox * 2 + xx) * 2 + c]);
                    wmp[(oy * 2 + ox) * 2 + c] = m;
                }
            }
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){mp, ap, gap, gmp},
                 (size_t[]){sizeof mp, sizeof ap, sizeof gap, sizeof gmp}, 4) == KILN_OK);
    CHECK_ARRAY_NEAR(mp, wmp, 8, 0);
    CHECK_ARRAY_NEAR(ap, wap, 32, 1e-6);
    CHECK_ARRAY_NEAR(gap, wgap, 2, 1e-6);
    CHECK_ARRAY_NEAR(gmp, wgmp, 2, 0);
    free(b.bytes);
}

/* ZeroPadding2D ((1,0),(0,2)) then Cropping2D ((1,0),(0,1)), and 1-D padding by one number. */
static void padding_and_cropping(void) {
    float x[2 * 2] = {1, 2, 3, 4}, pad[3 * 4], crop[2 * 3];
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,2,2,1]") ","
                            LAYER("ZeroPadding2D", "pad", ",'padding':[[1,0],[0,2]]", IN("x")) ","
                            LAYER("Cropping2D", "crop", ",'cropping':[[1,0],[0,1]]", IN("pad")),
                            "['x',0,0]", "['pad',0,0],['crop',0,0]"),
                 NULL, 0, &b))
        return;
    float want_pad[12] = {0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0}, want_crop[6] = {1, 2, 0, 3, 4, 0};
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){pad, crop}, (size_t[]){sizeof pad, sizeof crop}, 2) == KILN_OK);
    CHECK_ARRAY_NEAR(pad, want_pad, 12, 0);
    CHECK_ARRAY_NEAR(crop, want_crop, 6, 0);
    free(b.bytes);

    float s[3] = {1, 2, 3}, p1[5];
    if (!convert(FUNCTIONAL(INPUT("x", "[null,3,1]") "," LAYER("ZeroPadding1D", "p", ",'padding':1", IN("x")), "['x',0,0]",
                            "['p',0,0]"),
                 NULL, 0, &b))
        return;
    run1(&b, s, p1, 5);
    CHECK_ARRAY_NEAR(p1, ((float[]){0, 1, 2, 3, 0}), 5, 0);
    free(b.bytes);
}

/* Permute, Flatten and Reshape (with -1) move data as NumPy would. */
static void flatten_reshape_permute(void) {
    float x[2 * 3 * 2], perm[12], flat[12], re[12], want_perm[12];
    for (int i = 0; i < 12; i++) x[i] = (float)i;
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,2,3,2]") ","
                            LAYER("Permute", "perm", ",'dims':[2,1,3]", IN("x")) ","
                            LAYER("Flatten", "flat", ",'data_format':'channels_last'", IN("perm")) ","
                            LAYER("Reshape", "re", ",'target_shape':[3,-1]", IN("flat")),
                            "['x',0,0]", "['perm',0,0],['flat',0,0],['re',0,0]"),
                 NULL, 0, &b))
        return;
    /* perm[0][j][i][c] = x[0][i][j][c]: shape [1,3,2,2]. */
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 2; i++)
            for (int c = 0; c < 2; c++) want_perm[(j * 2 + i) * 2 + c] = x[(i * 3 + j) * 2 + c];
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){perm, flat, re}, (size_t[]){sizeof perm, sizeof flat, sizeof re},
                 3) == KILN_OK);
    CHECK_ARRAY_NEAR(perm, want_perm, 12, 0);
    CHECK_ARRAY_NEAR(flat, want_perm, 12, 0);
    CHECK_ARRAY_NEAR(re, want_perm, 12, 0);
    free(b.bytes);
}

/* A Sequential used as a layer and called twice (shared weights, calls
 * "enc" and "enc_1"), and a nested functional model with two outputs.
 * Nested models built on inputs have a node of their own, so references
 * number their calls from 1. */
static void nested_models(void) {
    float hk[3 * 2] = {1, -1, 0.5f, 2, -0.25f, 0}, hb[2] = {0.1f, -0.2f}, pk[3 * 3], x[3] = {1, 2, -1};
    fill(pk, 9, 19);
    tw w[] = {{"enc/h/kernel", 2, {3, 2}, hk}, {"enc/h/bias", 1, {2}, hb}, {"p/kernel", 2, {3, 3}, pk},
              {"two/u/kernel", 2, {3, 2}, hk}};
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,3]") ","
                            LAYER("Dense", "p", ",'units':3,'use_bias':false", IN("x")) ","
                            "{'class_name':'Sequential','name':'enc','config':{'name':'enc','layers':["
                            "{'class_name':'InputLayer','config':{'batch_input_shape':[null,3],'name':'enc_in'}},"
                            "{'class_name':'Dense','config':{'name':'h','units':2,'activation':'relu'}}]},"
                            "'inbound_nodes':[[" IN("x") "],[" IN("p") "]]},"
                            "{'class_name':'Model','name':'two','config':{'name':'two','layers':["
                            INPUT("i", "[null,3]") "," LAYER("Dense", "u", ",'units':2,'use_bias':false", IN("i")) ","
                            LAYER("Activation", "t", ",'activation':'tanh'", IN("u")) "],"
                            "'input_layers':[['i',0,0]],'output_layers':[['u',0,0],['t',0,0]]},"
                            "'inbound_nodes':[[" IN("x") "]]},"
                            LAYER("Add", "sum", "", "['two',1,1,{}],['enc',2,0,{}]"),
                            "['x',0,0]", "['enc',1,0],['enc',2,0],['two',1,0],['two',1,1],['sum',0,0]"),
                 w, 4, &b))
        return;
    check_names(&b, (const char *[]){"x"}, 1, (const char *[]){"enc", "enc_1", "two", "two:1", "sum"}, 5);
    float px[3], e0[2], e1[2], u[2], t[2], sum[2], g0[2], g1[2], gu[2], gt[2], gs[2];
    ref_dense(x, 1, 3, 2, hk, hb, e0);
    ref_dense(x, 1, 3, 3, pk, NULL, px);
    ref_dense(px, 1, 3, 2, hk, hb, e1);
    ref_dense(x, 1, 3, 2, hk, NULL, u);
    for (int i = 0; i < 2; i++) {
        e0[i] = fmaxf(e0[i], 0), e1[i] = fmaxf(e1[i], 0);
        t[i] = tanhf(u[i]), sum[i] = t[i] + e1[i];
    }
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){g0, g1, gu, gt, gs},
                 (size_t[]){sizeof g0, sizeof g1, sizeof gu, sizeof gt, sizeof gs}, 5) == KILN_OK);
    CHECK_ARRAY_NEAR(g0, e0, 2, 1e-6);
    CHECK_ARRAY_NEAR(g1, e1, 2, 1e-6);
    CHECK_ARRAY_NEAR(gu, u, 2, 1e-6);
    CHECK_ARRAY_NEAR(gt, t, 2, 1e-6);
    CHECK_ARRAY_NEAR(gs, sum, 2, 1e-6);
    free(b.bytes);
}

/* Activation functions and activation layers against their definitions. */
static double selu(double v) { return 1.0507009873554805 * (v > 0 ? v : 1.6732632423543772 * (exp(v) - 1)); }
static double sigm(double v) { return 1 / (1 + exp(-v)); }

static double act_ref(const char *name, double v) {
    if (!strcmp(name, "relu")) return v > 0 ? v : 0;
    if (!strcmp(name, "relu6")) return fmin(fmax(v, 0), 6);
    if (!strcmp(name, "elu")) return v > 0 ? v : exp(v) - 1;
    if (!strcmp(name, "selu")) return selu(v);
    if (!strcmp(name, "sigmoid")) return sigm(v);
    if (!strcmp(name, "hard_sigmoid")) return fmin(fmax(0.2 * v + 0.5, 0), 1); /* tfjs and Keras 2 */
    if (!strcmp(name, "tanh")) return tanh(v);
    if (!strcmp(name, "softplus")) return log1p(exp(v));
    if (!strcmp(name, "softsign")) return v / (1 + fabs(v));
    if (!strcmp(name, "swish")) return v * sigm(v);
    if (!strcmp(name, "gelu")) return 0.5 * v * (1 + erf(v / sqrt(2)));
    if (!strcmp(name, "exponential")) return exp(v);
    if (!strcmp(name, "leaky_relu")) return v > 0 ? v : 0.2 * v;
    return v; /* linear */
}

static void check_rel(const float *got, const double *want, int n, double rel) {
    for (int i = 0; i < n; i++) CHECK_NEAR(got[i], want[i], rel * fmax(1, fabs(want[i])));
}

static void activations(void) {
    static const char *const names[] = {"relu",     "relu6",    "elu",   "selu",  "sigmoid",     "hard_sigmoid", "tanh",
                                        "softplus", "softsign", "swish", "gelu",  "exponential", "linear",       "leaky_relu"};
    enum { N = sizeof names / sizeof names[0], L = 8, EXTRA = 7 };
    float x[L] = {-7, -2.5f, -1, -0.1f, 0, 0.3f, 2, 6.5f}, alpha[L], out[N + EXTRA][L];
    fill(alpha, L, 20);
    tw w[] = {{"pr/alpha", 1, {L}, alpha}};
    char *config = malloc(1 << 15);
    size_t n = (size_t)sprintf(config, "{'class_name':'Model','config':{'name':'m','layers':[" INPUT("x", "[null,8]"));
    for (int i = 0; i < N; i++)
        n += (size_t)sprintf(config + n, ",{'class_name':'Activation','name':'a%d','config':{'name':'a%d','activation':'%s'},"
                             "'inbound_nodes':[[" IN("x") "]]}", i, i, names[i]);
    n += (size_t)sprintf(config + n, ","
                         LAYER("ReLU", "r1", ",'max_value':2.5,'negative_slope':0.1,'threshold':0", IN("x")) ","
                         LAYER("ReLU", "r2", ",'max_value':6", IN("x")) ","
                         LAYER("ReLU", "r3", "", IN("x")) ","
                         LAYER("LeakyReLU", "lr", ",'alpha':0.3", IN("x")) ","
                         LAYER("ELU", "el", ",'alpha':0.5", IN("x")) ","
                         LAYER("PReLU", "pr", ",'shared_axes':null", IN("x")) ","
                         LAYER("Softmax", "sm", ",'axis':-1", IN("x"))
                         "],'input_layers':[['x',0,0]],'output_layers':[");
    for (int i = 0; i < N; i++) n += (size_t)sprintf(config + n, "['a%d',0,0],", i);
    sprintf(config + n, "['r1',0,0],['r2',0,0],['r3',0,0],['lr',0,0],['el',0,0],['pr',0,0],['sm',0,0]]}}");
    gb_bundle b;
    bool ok = convert(config, w, 1, &b);
    free(config);
    if (!ok) return;
    void *outs[N + EXTRA];
    size_t sizes[N + EXTRA];
    for (int i = 0; i < N + EXTRA; i++) outs[i] = out[i], sizes[i] = sizeof out[i];
    CHECK(gb_run(&b, (const void *[]){x}, 1, outs, sizes, N + EXTRA) == KILN_OK);
    free(b.bytes);
    double want[N + EXTRA][L], sum = 0;
    for (int j = 0; j < L; j++) {
        for (int i = 0; i < N; i++) want[i][j] = act_ref(names[i], x[j]);
        want[N][j] = fmin(x[j] > 0 ? x[j] : 0.1 * x[j], 2.5);
        want[N + 1][j] = fmin(fmax(x[j], 0), 6);
        want[N + 2][j] = fmax(x[j], 0);
        want[N + 3][j] = x[j] > 0 ? x[j] : 0.3 * x[j];
        want[N + 4][j] = x[j] > 0 ? x[j] : 0.5 * (exp(x[j]) - 1);
        want[N + 5][j] = x[j] > 0 ? x[j] : alpha[j] * x[j];
        sum += exp(x[j] - 6.5);
    }
    for (int j = 0; j < L; j++) want[N + 6][j] = exp(x[j] - 6.5) / sum;
    for (int i = 0; i < N + EXTRA; i++) {
        int before = check_failures;
        check_rel(out[i], want[i], L, 2e-6);
        if (check_failures != before) fprintf(stderr, "  in output %d (%s)\n", i, i < N ? names[i] : "a layer");
    }

    /* Keras 3's hard_sigmoid is relu6(x + 3) / 6. */
    char *k3 = json_of(FUNCTIONAL(INPUT("x", "[null,8]") "," LAYER("Activation", "h", ",'activation':'hard_sigmoid'", IN("x")),
                                  "['x',0,0]", "['h',0,0]"));
    ok = build(k3, KERAS_3, NULL, 0, false, &b);
    free(k3);
    CHECK(ok);
    if (!ok) return;
    float h[L];
    double wh[L];
    run1(&b, x, h, L);
    for (int j = 0; j < L; j++) wh[j] = fmin(fmax(x[j] + 3, 0), 6) / 6;
    check_rel(h, wh, L, 1e-6);
    free(b.bytes);
}

/* Conv1D (causal, dilated), MaxPooling1D and GlobalAveragePooling1D. */
static void conv1d_and_pool1d(void) {
    float x[6 * 2], k[2 * 2 * 3], bias[3];
    fill(x, 12, 21), fill(k, 12, 22), fill(bias, 3, 23);
    tw w[] = {{"c/kernel", 3, {2, 2, 3}, k}, {"c/bias", 1, {3}, bias}};
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,6,2]") ","
                            LAYER("Conv1D", "c", ",'filters':3,'kernel_size':[2],'strides':[1],'padding':'causal',"
                                  "'dilation_rate':[2],'use_bias':true", IN("x")) ","
                            LAYER("MaxPooling1D", "mp", ",'pool_size':[2],'strides':[2],'padding':'valid'", IN("c")) ","
                            LAYER("GlobalAveragePooling1D", "gap", "", IN("c")),
                            "['x',0,0]", "['c',0,0],['mp',0,0],['gap',0,0]"),
                 w, 2, &b))
        return;
    /* Causal with dilation 2: y[t] = k[0] x[t-2] + k[1] x[t] (+ bias), x[t<0] = 0. */
    float c[18], mp[9], gap[3], wc[18], wmp[9], wgap[3] = {0};
    for (int t = 0; t < 6; t++)
        for (int o = 0; o < 3; o++) {
            double acc = bias[o];
            for (int i = 0; i < 2; i++) {
                if (t >= 2) acc += x[(t - 2) * 2 + i] * k[(0 * 2 + i) * 3 + o];
                acc += x[t * 2 + i] * k[(1 * 2 + i) * 3 + o];
            }
            wc[t * 3 + o] = (float)acc;
            wgap[o] += (float)acc / 6;
        }
    for (int t = 0; t < 3; t++)
        for (int o = 0; o < 3; o++) wmp[t * 3 + o] = fmaxf(wc[2 * t * 3 + o], wc[(2 * t + 1) * 3 + o]);
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){c, mp, gap}, (size_t[]){sizeof c, sizeof mp, sizeof gap}, 3) ==
          KILN_OK);
    CHECK_ARRAY_NEAR(c, wc, 18, 1e-6);
    CHECK_ARRAY_NEAR(mp, wmp, 9, 1e-6);
    CHECK_ARRAY_NEAR(gap, wgap, 3, 1e-6);
    free(b.bytes);
}

/* RepeatVector (Tile), Softmax over a middle axis (Transpose), Rescaling and
 * Normalization. */
static void shapes_and_scaling(void) {
    float x[2 * 3], mean[3] = {1, -1, 0.5f}, var[3] = {4, 0.25f, 1};
    for (int i = 0; i < 6; i++) x[i] = (float)i * 0.5f - 1;
    tw w[] = {{"norm/mean", 1, {3}, mean}, {"norm/variance", 1, {3}, var}};
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,2,3]") ","
                            LAYER("Softmax", "sm", ",'axis':1", IN("x")) ","
                            LAYER("Flatten", "flat", "", IN("x")) ","
                            LAYER("RepeatVector", "rep", ",'n':2", IN("flat")) ","
                            LAYER("Rescaling", "scale", ",'scale':0.5,'offset':-1", IN("x")) ","
                            LAYER("Normalization", "norm", ",'axis':-1", IN("x")),
                            "['x',0,0]", "['sm',0,0],['rep',0,0],['scale',0,0],['norm',0,0]"),
                 w, 2, &b))
        return;
    float sm[6], rep[12], sc[6], nm[6], wsm[6], wrep[12], wsc[6], wnm[6];
    for (int c = 0; c < 3; c++) {
        double e0 = exp(x[c]), e1 = exp(x[3 + c]);
        wsm[c] = (float)(e0 / (e0 + e1)), wsm[3 + c] = (float)(e1 / (e0 + e1));
    }
    for (int i = 0; i < 6; i++) {
        wrep[i] = wrep[6 + i] = x[i];
        wsc[i] = x[i] * 0.5f - 1;
        wnm[i] = (float)((x[i] - mean[i % 3]) / sqrt(var[i % 3]));
    }
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){sm, rep, sc, nm},
                 (size_t[]){sizeof sm, sizeof rep, sizeof sc, sizeof nm}, 4) == KILN_OK);
    CHECK_ARRAY_NEAR(sm, wsm, 6, 1e-6);
    CHECK_ARRAY_NEAR(rep, wrep, 12, 0);
    CHECK_ARRAY_NEAR(sc, wsc, 6, 1e-6);
    CHECK_ARRAY_NEAR(nm, wnm, 6, 1e-6);
    free(b.bytes);
}

/* Dense on a 3-D input: BatchMatMulV2 broadcasts the kernel over the steps. */
static void dense_3d(void) {
    float x[2 * 3], k[3 * 2], bias[2] = {0.5f, -0.5f}, d[4], wd[4];
    fill(x, 6, 24), fill(k, 6, 25);
    tw w[] = {{"d/kernel", 2, {3, 2}, k}, {"d/bias", 1, {2}, bias}};
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,2,3]") "," LAYER("Dense", "d", ",'units':2", IN("x")), "['x',0,0]",
                            "['d',0,0]"),
                 w, 2, &b))
        return;
    ref_dense(x, 2, 3, 2, k, bias, wd);
    run1(&b, x, d, 4);
    CHECK_ARRAY_NEAR(d, wd, 4, 1e-6);
    free(b.bytes);
}

/* Embedding: float ids truncated to int32 (Cast), then rows gathered. */
static void embedding(void) {
    float emb[5 * 2], ids[3] = {4, 0, 2.7f}, e[6], we[6];
    fill(emb, 10, 26);
    tw w[] = {{"e/embeddings", 2, {5, 2}, emb}};
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("ids", "[null,3]") "," LAYER("Embedding", "e", ",'input_dim':5,'output_dim':2", IN("ids")),
                            "['ids',0,0]", "['e',0,0]"),
                 w, 1, &b))
        return;
    for (int i = 0; i < 3; i++) we[2 * i] = emb[2 * (int)ids[i]], we[2 * i + 1] = emb[2 * (int)ids[i] + 1];
    run1(&b, ids, e, 6);
    CHECK_ARRAY_NEAR(e, we, 6, 0);
    free(b.bytes);
}

/* UpSampling2D nearest and UpSampling1D repeat elements; bilinear (tfjs:
 * no half-pixel centers) interpolates between source pixels. */
static void upsampling(void) {
    float x[2 * 2] = {1, 2, 3, 4}, s[3] = {1, 2, 3};
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,2,2,1]") ","
                            LAYER("UpSampling2D", "near", ",'size':[2,3],'interpolation':'nearest'", IN("x")) ","
                            LAYER("UpSampling2D", "bil", ",'size':2,'interpolation':'bilinear'", IN("x")),
                            "['x',0,0]", "['near',0,0],['bil',0,0]"),
                 NULL, 0, &b))
        return;
    float near[4 * 6], bil[4 * 4], wnear[24], wbil[16];
    for (int y = 0; y < 4; y++)
        for (int xx = 0; xx < 6; xx++) wnear[y * 6 + xx] = x[(y / 2) * 2 + xx / 3];
    /* Without half-pixel centers the source of output i is i / 2, clamped at the edge. */
    for (int y = 0; y < 4; y++)
        for (int xx = 0; xx < 4; xx++) {
            float sy = y / 2.0f, sx = xx / 2.0f;
            int y0 = (int)sy, x0 = (int)sx, y1 = y0 + 1 < 2 ? y0 + 1 : 1, x1 = x0 + 1 < 2 ? x0 + 1 : 1;
            float fy = sy - y0, fx = sx - x0;
            float top = x[y0 * 2 + x0] + (x[y0 * 2 + x1] - x[y0 * 2 + x0]) * fx;
            float bot = x[y1 * 2 + x0] + (x[y1 * 2 + x1] - x[y1 * 2 + x0]) * fx;
            wbil[y * 4 + xx] = top + (bot - top) * fy;
        }
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){near, bil}, (size_t[]){sizeof near, sizeof bil}, 2) == KILN_OK);
    CHECK_ARRAY_NEAR(near, wnear, 24, 0);
    CHECK_ARRAY_NEAR(bil, wbil, 16, 1e-6);
    free(b.bytes);

    float r[6];
    if (!convert(FUNCTIONAL(INPUT("s", "[null,3,1]") "," LAYER("UpSampling1D", "up", ",'size':2", IN("s")), "['s',0,0]",
                            "['up',0,0]"),
                 NULL, 0, &b))
        return;
    run1(&b, s, r, 6);
    CHECK_ARRAY_NEAR(r, ((float[]){1, 1, 2, 2, 3, 3}), 6, 0);
    free(b.bytes);
}

/* Conv2DTranspose: each input pixel scatters kernel * value into the output;
 * VALID gives in * stride + max(k - stride, 0), SAME in * stride. */
static void conv2d_transpose(void) {
    float x[2 * 2 * 2], k[3 * 3 * 1 * 2], bias[1] = {0.25f};
    fill(x, 8, 27), fill(k, 18, 28);
    tw w[] = {{"v/kernel", 4, {3, 3, 1, 2}, k}, {"v/bias", 1, {1}, bias}, {"s/kernel", 4, {3, 3, 1, 2}, k}};
    gb_bundle b;
    if (!convert(FUNCTIONAL(INPUT("x", "[null,2,2,2]") ","
                            LAYER("Conv2DTranspose", "v", ",'filters':1,'kernel_size':[3,3],'strides':[2,2],'padding':'valid'", IN("x")) ","
                            LAYER("Conv2DTranspose", "s", ",'filters':1,'kernel_size':3,'strides':2,'padding':'same','use_bias':false", IN("x")),
                            "['x',0,0]", "['v',0,0],['s',0,0]"),
                 w, 3, &b))
        return;
    /* VALID: 2*2 + (3-2) = 5 per side. SAME: 4, the full 5x5 result cropped by TF's
     * padding for a 4 -> 2 conv: total (2-1)*2+3-4 = 1, none before. */
    float v[25], s[16], wv[25], ws[16];
    for (int i = 0; i < 25; i++) wv[i] = bias[0];
    for (int iy = 0; iy < 2; iy++)
        for (int ix = 0; ix < 2; ix++)
            for (int c = 0; c < 2; c++)
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        wv[(iy * 2 + ky) * 5 + ix * 2 + kx] += x[(iy * 2 + ix) * 2 + c] * k[(ky * 3 + kx) * 2 + c];
    for (int y = 0; y < 4; y++)
        for (int xx = 0; xx < 4; xx++) ws[y * 4 + xx] = wv[y * 5 + xx] - bias[0];
    CHECK(gb_run(&b, (const void *[]){x}, 1, (void *[]){v, s}, (size_t[]){sizeof v, sizeof s}, 2) == KILN_OK);
    CHECK_ARRAY_NEAR(v, wv, 25, 1e-5);
    CHECK_ARRAY_NEAR(s, ws, 16, 1e-5);
    free(b.bytes);
}

/* Every unknown class at once, with its layers (nested ones by path). */
static void unknown_classes_listed(void) {
    expect_error(FUNCTIONAL(INPUT("x", "[null,3]") ","
                            LAYER("Lambda", "l1", "", IN("x")) ","
                            LAYER("Foo", "f", "", IN("l1")) ","
                            LAYER("Lambda", "l2", "", IN("f")) ","
                            "{'class_name':'Sequential','name':'inner','config':{'name':'inner','layers':["
                            "{'class_name':'Foo','config':{'name':'deep'}}]},'inbound_nodes':[[" IN("l2") "]]}",
                            "['x',0,0]", "['inner',0,0]"),
                 NULL, 0,
                 (const char *[]){"2 unsupported Keras layer classes", "Lambda: 'l1', 'l2' (Python code",
                                  "Foo: 'f', 'inner/deep'", NULL});
}

static void errors(void) {
    float k[3 * 3 * 2 * 2] = {0}, b3[3] = {0};
    tw w[] = {{"c/kernel", 4, {3, 3, 2, 2}, k}, {"d/kernel", 2, {2, 3}, k}, {"bn/moving_mean", 1, {3}, b3}};
    expect_error(FUNCTIONAL(INPUT("x", "[null,4,4,2]") ","
                            LAYER("Conv2D", "c", ",'filters':2,'kernel_size':3,'data_format':'channels_first'", IN("x")),
                            "['x',0,0]", "['c',0,0]"),
                 w, 3, (const char *[]){"layer 'c' (Conv2D)", "channels_first", NULL});
    expect_error(FUNCTIONAL(INPUT("x", "[null,4,4,2]") "," LAYER("Conv2D", "c", ",'filters':2,'kernel_size':3", IN("x")),
                            "['x',0,0]", "['c',0,0]"),
                 w, 3, (const char *[]){"layer 'c' (Conv2D)", "no 'bias'", NULL});
    expect_error(FUNCTIONAL(INPUT("x", "[null,2]") "," LAYER("Dense", "d", ",'units':4,'use_bias':false", IN("x")),
                            "['x',0,0]", "['d',0,0]"),
                 w, 3, (const char *[]){"layer 'd' (Dense)", "weight 'kernel' has shape [2,3], expected [*,4]", NULL});
    expect_error(FUNCTIONAL(INPUT("x", "[null,4,4,3]") "," LAYER("BatchNormalization", "bn", ",'axis':1", IN("x")),
                            "['x',0,0]", "['bn',0,0]"),
                 w, 3, (const char *[]){"layer 'bn' (BatchNormalization)", "only the last axis", NULL});
    expect_error(FUNCTIONAL(INPUT("x", "[null,4]") "," LAYER("Activation", "a", ",'activation':'mish2'", IN("x")),
                            "['x',0,0]", "['a',0,0]"),
                 w, 3, (const char *[]){"activation 'mish2' is not supported", NULL});
    expect_error(FUNCTIONAL(INPUT("x", "[null,4]") "," LAYER("Add", "a", "", IN("x") ",['b',0,0,{}]") ","
                            LAYER("Add", "b", "", IN("a")),
                            "['x',0,0]", "['b',0,0]"),
                 w, 3, (const char *[]){"never gets its inputs", NULL});
    expect_error(FUNCTIONAL(INPUT("x", "[null,4]") "," LAYER("Add", "a", "", IN("x") ",['nope',0,0,{}]"), "['x',0,0]",
                            "['a',0,0]"),
                 w, 3, (const char *[]){"names layer 'nope'", NULL});
    expect_error("{'class_name':'Dense','config':{}}", NULL, 0, (const char *[]){"expected a Sequential, Model or Functional", NULL});
}

/* ---- recurrent layers ---- */

static double hard_sigmoid3(double v) { return fmin(fmax(v + 3, 0), 6) / 6; } /* Keras 3's */
static double sigmoid(double v) { return 1 / (1 + exp(-v)); }

/* Keras' LSTM (gates i, f, c, o; Keras 3 hard_sigmoid gates) over x [steps, in] from h, c. */
static void ref_lstm(const float *x, int steps, int in, int units, const float *k, const float *u, const float *bias,
                     double *h, double *c) {
    int g = 4 * units;
    for (int t = 0; t < steps; t++) {
        double z[64], hn[16];
        for (int j = 0; j < g; j++) {
            z[j] = bias[j];
            for (int i = 0; i < in; i++) z[j] += x[t * in + i] * k[i * g + j];
            for (int i = 0; i < units; i++) z[j] += h[i] * u[i * g + j];
        }
        for (int j = 0; j < units; j++) {
            c[j] = hard_sigmoid3(z[units + j]) * c[j] + hard_sigmoid3(z[j]) * tanh(z[2 * units + j]);
            hn[j] = hard_sigmoid3(z[3 * units + j]) * tanh(c[j]);
        }
        memcpy(h, hn, sizeof(double) * (size_t)units);
    }
}

/* Keras' GRU with reset_after (gates z, r, h; bias rows: input, recurrent), sigmoid gates, backwards. */
static void ref_gru_backwards(const float *x, int steps, int in, int units, const float *k, const float *u,
                              const float *bias, double *h) {
    int g = 3 * units;
    for (int t = steps - 1; t >= 0; t--) {
        double xp[48], hp[48];
        for (int j = 0; j < g; j++) {
            xp[j] = bias[j], hp[j] = bias[g + j];
            for (int i = 0; i < in; i++) xp[j] += x[t * in + i] * k[i * g + j];
            for (int i = 0; i < units; i++) hp[j] += h[i] * u[i * g + j];
        }
        for (int j = 0; j < units; j++) {
            double z = sigmoid(xp[j] + hp[j]), r = sigmoid(xp[units + j] + hp[units + j]);
            h[j] = z * h[j] + (1 - z) * tanh(xp[2 * units + j] + r * hp[2 * units + j]);
        }
    }
}

#define K3X(name, shape) \
    "{'class_name':'__keras_tensor__','config':{'shape':" shape ",'dtype':'float32','keras_history':['" name "',0,0]}}"
#define K3INPUT(name, shape) \
    "{'class_name':'InputLayer','config':{'batch_shape':" shape ",'dtype':'float32','name':'" name "'},'name':'" name \
    "','inbound_nodes':[]}"

/* Keras 3: an LSTM starting from states given as the initial_state keyword
 * (Keras 3 hard_sigmoid gates), a GRU with Keras' default reset_after=true
 * going backwards; weights numbered by index. */
static void recurrent_keras3(void) {
    enum { T = 4, IN = 3, U = 2 };
    float lk[IN * 4 * U], lu[U * 4 * U], lb[4 * U], gk[IN * 3 * U], gu[U * 3 * U], gb[2 * 3 * U];
    float x[T * IN], h0[U] = {0.5f, -0.25f}, c0[U] = {-1, 0.75f}, got_l[U], got_g[U];
    fill(lk, IN * 4 * U, 31), fill(lu, U * 4 * U, 32), fill(lb, 4 * U, 33);
    fill(gk, IN * 3 * U, 34), fill(gu, U * 3 * U, 35), fill(gb, 2 * 3 * U, 36), fill(x, T * IN, 37);
    for (int i = 0; i < T * IN; i++) x[i] *= 2.5f; /* gate inputs beyond hard_sigmoid's kinks */
    tw w[] = {{"l/0", 2, {IN, 4 * U}, lk}, {"l/1", 2, {U, 4 * U}, lu}, {"l/2", 1, {4 * U}, lb},
              {"g/0", 2, {IN, 3 * U}, gk}, {"g/1", 2, {U, 3 * U}, gu}, {"g/2", 2, {2, 3 * U}, gb}};
    gb_bundle b;
    bool ok = build("{'class_name':'Functional','config':{'name':'f','layers':[" K3INPUT("x", "[1,4,3]") ","
                    K3INPUT("h0", "[1,2]") "," K3INPUT("c0", "[1,2]") ","
                    "{'class_name':'LSTM','config':{'name':'l','units':2,'recurrent_activation':'hard_sigmoid'},'name':'l',"
                    "'inbound_nodes':[{'args':[" K3X("x", "[1,4,3]") "],'kwargs':{'initial_state':["
                    K3X("h0", "[1,2]") "," K3X("c0", "[1,2]") "],'training':false}}]},"
                    "{'class_name':'GRU','config':{'name':'g','units':2,'go_backwards':true,'unroll':true},'name':'g',"
                    "'inbound_nodes':[{'args':[" K3X("x", "[1,4,3]") "],'kwargs':{}}]}"
                    "],'input_layers':[['x',0,0],['h0',0,0],['c0',0,0]],'output_layers':[['l',0,0],['g',0,0]]}}",
                    KERAS_3, w, 6, true, &b);
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "  %s\n", kc_last_error());
        return;
    }
    double h[U] = {h0[0], h0[1]}, c[U] = {c0[0], c0[1]}, hg[U] = {0, 0};
    ref_lstm(x, T, IN, U, lk, lu, lb, h, c);
    ref_gru_backwards(x, T, IN, U, gk, gu, gb, hg);
    CHECK(gb_run(&b, (const void *[]){x, h0, c0}, 3, (void *[]){got_l, got_g}, (size_t[]){sizeof got_l, sizeof got_g},
                 2) == KILN_OK);
    check_rel(got_l, h, U, 1e-5);
    check_rel(got_g, hg, U, 1e-5);
    free(b.bytes);
}

static void recurrent_errors(void) {
    float k[3 * 8] = {0}, u[2 * 8] = {0}, bias[8] = {0};
    tw w[] = {{"l/kernel", 2, {3, 8}, k}, {"l/recurrent_kernel", 2, {2, 8}, u}, {"l/bias", 1, {8}, bias},
              {"bi/forward_l/kernel", 2, {3, 8}, k}};
#define RNN_MODEL(cls, name, config) \
    FUNCTIONAL(INPUT("x", "[null,4,3]") "," LAYER(cls, name, config, IN("x")), "['x',0,0]", "['" name "',0,0]")
    expect_error(RNN_MODEL("LSTM", "l", ",'units':2,'stateful':true"), w, 3,
                 (const char *[]){"layer 'l' (LSTM)", "stateful=true is not supported", NULL});
    expect_error(RNN_MODEL("LSTM", "l", ",'units':0"), w, 3,
                 (const char *[]){"layer 'l' (LSTM)", "'units' must be an integer from 1", NULL});
    expect_error(RNN_MODEL("LSTM", "l", ",'units':2,'time_major':true"), w, 3,
                 (const char *[]){"layer 'l' (LSTM)", "time_major", NULL});
    expect_error(RNN_MODEL("LSTM", "l", ",'units':2,'recurrent_activation':'mish'"), w, 3,
                 (const char *[]){"layer 'l' (LSTM)", "recurrent_activation 'mish' is not supported", NULL});
    expect_error(RNN_MODEL("LSTM", "l", ",'units':2"), w, 1,
                 (const char *[]){"layer 'l' (LSTM)", "no 'recurrent_kernel'", NULL});
    expect_error(RNN_MODEL("GRU", "l", ",'units':2"), w, 3,
                 (const char *[]){"layer 'l' (GRU)", "weight 'kernel' has shape [3,8], expected [*,6]", NULL});
    expect_error(RNN_MODEL("Bidirectional", "bi", ",'layer':{'class_name':'LSTM','config':{'name':'l','units':2}}"), w, 4,
                 (const char *[]){"layer 'bi' (Bidirectional)", "no 'forward_l/recurrent_kernel'", NULL});
    expect_error(RNN_MODEL("Bidirectional", "bi",
                           ",'merge_mode':'max','layer':{'class_name':'LSTM','config':{'name':'l','units':2}}"),
                 w, 4, (const char *[]){"layer 'bi' (Bidirectional)", "merge_mode 'max'", NULL});
    expect_error(RNN_MODEL("Bidirectional", "bi", ",'layer':{'class_name':'Dense','config':{'name':'d','units':2}}"), w,
                 4, (const char *[]){"layer 'bi' (Bidirectional)", "wraps a Dense", NULL});
    expect_error(FUNCTIONAL(INPUT("x", "[null,4,3]") "," LAYER("Masking", "m", "", IN("x")) ","
                            LAYER("LSTM", "l", ",'units':2", "['m',0,0,{}]"),
                            "['x',0,0]", "['l',0,0]"),
                 w, 3, (const char *[]){"layer 'l' (LSTM)", "mask", NULL});
    expect_error(FUNCTIONAL(INPUT("x", "[null,4,3]") "," LAYER("LSTM", "l", ",'units':2", IN("x") "," IN("x")),
                            "['x',0,0]", "['l',0,0]"),
                 w, 3, (const char *[]){"layer 'l' (LSTM)", "optionally 2 initial states, got 2 inputs", NULL});
#undef RNN_MODEL
}

/* ---- through read_tfjs: a layers model.json with its weight shard ---- */

static char tdir[64];

static const char *tpath(const char *name) {
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", tdir, name);
    return p;
}

static void write_text(const char *name, const char *single_quoted) {
    char *text = json_of(single_quoted);
    FILE *f = fopen(tpath(name), "wb");
    CHECK(f && fputs(text, f) >= 0);
    if (f) fclose(f);
    free(text);
}

/* float32 values, little-endian as tfjs writes them. */
static void write_floats(const char *name, const float *v, int n) {
    FILE *f = fopen(tpath(name), "wb");
    CHECK(f != NULL);
    for (int i = 0; f && i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        unsigned char le[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
        CHECK(fwrite(le, 1, 4, f) == 4);
    }
    if (f) fclose(f);
}

#define TFJS_SEQ \
    "{'class_name':'Sequential','config':{'name':'s','layers':[{'class_name':'InputLayer','config':{" \
    "'batch_input_shape':[null,2],'dtype':'float32','name':'in'}},{'class_name':'Dense','config':{'name':'d'," \
    "'units':2,'activation':'linear','use_bias':true}}]}}"

/* y = x @ kernel + bias from the model in tdir. */
static void check_tfjs_dense(const float *w) {
    tf_graph *g = read_tfjs(tpath("model.json"));
    gb_bundle b = {0};
    CHECK(g && gb_convert(g, NULL, &b));
    tf_graph_free(g);
    if (!b.bytes) {
        fprintf(stderr, "  %s\n", kc_last_error());
        return;
    }
    check_names(&b, (const char *[]){"in"}, 1, (const char *[]){"d"}, 1);
    float x[2] = {2, -1}, y[2], want[2];
    ref_dense(x, 1, 2, 2, w, w + 4, want);
    run1(&b, x, y, 2);
    CHECK_ARRAY_NEAR(y, want, 2, 1e-6);
    free(b.bytes);
}

static void tfjs_layers_model(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(tdir, sizeof tdir, "%s/kiln_keras_XXXXXX", tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(tdir)) {
        perror("mkdtemp");
        check_failures++;
        return;
    }
    float w[7] = {1, 2, 3, 4, 0.5f, -0.5f, 9};
    write_floats("w.bin", w, 7);
    /* tensorflowjs_converter's form: model_config inside modelTopology, weights "<layer>/<weight>"; extra weights are ignored. */
    write_text("model.json", "{'format':'layers-model','modelTopology':{'keras_version':'2.2.4','backend':'tensorflow',"
                             "'model_config':" TFJS_SEQ "},'weightsManifest':[{'paths':['w.bin'],'weights':["
                             "{'name':'d/kernel','shape':[2,2],'dtype':'float32'},{'name':'d/bias','shape':[2],'dtype':'float32'},"
                             "{'name':'other/x','shape':[1],'dtype':'float32'}]}]}");
    check_tfjs_dense(w);
    /* No format, modelTopology is the config itself, weights numbered (Keras 3 through tfjs). */
    write_text("model.json", "{'modelTopology':" TFJS_SEQ ",'weightsManifest':[{'paths':['w.bin'],'weights':["
                             "{'name':'d/0','shape':[2,2],'dtype':'float32'},{'name':'d/1','shape':[2],'dtype':'float32'}]}]}");
    check_tfjs_dense(w);
    write_text("model.json", "{'modelTopology':" TFJS_SEQ ",'weightsManifest':[{'paths':['w.bin'],'weights':["
                             "{'name':'d/kernel','shape':[2,2],'dtype':'float32'}]}]}");
    tf_graph *g = read_tfjs(tpath("model.json"));
    CHECK(!g && strstr(kc_last_error(), "model.json: layer 'd' (Dense): the weights have no 'bias'"));
    tf_graph_free(g);
    write_text("model.json", "{'modelTopology':" TFJS_SEQ ",'weightsManifest':[{'paths':['w.bin'],'weights':["
                             "{'name':'d/kernel','shape':[1],'dtype':'float32'},{'name':'d/kernel','shape':[1],'dtype':'float32'}]}]}");
    g = read_tfjs(tpath("model.json"));
    CHECK(!g && strstr(kc_last_error(), "two weights are named \"d/kernel\""));
    tf_graph_free(g);
    remove(tpath("model.json"));
    remove(tpath("w.bin"));
    rmdir(tdir);
}

int main(void) {
    RUN(sequential_dense_relu_softmax);
    RUN(functional_merges);
    RUN(functional_keras3);
    RUN(conv2d_same_valid);
    RUN(depthwise_and_separable);
    RUN(batch_normalization);
    RUN(pooling);
    RUN(padding_and_cropping);
    RUN(flatten_reshape_permute);
    RUN(nested_models);
    RUN(activations);
    RUN(conv1d_and_pool1d);
    RUN(shapes_and_scaling);
    RUN(dense_3d);
    RUN(embedding);
    RUN(upsampling);
    RUN(conv2d_transpose);
    RUN(unknown_classes_listed);
    RUN(errors);
    RUN(recurrent_keras3);
    RUN(recurrent_errors);
    RUN(tfjs_layers_model);
    return check_summary();
}
