/* The memory planner on its own: no two buffers alive at once may overlap,
 * offsets are aligned, and reuse happens where lifetimes allow. */
#include <stdlib.h>

#include "check.h"
#include "planner.h"

static int overlaps(const kc_buffer *a, const kc_buffer *b) {
    bool time = a->first <= b->last && b->first <= a->last;
    bool space = a->offset < b->offset + b->size && b->offset < a->offset + a->size;
    return time && space && a->size && b->size;
}

static void check_valid(const kc_buffer *b, int n, size_t align, size_t arena) {
    for (int i = 0; i < n; i++) {
        CHECK(b[i].offset % align == 0);
        CHECK(b[i].offset + b[i].size <= arena);
        for (int j = i + 1; j < n; j++) CHECK(!overlaps(&b[i], &b[j]));
    }
}

/* A chain a -> b -> c -> d: each buffer dies when the next is made, so two slots suffice. */
static void chain_reuses_memory(void) {
    kc_buffer b[4] = {{100, 0, 1, 0}, {100, 1, 2, 0}, {100, 2, 3, 0}, {100, 3, 4, 0}};
    size_t arena;
    CHECK(kc_plan_memory(b, 4, 64, &arena));
    check_valid(b, 4, 64, arena);
    CHECK(arena == 256); /* two 100-byte buffers, the second at offset 128 */
    CHECK(b[0].offset == b[2].offset);
    CHECK(b[1].offset == b[3].offset);
}

/* All alive together: the arena is the aligned sum. */
static void all_live_is_sum(void) {
    kc_buffer b[3] = {{10, 0, 5, 0}, {70, 0, 5, 0}, {64, 0, 5, 0}};
    size_t arena;
    CHECK(kc_plan_memory(b, 3, 64, &arena));
    check_valid(b, 3, 64, arena);
    CHECK(arena == 128 + 64 + 64);
}

/* The largest is placed first at 0; a small one fits in a gap left between two others. */
static void small_fills_gap(void) {
    kc_buffer b[4] = {
        {1000, 0, 10, 0}, /* big, alive throughout */
        {200, 0, 2, 0},   /* dies early */
        {300, 0, 10, 0},  /* alive throughout, placed after the 200 */
        {150, 5, 8, 0},   /* born after the 200 died: fits in its place */
    };
    size_t arena;
    CHECK(kc_plan_memory(b, 4, 64, &arena));
    check_valid(b, 4, 64, arena);
    CHECK(b[0].offset == 0);
    CHECK(b[3].offset < b[2].offset || b[3].offset == b[1].offset);
    CHECK(arena <= 1024 + 320 + 256);
}

static void zero_buffers(void) {
    size_t arena = 99;
    CHECK(kc_plan_memory(NULL, 0, 64, &arena));
    CHECK(arena == 0);
}

/* Random lifetimes: validity always holds, and the plan never exceeds the sum. */
static void random_plans_are_valid(void) {
    srand(7);
    for (int trial = 0; trial < 200; trial++) {
        int n = 1 + rand() % 40;
        kc_buffer b[40];
        size_t sum = 0;
        for (int i = 0; i < n; i++) {
            int first = rand() % 30;
            b[i] = (kc_buffer){(size_t)(1 + rand() % 5000), first, first + rand() % 10, 0};
            sum += (b[i].size + 63) & ~(size_t)63;
        }
        size_t arena;
        CHECK(kc_plan_memory(b, n, 64, &arena));
        check_valid(b, n, 64, arena);
        CHECK(arena <= sum);
    }
}

/* The greedy-by-size rule written plainly (every pair compared): the planner must
 * place every buffer exactly where this does, only faster. */
static size_t reference_plan(kc_buffer *b, int n, size_t align) {
    int *order = malloc(sizeof(int) * (size_t)n);
    bool *placed = calloc((size_t)n, 1);
    size_t total = 0;
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 0; i < n; i++) /* by size, larger first; then earlier first; then index */
        for (int j = i + 1; j < n; j++) {
            const kc_buffer *x = &b[order[i]], *y = &b[order[j]];
            bool swap = y->size > x->size || (y->size == x->size && (y->first < x->first ||
                                                                    (y->first == x->first && order[j] < order[i])));
            if (swap) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
    for (int i = 0; i < n; i++) {
        kc_buffer *x = &b[order[i]];
        size_t offset = 0;
        for (bool moved = true; moved;) { /* lowest offset clear of every placed buffer alive with x */
            moved = false;
            for (int j = 0; j < n; j++) {
                const kc_buffer *q = &b[j];
                bool alive = placed[j] && x->first <= q->last && q->first <= x->last;
                if (alive && offset < q->offset + q->size && q->offset < offset + x->size) {
                    offset = (q->offset + q->size + align - 1) & ~(align - 1);
                    moved = true;
                }
            }
        }
        x->offset = offset;
        placed[order[i]] = true;
        if (offset + x->size > total) total = offset + x->size;
    }
    free(order);
    free(placed);
    return (total + align - 1) & ~(align - 1);
}

static void same_plan_as_reference(void) {
    srand(11);
    for (int trial = 0; trial < 40; trial++) {
        int n = 1 + rand() % 300, steps = 1 + rand() % 200;
        kc_buffer *a = malloc(sizeof *a * (size_t)n), *b = malloc(sizeof *b * (size_t)n);
        for (int i = 0; i < n; i++) {
            int first = rand() % steps, len = rand() % 4 ? rand() % 8 : rand() % steps;
            size_t size = rand() % 3 ? (size_t)(64 * (1 + rand() % 8)) : (size_t)(1 + rand() % 5000);
            a[i] = b[i] = (kc_buffer){size, first, first + len, 0};
        }
        size_t arena;
        CHECK(kc_plan_memory(a, n, 64, &arena));
        CHECK(arena == reference_plan(b, n, 64));
        for (int i = 0; i < n; i++) CHECK(a[i].offset == b[i].offset);
        free(a);
        free(b);
    }
}

/* 200,000 short-lived buffers (each read by the next two steps, as in a long chain
 * of binary ops): three slots, found without comparing every pair. */
static void long_chain(void) {
    enum { N = 200000 };
    kc_buffer *b = malloc(sizeof *b * N);
    for (int i = 0; i < N; i++) b[i] = (kc_buffer){32, i, i + 2, 0};
    size_t arena;
    CHECK(kc_plan_memory(b, N, 64, &arena));
    CHECK(arena == 3 * 64);
    for (int i = 0; i + 2 < N; i++) CHECK(b[i].offset != b[i + 1].offset && b[i].offset != b[i + 2].offset);
    free(b);
}

int main(void) {
    RUN(chain_reuses_memory);
    RUN(all_live_is_sum);
    RUN(small_fills_gap);
    RUN(zero_buffers);
    RUN(random_plans_are_valid);
    RUN(same_plan_as_reference);
    RUN(long_chain);
    return check_summary();
}
