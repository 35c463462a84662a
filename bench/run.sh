#!/usr/bin/env bash
# Kiln against its peers (tfjs-wasm, onnxruntime-web, onnxruntime-node), measured in one run:
#   bench/run.sh [--models a,b] [--runs N] [--write]
# Sets up (tests/setup.sh: builds, fixtures), installs the peers (npm ci in bench/), then runs
# bench/bench.mjs, which prints a markdown table; --write also writes docs/PERFORMANCE.md.
# Only the table goes to stdout; progress goes to stderr.
set -euo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
case " $* " in *" -h "*|*" --help "*) exec node "$BENCH/bench.mjs" --help ;; esac

"$ROOT/tests/setup.sh" >&2

# npm writes node_modules/.package-lock.json last, so it marks a finished install.
# --ignore-scripts: onnxruntime-node's install script downloads a GPU provider we do not use
# (its CPU library is in the package); no other peer needs its script.
marker="$BENCH/node_modules/.package-lock.json"
if [ ! -f "$marker" ] || [ "$BENCH/package-lock.json" -nt "$marker" ]; then
  echo "bench: npm ci in bench/" >&2
  (cd "$BENCH" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >&2
fi

exec node "$BENCH/bench.mjs" "$@"
