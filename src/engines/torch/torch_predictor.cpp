// TorchPredictor: binding inputs, running forward, flattening and handing out
// its outputs, and the profiler (torch_predictor.hpp).
#include "torch_predictor.hpp"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/csrc/jit/python/update_graph_executor_opt.h>
#include <torch/script.h>

#include <nlohmann/json.hpp>

#include <charconv>
#include <iterator>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "polyinfer/error.hpp"
#include "torch_common.hpp"

namespace polyinfer::torch_engine {

namespace {

/// Sets the calling thread's graph-executor optimisation flag for one scope
/// (a thread-local read and, only when it differs, two writes).
class GraphOptimizerScope {
 public:
  explicit GraphOptimizerScope(bool wanted) : previous_(torch::jit::getGraphExecutorOptimize()) {
    if (previous_ != wanted) torch::jit::setGraphExecutorOptimize(wanted);
    changed_ = previous_ != wanted;
  }
  ~GraphOptimizerScope() {
    if (changed_) torch::jit::setGraphExecutorOptimize(previous_);
  }
  GraphOptimizerScope(const GraphOptimizerScope&) = delete;
  GraphOptimizerScope& operator=(const GraphOptimizerScope&) = delete;

 private:
  bool previous_;
  bool changed_ = false;
};

std::string childName(const std::string& name, std::size_t index) {
  return name + "_" + std::to_string(index);
}

/// A dict key as an output name (torch_engine.hpp's rule).
std::string dictKey(const c10::IValue& key, const std::string& name) {
  if (key.isString()) return key.toStringRef();
  if (key.isInt()) return std::to_string(key.toInt());
  if (key.isDouble()) {
    // Shortest text that reads back as the same double: 1.5 -> "1.5".
    char text[32];
    const auto [end, ec] = std::to_chars(std::begin(text), std::end(text), key.toDouble());
    return std::string(text, ec == std::errc{} ? end : text);
  }
  if (key.isBool()) return key.toBool() ? "true" : "false";
  throw Error(ErrorCode::Unsupported, std::string(kEngineName) + ": output '" + name +
                                          "': a dict with " + key.tagKind() +
                                          " keys cannot be flattened into named outputs");
}

}  // namespace

TorchPredictor::TorchPredictor(std::shared_ptr<const TorchModel> model) : model_(std::move(model)) {
  stack_.reserve(model_->argKinds().size() + 1);
  inputData_.reserve(model_->argKinds().size());
}

Tensors TorchPredictor::predict(const Tensors& inputs) {
  try {
    return run(inputs);
  } catch (...) {
    // Leave nothing of the failed call behind: the next call starts clean.
    stack_.clear();
    inputData_.clear();
    flat_.clear();
    rethrowTorchError("forward", ErrorCode::InvalidArgument);
  }
}

std::optional<OperatorProfile> TorchPredictor::profile(const Tensors& inputs, int iterations) {
  std::ostringstream trace;
  {
    std::optional<torch::autograd::profiler::RecordProfile> recording;
    try {
      recording.emplace(trace);
    } catch (...) {
      rethrowTorchError("starting the profiler", ErrorCode::EngineFailure);
    }
    for (int i = 0; i < iterations; ++i) predict(inputs);
  }  // the recording writes the trace here
  const nlohmann::json events = nlohmann::json::parse(trace.str(), nullptr, false);
  if (!events.is_array())
    throw Error(ErrorCode::EngineFailure,
                std::string(kEngineName) + ": cannot read LibTorch's profiler trace");
  std::vector<TraceEvent> operators;
  for (const nlohmann::json& event : events) {
    if (event.value("ph", "") != "X") continue;
    operators.push_back({event.value("name", std::string("?")), event.value("tid", int64_t{0}),
                         event.value("ts", 0.0), event.value("dur", 0.0)});
  }
  OperatorProfile result;
  result.operators = summarizeTrace(std::move(operators));
  result.engineTrace = events.dump();
  return result;
}

Tensors TorchPredictor::run(const Tensors& inputs) {
  const TorchModel& m = *model_;
  const std::thread::id caller = std::this_thread::get_id();
  if (caller != thread_) adoptThread(caller);
  // Thread-local in LibTorch; set for this call only, so other models (and
  // the caller's own TorchScript code) on this thread keep their setting.
  const GraphOptimizerScope graphOptimizer(m.settings().graphOptimizer);
  c10::InferenceMode inferenceMode;
  stack_.clear();
  inputData_.clear();
  stack_.push_back(m.self());
  for (std::size_t i = 0; i < inputs.size(); ++i) stack_.push_back(toTorch(inputs[i], i));
  static const std::unordered_map<std::string, c10::IValue> kNoKwargs;
  m.schema().checkAndNormalizeInputs(stack_, kNoKwargs);
  m.forward().run(stack_);
  c10::IValue result = std::move(stack_.back());
  stack_.clear();
  return toOutputs(std::move(result));
}

/// First call from a thread: make the OpenMP intra-op thread count (per
/// thread in OpenMP) the process-wide value in effect.
void TorchPredictor::adoptThread(std::thread::id caller) {
  const int want = model_->settings().intraOpThreads;
  if (at::get_num_threads() != want) at::set_num_threads(want);
  thread_ = caller;
}

c10::IValue TorchPredictor::toTorch(const NamedTensor& input, std::size_t index) {
  const Tensor& tensor = input.tensor;
  const std::vector<ArgKind>& kinds = model_->argKinds();
  const ArgKind kind = index < kinds.size() ? kinds[index] : ArgKind::Other;
  if (kind == ArgKind::Int || kind == ArgKind::Float || kind == ArgKind::Bool)
    return toScalar(input, kind);
  const at::ScalarType type = torchDTypes().require(
      tensor.dtype(), kEngineName, "input '" + inputName(input, index) + "'", kLibraryName);
  // Zero copy: the module reads the caller's buffer. The const_cast is
  // sound because inference does not write to its inputs.
  void* data = const_cast<void*>(tensor.rawData());
  inputData_.push_back(data);
  const Shape& shape = tensor.shape();
  at::Tensor blob = at::from_blob(data, at::IntArrayRef(shape.data(), shape.size()),
                                  at::TensorOptions().dtype(type));
  const Settings& settings = model_->settings();
  const bool convert = settings.precision != at::kFloat && type == at::kFloat;
  if (!settings.device.is_cpu() || convert)
    blob = blob.to(settings.device, convert ? settings.precision : type);
  return blob;
}

c10::IValue TorchPredictor::toScalar(const NamedTensor& input, ArgKind kind) const {
  // The core checked dtype and rank (0-d) against the declared info.
  const Tensor& tensor = input.tensor;
  switch (kind) {
    case ArgKind::Int: return c10::IValue(*tensor.data<int64_t>());
    case ArgKind::Float: return c10::IValue(*tensor.data<double>());
    default: return c10::IValue(*static_cast<const uint8_t*>(tensor.rawData()) != 0);
  }
}

std::string TorchPredictor::inputName(const NamedTensor& input, std::size_t index) const {
  if (!input.name.empty()) return input.name;
  const std::vector<TensorInfo>& infos = model_->inputInfos();
  if (index < infos.size()) return infos[index].name;
  // Appended, not "#" + to_string(): GCC 12 warns (-Wrestrict) on that form.
  std::string name = "#";
  name += std::to_string(index);
  return name;
}

Tensors TorchPredictor::toOutputs(c10::IValue result) {
  flat_.clear();
  const std::vector<std::string>& tupleNames = model_->tupleNames();
  if (result.isTensor()) {
    flat_.push_back({kOutputName, std::move(result).toTensor(), {}});
  } else if (result.isTuple() && result.toTupleRef().elements().size() == tupleNames.size()) {
    // The usual tuple return: names precomputed.
    const auto& elements = result.toTupleRef().elements();
    for (std::size_t i = 0; i < elements.size(); ++i) {
      if (elements[i].isTensor())
        flat_.push_back({tupleNames[i], elements[i].toTensor(), {}});
      else
        flatten(elements[i], tupleNames[i], false);
    }
  } else {
    flatten(result, kOutputName, true);
  }
  // Drop the containers' references, so that use counts below tell whether
  // anything else (the module, another output) still shares a tensor.
  result = c10::IValue();

  std::vector<NamedTensor> out;
  out.reserve(flat_.size());
  for (FlatOutput& item : flat_) {
    if (!item.ready.valid() && !item.tensor.defined()) continue;  // an undefined tensor: like None
    Tensor tensor =
        item.ready.valid() ? std::move(item.ready) : toPolyinfer(item.name, std::move(item.tensor));
    out.push_back({std::move(item.name), std::move(tensor)});
  }
  flat_.clear();
  inputData_.clear();
  return Tensors(std::move(out));
}

/// The flattening rule of torch_engine.hpp.
void TorchPredictor::flatten(const c10::IValue& value, const std::string& name, bool top) {
  if (value.isTensor()) {
    flat_.push_back({name, value.toTensor(), {}});
  } else if (value.isTuple()) {
    const auto& elements = value.toTupleRef().elements();
    for (std::size_t i = 0; i < elements.size(); ++i) flatten(elements[i], childName(name, i), false);
  } else if (value.isList()) {
    const c10::ArrayRef<c10::IValue> elements = value.toListRef();
    for (std::size_t i = 0; i < elements.size(); ++i) flatten(elements[i], childName(name, i), false);
  } else if (value.isGenericDict()) {
    for (const auto& entry : value.toGenericDict()) {
      const std::string key = dictKey(entry.key(), name);
      flatten(entry.value(), top ? key : name + "." + key, false);
    }
  } else if (value.isNone()) {
    // No output.
  } else if (value.isInt()) {
    flat_.push_back({name, {}, Tensor::fromVector<int64_t>({}, {value.toInt()})});
  } else if (value.isDouble()) {
    flat_.push_back({name, {}, Tensor::fromVector<double>({}, {value.toDouble()})});
  } else if (value.isBool()) {
    flat_.push_back({name, {}, Tensor::fromVector<bool>({}, {value.toBool()})});
  } else if (value.isString()) {
    flat_.push_back({name, {}, Tensor::fromStrings({}, {value.toStringRef()})});
  } else {
    throw Error(ErrorCode::Unsupported,
                std::string(kEngineName) + ": output '" + name + "': a TorchScript " +
                    value.tagKind() +
                    " cannot be returned as a tensor (expected tensors, tuples, lists, dicts, "
                    "numbers or strings)");
  }
}

/// A view of `t` whose holder keeps it alive (no copy), unless `t` shares
/// storage with an input, the module or another output: then a copy.
Tensor TorchPredictor::toPolyinfer(const std::string& name, at::Tensor t) {
  if (t.layout() != at::kStrided) t = t.to_dense();  // oneDNN (mkldnn) or sparse layout
  const at::ScalarType precision = model_->settings().precision;
  const bool widen = precision != at::kFloat && t.scalar_type() == precision;  // back to float32
  if (!t.device().is_cpu() || widen) t = t.to(at::kCPU, widen ? at::kFloat : t.scalar_type());
  if (t.is_conj()) t = t.resolve_conj();
  if (t.is_neg()) t = t.resolve_neg();
  if (!t.is_contiguous()) t = t.contiguous();
  const DataType type = torchDTypes().fromEngine(t.scalar_type());
  if (type == DataType::Undefined)
    throw Error(ErrorCode::Unsupported, std::string(kEngineName) + ": output '" + name +
                                            "': dtype " + c10::toString(t.scalar_type()) +
                                            " has no polyinfer equivalent");
  bool shared = t.use_count() > 1 || t.storage().use_count() > 1;
  if (!shared) {
    const void* base = t.storage().data();
    for (const void* input : inputData_)
      if (base == input) shared = true;
  }
  if (shared) t = t.clone(at::MemoryFormat::Contiguous);
  auto holder = std::make_shared<at::Tensor>(std::move(t));
  const c10::IntArrayRef sizes = holder->sizes();
  void* data = holder->data_ptr();
  const std::size_t bytes = holder->nbytes();
  return Tensor::view(type, Shape(sizes.begin(), sizes.end()), data, bytes, std::move(holder));
}

}  // namespace polyinfer::torch_engine
