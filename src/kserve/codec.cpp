// KServe v2 inference requests and responses, metadata and error bodies. The tensor parts
// are in tensor_codec.cpp.
#include "codec.hpp"

#include <charconv>
#include <utility>

#include "codec_detail.hpp"
#include "datatype.hpp"

namespace polyinfer::kserve {

using namespace detail;

namespace {

const json* member(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// An optional string member: "" when absent.
std::string optionalString(const json& object, const char* key, std::string_view where) {
  const json* value = member(object, key);
  if (value == nullptr) return {};
  if (!value->is_string())
    throw invalid(std::string(where) + ": expected '" + key + "' to be a string, got " +
                  describeJson(*value));
  return value->get<std::string>();
}

// An optional bool parameter.
std::optional<bool> optionalBool(const json& parameters, const char* key, std::string_view where) {
  const json* value = member(parameters, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean())
    throw invalid(std::string(where) + ": expected parameters." + key + " to be true or false, got " +
                  describeJson(*value));
  return value->get<bool>();
}

const json* optionalObject(const json& object, const char* key, std::string_view where) {
  const json* value = member(object, key);
  if (value != nullptr && !value->is_object())
    throw invalid(std::string(where) + ": expected '" + key + "' to be an object, got " +
                  describeJson(*value));
  return value;
}

void appendUnsigned(std::string& out, uint64_t value) {
  char buffer[24];
  out.append(buffer, std::to_chars(buffer, buffer + sizeof(buffer), value).ptr);
}

// Same code, the tensor's role and name in front of the message.
[[noreturn]] void rethrowFor(const Error& e, std::string_view what) {
  throw Error(e.code(), std::string(what) + ": " + e.what());
}

std::string quotedNames(const std::vector<std::string_view>& names) {
  if (names.empty()) return "none";
  std::string list;
  for (std::string_view name : names) {
    if (!list.empty()) list += ", ";
    list += "'" + std::string(name) + "'";
  }
  return list;
}

// The JSON of one tensor up to its data: {"name":..,"datatype":..,"shape":[..]
void appendTensorHead(std::string& out, std::string_view name, const Tensor& tensor,
                      std::string_view what) {
  std::string_view datatype;
  try {
    datatype = v2Datatype(tensor.dtype());
  } catch (const Error& e) {
    rethrowFor(e, what);
  }
  out += "{\"name\":";
  appendJsonString(out, name, InvalidUtf8::Replace);
  out += ",\"datatype\":\"";
  out += datatype;
  out += "\",\"shape\":";
  appendShape(out, tensor.shape());
}

// One tensor of a request or response, in JSON or as binary (binarySize: its bytes).
struct TensorToWrite {
  std::string_view name;
  const Tensor* tensor;
  std::string what;  // "output 'y'"
  bool binary = false;
  std::size_t binarySize = 0;
};

// Writes the tensors' JSON list ("[...]") into out, and then, after the JSON is complete,
// the caller appends the binary parts with appendBinaryParts.
void appendTensorList(std::string& out, const std::vector<TensorToWrite>& tensors) {
  out += '[';
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorToWrite& t = tensors[i];
    if (i) out += ',';
    appendTensorHead(out, t.name, *t.tensor, t.what);
    if (t.binary) {
      out += ",\"parameters\":{\"binary_data_size\":";
      appendUnsigned(out, t.binarySize);
      out += "}}";
    } else {
      out += ",\"data\":";
      appendJsonData(out, *t.tensor, t.what);
      out += '}';
    }
  }
  out += ']';
}

// Sizes the binary parts and reserves the body for JSON and binary data at once.
void prepare(std::vector<TensorToWrite>& tensors, std::string& body, std::size_t headSize) {
  std::size_t total = headSize + 8;  // + the padding before binary data
  for (TensorToWrite& t : tensors) {
    total += t.name.size() + 96;
    if (t.binary) {
      t.binarySize = binaryDataSize(*t.tensor, t.what);
      total += t.binarySize;
    } else {
      total += estimatedJsonSize(*t.tensor);
    }
  }
  body.reserve(total);
}

// Appends the binary parts after the JSON; the JSON's length when there are any. The JSON
// is padded with spaces (valid trailing whitespace) to a multiple of kBinaryAlignment, so
// that in a receiver's malloc'ed buffer the first binary tensor starts aligned for any
// element type and can be used in place, without a copy.
constexpr std::size_t kBinaryAlignment = 8;
std::optional<std::size_t> appendBinaryParts(std::string& body,
                                             const std::vector<TensorToWrite>& tensors) {
  std::optional<std::size_t> jsonLength;
  for (const TensorToWrite& t : tensors) {
    if (!t.binary) continue;
    if (!jsonLength) {
      body.append((kBinaryAlignment - body.size() % kBinaryAlignment) % kBinaryAlignment, ' ');
      jsonLength = body.size();
    }
    appendBinaryData(body, *t.tensor);
  }
  return jsonLength;
}

json tensorsForMetadata(const std::vector<TensorInfo>& infos) {
  json list = json::array();
  for (const TensorInfo& info : infos)
    list.push_back({{"name", info.name},
                    {"datatype", metadataDatatype(info.dtype)},
                    {"shape", metadataShape(info)}});
  return list;
}

}  // namespace

namespace detail {

void checkRequestedNames(const std::vector<RequestedOutput>& requested,
                         const std::vector<std::string_view>& available) {
  for (std::size_t i = 0; i < requested.size(); ++i) {
    const std::string& name = requested[i].name;
    bool known = false;
    for (std::string_view output : available) known = known || output == name;
    if (!known)
      throw invalid("unknown output '" + name + "'; the model's outputs: " + quotedNames(available));
    for (std::size_t j = 0; j < i; ++j)
      if (requested[j].name == name)
        throw invalid("output '" + name + "' is requested twice; the model's outputs: " +
                      quotedNames(available));
  }
}

}  // namespace detail

InferRequest decodeInferRequest(std::shared_ptr<const std::string> body,
                                std::optional<std::size_t> jsonLength) {
  std::size_t binaryOffset = 0;
  const json document = parseBody(body, jsonLength, binaryOffset);
  if (!document.is_object())
    throw invalid("request: expected a JSON object, got " + describeJson(document));
  InferRequest request;
  request.id = optionalString(document, "id", "request");

  // The small parts first: a bad parameter is reported without decoding any tensor.
  if (const json* parameters = optionalObject(document, "parameters", "request")) {
    request.binaryDataOutput = optionalBool(*parameters, "binary_data_output", "request");
    if (const json* timeout = member(*parameters, "timeout")) {
      if (!timeout->is_number_integer() ||
          (!timeout->is_number_unsigned() && timeout->get<int64_t>() < 0) ||
          (timeout->is_number_unsigned() && timeout->get<uint64_t>() > uint64_t(INT64_MAX)))
        throw invalid("request: expected parameters.timeout to be a non-negative integer "
                      "(microseconds), got " + describeJson(*timeout));
      if (const auto microseconds = timeout->get<int64_t>(); microseconds > 0)
        request.timeoutMicroseconds = microseconds;
    }
  }

  if (const json* outputs = member(document, "outputs")) {
    if (!outputs->is_array())
      throw invalid("'outputs': expected an array, got " + describeJson(*outputs));
    request.outputs.reserve(outputs->size());
    std::size_t index = 0;
    for (const json& output : outputs->get_ref<const json::array_t&>()) {
      const std::string where = "requested output " + std::to_string(index++);
      if (!output.is_object())
        throw invalid(where + ": expected an object, got " + describeJson(output));
      const json* name = member(output, "name");
      if (name == nullptr || !name->is_string() || name->get_ref<const std::string&>().empty())
        throw invalid(where + ": expected a non-empty 'name' string, got " +
                      (name ? describeJson(*name) : std::string("none")));
      RequestedOutput requested{name->get<std::string>(), std::nullopt};
      const std::string what = "output '" + requested.name + "'";
      if (const json* parameters = optionalObject(output, "parameters", what)) {
        for (const char* extension : {"classification", "shared_memory_region"})
          if (member(*parameters, extension))
            throw Error(ErrorCode::Unsupported, what + ": parameters." + extension +
                                                    " (a protocol extension) is not supported");
        requested.binary = optionalBool(*parameters, "binary_data", what);
      }
      request.outputs.push_back(std::move(requested));
    }
  }

  const json* inputs = member(document, "inputs");
  if (inputs == nullptr) throw invalid("request: expected an 'inputs' array, got none");
  request.inputs = decodeTensorList(*inputs, "input", body, binaryOffset, jsonLength.has_value());
  return request;
}

EncodedBody encodeInferResponse(std::string_view modelName, std::string_view modelVersion,
                                std::string_view id, const Tensors& outputs,
                                const std::vector<RequestedOutput>& requested, bool defaultBinary) {
  std::vector<TensorToWrite> chosen;
  if (requested.empty()) {
    chosen.reserve(outputs.size());
    for (const NamedTensor& output : outputs)
      chosen.push_back({output.name, &output.tensor, "output '" + output.name + "'", defaultBinary});
  } else {
    std::vector<std::string_view> available;
    available.reserve(outputs.size());
    for (const NamedTensor& output : outputs) available.push_back(output.name);
    checkRequestedNames(requested, available);
    chosen.reserve(requested.size());
    for (const RequestedOutput& r : requested) {
      const Tensor* tensor = outputs.find(r.name);
      chosen.push_back({r.name, tensor, "output '" + r.name + "'", r.binary.value_or(defaultBinary)});
    }
  }

  EncodedBody encoded;
  std::string& body = encoded.body;
  prepare(chosen, body, 64 + modelName.size() + modelVersion.size() + id.size());
  body += "{\"model_name\":";
  appendJsonString(body, modelName, InvalidUtf8::Replace);
  body += ",\"model_version\":";
  appendJsonString(body, modelVersion, InvalidUtf8::Replace);
  if (!id.empty()) {
    body += ",\"id\":";
    appendJsonString(body, id, InvalidUtf8::Replace);
  }
  body += ",\"outputs\":";
  appendTensorList(body, chosen);
  body += '}';
  encoded.jsonLength = appendBinaryParts(body, chosen);
  return encoded;
}

void checkRequestedOutputs(const std::vector<RequestedOutput>& requested,
                           const std::vector<TensorInfo>& outputs) {
  std::vector<std::string_view> available;
  available.reserve(outputs.size());
  for (const TensorInfo& info : outputs) available.push_back(info.name);
  checkRequestedNames(requested, available);
}

EncodedBody encodeInferRequest(std::string_view id, const Tensors& inputs, bool binaryInputs,
                               const std::vector<RequestedOutput>& outputs, bool binaryOutputs,
                               int64_t timeoutMicroseconds) {
  std::vector<TensorToWrite> chosen;
  chosen.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const NamedTensor& input = inputs[i];
    if (input.name.empty())
      throw invalid("input " + std::to_string(i) + ": a v2 request names every input; got " +
                    input.tensor.describe() + " without a name");
    chosen.push_back({input.name, &input.tensor, "input '" + input.name + "'", binaryInputs});
  }

  EncodedBody encoded;
  std::string& body = encoded.body;
  std::size_t headSize = 128 + id.size();
  for (const RequestedOutput& output : outputs) headSize += output.name.size() + 48;
  prepare(chosen, body, headSize);
  body += '{';
  if (!id.empty()) {
    body += "\"id\":";
    appendJsonString(body, id, InvalidUtf8::Replace);
    body += ',';
  }
  body += "\"inputs\":";
  appendTensorList(body, chosen);
  if (!outputs.empty()) {
    body += ",\"outputs\":[";
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (i) body += ',';
      body += "{\"name\":";
      appendJsonString(body, outputs[i].name, InvalidUtf8::Replace);
      if (outputs[i].binary)
        body += *outputs[i].binary ? ",\"parameters\":{\"binary_data\":true}"
                                   : ",\"parameters\":{\"binary_data\":false}";
      body += '}';
    }
    body += ']';
  }
  if (binaryOutputs || timeoutMicroseconds > 0) {
    body += ",\"parameters\":{";
    if (binaryOutputs) body += "\"binary_data_output\":true";
    if (timeoutMicroseconds > 0) {
      if (binaryOutputs) body += ',';
      body += "\"timeout\":";
      appendUnsigned(body, static_cast<uint64_t>(timeoutMicroseconds));
    }
    body += '}';
  }
  body += '}';
  encoded.jsonLength = appendBinaryParts(body, chosen);
  return encoded;
}

InferResponse decodeInferResponse(std::shared_ptr<const std::string> body,
                                  std::optional<std::size_t> jsonLength) {
  std::size_t binaryOffset = 0;
  const json document = parseBody(body, jsonLength, binaryOffset);
  if (!document.is_object())
    throw invalid("response: expected a JSON object, got " + describeJson(document));
  if (const json* error = member(document, "error"))
    throw Error(ErrorCode::EngineFailure,
                error->is_string() ? error->get<std::string>() : describeJson(*error));
  InferResponse response;
  response.modelName = optionalString(document, "model_name", "response");
  response.modelVersion = optionalString(document, "model_version", "response");
  response.id = optionalString(document, "id", "response");
  const json* outputs = member(document, "outputs");
  if (outputs == nullptr) throw invalid("response: expected an 'outputs' array, got none");
  response.outputs =
      decodeTensorList(*outputs, "output", body, binaryOffset, jsonLength.has_value());
  return response;
}

std::string errorBody(std::string_view message) {
  std::string body = "{\"error\":";
  appendJsonString(body, message, InvalidUtf8::Replace);
  body += '}';
  return body;
}

std::optional<std::string> errorMessage(std::string_view body) {
  const json document = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) return std::nullopt;  // also a body that is not JSON (discarded)
  const json* error = member(document, "error");
  if (error == nullptr || !error->is_string()) return std::nullopt;
  return error->get<std::string>();
}

std::vector<int64_t> metadataShape(const TensorInfo& info) {
  if (!info.rankKnown) return {-1};
  std::vector<int64_t> shape;
  shape.reserve(info.shape.size());
  for (int64_t dim : info.shape) shape.push_back(dim < 0 ? int64_t{-1} : dim);
  return shape;
}

nlohmann::json modelMetadata(std::string_view name, const std::vector<std::string>& versions,
                             std::string_view platform, const std::vector<TensorInfo>& inputs,
                             const std::vector<TensorInfo>& outputs) {
  return {{"name", name},
          {"versions", versions},
          {"platform", platform},
          {"inputs", tensorsForMetadata(inputs)},
          {"outputs", tensorsForMetadata(outputs)}};
}

}  // namespace polyinfer::kserve
