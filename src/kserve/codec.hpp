// KServe v2 / Open Inference Protocol (HTTP/REST) bodies: inference requests and responses
// with tensors in JSON or in the binary tensor data extension, model metadata, error bodies.
// Used by the server (decode requests, encode responses) and by clients such as the bench's
// remote target (encode requests, decode responses).
//
// JSON tensor data:
//  - "data" may be flat or nested (arrays of arrays, in row-major order); only the element
//    count has to match the product of "shape". A bare value stands for one element.
//  - Written flat, numbers in their shortest form that reads back as the same value of the
//    tensor's type (std::to_chars), so JSON round trips are exact for finite values.
//  - BOOL: true/false (0 and 1 are accepted too). Integer types: JSON integers within the
//    type's range (1.5 and 2.0 are refused). FP16/FP32/FP64/BF16: JSON numbers, converted with
//    rounding to nearest even; a finite value beyond the type's range is refused. BYTES: JSON
//    strings, which must be UTF-8 (JSON cannot carry other bytes: send those as binary data).
//  - NaN and infinities have no JSON form. We write NaN and ±Infinity as JSON null, so every
//    response is valid JSON (the KServe Python server does the same; numpy reads null as NaN
//    in a float array). The sign of an infinity is lost that way: request binary outputs to get
//    non-finite values exactly. Reading, a float element may be null (NaN), the strings "NaN",
//    "Infinity", "-Infinity", or Triton's bare NaN / Infinity / -Infinity tokens, so bodies
//    written by Triton's server and clients are read too.
//
// Binary tensor data (Triton's binary_data extension): the JSON object is followed by the raw
// bytes of each binary tensor, in tensor order, little-endian, row-major, with no padding; BOOL
// is one byte 0 or 1 per element; a BYTES element is a 4-byte little-endian length and its
// bytes. The HTTP header Inference-Header-Content-Length gives the length of the JSON part.
// The encoders pad the JSON part with spaces to a multiple of 8 bytes: the first binary
// tensor then starts 8-aligned in the receiver's (malloc'ed) buffer and decodes as a view,
// without a copy. Tensors after one whose size is not a multiple of 8 may still be copied
// (the protocol has no padding between tensors).
//
// Errors: a malformed body throws Error(InvalidArgument) with a message that names the
// tensor and says what was expected and what was given; a parameter of another protocol
// extension that polyinfer does not implement (shared memory, classification) throws
// Error(Unsupported).
//
// Every function here is pure (no shared state) and may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "polyinfer/model.hpp"
#include "polyinfer/tensor.hpp"

namespace polyinfer::kserve {

/// One entry of a request's "outputs".
struct RequestedOutput {
  std::string name;
  std::optional<bool> binary;  ///< the output's parameters.binary_data, when given
};

/// A decoded inference request (the body of POST /v2/models/<name>[/versions/<v>]/infer).
struct InferRequest {
  std::string id;                              ///< "id", echoed in the response ("" when absent)
  Tensors inputs;                              ///< named, in request order
  std::vector<RequestedOutput> outputs;        ///< empty: all outputs
  std::optional<bool> binaryDataOutput;        ///< request parameters.binary_data_output
  std::optional<int64_t> timeoutMicroseconds;  ///< request parameters.timeout (µs), > 0; 0 counts as absent
};

/// Decodes the body of POST .../infer. jsonLength: the Inference-Header-Content-Length header
/// (nullopt: the whole body is JSON, no binary part). Binary input data follow the JSON, in
/// input order, each input's length given by its parameters.binary_data_size; together they
/// must fill the rest of the body exactly. Tensors of binary inputs are views into *body
/// (holder = body, so they keep it alive; treat them as read-only) when their offset is aligned
/// for the element type, otherwise copies; BYTES inputs are always copied into strings.
/// Nothing is allocated before the shape's size has been checked against the bytes the body
/// holds. Unknown top-level keys and unknown parameters are ignored (the protocol allows
/// extensions). Every malformed request throws Error(InvalidArgument) (NotFound is not used
/// here) with a message naming expected and actual, e.g.
///  "input 'x': 'data' has 5 elements, shape [2,3] needs 6",
///  "input 'x': binary_data_size is 20, FP32 [2,3] needs 24",
///  "binary data: the inputs' binary_data_size add up to 48 bytes, the body has 40 after the JSON",
///  "input 'x': element 3 is 300, out of range for UINT8", "malformed JSON at byte 17: ...".
InferRequest decodeInferRequest(std::shared_ptr<const std::string> body,
                                std::optional<std::size_t> jsonLength);

/// A body to send, and the length of its JSON part when a binary part follows.
struct EncodedBody {
  std::string body;
  std::optional<std::size_t> jsonLength;  ///< set when a binary part follows the JSON: send as Inference-Header-Content-Length
};

/// Encodes a response: {"model_name","model_version","id"(only if non-empty),"outputs":[{"name",
/// "datatype","shape","data"} or {"name","datatype","shape","parameters":{"binary_data_size":N}}]}.
/// Only the requested outputs (all when `requested` is empty), in the order requested (model
/// order when all). An output is binary when its own binary flag says so, else when
/// defaultBinary. A requested name not among outputs, or requested twice: Error(InvalidArgument)
/// listing the outputs. An output whose dtype v2 cannot name: Error(Unsupported). A BYTES
/// element that is not UTF-8, in a JSON output: Error(InvalidArgument) (ask for binary_data).
/// Binary outputs follow the JSON in output order; jsonLength is set when there is at least
/// one binary output (even of 0 bytes).
EncodedBody encodeInferResponse(std::string_view modelName, std::string_view modelVersion,
                                std::string_view id, const Tensors& outputs,
                                const std::vector<RequestedOutput>& requested, bool defaultBinary);

/// Checks requested output names against the model's outputs before inference:
/// Error(InvalidArgument) "unknown output 'z'; the model's outputs: 'y'", or "output 'y' is
/// requested twice; the model's outputs: 'y'".
void checkRequestedOutputs(const std::vector<RequestedOutput>& requested,
                           const std::vector<TensorInfo>& outputs);

// Client side (the bench's remote target and the tests):

/// Encodes a request; binaryInputs: tensors in the binary extension (else JSON "data", flat).
/// outputs: requested outputs (empty: none listed, so all come back), binaryOutputs sets
/// parameters.binary_data_output. timeoutMicroseconds > 0 sets parameters.timeout. Every input
/// needs a name: Error(InvalidArgument) otherwise; a dtype v2 cannot name: Error(Unsupported).
EncodedBody encodeInferRequest(std::string_view id, const Tensors& inputs, bool binaryInputs,
                               const std::vector<RequestedOutput>& outputs, bool binaryOutputs,
                               int64_t timeoutMicroseconds = 0);

/// A decoded inference response.
struct InferResponse {
  std::string modelName, modelVersion, id;
  Tensors outputs;  ///< named, in response order; binary ones are views of the body when aligned
};

/// Decodes a response body (JSON or binary; jsonLength as for decodeInferRequest). A body
/// {"error": "..."} throws Error(EngineFailure) with that message. Malformed: Error(InvalidArgument).
InferResponse decodeInferResponse(std::shared_ptr<const std::string> body,
                                  std::optional<std::size_t> jsonLength);

/// {"error": message} as a JSON string (escaped properly; bytes that are not UTF-8 become
/// U+FFFD, so this never throws on a message).
std::string errorBody(std::string_view message);
/// The message of an {"error": "..."} body, or nullopt when the body is not one.
std::optional<std::string> errorMessage(std::string_view body);

/// A tensor's shape as model metadata shows it: -1 for a dynamic dim, [-1] when the rank is
/// unknown.
std::vector<int64_t> metadataShape(const TensorInfo& info);

/// Model metadata: {"name","versions":[...],"platform","inputs":[{"name","datatype","shape"}],
/// "outputs":[...]}. shape uses -1 for dynamic dims (TensorInfo::shape -1); a tensor whose rank
/// is unknown gets shape [-1]. datatype is metadataDatatype(dtype): the v2 name, else the
/// polyinfer name in upper case — "UNDEFINED" for a dtype the model does not declare (a
/// TorchScript input), "COMPLEX64" etc. for types v2 has no name for — so metadata is always
/// served; inference with such a tensor is refused later with a message naming the type.
nlohmann::json modelMetadata(std::string_view name, const std::vector<std::string>& versions,
                             std::string_view platform, const std::vector<TensorInfo>& inputs,
                             const std::vector<TensorInfo>& outputs);

}  // namespace polyinfer::kserve
