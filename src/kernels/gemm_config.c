/* The GEMM microkernel table: which tile this machine runs. Natively on
 * x86-64 the widest ISA the CPU has (checked once); elsewhere (wasm) the
 * 128-bit tile. */
#include <string.h>

#include "kernels/gemm.h"

#define DECLARE(name)                                                                                   \
    void kn_f32_gemm_##name(size_t, size_t, size_t, const float *, size_t, const float *, float *, size_t, \
                            const kn_gemm_epilogue *);                                                  \
    void kn_f32_igemm_##name(size_t, size_t, size_t, size_t, const float *const *, const float *, float *, \
                             size_t, const kn_gemm_epilogue *);

DECLARE(4x8_v128)
static const kn_gemm_config v128 = {"f32_gemm_4x8_v128", 4, 8, kn_f32_gemm_4x8_v128, kn_f32_igemm_4x8_v128};

#if defined(KN_HAVE_X86_KERNELS)
DECLARE(6x16_avx2)
DECLARE(12x8_avx2)
DECLARE(4x24_avx2)
DECLARE(8x32_avx512)
static const kn_gemm_config avx2 = {"f32_gemm_6x16_avx2", 6, 16, kn_f32_gemm_6x16_avx2, kn_f32_igemm_6x16_avx2};
static const kn_gemm_config avx2_narrow = {"f32_gemm_12x8_avx2", 12, 8, kn_f32_gemm_12x8_avx2,
                                           kn_f32_igemm_12x8_avx2};
static const kn_gemm_config avx2_24 = {"f32_gemm_4x24_avx2", 4, 24, kn_f32_gemm_4x24_avx2, kn_f32_igemm_4x24_avx2};
static const kn_gemm_config avx512 = {"f32_gemm_8x32_avx512", 8, 32, kn_f32_gemm_8x32_avx512,
                                      kn_f32_igemm_8x32_avx512};
#endif

const kn_gemm_config *kn_gemm_config_for(size_t n) {
    const kn_gemm_config *wide = kn_gemm_config_get();
#if defined(KN_HAVE_X86_KERNELS)
    /* With AVX2, the tile that pads the fewest output channels; on a tie the first of 4x24,
     * 6x16, 12x8, which broadcast 4, 6 and 12 inputs per 12 FMAs (measured on Zen 1, where
     * 4x24 is 25% faster than 12x8 at 24 channels and as fast as 6x16 at 48 and 96). */
    if (wide == &avx2) {
        static const kn_gemm_config *const order[] = {&avx2_24, &avx2, &avx2_narrow};
        const kn_gemm_config *best = order[0];
        size_t best_padded = (n + best->nr - 1) / best->nr * best->nr;
        for (size_t i = 1; i < sizeof order / sizeof order[0]; i++) {
            size_t padded = (n + order[i]->nr - 1) / order[i]->nr * order[i]->nr;
            if (padded < best_padded) best = order[i], best_padded = padded;
        }
        return best;
    }
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
