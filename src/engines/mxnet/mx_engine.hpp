// MxEngine: MXNet models (symbol JSON + params) through MXNet's C predict API.
#pragma once

#include <memory>

#include "polyinfer/plugin.hpp"

namespace polyinfer::mx {

class MxEngine final : public plugin::Engine {
 public:
  /// Opens the MXNet library (mx_api.hpp); throws Error when it cannot.
  MxEngine();

  EngineDescription describe() const override;
  std::shared_ptr<plugin::EngineModel> load(const plugin::LoadRequest& request) override;
};

}  // namespace polyinfer::mx
