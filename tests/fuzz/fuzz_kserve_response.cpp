// libFuzzer target: the client's response decoder (kserve::decodeInferResponse,
// used by `polyinfer bench --url` on whatever a server sends back). Input
// layout: fuzz_body.hpp. Only polyinfer::Error may come out.
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
    polyinfer::kserve::decodeInferResponse(body, jsonLength);
  } catch (const polyinfer::Error&) {
  }
  polyinfer::kserve::errorMessage(*body);
  return 0;
}
