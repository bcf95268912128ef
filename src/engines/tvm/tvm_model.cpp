#include "tvm_model.hpp"

#include <tvm/ffi/container/array.h>
#include <tvm/ffi/container/tensor.h>

#include <cstdint>
#include <string>
#include <utility>

#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"
#include "tvm_common.hpp"
#include "tvm_cpu.hpp"
#include "tvm_module_file.hpp"
#include "tvm_settings.hpp"
#include "tvm_signature.hpp"

namespace polyinfer::tvm_engine {

namespace {

namespace ffi = tvm::ffi;

/// What TVM's generated code assumes of a tensor's data (kAllocAlignment):
/// an input not aligned so is copied into storage that is.
constexpr std::uintptr_t kTvmAlignment = 64;

/// Lends a caller's buffer to TVM without copying: the tensor's data is the
/// buffer, and freeing the tensor frees nothing.
struct BorrowedData {
  void* data;
  void AllocData(DLTensor* tensor) { tensor->data = data; }
  void FreeData(DLTensor*) {}
};

std::string describeInfos(const std::vector<TensorInfo>& infos) {
  std::string text;
  for (const TensorInfo& info : infos) text += (text.empty() ? "" : ", ") + info.name + " " + info.describe();
  return text.empty() ? "none" : text;
}

bool sameInfo(const TensorInfo& a, const TensorInfo& b) {
  return a.name == b.name && a.dtype == b.dtype && a.rankKnown == b.rankKnown &&
         (!a.rankKnown || a.shape == b.shape);
}

/// Refuses a module compiled for a CPU with features this host lacks (its
/// code would die of SIGILL); the config entry says what was checked.
ConfigEntry checkCpu(const std::optional<SignatureFile>& file, const std::string& label) {
  if (!file || !file->hasTargetFeatures)
    return {"cpu_check", "not done", ValueSource::Default,
            "no signature file with the target's CPU features: a module compiled for a CPU "
            "with instructions this host lacks fails at its first call"};
  std::vector<std::string> unknown;
  const std::vector<std::string> missing = missingCpuFeatures(file->targetFeatures, unknown);
  const std::string cpu = file->targetCpu.empty() ? std::string("an unnamed CPU") : file->targetCpu;
  if (!missing.empty())
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": " + label + ": compiled for " + cpu +
                    ", whose instructions this host's CPU lacks (" + plugin::join(missing) +
                    "); its code would stop the process with an illegal instruction: compile it "
                    "for this host (tools/gen_tvm_models.py uses the host's CPU)");
  return {"cpu_check", "passed", ValueSource::Default,
          "compiled for " + cpu + "; every feature it may use is on this host" +
              (unknown.empty() ? std::string()
                               : " (not checked, unknown here: " + plugin::join(unknown) + ")")};
}

class TvmPredictor final : public plugin::EnginePredictor {
 public:
  TvmPredictor(std::shared_ptr<const TvmModel> model, std::unique_ptr<TvmInstance> instance)
      : model_(std::move(model)), instance_(std::move(instance)) {}

  Tensors predict(const Tensors& inputs) override {
    Tensors aligned;  // copies of inputs TVM cannot borrow
    std::vector<ffi::Tensor> arguments;
    arguments.reserve(inputs.size());
    for (const NamedTensor& input : inputs) {
      const Tensor* tensor = &input.tensor;
      DLDataType dtype{};
      if (!toDl(tensor->dtype(), dtype))
        plugin::throwUnsupportedDType(kEngineName, "input '" + input.name + "'", tensor->dtype(),
                                      kLibraryName);
      if (reinterpret_cast<std::uintptr_t>(tensor->rawData()) % kTvmAlignment != 0) {
        aligned.add(input.name, tensor->clone());
        tensor = &aligned[aligned.size() - 1].tensor;
      }
      arguments.push_back(ffi::Tensor::FromNDAlloc(
          BorrowedData{const_cast<void*>(tensor->rawData())},
          ffi::ShapeView(tensor->shape().data(), tensor->shape().size()), dtype,
          DLDevice{kDLCPU, 0}));
    }
    std::vector<ffi::AnyView> views(arguments.begin(), arguments.end());
    ffi::Any result;
    try {
      instance_->function.CallPacked(views.data(), static_cast<int32_t>(views.size()), &result);
    } catch (...) {
      rethrowTvm(model_->label() + ": the call failed", ErrorCode::EngineFailure);
    }
    Tensors outputs;
    collect(std::move(result), inputs, outputs);
    return outputs;
  }

 private:
  /// Appends the result's tensors, a tuple's depth first, named after the
  /// declared outputs (output_K beyond them).
  void collect(ffi::Any value, const Tensors& inputs, Tensors& outputs) const {
    if (std::optional<ffi::Array<ffi::Any>> tuple = value.try_cast<ffi::Array<ffi::Any>>()) {
      for (const ffi::Any& item : *tuple) collect(item, inputs, outputs);
      return;
    }
    std::optional<ffi::Tensor> tensor = value.try_cast<ffi::Tensor>();
    if (!tensor)
      throw Error(ErrorCode::Unsupported, std::string(kEngineName) + ": " + model_->label() +
                                              ": the function returned a " + value.GetTypeKey() +
                                              "; polyinfer reads tensors and tuples of them");
    const std::size_t index = outputs.size();
    const std::vector<TensorInfo>& declared = model_->outputInfos();
    std::string name = index < declared.size() ? declared[index].name : "output_" + std::to_string(index);
    const DLTensor* dl = tensor->GetDLTensorPtr();
    const DataType dtype = fromDl(dl->dtype);
    if (dtype == DataType::Undefined)
      throw Error(ErrorCode::Unsupported, std::string(kEngineName) + ": " + model_->label() +
                                              ": output '" + name + "' has dtype " +
                                              dlTypeName(dl->dtype) + ", which polyinfer has not");
    if (dl->device.device_type != kDLCPU || !tensor->IsContiguous())
      throw Error(ErrorCode::Unsupported, std::string(kEngineName) + ": " + model_->label() +
                                              ": output '" + name +
                                              "' is not a dense tensor in CPU memory");
    Shape shape(dl->shape, dl->shape + dl->ndim);
    void* data = static_cast<char*>(dl->data) + dl->byte_offset;
    const std::size_t bytes = denseByteSize(dtype, elementCount(shape));
    // The VM hands out its own storage, kept alive by the tensor: a view.
    // An output that is an input (an identity) is the caller's buffer: a copy.
    Tensor view = Tensor::view(dtype, std::move(shape), data, bytes,
                               std::make_shared<ffi::Tensor>(std::move(*tensor)));
    outputs.add(std::move(name), plugin::overlapsInput(data, bytes, inputs) ? view.clone() : view);
  }

  std::shared_ptr<const TvmModel> model_;
  std::unique_ptr<TvmInstance> instance_;
};

}  // namespace

TvmModel::TvmModel(const plugin::LoadRequest& request)
    : label_("model '" + request.location.describe() + "'") {
  runtime();
  plugin::parseDevice(kEngineName, request.device, {"cpu"},
                      "the tvm engine runs modules compiled for the CPU (llvm targets)");
  if (!request.bytes)
    throw Error(ErrorCode::Internal, std::string(kEngineName) +
                                         ": no model bytes in LoadRequest::bytes (the engine is "
                                         "not re-entrant: the core reads the files)");
  Settings settings = resolveSettings(request);
  function_ = settings.function;
  config_ = std::move(settings.entries);

  // The signature file first: the CPU the module was compiled for is
  // checked before any of its code is loaded.
  const auto companion = request.location.companions.find("signature");
  std::optional<SignatureFile> file;
  std::string signaturePath;
  if (companion != request.location.companions.end()) {
    const auto read = request.bytes->companions.find("signature");
    if (read == request.bytes->companions.end())
      throw Error(ErrorCode::Internal, std::string(kEngineName) + ": the core found '" +
                                           companion->second.string() + "' but passed no bytes for it");
    signaturePath = companion->second.string();
    file = parseSignatureFile(read->second, signaturePath);
  }
  config_.push_back(checkCpu(file, label_));

  const std::vector<std::uint8_t>& bytes = request.bytes->main;
  checkModuleFile(bytes, label_);
  executable_ = loadModuleFromBytes(bytes, label_);
  std::string stats;
  try {
    std::lock_guard<std::mutex> lock(tvmStateMutex());
    const std::string kind = (*executable_)->kind();
    if (kind != "relax.VMExecutable")
      throw Error(ErrorCode::InvalidArgument,
                  std::string(kEngineName) + ": " + label_ +
                      ": expected a Relax VM executable (relax.build's export_library), got a "
                      "TVM module of kind '" + kind + "'");
    if (auto statsFunction = (*executable_)->GetFunction("stats"))
      stats = (*statsFunction)().cast<std::string>();
  } catch (...) {
    rethrowTvm(label_ + ": cannot read the module", ErrorCode::InvalidArgument);
  }
  first_ = makeInstance();

  // The signature: names from the virtual machine, shapes and dtypes from
  // the executable's argument checks.
  std::vector<std::string> names;
  try {
    std::lock_guard<std::mutex> lock(tvmStateMutex());
    const ffi::Function arity = *first_->vm->GetFunction("get_function_arity");
    const ffi::Function paramName = *first_->vm->GetFunction("get_function_param_name");
    const int count = arity(function_).cast<int>();
    for (int i = 0; i < count; ++i) names.push_back(paramName(function_, i).cast<std::string>());
  } catch (...) {
    rethrowTvm(label_ + ": cannot read function '" + function_ + "''s parameters",
               ErrorCode::InvalidArgument);
  }
  const std::vector<TensorInfo> checked = declaredInputs(stats, function_);
  for (const std::string& name : names) {
    TensorInfo info;
    info.name = name;
    for (const TensorInfo& known : checked)
      if (known.name == name) info = known;
    inputs_.push_back(std::move(info));
  }

  std::string signatureDetail = "none: outputs named output_K, known after a call";
  if (file) {
    if (file->inputs.size() != inputs_.size() ||
        !std::equal(file->inputs.begin(), file->inputs.end(), inputs_.begin(),
                    [](const TensorInfo& a, const TensorInfo& b) {
                      return a.name == b.name && (b.dtype == DataType::Undefined || sameInfo(a, b));
                    }))
      throw Error(ErrorCode::InvalidArgument,
                  std::string(kEngineName) + ": signature file '" + signaturePath +
                      "' does not match " + label_ + ": it declares inputs " +
                      describeInfos(file->inputs) + ", the module's function '" + function_ +
                      "' takes " + describeInfos(inputs_));
    inputs_ = std::move(file->inputs);
    outputs_ = std::move(file->outputs);
    signatureDetail = signaturePath;
  }
  config_.push_back({"signature", file ? "file" : "module", ValueSource::Default, signatureDetail});
  config_.push_back({"instances", "one Relax VM per predictor", ValueSource::Default,
                     "the module is loaded once; each predictor runs its own virtual machine"});
}

std::unique_ptr<TvmInstance> TvmModel::makeInstance() const {
  try {
    std::lock_guard<std::mutex> lock(tvmStateMutex());
    auto load = (*executable_)->GetFunction("vm_load_executable");
    if (!load)
      throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": " + label_ +
                                                  ": the executable has no vm_load_executable");
    ffi::Module vm = (*load)().cast<ffi::Module>();
    // CPU, pooled allocator (kPooled = 2), for the device and the host.
    constexpr int kPooled = 2;
    (*vm->GetFunction("vm_initialization"))(static_cast<int>(kDLCPU), 0, kPooled,
                                            static_cast<int>(kDLCPU), 0, kPooled);
    auto function = vm->GetFunction(function_);
    if (!function)
      throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": " + label_ +
                                                  ": the module has no function '" + function_ +
                                                  "' (option function)");
    return std::make_unique<TvmInstance>(std::move(vm), std::move(*function));
  } catch (...) {
    rethrowTvm(label_ + ": cannot make a virtual machine", ErrorCode::EngineFailure);
  }
}

std::unique_ptr<plugin::NativeInstance> TvmModel::createInstance() const {
  {
    std::lock_guard<std::mutex> lock(instanceMutex_);
    if (first_) return std::move(first_);
  }
  return makeInstance();
}

std::unique_ptr<plugin::EnginePredictor> TvmModel::createPredictor(
    std::unique_ptr<plugin::NativeInstance> instance) const {
  auto* own = dynamic_cast<TvmInstance*>(instance.get());
  if (own == nullptr)
    throw Error(ErrorCode::Internal, std::string(kEngineName) + ": createPredictor was given an "
                                                                "instance this model did not make");
  instance.release();
  return std::make_unique<TvmPredictor>(shared_from_this(), std::unique_ptr<TvmInstance>(own));
}

}  // namespace polyinfer::tvm_engine
