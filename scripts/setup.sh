#!/usr/bin/env bash
# Installs what polyinfer needs on Debian 12 and nothing more: Debian packages
# that are missing (apt), then ONNX Runtime from the npm registry into
# .deps/onnxruntime, then the engines that come as pinned Python wheels
# (TensorFlow, MXNet) into virtual environments under .deps/venv/. Idempotent: a
# second run only checks, in seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build pkg-config git
  # LibTorch; without OpenBLAS's OpenMP build it falls back to the reference
  # BLAS, up to 6x slower.
  libtorch-dev libopenblas0-openmp
  # Test-model generation with Debian's /usr/bin/python3.
  python3-torch python3-torchvision python3-onnx python3-numpy
  # Virtual environments for the engines that come as wheels (PyPI).
  python3-venv
  libcli11-dev nlohmann-json3-dev libfmt-dev libspdlog-dev
  # `polyinfer serve`: GNU libmicrohttpd (server), cpp-httplib (the tests' and the
  # bench's HTTP client), grpc++ with its protoc plugin (the gRPC front end).
  libmicrohttpd-dev libcpp-httplib-dev libgrpc++-dev protobuf-compiler-grpc
  # The fuzz targets (tests/fuzz, scripts/fuzz.sh): clang with libFuzzer's runtime.
  clang libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libprotobuf-dev protobuf-compiler libonnx-dev
  # The OpenCV engine: the dnn module only (libopencv-dev pulls in all of OpenCV).
  libopencv-dnn-dev
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
# npm fetches ONNX Runtime (Debian does not package it). A machine may already
# have Node.js and npm from elsewhere, which Debian's npm package conflicts
# with: install it only when there is no npm at all.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

bash "$root/scripts/install_onnxruntime.sh"
# TensorFlow: its C API library and headers come with the official wheel
# (scripts/wheels/tensorflow.txt); its Python also makes the test models.
bash "$root/scripts/install_wheels.sh" tensorflow
# MXNet 1.9.1, the last release (MXNet is retired): libmxnet.so and its C API
# headers come with the wheel (scripts/wheels/mxnet.txt), whose Python (NumPy
# < 1.24, hence an environment of its own) makes the MXNet test models.
bash "$root/scripts/install_wheels.sh" mxnet
# TVM (DLR's role): apache-tvm's runtime library and tvm-ffi's C API headers come
# with the wheels (scripts/wheels/tvm.txt), whose Python compiles the test models.
bash "$root/scripts/install_wheels.sh" tvm
# The serving tests' client: tritonclient (scripts/wheels/serve.txt), Triton's
# own Python client, drives `polyinfer serve` in tests/serve/.
bash "$root/scripts/install_wheels.sh" serve
# scikit-learn and skl2onnx (scripts/wheels/sklearn.txt) make the ZipMap test models.
bash "$root/scripts/install_wheels.sh" sklearn
