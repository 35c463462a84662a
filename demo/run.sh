#!/usr/bin/env bash
# The main job: set up (tests/setup.sh, idempotent), convert a real TensorFlow model from
# npm (nsfwjs' MobileNetV2, a tfjs graph model with uint8-quantized weights) to a .kiln
# bundle, then run it natively (kiln-run) and in WebAssembly (js/kiln.js on Node), printing
# outputs and timings for both on the same seeded input. Then serve the demo page (face
# detection, pose and selfie segmentation on pictures, in the browser) until Ctrl-C.
#
#   demo/run.sh              all of it
#   demo/run.sh --no-serve   all but the page (for scripts and CI)
#   demo/run.sh --port N     serve on port N (default 8080)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
serve=1
port=8080
while [ $# -gt 0 ]; do
  case "$1" in
    --no-serve) serve=0 ;;
    --port) port="${2:?--port needs a number}"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "demo/run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

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

if [ "$serve" -eq 1 ]; then
  echo; echo "== the demo page: face detection, pose and selfie segmentation in your browser"
  exec node demo/serve.mjs --port "$port"
fi
