#define _POSIX_C_SOURCE 200809L
#include "writer.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "format.h"
#include "ops/params.h"
#include "planner.h"

static size_t align_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

/* A growable byte buffer. */
typedef struct {
    uint8_t *data;
    size_t len, cap;
    bool oom;
} buf;

static size_t buf_put(buf *b, const void *src, size_t n) {
    size_t at = b->len;
    if (b->oom || n == 0) return at;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            b->oom = true;
            return at;
        }
        b->data = d;
        b->cap = cap;
    }
    if (src) memcpy(b->data + b->len, src, n);
    else memset(b->data + b->len, 0, n);
    b->len += n;
    return at;
}

static void buf_align(buf *b, size_t a) { buf_put(b, NULL, align_up(b->len, a) - b->len); }

/* The strings section, each name stored once (found again through a hash table). */
typedef struct {
    buf bytes;
    uint32_t *slots; /* offset + 1 of a stored string, or 0 */
    size_t cap, count;
} strtab;

static size_t hash_str(const char *s) {
    size_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Interns a string; returns its offset (KN_NO_STRING for an empty one). */
static uint32_t intern(strtab *t, const char *s) {
    if (!s || !*s) return KN_NO_STRING;
    if (2 * (t->count + 1) > t->cap) { /* keep the table at most half full */
        size_t cap = t->cap ? 2 * t->cap : 256;
        uint32_t *slots = calloc(cap, sizeof *slots);
        if (!slots) {
            t->bytes.oom = true;
            return KN_NO_STRING;
        }
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slots[i]) continue;
            size_t j = hash_str((const char *)t->bytes.data + t->slots[i] - 1) & (cap - 1);
            while (slots[j]) j = (j + 1) & (cap - 1);
            slots[j] = t->slots[i];
        }
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    size_t j = hash_str(s) & (t->cap - 1);
    for (; t->slots[j]; j = (j + 1) & (t->cap - 1))
        if (strcmp((const char *)t->bytes.data + t->slots[j] - 1, s) == 0) return t->slots[j] - 1;
    uint32_t at = (uint32_t)buf_put(&t->bytes, s, strlen(s) + 1);
    if (t->bytes.oom) return KN_NO_STRING;
    t->slots[j] = at + 1;
    t->count++;
    return at;
}

/*
 * Lifetimes of the arena tensors, then their offsets. A tensor lives from the
 * first step that writes it (inputs: from the start) to the last that reads
 * or writes it (outputs: to the end). A tensor made before a loop and used
 * inside it lives until the loop's last step, since every iteration reads it.
 */
static bool plan_arena(const kc_program *p, uint64_t *offsets, kc_bundle_stats *stats) {
    kc_buffer *bufs = calloc((size_t)p->n_tensors + 1, sizeof *bufs);
    int *buf_of = malloc(sizeof(int) * ((size_t)p->n_tensors + 1));
    if (!bufs || !buf_of) {
        free(bufs);
        free(buf_of);
        kc_error("out of memory");
        return false;
    }
    int n = 0;
    for (int i = 0; i < p->n_tensors; i++) {
        buf_of[i] = kc_is_const(p, i) ? -1 : n++;
        if (buf_of[i] < 0) continue;
        bufs[buf_of[i]] = (kc_buffer){.size = kn_tensor_bytes(&p->tensors[i].t), .first = INT_MAX, .last = 0};
    }
    for (int i = 0; i < p->n_inputs; i++) bufs[buf_of[p->inputs[i]]].first = 0;
    for (int s = 0; s < p->n_steps; s++) {
        const kc_step *st = &p->steps[s];
        for (int k = 0; k < st->n_in + st->n_out; k++) {
            int id = st->in[k];
            if (id < 0 || buf_of[id] < 0) continue;
            kc_buffer *b = &bufs[buf_of[id]];
            if (k >= st->n_in && s < b->first) b->first = s;
            if (s > b->last) b->last = s;
        }
    }
    for (int i = 0; i < p->n_outputs; i++)
        if (buf_of[p->outputs[i]] >= 0) bufs[buf_of[p->outputs[i]]].last = p->n_steps;
    for (int j = 0; j < p->n_steps; j++) {
        if (p->steps[j].op != KN_OP_LOOP_NEXT) continue;
        int f = ((const kn_loop_next_params *)p->steps[j].params)->first_step;
        for (int b = 0; b < n; b++)
            if (bufs[b].first < f && bufs[b].last >= f && bufs[b].last < j) bufs[b].last = j;
    }
    for (int b = 0; b < n; b++)
        if (bufs[b].first == INT_MAX) bufs[b].first = bufs[b].last; /* read but never written: an unused input */
    size_t arena = 0, sum = 0;
    bool ok = kc_plan_memory(bufs, n, KN_ALIGN, &arena);
    for (int i = 0; ok && i < p->n_tensors; i++)
        if (buf_of[i] >= 0) {
            offsets[i] = bufs[buf_of[i]].offset;
            sum += bufs[buf_of[i]].size;
        }
    stats->arena_size = arena;
    stats->activations_size = sum;
    free(bufs);
    free(buf_of);
    if (!ok) kc_error("out of memory planning the arena");
    return ok;
}

bool kc_build_bundle(const kc_program *p, uint8_t **bytes, size_t *size, kc_bundle_stats *stats) {
    memset(stats, 0, sizeof *stats);
    uint64_t *offsets = calloc((size_t)p->n_tensors + 1, sizeof *offsets);
    if (!offsets) {
        kc_error("out of memory");
        return false;
    }
    if (!plan_arena(p, offsets, stats)) {
        free(offsets);
        return false;
    }
    strtab strings = {0};
    buf weights = {0}, plan = {0}, out = {0};
    for (int i = 0; i < p->n_tensors; i++) {
        if (!kc_is_const(p, i)) continue;
        size_t n = kn_tensor_bytes(&p->tensors[i].t);
        buf_align(&weights, KN_WEIGHT_ALIGN);
        offsets[i] = buf_put(&weights, p->tensors[i].t.data, n);
        stats->weights_size += n;
        stats->n_weights++;
    }
    for (int s = 0; s < p->n_steps; s++) {
        const kc_step *st = &p->steps[s];
        uint32_t head[KN_STEP_HEADER_WORDS] = {(uint32_t)st->op | (uint32_t)st->n_in << 16 | (uint32_t)st->n_out << 24,
                                               st->n_params, intern(&strings, st->name)};
        buf_put(&plan, head, sizeof head);
        for (int k = 0; k < st->n_in + st->n_out; k++) {
            uint32_t id = st->in[k] < 0 ? KN_NO_TENSOR : (uint32_t)st->in[k];
            buf_put(&plan, &id, 4);
        }
        buf_put(&plan, st->params, st->n_params * 4u);
    }
    buf tensors = {0};
    uint32_t *io = malloc(sizeof(uint32_t) * ((size_t)p->n_inputs + p->n_outputs + 1));
    bool ok = io != NULL;
    for (int i = 0; ok && i < p->n_tensors; i++) {
        const kn_tensor *t = &p->tensors[i].t;
        kn_tensor_rec r = {.name = intern(&strings, t->name), .dtype = (uint8_t)t->dtype, .rank = (uint8_t)t->rank,
                           .storage = kc_is_const(p, i) ? KN_STORAGE_WEIGHTS : KN_STORAGE_ARENA, .offset = offsets[i]};
        buf_put(&tensors, &r, sizeof r);
        buf_put(&tensors, t->dims, sizeof(int32_t) * (size_t)t->rank);
    }
    for (int i = 0; ok && i < p->n_inputs; i++) io[i] = (uint32_t)p->inputs[i];
    for (int i = 0; ok && i < p->n_outputs; i++) io[p->n_inputs + i] = (uint32_t)p->outputs[i];

    kn_header h = {.magic = KN_MAGIC, .version = KN_FORMAT_VERSION, .header_size = KN_HEADER_SIZE,
                   .arena_size = stats->arena_size, .n_tensors = (uint32_t)p->n_tensors,
                   .n_steps = (uint32_t)p->n_steps, .n_inputs = (uint32_t)p->n_inputs,
                   .n_outputs = (uint32_t)p->n_outputs};
    const buf sections[KN_SEC_COUNT] = {
        [KN_SEC_STRINGS] = strings.bytes,
        [KN_SEC_TENSORS] = tensors,
        [KN_SEC_IO] = {(uint8_t *)io, sizeof *io * ((size_t)p->n_inputs + p->n_outputs), 0, false},
        [KN_SEC_PLAN] = plan,
        [KN_SEC_WEIGHTS] = weights,
    };
    buf_put(&out, NULL, KN_HEADER_SIZE);
    for (int i = 0; ok && i < KN_SEC_COUNT; i++) {
        buf_align(&out, KN_ALIGN);
        h.sections[i].offset = out.len;
        h.sections[i].size = sections[i].len;
        buf_put(&out, sections[i].data, sections[i].len);
    }
    ok = ok && !strings.bytes.oom && !tensors.oom && !weights.oom && !plan.oom && !out.oom;
    if (ok) {
        h.file_size = out.len;
        memcpy(out.data, &h, sizeof h);
        h.checksum = kn_crc32c(out.data + 12, out.len - 12);
        memcpy(out.data + 8, &h.checksum, 4);
        *bytes = out.data;
        *size = out.len;
        stats->file_size = out.len;
        stats->n_steps = p->n_steps;
        stats->n_tensors = p->n_tensors;
    } else {
        free(out.data);
        kc_error("out of memory building the bundle");
    }
    free(strings.bytes.data);
    free(strings.slots);
    free(weights.data);
    free(plan.data);
    free(tensors.data);
    free(io);
    free(offsets);
    return ok;
}
