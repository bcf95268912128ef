// TfPredictor: per-thread state for running a shared TfModel.
#pragma once

#include <memory>
#include <vector>

#include "polyinfer/plugin.hpp"
#include "tf_common.hpp"
#include "tf_model.hpp"

namespace polyinfer::tf {

/// Hands the caller's input buffers to TensorFlow without a copy (TF_NewTensor
/// over them; TensorFlow copies one itself only when it is not aligned as its
/// kernels need) and hands TensorFlow's output buffers out as Tensor views
/// that keep their TF_Tensor alive. String tensors are copied both ways
/// (TensorFlow's TF_TString elements).
class TfPredictor final : public plugin::EnginePredictor {
 public:
  explicit TfPredictor(std::shared_ptr<const TfModel> model);
  ~TfPredictor() override;

  Tensors predict(const Tensors& inputs) override;

 private:
  TF_Tensor* makeInput(std::size_t index, const Tensor& tensor);
  Tensors collectOutputs(const Tensors& inputs);
  void release() noexcept;

  std::shared_ptr<const TfModel> model_;
  Status status_;
  std::vector<TF_Tensor*> inputValues_;   // this call's, deleted after the run
  std::vector<TF_Tensor*> outputValues_;  // TensorFlow's, handed out or deleted
};

}  // namespace polyinfer::tf
