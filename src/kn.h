/*
 * kn.h — the runtime's internal interface: tensors, plan steps, and the op
 * table every kernel plugs into. The converter uses the same interface for
 * shape inference (infer) and constant folding (eval), so an op's semantics
 * live in exactly one place.
 */
#ifndef KILN_KN_H
#define KILN_KN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln.h"

/* A tensor: shape, dtype and (once bound) data. This is also what the public
 * API calls a kiln_tensor_desc. */
struct kiln_tensor_desc {
    const char *name; /* "" when unnamed */
    kiln_dtype dtype;
    int rank;
    int32_t dims[KILN_MAX_RANK];
    void *data;
};
typedef struct kiln_tensor_desc kn_tensor;

/* One step of a plan, bound to tensors. `in[i]` is NULL for an absent
 * optional operand. `params` points at the op's params struct
 * (src/ops/params.h), `n_params` words long. */
typedef struct kn_step {
    uint16_t op;
    uint8_t n_in, n_out;
    uint32_t n_params;
    const void *params;
    const char *name; /* TF node name, for messages and profiles */
    kn_tensor **in;
    kn_tensor **out;
    void *state; /* what prepare made (packed weights, tables); NULL if none */
} kn_step;

/*
 * An op, TFLite-Micro style: Infer / Prepare / Eval.
 *
 * infer    Checks operand count, dtypes, ranks, params and input shapes, and
 *          writes each output's dtype, rank and dims into `out[i]` (data is
 *          left alone; out[i] arrives holding the declared shape, if any). The converter calls it to infer shapes; the loader
 *          calls it to prove a bundle's declared shapes, so that eval can
 *          trust every size it reads. It reports errors with kn_fail.
 * prepare  Optional. Called once per step at load, with inputs and outputs
 *          shaped and constant inputs bound (non-constant data is NULL).
 *          May set s->state (freed by release) and raise *scratch to the
 *          bytes of scratch memory eval needs.
 * eval     Computes outputs from inputs. Never allocates. Returns KILN_OK
 *          except for data-dependent failures.
 * flops    Optional. Floating-point operations of one eval, for profiles.
 *
 * Shapes known only at run time (detectors: Where, NonMaxSuppression, and
 * what follows them) are planned at their largest. The loader marks every
 * step downstream of such an op "dynamic"; before each run of a dynamic step
 * the executor calls infer again on the inputs' actual shapes, checks each
 * output fits the memory planned for it, and sets its actual shape.
 */
/* flags: eval sets its outputs' shapes, at most what infer gives (Where, NMS). */
#define KN_OP_SHAPE_FROM_DATA 1u
/* flags: infer reads the values of small int32 operands (paddings, ...) when it
 * has them; without them (at load) it keeps the output shape it was given. */
#define KN_OP_SHAPE_FROM_VALUES 2u

typedef struct kn_op_def {
    const char *name;
    uint32_t n_params;
    uint32_t flags;
    kiln_status (*infer)(const kn_step *s, kn_tensor *out);
    kiln_status (*prepare)(kn_step *s, size_t *scratch);
    void (*release)(void *state);
    kiln_status (*eval)(const kn_step *s, void *scratch);
    double (*flops)(const kn_step *s);
} kn_op_def;

/* The op table (src/ops/registry.c). NULL for an unknown or unlinked op. */
const kn_op_def *kn_op_lookup(uint32_t op);

/* ---- Errors (src/status.c) ---------------------------------------------- */

/* Formats the thread's last-error message and returns `status`. Supports
 * %s %d %u %x %zu %lld %llu %% and %S, which prints a kn_tensor's shape as
 * "float32[1,224,224,3]". No libc I/O is involved. */
kiln_status kn_fail(kiln_status status, const char *fmt, ...);
/* Prefixes the current message with "step 'name' (Op): ". */
kiln_status kn_fail_in_step(const kn_step *s, kiln_status status);

/* ---- Shape helpers (src/tensor.c) --------------------------------------- */

/* Largest tensor Kiln accepts: 2^31 elements, so element counts and index
 * arithmetic fit wasm's 32-bit size_t. (Byte sizes of float32 tensors that
 * big would not; the loader checks those against the arena in 64 bits.) */
#define KN_MAX_ELEMENTS ((size_t)1 << 31)

/* Elements in a shape; false if the product overflows `limit`. */
bool kn_num_elements(const int32_t *dims, int rank, size_t limit, size_t *count);
size_t kn_tensor_count(const kn_tensor *t); /* elements; shape already validated */
size_t kn_tensor_bytes(const kn_tensor *t);
bool kn_same_shape(const kn_tensor *a, const kn_tensor *b);
void kn_set_shape(kn_tensor *t, kiln_dtype dtype, int rank, const int32_t *dims);

/* Checks every operand of a step is present and has the dtype `dtype`
 * (inputs [first, first+count)); fails with a named error otherwise. */
kiln_status kn_expect_inputs(const kn_step *s, int first, int count, kiln_dtype dtype);

/* CRC-32C (Castagnoli) of a buffer: the bundle checksum (src/crc32c.c). */
uint32_t kn_crc32c(const void *data, size_t size);

#define KN_UNUSED(x) ((void)(x))

#endif
