/* RESIZE: x[N,H,W,C] -> y[N,out_h,out_w,C], TF's ResizeBilinear (float32) and
 * ResizeNearestNeighbor (float32, int32, uint8), with align_corners and
 * half_pixel_centers. Source coordinates are computed in double exactly as
 * tfjs' cpu kernels compute them (so nearest picks the same pixels and
 * bilinear the same weights); the interpolation itself runs in float32.
 *
 * Bilinear interpolates each source row it needs horizontally into one of
 * two row buffers (scratch), which consecutive output rows reuse when they
 * read the same source rows (upscaling), then blends the two rows. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static kiln_status resize_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 1);
    if (st) return st;
    const kn_resize_params *p = s->params;
    const kn_tensor *x = s->in[0];
    if (p->mode != KN_RESIZE_BILINEAR && p->mode != KN_RESIZE_NEAREST)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "resize mode %d, expected 0 (bilinear) or 1 (nearest)", p->mode);
    if ((p->align_corners != 0 && p->align_corners != 1) || (p->half_pixel_centers != 0 && p->half_pixel_centers != 1))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "align_corners %d and half_pixel_centers %d, expected each 0 or 1",
                       p->align_corners, p->half_pixel_centers);
    if (p->align_corners && p->half_pixel_centers)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "align_corners and half_pixel_centers are both set, as TF forbids");
    bool dtype_ok = p->mode == KN_RESIZE_BILINEAR
                        ? x->dtype == KILN_FLOAT32
                        : x->dtype == KILN_FLOAT32 || x->dtype == KILN_INT32 || x->dtype == KILN_UINT8;
    if (!dtype_ok)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "input is %S, expected %s", x,
                       p->mode == KN_RESIZE_BILINEAR ? "float32" : "float32, int32 or uint8");
    if (x->rank != 4 || x->dims[1] < 1 || x->dims[2] < 1)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "input is %S, expected [N,H,W,C] with H, W >= 1", x);
    if (p->out_h < 1 || p->out_w < 1)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "output size %dx%d, expected each >= 1", p->out_h, p->out_w);
    int32_t dims[4] = {x->dims[0], p->out_h, p->out_w, x->dims[3]};
    return kn_set_checked_shape(out, x->dtype, 4, dims);
}

/* Output index i along an axis resized from `in` to `out` reads source
 * position ratio * i, or with half-pixel centers ratio * (i + 0.5), less 0.5
 * for bilinear. With align_corners the ratio is that of the sizes less one,
 * so the corner pixels line up. */
static double source_ratio(const kn_resize_params *p, int32_t in, int32_t out) {
    bool align = p->align_corners && out > 1;
    return (double)(align ? in - 1 : in) / (double)(align ? out - 1 : out);
}

static int32_t nearest_index(const kn_resize_params *p, double ratio, int32_t i, int32_t in) {
    double src = p->half_pixel_centers ? ratio * (i + 0.5) : ratio * i;
    double v = p->align_corners ? round(src) : floor(src); /* src >= 0: round is Math.round */
    if (v > in - 1) v = in - 1;
    if (v < 0) v = 0; /* tfjs' max(0, ...) for half-pixel centers; src >= 0 anyway */
    return (int32_t)v;
}

/* The two source indices and the weight of the second, as tfjs: lo is
 * floor(src) clamped at 0, hi is ceil(src) clamped at in - 1, frac is
 * src - lo (it may be negative near the top edge, where lo == hi). */
typedef struct {
    int32_t lo, hi;
    float frac;
} lerp_tap;

static lerp_tap bilinear_tap(const kn_resize_params *p, double ratio, int32_t i, int32_t in) {
    double src = p->half_pixel_centers ? ratio * (i + 0.5) - 0.5 : ratio * i;
    double lo = floor(src), hi = ceil(src);
    /* tfjs clamps lo at 0 and hi at in - 1; the other two clamps only
     * guarantee in-range indices whatever the rounding. */
    if (lo < 0) lo = 0;
    if (lo > in - 1) lo = in - 1;
    if (hi > in - 1) hi = in - 1;
    if (hi < 0) hi = 0;
    lerp_tap t = {(int32_t)lo, (int32_t)hi, (float)(src - lo)};
    return t;
}

/* Scratch, in 64 bits (prepare checks the total fits a size_t): the column
 * table (a lerp_tap, or for nearest an int32 source index, per output
 * column), then for bilinear two row buffers of out_w * C floats. */
static uint64_t table_bytes(const kn_step *s) {
    const kn_resize_params *p = s->params;
    uint64_t entry = p->mode == KN_RESIZE_BILINEAR ? sizeof(lerp_tap) : sizeof(int32_t);
    return ((uint64_t)s->out[0]->dims[2] * entry + 63) & ~(uint64_t)63;
}

static uint64_t row_buffer_bytes(const kn_tensor *y) {
    return ((uint64_t)y->dims[2] * (uint64_t)y->dims[3] * sizeof(float) + 63) & ~(uint64_t)63;
}

static kiln_status resize_prepare(kn_step *s, size_t *scratch) {
    const kn_resize_params *p = s->params;
    uint64_t bytes = table_bytes(s) + (p->mode == KN_RESIZE_BILINEAR ? 2 * row_buffer_bytes(s->out[0]) : 0);
    if (bytes > SIZE_MAX)
        return kn_fail(KILN_ERR_OUT_OF_MEMORY, "resize needs %llu bytes of scratch", (unsigned long long)bytes);
    *scratch = (size_t)bytes;
    return KILN_OK;
}

/* Interpolates source row `src` (W pixels of C) along the columns into dst. */
static void lerp_row(const float *src, const lerp_tap *cols, int32_t out_w, size_t C, float *restrict dst) {
    for (int32_t j = 0; j < out_w; j++) {
        const float *l = src + (size_t)cols[j].lo * C, *r = src + (size_t)cols[j].hi * C;
        const float f = cols[j].frac;
        float *d = dst + (size_t)j * C;
        for (size_t c = 0; c < C; c++) d[c] = l[c] + (r[c] - l[c]) * f;
    }
}

static void resize_bilinear(const kn_step *s, void *scratch) {
    const kn_resize_params *p = s->params;
    const kn_tensor *xt = s->in[0], *yt = s->out[0];
    const int32_t N = xt->dims[0], H = xt->dims[1], W = xt->dims[2], OH = yt->dims[1], OW = yt->dims[2];
    const size_t C = (size_t)xt->dims[3], row = (size_t)OW * C;
    lerp_tap *cols = scratch;
    float *buf[2];
    buf[0] = (float *)(void *)((char *)scratch + (size_t)table_bytes(s));
    buf[1] = (float *)(void *)((char *)buf[0] + (size_t)row_buffer_bytes(yt));
    const double rh = source_ratio(p, H, OH), rw = source_ratio(p, W, OW);
    for (int32_t j = 0; j < OW; j++) cols[j] = bilinear_tap(p, rw, j, W);

    for (int32_t n = 0; n < N; n++) {
        const float *xn = (const float *)xt->data + (size_t)n * H * W * C;
        float *y = (float *)yt->data + (size_t)n * OH * row;
        int32_t held[2] = {-1, -1}; /* the source row each buffer holds */
        for (int32_t i = 0; i < OH; i++, y += row) {
            lerp_tap t = bilinear_tap(p, rh, i, H);
            /* Top row first, into the buffer not holding the bottom one. */
            int k0 = held[0] == t.lo ? 0 : held[1] == t.lo ? 1 : -1;
            if (k0 < 0) {
                k0 = held[0] == t.hi ? 1 : 0;
                lerp_row(xn + (size_t)t.lo * W * C, cols, OW, C, buf[k0]);
                held[k0] = t.lo;
            }
            int k1 = held[k0] == t.hi ? k0 : held[1 - k0] == t.hi ? 1 - k0 : -1;
            if (k1 < 0) {
                k1 = 1 - k0;
                lerp_row(xn + (size_t)t.hi * W * C, cols, OW, C, buf[k1]);
                held[k1] = t.hi;
            }
            const float *top = buf[k0], *bot = buf[k1];
            const float f = t.frac;
            KN_ELEMENTWISE(float, y, row, (void)0, top[at] + (bot[at] - top[at]) * f);
        }
    }
}

/* Nearest copies bytes, so one loop serves every dtype; an output row that
 * reads the same source row as the one before is a copy of it. */
static void resize_nearest(const kn_step *s, void *scratch) {
    const kn_resize_params *p = s->params;
    const kn_tensor *xt = s->in[0], *yt = s->out[0];
    const int32_t N = xt->dims[0], H = xt->dims[1], W = xt->dims[2], OH = yt->dims[1], OW = yt->dims[2];
    const size_t pixel = (size_t)xt->dims[3] * kiln_dtype_size(xt->dtype), row = (size_t)OW * pixel;
    const double rh = source_ratio(p, H, OH), rw = source_ratio(p, W, OW);
    const char *x = xt->data;
    char *y = yt->data;
    int32_t *cols = scratch;
    for (int32_t j = 0; j < OW; j++) cols[j] = nearest_index(p, rw, j, W);
    for (int32_t n = 0; n < N; n++) {
        const char *xn = x + (size_t)n * H * W * pixel;
        int32_t prev = -1;
        for (int32_t i = 0; i < OH; i++, y += row) {
            int32_t r = nearest_index(p, rh, i, H);
            if (r == prev) {
                memcpy(y, y - row, row);
                continue;
            }
            prev = r;
            const char *src = xn + (size_t)r * W * pixel;
            for (int32_t j = 0; j < OW; j++)
                memcpy(y + (size_t)j * pixel, src + (size_t)cols[j] * pixel, pixel);
        }
    }
}

static kiln_status resize_eval(const kn_step *s, void *scratch) {
    const kn_resize_params *p = s->params;
    if (kn_tensor_count(s->out[0]) == 0) return KILN_OK;
    if (p->mode == KN_RESIZE_BILINEAR) resize_bilinear(s, scratch);
    else resize_nearest(s, scratch);
    return KILN_OK;
}

const kn_op_def kn_op_resize = {
    .name = "Resize",
    .n_params = sizeof(kn_resize_params) / 4,
    .infer = resize_infer,
    .prepare = resize_prepare,
    .eval = resize_eval,
};
