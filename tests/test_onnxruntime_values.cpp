// Values beyond tensors through the ONNX Runtime engine: sequences (Loop,
// SplitToSequence, a sequence input), optionals (If, an optional input, empty
// and present), maps (DictVectorizer, CastMap), scikit-learn's ZipMap outputs
// against predict_proba, and a graph without inputs. The models and their
// expected outputs come from tools/gen_value_models.py (numpy) and
// tools/gen_sk_models.py (scikit-learn), in ONNX's test layout.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.hpp"

#if POLYINFER_HAVE_ONNXRUNTIME

namespace polyinfer {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<Model> loadValueModel(const std::string& name) {
  Criteria criteria;
  criteria.modelPath = test::modelFile(name, "model.onnx");
  criteria.engine = "onnxruntime";
  return Model::load(criteria);
}

/// Every test data set of `name`, run and compared with what the producing
/// library computed.
void expectDataSetsMatch(const std::string& name, double atol) {
  std::shared_ptr<Model> model = loadValueModel(name);
  Predictor predictor = model->newPredictor();
  int sets = 0;
  for (int k = 0;; ++k) {
    const fs::path dir = test::modelsDir() / name / ("test_data_set_" + std::to_string(k));
    if (!fs::is_directory(dir)) break;
    ++sets;
    const test::ValueDataSet data = test::loadValueDataSet(*model, dir);
    const Values outputs = predictor.predictValues(data.inputs);
    ASSERT_EQ(outputs.size(), data.outputs.size());
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      EXPECT_EQ(outputs[i].name, data.outputs[i].name);
      test::expectValuesClose(outputs[i].value, data.outputs[i].value, atol, 0,
                              name + " set " + std::to_string(k) + " output '" + outputs[i].name + "'");
    }
  }
  EXPECT_GT(sets, 0) << name << ": no test data sets";
}

TEST(OrtValues, DeclaredTypes) {
  std::shared_ptr<Model> loop = loadValueModel("loop_seq");
  EXPECT_FALSE(loop->tensorsOnly());
  ASSERT_EQ(loop->outputValues().size(), 2u);
  EXPECT_EQ(loop->outputValues()[0].type.describe(), "seq(float32[3])");
  EXPECT_EQ(loop->outputs()[0].describe(), "seq(float32[3])");
  EXPECT_FALSE(loop->outputs()[0].isTensor());
  EXPECT_TRUE(loop->outputs()[1].isTensor());

  EXPECT_EQ(loadValueModel("if_optional")->outputValues()[0].type.describe(), "optional(float32[2])");
  EXPECT_EQ(loadValueModel("map_input")->inputValues()[0].type.describe(), "map(int64, float32)");
  EXPECT_EQ(loadValueModel("map_input")->inputValues()[1].type.describe(), "map(string, float32)");
  if (POLYINFER_HAVE_SK_MODELS) {
    EXPECT_EQ(loadValueModel("sk_logreg")->outputValues()[1].type.describe(), "seq(map(int64, float32))");
  }
  std::shared_ptr<Model> none = loadValueModel("no_input");
  EXPECT_TRUE(none->inputs().empty());
  EXPECT_TRUE(none->tensorsOnly());
}

TEST(OrtValues, LoopSequence) { expectDataSetsMatch("loop_seq", 0); }
TEST(OrtValues, IfOptional) { expectDataSetsMatch("if_optional", 0); }
TEST(OrtValues, SequenceInput) { expectDataSetsMatch("seq_input", 0); }
TEST(OrtValues, OptionalInput) { expectDataSetsMatch("optional_input", 0); }
TEST(OrtValues, MapInput) { expectDataSetsMatch("map_input", 0); }
TEST(OrtValues, NoInput) { expectDataSetsMatch("no_input", 0); }

// ZipMap's probabilities equal scikit-learn's predict_proba (float64 there,
// float32 in the model), labels equal predict exactly.
// Made with scikit-learn's own environment (.deps/venv/sklearn, scripts/setup.sh).
#define SKIP_WITHOUT_SK_MODELS() \
  if (!POLYINFER_HAVE_SK_MODELS) GTEST_SKIP() << "scikit-learn models not generated (.deps/venv/sklearn missing)"
TEST(OrtValues, ScikitLearnLogisticRegression) {
  SKIP_WITHOUT_SK_MODELS();
  expectDataSetsMatch("sk_logreg", 1e-5);
}
TEST(OrtValues, ScikitLearnRandomForest) {
  SKIP_WITHOUT_SK_MODELS();
  expectDataSetsMatch("sk_forest", 1e-5);
}
TEST(OrtValues, ScikitLearnStringLabels) {
  SKIP_WITHOUT_SK_MODELS();
  expectDataSetsMatch("sk_forest_strlabels", 1e-5);
}

TEST(OrtValues, NoInputRunsThroughPredictToo) {
  std::shared_ptr<Model> model = loadValueModel("no_input");
  Predictor predictor = model->newPredictor();
  const Tensors outputs = predictor.predict({});
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].tensor.shape(), (Shape{2, 3}));
}

TEST(OrtValues, PlainValueForAnOptionalInputIsPresent) {
  std::shared_ptr<Model> model = loadValueModel("optional_input");
  Predictor predictor = model->newPredictor();
  const Values present =
      predictor.predictValues({Value(Tensor::fromVector<float>({3}, {0.5f, 1.f, -2.f}))});
  EXPECT_TRUE(present[0].value.tensor().data<bool>()[0]);
  const Values absent = predictor.predictValues({Value::none()});
  EXPECT_FALSE(absent[0].value.tensor().data<bool>()[0]);
}

TEST(OrtValues, TensorCallsRefuseNonTensorModels) {
  std::shared_ptr<Model> model = loadValueModel("loop_seq");
  Predictor predictor = model->newPredictor();
  const Tensors inputs{Tensor::fromVector<float>({3}, {1, 2, 3}), Tensor::fromVector<int64_t>({}, {2})};
  test::expectError([&] { predictor.predict(inputs); }, ErrorCode::InvalidArgument,
                    {"output 'seq' is seq(float32[3])", "predictValues"});
  std::shared_ptr<Model> seq = loadValueModel("seq_input");
  Predictor seqPredictor = seq->newPredictor();
  test::expectError([&] { seqPredictor.predict({Tensor::fromVector<float>({1, 2}, {1, 2})}); },
                    ErrorCode::InvalidArgument, {"input 'parts' is seq(float32[?,2])", "predictValues"});
  // The predictor still works.
  EXPECT_EQ(predictor.predictValues(Values(inputs))[0].value.elements().size(), 2u);
}

TEST(OrtValues, MismatchedValuesAreRefusedNamingTypes) {
  std::shared_ptr<Model> model = loadValueModel("seq_input");
  Predictor predictor = model->newPredictor();
  // A tensor where a sequence is declared.
  test::expectError([&] { predictor.predictValues({Value(Tensor::fromVector<float>({1, 2}, {1, 2}))}); },
                    ErrorCode::InvalidArgument, {"input 'parts'", "expected seq(float32[?,2])", "float32[1,2]"});
  // A sequence whose element has the wrong rank.
  const Value bad = Value::sequence({Tensor::fromVector<float>({2}, {1, 2})});
  test::expectError([&] { predictor.predictValues({bad}); }, ErrorCode::InvalidArgument,
                    {"input 'parts' element 0", "expected float32[?,2]", "float32[2]"});
  // An empty sequence: ONNX Runtime cannot take one.
  test::expectError([&] { predictor.predictValues({Value::sequence({})}); }, ErrorCode::Unsupported,
                    {"empty sequence"});
  // A map with the wrong key type.
  std::shared_ptr<Model> maps = loadValueModel("map_input");
  Predictor mapPredictor = maps->newPredictor();
  const Value stringKeys =
      Value::map(Tensor::fromStrings({1}, {"a"}), Tensor::fromVector<float>({1}, {1.f}));
  test::expectError([&] { mapPredictor.predictValues({stringKeys, stringKeys}); }, ErrorCode::InvalidArgument,
                    {"input 'ids'", "expected map(int64, float32)", "map(string -> float32, 1 entry)"});
  // Still usable afterwards.
  const Value parts = Value::sequence({Tensor::fromVector<float>({1, 2}, {1, 2})});
  EXPECT_EQ(predictor.predictValues({parts})[0].value.tensor().shape(), (Shape{1, 2}));
}

TEST(OrtValues, ValueFileOfTheWrongKindIsNamed) {
  std::shared_ptr<Model> model = loadValueModel("seq_input");
  const fs::path sequenceFile = test::modelsDir() / "seq_input" / "test_data_set_0" / "input_0.pb";
  test::expectError([&] { io::readValueFile(sequenceFile, ValueType::tensor(DataType::Float32, {1, 2})); },
                    ErrorCode::InvalidArgument,
                    {"expected a tensor (onnx.TensorProto)", "the file holds a sequence (onnx.SequenceProto)"});
  // The untyped reader recognises it.
  EXPECT_EQ(io::readValueFile(sequenceFile).value.kind(), ValueKind::Sequence);
  const fs::path mapFile = test::modelsDir() / "map_input" / "test_data_set_0" / "input_0.pb";
  EXPECT_EQ(io::readValueFile(mapFile).value.kind(), ValueKind::Map);
  test::expectError([&] { io::readValueFile(mapFile, model->inputValues()[0].type); }, ErrorCode::InvalidArgument,
                    {"expected a sequence", "holds a map"});
}

TEST(OrtValues, ValueFilesRoundTrip) {
  const fs::path dir = fs::path(::testing::TempDir()) / "polyinfer_value_files";
  fs::create_directories(dir);
  const Value map = Value::map(Tensor::fromVector<int64_t>({3}, {4, -1, 9}),
                               Tensor::fromVector<float>({3}, {0.25f, 0.5f, -1.f}));
  const Value strMap = Value::map(Tensor::fromStrings({2}, {"b", "a"}), Tensor::fromVector<double>({2}, {1, 2}));
  const Value seq = Value::sequence({map, map});
  const Value tensors = Value::sequence({Tensor::fromVector<int32_t>({2}, {1, 2}), Tensor::fromVector<int32_t>({0}, {})});
  const std::vector<std::pair<Value, ValueType>> cases = {
      {map, ValueType::map(DataType::Int64, DataType::Float32)},
      {strMap, ValueType::map(DataType::String, DataType::Float64)},
      {seq, ValueType::sequence(ValueType::map(DataType::Int64, DataType::Float32))},
      {tensors, ValueType::sequence(ValueType::tensor(DataType::Int32, {-1}))},
      {Value::sequence({}), ValueType::sequence(ValueType::tensor(DataType::Float32, {-1}))},
      {Value::optional(tensors), ValueType::optional(ValueType::sequence(ValueType::tensor(DataType::Int32, {-1})))},
      {Value::none(), ValueType::optional(ValueType::tensor(DataType::Float32, {-1}))},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const fs::path file = dir / ("value_" + std::to_string(i) + ".pb");
    io::writeValueFile(file, "v", cases[i].first);
    const NamedValue back = io::readValueFile(file, cases[i].second);
    EXPECT_EQ(back.name, "v");
    test::expectValuesClose(back.value, cases[i].first, 0, 0, "case " + std::to_string(i));
  }
  test::expectError([&] { io::writeValueFile(dir / "x.npy", "v", map); }, ErrorCode::InvalidArgument,
                    {"a .npy file holds one tensor"});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace polyinfer

#endif  // POLYINFER_HAVE_ONNXRUNTIME
