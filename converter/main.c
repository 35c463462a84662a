/* kiln-convert: a TensorFlow model in, one .kiln bundle out. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convert.h"
#include "diag.h"
#include "read_keras_file.h"
#include "read_pb.h"
#include "read_savedmodel.h"
#include "read_tfjs.h"
#include "files.h"
#include "writer.h"

static const char usage[] =
    "usage: kiln-convert MODEL -o OUT.kiln [options]\n"
    "       kiln-convert --list-ops MODEL [options]\n"
    "       kiln-convert --list-signatures SAVED_MODEL_DIR\n"
    "\n"
    "MODEL is a frozen TensorFlow GraphDef (.pb), a tfjs graph model or Keras layers\n"
    "model (model.json, with its weight shards next to it), a Keras model file (.h5 or\n"
    ".hdf5 from tf.keras or Keras 3, or Keras 3's .keras), or a SavedModel directory\n"
    "(saved_model.pb and variables/; TF1 or TF2).\n"
    "\n"
    "options:\n"
    "  -o, --output-file OUT   where to write the bundle (written atomically)\n"
    "  --input NAME[:D0,D1,...]\n"
    "                          feed the tensor NAME (\"node\" or \"node:1\"), with this\n"
    "                          shape; repeat for several inputs. Default: the model's\n"
    "                          signature inputs, else its Placeholders; an unknown batch\n"
    "                          dimension becomes 1. A 1-D shape needs the output index:\n"
    "                          \"node:0:5\".\n"
    "  --input-value NAME=V[,V...]\n"
    "                          fix input NAME to these values (in its dtype; its\n"
    "                          declared shape if that holds as many, else a scalar\n"
    "                          for one value, a vector for several): it becomes a\n"
    "                          constant, no longer an input, so conditionals on it\n"
    "                          (tf.cond) resolve when converting. Repeatable.\n"
    "  --output NAME           compute the tensor NAME; repeat for several. Default: the\n"
    "                          signature outputs, else every node nothing consumes.\n"
    "  --signature NAME        the SavedModel signature to convert (default:\n"
    "                          serving_default); the bundle's inputs and outputs are\n"
    "                          named by its keys\n"
    "  --list-signatures       print a SavedModel's signatures with their inputs and\n"
    "                          outputs, then exit\n"
    "  --list-ops              print the op types the outputs need and whether Kiln\n"
    "                          supports each, then exit\n"
    "  -q, --quiet             print nothing on success\n"
    "  -h, --help              this text\n";

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static tf_graph *read_model(const char *path, const char *signature) {
    struct stat st;
    if (stat(path, &st) != 0) {
        kc_error("%s: no such file", path);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) return read_savedmodel(path, signature);
    if (signature) {
        kc_error("%s: --signature applies to SavedModel directories", path);
        return NULL;
    }
    if (has_suffix(path, ".json")) return read_tfjs(path);
    if (has_suffix(path, ".h5") || has_suffix(path, ".hdf5") || has_suffix(path, ".keras")) return read_keras_file(path);
    return read_pb_file(path);
}

/* Parses "NAME[:D0,D1,...]". Tensor names may end in ":N" (an output index),
 * so a suffix without a comma is a shape only after a second ':'
 * ("node:0:5" is node's output 0 with shape [5]; "node:1" is output 1). */
static bool parse_input(char *arg, kc_input_spec *spec) {
    spec->name = arg;
    spec->rank = -1;
    char *colon = strrchr(arg, ':');
    if (!colon || !colon[1] || strspn(colon + 1, "0123456789,") != strlen(colon + 1)) return true;
    *colon = '\0';
    if (!strchr(colon + 1, ',') && !strchr(arg, ':')) {
        *colon = ':';
        return true;
    }
    spec->rank = 0;
    for (char *tok = colon + 1; *tok;) {
        char *end;
        long v = strtol(tok, &end, 10);
        if (end == tok || v < 0 || v > INT32_MAX || spec->rank == KILN_MAX_RANK || (*end && *end != ',')) return false;
        spec->dims[spec->rank++] = (int32_t)v;
        tok = *end ? end + 1 : end;
    }
    return true;
}

static void print_shape(const kn_tensor *t) { printf("%s", kc_shape(t)); }

static void report(const char *model, const char *out, const kc_program *p, const kc_bundle_stats *s) {
    printf("kiln-convert: %s -> %s\n", model, out);
    for (int i = 0; i < p->n_inputs; i++) {
        printf("  input   %s ", p->tensors[p->inputs[i]].t.name);
        print_shape(&p->tensors[p->inputs[i]].t);
        printf("\n");
    }
    for (int i = 0; i < p->n_outputs; i++) {
        printf("  output  %s ", p->tensors[p->outputs[i]].t.name);
        print_shape(&p->tensors[p->outputs[i]].t);
        printf("\n");
    }
    printf("  plan    %d step%s, %d tensor%s (%d constant)\n", s->n_steps, s->n_steps == 1 ? "" : "s", s->n_tensors,
           s->n_tensors == 1 ? "" : "s", s->n_weights);
    printf("  weights %zu bytes\n", s->weights_size);
    printf("  arena   %zu bytes for %zu bytes of activations (%.1f%% of their sum)\n", s->arena_size,
           s->activations_size, s->activations_size ? 100.0 * (double)s->arena_size / (double)s->activations_size : 0.0);
    printf("  bundle  %zu bytes (weights + %zu bytes, %.2f%%)\n", s->file_size, s->file_size - s->weights_size,
           s->weights_size ? 100.0 * (double)(s->file_size - s->weights_size) / (double)s->weights_size : 0.0);
}

typedef struct args {
    const char *model, *out, *signature;
    bool list_ops, list_signatures, quiet;
    kc_input_spec *inputs; /* room for argc of each; opt points at them */
    const char **outputs;
    kc_input_value *values;
    kc_options opt;
} args;

/* Fills a from the command line; the exit status to return at once (0 after
 * --help, 2 on a usage error), or -1 to go on. */
static int parse_args(int argc, char **argv, args *a) {
    kc_options *o = &a->opt;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if ((!strcmp(arg, "-o") || !strcmp(arg, "--output-file")) && has_value) {
            a->out = argv[++i];
        } else if (!strcmp(arg, "--input") && has_value) {
            if (!parse_input(argv[++i], &a->inputs[o->n_inputs++])) {
                fprintf(stderr, "kiln-convert: --input %s: expected NAME or NAME:D0,D1,... with dims >= 0\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(arg, "--input-value") && has_value) {
            char *v = argv[++i], *eq = strchr(v, '=');
            if (!eq || eq == v) {
                fprintf(stderr, "kiln-convert: --input-value %s: expected NAME=VALUE or NAME=V0,V1,...\n", v);
                return 2;
            }
            *eq = '\0';
            a->values[o->n_values++] = (kc_input_value){v, eq + 1};
        } else if (!strcmp(arg, "--output") && has_value) {
            a->outputs[o->n_outputs++] = argv[++i];
        } else if (!strcmp(arg, "--signature") && has_value) {
            a->signature = argv[++i];
        } else if (!strcmp(arg, "--list-signatures")) {
            a->list_signatures = true;
        } else if (!strcmp(arg, "--list-ops")) {
            a->list_ops = true;
        } else if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) {
            a->quiet = true;
        } else if (arg[0] == '-' || a->model) {
            fprintf(stderr, "kiln-convert: unexpected argument '%s'\n\n%s", arg, usage);
            return 2;
        } else {
            a->model = arg;
        }
    }
    if (!a->model || (!a->out && !a->list_ops && !a->list_signatures)) {
        fputs(usage, stderr);
        return 2;
    }
    return -1;
}

/* Does what the arguments ask; the exit status. */
static int run(const args *a) {
    if (a->list_signatures) {
        char *text = read_savedmodel_signatures(a->model);
        if (text) fputs(text, stdout);
        else fprintf(stderr, "kiln-convert: %s\n", kc_last_error());
        free(text);
        return text ? 0 : 1;
    }
    tf_graph *g = read_model(a->model, a->signature);
    if (!g) {
        fprintf(stderr, "kiln-convert: %s\n", kc_last_error());
        return 1;
    }
    int status = 1;
    if (a->list_ops) {
        char *text = kc_list_ops(g, &a->opt);
        if (text) {
            fputs(text, stdout);
            status = 0;
        } else {
            fprintf(stderr, "kiln-convert: %s\n", kc_last_error());
        }
        free(text);
    } else {
        kc_program p = {0};
        uint8_t *bytes = NULL;
        size_t size = 0;
        kc_bundle_stats stats;
        if (kc_convert(g, &a->opt, &p) && kc_build_bundle(&p, &bytes, &size, &stats) &&
            kc_write_file_atomic(a->out, bytes, size)) {
            if (!a->quiet) report(a->model, a->out, &p, &stats);
            status = 0;
        } else {
            fprintf(stderr, "kiln-convert: %s: %s\n", a->model, kc_last_error());
        }
        free(bytes);
        kc_program_free(&p);
    }
    tf_graph_free(g);
    return status;
}

int main(int argc, char **argv) {
    args a = {.inputs = calloc((size_t)argc, sizeof *a.inputs), .outputs = calloc((size_t)argc, sizeof *a.outputs),
              .values = calloc((size_t)argc, sizeof *a.values)};
    a.opt = (kc_options){.inputs = a.inputs, .outputs = a.outputs, .values = a.values};
    int status = !a.inputs || !a.outputs || !a.values ? 1 : parse_args(argc, argv, &a);
    if (status < 0) status = run(&a);
    free(a.inputs);
    free(a.outputs);
    free(a.values);
    return status;
}
