// The plugin's one exported symbol.
#include "polyinfer/plugin_kit.hpp"
#include "tf_common.hpp"
#include "tf_engine.hpp"

namespace {

std::unique_ptr<polyinfer::plugin::Engine> createTfEngine() {
  return std::make_unique<polyinfer::tf::TfEngine>();
}

}  // namespace

POLYINFER_DEFINE_PLUGIN(polyinfer::tf::kEngineName, createTfEngine)
