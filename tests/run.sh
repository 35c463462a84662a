#!/usr/bin/env bash
# The test command: set up whatever is missing (tests/setup.sh, idempotent), then run
# every test: the C unit tests (also under ASan/UBSan) and the JS tests, which include
# end-to-end parity with TensorFlow.js on real models, natively and in wasm.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${KILN_JOBS:-2}"

tests/setup.sh

echo "== C unit tests"
ctest --test-dir build --output-on-failure -j"$JOBS"

echo "== C unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
mkdir -p build-asan
if [ ! -f build-asan/Makefile ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_SANITIZE=ON >build-asan/configure.log 2>&1 ||
    { cat build-asan/configure.log; exit 1; }
fi
cmake --build build-asan -j"$JOBS" >build-asan/build.log 2>&1 || { tail -60 build-asan/build.log; exit 1; }
ctest --test-dir build-asan --output-on-failure -j"$JOBS"

echo "== JS tests (API, CLI, parity with tfjs on real models: native, wasm, .pb)"
node --test tests/js/

echo "== CLI, parity and damaged-input tests again, on the ASan/UBSan build of the native tools"
KILN_BUILD_DIR=build-asan node --test tests/js/cli.test.mjs tests/js/parity.test.mjs tests/js/frozen_pb.test.mjs \
  tests/js/damage.test.mjs

echo "== valgrind: the native tools on real models, no errors and no leaks"
for model in tests/fixtures/models/facemesh/model.json tests/fixtures/models/blazeface-back/model.json \
             tests/data/mobilenet_v1_0.25_128_frozen.pb; do
  valgrind -q --error-exitcode=1 --leak-check=full build/kiln-convert "$model" -o build/valgrind.kiln -q
  valgrind -q --error-exitcode=1 --leak-check=full build/kiln-run build/valgrind.kiln --seeded >/dev/null
done
echo "valgrind: clean"

echo "== Browser test (the demo page in headless Chromium: same outputs as Node, a screenshot)"
node --test tests/browser/

echo "== Fuzzing: each libFuzzer target for a bounded time (tests/fuzz/, docs/FUZZING.md)"
tests/fuzz/run.sh all "${KILN_FUZZ_SECONDS:-45}"
