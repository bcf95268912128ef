// The KServe v2 gRPC codec (src/kserve/grpc): requests with raw and with typed contents for
// every datatype, responses, metadata, and each refusal of a malformed request with its
// message — the same messages the HTTP codec gives.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datatype.hpp"
#include "grpc_codec.hpp"
#include "test_support.hpp"

namespace polyinfer::kserve {
namespace {

using test::expectError;
using test::sameBytes;

// One input of every datatype the protocol names.
Tensors everyDatatype() {
  std::vector<NamedTensor> tensors;
  tensors.push_back({"b", Tensor::fromVector<uint8_t>({2, 2}, {1, 0, 0, 1})});
  tensors.back().tensor = [] {
    Tensor t = Tensor::allocate(DataType::Bool, {2, 2});
    auto* p = static_cast<uint8_t*>(t.mutableRawData());
    p[0] = 1, p[1] = 0, p[2] = 0, p[3] = 1;
    return t;
  }();
  tensors.push_back({"u8", Tensor::fromVector<uint8_t>({3}, {0, 7, 255})});
  tensors.push_back({"u16", Tensor::fromVector<uint16_t>({2}, {1, 65535})});
  tensors.push_back({"u32", Tensor::fromVector<uint32_t>({2}, {1, 4294967295u})});
  tensors.push_back({"u64", Tensor::fromVector<uint64_t>({2}, {1, UINT64_MAX})});
  tensors.push_back({"i8", Tensor::fromVector<int8_t>({2}, {-128, 127})});
  tensors.push_back({"i16", Tensor::fromVector<int16_t>({2}, {-32768, 32767})});
  tensors.push_back({"i32", Tensor::fromVector<int32_t>({2}, {INT32_MIN, INT32_MAX})});
  tensors.push_back({"i64", Tensor::fromVector<int64_t>({2}, {INT64_MIN, INT64_MAX})});
  tensors.push_back({"f32", Tensor::fromVector<float>({1, 3}, {1.5f, -0.0f, 3e38f})});
  tensors.push_back({"f64", Tensor::fromVector<double>({2}, {1e-300, -2.5})});
  Tensor half = Tensor::allocate(DataType::Float16, {2});
  static_cast<uint16_t*>(half.mutableRawData())[0] = toFloat16Bits(1.0);
  static_cast<uint16_t*>(half.mutableRawData())[1] = toFloat16Bits(-2.0);
  tensors.push_back({"f16", half});
  Tensor bhalf = Tensor::allocate(DataType::BFloat16, {1});
  static_cast<uint16_t*>(bhalf.mutableRawData())[0] = toBFloat16Bits(3.0);
  tensors.push_back({"bf16", bhalf});
  tensors.push_back({"s", Tensor::fromStrings({2}, {"hello", std::string("\0\xff", 2)})});
  tensors.push_back({"empty", Tensor::allocate(DataType::Float32, {0, 4})});
  return Tensors(std::move(tensors));
}

void expectSameTensors(const Tensors& expected, const Tensors& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(expected[i].name, actual[i].name);
    EXPECT_EQ(expected[i].tensor.dtype(), actual[i].tensor.dtype());
    EXPECT_EQ(expected[i].tensor.shape(), actual[i].tensor.shape());
    EXPECT_TRUE(sameBytes(expected[i].tensor, actual[i].tensor));
  }
}

inference::ModelInferRequest encoded(const Tensors& inputs, bool raw) {
  inference::ModelInferRequest request;
  encodeInferRequest("m", "", "id-1", inputs, raw, {}, 0, request);
  return request;
}

TEST(KServeGrpcCodec, EveryDatatypeRoundTripsRaw) {
  const Tensors inputs = everyDatatype();
  const inference::ModelInferRequest request = encoded(inputs, true);
  EXPECT_EQ(request.raw_input_contents_size(), static_cast<int>(inputs.size()));
  const InferRequest decoded = decodeInferRequest(request, nullptr);
  EXPECT_EQ(decoded.id, "id-1");
  expectSameTensors(inputs, decoded.inputs);
}

TEST(KServeGrpcCodec, EveryDatatypeRoundTripsTypedWhereItHasAField) {
  std::vector<NamedTensor> typed;
  for (const NamedTensor& t : everyDatatype())
    if (t.tensor.dtype() != DataType::Float16 && t.tensor.dtype() != DataType::BFloat16)
      typed.push_back(t);
  const Tensors inputs(std::move(typed));
  const inference::ModelInferRequest request = encoded(inputs, false);
  EXPECT_EQ(request.raw_input_contents_size(), 0);
  EXPECT_EQ(request.inputs(1).contents().uint_contents_size(), 3);  // UINT8 travels as uint32
  expectSameTensors(inputs, decodeInferRequest(request, nullptr).inputs);
}

TEST(KServeGrpcCodec, Float16ForcesRawContentsForAll) {
  const inference::ModelInferRequest request = encoded(everyDatatype(), false);
  EXPECT_EQ(request.raw_input_contents_size(), static_cast<int>(everyDatatype().size()));
}

TEST(KServeGrpcCodec, AlignedRawInputsAreViewsWhenAHolderIsGiven) {
  const Tensors inputs({{"x", Tensor::fromVector<float>({1, 64}, std::vector<float>(64, 2.0f))}});
  auto request = std::make_shared<inference::ModelInferRequest>(encoded(inputs, true));
  const InferRequest decoded = decodeInferRequest(*request, request);
  EXPECT_EQ(decoded.inputs[0].tensor.rawData(), request->raw_input_contents(0).data());
  const InferRequest copied = decodeInferRequest(*request, nullptr);
  EXPECT_NE(copied.inputs[0].tensor.rawData(), request->raw_input_contents(0).data());
}

TEST(KServeGrpcCodec, TimeoutAndRequestedOutputs) {
  inference::ModelInferRequest request;
  encodeInferRequest("m", "2", "", Tensors({{"x", Tensor::fromVector<float>({1}, {1.0f})}}), true,
                     {{"b", std::nullopt}, {"a", std::nullopt}}, 2500, request);
  const InferRequest decoded = decodeInferRequest(request, nullptr);
  ASSERT_TRUE(decoded.timeoutMicroseconds.has_value());
  EXPECT_EQ(*decoded.timeoutMicroseconds, 2500);
  ASSERT_EQ(decoded.outputs.size(), 2u);
  EXPECT_EQ(decoded.outputs[0].name, "b");
  EXPECT_EQ(decoded.outputs[1].name, "a");
}

TEST(KServeGrpcCodec, ResponseCarriesTheRequestedOutputsRaw) {
  const Tensors outputs = everyDatatype();
  inference::ModelInferResponse response;
  encodeInferResponse("m", "3", "r", outputs, {{"s", std::nullopt}, {"f32", std::nullopt}}, response);
  EXPECT_EQ(response.model_name(), "m");
  EXPECT_EQ(response.model_version(), "3");
  EXPECT_EQ(response.id(), "r");
  ASSERT_EQ(response.outputs_size(), 2);
  EXPECT_EQ(response.outputs(0).datatype(), "BYTES");
  EXPECT_EQ(response.outputs(1).datatype(), "FP32");
  const InferResponse decoded = decodeInferResponse(response);
  expectSameTensors(Tensors({outputs[outputs.size() - 2], outputs[9]}), decoded.outputs);

  inference::ModelInferResponse all;
  encodeInferResponse("m", "3", "", outputs, {}, all);
  expectSameTensors(outputs, decodeInferResponse(all).outputs);
}

TEST(KServeGrpcCodec, ResponseRefusesUnknownOrRepeatedOutputs) {
  const Tensors outputs({{"y", Tensor::fromVector<float>({1}, {1.0f})}});
  inference::ModelInferResponse response;
  expectError([&] { encodeInferResponse("m", "1", "", outputs, {{"z", std::nullopt}}, response); },
              ErrorCode::InvalidArgument, {"unknown output 'z'; the model's outputs: 'y'"});
  expectError(
      [&] {
        encodeInferResponse("m", "1", "", outputs, {{"y", std::nullopt}, {"y", std::nullopt}}, response);
      },
      ErrorCode::InvalidArgument, {"output 'y' is requested twice"});
}

TEST(KServeGrpcCodec, Metadata) {
  TensorInfo x{"x", DataType::Float32, {-1, 3}, true, {}, std::nullopt};
  TensorInfo any{"y", DataType::Undefined, {}, false, {}, std::nullopt};
  inference::ModelMetadataResponse response;
  fillModelMetadata("m", {"1", "2"}, "onnxruntime", {x}, {any}, response);
  EXPECT_EQ(response.versions_size(), 2);
  EXPECT_EQ(response.inputs(0).datatype(), "FP32");
  EXPECT_EQ(std::vector<int64_t>(response.inputs(0).shape().begin(), response.inputs(0).shape().end()),
            (std::vector<int64_t>{-1, 3}));
  EXPECT_EQ(response.outputs(0).datatype(), "UNDEFINED");
  EXPECT_EQ(std::vector<int64_t>(response.outputs(0).shape().begin(), response.outputs(0).shape().end()),
            (std::vector<int64_t>{-1}));
}

inference::ModelInferRequest oneInput(const std::string& datatype, std::vector<int64_t> shape) {
  inference::ModelInferRequest request;
  auto& input = *request.add_inputs();
  input.set_name("x");
  input.set_datatype(datatype);
  for (int64_t d : shape) input.add_shape(d);
  return request;
}

TEST(KServeGrpcCodec, RefusesMalformedRequestsNamingExpectedAndActual) {
  auto decode = [](const inference::ModelInferRequest& r) { return [r] { decodeInferRequest(r, nullptr); }; };
  {
    auto r = oneInput("FP32", {2, 3});
    r.add_raw_input_contents(std::string(20, '\0'));
    expectError(decode(r), ErrorCode::InvalidArgument, {"input 'x': binary_data_size is 20, FP32 [2,3] needs 24"});
  }
  {
    auto r = oneInput("FP32", {2, 3});
    r.mutable_inputs(0)->mutable_contents()->mutable_fp32_contents()->Resize(5, 0.0f);
    expectError(decode(r), ErrorCode::InvalidArgument, {"input 'x': fp32_contents has 5 elements, shape [2,3] needs 6"});
  }
  {
    auto r = oneInput("FP32", {2});
    r.mutable_inputs(0)->mutable_contents()->add_int64_contents(1);
    r.mutable_inputs(0)->mutable_contents()->add_int64_contents(2);
    expectError(decode(r), ErrorCode::InvalidArgument,
                {"input 'x': datatype FP32 takes its elements in fp32_contents, got int64_contents"});
  }
  {
    auto r = oneInput("FP32", {2});
    expectError(decode(r), ErrorCode::InvalidArgument,
                {"fp32_contents has 0 elements, shape [2] needs 2", "raw_input_contents"});
  }
  {
    auto r = oneInput("INT8", {1});
    r.mutable_inputs(0)->mutable_contents()->add_int_contents(300);
    expectError(decode(r), ErrorCode::InvalidArgument, {"input 'x': element 0 is 300, out of range for INT8"});
  }
  {
    auto r = oneInput("FP16", {1});
    r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1.0f);
    expectError(decode(r), ErrorCode::InvalidArgument,
                {"FP16 has no typed contents field; send it in raw_input_contents"});
  }
  {
    auto r = oneInput("FP32", {1});
    r.add_raw_input_contents(std::string(4, '\0'));
    r.add_raw_input_contents(std::string(4, '\0'));
    expectError(decode(r), ErrorCode::InvalidArgument,
                {"raw_input_contents has 2 entries, the request has 1 inputs"});
  }
  {
    auto r = oneInput("FP32", {1});
    r.add_raw_input_contents(std::string(4, '\0'));
    r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1.0f);
    expectError(decode(r), ErrorCode::InvalidArgument,
                {"has both raw_input_contents and contents (fp32_contents)"});
  }
  {
    auto r = oneInput("FLOAT", {1});
    expectError(decode(r), ErrorCode::InvalidArgument, {"input 'x'", "unknown datatype 'FLOAT'"});
  }
  {
    auto r = oneInput("FP32", {-1});
    expectError(decode(r), ErrorCode::InvalidArgument, {"non-negative", "-1"});
  }
  {
    auto r = oneInput("FP32", {INT64_MAX, 4});
    r.add_raw_input_contents("");
    expectError(decode(r), ErrorCode::InvalidArgument, {"input 'x'"});
  }
  {
    auto r = oneInput("BYTES", {2});
    r.add_raw_input_contents(std::string("\x09\0\0\0abc", 7));
    expectError(decode(r), ErrorCode::InvalidArgument, {"input 'x'"});
  }
  {
    auto r = oneInput("FP32", {1});
    r.add_raw_input_contents(std::string(4, '\0'));
    auto dup = *r.mutable_inputs(0);
    *r.add_inputs() = dup;
    r.add_raw_input_contents(std::string(4, '\0'));
    expectError(decode(r), ErrorCode::InvalidArgument, {"input 'x': given twice"});
  }
  {
    auto r = oneInput("FP32", {1});
    r.add_raw_input_contents(std::string(4, '\0'));
    (*r.mutable_parameters())["timeout"].set_int64_param(-5);
    expectError(decode(r), ErrorCode::InvalidArgument, {"parameters.timeout", "non-negative"});
  }
  {
    auto r = oneInput("FP32", {1});
    r.add_raw_input_contents(std::string(4, '\0'));
    (*r.mutable_inputs(0)->mutable_parameters())["shared_memory_region"].set_string_param("r");
    expectError(decode(r), ErrorCode::Unsupported, {"shared_memory_region", "not supported"});
  }
  {
    auto r = oneInput("FP32", {1});
    r.add_raw_input_contents(std::string(4, '\0'));
    (*r.mutable_parameters())["sequence_id"].set_int64_param(7);
    expectError(decode(r), ErrorCode::Unsupported, {"sequence_id"});
  }
  {
    auto r = oneInput("FP32", {1});
    r.add_raw_input_contents(std::string(4, '\0'));
    (*r.add_outputs()->mutable_parameters())["classification"].set_int64_param(3);
    r.mutable_outputs(0)->set_name("y");
    expectError(decode(r), ErrorCode::Unsupported, {"output 'y'", "classification"});
  }
}

}  // namespace
}  // namespace polyinfer::kserve
