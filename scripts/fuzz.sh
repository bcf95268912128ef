#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz: the KServe v2 request and response
# decoders, the gRPC request decoder, the serving repository's config.json
# parser, the .npy, onnx.TensorProto and ONNX value-file (Sequence/Map/
# OptionalProto) readers, the -s shape syntax, engine
# options and the model-file content probe) with clang, ASan and UBSan in
# build-fuzz/, and runs each for SECONDS (default 30) from its seed corpus
# (tests/fuzz/corpus/<target>, copied: what a run finds stays in the build
# directory). An allocation over 512 MiB counts as a crash, as does any input
# taking over 25 s (a hang; generous, for a loaded machine), and any exception
# other than polyinfer::Error. Exits non-zero on the first finding, whose input
# is saved as build-fuzz/fuzz-artifacts/<target>-crash-*.
# Usage: scripts/fuzz.sh [SECONDS]   (scripts/test.sh --sanitizers runs it with 20)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
build=${POLYINFER_FUZZ_BUILD:-$root/build-fuzz}

bash "$root/scripts/build.sh" "$build" -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOLYINFER_SANITIZE=address,undefined \
  -DPOLYINFER_BUILD_FUZZERS=ON -DPOLYINFER_BUILD_CLI=OFF -DPOLYINFER_BUILD_TESTS=OFF \
  -DPOLYINFER_BUILD_BENCHMARKS=OFF -DPOLYINFER_WITH_TORCH=OFF -DPOLYINFER_WITH_ONNXRUNTIME=OFF \
  -DPOLYINFER_WITH_OPENCV=OFF -DPOLYINFER_WITH_TENSORFLOW=OFF -DPOLYINFER_WITH_MXNET=OFF \
  -DPOLYINFER_WITH_TVM=OFF

mkdir -p "$build/fuzz-artifacts"
for target in kserve_request kserve_response kserve_grpc_request model_config \
    npy tensor_proto value_proto shape_spec options model_probe; do
  corpus="$build/fuzz-corpus/$target"
  mkdir -p "$corpus"
  echo "fuzz: $target for ${seconds}s"
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$build/bin/fuzz_$target" -max_total_time="$seconds" -malloc_limit_mb=512 -rss_limit_mb=2048 \
      -timeout=25 -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$target-" \
      "$corpus" "$root/tests/fuzz/corpus/$target" 2>&1 |
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus|Done )|ERROR|SUMMARY|==[0-9]+==' || true
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "fuzz: $target found a failure (see above)" >&2; exit 1; }
done
echo "fuzz: no findings"
