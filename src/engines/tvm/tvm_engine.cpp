#include "tvm_engine.hpp"

#include "polyinfer/plugin_kit.hpp"
#include "tvm_common.hpp"
#include "tvm_model.hpp"
#include "tvm_settings.hpp"

#ifndef POLYINFER_TVM_VERSION
#error "POLYINFER_TVM_VERSION (the apache-tvm version built against) must be defined"
#endif

namespace polyinfer::tvm_engine {

TvmEngine::TvmEngine() { runtime(); }

EngineDescription TvmEngine::describe() const {
  EngineDescription d;
  d.name = kEngineName;
  d.version = POLYINFER_TVM_VERSION;
  d.devices = {"cpu"};
  // A Relax virtual machine keeps per-call state: one per predictor.
  d.reentrant = false;
  d.options = optionSpecs();
  return d;
}

std::shared_ptr<plugin::EngineModel> TvmEngine::load(const plugin::LoadRequest& request) {
  try {
    return std::make_shared<TvmModel>(request);
  } catch (...) {
    plugin::rethrowAsError(kEngineName, "cannot load model '" + request.location.path.string() + "'",
                           ErrorCode::EngineFailure);
  }
}

}  // namespace polyinfer::tvm_engine
