// TorchPredictor: per-thread state for running a shared TorchModel: inputs
// bound without a copy, forward's result flattened into named outputs
// (torch_engine.hpp's rule) handed out as views where nothing else shares them.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "polyinfer/plugin.hpp"
#include "torch_model.hpp"

namespace polyinfer::torch_engine {

class TorchPredictor final : public plugin::EnginePredictor {
 public:
  explicit TorchPredictor(std::shared_ptr<const TorchModel> model);

  Tensors predict(const Tensors& inputs) override;
  /// LibTorch's (legacy) autograd profiler around the runs: every operator
  /// the dispatcher sees, nested (aten::conv2d > aten::convolution > ...),
  /// as a Chrome trace; summarizeTrace turns nesting into self time.
  std::optional<OperatorProfile> profile(const Tensors& inputs, int iterations) override;

 private:
  struct FlatOutput {
    std::string name;
    at::Tensor tensor;  ///< a tensor output, or
    Tensor ready;       ///< an output already converted (scalars, strings)
  };

  Tensors run(const Tensors& inputs);
  void adoptThread(std::thread::id caller);
  c10::IValue toTorch(const NamedTensor& input, std::size_t index);
  c10::IValue toScalar(const NamedTensor& input, ArgKind kind) const;
  std::string inputName(const NamedTensor& input, std::size_t index) const;
  Tensors toOutputs(c10::IValue result);
  void flatten(const c10::IValue& value, const std::string& name, bool top);
  Tensor toPolyinfer(const std::string& name, at::Tensor t);

  std::shared_ptr<const TorchModel> model_;
  std::vector<c10::IValue> stack_;      ///< self, inputs...; then forward's result
  std::vector<const void*> inputData_;  ///< the callers' buffers, to detect aliasing outputs
  std::vector<FlatOutput> flat_;
  std::thread::id thread_;              ///< the last calling thread (default: none yet)
};

}  // namespace polyinfer::torch_engine
