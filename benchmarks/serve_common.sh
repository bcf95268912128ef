# Sourced (not run) by the benchmarks that drive `polyinfer serve`: their
# BUILD_DIR MODELS_DIR arguments, a model repository in the caller's
# temporary directory and a server on a free loopback port. The caller sets
# work (its temporary directory) before add_model and start_server, and calls
# stop_server when it exits.

server_pid=""
url=""
grpc_url=""

# take_dirs USAGE-END "$@": without BUILD_DIR MODELS_DIR, prints the script's
# header comment (lines 2 to USAGE-END) and exits 2; else sets build, models
# and polyinfer (the binary, which must be built).
take_dirs() {
  local usage_end=$1
  shift
  if [[ $# -lt 2 ]]; then
    sed -n "2,${usage_end}p" "$0" | sed 's/^# \{0,1\}//'
    exit 2
  fi
  build=$(cd "$1" && pwd)
  models=$(cd "$2" && pwd)
  polyinfer=$build/bin/polyinfer
  [[ -x $polyinfer ]] || { echo "no $polyinfer: build the polyinfer target first" >&2; exit 2; }
}

# require_models NAME...: each $models/NAME/model.onnx must exist, else exit 2.
require_models() {
  local model
  for model in "$@"; do
    [[ -f $models/$model/model.onnx ]] ||
      { echo "no $models/$model/model.onnx: generate the test models first" >&2; exit 2; }
  done
}

# add_model NAME SOURCE CONFIG-JSON: $work/repository/NAME/1/model.onnx (a
# symlink to $models/SOURCE/model.onnx) and its config.json.
add_model() {
  mkdir -p "$work/repository/$1/1"
  ln -s "$models/$2/model.onnx" "$work/repository/$1/1/model.onnx"
  printf '%s\n' "$3" >"$work/repository/$1/config.json"
}

# start_server [--grpc] [SERVE-ARGS...]: `polyinfer serve` on
# $work/repository, HTTP on a free loopback port, and with --grpc gRPC on
# another free one (else no gRPC); sets server_pid, url once every model is
# loaded (the server prints its addresses then) and grpc_url
# (grpc://127.0.0.1:PORT; "" without --grpc). Shows the server's output and
# exits 1 when it does not start.
start_server() {
  local grpc_port=-1
  if [[ ${1:-} == --grpc ]]; then
    grpc_port=0
    shift
  fi
  "$polyinfer" serve -r "$work/repository" --host 127.0.0.1 --http-port 0 \
    --grpc-port "$grpc_port" "$@" >"$work/serve.out" 2>"$work/serve.err" &
  server_pid=$!
  url=""
  grpc_url=""
  for _ in $(seq 1 600); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/serve.out" 2>/dev/null | head -n 1 || true)
    if [[ -n $url ]]; then
      # The same start-up line ends "... and gRPC 127.0.0.1:PORT" when gRPC is on.
      if [[ $grpc_port == 0 ]]; then
        grpc_url=$(grep -o 'and gRPC 127\.0\.0\.1:[0-9]*' "$work/serve.out" | head -n 1 |
                   sed 's/^and gRPC /grpc:\/\//' || true)
        [[ -n $grpc_url ]] || break
      fi
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "polyinfer serve did not start:" >&2
  cat "$work/serve.out" "$work/serve.err" >&2
  exit 1
}

# stop_server: ends the server started here, if it still runs.
stop_server() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
