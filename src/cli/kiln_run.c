/* kiln-run: run a .kiln bundle on .npy inputs from the command line. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "kiln.h"
#include "npy.h"

static const char usage[] =
    "usage: kiln-run MODEL.kiln [options]\n"
    "\n"
    "Runs the model once (or more with --bench) and prints each output's shape and\n"
    "first values. With no inputs given, prints the model's inputs and outputs.\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE.npy   feed input NAME from a NumPy file (the name may be left\n"
    "                          out when the model has one input); repeat per input\n"
    "  --seeded                feed every input not given with deterministic values\n"
    "                          (xorshift32, seed 0x12345678 + input index; floats in\n"
    "                          [0,1), integers in 0..255), as the test tools do\n"
    "  --output-dir DIR        write each output to DIR/<name>.npy, where <name> is the\n"
    "                          output's name with every character outside\n"
    "                          [A-Za-z0-9._-] replaced by '_'\n"
    "  --bench N               after the first run, run N times and print the median\n"
    "                          and minimum milliseconds\n"
    "  --profile               after the first run, print each step's time, GFLOP/s\n"
    "                          and share of the total\n"
    "  -h, --help              this text\n";

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads a whole file into 64-byte aligned memory (kiln_model_load wants 16). */
static void *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "kiln-run: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    void *data = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = aligned_alloc(64, ((size_t)n + 64) & ~(size_t)63);
        if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    if (!data) fprintf(stderr, "kiln-run: %s: cannot read\n", path);
    *size = (size_t)n;
    return data;
}

static void print_desc(const char *kind, const kiln_tensor_desc *t) {
    printf("%s %s %s[", kind, kiln_tensor_name(t), kiln_dtype_name(kiln_tensor_dtype(t)));
    for (int d = 0; d < kiln_tensor_rank(t); d++) printf(d ? ",%d" : "%d", kiln_tensor_dims(t)[d]);
    printf("]");
}

/* The deterministic input generator shared with tests/tools/common.mjs. */
static void seeded_fill(void *data, size_t count, kiln_dtype dtype, uint32_t seed) {
    uint32_t x = seed ? seed : 1;
    for (size_t i = 0; i < count; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        double u = (double)(x >> 8) / 16777216.0;
        switch (dtype) {
        case KILN_FLOAT32: ((float *)data)[i] = (float)u; break;
        case KILN_INT32: ((int32_t *)data)[i] = (int32_t)(256.0 * u); break;
        case KILN_UINT8: ((uint8_t *)data)[i] = (uint8_t)(256.0 * u); break;
        case KILN_BOOL: ((uint8_t *)data)[i] = u >= 0.5; break;
        }
    }
}

static void safe_name(const char *name, char *out, size_t cap) {
    size_t i = 0;
    for (; name[i] && i + 1 < cap; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-';
        out[i] = ok ? c : '_';
    }
    out[i] = '\0';
}

static void print_values(const kiln_tensor_desc *t) {
    size_t n = kiln_tensor_size(t) / kiln_dtype_size(kiln_tensor_dtype(t));
    const void *d = kiln_tensor_data(t);
    printf(" =");
    for (size_t i = 0; i < n && i < 8; i++) {
        switch (kiln_tensor_dtype(t)) {
        case KILN_FLOAT32: printf(" %.6g", ((const float *)d)[i]); break;
        case KILN_INT32: printf(" %d", ((const int32_t *)d)[i]); break;
        default: printf(" %u", ((const uint8_t *)d)[i]); break;
        }
    }
    printf(n > 8 ? " ... (%zu values)\n" : "\n", n);
}

static int feed(kiln_context *ctx, const npy_array *in, int n) {
    for (int i = 0; i < n; i++)
        if (kiln_set_input(ctx, i, in[i].dtype, in[i].dims, in[i].rank, in[i].data, in[i].nbytes) != KILN_OK) {
            fprintf(stderr, "kiln-run: %s\n", kiln_last_error());
            return 1;
        }
    return 0;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench(kiln_context *ctx, int n, const npy_array *in, int n_in) {
    double *ms = malloc(sizeof(double) * (size_t)n);
    if (!ms) return 1;
    for (int i = 0; i < n; i++) {
        if (feed(ctx, in, n_in)) {
            free(ms);
            return 1;
        }
        double t0 = now_seconds();
        if (kiln_run(ctx) != KILN_OK) {
            fprintf(stderr, "kiln-run: %s\n", kiln_last_error());
            free(ms);
            return 1;
        }
        ms[i] = (now_seconds() - t0) * 1e3;
    }
    qsort(ms, (size_t)n, sizeof *ms, compare_double);
    printf("bench: %d runs, median %.3f ms, min %.3f ms\n", n, ms[n / 2], ms[0]);
    free(ms);
    return 0;
}

static int profile(kiln_context *ctx, const kiln_model *model, const npy_array *in, int n_in) {
    if (feed(ctx, in, n_in)) return 1;
    if (kiln_context_set_profiling(ctx, now_seconds) != KILN_OK || kiln_run(ctx) != KILN_OK) {
        fprintf(stderr, "kiln-run: %s\n", kiln_last_error());
        return 1;
    }
    double total = 0;
    int n = kiln_model_num_steps(model);
    for (int i = 0; i < n; i++) {
        double s;
        kiln_context_step_profile(ctx, i, NULL, NULL, &s, NULL, NULL);
        total += s;
    }
    printf("%5s  %-10s %9s %6s %8s %6s  %s\n", "step", "op", "ms", "runs", "GFLOP/s", "share", "node");
    for (int i = 0; i < n; i++) {
        const char *op, *node;
        double s, flops;
        uint32_t runs;
        kiln_context_step_profile(ctx, i, &op, &node, &s, &flops, &runs);
        printf("%5d  %-10s %9.3f %6u %8.2f %5.1f%%  %s\n", i, op, s * 1e3, runs, s > 0 ? flops * runs / s * 1e-9 : 0.0,
               total > 0 ? 100 * s / total : 0.0, node);
    }
    printf("total %.3f ms\n", total * 1e3);
    kiln_context_set_profiling(ctx, NULL);
    return 0;
}

int main(int argc, char **argv) {
    const char *path = NULL, *out_dir = NULL;
    const char **feeds = calloc((size_t)argc, sizeof *feeds);
    int n_feeds = 0, bench_runs = 0;
    bool seeded = false, want_profile = false;
    if (!feeds) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            free(feeds);
            return 0;
        } else if (!strcmp(a, "--input") && has_value) {
            feeds[n_feeds++] = argv[++i];
        } else if (!strcmp(a, "--output-dir") && has_value) {
            out_dir = argv[++i];
        } else if (!strcmp(a, "--bench") && has_value) {
            bench_runs = atoi(argv[++i]);
            if (bench_runs < 1) {
                fprintf(stderr, "kiln-run: --bench needs a positive count\n");
                free(feeds);
                return 2;
            }
        } else if (!strcmp(a, "--seeded")) {
            seeded = true;
        } else if (!strcmp(a, "--profile")) {
            want_profile = true;
        } else if (a[0] == '-' || path) {
            fprintf(stderr, "kiln-run: unexpected argument '%s'\n\n%s", a, usage);
            free(feeds);
            return 2;
        } else {
            path = a;
        }
    }
    if (!path) {
        fputs(usage, stderr);
        free(feeds);
        return 2;
    }
    size_t size;
    void *bytes = read_file(path, &size);
    if (!bytes) {
        free(feeds);
        return 1;
    }
    kiln_model *model = NULL;
    kiln_context *ctx = NULL;
    int status = 1;
    double t0 = now_seconds();
    if (kiln_model_load(bytes, size, &model) != KILN_OK || kiln_context_create(model, &ctx) != KILN_OK) {
        fprintf(stderr, "kiln-run: %s: %s\n", path, kiln_last_error());
        goto done;
    }
    double load_ms = (now_seconds() - t0) * 1e3;
    int n_in = kiln_model_num_inputs(model), n_out = kiln_model_num_outputs(model);
    if (!n_feeds && !seeded) {
        for (int i = 0; i < n_in; i++) print_desc("input ", kiln_model_input(model, i)), printf("\n");
        for (int i = 0; i < n_out; i++) print_desc("output", kiln_model_output(model, i)), printf("\n");
        printf("arena %zu bytes, %d steps\n", kiln_model_arena_size(model), kiln_model_num_steps(model));
        status = 0;
        goto done;
    }
    /* Host copies of the inputs: the arena is reused during a run, so each run feeds them again. */
    npy_array *in = calloc((size_t)n_in + 1, sizeof *in);
    if (!in) goto done;
    for (int f = 0; f < n_feeds; f++) {
        char *eq = strrchr(feeds[f], '=');
        const char *file = eq ? eq + 1 : feeds[f];
        int index = 0;
        if (eq) {
            *eq = '\0';
            index = kiln_model_find_input(model, feeds[f]);
            *eq = '=';
        } else if (n_in != 1) {
            index = -1;
        }
        char err[512];
        if (index < 0) {
            fprintf(stderr, "kiln-run: --input %s: %s\n", feeds[f],
                    eq ? "the model has no input of that name" : "the model has several inputs: use NAME=FILE");
            goto free_inputs;
        }
        npy_free(&in[index]);
        if (npy_read(file, &in[index], err, sizeof err) != 0) {
            fprintf(stderr, "kiln-run: %s\n", err);
            goto free_inputs;
        }
    }
    for (int i = 0; i < n_in; i++) {
        const kiln_tensor_desc *t = kiln_model_input(model, i);
        if (in[i].data) continue;
        if (!seeded) {
            fprintf(stderr, "kiln-run: input '%s' is not given (use --input %s=FILE.npy or --seeded)\n",
                    kiln_tensor_name(t), kiln_tensor_name(t));
            goto free_inputs;
        }
        in[i].dtype = kiln_tensor_dtype(t);
        in[i].rank = kiln_tensor_rank(t);
        memcpy(in[i].dims, kiln_tensor_dims(t), sizeof(int32_t) * (size_t)in[i].rank);
        in[i].nbytes = kiln_tensor_size(t);
        in[i].count = in[i].nbytes / kiln_dtype_size(in[i].dtype);
        if (!(in[i].data = malloc(in[i].nbytes ? in[i].nbytes : 1))) goto free_inputs;
        seeded_fill(in[i].data, in[i].count, in[i].dtype, 0x12345678u + (uint32_t)i);
    }
    status = feed(ctx, in, n_in);
    t0 = now_seconds();
    if (!status && kiln_run(ctx) != KILN_OK) {
        fprintf(stderr, "kiln-run: %s\n", kiln_last_error());
        status = 1;
    }
    if (status) goto free_inputs;
    if (out_dir && mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "kiln-run: --output-dir %s: %s\n", out_dir, strerror(errno));
        status = 1;
        goto free_inputs;
    }
    printf("load %.3f ms, first run %.3f ms\n", load_ms, (now_seconds() - t0) * 1e3);
    for (int i = 0; i < n_out; i++) {
        const kiln_tensor_desc *t = kiln_context_output(ctx, i);
        print_desc("output", t);
        print_values(t);
        if (out_dir) {
            char safe[512], file[4096], err[512];
            safe_name(kiln_tensor_name(t), safe, sizeof safe);
            snprintf(file, sizeof file, "%s/%s.npy", out_dir, safe);
            if (npy_write(file, kiln_tensor_dtype(t), kiln_tensor_dims(t), kiln_tensor_rank(t), kiln_tensor_data(t),
                          err, sizeof err) != 0) {
                fprintf(stderr, "kiln-run: %s\n", err);
                status = 1;
                goto free_inputs;
            }
        }
    }
    if (want_profile) status = profile(ctx, model, in, n_in);
    if (!status && bench_runs) status = bench(ctx, bench_runs, in, n_in);
free_inputs:
    for (int i = 0; i < n_in; i++) npy_free(&in[i]);
    free(in);
done:
    kiln_context_free(ctx);
    kiln_model_free(model);
    free(bytes);
    free(feeds);
    return status;
}
