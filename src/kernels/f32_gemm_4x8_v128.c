/* 4 x 8 tile of 128-bit vectors: 8 accumulators, which fits V8's 15 xmm
 * registers for wasm SIMD128 (and SSE natively). */
#define KN_MR 4
#define KN_VW 4
#define KN_NV 2
#define KN_GEMM kn_f32_gemm_4x8_v128
#define KN_IGEMM kn_f32_igemm_4x8_v128
#include "kernels/f32_gemm_template.h"
