/* The fast kernels against the simple reference loops, on odd shapes: tails
 * of every tile and vector width, edge padding, strides, dilations, channels
 * not a multiple of anything, every fused activation. An op runs its fast
 * path when prepare gave it a state, and the reference loop otherwise. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kn.h"
#include "ops/ops.h"
#include "ops/params.h"

static float *random_floats(size_t n, unsigned *seed) {
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return p;
}

/* Runs `def` twice on the same operands: prepared (fast) and unprepared (reference). */
static void compare_paths(const kn_op_def *def, kn_tensor **in, int n_in, const void *params, const char *what) {
    kn_tensor out_shape = {0};
    kn_step s = {.op = 0, .n_in = (uint8_t)n_in, .n_out = 1, .n_params = def->n_params, .params = params,
                 .name = what, .in = in};
    kn_tensor *outs[1] = {&out_shape};
    s.out = outs;
    if (def->infer(&s, &out_shape) != KILN_OK) {
        fprintf(stderr, "%s: infer: %s\n", what, kiln_last_error());
        CHECK(0);
        return;
    }
    size_t count = kn_tensor_count(&out_shape);
    kn_tensor fast = out_shape, ref = out_shape;
    fast.data = malloc(sizeof(float) * count + 4);
    ref.data = malloc(sizeof(float) * count + 4);
    size_t scratch_size = 0;
    CHECK(def->prepare(&s, &scratch_size) == KILN_OK);
    void *scratch = malloc(scratch_size + 64);
    outs[0] = &fast;
    CHECK(def->eval(&s, scratch) == KILN_OK);
    void *state = s.state;
    s.state = NULL;
    outs[0] = &ref;
    CHECK(def->eval(&s, NULL) == KILN_OK);
    if (state && def->release) def->release(state);
    float worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        float d = fabsf(((float *)fast.data)[i] - ((float *)ref.data)[i]);
        if (d > worst) worst = d, at = i;
    }
    if (!(worst <= 1e-4f)) {
        fprintf(stderr, "%s: fast and reference differ by %g at %zu\n", what, worst, at);
        CHECK(0);
    }
    CHECK(state != NULL); /* the fast path really ran */
    free(scratch);
    free(fast.data);
    free(ref.data);
}

typedef struct {
    int n, h, w, c, kh, kw, oc, sh, sw, dh, dw, pt, pl, pb, pr, act;
} conv_case;

static void conv_matches_reference(void) {
    static const conv_case cases[] = {
        {1, 5, 5, 3, 3, 3, 7, 1, 1, 1, 1, 1, 1, 1, 1, KN_ACT_NONE},    /* SAME 3x3, odd channels */
        {2, 9, 7, 5, 3, 3, 33, 2, 2, 1, 1, 0, 0, 1, 1, KN_ACT_RELU6},  /* stride 2, asymmetric pad, batch 2 */
        {1, 8, 8, 17, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, KN_ACT_RELU},   /* pointwise, one output channel */
        {1, 7, 11, 16, 1, 1, 40, 1, 1, 1, 1, 0, 0, 0, 0, KN_ACT_NONE}, /* pointwise, rows and panels with tails */
        {1, 10, 10, 4, 3, 3, 9, 1, 1, 2, 2, 2, 2, 2, 2, KN_ACT_ELU},   /* dilation 2 */
        {1, 6, 6, 2, 5, 5, 3, 3, 1, 1, 1, 2, 2, 2, 2, KN_ACT_SIGMOID}, /* 5x5, unequal strides */
        {1, 4, 4, 8, 1, 1, 16, 2, 2, 1, 1, 0, 0, 0, 0, KN_ACT_PRELU},  /* strided 1x1 takes the indirect path */
        {1, 3, 3, 1, 3, 3, 64, 1, 1, 1, 1, 1, 1, 1, 1, KN_ACT_TANH},   /* every tap touches padding */
    };
    unsigned seed = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const conv_case *k = &cases[i];
        float *x = random_floats((size_t)k->n * k->h * k->w * k->c, &seed);
        float *w = random_floats((size_t)k->kh * k->kw * k->c * k->oc, &seed);
        float *b = random_floats((size_t)k->oc, &seed), *alpha = random_floats((size_t)k->oc, &seed);
        kn_tensor xt = tensor(KILN_FLOAT32, x, 4, k->n, k->h, k->w, k->c);
        kn_tensor wt = tensor(KILN_FLOAT32, w, 4, k->kh, k->kw, k->c, k->oc);
        kn_tensor bt = tensor(KILN_FLOAT32, b, 1, k->oc), at = tensor(KILN_FLOAT32, alpha, 1, k->oc);
        kn_tensor *in[4] = {&xt, &wt, &bt, k->act == KN_ACT_PRELU ? &at : NULL};
        kn_conv_params p = {k->sh, k->sw, k->dh, k->dw, k->pt, k->pl, k->pb, k->pr, k->act, 0.1f};
        char what[64];
        snprintf(what, sizeof what, "conv case %zu", i);
        compare_paths(&kn_op_conv2d, in, k->act == KN_ACT_PRELU ? 4 : 3, &p, what);
        in[2] = NULL; /* and without bias */
        compare_paths(&kn_op_conv2d, in, k->act == KN_ACT_PRELU ? 4 : 3, &p, what);
        free(x), free(w), free(b), free(alpha);
    }
}

static void depthwise_matches_reference(void) {
    static const conv_case cases[] = {
        {1, 7, 7, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, KN_ACT_RELU6},
        {1, 9, 8, 37, 3, 3, 37, 2, 2, 1, 1, 0, 0, 1, 1, KN_ACT_NONE}, /* 37: vector blocks, vectors and scalars */
        {2, 6, 6, 67, 5, 5, 67, 1, 1, 1, 1, 2, 2, 2, 2, KN_ACT_RELU},
        {1, 8, 8, 16, 3, 3, 16, 1, 1, 2, 2, 2, 2, 2, 2, KN_ACT_LEAKY_RELU},
        {1, 5, 5, 33, 3, 3, 33, 1, 2, 1, 1, 1, 0, 1, 2, KN_ACT_PRELU},
        {1, 9, 21, 24, 5, 5, 24, 1, 1, 1, 1, 2, 2, 2, 2, KN_ACT_RELU}, /* BlazeFace-like: runs of 4 pixels */
        {1, 6, 23, 8, 3, 3, 8, 1, 3, 1, 2, 1, 2, 1, 2, KN_ACT_NONE},  /* stride 3, dilation 2 along a row */
    };
    unsigned seed = 2;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const conv_case *k = &cases[i];
        float *x = random_floats((size_t)k->n * k->h * k->w * k->c, &seed);
        float *w = random_floats((size_t)k->kh * k->kw * k->c, &seed);
        float *b = random_floats((size_t)k->c, &seed), *alpha = random_floats((size_t)k->c, &seed);
        kn_tensor xt = tensor(KILN_FLOAT32, x, 4, k->n, k->h, k->w, k->c);
        kn_tensor wt = tensor(KILN_FLOAT32, w, 4, k->kh, k->kw, k->c, 1);
        kn_tensor bt = tensor(KILN_FLOAT32, b, 1, k->c), at = tensor(KILN_FLOAT32, alpha, 1, k->c);
        kn_tensor *in[4] = {&xt, &wt, &bt, k->act == KN_ACT_PRELU ? &at : NULL};
        kn_conv_params p = {k->sh, k->sw, k->dh, k->dw, k->pt, k->pl, k->pb, k->pr, k->act, 0.1f};
        char what[64];
        snprintf(what, sizeof what, "depthwise case %zu", i);
        compare_paths(&kn_op_depthwise_conv2d, in, k->act == KN_ACT_PRELU ? 4 : 3, &p, what);
        in[2] = NULL;
        compare_paths(&kn_op_depthwise_conv2d, in, k->act == KN_ACT_PRELU ? 4 : 3, &p, what);
        free(x), free(w), free(b), free(alpha);
    }
}

int main(void) {
    RUN(conv_matches_reference);
    RUN(depthwise_matches_reference);
    return check_summary();
}
