#!/usr/bin/env bash
# Builds polyinfer and runs the overhead micro-benchmark: Predictor::predict vs
# each engine's own C++ API, on the tiny MLP and resnet18 (generated if missing).
# Usage: scripts/bench_overhead.sh [benchmark flags...]   e.g. --quick, --threads 1, --help
# Environment: BUILD_DIR (default <repo>/build), JOBS (default: all cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}
cmake -S "$root" -B "$build" -G Ninja -DPOLYINFER_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" -j "$jobs" --target polyinfer_overhead_benchmark
models=${POLYINFER_BENCH_MODELS:-$build/models}
/usr/bin/python3 "$root/tools/gen_models.py" --out "$models" --models mlp,resnet18
exec "$build/bin/polyinfer_overhead_benchmark" --models "$models" "$@"
