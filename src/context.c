/*
 * The plan executor. A context owns one arena (planned by the converter),
 * one scratch block (the most any kernel asked for at load) and the step
 * table bound to both. kiln_run walks the steps in order; it allocates
 * nothing and reads no clock unless profiling was asked for.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "ops/params.h"

struct kiln_context {
    const kiln_model *model;
    uint8_t *arena;
    void *scratch;
    kn_tensor *tensors;   /* the model's tensors, arena ones bound to this arena */
    kn_tensor **operands; /* every step's operand pointers, back to back */
    kn_step *steps;
    uint32_t *iterations; /* per LOOP_TEST step: passes since the loop was entered */
    kiln_clock_fn clock;
    double *step_seconds;
    uint32_t *step_runs; /* with step_seconds: how often each step ran in the last run */
};

static void *alloc_aligned(size_t size) {
    size = (size + 63) & ~(size_t)63;
    return aligned_alloc(64, size ? size : 64);
}

kiln_status kiln_context_create(const kiln_model *m, kiln_context **out) {
    if (!out) return kn_fail(KILN_ERR_INVALID_ARGUMENT, "kiln_context_create: out is NULL");
    *out = NULL;
    if (!m) return kn_fail(KILN_ERR_INVALID_ARGUMENT, "kiln_context_create: model is NULL");
    const kn_header *h = &m->header;
    size_t n_operands = 0;
    for (uint32_t i = 0; i < h->n_steps; i++) n_operands += (size_t)m->steps[i].n_in + m->steps[i].n_out;

    kiln_context *c = calloc(1, sizeof *c);
    if (!c) return kn_fail(KILN_ERR_OUT_OF_MEMORY, "out of memory creating a context");
    c->model = m;
    c->arena = alloc_aligned((size_t)h->arena_size);
    c->scratch = m->scratch_size ? alloc_aligned(m->scratch_size) : NULL;
    c->tensors = malloc(sizeof *c->tensors * (h->n_tensors ? h->n_tensors : 1));
    c->operands = malloc(sizeof *c->operands * (n_operands ? n_operands : 1));
    c->steps = malloc(sizeof *c->steps * (h->n_steps ? h->n_steps : 1));
    c->iterations = calloc(h->n_steps ? h->n_steps : 1, sizeof *c->iterations);
    if (!c->arena || (m->scratch_size && !c->scratch) || !c->tensors || !c->operands || !c->steps ||
        !c->iterations) {
        kiln_context_free(c);
        return kn_fail(KILN_ERR_OUT_OF_MEMORY, "out of memory allocating a %llu-byte arena",
                       (unsigned long long)h->arena_size);
    }
    memcpy(c->tensors, m->tensors, sizeof *c->tensors * h->n_tensors);
    for (uint32_t i = 0; i < h->n_tensors; i++)
        if (!m->is_const[i]) c->tensors[i].data = c->arena + m->offsets[i];
    kn_tensor **operands = c->operands;
    for (uint32_t i = 0; i < h->n_steps; i++) {
        kn_bind_step(&m->steps[i], c->tensors, operands, &c->steps[i]);
        operands += (size_t)m->steps[i].n_in + m->steps[i].n_out;
    }
    *out = c;
    return KILN_OK;
}

void kiln_context_free(kiln_context *c) {
    if (!c) return;
    free(c->step_seconds);
    free(c->step_runs);
    free(c->iterations);
    free(c->steps);
    free(c->operands);
    free(c->tensors);
    free(c->scratch);
    free(c->arena);
    free(c);
}

static const kn_tensor *input_tensor(const kiln_context *c, int index) {
    if (!c || index < 0 || (uint32_t)index >= c->model->header.n_inputs) return NULL;
    return &c->tensors[c->model->io[index]];
}

kiln_status kiln_set_input(kiln_context *c, int index, kiln_dtype dtype, const int32_t *dims, int rank,
                           const void *data, size_t size) {
    const kn_tensor *t = input_tensor(c, index);
    if (!t)
        return kn_fail(KILN_ERR_INVALID_ARGUMENT, "kiln_set_input: no input %d (the model has %d)", index,
                       c ? kiln_model_num_inputs(c->model) : 0);
    if (dtype != t->dtype)
        return kn_fail(KILN_ERR_INVALID_ARGUMENT, "input '%s': expected dtype %s, got %s", t->name,
                       kiln_dtype_name(t->dtype), kiln_dtype_name(dtype));
    kn_tensor given = {.dtype = dtype, .rank = rank};
    if (rank < 0 || rank > KILN_MAX_RANK || (rank > 0 && !dims))
        return kn_fail(KILN_ERR_INVALID_ARGUMENT, "input '%s': rank %d is not valid", t->name, rank);
    if (rank > 0) memcpy(given.dims, dims, sizeof(int32_t) * (size_t)rank);
    if (!kn_same_shape(&given, t))
        return kn_fail(KILN_ERR_INVALID_ARGUMENT, "input '%s': expected shape %S, got %S", t->name, t, &given);
    size_t bytes = kn_tensor_bytes(t);
    if (size != bytes)
        return kn_fail(KILN_ERR_INVALID_ARGUMENT, "input '%s': expected %zu bytes of data, got %zu", t->name, bytes,
                       size);
    if (bytes && !data) return kn_fail(KILN_ERR_INVALID_ARGUMENT, "input '%s': data is NULL", t->name);
    if (data != t->data && bytes) memcpy(t->data, data, bytes);
    return KILN_OK;
}

void *kiln_input_buffer(kiln_context *c, int index) {
    const kn_tensor *t = input_tensor(c, index);
    return t ? t->data : NULL;
}

/* Bytes the plan gave model tensor `id` (its declared, largest shape). */
static size_t capacity(const kiln_context *c, uint32_t id) { return kn_tensor_bytes(&c->model->tensors[id]); }

/* Sets output k of step pc to `shape`, if it fits the memory planned for it. */
static kiln_status resize_output(kiln_context *c, uint32_t pc, int k, const kn_tensor *shape) {
    const kn_model_step *st = &c->model->steps[pc];
    uint32_t id = st->operands[st->n_in + k];
    if (kn_tensor_bytes(shape) > capacity(c, id))
        return kn_fail(KILN_ERR_RUNTIME, "output %d would be %S, more than the %S planned for it", k, shape,
                       &c->model->tensors[id]);
    kn_tensor *out = c->steps[pc].out[k];
    kn_set_shape(out, shape->dtype, shape->rank, shape->dims);
    return KILN_OK;
}

/* A dynamic step's outputs take the shapes its inputs give this time. */
static kiln_status reshape_outputs(kiln_context *c, uint32_t pc) {
    const kn_step *s = &c->steps[pc];
    kn_tensor shapes[255];
    for (int k = 0; k < s->n_out; k++) shapes[k] = c->model->tensors[c->model->steps[pc].operands[s->n_in + k]];
    kiln_status status = kn_op_lookup(s->op)->infer(s, shapes);
    for (int k = 0; status == KILN_OK && k < s->n_out; k++) status = resize_output(c, pc, k, &shapes[k]);
    return status;
}

/* Loop steps jump; every other step evals and falls through. Returns the next step. */
static kiln_status control(kiln_context *c, uint32_t pc, uint32_t *next) {
    const kn_step *s = &c->steps[pc];
    if (s->op == KN_OP_LOOP_TEST) {
        const kn_loop_test_params *p = s->params;
        if (!*(const uint8_t *)s->in[0]->data) {
            c->iterations[pc] = 0;
            *next = (uint32_t)p->exit_step;
        } else if (++c->iterations[pc] > (uint32_t)p->max_iterations) {
            return kn_fail(KILN_ERR_RUNTIME, "loop ran more than its %d iterations", p->max_iterations);
        } else {
            *next = pc + 1;
        }
        return KILN_OK;
    }
    for (int k = 0; k < s->n_in; k++) {
        kiln_status status = resize_output(c, pc, k, s->in[k]); /* a variable may take a run-time shape */
        if (status != KILN_OK) return status;
        if (s->out[k]->data != s->in[k]->data) memmove(s->out[k]->data, s->in[k]->data, kn_tensor_bytes(s->in[k]));
    }
    *next = (uint32_t)((const kn_loop_next_params *)s->params)->first_step;
    return KILN_OK;
}

kiln_status kiln_run(kiln_context *c) {
    if (!c) return kn_fail(KILN_ERR_INVALID_ARGUMENT, "kiln_run: context is NULL");
    uint32_t n = c->model->header.n_steps;
    memset(c->iterations, 0, sizeof *c->iterations * n);
    if (c->clock) {
        memset(c->step_seconds, 0, sizeof *c->step_seconds * n);
        memset(c->step_runs, 0, sizeof *c->step_runs * n);
    }
    for (uint32_t pc = 0; pc < n;) {
        const kn_step *s = &c->steps[pc];
        double t0 = c->clock ? c->clock() : 0.0;
        uint32_t next = pc + 1;
        kiln_status status = KILN_OK;
        if (s->op == KN_OP_LOOP_TEST || s->op == KN_OP_LOOP_NEXT) status = control(c, pc, &next);
        else if (!c->model->steps[pc].dynamic || (status = reshape_outputs(c, pc)) == KILN_OK)
            status = kn_op_lookup(s->op)->eval(s, c->scratch);
        if (status != KILN_OK) return kn_fail_in_step(s, status);
        if (c->clock) {
            c->step_seconds[pc] += c->clock() - t0;
            c->step_runs[pc]++;
        }
        pc = next;
    }
    return KILN_OK;
}

const kiln_tensor_desc *kiln_context_output(const kiln_context *c, int index) {
    if (!c || index < 0 || (uint32_t)index >= c->model->header.n_outputs) return NULL;
    return &c->tensors[c->model->io[c->model->header.n_inputs + (uint32_t)index]];
}

kiln_status kiln_context_set_profiling(kiln_context *c, kiln_clock_fn clock) {
    if (!c) return kn_fail(KILN_ERR_INVALID_ARGUMENT, "kiln_context_set_profiling: context is NULL");
    if (clock && !c->step_seconds) {
        size_t n = c->model->header.n_steps ? c->model->header.n_steps : 1;
        c->step_seconds = calloc(n, sizeof *c->step_seconds);
        c->step_runs = calloc(n, sizeof *c->step_runs);
        if (!c->step_seconds || !c->step_runs) {
            free(c->step_seconds);
            free(c->step_runs);
            c->step_seconds = NULL;
            c->step_runs = NULL;
            return kn_fail(KILN_ERR_OUT_OF_MEMORY, "out of memory for the profile");
        }
    }
    c->clock = clock;
    return KILN_OK;
}

kiln_status kiln_context_step_profile(const kiln_context *c, int step, const char **op, const char **node,
                                      double *seconds, double *flops, uint32_t *runs) {
    if (!c || step < 0 || (uint32_t)step >= c->model->header.n_steps)
        return kn_fail(KILN_ERR_INVALID_ARGUMENT, "kiln_context_step_profile: no step %d", step);
    const kn_step *s = &c->steps[step];
    const kn_op_def *def = kn_op_lookup(s->op);
    if (op) *op = def->name;
    if (node) *node = s->name;
    if (seconds) *seconds = c->step_seconds ? c->step_seconds[step] : 0.0;
    if (flops) *flops = def->flops ? def->flops(s) : 0.0;
    if (runs) *runs = c->step_runs ? c->step_runs[step] : 0;
    return KILN_OK;
}
