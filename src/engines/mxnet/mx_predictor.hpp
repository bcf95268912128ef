// MxInstance: one MXNet executor (a c_predict_api PredictorHandle) bound for
// one set of input shapes; MxPredictor runs it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mx_api.hpp"
#include "mx_model.hpp"
#include "polyinfer/plugin.hpp"

namespace polyinfer::mx {

/// An executor and the input shapes and dtypes it is bound for. Used by one
/// thread at a time.
struct MxInstance final : plugin::NativeInstance {
  MxInstance() = default;
  ~MxInstance() override;
  MxInstance(const MxInstance&) = delete;
  MxInstance& operator=(const MxInstance&) = delete;

  /// Binds the executor for `shapes` and `dtypes` (one per input of
  /// `inputs`): a reshape of the current one when only shapes change (the
  /// parameters stay), else a new one from the model's bytes. Throws Error.
  void bind(const ModelSource& source, const std::vector<TensorInfo>& inputs,
            const std::vector<Shape>& shapes, const std::vector<DataType>& dtypes);

  PredictorHandle handle = nullptr;
  std::vector<Shape> shapes;
  std::vector<DataType> dtypes;
};

class MxPredictor final : public plugin::EnginePredictor {
 public:
  MxPredictor(std::shared_ptr<const MxModel> model, std::unique_ptr<MxInstance> instance);

  Tensors predict(const Tensors& inputs) override;

 private:
  Tensors collectOutputs();

  std::shared_ptr<const MxModel> model_;
  std::unique_ptr<MxInstance> instance_;
  std::vector<Shape> shapes_;        ///< this call's, reused
  std::vector<DataType> dtypes_;
  std::vector<int> outputCodes_;     ///< MXPredGetOutputType's array
  std::uint64_t lastThread_ = 0;     ///< the thread of the last call
};

}  // namespace polyinfer::mx
