#include "tf_predictor.hpp"

#include <cstdint>
#include <cstring>

#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::tf {

namespace {

// TF_NewTensor wants a buffer even for an empty tensor; nothing reads it.
alignas(64) unsigned char emptyBuffer[64];

/// The caller keeps its input buffers alive for the whole call, and every
/// TF_Tensor over them is deleted before predict returns (an output that
/// shares one is copied first), so there is nothing to free.
void keepCallerBuffer(void*, std::size_t, void*) {}

Shape shapeOf(const Api& tf, const TF_Tensor* tensor) {
  Shape shape(static_cast<std::size_t>(tf.TF_NumDims(tensor)));
  for (std::size_t d = 0; d < shape.size(); ++d) shape[d] = tf.TF_Dim(tensor, static_cast<int>(d));
  return shape;
}

}  // namespace

TfPredictor::TfPredictor(std::shared_ptr<const TfModel> model)
    : model_(std::move(model)),
      inputValues_(model_->inputPorts().size(), nullptr),
      outputValues_(model_->outputPorts().size(), nullptr) {}

TfPredictor::~TfPredictor() { release(); }

Tensors TfPredictor::predict(const Tensors& inputs) {
  const Api& tf = api();
  try {
    if (inputs.size() != inputValues_.size())
      throw Error(ErrorCode::InvalidArgument, "expected " + std::to_string(inputValues_.size()) +
                                                  " inputs, got " + std::to_string(inputs.size()));
    for (std::size_t i = 0; i < inputs.size(); ++i) inputValues_[i] = makeInput(i, inputs[i].tensor);
    tf.TF_SessionRun(model_->session(), nullptr, model_->inputPorts().data(), inputValues_.data(),
                     static_cast<int>(inputValues_.size()), model_->outputPorts().data(),
                     outputValues_.data(), static_cast<int>(outputValues_.size()), nullptr, 0,
                     nullptr, status_.get());
    status_.throwIfError(model_->label() + ": run failed");
    Tensors outputs = collectOutputs(inputs);
    release();
    return outputs;
  } catch (...) {
    // Leave nothing half-done behind: the next call starts clean.
    release();
    plugin::rethrowAsError(kEngineName, model_->label() + ": run failed", ErrorCode::EngineFailure);
  }
}

TF_Tensor* TfPredictor::makeInput(std::size_t index, const Tensor& tensor) {
  const Api& tf = api();
  const SignatureTensor& declared = model_->signature().inputs[index];
  const std::string& name = declared.info.name;
  // The core has checked the tensor against the declared dtype, which came
  // from this TensorFlow type: no lookup (and no message text) per call.
  const auto dtype = static_cast<TF_DataType>(declared.tfDtype);
  const Shape& shape = tensor.shape();
  const int rank = static_cast<int>(shape.size());

  if (dtype == TF_STRING) {
    const std::vector<std::string>& strings = tensor.strings();
    TF_Tensor* value =
        tf.TF_AllocateTensor(TF_STRING, shape.data(), rank, strings.size() * sizeof(TF_TString));
    if (value == nullptr)
      throw Error(ErrorCode::ResourceExhausted,
                  std::string(kEngineName) + ": input '" + name + "': cannot allocate a string tensor");
    auto* elements = static_cast<TF_TString*>(tf.TF_TensorData(value));
    for (std::size_t k = 0; k < strings.size(); ++k) {
      tf.TF_StringInit(&elements[k]);
      tf.TF_StringCopy(&elements[k], strings[k].data(), strings[k].size());
    }
    return value;
  }

  const std::size_t bytes = tensor.byteSize();
  // TensorFlow never writes to a fed tensor while this TF_Tensor holds a
  // reference to it (its kernels reuse an input buffer only when nothing else
  // does); the const_cast is for the C signature only.
  void* data = bytes == 0 ? emptyBuffer : const_cast<void*>(tensor.rawData());
  TF_Tensor* value = tf.TF_NewTensor(dtype, shape.data(), rank, data, bytes, &keepCallerBuffer, nullptr);
  if (value == nullptr)
    throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": input '" + name +
                                                "': TensorFlow refused " + tensor.describe());
  return value;
}

Tensors TfPredictor::collectOutputs(const Tensors& inputs) {
  const Api& tf = api();
  std::vector<NamedTensor> outputs;
  outputs.reserve(outputValues_.size());
  for (std::size_t i = 0; i < outputValues_.size(); ++i) {
    TF_Tensor* value = outputValues_[i];
    const SignatureTensor& declared = model_->signature().outputs[i];
    const std::string& name = declared.info.name;
    if (value == nullptr)
      throw Error(ErrorCode::EngineFailure,
                  std::string(kEngineName) + ": output '" + name + "': TensorFlow returned none");
    // Checked at load against the graph; a run cannot change it, but the
    // bytes handed out must be what the dtype says.
    if (static_cast<int>(tf.TF_TensorType(value)) != declared.tfDtype)
      throw Error(ErrorCode::EngineFailure,
                  std::string(kEngineName) + ": output '" + name + "': TensorFlow returned " +
                      tfTypeName(tf.TF_TensorType(value)) + ", the signature declares " +
                      tfTypeName(declared.tfDtype));
    const DataType dtype = declared.info.dtype;
    Shape shape = shapeOf(tf, value);

    if (dtype == DataType::String) {
      const std::size_t count = static_cast<std::size_t>(elementCount(shape));
      const auto* elements = static_cast<const TF_TString*>(tf.TF_TensorData(value));
      std::vector<std::string> strings(count);
      for (std::size_t k = 0; k < count; ++k)
        strings[k].assign(tf.TF_StringGetDataPointer(&elements[k]), tf.TF_StringGetSize(&elements[k]));
      outputs.push_back({name, Tensor::fromStrings(std::move(shape), std::move(strings))});
      continue;  // release() deletes the TF_Tensor
    }

    void* data = tf.TF_TensorData(value);
    const std::size_t bytes = tf.TF_TensorByteSize(value);
    if (bytes != 0 && plugin::overlapsInput(data, bytes, inputs)) {
      // A graph input passed straight through: TensorFlow hands back the
      // caller's own buffer. Copy it, so that the output neither changes nor
      // dangles with the caller's input.
      outputs.push_back({name, Tensor::view(dtype, std::move(shape), data, bytes, nullptr).clone()});
      continue;
    }
    // Zero copy: the view owns the TF_Tensor from here on.
    std::shared_ptr<TF_Tensor> holder(value, [](TF_Tensor* t) { api().TF_DeleteTensor(t); });
    outputValues_[i] = nullptr;
    outputs.push_back({name, Tensor::view(dtype, std::move(shape), data, bytes, std::move(holder))});
  }
  return Tensors(std::move(outputs));
}

void TfPredictor::release() noexcept {
  const Api& tf = api();
  for (TF_Tensor*& value : inputValues_) {
    if (value != nullptr) tf.TF_DeleteTensor(value);
    value = nullptr;
  }
  for (TF_Tensor*& value : outputValues_) {
    if (value != nullptr) tf.TF_DeleteTensor(value);
    value = nullptr;
  }
}

}  // namespace polyinfer::tf
