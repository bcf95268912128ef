// libFuzzer target: the -s shape syntax (cli::parseShapeSpecs, DJL's
// "(1,3,224,224)f,(1)i"). Only polyinfer::Error may come out, and what is
// accepted must stay within kMaxShapeSpecBytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "input_spec.hpp"
#include "polyinfer/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace polyinfer;
  try {
    const auto specs = cli::parseShapeSpecs(std::string_view(reinterpret_cast<const char*>(data), size));
    uint64_t total = 0;
    for (const cli::ShapeSpec& spec : specs) {
      const int64_t count = elementCount(spec.shape);  // throws on overflow: a finding here
      const uint64_t item = spec.dtype == DataType::Undefined ? 8 : (bitsPerElement(spec.dtype) + 7) / 8;
      if (count != 0 && item > cli::kMaxShapeSpecBytes / static_cast<uint64_t>(count)) std::abort();
      total += static_cast<uint64_t>(count) * item;
      if (total > cli::kMaxShapeSpecBytes) std::abort();
    }
  } catch (const Error&) {
  }
  return 0;
}
