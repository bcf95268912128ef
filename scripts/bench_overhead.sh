#!/usr/bin/env bash
# Builds polyinfer and runs the overhead micro-benchmark: Predictor::predict vs
# each engine's own API, on the tiny MLP and resnet18 (generated if missing),
# and for TensorFlow its SavedModels tf_tiny and tf_cnn (generated when
# scripts/setup.sh has installed the TensorFlow venv).
# Two programs, run one after the other: polyinfer_overhead_benchmark
# (onnxruntime, torch) and, when the TensorFlow plugin is built,
# polyinfer_overhead_benchmark_tensorflow; TensorFlow has an executable of its
# own because it refuses processes with protobuf in the global scope, and
# LibTorch brings it.
# Usage: scripts/bench_overhead.sh [benchmark flags...]   e.g. --quick, --threads 1, --help
# The flags go to both programs; --engine LIST is split between them (each gets
# its engines of LIST, and one with none of them is not run).
# Environment: BUILD_DIR (default <repo>/build), JOBS (default: all cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}
cmake -S "$root" -B "$build" -G Ninja -DPOLYINFER_BUILD_BENCHMARKS=ON >/dev/null
programs=(polyinfer_overhead_benchmark)
if cmake --build "$build" --target help | grep -q '^polyinfer_overhead_benchmark_tensorflow:'; then
  programs+=(polyinfer_overhead_benchmark_tensorflow)
fi
cmake --build "$build" -j "$jobs" --target "${programs[@]}"
models=${POLYINFER_BENCH_MODELS:-$build/models}
/usr/bin/python3 "$root/tools/gen_models.py" --out "$models" --models mlp,resnet18
tf_python=$root/.deps/venv/tensorflow/bin/python
if [[ ${#programs[@]} -gt 1 && -x $tf_python ]]; then
  "$tf_python" "$root/tools/gen_tf_models.py" --out "$models" --models tf_tiny,tf_cnn
fi

# args_for PROGRAM FLAGS...: sets args to the flags for PROGRAM, with
# --engine LIST reduced to its engines (tensorflow for the TensorFlow program,
# the others for the other one); fails when LIST names none of them.
args_for() {
  local program=$1 arg list kept engine
  local -a items
  shift
  args=()
  while (($#)); do
    arg=$1
    shift
    if [[ $arg == --engine || $arg == --engine=* ]]; then
      if [[ $arg == --engine ]]; then
        (($#)) || { args+=("$arg"); break; }  # no value: the program reports it
        list=$1
        shift
      else
        list=${arg#--engine=}
      fi
      [[ -n $list ]] || { args+=(--engine=); continue; }  # the program reports it
      kept=
      IFS=, read -ra items <<<"$list"
      for engine in "${items[@]}"; do
        if [[ $program == *_tensorflow ]]; then
          [[ $engine == tensorflow ]] || continue
        else
          [[ $engine != tensorflow ]] || continue
        fi
        kept+=${kept:+,}$engine
      done
      [[ -n $kept ]] || return 1
      args+=("--engine=$kept")
    else
      args+=("$arg")
    fi
  done
}

status=0
for program in "${programs[@]}"; do
  args_for "$program" "$@" || continue  # --engine names none of its engines
  echo "== $program" >&2
  "$build/bin/$program" --models "$models" "${args[@]}" || status=$?
done
exit "$status"
