// KServe v2 over gRPC (inference.GRPCInferenceService, inference.proto beside this file):
// ModelInferRequest in, ModelInferResponse and ModelMetadataResponse out, with the same
// checks and the same messages as the HTTP codec (codec.hpp), so a bad request reads the same
// whichever protocol carried it.
//
// Tensors in a request come either all in raw_input_contents (one entry per input, laid out as
// the HTTP binary extension lays them out) or each in its typed `contents` field
// (fp32_contents for FP32, int_contents for INT8/INT16/INT32, ...; FP16 and BF16 have no typed
// field and must be raw). Responses always carry raw_output_contents, as Triton's do, which
// every v2 gRPC client reads.
//
// Every function here is pure and may be called from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec.hpp"
#include "inference.pb.h"

namespace polyinfer::kserve {

/// Decodes a ModelInferRequest (model_name and model_version are the caller's to route by).
/// Raw input contents become views of the request's bytes kept alive by `holder` when they are
/// aligned for their type and holder is set, else copies; typed contents are copied. Sizes and
/// element counts are checked against the shapes before anything is allocated. Malformed:
/// Error(InvalidArgument) naming the input, expected and actual, e.g.
///  "input 'x': fp32_contents has 5 elements, shape [2,3] needs 6",
///  "input 'x': datatype FP32 takes its elements in fp32_contents, got int64_contents",
///  "raw_input_contents has 1 entries, the request has 2 inputs";
/// a parameter of an extension polyinfer does not implement (shared memory, classification,
/// sequences): Error(Unsupported).
InferRequest decodeInferRequest(const inference::ModelInferRequest& request,
                                const std::shared_ptr<const void>& holder);

/// Fills `response` with the requested outputs (all when `requested` is empty; order as for
/// the HTTP encodeInferResponse) as raw_output_contents. The binary flags of `requested` do
/// not matter here. An unknown or repeated output: Error(InvalidArgument); a dtype v2 cannot
/// name: Error(Unsupported).
void encodeInferResponse(std::string_view modelName, std::string_view modelVersion,
                         std::string_view id, const Tensors& outputs,
                         const std::vector<RequestedOutput>& requested,
                         inference::ModelInferResponse& response);

/// The gRPC form of modelMetadata (codec.hpp): same datatypes and shapes.
void fillModelMetadata(std::string_view name, const std::vector<std::string>& versions,
                       std::string_view platform, const std::vector<TensorInfo>& inputs,
                       const std::vector<TensorInfo>& outputs,
                       inference::ModelMetadataResponse& response);

// Client side (tests, a gRPC bench target):

/// A request with every input in raw_input_contents (or, rawInputs false, in its typed
/// contents field; FP16/BF16 are raw regardless). timeoutMicroseconds > 0 sets the "timeout"
/// parameter. Inputs need names: Error(InvalidArgument).
void encodeInferRequest(std::string_view modelName, std::string_view modelVersion,
                        std::string_view id, const Tensors& inputs, bool rawInputs,
                        const std::vector<RequestedOutput>& outputs, int64_t timeoutMicroseconds,
                        inference::ModelInferRequest& request);

/// The outputs of a response (raw or typed contents), copied out of the message.
InferResponse decodeInferResponse(const inference::ModelInferResponse& response);

}  // namespace polyinfer::kserve
