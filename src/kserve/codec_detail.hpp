// Pieces shared by the request and response codecs (codec.cpp): JSON text in and out, and
// tensors in JSON "data" or in the binary tensor extension. Private to polyinfer_kserve.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "polyinfer/error.hpp"
#include "codec.hpp"
#include "polyinfer/tensor.hpp"

namespace polyinfer::kserve::detail {

using nlohmann::json;

inline Error invalid(const std::string& message) {
  return Error(ErrorCode::InvalidArgument, message);
}

/// 'text' in single quotes, for messages ("input 'x'").
std::string inQuotes(std::string_view text);

/// Parses JSON text; Triton's bare NaN, Infinity and -Infinity tokens are read as the strings
/// "NaN", "Infinity", "-Infinity". Throws Error(InvalidArgument) "malformed JSON at byte N: ...".
json parseJson(std::string_view text);

/// The JSON part of a body (jsonLength: Inference-Header-Content-Length, nullopt: all of it),
/// parsed; binaryOffset: where the binary part starts (body->size() when there is none).
json parseBody(const std::shared_ptr<const std::string>& body,
               std::optional<std::size_t> jsonLength, std::size_t& binaryOffset);

/// A JSON value for a message: numbers and short strings as written, else "an array of 3
/// elements", "an object".
std::string describeJson(const json& value);

/// The list of tensors under "inputs" (role "input") or "outputs" (role "output"), with the
/// binary part of `body` from binaryOffset to its end. lengthGiven: whether the body came with
/// an Inference-Header-Content-Length (for the message when binary data has none).
Tensors decodeTensorList(const json& list, std::string_view role,
                         const std::shared_ptr<const std::string>& body, std::size_t binaryOffset,
                         bool lengthGiven);

/// A tensor of `dtype` and `shape` from `size` bytes laid out as the binary extension lays
/// them out (also gRPC's raw contents). The size is checked against dtype and shape before
/// anything is allocated: Error(InvalidArgument) naming `what` ("input 'x'"), expected and
/// actual. A view of `data` kept alive by `holder` when the bytes are aligned for the type and
/// holder is set, otherwise a copy.
Tensor tensorFromBinaryBytes(std::string_view what, DataType dtype, const Shape& shape,
                              const char* data, std::size_t size,
                              const std::shared_ptr<const void>& holder);

/// Every requested output name is one of `available` and none is requested twice, else
/// Error(InvalidArgument) listing the outputs.
void checkRequestedNames(const std::vector<RequestedOutput>& requested,
                         const std::vector<std::string_view>& available);

/// What appendJsonString does with bytes that are not UTF-8.
enum class InvalidUtf8 {
  Refuse,   ///< returns false (the caller reports it)
  Replace,  ///< writes U+FFFD in their place
};
/// Appends `text` as a JSON string literal (with its quotes). False when `text` is not UTF-8
/// and mode is Refuse; `out` then holds part of the literal.
bool appendJsonString(std::string& out, std::string_view text, InvalidUtf8 mode);

/// Appends "[1,3,224,224]".
void appendShape(std::string& out, const Shape& shape);

/// Appends the elements of `tensor` as a flat JSON array (NaN and infinities as null). BYTES
/// elements that are not UTF-8: Error(InvalidArgument) naming `what` ("output 'y'").
void appendJsonData(std::string& out, const Tensor& tensor, std::string_view what);

/// Bytes `tensor` takes in the binary extension; an element too long for its 4-byte length:
/// Error(InvalidArgument) naming `what`.
std::size_t binaryDataSize(const Tensor& tensor, std::string_view what);

/// Appends `tensor` in the binary extension's form (binaryDataSize bytes).
void appendBinaryData(std::string& out, const Tensor& tensor);

/// A rough size of `tensor` as JSON data, to reserve for.
std::size_t estimatedJsonSize(const Tensor& tensor);

}  // namespace polyinfer::kserve::detail
