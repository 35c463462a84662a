/*
 * program.h — the converter's lowered form of a model: Kiln tensors and
 * steps (the ops of src/ops/params.h), before memory planning. Lowering
 * (lower/) builds it from a tf_graph; passes/ rewrite it; planner.c and
 * writer.c turn it into a bundle.
 *
 * Shapes are inferred as steps are added, by the runtime's own op infer
 * functions, and a step whose inputs are all constant is evaluated at once
 * by the runtime's own kernels (constant folding) instead of being added.
 */
#ifndef KILN_PROGRAM_H
#define KILN_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kn.h"

typedef struct kc_tensor {
    kn_tensor t;   /* t.name is "" or owned; t.data non-NULL means constant (owned) */
    int producer;  /* step index, or -1 for inputs and constants */
    /* After a detector's variable-size output (Where, NonMaxSuppression), shapes are
     * known only at run time: such a tensor is planned at its largest, dim 0 varying. */
    bool dynamic;
    /* Small values computed at run time from such shapes (paddings, sizes) also get
     * the value they have when every varying dim is at its largest: it plans shapes. */
    void *shadow;
} kc_tensor;

typedef struct kc_step {
    uint16_t op;
    int n_in, n_out;
    int *in;  /* tensor ids; -1 for an absent optional operand */
    int *out;
    uint32_t *params;
    uint32_t n_params;
    char *name;   /* the TF node this step came from */
    bool removed; /* dropped by a pass; kc_compact deletes it */
} kc_step;

typedef struct kc_program {
    kc_tensor *tensors;
    int n_tensors, tensors_cap;
    kc_step *steps;
    int n_steps, steps_cap;
    int *inputs, n_inputs;
    int *outputs, n_outputs;
} kc_program;

void kc_program_free(kc_program *p);

/* A new non-constant tensor (an input, or a step's output); returns its id or -1 on OOM. */
int kc_add_tensor(kc_program *p, kiln_dtype dtype, int rank, const int32_t *dims);
/* A new constant; copies `data` (kn_tensor_bytes of the shape), or zeros if data is NULL. */
int kc_add_const(kc_program *p, kiln_dtype dtype, int rank, const int32_t *dims, const void *data);
bool kc_set_name(kc_program *p, int id, const char *name);
static inline bool kc_is_const(const kc_program *p, int id) { return id >= 0 && p->tensors[id].t.data != NULL; }

/*
 * Adds a step running `op` on the tensors `in` (-1 for an absent operand)
 * with the params struct `params` (`params_size` bytes). The outputs are new
 * tensors shaped by the op's infer; their ids go to `out`. If every present
 * input is constant, the op runs now and the outputs are constants.
 * `node` names the TF node for messages. Returns false with kc_error set.
 */
bool kc_emit(kc_program *p, const char *node, uint16_t op, const int *in, int n_in, const void *params,
             size_t params_size, int n_out, int *out);

/*
 * Adds a step writing existing tensors `out` (shapes must match what the op
 * infers) and never folds it: for loop variables, buffers updated in place
 * and loop steps. A tensor may be written by several steps this way.
 */
bool kc_emit_into(kc_program *p, const char *node, uint16_t op, const int *in, int n_in, const void *params,
                  size_t params_size, int n_out, const int *out);

/* Drops removed steps, steps whose outputs nothing needs and tensors nothing
 * references, renumbering what is left (loop jump targets included). Outputs,
 * inputs and loops are kept. */
bool kc_compact(kc_program *p);

#endif
