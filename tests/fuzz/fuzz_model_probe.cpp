// libFuzzer target: the model-file content probe (detail::resolveModel on a
// file of unknown suffix, which falls back to the formats' magic bytes). The
// input's first line is a comma-separated list of magic hex strings for a
// format (as a plugin could declare them: nothing is assumed valid), the rest
// is the model file's contents; a second format with valid magic "46414b45"
// ("FAKE") is always there. Only polyinfer::Error may come out.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "format_resolver.hpp"
#include "fuzz_scratch.hpp"
#include "polyinfer/error.hpp"

namespace {

namespace fs = std::filesystem;

fs::path scratch;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Each input is written to a file there.
  scratch = polyinfer::fuzz::makeScratchDirectory("model_probe");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace polyinfer;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view magicLine = input.substr(0, newline);
  const std::string_view contents =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  ModelFormat fuzzed;
  fuzzed.name = "Fuzzed";
  std::size_t start = 0;
  while (start <= magicLine.size()) {
    const std::size_t comma = magicLine.find(',', start);
    const std::size_t end = comma == std::string_view::npos ? magicLine.size() : comma;
    fuzzed.magic.emplace_back(magicLine.substr(start, end - start));
    start = end + 1;
  }
  ModelFormat fake;
  fake.name = "Fake";
  fake.magic = {"46414b45"};
  fake.priority = 1;
  const std::vector<detail::EngineFormats> engines{{"fuzzed", {fuzzed}}, {"fake", {fake}}};

  const fs::path file = scratch / "model.bin";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  }
  try {
    const ModelResolution resolution = detail::resolveModel(file, "", engines);
    if (resolution.engine != "fuzzed" && resolution.engine != "fake") std::abort();
  } catch (const Error&) {
  }
  return 0;
}
