// The direct ONNX Runtime arm: what a user of ORT's C++ API writes.
//
// Session options are exactly those polyinfer's plugin builds
// (src/engines/onnxruntime/ort_session_config.cpp) from the options the
// benchmark passes it: intra/inter-op thread counts, SEQUENTIAL, ALL_OPT,
// memory pattern on, CPU arena on, spinning left at ORT's default.
//
// Per call: wrap the caller's buffer in an Ort::Value (no copy), Session::Run,
// read the output's data pointer.
#include <onnxruntime_cxx_api.h>
#include <onnxruntime_session_options_config_keys.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "overhead_arms.hpp"

namespace polyinfer_bench {

namespace {

class DirectOnnxruntimeArm final : public Arm {
 public:
  explicit DirectOnnxruntimeArm(const DirectSpec& spec)
      // ORT's environment is a process singleton: this shares the one
      // polyinfer's plugin created (same library, loaded once).
      : env_(ORT_LOGGING_LEVEL_ERROR, "polyinfer-overhead-direct"),
        memory_(Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault)),
        shape_(spec.shape),
        input_(spec.input),
        count_(spec.elementCount),
        intra_(spec.intraOpThreads),
        inter_(spec.interOpThreads),
        spinning_(spec.ortSpinning) {
    Ort::SessionOptions options;
    options.SetIntraOpNumThreads(intra_);
    options.SetInterOpNumThreads(inter_);
    options.SetExecutionMode(ORT_SEQUENTIAL);
    options.SetGraphOptimizationLevel(ORT_ENABLE_ALL);
    options.EnableMemPattern();
    options.EnableCpuMemArena();
    if (spinning_ >= 0)
      options.AddConfigEntry(kOrtSessionOptionsConfigAllowIntraOpSpinning, spinning_ ? "1" : "0");
    session_ = Ort::Session(env_, spec.modelFile.c_str(), options);

    if (session_.GetInputCount() != 1 || session_.GetOutputCount() < 1)
      throw std::runtime_error("direct onnxruntime: expected a model with one input, got " +
                               std::to_string(session_.GetInputCount()));
    Ort::AllocatorWithDefaultOptions allocator;
    inputName_ = session_.GetInputNameAllocated(0, allocator).get();
    outputName_ = session_.GetOutputNameAllocated(0, allocator).get();
    inputNames_[0] = inputName_.c_str();
    outputNames_[0] = outputName_.c_str();
  }

  float call() override {
    Ort::Value input = Ort::Value::CreateTensor<float>(memory_, input_, count_, shape_.data(),
                                                       shape_.size());
    std::vector<Ort::Value> outputs =
        session_.Run(Ort::RunOptions{nullptr}, inputNames_, &input, 1, outputNames_, 1);
    const float* y = outputs[0].GetTensorData<float>();
    return y[0];
  }

  std::vector<float> output() override {
    Ort::Value input = Ort::Value::CreateTensor<float>(memory_, input_, count_, shape_.data(),
                                                       shape_.size());
    std::vector<Ort::Value> outputs =
        session_.Run(Ort::RunOptions{nullptr}, inputNames_, &input, 1, outputNames_, 1);
    const float* y = outputs[0].GetTensorData<float>();
    const std::size_t n = outputs[0].GetTensorTypeAndShapeInfo().GetElementCount();
    return std::vector<float>(y, y + n);
  }

  std::string describe() const override {
    return "Ort::Session: intra_op_num_threads=" + std::to_string(intra_) +
           " inter_op_num_threads=" + std::to_string(inter_) +
           " ORT_SEQUENTIAL ORT_ENABLE_ALL mem_pattern=on cpu_mem_arena=on allow_spinning=" +
           std::string(spinning_ < 0 ? "ORT default" : spinning_ ? "1" : "0") +
           "; per call: CreateTensor on the caller's buffer + Run + GetTensorData";
  }

 private:
  Ort::Env env_;
  Ort::Session session_{nullptr};
  Ort::MemoryInfo memory_;
  std::vector<int64_t> shape_;
  float* input_;
  std::size_t count_;
  int intra_;
  int inter_;
  int spinning_;
  std::string inputName_, outputName_;
  const char* inputNames_[1] = {nullptr};
  const char* outputNames_[1] = {nullptr};
};

}  // namespace

std::unique_ptr<Arm> makeDirectOnnxruntimeArm(const DirectSpec& spec) {
  return std::make_unique<DirectOnnxruntimeArm>(spec);
}

}  // namespace polyinfer_bench
