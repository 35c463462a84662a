/* libFuzzer entry point for the Keras layers reader (converter/keras.c): tfjs
 * layers models go through read_tfjs like graph models, so this is kf_tfjs,
 * with its own seeds (Keras configs) and dictionary, hence its own corpus. */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kf_tfjs(data, size);
    return 0;
}
