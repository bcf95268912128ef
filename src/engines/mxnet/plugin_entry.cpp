// The plugin's one exported symbol.
#include "mx_common.hpp"
#include "mx_engine.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace {

std::unique_ptr<polyinfer::plugin::Engine> createMxEngine() {
  return std::make_unique<polyinfer::mx::MxEngine>();
}

}  // namespace

POLYINFER_DEFINE_PLUGIN(polyinfer::mx::kEngineName, createMxEngine)
