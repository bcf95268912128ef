// A plugin that claims another plugin ABI version: the loader must refuse it
// before calling anything else in it.
#include "polyinfer/plugin.hpp"

namespace {

polyinfer::plugin::Engine* createEngine(char*, uint32_t) {
  // Never reached: the registry checks abi_version first.
  __builtin_trap();
}

const polyinfer_plugin_entry kEntry{POLYINFER_PLUGIN_ABI_VERSION + 41, "wrongabi", &createEngine};

}  // namespace

extern "C" __attribute__((visibility("default"))) const polyinfer_plugin_entry*
polyinfer_plugin_entry_point() {
  return &kEntry;
}
