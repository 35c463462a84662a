/* Depthwise microkernel on 256-bit vectors; built with -mavx2 -mfma. */
#define KN_VW 8
#define KN_DWCONV kn_f32_dwconv_avx2
#define KN_DWCONV3X3_S1 kn_f32_dwconv3x3s1_avx2
#define KN_DWCONV3X3_S2 kn_f32_dwconv3x3s2_avx2
#include "kernels/f32_dwconv_template.h"
