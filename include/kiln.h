/*
 * kiln.h — run a TensorFlow model converted by kiln-convert.
 *
 * A worked example. Convert once, on your machine:
 *
 *     kiln-convert model.json -o model.kiln --input input:1,224,224,3
 *
 * Then, in your program:
 *
 *     #include "kiln.h"
 *
 *     // 1. Load the bundle from memory. The model keeps pointers into `bytes`
 *     //    (weights are used in place), so `bytes` must outlive the model.
 *     kiln_model *model;
 *     if (kiln_model_load(bytes, size, &model) != KILN_OK) {
 *         fprintf(stderr, "%s\n", kiln_last_error());
 *         return 1;
 *     }
 *
 *     // 2. Ask what it takes and what it gives.
 *     const kiln_tensor_desc *in = kiln_model_input(model, 0);
 *     printf("%s %s rank %d\n", kiln_tensor_name(in),
 *            kiln_dtype_name(kiln_tensor_dtype(in)), kiln_tensor_rank(in));
 *
 *     // 3. A context holds the activation arena (one block, planned ahead of
 *     //    time by the converter). Make one per thread; the model is shared.
 *     kiln_context *ctx;
 *     kiln_context_create(model, &ctx);
 *
 *     // 4. Feed, run, read. kiln_run allocates nothing.
 *     int32_t dims[4] = {1, 224, 224, 3};
 *     kiln_set_input(ctx, 0, KILN_FLOAT32, dims, 4, pixels, sizeof pixels);
 *     if (kiln_run(ctx) != KILN_OK) { ... kiln_last_error() ... }
 *     const kiln_tensor_desc *out = kiln_context_output(ctx, 0);
 *     const float *probs = kiln_tensor_data(out);
 *
 *     kiln_context_free(ctx);
 *     kiln_model_free(model);
 *
 * Errors. Every call that can fail returns a kiln_status; KILN_OK is 0. On
 * failure, kiln_last_error() returns a message for the calling thread that
 * names what was wrong and where (tensor or node name, byte offset, expected
 * versus got). Nothing in Kiln aborts or exits the process.
 *
 * Threads. A kiln_model is read-only once loaded and may be shared by any
 * number of threads. A kiln_context belongs to one thread at a time.
 *
 * Memory. Loading allocates the model's tables (and, for some kernels, packed
 * weights); creating a context allocates its arena. kiln_run never allocates.
 */
#ifndef KILN_H
#define KILN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_VERSION_MAJOR 0
#define KILN_VERSION_MINOR 1

/* Largest tensor rank a bundle may use. */
#define KILN_MAX_RANK 8

typedef enum kiln_status {
    KILN_OK = 0,
    KILN_ERR_INVALID_ARGUMENT = 1, /* a bad argument: NULL, index out of range, wrong input shape or dtype */
    KILN_ERR_BAD_BUNDLE = 2,       /* the bundle is malformed, truncated or corrupt */
    KILN_ERR_UNSUPPORTED = 3,      /* a bundle version, op or dtype this runtime does not have */
    KILN_ERR_OUT_OF_MEMORY = 4,
    KILN_ERR_RUNTIME = 5           /* a failure while running that depends on the data */
} kiln_status;

typedef enum kiln_dtype {
    KILN_FLOAT32 = 1,
    KILN_INT32 = 2,
    KILN_UINT8 = 3,
    KILN_BOOL = 4 /* one byte per element, 0 or 1 */
} kiln_dtype;

typedef struct kiln_model kiln_model;
typedef struct kiln_context kiln_context;
typedef struct kiln_tensor_desc kiln_tensor_desc;

/* The message of the last failed call on this thread ("" if none). */
const char *kiln_last_error(void);
/* "ok", "invalid argument", ... ; "unknown" for a value outside the enum. */
const char *kiln_status_name(kiln_status status);
/* "float32", "int32", "uint8", "bool"; "unknown" otherwise. */
const char *kiln_dtype_name(kiln_dtype dtype);
/* Bytes per element of a dtype, 0 for an unknown one. */
size_t kiln_dtype_size(kiln_dtype dtype);

/* ---- Model: a validated, read-only view of a bundle -------------------- */

/* Validates the whole bundle (header, checksum, every table, offset and
 * shape, every step's operands) and prepares its kernels. `bundle` must be
 * aligned to 16 bytes (malloc's are) and must stay alive and unchanged until
 * kiln_model_free. */
kiln_status kiln_model_load(const void *bundle, size_t size, kiln_model **out);
void kiln_model_free(kiln_model *model);

int kiln_model_num_inputs(const kiln_model *model);
int kiln_model_num_outputs(const kiln_model *model);
/* NULL when the index is out of range. */
const kiln_tensor_desc *kiln_model_input(const kiln_model *model, int index);
const kiln_tensor_desc *kiln_model_output(const kiln_model *model, int index);
/* Index of the input or output with this TF name (e.g. "input", "Identity:1"), or -1. */
int kiln_model_find_input(const kiln_model *model, const char *name);
int kiln_model_find_output(const kiln_model *model, const char *name);
/* Bytes of the activation arena each context allocates. */
size_t kiln_model_arena_size(const kiln_model *model);
/* Number of steps in the plan. */
int kiln_model_num_steps(const kiln_model *model);

/* ---- Tensor descriptors ------------------------------------------------ */

const char *kiln_tensor_name(const kiln_tensor_desc *t);
kiln_dtype kiln_tensor_dtype(const kiln_tensor_desc *t);
int kiln_tensor_rank(const kiln_tensor_desc *t);
/* The dims, `rank` of them. */
const int32_t *kiln_tensor_dims(const kiln_tensor_desc *t);
/* Total bytes of the tensor's data. */
size_t kiln_tensor_size(const kiln_tensor_desc *t);
/* The data, for descriptors returned by kiln_context_output (NULL for the
 * model's descriptors). Valid until the next kiln_run on that context. */
const void *kiln_tensor_data(const kiln_tensor_desc *t);

/* ---- Context: one arena, one thread ------------------------------------ */

kiln_status kiln_context_create(const kiln_model *model, kiln_context **out);
void kiln_context_free(kiln_context *ctx);

/* Checks dtype and shape against the model's input `index` and copies
 * `size` bytes of `data` into the arena. `data` may be the pointer returned
 * by kiln_input_buffer, to skip the copy. */
kiln_status kiln_set_input(kiln_context *ctx, int index, kiln_dtype dtype,
                           const int32_t *dims, int rank, const void *data, size_t size);
/* Where input `index` lives in the arena (kiln_tensor_size bytes), or NULL.
 * The arena is reused during a run: set inputs again before each run. */
void *kiln_input_buffer(kiln_context *ctx, int index);

/* Runs the whole plan once. Allocates nothing. */
kiln_status kiln_run(kiln_context *ctx);

/* Output `index` of the last run: shape, dtype and data (NULL if out of range). */
const kiln_tensor_desc *kiln_context_output(const kiln_context *ctx, int index);

/* ---- Profiling --------------------------------------------------------- */

/* A clock for per-step timing, in seconds; the runtime itself reads no
 * clock. Pass NULL to stop profiling. */
typedef double (*kiln_clock_fn)(void);
kiln_status kiln_context_set_profiling(kiln_context *ctx, kiln_clock_fn clock);
/* After a profiled run: step `i`'s op name, node name, the seconds it took in
 * all, its FLOPs per execution, and how many times it ran (a step inside a
 * loop runs once per iteration). Any pointer may be NULL. */
kiln_status kiln_context_step_profile(const kiln_context *ctx, int step, const char **op,
                                      const char **node, double *seconds, double *flops, uint32_t *runs);

#ifdef __cplusplus
}
#endif
#endif
