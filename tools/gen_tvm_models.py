#!/usr/bin/env python3
"""Compile polyinfer's ONNX test models into TVM modules for the tvm engine.

Usage:
    .deps/venv/tvm/bin/python tools/gen_tvm_models.py --out DIR [--models a,b,...] [--force]
        [--tune-trials N] [--tuning-cache DIR]

Run with the project's TVM virtual environment (apache-tvm, apache-tvm-ffi, onnx); nothing is
downloaded. The sources are tools/gen_models.py's models, already in DIR (their model.onnx and
PyTorch's reference data in test_data_set_0): run that first.

For each model M this writes, beside DIR/M/model.onnx:
    model.so      the compiled module: Relax's ONNX importer (weights as constants), Relax's
                  CPU pipeline, relax.build for the host's CPU (an llvm target with the
                  host's triple and CPU name), export_library. With --tune-trials N > 0 the
                  operators are first tuned with MetaSchedule (N trials per task, random
                  search), the tuning records kept in --tuning-cache so that a later run with
                  the same model, target and TVM reuses them instead of tuning again.
    model.json    the signature the tvm engine reads beside the module: inputs and outputs
                  (name, dtype, shape; a dynamic dim is its name), in the function's parameter
                  order and the ONNX graph's output order; the target (triple, CPU, and the
                  CPU features it lets the compiler use, which the engine checks against the
                  host before it loads the code); TVM's version; the tuning trials.
    .stamp-tvm    this generator's stamp, TVM's version, the tuning trials and PyTorch's stamp
                  (DIR/M/.stamp): when gen_models.py remakes M, or anything here changes,
                  the module is compiled again.
The module is run with TVM's Python runtime on DIR/M/test_data_set_0's inputs and must
reproduce PyTorch's outputs there (atol 1e-4, rtol 1e-3).

Also:
    DIR/tvm_foreign_cpu/model.so + model.json: the MLP compiled for a CPU with instructions
                  this host lacks (Intel Diamond Rapids: AMX, AVX10.2, APX), for the engine's
                  check that refuses such a module before running it. Skipped (with a line
                  saying so) on a host that has every feature of that CPU.
"""
import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import time

import numpy as np
import onnx

import model_dirs
from tensor_files import GenError, check, dtype_name, read_pb

GEN_VERSION = "polyinfer-gen_tvm_models-1"
MODELS = ["mlp", "resnet18", "mobilenet_v2", "multi_io", "dynamic_batch"]
FOREIGN = "tvm_foreign_cpu"
FOREIGN_CPU = "diamondrapids"
MODULE_FILE = "model.so"
SIGNATURE_FILE = "model.json"
STAMP = ".stamp-tvm"

tvm = None  # imported lazily: an up-to-date run never pays for it
relax = None


def import_tvm():
    global tvm, relax
    if tvm is None:
        import tvm as tvm_module
        from tvm import relax as relax_module
        tvm, relax = tvm_module, relax_module
    return tvm


def tvm_version():
    return importlib.metadata.version("apache-tvm")


def stamp_text(torch_stamp, trials):
    return (f"{GEN_VERSION} apache-tvm={tvm_version()} "
            f"apache-tvm-ffi={importlib.metadata.version('apache-tvm-ffi')} "
            f"onnx={onnx.__version__} tune-trials={trials}\nof: {torch_stamp}")


# LLVM's names of CPU features that Linux's /proc/cpuinfo spells otherwise; the others match
# once '-', '_' and '.' are dropped (avx512vnni = avx512_vnni, amx-tile = amx_tile).
LINUX_FLAG_NAMES = {"sse3": "pni", "pclmul": "pclmulqdq", "lzcnt": "abm", "rdrnd": "rdrand",
                    "prfchw": "3dnowprefetch", "x87": "fpu", "64bit": "lm", "64bit-mode": "lm",
                    "sahf": "lahf_lm", "crc32": "sse4_2", "egpr": "apx", "avx10.1": "avx10",
                    "bmi": "bmi1", "sha": "sha_ni"}
# LLVM's tuning flags and modes among a CPU's features: not instructions.
TUNING_PREFIXES = ("fast-", "slow-", "false-deps-", "no-bypass-", "tuning-", "prefer-", "allow-",
                   "idivq-", "idivl-")
TUNING_FLAGS = {"macrofusion", "vzeroupper", "nopl", "ermsb", "fsrm", "branch-hint"}


def flat(name):
    return name.replace("-", "").replace("_", "").replace(".", "")


def host_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return {flat(x) for x in line.split(":", 1)[1].split()}
    raise GenError("/proc/cpuinfo has no flags line")


def host_target(cpu=None):
    """An llvm target for this host, or for `cpu`. The wheel's LLVM refuses mcpu=native with
    its own (conda) triple, so the triple and the CPU's name are given; for the host, the
    features of that CPU model that this machine lacks (a hypervisor may hide AMX, say) are
    turned off, so that the compiler never uses them."""
    import_tvm()
    from tvm.target import codegen
    spec = {"kind": "llvm", "mtriple": "x86_64-linux-gnu",
            "mcpu": cpu or codegen.llvm_get_system_cpu(),
            # MetaSchedule's parallel schedules need the cores it may use.
            "num-cores": len(os.sched_getaffinity(0))}
    if cpu is None:
        flags = host_flags()
        lacking = sorted(
            f for f in (str(x) for x in codegen.llvm_get_cpu_features(tvm.target.Target(spec)))
            if not f.startswith(TUNING_PREFIXES) and f not in TUNING_FLAGS
            and flat(LINUX_FLAG_NAMES.get(f, f)) not in flags)
        if lacking:
            spec["mattr"] = [f"-{f}" for f in lacking]
    return tvm.target.Target(spec)


def target_record(target):
    from tvm.target import codegen
    record = {"kind": "llvm", "mtriple": str(target.attrs["mtriple"]),
              "mcpu": str(target.attrs["mcpu"])}
    if "mattr" in target.attrs:
        record["mattr"] = [str(a) for a in target.attrs["mattr"]]
    record["features"] = sorted(str(f) for f in codegen.llvm_get_cpu_features(target))
    return record


# ---------------------------------------------------------------------------- compiling

def import_onnx(path):
    from tvm.relax.frontend.onnx import from_onnx
    model = onnx.load(path)
    mod = from_onnx(model, keep_params_in_input=False)
    return model, relax.transform.DecomposeOpsForInference()(mod)


def fast_build(mod, target, _params):
    """MetaSchedule's default builder less its `import tvm.s_tir.tensor_intrin` (21 s in every
    worker process, 15 s of it CUDA intrinsics, which made each batch of candidates cost 21 s
    and time out). Defined in the main script so that the workers can unpickle it."""
    from tvm.s_tir.transform import RemoveWeightLayoutRewriteBlock
    from tvm.driver import build as tvm_build  # not tvm.compile: tuning needs a runtime module
    return tvm_build(RemoveWeightLayoutRewriteBlock(skip_tensor_rewrite=True)(mod), target=target)


def x86_intrinsics_only():
    """Registers the x86 tensor intrinsics without importing the package's CUDA, ROCm and
    Hexagon ones (the same 21 s, once, in this process)."""
    import types
    import tvm.s_tir
    name = "tvm.s_tir.tensor_intrin"
    if name in sys.modules:
        return
    package = types.ModuleType(name)
    package.__path__ = [os.path.join(os.path.dirname(tvm.s_tir.__file__), "tensor_intrin")]
    package.__package__ = name
    sys.modules[name] = package
    import tvm.s_tir.tensor_intrin.x86  # noqa: F401


def fused(mod):
    """The operators as fused TIR functions, their weights' layout free to change: the module
    whose functions are tuned and to which the tuning records are applied (records match a
    function of exactly this module)."""
    t = relax.transform
    return tvm.transform.Sequential([
        t.CanonicalizeBindings(), t.LegalizeOps(), t.AnnotateTIROpPattern(), t.FoldConstant(),
        t.FuseOps(), t.FuseTIR(), t.AttachAttrLayoutFreeBuffers()])(mod)


def build(mod, target, trials, cache_dir, key):
    """relax.build of `mod` for `target`. With trials > 0 its operators are first tuned with
    MetaSchedule: random schedules of its design spaces (replay-trace), `trials` per task, each
    measured once; structurally equal functions are one task. The records are kept in
    CACHE/KEY-tTRIALS-<target digest>; a complete database there is applied without tuning.
    Weights are prepacked into the layouts the chosen schedules want at compile time."""
    if trials <= 0:
        with target:
            mod = relax.get_pipeline("zero")(mod)
        return relax.build(mod, target=target)
    x86_intrinsics_only()
    from tvm.s_tir import meta_schedule as ms
    digest = hashlib.sha256(json.dumps(target_record(target), sort_keys=True).encode()).hexdigest()[:12]
    work_dir = os.path.join(cache_dir, f"{key}-t{trials}-{digest}-tvm{tvm_version()}")
    done = os.path.join(work_dir, ".complete")
    mod = fused(mod)
    if not os.path.exists(done):
        shutil.rmtree(work_dir, ignore_errors=True)  # an interrupted tuning run
        os.makedirs(work_dir)
        tasks = len(ms.relax_integration.extract_tasks(mod, target))
        t0 = time.monotonic()
        # MetaSchedule reports every batch on stdout: kept in work_dir/tuning.log instead.
        log = os.path.join(work_dir, "tuning.log")
        sys.stdout.flush()
        saved = os.dup(1)
        with open(log, "w") as f:
            os.dup2(f.fileno(), 1)
            try:
                ms.relax_integration.tune_relax(
                    mod, {}, target, work_dir=work_dir, max_trials_global=trials * tasks,
                    max_trials_per_task=trials, num_trials_per_iter=trials,
                    strategy="replay-trace", cost_model="random",
                    builder=ms.builder.LocalBuilder(f_build=fast_build,
                                                    max_workers=os.cpu_count(), timeout_sec=120),
                    runner=ms.runner.LocalRunner(
                        timeout_sec=60, evaluator_config=ms.runner.EvaluatorConfig(
                            number=1, repeat=1, min_repeat_ms=0, enable_cpu_cache_flush=False)))
            finally:
                sys.stdout.flush()
                os.dup2(saved, 1)
                os.close(saved)
        with open(done, "w") as f:
            f.write(f"{tasks} tasks, {trials} trials each, {time.monotonic() - t0:.0f}s\n")
        print(f"  tuned {tasks} tasks x {trials} trials in {time.monotonic() - t0:.0f}s "
              f"(records and log: {work_dir})", flush=True)
    else:
        print(f"  tuning records reused: {work_dir}", flush=True)
    database = ms.database.JSONDatabase(work_dir=work_dir)
    with target, database, tvm.transform.PassContext(opt_level=3):
        mod = relax.transform.MetaScheduleApplyDatabase(enable_warning=True)(mod)
        mod = tvm.transform.Sequential([relax.transform.SplitLayoutRewritePreproc(),
                                        relax.transform.LiftTransformParams(),
                                        relax.transform.FoldConstant()])(mod)
        return relax.build(mod, target=target)


def run_module(path, inputs):
    """The exported module at `path`, run by TVM's runtime on `inputs` (a list of arrays)."""
    lib = tvm.runtime.load_module(path)
    vm = relax.VirtualMachine(lib, tvm.cpu())
    out = vm["main"](*[tvm.runtime.tensor(a) for a in inputs])
    flat = []

    def collect(v):
        if isinstance(v, (list, tuple)) or type(v).__name__ == "Array":
            for item in v:
                collect(item)
        else:
            flat.append(v.numpy())
    collect(out)
    return flat


def value_info(v, elem_names):
    t = v.type.tensor_type
    dims = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        else:
            dims.append(d.dim_param or None)
    return {"name": v.name, "dtype": elem_names[t.elem_type], "shape": dims}


def signature(model, target, trials):
    elem_names = {v: k for k, v in {"float32": 1, "uint8": 2, "int8": 3, "uint16": 4, "int16": 5,
                                    "int32": 6, "int64": 7, "bool": 9, "float16": 10,
                                    "float64": 11, "uint32": 12, "uint64": 13,
                                    "bfloat16": 16}.items()}
    initializers = {i.name for i in model.graph.initializer}
    return {
        "format": "polyinfer tvm signature 1",
        "function": "main",
        "inputs": [value_info(v, elem_names) for v in model.graph.input if v.name not in initializers],
        "outputs": [value_info(v, elem_names) for v in model.graph.output],
        "target": target_record(target),
        "tvm": tvm_version(),
        "tune_trials": trials,
    }


def write_module(d, model, ex, target, trials, suffix=""):
    """model.so and model.json in `d`, written under temporary names and renamed: the pair is
    either old or new."""
    tmp_so = os.path.join(d, ".tmp-" + MODULE_FILE)
    tmp_sig = os.path.join(d, ".tmp-" + SIGNATURE_FILE)
    ex.export_library(tmp_so)
    with open(tmp_sig, "w") as f:
        json.dump(signature(model, target, trials), f, indent=2)
        f.write("\n")
    return tmp_so, tmp_sig


def compile_model(out, name, trials, cache_dir, force):
    """DIR/NAME/model.so + model.json from DIR/NAME/model.onnx, checked against PyTorch's
    outputs. Returns False when up to date."""
    d = os.path.join(out, name)
    try:
        with open(os.path.join(d, ".stamp")) as f:
            stamp = stamp_text(f.read(), trials)
    except OSError:
        raise GenError(f"{d}/.stamp is missing: run tools/gen_models.py --out {out} first")
    mark = os.path.join(d, STAMP)
    if not force and model_dirs.up_to_date_file(mark, stamp) and all(
            os.path.exists(os.path.join(d, f)) for f in (MODULE_FILE, SIGNATURE_FILE)):
        return False
    import_tvm()
    t0 = time.monotonic()
    onnx_path = os.path.join(d, "model.onnx")
    model, mod = import_onnx(onnx_path)
    target = host_target()
    with open(onnx_path, "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()[:16]
    ex = build(mod, target, trials, cache_dir, f"{name}-{key}")
    tmp_so, tmp_sig = write_module(d, model, ex, target, trials)

    tdir = os.path.join(d, "test_data_set_0")
    files = sorted(os.listdir(tdir))
    inputs = [read_pb(os.path.join(tdir, f))[1] for f in files if f.startswith("input_")]
    expected = [read_pb(os.path.join(tdir, f))[1] for f in files if f.startswith("output_")]
    got = run_module(tmp_so, inputs)
    check(len(got) == len(expected), f"{name}: {len(got)} outputs, PyTorch's model has {len(expected)}")
    diff = 0.0
    for k, (g, e) in enumerate(zip(got, expected)):
        check(g.shape == e.shape and g.dtype == e.dtype,
              f"{name} output {k}: TVM gives {dtype_name(g.dtype)}{list(g.shape)}, PyTorch "
              f"{dtype_name(e.dtype)}{list(e.shape)}")
        if g.dtype.kind == "f":
            check(np.allclose(g, e, atol=1e-4, rtol=1e-3),
                  f"{name} output {k}: TVM differs from PyTorch by {np.abs(g - e).max():.3g}")
            diff = max(diff, float(np.abs(g.astype(np.float64) - e).max()))
        else:
            check(np.array_equal(g, e), f"{name} output {k}: TVM's values differ from PyTorch's")
    os.replace(tmp_so, os.path.join(d, MODULE_FILE))
    os.replace(tmp_sig, os.path.join(d, SIGNATURE_FILE))
    with open(mark, "w") as f:
        f.write(stamp)
    print(f"{name}: TVM module written in {time.monotonic() - t0:.1f}s (tune trials {trials}, "
          f"max abs diff vs PyTorch {diff:.3g})", flush=True)
    return True


def make_foreign(out, force):
    """DIR/tvm_foreign_cpu: the MLP compiled for FOREIGN_CPU, when this host lacks some of its
    features. Never run here."""
    d = os.path.join(out, FOREIGN)
    src = os.path.join(out, "mlp", "model.onnx")
    with open(os.path.join(out, "mlp", ".stamp")) as f:
        stamp = stamp_text(f.read(), 0) + f"\ncpu: {FOREIGN_CPU}"
    if not force and model_dirs.up_to_date(d, stamp):
        return False
    import_tvm()
    host = set(target_record(host_target())["features"])
    target = host_target(FOREIGN_CPU)
    missing = sorted(set(target_record(target)["features"]) - host)
    if not missing:
        print(f"{FOREIGN}: skipped, this host's CPU has every feature of {FOREIGN_CPU}", flush=True)
        return False
    model, mod = import_onnx(src)
    ex = build(mod, target, 0, None, None)
    os.makedirs(d, exist_ok=True)
    tmp_so, tmp_sig = write_module(d, model, ex, target, 0)
    os.replace(tmp_so, os.path.join(d, MODULE_FILE))
    os.replace(tmp_sig, os.path.join(d, SIGNATURE_FILE))
    with open(os.path.join(d, ".stamp"), "w") as f:
        f.write(stamp)
    print(f"{FOREIGN}: MLP compiled for {FOREIGN_CPU} (this host lacks {', '.join(missing[:6])}"
          f"{', ...' if len(missing) > 6 else ''})", flush=True)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="the models directory (gen_models.py's --out)")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated list (default: {','.join(MODELS)})")
    ap.add_argument("--force", action="store_true", help="compile even if up to date")
    ap.add_argument("--tune-trials", type=int,
                    default=int(os.environ.get("POLYINFER_TVM_TUNE_TRIALS", "0")),
                    help="MetaSchedule trials per tuning task (0: no tuning; default: env "
                         "POLYINFER_TVM_TUNE_TRIALS, else 0)")
    ap.add_argument("--tuning-cache", default=None,
                    help="directory that keeps tuning records between runs (default: "
                         "DIR/.tvm-tuning)")
    a = ap.parse_args()
    names = [m for m in a.models.split(",") if m]
    bad = [m for m in names if m not in MODELS]
    if bad:
        ap.error(f"unknown model(s): {','.join(bad)} (known: {','.join(MODELS)})")
    if a.tune_trials < 0:
        ap.error(f"--tune-trials: expected >= 0, got {a.tune_trials}")
    cache = a.tuning_cache or os.path.join(a.out, ".tvm-tuning")
    t_all = time.monotonic()
    for name in names:
        try:
            if not compile_model(a.out, name, a.tune_trials, cache, a.force):
                print(f"{name}: TVM module up to date", flush=True)
        except GenError as e:
            print(f"gen_tvm_models: FAILED {name}: {e}", file=sys.stderr)
            return 1
    if "mlp" in names:
        try:
            if not make_foreign(a.out, a.force):
                print(f"{FOREIGN}: up to date or skipped", flush=True)
        except GenError as e:
            print(f"gen_tvm_models: FAILED {FOREIGN}: {e}", file=sys.stderr)
            return 1
    print(f"total {time.monotonic() - t_all:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
