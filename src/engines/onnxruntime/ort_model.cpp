#include "ort_model.hpp"

#include "ort_common.hpp"
#include "ort_predictor.hpp"
#include "polyinfer/error.hpp"

namespace polyinfer::ort {

namespace {

std::string_view onnxTypeName(ONNXType type) {
  switch (type) {
    case ONNX_TYPE_TENSOR: return "tensor";
    case ONNX_TYPE_SEQUENCE: return "sequence";
    case ONNX_TYPE_MAP: return "map";
    case ONNX_TYPE_OPAQUE: return "opaque";
    case ONNX_TYPE_SPARSETENSOR: return "sparse tensor";
    case ONNX_TYPE_OPTIONAL: return "optional";
    default: return "unknown";
  }
}

TensorInfo describeValue(const std::string& kind, std::string name, const Ort::TypeInfo& type) {
  const std::string what = kind + " '" + name + "'";
  if (type.GetONNXType() != ONNX_TYPE_TENSOR)
    throw Error(ErrorCode::Unsupported, what + " is a " +
                                            std::string(onnxTypeName(type.GetONNXType())) +
                                            "; polyinfer's onnxruntime engine handles tensors only");
  const Ort::ConstTensorTypeAndShapeInfo tensor = type.GetTensorTypeAndShapeInfo();
  TensorInfo info;
  info.name = std::move(name);
  info.dtype = fromOrt(tensor.GetElementType(), what);
  info.shape = tensor.GetShape();
  info.rankKnown = true;
  const std::vector<const char*> symbols = tensor.GetSymbolicDimensions();
  info.dimNames.assign(info.shape.size(), std::string());
  for (std::size_t d = 0; d < info.shape.size(); ++d) {
    // ORT reports -1 for a symbolic or unknown dim; normalise anything negative.
    if (info.shape[d] < 0) {
      info.shape[d] = -1;
      if (d < symbols.size() && symbols[d] != nullptr) info.dimNames[d] = symbols[d];
    }
  }
  return info;
}

}  // namespace

OrtModel::OrtModel(Ort::Env& env, const std::filesystem::path& modelPath, SessionConfig config)
    : label_("onnxruntime: model '" + modelPath.string() + "'"), config_(config.entries()) {
  session_ = Ort::Session(env, config.loadPath().c_str(), config.sessionOptions());
  config.commitOptimizedModel();

  Ort::AllocatorWithDefaultOptions allocator;
  const std::size_t inputCount = session_.GetInputCount();
  const std::size_t outputCount = session_.GetOutputCount();
  inputs_.reserve(inputCount);
  outputs_.reserve(outputCount);
  for (std::size_t i = 0; i < inputCount; ++i) {
    std::string name = session_.GetInputNameAllocated(i, allocator).get();
    inputs_.push_back(describeValue("input", std::move(name), session_.GetInputTypeInfo(i)));
  }
  for (std::size_t i = 0; i < outputCount; ++i) {
    std::string name = session_.GetOutputNameAllocated(i, allocator).get();
    outputs_.push_back(describeValue("output", std::move(name), session_.GetOutputTypeInfo(i)));
  }
  // inputs_/outputs_ do not change any more, so pointers into them stay valid.
  for (const TensorInfo& info : inputs_) inputNamePtrs_.push_back(info.name.c_str());
  for (const TensorInfo& info : outputs_) outputNamePtrs_.push_back(info.name.c_str());
}

std::unique_ptr<plugin::EnginePredictor> OrtModel::createPredictor() const {
  try {
    return std::make_unique<OrtPredictor>(shared_from_this());
  } catch (...) {
    rethrowAsError(Phase::Other, label_ + ": cannot create a predictor");
  }
}

}  // namespace polyinfer::ort
