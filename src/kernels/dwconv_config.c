/* The depthwise microkernel table: the widest vectors this machine has. */
#include <stddef.h>

#include "kernels/dwconv.h"

void kn_f32_dwconv_v128(size_t, size_t, const float *const *, size_t, size_t, const float *, size_t, const float *,
                        float *, size_t, float, float);
static const kn_dwconv_config v128 = {"f32_dwconv_v128", kn_f32_dwconv_v128, {NULL, NULL}};

#if defined(KN_HAVE_X86_KERNELS)
void kn_f32_dwconv_avx2(size_t, size_t, const float *const *, size_t, size_t, const float *, size_t, const float *,
                        float *, size_t, float, float);
void kn_f32_dwconv3x3s1_avx2(size_t, const float *const *, size_t, const float *, const float *, float *, float, float);
void kn_f32_dwconv3x3s2_avx2(size_t, const float *const *, size_t, const float *, const float *, float *, float, float);
static const kn_dwconv_config avx2 = {"f32_dwconv_avx2", kn_f32_dwconv_avx2,
                                      {kn_f32_dwconv3x3s1_avx2, kn_f32_dwconv3x3s2_avx2}};
#endif

const kn_dwconv_config *kn_dwconv_config_get(void) {
#if defined(KN_HAVE_X86_KERNELS)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &avx2;
#endif
    return &v128;
}
