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
    inputValues_[index] = std::move(value);
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
    Ort::Value& value = outputValues_[i];
    const std::string& name = infos[i].name;
    if (!value.IsTensor())
      throw Error(ErrorCode::Unsupported,
                  "output '" + name + "' is not a tensor; polyinfer handles tensors only");
    ONNXTensorElementDataType elementType{};
    Ort::detail::Shape ortShape{};
    value.GetTensorElementTypeAndShapeDataReference(elementType, ortShape);
    const DataType dtype = fromOrt(elementType, "output '" + name + "'");
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
      outputs.push_back({name, Tensor::fromStrings(std::move(shape), std::move(strings))});
      continue;
    }

    if (value.GetTensorMemoryInfo().GetDeviceType() != OrtMemoryInfoDeviceType_CPU)
      throw Error(ErrorCode::Unsupported,
                  "output '" + name + "' is not in CPU memory; polyinfer reads outputs on the CPU");
    void* data = value.GetTensorMutableRawData();
    const std::size_t bytes = value.GetTensorSizeInBytes();
    if (bytes != 0 && plugin::overlapsInput(data, bytes, inputs)) {
      // A graph input passed straight through: ORT hands back the caller's
      // own buffer, which its value does not own. Copy it, so that the
      // output does not change or dangle with the caller's input.
      Tensor copy = Tensor::view(dtype, std::move(shape), data, bytes, nullptr).clone();
      value = Ort::Value(nullptr);
      outputs.push_back({name, std::move(copy)});
      continue;
    }
    // Zero copy: the view keeps ORT's value (and so its buffer) alive; the
    // moved-from slot is null again, so the next Run allocates afresh.
    auto holder = std::make_shared<Ort::Value>(std::move(value));
    outputs.push_back({name, Tensor::view(dtype, std::move(shape), data, bytes, std::move(holder))});
  }
  return Tensors(std::move(outputs));
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
