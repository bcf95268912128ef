#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, generates resnet18
# and runs it with both engines, printing the time per call. (Replaced by
# `polyinfer bench` once the benchmark lands.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" "$root/build"
models="$root/build/models"
/usr/bin/python3 "$root/tools/gen_models.py" --out "$models" --models resnet18
cli="$root/build/bin/polyinfer"
"$cli" info
for engine in torch onnxruntime; do
  echo "== resnet18 on $engine"
  file=$([[ $engine == torch ]] && echo model.pt || echo model.onnx)
  "$cli" predict -u "$models/resnet18/$file" -e "$engine" \
    -i "$models/resnet18/test_data_set_0" --expect "$models/resnet18/test_data_set_0" -n 20
done
