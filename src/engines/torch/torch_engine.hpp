// The LibTorch engine: runs TorchScript modules (torch.jit.script / trace,
// saved with torch.jit.save; one file, see manifest.json) through the
// polyinfer plugin SPI. TorchEngine (describe, load) is declared here; the
// plugin's other parts:
//   torch_common     the dtype table, LibTorch exceptions -> polyinfer::Error
//   torch_settings   options, device, precision, process-wide settings
//   torch_model      TorchModel: the loaded module, forward's schema -> infos
//   torch_predictor  TorchPredictor: inputs, forward, output flattening
//   torch_messages   trimming LibTorch's long messages
//
// This header is light on purpose (no LibTorch includes): the plugin's entry
// point includes it; only the model, predictor and engine sources include
// LibTorch's JIT headers.
//
// ---------------------------------------------------------------------------
// Inputs
//   TorchScript declares no shapes and no element types. A model's inputs are
//   the arguments of its `forward` method, in order, named as in its schema
//   (`self` skipped); each is reported with dtype Undefined and rankKnown =
//   false. Inputs are passed to the module without a copy (at::from_blob on
//   the caller's storage): the module must not write to its inputs, which no
//   inference model does.
//
// Outputs: the flattening rule
//   forward's return value is flattened into a list of named tensors:
//     - a Tensor                          -> "output"
//     - a tuple or list: element i        -> "<name>_i"   (top level: "output_i";
//                                            nested: "output_i_j")
//     - a dict: value of key k            -> "k" at the top level,
//                                            "<name>.k" when nested
//                                            (e.g. a dict inside a tuple:
//                                            "output_1.k")
//     - an int / float / bool / str       -> a 0-d int64 / float64 / bool /
//                                            string tensor of that name
//     - None                              -> no output
//   Dicts keep their insertion order; dict keys may be str, int, float or bool,
//   written as the str itself, the decimal int, the shortest text that reads
//   back as the same float ("1.5", "1e-07") and "true"/"false".
//   outputs() reports what forward's schema tells before any run: "output" for
//   a Tensor return, output_0..output_{n-1} for a tuple of known arity
//   (recursively for nested tuples), 0-d tensors of known dtype for scalar
//   returns. A list or dict has no arity in the schema: it is reported as one
//   placeholder entry under its base name ("output", or "output_i" inside a
//   tuple), and its elements' names follow the rule above after a run. Output
//   dtypes and shapes are unknown until the model runs.
//
//   Output tensors are made contiguous (and moved to the CPU) and handed out as
//   views whose holder keeps the at::Tensor alive: no copy. An output that
//   aliases an input or storage the module keeps (a parameter, a constant,
//   another output) is copied instead, so a caller writing to an output can
//   never change the model or an input.
//
// Precision (option `precision`)
//   fp32 (default): the module runs as saved. bf16 (CPU or CUDA) and fp16
//   (CUDA only: LibTorch 1.13's CPU convolutions have no half kernels) convert
//   the module's floating-point parameters and buffers once at load
//   (Module::to). Callers keep passing and receiving float32: each float32
//   input is converted to the reduced type on the way in (one copy), and
//   every output of the reduced type comes back as float32. Inputs already in
//   the reduced type pass unchanged; other dtypes (int64, bool, ...) are never
//   touched. On a CPU without AVX512_BF16 oneDNN emulates bf16 and it can be
//   slower than fp32; config() says which case applies.
//
// Threads
//   A torch::jit::Module's forward is re-entrant: one loaded module is shared
//   by all predictors. Every call runs under c10::InferenceMode.
//   num_threads (at::set_num_threads) and num_interop_threads
//   (at::set_num_interop_threads) are process-global in LibTorch. They are
//   also set by Criteria::intraOpThreads / interOpThreads (option and field
//   both given: the same value, or an error), else from the environment
//   (OMP_NUM_THREADS, POLYINFER_INTRA_OP_THREADS; POLYINFER_INTER_OP_THREADS),
//   else from the ThreadBudget. The first model loaded applies them (as does
//   cudnn_benchmark); a later model asking for another value gets the value in
//   effect, reported in its config() with source Engine. The intra-op
//   count is also per thread in OpenMP builds, so each predictor checks it on
//   the first call from a thread (and whenever the calling thread changes).
//   graph_optimizer (torch::jit::setGraphExecutorOptimize) is thread-local: a
//   predictor sets it on the calling thread for the duration of each call
//   (only when it differs) and restores the thread's previous value after, so
//   models with different settings can share a thread.
// ---------------------------------------------------------------------------
#pragma once

#include <memory>

#include "polyinfer/engine_info.hpp"
#include "polyinfer/plugin.hpp"

namespace polyinfer::torch_engine {

class TorchEngine final : public plugin::Engine {
 public:
  /// Reads LibTorch's version and the CUDA devices it sees.
  TorchEngine();

  EngineDescription describe() const override { return description_; }
  /// Loads request.location.path (a TorchScript file); throws Error only.
  std::shared_ptr<plugin::EngineModel> load(const plugin::LoadRequest& request) override;

 private:
  std::shared_ptr<plugin::EngineModel> loadModel(const plugin::LoadRequest& request);

  EngineDescription description_;
};

}  // namespace polyinfer::torch_engine
