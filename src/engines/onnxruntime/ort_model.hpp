// OrtModel: one Ort::Session shared by every predictor of a model.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ort_session_config.hpp"
#include "polyinfer/plugin.hpp"

namespace polyinfer::ort {

class OrtModel final : public plugin::EngineModel,
                       public std::enable_shared_from_this<OrtModel> {
 public:
  /// Creates the session and reads the input and output descriptions.
  /// Throws Ort::Exception or Error (the engine translates).
  OrtModel(Ort::Env& env, const std::filesystem::path& modelPath, SessionConfig config);

  std::vector<TensorInfo> inputs() const override { return inputs_; }
  std::vector<TensorInfo> outputs() const override { return outputs_; }
  std::vector<ValueInfo> inputValues() const override { return inputValues_; }
  std::vector<ValueInfo> outputValues() const override { return outputValues_; }
  std::vector<ConfigEntry> config() const override { return config_; }
  std::unique_ptr<plugin::EnginePredictor> createPredictor() const override;

  /// The session; Run may be called from many threads at once.
  Ort::Session& session() const noexcept { return session_; }
  const std::vector<TensorInfo>& inputInfos() const noexcept { return inputs_; }
  const std::vector<TensorInfo>& outputInfos() const noexcept { return outputs_; }
  const std::vector<ValueInfo>& inputValueInfos() const noexcept { return inputValues_; }
  const std::vector<ValueInfo>& outputValueInfos() const noexcept { return outputValues_; }
  /// Names as C strings in model order, for Session::Run (owned by the model).
  const std::vector<const char*>& inputNames() const noexcept { return inputNamePtrs_; }
  const std::vector<const char*>& outputNames() const noexcept { return outputNamePtrs_; }
  /// "onnxruntime: model '<path>'", for messages.
  const std::string& label() const noexcept { return label_; }

 private:
  mutable Ort::Session session_{nullptr};
  std::string label_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  std::vector<ValueInfo> inputValues_;
  std::vector<ValueInfo> outputValues_;
  std::vector<ConfigEntry> config_;
  std::vector<const char*> inputNamePtrs_;   // point into inputs_[i].name
  std::vector<const char*> outputNamePtrs_;  // point into outputs_[i].name
};

}  // namespace polyinfer::ort
