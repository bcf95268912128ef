// Shared helpers of the ONNX Runtime plugin: dtype mapping and the
// translation of ONNX Runtime's exceptions into polyinfer::Error.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <optional>
#include <string>
#include <string_view>

#include "polyinfer/dtype.hpp"
#include "polyinfer/error.hpp"

namespace polyinfer::ort {

/// The engine's name, as in the plugin's file name.
inline constexpr const char* kEngineName = "onnxruntime";

/// polyinfer's DataType has ONNX TensorProto's values, and so does ORT's
/// ONNXTensorElementDataType (static_asserts in ort_common.cpp): the mapping
/// is a range check. Throws Error(Unsupported) naming the type when ORT has
/// no element type for it (`what` says whose type it is: "input 'x'").
ONNXTensorElementDataType toOrt(DataType type, std::string_view what);

/// ORT element type -> DataType; Error(Unsupported) naming the type for one
/// polyinfer does not know (a newer ORT's addition).
DataType fromOrt(ONNXTensorElementDataType type, std::string_view what);

/// "float8e4m3fn (17)"-style name for messages, also for unknown values.
std::string describeOrtType(ONNXTensorElementDataType type);

/// The element type named in ORT's "type not registered" failure
/// ("complex64" from "MLDataType for: tensor(complex64) is not currently
/// registered or supported"), or nullopt for any other message. ORT reports
/// that as a generic ORT_FAIL; polyinfer reports Unsupported naming the type.
std::optional<std::string> unsupportedElementType(std::string_view message);

/// Name of an ORT error code: "ORT_INVALID_PROTOBUF".
std::string_view toString(OrtErrorCode code) noexcept;

/// What the failing call was doing; selects the ErrorCode mapping.
enum class Phase { Load, Run, Other };

/// The ErrorCode an ORT failure becomes in `phase`.
ErrorCode errorCodeFor(OrtErrorCode code, Phase phase) noexcept;

/// Rethrows the exception being handled as polyinfer::Error with `context`
/// ("onnxruntime: ...") prefixed to the message: the kit's
/// plugin::rethrowAsError with a translator for Ort::Exception whose codes
/// depend on `phase`. An Error passes through unchanged. Call only from
/// inside a catch block.
[[noreturn]] void rethrowAsError(Phase phase, const std::string& context);

}  // namespace polyinfer::ort
