/* libFuzzer entry point: see kf_kerasfile in fuzz_targets.h. */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kf_kerasfile(data, size);
    return 0;
}
