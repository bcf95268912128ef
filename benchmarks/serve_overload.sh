#!/usr/bin/env bash
# `polyinfer serve` under twice the load it can sustain (issue 12 §4): it
# must shed the excess with 503s, keep its memory flat, not crash, and answer
# every request it accepted.
#
#   benchmarks/serve_overload.sh BUILD_DIR MODELS_DIR [DURATION]
#
# BUILD_DIR: a build tree with bin/polyinfer and the onnxruntime plugin;
# MODELS_DIR: tools/gen_models.py's output (mobilenet_v2, resnet18).
# DURATION: the overload run, seconds ("30" or "30s"; default 30). Run by
# hand, not in CI: about DURATION + 20 s. Exit status 0 when every check
# passes, 1 when one fails, 2 for bad usage.
#
# It makes a temporary model repository with one model (MODEL, default
# mobilenet_v2; WORKERS instances x 1 intra-op thread, WORKERS defaulting to
# the usable cores; max_queue_size QUEUE, default 4), starts `polyinfer serve`
# on a free loopback port, and then:
#   1. the sustainable rate: closed loop, `bench --url -t SUSTAIN_THREADS`
#      (default 2) for SUSTAIN seconds (default 5): its throughput. Two
#      requests in flight leave the server's workers idle while each answer
#      travels back, so this is a floor: the overload run's successes/s can
#      come out above it;
#   2. overload: open loop at twice that rate (Poisson arrivals) for
#      DURATION from CLIENT_THREADS connections (default 32: more requests in
#      flight than the server's workers and queue hold, so it must refuse
#      some), no warm-up, sampling the server's VmRSS every 0.5 s;
#   3. the checks: the server shed load (rejected > 0); its RSS grew by at
#      most RSS_GROWTH_MAX_MIB (default 16) from the sample 5 s into the
#      overload to the maximum; it is alive, GET /v2/health/ready answers 200
#      and a new inference is answered; and from GET /metrics, before and
#      after the overload run: nv_inference_request_success grew by the
#      client's answered requests plus its 2 untimed calls (the first
#      inference and the outputs call after the run), the failures with
#      reason REJECTED by the client's rejected count, and no other failure.
# Client and server share this machine's cores, as in serve_vs_inprocess.sh.
set -euo pipefail
# shellcheck source=benchmarks/serve_common.sh
source "$(dirname "$0")/serve_common.sh"

take_dirs 12 "$@"
duration=${3:-30}
duration=${duration%s}
model=${MODEL:-mobilenet_v2}
workers=${WORKERS:-$(nproc)}
queue=${QUEUE:-4}
client_threads=${CLIENT_THREADS:-32}
sustain=${SUSTAIN:-5}
sustain_threads=${SUSTAIN_THREADS:-2}
rss_limit=${RSS_GROWTH_MAX_MIB:-16}
[[ $duration =~ ^[0-9]+$ && $duration -ge 1 ]] ||
  { echo "DURATION: expected whole seconds >= 1 (e.g. 30 or 30s), got '${3:-}'" >&2; exit 2; }
require_models "$model"

work=$(mktemp -d "${TMPDIR:-/tmp}/polyinfer_serve_overload.XXXXXX")
sampler_pid=""
cleanup() {
  if [[ -n $sampler_pid ]]; then kill "$sampler_pid" 2>/dev/null || true; fi
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

add_model "$model" "$model" \
  "{\"engine\": \"onnxruntime\", \"instance_count\": $workers, \"intra_op_threads\": 1, \"max_queue_size\": $queue}"
start_server

# bench NAME ARGS...: one quiet `bench --url` run writing $work/NAME.json;
# its exit status is kept in $work/NAME.rc (the checks judge it).
bench() {
  local name=$1; shift
  local rc=0
  "$polyinfer" bench -q --url "$url" -n "$model" --json "$work/$name.json" "$@" \
    2>"$work/$name.err" || rc=$?
  echo "$rc" >"$work/$name.rc"
  if [[ $rc -ne 0 ]]; then
    echo "bench $name exited $rc:" >&2
    cat "$work/$name.err" >&2
  fi
}
# get PATH OUT: GET $url/PATH into OUT; prints the HTTP status (000: no answer).
get() {
  python3 - "$url/$1" "$2" <<'PY'
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
        status, body = response.status, response.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
except Exception:
    status, body = 0, b""
open(sys.argv[2], "wb").write(body)
print(f"{status:03d}")
PY
}

echo "polyinfer serve at $url (pid $server_pid): $model, $workers worker(s) x 1 intra-op" \
     "thread, queue limit $queue; $(nproc) usable cores shared with the client"

# ---- 1. the sustainable rate
bench sustain -t "$sustain_threads" -w 5 -d "${sustain}s"
[[ $(cat "$work/sustain.rc") -eq 0 ]] || exit 1
sustainable=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["throughput"])' \
  "$work/sustain.json")
offered=$(python3 -c 'import sys; print(f"{2 * float(sys.argv[1]):.3f}")' "$sustainable")
echo "sustainable: $sustainable req/s; overload: $offered req/s for ${duration}s from" \
     "$client_threads client threads"

# ---- 2. overload, with the server's RSS sampled every 0.5 s
get metrics "$work/metrics_before.txt" >/dev/null
python3 - "$server_pid" >"$work/rss.txt" <<'PY' &
import sys, time
# "seconds since start, VmRSS kB" every 0.5 s while the server lives.
status, start = f"/proc/{sys.argv[1]}/status", time.monotonic()
while True:
    try:
        rss = next(line.split()[1] for line in open(status) if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        break
    print(f"{time.monotonic() - start:.3f} {rss}", flush=True)
    time.sleep(0.5)
PY
sampler_pid=$!
bench overload --rate "$offered" --arrival poisson -t "$client_threads" -w 0 -d "${duration}s" \
  --max-time $((duration + 60))
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""
get metrics "$work/metrics_after.txt" >/dev/null

# ---- 3. after: alive, ready, and a new inference answered
alive=no
kill -0 "$server_pid" 2>/dev/null && alive=yes
ready=$(get v2/health/ready "$work/ready.txt")
bench after -t 1 -w 0 -c 1

# ---- the table and the checks
python3 - "$work" "$model" "$alive" "$ready" "$rss_limit" "$sustainable" "$offered" \
  "$sustain_threads" <<'PY'
import json, re, sys

work, model, alive, ready, rss_limit, sustainable, offered, sustain_threads = sys.argv[1:9]
rss_limit, sustainable, offered = float(rss_limit), float(sustainable), float(offered)

def report(name):
    try:
        return json.load(open(f"{work}/{name}.json")), int(open(f"{work}/{name}.rc").read())
    except (OSError, ValueError):
        return None, 1

def metrics(name):
    """nv_inference_request_success and _failure by reason, for this model."""
    counts = {}
    for line in open(f"{work}/{name}"):
        m = re.match(r'(nv_inference_request_(?:success|failure))\{([^}]*)\}\s+(\S+)', line)
        if not m or f'model="{model}"' not in m.group(2):
            continue
        reason = re.search(r'reason="([^"]*)"', m.group(2))
        key = m.group(1).rsplit("_", 1)[1] + (":" + reason.group(1) if reason else "")
        counts[key] = counts.get(key, 0) + float(m.group(3))
    return counts

overload, overload_rc = report("overload")
after, after_rc = report("after")
before_m, after_m = metrics("metrics_before.txt"), metrics("metrics_after.txt")
delta = {k: after_m.get(k, 0) - before_m.get(k, 0) for k in set(before_m) | set(after_m)}

run = overload["runs"][0] if overload else {}
answered = run.get("iterations", 0)
rejected = run.get("rejected", 0)
wall = run.get("wall_s") or 0
latency = run.get("latency_ms", {})
open_loop = run.get("open_loop") or {}

samples = []
for line in open(f"{work}/rss.txt"):
    parts = line.split()
    if len(parts) == 2:
        samples.append((float(parts[0]), float(parts[1]) / 1024))
rss_start = samples[0][1] if samples else float("nan")
rss_5s = next((mb for t, mb in samples if t >= 5), samples[-1][1] if samples else float("nan"))
rss_max = max((mb for _, mb in samples), default=float("nan"))
rss_end = samples[-1][1] if samples else float("nan")
growth = rss_max - rss_5s

untimed = 2  # the bench's first inference and its outputs call after the run (-w 0)
server_success = delta.get("success", 0)
server_rejected = delta.get("failure:REJECTED", 0)
server_other = sum(v for k, v in delta.items() if k.startswith("failure:") and k != "failure:REJECTED")
after_run = after["runs"][0] if after else {}

rows = []  # (figure, value, verdict or "")
def check(ok):
    return "PASS" if ok else "FAIL"

rows.append((f"sustainable rate (closed loop, -t {sustain_threads})", f"{sustainable:.1f} req/s", ""))
rows.append(("offered rate (2x, poisson)", f"{offered:.1f} req/s", ""))
rows.append(("overload run",
             f"exit {overload_rc}, stop {run.get('stop_reason', '?')}, {wall:.1f} s, "
             f"{open_loop.get('late', 0)} late, {open_loop.get('missed', 0)} missed",
             check(overload_rc == 0 and run.get("stop_reason") not in (None, "failed"))))
rows.append(("successes/s", f"{run.get('throughput', 0):.1f} ({answered} answered)", ""))
rows.append(("rejected/s", f"{run.get('rejected_rate', 0):.1f} ({rejected} rejected)",
             check(rejected > 0)))
rows.append(("p50 / p99 of successes",
             f"{latency.get('p50') or 0:.2f} / {latency.get('p99') or 0:.2f} ms", ""))
rows.append(("server RSS start / max / end",
             f"{rss_start:.1f} / {rss_max:.1f} / {rss_end:.1f} MiB ({len(samples)} samples)", ""))
rows.append(("RSS max - RSS at 5 s", f"{growth:+.1f} MiB (limit {rss_limit:g})",
             check(len(samples) > 0 and growth <= rss_limit)))
rows.append(("server alive, /v2/health/ready", f"{alive}, HTTP {ready}",
             check(alive == "yes" and ready == "200")))
rows.append(("a new inference after", 
             f"exit {after_rc}, {after_run.get('iterations', 0)} answered, "
             f"{after_run.get('rejected', 0)} rejected",
             check(after_rc == 0 and after_run.get("iterations") == 1)))
rows.append(("server successes (metrics delta)",
             f"{server_success:.0f} vs client {answered} + {untimed} untimed",
             check(server_success == answered + untimed)))
rows.append(("server REJECTED (metrics delta)", f"{server_rejected:.0f} vs client {rejected}",
             check(server_rejected == rejected)))
rows.append(("server other failures", f"{server_other:.0f}", check(server_other == 0)))

width = max(len(r[0]) for r in rows)
value_width = max(len(r[1]) for r in rows)
print()
print(f"{'figure':<{width}}  {'value':<{value_width}}  check")
print("-" * (width + value_width + 9))
for figure, value, verdict in rows:
    print(f"{figure:<{width}}  {value:<{value_width}}  {verdict}".rstrip())
failed = [r[0] for r in rows if r[2] == "FAIL"]
print()
print("result: " + ("all checks pass" if not failed else "FAILED: " + "; ".join(failed)))
sys.exit(1 if failed else 0)
PY
