// The plugin's one exported symbol.
#include <onnxruntime_cxx_api.h>

#include <cstdio>
#include <exception>
#include <string>

#include "ort_common.hpp"
#include "ort_engine.hpp"
#include "polyinfer/plugin.hpp"

namespace {

void writeError(char* error, uint32_t size, const std::string& message) noexcept {
  if (error == nullptr || size == 0) return;
  std::snprintf(error, size, "%s", message.c_str());
}

polyinfer::plugin::Engine* createEngine(char* error, uint32_t errorSize) noexcept {
  try {
    const OrtApiBase* base = OrtGetApiBase();
    const OrtApi* api = base != nullptr ? base->GetApi(ORT_API_VERSION) : nullptr;
    if (api == nullptr) {
      writeError(error, errorSize,
                 std::string("onnxruntime: the loaded libonnxruntime (version ") +
                     (base != nullptr ? base->GetVersionString() : "unknown") +
                     ") does not provide ORT API version " + std::to_string(ORT_API_VERSION) +
                     ", which this plugin was built with; use ONNX Runtime 1." +
                     std::to_string(ORT_API_VERSION) + " or newer");
      return nullptr;
    }
    Ort::InitApi(api);
    return new polyinfer::ort::OrtEngine();
  } catch (const std::exception& e) {
    writeError(error, errorSize, std::string("onnxruntime: cannot initialise: ") + e.what());
  } catch (...) {
    writeError(error, errorSize, "onnxruntime: cannot initialise: unknown exception");
  }
  return nullptr;
}

const polyinfer_plugin_entry kEntry = {
    POLYINFER_PLUGIN_ABI_VERSION,
    polyinfer::ort::kEngineName,
    &createEngine,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const polyinfer_plugin_entry*
polyinfer_plugin_entry_point() {
  return &kEntry;
}
