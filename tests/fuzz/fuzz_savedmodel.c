/* libFuzzer entry point: see kf_savedmodel in fuzz_targets.h. */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kf_savedmodel(data, size);
    return 0;
}
