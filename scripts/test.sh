#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds and runs
# every test (normal build). With --sanitizers it also builds with
# ASan+UBSan and runs every test, then with TSan and runs the multi-threaded
# tests (label "threads"), then runs each fuzz target for 20 s
# (scripts/fuzz.sh). .ci/run uses --sanitizers. The sanitizer builds skip the
# benchmarks: timings under a sanitizer mean nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sanitizers=0
[[ "${1:-}" == "--sanitizers" ]] && sanitizers=1

bash "$root/scripts/setup.sh"
jobs=$(nproc)

run_suite() {  # build_dir label_args...
  local build=$1
  shift
  (cd "$build" && ctest --output-on-failure -j "$jobs" "$@")
}

echo "== normal build"
bash "$root/scripts/build.sh" "$root/build"
run_suite "$root/build"

if ((sanitizers)); then
  supp="$root/scripts/sanitizers"
  echo "== ASan + UBSan build"
  bash "$root/scripts/build.sh" "$root/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPOLYINFER_SANITIZE=address,undefined -DPOLYINFER_BUILD_BENCHMARKS=OFF
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" \
  LSAN_OPTIONS="suppressions=$supp/lsan.supp:use_tls=0:print_suppressions=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    run_suite "$root/build-asan"

  echo "== TSan build (multi-threaded tests)"
  bash "$root/scripts/build.sh" "$root/build-tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPOLYINFER_SANITIZE=thread -DPOLYINFER_BUILD_BENCHMARKS=OFF
  TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=1:second_deadlock_stack=1" \
    run_suite "$root/build-tsan" -L threads

  echo "== fuzzing (libFuzzer with ASan+UBSan, 20 s per target)"
  bash "$root/scripts/fuzz.sh" 20
fi
