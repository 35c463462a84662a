/* The wasm module's own additions to the C API (include/kiln.h): memory for
 * the JS side to place bundles, inputs and small arrays in. Everything else
 * the module exports is the public API itself (exports.txt). */
#include <stdlib.h>

/* 64-byte aligned, as kiln_model_load and the kernels like it. NULL on OOM. */
__attribute__((export_name("kiln_alloc"))) void *kiln_alloc(size_t size) {
    return aligned_alloc(64, (size + 63) & ~(size_t)63);
}

__attribute__((export_name("kiln_free"))) void kiln_free(void *p) { free(p); }
