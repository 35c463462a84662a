/* The loaded model (src/model.c) as the executor (src/context.c) sees it. */
#ifndef KILN_MODEL_H
#define KILN_MODEL_H

#include "format.h"
#include "kn.h"

/* Limits a bundle must stay within. */
#define KN_MAX_TENSORS (1u << 20)
#define KN_MAX_STEPS (1u << 20)

/* A validated step, pointing into the bundle's plan. */
typedef struct kn_model_step {
    uint16_t op;
    uint8_t n_in, n_out;
    uint32_t n_params;
    const char *name;
    const uint32_t *operands; /* n_in input ids, then n_out output ids */
    const uint32_t *params;
    void *state;  /* from the op's prepare */
    bool dynamic; /* an input's shape is known only at run time: infer again before each eval */
} kn_model_step;

struct kiln_model {
    const uint8_t *bytes;
    size_t size;
    kn_header header;
    const char *strings;
    size_t strings_size;
    kn_tensor *tensors;  /* shapes; data bound for weights, NULL for arena tensors */
    uint64_t *offsets;   /* arena offset of each arena tensor */
    uint8_t *is_const;   /* 1 for tensors stored with the weights */
    uint32_t *io;        /* n_inputs input ids, then n_outputs output ids */
    kn_model_step *steps;
    size_t scratch_size; /* most scratch any step's kernel asked for */
};

/* Points `operands` (n_in + n_out slots) at `tensors` and fills `s`. */
void kn_bind_step(const kn_model_step *st, kn_tensor *tensors, kn_tensor **operands, kn_step *s);

#endif
