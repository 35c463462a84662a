/* Depthwise microkernel on 128-bit vectors (wasm SIMD128, SSE). No 3x3 row kernels:
 * in V8 they ran no faster than the general kernel (7.8 against 8.2 GFLOP/s at 24
 * channels) and made kiln.wasm 8 KB larger. */
#define KN_VW 4
#define KN_DWCONV kn_f32_dwconv_v128
#include "kernels/f32_dwconv_template.h"
