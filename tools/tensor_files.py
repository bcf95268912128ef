"""What the engine-wheel test-model generators (gen_tf_models.py, gen_mx_models.py) share: their
check (an exception that survives `python -O`); their reference data, onnx.TensorProto files in
ONNX's backend-test layout (test_data_set_0/input_K.pb, output_K.pb), written by hand so that
the encoding is exactly the documented one, each read back and compared bit for bit; and the
check that an output's values are spread enough for a comparison to mean something.

Needs numpy and onnx (both generators' environments have them); bfloat16 arrays are numpy
arrays of ml_dtypes.bfloat16, recognised by their dtype's name, so ml_dtypes is not imported.
"""
import os

import numpy as np
import onnx
import onnx.numpy_helper

# ONNX TensorProto.DataType numbers, keyed by numpy-style dtype name.
ONNX_DTYPES = {"float32": 1, "uint8": 2, "int8": 3, "uint16": 4, "int16": 5, "int32": 6,
               "int64": 7, "string": 8, "bool": 9, "float16": 10, "float64": 11,
               "uint32": 12, "uint64": 13, "bfloat16": 16}


class GenError(Exception):
    """A generator's check failed: the model or its reference data is not what it must be."""


def check(cond, msg):
    # Not `assert`: these checks must survive `python -O`.
    if not cond:
        raise GenError(msg)


def dtype_name(dt):
    """numpy-style name of a numpy dtype or type: float32, bfloat16, string (for object,
    bytes and str arrays), ..."""
    dt = np.dtype(dt)
    if dt.kind in "OSU":
        return "string"
    return dt.name


def to_proto(name, a):
    """onnx.TensorProto for array `a`: numeric tensors as raw_data (little-endian, C order;
    bool one byte; float16 and bfloat16 their 2-byte bit patterns), strings as string_data."""
    t = onnx.TensorProto()
    t.name = name
    t.dims.extend(int(d) for d in a.shape)
    dn = dtype_name(a.dtype)
    check(dn in ONNX_DTYPES, f"{name}: no ONNX type for {a.dtype}")
    t.data_type = ONNX_DTYPES[dn]
    if dn == "string":
        flat = a.reshape(-1)
        t.string_data.extend(s if isinstance(s, bytes) else str(s).encode("utf-8") for s in flat)
    elif dn == "bfloat16":
        t.raw_data = np.asarray(a).view(np.uint16).astype("<u2").tobytes(order="C")
    elif dn == "bool":
        t.raw_data = np.asarray(a).astype(np.uint8).tobytes(order="C")
    else:
        t.raw_data = np.asarray(a).astype(a.dtype.newbyteorder("<")).tobytes(order="C")
    return t


def same_exact(ref, got, what):
    """Same dtype, shape and bits (strings: same bytes)."""
    check(dtype_name(ref.dtype) == dtype_name(got.dtype) and ref.shape == got.shape,
          f"{what}: got {got.dtype}{list(got.shape)}, expected {ref.dtype}{list(ref.shape)}")
    if dtype_name(ref.dtype) == "string":
        check(list(ref.reshape(-1)) == list(got.reshape(-1)), f"{what}: strings differ")
    else:
        check(np.ascontiguousarray(ref).tobytes() == np.ascontiguousarray(got).tobytes(),
              f"{what}: values differ")


def write_test_data(tdir, inputs, outputs):
    """input_K.pb / output_K.pb in the dicts' order; every file read back and checked."""
    os.makedirs(tdir)
    for prefix, tensors in (("input", inputs), ("output", outputs)):
        for k, (n, a) in enumerate(tensors.items()):
            path = os.path.join(tdir, f"{prefix}_{k}.pb")
            with open(path, "wb") as f:
                f.write(to_proto(n, a).SerializeToString())
            back = onnx.TensorProto()
            with open(path, "rb") as f:
                back.ParseFromString(f.read())
            check(back.name == n, f"{path}: name {back.name!r}, expected {n!r}")
            if dtype_name(a.dtype) == "string":
                # Not numpy_helper.to_array: it decodes to str, and bytes are the point.
                check(back.data_type == 8 and list(back.dims) == list(a.shape),
                      f"{path}: data_type {back.data_type} dims {list(back.dims)}")
                got = np.array(list(back.string_data), dtype=object).reshape(a.shape)
            else:
                got = onnx.numpy_helper.to_array(back)
            if dtype_name(a.dtype) == "bfloat16":
                check(back.data_type == 16, f"{path}: data_type {back.data_type}, expected 16")
            same_exact(a, got, f"{path} read back")


def read_pb(path):
    """(name, array) of an onnx.TensorProto file."""
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t.name, onnx.numpy_helper.to_array(t)


def check_spread(name, a):
    """A float output must be finite and spread (std in [1e-2, 1e4]): an output of ~1e-9
    everywhere (BatchNorm statistics left at their defaults) would make comparisons meaningless."""
    if dtype_name(a.dtype) not in ("float16", "bfloat16", "float32", "float64"):
        return
    a = a.astype(np.float64)
    check(np.isfinite(a).all(), f"output {name} has NaN/Inf")
    if a.size > 1:
        std = float(a.std())
        check(1e-2 <= std <= 1e4, f"output {name} std {std:.3g} outside [1e-2, 1e4]; "
                                  "reference data would be meaningless")
