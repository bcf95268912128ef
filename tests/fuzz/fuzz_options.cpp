// libFuzzer target: engine options (Options::parse, then the typed getters on
// every key: getInt, whose integer parsing is parseIntChecked, getBool,
// getChoice). Input: 16 bytes of int64 min and max for getInt, then the
// option text. Only polyinfer::Error may come out; an accepted integer lies
// in [min, max].
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "polyinfer/error.hpp"
#include "polyinfer/options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace polyinfer;
  if (size < 16) return 0;
  int64_t min = 0;
  int64_t max = 0;
  std::memcpy(&min, data, 8);
  std::memcpy(&max, data + 8, 8);
  const std::string_view text(reinterpret_cast<const char*>(data + 16), size - 16);
  Options options;
  try {
    options = Options::parse(text);
  } catch (const Error&) {
    return 0;
  }
  for (const auto& [key, value] : options.entries()) {
    try {
      const auto v = options.getInt(key, min, max);
      if (!v || *v < min || *v > max) std::abort();
    } catch (const Error&) {
    }
    try {
      options.getBool(key);
    } catch (const Error&) {
    }
    try {
      options.getChoice(key, {"sequential", "parallel", value.substr(0, 3)});
    } catch (const Error&) {
    }
  }
  return 0;
}
