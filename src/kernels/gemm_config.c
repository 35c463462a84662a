/* The GEMM microkernel table: which tile this machine runs. Natively on
 * x86-64 the widest ISA the CPU has (checked once); elsewhere (wasm) the
 * 128-bit tile. */
#include <string.h>

#include "kernels/gemm.h"

#define DECLARE(name)                                                                                   \
    void kn_f32_gemm_##name(size_t, size_t, size_t, const float *, size_t, const float *, float *, size_t, \
                            float, float);                                                              \
    void kn_f32_igemm_##name(size_t, size_t, size_t, size_t, const float *const *, const float *, float *, \
                             size_t, float, float);

DECLARE(4x8_v128)
static const kn_gemm_config v128 = {"f32_gemm_4x8_v128", 4, 8, kn_f32_gemm_4x8_v128, kn_f32_igemm_4x8_v128};

#if defined(KN_HAVE_X86_KERNELS)
DECLARE(6x16_avx2)
DECLARE(12x8_avx2)
DECLARE(8x32_avx512)
static const kn_gemm_config avx2 = {"f32_gemm_6x16_avx2", 6, 16, kn_f32_gemm_6x16_avx2, kn_f32_igemm_6x16_avx2};
static const kn_gemm_config avx2_narrow = {"f32_gemm_12x8_avx2", 12, 8, kn_f32_gemm_12x8_avx2,
                                           kn_f32_igemm_12x8_avx2};
static const kn_gemm_config avx512 = {"f32_gemm_8x32_avx512", 8, 32, kn_f32_gemm_8x32_avx512,
                                      kn_f32_igemm_8x32_avx512};
#endif

const kn_gemm_config *kn_gemm_config_for(size_t n) {
    const kn_gemm_config *wide = kn_gemm_config_get();
#if defined(KN_HAVE_X86_KERNELS)
    /* The narrow tile when it pads fewer output channels than the wide one. */
    size_t padded_wide = (n + wide->nr - 1) / wide->nr * wide->nr, padded_narrow = (n + 7) / 8 * 8;
    if (wide == &avx2 && padded_narrow < padded_wide) return &avx2_narrow;
#else
    (void)n;
#endif
    return wide;
}

const kn_gemm_config *kn_gemm_config_get(void) {
#if defined(KN_HAVE_X86_KERNELS)
    /* __builtin_cpu_supports is cheap after the first call (it reads a cached cpuid). */
    if (__builtin_cpu_supports("avx512f")) return &avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &avx2;
#endif
    return &v128;
}

size_t kn_gemm_packed_floats(size_t k, size_t n, size_t nr) { return (n + nr - 1) / nr * nr * (k + 1); }

void kn_gemm_pack(size_t k, size_t n, size_t nr, const float *w, size_t w_stride, const float *bias,
                  float *packed) {
    for (size_t j0 = 0; j0 < n; j0 += nr) {
        size_t width = n - j0 < nr ? n - j0 : nr;
        memset(packed, 0, sizeof(float) * nr * (k + 1));
        if (bias) memcpy(packed, bias + j0, sizeof(float) * width);
        packed += nr;
        for (size_t r = 0; r < k; r++, packed += nr) memcpy(packed, w + r * w_stride + j0, sizeof(float) * width);
    }
}
