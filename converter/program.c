#define _POSIX_C_SOURCE 200809L
#include "program.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "ops/params.h"


static bool grow(void **items, int *cap, int need, size_t item_size) {
    if (need <= *cap) return true;
    int n = *cap ? *cap * 2 : 64;
    while (n < need) n *= 2;
    void *p = realloc(*items, (size_t)n * item_size);
    if (!p) return false;
    *items = p;
    *cap = n;
    return true;
}

void kc_program_free(kc_program *p) {
    for (int i = 0; i < p->n_tensors; i++) {
        free(p->tensors[i].t.data);
        free(p->tensors[i].shadow);
        if (p->tensors[i].t.name[0]) free((char *)p->tensors[i].t.name);
    }
    for (int i = 0; i < p->n_steps; i++) {
        free(p->steps[i].in);
        free(p->steps[i].params);
        free(p->steps[i].name);
    }
    free(p->tensors);
    free(p->steps);
    free(p->inputs);
    free(p->outputs);
    memset(p, 0, sizeof *p);
}

int kc_add_tensor(kc_program *p, kiln_dtype dtype, int rank, const int32_t *dims) {
    size_t count;
    if (rank < 0 || rank > KILN_MAX_RANK || !kn_num_elements(dims, rank, KN_MAX_ELEMENTS, &count)) {
        kc_error("tensor shape is too large or invalid (rank %d)", rank);
        return -1;
    }
    if (!grow((void **)&p->tensors, &p->tensors_cap, p->n_tensors + 1, sizeof *p->tensors)) {
        kc_error("out of memory");
        return -1;
    }
    kc_tensor *t = &p->tensors[p->n_tensors];
    memset(t, 0, sizeof *t);
    t->t.name = "";
    t->producer = -1;
    kn_set_shape(&t->t, dtype, rank, dims);
    return p->n_tensors++;
}

int kc_add_const(kc_program *p, kiln_dtype dtype, int rank, const int32_t *dims, const void *data) {
    int id = kc_add_tensor(p, dtype, rank, dims);
    if (id < 0) return -1;
    size_t bytes = kn_tensor_bytes(&p->tensors[id].t);
    void *copy = malloc(bytes ? bytes : 1);
    if (!copy) {
        kc_error("out of memory");
        return -1;
    }
    if (data && bytes) memcpy(copy, data, bytes);
    else memset(copy, 0, bytes ? bytes : 1);
    p->tensors[id].t.data = copy;
    return id;
}

bool kc_set_name(kc_program *p, int id, const char *name) {
    char *copy = strdup(name);
    if (!copy) return false;
    kn_tensor *t = &p->tensors[id].t;
    if (t->name[0]) free((char *)t->name);
    t->name = copy;
    return true;
}

/* The largest constant folding may make: a few bytes of graph can ask for gigabytes. */
#define KC_MAX_FOLD_BYTES ((size_t)256 << 20)

/* The largest constant folding may make: a few bytes of graph can ask for gigabytes. */
#define KC_MAX_FOLD_BYTES ((size_t)256 << 20)
/* Shadows are values of shapes: small. */
#define KC_MAX_SHADOW_ELEMENTS 4096u

static bool compute(kn_step *s, void **data);

/* Runs a step on its inputs' data (constants, or shadows), each output into a new
 * buffer: data[k] (all freed on failure). */
static bool evaluate(kn_step *s, void **data) {
    memset(data, 0, sizeof(void *) * s->n_out);
    bool ok = compute(s, data);
    for (int k = 0; !ok && k < s->n_out; k++) free(data[k]);
    return ok;
}

static bool compute(kn_step *s, void **data) {
    for (int k = 0; k < s->n_out; k++) {
        size_t bytes = kn_tensor_bytes(s->out[k]);
        if (bytes > KC_MAX_FOLD_BYTES) {
            kc_error("folding constants would make %s, %zu bytes (the limit is %zu)", kc_shape(s->out[k]), bytes,
                     KC_MAX_FOLD_BYTES);
            return false;
        }
        if (!(data[k] = calloc(1, bytes ? bytes : 1))) {
            kc_error("out of memory folding constants");
            return false;
        }
        s->out[k]->data = data[k];
    }
    const kn_op_def *def = kn_op_lookup(s->op);
    size_t scratch_size = 0;
    void *scratch = NULL;
    kiln_status status = def->prepare ? def->prepare(s, &scratch_size) : KILN_OK;
    if (status == KILN_OK && scratch_size && !(scratch = malloc(scratch_size))) status = KILN_ERR_OUT_OF_MEMORY;
    if (status == KILN_OK) status = def->eval(s, scratch);
    free(scratch);
    if (s->state && def->release) def->release(s->state);
    if (status != KILN_OK) {
        kc_error("folding constants: %s", kiln_last_error());
        return false;
    }
    return true;
}

/* Appends a step; its outputs' producer becomes this step unless they have one. */
static bool add_step(kc_program *p, const char *node, uint16_t op, const int *in, int n_in, const void *params,
                     size_t params_size, int n_out, const int *out) {
    if (!grow((void **)&p->steps, &p->steps_cap, p->n_steps + 1, sizeof *p->steps)) {
        kc_error("out of memory");
        return false;
    }
    kc_step *st = &p->steps[p->n_steps];
    memset(st, 0, sizeof *st);
    st->op = op;
    st->n_in = n_in;
    st->n_out = n_out;
    st->in = malloc(sizeof(int) * (size_t)(n_in + n_out + 1));
    st->params = malloc(params_size);
    st->name = strdup(node);
    if (!st->in || !st->params || !st->name) {
        free(st->in);
        free(st->params);
        free(st->name);
        kc_error("out of memory");
        return false;
    }
    st->out = st->in + n_in;
    if (n_in) memcpy(st->in, in, sizeof(int) * (size_t)n_in);
    if (n_out) memcpy(st->out, out, sizeof(int) * (size_t)n_out);
    memcpy(st->params, params, params_size);
    st->n_params = kn_op_lookup(op)->n_params;
    for (int k = 0; k < n_out; k++)
        if (p->tensors[out[k]].producer < 0) p->tensors[out[k]].producer = p->n_steps;
    p->n_steps++;
    return true;
}

bool kc_emit(kc_program *p, const char *node, uint16_t op, const int *in, int n_in, const void *params,
             size_t params_size, int n_out, int *out) {
    const kn_op_def *def = kn_op_lookup(op);
    if (!def || params_size != def->n_params * 4u || n_in > 255 || n_out > 255 || n_out < 1) {
        kc_error("node '%s': internal error: bad step for op %u", node, op);
        return false;
    }
    /* The inputs as infer and evaluation see them: a shadowed value shows its shadow. */
    kn_tensor views[255], shaped[255];
    kn_tensor *operands[510];
    bool all_const = true, shadowed = true, dynamic = (def->flags & KN_OP_SHAPE_FROM_DATA) != 0;
    for (int i = 0; i < n_in; i++) {
        operands[i] = NULL;
        if (in[i] < 0) continue;
        const kc_tensor *t = &p->tensors[in[i]];
        views[i] = t->t;
        operands[i] = &views[i];
        if (kc_is_const(p, in[i])) continue;
        all_const = false;
        if (t->shadow) views[i].data = t->shadow;
        else shadowed = false;
        dynamic = dynamic || t->dynamic || ((def->flags & KN_OP_SHAPE_FROM_VALUES) && i > 0);
    }
    kn_step s = {.op = op, .n_in = (uint8_t)n_in, .n_out = (uint8_t)n_out, .n_params = def->n_params,
                 .params = params, .name = node, .in = operands, .out = operands + n_in};
    memset(shaped, 0, sizeof(kn_tensor) * (size_t)n_out);
    if (def->infer(&s, shaped) != KILN_OK) {
        kc_error("node '%s' (%s): %s", node, def->name, kiln_last_error());
        return false;
    }
    for (int k = 0; k < n_out; k++) {
        out[k] = kc_add_tensor(p, shaped[k].dtype, shaped[k].rank, shaped[k].dims);
        if (out[k] < 0) {
            kc_error_prefix("node '%s' (%s)", node, def->name);
            return false;
        }
        p->tensors[out[k]].dynamic = dynamic && !all_const;
        if (kn_tensor_count(&shaped[k]) > KC_MAX_SHADOW_ELEMENTS) shadowed = false;
    }
    if (all_const || shadowed) {
        /* Constants fold; values computed from shadows get shadows, and still run. */
        void *data[255];
        for (int k = 0; k < n_out; k++) operands[n_in + k] = &shaped[k];
        if (!evaluate(&s, data)) {
            kc_error_prefix("node '%s' (%s)", node, def->name);
            return false;
        }
        for (int k = 0; k < n_out; k++) {
            if (all_const) p->tensors[out[k]].t.data = data[k];
            else p->tensors[out[k]].shadow = data[k];
        }
        if (all_const) return true;
    }
    return add_step(p, node, op, in, n_in, params, params_size, n_out, out);
}

bool kc_emit_into(kc_program *p, const char *node, uint16_t op, const int *in, int n_in, const void *params,
                  size_t params_size, int n_out, const int *out) {
    const kn_op_def *def = kn_op_lookup(op);
    if (!def || params_size != def->n_params * 4u || n_in > 255 || n_out > 255) {
        kc_error("node '%s': internal error: bad step for op %u", node, op);
        return false;
    }
    kn_tensor *operands[510];
    kn_tensor shaped[255];
    for (int i = 0; i < n_in; i++) operands[i] = in[i] < 0 ? NULL : &p->tensors[in[i]].t;
    for (int k = 0; k < n_out; k++) operands[n_in + k] = &p->tensors[out[k]].t;
    kn_step s = {.op = op, .n_in = (uint8_t)n_in, .n_out = (uint8_t)n_out, .n_params = def->n_params,
                 .params = params, .name = node, .in = operands, .out = operands + n_in};
    memset(shaped, 0, sizeof(kn_tensor) * (size_t)(n_out ? n_out : 1));
    if (def->infer(&s, shaped) != KILN_OK) {
        kc_error("node '%s' (%s): %s", node, def->name, kiln_last_error());
        return false;
    }
    for (int k = 0; k < n_out; k++)
        if (!kn_same_shape(&shaped[k], &p->tensors[out[k]].t)) {
            kc_error("node '%s' (%s): output %d would be %s but its tensor is %s", node, def->name, k,
                     kc_shape(&shaped[k]), kc_shape(&p->tensors[out[k]].t));
            return false;
        }
    return add_step(p, node, op, in, n_in, params, params_size, n_out, out);
}

static bool is_loop_step(uint16_t op) { return op == KN_OP_LOOP_TEST || op == KN_OP_LOOP_NEXT; }

bool kc_compact(kc_program *p) {
    char *live_step = calloc((size_t)p->n_steps + 1, 1);
    char *live_tensor = calloc((size_t)p->n_tensors + 1, 1);
    int *new_id = malloc(sizeof(int) * ((size_t)p->n_tensors + 1));
    int *steps_before = malloc(sizeof(int) * ((size_t)p->n_steps + 1)); /* live steps before each old index */
    if (!live_step || !live_tensor || !new_id || !steps_before) {
        free(live_step);
        free(live_tensor);
        free(new_id);
        free(steps_before);
        kc_error("out of memory");
        return false;
    }
    for (int i = 0; i < p->n_inputs; i++) live_tensor[p->inputs[i]] = 1;
    for (int i = 0; i < p->n_outputs; i++) live_tensor[p->outputs[i]] = 1;
    /* Backward sweeps until nothing changes: inside a loop, a step can feed one before it. */
    for (bool changed = true; changed;) {
        changed = false;
        for (int i = p->n_steps - 1; i >= 0; i--) {
            kc_step *st = &p->steps[i];
            if (live_step[i] || st->removed) continue;
            bool live = is_loop_step(st->op);
            for (int k = 0; k < st->n_out; k++)
                if (live_tensor[st->out[k]]) live = true;
            if (!live) continue;
            live_step[i] = 1;
            changed = true;
            for (int k = 0; k < st->n_in + st->n_out; k++)
                if (st->in[k] >= 0) live_tensor[st->in[k]] = 1;
        }
    }
    int n = 0;
    for (int i = 0; i < p->n_tensors; i++) {
        if (live_tensor[i]) {
            new_id[i] = n;
            p->tensors[n++] = p->tensors[i];
        } else {
            new_id[i] = -1;
            free(p->tensors[i].t.data);
            free(p->tensors[i].shadow);
            if (p->tensors[i].t.name[0]) free((char *)p->tensors[i].t.name);
        }
    }
    p->n_tensors = n;
    for (int i = 0; i < n; i++) p->tensors[i].producer = -1;
    n = 0;
    for (int i = 0; i < p->n_steps; i++) {
        steps_before[i] = n;
        kc_step *st = &p->steps[i];
        if (!live_step[i]) {
            free(st->in);
            free(st->params);
            free(st->name);
            continue;
        }
        for (int k = 0; k < st->n_in + st->n_out; k++)
            if (st->in[k] >= 0) st->in[k] = new_id[st->in[k]];
        for (int k = 0; k < st->n_out; k++)
            if (p->tensors[st->out[k]].producer < 0) p->tensors[st->out[k]].producer = n;
        p->steps[n++] = *st;
    }
    steps_before[p->n_steps] = n;
    /* Jump targets name old step indices: the first live step at or after them. */
    for (int i = 0; i < n; i++) {
        kc_step *st = &p->steps[i];
        if (st->op == KN_OP_LOOP_TEST) {
            kn_loop_test_params *lp = (kn_loop_test_params *)st->params;
            lp->exit_step = steps_before[lp->exit_step];
        } else if (st->op == KN_OP_LOOP_NEXT) {
            kn_loop_next_params *lp = (kn_loop_next_params *)st->params;
            lp->first_step = steps_before[lp->first_step];
        }
    }
    p->n_steps = n;
    for (int i = 0; i < p->n_inputs; i++) p->inputs[i] = new_id[p->inputs[i]];
    for (int i = 0; i < p->n_outputs; i++) p->outputs[i] = new_id[p->outputs[i]];
    free(live_step);
    free(live_tensor);
    free(new_id);
    free(steps_before);
    return true;
}
