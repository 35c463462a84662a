/*
 * The bundle loader. Everything in a bundle is checked here, once, before
 * any of it is used: header, checksum, section bounds, every tensor's shape
 * and storage, every step's operands and parameters, and every step's
 * output shape against the op's own shape inference. After a successful
 * load, kernels can trust every size they are given.
 */
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "model.h"
#include "ops/params.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "Kiln reads bundles in place and needs a little-endian target"
#endif


static bool range_ok(uint64_t offset, uint64_t size, uint64_t limit) {
    return offset <= limit && size <= limit - offset;
}

static kiln_status check_sections(const kn_header *h) {
    static const char *const names[KN_SEC_COUNT] = {"strings", "tensors", "io", "plan", "weights"};
    uint64_t end = KN_HEADER_SIZE;
    for (int i = 0; i < KN_SEC_COUNT; i++) {
        uint64_t off = h->sections[i].offset, size = h->sections[i].size;
        if (off % KN_ALIGN || off < end || !range_ok(off, size, h->file_size))
            return kn_fail(KILN_ERR_BAD_BUNDLE,
                           "%s section at byte %llu, %llu bytes: outside the file (%llu bytes) or misplaced",
                           names[i], (unsigned long long)off, (unsigned long long)size,
                           (unsigned long long)h->file_size);
        end = off + size;
    }
    if (h->sections[KN_SEC_IO].size != ((uint64_t)h->n_inputs + h->n_outputs) * 4)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "io section is %llu bytes, %u inputs and %u outputs need %llu",
                       (unsigned long long)h->sections[KN_SEC_IO].size, h->n_inputs, h->n_outputs,
                       ((unsigned long long)h->n_inputs + h->n_outputs) * 4);
    if (h->sections[KN_SEC_PLAN].size % 4)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "plan section size %llu is not a whole number of words",
                       (unsigned long long)h->sections[KN_SEC_PLAN].size);
    return KILN_OK;
}

static kiln_status check_header(const uint8_t *bytes, size_t size, kn_header *h) {
    if (size < KN_HEADER_SIZE)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "bundle is %zu bytes, shorter than its %u-byte header", size,
                       KN_HEADER_SIZE);
    memcpy(h, bytes, sizeof *h);
    if (h->magic != KN_MAGIC) return kn_fail(KILN_ERR_BAD_BUNDLE, "not a Kiln bundle (bad magic at byte 0)");
    if (h->version != KN_FORMAT_VERSION)
        return kn_fail(KILN_ERR_UNSUPPORTED, "bundle format version %u; this runtime reads version %u",
                       h->version, KN_FORMAT_VERSION);
    if (h->header_size != KN_HEADER_SIZE)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "header size %u at byte 12, expected %u", h->header_size,
                       KN_HEADER_SIZE);
    if (h->file_size != size)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "bundle says it is %llu bytes but %zu were given (truncated?)",
                       (unsigned long long)h->file_size, size);
    uint32_t crc = kn_crc32c(bytes + 12, size - 12);
    if (crc != h->checksum)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "checksum mismatch: header says %x, contents give %x (corrupt bundle)",
                       h->checksum, crc);
    if (h->n_tensors > KN_MAX_TENSORS || h->n_steps > KN_MAX_STEPS)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "%u tensors and %u steps exceed the limits (%u, %u)", h->n_tensors,
                       h->n_steps, KN_MAX_TENSORS, KN_MAX_STEPS);
    if (h->arena_size > SIZE_MAX / 2)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "arena of %llu bytes is too large for this machine",
                       (unsigned long long)h->arena_size);
    return check_sections(h);
}

static const char *string_at(const kiln_model *m, uint32_t offset) {
    if (offset == KN_NO_STRING) return "";
    return offset < m->strings_size ? m->strings + offset : NULL;
}

static kiln_status load_tensors(kiln_model *m) {
    const kn_header *h = &m->header;
    uint64_t pos = h->sections[KN_SEC_TENSORS].offset, end = pos + h->sections[KN_SEC_TENSORS].size;
    uint64_t weights_off = h->sections[KN_SEC_WEIGHTS].offset, weights_size = h->sections[KN_SEC_WEIGHTS].size;
    for (uint32_t i = 0; i < h->n_tensors; i++) {
        kn_tensor_rec r;
        int32_t dims[KILN_MAX_RANK];
        uint64_t at = pos;
        if (end - pos < sizeof r)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "tensor %u (byte %llu): the tensors section ends inside it", i,
                           (unsigned long long)at);
        memcpy(&r, m->bytes + pos, sizeof r);
        pos += sizeof r;
        kn_tensor *t = &m->tensors[i];
        t->name = string_at(m, r.name);
        if (!t->name)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "tensor %u (byte %llu): name offset %u outside the strings", i,
                           (unsigned long long)at, r.name);
        if (r.rank > KILN_MAX_RANK || end - pos < 4u * r.rank)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "tensor %u '%s' (byte %llu): rank %u is above %d or overruns the section",
                           i, t->name, (unsigned long long)at, r.rank, KILN_MAX_RANK);
        memcpy(dims, m->bytes + pos, 4u * r.rank);
        pos += 4u * r.rank;
        size_t esize = kiln_dtype_size((kiln_dtype)r.dtype);
        size_t count;
        if (!esize) return kn_fail(KILN_ERR_BAD_BUNDLE, "tensor %u '%s': unknown dtype %u", i, t->name, r.dtype);
        if (!kn_num_elements(dims, r.rank, KN_MAX_ELEMENTS, &count))
            return kn_fail(KILN_ERR_BAD_BUNDLE, "tensor %u '%s': negative or too many elements (byte %llu)", i,
                           t->name, (unsigned long long)at);
        kn_set_shape(t, (kiln_dtype)r.dtype, r.rank, dims);
        uint64_t bytes = (uint64_t)count * esize;
        if (r.offset % KN_WEIGHT_ALIGN)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "tensor %u '%s': offset %llu is not 16-byte aligned", i, t->name,
                           (unsigned long long)r.offset);
        m->offsets[i] = r.offset;
        if (r.storage == KN_STORAGE_ARENA) {
            if (!range_ok(r.offset, bytes, h->arena_size))
                return kn_fail(KILN_ERR_BAD_BUNDLE, "tensor %u '%s': %llu bytes at arena offset %llu overrun the %llu-byte arena",
                               i, t->name, (unsigned long long)bytes, (unsigned long long)r.offset,
                               (unsigned long long)h->arena_size);
        } else if (r.storage == KN_STORAGE_WEIGHTS) {
            if (!range_ok(r.offset, bytes, weights_size))
                return kn_fail(KILN_ERR_BAD_BUNDLE, "tensor %u '%s': %llu bytes at weights offset %llu overrun the %llu-byte weights section",
                               i, t->name, (unsigned long long)bytes, (unsigned long long)r.offset,
                               (unsigned long long)weights_size);
            t->data = (void *)(m->bytes + weights_off + r.offset);
            m->is_const[i] = 1;
        } else {
            return kn_fail(KILN_ERR_BAD_BUNDLE, "tensor %u '%s': unknown storage %u", i, t->name, r.storage);
        }
    }
    if (pos != end)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "tensors section has %llu bytes after its %u tensors",
                       (unsigned long long)(end - pos), h->n_tensors);
    return KILN_OK;
}

static kiln_status load_io(kiln_model *m) {
    const kn_header *h = &m->header;
    memcpy(m->io, m->bytes + h->sections[KN_SEC_IO].offset, ((size_t)h->n_inputs + h->n_outputs) * 4);
    for (uint32_t i = 0; i < h->n_inputs + h->n_outputs; i++) {
        bool is_input = i < h->n_inputs;
        uint32_t id = m->io[i];
        if (id >= h->n_tensors)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "%s %u refers to tensor %u of %u", is_input ? "input" : "output",
                           is_input ? i : i - h->n_inputs, id, h->n_tensors);
        if (!m->tensors[id].name[0])
            return kn_fail(KILN_ERR_BAD_BUNDLE, "%s tensor %u has no name", is_input ? "input" : "output", id);
        if (is_input && m->is_const[id])
            return kn_fail(KILN_ERR_BAD_BUNDLE, "input '%s' is stored with the weights", m->tensors[id].name);
    }
    return KILN_OK;
}

/* Decodes one step record at `words[0..avail)` and sets *used to its length. */
static kiln_status load_step(kiln_model *m, uint32_t index, const uint32_t *words, uint64_t avail, uint64_t at,
                             uint32_t *used) {
    if (avail < KN_STEP_HEADER_WORDS)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "step %u at byte %llu: plan ends inside the step header", index,
                       (unsigned long long)at);
    kn_model_step *st = &m->steps[index];
    st->op = (uint16_t)(words[0] & 0xffff);
    st->n_in = (uint8_t)(words[0] >> 16);
    st->n_out = (uint8_t)(words[0] >> 24);
    st->n_params = words[1];
    st->name = string_at(m, words[2]);
    if (!st->name)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "step %u at byte %llu: name offset %u outside the strings", index,
                       (unsigned long long)at, words[2]);
    const kn_op_def *def = kn_op_lookup(st->op);
    if (!def)
        return kn_fail(KILN_ERR_UNSUPPORTED, "step %u '%s' at byte %llu: op %u is not in this runtime", index,
                       st->name, (unsigned long long)at, st->op);
    if (st->n_params != def->n_params)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "step %u '%s' (%s) at byte %llu: %u params, expected %u", index, st->name,
                       def->name, (unsigned long long)at, st->n_params, def->n_params);
    uint64_t words_needed = (uint64_t)KN_STEP_HEADER_WORDS + st->n_in + st->n_out + st->n_params;
    if (words_needed > avail)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "step %u '%s' at byte %llu: needs %llu words, the plan has %llu left",
                       index, st->name, (unsigned long long)at, (unsigned long long)words_needed,
                       (unsigned long long)avail);
    st->operands = words + KN_STEP_HEADER_WORDS;
    st->params = st->operands + st->n_in + st->n_out;
    for (uint32_t k = 0; k < (uint32_t)st->n_in + st->n_out; k++) {
        uint32_t id = st->operands[k];
        bool is_out = k >= st->n_in;
        if (id == KN_NO_TENSOR && !is_out) continue;
        if (id >= m->header.n_tensors)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "step %u '%s': operand %u refers to tensor %u of %u", index,
                           st->name, k, id, m->header.n_tensors);
        if (is_out && m->is_const[id])
            return kn_fail(KILN_ERR_BAD_BUNDLE, "step %u '%s': output '%s' is stored with the weights", index,
                           st->name, m->tensors[id].name);
    }
    /* Kernels read their operands while they write their outputs: an output may share
     * arena bytes with another operand only by being the same tensor (an in-place update). */
    for (uint32_t k = st->n_in; k < (uint32_t)st->n_in + st->n_out; k++)
        for (uint32_t j = 0; j < (uint32_t)st->n_in + st->n_out; j++) {
            uint32_t a = st->operands[k], b = st->operands[j];
            if (b == KN_NO_TENSOR || a == b || m->is_const[b]) continue;
            uint64_t a0 = m->offsets[a], a1 = a0 + kn_tensor_bytes(&m->tensors[a]);
            uint64_t b0 = m->offsets[b], b1 = b0 + kn_tensor_bytes(&m->tensors[b]);
            if (a0 < a1 && b0 < b1 && a0 < b1 && b0 < a1)
                return kn_fail(KILN_ERR_BAD_BUNDLE,
                               "step %u '%s': output %u (tensor %u, arena bytes %llu..%llu) overlaps operand %u "
                               "(tensor %u, arena bytes %llu..%llu)",
                               index, st->name, k - st->n_in, a, (unsigned long long)a0, (unsigned long long)a1, j,
                               b, (unsigned long long)b0, (unsigned long long)b1);
        }
    *used = (uint32_t)words_needed;
    return KILN_OK;
}

/* Binds a step to the model's tensors (for infer/prepare at load time). */
void kn_bind_step(const kn_model_step *st, kn_tensor *tensors, kn_tensor **operands, kn_step *s) {
    for (uint32_t k = 0; k < (uint32_t)st->n_in + st->n_out; k++)
        operands[k] = st->operands[k] == KN_NO_TENSOR ? NULL : &tensors[st->operands[k]];
    s->op = st->op;
    s->n_in = st->n_in;
    s->n_out = st->n_out;
    s->n_params = st->n_params;
    s->params = st->params;
    s->name = st->name;
    s->in = operands;
    s->out = operands + st->n_in;
    s->state = st->state;
}

/* Runs each op's infer on the declared input shapes and requires the
 * declared output shapes to match; then lets the op prepare. */
static kiln_status check_and_prepare_steps(kiln_model *m) {
    kn_tensor *operands[2 * 255];
    kn_tensor inferred[255];
    for (uint32_t i = 0; i < m->header.n_steps; i++) {
        kn_model_step *st = &m->steps[i];
        const kn_op_def *def = kn_op_lookup(st->op);
        kn_step s;
        kn_bind_step(st, m->tensors, operands, &s);
        for (int k = 0; k < st->n_out; k++) inferred[k] = *s.out[k];
        kiln_status status = def->infer(&s, inferred);
        if (status != KILN_OK) return kn_fail_in_step(&s, status);
        for (int k = 0; k < st->n_out; k++) {
            if (!kn_same_shape(&inferred[k], s.out[k]))
                return kn_fail(KILN_ERR_BAD_BUNDLE, "step %u '%s' (%s): output %d '%s' is declared %S but the op gives %S",
                               i, st->name, def->name, k, s.out[k]->name, s.out[k], &inferred[k]);
        }
        if (def->prepare) {
            size_t scratch = 0;
            status = def->prepare(&s, &scratch);
            st->state = s.state;
            if (status != KILN_OK) return kn_fail_in_step(&s, status);
            if (scratch > m->scratch_size) m->scratch_size = scratch;
        }
    }
    return KILN_OK;
}

/*
 * Loops must be well formed, so that a run always ends: each LOOP_NEXT at j
 * jumping back to f has exactly one LOOP_TEST at i in [f, j) whose exit is
 * j + 1, every LOOP_TEST belongs to such a loop, and loops nest (disjoint,
 * or one inside the other's body or condition without containing its test).
 * Every backward jump then passes a test, which caps the iterations.
 * The checks take O(n log n) time: a hostile plan must not make loading slow.
 */
typedef struct kn_loop {
    int32_t first, next, test; /* its first step, LOOP_NEXT and LOOP_TEST */
} kn_loop;

/* By first step, and the longer of two loops with the same first step first:
 * every loop then comes after the loops around it. */
static int cmp_loops(const void *pa, const void *pb) {
    const kn_loop *a = pa, *b = pb;
    if (a->first != b->first) return a->first < b->first ? -1 : 1;
    return (a->next < b->next) - (a->next > b->next);
}

static kiln_status check_nesting(kn_loop *loops, uint32_t n_loops, kn_loop *stack) {
    qsort(loops, n_loops, sizeof *loops, cmp_loops);
    uint32_t depth = 0; /* stack[0..depth): the loops around the current one, innermost last */
    for (uint32_t i = 0; i < n_loops; i++) {
        const kn_loop *c = &loops[i];
        while (depth && stack[depth - 1].next < c->first) depth--;
        if (depth) {
            const kn_loop *outer = &stack[depth - 1];
            if (c->next > outer->next || (c->first <= outer->test && outer->test <= c->next))
                return kn_fail(KILN_ERR_BAD_BUNDLE, "steps %d..%d and %d..%d: loops overlap", outer->first, outer->next,
                               c->first, c->next);
        }
        stack[depth++] = *c;
    }
    return KILN_OK;
}

static kiln_status check_loops(const kiln_model *m) {
    const uint32_t n = m->header.n_steps;
    /* Per LOOP_NEXT step: how many LOOP_TESTs exit after it, and the last of them. */
    uint32_t *n_tests = calloc(n ? n : 1, sizeof *n_tests);
    int32_t *test_of = malloc(sizeof *test_of * (n ? n : 1));
    kn_loop *loops = malloc(sizeof *loops * (n ? n : 1)), *stack = malloc(sizeof *stack * (n ? n : 1));
    kiln_status status = KILN_OK;
    uint32_t n_loops = 0;
    if (!n_tests || !test_of || !loops || !stack)
        status = kn_fail(KILN_ERR_OUT_OF_MEMORY, "out of memory checking the loops");
    for (uint32_t j = 0; status == KILN_OK && j < n; j++) {
        const kn_model_step *test = &m->steps[j];
        if (test->op != KN_OP_LOOP_TEST) continue;
        const kn_loop_test_params *p = (const kn_loop_test_params *)(const void *)test->params;
        const kn_model_step *end = p->exit_step > (int32_t)j + 1 && (uint32_t)p->exit_step <= n
                                       ? &m->steps[p->exit_step - 1]
                                       : NULL;
        if (!end || end->op != KN_OP_LOOP_NEXT ||
            ((const kn_loop_next_params *)(const void *)end->params)->first_step > (int32_t)j)
            status = kn_fail(KILN_ERR_BAD_BUNDLE, "step %u '%s': loop exit %d does not follow its LOOP_NEXT", j,
                             test->name, p->exit_step);
        else
            n_tests[p->exit_step - 1]++, test_of[p->exit_step - 1] = (int32_t)j;
    }
    for (uint32_t j = 0; status == KILN_OK && j < n; j++) {
        const kn_model_step *next = &m->steps[j];
        if (next->op != KN_OP_LOOP_NEXT) continue;
        int32_t f = ((const kn_loop_next_params *)(const void *)next->params)->first_step;
        /* A test exiting after j lies in [first_step, j) (checked above), so this counts those in [f, j). */
        uint32_t tests = f >= 0 && f <= (int32_t)j ? n_tests[j] : 0;
        if (tests != 1)
            status = kn_fail(KILN_ERR_BAD_BUNDLE, "step %u '%s': LOOP_NEXT back to step %d has %u tests", j,
                             next->name, f, tests);
        else
            loops[n_loops++] = (kn_loop){f, (int32_t)j, test_of[j]};
    }
    if (status == KILN_OK) status = check_nesting(loops, n_loops, stack);
    free(n_tests);
    free(test_of);
    free(loops);
    free(stack);
    return status;
}

/* Steps whose output shapes are known only at run time: ops that set them from
 * data, ops whose shape follows operand values computed at run time (operand 0 is
 * always the data), and everything they feed (iterated, as loops feed back). */
static kiln_status mark_dynamic_steps(kiln_model *m) {
    uint8_t *dynamic = calloc(m->header.n_tensors ? m->header.n_tensors : 1, 1);
    if (!dynamic) return kn_fail(KILN_ERR_OUT_OF_MEMORY, "out of memory loading the model");
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t i = 0; i < m->header.n_steps; i++) {
            kn_model_step *st = &m->steps[i];
            uint32_t flags = kn_op_lookup(st->op)->flags;
            bool dyn = (flags & KN_OP_SHAPE_FROM_DATA) != 0;
            for (int k = 0; k < st->n_in && !dyn; k++) {
                uint32_t id = st->operands[k];
                /* an input of varying shape, or values a shape depends on that are computed at run time */
                dyn = id != KN_NO_TENSOR && (dynamic[id] || ((flags & KN_OP_SHAPE_FROM_VALUES) && k > 0 && !m->is_const[id]));
            }
            if (!dyn || st->dynamic) continue;
            st->dynamic = changed = true;
            for (int k = 0; k < st->n_out; k++) dynamic[st->operands[st->n_in + k]] = 1;
        }
    }
    free(dynamic);
    return KILN_OK;
}

static kiln_status load_plan(kiln_model *m) {
    const kn_header *h = &m->header;
    /* The plan is 64-byte aligned in a 16-byte aligned buffer, so it can be read as words. */
    const uint32_t *words = (const uint32_t *)(const void *)(m->bytes + h->sections[KN_SEC_PLAN].offset);
    uint64_t n_words = h->sections[KN_SEC_PLAN].size / 4, pos = 0;
    for (uint32_t i = 0; i < h->n_steps; i++) {
        uint32_t used = 0;
        kiln_status status =
            load_step(m, i, words + pos, n_words - pos, h->sections[KN_SEC_PLAN].offset + pos * 4, &used);
        if (status != KILN_OK) return status;
        pos += used;
    }
    if (pos != n_words)
        return kn_fail(KILN_ERR_BAD_BUNDLE, "plan has %llu words after its %u steps", (unsigned long long)(n_words - pos),
                       h->n_steps);
    kiln_status status = check_loops(m);
    if (status == KILN_OK) status = mark_dynamic_steps(m);
    return status != KILN_OK ? status : check_and_prepare_steps(m);
}

kiln_status kiln_model_load(const void *bundle, size_t size, kiln_model **out) {
    if (!out) return kn_fail(KILN_ERR_INVALID_ARGUMENT, "kiln_model_load: out is NULL");
    *out = NULL;
    if (!bundle) return kn_fail(KILN_ERR_INVALID_ARGUMENT, "kiln_model_load: bundle is NULL");
    if ((uintptr_t)bundle % 16)
        return kn_fail(KILN_ERR_INVALID_ARGUMENT, "kiln_model_load: bundle must be 16-byte aligned (malloc'd memory is)");
    kn_header h;
    kiln_status status = check_header(bundle, size, &h);
    if (status != KILN_OK) return status;

    kiln_model *m = calloc(1, sizeof *m);
    if (!m) return kn_fail(KILN_ERR_OUT_OF_MEMORY, "out of memory loading the model");
    m->bytes = bundle;
    m->size = size;
    m->header = h;
    m->strings = (const char *)m->bytes + h.sections[KN_SEC_STRINGS].offset;
    m->strings_size = (size_t)h.sections[KN_SEC_STRINGS].size;
    m->tensors = calloc(h.n_tensors ? h.n_tensors : 1, sizeof *m->tensors);
    m->offsets = calloc(h.n_tensors ? h.n_tensors : 1, sizeof *m->offsets);
    m->is_const = calloc(h.n_tensors ? h.n_tensors : 1, 1);
    m->io = calloc((size_t)h.n_inputs + h.n_outputs + 1, sizeof *m->io);
    m->steps = calloc(h.n_steps ? h.n_steps : 1, sizeof *m->steps);
    if (!m->tensors || !m->offsets || !m->is_const || !m->io || !m->steps) {
        kiln_model_free(m);
        return kn_fail(KILN_ERR_OUT_OF_MEMORY, "out of memory loading the model");
    }
    if (m->strings_size && m->strings[m->strings_size - 1] != '\0')
        status = kn_fail(KILN_ERR_BAD_BUNDLE, "strings section does not end with a NUL");
    if (status == KILN_OK) status = load_tensors(m);
    if (status == KILN_OK) status = load_io(m);
    if (status == KILN_OK) status = load_plan(m);
    if (status != KILN_OK) {
        kiln_model_free(m);
        return status;
    }
    *out = m;
    return KILN_OK;
}

void kiln_model_free(kiln_model *m) {
    if (!m) return;
    if (m->steps)
        for (uint32_t i = 0; i < m->header.n_steps; i++) {
            const kn_op_def *def = kn_op_lookup(m->steps[i].op);
            if (m->steps[i].state && def && def->release) def->release(m->steps[i].state);
        }
    free(m->steps);
    free(m->io);
    free(m->is_const);
    free(m->offsets);
    free(m->tensors);
    free(m);
}

int kiln_model_num_inputs(const kiln_model *m) { return m ? (int)m->header.n_inputs : 0; }
int kiln_model_num_outputs(const kiln_model *m) { return m ? (int)m->header.n_outputs : 0; }
size_t kiln_model_arena_size(const kiln_model *m) { return m ? (size_t)m->header.arena_size : 0; }
int kiln_model_num_steps(const kiln_model *m) { return m ? (int)m->header.n_steps : 0; }

const kiln_tensor_desc *kiln_model_input(const kiln_model *m, int index) {
    if (!m || index < 0 || (uint32_t)index >= m->header.n_inputs) return NULL;
    return &m->tensors[m->io[index]];
}

const kiln_tensor_desc *kiln_model_output(const kiln_model *m, int index) {
    if (!m || index < 0 || (uint32_t)index >= m->header.n_outputs) return NULL;
    return &m->tensors[m->io[m->header.n_inputs + (uint32_t)index]];
}

static int find_io(const kiln_model *m, const char *name, uint32_t first, uint32_t count) {
    if (!m || !name) return -1;
    for (uint32_t i = 0; i < count; i++)
        if (strcmp(m->tensors[m->io[first + i]].name, name) == 0) return (int)i;
    return -1;
}

int kiln_model_find_input(const kiln_model *m, const char *name) {
    return find_io(m, name, 0, m ? m->header.n_inputs : 0);
}

int kiln_model_find_output(const kiln_model *m, const char *name) {
    return find_io(m, name, m ? m->header.n_inputs : 0, m ? m->header.n_outputs : 0);
}

const char *kiln_tensor_name(const kiln_tensor_desc *t) { return t ? t->name : NULL; }
kiln_dtype kiln_tensor_dtype(const kiln_tensor_desc *t) { return t ? t->dtype : (kiln_dtype)0; }
int kiln_tensor_rank(const kiln_tensor_desc *t) { return t ? t->rank : 0; }
const int32_t *kiln_tensor_dims(const kiln_tensor_desc *t) { return t ? t->dims : NULL; }
size_t kiln_tensor_size(const kiln_tensor_desc *t) { return t ? kn_tensor_bytes(t) : 0; }
const void *kiln_tensor_data(const kiln_tensor_desc *t) { return t ? t->data : NULL; }
