#!/usr/bin/env python3
"""Generate polyinfer's MXNet test models (symbol JSON + params) and MXNet reference data.

Usage:
    .deps/venv/mxnet/bin/python tools/gen_mx_models.py --out DIR [--models a,b,...] [--force]

Run with the project's MXNet virtual environment (mxnet 1.9.1, numpy < 1.24, onnx); nothing
is downloaded: the model-zoo ResNet is built with pretrained=False and every model's weights
are seeded random numbers (numpy's Generator, a fixed seed per model).

For each model M this writes DIR/M/:
    model-symbol.json        the graph, MXNet's export format (HybridBlock.export for the
    model-0000.params        Gluon models; Symbol.save + ndarray.save for the symbol-API
                             ones): parameters keyed "arg:NAME", auxiliary states (BatchNorm's
                             running mean/var) "aux:NAME". Every model has a params file, an
                             empty one (a list of no arrays) where the graph has no parameters.
    model.onnx               mx_resnet18 and mx_mlp: the same network through MXNet's own
                             exporter (mx.onnx.export_model), declared opset 13 (the newest
                             opset its translators are written for) and IR version 7, the
                             weights as initializers only (the exporter also lists them as
                             graph inputs), batch axis "batch", the output renamed to MXNet's
                             output name so that test_data_set_0 applies to it as well.
                             Checked with onnx.checker (full check) and run with
                             onnx.reference against MXNet's outputs at the test batch and
                             twice it; onnxruntime is not needed.
    test_data_set_0/input_K.pb, output_K.pb   onnx.TensorProto (ONNX backend-test layout),
                             `name` = the symbol's input name / output name (list_outputs(),
                             e.g. "resnetv10_dense0_fwd_output"). Inputs are in the order of
                             the symbol's list_inputs() less the parameters, outputs in the
                             order of list_outputs(). Outputs are what MXNet computed from the
                             *exported files* (Symbol.load + ndarray.load, bound with
                             Symbol.bind and run forward, not training), not from the in-memory
                             network; with MXNet's default MKLDNN subgraph backend, which fuses
                             convolution + batch norm + relu as the C predict API's executor
                             does too. Tensors use raw_data (little-endian, C order; float16
                             its 2-byte bit pattern).
    meta.json                mxnet version, the symbol and params file names and epoch, the
                             inputs and outputs (name, numpy dtype name, shape: the test data's,
                             an MXNet symbol has no fixed shapes) in the test data's order, the
                             arg/aux parameter names, and for models with an ONNX twin its
                             file name, opset, IR version, batch axis and the max abs
                             difference found; mx_resnet18 also "batchnorm_layers", mx_dtypes
                             "dtype_attrs" (each input's "__dtype__", below).
    .stamp                   generator version + mxnet and onnx versions; a matching stamp means
                             "up to date" and the model is skipped unless --force (checked
                             before MXNet is imported, so an up-to-date run is quick).

Models: mx_resnet18 (model zoo resnet18_v1, prefix "resnetv10_", every BatchNorm's gamma,
beta, running mean and running variance random so the logits do not collapse to ~1e-9), mx_mlp
(Dense 16->32 relu, Dense 8), mx_multi_io (symbol API: inputs a, b, parameter w; outputs
a*w+b and a-b), mx_dtypes (symbol API, no parameters: one input per dtype, each output x+x).

mx_dtypes declares its inputs with mx.sym.var(name, dtype=...); MXNet keeps that in the symbol
JSON as the input node's attribute "__dtype__", the MXNet type flag as a decimal string
(float32 "0", float64 "1", float16 "2", uint8 "3", int32 "4", int8 "5", int64 "6"), and
Symbol.infer_type() with no arguments returns those types. The generator checks both. The
Gluon models' and mx_multi_io's inputs carry no "__dtype__" (they are float32, MXNet's default).

Each model is built in DIR/.tmp-M and renamed into place only when complete, so an
interrupted run never leaves a directory with a stamp but missing files.

Twins: PyTorch's mlp, resnet18 and dynamic_batch (tools/gen_models.py's, already in DIR) also
get DIR/M/model-symbol.json + model-0000.params, their model.onnx through MXNet's ONNX importer
(mxnet.contrib.onnx, which finds weights only among the graph's inputs: they are added there
first), outputs named after the ONNX graph's ("y" -> "y_output"), checked against PyTorch's
outputs in DIR/M/test_data_set_0 (atol 1e-4, rtol 1e-3). DIR/M/.stamp-mxnet holds this
generator's stamp and PyTorch's: when gen_models.py remakes M, the twin is made again.
--no-twins skips them.
"""
import argparse
import contextlib
import importlib.metadata
import io
import json
import os
import sys
import tempfile
import warnings

# Before MXNet is imported: binding a graph otherwise prints "Subgraph backend MKLDNN is
# activated." to stderr for every executor.
os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")

import numpy as np
import onnx
import onnx.numpy_helper

import model_dirs
from tensor_files import (ONNX_DTYPES, GenError, check, check_spread, dtype_name, read_pb, same_exact,
                          write_test_data)

# Bump when anything about the generated files changes, so old stamps stop matching.
GEN_VERSION = "polyinfer-gen_mx_models-2"

PREFIX = "model"
EPOCH = 0
SYMBOL_FILE = f"{PREFIX}-symbol.json"
PARAMS_FILE = f"{PREFIX}-{EPOCH:04d}.params"
ONNX_FILE = "model.onnx"
ONNX_OPSET = 13

MODELS = ["mx_resnet18", "mx_mlp", "mx_multi_io", "mx_dtypes"]
# A fixed seed per model, so adding or reordering models never changes another's data.
SEEDS = {"mx_resnet18": 0, "mx_mlp": 101, "mx_multi_io": 202, "mx_dtypes": 303}
# Models that also get model.onnx.
ONNX_TWINS = {"mx_resnet18", "mx_mlp"}
# PyTorch's models (tools/gen_models.py, in the same --out) that also get an MXNet twin,
# model-symbol.json + model-0000.params beside their model.onnx, through MXNet's ONNX importer,
# so that the cross-engine tests run MXNet on them. mobilenet_v2 (Clip with constant inputs)
# and multi_io (GatherElements) are beyond what MXNet 1.9's importer reads.
TWINS = ["mlp", "resnet18", "dynamic_batch"]
TWIN_STAMP = ".stamp-mxnet"

# MXNet's type flags (mshadow's), as the symbol JSON's "__dtype__" attribute writes them.
MX_TYPE_FLAGS = {"float32": 0, "float64": 1, "float16": 2, "uint8": 3, "int32": 4, "int8": 5,
                 "int64": 6, "bool": 7}

mx = None  # imported lazily: an up-to-date run never pays for it


def mx_version():
    try:
        return importlib.metadata.version("mxnet")
    except importlib.metadata.PackageNotFoundError:
        return import_mx().__version__


def stamp_text():
    return f"{GEN_VERSION} mxnet={mx_version()} onnx={onnx.__version__}\n"


def import_mx():
    global mx
    if mx is None:
        # MXNet 1.9 uses numpy aliases and distutils' LooseVersion at import time: a wall of
        # DeprecationWarnings whenever they are shown (python -W default, PYTHONWARNINGS).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import mxnet
        mx = mxnet
    return mx


# ---------------------------------------------------------------------------- tensors




def desc(name, a):
    return {"name": name, "dtype": dtype_name(a.dtype), "shape": [int(d) for d in a.shape]}


def nd(a):
    # dtype explicitly: mx.nd.array makes float32 of anything it is not told otherwise
    # (an int64 numpy array included).
    return mx.nd.array(a, dtype=a.dtype)


# ---------------------------------------------------------------------------- models

def random_params(net, rng):
    """Every parameter of a Gluon block from `rng`, in name order: conv/dense weights He-normal,
    biases and BatchNorm betas / running means N(0, 0.1), gammas / running variances
    U(0.5, 1.5). Fresh BatchNorm statistics (mean 0, var 1) with random convolutions make the
    logits collapse to ~1e-9 and would hide an engine that ignores them."""
    params = net.collect_params()
    for name in sorted(params.keys()):
        p = params[name]
        shape = p.shape
        check(all(d > 0 for d in shape), f"{name}: shape {shape} not yet known")
        if name.endswith("_weight"):
            fan_in = int(np.prod(shape[1:]))
            v = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        elif name.endswith(("_bias", "_beta", "_running_mean")):
            v = rng.normal(0.0, 0.1, shape)
        elif name.endswith(("_gamma", "_running_var")):
            v = rng.uniform(0.5, 1.5, shape)
        else:
            raise GenError(f"{name}: no rule for this parameter")
        p.set_data(mx.nd.array(v.astype(np.float32), dtype=np.float32))


def export_gluon(net, rng, inputs, tmp):
    """Random weights, hybridize, one forward pass (export needs it), export; returns the
    in-memory network's outputs (the reference data does not come from them)."""
    net.initialize()
    x = [nd(a) for a in inputs.values()]
    net(*x)  # resolves any deferred shapes before random_params fills them
    random_params(net, rng)
    net.hybridize()
    out = net(*x)
    out = out if isinstance(out, (list, tuple)) else [out]
    net.export(os.path.join(tmp, PREFIX), epoch=EPOCH)
    return [o.asnumpy() for o in out]


def build_resnet18(rng, tmp):
    from mxnet.gluon.model_zoo import vision
    # An explicit prefix: Gluon's default one counts the ResNets built in this process.
    net = vision.resnet18_v1(pretrained=False, prefix="resnetv10_")
    n_bn = sum(1 for k in net.collect_params().keys() if k.endswith("_running_var"))
    check(n_bn > 0, "resnet18_v1 has no BatchNorm layers?")
    inputs = {"data": rng.standard_normal((1, 3, 224, 224)).astype(np.float32)}
    expect = {"inputs": {"data": ("float32", [1, 3, 224, 224])},
              "outputs": {"resnetv10_dense0_fwd_output": ("float32", [1, 1000])}}
    return inputs, expect, export_gluon(net, rng, inputs, tmp), {"batchnorm_layers": n_bn}


def build_mlp(rng, tmp):
    from mxnet.gluon import nn
    net = nn.HybridSequential(prefix="mlp_")
    with net.name_scope():
        net.add(nn.Dense(32, activation="relu", in_units=16), nn.Dense(8, in_units=32))
    inputs = {"data": rng.standard_normal((2, 16)).astype(np.float32)}
    expect = {"inputs": {"data": ("float32", [2, 16])},
              "outputs": {"mlp_dense1_fwd_output": ("float32", [2, 8])}}
    return inputs, expect, export_gluon(net, rng, inputs, tmp), {}


def save_symbol(sym, arg_params, aux_params, tmp):
    """What HybridBlock.export writes, for a symbol-API graph."""
    sym.save(os.path.join(tmp, SYMBOL_FILE))
    saved = {f"arg:{k}": nd(v) for k, v in arg_params.items()}
    saved.update({f"aux:{k}": nd(v) for k, v in aux_params.items()})
    mx.nd.save(os.path.join(tmp, PARAMS_FILE), saved)


def build_multi_io(rng, tmp):
    a, b, w = mx.sym.var("a"), mx.sym.var("b"), mx.sym.var("w")
    # Every node named: an unnamed one gets a process-wide counter's number ("broadcast_mul0").
    affine = mx.sym.broadcast_add(mx.sym.broadcast_mul(a, w, name="a_times_w"), b, name="affine")
    diff = mx.sym.elemwise_sub(a, b, name="diff")
    save_symbol(mx.sym.Group([affine, diff]),
                {"w": rng.standard_normal(4).astype(np.float32)}, {}, tmp)
    inputs = {"a": rng.standard_normal((2, 4)).astype(np.float32),
              "b": rng.standard_normal((2, 4)).astype(np.float32)}
    expect = {"inputs": {"a": ("float32", [2, 4]), "b": ("float32", [2, 4])},
              "outputs": {"affine_output": ("float32", [2, 4]),
                          "diff_output": ("float32", [2, 4])}}
    return inputs, expect, None, {}


DTYPES = ["float64", "float16", "int32", "int64", "uint8", "int8"]


def build_dtypes(rng, tmp):
    outs = []
    for d in DTYPES:
        x = mx.sym.var(f"x_{d}", dtype=d)
        outs.append(mx.sym.elemwise_add(x, x, name=f"y_{d}"))
    save_symbol(mx.sym.Group(outs), {}, {}, tmp)
    inputs = {}
    for d in DTYPES:
        if d.startswith("float"):
            # quarter steps: exact in float16 too, and so is their double
            a = rng.integers(-40, 41, (2, 3)) / 4.0
        elif d.startswith("u"):
            a = rng.integers(0, 101, (2, 3))  # doubled, still fits uint8
        else:
            a = rng.integers(-50, 51, (2, 3))  # doubled, still fits int8
        inputs[f"x_{d}"] = a.astype(d)
    expect = {"inputs": {f"x_{d}": (d, [2, 3]) for d in DTYPES},
              "outputs": {f"y_{d}_output": (d, [2, 3]) for d in DTYPES}}
    return inputs, expect, None, {}


BUILDERS = {"mx_resnet18": build_resnet18, "mx_mlp": build_mlp, "mx_multi_io": build_multi_io,
            "mx_dtypes": build_dtypes}


# ---------------------------------------------------------------------------- checks

def load_exported(tmp):
    """The exported symbol and its arg / aux parameters, read back from the files."""
    sym = mx.sym.load(os.path.join(tmp, SYMBOL_FILE))
    loaded = mx.nd.load(os.path.join(tmp, PARAMS_FILE))
    if isinstance(loaded, list):  # what ndarray.load returns for a file of no arrays
        check(not loaded, f"{PARAMS_FILE}: unnamed arrays")
        loaded = {}
    arg, aux = {}, {}
    for k, v in loaded.items():
        kind, _, n = k.partition(":")
        check(kind in ("arg", "aux") and n, f"{PARAMS_FILE}: key {k!r} is not arg:/aux:NAME")
        (arg if kind == "arg" else aux)[n] = v
    return sym, arg, aux


def run_exported(tmp, inputs):
    """Binds the exported files' graph with the inputs and runs it forward (inference)."""
    sym, arg, aux = load_exported(tmp)
    data_names = [n for n in sym.list_inputs() if n not in arg and n not in aux]
    check(data_names == list(inputs), f"symbol inputs {data_names}, expected {list(inputs)}")
    check(sorted(sym.list_arguments()) == sorted(list(inputs) + list(arg)),
          f"symbol arguments {sym.list_arguments()}: params file has {sorted(arg)}")
    check(sorted(sym.list_auxiliary_states()) == sorted(aux),
          f"symbol auxiliary states {sym.list_auxiliary_states()}: params file has {sorted(aux)}")
    names = sym.list_outputs()
    check(len(set(names)) == len(names), f"output names not distinct: {names}")

    # What MXNet infers from the inputs' shapes and types is what the run produces.
    known = {**arg, **aux}
    _, out_shapes, _ = sym.infer_shape(**{n: a.shape for n, a in inputs.items()},
                                       **{n: v.shape for n, v in known.items()})
    _, out_types, _ = sym.infer_type(**{n: a.dtype for n, a in inputs.items()},
                                     **{n: v.dtype for n, v in known.items()})
    check(out_shapes is not None and out_types is not None,
          f"MXNet cannot infer the outputs' shapes {out_shapes} or types {out_types}")

    args = {n: nd(a) for n, a in inputs.items()}
    args.update(arg)
    exe = sym.bind(mx.cpu(), args=args, aux_states=aux, grad_req="null")
    exe.forward(is_train=False)
    outputs = {n: o.asnumpy() for n, o in zip(names, exe.outputs)}
    for (n, a), s, t in zip(outputs.items(), out_shapes, out_types):
        check(a.shape == tuple(s) and dtype_name(a.dtype) == dtype_name(t),
              f"output {n}: computed {a.dtype}{list(a.shape)}, inferred {dtype_name(t)}{list(s)}")
    return sym, arg, aux, outputs


def check_dtype_attrs(tmp, inputs):
    """mx_dtypes: each input node of the JSON carries its dtype as "__dtype__", and the loaded
    symbol infers the input and output types from those alone."""
    with open(os.path.join(tmp, SYMBOL_FILE)) as f:
        nodes = {n["name"]: n for n in json.load(f)["nodes"] if n["op"] == "null"}
    attrs = {}
    for n, a in inputs.items():
        got = nodes[n].get("attrs", {}).get("__dtype__")
        want = str(MX_TYPE_FLAGS[dtype_name(a.dtype)])
        check(got == want, f"{SYMBOL_FILE}: input {n} has __dtype__ {got!r}, expected {want!r}")
        attrs[n] = got
    sym = mx.sym.load(os.path.join(tmp, SYMBOL_FILE))
    in_types, out_types, _ = sym.infer_type()
    check([dtype_name(t) for t in in_types] == [dtype_name(a.dtype) for a in inputs.values()],
          f"infer_type() without arguments: inputs {in_types}")
    check([dtype_name(t) for t in out_types] == [dtype_name(a.dtype) for a in inputs.values()],
          f"infer_type() without arguments: outputs {out_types}")
    return attrs


def export_onnx(tmp, inputs, outputs):
    """model.onnx through mx.onnx.export_model, tidied as the module docstring says."""
    check(len(inputs) == 1 and len(outputs) == 1, "ONNX twins have one input and one output")
    (in_name, x), = inputs.items()
    (out_name, y), = outputs.items()
    path = os.path.join(tmp, ONNX_FILE)
    with warnings.catch_warnings():
        # The exporter uses onnx.mapping, deprecated (and warning on each use) since onnx 1.13.
        warnings.simplefilter("ignore", DeprecationWarning)
        mx.onnx.export_model(os.path.join(tmp, SYMBOL_FILE), os.path.join(tmp, PARAMS_FILE),
                             in_shapes=[x.shape], in_types=[x.dtype], onnx_file_path=path,
                             dynamic=True, dynamic_input_shapes=[(None,) + x.shape[1:]])
    m = onnx.load(path)
    g = m.graph

    # The exporter declares the onnx package's newest opset (23 for onnx 1.18) whatever its
    # translators target; they are written for opsets 12 and 13 and pick the newest <= the
    # declared one, so the nodes are opset 13's.
    declared = [(o.domain, o.version) for o in m.opset_import]
    check(len(declared) == 1 and declared[0][0] in ("", "ai.onnx") and
          declared[0][1] >= ONNX_OPSET, f"{ONNX_FILE}: exporter declared opsets {declared}")
    m.opset_import[0].domain = ""
    m.opset_import[0].version = ONNX_OPSET
    m.ir_version = onnx.helper.find_min_ir_version_for(list(m.opset_import))
    m.producer_name, m.producer_version = "mxnet.onnx", mx.__version__

    # Weights are initializers; the exporter lists them as graph inputs too (IR 3 style).
    inits = {t.name for t in g.initializer}
    real = [vi for vi in g.input if vi.name not in inits]
    check([vi.name for vi in real] == [in_name],
          f"{ONNX_FILE}: inputs {[vi.name for vi in real]}, expected [{in_name!r}]")
    del g.input[:]
    g.input.extend(real)

    # The exporter names the output after the node ("..._fwd"); MXNet's name has "_output".
    check(len(g.output) == 1, f"{ONNX_FILE}: {len(g.output)} outputs")
    old = g.output[0].name
    if old != out_name:
        check(old not in inits and out_name not in {o for n in g.node for o in n.output},
              f"{ONNX_FILE}: cannot rename {old!r} to {out_name!r}")
        for node in g.node:
            for seq in (node.input, node.output):
                for i, v in enumerate(seq):
                    if v == old:
                        seq[i] = out_name
        for vi in list(g.output) + list(g.value_info):
            if vi.name == old:
                vi.name = out_name

    # Shapes: batch axis "batch", the other dims fixed (the exporter leaves the output's unknown).
    for vi, a in ((g.input[0], x), (g.output[0], y)):
        tt = vi.type.tensor_type
        check(tt.elem_type == ONNX_DTYPES[dtype_name(a.dtype)],
              f"{ONNX_FILE}: {vi.name} elem_type {tt.elem_type}")
        dims = tt.shape.dim
        check(len(dims) == a.ndim, f"{ONNX_FILE}: {vi.name} rank {len(dims)}, expected {a.ndim}")
        check(not dims[0].HasField("dim_value"),
              f"{ONNX_FILE}: {vi.name} batch axis is fixed at {dims[0].dim_value}")
        dims[0].dim_param = "batch"
        for d, n in zip(dims[1:], a.shape[1:]):
            check(not d.HasField("dim_value") or d.dim_value == n,
                  f"{ONNX_FILE}: {vi.name} dims {[d.dim_value for d in dims]}, expected {a.shape}")
            d.dim_value = n

    onnx.save(m, path)
    onnx.checker.check_model(path, full_check=True)  # full: strict shape inference as well
    return {"file": ONNX_FILE, "opset": ONNX_OPSET, "ir_version": m.ir_version,
            "onnx": onnx.__version__, "batch_axis": "batch"}


def check_onnx_parity(path, inputs, outputs):
    """model.onnx on the test inputs, and on them twice over along the batch axis (the batch
    really is dynamic), with onnx's reference evaluator; returns the max abs difference."""
    from onnx.reference import ReferenceEvaluator
    from onnx.version_converter import convert_version
    m = onnx.load(path)
    # onnx.reference's BatchNormalization for opsets 9-14 normalizes with the batch's own
    # statistics (training mode) whenever momentum is set, and momentum has a default; from
    # opset 15 on it is inference unless training_mode=1. So the evaluated copy is converted
    # to opset 15 (no other op these models use changed meaning between 13 and 15).
    if any(n.op_type == "BatchNormalization" for n in m.graph.node):
        m = convert_version(m, 15)
    sess = ReferenceEvaluator(m)
    worst = 0.0
    for reps in (1, 2):
        feed = {n: np.concatenate([a] * reps) for n, a in inputs.items()}
        got = sess.run(list(outputs), feed)
        for (n, ref), g in zip(outputs.items(), got):
            ref = np.concatenate([ref] * reps)
            check(ref.dtype == g.dtype and ref.shape == g.shape,
                  f"onnx.reference {path}: {n} is {g.dtype}{list(g.shape)}, "
                  f"expected {ref.dtype}{list(ref.shape)}")
            err = float(np.abs(g.astype(np.float64) - ref).max())
            check(err <= 1e-4 * max(1.0, float(np.abs(ref).max())),
                  f"onnx.reference {path}: {n} differs from MXNet by {err:.3g}")
            worst = max(worst, err)
    return worst


# ---------------------------------------------------------------------------- generation

def generate(name, tmp):
    import_mx()
    rng = np.random.default_rng(SEEDS[name])
    inputs, expect, in_memory, notes = BUILDERS[name](rng, tmp)
    check(sorted(os.listdir(tmp)) == sorted([SYMBOL_FILE, PARAMS_FILE]),
          f"exported files {sorted(os.listdir(tmp))}, expected {SYMBOL_FILE} and {PARAMS_FILE}")

    sym, arg, aux, outputs = run_exported(tmp, inputs)
    for kind, got in (("inputs", inputs), ("outputs", outputs)):
        want = expect[kind]
        check(list(got) == list(want), f"{kind} {list(got)}, expected {list(want)}")
        for k, (dt, shape) in want.items():
            d = desc(k, got[k])
            check((d["dtype"], d["shape"]) == (dt, shape),
                  f"{kind[:-1]} {k} is {d['dtype']}{d['shape']}, expected {dt}{shape}")
    for k, a in outputs.items():
        check_spread(k, a)

    # The exported files compute what the network in memory did. Not bit for bit: a bound
    # executor runs MXNet's default MKLDNN subgraph backend, which fuses convolution, batch
    # norm and relu (resnet18: 2e-4 on logits up to ~500); Gluon's cached graph does not.
    if in_memory is not None:
        for (k, a), m in zip(outputs.items(), in_memory):
            check(a.shape == m.shape, f"output {k}: in memory {list(m.shape)}")
            err = float(np.abs(a - m).max())
            check(err <= 1e-5 * max(1.0, float(np.abs(m).max())),
                  f"output {k}: exported model differs from the in-memory one by {err:.3g}")

    # Model-specific checks of the computed values against numpy.
    if name == "mx_multi_io":
        a, b, w = inputs["a"], inputs["b"], arg["w"].asnumpy()
        same_exact(a * w + b, outputs["affine_output"], "mx_multi_io: affine_output")
        same_exact(a - b, outputs["diff_output"], "mx_multi_io: diff_output")
    if name == "mx_dtypes":
        for d in DTYPES:
            x = inputs[f"x_{d}"]
            same_exact(x + x, outputs[f"y_{d}_output"], f"mx_dtypes: y_{d}_output")
        notes["dtype_attrs"] = check_dtype_attrs(tmp, inputs)

    meta = {"name": name, "mxnet": mx.__version__, "symbol": SYMBOL_FILE, "params": PARAMS_FILE,
            "epoch": EPOCH,
            "inputs": [desc(k, a) for k, a in inputs.items()],
            "outputs": [desc(k, a) for k, a in outputs.items()],
            "arg_params": sorted(arg), "aux_params": sorted(aux)}
    meta.update(notes)

    if name in ONNX_TWINS:
        meta["onnx"] = export_onnx(tmp, inputs, outputs)
        meta["onnx"]["checked_with"] = "onnx.reference"
        meta["onnx"]["max_abs_diff"] = check_onnx_parity(os.path.join(tmp, ONNX_FILE),
                                                         inputs, outputs)

    write_test_data(os.path.join(tmp, "test_data_set_0"), inputs, outputs)
    with open(os.path.join(tmp, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    return {k: (float(a.astype(np.float64).mean()), float(a.astype(np.float64).std()))
            for k, a in outputs.items()}


# ---------------------------------------------------------------------------- twins

def twin_stamp(torch_stamp):
    return f"{stamp_text()}of: {torch_stamp}"


def make_twin(out, name):
    """OUT/NAME/model-symbol.json + model-0000.params: PyTorch's model (gen_models.py's
    model.onnx in OUT/NAME) through MXNet's ONNX importer, checked against PyTorch's outputs in
    OUT/NAME/test_data_set_0. Returns False when the twin was up to date."""
    d = os.path.join(out, name)
    try:
        with open(os.path.join(d, ".stamp")) as f:
            stamp = twin_stamp(f.read())
    except OSError:
        raise GenError(f"{d}/.stamp is missing: run tools/gen_models.py --out {out} first")
    mark = os.path.join(d, TWIN_STAMP)
    if model_dirs.up_to_date_file(mark, stamp) and all(
            os.path.exists(os.path.join(d, f)) for f in (SYMBOL_FILE, PARAMS_FILE)):
        return False
    import_mx()
    model = onnx.load(os.path.join(d, ONNX_FILE))
    # MXNet's importer finds weights only among the graph's inputs (ONNX before IR 4);
    # PyTorch lists them as initializers only.
    declared = {i.name for i in model.graph.input}
    for init in model.graph.initializer:
        if init.name not in declared:
            model.graph.input.append(
                onnx.helper.make_tensor_value_info(init.name, init.data_type, init.dims))
    output_names = [o.name for o in model.graph.output]
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, ONNX_FILE)
        onnx.save(model, path)
        # The importer prints a deprecation notice on every call.
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            sym, arg_params, aux_params = mx.contrib.onnx.import_model(path)
    # The ONNX graph's output names, as MXNet names outputs ("y" -> "y_output").
    sym = mx.sym.Group([mx.sym.identity(sym[i], name=n) for i, n in enumerate(output_names)])
    tdir = os.path.join(d, "test_data_set_0")
    files = sorted(os.listdir(tdir))
    inputs = dict(read_pb(os.path.join(tdir, f)) for f in files if f.startswith("input_"))
    expected = [read_pb(os.path.join(tdir, f))[1] for f in files if f.startswith("output_")]
    args = dict(arg_params)
    args.update({n: nd(a) for n, a in inputs.items()})
    got = [o.asnumpy() for o in
           sym.bind(mx.cpu(), args, aux_states=aux_params, grad_req="null").forward(is_train=False)]
    check(len(got) == len(expected), f"{name}: {len(got)} outputs, PyTorch's model has {len(expected)}")
    for k, (g, e) in enumerate(zip(got, expected)):
        check(g.shape == e.shape and np.allclose(g, e, atol=1e-4, rtol=1e-3),
              f"{name} output {k}: MXNet's import differs from PyTorch by "
              f"{np.abs(g - e).max() if g.shape == e.shape else 'shape'}")
    # Written under temporary names, then renamed: the pair is either old or new.
    saved = {f"arg:{k}": v for k, v in arg_params.items()}
    saved.update({f"aux:{k}": v for k, v in aux_params.items()})
    sym.save(os.path.join(d, ".tmp-" + SYMBOL_FILE))
    mx.nd.save(os.path.join(d, ".tmp-" + PARAMS_FILE), saved)
    for f in (SYMBOL_FILE, PARAMS_FILE):
        os.replace(os.path.join(d, ".tmp-" + f), os.path.join(d, f))
    with open(mark, "w") as f:
        f.write(stamp)
    diff = max(float(np.abs(g - e).max()) for g, e in zip(got, expected))
    print(f"{name}: MXNet twin of PyTorch's model written (max abs diff {diff:.3g})", flush=True)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated list (default: {','.join(MODELS)})")
    ap.add_argument("--force", action="store_true", help="regenerate even if up to date")
    ap.add_argument("--no-twins", action="store_true",
                    help="skip the MXNet twins of PyTorch's models (gen_models.py's, in --out)")
    ap.add_argument("--twins", default=",".join(TWINS),
                    help=f"the PyTorch models to make twins of (default: {','.join(TWINS)})")
    a = ap.parse_args()

    twins = [m for m in a.twins.split(",") if m]
    if [m for m in twins if m not in TWINS]:
        ap.error(f"no twin of: {a.twins} (known: {','.join(TWINS)})")
    names = [m for m in a.models.split(",") if m]
    bad = [m for m in names if m not in MODELS]
    if bad:
        ap.error(f"unknown model(s): {','.join(bad)} (known: {','.join(MODELS)})")

    def generate_checked(name, tmp):
        stats = generate(name, tmp)
        check(mx.__version__ == mx_version(),
              f"mxnet {mx.__version__} imported, package metadata says {mx_version()}")
        return stats

    status = model_dirs.generate_all("gen_mx_models", a.out, names, stamp_text(),
                                     generate_checked, a.force)
    if status != 0 or a.no_twins:
        return status
    return model_dirs.make_twins("gen_mx_models", twins, lambda n: make_twin(a.out, n), "MXNet",
                                 GenError)

if __name__ == "__main__":
    sys.exit(main())
