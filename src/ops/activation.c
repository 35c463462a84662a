#include "ops/activation.h"

void kn_act_apply(float *y, size_t n, int act, float alpha, const float *prelu, size_t channels) {
    if (act == KN_ACT_NONE) return;
    if (act == KN_ACT_PRELU) {
        for (size_t i = 0; i < n; i += channels)
            for (size_t c = 0; c < channels; c++) {
                float v = y[i + c];
                y[i + c] = v > 0.0f ? v : prelu[c] * v;
            }
        return;
    }
    /* One loop per activation, branch-free where possible, so compilers vectorize them. */
    switch (act) {
    case KN_ACT_RELU:
        for (size_t i = 0; i < n; i++) y[i] = y[i] < 0.0f ? 0.0f : y[i]; /* not fmaxf: it does not vectorize */
        break;
    case KN_ACT_RELU6:
        for (size_t i = 0; i < n; i++) y[i] = y[i] < 0.0f ? 0.0f : y[i] > 6.0f ? 6.0f : y[i];
        break;
    case KN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : alpha * y[i];
        break;
    default:
        for (size_t i = 0; i < n; i++) y[i] = kn_act_scalar(y[i], act, alpha);
        break;
    }
}

kiln_status kn_act_check(const kn_step *s, int act, int alpha_index, int32_t channels) {
    if (act < 0 || act >= KN_ACT_COUNT) return kn_fail(KILN_ERR_BAD_BUNDLE, "unknown activation %d", act);
    bool has_alpha = alpha_index < s->n_in && s->in[alpha_index];
    if (act != KN_ACT_PRELU) {
        if (has_alpha) return kn_fail(KILN_ERR_BAD_BUNDLE, "alpha operand given without PRELU activation");
        return KILN_OK;
    }
    if (!has_alpha) return kn_fail(KILN_ERR_BAD_BUNDLE, "PRELU activation needs an alpha operand");
    const kn_tensor *a = s->in[alpha_index];
    if (a->dtype != KILN_FLOAT32 || a->rank != 1 || a->dims[0] != channels)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "PRELU alpha is %S, expected float32[%d]", a, channels);
    return KILN_OK;
}

void kn_act_clamp(int act, float *lo, float *hi) {
    *lo = act == KN_ACT_RELU || act == KN_ACT_RELU6 ? 0.0f : -INFINITY;
    *hi = act == KN_ACT_RELU6 ? 6.0f : INFINITY;
}

void kn_act_after_clamp(const kn_step *s, int act, float alpha, float *y, size_t n, size_t channels) {
    if (act == KN_ACT_NONE || act == KN_ACT_RELU || act == KN_ACT_RELU6) return;
    const float *prelu = s->n_in > 3 && s->in[3] ? s->in[3]->data : NULL;
    kn_act_apply(y, n, act, alpha, prelu, channels);
}
