// The input layout of the KServe v2 fuzz targets: byte 0 odd means an
// Inference-Header-Content-Length is given, bytes 1..4 are its value
// (little-endian), and the rest is the body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

namespace polyinfer::fuzz {

struct FuzzBody {
  std::optional<std::size_t> jsonLength;
  std::shared_ptr<const std::string> body;
};

/// nullopt for inputs shorter than the 5-byte prefix.
inline std::optional<FuzzBody> splitFuzzInput(const uint8_t* data, size_t size) {
  if (size < 5) return std::nullopt;
  FuzzBody out;
  if (data[0] & 1) {
    uint32_t length = 0;
    std::memcpy(&length, data + 1, sizeof length);
    out.jsonLength = length;
  }
  out.body = std::make_shared<const std::string>(reinterpret_cast<const char*>(data + 5), size - 5);
  return out;
}

}  // namespace polyinfer::fuzz
