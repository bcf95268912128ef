// TvmModel: a compiled TVM module (a Relax VM executable in a shared
// library), loaded once from the bytes the core read and shared by the
// model's predictors; each predictor runs its own virtual machine (a
// TvmInstance) over it: a Relax VM keeps per-call state (registers, its
// memory pool) and runs one call at a time.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <tvm/ffi/extra/module.h>
#include <tvm/ffi/function.h>

#include "polyinfer/plugin.hpp"

namespace polyinfer::tvm_engine {

/// One virtual machine over the model's executable, and its entry function.
struct TvmInstance final : plugin::NativeInstance {
  TvmInstance(tvm::ffi::Module vm, tvm::ffi::Function function)
      : vm(std::move(vm)), function(std::move(function)) {}
  tvm::ffi::Module vm;
  tvm::ffi::Function function;
};

class TvmModel final : public plugin::EngineModel,
                       public std::enable_shared_from_this<TvmModel> {
 public:
  /// Checks and loads the module, makes its first virtual machine and reads
  /// the signature: the entry function's parameter names and the shapes and
  /// dtypes the module checks its inputs against; the signature companion
  /// ({stem}.json, tools/gen_tvm_models.py writes one) adds the outputs and
  /// must agree with the module. Throws Error.
  explicit TvmModel(const plugin::LoadRequest& request);

  std::vector<TensorInfo> inputs() const override { return inputs_; }
  std::vector<TensorInfo> outputs() const override { return outputs_; }
  std::vector<ConfigEntry> config() const override { return config_; }

  std::unique_ptr<plugin::NativeInstance> createInstance() const override;
  std::unique_ptr<plugin::EnginePredictor> createPredictor(
      std::unique_ptr<plugin::NativeInstance> instance) const override;

  const std::string& label() const noexcept { return label_; }
  const std::vector<TensorInfo>& outputInfos() const noexcept { return outputs_; }

 private:
  std::unique_ptr<TvmInstance> makeInstance() const;

  std::string label_;     ///< "model '<path>'"
  std::string function_;  ///< the entry function's name
  std::optional<tvm::ffi::Module> executable_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  std::vector<ConfigEntry> config_;
  mutable std::mutex instanceMutex_;
  mutable std::unique_ptr<TvmInstance> first_;  ///< made at load, handed to the first predictor
};

}  // namespace polyinfer::tvm_engine
