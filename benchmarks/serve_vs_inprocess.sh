#!/usr/bin/env bash
# What serving costs: `polyinfer serve` driven by `polyinfer bench --url`
# against the same model run in the bench's own process, side by side.
#
#   benchmarks/serve_vs_inprocess.sh BUILD_DIR MODELS_DIR [DURATION]
#
# BUILD_DIR: a build tree with bin/polyinfer and the onnxruntime plugin;
# MODELS_DIR: tools/gen_models.py's output (resnet18, mobilenet_v2, mlp,
# dynamic_batch). DURATION: each bench's -d (default 5s). Run by hand, not in
# CI: about 5 minutes at the default duration.
#
# It makes a temporary model repository (symlinks to the ONNX files, each
# model with a config.json), starts `polyinfer serve` on free loopback ports
# (HTTP and gRPC), and measures, alternating A B A B for 3 rounds so that
# drift (thermal, other load) hits both arms alike:
#   1. throughput of resnet18 and mobilenet_v2, in-process (A) vs served over
#      binary HTTP (B), at the same workers x intra-op threads: bench -t W
#      --intra-op-threads I in-process; instance_count W and intra_op_threads I
#      in the served model's config.json, W client connections. The ratio B/A.
#   2. the latency serving adds on a tiny model (mlp) at concurrency 1: served
#      p50 minus in-process p50, in microseconds.
#   3. dynamic batching at 32 client workers on dynamic_batch: served
#      throughput with max_batch_size 32 + dynamic_batching (B) vs the same
#      model without (A), the ratio B/A.
#   4. the two protocols on the same server: bench over binary HTTP (A) vs
#      over gRPC (B, raw_input_contents): throughput of mobilenet_v2 at 2
#      client workers, the ratio B/A; p50 of mlp at concurrency 1, B minus A.
# Each figure: the median of the 3 rounds, and their min-max.
#
# Client and server run on this machine and share its cores: the served
# figures include the client's own CPU (HTTP, encoding, decoding), as a
# client on the same host would. W defaults to the usable cores and I to 1
# (W x I = cores); set WORKERS=.. INTRA=.. to change them.
set -euo pipefail
source "$(dirname "$0")/serve_common.sh"

take_dirs 10 "$@"
duration=${3:-5s}
rounds=3
require_models resnet18 mobilenet_v2 mlp dynamic_batch
# "throughput p50_ms" of a bench JSON report.
if command -v jq >/dev/null; then
  figures() { jq -r '.runs[0] | "\(.throughput) \(.latency_ms.p50)"' "$1"; }
else
  figures() {
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["runs"][0]; print(r["throughput"], r["latency_ms"]["p50"])' "$1"
  }
fi

cores=$(nproc)
workers=${WORKERS:-$cores}
intra=${INTRA:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/polyinfer_serve_vs_inprocess.XXXXXX")
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

# ---- the repository: <repo>/<name>/1/model.onnx + config.json
pool="\"engine\": \"onnxruntime\", \"instance_count\": $workers, \"intra_op_threads\": $intra"
add_model resnet18 resnet18 "{$pool}"
add_model mobilenet_v2 mobilenet_v2 "{$pool}"
add_model mlp mlp '{"engine": "onnxruntime", "instance_count": 1, "intra_op_threads": 1}'
add_model db_unbatched dynamic_batch "{$pool}"
add_model db_batched dynamic_batch \
  "{$pool, \"max_batch_size\": 32, \"dynamic_batching\": {\"max_queue_delay_microseconds\": 500}}"

# ---- the server, on free ports (it prints them once every model is loaded)
start_server --grpc --max-queue-size 1024
echo "polyinfer serve at $url and $grpc_url; $cores usable cores; workers x intra-op =" \
     "$workers x $intra; -d $duration per bench, $rounds rounds A B A B"

# bench NAME ARGS...: one quiet run; prints "throughput p50_ms" of its JSON.
bench() {
  local name=$1; shift
  local json=$work/$name.json
  if ! "$polyinfer" bench -q --json "$json" -d "$duration" -w 5 "$@" 2>"$work/$name.err"; then
    echo "bench $name failed:" >&2
    cat "$work/$name.err" >&2
    exit 1
  fi
  figures "$json"
}

results=$work/results.tsv
: >"$results"
# compare LABEL KIND A-ARGS -- B-ARGS: 3 rounds of A then B; KIND ratio|latency.
compare() {
  local label=$1 kind=$2; shift 2
  local a=() b=()
  while [[ $1 != -- ]]; do a+=("$1"); shift; done
  shift
  b=("$@")
  local round
  for round in $(seq 1 "$rounds"); do
    local a_out b_out a_tp a_p50 b_tp b_p50
    a_out=$(bench "${label// /_}_a$round" "${a[@]}")
    b_out=$(bench "${label// /_}_b$round" "${b[@]}")
    read -r a_tp a_p50 <<<"$a_out"
    read -r b_tp b_p50 <<<"$b_out"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$kind" "$a_tp" "$a_p50" "$b_tp" "$b_p50" >>"$results"
    printf '  %-34s round %d: A %9.1f/s p50 %8.3f ms   B %9.1f/s p50 %8.3f ms\n' \
      "$label" "$round" "$a_tp" "$a_p50" "$b_tp" "$b_p50"
  done
}

local_model() { echo "-u $models/$1/model.onnx -e onnxruntime"; }

# 1. throughput, in-process vs served (binary tensors)
for model in resnet18 mobilenet_v2; do
  # shellcheck disable=SC2046
  compare "$model throughput" ratio \
    $(local_model "$model") -t "$workers" --intra-op-threads "$intra" -- \
    --url "$url" -n "$model" -t "$workers"
done
# 2. latency added at concurrency 1 on a tiny model
# shellcheck disable=SC2046
compare "mlp added latency" latency \
  $(local_model mlp) -t 1 --intra-op-threads 1 -- \
  --url "$url" -n mlp -t 1
# 3. dynamic batching at 32 client workers: unbatched (A) vs batched (B), both served
compare "dynamic_batch 32 clients" ratio \
  --url "$url" -n db_unbatched -t 32 -s '(1,3,8,8)f' -- \
  --url "$url" -n db_batched -t 32 -s '(1,3,8,8)f'
# 4. the protocols: binary HTTP (A) vs gRPC (B), same server and models
compare "mobilenet_v2 HTTP vs gRPC" ratio \
  --url "$url" -n mobilenet_v2 -t 2 -- \
  --url "$grpc_url" -n mobilenet_v2 -t 2
compare "mlp HTTP vs gRPC" latency \
  --url "$url" -n mlp -t 1 -- \
  --url "$grpc_url" -n mlp -t 1

# ---- the table
python3 - "$results" "$workers" "$intra" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
workers, intra = sys.argv[2], sys.argv[3]
cases = {}
for label, kind, a_tp, a_p50, b_tp, b_p50 in rows:
    cases.setdefault((label, kind), []).append(tuple(map(float, (a_tp, a_p50, b_tp, b_p50))))
what = {
    "resnet18 throughput": f"served / in-process, inferences/s ({workers} workers x {intra} intra)",
    "mobilenet_v2 throughput": f"served / in-process, inferences/s ({workers} workers x {intra} intra)",
    "mlp added latency": "served p50 - in-process p50, concurrency 1",
    "dynamic_batch 32 clients": "batched (max 32) / unbatched, inferences/s",
    "mobilenet_v2 HTTP vs gRPC": "gRPC / binary HTTP, inferences/s (2 client workers)",
    "mlp HTTP vs gRPC": "gRPC p50 - binary HTTP p50, concurrency 1",
}
print()
print(f"{'case':<26} {'A median':>12} {'B median':>12} {'result (median)':>16} {'min-max':>18}  what")
print("-" * 120)
for (label, kind), runs in cases.items():
    if kind == "ratio":
        values = [b / a for a, _, b, _ in runs]
        result = f"{statistics.median(values):.3f}x"
        spread = f"{min(values):.3f}-{max(values):.3f}x"
        a_med = f"{statistics.median(r[0] for r in runs):.1f}/s"
        b_med = f"{statistics.median(r[2] for r in runs):.1f}/s"
    else:
        values = [(b - a) * 1000 for _, a, _, b in runs]
        result = f"{statistics.median(values):+.0f} us"
        spread = f"{min(values):+.0f}..{max(values):+.0f} us"
        a_med = f"{statistics.median(r[1] for r in runs) * 1000:.0f} us"
        b_med = f"{statistics.median(r[3] for r in runs) * 1000:.0f} us"
    print(f"{label:<26} {a_med:>12} {b_med:>12} {result:>16} {spread:>18}  {what.get(label, '')}")
PY
