// polyinfer::Value and ValueType: construction rules, descriptions, the
// plugin SPI's defaults for engines that know tensors only.
#include <gtest/gtest.h>

#include "polyinfer/plugin.hpp"
#include "polyinfer/plugin_kit.hpp"
#include "polyinfer/value.hpp"
#include "test_support.hpp"

namespace polyinfer {
namespace {

Tensor floats(Shape shape, std::vector<float> values) { return Tensor::fromVector<float>(std::move(shape), values); }

TEST(Value, TensorIsAValueAndSharesStorage) {
  const Tensor t = floats({2}, {1, 2});
  const Value v = t;
  EXPECT_TRUE(v.isTensor());
  EXPECT_TRUE(v.valid());
  EXPECT_EQ(v.tensor().rawData(), t.rawData());
  EXPECT_EQ(v.describe(), "float32[2]");
  EXPECT_FALSE(Value().valid());
  test::expectError([&] { v.elements(); }, ErrorCode::InvalidArgument, {"expected a sequence, got float32[2]"});
  test::expectError([&] { v.keys(); }, ErrorCode::InvalidArgument, {"expected a map"});
  test::expectError([&] { v.hasValue(); }, ErrorCode::InvalidArgument, {"expected an optional"});
}

TEST(Value, SequencesHoldOneKindAndOneDtype) {
  const Value seq = Value::sequence({floats({3}, {1, 2, 3}), floats({3}, {4, 5, 6})});
  EXPECT_EQ(seq.kind(), ValueKind::Sequence);
  EXPECT_EQ(seq.elements().size(), 2u);
  EXPECT_EQ(seq.describe(), "seq(2 x float32[3])");
  EXPECT_EQ(seq.type().describe(), "seq(float32[3])");
  EXPECT_EQ(Value::sequence({floats({1}, {1}), floats({2}, {1, 2})}).describe(), "seq(float32[1], float32[2])");
  EXPECT_EQ(Value::sequence({}).describe(), "seq(empty)");
  test::expectError([] { Value::sequence({floats({1}, {1}), Tensor::fromVector<int64_t>({1}, {1})}); },
                    ErrorCode::InvalidArgument, {"element 1", "int64[1]"});
  test::expectError([] { Value::sequence({floats({1}, {1}), Value::none()}); }, ErrorCode::InvalidArgument,
                    {"element 1 optional(none)"});
  test::expectError([] { Value::sequence({Value()}); }, ErrorCode::InvalidArgument, {"element 0 is an empty value"});
}

TEST(Value, MapsCheckKeysAndLengths) {
  const Value map = Value::map(Tensor::fromVector<int64_t>({2}, {3, 7}), floats({2}, {0.5f, 0.25f}));
  EXPECT_EQ(map.describe(), "map(int64 -> float32, 2 entries)");
  EXPECT_EQ(map.type().describe(), "map(int64, float32)");
  EXPECT_EQ(map.keys().elementCount(), 2);
  test::expectError([] { Value::map(Tensor::fromVector<int64_t>({2}, {3, 3}), floats({2}, {1, 2})); },
                    ErrorCode::InvalidArgument, {"key 3 appears twice"});
  test::expectError([] { Value::map(Tensor::fromStrings({2}, {"a", "a"}), floats({2}, {1, 2})); },
                    ErrorCode::InvalidArgument, {"key 'a' appears twice"});
  test::expectError([] { Value::map(Tensor::fromVector<int64_t>({2}, {1, 2}), floats({3}, {1, 2, 3})); },
                    ErrorCode::InvalidArgument, {"equal length"});
  test::expectError([] { Value::map(floats({1}, {1}), floats({1}, {1})); }, ErrorCode::InvalidArgument,
                    {"keys of an integer type or string"});
}

TEST(Value, OptionalsAreEmptyOrHoldOneValue) {
  const Value none = Value::none();
  EXPECT_EQ(none.kind(), ValueKind::Optional);
  EXPECT_TRUE(none.valid());
  EXPECT_FALSE(none.hasValue());
  EXPECT_EQ(none.describe(), "optional(none)");
  test::expectError([&] { none.contained(); }, ErrorCode::InvalidArgument, {"optional(none)"});
  const Value some = Value::optional(floats({2}, {1, 2}));
  EXPECT_TRUE(some.hasValue());
  EXPECT_EQ(some.contained().describe(), "float32[2]");
  EXPECT_EQ(some.describe(), "optional(float32[2])");
  test::expectError([&] { Value::optional(none); }, ErrorCode::InvalidArgument, {"no optional of an optional"});
}

TEST(ValueType, Describes) {
  EXPECT_EQ(ValueType::tensor(DataType::Float32, {-1, 3}).describe(), "float32[?,3]");
  EXPECT_EQ(ValueType::tensor(DataType::Undefined, {}, false).describe(), "?[?]");
  EXPECT_EQ(ValueType::sequence(ValueType::map(DataType::String, DataType::Float32)).describe(),
            "seq(map(string, float32))");
  EXPECT_EQ(ValueType::optional(ValueType::sequence(ValueType::tensor(DataType::Int64, {-1}))).describe(),
            "optional(seq(int64[?]))");
  EXPECT_EQ((ValueInfo{"y", ValueType::map(DataType::Int64, DataType::Float64)}).describe(), "y: map(int64, float64)");
}

TEST(Values, ConvertToAndFromTensors) {
  Tensors tensors;
  tensors.add("a", floats({1}, {1}));
  const Values values(tensors);
  EXPECT_TRUE(values.allTensors());
  EXPECT_EQ(values.toTensors()[0].tensor.rawData(), tensors[0].tensor.rawData());
  Values mixed = values;
  mixed.add("s", Value::sequence({}));
  EXPECT_FALSE(mixed.allTensors());
  test::expectError([&] { mixed.toTensors(); }, ErrorCode::InvalidArgument, {"value 's': expected a tensor"});
  test::expectError([&] { mixed.at("nope"); }, ErrorCode::NotFound, {"'a', 's'"});
}

/// An engine predictor that knows tensors only: doubles its one input.
class Doubler : public plugin::EnginePredictor {
 public:
  Tensors predict(const Tensors& inputs) override {
    const Tensor& x = inputs[0].tensor;
    std::vector<float> out;
    for (int64_t i = 0; i < x.elementCount(); ++i) out.push_back(2 * x.data<float>()[i]);
    Tensors result;
    result.add("y", floats(x.shape(), out));
    return result;
  }
};

TEST(PluginDefaults, TensorOnlyEnginesServeValuesOfTensorsAndRefuseTheRest) {
  Doubler engine;
  const Values out = engine.predictValues({floats({2}, {1, 2})});
  EXPECT_EQ(out[0].name, "y");
  EXPECT_EQ(out[0].value.tensor().toVector<float>(), (std::vector<float>{2, 4}));
  Values seq;
  seq.add("x", Value::sequence({floats({1}, {1})}));
  test::expectError([&] { engine.predictValues(seq); }, ErrorCode::Unsupported,
                    {"input 'x' is seq(1 x float32[1])", "tensors only"});
}

TEST(PluginDefaults, InfosConvertBothWays) {
  TensorInfo tensor{"x", DataType::Float32, {-1, 3}, true, {"batch", ""}, std::nullopt};
  const ValueInfo asValue = plugin::valueInfoOf(tensor);
  EXPECT_EQ(asValue.type.describe(), "float32[?,3]");
  EXPECT_EQ(asValue.type.dimNames[0], "batch");
  const TensorInfo back = plugin::tensorInfoOf(asValue);
  EXPECT_TRUE(back.isTensor());
  EXPECT_EQ(back.dimNames[0], "batch");
  const TensorInfo seq = plugin::tensorInfoOf({"s", ValueType::sequence(ValueType::tensor(DataType::Float32, {-1}))});
  EXPECT_FALSE(seq.isTensor());
  EXPECT_EQ(seq.describe(), "seq(float32[?])");
  EXPECT_EQ(plugin::valueInfoOf(seq).type.kind, ValueKind::Sequence);
}

}  // namespace
}  // namespace polyinfer
