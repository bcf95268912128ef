// The direct LibTorch arm: what a user of LibTorch's C++ API writes.
//
// It does what polyinfer's plugin (src/engines/torch/) does
// with the options the benchmark passes it (num_threads=N,
// num_interop_threads=M, graph_optimizer=true, use_mkldnn=false):
// torch::jit::load + eval (no freezing, no optimize_for_inference), the
// process-wide thread counts, LibTorch's default graph-executor optimisation,
// and every call under c10::InferenceMode.
//
// Per call: torch::from_blob on the caller's buffer (no copy),
// Module::forward, the output's data pointer.
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/script.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "overhead_arms.hpp"

namespace polyinfer_bench {

namespace {

class DirectTorchArm final : public Arm {
 public:
  explicit DirectTorchArm(const DirectSpec& spec)
      : shape_(spec.shape), input_(spec.input), intra_(spec.intraOpThreads) {
    module_ = torch::jit::load(spec.modelFile.string());
    module_.eval();
    // Thread counts are process-wide in LibTorch: polyinfer's plugin set them
    // when its model was loaded (first). Setting the intra-op count again on
    // this thread is what a user does and is harmless; the inter-op count can
    // be set once per process only, so it is checked.
    at::set_num_threads(intra_);
    interInEffect_ = at::get_num_interop_threads();
    if (interInEffect_ != spec.interOpThreads) {
      try {
        at::set_num_interop_threads(spec.interOpThreads);
        interInEffect_ = spec.interOpThreads;
      } catch (const c10::Error&) {
        throw std::runtime_error(
            "direct torch: the process already uses " + std::to_string(interInEffect_) +
            " inter-op threads, the benchmark asked for " + std::to_string(spec.interOpThreads));
      }
    }
  }

  float call() override {
    c10::InferenceMode guard;
    std::vector<torch::jit::IValue> inputs;
    inputs.emplace_back(torch::from_blob(input_, shape_, torch::kFloat));
    at::Tensor y = module_.forward(std::move(inputs)).toTensor();
    if (!y.is_contiguous()) y = y.contiguous();
    return y.data_ptr<float>()[0];
  }

  std::vector<float> output() override {
    c10::InferenceMode guard;
    std::vector<torch::jit::IValue> inputs;
    inputs.emplace_back(torch::from_blob(input_, shape_, torch::kFloat));
    at::Tensor y = module_.forward(std::move(inputs)).toTensor().contiguous();
    const float* p = y.data_ptr<float>();
    return std::vector<float>(p, p + y.numel());
  }

  std::string describe() const override {
    return "torch::jit::load + eval: at::get_num_threads()=" + std::to_string(at::get_num_threads()) +
           " get_num_interop_threads()=" + std::to_string(interInEffect_) +
           " graph executor optimize=default(true), not frozen; per call: InferenceMode + "
           "from_blob on the caller's buffer + forward + data_ptr";
  }

 private:
  torch::jit::Module module_;
  std::vector<int64_t> shape_;
  float* input_;
  int intra_;
  int interInEffect_ = 0;
};

}  // namespace

std::unique_ptr<Arm> makeDirectTorchArm(const DirectSpec& spec) {
  return std::make_unique<DirectTorchArm>(spec);
}

}  // namespace polyinfer_bench
