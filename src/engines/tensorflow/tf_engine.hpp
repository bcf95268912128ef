// TfEngine: TensorFlow SavedModels through TensorFlow's C API.
#pragma once

#include <memory>

#include "polyinfer/plugin.hpp"

namespace polyinfer::tf {

class TfEngine final : public plugin::Engine {
 public:
  /// Opens the TensorFlow library (tf_api.hpp); throws Error when it cannot.
  TfEngine();

  EngineDescription describe() const override;
  std::shared_ptr<plugin::EngineModel> load(const plugin::LoadRequest& request) override;
};

}  // namespace polyinfer::tf
