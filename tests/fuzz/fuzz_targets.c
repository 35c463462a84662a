/* The fuzz targets' bodies (see fuzz_targets.h). */
#define _POSIX_C_SOURCE 200809L

#include "fuzz_targets.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "convert.h"
#include "diag.h"
#include "format.h"
#include "kn.h"
#include "model.h"
#include "ops/params.h"
#include "read_keras_file.h"
#include "read_pb.h"
#include "read_savedmodel.h"
#include "read_tfjs.h"
#include "writer.h"

#if defined(__SANITIZE_ADDRESS__) /* gcc */
#define KF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KF_ASAN 1
#endif
#endif
#ifdef KF_ASAN
#include <sanitizer/asan_interface.h>
#endif

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
        kiln_context_step_profile(ctx, (int)i, NULL, NULL, NULL, &flops, NULL);
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
static const char *const keras_files[] = {"model.h5", "model.keras"};

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
    for (size_t i = 0; i < sizeof keras_files / sizeof *keras_files; i++) {
        file_path(path, sizeof path, keras_files[i]);
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

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }

/* Sets the CRC-32 of each central directory entry of a stored zip entry to
 * that of its data (located as zip.c does: the local header at the entry's
 * offset, then the central directory's compressed size). */
static void fix_stored_crcs(uint8_t *z, size_t size) {
    for (size_t c = 0; c + 46 <= size; c++) {
        if (memcmp(z + c, "PK\1\2", 4) != 0 || le16(z + c + 10) != 0) continue;
        size_t local = le32(z + c + 42), n = le32(z + c + 20);
        if (local > size || size - local < 30 || memcmp(z + local, "PK\3\4", 4) != 0) continue;
        size_t start = local + 30 + le16(z + local + 26) + le16(z + local + 28);
        if (start > size || size - start < n) continue;
        uint32_t crc = (uint32_t)crc32(0, z + start, (uInt)n);
        for (int k = 0; k < 4; k++) z[c + 16 + k] = (uint8_t)(crc >> 8 * k);
    }
}

#ifdef KF_ASAN
static pid_t harness_pid;

/* Whether stack frame #1 of the first stack in `from` (an ASan report or part of one) is in libhdf5. */
static bool frame1_in_hdf5(const char *from) {
    const char *f = from ? strstr(from, "#1 ") : NULL, *eol = f ? strchr(f, '\n') : NULL;
    const char *lib = f ? strstr(f, "libhdf5") : NULL;
    return lib && (!eol || lib < eol);
}

/* ASan's report callback: see KF_HDF5_REPORT_EXIT. The access is frame #1 (frame #0 is the
 * interceptor), the allocation the "allocated by" stack's #1 (#0 is malloc). */
static void on_asan_report(const char *report) {
    if (getpid() != harness_pid && frame1_in_hdf5(report) && frame1_in_hdf5(strstr(report, "allocated by thread")))
        _exit(KF_HDF5_REPORT_EXIT);
}
#endif

void kf_kerasfile(const uint8_t *data, size_t size) {
    make_dir();
#ifdef KF_ASAN
    if (!harness_pid) {
        harness_pid = getpid();
        __asan_set_error_report_callback(on_asan_report);
    }
#endif
    bool zip = size >= 4 && memcmp(data, "PK\3\4", 4) == 0;
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes) return;
    if (size) memcpy(bytes, data, size);
    if (zip) fix_stored_crcs(bytes, size);
    const char *name = keras_files[zip];
    write_file(name, bytes, size);
    free(bytes);
    char path[128];
    file_path(path, sizeof path, name);
    read_keras_file_limit_ms = KF_KERAS_READ_MS; /* HDF5 loops on some inputs: each costs this */
    tf_graph *g = read_keras_file(path);
    if (g) {
        convert_and_run(g);
        tf_graph_free(g);
    } else {
        /* Not a crash (a signal) nor the child's own exit: a sanitizer in the child reported, on stderr. */
        char hdf5s[64];
        snprintf(hdf5s, sizeof hdf5s, "(exit status %d)", KF_HDF5_REPORT_EXIT);
        if (strstr(kc_last_error(), "stopped the reading process") && !strstr(kc_last_error(), hdf5s)) {
            fprintf(stderr, "fuzz: %s\n", kc_last_error());
            abort();
        }
    }
    ssize_t open_ids = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open_ids != 0) {
        fprintf(stderr, "fuzz: reading the Keras file left %zd HDF5 objects open\n", open_ids);
        abort();
    }
    remove_files();
}
