// OpenCvModel: a model's bytes and signature, shared by its predictors; each
// predictor runs its own cv::dnn::Net (an OpenCvInstance), built from the
// bytes by createInstance().
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "opencv_options.hpp"
#include "polyinfer/plugin.hpp"

namespace polyinfer::opencv_engine {

/// What a model's Nets are built from.
struct ModelSource {
  std::string framework;  ///< "onnx", "caffe", "darknet" or "tensorflow"
  std::string path;       ///< the main file, for messages
  /// The main file's bytes: LoadRequest::bytes->main, shared (not copied).
  std::shared_ptr<const std::vector<std::uint8_t>> model;
  /// The text part (.prototxt, .cfg, .pbtxt): the companion the core read, or
  /// option configFile's file; null when the model has none.
  std::shared_ptr<const std::vector<std::uint8_t>> config;
};

struct OpenCvInstance;

class OpenCvModel final : public plugin::EngineModel,
                          public std::enable_shared_from_this<OpenCvModel> {
 public:
  /// Reads the signature: for ONNX from the graph (a corrupt file or an input
  /// type OpenCV cannot take fails here), and the output names from a Net
  /// built for that, which becomes the first instance. Throws Error, or
  /// cv::Exception from OpenCV (the engine translates).
  OpenCvModel(ModelSource source, const BackendChoice& backend, std::vector<ConfigEntry> config);
  ~OpenCvModel() override;

  std::vector<TensorInfo> inputs() const override { return inputs_; }
  std::vector<TensorInfo> outputs() const override { return outputs_; }
  std::vector<ConfigEntry> config() const override { return config_; }

  /// A Net from the model's bytes, set to the chosen backend and target: the
  /// first call hands over the one built at load, later calls build one.
  /// Thread-safe. Throws Error (OpenCV's import errors as at load).
  std::unique_ptr<plugin::NativeInstance> createInstance() const override;
  /// A predictor that owns `instance`, which must come from createInstance().
  std::unique_ptr<plugin::EnginePredictor> createPredictor(
      std::unique_ptr<plugin::NativeInstance> instance) const override;

  const std::vector<TensorInfo>& inputInfos() const noexcept { return inputs_; }
  const std::vector<TensorInfo>& outputInfos() const noexcept { return outputs_; }
  /// The layers Net::forward is asked for, in output order.
  const std::vector<std::string>& outputNames() const noexcept { return outputNames_; }
  /// True for ONNX: inputs are set by name; other formats have one unnamed input.
  bool inputByName() const noexcept { return inputByName_; }
  const std::string& path() const noexcept { return source_.path; }

 private:
  ModelSource source_;
  int backend_ = 0;
  int target_ = 0;
  std::vector<ConfigEntry> config_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  std::vector<std::string> outputNames_;
  bool inputByName_ = false;
  mutable std::mutex loadInstanceMutex_;
  mutable std::unique_ptr<OpenCvInstance> loadInstance_;  ///< built at load, until the core takes it
};

}  // namespace polyinfer::opencv_engine
