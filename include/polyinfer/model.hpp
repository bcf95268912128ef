// Criteria -> Model (shared by all threads) -> Predictor (one per thread).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "polyinfer/dtype.hpp"
#include "polyinfer/engine_info.hpp"
#include "polyinfer/options.hpp"
#include "polyinfer/profile.hpp"
#include "polyinfer/tensor.hpp"
#include "polyinfer/thread_budget.hpp"
#include "polyinfer/value.hpp"

namespace polyinfer {

class Registry;
namespace plugin {
class EngineModel;
class EnginePredictor;
class NativeInstance;
}  // namespace plugin

/// What to load and how it will be used.
struct Criteria {
  /// A model file (or any file of a multi-file model), a directory that is a
  /// model (a SavedModel), or a directory holding exactly one model.
  std::filesystem::path modelPath{};
  /// Engine name ("torch", "onnxruntime"); empty: chosen from the model
  /// format, by asking the engine plugins which formats they read
  /// (Registry::resolve; `polyinfer info` lists them).
  std::string engine{};
  /// "cpu", or "gpu0", "gpu1"... where the engine build supports it.
  std::string device = "cpu";
  /// Engine options (DJL's names accepted), e.g. {"intraOpNumThreads", "2"}.
  Options options{};
  /// Number of threads that will each own a Predictor; thread defaults are
  /// computed from it so that workers x intra-op threads <= usable cores.
  int workers = 1;
  /// Threads one call may use inside the engine (intra-op), on every engine
  /// alike (each maps it to its own knob); 0: computed, max(1, cores /
  /// workers). An engine option for the same knob may also be given, but only
  /// with the same value.
  int intraOpThreads = 0;
  /// Threads for running independent operators in parallel (inter-op); 0:
  /// computed (1). An engine that has no such pool reports 1 in config().
  int interOpThreads = 0;
};

/// Name, element type and shape of a model input or output. dtype Undefined
/// and dims of -1 mean "not declared by the model" (TorchScript declares no
/// shapes) or "dynamic" (an ONNX symbolic dimension, named in dimNames).
struct TensorInfo {
  std::string name;
  DataType dtype = DataType::Undefined;
  Shape shape;                        ///< meaningful only when rankKnown
  bool rankKnown = false;
  std::vector<std::string> dimNames;  ///< symbolic names of dynamic dims, or empty strings
  /// Set for an input or output that is not a tensor (a sequence, map or
  /// optional): its declared type; dtype is then Undefined and rankKnown
  /// false. A model with one is run with Predictor::predictValues.
  std::optional<ValueType> valueType;

  /// "float32[?,3,224,224]", "?[?]" when nothing is known, the value type
  /// ("seq(float32[?])") for a non-tensor.
  std::string describe() const;
  bool isTensor() const noexcept { return !valueType.has_value(); }
};

/// Runs inference. Not thread-safe: create one per thread from the shared
/// Model and reuse it for every call on that thread.
///
/// Run predictors on a fixed pool of threads (as `polyinfer bench` does), not
/// on ever new threads: some engines keep memory for every thread that has
/// ever run inference until the process ends. Measured here (resnet18, 1,000
/// calls): MXNet grows by about 12 MiB per new thread (100 short-lived threads
/// +1,100 MiB; 2 fixed threads or 100 predictors made one after another on one
/// thread: flat); ONNX Runtime +0.7 MiB. The mxnet engine warns once on stderr
/// when a model runs on more threads than its workers + 1.
class Predictor {
 public:
  ~Predictor();
  Predictor(Predictor&&) noexcept;
  Predictor& operator=(Predictor&&) noexcept;

  /// Runs the model. Inputs are matched by name, or by position when unnamed;
  /// they are checked against the model's declared inputs first (count,
  /// names, dtype, rank, fixed dims) and a mismatch throws Error naming the
  /// expected and actual value. Outputs come back in the model's output order,
  /// named. After any Error the predictor stays usable. A model with a
  /// non-tensor input or output (Model::tensorsOnly() false) is refused with
  /// Error(InvalidArgument) naming it: run it with predictValues.
  Tensors predict(const Tensors& inputs);

  /// Runs a model whose inputs or outputs may be sequences, maps or
  /// optionals (Model::inputValues says which); works for tensor-only models
  /// too. Inputs are matched and checked as for predict, recursively
  /// (sequence elements, map key and value types, an optional's content); a
  /// plain value given for an optional input counts as present. An empty
  /// optional input is Value::none(). Outputs in model order, named: an
  /// optional output that is empty is Value::none(). An engine that handles
  /// tensors only throws Error(Unsupported) naming the value type.
  Values predictValues(const Values& inputs);

  /// Runs the model `iterations` times with the engine's profiler on and
  /// returns the time per operator type. Inputs as for predict. Throws
  /// Error(Unsupported) for an engine that cannot report operator times,
  /// Error(InvalidArgument) for iterations < 1. Profiling slows the runs:
  /// use predict's timings for speed, these for where the time goes.
  OperatorProfile profile(const Tensors& inputs, int iterations = 10);

 private:
  /// The inputs in model order, checked against the declared infos.
  const Tensors& ordered(const Tensors& inputs, Tensors& reordered) const;
  Values orderedValues(const Values& inputs) const;
  template <typename Call>
  auto callEngine(Call&& call);
  friend class Model;
  Predictor(std::shared_ptr<const class Model> model,
            std::unique_ptr<plugin::EnginePredictor> impl);
  std::shared_ptr<const class Model> model_;
  std::unique_ptr<plugin::EnginePredictor> impl_;
};

/// A loaded model: immutable, shared by all threads.
class Model : public std::enable_shared_from_this<Model> {
 public:
  /// Loads with the process-wide registry of engine plugins. Throws Error:
  /// NotFound (missing file, unknown engine — listing the available ones),
  /// InvalidArgument (bad options, corrupt/truncated model), Unsupported,
  /// Unavailable (the engine's plugin failed to load), EngineFailure.
  static std::shared_ptr<Model> load(const Criteria& criteria);
  static std::shared_ptr<Model> load(const Criteria& criteria, Registry& registry);

  /// A new predictor; call from (or hand to) the thread that will use it.
  /// Thread-safe.
  Predictor newPredictor() const;

  const std::string& engineName() const noexcept { return engineName_; }
  const std::string& engineVersion() const noexcept { return engineVersion_; }
  /// The model's main file, or its directory for a directory format.
  const std::filesystem::path& modelPath() const noexcept { return location_.path; }
  /// Where the model was found: main file or directory, format, companions.
  const ModelLocation& location() const noexcept { return location_; }
  const std::vector<TensorInfo>& inputs() const noexcept { return inputs_; }
  const std::vector<TensorInfo>& outputs() const noexcept { return outputs_; }
  /// The same inputs and outputs with their full value types: what to read
  /// for a model whose inputs or outputs are not all tensors.
  const std::vector<ValueInfo>& inputValues() const noexcept { return inputValues_; }
  const std::vector<ValueInfo>& outputValues() const noexcept { return outputValues_; }
  /// Whether every input and output is a tensor, so that predict() can run it.
  bool tensorsOnly() const noexcept { return tensorsOnly_; }
  /// The check Predictor::predict makes before running: inputs all named (in
  /// any order) or all by position, each matching its declared input (count,
  /// names, dtype, rank, fixed dims). Throws the Error predict would throw
  /// (InvalidArgument, or NotFound for an unknown name). Thread-safe.
  void checkInputs(const Tensors& inputs) const;
  /// The check Predictor::predictValues makes before running; throws as it
  /// would. Thread-safe.
  void checkValues(const Values& inputs) const;
  /// Effective settings with their sources (threads, optimisation, device...).
  const std::vector<ConfigEntry>& config() const noexcept { return config_; }

  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model();

 private:
  Model() = default;
  friend class Predictor;
  std::string engineName_;
  std::string engineVersion_;
  ModelLocation location_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  std::vector<ValueInfo> inputValues_;
  std::vector<ValueInfo> outputValues_;
  bool tensorsOnly_ = true;
  std::vector<ConfigEntry> config_;
  std::shared_ptr<plugin::EngineModel> impl_;
  /// Non-re-entrant engines: each predictor gets its own native instance;
  /// the one built at load (to check the model) waits here for the first.
  bool reentrant_ = true;
  mutable std::mutex spareMutex_;
  mutable std::unique_ptr<plugin::NativeInstance> spare_;
};

}  // namespace polyinfer
