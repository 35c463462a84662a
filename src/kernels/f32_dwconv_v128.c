/* Depthwise microkernel on 128-bit vectors (wasm SIMD128, SSE). */
#define KN_VW 4
#define KN_DWCONV kn_f32_dwconv_v128
#include "kernels/f32_dwconv_template.h"
