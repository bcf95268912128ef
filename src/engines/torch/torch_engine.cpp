// The LibTorch engine: TorchEngine (describe, load), TorchModel (one loaded
// torch::jit::Module, shared by all predictors) and TorchPredictor (per-thread
// call state). See torch_engine.hpp for the input/output and threading rules.
#include "torch_engine.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/python/update_graph_executor_opt.h>
#include <torch/csrc/jit/runtime/jit_exception.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#include <nlohmann/json.hpp>

#include <charconv>
#include <iterator>
#include <system_error>
#include <mutex>
#include <new>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <utility>

#include "polyinfer/error.hpp"

namespace polyinfer::torch_engine {

namespace {

using plugin::EngineDescription;
using plugin::LoadRequest;

constexpr const char* kEngineName = "torch";

// ------------------------------------------------------------------ errors

std::string torchMessage(const c10::Error& e) {
  return summarizeTorchMessage(e.what_without_backtrace());
}

/// Rethrows the exception being handled as a polyinfer::Error (which passes
/// through unchanged). `code` is used for LibTorch's own errors; out-of-memory
/// and "not implemented" get their own codes. Call only inside a catch block.
[[noreturn]] void rethrowAsError(const std::string& context, ErrorCode code) {
  const std::string prefix = std::string(kEngineName) + ": " + context + ": ";
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const c10::OutOfMemoryError& e) {
    throw Error(ErrorCode::ResourceExhausted, prefix + "out of memory: " + torchMessage(e));
  } catch (const c10::NotImplementedError& e) {
    throw Error(ErrorCode::Unsupported, prefix + torchMessage(e));
  } catch (const c10::Error& e) {
    throw Error(code, prefix + torchMessage(e));
  } catch (const torch::jit::JITException& e) {
    // A `raise` in the TorchScript code itself: "ValueError: <its message>".
    std::string kind = e.getPythonClassName().value_or("");
    if (const std::size_t dot = kind.rfind('.'); dot != std::string::npos) kind.erase(0, dot + 1);
    throw Error(code, prefix + (kind.empty() ? "" : kind + ": ") +
                          summarizeTorchMessage(e.getOriginalMsg().value_or(e.what())));
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::ResourceExhausted, prefix + "out of memory");
  } catch (const std::exception& e) {
    throw Error(code, prefix + summarizeTorchMessage(e.what()));
  } catch (...) {
    throw Error(ErrorCode::EngineFailure, prefix + "unknown exception");
  }
}

// ------------------------------------------------------------------ dtypes

std::optional<at::ScalarType> toTorchType(DataType type) noexcept {
  switch (type) {
    case DataType::Float32: return at::kFloat;
    case DataType::Float64: return at::kDouble;
    case DataType::Float16: return at::kHalf;
    case DataType::BFloat16: return at::kBFloat16;
    case DataType::Int8: return at::kChar;
    case DataType::Int16: return at::kShort;
    case DataType::Int32: return at::kInt;
    case DataType::Int64: return at::kLong;
    case DataType::UInt8: return at::kByte;
    case DataType::Bool: return at::kBool;
    case DataType::Complex64: return at::kComplexFloat;
    case DataType::Complex128: return at::kComplexDouble;
    default: return std::nullopt;
  }
}

/// Undefined when polyinfer has no mapping for it (quantized types, ...).
DataType fromTorchType(at::ScalarType type) noexcept {
  switch (type) {
    case at::kFloat: return DataType::Float32;
    case at::kDouble: return DataType::Float64;
    case at::kHalf: return DataType::Float16;
    case at::kBFloat16: return DataType::BFloat16;
    case at::kChar: return DataType::Int8;
    case at::kShort: return DataType::Int16;
    case at::kInt: return DataType::Int32;
    case at::kLong: return DataType::Int64;
    case at::kByte: return DataType::UInt8;
    case at::kBool: return DataType::Bool;
    case at::kComplexFloat: return DataType::Complex64;
    case at::kComplexDouble: return DataType::Complex128;
    default: return DataType::Undefined;
  }
}

// ------------------------------------------------------------------ options

struct ResolvedBool {
  bool value = false;
  ConfigEntry entry;
};

ResolvedBool resolveBool(const Options& options, const std::string& key, bool defaultValue,
                         const std::string& defaultDetail) {
  if (std::optional<bool> value = options.getBool(key))
    return {*value, {key, *value ? "true" : "false", ValueSource::Explicit, "set by option " + key}};
  return {defaultValue, {key, defaultValue ? "true" : "false", ValueSource::Default, defaultDetail}};
}

// ------------------------------------------------------------------ process-global settings

// LibTorch's thread counts (and cuDNN benchmark mode) are process-global and
// at::set_num_interop_threads throws when called twice: the first model
// applies a value, later models get the value in effect.
struct ProcessKnob {
  bool applied = false;
  int64_t value = 0;
};

struct ProcessState {
  std::mutex mutex;
  ProcessKnob intraOp;
  ProcessKnob interOp;
  ProcessKnob cudnnBenchmark;
};

ProcessState& processState() {
  static ProcessState state;
  return state;
}

std::string formatValue(int64_t value, bool isBool) {
  if (isBool) return value ? "true" : "false";
  return std::to_string(value);
}

/// Applies `requested` once per process through `set` (which may throw when
/// LibTorch refuses); returns the value in effect and the config entry that
/// says where it came from. `actual` reads the value in effect from LibTorch.
template <typename Set, typename Get>
std::pair<int64_t, ConfigEntry> applyOnce(ProcessKnob& knob, int64_t requested, ConfigEntry entry,
                                          bool isBool, Set set, Get actual) {
  // Caller holds processState().mutex.
  if (!knob.applied) {
    try {
      set(requested);
      knob.applied = true;
      knob.value = requested;
      entry.detail += entry.detail.empty() ? "" : "; ";
      entry.detail += "applied process-wide";
      return {requested, std::move(entry)};
    } catch (const c10::Error& e) {
      // Something in this process set it (or used the pool) before us.
      const int64_t inEffect = actual();
      knob.applied = true;
      knob.value = inEffect;
      return {inEffect,
              {entry.key, formatValue(inEffect, isBool), ValueSource::Engine,
               "requested " + formatValue(requested, isBool) + "; LibTorch refused (" +
                   torchMessage(e) + "); process uses " + formatValue(inEffect, isBool)}};
    }
  }
  if (knob.value == requested) {
    entry.detail += entry.detail.empty() ? "" : "; ";
    entry.detail += "process-wide, same value already in effect";
    return {requested, std::move(entry)};
  }
  return {knob.value,
          {entry.key, formatValue(knob.value, isBool), ValueSource::Engine,
           "requested " + formatValue(requested, isBool) + " (" + std::string(toString(entry.source)) +
               "); process already uses " + formatValue(knob.value, isBool) +
               " (set once per process)"}};
}

// ------------------------------------------------------------------ devices

std::vector<std::string> availableDevices() {
  std::vector<std::string> devices{"cpu"};
  try {
    if (torch::cuda::is_available()) {
      const std::size_t count = torch::cuda::device_count();
      for (std::size_t i = 0; i < count; ++i) devices.push_back("gpu" + std::to_string(i));
    }
  } catch (...) {
    // A CUDA build on a machine without a usable driver: CPU only.
  }
  return devices;
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

c10::Device parseDevice(const std::string& name, const std::vector<std::string>& available) {
  if (name.empty() || name == "cpu") return c10::Device(c10::kCPU);
  if (name.starts_with("gpu") && name.size() > 3) {
    int index = -1;
    const char* first = name.data() + 3;
    const char* last = name.data() + name.size();
    const auto [end, ec] = std::from_chars(first, last, index);
    if (ec == std::errc() && end == last && index >= 0) {
      if (available.size() == 1)
        throw Error(ErrorCode::Unsupported,
                    std::string(kEngineName) + ": device '" + name + "': this LibTorch build (" +
                        TORCH_VERSION +
                        ") has no CUDA support or sees no CUDA device; available devices: " +
                        joinNames(available));
      if (static_cast<std::size_t>(index) + 1 >= available.size())
        throw Error(ErrorCode::Unsupported, std::string(kEngineName) + ": device '" + name +
                                                "' does not exist; available devices: " +
                                                joinNames(available));
      return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
  }
  throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": device '" + name +
                                              "': expected cpu or gpuN; available devices: " +
                                              joinNames(available));
}

// ------------------------------------------------------------------ precision

/// Option precision: the floating type the module runs in on `device`.
/// A value the device cannot run is Unsupported, never a silent fallback.
ConfigEntry resolvePrecision(const Options& options, const c10::Device& device,
                             at::ScalarType& precision) {
  const std::optional<std::string> value = options.getChoice("precision", plugin::precisionNames());
  ConfigEntry entry{"precision", value.value_or("fp32"),
                    value ? ValueSource::Explicit : ValueSource::Default,
                    value ? "set by option precision" : "the module's own (float32) weights"};
  if (!value || *value == "fp32") {
    precision = at::kFloat;
    return entry;
  }
  if (*value == "fp16") {
    if (device.is_cpu())
      throw Error(ErrorCode::Unsupported,
                  std::string(kEngineName) + ": precision=fp16 needs a CUDA device (device gpuN); "
                  "on cpu LibTorch " TORCH_VERSION " has no half-precision convolution kernels. "
                  "Supported on cpu: fp32, bf16");
    precision = at::kHalf;
    entry.detail += "; weights converted to float16 at load, float32 inputs/outputs converted";
    return entry;
  }
  precision = at::kBFloat16;
  entry.detail += "; weights converted to bfloat16 at load, float32 inputs/outputs converted";
  if (device.is_cpu()) {
    // oneDNN uses the CPU's bf16 dot-product instructions when it has them
    // and emulates them with AVX-512 otherwise (possibly slower than fp32).
    __builtin_cpu_init();
    entry.detail += __builtin_cpu_supports("avx512bf16")
                        ? "; CPU has AVX512_BF16 (native bf16 dot products in oneDNN)"
                        : "; CPU lacks AVX512_BF16: bf16 is emulated and may be slower than fp32";
  }
  return entry;
}

// ------------------------------------------------------------------ schema -> infos

/// How a forward argument is passed: tensors as they are, TorchScript
/// int/float/bool arguments from 0-d tensors of the matching dtype.
enum class ArgKind : uint8_t { Tensor, Int, Float, Bool, Other };

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

/// Applies the flattening rule of torch_engine.hpp to a return type.
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

const std::string kOutputName = "output";

// ------------------------------------------------------------------ the model

struct Settings {
  c10::Device device{c10::kCPU};
  /// The floating type the module computes in (option precision); float32
  /// inputs are converted to it and outputs of it back to float32.
  at::ScalarType precision = at::kFloat;
  int intraOpThreads = 1;  ///< the process-wide value in effect
  bool graphOptimizer = true;
};

class TorchPredictor;

class TorchModel final : public plugin::EngineModel,
                         public std::enable_shared_from_this<TorchModel> {
 public:
  TorchModel(torch::jit::Module module, Settings settings, std::vector<ConfigEntry> config)
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

  std::vector<TensorInfo> inputs() const override { return inputs_; }
  std::vector<TensorInfo> outputs() const override { return outputs_; }
  std::vector<ConfigEntry> config() const override { return config_; }
  std::unique_ptr<plugin::EnginePredictor> createPredictor() const override;

 private:
  friend class TorchPredictor;
  torch::jit::Module module_;
  c10::IValue self_;                        ///< module_'s object: forward's first argument
  torch::jit::Function* forward_ = nullptr;  ///< owned by module_'s compilation unit
  const c10::FunctionSchema* schema_ = nullptr;
  Settings settings_;
  std::vector<ConfigEntry> config_;
  std::vector<TensorInfo> inputs_;
  std::vector<ArgKind> argKinds_;
  std::vector<TensorInfo> outputs_;
  std::vector<std::string> tupleNames_;  ///< output_0.. for a tuple return
};

// ------------------------------------------------------------------ the predictor

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

class TorchPredictor final : public plugin::EnginePredictor {
 public:
  explicit TorchPredictor(std::shared_ptr<const TorchModel> model) : model_(std::move(model)) {
    stack_.reserve(model_->argKinds_.size() + 1);
    inputData_.reserve(model_->argKinds_.size());
  }

  Tensors predict(const Tensors& inputs) override {
    try {
      return run(inputs);
    } catch (...) {
      // Leave nothing of the failed call behind: the next call starts clean.
      stack_.clear();
      inputData_.clear();
      flat_.clear();
      rethrowAsError("forward", ErrorCode::InvalidArgument);
    }
  }

  /// LibTorch's (legacy) autograd profiler around the runs: every operator
  /// the dispatcher sees, nested (aten::conv2d > aten::convolution > ...),
  /// as a Chrome trace; summarizeTrace turns nesting into self time.
  std::optional<OperatorProfile> profile(const Tensors& inputs, int iterations) override {
    std::ostringstream trace;
    {
      std::optional<torch::autograd::profiler::RecordProfile> recording;
      try {
        recording.emplace(trace);
      } catch (...) {
        rethrowAsError("starting the profiler", ErrorCode::EngineFailure);
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

 private:
  struct FlatOutput {
    std::string name;
    at::Tensor tensor;  ///< a tensor output, or
    Tensor ready;       ///< an output already converted (scalars, strings)
  };

  Tensors run(const Tensors& inputs) {
    const TorchModel& m = *model_;
    const std::thread::id caller = std::this_thread::get_id();
    if (caller != thread_) adoptThread(caller);
    // Thread-local in LibTorch; set for this call only, so other models (and
    // the caller's own TorchScript code) on this thread keep their setting.
    const GraphOptimizerScope graphOptimizer(m.settings_.graphOptimizer);
    c10::InferenceMode inferenceMode;
    stack_.clear();
    inputData_.clear();
    stack_.push_back(m.self_);
    for (std::size_t i = 0; i < inputs.size(); ++i) stack_.push_back(toTorch(inputs[i], i));
    static const std::unordered_map<std::string, c10::IValue> kNoKwargs;
    m.schema_->checkAndNormalizeInputs(stack_, kNoKwargs);
    m.forward_->run(stack_);
    c10::IValue result = std::move(stack_.back());
    stack_.clear();
    return toOutputs(std::move(result));
  }

  /// First call from a thread: make the OpenMP intra-op thread count (per
  /// thread in OpenMP) the process-wide value in effect.
  void adoptThread(std::thread::id caller) {
    const int want = model_->settings_.intraOpThreads;
    if (at::get_num_threads() != want) at::set_num_threads(want);
    thread_ = caller;
  }

  c10::IValue toTorch(const NamedTensor& input, std::size_t index) {
    const Tensor& tensor = input.tensor;
    const ArgKind kind = index < model_->argKinds_.size() ? model_->argKinds_[index] : ArgKind::Other;
    if (kind == ArgKind::Int || kind == ArgKind::Float || kind == ArgKind::Bool)
      return toScalar(input, kind);
    const std::optional<at::ScalarType> type = toTorchType(tensor.dtype());
    if (!type)
      throw Error(ErrorCode::Unsupported,
                  std::string(kEngineName) + ": input '" + inputName(input, index) + "': dtype " +
                      std::string(toString(tensor.dtype())) + " is not supported by LibTorch " +
                      TORCH_VERSION);
    // Zero copy: the module reads the caller's buffer. The const_cast is
    // sound because inference does not write to its inputs.
    void* data = const_cast<void*>(tensor.rawData());
    inputData_.push_back(data);
    const Shape& shape = tensor.shape();
    at::Tensor blob = at::from_blob(data, at::IntArrayRef(shape.data(), shape.size()),
                                    at::TensorOptions().dtype(*type));
    const Settings& settings = model_->settings_;
    const bool convert = settings.precision != at::kFloat && *type == at::kFloat;
    if (!settings.device.is_cpu() || convert)
      blob = blob.to(settings.device, convert ? settings.precision : *type);
    return blob;
  }

  c10::IValue toScalar(const NamedTensor& input, ArgKind kind) {
    // The core checked dtype and rank (0-d) against the declared info.
    const Tensor& tensor = input.tensor;
    switch (kind) {
      case ArgKind::Int: return c10::IValue(*tensor.data<int64_t>());
      case ArgKind::Float: return c10::IValue(*tensor.data<double>());
      default: return c10::IValue(*static_cast<const uint8_t*>(tensor.rawData()) != 0);
    }
  }

  std::string inputName(const NamedTensor& input, std::size_t index) const {
    if (!input.name.empty()) return input.name;
    return index < model_->inputs_.size() ? model_->inputs_[index].name : "#" + std::to_string(index);
  }

  Tensors toOutputs(c10::IValue result) {
    flat_.clear();
    if (result.isTensor()) {
      flat_.push_back({kOutputName, std::move(result).toTensor(), {}});
    } else if (result.isTuple() && result.toTupleRef().elements().size() == model_->tupleNames_.size()) {
      // The usual tuple return: names precomputed.
      const auto& elements = result.toTupleRef().elements();
      for (std::size_t i = 0; i < elements.size(); ++i) {
        if (elements[i].isTensor())
          flat_.push_back({model_->tupleNames_[i], elements[i].toTensor(), {}});
        else
          flatten(elements[i], model_->tupleNames_[i], false);
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
      Tensor tensor = item.ready.valid() ? std::move(item.ready) : toPolyinfer(item.name, std::move(item.tensor));
      out.push_back({std::move(item.name), std::move(tensor)});
    }
    flat_.clear();
    inputData_.clear();
    return Tensors(std::move(out));
  }

  static std::string childName(const std::string& name, std::size_t index) {
    return name + "_" + std::to_string(index);
  }

  /// The flattening rule of torch_engine.hpp.
  void flatten(const c10::IValue& value, const std::string& name, bool top) {
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

  static std::string dictKey(const c10::IValue& key, const std::string& name) {
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

  /// A view of `t` whose holder keeps it alive (no copy), unless `t` shares
  /// storage with an input, the module or another output: then a copy.
  Tensor toPolyinfer(const std::string& name, at::Tensor t) {
    if (t.layout() != at::kStrided) t = t.to_dense();  // oneDNN (mkldnn) or sparse layout
    const at::ScalarType precision = model_->settings_.precision;
    const bool widen = precision != at::kFloat && t.scalar_type() == precision;  // back to float32
    if (!t.device().is_cpu() || widen) t = t.to(at::kCPU, widen ? at::kFloat : t.scalar_type());
    if (t.is_conj()) t = t.resolve_conj();
    if (t.is_neg()) t = t.resolve_neg();
    if (!t.is_contiguous()) t = t.contiguous();
    const DataType type = fromTorchType(t.scalar_type());
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

  std::shared_ptr<const TorchModel> model_;
  std::vector<c10::IValue> stack_;    ///< self, inputs...; then forward's result
  std::vector<const void*> inputData_;  ///< the callers' buffers, to detect aliasing outputs
  std::vector<FlatOutput> flat_;
  std::thread::id thread_;            ///< the last calling thread (default: none yet)
};

std::unique_ptr<plugin::EnginePredictor> TorchModel::createPredictor() const {
  return std::make_unique<TorchPredictor>(shared_from_this());
}

// ------------------------------------------------------------------ the engine

/// Nodes of `kind` in a block and, recursively, in its nodes' sub-blocks.
std::size_t countNodes(const torch::jit::Block* block, c10::Symbol kind) {
  std::size_t count = 0;
  for (const torch::jit::Node* node : block->nodes()) {
    if (node->kind() == kind) ++count;
    for (const torch::jit::Block* inner : node->blocks()) count += countNodes(inner, kind);
  }
  return count;
}

class TorchEngine final : public plugin::Engine {
 public:
  TorchEngine() {
    description_.name = kEngineName;
    description_.version = TORCH_VERSION;
    description_.formats = {"TorchScript (.pt, .pth, .torchscript, .zip)"};
    description_.devices = availableDevices();
    description_.reentrant = true;
    description_.options = {
        {"num_threads",
         {"intraOpNumThreads"},
         "intra-op threads (at::set_num_threads; process-wide, set by the first model loaded): "
         "integer >= 1; default: env OMP_NUM_THREADS, then POLYINFER_INTRA_OP_THREADS, else "
         "usable cores / workers"},
        {"num_interop_threads",
         {"interOpNumThreads"},
         "inter-op threads (at::set_num_interop_threads; process-wide, set once): integer >= 1; "
         "default: env POLYINFER_INTER_OP_THREADS, else 1"},
        {"graph_optimizer",
         {},
         "TorchScript graph executor optimisation (torch::jit::setGraphExecutorOptimize, set on "
         "each predictor's thread): true/false; default true"},
        {"use_mkldnn",
         {},
         "freeze the module and run torch::jit::optimize_for_inference at load (convolutions in "
         "oneDNN layout): true/false; default true on cpu (falls back to the module as saved, "
         "and says so, when the module cannot be frozen), false on CUDA"},
        {"cudnn_benchmark",
         {},
         "cuDNN autotuning (process-wide; no effect without CUDA): true/false; default false"},
        {"precision",
         {},
         "floating-point precision the module runs in: fp32 (default), bf16 (CPU or CUDA), fp16 "
         "(CUDA only); float32 inputs and outputs are converted at the boundary"},
    };
  }

  EngineDescription describe() const override { return description_; }

  std::shared_ptr<plugin::EngineModel> load(const LoadRequest& request) override {
    try {
      return loadModel(request);
    } catch (...) {
      rethrowAsError("loading '" + request.modelPath.string() + "'", ErrorCode::EngineFailure);
    }
  }

 private:
  std::shared_ptr<plugin::EngineModel> loadModel(const LoadRequest& request) {
    const std::string path = request.modelPath.string();
    const Options& options = request.options;

    // 1. Options: all checked before anything is loaded or applied.
    const ThreadDefaults defaults = request.budget.defaultsFor(request.workers);
    plugin::ResolvedInt intra = plugin::resolveInt(
        options, "num_threads", {"OMP_NUM_THREADS", "POLYINFER_INTRA_OP_THREADS"},
        defaults.intraOpThreads, defaults.reason, 1, 4096);
    plugin::ResolvedInt inter = plugin::resolveInt(
        options, "num_interop_threads", {"POLYINFER_INTER_OP_THREADS"}, defaults.interOpThreads,
        "1: the workers already run calls in parallel", 1, 4096);
    ResolvedBool graphOptimizer = resolveBool(options, "graph_optimizer", true, "LibTorch's default");
    graphOptimizer.entry.detail += "; set on the calling thread for each call (thread-local in LibTorch)";
    // On by default on the CPU: LibTorch's convolution heuristic sends 1x1
    // convolutions to its slower native kernels whenever the calling thread
    // has one intra-op thread (exactly the many-workers configuration); the
    // frozen, oneDNN-prepacked graph does not (mobilenet_v2 2-3x faster at
    // 2 workers x 1 thread here, resnet18 ~1.25x).
    const bool onCpu = request.device.empty() || request.device == "cpu";
    ResolvedBool useMkldnn =
        resolveBool(options, "use_mkldnn", onCpu,
                    onCpu ? "on for cpu: frozen + oneDNN graph (use_mkldnn=false runs the module as saved)"
                          : "off for CUDA devices: module run as saved");
    ResolvedBool cudnnBenchmark = resolveBool(options, "cudnn_benchmark", false, "LibTorch's default");
    Settings settings;
    settings.device = parseDevice(request.device, description_.devices);
    settings.graphOptimizer = graphOptimizer.value;
    ConfigEntry precisionEntry = resolvePrecision(options, settings.device, settings.precision);

    // 2. The module.
    torch::jit::Module module;
    try {
      module = torch::jit::load(path, settings.device);
    } catch (...) {
      rethrowAsError("cannot load TorchScript model '" + path + "'", ErrorCode::InvalidArgument);
    }
    if (!module.find_method("forward")) {
      std::string methods;
      for (const auto& method : module.get_methods())
        methods += (methods.empty() ? "" : ", ") + method.name();
      throw Error(ErrorCode::InvalidArgument,
                  std::string(kEngineName) + ": TorchScript model '" + path +
                      "' has no forward method (methods: " + (methods.empty() ? "none" : methods) +
                      ")");
    }
    module.eval();
    if (settings.precision != at::kFloat) {
      try {
        module.to(settings.precision);
      } catch (...) {
        rethrowAsError("precision=" + precisionEntry.value + ": converting '" + path + "' failed",
                       ErrorCode::Unsupported);
      }
    }

    if (useMkldnn.value) {
      std::optional<torch::jit::Module> optimized;
      try {
        torch::jit::Module frozen = torch::jit::freeze(module);
        optimized = torch::jit::optimize_for_inference(frozen);
      } catch (...) {
        if (useMkldnn.entry.source == ValueSource::Explicit)
          rethrowAsError("use_mkldnn=true: freezing / optimize_for_inference of '" + path + "' failed",
                         ErrorCode::Unsupported);
        // Only the default asked for it: run the module as saved, and say so.
        std::string why = "unknown error";
        try {
          throw;
        } catch (const c10::Error& e) {
          why = torchMessage(e);
        } catch (const std::exception& e) {
          why = summarizeTorchMessage(e.what());
        } catch (...) {
        }
        useMkldnn.value = false;
        useMkldnn.entry = {"use_mkldnn", "false", ValueSource::Engine,
                           "the default (on for cpu) could not freeze / optimize_for_inference "
                           "this module (" + why + "): module run as saved"};
      }
      if (optimized) module = std::move(*optimized);
    }
    if (useMkldnn.value) {
      const std::size_t conversions =
          countNodes(module.get_method("forward").graph()->block(),
                     c10::Symbol::fromQualString("aten::to_mkldnn"));
      useMkldnn.entry.detail += "; frozen + torch::jit::optimize_for_inference: " +
                                std::to_string(conversions) + " aten::to_mkldnn layout conversion" +
                                (conversions == 1 ? "" : "s") + " in the forward graph";
    }

    // 3. Process-global settings, once the model is known to load.
    std::vector<ConfigEntry> config;
    {
      ProcessState& state = processState();
      std::lock_guard<std::mutex> lock(state.mutex);
      auto [intraValue, intraEntry] = applyOnce(
          state.intraOp, intra.value, intra.entry, false,
          [](int64_t n) { at::set_num_threads(static_cast<int>(n)); },
          [] { return static_cast<int64_t>(at::get_num_threads()); });
      settings.intraOpThreads = static_cast<int>(intraValue);
      config.push_back(std::move(intraEntry));
      config.push_back(applyOnce(
                           state.interOp, inter.value, inter.entry, false,
                           [](int64_t n) { at::set_num_interop_threads(static_cast<int>(n)); },
                           [] { return static_cast<int64_t>(at::get_num_interop_threads()); })
                           .second);
      config.push_back(std::move(graphOptimizer.entry));
      config.push_back(std::move(useMkldnn.entry));
      config.push_back(std::move(precisionEntry));
      if (description_.devices.size() > 1) {
        config.push_back(applyOnce(
                             state.cudnnBenchmark, cudnnBenchmark.value ? 1 : 0, cudnnBenchmark.entry,
                             true, [](int64_t on) { at::globalContext().setBenchmarkCuDNN(on != 0); },
                             [] { return static_cast<int64_t>(at::globalContext().benchmarkCuDNN()); })
                             .second);
      } else {
        cudnnBenchmark.entry.detail += "; no effect without CUDA";
        config.push_back(std::move(cudnnBenchmark.entry));
      }
    }

    return std::make_shared<TorchModel>(std::move(module), settings, std::move(config));
  }

  EngineDescription description_;
};

}  // namespace

std::unique_ptr<plugin::Engine> createEngine() { return std::make_unique<TorchEngine>(); }

}  // namespace polyinfer::torch_engine
