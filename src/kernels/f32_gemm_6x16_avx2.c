/* 6 x 16 tile of 256-bit vectors (12 of AVX2's 16 ymm registers); built with -mavx2 -mfma. */
#define KN_MR 6
#define KN_VW 8
#define KN_NV 2
#define KN_GEMM kn_f32_gemm_6x16_avx2
#define KN_IGEMM kn_f32_igemm_6x16_avx2
#include "kernels/f32_gemm_template.h"
