#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, generates resnet18,
# checks both engines' outputs against PyTorch's, then benchmarks it with 2
# worker threads on torch and onnxruntime side by side.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" "$root/build"
models="$root/build/models"
/usr/bin/python3 "$root/tools/gen_models.py" --out "$models" --models resnet18
cli="$root/build/bin/polyinfer"
"$cli" info
data="$models/resnet18/test_data_set_0"
for engine in torch onnxruntime; do
  file=$([[ $engine == torch ]] && echo model.pt || echo model.onnx)
  echo "== resnet18 on $engine: outputs against PyTorch's"
  "$cli" predict -u "$models/resnet18/$file" -e "$engine" -i "$data" --expect "$data"
done
echo "== polyinfer bench: resnet18, 2 threads, torch and onnxruntime side by side"
"$cli" bench -e torch,onnxruntime -u "$models/resnet18/model.pt,$models/resnet18/model.onnx" \
  -i "$data" -t 2 --min-time 10 --html "$root/build/bench-resnet18.html" \
  --json "$root/build/bench-resnet18.json"
echo "(report: $root/build/bench-resnet18.html, data: $root/build/bench-resnet18.json)"
