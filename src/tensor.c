/* Shape arithmetic shared by the loader, the ops and the converter. */
#include <string.h>

#include "kn.h"

bool kn_num_elements(const int32_t *dims, int rank, size_t limit, size_t *count) {
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) return false;
        size_t d = (size_t)dims[i];
        if (d != 0 && n > limit / d) return false;
        n *= d;
    }
    *count = n;
    return n <= limit;
}

size_t kn_tensor_count(const kn_tensor *t) {
    size_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= (size_t)t->dims[i];
    return n;
}

size_t kn_tensor_bytes(const kn_tensor *t) { return kn_tensor_count(t) * kiln_dtype_size(t->dtype); }

bool kn_same_shape(const kn_tensor *a, const kn_tensor *b) {
    return a->dtype == b->dtype && a->rank == b->rank &&
           memcmp(a->dims, b->dims, sizeof(int32_t) * (size_t)a->rank) == 0;
}

void kn_set_shape(kn_tensor *t, kiln_dtype dtype, int rank, const int32_t *dims) {
    t->dtype = dtype;
    t->rank = rank;
    memset(t->dims, 0, sizeof t->dims);
    if (rank > 0) memcpy(t->dims, dims, sizeof(int32_t) * (size_t)rank);
}

kiln_status kn_expect_inputs(const kn_step *s, int first, int count, kiln_dtype dtype) {
    for (int i = first; i < first + count; i++) {
        if (i >= s->n_in || !s->in[i])
            return kn_fail(KILN_ERR_BAD_BUNDLE, "operand %d is missing", i);
        if (s->in[i]->dtype != dtype)
            return kn_fail(KILN_ERR_BAD_BUNDLE, "operand %d is %S, expected %s", i, s->in[i],
                           kiln_dtype_name(dtype));
    }
    return KILN_OK;
}
