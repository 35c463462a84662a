/* Fused activations (enum kn_act), shared by every kernel epilogue. */
#ifndef KILN_OPS_ACTIVATION_H
#define KILN_OPS_ACTIVATION_H

#include <math.h>
#include <stddef.h>

#include "kn.h"
#include "ops/params.h"

static inline float kn_act_scalar(float x, int act, float alpha) {
    switch (act) {
    case KN_ACT_RELU: return x < 0.0f ? 0.0f : x;
    case KN_ACT_RELU6: return x < 0.0f ? 0.0f : x > 6.0f ? 6.0f : x;
    case KN_ACT_ELU: return x > 0.0f ? x : expm1f(x);
    case KN_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case KN_ACT_TANH: return tanhf(x);
    case KN_ACT_LEAKY_RELU: return x > 0.0f ? x : alpha * x;
    default: return x;
    }
}

/* Applies `act` in place to `n` values laid out with `channels` innermost.
 * For KN_ACT_PRELU, `prelu` holds one slope per channel. */
void kn_act_apply(float *y, size_t n, int act, float alpha, const float *prelu, size_t channels);

/* The clamp a microkernel epilogue applies for `act`: [0, inf) for RELU,
 * [0, 6] for RELU6, none otherwise. */
void kn_act_clamp(int act, float *lo, float *hi);

/* After a clamping epilogue: applies what a clamp cannot (ELU, SIGMOID, TANH,
 * LEAKY_RELU, PRELU with the slopes of operand 3) to y[0..n), `channels` innermost. */
void kn_act_after_clamp(const kn_step *s, int act, float alpha, float *y, size_t n, size_t channels);

/* infer-time check of a fused activation: act in range, and for PRELU an
 * alpha operand (input `alpha_index`) of float32[channels]. */
kiln_status kn_act_check(const kn_step *s, int act, int alpha_index, int32_t channels);

#endif
