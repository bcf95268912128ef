// libFuzzer target: a model's config.json in the serving repository
// (serve::parseModelConfig). Only polyinfer::Error may come out.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model_repository.hpp"
#include "polyinfer/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    polyinfer::serve::parseModelConfig(
        std::string_view(reinterpret_cast<const char*>(data), size), "model");
  } catch (const polyinfer::Error&) {
  }
  return 0;
}
