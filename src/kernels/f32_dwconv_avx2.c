/* Depthwise microkernel on 256-bit vectors; built with -mavx2 -mfma. */
#define KN_VW 8
#define KN_DWCONV kn_f32_dwconv_avx2
#include "kernels/f32_dwconv_template.h"
