#define _POSIX_C_SOURCE 200809L /* mkdtemp */
/* SavedModel reading (converter/read_savedmodel.c) on the real churn_mlp SavedModel (Keras,
 * TF 2.11): the converted model must compute the MLP that its checkpoint holds. The reference
 * reads the weights straight from the checkpoint (tb_read checks each one's CRC-32C, so they are
 * the bytes TensorFlow wrote) and computes the layers here in double. The other SavedModel
 * tests, against tfjs and hand-computed values, are in tests/js/savedmodel.test.mjs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diag.h"
#include "graph_builder.h"
#include "read_savedmodel.h"
#include "tensor_bundle.h"

#define CHURN "tests/data/savedmodel/churn_mlp"

static void test_churn_mlp_matches_its_checkpoint(void) {
    static const int sizes[] = {13, 40, 30, 20, 15, 10, 5, 1};
    /* The activations its keras_metadata.pb gives: linear twice, relu four times, a sigmoid. */
    enum { LINEAR, RELU, SIGMOID };
    static const int activation[] = {LINEAR, LINEAR, RELU, RELU, RELU, RELU, SIGMOID};
    enum { LAYERS = 7 };
    tf_graph *g = read_savedmodel(CHURN, NULL);
    if (!g) fprintf(stderr, "  %s\n", kc_last_error());
    CHECK(g != NULL);
    CHECK(g && g->n_sig_inputs == 1 && strcmp(g->sig_inputs[0].key, "dense_input") == 0);
    CHECK(g && g->n_sig_outputs == 1 && strcmp(g->sig_outputs[0].key, "dense_6") == 0);
    tb_reader *tb = tb_open(CHURN "/variables/variables");
    tf_graph *pool = tf_graph_new();
    CHECK(tb != NULL && pool != NULL);
    if (!g || !tb || !pool) {
        tf_graph_free(g);
        tf_graph_free(pool);
        tb_close(tb);
        return;
    }
    float x[13];
    double act[40], next[40];
    for (int i = 0; i < 13; i++) act[i] = x[i] = (float)(0.37 * i - 2.0);
    for (int l = 0; l < LAYERS; l++) {
        char key[96];
        tf_tensor *w = NULL, *b = NULL;
        snprintf(key, sizeof key, "layer_with_weights-%d/kernel/.ATTRIBUTES/VARIABLE_VALUE", l);
        CHECK(tb_read(tb, key, pool, &w));
        snprintf(key, sizeof key, "layer_with_weights-%d/bias/.ATTRIBUTES/VARIABLE_VALUE", l);
        CHECK(tb_read(tb, key, pool, &b));
        int n_in = sizes[l], n_out = sizes[l + 1];
        bool fits = w && b && w->shape.rank == 2 && w->shape.dims[0] == n_in && w->shape.dims[1] == n_out &&
                    b->shape.rank == 1 && b->shape.dims[0] == n_out;
        CHECK(fits);
        if (!fits) break;
        const float *wd = w->data, *bd = b->data;
        for (int j = 0; j < n_out; j++) {
            double s = bd[j];
            for (int i = 0; i < n_in; i++) s += act[i] * wd[i * n_out + j];
            next[j] = activation[l] == LINEAR ? s : activation[l] == RELU ? fmax(s, 0) : 1 / (1 + exp(-s));
        }
        memcpy(act, next, sizeof(double) * (size_t)n_out);
    }
    tb_close(tb);
    tf_graph_free(pool);
    float y = -1;
    kc_program p;
    const char *outputs[] = {"dense_6"};
    const void *inputs[] = {x};
    void *outs[] = {&y};
    if (gb_convert_run(g, 1, outputs, inputs, outs, sizeof y, &p)) CHECK_NEAR(y, act[0], 1e-5);
    kc_program_free(&p);
}

/* A variable whose checkpoint value was damaged: the read fails and names the variable. */
static void test_corrupt_checkpoint_is_named(void) {
    char dir[] = "/tmp/kiln-savedmodel-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -r " CHURN "/. %s/ && printf '\\377' | dd of=%s/variables/variables.data-00000-of-00001 "
             "bs=1 seek=100 conv=notrunc status=none", dir, dir);
    CHECK(system(cmd) == 0);
    tf_graph *g = read_savedmodel(dir, NULL);
    CHECK(g == NULL);
    if (!g) {
        const char *e = kc_last_error();
        fprintf(stderr, "  (expected) %s\n", e);
        CHECK(strstr(e, "variable '") != NULL && strstr(e, "checksum") != NULL);
    }
    tf_graph_free(g);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void) {
    RUN(test_churn_mlp_matches_its_checkpoint);
    RUN(test_corrupt_checkpoint_is_named);
    return check_summary();
}
