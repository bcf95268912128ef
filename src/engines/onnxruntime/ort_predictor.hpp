// OrtPredictor: per-thread state for running a shared OrtModel.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <memory>
#include <string>
#include <vector>

#include "ort_model.hpp"
#include "polyinfer/plugin.hpp"

namespace polyinfer::ort {

/// Binds the caller's input buffers to ORT without copying and hands ORT's
/// output buffers out as Tensor views without copying. Everything reusable
/// between calls (run options, the value arrays, the last input bindings) is
/// kept here, so a call with the same input buffers as the previous one
/// allocates only what the returned Tensors need.
class OrtPredictor final : public plugin::EnginePredictor {
 public:
  explicit OrtPredictor(std::shared_ptr<const OrtModel> model);

  Tensors predict(const Tensors& inputs) override;
  /// ONNX Runtime's run-level profiler (RunOptions::EnableProfiling): one
  /// trace file per run in a temporary directory, read back and removed.
  /// Operators are the "Node" events' op_name; their kernel time is the time.
  std::optional<OperatorProfile> profile(const Tensors& inputs, int iterations) override;
  /// Sequences, maps and optionals both ways. Input tensors (also inside a
  /// sequence or map) are wrapped without copying where ORT allows; ORT
  /// copies a sequence's or map's elements into its own containers, and hands
  /// out copies of them on output. An empty optional input is left out of
  /// the run, which is how ORT takes "None".
  Values predictValues(const Values& inputs) override;

 private:
  /// What inputValues_[i] was built from. A value that wraps the caller's
  /// buffer holds nothing but these, so it is reused while they are unchanged.
  struct BoundInput {
    const void* data = nullptr;  ///< nullptr: not reusable (none yet, or a string tensor)
    std::size_t bytes = 0;
    DataType dtype = DataType::Undefined;
    Shape shape;
  };

  void bindInputs(const Tensors& inputs);
  void bindInput(std::size_t index, const Tensor& tensor);
  Tensors collectOutputs(const Tensors& inputs);
  void releaseStringInputs() noexcept;
  /// An OrtValue over `tensor`: a view of its buffer, or for strings a copy.
  Ort::Value tensorValue(const Tensor& tensor, const std::string& what) const;
  Ort::Value toOrtValue(const Value& value, const std::string& what) const;
  /// The Tensor of an output tensor value, taking it over (zero copy unless
  /// it aliases one of `inputs`, or holds strings).
  Tensor takeTensor(Ort::Value& value, const std::string& what, const Tensors& inputs) const;
  /// The polyinfer value of an output of declared `type`, taking it over.
  /// `inputs`: the caller's tensors a tensor output may alias.
  Value fromOrtValue(Ort::Value& value, const ValueType& type, const std::string& what,
                     const Tensors& inputs) const;
  void releaseOutputs() noexcept;

  std::shared_ptr<const OrtModel> model_;
  Ort::MemoryInfo cpuMemory_{nullptr};
  Ort::RunOptions runOptions_{nullptr};
  std::vector<BoundInput> bound_;
  std::vector<Ort::Value> inputValues_;   // what Run reads, in model order
  std::vector<Ort::Value> outputValues_;  // null before Run: ORT allocates them
  std::vector<const char*> stringScratch_;
};

}  // namespace polyinfer::ort
