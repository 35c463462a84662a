/* Replays every input in tests/fuzz/regressions/<target>/ (crashes the fuzzers
 * found, and hand-made hostile inputs) through the fuzz targets' own code,
 * without libFuzzer. Passing means returning: a regression that crashes, trips
 * a sanitizer (in build-asan) or hangs fails the test. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

/* The same code the fuzzers run. */
#include "../fuzz/fuzz_targets.c"

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Reads a whole file; NULL (after a failed CHECK) if it cannot. */
static uint8_t *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)n + 1)) && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    if (f) fclose(f);
    CHECK(data != NULL);
    if (!data) fprintf(stderr, "cannot read %s\n", path);
    *size = (size_t)n;
    return data;
}

/* Runs `target` on each file of tests/fuzz/regressions/<name>/, in name order. */
static void replay(const char *name, void (*target)(const uint8_t *, size_t)) {
    char dir_path[256];
    snprintf(dir_path, sizeof dir_path, "tests/fuzz/regressions/%s", name);
    DIR *dir = opendir(dir_path);
    if (!dir) return; /* no regressions for this target yet */
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, cap * sizeof *names);
            CHECK(grown != NULL);
            if (!grown) break;
            names = grown;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(dir);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir_path, names[i]);
        size_t size = 0;
        uint8_t *data = read_all(path, &size);
        if (data) {
            fprintf(stderr, "  %s\n", path); /* names the input if it crashes */
            target(data, size);
        }
        free(data);
        free(names[i]);
    }
    free(names);
    fprintf(stderr, "replayed %zu %s input%s\n", n, name, n == 1 ? "" : "s");
}

static void test_bundle(void) { replay("bundle", kf_bundle); }
static void test_pb(void) { replay("pb", kf_pb); }
static void test_tfjs(void) { replay("tfjs", kf_tfjs); }
static void test_keras(void) { replay("keras", kf_tfjs); } /* fuzz_keras runs kf_tfjs too */
static void test_savedmodel(void) { replay("savedmodel", kf_savedmodel); }
static void test_kerasfile(void) { replay("kerasfile", kf_kerasfile); }

/* ---- hostile inputs that are too big to keep as files ------------------------------- */

/* A bundle of n_loops empty loops, each a LOOP_TEST on one bool and a LOOP_NEXT: 40
 * bytes a loop, so a few MB hold 10^5 loops. Checking how loops nest pair by pair
 * took minutes on such a bundle; loading must stay fast. */
static uint8_t *many_loops(uint32_t n_loops, size_t *size) {
    const uint32_t rec_words = 6 + 4; /* LOOP_TEST: 3 + 1 input + 2 params; LOOP_NEXT: 3 + 1 param */
    uint64_t plan = (uint64_t)n_loops * rec_words * 4;
    kn_header h = {.magic = KN_MAGIC, .version = KN_FORMAT_VERSION, .header_size = KN_HEADER_SIZE,
                   .arena_size = 64, .n_tensors = 1, .n_steps = 2 * n_loops};
    uint64_t at = KN_HEADER_SIZE, sizes[KN_SEC_COUNT] = {64, sizeof(kn_tensor_rec), 0, plan, 0};
    for (int i = 0; i < KN_SEC_COUNT; i++) {
        h.sections[i].offset = at;
        h.sections[i].size = sizes[i];
        at += (sizes[i] + KN_ALIGN - 1) / KN_ALIGN * KN_ALIGN;
    }
    h.file_size = at;
    uint8_t *b = calloc(1, (size_t)at);
    if (!b) return NULL;
    kn_tensor_rec cond = {.name = KN_NO_STRING, .dtype = KILN_BOOL, .storage = KN_STORAGE_ARENA};
    memcpy(b + h.sections[KN_SEC_TENSORS].offset, &cond, sizeof cond);
    uint32_t *w = (uint32_t *)(void *)(b + h.sections[KN_SEC_PLAN].offset);
    for (uint32_t k = 0; k < n_loops; k++) {
        const uint32_t test[] = {KN_OP_LOOP_TEST | 1u << 16, 2, KN_NO_STRING, 0, 2 * k + 2, 0};
        const uint32_t next[] = {KN_OP_LOOP_NEXT, 1, KN_NO_STRING, 2 * k};
        memcpy(w, test, sizeof test);
        memcpy(w + 6, next, sizeof next);
        w += rec_words;
    }
    memcpy(b, &h, sizeof h);
    h.checksum = kn_crc32c(b + 12, (size_t)at - 12);
    memcpy(b, &h, sizeof h);
    *size = (size_t)at;
    return b;
}

static void test_many_loops_load_fast(void) {
    size_t size;
    uint8_t *b = many_loops(100000, &size);
    CHECK(b != NULL);
    if (!b) return;
    clock_t t0 = clock();
    kiln_model *m = NULL;
    kiln_status st = kiln_model_load(b, size, &m);
    if (st != KILN_OK) fprintf(stderr, "%s\n", kiln_last_error());
    CHECK(st == KILN_OK);
    double seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(kiln_model_num_steps(m) == 200000);
    if (seconds > 2) fprintf(stderr, "loading 100000 loops took %.1f s\n", seconds);
    CHECK(seconds <= 2);
    kiln_model_free(m);
    free(b);
}

int main(void) {
    RUN(test_bundle);
    RUN(test_pb);
    RUN(test_tfjs);
    RUN(test_keras);
    RUN(test_savedmodel);
    RUN(test_kerasfile);
    RUN(test_many_loops_load_fast);
    return check_summary();
}
