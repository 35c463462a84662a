/* 8 x 32 tile of 512-bit vectors (16 of AVX-512's 32 zmm registers); built with -mavx512f. */
#define KN_MR 8
#define KN_VW 16
#define KN_NV 2
#define KN_GEMM kn_f32_gemm_8x32_avx512
#define KN_IGEMM kn_f32_igemm_8x32_avx512
#include "kernels/f32_gemm_template.h"
