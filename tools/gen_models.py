#!/usr/bin/python3
"""Generate polyinfer's test models and PyTorch reference data.

Usage:
    /usr/bin/python3 tools/gen_models.py --out DIR [--models a,b,...] [--force]

Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision, python3-onnx);
nothing is downloaded: torchvision models are built with weights=None and random weights.

For each model M this writes DIR/M/:
    model.pt                 TorchScript (loadable with torch::jit::load)
    model.onnx               ONNX, opset 13 (not for the TorchScript-only models,
                             TORCH_ONLY: their outputs have no ONNX equivalent)
    model_opset10.onnx       opset 10, resnet18 and mobilenet_v2 only (OpenCV 4.6 needs it)
    test_data_set_0/input_K.pb, output_K.pb   onnx.TensorProto, ONNX backend-test layout
    npy/NAME.npy             the same tensors as .npy (little-endian, C order)
    meta.json                names, dtypes, shapes, dynamic axes, torch version;
                             TorchScript-only models add "torchscript_only": true and
                             "return_type" (forward's TorchScript return type)
    .stamp                   generator version + torch version; a matching stamp means
                             "up to date" and the model is skipped unless --force.

Output names are the ONNX graph's, except for TorchScript-only models: there they are
the names polyinfer's torch plugin gives forward's flattened return value (the rule at
the top of src/engines/torch/torch_engine.hpp, mirrored by flatten_like_torch_plugin).

Each model is built in DIR/.tmp-M and renamed into place only when complete, so an
interrupted run never leaves a directory with a stamp but missing files.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torchvision

import model_dirs
from typing import Dict, List, Tuple

# Bump when anything about the generated files changes, so old stamps stop matching.
GEN_VERSION = "polyinfer-gen_models-1"
STAMP = f"{GEN_VERSION} torch={torch.__version__}\n"

ONNX_OPSET = 13
# OpenCV 4.6's importer does not understand Clip with min/max as inputs (opset >= 11).
OPSET10_MODELS = {"resnet18", "mobilenet_v2"}

NP_TO_ONNX = {np.dtype("float32"): onnx.TensorProto.FLOAT,
              np.dtype("int64"): onnx.TensorProto.INT64,
              np.dtype("bool"): onnx.TensorProto.BOOL}


class GenError(Exception):
    pass


def check(cond, msg):
    # Not `assert`: these checks must survive `python -O`.
    if not cond:
        raise GenError(msg)


# ---------------------------------------------------------------------------- models

class MultiIO(nn.Module):
    """Mixed dtypes in and out: float/int64/bool inputs, float and int64 outputs."""

    def forward(self, x: torch.Tensor, idx: torch.Tensor, mask: torch.Tensor):
        picked = x.gather(1, idx).sum(dim=1, keepdim=True)
        scores = torch.where(mask, x * 2.0 + 1.0, torch.zeros_like(x)) + picked
        count = mask.sum(dim=1) + idx.sum(dim=1)  # bool.sum() is int64
        return scores, count


class NestedOutputs(nn.Module):
    """TorchScript-only: a nested return value for the torch plugin's flattening rule.

    A tuple holding a tensor, a list of 2 tensors, a dict with str keys (inserted in
    non-alphabetical order, with different shapes, so that sorting or mixing them up
    shows), a nested tuple ending in an int, and a float. The torch plugin names them:
        output_0, output_1_0, output_1_1, output_2.zeta, output_2.alpha,
        output_3_0, output_3_1_0, output_3_1_1 (int -> 0-d int64), output_4 (0-d float64)
    """

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor],
                                                Dict[str, torch.Tensor],
                                                Tuple[torch.Tensor, Tuple[torch.Tensor, int]],
                                                float]:
        y = self.linear(x)  # [1,3]
        parts = [x * 2.0 + 1.0, torch.sigmoid(y) * 4.0]  # [1,4], [1,3]
        named: Dict[str, torch.Tensor] = {}
        named["zeta"] = torch.tanh(x) * 3.0  # [1,4]
        named["alpha"] = y - y.mean()  # [1,3]
        nested = (x.flip(1) - 1.0, (y.exp(), int(torch.argmax(x))))
        return y, parts, named, nested, float(x.sum())


def flatten_like_torch_plugin(value, name="output", top=True):
    """(name, tensor) pairs in the order and with the names the torch plugin gives them.

    Mirrors the flattening rule documented in src/engines/torch/torch_engine.hpp: a
    tensor is `name`; element i of a tuple or list is `name_i`; the value of dict key k
    is `k` at the top level, `name.k` when nested; int/float/bool become 0-d
    int64/float64/bool tensors; None is left out.
    """
    if isinstance(value, torch.Tensor):
        yield name, value
    elif isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            yield from flatten_like_torch_plugin(v, f"{name}_{i}", False)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from flatten_like_torch_plugin(v, str(k) if top else f"{name}.{k}", False)
    elif value is None:
        return
    elif isinstance(value, bool):  # before int: bool is an int in Python
        yield name, torch.tensor(value, dtype=torch.bool)
    elif isinstance(value, int):
        yield name, torch.tensor(value, dtype=torch.int64)
    elif isinstance(value, float):
        yield name, torch.tensor(value, dtype=torch.float64)
    else:
        raise GenError(f"output {name}: cannot flatten a {type(value).__name__}")


# The forward argument names become TorchScript's input names (what polyinfer reports and
# what C++ callers bind by name), and nn.Sequential / torchvision call theirs `input` / `x`.
# These thin wrappers pin the names; the extra `net.` prefix on parameters is harmless.
class TakesX(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


class TakesInput(TakesX):
    def forward(self, input):  # noqa: A002 -- the name is the point
        return self.net(input)


def randomize_batchnorm(model, gen):
    # Fresh BN layers are identity-ish (mean 0, var 1, weight 1, bias 0); in deep nets with
    # random conv weights that makes activations collapse or blow up and any engine
    # comparison meaningless, and it hides bugs where an engine ignores BN statistics.
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def build(name, gen):
    """Return (module, inputs as ordered dict name->tensor, output names, dynamic_axes).

    Output names are None for TORCH_ONLY models: they come from flattening the output."""
    randn = lambda *s: torch.randn(*s, generator=gen)
    if name == "mlp":
        m = TakesX(nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8)))
        return m, {"x": randn(1, 16)}, ["y"], {}
    if name == "multi_io":
        ins = {"x": randn(2, 4),
               "idx": torch.randint(0, 4, (2, 3), generator=gen, dtype=torch.int64),
               # Exactly two True per row at random places: an all-False row would make
               # that row of `scores` constant and hide a broken Where.
               "mask": torch.rand(2, 4, generator=gen).argsort(dim=1) < 2}
        return MultiIO(), ins, ["scores", "count"], {}
    if name == "dynamic_batch":
        m = TakesX(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5)))
        return m, {"x": randn(3, 3, 8, 8)}, ["y"], {"x": {0: "batch"}, "y": {0: "batch"}}
    if name in ("resnet18", "mobilenet_v2", "resnet50"):
        m = TakesInput(getattr(torchvision.models, name)(weights=None))
        return m, {"input": randn(1, 3, 224, 224)}, ["output"], {}
    if name == "nested_outputs":
        return NestedOutputs(), {"x": randn(1, 4)}, None, {}
    raise GenError(f"unknown model {name!r}")


MODELS = ["mlp", "multi_io", "dynamic_batch", "resnet18", "mobilenet_v2", "nested_outputs"]
# Generated only when asked for by name (--models): too big for every test run.
EXTRA_MODELS = ["resnet50"]
# A fixed seed per model, so adding or reordering models never changes another's data.
SEEDS = {"mlp": 101, "multi_io": 202, "dynamic_batch": 303, "resnet18": 404,
         "mobilenet_v2": 505, "nested_outputs": 606, "resnet50": 707}
# Scripted, not traced: their signatures (argument names, tuple/list/dict returns) must
# survive as written.
SCRIPTED = {"multi_io", "nested_outputs"}
# TorchScript only: no ONNX export (nested list/dict/scalar outputs have no ONNX form).
TORCH_ONLY = {"nested_outputs"}


# ---------------------------------------------------------------------------- checks

def as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def same(ref, got, what):
    check(ref.dtype == got.dtype and ref.shape == got.shape,
          f"{what}: got {got.dtype}{list(got.shape)}, expected {ref.dtype}{list(ref.shape)}")
    if ref.dtype.is_floating_point:
        # Relative-ish: resnet outputs reach ~1e2, where 1e-5 absolute is below float32 eps.
        tol = 1e-5 * max(1.0, ref.abs().max().item())
        err = (ref - got).abs().max().item()
        check(err <= tol, f"{what}: max abs diff {err:.3g} > {tol:.3g}")
    else:
        check(torch.equal(ref, got), f"{what}: integer/bool values differ")


def check_onnx_io(path, ins, outs, dyn):
    """The exported graph must keep every input (none folded into a constant) with its dtype."""
    g = onnx.load(path).graph
    for kind, vals, want in (("input", g.input, ins), ("output", g.output, outs)):
        got = [v.name for v in vals]
        check(got == list(want), f"{path}: graph {kind}s {got}, expected {list(want)}")
        for v in vals:
            arr = want[v.name]
            et = v.type.tensor_type.elem_type
            check(et == NP_TO_ONNX[arr.dtype],
                  f"{path}: {kind} {v.name} elem_type {onnx.TensorProto.DataType.Name(et)},"
                  f" expected {arr.dtype}")
            dims = v.type.tensor_type.shape.dim
            check(len(dims) == arr.ndim, f"{path}: {kind} {v.name} rank {len(dims)}")
            for ax, d in enumerate(dims):
                if ax in dyn.get(v.name, {}):
                    check(d.dim_param == dyn[v.name][ax],
                          f"{path}: {kind} {v.name} axis {ax} not dynamic '{dyn[v.name][ax]}'")
                else:
                    check(d.dim_value == arr.shape[ax],
                          f"{path}: {kind} {v.name} axis {ax} is {d}, expected {arr.shape[ax]}")


def check_with_ort(path, ins, outs):
    try:
        import onnxruntime as ort
    except ImportError:
        return  # not packaged for Debian; the C++ tests cover ONNX Runtime
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(list(outs), dict(ins))
    for (n, ref), g in zip(outs.items(), got):
        check(ref.dtype == g.dtype and ref.shape == g.shape, f"ORT {path}: {n} dtype/shape")
        check(np.allclose(g, ref, rtol=1e-4, atol=1e-4), f"ORT {path}: {n} differs")


# ---------------------------------------------------------------------------- generation

def export_onnx(model, inputs, out_names, dyn, path, opset):
    torch.onnx.export(model, tuple(inputs.values()), path, opset_version=opset,
                      input_names=list(inputs), output_names=out_names,
                      dynamic_axes=dyn or None, do_constant_folding=True)
    onnx.checker.check_model(path)


def generate(name, tmp):
    torch.manual_seed(SEEDS[name])  # layer init uses the global RNG
    gen = torch.Generator().manual_seed(SEEDS[name])
    model, inputs, out_names, dyn = build(name, gen)
    with torch.no_grad():
        randomize_batchnorm(model, gen)
    model.eval()

    torch_only = name in TORCH_ONLY
    with torch.no_grad():
        raw = model(*inputs.values())
    if torch_only:
        outputs = dict(flatten_like_torch_plugin(raw))
    else:
        ref = as_tuple(raw)
        check(len(ref) == len(out_names), f"{len(ref)} outputs, expected {len(out_names)}")
        outputs = dict(zip(out_names, ref))
    for n, t in outputs.items():
        if t.dtype.is_floating_point:
            check(torch.isfinite(t).all().item(), f"output {n} has NaN/Inf")
        if t.dtype.is_floating_point and t.numel() > 1:  # no spread in a single value
            std = t.std().item()
            check(1e-2 <= std <= 1e4, f"output {n} std {std:.3g} outside [1e-2, 1e4]; "
                                      "reference data would be meaningless")

    # TorchScript. Script SCRIPTED models so their signatures (argument names, nested
    # returns) stay as written; trace the rest (torchvision CNNs trace cleanly and
    # batch-agnostically).
    pt = os.path.join(tmp, "model.pt")
    with torch.no_grad():
        if name in SCRIPTED:
            ts = torch.jit.script(model)
        else:
            ts = torch.jit.trace(model, tuple(inputs.values()))
    ts.save(pt)
    loaded = torch.jit.load(pt)
    args = [a.name for a in loaded.forward.schema.arguments][1:]  # drop self
    check(args == list(inputs), f"model.pt forward args {args}, expected {list(inputs)}")
    with torch.no_grad():
        if torch_only:
            # The names prove the structure survived saving and loading (a dict did not
            # turn into a list, its key order held).
            got_named = dict(flatten_like_torch_plugin(loaded(*inputs.values())))
            check(list(got_named) == list(outputs),
                  f"model.pt outputs flatten to {list(got_named)}, expected {list(outputs)}")
            got = list(got_named.values())
        else:
            got = as_tuple(loaded(*inputs.values()))
        for (n, r), g in zip(outputs.items(), got):
            same(r, g, f"model.pt output {n}")
        if name == "dynamic_batch":
            # A trace can bake in the example's batch size; prove this one did not.
            x5 = torch.randn(5, 3, 8, 8, generator=gen)
            same(model(x5), loaded(x5), "model.pt at batch 5")

    np_in = {n: t.numpy() for n, t in inputs.items()}
    np_out = {n: t.numpy() for n, t in outputs.items()}
    dyn_str = {n: {str(ax): v for ax, v in axes.items()} for n, axes in dyn.items()}

    if not torch_only:
        onnx_path = os.path.join(tmp, "model.onnx")
        export_onnx(model, inputs, out_names, dyn, onnx_path, ONNX_OPSET)
        check_onnx_io(onnx_path, np_in, np_out, dyn)
        check_with_ort(onnx_path, np_in, np_out)
    if name in OPSET10_MODELS:
        p10 = os.path.join(tmp, "model_opset10.onnx")
        try:
            export_onnx(model, inputs, out_names, dyn, p10, 10)
            check_onnx_io(p10, np_in, np_out, dyn)
        except Exception as e:  # optional artifact: only OpenCV tests need it
            print(f"  warning: {name}: opset-10 export failed, skipping: {e}", file=sys.stderr)
            if os.path.exists(p10):
                os.remove(p10)

    tdir = os.path.join(tmp, "test_data_set_0")
    ndir = os.path.join(tmp, "npy")
    os.makedirs(tdir)
    os.makedirs(ndir)
    for prefix, tensors in (("input", np_in), ("output", np_out)):
        for k, (n, a) in enumerate(tensors.items()):
            # Not np.ascontiguousarray: it turns 0-d arrays (scalar outputs) into [1].
            a = np.asarray(a, dtype=a.dtype.newbyteorder("<"), order="C")
            with open(os.path.join(tdir, f"{prefix}_{k}.pb"), "wb") as f:
                f.write(onnx.numpy_helper.from_array(a, n).SerializeToString())
            np.save(os.path.join(ndir, f"{n}.npy"), a)

    desc = lambda ts: [{"name": n, "dtype": str(a.dtype), "shape": list(a.shape)}
                       for n, a in ts.items()]
    meta = {"name": name, "inputs": desc(np_in), "outputs": desc(np_out),
            "dynamic_axes": dyn_str, "torch_version": torch.__version__}
    if torch_only:
        meta["torchscript_only"] = True
        meta["return_type"] = str(loaded.forward.schema.returns[0].type)
    with open(os.path.join(tmp, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    return {n: (float(a.mean()), float(a.std())) for n, a in np_out.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated list (default: {','.join(MODELS)};"
                         f" also: {','.join(EXTRA_MODELS)})")
    ap.add_argument("--force", action="store_true", help="regenerate even if up to date")
    a = ap.parse_args()

    names = [m for m in a.models.split(",") if m]
    bad = [m for m in names if m not in MODELS + EXTRA_MODELS]
    if bad:
        ap.error(f"unknown model(s): {','.join(bad)} (known: {','.join(MODELS + EXTRA_MODELS)})")
    return model_dirs.generate_all("gen_models", a.out, names, STAMP, generate, a.force)


if __name__ == "__main__":
    sys.exit(main())
