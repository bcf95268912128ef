#include "tf_engine.hpp"

#include "polyinfer/plugin_kit.hpp"
#include "tf_api.hpp"
#include "tf_common.hpp"
#include "tf_model.hpp"
#include "tf_settings.hpp"

namespace polyinfer::tf {

TfEngine::TfEngine() { api(); }

EngineDescription TfEngine::describe() const {
  EngineDescription d;
  d.name = kEngineName;
  d.version = api().TF_Version();
  d.devices = {"cpu"};
  d.reentrant = true;
  d.options = optionSpecs();
  return d;
}

std::shared_ptr<plugin::EngineModel> TfEngine::load(const plugin::LoadRequest& request) {
  try {
    return std::make_shared<TfModel>(request);
  } catch (...) {
    plugin::rethrowAsError(kEngineName, "cannot load model '" + request.location.path.string() + "'",
                           ErrorCode::EngineFailure);
  }
}

}  // namespace polyinfer::tf
