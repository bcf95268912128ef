#include "mx_predictor.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>

#include "mx_common.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::mx {

namespace {

constexpr int kCpu = 1;  // c_predict_api's dev_type

/// A number for the calling thread, never reused (a std::thread::id may be
/// reused once its thread has ended).
std::uint64_t threadSerial() {
  static std::atomic<std::uint64_t> next{0};
  thread_local const std::uint64_t serial = ++next;
  return serial;
}

/// The CSR form of shapes MXNet's predictor takes.
struct ShapeArrays {
  std::vector<uint32_t> offsets{0};
  std::vector<uint32_t> dims;
};

ShapeArrays shapeArrays(const std::vector<Shape>& shapes) {
  ShapeArrays arrays;
  for (const Shape& shape : shapes) {
    for (int64_t dim : shape) arrays.dims.push_back(static_cast<uint32_t>(dim));
    arrays.offsets.push_back(static_cast<uint32_t>(arrays.dims.size()));
  }
  return arrays;
}

}  // namespace

MxInstance::~MxInstance() {
  if (handle != nullptr) api().MXPredFree(handle);
}

void MxInstance::bind(const ModelSource& source, const std::vector<TensorInfo>& inputs,
                      const std::vector<Shape>& newShapes, const std::vector<DataType>& newDtypes) {
  const Api& mx = api();
  // The inputs first (their dtypes follow), then the parameters' shapes.
  std::vector<const char*> names;
  std::vector<Shape> allShapes = newShapes;
  for (const TensorInfo& input : inputs) names.push_back(input.name.c_str());
  for (const auto& [name, shape] : source.paramShapes) {
    names.push_back(name.c_str());
    allShapes.push_back(shape);
  }
  const ShapeArrays arrays = shapeArrays(allShapes);
  const auto count = static_cast<uint32_t>(names.size());
  const auto inputCount = static_cast<uint32_t>(inputs.size());
  std::string described;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    described += (i > 0 ? ", " : "") + inputs[i].name + " " + std::string(toString(newDtypes[i])) +
                 toString(newShapes[i]);
  const std::string context = source.label + ": cannot bind MXNet's executor for " +
                              (described.empty() ? std::string("no inputs") : described);

  PredictorHandle bound = nullptr;
  std::lock_guard<std::mutex> lock(graphBuildMutex());
  if (handle != nullptr && newDtypes == dtypes) {
    // Shares the parameters of the current executor; only activations are
    // planned again.
    check(mx.MXPredReshape(count, names.data(), arrays.offsets.data(), arrays.dims.data(), handle,
                           &bound),
          context, ErrorCode::InvalidArgument);
  } else {
    std::vector<int> codes;
    for (DataType dtype : newDtypes) codes.push_back(toMx(dtype));
    check(mx.MXPredCreateEx(source.symbolJson.c_str(), source.params->data(),
                            static_cast<int>(source.params->size()), kCpu, 0, count, names.data(),
                            arrays.offsets.data(), arrays.dims.data(), inputCount, names.data(),
                            codes.data(), &bound),
          context, ErrorCode::InvalidArgument);
  }
  if (handle != nullptr) mx.MXPredFree(handle);
  handle = bound;
  shapes = newShapes;
  dtypes = newDtypes;
}

MxPredictor::MxPredictor(std::shared_ptr<const MxModel> model, std::unique_ptr<MxInstance> instance)
    : model_(std::move(model)),
      instance_(std::move(instance)),
      outputCodes_(model_->outputInfos().size(), -1) {}

Tensors MxPredictor::predict(const Tensors& inputs) {
  const Api& mx = api();
  const std::vector<TensorInfo>& infos = model_->inputInfos();
  const ModelSource& source = model_->source();
  try {
    if (inputs.size() != infos.size())
      throw Error(ErrorCode::InvalidArgument, "expected " + std::to_string(infos.size()) +
                                                  " inputs, got " + std::to_string(inputs.size()));
    shapes_.resize(inputs.size());
    dtypes_.resize(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& tensor = inputs[i].tensor;
      if (toMx(tensor.dtype()) < 0) requireMx(tensor.dtype(), "input '" + infos[i].name + "'");
      // Legacy MXNet reads a dimension of 0, or a rank of 0, as "unknown".
      if (tensor.rank() == 0 || tensor.elementCount() == 0 ||
          tensor.elementCount() > std::numeric_limits<uint32_t>::max())
        throw Error(ErrorCode::Unsupported,
                    std::string(kEngineName) + ": input '" + infos[i].name + "' is " + tensor.describe() +
                        "; MXNet's predict API takes tensors of rank >= 1 with 1 to 2^32-1 "
                        "elements (it reads a dimension of 0 as unknown)");
      shapes_[i] = tensor.shape();
      dtypes_[i] = tensor.dtype();
    }
    if (instance_->handle == nullptr || shapes_ != instance_->shapes || dtypes_ != instance_->dtypes)
      instance_->bind(source, infos, shapes_, dtypes_);

    if (const std::uint64_t thread = threadSerial(); thread != lastThread_) {
      lastThread_ = thread;
      model_->noteThread(thread);
    }
    // OpenMP's thread count belongs to the calling thread: set it on each
    // call, since a predictor may move between threads.
    checkLazy(mx.MXSetNumOMPThreads(source.intraOpThreads),
              [] { return std::string("cannot set MXNet's OpenMP threads"); });
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& tensor = inputs[i].tensor;
      // The pointer's type is the C API's; MXNet copies elements of the dtype
      // the executor was bound with, which is the tensor's.
      checkLazy(mx.MXPredSetInput(instance_->handle, infos[i].name.c_str(),
                                  static_cast<const float*>(tensor.rawData()),
                                  static_cast<uint32_t>(tensor.elementCount())),
                [&] { return source.label + ": input '" + infos[i].name + "'"; },
                ErrorCode::InvalidArgument);
    }
    checkLazy(mx.MXPredForward(instance_->handle), [&] { return source.label + ": run failed"; });
    return collectOutputs();
  } catch (...) {
    plugin::rethrowAsError(kEngineName, source.label + ": run failed", ErrorCode::EngineFailure);
  }
}

Tensors MxPredictor::collectOutputs() {
  const Api& mx = api();
  const std::vector<TensorInfo>& infos = model_->outputInfos();
  std::vector<NamedTensor> outputs;
  outputs.reserve(infos.size());
  for (std::size_t i = 0; i < infos.size(); ++i) {
    const auto index = static_cast<uint32_t>(i);
    auto what = [&] { return model_->source().label + ": output '" + infos[i].name + "'"; };
    uint32_t* dims = nullptr;
    uint32_t ndim = 0;
    checkLazy(mx.MXPredGetOutputShape(instance_->handle, index, &dims, &ndim), what);
    Shape shape(dims, dims + ndim);
    // MXNet 1.9's MXPredGetOutputType writes out_dtype[out_index], not
    // *out_dtype: it gets an array with a slot for every output.
    std::fill(outputCodes_.begin(), outputCodes_.end(), -1);
    checkLazy(mx.MXPredGetOutputType(instance_->handle, index, outputCodes_.data()), what);
    const int code = outputCodes_[i];
    const DataType dtype = fromMx(code);
    if (dtype == DataType::Undefined)
      throw Error(ErrorCode::Unsupported, std::string(kEngineName) + ": " + what() + " is " +
                                              mxTypeName(code) +
                                              ", which polyinfer's mxnet engine cannot return");
    Tensor tensor = Tensor::allocate(dtype, std::move(shape));
    if (tensor.elementCount() > std::numeric_limits<uint32_t>::max())
      throw Error(ErrorCode::Unsupported, std::string(kEngineName) + ": " + what() + " has " +
                                              std::to_string(tensor.elementCount()) +
                                              " elements; MXNet's predict API returns at most 2^32-1");
    if (tensor.elementCount() > 0)
      checkLazy(mx.MXPredGetOutput(instance_->handle, index,
                                   static_cast<float*>(tensor.mutableRawData()),
                                   static_cast<uint32_t>(tensor.elementCount())),
                what);
    outputs.push_back({infos[i].name, std::move(tensor)});
  }
  return Tensors(std::move(outputs));
}

}  // namespace polyinfer::mx
