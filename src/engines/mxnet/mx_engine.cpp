#include "mx_engine.hpp"

#include "mx_api.hpp"
#include "mx_common.hpp"
#include "mx_model.hpp"
#include "mx_settings.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::mx {

MxEngine::MxEngine() { api(); }

EngineDescription MxEngine::describe() const {
  EngineDescription d;
  d.name = kEngineName;
  d.version = api().versionText();
  d.devices = {"cpu"};
  // An MXNet executor (and a cached op) runs one call at a time; MXNet's
  // thread-safe cached op is experimental and limited to one model per
  // process. Every predictor binds its own executor.
  d.reentrant = false;
  d.options = optionSpecs();
  return d;
}

std::shared_ptr<plugin::EngineModel> MxEngine::load(const plugin::LoadRequest& request) {
  try {
    return std::make_shared<MxModel>(request);
  } catch (...) {
    plugin::rethrowAsError(kEngineName, "cannot load model '" + request.location.path.string() + "'",
                           ErrorCode::EngineFailure);
  }
}

}  // namespace polyinfer::mx
