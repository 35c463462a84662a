/* The wasm module's own additions to the C API (include/kiln.h): memory for
 * the JS side to place bundles, inputs and small arrays in, and which build
 * this is. Everything else the module exports is the public API itself
 * (exports.txt). */
#include <stdlib.h>

/* 64-byte aligned, as kiln_model_load and the kernels like it. NULL on OOM. */
__attribute__((export_name("kiln_alloc"))) void *kiln_alloc(size_t size) {
    return aligned_alloc(64, (size + 63) & ~(size_t)63);
}

__attribute__((export_name("kiln_free"))) void kiln_free(void *p) { free(p); }

/* The WebAssembly features this module was compiled for: bit 0 SIMD128.
 * js/kiln.js reports it as the build that runs (kiln.wasm or kiln-scalar.wasm,
 * or whatever module the caller gave). */
__attribute__((export_name("kiln_wasm_features"))) int kiln_wasm_features(void) {
#ifdef __wasm_simd128__
    return 1;
#else
    return 0;
#endif
}
