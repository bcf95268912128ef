// TfModel: one TF_Session per model, shared by every predictor
// (TF_SessionRun is thread-safe).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "polyinfer/plugin.hpp"
#include "tf_api.hpp"
#include "tf_saved_model.hpp"
#include "tf_settings.hpp"

namespace polyinfer::tf {

class TfModel final : public plugin::EngineModel, public std::enable_shared_from_this<TfModel> {
 public:
  /// Reads the SavedModel's signature, creates the session and finds every
  /// signature tensor in the graph. Throws Error.
  explicit TfModel(const plugin::LoadRequest& request);

  std::vector<TensorInfo> inputs() const override { return infos(signature_.inputs); }
  std::vector<TensorInfo> outputs() const override { return infos(signature_.outputs); }
  std::vector<ConfigEntry> config() const override { return config_; }
  std::unique_ptr<plugin::EnginePredictor> createPredictor() const override;

  TF_Session* session() const noexcept { return session_.get(); }
  const Signature& signature() const noexcept { return signature_; }
  /// The graph tensors of the signature's inputs and outputs, in its order.
  const std::vector<TF_Output>& inputPorts() const noexcept { return inputPorts_; }
  const std::vector<TF_Output>& outputPorts() const noexcept { return outputPorts_; }
  /// "model '<dir>'", for messages.
  const std::string& label() const noexcept { return label_; }

 private:
  static std::vector<TensorInfo> infos(const std::vector<SignatureTensor>& tensors);
  TF_Output findPort(const SignatureTensor& tensor, const std::string& kind) const;

  std::string label_;
  Signature signature_;
  std::vector<ConfigEntry> config_;
  struct GraphDeleter {
    void operator()(TF_Graph* graph) const noexcept;
  };
  struct SessionDeleter {
    void operator()(TF_Session* session) const noexcept;
  };
  // Destroyed in reverse order: the session is closed before its graph goes.
  std::unique_ptr<TF_Graph, GraphDeleter> graph_;
  std::unique_ptr<TF_Session, SessionDeleter> session_;
  std::vector<TF_Output> inputPorts_;
  std::vector<TF_Output> outputPorts_;
};

}  // namespace polyinfer::tf
