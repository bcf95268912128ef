// libFuzzer target: the server's request decoder (kserve::decodeInferRequest),
// fed what a client may send. Byte 0 picks whether an
// Inference-Header-Content-Length is given (odd) and bytes 1..4 are its value
// (little-endian); the rest is the body. Every malformed body must end in a
// polyinfer::Error; anything else escaping (another exception, a crash, a
// sanitizer report, an allocation over libFuzzer's -malloc_limit_mb) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "codec.hpp"
#include "polyinfer/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  std::optional<std::size_t> jsonLength;
  if (data[0] & 1) {
    uint32_t length = 0;
    std::memcpy(&length, data + 1, sizeof length);
    jsonLength = length;
  }
  auto body = std::make_shared<const std::string>(reinterpret_cast<const char*>(data + 5), size - 5);
  try {
    polyinfer::kserve::InferRequest request = polyinfer::kserve::decodeInferRequest(body, jsonLength);
    // What the server does next with a decoded request: answer it.
    polyinfer::kserve::encodeInferResponse("m", "1", request.id, request.inputs, {},
                                           request.binaryDataOutput.value_or(false));
  } catch (const polyinfer::Error&) {
  }
  return 0;
}
