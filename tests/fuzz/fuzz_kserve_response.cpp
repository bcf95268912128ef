// libFuzzer target: the client's response decoder (kserve::decodeInferResponse,
// used by `polyinfer bench --url` on whatever a server sends back). Input
// layout as in fuzz_kserve_request.cpp: byte 0 odd = a JSON length in bytes
// 1..4 follows, then the body. Only polyinfer::Error may come out.
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
    polyinfer::kserve::decodeInferResponse(body, jsonLength);
  } catch (const polyinfer::Error&) {
  }
  polyinfer::kserve::errorMessage(*body);
  return 0;
}
