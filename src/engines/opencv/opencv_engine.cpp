#include "opencv_engine.hpp"

#include <onnx/onnx_pb.h>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "polyinfer/error.hpp"

namespace polyinfer::opencv_engine {

namespace {

namespace fs = std::filesystem;
using plugin::EngineDescription;
using plugin::LoadRequest;

constexpr const char* kThreadsEnv = "POLYINFER_INTRA_OP_THREADS";
constexpr const char* kOpenCvLogEnv = "OPENCV_LOG_LEVEL";

// ------------------------------------------------------------------ messages

/// OpenCV's exception text, one line: the "OpenCV(4.6.0) file:line: error:
/// (-2:Unspecified error) in function '...'" prefixes and "> " continuation
/// markers removed, whitespace collapsed.
std::string summarize(const std::string& what) {
  static const std::regex prefix(
      R"(OpenCV\([0-9.]+\) [^ ]+:[0-9]+: error: \([^)]*\) (in function '[^']*'|in function [^\n]*)?\s*)");
  static const std::regex suffix(R"( in function '[^']*')");
  std::string text = std::regex_replace(std::regex_replace(what, prefix, ""), suffix, "");
  std::string line;
  bool space = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '>' && (i == 0 || text[i - 1] == '\n' || text[i - 1] == '>' || text[i - 1] == ' ') &&
        (space || line.empty()))
      continue;
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !line.empty()) line += ' ';
    space = false;
    line += c;
  }
  return line.size() > 600 ? line.substr(0, 600) + "..." : line;
}

/// A node OpenCV's importer rejected: its name and op type, from the
/// importer's message. "Node [Clip@ai.onnx]:(onnx_node!name) parse error" or
/// "Can't create layer "name" of type "If"".
struct RejectedNode {
  std::string name;
  std::string opType;
};

std::optional<RejectedNode> rejectedNode(const std::string& message) {
  static const std::regex parseError(R"(Node \[([^\]@]+)(@[^\]]*)?\]:\((onnx_node!)?([^)]*)\))");
  static const std::regex createError(R"(Can't create layer \"([^\"]*)\" of type \"([^\"]*)\")");
  std::smatch m;
  if (std::regex_search(message, m, parseError)) return RejectedNode{m[4].str(), m[1].str()};
  if (std::regex_search(message, m, createError)) return RejectedNode{m[1].str(), m[2].str()};
  return std::nullopt;
}

[[noreturn]] void throwLoadError(const cv::Exception& e, const std::string& path) {
  const std::string detail = summarize(e.what());
  if (const std::optional<RejectedNode> node = rejectedNode(e.what()))
    throw Error(ErrorCode::Unsupported,
                std::string(kEngineName) + ": OpenCV " + CV_VERSION + " cannot import node '" +
                    node->name + "' (op " + node->opType + ") of '" + path + "': " + detail +
                    "; run this model with another engine, e.g. -e onnxruntime");
  throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": OpenCV " + CV_VERSION +
                                              " cannot load '" + path + "': " + detail);
}

// ------------------------------------------------------------------ formats

struct Format {
  std::string framework;      // "onnx", "caffe", "darknet", "tensorflow"
  std::string weightsExt;     // the model path's extension
  std::vector<std::string> configExts;  // companion text file, tried in order
  bool configRequired = false;
};

const std::vector<Format>& formats() {
  static const std::vector<Format> all = {
      {"onnx", ".onnx", {}, false},
      {"caffe", ".caffemodel", {".prototxt"}, true},
      {"darknet", ".weights", {".cfg"}, true},
      {"tensorflow", ".pb", {".pbtxt"}, false},
  };
  return all;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::vector<uchar> readBytes(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(ErrorCode::NotFound,
                std::string(kEngineName) + ": cannot open " + what + " '" + path.string() + "'");
  return std::vector<uchar>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// ------------------------------------------------------------------ options

struct NamedValue {
  const char* name;
  int value;
};

constexpr NamedValue kBackends[] = {
    {"default", cv::dnn::DNN_BACKEND_DEFAULT},
    {"halide", cv::dnn::DNN_BACKEND_HALIDE},
    {"inference_engine", cv::dnn::DNN_BACKEND_INFERENCE_ENGINE},
    {"opencv", cv::dnn::DNN_BACKEND_OPENCV},
    {"vkcom", cv::dnn::DNN_BACKEND_VKCOM},
    {"cuda", cv::dnn::DNN_BACKEND_CUDA},
    {"webnn", cv::dnn::DNN_BACKEND_WEBNN},
    {"timvx", cv::dnn::DNN_BACKEND_TIMVX},
};

constexpr NamedValue kTargets[] = {
    {"cpu", cv::dnn::DNN_TARGET_CPU},
    {"opencl", cv::dnn::DNN_TARGET_OPENCL},
    {"opencl_fp16", cv::dnn::DNN_TARGET_OPENCL_FP16},
    {"myriad", cv::dnn::DNN_TARGET_MYRIAD},
    {"vulkan", cv::dnn::DNN_TARGET_VULKAN},
    {"fpga", cv::dnn::DNN_TARGET_FPGA},
    {"cuda", cv::dnn::DNN_TARGET_CUDA},
    {"cuda_fp16", cv::dnn::DNN_TARGET_CUDA_FP16},
    {"hddl", cv::dnn::DNN_TARGET_HDDL},
    {"npu", cv::dnn::DNN_TARGET_NPU},
};

template <std::size_t N>
std::string nameOf(const NamedValue (&table)[N], int value) {
  for (const NamedValue& entry : table)
    if (entry.value == value) return entry.name;
  return std::to_string(value);
}

template <std::size_t N>
std::vector<std::string> namesOf(const NamedValue (&table)[N]) {
  std::vector<std::string> names;
  for (const NamedValue& entry : table) names.emplace_back(entry.name);
  return names;
}

template <std::size_t N>
int valueOf(const NamedValue (&table)[N], const std::string& name) {
  for (const NamedValue& entry : table)
    if (name == entry.name) return entry.value;
  return -1;
}

std::string availableBackendsText() {
  std::string text;
  for (const auto& [backend, target] : cv::dnn::getAvailableBackends())
    text += (text.empty() ? "" : ", ") + nameOf(kBackends, backend) + "/" + nameOf(kTargets, target);
  return text.empty() ? std::string("none") : text;
}

struct BackendChoice {
  int backend = cv::dnn::DNN_BACKEND_OPENCV;
  int target = cv::dnn::DNN_TARGET_CPU;
  ConfigEntry backendEntry;
  ConfigEntry targetEntry;
};

/// backend/target options: CPU only. Anything else is Unsupported, naming the
/// pairs this OpenCV build offers.
BackendChoice resolveBackend(const Options& options) {
  BackendChoice choice;
  const std::optional<std::string> backend = options.getChoice("backend", namesOf(kBackends));
  const std::optional<std::string> target = options.getChoice("target", namesOf(kTargets));
  if (backend) choice.backend = valueOf(kBackends, *backend);
  if (target) choice.target = valueOf(kTargets, *target);
  const bool available = [&] {
    if (choice.backend == cv::dnn::DNN_BACKEND_DEFAULT) return true;  // OpenCV picks opencv/cpu
    for (const auto& [b, t] : cv::dnn::getAvailableBackends())
      if (b == choice.backend && t == choice.target) return true;
    return false;
  }();
  if (choice.target != cv::dnn::DNN_TARGET_CPU || !available)
    throw Error(ErrorCode::Unsupported,
                std::string(kEngineName) + ": backend/target " + nameOf(kBackends, choice.backend) +
                    "/" + nameOf(kTargets, choice.target) +
                    " is not supported; polyinfer runs OpenCV on the CPU target only, and this "
                    "OpenCV build offers: " + availableBackendsText());
  choice.backendEntry = {"backend", nameOf(kBackends, choice.backend),
                         backend ? ValueSource::Explicit : ValueSource::Default,
                         "cv::dnn::Net::setPreferableBackend"};
  choice.targetEntry = {"target", nameOf(kTargets, choice.target),
                        target ? ValueSource::Explicit : ValueSource::Default,
                        "cv::dnn::Net::setPreferableTarget"};
  return choice;
}

ConfigEntry resolvePrecision(const Options& options) {
  return plugin::resolveStoredPrecision(
      options, kEngineName,
      "OpenCV's CPU target computes in fp32 only (its fp16 targets need OpenCL or CUDA; this "
      "build offers: " + availableBackendsText() + ")");
}

// ------------------------------------------------------------------ process-wide state

// cv::setNumThreads and the log level belong to the process: the first model
// loaded applies them.
struct ProcessState {
  std::mutex mutex;
  bool threadsApplied = false;
  int threads = 0;
  bool logApplied = false;
  ConfigEntry logEntry;
};

ProcessState& processState() {
  static ProcessState state;
  return state;
}

ConfigEntry applyThreads(plugin::ResolvedInt requested) {
  ProcessState& state = processState();
  std::lock_guard<std::mutex> lock(state.mutex);
  ConfigEntry entry = std::move(requested.entry);
  if (!state.threadsApplied) {
    cv::setNumThreads(static_cast<int>(requested.value));
    state.threadsApplied = true;
    state.threads = cv::getNumThreads();
    entry.detail += std::string(entry.detail.empty() ? "" : "; ") +
                    "cv::setNumThreads, process-wide (parallel framework " +
                    "shared by every Net)";
    if (state.threads != requested.value) {
      entry.value = std::to_string(state.threads);
      entry.source = ValueSource::Engine;
      entry.detail += "; requested " + std::to_string(requested.value) + ", OpenCV uses " +
                      std::to_string(state.threads);
    }
    return entry;
  }
  if (state.threads == requested.value) {
    entry.detail += std::string(entry.detail.empty() ? "" : "; ") +
                    "process-wide, same value already in effect";
    return entry;
  }
  return {entry.key, std::to_string(state.threads), ValueSource::Engine,
          "requested " + std::to_string(requested.value) + " (" +
              std::string(toString(entry.source)) + "); process already uses " +
              std::to_string(state.threads) + " (cv::setNumThreads is process-wide, set once)"};
}

/// OpenCV prints its importer's diagnostics to stderr; polyinfer carries them
/// in its errors instead, unless the user set OPENCV_LOG_LEVEL.
ConfigEntry applyLogLevel() {
  ProcessState& state = processState();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (!state.logApplied) {
    state.logApplied = true;
    if (const std::optional<std::string> env = environmentValue(kOpenCvLogEnv)) {
      state.logEntry = {"logLevel", *env, ValueSource::Environment,
                        std::string("from ") + kOpenCvLogEnv};
    } else {
      cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
      state.logEntry = {"logLevel", "SILENT", ValueSource::Default,
                        std::string("process-wide; OpenCV's messages are carried in polyinfer's "
                                    "errors; env ") +
                            kOpenCvLogEnv + " overrides"};
    }
  }
  return state.logEntry;
}

// ------------------------------------------------------------------ ONNX graph

/// Inputs and outputs declared by an ONNX graph. Throws InvalidArgument for a
/// file that is not a valid ONNX model.
struct GraphSignature {
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
};

TensorInfo infoOf(const onnx::ValueInfoProto& value) {
  TensorInfo info;
  info.name = value.name();
  if (!value.type().has_tensor_type()) return info;
  const onnx::TypeProto_Tensor& tensor = value.type().tensor_type();
  const int elem = tensor.elem_type();
  if (elem > 0 && elem <= static_cast<int>(DataType::Float8E8M0))
    info.dtype = static_cast<DataType>(elem);
  if (!tensor.has_shape()) return info;
  info.rankKnown = true;
  for (const onnx::TensorShapeProto_Dimension& dim : tensor.shape().dim()) {
    info.shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    info.dimNames.push_back(dim.has_dim_param() ? dim.dim_param() : std::string());
  }
  return info;
}

GraphSignature readOnnxSignature(const std::vector<uchar>& bytes, const std::string& path) {
  onnx::ModelProto model;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !model.has_graph())
    throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": '" + path +
                                                "' is not a valid ONNX model (truncated or corrupt)");
  GraphSignature signature;
  std::vector<std::string> initializers;
  for (const onnx::TensorProto& init : model.graph().initializer()) initializers.push_back(init.name());
  for (const onnx::ValueInfoProto& input : model.graph().input())
    if (std::find(initializers.begin(), initializers.end(), input.name()) == initializers.end())
      signature.inputs.push_back(infoOf(input));
  for (const onnx::ValueInfoProto& output : model.graph().output()) {
    TensorInfo info = infoOf(output);
    // The element type is OpenCV's choice (float32 for its layers), known
    // after a run; only a float32 declaration is certain to match.
    if (info.dtype != DataType::Float32) info.dtype = DataType::Undefined;
    signature.outputs.push_back(std::move(info));
  }
  return signature;
}

// ------------------------------------------------------------------ tensors

/// A tensor the model declares nothing about but its name.
TensorInfo namedInfo(std::string name) {
  TensorInfo info;
  info.name = std::move(name);
  return info;
}

int cvTypeOf(DataType type) {
  switch (type) {
    case DataType::Float32: return CV_32F;
    case DataType::UInt8: return CV_8U;
    default: return -1;
  }
}

DataType dataTypeOf(int cvDepth) {
  switch (cvDepth) {
    case CV_8U: return DataType::UInt8;
    case CV_8S: return DataType::Int8;
    case CV_16U: return DataType::UInt16;
    case CV_16S: return DataType::Int16;
    case CV_32S: return DataType::Int32;
    case CV_32F: return DataType::Float32;
    case CV_64F: return DataType::Float64;
    case CV_16F: return DataType::Float16;
    default: return DataType::Undefined;
  }
}

// ------------------------------------------------------------------ model and predictor

class OpenCvModel;

class OpenCvPredictor final : public plugin::EnginePredictor {
 public:
  OpenCvPredictor(std::shared_ptr<const OpenCvModel> model, cv::dnn::Net net)
      : model_(std::move(model)), net_(std::move(net)) {}
  Tensors predict(const Tensors& inputs) override;

 private:
  std::shared_ptr<const OpenCvModel> model_;
  cv::dnn::Net net_;
};

class OpenCvModel final : public plugin::EngineModel,
                          public std::enable_shared_from_this<OpenCvModel> {
 public:
  struct Source {
    std::string framework;
    std::vector<uchar> model;
    std::vector<uchar> config;
    std::string path;
  };

  OpenCvModel(Source source, BackendChoice backend, std::vector<ConfigEntry> config)
      : source_(std::move(source)), backend_(backend), config_(std::move(config)) {
    if (source_.framework == "onnx") {
      // The graph's own declarations first: a corrupt file or an input type
      // OpenCV cannot take fails here, with a clearer message than OpenCV's.
      GraphSignature signature = readOnnxSignature(source_.model, source_.path);
      inputs_ = std::move(signature.inputs);
      outputs_ = std::move(signature.outputs);
      for (const TensorInfo& input : inputs_)
        if (input.dtype != DataType::Undefined && cvTypeOf(input.dtype) < 0)
          throw Error(ErrorCode::Unsupported,
                      std::string(kEngineName) + ": input '" + input.name + "' of '" + source_.path +
                          "' is " + std::string(toString(input.dtype)) +
                          "; OpenCV's DNN module takes float32 and uint8 inputs only; run this "
                          "model with another engine, e.g. -e onnxruntime");
      spare_ = buildNet();
      // OpenCV names a layer after its node's first output; an output it
      // cannot find by name is addressed through the unconnected layers.
      const std::vector<std::string> unconnected = spare_.getUnconnectedOutLayersNames();
      bool allFound = true;
      for (const TensorInfo& output : outputs_) allFound &= spare_.getLayerId(output.name) >= 0;
      if (!allFound) outputs_ = unnamedOutputs(unconnected);
      inputByName_ = true;
    } else {
      spare_ = buildNet();
      inputs_ = {namedInfo("input")};
      outputs_ = unnamedOutputs(spare_.getUnconnectedOutLayersNames());
    }
    for (const TensorInfo& output : outputs_) outputNames_.push_back(output.name);
    config_.push_back({"format", source_.framework, ValueSource::Default,
                       "model bytes kept once in memory; each predictor builds its own Net"});
  }

  std::vector<TensorInfo> inputs() const override { return inputs_; }
  std::vector<TensorInfo> outputs() const override { return outputs_; }
  std::vector<ConfigEntry> config() const override { return config_; }

  std::unique_ptr<plugin::EnginePredictor> createPredictor() const override {
    cv::dnn::Net net;
    {
      std::lock_guard<std::mutex> lock(spareMutex_);
      if (!spare_.empty()) std::swap(net, spare_);
    }
    if (net.empty()) net = buildNet();
    return std::make_unique<OpenCvPredictor>(shared_from_this(), std::move(net));
  }

  const std::vector<TensorInfo>& inputInfos() const noexcept { return inputs_; }
  const std::vector<TensorInfo>& outputInfos() const noexcept { return outputs_; }
  const std::vector<std::string>& outputNames() const noexcept { return outputNames_; }
  bool inputByName() const noexcept { return inputByName_; }
  const std::string& path() const noexcept { return source_.path; }

 private:
  static std::vector<TensorInfo> unnamedOutputs(const std::vector<std::string>& names) {
    std::vector<TensorInfo> outputs;
    for (const std::string& name : names) outputs.push_back(namedInfo(name));
    return outputs;
  }

  cv::dnn::Net buildNet() const {
    cv::dnn::Net net;
    try {
      const auto* model = reinterpret_cast<const char*>(source_.model.data());
      const auto* config = reinterpret_cast<const char*>(source_.config.data());
      const std::size_t modelSize = source_.model.size(), configSize = source_.config.size();
      if (source_.framework == "onnx")
        net = cv::dnn::readNetFromONNX(model, modelSize);
      else if (source_.framework == "caffe")
        net = cv::dnn::readNetFromCaffe(config, configSize, model, modelSize);
      else if (source_.framework == "darknet")
        net = cv::dnn::readNetFromDarknet(config, configSize, model, modelSize);
      else
        net = cv::dnn::readNetFromTensorflow(model, modelSize, config, configSize);
    } catch (const cv::Exception& e) {
      throwLoadError(e, source_.path);
    }
    if (net.empty())
      throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": OpenCV read no network from '" +
                                                  source_.path + "'");
    net.setPreferableBackend(backend_.backend);
    net.setPreferableTarget(backend_.target);
    return net;
  }

  Source source_;
  BackendChoice backend_;
  std::vector<ConfigEntry> config_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  std::vector<std::string> outputNames_;
  bool inputByName_ = false;
  mutable std::mutex spareMutex_;
  mutable cv::dnn::Net spare_;  // built at load to check the model; the first predictor takes it
};

Tensors OpenCvPredictor::predict(const Tensors& inputs) {
  const std::vector<TensorInfo>& infos = model_->inputInfos();
  try {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& tensor = inputs[i].tensor;
      const int type = cvTypeOf(tensor.dtype());
      if (type < 0)
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
      const cv::Mat blob(static_cast<int>(sizes.size()), sizes.data(), type,
                         const_cast<void*>(tensor.rawData()));
      net_.setInput(blob, model_->inputByName() ? infos[i].name : std::string());
    }
    std::vector<cv::Mat> results;
    net_.forward(results, model_->outputNames());

    const std::vector<TensorInfo>& outputInfos = model_->outputInfos();
    Tensors outputs;
    for (std::size_t i = 0; i < results.size() && i < outputInfos.size(); ++i) {
      const cv::Mat& mat = results[i];
      const DataType dtype = dataTypeOf(mat.depth());
      if (dtype == DataType::Undefined || mat.channels() != 1)
        throw Error(ErrorCode::Unsupported, std::string(kEngineName) + ": output '" +
                                                outputInfos[i].name + "' has OpenCV type " +
                                                cv::typeToString(mat.type()) +
                                                ", which polyinfer cannot represent");
      Shape shape;
      for (int d = 0; d < mat.size.dims(); ++d) shape.push_back(mat.size[d]);
      // OpenCV's Mats have at least 2 dims: give the declared rank back when
      // the element count agrees.
      const TensorInfo& declared = outputInfos[i];
      if (declared.rankKnown && declared.shape.size() != shape.size() &&
          std::all_of(declared.shape.begin(), declared.shape.end(), [](int64_t d) { return d >= 0; }) &&
          elementCount(declared.shape) == static_cast<int64_t>(mat.total()))
        shape = declared.shape;
      // The Net reuses its output buffers on the next forward: copy out.
      Tensor tensor = Tensor::allocate(dtype, shape);
      const cv::Mat dense = mat.isContinuous() ? mat : mat.clone();
      std::memcpy(tensor.mutableRawData(), dense.data, tensor.byteSize());
      outputs.add(outputInfos[i].name, std::move(tensor));
    }
    return outputs;
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::EngineFailure, std::string(kEngineName) + ": running '" + model_->path() +
                                              "' failed: " + summarize(e.what()));
  }
}

// ------------------------------------------------------------------ engine

class OpenCvEngine final : public plugin::Engine {
 public:
  OpenCvEngine() {
    description_.name = kEngineName;
    description_.version = CV_VERSION;
    description_.formats = {"ONNX (.onnx)", "Caffe (.caffemodel + .prototxt)",
                            "Darknet (.weights + .cfg)", "TensorFlow frozen graph (.pb [+ .pbtxt])"};
    description_.devices = {"cpu"};
    description_.reentrant = false;
    description_.options = {
        {"num_threads",
         {"intraOpNumThreads"},
         "threads of OpenCV's parallel framework (cv::setNumThreads; process-wide, set by the "
         "first model loaded): integer >= 1; default: env POLYINFER_INTRA_OP_THREADS, else usable "
         "cores / workers"},
        {"backend", {}, "cv::dnn backend: opencv (default) or default; others are refused"},
        {"target", {}, "cv::dnn target: cpu (default); others are refused"},
        {"precision", {}, "fp32 (default; the only one OpenCV's CPU target has)"},
        {"configFile",
         {},
         "text part of a two-file model (.prototxt, .cfg, .pbtxt); default: the file next to the "
         "model with the same stem"},
    };
  }

  EngineDescription describe() const override { return description_; }

  std::shared_ptr<plugin::EngineModel> load(const LoadRequest& request) override {
    try {
      return loadModel(request);
    } catch (const Error&) {
      throw;
    } catch (const cv::Exception& e) {
      throwLoadError(e, request.modelPath.string());
    } catch (const std::bad_alloc&) {
      throw Error(ErrorCode::ResourceExhausted, std::string(kEngineName) + ": out of memory loading '" +
                                                    request.modelPath.string() + "'");
    } catch (const std::exception& e) {
      throw Error(ErrorCode::EngineFailure, std::string(kEngineName) + ": loading '" +
                                                request.modelPath.string() + "' failed: " + e.what());
    }
  }

 private:
  std::shared_ptr<plugin::EngineModel> loadModel(const LoadRequest& request) {
    const fs::path& path = request.modelPath;
    const Options& options = request.options;
    if (request.device != "cpu")
      throw Error(ErrorCode::Unsupported, std::string(kEngineName) + ": device '" + request.device +
                                              "' is not supported; this engine runs on: cpu");

    // 1. Options, all checked before anything is applied.
    const ThreadDefaults defaults = request.budget.defaultsFor(request.workers);
    plugin::ResolvedInt threads = plugin::resolveInt(options, "num_threads", {kThreadsEnv},
                                                     defaults.intraOpThreads, defaults.reason, 1, 4096);
    BackendChoice backend = resolveBackend(options);
    ConfigEntry precision = resolvePrecision(options);

    // 2. The format and the bytes.
    const std::string ext = lower(path.extension().string());
    const Format* format = nullptr;
    for (const Format& f : formats())
      if (f.weightsExt == ext) format = &f;
    if (ext == ".prototxt" || ext == ".cfg" || ext == ".pbtxt")
      throw Error(ErrorCode::InvalidArgument,
                  std::string(kEngineName) + ": '" + path.string() +
                      "' is the text part of a model; name the weights file (.caffemodel, "
                      ".weights, .pb) and pass this one as option configFile");
    if (format == nullptr) {
      // No telling extension: read as ONNX (the graph check below refuses
      // anything else with a clear message).
      format = &formats().front();
    }
    OpenCvModel::Source source;
    source.framework = format->framework;
    source.path = path.string();
    source.model = readBytes(path, "model file");

    std::optional<fs::path> configPath;
    if (const std::optional<std::string> given = options.getString("configFile")) {
      configPath = fs::path(*given);
      if (!fs::is_regular_file(*configPath))
        throw Error(ErrorCode::NotFound, std::string(kEngineName) + ": configFile '" + *given +
                                             "' not found");
    } else {
      for (const std::string& configExt : format->configExts) {
        fs::path candidate = path;
        candidate.replace_extension(configExt);
        if (fs::is_regular_file(candidate)) {
          configPath = candidate;
          break;
        }
      }
    }
    if (!configPath && format->configRequired)
      throw Error(ErrorCode::NotFound,
                  std::string(kEngineName) + ": a " + format->framework + " model needs its " +
                      format->configExts.front() + " file: expected '" +
                      fs::path(path).replace_extension(format->configExts.front()).string() +
                      "' next to the model, or option configFile");
    if (configPath) source.config = readBytes(*configPath, "config file");

    std::vector<ConfigEntry> config;
    config.push_back(applyLogLevel());
    config.push_back(applyThreads(std::move(threads)));
    config.push_back(std::move(backend.backendEntry));
    config.push_back(std::move(backend.targetEntry));
    config.push_back(std::move(precision));
    if (configPath)
      config.push_back({"configFile", configPath->string(),
                        options.has("configFile") ? ValueSource::Explicit : ValueSource::Default,
                        "found next to the model"});
    return std::make_shared<OpenCvModel>(std::move(source), backend, std::move(config));
  }

  EngineDescription description_;
};

}  // namespace

std::unique_ptr<plugin::Engine> createEngine() { return std::make_unique<OpenCvEngine>(); }

}  // namespace polyinfer::opencv_engine
