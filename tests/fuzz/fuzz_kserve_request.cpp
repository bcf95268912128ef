// libFuzzer target: the server's request decoder (kserve::decodeInferRequest),
// fed what a client may send. Byte 0 picks whether an
// Inference-Header-Content-Length is given (odd) and bytes 1..4 are its value
// (little-endian); the rest is the body. Every malformed body must end in a
// polyinfer::Error; anything else escaping (another exception, a crash, a
// sanitizer report, an allocation over libFuzzer's -malloc_limit_mb) is a bug.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "codec.hpp"
#include "fuzz_body.hpp"
#include "polyinfer/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::optional<polyinfer::fuzz::FuzzBody> input = polyinfer::fuzz::splitFuzzInput(data, size);
  if (!input) return 0;
  const auto& [jsonLength, body] = *input;
  try {
    polyinfer::kserve::InferRequest request = polyinfer::kserve::decodeInferRequest(body, jsonLength);
    // What the server does next with a decoded request: answer it.
    polyinfer::kserve::encodeInferResponse("m", "1", request.id, request.inputs, {},
                                           request.binaryDataOutput.value_or(false));
  } catch (const polyinfer::Error&) {
  }
  return 0;
}
