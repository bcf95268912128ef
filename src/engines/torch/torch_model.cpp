// TorchModel: forward's schema -> input and output infos (torch_model.hpp).
#include "torch_model.hpp"

#include <utility>

#include "torch_predictor.hpp"

namespace polyinfer::torch_engine {

namespace {

ArgKind argKind(const c10::TypePtr& type) {
  switch (type->kind()) {
    case c10::TypeKind::TensorType: return ArgKind::Tensor;
    case c10::TypeKind::IntType: return ArgKind::Int;
    case c10::TypeKind::FloatType: return ArgKind::Float;
    case c10::TypeKind::BoolType: return ArgKind::Bool;
    default: return ArgKind::Other;
  }
}

TensorInfo scalarInfo(std::string name, DataType type) {
  TensorInfo info;
  info.name = std::move(name);
  info.dtype = type;
  info.rankKnown = true;  // 0-d
  return info;
}

TensorInfo unknownInfo(std::string name) {
  TensorInfo info;
  info.name = std::move(name);
  return info;
}

/// Appends the outputs the flattening rule of torch_engine.hpp gives for a
/// return type named `name`, as far as the type tells before a run.
void describeReturn(const c10::TypePtr& type, const std::string& name,
                    std::vector<TensorInfo>& out) {
  switch (type->kind()) {
    case c10::TypeKind::TupleType: {
      const auto elements = type->castRaw<c10::TupleType>()->elements();
      for (std::size_t i = 0; i < elements.size(); ++i)
        describeReturn(elements[i], name + "_" + std::to_string(i), out);
      return;
    }
    case c10::TypeKind::NoneType: return;
    case c10::TypeKind::IntType: out.push_back(scalarInfo(name, DataType::Int64)); return;
    case c10::TypeKind::FloatType: out.push_back(scalarInfo(name, DataType::Float64)); return;
    case c10::TypeKind::BoolType: out.push_back(scalarInfo(name, DataType::Bool)); return;
    case c10::TypeKind::StringType: out.push_back(scalarInfo(name, DataType::String)); return;
    default:
      // Tensor, or a list/dict/optional whose elements are known only after a
      // run: one entry under the base name.
      out.push_back(unknownInfo(name));
      return;
  }
}

}  // namespace

TorchModel::TorchModel(torch::jit::Module module, Settings settings, std::vector<ConfigEntry> config)
    : module_(std::move(module)),
      self_(module_._ivalue()),
      settings_(settings),
      config_(std::move(config)) {
  forward_ = &module_.get_method("forward").function();
  schema_ = &forward_->getSchema();
  const auto& args = schema_->arguments();
  // A method's schema starts with `self`.
  for (std::size_t i = 1; i < args.size(); ++i) {
    const ArgKind kind = argKind(args[i].type());
    argKinds_.push_back(kind);
    switch (kind) {
      case ArgKind::Int: inputs_.push_back(scalarInfo(args[i].name(), DataType::Int64)); break;
      case ArgKind::Float: inputs_.push_back(scalarInfo(args[i].name(), DataType::Float64)); break;
      case ArgKind::Bool: inputs_.push_back(scalarInfo(args[i].name(), DataType::Bool)); break;
      default: inputs_.push_back(unknownInfo(args[i].name())); break;
    }
  }
  const auto& returns = schema_->returns();
  if (returns.size() == 1) {
    describeReturn(returns[0].type(), kOutputName, outputs_);
    if (returns[0].type()->kind() == c10::TypeKind::TupleType) {
      const std::size_t arity = returns[0].type()->castRaw<c10::TupleType>()->elements().size();
      for (std::size_t i = 0; i < arity; ++i)
        tupleNames_.push_back(kOutputName + "_" + std::to_string(i));
    }
  } else {
    for (std::size_t i = 0; i < returns.size(); ++i)
      describeReturn(returns[i].type(), kOutputName + "_" + std::to_string(i), outputs_);
  }
}

std::unique_ptr<plugin::EnginePredictor> TorchModel::createPredictor() const {
  return std::make_unique<TorchPredictor>(shared_from_this());
}

}  // namespace polyinfer::torch_engine
