#!/usr/bin/python3
"""Generate ONNX test models whose inputs or outputs are not plain tensors: sequences, maps,
optionals, and a model with no inputs at all, so that polyinfer's ONNX Runtime engine can be
tested on feeding and reading every kind of ONNX value.

Usage:
    /usr/bin/python3 tools/gen_value_models.py --out DIR [--models a,b,...]

Run with Debian's /usr/bin/python3 (python3-onnx 1.12, python3-numpy); nothing else is needed.
The graphs are built with onnx.helper, opset 17 (onnx 1.12's newest) and ai.onnx.ml 1, IR
version 8, and checked with onnx.checker (full check: strict shape inference). The expected
outputs are computed here with numpy from each operator's definition, never by running an
engine, so they do not inherit an engine's bugs.

For each model M this writes
    DIR/M/model.onnx
    DIR/M/test_data_set_K/input_J.pb, output_J.pb    ONNX's test layout (as the model zoo's)
where each file is the serialized proto of the value's kind: onnx.TensorProto, SequenceProto,
MapProto or OptionalProto, named after the graph input or output it belongs to, in the graph's
order. A map's values are a SequenceProto of one scalar (0-d) tensor per key (onnx.proto: "the
same length as the repeated keys field"); an empty optional is an OptionalProto with elem_type
TENSOR and no value. Models without inputs have output files only.

Deterministic (no randomness, fixed producer fields): a second run writes the same bytes. Each
model is written to temporary names and renamed into place, so an interrupted run leaves the
previous model whole. gen_sk_models.py imports the helpers below (save, type_str).
"""
import argparse
import os
import shutil
import sys

import numpy as np
import onnx
import onnx.checker
import onnx.helper as oh
import onnx.numpy_helper as onh
from onnx import OptionalProto, SequenceProto, TensorProto

import model_dirs

OPSET = 17
ML_OPSET = 1
IR_VERSION = 8  # onnx 1.12's; ONNX Runtime reads it, and so does every onnx since
PRODUCER = "polyinfer-gen_value_models"

F = TensorProto.FLOAT


class GenError(Exception):
    pass


def check(cond, msg):
    # Not `assert`: these checks must survive `python -O`.
    if not cond:
        raise GenError(msg)


# ------------------------------------------------------------------ values and their types

def tensor(name, a):
    return onh.from_array(np.asarray(a), name)


def sequence(name, arrays):
    """SequenceProto of tensors (elements unnamed, as onnx's from_list writes them)."""
    return oh.make_sequence(name, SequenceProto.TENSOR, [onh.from_array(np.asarray(a)) for a in arrays])


def map_proto(name, keys, values, value_dtype=np.float32):
    """MapProto {keys[i]: values[i]}; int keys as int64, str keys as strings; each value a
    scalar tensor of value_dtype (onnx's from_dict convention; from_dict itself is broken in
    onnx 1.12: isinstance(key, dtype))."""
    if all(isinstance(k, str) for k in keys):
        key_type, keys = TensorProto.STRING, [k.encode("utf-8") for k in keys]
    else:
        key_type, keys = TensorProto.INT64, [int(k) for k in keys]
    vals = oh.make_sequence("", SequenceProto.TENSOR,
                            [onh.from_array(np.array(v, dtype=value_dtype)) for v in values])
    return oh.make_map(name, key_type, keys, vals)


def optional(name, a):
    """OptionalProto holding tensor a, or an empty one (a is None) of element type TENSOR:
    the model declares the type, so the file says it too."""
    o = OptionalProto()
    o.name = name
    o.elem_type = OptionalProto.TENSOR
    if a is not None:
        o.tensor_value.CopyFrom(onh.from_array(np.asarray(a)))
    return o


def seq_type(elem):
    return oh.make_sequence_type_proto(elem)


def opt_type(elem):
    return oh.make_optional_type_proto(elem)


def map_type(key_type, value):
    # onnx 1.12 has no make_map_type_proto.
    t = onnx.TypeProto()
    t.map_type.key_type = key_type
    t.map_type.value_type.CopyFrom(value)
    return t


def tensor_type(elem, shape=None):
    return oh.make_tensor_type_proto(elem, shape)


def type_str(t):
    """ONNX's notation for a TypeProto, with shapes: tensor(float)[N,4], seq(map(int64,
    tensor(float))), optional(tensor(float)[3])."""
    kind = t.WhichOneof("value")
    if kind == "tensor_type":
        s = f"tensor({TensorProto.DataType.Name(t.tensor_type.elem_type).lower()})"
        if t.tensor_type.HasField("shape"):
            dims = [str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
                    for d in t.tensor_type.shape.dim]
            s += "[" + ",".join(dims) + "]"
        return s
    if kind == "sequence_type":
        return f"seq({type_str(t.sequence_type.elem_type)})"
    if kind == "map_type":
        key = TensorProto.DataType.Name(t.map_type.key_type).lower()
        return f"map({key}, {type_str(t.map_type.value_type)})"
    if kind == "optional_type":
        return f"optional({type_str(t.optional_type.elem_type)})"
    raise GenError(f"unsupported type {t}")


def check_value(v, t, what):
    """The proto v is a value of type t (kind, element types, fixed dims), so that a file
    never says something the model does not declare."""
    kind = t.WhichOneof("value")
    if kind == "tensor_type":
        check(isinstance(v, TensorProto), f"{what}: a tensor is declared, the file holds {type(v).__name__}")
        tt = t.tensor_type
        check(v.data_type == tt.elem_type, f"{what}: data_type {v.data_type}, declared {tt.elem_type}")
        if tt.HasField("shape"):
            check(len(v.dims) == len(tt.shape.dim), f"{what}: dims {list(v.dims)}, declared {type_str(t)}")
            for got, d in zip(v.dims, tt.shape.dim):
                check(not d.HasField("dim_value") or d.dim_value == got,
                      f"{what}: dims {list(v.dims)}, declared {type_str(t)}")
    elif kind == "sequence_type":
        check(isinstance(v, SequenceProto), f"{what}: a sequence is declared, the file holds {type(v).__name__}")
        elem = t.sequence_type.elem_type
        elems = {SequenceProto.TENSOR: v.tensor_values, SequenceProto.MAP: v.map_values,
                 SequenceProto.SEQUENCE: v.sequence_values}.get(v.elem_type)
        check(elems is not None, f"{what}: unsupported sequence elem_type {v.elem_type}")
        want = {"tensor_type": SequenceProto.TENSOR, "map_type": SequenceProto.MAP,
                "sequence_type": SequenceProto.SEQUENCE}[elem.WhichOneof("value")]
        check(v.elem_type == want, f"{what}: elem_type {v.elem_type}, declared {type_str(t)}")
        for i, e in enumerate(elems):
            check_value(e, elem, f"{what}[{i}]")
    elif kind == "map_type":
        check(isinstance(v, onnx.MapProto), f"{what}: a map is declared, the file holds {type(v).__name__}")
        check(v.key_type == t.map_type.key_type, f"{what}: key_type {v.key_type}, declared {type_str(t)}")
        n = len(v.string_keys) if v.key_type == TensorProto.STRING else len(v.keys)
        check(v.values.elem_type == SequenceProto.TENSOR and len(v.values.tensor_values) == n,
              f"{what}: {n} keys but {len(v.values.tensor_values)} values")
        for i, e in enumerate(v.values.tensor_values):
            check_value(e, t.map_type.value_type, f"{what}.values[{i}]")
            check(len(e.dims) == 0, f"{what}.values[{i}]: not a scalar")
    elif kind == "optional_type":
        check(isinstance(v, OptionalProto), f"{what}: an optional is declared, the file holds {type(v).__name__}")
        check(v.elem_type == OptionalProto.TENSOR, f"{what}: elem_type {v.elem_type}")
        if v.HasField("tensor_value"):
            check_value(v.tensor_value, t.optional_type.elem_type, f"{what}.value")
    else:
        raise GenError(f"{what}: unsupported type {type_str(t)}")


def describe(v):
    """One word on a value, for the progress line."""
    if isinstance(v, TensorProto):
        return f"{list(v.dims)}"
    if isinstance(v, SequenceProto):
        return f"{len(v.tensor_values) + len(v.map_values) + len(v.sequence_values)} elements"
    if isinstance(v, onnx.MapProto):
        return f"{len(v.values.tensor_values)} keys"
    return "present" if v.HasField("tensor_value") else "empty"


# ------------------------------------------------------------------ writing

def save(out, name, model, data_sets):
    """Checks model and data, then writes OUT/name/model.onnx and OUT/name/test_data_set_K/.
    data_sets: a list of (inputs, outputs), each a list of protos in the graph's order, named
    after the graph's inputs and outputs and of their declared types. Files are read back and
    compared byte for byte. Returns the progress line."""
    onnx.checker.check_model(model, full_check=True)
    g = model.graph
    for k, (ins, outs) in enumerate(data_sets):
        for decl, vals, side in ((g.input, ins, "input"), (g.output, outs, "output")):
            check([v.name for v in vals] == [d.name for d in decl],
                  f"{name} set {k}: {side} names {[v.name for v in vals]}, graph {[d.name for d in decl]}")
            for v, d in zip(vals, decl):
                check_value(v, d.type, f"{name} set {k} {side} {d.name}")

    tmp_dir = os.path.join(out, f".tmp-{name}")
    tmp_model = os.path.join(tmp_dir, "model.onnx")
    shutil.rmtree(tmp_dir, ignore_errors=True)  # leftover of an interrupted run
    for k, (ins, outs) in enumerate(data_sets):
        d = os.path.join(tmp_dir, f"test_data_set_{k}")
        os.makedirs(d)
        for prefix, vals in (("input", ins), ("output", outs)):
            for j, v in enumerate(vals):
                path = os.path.join(d, f"{prefix}_{j}.pb")
                data = v.SerializeToString()
                with open(path, "wb") as f:
                    f.write(data)
                back = type(v)()
                with open(path, "rb") as f:
                    back.ParseFromString(f.read())
                check(back.SerializeToString() == data, f"{path}: read back differs")
    with open(tmp_model, "wb") as f:
        f.write(model.SerializeToString())
    onnx.checker.check_model(tmp_model)  # the file as a reader gets it

    model_dirs.swap_in(out, name, tmp_dir)

    sig = lambda vals: ", ".join(f"{v.name}: {type_str(v.type)}" for v in vals) or "none"
    sets = "; ".join(" ".join(f"{v.name}={describe(v)}" for v in ins + outs)
                     for ins, outs in data_sets)
    return f"{name}: inputs {sig(g.input)} -> outputs {sig(g.output)}; {len(data_sets)} set(s): {sets}"


def make_model(graph, ml=False):
    opsets = [oh.make_opsetid("", OPSET)]
    if ml:
        opsets.append(oh.make_opsetid("ai.onnx.ml", ML_OPSET))
    m = oh.make_model(graph, opset_imports=opsets, producer_name=PRODUCER, producer_version="1")
    m.ir_version = IR_VERSION
    return m


def vi(name, t):
    return oh.make_value_info(name, t)


def const(name, a):
    return oh.make_node("Constant", [], [name], value=onh.from_array(np.asarray(a), name))


# ------------------------------------------------------------------ models

def loop_seq():
    """Loop n times over x: iteration i appends x * (i + 1) to a loop-carried sequence (out:
    `seq`) and emits it as a scan output (out: `stacked`, [n,3]). Set 1 runs zero iterations:
    the sequence comes back empty (its element type still float)."""
    body = oh.make_graph(
        [oh.make_node("Cast", ["i"], ["fi"], to=F),
         const("one", np.float32(1)),
         oh.make_node("Add", ["fi", "one"], ["k"]),
         oh.make_node("Mul", ["x", "k"], ["y"]),  # x comes from the outer scope
         oh.make_node("SequenceInsert", ["seq_in", "y"], ["seq_out"]),
         oh.make_node("Identity", ["cond_in"], ["cond_out"]),
         oh.make_node("Identity", ["y"], ["scan_y"])],
        "body",
        [vi("i", tensor_type(TensorProto.INT64, [])), vi("cond_in", tensor_type(TensorProto.BOOL, [])),
         vi("seq_in", seq_type(tensor_type(F, [3])))],
        [vi("cond_out", tensor_type(TensorProto.BOOL, [])), vi("seq_out", seq_type(tensor_type(F, [3]))),
         vi("scan_y", tensor_type(F, [3]))])
    graph = oh.make_graph(
        [oh.make_node("SequenceEmpty", [], ["empty"], dtype=F),
         oh.make_node("Loop", ["n", "", "empty"], ["seq", "stacked"], body=body)],
        "loop_seq",
        [vi("x", tensor_type(F, [3])), vi("n", tensor_type(TensorProto.INT64, []))],
        [vi("seq", seq_type(tensor_type(F, [3]))), vi("stacked", tensor_type(F, ["n", 3]))])

    x = np.array([1.5, -2.0, 0.25], dtype=np.float32)
    sets = []
    for n in (3, 0):
        ys = [x * np.float32(i + 1) for i in range(n)]
        stacked = np.stack(ys) if ys else np.zeros((0, 3), dtype=np.float32)
        sets.append(([tensor("x", x), tensor("n", np.int64(n))],
                     [sequence("seq", ys), tensor("stacked", stacked)]))
    return make_model(graph), sets


def if_optional():
    """If cond: Optional(x * 2), else an empty optional (the Optional op with only its `type`
    attribute). Set 0: cond true, the value is there; set 1: cond false, empty."""
    opt_f2 = opt_type(tensor_type(F, [2]))
    then_g = oh.make_graph(
        [const("two", np.float32(2)), oh.make_node("Mul", ["x", "two"], ["y"]),
         oh.make_node("Optional", ["y"], ["then_out"])],
        "then", [], [vi("then_out", opt_f2)])
    else_g = oh.make_graph(
        [oh.make_node("Optional", [], ["else_out"], type=tensor_type(F, [2]))],
        "else", [], [vi("else_out", opt_f2)])
    graph = oh.make_graph(
        [oh.make_node("If", ["cond"], ["maybe_y"], then_branch=then_g, else_branch=else_g)],
        "if_optional",
        [vi("cond", tensor_type(TensorProto.BOOL, [])), vi("x", tensor_type(F, [2]))],
        [vi("maybe_y", opt_f2)])

    x = np.array([1.5, -3.0], dtype=np.float32)
    sets = [([tensor("cond", np.bool_(True)), tensor("x", x)], [optional("maybe_y", x * np.float32(2))]),
            ([tensor("cond", np.bool_(False)), tensor("x", x)], [optional("maybe_y", None)])]
    return make_model(graph), sets


def seq_input():
    """A sequence in, and a tensor, a scalar and a sequence out: `joined` =
    ConcatFromSequence(parts, axis 0), `count` = SequenceLength(parts), `columns` =
    SplitToSequence(joined, axis 1, keepdims 0), i.e. joined's columns as 1-D tensors."""
    graph = oh.make_graph(
        [oh.make_node("ConcatFromSequence", ["parts"], ["joined"], axis=0),
         oh.make_node("SequenceLength", ["parts"], ["count"]),
         oh.make_node("SplitToSequence", ["joined"], ["columns"], axis=1, keepdims=0)],
        "seq_input",
        [vi("parts", seq_type(tensor_type(F, ["rows", 2])))],
        [vi("joined", tensor_type(F, ["total", 2])), vi("count", tensor_type(TensorProto.INT64, [])),
         vi("columns", seq_type(tensor_type(F, ["total"])))])

    # Parts of 1, 2 and 3 rows: element shapes differ, so a reader cannot assume they match.
    values = np.arange(12, dtype=np.float32) * np.float32(0.5) - np.float32(2)
    parts = [values[0:2].reshape(1, 2), values[2:6].reshape(2, 2), values[6:12].reshape(3, 2)]
    joined = np.concatenate(parts, axis=0)
    sets = [([sequence("parts", parts)],
             [tensor("joined", joined), tensor("count", np.int64(len(parts))),
              sequence("columns", [joined[:, c].copy() for c in range(2)])])]
    return make_model(graph), sets


def optional_input():
    """An optional in: `has` = OptionalHasElement(maybe_x), `value` = If(has,
    OptionalGetElement(maybe_x) + 1, [-1, -1, -1]). Set 0: present; set 1: absent."""
    f3 = tensor_type(F, [3])
    then_g = oh.make_graph(
        [oh.make_node("OptionalGetElement", ["maybe_x"], ["got"]), const("one", np.float32(1)),
         oh.make_node("Add", ["got", "one"], ["then_out"])],
        "then", [], [vi("then_out", f3)])
    else_g = oh.make_graph(
        [const("else_out", np.full(3, -1, dtype=np.float32))], "else", [], [vi("else_out", f3)])
    graph = oh.make_graph(
        [oh.make_node("OptionalHasElement", ["maybe_x"], ["has"]),
         oh.make_node("If", ["has"], ["value"], then_branch=then_g, else_branch=else_g)],
        "optional_input",
        [vi("maybe_x", opt_type(f3))],
        [vi("has", tensor_type(TensorProto.BOOL, [])), vi("value", f3)])

    x = np.array([0.5, 1.0, -2.0], dtype=np.float32)
    sets = [([optional("maybe_x", x)], [tensor("has", np.bool_(True)), tensor("value", x + np.float32(1))]),
            ([optional("maybe_x", None)],
             [tensor("has", np.bool_(False)), tensor("value", np.full(3, -1, dtype=np.float32))])]
    return make_model(graph), sets


def no_input():
    """No inputs: `c` is a Constant float32[2,3], `doubled` = c * 2."""
    c = (np.arange(6, dtype=np.float32).reshape(2, 3) - np.float32(2.5)) * np.float32(0.75)
    graph = oh.make_graph(
        [const("c", c), const("two", np.float32(2)), oh.make_node("Mul", ["c", "two"], ["doubled"])],
        "no_input", [],
        [vi("c", tensor_type(F, [2, 3])), vi("doubled", tensor_type(F, [2, 3]))])
    return make_model(graph), [([], [tensor("c", c), tensor("doubled", c * np.float32(2))])]


def map_input():
    """Maps in (ai.onnx.ml): `ids` map(int64, float) and `words` map(string, float).
    DictVectorizer(ids, int64_vocabulary [1,3,5,7]) -> `ids_vec`, DictVectorizer(words,
    string_vocabulary [a,b,c]) -> `words_vec`: the value of each vocabulary entry, 0 where the
    map lacks it, keys outside the vocabulary ignored. CastMap(ids, TO_FLOAT, DENSE) ->
    `ids_dense`: all the map's values in ascending key order. ONNX Runtime returns all three
    as [1, N] (the spec says "1-D"; ONNX Runtime's kernels add the leading 1), so N is all
    that is declared fixed."""
    ids_vocab = [1, 3, 5, 7]
    words_vocab = ["a", "b", "c"]
    graph = oh.make_graph(
        [oh.make_node("DictVectorizer", ["ids"], ["ids_vec"], domain="ai.onnx.ml",
                      int64_vocabulary=ids_vocab),
         oh.make_node("DictVectorizer", ["words"], ["words_vec"], domain="ai.onnx.ml",
                      string_vocabulary=words_vocab),
         oh.make_node("CastMap", ["ids"], ["ids_dense"], domain="ai.onnx.ml",
                      cast_to="TO_FLOAT", map_form="DENSE")],
        "map_input",
        [vi("ids", map_type(TensorProto.INT64, tensor_type(F))),
         vi("words", map_type(TensorProto.STRING, tensor_type(F)))],
        [vi("ids_vec", tensor_type(F, [1, len(ids_vocab)])),
         vi("words_vec", tensor_type(F, [1, len(words_vocab)])),
         vi("ids_dense", tensor_type(F, [1, "keys"]))])

    # Keys out of order and one outside the vocabulary (9, "z"): a reader must keep keys
    # and values paired, not sorted or dropped.
    ids = {7: -2.0, 3: 0.5, 9: 4.25}
    words = {"c": 1.5, "z": 8.0, "a": -0.75}
    ids_vec = np.array([[ids.get(k, 0.0) for k in ids_vocab]], dtype=np.float32)
    words_vec = np.array([[words.get(k, 0.0) for k in words_vocab]], dtype=np.float32)
    ids_dense = np.array([[ids[k] for k in sorted(ids)]], dtype=np.float32)
    sets = [([map_proto("ids", list(ids), list(ids.values())),
              map_proto("words", list(words), list(words.values()))],
             [tensor("ids_vec", ids_vec), tensor("words_vec", words_vec), tensor("ids_dense", ids_dense)])]
    return make_model(graph, ml=True), sets


MODELS = {"loop_seq": loop_seq, "if_optional": if_optional, "seq_input": seq_input,
          "optional_input": optional_input, "no_input": no_input, "map_input": map_input}


def parse_args(doc, models):
    """--out DIR and --models a,b (default: all of models); returns (out, names), out created."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--models", default=",".join(models),
                    help=f"comma-separated list (default: {','.join(models)})")
    a = ap.parse_args()
    names = [m for m in a.models.split(",") if m]
    bad = [m for m in names if m not in models]
    if bad:
        ap.error(f"unknown model(s): {','.join(bad)} (known: {','.join(models)})")
    os.makedirs(a.out, exist_ok=True)
    return a.out, names


def main():
    out, names = parse_args(__doc__, MODELS)
    for name in names:
        try:
            model, sets = MODELS[name]()
            print(save(out, name, model, sets), flush=True)
        except (GenError, onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
            print(f"gen_value_models: FAILED {name}: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
