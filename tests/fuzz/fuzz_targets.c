/* The fuzz targets' bodies (see fuzz_targets.h). */
#define _POSIX_C_SOURCE 200809L

#include "fuzz_targets.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert.h"
#include "format.h"
#include "kn.h"
#include "model.h"
#include "ops/params.h"
#include "read_pb.h"
#include "read_savedmodel.h"
#include "read_tfjs.h"
#include "writer.h"

/* What one run may cost at most: each step's FLOPs plus KF_STEP_COST, times the
 * iteration caps of the loops around it (loops nest; the loader checked that). */
static double run_cost(const kiln_model *m, kiln_context *ctx) {
    uint32_t n = m->header.n_steps;
    double *log_runs = calloc((size_t)n + 1, sizeof *log_runs), cost = 0, level = 0;
    if (!log_runs) return INFINITY;
    for (uint32_t t = 0; t < n; t++) {
        if (m->steps[t].op != KN_OP_LOOP_TEST) continue;
        const kn_loop_test_params *test = (const void *)m->steps[t].params;
        const kn_loop_next_params *next = (const void *)m->steps[test->exit_step - 1].params;
        double w = log(test->max_iterations + 1.0);
        log_runs[next->first_step] += w;
        log_runs[test->exit_step] -= w;
    }
    for (uint32_t i = 0; i < n && cost <= KF_MAX_RUN_COST; i++) {
        double flops = 0;
        kiln_context_step_profile(ctx, (int)i, NULL, NULL, NULL, &flops);
        level += log_runs[i];
        cost += exp(level) * (KF_STEP_COST + flops);
    }
    free(log_runs);
    return cost;
}

/* Runs a loaded model once on zero inputs and reads every output byte. */
static void run_model(const kiln_model *model) {
    if (kiln_model_arena_size(model) > KF_MAX_RUN_ARENA) return;
    kiln_context *ctx;
    if (kiln_context_create(model, &ctx) != KILN_OK) return;
    bool ok = run_cost(model, ctx) <= KF_MAX_RUN_COST;
    for (int i = 0; ok && i < kiln_model_num_inputs(model); i++) {
        const kiln_tensor_desc *in = kiln_model_input(model, i);
        size_t bytes = kiln_tensor_size(in);
        void *zeros = calloc(bytes ? bytes : 1, 1);
        ok = zeros && kiln_model_find_input(model, kiln_tensor_name(in)) >= 0 &&
             kiln_set_input(ctx, i, kiln_tensor_dtype(in), kiln_tensor_dims(in), kiln_tensor_rank(in), zeros,
                            bytes) == KILN_OK;
        free(zeros);
    }
    if (ok && kiln_run(ctx) == KILN_OK) {
        unsigned sum = 0;
        for (int i = 0; i < kiln_model_num_outputs(model); i++) {
            const kiln_tensor_desc *out = kiln_context_output(ctx, i);
            const uint8_t *p = kiln_tensor_data(out);
            for (size_t k = 0, n = kiln_tensor_size(out); k < n; k++) sum += p[k];
        }
        /* Keeps the reads: the compiler may not drop them. */
        volatile unsigned sink = sum;
        (void)sink;
    }
    kiln_context_free(ctx);
}

void kf_bundle(const uint8_t *data, size_t size) {
    /* kiln_model_load wants 16-byte aligned bytes; malloc's are. */
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes) return;
    if (size) memcpy(bytes, data, size);
    if (size >= KN_HEADER_SIZE) {
        uint64_t file_size = size;
        memcpy(bytes + offsetof(kn_header, file_size), &file_size, sizeof file_size);
        uint32_t crc = kn_crc32c(bytes + 12, size - 12);
        memcpy(bytes + offsetof(kn_header, checksum), &crc, sizeof crc);
    }
    kiln_model *model;
    if (kiln_model_load(bytes, size, &model) == KILN_OK) {
        run_model(model);
        kiln_model_free(model);
    }
    free(bytes);
}

/* Bytes of all the tensors of a program, constants and activations. */
static double program_bytes(const kc_program *p) {
    double sum = 0;
    for (int i = 0; i < p->n_tensors; i++) sum += (double)kn_tensor_bytes(&p->tensors[i].t);
    return sum;
}

/* Lists the ops of a graph the readers accepted (kiln-convert --list-ops), converts it;
 * what the converter builds must load. */
static void convert_and_run(tf_graph *g) {
    kc_options opt = {0};
    free(kc_list_ops(g, &opt));
    kc_program p = {0};
    uint8_t *bytes = NULL;
    size_t size = 0;
    kc_bundle_stats stats;
    if (kc_convert(g, &opt, &p) && program_bytes(&p) <= KF_MAX_BUILD_BYTES &&
        kc_build_bundle(&p, &bytes, &size, &stats)) {
        kiln_model *model;
        if (kiln_model_load(bytes, size, &model) != KILN_OK) {
            fprintf(stderr, "fuzz: the converter built a bundle the runtime rejects: %s\n", kiln_last_error());
            abort();
        }
        run_model(model);
        kiln_model_free(model);
    }
    free(bytes);
    kc_program_free(&p);
}

void kf_pb(const uint8_t *data, size_t size) {
    tf_graph *g = read_pb(data, size, "fuzz.pb");
    if (!g) return;
    convert_and_run(g);
    tf_graph_free(g);
}

/* ---- Model files in a private directory ----------------------------------------- */

static char tmp_dir[64];
static const char *const savedmodel_files[] = {"saved_model.pb", "variables/variables.index",
                                               "variables/variables.data-00000-of-00001"};

static void file_path(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", tmp_dir, name); }

static void remove_files(void) {
    char path[128];
    file_path(path, sizeof path, "model.json");
    unlink(path);
    for (int i = 0; i < KF_MAX_SHARDS; i++) {
        char name[8];
        snprintf(name, sizeof name, "%d", i);
        file_path(path, sizeof path, name);
        unlink(path);
    }
    for (size_t i = 0; i < sizeof savedmodel_files / sizeof *savedmodel_files; i++) {
        file_path(path, sizeof path, savedmodel_files[i]);
        unlink(path);
    }
}

static void remove_dir(void) {
    char path[128];
    remove_files();
    file_path(path, sizeof path, "variables");
    rmdir(path);
    rmdir(tmp_dir);
}

/* Creates the directory (and its variables/) on first use: in /dev/shm (memory) when there is one. */
static void make_dir(void) {
    if (tmp_dir[0]) return;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char path[128];
    snprintf(tmp_dir, sizeof tmp_dir, "%s/kiln-fuzz-XXXXXX", base);
    bool made = mkdtemp(tmp_dir) != NULL;
    file_path(path, sizeof path, "variables");
    if (!made || mkdir(path, 0700) != 0) {
        perror("fuzz: making a temporary directory");
        abort(); /* the harness cannot work without it */
    }
    atexit(remove_dir);
}

static void write_file(const char *name, const uint8_t *data, size_t size) {
    char path[128];
    file_path(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror("fuzz: writing a temporary file");
        abort();
    }
}

/* The first occurrence of the marker in data[0, size), or NULL. */
static const uint8_t *find_marker(const uint8_t *data, size_t size) {
    size_t m = sizeof KF_SHARD_MARKER - 1;
    for (size_t i = 0; i + m <= size; i++)
        if (data[i] == KF_SHARD_MARKER[0] && memcmp(data + i, KF_SHARD_MARKER, m) == 0) return data + i;
    return NULL;
}

void kf_tfjs(const uint8_t *data, size_t size) {
    make_dir();
    size_t m = sizeof KF_SHARD_MARKER - 1;
    const uint8_t *end = data + size, *cut = find_marker(data, size);
    write_file("model.json", data, cut ? (size_t)(cut - data) : size);
    for (int i = 0; cut && i < KF_MAX_SHARDS; i++) {
        const uint8_t *start = cut + m;
        cut = i + 1 < KF_MAX_SHARDS ? find_marker(start, (size_t)(end - start)) : NULL;
        char name[8];
        snprintf(name, sizeof name, "%d", i);
        write_file(name, start, (size_t)((cut ? cut : end) - start));
    }
    char path[128];
    file_path(path, sizeof path, "model.json");
    tf_graph *g = read_tfjs(path);
    if (g) {
        convert_and_run(g);
        tf_graph_free(g);
    }
    remove_files();
}

void kf_savedmodel(const uint8_t *data, size_t size) {
    make_dir();
    size_t m = sizeof KF_SHARD_MARKER - 1, n = sizeof savedmodel_files / sizeof *savedmodel_files;
    const uint8_t *start = data, *end = data + size;
    for (size_t i = 0; i < n && start; i++) {
        const uint8_t *cut = i + 1 < n ? find_marker(start, (size_t)(end - start)) : NULL;
        write_file(savedmodel_files[i], start, (size_t)((cut ? cut : end) - start));
        start = cut ? cut + m : NULL;
    }
    tf_graph *g = read_savedmodel(tmp_dir, NULL);
    if (g) {
        convert_and_run(g);
        tf_graph_free(g);
    }
    remove_files();
}
