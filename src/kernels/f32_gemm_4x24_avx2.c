/* 4 x 24 tile of 256-bit vectors (12 of AVX2's 16 ymm registers): for layers with 24, 48, 72
 * or 96 output channels. Per k step it broadcasts 4 values for 12 FMAs (12x8 broadcasts 12),
 * which keeps CPUs that load two values a cycle (Zen 1) on their FMA throughput. */
#define KN_MR 4
#define KN_VW 8
#define KN_NV 3
#define KN_GEMM kn_f32_gemm_4x24_avx2
#define KN_IGEMM kn_f32_igemm_4x24_avx2
#include "kernels/f32_gemm_template.h"
