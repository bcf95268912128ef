#include "ort_model.hpp"

#include "ort_common.hpp"
#include "ort_predictor.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"

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

ValueType tensorType(const Ort::ConstTensorTypeAndShapeInfo& tensor, const std::string& what) {
  ValueType type;
  type.dtype = fromOrt(tensor.GetElementType(), what);
  type.shape = tensor.GetShape();
  type.rankKnown = true;
  const std::vector<const char*> symbols = tensor.GetSymbolicDimensions();
  type.dimNames.assign(type.shape.size(), std::string());
  for (std::size_t d = 0; d < type.shape.size(); ++d) {
    // ORT reports -1 for a symbolic or unknown dim; normalise anything negative.
    if (type.shape[d] < 0) {
      type.shape[d] = -1;
      if (d < symbols.size() && symbols[d] != nullptr) type.dimNames[d] = symbols[d];
    }
  }
  return type;
}

/// The declared type of an input or output, recursively: tensors,
/// sequences, maps (of scalar values) and optionals. `what` names it.
ValueType valueType(Ort::ConstTypeInfo type, const std::string& what) {
  switch (type.GetONNXType()) {
    case ONNX_TYPE_TENSOR: return tensorType(type.GetTensorTypeAndShapeInfo(), what);
    case ONNX_TYPE_SEQUENCE: {
      const Ort::TypeInfo element = type.GetSequenceTypeInfo().GetSequenceElementType();
      return ValueType::sequence(valueType(element.GetConst(), what));
    }
    case ONNX_TYPE_OPTIONAL: {
      const Ort::TypeInfo element = type.GetOptionalTypeInfo().GetOptionalElementType();
      return ValueType::optional(valueType(element.GetConst(), what));
    }
    case ONNX_TYPE_MAP: {
      const Ort::ConstMapTypeInfo map = type.GetMapTypeInfo();
      const DataType key = fromOrt(map.GetMapKeyType(), what + "'s keys");
      const Ort::TypeInfo value = map.GetMapValueType();
      if (value.GetONNXType() != ONNX_TYPE_TENSOR)
        throw Error(ErrorCode::Unsupported,
                    what + " is a map whose values are " +
                        std::string(onnxTypeName(value.GetONNXType())) +
                        "s; polyinfer's maps hold scalar values");
      return ValueType::map(key, fromOrt(value.GetTensorTypeAndShapeInfo().GetElementType(), what + "'s values"));
    }
    default:
      throw Error(ErrorCode::Unsupported, what + " is a" +
                                              (type.GetONNXType() == ONNX_TYPE_OPAQUE ? std::string("n ") : " ") +
                                              std::string(onnxTypeName(type.GetONNXType())) +
                                              "; polyinfer's onnxruntime engine handles tensors, "
                                              "sequences, maps and optionals");
  }
}

ValueInfo describeValue(const std::string& kind, std::string name, const Ort::TypeInfo& type) {
  const std::string what = kind + " '" + name + "'";
  return {std::move(name), valueType(type.GetConst(), what)};
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
    inputValues_.push_back(describeValue("input", std::move(name), session_.GetInputTypeInfo(i)));
    inputs_.push_back(plugin::tensorInfoOf(inputValues_.back()));
  }
  for (std::size_t i = 0; i < outputCount; ++i) {
    std::string name = session_.GetOutputNameAllocated(i, allocator).get();
    outputValues_.push_back(describeValue("output", std::move(name), session_.GetOutputTypeInfo(i)));
    outputs_.push_back(plugin::tensorInfoOf(outputValues_.back()));
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
