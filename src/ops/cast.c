/* CAST: converts between float32, int32, uint8 and bool, as TF's
 * static_cast does wherever C defines it. float -> int32 truncates toward
 * zero; where C leaves it undefined (NaN, out of range) Kiln saturates to
 * the int32 range and maps NaN to 0. -> uint8 wraps modulo 256 (float goes
 * through int32 first); -> bool is x != 0 (NaN is true, as in TF). */
#include <string.h>

#include "ops/ops.h"
#include "kn.h"
#include "ops/op_util.h"
#include "ops/params.h"

static bool known_dtype(int32_t dtype) { return dtype >= KILN_FLOAT32 && dtype <= KILN_BOOL; }

static kiln_status cast_infer(const kn_step *s, kn_tensor *out) {
    kiln_status st = kn_check_operands(s, 1, 1);
    if (st) return st;
    const kn_cast_params *p = s->params;
    const kn_tensor *x = s->in[0];
    if (!known_dtype(p->dtype))
        return kn_fail(KILN_ERR_BAD_BUNDLE, "cast to dtype %d, expected float32, int32, uint8 or bool (1..4)",
                       p->dtype);
    if (!known_dtype((int32_t)x->dtype)) return kn_fail(KILN_ERR_BAD_BUNDLE, "cannot cast %S", x);
    kn_set_shape(out, (kiln_dtype)p->dtype, x->rank, x->dims);
    return KILN_OK;
}

static inline int32_t float_to_int32(float v) {
    if (v != v) return 0;
    if (v >= 2147483648.0f) return INT32_MAX;
    if (v <= -2147483648.0f) return INT32_MIN;
    return (int32_t)v;
}

/* y[i] = EXPR of v = x[i], x of type TX and y of type TY. */
#define CAST(TX, TY, EXPR)                                 \
    do {                                                   \
        const TX *x = xt->data;                            \
        TY *y = yt->data;                                  \
        KN_ELEMENTWISE(TY, y, n, const TX v = x[at], EXPR); \
    } while (0)

static kiln_status cast_eval(const kn_step *s, void *scratch) {
    KN_UNUSED(scratch);
    const kn_tensor *xt = s->in[0], *yt = s->out[0];
    size_t n = kn_tensor_count(xt);
    if (xt->dtype == yt->dtype) {
        memmove(yt->data, xt->data, kn_tensor_bytes(xt));
        return KILN_OK;
    }
    /* bool inputs are read as x != 0, so a stray byte value still means true. */
    switch (xt->dtype * 8 + yt->dtype) {
    case KILN_FLOAT32 * 8 + KILN_INT32: CAST(float, int32_t, float_to_int32(v)); break;
    case KILN_FLOAT32 * 8 + KILN_UINT8: CAST(float, uint8_t, (uint8_t)float_to_int32(v)); break;
    case KILN_FLOAT32 * 8 + KILN_BOOL: CAST(float, uint8_t, v != 0.0f); break;
    case KILN_INT32 * 8 + KILN_FLOAT32: CAST(int32_t, float, (float)v); break;
    case KILN_INT32 * 8 + KILN_UINT8: CAST(int32_t, uint8_t, (uint8_t)v); break;
    case KILN_INT32 * 8 + KILN_BOOL: CAST(int32_t, uint8_t, v != 0); break;
    case KILN_UINT8 * 8 + KILN_FLOAT32: CAST(uint8_t, float, (float)v); break;
    case KILN_UINT8 * 8 + KILN_INT32: CAST(uint8_t, int32_t, (int32_t)v); break;
    case KILN_UINT8 * 8 + KILN_BOOL: CAST(uint8_t, uint8_t, v != 0); break;
    case KILN_BOOL * 8 + KILN_FLOAT32: CAST(uint8_t, float, v != 0 ? 1.0f : 0.0f); break;
    case KILN_BOOL * 8 + KILN_INT32: CAST(uint8_t, int32_t, v != 0); break;
    case KILN_BOOL * 8 + KILN_UINT8: CAST(uint8_t, uint8_t, v != 0); break;
    }
    return KILN_OK;
}

const kn_op_def kn_op_cast = {
    .name = "Cast",
    .n_params = sizeof(kn_cast_params) / 4,
    .infer = cast_infer,
    .eval = cast_eval,
};
