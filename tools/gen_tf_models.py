#!/usr/bin/env python3
"""Generate polyinfer's TensorFlow test models (SavedModels) and TensorFlow reference data.

Usage:
    .deps/venv/tensorflow/bin/python tools/gen_tf_models.py --out DIR [--models a,b,...] [--force]

Run with the project's TensorFlow virtual environment (tensorflow-cpu, keras 3, tf2onnx,
onnx, ml_dtypes); nothing is downloaded: keras.applications models are built with
weights=None and seeded random weights.

For each model M this writes DIR/M/:
    saved_model/             TF2 SavedModel, tag "serve", signature "serving_default"
                             (tf_multi_io also has a second signature, "extra"). Input and
                             output names are the signature's keys.
    model.onnx               tf_cnn only: the same network converted with tf2onnx (opset 13),
                             input "input", output "logits", dynamic batch axis "batch";
                             test_data_set_0 applies to it as well.
    test_data_set_0/input_K.pb, output_K.pb   onnx.TensorProto (ONNX backend-test layout),
                             `name` = the signature key. K follows the keys sorted by name,
                             the order of TensorFlow's signature maps. Outputs are what the
                             *loaded* SavedModel's serving_default signature computed.
                             Numeric tensors use raw_data (little-endian, C order; bool one
                             byte; float16 and bfloat16 their 2-byte bit patterns, bfloat16
                             as data_type BFLOAT16=16); strings use string_data (STRING=8).
    meta.json                tensorflow version, signature, all signature keys, tags, and
                             the serving_default inputs/outputs (name, numpy-style dtype,
                             shape with -1 for unknown dims) in that same sorted order;
                             "other_signatures" describes the others the same way.
    .stamp                   generator version + tensorflow version; a matching stamp means
                             "up to date" and the model is skipped unless --force (checked
                             before TensorFlow is imported, so an up-to-date run is quick).

Each model is built in DIR/.tmp-M and renamed into place only when complete, so an
interrupted run never leaves a directory with a stamp but missing files.

Twins: PyTorch's resnet18 and mlp (tools/gen_models.py's, already in DIR) also get
DIR/M/saved_model: the same network and weights from DIR/M/model.onnx, each ONNX operator
(Conv, Relu, Add, MaxPool, GlobalAveragePool, Flatten, Gemm) written with TensorFlow's own
(images NCHW at the signature, as in the ONNX file, NHWC inside), the weights tf.Variables;
signature input and output named as in the ONNX graph, so that test_data_set_0 applies;
checked against PyTorch's outputs there (atol 1e-4, rtol 1e-3). DIR/M/.stamp-tensorflow holds
this generator's stamp and PyTorch's: when gen_models.py remakes M, the twin is made again.
--no-twins skips them.
"""
import argparse
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

import numpy as np
import onnx
import onnx.numpy_helper
import ml_dtypes

import model_dirs
import tensor_files
from tensor_files import GenError, check, check_spread, same_exact, write_test_data

# Bump when anything about the generated files changes, so old stamps stop matching.
GEN_VERSION = "polyinfer-gen_tf_models-2"

SIGNATURE = "serving_default"
TAGS = ["serve"]
ONNX_OPSET = 13

MODELS = ["tf_cnn", "tf_multi_io", "tf_dtypes", "tf_tiny"]
# A fixed seed per model, so adding or reordering models never changes another's data.
SEEDS = {"tf_cnn": 0, "tf_multi_io": 202, "tf_dtypes": 303, "tf_tiny": 404}

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)

tf = None  # imported lazily: an up-to-date run never pays for it


def tf_version():
    for dist in ("tensorflow", "tensorflow-cpu"):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return import_tf().__version__


def stamp_text():
    return f"{GEN_VERSION} tensorflow={tf_version()}\n"


# TensorFlow logs these through absl while it is imported, before it reads
# TF_CPP_MIN_LOG_LEVEL; import_tf drops them and passes any other stderr output on.
IMPORT_NOISE = ("All log messages before absl::InitializeLog() is called",
                "oneDNN custom operations are on")


def import_tf():
    global tf
    if tf is None:
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as cap:
            os.dup2(cap.fileno(), 2)
            try:
                import tensorflow
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                cap.seek(0)
                for line in cap.read().decode("utf-8", "replace").splitlines(True):
                    if not any(n in line for n in IMPORT_NOISE):
                        sys.stderr.write(line)
        tf = tensorflow
    return tf


# ---------------------------------------------------------------------------- tensors

def dtype_name(dt):
    """numpy-style name of a numpy or TensorFlow dtype: float32, bfloat16, string, ..."""
    if tf is not None and isinstance(dt, tf.dtypes.DType):
        return dt.name  # TF's names are numpy's, plus "string" and "bfloat16"
    return tensor_files.dtype_name(dt)


def spec_desc(name, spec):
    return {"name": name, "dtype": dtype_name(spec.dtype),
            "shape": [-1 if d is None else int(d) for d in spec.shape.as_list()]}


# ---------------------------------------------------------------------------- models

def spec(shape, dtype, name):
    return tf.TensorSpec(shape, dtype, name=name)


def build_cnn(rng):
    import keras
    keras.utils.set_random_seed(SEEDS["tf_cnn"])
    net = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3),
                                         classifier_activation=None)
    # Fresh BN layers are identity-ish (mean 0, var 1); with random conv weights that makes
    # the logits collapse to ~1e-9 and hides an engine that ignores BN statistics.
    n_bn = 0
    for layer in net.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0.0, 0.1, n).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, n).astype(np.float32))
            n_bn += 1
    check(n_bn > 0, "MobileNetV2 has no BatchNormalization layers?")

    class Cnn(tf.Module):
        def __init__(self):
            super().__init__()
            self.net = net
            # Keras 3 keeps its tf.Variables inside its own Variable objects:
            # tracked only through `net`, they are saved to the checkpoint but
            # the graph's variable handles are not the ones TensorFlow's C++
            # loader (TF_LoadSessionFromSavedModel, TF Serving) restores, and
            # every run fails with "Could not find variable". Tracking the
            # tf.Variables themselves (as keras.export.ExportArchive does)
            # makes the SavedModel loadable outside Python too.
            self.tf_variables = [v.value for v in net.variables]

        @tf.function(input_signature=[spec([None, 224, 224, 3], tf.float32, "input")])
        def serve(self, input):  # noqa: A002 -- the name is the point
            return {"logits": self.net(input, training=False)}

    m = Cnn()
    inputs = {"input": rng.standard_normal((2, 224, 224, 3)).astype(np.float32)}
    expect = {"inputs": {"input": ("float32", [-1, 224, 224, 3])},
              "outputs": {"logits": ("float32", [-1, 1000])}}
    return m, {SIGNATURE: m.serve}, inputs, expect


def build_multi_io(rng):
    class MultiIO(tf.Module):
        @tf.function(input_signature=[spec([None, 4], tf.float32, "x"),
                                      spec([None, 2], tf.int64, "idx"),
                                      spec([None, 4], tf.bool, "mask"),
                                      spec([None], tf.string, "text")])
        def serve(self, x, idx, mask, text):
            picked = tf.reduce_sum(tf.gather(x, idx, batch_dims=1), axis=1, keepdims=True)
            scores = tf.where(mask, x * 2.0 + 1.0, tf.zeros_like(x)) + picked
            count = (tf.reduce_sum(tf.cast(mask, tf.int64), axis=1)
                     + tf.reduce_sum(idx, axis=1))
            return {"scores": scores,
                    "count": count,
                    "any": tf.reduce_any(mask, axis=1),
                    # ASCII-only: with encoding="utf-8" TF 2.21 cuts a string at
                    # an embedded NUL, which would hide an engine that does the same.
                    "upper": tf.strings.join([tf.strings.upper(text), "!"]),
                    "mean": tf.reduce_mean(tf.cast(x, tf.float64), axis=1)}

        @tf.function(input_signature=[spec([None, 4], tf.float32, "x")])
        def extra(self, x):
            return {"y": tf.tanh(x) * 3.0}

    m = MultiIO()
    mask = np.zeros((3, 4), dtype=bool)
    for r, k in ((0, 2), (1, 1)):  # 2 and 1 True at random places; row 2 all False
        mask[r, rng.permutation(4)[:k]] = True
    inputs = {"x": rng.standard_normal((3, 4)).astype(np.float32),
              "idx": rng.integers(0, 4, (3, 2), dtype=np.int64),
              "mask": mask,
              # an embedded NUL, non-ASCII UTF-8 (passed through as is), an empty string
              "text": np.array([b"ab\x00cd", "h\u00e9llo w\u00f6rld \u2713".encode("utf-8"), b""],
                               dtype=object)}
    expect = {"inputs": {"x": ("float32", [-1, 4]), "idx": ("int64", [-1, 2]),
                         "mask": ("bool", [-1, 4]), "text": ("string", [-1])},
              "outputs": {"scores": ("float32", [-1, 4]), "count": ("int64", [-1]),
                          "any": ("bool", [-1]), "upper": ("string", [-1]),
                          "mean": ("float64", [-1])}}
    return m, {SIGNATURE: m.serve, "extra": m.extra}, inputs, expect


DTYPES = [("f16", "float16"), ("bf16", "bfloat16"), ("f64", "float64"), ("i8", "int8"),
          ("i16", "int16"), ("i32", "int32"), ("i64", "int64"), ("u8", "uint8"),
          ("u16", "uint16"), ("u32", "uint32"), ("u64", "uint64"), ("b", "bool"),
          ("f32", "float32")]


def has_add_kernel(dt):
    try:
        tf.add(tf.constant([1], dtype=dt), tf.constant([1], dtype=dt))
        return True
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, TypeError):
        return False


def build_dtypes(rng):
    tdt = {n: tf.as_dtype(d) for n, d in DTYPES}
    via_int64 = {n for n, d in DTYPES if d != "bool" and not has_add_kernel(tdt[n])}

    class Dtypes(tf.Module):
        @tf.function(input_signature=[spec([2, 3], tdt[n], n) for n, _ in DTYPES])
        def serve(self, *args):
            out = {}
            for (n, _), a in zip(DTYPES, args):
                if tdt[n] == tf.bool:
                    out[f"{n}_out"] = tf.logical_not(a)
                elif n in via_int64:  # no CPU Add kernel for this dtype
                    out[f"{n}_out"] = tf.cast(tf.cast(a, tf.int64) + 1, tdt[n])
                else:
                    out[f"{n}_out"] = a + tf.constant(1, dtype=tdt[n])
                if n == "f32":
                    out["passthrough"] = tf.identity(a)
            return out

    m = Dtypes()
    inputs = {}
    for n, d in DTYPES:
        if d == "bool":
            a = rng.random((2, 3)) < 0.5
        elif d in ("float16", "bfloat16", "float32", "float64"):
            # quarter steps: exact in every float type, so "+1" is exact too
            a = (rng.integers(-40, 41, (2, 3)) / 4.0).astype(np.dtype(ml_dtypes.bfloat16)
                                                              if d == "bfloat16" else d)
        elif d.startswith("u"):
            a = rng.integers(0, 101, (2, 3)).astype(d)
        else:
            a = rng.integers(-50, 51, (2, 3)).astype(d)
        inputs[n] = a
    expect = {"inputs": {n: (d, [2, 3]) for n, d in DTYPES},
              "outputs": {**{f"{n}_out": (d, [2, 3]) for n, d in DTYPES},
                          "passthrough": ("float32", [2, 3])}}
    notes = {"via_int64": sorted(via_int64)}
    return m, {SIGNATURE: m.serve}, inputs, expect, notes


def build_tiny(rng):
    class Tiny(tf.Module):
        @tf.function(input_signature=[spec([1, 16], tf.float32, "x")])
        def serve(self, x):
            return {"y": x * 2.0 + 1.0}

    m = Tiny()
    inputs = {"x": rng.standard_normal((1, 16)).astype(np.float32)}
    expect = {"inputs": {"x": ("float32", [1, 16])}, "outputs": {"y": ("float32", [1, 16])}}
    return m, {SIGNATURE: m.serve}, inputs, expect


BUILDERS = {"tf_cnn": build_cnn, "tf_multi_io": build_multi_io, "tf_dtypes": build_dtypes,
            "tf_tiny": build_tiny}


# ---------------------------------------------------------------------------- checks

def check_signature(what, sig, expect):
    """The loaded signature's keys, dtypes and shapes are exactly as specified."""
    ins = sig.structured_input_signature[1]
    outs = sig.structured_outputs
    for kind, got, want in (("inputs", ins, expect["inputs"]), ("outputs", outs, expect["outputs"])):
        check(sorted(got) == sorted(want),
              f"{what}: {kind} {sorted(got)}, expected {sorted(want)}")
        for k, (dt, shape) in want.items():
            d = spec_desc(k, got[k])
            check((d["dtype"], d["shape"]) == (dt, shape),
                  f"{what}: {kind[:-1]} {k} is {d['dtype']}{d['shape']}, expected {dt}{shape}")


def convert_onnx(module, path):
    """tf_cnn's network through tf2onnx; input `input`, output `logits`, batch axis `batch`."""
    import tf2onnx

    sig = [tf.TensorSpec([None, 224, 224, 3], tf.float32, name="input")]
    fn = tf.function(lambda input: {"logits": module.net(input, training=False)})
    model_proto, _ = tf2onnx.convert.from_function(fn, input_signature=sig, opset=ONNX_OPSET)
    g = model_proto.graph

    # Pin the names whatever tf2onnx chose (it normally uses the spec name and dict key).
    renames = {}
    check(len(g.input) == 1 and len(g.output) == 1,
          f"model.onnx: {len(g.input)} inputs, {len(g.output)} outputs; expected 1 and 1")
    if g.input[0].name != "input":
        renames[g.input[0].name] = "input"
    if g.output[0].name != "logits":
        renames[g.output[0].name] = "logits"
    if renames:
        for node in g.node:
            for seq in (node.input, node.output):
                for i, v in enumerate(seq):
                    if v in renames:
                        seq[i] = renames[v]
        for vi in list(g.input) + list(g.output) + list(g.value_info):
            if vi.name in renames:
                vi.name = renames[vi.name]
    for vi, rest in ((g.input[0], [224, 224, 3]), (g.output[0], [1000])):
        dims = vi.type.tensor_type.shape.dim
        check(len(dims) == 1 + len(rest), f"model.onnx: {vi.name} rank {len(dims)}")
        check(not dims[0].HasField("dim_value"),
              f"model.onnx: {vi.name} batch axis is fixed at {dims[0].dim_value}")
        dims[0].dim_param = "batch"
        check([d.dim_value for d in dims[1:]] == rest,
              f"model.onnx: {vi.name} dims {[d.dim_value for d in dims[1:]]}, expected {rest}")
        check(vi.type.tensor_type.elem_type == onnx.TensorProto.FLOAT,
              f"model.onnx: {vi.name} is not float32")
    check(any("logits" in n.output for n in g.node), "model.onnx: no node produces `logits`")
    onnx.save(model_proto, path)
    onnx.checker.check_model(path)
    return tf2onnx.__version__


def check_onnx_parity(path, inputs, outputs):
    """Run model.onnx on the test inputs; returns the runtime used.

    onnxruntime is not in the venv; onnx's own reference evaluator stands in for it (about
    2 s for tf_cnn at batch 2). The C++ tests check ONNX Runtime parity in any case."""
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        got, used = sess.run(list(outputs), dict(inputs)), "onnxruntime"
    except ImportError:
        from onnx.reference import ReferenceEvaluator
        got, used = ReferenceEvaluator(path).run(list(outputs), dict(inputs)), "onnx.reference"
    for (n, ref), g in zip(outputs.items(), got):
        check(ref.dtype == g.dtype and ref.shape == g.shape,
              f"{used} {path}: {n} is {g.dtype}{list(g.shape)}, expected {ref.dtype}{list(ref.shape)}")
        err = float(np.abs(g - ref).max())
        check(err <= 1e-4 * max(1.0, float(np.abs(ref).max())),
              f"{used} {path}: {n} differs from TensorFlow by {err:.3g}")
    return used


# ---------------------------------------------------------------------------- generation

def generate(name, tmp):
    import_tf()
    rng = np.random.default_rng(SEEDS[name])
    built = BUILDERS[name](rng)
    module, signatures, inputs, expect = built[:4]
    notes = built[4] if len(built) > 4 else {}

    sm_dir = os.path.join(tmp, "saved_model")
    tf.saved_model.save(module, sm_dir, signatures=signatures)

    loaded = tf.saved_model.load(sm_dir, tags=TAGS)
    sig_keys = sorted(loaded.signatures.keys())
    check(sig_keys == sorted(signatures), f"signatures {sig_keys}, expected {sorted(signatures)}")
    sig = loaded.signatures[SIGNATURE]
    check_signature(f"{SIGNATURE}", sig, expect)

    inputs = {k: inputs[k] for k in sorted(inputs)}
    feed = {k: tf.constant(a) for k, a in inputs.items()}
    for k, t in feed.items():
        check(dtype_name(t.dtype) == dtype_name(inputs[k].dtype),
              f"input {k}: tf.constant made {t.dtype.name} of {inputs[k].dtype}")
    raw = sig(**feed)
    outputs = {k: raw[k].numpy() for k in sorted(raw)}
    for k, a in outputs.items():
        want_dt, want_shape = expect["outputs"][k]
        check(dtype_name(a.dtype) == want_dt, f"output {k}: computed {a.dtype}, expected {want_dt}")
        check(len(a.shape) == len(want_shape) and
              all(w in (-1, g) for w, g in zip(want_shape, a.shape)),
              f"output {k}: computed shape {list(a.shape)}, signature says {want_shape}")
        check_spread(k, a)

    # Model-specific checks of the computed values against numpy.
    if name == "tf_multi_io":
        x, idx, mask = inputs["x"], inputs["idx"], inputs["mask"]
        picked = np.take_along_axis(x, idx, axis=1).sum(axis=1, keepdims=True)
        check(np.allclose(outputs["scores"], np.where(mask, x * 2 + 1, 0) + picked, atol=1e-5),
              "tf_multi_io: scores")
        check(np.array_equal(outputs["count"], mask.sum(axis=1) + idx.sum(axis=1)), "count")
        check(np.array_equal(outputs["any"], mask.any(axis=1)), "tf_multi_io: any")
        want_upper = [s.upper() + b"!" for s in inputs["text"]]  # bytes.upper: ASCII only
        check(list(outputs["upper"]) == want_upper,
              f"tf_multi_io: upper {list(outputs['upper'])}, expected {want_upper}")
        check(np.allclose(outputs["mean"], x.astype(np.float64).mean(axis=1)), "mean")
        y = loaded.signatures["extra"](x=feed["x"])["y"].numpy()
        check(np.allclose(y, np.tanh(x) * 3, atol=1e-5), "tf_multi_io: extra signature")
    if name == "tf_dtypes":
        for n, d in DTYPES:
            a = inputs[n]
            want = np.logical_not(a) if d == "bool" else (a.astype(np.float64) + 1).astype(a.dtype)
            same_exact(want, outputs[f"{n}_out"], f"tf_dtypes: {n}_out")
        same_exact(inputs["f32"], outputs["passthrough"], "tf_dtypes: passthrough")
    if name == "tf_tiny":
        same_exact(inputs["x"] * np.float32(2) + np.float32(1), outputs["y"], "tf_tiny: y")
    if name == "tf_cnn":
        # The batch axis really is dynamic: batch 1 gives row 0 of batch 2.
        one = sig(input=feed["input"][:1])["logits"].numpy()
        check(one.shape == (1, 1000), f"tf_cnn at batch 1: shape {one.shape}")
        check(np.allclose(one[0], outputs["logits"][0], rtol=1e-4, atol=1e-4),
              "tf_cnn: batch 1 differs from row 0 of batch 2")

    meta = {"name": name, "tensorflow": tf.__version__, "signature": SIGNATURE,
            "signatures": sig_keys, "tags": TAGS,
            "inputs": [spec_desc(k, sig.structured_input_signature[1][k]) for k in inputs],
            "outputs": [spec_desc(k, sig.structured_outputs[k]) for k in outputs]}
    others = {}
    for sk in sig_keys:
        if sk != SIGNATURE:
            s = loaded.signatures[sk]
            ins, outs = s.structured_input_signature[1], s.structured_outputs
            others[sk] = {"inputs": [spec_desc(k, ins[k]) for k in sorted(ins)],
                          "outputs": [spec_desc(k, outs[k]) for k in sorted(outs)]}
    if others:
        meta["other_signatures"] = others
    meta.update(notes)

    if name == "tf_cnn":
        onnx_path = os.path.join(tmp, "model.onnx")
        meta["onnx"] = {"file": "model.onnx", "opset": ONNX_OPSET,
                        "tf2onnx": convert_onnx(module, onnx_path), "batch_axis": "batch"}
        meta["onnx"]["checked_with"] = check_onnx_parity(onnx_path, inputs, outputs)

    write_test_data(os.path.join(tmp, "test_data_set_0"), inputs, outputs)
    with open(os.path.join(tmp, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    return {k: (float(a.astype(np.float64).mean()), float(a.astype(np.float64).std()))
            for k, a in outputs.items() if dtype_name(a.dtype) != "string"}



# ---------------------------------------------------------------------------- twins

# PyTorch's models (tools/gen_models.py, in the same --out) that also get a TensorFlow twin,
# DIR/M/saved_model: the same network and weights, from M's model.onnx, so that every engine
# runs one network side by side (the README's main job).
TWINS = ["resnet18", "mlp"]
TWIN_STAMP = ".stamp-tensorflow"


def onnx_attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def make_onnx_module(model):
    """A tf.Module that computes `model` (an ONNX graph of Conv, Relu, Add, MaxPool,
    GlobalAveragePool, Flatten and Gemm: what torchvision's ResNets and an MLP export to) with
    TensorFlow's own operators, its initializers as tf.Variables. Images stay NCHW at the
    signature, as in the ONNX file, and are NHWC inside (TensorFlow's CPU convolutions take
    NHWC only). Any other operator is a GenError."""
    graph = model.graph
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}
    supported = {"Conv", "Relu", "Add", "MaxPool", "GlobalAveragePool", "Flatten", "Gemm"}
    unknown = sorted({n.op_type for n in graph.node} - supported)
    check(not unknown, f"no TensorFlow translation for ONNX operator(s) {unknown}")
    inputs = [v for v in graph.input if v.name not in weights]
    check(len(inputs) == 1, f"{len(inputs)} graph inputs; the translation takes one")
    in_info = inputs[0]
    in_dims = [d.dim_value if d.HasField("dim_value") else None
               for d in in_info.type.tensor_type.shape.dim]
    outputs = [o.name for o in graph.output]

    class Twin(tf.Module):
        def __init__(self):
            super().__init__()
            # Conv kernels as TensorFlow wants them (kh, kw, in, out); the rest as stored.
            self.vars = {}
            for node in graph.node:
                if node.op_type == "Conv":
                    check(onnx_attrs(node).get("group", 1) == 1, "grouped convolution")
                    w = weights[node.input[1]]
                    self.vars[node.input[1]] = tf.Variable(np.transpose(w, (2, 3, 1, 0)))
                    if len(node.input) > 2:
                        self.vars[node.input[2]] = tf.Variable(weights[node.input[2]])
                elif node.op_type == "Gemm":
                    for name in node.input[1:]:
                        self.vars[name] = tf.Variable(weights[name])
            self.tracked = list(self.vars.values())

        @tf.function(input_signature=[spec(in_dims, tf.float32, in_info.name)])
        def serve(self, x):
            image = len(in_dims) == 4
            env = {in_info.name: tf.transpose(x, (0, 2, 3, 1)) if image else x}
            nhwc = {in_info.name: image}
            for node in graph.node:
                a = onnx_attrs(node)
                ins = [env[n] if n in env else None for n in node.input]
                op = node.op_type
                layout = nhwc.get(node.input[0], False)
                if op == "Conv":
                    check(all(d == 1 for d in a.get("dilations", [1, 1])), "dilated convolution")
                    t, l, b, r = a.get("pads", [0, 0, 0, 0])
                    y = tf.pad(ins[0], [[0, 0], [t, b], [l, r], [0, 0]])
                    y = tf.nn.conv2d(y, self.vars[node.input[1]], strides=a.get("strides", [1, 1]),
                                     padding="VALID")
                    if len(node.input) > 2:
                        y = y + self.vars[node.input[2]]
                elif op == "Relu":
                    y = tf.nn.relu(ins[0])
                elif op == "Add":
                    check(nhwc.get(node.input[1], False) == layout, "Add of mixed layouts")
                    y = ins[0] + ins[1]
                elif op == "MaxPool":
                    t, l, b, r = a.get("pads", [0, 0, 0, 0])
                    y = tf.pad(ins[0], [[0, 0], [t, b], [l, r], [0, 0]], constant_values=-np.inf)
                    y = tf.nn.max_pool2d(y, a["kernel_shape"], a.get("strides", [1, 1]), "VALID")
                elif op == "GlobalAveragePool":
                    y = tf.reduce_mean(ins[0], axis=[1, 2], keepdims=True)
                elif op == "Flatten":
                    check(a.get("axis", 1) == 1, "Flatten with an axis other than 1")
                    v = tf.transpose(ins[0], (0, 3, 1, 2)) if layout else ins[0]
                    y = tf.reshape(v, [tf.shape(v)[0], -1])
                    layout = False
                else:  # Gemm
                    check(a.get("alpha", 1.0) == 1.0 and a.get("beta", 1.0) == 1.0
                          and not a.get("transA", 0), "Gemm with alpha, beta or transA")
                    w = self.vars[node.input[1]]
                    y = tf.matmul(ins[0], w, transpose_b=bool(a.get("transB", 0)))
                    if len(node.input) > 2:
                        y = y + self.vars[node.input[2]]
                env[node.output[0]] = y
                nhwc[node.output[0]] = layout
            return {o: tf.transpose(env[o], (0, 3, 1, 2)) if nhwc[o] else env[o] for o in outputs}

    return Twin()


def twin_stamp(torch_stamp):
    return f"{stamp_text()}of: {torch_stamp}"


def make_twin(out, name):
    """OUT/NAME/saved_model: PyTorch's model (gen_models.py's model.onnx in OUT/NAME) with
    TensorFlow's operators, checked against PyTorch's outputs in OUT/NAME/test_data_set_0
    (atol 1e-4, rtol 1e-3). Returns False when the twin was up to date."""
    d = os.path.join(out, name)
    try:
        with open(os.path.join(d, ".stamp")) as f:
            stamp = twin_stamp(f.read())
    except OSError:
        raise GenError(f"{d}/.stamp is missing: run tools/gen_models.py --out {out} first")
    mark = os.path.join(d, TWIN_STAMP)
    final = os.path.join(d, "saved_model")
    if model_dirs.up_to_date_file(mark, stamp) and os.path.exists(os.path.join(final, "saved_model.pb")):
        return False
    import_tf()
    module = make_onnx_module(onnx.load(os.path.join(d, "model.onnx")))
    tdir = os.path.join(d, "test_data_set_0")
    files = sorted(os.listdir(tdir))
    inputs = dict(tensor_files.read_pb(os.path.join(tdir, f)) for f in files if f.startswith("input_"))
    expected = dict(tensor_files.read_pb(os.path.join(tdir, f)) for f in files if f.startswith("output_"))
    tmp = os.path.join(d, ".tmp-saved_model")
    shutil.rmtree(tmp, ignore_errors=True)
    tf.saved_model.save(module, tmp, signatures={SIGNATURE: module.serve})
    sig = tf.saved_model.load(tmp, tags=TAGS).signatures[SIGNATURE]
    got = sig(**{k: tf.constant(a) for k, a in inputs.items()})
    check(sorted(got) == sorted(expected), f"{name}: outputs {sorted(got)}, PyTorch's {sorted(expected)}")
    diff = 0.0
    for k, e in expected.items():
        g = got[k].numpy()
        check(g.shape == e.shape and np.allclose(g, e, atol=1e-4, rtol=1e-3),
              f"{name} output {k}: TensorFlow's twin differs from PyTorch by "
              f"{np.abs(g - e).max() if g.shape == e.shape else 'shape'}")
        diff = max(diff, float(np.abs(g - e).max()))
    old = os.path.join(d, ".old-saved_model")
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(final):
        os.rename(final, old)
    os.rename(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    with open(mark, "w") as f:
        f.write(stamp)
    print(f"{name}: TensorFlow twin of PyTorch's model written (max abs diff {diff:.3g})", flush=True)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated list (default: {','.join(MODELS)})")
    ap.add_argument("--force", action="store_true", help="regenerate even if up to date")
    ap.add_argument("--no-twins", action="store_true",
                    help="skip the TensorFlow twins of PyTorch's models (gen_models.py's, in --out)")
    ap.add_argument("--twins", default=",".join(TWINS),
                    help=f"the PyTorch models to make twins of (default: {','.join(TWINS)})")
    a = ap.parse_args()

    names = [m for m in a.models.split(",") if m]
    bad = [m for m in names if m not in MODELS]
    if bad:
        ap.error(f"unknown model(s): {','.join(bad)} (known: {','.join(MODELS)})")
    twins = [m for m in a.twins.split(",") if m]
    bad = [m for m in twins if m not in TWINS]
    if bad:
        ap.error(f"no twin of: {','.join(bad)} (known: {','.join(TWINS)})")

    def generate_checked(name, tmp):
        stats = generate(name, tmp)
        check(tf.__version__ == tf_version(),
              f"tensorflow {tf.__version__} imported, package metadata says {tf_version()}")
        return stats

    status = model_dirs.generate_all("gen_tf_models", a.out, names, stamp_text(),
                                     generate_checked, a.force)
    if status != 0 or a.no_twins:
        return status
    return model_dirs.make_twins("gen_tf_models", twins, lambda n: make_twin(a.out, n), "TensorFlow",
                                 GenError)


if __name__ == "__main__":
    sys.exit(main())
