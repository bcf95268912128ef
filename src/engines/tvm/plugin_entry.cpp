// The plugin's one exported symbol.
#include "polyinfer/plugin_kit.hpp"
#include "tvm_common.hpp"
#include "tvm_engine.hpp"

namespace {

std::unique_ptr<polyinfer::plugin::Engine> createTvmEngine() {
  return std::make_unique<polyinfer::tvm_engine::TvmEngine>();
}

}  // namespace

POLYINFER_DEFINE_PLUGIN(polyinfer::tvm_engine::kEngineName, createTvmEngine)
