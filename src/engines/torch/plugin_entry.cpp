// The plugin's one exported symbol. No LibTorch headers here.
#include <cstdio>
#include <exception>

#include "polyinfer/plugin.hpp"
#include "torch_engine.hpp"

namespace {

void writeError(char* error, uint32_t size, const char* message) noexcept {
  if (error != nullptr && size > 0) std::snprintf(error, size, "%s", message);
}

polyinfer::plugin::Engine* createTorchEngine(char* error, uint32_t errorSize) noexcept {
  try {
    return polyinfer::torch_engine::createEngine().release();
  } catch (const std::exception& e) {
    writeError(error, errorSize, e.what());
  } catch (...) {
    writeError(error, errorSize, "torch: unknown exception while creating the engine");
  }
  return nullptr;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const polyinfer_plugin_entry*
polyinfer_plugin_entry_point() {
  static const polyinfer_plugin_entry entry{POLYINFER_PLUGIN_ABI_VERSION, "torch",
                                            &createTorchEngine};
  return &entry;
}
