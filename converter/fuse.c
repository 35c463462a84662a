/* Graph passes that make the plan shorter (fuse.h). */
#include "fuse.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "ops/params.h"

/* How many steps read each tensor (model outputs count as readers). */
static int *count_uses(const kc_program *p) {
    int *uses = calloc((size_t)p->n_tensors + 1, sizeof(int));
    if (!uses) return NULL;
    for (int s = 0; s < p->n_steps; s++)
        for (int k = 0; k < p->steps[s].n_in; k++)
            if (p->steps[s].in[k] >= 0) uses[p->steps[s].in[k]]++;
    for (int i = 0; i < p->n_outputs; i++) uses[p->outputs[i]]++;
    return uses;
}

static bool is_producer_op(uint16_t op) {
    return op == KN_OP_CONV2D || op == KN_OP_DEPTHWISE_CONV2D || op == KN_OP_MATMUL;
}

/* The fused activation of a conv/depthwise/matmul step. */
static int act_of(const kc_step *st) {
    return st->op == KN_OP_MATMUL ? ((const kn_matmul_params *)st->params)->act
                                  : ((const kn_conv_params *)st->params)->act;
}

/* The step producing tensor `id` if it is a conv/depthwise/matmul that only one step
 * reads, with no activation or residual yet, and constant weights; else NULL. */
static kc_step *fusable_producer(kc_program *p, const int *uses, int id) {
    int s = p->tensors[id].producer;
    if (s < 0 || uses[id] != 1) return NULL;
    kc_step *st = &p->steps[s];
    if (!is_producer_op(st->op) || st->out[0] != id || (st->n_in > 4 && st->in[4] >= 0)) return NULL;
    if (act_of(st) != KN_ACT_NONE || !kc_is_const(p, st->in[1]) || (st->in[2] >= 0 && !kc_is_const(p, st->in[2])))
        return NULL;
    if (st->op == KN_OP_MATMUL) {
        const kn_matmul_params *m = (const kn_matmul_params *)st->params;
        if (m->transpose_b || p->tensors[st->in[1]].t.rank != 2) return NULL;
    }
    return st;
}

/* Output channels of a producer (the last dim of its output). */
static int32_t out_channels(const kc_program *p, const kc_step *st) {
    const kn_tensor *o = &p->tensors[st->out[0]].t;
    return o->dims[o->rank - 1];
}

/* If `id` is a constant holding one value per channel (shape [C], [1,..,1,C]) or a scalar,
 * writes the C values to v (a scalar repeated) and returns true. */
static bool channel_values(const kc_program *p, int id, int32_t channels, float *v) {
    if (!kc_is_const(p, id)) return false;
    const kn_tensor *t = &p->tensors[id].t;
    if (t->dtype != KILN_FLOAT32) return false;
    size_t n = kn_tensor_count(t);
    for (int d = 0; d + 1 < t->rank; d++)
        if (t->dims[d] != 1) return false;
    const float *data = t->data;
    if (n == 1) {
        for (int32_t c = 0; c < channels; c++) v[c] = data[0];
        return true;
    }
    if (n != (size_t)channels) return false;
    memcpy(v, data, sizeof(float) * (size_t)channels);
    return true;
}

/* A fresh copy of a constant, so folding never changes a tensor another step reads. */
static int copy_const(kc_program *p, int id) {
    kn_tensor t = p->tensors[id].t;
    return kc_add_const(p, t.dtype, t.rank, t.dims, t.data);
}

/* conv(x) * s -> conv'(x) with w' = w * s, b' = b * s; conv(x) + t -> b' = b + t. */
static bool fold_affine(kc_program *p, kc_step *prod, int kind, const float *v) {
    int32_t oc = out_channels(p, prod);
    int w = copy_const(p, prod->in[1]);
    int b = prod->in[2] >= 0 ? copy_const(p, prod->in[2]) : kc_add_const(p, KILN_FLOAT32, 1, &oc, NULL);
    if (w < 0 || b < 0) return false;
    float *wd = p->tensors[w].t.data, *bd = p->tensors[b].t.data;
    if (prod->in[2] < 0) memset(bd, 0, sizeof(float) * (size_t)oc);
    if (kind == KN_BINARY_MUL) {
        size_t n = kn_tensor_count(&p->tensors[w].t);
        for (size_t i = 0; i < n; i++) wd[i] *= v[i % (size_t)oc]; /* the channel is the weights' last dim */
        for (int32_t c = 0; c < oc; c++) bd[c] *= v[c];
    } else if (kind == KN_BINARY_ADD) {
        for (int32_t c = 0; c < oc; c++) bd[c] += v[c];
    } else {
        for (int32_t c = 0; c < oc; c++) bd[c] -= v[c];
    }
    prod->in[1] = w;
    prod->in[2] = b;
    return true;
}

/* Sets input k of a step, growing its operand list (absent operands in between are -1). */
static bool set_input(kc_step *st, int k, int id) {
    if (k >= st->n_in) {
        int *ops = malloc(sizeof(int) * (size_t)(k + 1 + st->n_out + 1));
        if (!ops) return false;
        memcpy(ops, st->in, sizeof(int) * (size_t)st->n_in);
        for (int i = st->n_in; i < k; i++) ops[i] = -1;
        memcpy(ops + k + 1, st->out, sizeof(int) * (size_t)st->n_out);
        free(st->in);
        st->in = ops;
        st->out = ops + k + 1;
        st->n_in = k + 1;
    }
    st->in[k] = id;
    return true;
}

/* Makes `prod` write `st`'s output instead of its own, and removes `st`. */
static void absorb(kc_program *p, kc_step *prod, kc_step *st, int *dead) {
    int out = st->out[0];
    prod->out[0] = out;
    p->tensors[out].producer = (int)(prod - p->steps);
    dead[st - p->steps] = 1;
}

static int fused_act(int unary_kind) {
    switch (unary_kind) {
    case KN_UNARY_RELU: return KN_ACT_RELU;
    case KN_UNARY_RELU6: return KN_ACT_RELU6;
    case KN_UNARY_ELU: return KN_ACT_ELU;
    case KN_UNARY_SIGMOID: return KN_ACT_SIGMOID;
    case KN_UNARY_TANH: return KN_ACT_TANH;
    case KN_UNARY_LEAKY_RELU: return KN_ACT_LEAKY_RELU;
    default: return -1;
    }
}

/* Sets the activation of a conv/depthwise/matmul/binary step that has none. */
static bool set_act(kc_step *st, int act, float alpha) {
    if (st->op == KN_OP_MATMUL) {
        kn_matmul_params *m = (kn_matmul_params *)st->params;
        if (m->act != KN_ACT_NONE) return false;
        m->act = act, m->act_alpha = alpha;
    } else if (st->op == KN_OP_CONV2D || st->op == KN_OP_DEPTHWISE_CONV2D) {
        kn_conv_params *c = (kn_conv_params *)st->params;
        if (c->act != KN_ACT_NONE) return false;
        c->act = act, c->act_alpha = alpha;
    } else if (st->op == KN_OP_BINARY) {
        kn_binary_params *b = (kn_binary_params *)st->params;
        if (b->act != KN_ACT_NONE || b->kind > KN_BINARY_PRELU || b->kind == KN_BINARY_PRELU) return false;
        b->act = act, b->act_alpha = alpha;
    } else {
        return false;
    }
    return true;
}

/* x PReLU alpha after a conv, with a constant alpha of one slope per channel: the GEMM
 * epilogue applies it (KN_ACT_PRELU, the slopes as operand 3). Depthwise convs and matmuls
 * would apply it in a pass of their own, no faster than the Binary step. */
static bool fuse_prelu(kc_program *p, const int *uses, kc_step *st, int *dead, float **v) {
    int src = st->in[0], ps = p->tensors[src].producer;
    if (ps < 0 || uses[src] != 1 || p->steps[ps].op != KN_OP_CONV2D || p->steps[ps].out[0] != src ||
        act_of(&p->steps[ps]) != KN_ACT_NONE || !kn_same_shape(&p->tensors[src].t, &p->tensors[st->out[0]].t))
        return true;
    kc_step *prod = &p->steps[ps];
    int32_t oc = out_channels(p, prod);
    free(*v);
    if (!(*v = malloc(sizeof(float) * (size_t)oc))) return false;
    if (!channel_values(p, st->in[1], oc, *v)) return true;
    int alpha = kc_add_const(p, KILN_FLOAT32, 1, &oc, *v);
    if (alpha < 0 || !set_input(prod, 3, alpha)) return false;
    set_act(prod, KN_ACT_PRELU, 0.0f);
    absorb(p, prod, st, dead);
    return true;
}

/* Whether the conv at step ps can run at step s instead: no loop boundary between them, and
 * no step between writes what the conv reads (buffers updated in place). */
static bool can_run_later(const kc_program *p, int ps, int s) {
    const kc_step *conv = &p->steps[ps];
    for (int j = ps + 1; j < s; j++) {
        const kc_step *st = &p->steps[j];
        if (st->op == KN_OP_LOOP_TEST || st->op == KN_OP_LOOP_NEXT) return false;
        for (int o = 0; o < st->n_out; o++)
            for (int k = 0; k < conv->n_in; k++)
                if (st->out[o] == conv->in[k]) return false;
    }
    return true;
}

/* conv(x) + r, where r is another tensor of the conv output's shape (a residual shortcut):
 * the conv adds r in its epilogue (operand 4) and moves to the Add's place, where r is
 * ready (a shortcut branch may be computed after the conv). Of two convs, the later one. */
static bool fuse_residual(kc_program *p, const int *uses, int s, int *dead) {
    kc_step *add = &p->steps[s];
    const kn_tensor *out = &p->tensors[add->out[0]].t;
    int best = -1;
    for (int k = 0; k < 2; k++) {
        int x = add->in[k], r = add->in[1 - k];
        kc_step *conv = fusable_producer(p, uses, x);
        if (!conv || conv->op != KN_OP_CONV2D || p->tensors[x].dynamic || p->tensors[r].dynamic ||
            p->tensors[r].t.dtype != KILN_FLOAT32 || !kn_same_shape(&p->tensors[x].t, out) ||
            !kn_same_shape(&p->tensors[r].t, out))
            continue;
        int ps = p->tensors[x].producer;
        if (ps > (best < 0 ? -1 : p->tensors[add->in[best]].producer) && can_run_later(p, ps, s)) best = k;
    }
    if (best < 0) return true;
    int x = add->in[best], r = add->in[1 - best], ps = p->tensors[x].producer;
    kc_step conv = p->steps[ps];
    if (!set_input(&conv, 4, r)) return false;
    conv.out[0] = add->out[0];
    /* Swap the two records: the conv runs at s, the Add (dropped) sits at ps. */
    p->steps[ps] = *add;
    p->steps[s] = conv;
    p->tensors[conv.out[0]].producer = s;
    p->tensors[x].producer = -1;
    dead[ps] = 1;
    return true;
}

/* Zero padding of H and W only, before a conv: the conv pads instead. */
static bool fold_pad(kc_program *p, kc_step *pad, kc_step *conv) {
    const kn_pad_params *pp = (const kn_pad_params *)pad->params;
    if (pp->mode != KN_PAD_CONSTANT || pp->value_bits != 0 || p->tensors[pad->in[0]].t.rank != 4 || pp->before[0] ||
        pp->after[0] || pp->before[3] || pp->after[3])
        return false;
    kn_conv_params *c = (kn_conv_params *)conv->params;
    c->pad_top += pp->before[1], c->pad_bottom += pp->after[1];
    c->pad_left += pp->before[2], c->pad_right += pp->after[2];
    conv->in[0] = pad->in[0];
    return true;
}

bool kc_fuse(kc_program *p) {
    int *dead = calloc((size_t)p->n_steps + 1, sizeof(int));
    float *v = NULL;
    int *uses = count_uses(p);
    bool ok = dead && uses;
    for (int s = 0; ok && s < p->n_steps; s++) {
        kc_step *st = &p->steps[s];
        if (st->op == KN_OP_BINARY) {
            const kn_binary_params *b = (const kn_binary_params *)st->params;
            if (b->kind == KN_BINARY_PRELU) {
                ok = fuse_prelu(p, uses, st, dead, &v);
                continue;
            }
            if (b->act != KN_ACT_NONE ||
                (b->kind != KN_BINARY_MUL && b->kind != KN_BINARY_ADD && b->kind != KN_BINARY_SUB))
                continue;
            /* conv(x) op c, or c op conv(x) for the commutative kinds. */
            int x = st->in[0], c = st->in[1];
            kc_step *prod = fusable_producer(p, uses, x);
            if (!prod && b->kind != KN_BINARY_SUB) {
                x = st->in[1], c = st->in[0];
                prod = fusable_producer(p, uses, x);
            }
            if (!prod || !kn_same_shape(&p->tensors[x].t, &p->tensors[st->out[0]].t)) continue;
            int32_t oc = out_channels(p, prod);
            free(v);
            if (!(v = malloc(sizeof(float) * (size_t)oc))) ok = false;
            if (ok && channel_values(p, c, oc, v)) {
                ok = fold_affine(p, prod, b->kind, v);
                if (ok) absorb(p, prod, st, dead);
            } else if (ok && b->kind == KN_BINARY_ADD) {
                ok = fuse_residual(p, uses, s, dead);
            }
        } else if (st->op == KN_OP_UNARY) {
            const kn_unary_params *u = (const kn_unary_params *)st->params;
            int act = fused_act(u->kind), src = st->in[0], ps = p->tensors[src].producer;
            if (act < 0 || ps < 0 || uses[src] != 1 || p->steps[ps].out[0] != src ||
                p->tensors[src].t.dtype != KILN_FLOAT32)
                continue;
            if (set_act(&p->steps[ps], act, u->alpha)) absorb(p, &p->steps[ps], st, dead);
        } else if (st->op == KN_OP_CONV2D || st->op == KN_OP_DEPTHWISE_CONV2D) {
            int src = st->in[0], ps = p->tensors[src].producer;
            if (ps >= 0 && uses[src] == 1 && p->steps[ps].op == KN_OP_PAD && fold_pad(p, &p->steps[ps], st))
                dead[ps] = 1;
        }
    }
    for (int s = 0; ok && s < p->n_steps; s++)
        if (dead[s]) p->steps[s].removed = true;
    if (!ok) kc_error("out of memory fusing steps");
    free(v);
    free(dead);
    free(uses);
    return ok;
}
