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

int main(void) {
    RUN(chain_reuses_memory);
    RUN(all_live_is_sum);
    RUN(small_fills_gap);
    RUN(zero_buffers);
    RUN(random_plans_are_valid);
    return check_summary();
}
