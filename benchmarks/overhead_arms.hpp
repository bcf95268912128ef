// The two sides ("arms") of the overhead benchmark: polyinfer's
// Predictor::predict, and the same engine's own C++ API called directly.
//
// The direct arms live in their own translation units (direct_onnxruntime.cpp,
// direct_torch.cpp, direct_tensorflow.cpp), the only ones that include an
// engine's headers; each is compiled only when that engine's plugin is built,
// into the program that runs that engine (benchmarks/CMakeLists.txt).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace polyinfer_bench {

/// One way of running one loaded model on one prepared input.
class Arm {
 public:
  virtual ~Arm() = default;
  /// One inference call, the timed unit: whatever a user of this API does per
  /// call with an input that is already in memory, up to a pointer to the
  /// output's data. Returns the output's first element (a sink for the caller,
  /// so that nothing can be optimised away).
  virtual float call() = 0;
  /// One call, with the whole first output copied out (for the sanity check
  /// that both arms compute the same thing; not timed).
  virtual std::vector<float> output() = 0;
  /// The settings this arm runs with, one line.
  virtual std::string describe() const = 0;
};

/// What a direct arm needs: the model file, the input (owned by the caller,
/// shared with the polyinfer arm, never copied) and the thread settings
/// polyinfer was given.
struct DirectSpec {
  std::filesystem::path modelFile;  ///< a file, or TensorFlow's SavedModel directory
  std::vector<int64_t> shape;
  /// TensorFlow only: the serving signature's graph tensors, as
  /// saved_model_cli shows them ("serving_default_x:0", "PartitionedCall:0").
  std::string inputTensor, outputTensor;
  float* input = nullptr;
  std::size_t elementCount = 0;
  int intraOpThreads = 1;
  int interOpThreads = 1;
  /// ONNX Runtime's session.intra_op.allow_spinning: -1 ORT's default (not
  /// set), 0 off, 1 on. Ignored by other engines.
  int ortSpinning = -1;
};

#if POLYINFER_BENCH_HAVE_ONNXRUNTIME
/// An Ort::Session made with exactly the session options polyinfer's plugin
/// makes from the options the benchmark passes it (see direct_onnxruntime.cpp).
std::unique_ptr<Arm> makeDirectOnnxruntimeArm(const DirectSpec& spec);
#endif

#if POLYINFER_BENCH_HAVE_TORCH
/// torch::jit::load + eval, forward under c10::InferenceMode, with the
/// process-wide thread counts polyinfer applied (see direct_torch.cpp).
std::unique_ptr<Arm> makeDirectTorchArm(const DirectSpec& spec);
#endif

#if POLYINFER_BENCH_HAVE_TENSORFLOW
/// TF_LoadSessionFromSavedModel with the ConfigProto polyinfer's plugin
/// builds, TF_SessionRun per call, through the TensorFlow library the plugin
/// opened (see direct_tensorflow.cpp). Only in
/// polyinfer_overhead_benchmark_tensorflow, a program without LibTorch and
/// ONNX Runtime.
std::unique_ptr<Arm> makeDirectTensorflowArm(const DirectSpec& spec);
#endif

}  // namespace polyinfer_bench
