#!/usr/bin/env bash
# The main job: set up (tests/setup.sh, idempotent), convert a real TensorFlow model from
# npm (nsfwjs' MobileNetV2, a tfjs graph model with uint8-quantized weights) to a .kiln
# bundle, then run it natively (kiln-run) and in WebAssembly (js/kiln.js on Node), printing
# outputs and timings for both on the same seeded input.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
tests/setup.sh
MODEL=tests/fixtures/models/mobilenet_v2_mid/model.json
BUNDLE=demo/models/mobilenet_v2_mid.kiln
mkdir -p demo/models

echo; echo "== convert"
build/kiln-convert "$MODEL" -o "$BUNDLE"
echo; echo "== native (build/kiln-run)"
build/kiln-run "$BUNDLE" --seeded --bench 20
echo; echo "== wasm (js/kiln.js in Node $(node --version))"
node demo/run_wasm.mjs "$BUNDLE" 20
echo
echo "The five outputs are nsfwjs' classes: Drawing, Hentai, Neutral, Porn, Sexy (input: seeded noise)."
