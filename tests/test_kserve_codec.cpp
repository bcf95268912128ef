// The KServe v2 encoding (src/kserve): datatype names, 16-bit float conversions, requests and
// responses in JSON and in the binary tensor extension, both directions, and every refusal of
// a malformed body with its message.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "codec.hpp"
#include "datatype.hpp"
#include "test_support.hpp"

namespace polyinfer::kserve {
namespace {

using test::expectError;
using test::sameBytes;

std::shared_ptr<const std::string> share(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

InferRequest decodeJson(const std::string& text) { return decodeInferRequest(share(text), std::nullopt); }

// A body of JSON followed by binary bytes, with its Inference-Header-Content-Length.
InferRequest decodeWithBinary(const std::string& jsonText, const std::string& binary) {
  return decodeInferRequest(share(jsonText + binary), jsonText.size());
}

std::string bytesOf(const void* data, std::size_t size) {
  return std::string(static_cast<const char*>(data), size);
}

template <typename T>
std::string bytesOf(const std::vector<T>& values) {
  return bytesOf(values.data(), values.size() * sizeof(T));
}

std::string lengthPrefixed(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& value : values) {
    const auto length = static_cast<uint32_t>(value.size());
    out += bytesOf(&length, 4);
    out += value;
  }
  return out;
}

Tensor halfTensor(DataType type, Shape shape, const std::vector<double>& values) {
  Tensor t = Tensor::allocate(type, std::move(shape));
  auto* out = static_cast<uint16_t*>(t.mutableRawData());
  for (std::size_t i = 0; i < values.size(); ++i)
    out[i] = type == DataType::Float16 ? toFloat16Bits(values[i]) : toBFloat16Bits(values[i]);
  return t;
}

// Six values of each v2 datatype, shape [2,3], with the extremes of the type.
Tensor sampleTensor(DataType type) {
  const Shape shape{2, 3};
  switch (type) {
    case DataType::Bool: return Tensor::fromVector<bool>(shape, {true, false, true, true, false, false});
    case DataType::UInt8: return Tensor::fromVector<uint8_t>(shape, {0, 1, 127, 128, 255, 42});
    case DataType::UInt16: return Tensor::fromVector<uint16_t>(shape, {0, 1, 32767, 32768, 65535, 42});
    case DataType::UInt32:
      return Tensor::fromVector<uint32_t>(shape, {0, 1, 2147483647u, 2147483648u, 4294967295u, 42});
    case DataType::UInt64:
      return Tensor::fromVector<uint64_t>(
          shape, {0, 1, 9223372036854775807ull, 9223372036854775808ull, 18446744073709551615ull, 42});
    case DataType::Int8: return Tensor::fromVector<int8_t>(shape, {-128, -1, 0, 1, 127, 42});
    case DataType::Int16: return Tensor::fromVector<int16_t>(shape, {-32768, -1, 0, 1, 32767, 42});
    case DataType::Int32:
      return Tensor::fromVector<int32_t>(shape, {std::numeric_limits<int32_t>::min(), -1, 0, 1,
                                                 std::numeric_limits<int32_t>::max(), 42});
    case DataType::Int64:
      return Tensor::fromVector<int64_t>(shape, {std::numeric_limits<int64_t>::min(), -1, 0, 1,
                                                 std::numeric_limits<int64_t>::max(), 42});
    case DataType::Float16:
      return halfTensor(type, shape, {0.0, -0.0, 1.0, -2.5, 65504.0, std::ldexp(1.0, -24)});
    case DataType::BFloat16:
      return halfTensor(type, shape, {0.0, -0.0, 0.1, -2.5, 3.3895313892515355e38, 1e-40});
    case DataType::Float32:
      return Tensor::fromVector<float>(shape, {0.1f, -0.0f, 1.5f, -3.25e-10f,
                                               std::numeric_limits<float>::max(),
                                               std::numeric_limits<float>::denorm_min()});
    case DataType::Float64:
      return Tensor::fromVector<double>(shape, {0.1, -0.0, -1.0 / 3.0, 1e300,
                                                std::numeric_limits<double>::max(),
                                                std::numeric_limits<double>::denorm_min()});
    case DataType::String:
      return Tensor::fromStrings(shape, {"", "a", std::string("\0b\0", 3), "ünïcødé ✓",
                                         "quote\" back\\ nl\n tab\t ctrl\x01 del\x7f", "NaN"});
    default: break;
  }
  ADD_FAILURE() << "no sample for " << toString(type);
  return {};
}

const std::vector<DataType> kV2Types = {
    DataType::Bool,  DataType::UInt8,   DataType::UInt16,   DataType::UInt32,  DataType::UInt64,
    DataType::Int8,  DataType::Int16,   DataType::Int32,    DataType::Int64,   DataType::Float16,
    DataType::Float32, DataType::Float64, DataType::BFloat16, DataType::String};

// ---------------------------------------------------------------------------------------
// Datatypes

TEST(KserveDatatype, NamesEveryV2TypeAndParsesItBack) {
  const std::vector<std::string> names = {"BOOL",  "UINT8", "UINT16", "UINT32", "UINT64",
                                          "INT8",  "INT16", "INT32",  "INT64",  "FP16",
                                          "FP32",  "FP64",  "BF16",   "BYTES"};
  ASSERT_EQ(names.size(), kV2Types.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(v2Datatype(kV2Types[i]), names[i]);
    EXPECT_EQ(parseV2Datatype(names[i]), kV2Types[i]);
    EXPECT_EQ(metadataDatatype(kV2Types[i]), names[i]);
  }
}

TEST(KserveDatatype, RefusesTypesV2CannotName) {
  for (DataType type : {DataType::Complex64, DataType::Float8E4M3FN, DataType::Int4,
                        DataType::Undefined})
    expectError([&] { (void)v2Datatype(type); }, ErrorCode::Unsupported,
                {"KServe v2 has no datatype for " + std::string(toString(type)), "BOOL, UINT8"});
  EXPECT_EQ(metadataDatatype(DataType::Undefined), "UNDEFINED");
  EXPECT_EQ(metadataDatatype(DataType::Complex64), "COMPLEX64");
}

TEST(KserveDatatype, RefusesUnknownNamesListingTheValidOnes) {
  expectError([] { (void)parseV2Datatype("FLOAT32"); }, ErrorCode::InvalidArgument,
              {"unknown datatype 'FLOAT32'; expected one of BOOL, UINT8, UINT16, UINT32, UINT64, "
               "INT8, INT16, INT32, INT64, FP16, FP32, FP64, BF16, BYTES"});
  expectError([] { (void)parseV2Datatype("fp32"); }, ErrorCode::InvalidArgument, {"'fp32'"});
}

TEST(KserveDatatype, Float16RoundsToNearestEven) {
  EXPECT_EQ(toFloat16Bits(1.0), 0x3C00);
  EXPECT_EQ(toFloat16Bits(-2.0), 0xC000);
  EXPECT_EQ(toFloat16Bits(65504.0), 0x7BFF);             // largest half
  EXPECT_EQ(toFloat16Bits(65519.99), 0x7BFF);            // below the midpoint to 65536
  EXPECT_EQ(toFloat16Bits(65520.0), 0x7C00);             // the midpoint rounds to even: infinity
  EXPECT_EQ(toFloat16Bits(std::ldexp(1.0, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(toFloat16Bits(std::ldexp(1.0, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(toFloat16Bits(std::ldexp(1.0, -25)), 0x0000);  // tie between 0 and 2^-24: even
  EXPECT_EQ(toFloat16Bits(std::ldexp(3.0, -25)), 0x0002);  // tie between 1 and 2 steps: even
  EXPECT_EQ(toFloat16Bits(1.0 + std::ldexp(1.0, -11)), 0x3C00);      // tie: even
  EXPECT_EQ(toFloat16Bits(1.0 + std::ldexp(3.0, -11)), 0x3C02);      // tie: even (up)
  EXPECT_EQ(toFloat16Bits(1.0 + std::ldexp(1.0, -11) + 1e-12), 0x3C01);  // above the tie
  EXPECT_EQ(toFloat16Bits(std::ldexp(1023.5, -24)), 0x0400);  // subnormal rounding up to normal
  EXPECT_EQ(toFloat16Bits(-0.0), 0x8000);
  EXPECT_EQ(toFloat16Bits(1e300), 0x7C00);
  EXPECT_EQ(toFloat16Bits(-std::numeric_limits<double>::infinity()), 0xFC00);
  EXPECT_EQ(toFloat16Bits(1e-300), 0x0000);
  EXPECT_TRUE(std::isnan(fromFloat16Bits(toFloat16Bits(std::nan("")))));
  EXPECT_EQ(fromFloat16Bits(0x3555), 0x1.554p-2f);
  EXPECT_EQ(fromFloat16Bits(0x0001), std::ldexp(1.0f, -24));
}

TEST(KserveDatatype, EveryFloat16AndBFloat16RoundTrips) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const auto b = static_cast<uint16_t>(bits);
    const float half = fromFloat16Bits(b);
    if (std::isnan(half))
      EXPECT_TRUE(std::isnan(fromFloat16Bits(toFloat16Bits(half)))) << bits;
    else
      ASSERT_EQ(toFloat16Bits(half), b) << bits;
    const float bf = fromBFloat16Bits(b);
    if (std::isnan(bf))
      EXPECT_TRUE(std::isnan(fromBFloat16Bits(toBFloat16Bits(bf)))) << bits;
    else
      ASSERT_EQ(toBFloat16Bits(bf), b) << bits;
  }
}

TEST(KserveDatatype, ConversionsAgreeWithReferenceRounding) {
  // bfloat16 from a float: the float's bits rounded to their top 16, ties to even.
  // float16: the compiler's own conversion where it has _Float16.
  uint32_t state = 12345;
  for (int i = 0; i < 200000; ++i) {
    state = state * 1664525u + 1013904223u;
    float value;
    std::memcpy(&value, &state, 4);
    if (std::isnan(value)) continue;
    const uint32_t rounded = (state + 0x7FFFu + ((state >> 16) & 1u)) >> 16;
    ASSERT_EQ(toBFloat16Bits(value), rounded) << value;
#ifdef __FLT16_MAX__
    const _Float16 reference = static_cast<_Float16>(static_cast<double>(value));
    uint16_t referenceBits;
    std::memcpy(&referenceBits, &reference, 2);
    ASSERT_EQ(toFloat16Bits(value), referenceBits) << value;
#endif
  }
}

// ---------------------------------------------------------------------------------------
// Round trips: client request -> server decode -> server response -> client decode

struct Transport {
  bool binaryInputs;
  bool binaryOutputs;
};

TEST(KserveCodec, EveryDatatypeRoundTripsInJsonAndBinary) {
  for (DataType type : kV2Types) {
    for (Transport transport : {Transport{false, false}, Transport{true, true},
                                Transport{false, true}, Transport{true, false}}) {
      SCOPED_TRACE(std::string(toString(type)) + (transport.binaryInputs ? " binary" : " json") +
                   " inputs," + (transport.binaryOutputs ? " binary" : " json") + " outputs");
      const Tensor original = sampleTensor(type);
      Tensors inputs;
      inputs.add("x", original);
      const EncodedBody request =
          encodeInferRequest("req-1", inputs, transport.binaryInputs, {}, transport.binaryOutputs);
      EXPECT_EQ(request.jsonLength.has_value(), transport.binaryInputs);
      const InferRequest decoded = decodeInferRequest(share(request.body), request.jsonLength);
      EXPECT_EQ(decoded.id, "req-1");
      ASSERT_EQ(decoded.inputs.size(), 1u);
      EXPECT_EQ(decoded.inputs[0].name, "x");
      EXPECT_TRUE(sameBytes(decoded.inputs[0].tensor, original));
      EXPECT_EQ(decoded.binaryDataOutput, transport.binaryOutputs ? std::optional<bool>(true)
                                                                  : std::nullopt);

      Tensors outputs;
      outputs.add("y", decoded.inputs[0].tensor);
      const EncodedBody response = encodeInferResponse("model", "1", decoded.id, outputs, {},
                                                       decoded.binaryDataOutput.value_or(false));
      EXPECT_EQ(response.jsonLength.has_value(), transport.binaryOutputs);
      const InferResponse back = decodeInferResponse(share(response.body), response.jsonLength);
      EXPECT_EQ(back.modelName, "model");
      EXPECT_EQ(back.modelVersion, "1");
      EXPECT_EQ(back.id, "req-1");
      ASSERT_EQ(back.outputs.size(), 1u);
      EXPECT_EQ(back.outputs[0].name, "y");
      EXPECT_TRUE(sameBytes(back.outputs[0].tensor, original));
    }
  }
}

TEST(KserveCodec, EmptyAndScalarTensorsRoundTrip) {
  for (bool binary : {false, true}) {
    Tensors inputs;
    inputs.add("empty", Tensor::allocate(DataType::Float32, {0, 3}));
    inputs.add("scalar", Tensor::fromVector<int64_t>({}, {7}));
    inputs.add("no_strings", Tensor::fromStrings({0}, {}));
    const EncodedBody request = encodeInferRequest("", inputs, binary, {}, binary);
    const InferRequest decoded = decodeInferRequest(share(request.body), request.jsonLength);
    ASSERT_EQ(decoded.inputs.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i)
      EXPECT_TRUE(sameBytes(decoded.inputs[i].tensor, inputs[i].tensor)) << inputs[i].name;
    const EncodedBody response = encodeInferResponse("m", "1", "", decoded.inputs, {}, binary);
    const InferResponse back = decodeInferResponse(share(response.body), response.jsonLength);
    ASSERT_EQ(back.outputs.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i)
      EXPECT_TRUE(sameBytes(back.outputs[i].tensor, inputs[i].tensor)) << inputs[i].name;
  }
}

TEST(KserveCodec, SeveralBinaryInputsFollowTheJsonInInputOrder) {
  Tensors inputs;
  inputs.add("a", Tensor::fromVector<uint8_t>({3}, {1, 2, 3}));  // leaves the next misaligned
  inputs.add("b", Tensor::fromVector<float>({2}, {1.5f, -2.5f}));
  inputs.add("c", Tensor::fromStrings({2}, {"xy", ""}));
  inputs.add("d", Tensor::fromVector<int64_t>({1}, {-5}));
  const EncodedBody request = encodeInferRequest("", inputs, true, {}, false);
  ASSERT_TRUE(request.jsonLength);
  EXPECT_EQ(request.body.size() - *request.jsonLength, 3u + 8u + (4 + 2 + 4) + 8u);
  const auto body = share(request.body);
  const InferRequest decoded = decodeInferRequest(body, request.jsonLength);
  ASSERT_EQ(decoded.inputs.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(decoded.inputs[i].name, inputs[i].name);
    EXPECT_TRUE(sameBytes(decoded.inputs[i].tensor, inputs[i].tensor)) << inputs[i].name;
  }
  // The encoder pads the JSON to a multiple of 8: the first tensor is used in place; "b",
  // 3 bytes after it, is misaligned for float and copied.
  const char* binary = body->data() + *request.jsonLength;
  EXPECT_EQ(decoded.inputs[0].tensor.rawData(), static_cast<const void*>(binary));
  EXPECT_NE(decoded.inputs[1].tensor.rawData(), static_cast<const void*>(binary + 3));
}

TEST(KserveCodec, TritonsDocumentedBinaryRequestDecodes) {
  const std::string header = R"({
    "model_name" : "mymodel",
    "inputs" : [
      {"name" : "input0", "shape" : [ 2, 2 ], "datatype" : "UINT32",
       "parameters" : { "binary_data_size" : 16 }},
      {"name" : "input1", "shape" : [ 3 ], "datatype" : "BOOL",
       "parameters" : { "binary_data_size" : 3 }}
    ],
    "outputs" : [ { "name" : "output0", "parameters" : { "binary_data" : true } } ]
  })";
  const InferRequest request =
      decodeWithBinary(header, bytesOf(std::vector<uint32_t>{1, 2, 3, 4}) + std::string("\1\0\1", 3));
  ASSERT_EQ(request.inputs.size(), 2u);
  EXPECT_EQ(request.inputs[0].tensor.toVector<uint32_t>(), (std::vector<uint32_t>{1, 2, 3, 4}));
  EXPECT_EQ(request.inputs[0].tensor.shape(), (Shape{2, 2}));
  EXPECT_TRUE(sameBytes(request.inputs[1].tensor, Tensor::fromVector<bool>({3}, {true, false, true})));
  ASSERT_EQ(request.outputs.size(), 1u);
  EXPECT_EQ(request.outputs[0].name, "output0");
  EXPECT_EQ(request.outputs[0].binary, true);
  EXPECT_FALSE(request.binaryDataOutput);
  EXPECT_FALSE(request.timeoutMicroseconds);
}

// ---------------------------------------------------------------------------------------
// Requests in JSON

TEST(KserveRequest, NestedDataIsFlattenedInRowMajorOrder) {
  const InferRequest nested = decodeJson(
      R"({"inputs":[{"name":"x","datatype":"INT32","shape":[2,3],"data":[[1,2,3],[4,5,6]]}]})");
  EXPECT_EQ(nested.inputs[0].tensor.toVector<int32_t>(), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  // Only the count has to match, not the nesting.
  const InferRequest ragged = decodeJson(
      R"({"inputs":[{"name":"x","datatype":"INT32","shape":[2,3],"data":[[1,2],[3,[4,5]],6]}]})");
  EXPECT_EQ(ragged.inputs[0].tensor.toVector<int32_t>(), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  // A bare value is one element (a scalar).
  const InferRequest scalar =
      decodeJson(R"({"inputs":[{"name":"s","datatype":"FP64","shape":[],"data":2.5}]})");
  EXPECT_EQ(scalar.inputs[0].tensor.toVector<double>(), (std::vector<double>{2.5}));
}

TEST(KserveRequest, ReadsIdOutputsAndParameters) {
  const InferRequest request = decodeJson(R"({
    "id": "abc", "model_name": "ignored", "future_extension": {"x": [1]},
    "parameters": {"binary_data_output": true, "timeout": 2500, "priority": 3, "note": "hi"},
    "inputs": [{"name":"x","datatype":"FP32","shape":[1],"data":[1],"parameters":{"tag":"t"}}],
    "outputs": [{"name":"b","parameters":{"binary_data":false}}, {"name":"a"}]})");
  EXPECT_EQ(request.id, "abc");
  EXPECT_EQ(request.binaryDataOutput, true);
  EXPECT_EQ(request.timeoutMicroseconds, 2500);
  ASSERT_EQ(request.outputs.size(), 2u);
  EXPECT_EQ(request.outputs[0].name, "b");
  EXPECT_EQ(request.outputs[0].binary, false);
  EXPECT_EQ(request.outputs[1].name, "a");
  EXPECT_FALSE(request.outputs[1].binary);
  // timeout 0 means none; a model may have no inputs.
  const InferRequest none = decodeJson(R"({"inputs":[],"parameters":{"timeout":0}})");
  EXPECT_TRUE(none.inputs.empty());
  EXPECT_FALSE(none.timeoutMicroseconds);
  EXPECT_EQ(none.id, "");
}

TEST(KserveRequest, BoolAcceptsZeroAndOne) {
  const InferRequest request =
      decodeJson(R"({"inputs":[{"name":"b","datatype":"BOOL","shape":[4],"data":[true,0,1,false]}]})");
  EXPECT_TRUE(sameBytes(request.inputs[0].tensor,
                        Tensor::fromVector<bool>({4}, {true, false, true, false})));
}

TEST(KserveRequest, HalfFloatsFromJsonNumbersRoundToNearestEven) {
  const InferRequest request = decodeJson(
      R"({"inputs":[{"name":"h","datatype":"FP16","shape":[3],"data":[1.00048828125, 0.1, -65504]},
                    {"name":"b","datatype":"BF16","shape":[2],"data":[1.00390625, 3]}]})");
  const auto* half = static_cast<const uint16_t*>(request.inputs[0].tensor.rawData());
  EXPECT_EQ(half[0], 0x3C00);  // 1 + 2^-11: a tie, to even
  EXPECT_EQ(half[1], 0x2E66);
  EXPECT_EQ(half[2], 0xFBFF);
  const auto* bf = static_cast<const uint16_t*>(request.inputs[1].tensor.rawData());
  EXPECT_EQ(bf[0], 0x3F80);  // 1 + 2^-8: a tie, to even
  EXPECT_EQ(bf[1], 0x4040);
}

// ---------------------------------------------------------------------------------------
// Malformed requests: every one refused with a message naming what was expected and given

TEST(KserveRequestErrors, DataCountMustMatchTheShape) {
  expectError([] {
    decodeJson(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2,3],"data":[1,2,3,4,5]}]})");
  }, ErrorCode::InvalidArgument, {"input 'x': 'data' has 5 elements, shape [2,3] needs 6"});
  // A huge claimed shape is refused by the count, before anything is allocated for it.
  expectError([] {
    decodeJson(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1000000000000],"data":[1,2,3]}]})");
  }, ErrorCode::InvalidArgument, {"input 'x': 'data' has 3 elements, shape [1000000000000] needs 1000000000000"});
  expectError([] {
    decodeJson(R"({"inputs":[{"name":"x","datatype":"BYTES","shape":[1000000000000],"data":["a"]}]})");
  }, ErrorCode::InvalidArgument, {"'data' has 1 elements, shape [1000000000000] needs"});
}

TEST(KserveRequestErrors, ShapeMustBeNonNegativeIntegersWithoutOverflow) {
  const auto withShape = [](const std::string& shape) {
    return [shape] {
      decodeJson(R"({"inputs":[{"name":"x","datatype":"FP32","shape":)" + shape + R"(,"data":[1]}]})");
    };
  };
  expectError(withShape("[2,-1]"), ErrorCode::InvalidArgument,
              {"input 'x': 'shape' must be an array of non-negative integers, got [2,-1]"});
  expectError(withShape("[1.0]"), ErrorCode::InvalidArgument, {"non-negative integers, got [1.0]"});
  expectError(withShape("[\"2\"]"), ErrorCode::InvalidArgument, {"non-negative integers"});
  expectError(withShape("[18446744073709551615]"), ErrorCode::InvalidArgument,
              {"non-negative integers"});
  expectError(withShape("[4294967296,4294967296,4294967296]"), ErrorCode::InvalidArgument,
              {"input 'x': ", "overflows"});
  expectError(withShape("3"), ErrorCode::InvalidArgument, {"input 'x': expected a 'shape' array, got 3"});
}

TEST(KserveRequestErrors, IntegersMustBeIntegersInRange) {
  const auto with = [](const std::string& datatype, const std::string& data) {
    return [datatype, data] {
      decodeJson(R"({"inputs":[{"name":"x","datatype":")" + datatype +
                 R"(","shape":[4],"data":)" + data + "}]}");
    };
  };
  expectError(with("UINT8", "[1,2,3,300]"), ErrorCode::InvalidArgument,
              {"input 'x': element 3 is 300, out of range for UINT8"});
  expectError(with("INT8", "[1,-129,3,4]"), ErrorCode::InvalidArgument,
              {"input 'x': element 1 is -129, out of range for INT8"});
  expectError(with("UINT64", "[-1,2,3,4]"), ErrorCode::InvalidArgument,
              {"element 0 is -1, out of range for UINT64"});
  expectError(with("INT64", "[9223372036854775808,2,3,4]"), ErrorCode::InvalidArgument,
              {"element 0 is 9223372036854775808, out of range for INT64"});
  expectError(with("INT32", "[1,1.5,3,4]"), ErrorCode::InvalidArgument,
              {"input 'x': element 1 is 1.5, expected an integer for INT32"});
  expectError(with("INT32", "[1,2,\"3\",4]"), ErrorCode::InvalidArgument,
              {"element 2 is \"3\", expected an integer for INT32"});
  expectError(with("BOOL", "[true,2,false,true]"), ErrorCode::InvalidArgument,
              {"input 'x': element 1 is 2, expected true, false, 0 or 1 for BOOL"});
  expectError(with("FP32", "[1,2,1e39,4]"), ErrorCode::InvalidArgument,
              {"input 'x': element 2 is 1e+39, out of range for FP32"});
  expectError(with("FP16", "[1,2,3,70000]"), ErrorCode::InvalidArgument,
              {"element 3 is 70000, out of range for FP16"});
  expectError(with("FP64", "[1,2,true,4]"), ErrorCode::InvalidArgument,
              {"element 2 is true, expected a number for FP64"});
  expectError(with("BYTES", "[\"a\",\"b\",3,\"d\"]"), ErrorCode::InvalidArgument,
              {"element 2 is 3, expected a string for BYTES"});
  // The largest float and values that round to it are in range.
  EXPECT_NO_THROW(with("FP32", "[3.4028235e38,-3.4028235e38,3.40282356e38,0]")());
}

TEST(KserveRequestErrors, TensorObjectsNeedNameDatatypeShapeAndOneKindOfData) {
  const auto input = [](const std::string& object) {
    return [object] { decodeJson(R"({"inputs":[)" + object + "]}"); };
  };
  expectError(input(R"({"datatype":"FP32","shape":[1],"data":[1]})"), ErrorCode::InvalidArgument,
              {"input 0: expected a non-empty 'name' string, got none"});
  expectError(input(R"({"name":"","datatype":"FP32","shape":[1],"data":[1]})"),
              ErrorCode::InvalidArgument, {"input 0: expected a non-empty 'name' string, got \"\""});
  expectError(input(R"({"name":"x","shape":[1],"data":[1]})"), ErrorCode::InvalidArgument,
              {"input 'x': expected a 'datatype' string, got none"});
  expectError(input(R"({"name":"x","datatype":"FLOAT","shape":[1],"data":[1]})"),
              ErrorCode::InvalidArgument,
              {"input 'x': unknown datatype 'FLOAT'; expected one of BOOL, UINT8"});
  expectError(input(R"({"name":"x","datatype":"FP32","data":[1]})"), ErrorCode::InvalidArgument,
              {"input 'x': expected a 'shape' array, got none"});
  expectError(input(R"({"name":"x","datatype":"FP32","shape":[1]})"), ErrorCode::InvalidArgument,
              {"input 'x': expected 'data' or parameters.binary_data_size, got neither"});
  expectError(input(R"({"name":"x","datatype":"FP32","shape":[1],"data":[1],
                        "parameters":{"binary_data_size":4}})"),
              ErrorCode::InvalidArgument,
              {"input 'x': has both 'data' and parameters.binary_data_size; expected one"});
  expectError(input(R"({"name":"x","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":-4}})"),
              ErrorCode::InvalidArgument,
              {"input 'x': binary_data_size must be a non-negative integer, got -4"});
  expectError(input(R"({"name":"x","datatype":"FP32","shape":[1],"data":[1],"parameters":[]})"),
              ErrorCode::InvalidArgument, {"input 'x': expected 'parameters' to be an object"});
  expectError(input(R"([1])"), ErrorCode::InvalidArgument, {"input 0: expected an object, got [1]"});
  expectError(input(R"({"name":"x","datatype":"FP32","shape":[1],"data":[1]},
                       {"name":"x","datatype":"FP32","shape":[1],"data":[2]})"),
              ErrorCode::InvalidArgument, {"input 'x': given twice"});
  expectError(input(R"({"name":"x","datatype":"FP32","shape":[1],
                        "parameters":{"shared_memory_region":"r","shared_memory_byte_size":4}})"),
              ErrorCode::Unsupported, {"input 'x': the shared-memory extension"});
}

TEST(KserveRequestErrors, TheRequestItselfMustBeWellFormed) {
  expectError([] { decodeJson(R"({"inputs": x})"); }, ErrorCode::InvalidArgument,
              {"malformed JSON at byte 12: syntax error while parsing value"});
  expectError([] { decodeJson(""); }, ErrorCode::InvalidArgument, {"malformed JSON at byte 1"});
  expectError([] { decodeJson("[1]"); }, ErrorCode::InvalidArgument,
              {"request: expected a JSON object, got [1]"});
  expectError([] { decodeJson("{}"); }, ErrorCode::InvalidArgument,
              {"request: expected an 'inputs' array, got none"});
  expectError([] { decodeJson(R"({"inputs":{}})"); }, ErrorCode::InvalidArgument,
              {"'inputs': expected an array, got an object"});
  expectError([] { decodeJson(R"({"id":5,"inputs":[]})"); }, ErrorCode::InvalidArgument,
              {"request: expected 'id' to be a string, got 5"});
  expectError([] { decodeJson(R"({"inputs":[],"parameters":{"timeout":-1}})"); },
              ErrorCode::InvalidArgument,
              {"request: expected parameters.timeout to be a non-negative integer (microseconds), got -1"});
  expectError([] { decodeJson(R"({"inputs":[],"parameters":{"binary_data_output":1}})"); },
              ErrorCode::InvalidArgument,
              {"request: expected parameters.binary_data_output to be true or false, got 1"});
  expectError([] { decodeJson(R"({"inputs":[],"outputs":[{"name":"y","parameters":{"binary_data":"yes"}}]})"); },
              ErrorCode::InvalidArgument,
              {"output 'y': expected parameters.binary_data to be true or false, got \"yes\""});
  expectError([] { decodeJson(R"({"inputs":[],"outputs":[{"nom":"y"}]})"); },
              ErrorCode::InvalidArgument,
              {"requested output 0: expected a non-empty 'name' string, got none"});
  expectError([] { decodeJson(R"({"inputs":[],"outputs":[{"name":"y","parameters":{"classification":3}}]})"); },
              ErrorCode::Unsupported, {"output 'y': parameters.classification"});
  expectError([] { decodeInferRequest(nullptr, std::nullopt); }, ErrorCode::InvalidArgument,
              {"no body"});
  std::string deep = R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":)";
  deep += std::string(100, '[') + "1" + std::string(100, ']') + "}]}";
  expectError([&] { decodeJson(deep); }, ErrorCode::InvalidArgument,
              {"input 'x': 'data' is nested deeper than 64 levels"});
}

TEST(KserveRequestErrors, BinarySizesMustMatchTheShapeAndTheBody) {
  const std::string fp32 =
      R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2,3],"parameters":{"binary_data_size":20}}]})";
  expectError([&] { decodeWithBinary(fp32, std::string(20, '\0')); }, ErrorCode::InvalidArgument,
              {"input 'x': binary_data_size is 20, FP32 [2,3] needs 24"});
  // A huge shape claim is refused by the size check, before anything is allocated.
  const std::string huge =
      R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1000000000000],"parameters":{"binary_data_size":12}}]})";
  expectError([&] { decodeWithBinary(huge, std::string(12, '\0')); }, ErrorCode::InvalidArgument,
              {"binary_data_size is 12, FP32 [1000000000000] needs 4000000000000"});
  const std::string hugeInt64 =
      R"({"inputs":[{"name":"x","datatype":"INT64","shape":[9223372036854775807],"parameters":{"binary_data_size":8}}]})";
  expectError([&] { decodeWithBinary(hugeInt64, std::string(8, '\0')); }, ErrorCode::InvalidArgument,
              {"INT64 [9223372036854775807] needs 73786976294838206456"});

  const std::string two = R"({"inputs":[
      {"name":"a","datatype":"FP32","shape":[6],"parameters":{"binary_data_size":24}},
      {"name":"b","datatype":"INT64","shape":[3],"parameters":{"binary_data_size":24}}]})";
  expectError([&] { decodeWithBinary(two, std::string(40, '\0')); }, ErrorCode::InvalidArgument,
              {"binary data: the inputs' binary_data_size add up to 48 bytes, the body has 40 after "
               "the JSON"});
  expectError([&] { decodeWithBinary(two, std::string(50, '\0')); }, ErrorCode::InvalidArgument,
              {"add up to 48 bytes, the body has 50 after the JSON"});
  // Binary inputs without Inference-Header-Content-Length: the whole body is taken as JSON.
  expectError([&] { decodeInferRequest(share(fp32), std::nullopt); }, ErrorCode::InvalidArgument,
              {"binary_data_size is 20"});
  const std::string right =
      R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]})";
  expectError([&] { decodeInferRequest(share(right), std::nullopt); }, ErrorCode::InvalidArgument,
              {"add up to 4 bytes, the body has 0 after the JSON (no Inference-Header-Content-Length "
               "was given)"});
  expectError([&] { decodeInferRequest(share(right), right.size() + 1); },
              ErrorCode::InvalidArgument,
              {"Inference-Header-Content-Length is " + std::to_string(right.size() + 1) +
               ", the body has only " + std::to_string(right.size()) + " bytes"});
  const std::string flags =
      R"({"inputs":[{"name":"b","datatype":"BOOL","shape":[3],"parameters":{"binary_data_size":3}}]})";
  expectError([&] { decodeWithBinary(flags, std::string("\1\2\0", 3)); }, ErrorCode::InvalidArgument,
              {"input 'b': element 1 is 2, expected 0 or 1 for BOOL"});
}

TEST(KserveRequestErrors, BinaryStringLengthsAreCheckedAgainstWhatRemains) {
  const auto strings = [](int count, std::size_t size) {
    return R"({"inputs":[{"name":"s","datatype":"BYTES","shape":[)" + std::to_string(count) +
           R"(],"parameters":{"binary_data_size":)" + std::to_string(size) + "}}]}";
  };
  // Element 2 claims 1000 bytes with 12 left after its length.
  std::string binary = lengthPrefixed({"ab", "cd"});
  const uint32_t claim = 1000;
  binary += bytesOf(&claim, 4) + std::string(12, 'z');
  expectError([&] { decodeWithBinary(strings(3, binary.size()), binary); },
              ErrorCode::InvalidArgument, {"input 's': element 2 claims 1000 bytes, 12 remain"});
  // Too short for even the lengths: refused before anything is reserved for the elements.
  expectError([&] { decodeWithBinary(strings(1000000000, 10), std::string(10, '\0')); },
              ErrorCode::InvalidArgument,
              {"input 's': binary_data_size is 10, BYTES [1000000000] needs at least 4000000000"});
  // A length cut short.
  const std::string cut = lengthPrefixed({"abcde"}) + std::string(2, '\0');
  expectError([&] { decodeWithBinary(strings(2, cut.size()), cut); }, ErrorCode::InvalidArgument,
              {"input 's': element 1 needs a 4-byte length, 2 bytes remain"});
  // Bytes left over after the last element.
  const std::string extra = lengthPrefixed({"ab"}) + "??";
  expectError([&] { decodeWithBinary(strings(1, extra.size()), extra); }, ErrorCode::InvalidArgument,
              {"input 's': binary_data_size is 8, its 1 elements take 6"});
}

// ---------------------------------------------------------------------------------------
// Binary inputs: views into the body when aligned, copies when not

TEST(KserveRequest, AlignedBinaryInputsAreViewsOfTheBodyOthersCopies) {
  Tensors inputs;
  inputs.add("x", Tensor::fromVector<float>({4}, {1, 2, 3, 4}));
  const EncodedBody request = encodeInferRequest("", inputs, true, {}, false);
  ASSERT_TRUE(request.jsonLength);
  const std::string jsonPart = request.body.substr(0, *request.jsonLength);
  const std::string binaryPart = request.body.substr(*request.jsonLength);
  for (std::size_t padding = 0; padding < 8; ++padding) {
    // JSON may end in whitespace: padding moves where the binary data starts.
    auto body = std::make_shared<std::string>(jsonPart + std::string(padding, ' ') + binaryPart);
    const std::size_t jsonLength = jsonPart.size() + padding;
    const char* start = body->data() + jsonLength;
    const bool aligned = reinterpret_cast<std::uintptr_t>(start) % alignof(float) == 0;
    std::weak_ptr<const std::string> watch = body;
    InferRequest decoded = decodeInferRequest(std::move(body), jsonLength);
    const Tensor& x = decoded.inputs[0].tensor;
    EXPECT_EQ(x.rawData() == static_cast<const void*>(start), aligned) << "padding " << padding;
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(x.rawData()) % alignof(float), 0u);
    // A view keeps the body alive; a copy does not need it.
    EXPECT_EQ(watch.expired(), !aligned) << "padding " << padding;
    EXPECT_EQ(x.toVector<float>(), (std::vector<float>{1, 2, 3, 4}));
    decoded = InferRequest{};
    EXPECT_TRUE(watch.expired());
  }
}

// ---------------------------------------------------------------------------------------
// NaN and infinities

TEST(KserveCodec, NonFiniteFloatsAreNullInJsonAndExactInBinary) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensors outputs;
  outputs.add("y", Tensor::fromVector<float>({4}, {std::nanf(""), inf, -inf, 1.5f}));
  outputs.add("h", halfTensor(DataType::Float16, {2}, {std::nan(""), -INFINITY}));
  const EncodedBody inJson = encodeInferResponse("m", "1", "", outputs, {}, false);
  EXPECT_NE(inJson.body.find(R"("data":[null,null,null,1.5])"), std::string::npos) << inJson.body;
  EXPECT_NE(inJson.body.find(R"("data":[null,null])"), std::string::npos) << inJson.body;
  // Strict JSON: nlohmann parses it.
  EXPECT_TRUE(nlohmann::json::accept(inJson.body));
  const InferResponse fromJson = decodeInferResponse(share(inJson.body), inJson.jsonLength);
  const std::vector<float> values = fromJson.outputs[0].tensor.toVector<float>();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(values[i])) << i;
  EXPECT_EQ(values[3], 1.5f);

  const EncodedBody binary = encodeInferResponse("m", "1", "", outputs, {}, true);
  const InferResponse fromBinary = decodeInferResponse(share(binary.body), binary.jsonLength);
  EXPECT_TRUE(sameBytes(fromBinary.outputs[0].tensor, outputs[0].tensor));
  EXPECT_TRUE(sameBytes(fromBinary.outputs[1].tensor, outputs[1].tensor));
}

TEST(KserveCodec, ReadsTritonsBareNanAndInfinityTokens) {
  // Triton's server writes these tokens (rapidjson's kWriteNanAndInfFlag); inside strings
  // they are text and stay as they are.
  const std::string body = R"({"model_name":"NaN","outputs":[
      {"name":"y","datatype":"FP32","shape":[5],"data":[NaN,Infinity,-Infinity,"NaN",null]},
      {"name":"s","datatype":"BYTES","shape":[2],"data":["NaN -Infinity \"Infinity\"","x"]}]})";
  const InferResponse response = decodeInferResponse(share(body), std::nullopt);
  EXPECT_EQ(response.modelName, "NaN");
  const std::vector<float> values = response.outputs[0].tensor.toVector<float>();
  EXPECT_TRUE(std::isnan(values[0]));
  EXPECT_EQ(values[1], std::numeric_limits<float>::infinity());
  EXPECT_EQ(values[2], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(values[3]));
  EXPECT_TRUE(std::isnan(values[4]));
  EXPECT_EQ(response.outputs[1].tensor.strings()[0], "NaN -Infinity \"Infinity\"");

  const InferRequest request = decodeJson(
      R"({"inputs":[{"name":"x","datatype":"FP64","shape":[2],"data":[-Infinity, NaN]}]})");
  EXPECT_EQ(request.inputs[0].tensor.toVector<double>()[0], -std::numeric_limits<double>::infinity());
  expectError([] {
    decodeJson(R"({"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[NaN]}]})");
  }, ErrorCode::InvalidArgument, {"element 0 is \"NaN\", expected an integer for INT32"});
}

// ---------------------------------------------------------------------------------------
// Strings

TEST(KserveCodec, StringsKeepEmptyElementsZerosAndEscapes) {
  const Tensor strings = Tensor::fromStrings(
      {5}, {"", std::string("\0\0", 2), "tab\t\"q\"\\", "日本語", std::string("a\0b", 3)});
  Tensors outputs;
  outputs.add("s", strings);
  const EncodedBody inJson = encodeInferResponse("m", "1", "", outputs, {}, false);
  EXPECT_NE(inJson.body.find(R"(["","\u0000\u0000","tab\t\"q\"\\","日本語","a\u0000b"])"),
            std::string::npos)
      << inJson.body;
  EXPECT_EQ(decodeInferResponse(share(inJson.body), inJson.jsonLength).outputs[0].tensor.strings(),
            strings.strings());
  const EncodedBody binary = encodeInferResponse("m", "1", "", outputs, {}, true);
  EXPECT_EQ(binary.body.substr(*binary.jsonLength),
            lengthPrefixed({"", std::string("\0\0", 2), "tab\t\"q\"\\", "日本語", std::string("a\0b", 3)}));
  EXPECT_EQ(decodeInferResponse(share(binary.body), binary.jsonLength).outputs[0].tensor.strings(),
            strings.strings());
}

TEST(KserveCodec, BytesThatAreNotUtf8NeedTheBinaryForm) {
  const Tensor raw = Tensor::fromStrings({2}, {"ok", std::string("\xff\xfe\x00\x80", 4)});
  Tensors outputs;
  outputs.add("img", raw);
  expectError([&] { encodeInferResponse("m", "1", "", outputs, {}, false); },
              ErrorCode::InvalidArgument,
              {"output 'img': element 1 is not UTF-8, which a JSON string cannot carry; request the "
               "output as binary data (parameters.binary_data)"});
  const EncodedBody binary = encodeInferResponse("m", "1", "", outputs, {}, true);
  EXPECT_EQ(decodeInferResponse(share(binary.body), binary.jsonLength).outputs[0].tensor.strings(),
            raw.strings());
  // Overlong forms and surrogates are not UTF-8 either.
  for (const std::string bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    Tensors one;
    one.add("s", Tensor::fromStrings({1}, {bad}));
    expectError([&] { encodeInferResponse("m", "1", "", one, {}, false); },
                ErrorCode::InvalidArgument, {"not UTF-8"});
  }
}

// ---------------------------------------------------------------------------------------
// Responses

Tensors threeOutputs() {
  Tensors outputs;
  outputs.add("a", Tensor::fromVector<float>({2}, {1.0f, 2.5f}));
  outputs.add("b", Tensor::fromVector<int32_t>({1, 2}, {-3, 4}));
  outputs.add("c", Tensor::fromVector<bool>({1}, {true}));
  return outputs;
}

TEST(KserveResponse, WritesTheDocumentedJson) {
  const EncodedBody all = encodeInferResponse("resnet", "1", "req7", threeOutputs(), {}, false);
  EXPECT_FALSE(all.jsonLength);
  EXPECT_EQ(all.body,
            R"({"model_name":"resnet","model_version":"1","id":"req7","outputs":[)"
            R"({"name":"a","datatype":"FP32","shape":[2],"data":[1,2.5]},)"
            R"({"name":"b","datatype":"INT32","shape":[1,2],"data":[-3,4]},)"
            R"({"name":"c","datatype":"BOOL","shape":[1],"data":[true]}]})");
  // No id when the request had none.
  const EncodedBody noId = encodeInferResponse("m", "", "", threeOutputs(), {{"c", {}}}, false);
  EXPECT_EQ(noId.body, R"({"model_name":"m","model_version":"","outputs":[)"
                       R"({"name":"c","datatype":"BOOL","shape":[1],"data":[true]}]})");
}

TEST(KserveResponse, OnlyRequestedOutputsInRequestedOrderEachBinaryOrNot) {
  const Tensors outputs = threeOutputs();
  const std::vector<RequestedOutput> requested = {{"c", false}, {"a", std::nullopt}};
  const EncodedBody body = encodeInferResponse("m", "1", "", outputs, requested, true);
  ASSERT_TRUE(body.jsonLength);
  // The JSON part is padded with spaces to a multiple of 8, for aligned binary data.
  EXPECT_EQ(*body.jsonLength % 8, 0u);
  std::string json = body.body.substr(0, *body.jsonLength);
  const std::size_t end = json.find_last_not_of(' ') + 1;
  EXPECT_LT(json.size() - end, 8u);
  json.resize(end);
  EXPECT_EQ(json, R"({"model_name":"m","model_version":"1","outputs":[)"
                  R"({"name":"c","datatype":"BOOL","shape":[1],"data":[true]},)"
                  R"({"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]})");
  EXPECT_EQ(body.body.substr(*body.jsonLength), bytesOf(std::vector<float>{1.0f, 2.5f}));
  const InferResponse back = decodeInferResponse(share(body.body), body.jsonLength);
  ASSERT_EQ(back.outputs.size(), 2u);
  EXPECT_EQ(back.outputs[0].name, "c");
  EXPECT_TRUE(sameBytes(back.outputs[0].tensor, outputs[2].tensor));
  EXPECT_EQ(back.outputs[1].name, "a");
  EXPECT_TRUE(sameBytes(back.outputs[1].tensor, outputs[0].tensor));

  // A binary output of no bytes still makes a binary body.
  Tensors empty;
  empty.add("e", Tensor::allocate(DataType::Float32, {0}));
  EXPECT_TRUE(encodeInferResponse("m", "1", "", empty, {{"e", true}}, false).jsonLength);
}

TEST(KserveResponse, BinaryBoolIsZeroOrOne) {
  Tensor flags = Tensor::allocate(DataType::Bool, {3});
  auto* bytes = static_cast<uint8_t*>(flags.mutableRawData());
  bytes[0] = 7;  // an engine's "true" that is not 1
  bytes[2] = 1;
  Tensors outputs;
  outputs.add("f", flags);
  const EncodedBody body = encodeInferResponse("m", "1", "", outputs, {}, true);
  EXPECT_EQ(body.body.substr(*body.jsonLength), std::string("\1\0\1", 3));
}

TEST(KserveResponse, RefusesUnknownOrRepeatedOutputsAndTypesV2CannotName) {
  expectError([] { encodeInferResponse("m", "1", "", threeOutputs(), {{"z", {}}}, false); },
              ErrorCode::InvalidArgument, {"unknown output 'z'; the model's outputs: 'a', 'b', 'c'"});
  expectError([] { encodeInferResponse("m", "1", "", threeOutputs(), {{"a", {}}, {"a", {}}}, false); },
              ErrorCode::InvalidArgument, {"output 'a' is requested twice; the model's outputs: 'a', 'b', 'c'"});
  Tensors complex;
  complex.add("z", Tensor::allocate(DataType::Complex64, {1}));
  expectError([&] { encodeInferResponse("m", "1", "", complex, {}, false); }, ErrorCode::Unsupported,
              {"output 'z': KServe v2 has no datatype for complex64"});
}

TEST(KserveResponse, CheckRequestedOutputsAgainstTheModel) {
  std::vector<TensorInfo> outputs(1);
  outputs[0].name = "y";
  EXPECT_NO_THROW(checkRequestedOutputs({}, outputs));
  EXPECT_NO_THROW(checkRequestedOutputs({{"y", true}}, outputs));
  expectError([&] { checkRequestedOutputs({{"z", {}}}, outputs); }, ErrorCode::InvalidArgument,
              {"unknown output 'z'; the model's outputs: 'y'"});
  expectError([&] { checkRequestedOutputs({{"y", {}}, {"y", true}}, outputs); },
              ErrorCode::InvalidArgument, {"output 'y' is requested twice; the model's outputs: 'y'"});
  expectError([&] { checkRequestedOutputs({{"y", {}}}, {}); }, ErrorCode::InvalidArgument,
              {"unknown output 'y'; the model's outputs: none"});
}

TEST(KserveResponse, DecodeRefusesMalformedResponsesAndRaisesErrorBodies) {
  expectError([] { decodeInferResponse(share(R"({"error":"model 'x' failed: \"boom\""})"), std::nullopt); },
              ErrorCode::EngineFailure, {"model 'x' failed: \"boom\""});
  expectError([] { decodeInferResponse(share(R"({"model_name":"m"})"), std::nullopt); },
              ErrorCode::InvalidArgument, {"response: expected an 'outputs' array, got none"});
  expectError([] {
    decodeInferResponse(share(R"({"outputs":[{"name":"y","datatype":"FP32","shape":[2],"data":[1]}]})"),
                        std::nullopt);
  }, ErrorCode::InvalidArgument, {"output 'y': 'data' has 1 elements, shape [2] needs 2"});
  const std::string header =
      R"({"outputs":[{"name":"y","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]})";
  expectError([&] { decodeInferResponse(share(header + "1234"), header.size()); },
              ErrorCode::InvalidArgument,
              {"binary data: the outputs' binary_data_size add up to 8 bytes, the body has 4 after the JSON"});
}

// ---------------------------------------------------------------------------------------
// Client requests

TEST(KserveClient, EncodesOutputsParametersAndRefusesUnnamedInputs) {
  Tensors inputs;
  inputs.add("x", Tensor::fromVector<int64_t>({2}, {1, 2}));
  const EncodedBody body =
      encodeInferRequest("r", inputs, false, {{"y", true}, {"z", std::nullopt}}, true, 1500);
  EXPECT_FALSE(body.jsonLength);
  EXPECT_EQ(body.body, R"({"id":"r","inputs":[{"name":"x","datatype":"INT64","shape":[2],"data":[1,2]}],)"
                       R"("outputs":[{"name":"y","parameters":{"binary_data":true}},{"name":"z"}],)"
                       R"("parameters":{"binary_data_output":true,"timeout":1500}})");
  const InferRequest decoded = decodeInferRequest(share(body.body), body.jsonLength);
  EXPECT_EQ(decoded.timeoutMicroseconds, 1500);
  EXPECT_EQ(decoded.binaryDataOutput, true);
  ASSERT_EQ(decoded.outputs.size(), 2u);
  EXPECT_EQ(decoded.outputs[0].binary, true);
  EXPECT_FALSE(decoded.outputs[1].binary);

  EXPECT_EQ(encodeInferRequest("", Tensors{}, true, {}, false).body, R"({"inputs":[]})");
  EXPECT_FALSE(encodeInferRequest("", Tensors{}, true, {}, false).jsonLength);

  Tensors unnamed{Tensor::fromVector<float>({1}, {1})};
  expectError([&] { encodeInferRequest("", unnamed, false, {}, false); }, ErrorCode::InvalidArgument,
              {"input 0: a v2 request names every input; got float32[1] without a name"});
}

// ---------------------------------------------------------------------------------------
// Error bodies and metadata

TEST(KserveErrors, ErrorBodiesRoundTrip) {
  const std::string message = "input 'x': expected \"FP32\"\nline two \\ done";
  const std::string body = errorBody(message);
  EXPECT_EQ(body, R"({"error":"input 'x': expected \"FP32\"\nline two \\ done"})");
  EXPECT_EQ(errorMessage(body), message);
  EXPECT_EQ(nlohmann::json::parse(body)["error"], message);
  // Bytes that are not UTF-8 are replaced: the body is still valid JSON.
  const std::string replaced = errorBody("bad \xff byte");
  EXPECT_EQ(errorMessage(replaced), "bad \xEF\xBF\xBD byte");
  EXPECT_FALSE(errorMessage(R"({"outputs":[]})"));
  EXPECT_FALSE(errorMessage(R"({"error":5})"));
  EXPECT_FALSE(errorMessage("not json"));
  EXPECT_FALSE(errorMessage(""));
}

TEST(KserveMetadata, DescribesTensorsWithDynamicDimsAndUnknownRanks) {
  TensorInfo image;
  image.name = "image";
  image.dtype = DataType::Float32;
  image.shape = {-1, 3, 224, 224};
  image.rankKnown = true;
  TensorInfo anything;  // TorchScript: neither dtype nor rank declared
  anything.name = "x";
  TensorInfo logits;
  logits.name = "logits";
  logits.dtype = DataType::Float16;
  logits.shape = {-1, 1000};
  logits.rankKnown = true;
  const nlohmann::json metadata =
      modelMetadata("resnet", {"1", "2"}, "onnxruntime_onnx", {image, anything}, {logits});
  EXPECT_EQ(metadata, nlohmann::json::parse(R"({
    "name": "resnet", "versions": ["1", "2"], "platform": "onnxruntime_onnx",
    "inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, 3, 224, 224]},
               {"name": "x", "datatype": "UNDEFINED", "shape": [-1]}],
    "outputs": [{"name": "logits", "datatype": "FP16", "shape": [-1, 1000]}]})"));
}

}  // namespace
}  // namespace polyinfer::kserve
