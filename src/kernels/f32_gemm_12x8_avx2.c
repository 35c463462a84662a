/* 12 x 8 tile of 256-bit vectors (12 of AVX2's 16 ymm registers): for layers whose output
 * channels it pads least (8, 40, 56, ...), where 16- and 24-wide panels would be part padding. */
#define KN_MR 12
#define KN_VW 8
#define KN_NV 1
#define KN_GEMM kn_f32_gemm_12x8_avx2
#define KN_IGEMM kn_f32_igemm_12x8_avx2
#include "kernels/f32_gemm_template.h"
