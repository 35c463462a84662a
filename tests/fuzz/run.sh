#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan, UBSan) in build-fuzz/ and fuzzes them.
#
#   tests/fuzz/run.sh TARGET SECONDS [LIBFUZZER_ARGS...]   fuzz one target (bundle, pb, tfjs, keras,
#                                                          savedmodel, kerasfile)
#   tests/fuzz/run.sh all [SECONDS]                        each target in turn, SECONDS each
#                                                          (default 60): what CI runs
#   tests/fuzz/run.sh build                                build and write the seeds only
#
# Each target starts from its seeds (tests/fuzz/seeds.mjs, written to build-fuzz/seeds/), its
# regression inputs (tests/fuzz/regressions/TARGET/) and the corpus earlier runs grew
# (build-fuzz/corpus/TARGET/). A run stops at the first failure (crash, sanitizer report, leak,
# timeout, out-of-memory): the input is copied to tests/fuzz/regressions/TARGET/ and the script
# exits non-zero. To go on past known failures, pass -fork=1 -ignore_crashes=1: every distinct
# failing input is then kept. The last line of a run gives executions and executions per second;
# the full log is in build-fuzz/logs/. See docs/FUZZING.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
B="$ROOT/build-fuzz"
TARGETS=(bundle pb tfjs keras savedmodel kerasfile)
JOBS="${KILN_JOBS:-2}"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

# Configure, build and write the seeds, under a lock so that two runs in parallel can share it.
build() {
  mkdir -p "$B"
  exec 9>"$B/.lock"
  flock 9
  if [ ! -f "$B/Makefile" ]; then
    CC=clang cmake -S "$ROOT" -B "$B" -DKILN_FUZZ=ON -DKILN_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      >"$B/configure.log" 2>&1 || { cat "$B/configure.log"; exit 1; }
  fi
  cmake --build "$B" -j"$JOBS" --target fuzz_all >"$B/build.log" 2>&1 || { tail -40 "$B/build.log"; exit 1; }
  # Seeds depend on the generator, the converter and the fixture models.
  if [ ! -f "$B/seeds/.done" ] || [ "$ROOT/tests/fuzz/seeds.mjs" -nt "$B/seeds/.done" ] ||
     [ "$B/kiln-convert" -nt "$B/seeds/.done" ]; then
    rm -rf "$B/seeds"
    node "$ROOT/tests/fuzz/seeds.mjs" "$B/seeds" "$B/kiln-convert"
    touch "$B/seeds/.done"
  fi
  flock -u 9
}

# fuzz TARGET SECONDS [ARGS...]
fuzz() {
  local t="$1" secs="$2"; shift 2
  local reg="$ROOT/tests/fuzz/regressions/$t" corpus="$B/corpus/$t" art="$B/artifacts/$t/"
  local log="$B/logs/$t-$(date -u +%Y%m%dT%H%M%SZ).log" dict=() asan=""
  mkdir -p "$reg" "$corpus" "$art" "$B/logs"
  case "$t" in
    pb|savedmodel) dict=(-dict="$ROOT/tests/fuzz/pb.dict") ;;
    tfjs) dict=(-dict="$ROOT/tests/fuzz/json.dict") ;;
    keras) dict=(-dict="$ROOT/tests/fuzz/keras.dict") ;;
    # read_keras_file forks a child per file, and a fork copies the page tables of the whole heap:
    # ASan's quarantine of freed memory (256 MiB by default) made each fork slower as it filled.
    kerasfile) dict=(-dict="$ROOT/tests/fuzz/kerasfile.dict") asan=":quarantine_size_mb=16" ;;
  esac
  # Allocations over 256 MiB fail (NULL) instead of being reported, so the code's out-of-memory
  # paths are what gets tested; a run must stay under 4 GiB.
  local status=0 start=$SECONDS
  ASAN_OPTIONS="allocator_may_return_null=1:max_allocation_size_mb=256:detect_leaks=1$asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
    "$B/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$art" "${dict[@]}" "$@" "$corpus" "$B/seeds/$t" "$reg" >"$log" 2>&1 || status=$?
  local execs rate found=()
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  if [ -z "$execs" ]; then # -fork=N: the parent's last status line, "#EXECS: ... exec/s RATE ..."
    execs="$(sed -n 's/^#\([0-9]*\): .*/\1/p' "$log" | tail -1)"
    rate="$(sed -n 's/^#[0-9]*: .* exec\/s \([0-9]*\) .*/\1/p' "$log" | tail -1)"
  fi
  shopt -s nullglob
  for f in "$art"*; do
    local known=0 r
    for r in "$reg"/*; do cmp -s "$f" "$r" && known=1 && break; done
    if [ "$known" -eq 0 ]; then
      cp "$f" "$reg/"
      found+=("tests/fuzz/regressions/$t/$(basename "$f")")
    fi
    rm "$f"
  done
  shopt -u nullglob
  echo "fuzz_$t: $((SECONDS - start)) s, ${execs:-?} executions, ${rate:-?} exec/s, ${#found[@]} new failing input(s); log $log"
  if [ "$status" -ne 0 ] || [ "${#found[@]}" -ne 0 ]; then
    [ "${#found[@]}" -ne 0 ] || echo "  no new failing input: it failed on one it was given (a regression input?)"
    local what='^==[0-9]+==ERROR|^SUMMARY|runtime error: |^fuzz: '
    if grep -qE "$what" "$log"; then grep -E "$what" "$log" | head -4; else tail -20 "$log"; fi
    for f in "${found[@]}"; do echo "  new regression input: $f"; done
    return 1
  fi
}

[ $# -ge 1 ] || usage
case "$1" in
  -h|--help) usage ;;
  build) build ;;
  all)
    secs="${2:-60}"
    build
    failed=0
    for t in "${TARGETS[@]}"; do fuzz "$t" "$secs" || failed=1; done
    exit "$failed"
    ;;
  *)
    [ $# -ge 2 ] || usage
    t="$1" secs="$2"; shift 2
    [[ " ${TARGETS[*]} " == *" $t "* ]] || { echo "run.sh: unknown target '$t' (${TARGETS[*]})" >&2; exit 2; }
    [[ "$secs" =~ ^[0-9]+$ ]] || { echo "run.sh: SECONDS must be a whole number, got '$secs'" >&2; exit 2; }
    build
    fuzz "$t" "$secs" "$@"
    ;;
esac
