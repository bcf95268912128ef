#include "ort_common.hpp"

#include "polyinfer/plugin_kit.hpp"

#include <new>
#include <optional>
#include <stdexcept>

namespace polyinfer::ort {

// polyinfer's DataType and ORT's element types both use ONNX TensorProto's
// numbering; the mapping relies on it, so check every value.
#define POLYINFER_ORT_SAME(ours, theirs)                                                  \
  static_assert(static_cast<int>(DataType::ours) == static_cast<int>(theirs), \
                "DataType::" #ours " != " #theirs)
POLYINFER_ORT_SAME(Undefined, ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED);
POLYINFER_ORT_SAME(Float32, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT);
POLYINFER_ORT_SAME(UInt8, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8);
POLYINFER_ORT_SAME(Int8, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8);
POLYINFER_ORT_SAME(UInt16, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16);
POLYINFER_ORT_SAME(Int16, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16);
POLYINFER_ORT_SAME(Int32, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32);
POLYINFER_ORT_SAME(Int64, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64);
POLYINFER_ORT_SAME(String, ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING);
POLYINFER_ORT_SAME(Bool, ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL);
POLYINFER_ORT_SAME(Float16, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16);
POLYINFER_ORT_SAME(Float64, ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE);
POLYINFER_ORT_SAME(UInt32, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32);
POLYINFER_ORT_SAME(UInt64, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64);
POLYINFER_ORT_SAME(Complex64, ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX64);
POLYINFER_ORT_SAME(Complex128, ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX128);
POLYINFER_ORT_SAME(BFloat16, ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16);
POLYINFER_ORT_SAME(Float8E4M3FN, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN);
POLYINFER_ORT_SAME(Float8E4M3FNUZ, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FNUZ);
POLYINFER_ORT_SAME(Float8E5M2, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2);
POLYINFER_ORT_SAME(Float8E5M2FNUZ, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2FNUZ);
POLYINFER_ORT_SAME(UInt4, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT4);
POLYINFER_ORT_SAME(Int4, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT4);
POLYINFER_ORT_SAME(Float4E2M1, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT4E2M1);
POLYINFER_ORT_SAME(UInt2, ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT2);
POLYINFER_ORT_SAME(Int2, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT2);
POLYINFER_ORT_SAME(Float8E8M0, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E8M0);
#undef POLYINFER_ORT_SAME

namespace {

// The largest element type both sides know.
constexpr int kLastKnownType = static_cast<int>(DataType::Float8E8M0);

}  // namespace

std::optional<std::string> unsupportedElementType(std::string_view message) {
  // ORT's DataTypeImpl::TypeFromProto: "MLDataType for: tensor(complex64) is
  // not currently registered or supported" (reported as ORT_FAIL).
  if (message.find("is not currently registered or supported") == std::string_view::npos)
    return std::nullopt;
  const std::size_t open = message.find("tensor(");
  if (open == std::string_view::npos) return std::nullopt;
  const std::size_t begin = open + 7;
  const std::size_t close = message.find(')', begin);
  if (close == std::string_view::npos || close == begin) return std::nullopt;
  return std::string(message.substr(begin, close - begin));
}

std::string describeOrtType(ONNXTensorElementDataType type) {
  const int value = static_cast<int>(type);
  if (value > 0 && value <= kLastKnownType)
    return std::string(polyinfer::toString(static_cast<DataType>(value))) + " (ONNX type " +
           std::to_string(value) + ")";
  return "ONNX element type " + std::to_string(value);
}

ONNXTensorElementDataType toOrt(DataType type, std::string_view what) {
  const int value = static_cast<int>(type);
  if (value <= 0 || value > kLastKnownType)
    throw Error(ErrorCode::Unsupported,
                std::string(what) + ": onnxruntime has no element type for " +
                    (type == DataType::Undefined ? std::string("undefined dtype")
                                                 : "dtype " + std::to_string(value)));
  return static_cast<ONNXTensorElementDataType>(value);
}

DataType fromOrt(ONNXTensorElementDataType type, std::string_view what) {
  const int value = static_cast<int>(type);
  if (value <= 0 || value > kLastKnownType)
    throw Error(ErrorCode::Unsupported, std::string(what) + ": " + describeOrtType(type) +
                                            " is not supported by polyinfer");
  return static_cast<DataType>(value);
}

std::string_view toString(OrtErrorCode code) noexcept {
  switch (code) {
    case ORT_OK: return "ORT_OK";
    case ORT_FAIL: return "ORT_FAIL";
    case ORT_INVALID_ARGUMENT: return "ORT_INVALID_ARGUMENT";
    case ORT_NO_SUCHFILE: return "ORT_NO_SUCHFILE";
    case ORT_NO_MODEL: return "ORT_NO_MODEL";
    case ORT_ENGINE_ERROR: return "ORT_ENGINE_ERROR";
    case ORT_RUNTIME_EXCEPTION: return "ORT_RUNTIME_EXCEPTION";
    case ORT_INVALID_PROTOBUF: return "ORT_INVALID_PROTOBUF";
    case ORT_MODEL_LOADED: return "ORT_MODEL_LOADED";
    case ORT_NOT_IMPLEMENTED: return "ORT_NOT_IMPLEMENTED";
    case ORT_INVALID_GRAPH: return "ORT_INVALID_GRAPH";
    case ORT_EP_FAIL: return "ORT_EP_FAIL";
    default: break;
  }
  return "ORT error";
}

ErrorCode errorCodeFor(OrtErrorCode code, Phase phase) noexcept {
  switch (code) {
    case ORT_INVALID_ARGUMENT:
      return ErrorCode::InvalidArgument;
    case ORT_NOT_IMPLEMENTED:
      // An operator or element type this ORT build has no kernel for.
      return ErrorCode::Unsupported;
    case ORT_NO_SUCHFILE:
      return ErrorCode::NotFound;
    case ORT_NO_MODEL:
    case ORT_INVALID_PROTOBUF:
    case ORT_INVALID_GRAPH:
      return phase == Phase::Load ? ErrorCode::InvalidArgument : ErrorCode::EngineFailure;
    case ORT_FAIL:
      // While loading, a generic failure is nearly always about the model
      // file (ORT reports e.g. a truncated or unreadable file this way).
      return phase == Phase::Load ? ErrorCode::InvalidArgument : ErrorCode::EngineFailure;
    default:
      return ErrorCode::EngineFailure;
  }
}

namespace {

/// ONNX Runtime's own exceptions, for plugin::rethrowAsError: the code for
/// `phase`, ORT's error code name appended, element types ORT has no kernel
/// for reported as Unsupported naming the type.
template <Phase phase>
std::optional<plugin::TranslatedError> translateOrtException(ErrorCode) {
  try {
    throw;
  } catch (const Ort::Exception& e) {
    const OrtErrorCode code = e.GetOrtErrorCode();
    const std::string message = e.what();
    const std::string suffix = " [" + std::string(toString(code)) + "]";
    if (auto type = unsupportedElementType(message))
      return plugin::TranslatedError{ErrorCode::Unsupported, "onnxruntime does not support dtype " +
                                                                 *type + " (" + message + ")" + suffix};
    return plugin::TranslatedError{errorCodeFor(code, phase), message + suffix};
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

void rethrowAsError(Phase phase, const std::string& context) {
  // The kit puts "onnxruntime: " in front itself.
  const std::string prefix = std::string(kEngineName) + ": ";
  const std::string_view rest = std::string_view(context).starts_with(prefix)
                                    ? std::string_view(context).substr(prefix.size())
                                    : std::string_view(context);
  plugin::rethrowAsError(kEngineName, rest, ErrorCode::EngineFailure,
                         phase == Phase::Load   ? &translateOrtException<Phase::Load>
                         : phase == Phase::Run ? &translateOrtException<Phase::Run>
                                               : &translateOrtException<Phase::Other>);
}

}  // namespace polyinfer::ort
