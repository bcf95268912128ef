#include "ort_predictor.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "ort_common.hpp"
#include "ort_engine.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::ort {

namespace {

// ORT wants a non-null pointer even for an empty tensor; nothing is read from it.
alignas(64) unsigned char emptyBuffer[64];

}  // namespace

OrtPredictor::OrtPredictor(std::shared_ptr<const OrtModel> model) : model_(std::move(model)) {
  cpuMemory_ = Ort::MemoryInfo::CreateCpu(OrtDeviceAllocator, OrtMemTypeDefault);
  runOptions_ = Ort::RunOptions();
  if (const int severity = runLogSeverity(); severity >= 0)
    runOptions_.SetRunLogSeverityLevel(severity);
  const std::size_t inputCount = model_->inputNames().size();
  const std::size_t outputCount = model_->outputNames().size();
  bound_.resize(inputCount);
  inputValues_.reserve(inputCount);
  for (std::size_t i = 0; i < inputCount; ++i) inputValues_.emplace_back(nullptr);
  outputValues_.reserve(outputCount);
  for (std::size_t i = 0; i < outputCount; ++i) outputValues_.emplace_back(nullptr);
}

std::optional<OperatorProfile> OrtPredictor::profile(const Tensors& inputs, int iterations) {
  namespace fs = std::filesystem;
  static std::atomic<uint64_t> counter{0};
  const fs::path dir = fs::temp_directory_path() /
                       fmt::format("polyinfer-ort-profile-{}-{}", ::getpid(), counter.fetch_add(1));
  fs::create_directories(dir);
  struct RemoveDir {
    fs::path path;
    ~RemoveDir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } cleanup{dir};

  try {
    for (int i = 0; i < iterations; ++i) {
      // A prefix per run: ORT names the file <prefix>_<timestamp>.json, and
      // runs within one timestamp would overwrite each other's.
      Ort::RunOptions options;
      if (const int severity = runLogSeverity(); severity >= 0) options.SetRunLogSeverityLevel(severity);
      options.EnableProfiling((dir / fmt::format("run{:06}", i)).c_str());
      bindInputs(inputs);
      model_->session().Run(options, model_->inputNames().data(), inputValues_.data(),
                            inputValues_.size(), model_->outputNames().data(),
                            outputValues_.data(), outputValues_.size());
      releaseStringInputs();
      releaseOutputs();
    }
  } catch (...) {
    releaseStringInputs();
    releaseOutputs();
    rethrowAsError(Phase::Run, model_->label() + ": profiled run failed");
  }

  OperatorProfile result;
  std::vector<TraceEvent> events;
  nlohmann::json trace = nlohmann::json::array();
  std::vector<fs::path> files;
  for (const fs::directory_entry& file : fs::directory_iterator(dir))
    if (file.path().extension() == ".json") files.push_back(file.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::ifstream in(file);
    const nlohmann::json parsed = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_array())
      throw Error(ErrorCode::EngineFailure,
                  model_->label() + ": cannot read ONNX Runtime's profile '" + file.string() + "'");
    for (const nlohmann::json& event : parsed) {
      trace.push_back(event);
      // Kernel executions: {"cat": "Node", "name": "<node>_kernel_time",
      // "args": {"op_name": "Conv", ...}}; the rest is session bookkeeping.
      const std::string name = event.value("name", "");
      if (event.value("cat", "") != "Node" || !name.ends_with("_kernel_time")) continue;
      const nlohmann::json args = event.value("args", nlohmann::json::object());
      events.push_back({args.value("op_name", name), event.value("tid", int64_t{0}),
                        event.value("ts", 0.0), event.value("dur", 0.0)});
    }
  }
  if (files.empty())
    throw Error(ErrorCode::EngineFailure,
                model_->label() + ": ONNX Runtime wrote no profile for the profiled runs");
  result.operators = summarizeTrace(std::move(events));
  result.engineTrace = trace.dump();
  return result;
}

Tensors OrtPredictor::predict(const Tensors& inputs) {
  try {
    bindInputs(inputs);
    model_->session().Run(runOptions_, model_->inputNames().data(), inputValues_.data(),
                          inputValues_.size(), model_->outputNames().data(),
                          outputValues_.data(), outputValues_.size());
    releaseStringInputs();
    return collectOutputs(inputs);
  } catch (...) {
    // Leave nothing half-done behind: the next call starts clean.
    releaseStringInputs();
    releaseOutputs();
    rethrowAsError(Phase::Run, model_->label() + ": run failed");
  }
}

void OrtPredictor::bindInputs(const Tensors& inputs) {
  const std::vector<TensorInfo>& infos = model_->inputInfos();
  if (inputs.size() != infos.size())
    throw Error(ErrorCode::InvalidArgument, "expected " + std::to_string(infos.size()) +
                                                " inputs, got " + std::to_string(inputs.size()));
  for (std::size_t i = 0; i < inputs.size(); ++i) bindInput(i, inputs[i].tensor);
}

void OrtPredictor::bindInput(std::size_t index, const Tensor& tensor) {
  BoundInput& bound = bound_[index];
  const DataType dtype = tensor.dtype();
  const Shape& shape = tensor.shape();

  if (dtype == DataType::String) {
    inputValues_[index] = tensorValue(tensor, "input '" + model_->inputInfos()[index].name + "'");
    bound.data = nullptr;  // a copy: never reused
    return;
  }

  const void* data = tensor.byteSize() == 0 ? emptyBuffer : tensor.rawData();
  const std::size_t bytes = tensor.byteSize();
  if (bound.data == data && bound.bytes == bytes && bound.dtype == dtype && bound.shape == shape &&
      inputValues_[index])
    return;  // the value already wraps exactly this buffer

  const std::string_view what = model_->inputInfos()[index].name;
  // ORT never writes to inputs; the const_cast is for its C signature only.
  Ort::Value value =
      Ort::Value::CreateTensor(cpuMemory_, const_cast<void*>(data), bytes, shape.data(),
                               shape.size(), toOrt(dtype, "input '" + std::string(what) + "'"));
  inputValues_[index] = std::move(value);
  bound.data = data;
  bound.bytes = bytes;
  bound.dtype = dtype;
  bound.shape.assign(shape.begin(), shape.end());
}

Tensors OrtPredictor::collectOutputs(const Tensors& inputs) {
  const std::vector<TensorInfo>& infos = model_->outputInfos();
  std::vector<NamedTensor> outputs;
  outputs.reserve(outputValues_.size());
  for (std::size_t i = 0; i < outputValues_.size(); ++i) {
    const std::string& name = infos[i].name;
    outputs.push_back({name, takeTensor(outputValues_[i], "output '" + name + "'", inputs)});
  }
  return Tensors(std::move(outputs));
}

Tensor OrtPredictor::takeTensor(Ort::Value& value, const std::string& what, const Tensors& inputs) const {
  if (!value.IsTensor())
    throw Error(ErrorCode::Unsupported, what + " is not a tensor; expected one here");
  ONNXTensorElementDataType elementType{};
  Ort::detail::Shape ortShape{};
  value.GetTensorElementTypeAndShapeDataReference(elementType, ortShape);
  const DataType dtype = fromOrt(elementType, what);
  Shape shape(ortShape.shape, ortShape.shape + ortShape.shape_len);

  if (dtype == DataType::String) {
    const std::size_t count = static_cast<std::size_t>(elementCount(shape));
    std::vector<std::string> strings(count);
    if (count > 0) {
      const std::size_t total = value.GetStringTensorDataLength();
      std::string content(total, '\0');
      std::vector<std::size_t> offsets(count);
      value.GetStringTensorContent(content.data(), total, offsets.data(), count);
      for (std::size_t k = 0; k < count; ++k) {
        const std::size_t end = k + 1 < count ? offsets[k + 1] : total;
        strings[k].assign(content, offsets[k], end - offsets[k]);
      }
    }
    value = Ort::Value(nullptr);
    return Tensor::fromStrings(std::move(shape), std::move(strings));
  }

  if (value.GetTensorMemoryInfo().GetDeviceType() != OrtMemoryInfoDeviceType_CPU)
    throw Error(ErrorCode::Unsupported, what + " is not in CPU memory; polyinfer reads outputs on the CPU");
  void* data = value.GetTensorMutableRawData();
  const std::size_t bytes = value.GetTensorSizeInBytes();
  if (bytes != 0 && plugin::overlapsInput(data, bytes, inputs)) {
    // A graph input passed straight through: ORT hands back the caller's
    // own buffer, which its value does not own. Copy it, so that the
    // output does not change or dangle with the caller's input.
    Tensor copy = Tensor::view(dtype, std::move(shape), data, bytes, nullptr).clone();
    value = Ort::Value(nullptr);
    return copy;
  }
  // Zero copy: the view keeps ORT's value (and so its buffer) alive; the
  // moved-from slot is null again, so the next Run allocates afresh.
  auto holder = std::make_shared<Ort::Value>(std::move(value));
  return Tensor::view(dtype, std::move(shape), data, bytes, std::move(holder));
}

Ort::Value OrtPredictor::tensorValue(const Tensor& tensor, const std::string& what) const {
  const Shape& shape = tensor.shape();
  if (tensor.dtype() == DataType::String) {
    // ORT owns string tensors' elements: copy them in (length-exact, so
    // embedded NULs survive).
    const std::vector<std::string>& strings = tensor.strings();
    Ort::AllocatorWithDefaultOptions allocator;
    Ort::Value value = Ort::Value::CreateTensor(allocator, shape.data(), shape.size(),
                                                ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING);
    for (std::size_t k = 0; k < strings.size(); ++k) {
      char* buffer = value.GetResizedStringTensorElementBuffer(k, strings[k].size());
      if (!strings[k].empty()) std::memcpy(buffer, strings[k].data(), strings[k].size());
    }
    return value;
  }
  const void* data = tensor.byteSize() == 0 ? emptyBuffer : tensor.rawData();
  // ORT never writes to inputs; the const_cast is for its C signature only.
  return Ort::Value::CreateTensor(cpuMemory_, const_cast<void*>(data), tensor.byteSize(), shape.data(),
                                  shape.size(), toOrt(tensor.dtype(), what));
}

Ort::Value OrtPredictor::toOrtValue(const Value& value, const std::string& what) const {
  switch (value.kind()) {
    case ValueKind::Tensor: return tensorValue(value.tensor(), what);
    case ValueKind::Map:
      return Ort::Value::CreateMap(tensorValue(value.keys(), what + "'s keys"),
                                   tensorValue(value.values(), what + "'s values"));
    case ValueKind::Sequence: {
      const std::vector<Value>& elements = value.elements();
      if (elements.empty())
        throw Error(ErrorCode::Unsupported,
                    what + ": ONNX Runtime takes no empty sequence as input (its CreateValue needs at "
                           "least one element)");
      std::vector<Ort::Value> items;
      items.reserve(elements.size());
      for (std::size_t i = 0; i < elements.size(); ++i)
        items.push_back(toOrtValue(elements[i], what + " element " + std::to_string(i)));
      return Ort::Value::CreateSequence(items);
    }
    case ValueKind::Optional:
      // ORT takes an optional's value as the value itself (an empty one is
      // left out by the caller).
      return toOrtValue(value.contained(), what);
  }
  throw Error(ErrorCode::Internal, what + ": unknown value kind");
}

Value OrtPredictor::fromOrtValue(Ort::Value& value, const ValueType& type, const std::string& what,
                                const Tensors& inputs) const {
  switch (type.kind) {
    case ValueKind::Tensor: return takeTensor(value, what, inputs);
    case ValueKind::Optional:
      if (!value || !value.HasValue()) return Value::none();
      return Value::optional(fromOrtValue(value, type.elementType(), what, inputs));
    case ValueKind::Sequence: {
      if (value.IsTensor())
        throw Error(ErrorCode::EngineFailure, what + ": expected a sequence from ONNX Runtime, got a tensor");
      Ort::AllocatorWithDefaultOptions allocator;
      const std::size_t count = value.GetCount();
      std::vector<Value> elements;
      elements.reserve(count);
      for (std::size_t k = 0; k < count; ++k) {
        Ort::Value element = value.GetValue(static_cast<int>(k), allocator);
        elements.push_back(
            fromOrtValue(element, type.elementType(), what + " element " + std::to_string(k), Tensors()));
      }
      return Value::sequence(std::move(elements));
    }
    case ValueKind::Map: {
      if (value.IsTensor())
        throw Error(ErrorCode::EngineFailure, what + ": expected a map from ONNX Runtime, got a tensor");
      Ort::AllocatorWithDefaultOptions allocator;
      Ort::Value keys = value.GetValue(0, allocator);
      Ort::Value values = value.GetValue(1, allocator);
      return Value::map(takeTensor(keys, what + "'s keys", Tensors()),
                        takeTensor(values, what + "'s values", Tensors()));
    }
  }
  throw Error(ErrorCode::Internal, what + ": unknown value kind");
}

Values OrtPredictor::predictValues(const Values& inputs) {
  const std::vector<ValueInfo>& inputInfos = model_->inputValueInfos();
  const std::vector<ValueInfo>& outputInfos = model_->outputValueInfos();
  try {
    if (inputs.size() != inputInfos.size())
      throw Error(ErrorCode::InvalidArgument, "expected " + std::to_string(inputInfos.size()) +
                                                  " inputs, got " + std::to_string(inputs.size()));
    std::vector<const char*> names;
    std::vector<Ort::Value> values;
    Tensors direct;  // input tensors ORT may hand back as outputs (not copied into a container)
    names.reserve(inputs.size());
    values.reserve(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const Value& value = inputs[i].value;
      if (value.kind() == ValueKind::Optional && !value.hasValue()) continue;
      const Value& plain = value.kind() == ValueKind::Optional ? value.contained() : value;
      if (plain.isTensor()) direct.add(plain.tensor());
      names.push_back(model_->inputNames()[i]);
      values.push_back(toOrtValue(value, "input '" + inputInfos[i].name + "'"));
    }
    std::vector<Ort::Value> outputs;
    outputs.reserve(outputInfos.size());
    for (std::size_t i = 0; i < outputInfos.size(); ++i) outputs.emplace_back(nullptr);
    model_->session().Run(runOptions_, names.data(), values.data(), values.size(),
                          model_->outputNames().data(), outputs.data(), outputs.size());
    values.clear();
    std::vector<NamedValue> results;
    results.reserve(outputs.size());
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const std::string& name = outputInfos[i].name;
      results.push_back({name, fromOrtValue(outputs[i], outputInfos[i].type, "output '" + name + "'", direct)});
    }
    return Values(std::move(results));
  } catch (...) {
    rethrowAsError(Phase::Run, model_->label() + ": run failed");
  }
}

void OrtPredictor::releaseStringInputs() noexcept {
  // String inputs are copies; do not keep them alive until the next call.
  for (std::size_t i = 0; i < bound_.size(); ++i)
    if (bound_[i].data == nullptr) inputValues_[i] = Ort::Value(nullptr);
}

void OrtPredictor::releaseOutputs() noexcept {
  for (Ort::Value& value : outputValues_) value = Ort::Value(nullptr);
}

}  // namespace polyinfer::ort
