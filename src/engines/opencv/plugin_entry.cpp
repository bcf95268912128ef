// The plugin's one exported symbol.
#include <cstdio>
#include <exception>
#include <string>

#include "opencv_engine.hpp"
#include "polyinfer/plugin.hpp"

namespace {

polyinfer::plugin::Engine* createEngine(char* error, uint32_t errorSize) noexcept {
  try {
    return polyinfer::opencv_engine::createEngine().release();
  } catch (const std::exception& e) {
    if (error != nullptr && errorSize > 0)
      std::snprintf(error, errorSize, "opencv: cannot initialise: %s", e.what());
  } catch (...) {
    if (error != nullptr && errorSize > 0)
      std::snprintf(error, errorSize, "opencv: cannot initialise: unknown exception");
  }
  return nullptr;
}

const polyinfer_plugin_entry kEntry = {
    POLYINFER_PLUGIN_ABI_VERSION,
    polyinfer::opencv_engine::kEngineName,
    &createEngine,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const polyinfer_plugin_entry*
polyinfer_plugin_entry_point() {
  return &kEntry;
}
