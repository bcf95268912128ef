#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, makes one network
# (PyTorch's resnet18, BatchNorm statistics randomised) in every engine's
# format, checks each engine's outputs against PyTorch's, then benchmarks all
# of them side by side with 2 worker threads:
#   torch        model.pt (TorchScript)
#   onnxruntime  model.onnx
#   tensorflow   saved_model/ (tools/gen_tf_models.py's twin: the ONNX graph's operators
#                written with TensorFlow's, the same weights)
#   mxnet        model-symbol.json + model-0000.params (MXNet's ONNX importer)
#   tvm          model.so (Relax from model.onnx, tuned with MetaSchedule; the tuning
#                records are kept in build/models/.tvm-tuning, so a second run only builds)
#   opencv       model.onnx
# POLYINFER_TVM_TUNE_TRIALS sets the tuning trials per task (default 16; 0: no tuning).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" "$root/build"
models="$root/build/models"
venv="$root/.deps/venv"
/usr/bin/python3 "$root/tools/gen_models.py" --out "$models" --models resnet18
"$venv/tensorflow/bin/python" "$root/tools/gen_tf_models.py" --out "$models" --models "" --twins resnet18
"$venv/mxnet/bin/python" "$root/tools/gen_mx_models.py" --out "$models" --models "" --twins resnet18
"$venv/tvm/bin/python" "$root/tools/gen_tvm_models.py" --out "$models" --models resnet18 \
  --tune-trials "${POLYINFER_TVM_TUNE_TRIALS:-16}"
cli="$root/build/bin/polyinfer"
"$cli" info
net="$models/resnet18"
data="$net/test_data_set_0"
engines=(torch onnxruntime tensorflow mxnet tvm opencv)
files=("$net/model.pt" "$net/model.onnx" "$net/saved_model" "$net/model-symbol.json" "$net/model.so"
       "$net/model.onnx")
for i in "${!engines[@]}"; do
  echo "== resnet18 on ${engines[$i]}: outputs against PyTorch's"
  "$cli" predict -u "${files[$i]}" -e "${engines[$i]}" -i "$data" --expect "$data"
done
echo "== polyinfer bench: resnet18, 2 threads, every engine side by side"
list() { local IFS=,; echo "$*"; }
"$cli" bench -e "$(list "${engines[@]}")" -u "$(list "${files[@]}")" \
  -i "$data" -t 2 --min-time 10 --html "$root/build/bench-resnet18.html" \
  --json "$root/build/bench-resnet18.json"
echo "(report: $root/build/bench-resnet18.html, data: $root/build/bench-resnet18.json)"
