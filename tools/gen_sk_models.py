#!/usr/bin/env python3
"""Generate scikit-learn classifiers converted to ONNX by skl2onnx, with scikit-learn's own
predictions as the expected outputs: the ONNX Runtime engine's tests get real converter output
whose probabilities are a ZipMap, a sequence of maps, as users' scikit-learn models have.

Usage:
    .deps/venv/sklearn/bin/python tools/gen_sk_models.py --out DIR [--models a,b,...]

Run with the environment scripts/install_wheels.sh sklearn makes (scripts/wheels/sklearn.txt:
scikit-learn, skl2onnx, onnx). Writes, like gen_value_models.py (whose writer and checks it
uses):
    DIR/M/model.onnx
    DIR/M/test_data_set_0/input_0.pb    float_input: TensorProto float32[5,4]
                          output_0.pb   output_label: TensorProto int64[5] (string[5] for
                                        sk_forest_strlabels), from predict
                          output_1.pb   output_probability: SequenceProto of 5 MapProtos
                                        {class: scalar float32 tensor}, from predict_proba
The converted models declare output_probability seq(map(int64, tensor(float))) (string keys
for string labels): skl2onnx's default ZipMap. predict_proba is float64 and the models
compute in float32, so the probabilities must be compared with a tolerance (1e-5 absolute is
ample: ONNX Runtime 1.29 is within 2e-7 of them); labels compare exactly, and every row is
chosen with a margin between its two likeliest classes so float32 cannot flip a label. The
rows cover every class.

Deterministic: fixed-seed data and estimators, fixed graph names; a second run writes the same
bytes. Target opsets at most 17 and ai.onnx.ml 3, the newest Debian's onnx 1.12 knows (skl2onnx
picks the lowest that has the operators used: 9 or 16, ai.onnx.ml 1; IR 8), so these models
load wherever gen_value_models.py's do. onnx 1.12's checker passes them only without
full_check: its shape inference rejects ZipMap's seq(map) output ("type case unsupported");
onnx 1.23's, which this environment has, passes them with it.
"""
import sys

import numpy as np
import onnx
import onnx.checker
from onnx import SequenceProto
import sklearn
import skl2onnx
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import gen_value_models as vm  # beside this file: its writer, type checks and value helpers

TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
ROWS = 5
# The two likeliest classes of a test row differ by at least this much, so the float32
# model and float64 scikit-learn agree on its label.
MARGIN = 1e-3
STRING_CLASSES = np.array(["bird", "cat", "dog"])


def dataset():
    """200 training rows and 100 held-out rows of 4 features, 3 classes, fixed seed; float32,
    as the ONNX model's input is."""
    x, y = make_classification(n_samples=300, n_features=4, n_informative=3, n_redundant=1,
                               n_classes=3, n_clusters_per_class=1, random_state=7)
    x = x.astype(np.float32)
    return x[:200], y[:200].astype(np.int64), x[200:]


def test_rows(est, held_out):
    """ROWS held-out rows whose label is clear (MARGIN), every class predicted at least once
    (so each label value and each probability key is exercised): the first clear row of each
    class, then the next clear rows, in held-out order."""
    p = est.predict_proba(held_out)
    top2 = np.sort(p, axis=1)[:, -2:]
    clear = [i for i in range(len(held_out)) if top2[i, 1] - top2[i, 0] >= MARGIN]
    label = p.argmax(axis=1)
    picked = [next(i for i in clear if label[i] == c) for c in range(p.shape[1])
              if any(label[i] == c for i in clear)]
    vm.check(len(picked) == p.shape[1], "a class has no held-out row with a clear label")
    picked += [i for i in clear if i not in picked][:ROWS - len(picked)]
    vm.check(len(picked) == ROWS, f"only {len(picked)} held-out rows with a clear label")
    return held_out[sorted(picked)]


def logreg(x, y):
    return LogisticRegression(max_iter=1000).fit(x, y)


def forest(x, y):
    return RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(x, y)


def forest_strlabels(x, y):
    # String labels: skl2onnx makes output_label a string tensor and ZipMap's keys strings.
    return RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(x, STRING_CLASSES[y])


MODELS = {"sk_logreg": logreg, "sk_forest": forest, "sk_forest_strlabels": forest_strlabels}


def generate(name, train_x, train_y, held_out):
    est = MODELS[name](train_x, train_y)
    model = convert_sklearn(est, name=name, initial_types=[("float_input", FloatTensorType([None, 4]))],
                            target_opset=TARGET_OPSET)
    # skl2onnx lists the opsets in set order, which string hashing randomizes per process:
    # sorted, the file is the same on every run.
    opsets = sorted(model.opset_import, key=lambda o: o.domain)
    del model.opset_import[:]
    model.opset_import.extend(opsets)
    # skl2onnx's default: ZipMap on, so the probabilities are a sequence of maps.
    outs = [o.name for o in model.graph.output]
    vm.check(outs == ["output_label", "output_probability"], f"{name}: outputs {outs}")
    vm.check(model.graph.output[1].type.WhichOneof("value") == "sequence_type",
             f"{name}: output_probability is {vm.type_str(model.graph.output[1].type)}, not a ZipMap")

    x = test_rows(est, held_out)
    labels = est.predict(x)
    probs = est.predict_proba(x).astype(np.float32)
    if labels.dtype.kind in "OSU":
        labels = labels.astype(object)  # onnx writes object arrays of str as string_data
    else:
        labels = labels.astype(np.int64)
    classes = list(est.classes_)
    prob_maps = [vm.map_proto("", classes, row) for row in probs]
    inputs = [vm.tensor("float_input", x)]
    outputs = [vm.tensor("output_label", labels),
               onnx.helper.make_sequence("output_probability", SequenceProto.MAP, prob_maps)]
    return model, [(inputs, outputs)]


def main():
    out, names = vm.parse_args(__doc__, MODELS)
    train_x, train_y, held_out = dataset()
    for name in names:
        try:
            model, sets = generate(name, train_x, train_y, held_out)
            line = vm.save(out, name, model, sets)
        except (vm.GenError, onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
            print(f"gen_sk_models: FAILED {name}: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        print(f"{line} (scikit-learn {sklearn.__version__}, skl2onnx {skl2onnx.__version__})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
