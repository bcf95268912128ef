// OpenCvModel, its native instance (a cv::dnn::Net) and its predictor.
#include "opencv_model.hpp"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "opencv_common.hpp"
#include "opencv_onnx_signature.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::opencv_engine {

/// One predictor's Net: not safe to run from two threads at once.
struct OpenCvInstance final : plugin::NativeInstance {
  explicit OpenCvInstance(cv::dnn::Net built) : net(std::move(built)) {}
  cv::dnn::Net net;
};

namespace {

/// A Net from the source's bytes (OpenCV copies what it keeps), set to
/// `backend` and `target`. Throws Error only.
cv::dnn::Net buildNet(const ModelSource& source, int backend, int target) {
  cv::dnn::Net net;
  try {
    const auto* model = reinterpret_cast<const char*>(source.model->data());
    const std::size_t modelSize = source.model->size();
    const char* config = source.config ? reinterpret_cast<const char*>(source.config->data()) : nullptr;
    const std::size_t configSize = source.config ? source.config->size() : 0;
    if (source.framework == "onnx")
      net = cv::dnn::readNetFromONNX(model, modelSize);
    else if (source.framework == "caffe")
      net = cv::dnn::readNetFromCaffe(config, configSize, model, modelSize);
    else if (source.framework == "darknet")
      net = cv::dnn::readNetFromDarknet(config, configSize, model, modelSize);
    else
      net = cv::dnn::readNetFromTensorflow(model, modelSize, config, configSize);
    if (!net.empty()) {
      net.setPreferableBackend(backend);
      net.setPreferableTarget(target);
    }
  } catch (...) {
    rethrowLoadError(source.path);
  }
  if (net.empty())
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": OpenCV read no network from '" + source.path + "'");
  return net;
}

std::vector<TensorInfo> unnamedOutputs(const std::vector<std::string>& names) {
  std::vector<TensorInfo> outputs;
  for (const std::string& name : names) outputs.push_back(namedInfo(name));
  return outputs;
}

class OpenCvPredictor final : public plugin::EnginePredictor {
 public:
  OpenCvPredictor(std::shared_ptr<const OpenCvModel> model, std::unique_ptr<OpenCvInstance> instance)
      : model_(std::move(model)), instance_(std::move(instance)) {}

  Tensors predict(const Tensors& inputs) override {
    try {
      setInputs(inputs);
      std::vector<cv::Mat> results;
      instance_->net.forward(results, model_->outputNames());
      return collectOutputs(results);
    } catch (...) {
      plugin::rethrowAsError(kEngineName, "running '" + model_->path() + "' failed",
                             ErrorCode::EngineFailure, translateCvException);
    }
  }

 private:
  void setInputs(const Tensors& inputs) {
    const std::vector<TensorInfo>& infos = model_->inputInfos();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& tensor = inputs[i].tensor;
      const std::optional<int> type = inputDepths().toEngine(tensor.dtype());
      if (!type)
        throw Error(ErrorCode::Unsupported,
                    std::string(kEngineName) + ": input '" + infos[i].name + "' is " +
                        std::string(toString(tensor.dtype())) +
                        "; OpenCV's DNN module takes float32 and uint8 inputs only");
      std::vector<int> sizes;
      for (int64_t d : tensor.shape()) {
        if (d > std::numeric_limits<int>::max())
          throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": input '" +
                                                      infos[i].name + "' dimension " +
                                                      std::to_string(d) + " exceeds OpenCV's int range");
        sizes.push_back(static_cast<int>(d));
      }
      if (sizes.empty()) sizes.push_back(1);
      // A header over the caller's memory: no copy here (OpenCV copies the
      // blob into its input layer during forward).
      const cv::Mat blob(static_cast<int>(sizes.size()), sizes.data(), *type,
                         const_cast<void*>(tensor.rawData()));
      instance_->net.setInput(blob, model_->inputByName() ? infos[i].name : std::string());
    }
  }

  Tensors collectOutputs(const std::vector<cv::Mat>& results) const {
    const std::vector<TensorInfo>& infos = model_->outputInfos();
    Tensors outputs;
    for (std::size_t i = 0; i < results.size() && i < infos.size(); ++i) {
      const cv::Mat& mat = results[i];
      const DataType dtype = outputDepths().fromEngine(mat.depth());
      if (dtype == DataType::Undefined || mat.channels() != 1)
        throw Error(ErrorCode::Unsupported, std::string(kEngineName) + ": output '" + infos[i].name +
                                                "' has OpenCV type " + cv::typeToString(mat.type()) +
                                                ", which polyinfer cannot represent");
      Shape shape;
      for (int d = 0; d < mat.size.dims(); ++d) shape.push_back(mat.size[d]);
      // OpenCV's Mats have at least 2 dims: give the declared rank back when
      // the element count agrees.
      const TensorInfo& declared = infos[i];
      if (declared.rankKnown && declared.shape.size() != shape.size() &&
          std::all_of(declared.shape.begin(), declared.shape.end(), [](int64_t d) { return d >= 0; }) &&
          elementCount(declared.shape) == static_cast<int64_t>(mat.total()))
        shape = declared.shape;
      // The Net reuses its output buffers on the next forward: copy out.
      Tensor tensor = Tensor::allocate(dtype, shape);
      const cv::Mat dense = mat.isContinuous() ? mat : mat.clone();
      std::memcpy(tensor.mutableRawData(), dense.data, tensor.byteSize());
      outputs.add(declared.name, std::move(tensor));
    }
    return outputs;
  }

  std::shared_ptr<const OpenCvModel> model_;
  std::unique_ptr<OpenCvInstance> instance_;
};

}  // namespace

OpenCvModel::OpenCvModel(ModelSource source, const BackendChoice& backend,
                         std::vector<ConfigEntry> config)
    : source_(std::move(source)),
      backend_(backend.backend),
      target_(backend.target),
      config_(std::move(config)) {
  if (source_.framework == "onnx") {
    // The graph's own declarations first: a corrupt file or an input type
    // OpenCV cannot take fails here, with a clearer message than OpenCV's.
    GraphSignature signature = readOnnxSignature(*source_.model, source_.path);
    inputs_ = std::move(signature.inputs);
    outputs_ = std::move(signature.outputs);
    for (const TensorInfo& input : inputs_)
      if (input.dtype != DataType::Undefined && !inputDepths().toEngine(input.dtype))
        throw Error(ErrorCode::Unsupported,
                    std::string(kEngineName) + ": input '" + input.name + "' of '" + source_.path +
                        "' is " + std::string(toString(input.dtype)) +
                        "; OpenCV's DNN module takes float32 and uint8 inputs only; run this "
                        "model with another engine, e.g. -e onnxruntime");
    // OpenCV names a layer after its node's first output; an output it
    // cannot find by name is addressed through the unconnected layers.
    loadInstance_ = std::make_unique<OpenCvInstance>(buildNet(source_, backend_, target_));
    const cv::dnn::Net& net = loadInstance_->net;
    const bool allFound = std::all_of(outputs_.begin(), outputs_.end(), [&](const TensorInfo& output) {
      return net.getLayerId(output.name) >= 0;
    });
    if (!allFound) outputs_ = unnamedOutputs(net.getUnconnectedOutLayersNames());
    inputByName_ = true;
  } else {
    loadInstance_ = std::make_unique<OpenCvInstance>(buildNet(source_, backend_, target_));
    inputs_ = {namedInfo("input")};
    outputs_ = unnamedOutputs(loadInstance_->net.getUnconnectedOutLayersNames());
  }
  for (const TensorInfo& output : outputs_) outputNames_.push_back(output.name);
}

OpenCvModel::~OpenCvModel() = default;

std::unique_ptr<plugin::NativeInstance> OpenCvModel::createInstance() const {
  {
    // The Net built to read the signature is the first instance: building
    // another would add a second Net construction to every load.
    std::lock_guard<std::mutex> lock(loadInstanceMutex_);
    if (loadInstance_) return std::move(loadInstance_);
  }
  return std::make_unique<OpenCvInstance>(buildNet(source_, backend_, target_));
}

std::unique_ptr<plugin::EnginePredictor> OpenCvModel::createPredictor(
    std::unique_ptr<plugin::NativeInstance> instance) const {
  auto* ours = dynamic_cast<OpenCvInstance*>(instance.get());
  if (ours == nullptr)
    throw Error(ErrorCode::Internal, std::string(kEngineName) +
                                         ": createPredictor was given an instance that is not "
                                         "one of this engine's (from createInstance)");
  instance.release();
  return std::make_unique<OpenCvPredictor>(shared_from_this(), std::unique_ptr<OpenCvInstance>(ours));
}

}  // namespace polyinfer::opencv_engine
