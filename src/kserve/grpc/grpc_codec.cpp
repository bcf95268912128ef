#include "grpc_codec.hpp"

#include <cstring>
#include <optional>
#include <utility>

#include "codec_detail.hpp"
#include "datatype.hpp"
#include "polyinfer/error.hpp"

namespace polyinfer::kserve {

using namespace detail;

namespace {

using Contents = inference::InferTensorContents;
using Parameters = google::protobuf::Map<std::string, inference::InferParameter>;

// The typed contents field a datatype's elements travel in; nullptr for FP16 and BF16, which
// have none.
const char* contentsField(DataType dtype) {
  switch (dtype) {
    case DataType::Bool: return "bool_contents";
    case DataType::Int8: case DataType::Int16: case DataType::Int32: return "int_contents";
    case DataType::Int64: return "int64_contents";
    case DataType::UInt8: case DataType::UInt16: case DataType::UInt32: return "uint_contents";
    case DataType::UInt64: return "uint64_contents";
    case DataType::Float32: return "fp32_contents";
    case DataType::Float64: return "fp64_contents";
    case DataType::String: return "bytes_contents";
    default: return nullptr;
  }
}

// The typed fields of `contents` that hold elements, by name, with their element counts.
std::vector<std::pair<const char*, int>> filledFields(const Contents& c) {
  std::vector<std::pair<const char*, int>> filled;
  auto note = [&](const char* name, int size) {
    if (size > 0) filled.emplace_back(name, size);
  };
  note("bool_contents", c.bool_contents_size());
  note("int_contents", c.int_contents_size());
  note("int64_contents", c.int64_contents_size());
  note("uint_contents", c.uint_contents_size());
  note("uint64_contents", c.uint64_contents_size());
  note("fp32_contents", c.fp32_contents_size());
  note("fp64_contents", c.fp64_contents_size());
  note("bytes_contents", c.bytes_contents_size());
  return filled;
}

std::string fieldList(const std::vector<std::pair<const char*, int>>& fields) {
  std::string list;
  for (const auto& [name, size] : fields) list += (list.empty() ? "" : ", ") + std::string(name);
  return list;
}

// An extension parameter polyinfer does not implement.
void refuseExtensions(const Parameters& parameters, std::string_view what) {
  for (const char* extension : {"shared_memory_region", "classification"})
    if (parameters.contains(extension))
      throw Error(ErrorCode::Unsupported, std::string(what) + ": parameters." + extension +
                                              " (a protocol extension) is not supported");
}

// The elements of a typed field as a tensor; In: the field's element type, Out: the tensor's.
template <typename Out, typename Field>
Tensor denseFromField(std::string_view what, DataType dtype, const Shape& shape, int64_t count,
                      const Field& field) {
  Tensor tensor = Tensor::allocate(dtype, shape);
  auto* out = static_cast<Out*>(tensor.mutableRawData());
  for (int64_t i = 0; i < count; ++i) {
    const auto value = field.Get(static_cast<int>(i));
    if constexpr (std::is_same_v<Out, uint8_t> && std::is_same_v<decltype(value), const bool>) {
      out[i] = value ? 1 : 0;
    } else if constexpr (std::is_integral_v<Out>) {
      if (!std::in_range<Out>(value))
        throw invalid(std::string(what) + ": element " + std::to_string(i) + " is " +
                      std::to_string(value) + ", out of range for " +
                      std::string(v2Datatype(dtype)));
      out[i] = static_cast<Out>(value);
    } else {
      out[i] = static_cast<Out>(value);
    }
  }
  return tensor;
}

Tensor tensorFromContents(std::string_view what, DataType dtype, const Shape& shape,
                          const Contents& contents) {
  const int64_t count = elementCount(shape);
  const char* expected = contentsField(dtype);
  const auto filled = filledFields(contents);
  if (expected == nullptr) {
    if (count == 0 && filled.empty()) return Tensor::allocate(dtype, shape);
    throw invalid(std::string(what) + ": datatype " + std::string(v2Datatype(dtype)) +
                  " has no typed contents field; send it in raw_input_contents");
  }
  if (filled.size() > 1 || (filled.size() == 1 && std::strcmp(filled[0].first, expected) != 0))
    throw invalid(std::string(what) + ": datatype " + std::string(v2Datatype(dtype)) +
                  " takes its elements in " + expected + ", got " + fieldList(filled));
  const int64_t given = filled.empty() ? 0 : filled[0].second;
  if (given != count)
    throw invalid(std::string(what) + ": " + expected + " has " + std::to_string(given) +
                  " elements, shape " + toString(shape) + " needs " + std::to_string(count) +
                  (given == 0 ? " (or send the input in raw_input_contents)" : ""));
  switch (dtype) {
    case DataType::Bool: return denseFromField<uint8_t>(what, dtype, shape, count, contents.bool_contents());
    case DataType::Int8: return denseFromField<int8_t>(what, dtype, shape, count, contents.int_contents());
    case DataType::Int16: return denseFromField<int16_t>(what, dtype, shape, count, contents.int_contents());
    case DataType::Int32: return denseFromField<int32_t>(what, dtype, shape, count, contents.int_contents());
    case DataType::Int64: return denseFromField<int64_t>(what, dtype, shape, count, contents.int64_contents());
    case DataType::UInt8: return denseFromField<uint8_t>(what, dtype, shape, count, contents.uint_contents());
    case DataType::UInt16: return denseFromField<uint16_t>(what, dtype, shape, count, contents.uint_contents());
    case DataType::UInt32: return denseFromField<uint32_t>(what, dtype, shape, count, contents.uint_contents());
    case DataType::UInt64: return denseFromField<uint64_t>(what, dtype, shape, count, contents.uint64_contents());
    case DataType::Float32: return denseFromField<float>(what, dtype, shape, count, contents.fp32_contents());
    case DataType::Float64: return denseFromField<double>(what, dtype, shape, count, contents.fp64_contents());
    case DataType::String: {
      std::vector<std::string> values(contents.bytes_contents().begin(), contents.bytes_contents().end());
      return Tensor::fromStrings(shape, std::move(values));
    }
    default: break;
  }
  throw Error(ErrorCode::Internal, std::string(what) + ": no typed decoding for " +
                                       std::string(toString(dtype)));
}

template <typename In, typename Field>
void appendField(const Tensor& tensor, Field& field) {
  const auto* data = static_cast<const In*>(tensor.rawData());
  const int64_t count = tensor.elementCount();
  field.Reserve(static_cast<int>(count));
  for (int64_t i = 0; i < count; ++i) field.Add(data[i]);
}

// Writes `tensor` into its typed contents field; false for a type that has none.
bool tensorToContents(const Tensor& tensor, Contents& c) {
  switch (tensor.dtype()) {
    case DataType::Bool: {
      const auto* data = static_cast<const uint8_t*>(tensor.rawData());
      for (int64_t i = 0; i < tensor.elementCount(); ++i) c.add_bool_contents(data[i] != 0);
      return true;
    }
    case DataType::Int8: appendField<int8_t>(tensor, *c.mutable_int_contents()); return true;
    case DataType::Int16: appendField<int16_t>(tensor, *c.mutable_int_contents()); return true;
    case DataType::Int32: appendField<int32_t>(tensor, *c.mutable_int_contents()); return true;
    case DataType::Int64: appendField<int64_t>(tensor, *c.mutable_int64_contents()); return true;
    case DataType::UInt8: appendField<uint8_t>(tensor, *c.mutable_uint_contents()); return true;
    case DataType::UInt16: appendField<uint16_t>(tensor, *c.mutable_uint_contents()); return true;
    case DataType::UInt32: appendField<uint32_t>(tensor, *c.mutable_uint_contents()); return true;
    case DataType::UInt64: appendField<uint64_t>(tensor, *c.mutable_uint64_contents()); return true;
    case DataType::Float32: appendField<float>(tensor, *c.mutable_fp32_contents()); return true;
    case DataType::Float64: appendField<double>(tensor, *c.mutable_fp64_contents()); return true;
    case DataType::String:
      for (const std::string& value : tensor.strings()) c.add_bytes_contents(value);
      return true;
    default: return false;
  }
}

DataType datatypeOf(const std::string& name, std::string_view what) {
  try {
    return parseV2Datatype(name);
  } catch (const Error& e) {
    throw Error(e.code(), std::string(what) + ": " + e.what());
  }
}

std::string_view datatypeName(DataType dtype, std::string_view what) {
  try {
    return v2Datatype(dtype);
  } catch (const Error& e) {
    throw Error(e.code(), std::string(what) + ": " + e.what());
  }
}

template <typename Dims>
Shape readShape(const Dims& dims, std::string_view what) {
  Shape shape;
  shape.reserve(static_cast<std::size_t>(dims.size()));
  for (int64_t dim : dims) {
    if (dim < 0)
      throw invalid(std::string(what) + ": shape must hold non-negative sizes, got " +
                    std::to_string(dim));
    shape.push_back(dim);
  }
  try {
    elementCount(shape);  // refuses a product beyond int64
  } catch (const Error& e) {
    throw invalid(std::string(what) + ": " + e.what());
  }
  return shape;
}

template <typename Tensor>
void setHead(Tensor& out, const std::string& name, std::string_view datatype, const Shape& shape) {
  out.set_name(name);
  out.set_datatype(std::string(datatype));
  out.mutable_shape()->Reserve(static_cast<int>(shape.size()));
  for (int64_t dim : shape) out.add_shape(dim);
}

std::optional<int64_t> integerParameter(const inference::InferParameter& p) {
  switch (p.parameter_choice_case()) {
    case inference::InferParameter::kInt64Param: return p.int64_param();
    case inference::InferParameter::kUint64Param:
      if (p.uint64_param() > uint64_t(INT64_MAX)) return std::nullopt;
      return static_cast<int64_t>(p.uint64_param());
    default: return std::nullopt;
  }
}

}  // namespace

InferRequest decodeInferRequest(const inference::ModelInferRequest& request,
                                const std::shared_ptr<const void>& holder) {
  InferRequest decoded;
  decoded.id = request.id();

  // The small parts first: a bad parameter is reported without decoding any tensor.
  if (auto it = request.parameters().find("timeout"); it != request.parameters().end()) {
    const std::optional<int64_t> timeout = integerParameter(it->second);
    if (!timeout || *timeout < 0)
      throw invalid("request: expected parameters.timeout to be a non-negative integer "
                    "(microseconds) in int64_param");
    if (*timeout > 0) decoded.timeoutMicroseconds = *timeout;
  }
  if (auto it = request.parameters().find("sequence_id"); it != request.parameters().end()) {
    const inference::InferParameter& p = it->second;
    const bool inSequence = (p.has_string_param() && !p.string_param().empty()) ||
                            integerParameter(p).value_or(1) != 0;
    if (inSequence)
      throw Error(ErrorCode::Unsupported,
                  "request: parameters.sequence_id (sequence batching) is not supported");
  }

  decoded.outputs.reserve(static_cast<std::size_t>(request.outputs_size()));
  for (int i = 0; i < request.outputs_size(); ++i) {
    const auto& output = request.outputs(i);
    if (output.name().empty())
      throw invalid("requested output " + std::to_string(i) + ": expected a non-empty name");
    refuseExtensions(output.parameters(), "output " + inQuotes(output.name()));
    decoded.outputs.push_back({output.name(), std::nullopt});
  }

  const int inputCount = request.inputs_size();
  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != inputCount)
    throw invalid("raw_input_contents has " + std::to_string(request.raw_input_contents_size()) +
                  " entries, the request has " + std::to_string(inputCount) +
                  " inputs; expected one per input");
  std::vector<NamedTensor> inputs;
  inputs.reserve(static_cast<std::size_t>(inputCount));
  for (int i = 0; i < inputCount; ++i) {
    const auto& input = request.inputs(i);
    if (input.name().empty())
      throw invalid("input " + std::to_string(i) + ": expected a non-empty name");
    const std::string what = "input " + inQuotes(input.name());
    for (const NamedTensor& earlier : inputs)
      if (earlier.name == input.name())
        throw invalid(what + ": given twice; each input may appear once");
    refuseExtensions(input.parameters(), what);
    const DataType dtype = datatypeOf(input.datatype(), what);
    const Shape shape = readShape(input.shape(), what);
    Tensor tensor;
    if (raw) {
      if (const auto filled = filledFields(input.contents()); !filled.empty())
        throw invalid(what + ": has both raw_input_contents and contents (" + fieldList(filled) +
                      "); expected one");
      const std::string& bytes = request.raw_input_contents(i);
      tensor = tensorFromBinaryBytes(what, dtype, shape, bytes.data(), bytes.size(), holder);
    } else {
      tensor = tensorFromContents(what, dtype, shape, input.contents());
    }
    inputs.push_back({input.name(), std::move(tensor)});
  }
  decoded.inputs = Tensors(std::move(inputs));
  return decoded;
}

void encodeInferResponse(std::string_view modelName, std::string_view modelVersion,
                         std::string_view id, const Tensors& outputs,
                         const std::vector<RequestedOutput>& requested,
                         inference::ModelInferResponse& response) {
  std::vector<const NamedTensor*> chosen;
  if (requested.empty()) {
    for (const NamedTensor& output : outputs) chosen.push_back(&output);
  } else {
    std::vector<std::string_view> available;
    for (const NamedTensor& output : outputs) available.push_back(output.name);
    checkRequestedNames(requested, available);
    for (const RequestedOutput& r : requested)
      for (const NamedTensor& output : outputs)
        if (output.name == r.name) chosen.push_back(&output);
  }
  response.set_model_name(std::string(modelName));
  response.set_model_version(std::string(modelVersion));
  if (!id.empty()) response.set_id(std::string(id));
  response.mutable_outputs()->Reserve(static_cast<int>(chosen.size()));
  response.mutable_raw_output_contents()->Reserve(static_cast<int>(chosen.size()));
  for (const NamedTensor* output : chosen) {
    const std::string what = "output " + inQuotes(output->name);
    const std::string_view datatype = datatypeName(output->tensor.dtype(), what);
    setHead(*response.add_outputs(), output->name, datatype, output->tensor.shape());
    std::string& bytes = *response.add_raw_output_contents();
    bytes.reserve(binaryDataSize(output->tensor, what));
    appendBinaryData(bytes, output->tensor);
  }
}

void fillModelMetadata(std::string_view name, const std::vector<std::string>& versions,
                       std::string_view platform, const std::vector<TensorInfo>& inputs,
                       const std::vector<TensorInfo>& outputs,
                       inference::ModelMetadataResponse& response) {
  response.set_name(std::string(name));
  for (const std::string& version : versions) response.add_versions(version);
  response.set_platform(std::string(platform));
  auto fill = [](const std::vector<TensorInfo>& infos, auto* list) {
    for (const TensorInfo& info : infos) {
      auto& tensor = *list->Add();
      tensor.set_name(info.name);
      tensor.set_datatype(std::string(metadataDatatype(info.dtype)));
      for (int64_t dim : metadataShape(info)) tensor.add_shape(dim);
    }
  };
  fill(inputs, response.mutable_inputs());
  fill(outputs, response.mutable_outputs());
}

void encodeInferRequest(std::string_view modelName, std::string_view modelVersion,
                        std::string_view id, const Tensors& inputs, bool rawInputs,
                        const std::vector<RequestedOutput>& outputs, int64_t timeoutMicroseconds,
                        inference::ModelInferRequest& request) {
  request.set_model_name(std::string(modelName));
  request.set_model_version(std::string(modelVersion));
  if (!id.empty()) request.set_id(std::string(id));
  if (timeoutMicroseconds > 0) (*request.mutable_parameters())["timeout"].set_int64_param(timeoutMicroseconds);
  // Raw for all or none (the protocol's rule); a type without a typed field forces raw.
  bool raw = rawInputs;
  for (const NamedTensor& input : inputs) raw = raw || contentsField(input.tensor.dtype()) == nullptr;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const NamedTensor& input = inputs[i];
    if (input.name.empty())
      throw invalid("input " + std::to_string(i) + ": a v2 request names every input; got " +
                    input.tensor.describe() + " without a name");
    const std::string what = "input " + inQuotes(input.name);
    auto& tensor = *request.add_inputs();
    setHead(tensor, input.name, datatypeName(input.tensor.dtype(), what), input.tensor.shape());
    if (!raw) {
      tensorToContents(input.tensor, *tensor.mutable_contents());
      continue;
    }
    std::string& bytes = *request.add_raw_input_contents();
    bytes.reserve(binaryDataSize(input.tensor, what));
    appendBinaryData(bytes, input.tensor);
  }
  for (const RequestedOutput& output : outputs) request.add_outputs()->set_name(output.name);
}

InferResponse decodeInferResponse(const inference::ModelInferResponse& response) {
  InferResponse decoded;
  decoded.modelName = response.model_name();
  decoded.modelVersion = response.model_version();
  decoded.id = response.id();
  const bool raw = response.raw_output_contents_size() > 0;
  if (raw && response.raw_output_contents_size() != response.outputs_size())
    throw invalid("raw_output_contents has " + std::to_string(response.raw_output_contents_size()) +
                  " entries, the response has " + std::to_string(response.outputs_size()) +
                  " outputs");
  std::vector<NamedTensor> outputs;
  for (int i = 0; i < response.outputs_size(); ++i) {
    const auto& output = response.outputs(i);
    const std::string what = "output " + inQuotes(output.name());
    const DataType dtype = datatypeOf(output.datatype(), what);
    const Shape shape = readShape(output.shape(), what);
    Tensor tensor;
    if (raw) {
      const std::string& bytes = response.raw_output_contents(i);
      tensor = tensorFromBinaryBytes(what, dtype, shape, bytes.data(), bytes.size(), nullptr);
    } else {
      tensor = tensorFromContents(what, dtype, shape, output.contents());
    }
    outputs.push_back({output.name(), std::move(tensor)});
  }
  decoded.outputs = Tensors(std::move(outputs));
  return decoded;
}

}  // namespace polyinfer::kserve
