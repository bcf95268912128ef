// What the load generator drives. A Target serves inference calls; each
// worker thread of a run gets its own TargetWorker, made before the clock
// starts. The in-process target wraps a shared polyinfer::Model (one Predictor
// per worker, inputs prepared once); the remote target (remote_target.hpp) is
// a KServe v2 server over HTTP or gRPC behind the same interface, so the
// runner, the statistics and the reports know no engine and no protocol.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "polyinfer/model.hpp"
#include "polyinfer/tensor.hpp"
#include "polyinfer/value.hpp"

namespace polyinfer::bench {

/// One configuration value in effect, with where it came from (engine
/// config() entries, plus the benchmark's own: threads, batch, ...).
struct ConfigValue {
  std::string key;
  std::string value;
  std::string source;  ///< "explicit", "environment", "default", "engine", "benchmark"
  std::string detail;
};

/// What a target says about itself, for the report.
struct TargetInfo {
  std::string engineName;     ///< the engine's name; for a remote target, the server's
  std::string engineVersion;  ///< "1.13.1"
  std::string model;          ///< model path (or URL)
  std::string device;         ///< "cpu", "gpu0"
  std::vector<ConfigValue> config;
  /// Items per inference: dim 0 of the first input when the inputs are
  /// batched (1 otherwise). Throughput in items/s = inferences/s x batch.
  int64_t batch = 1;
  /// Input shapes, "input float32[1,3,224,224]", one per input.
  std::vector<std::string> inputs;
};

/// What a call of TargetWorker::tryInfer came to.
enum class CallOutcome {
  Answered,  ///< the target ran the inference
  Rejected,  ///< the target refused it as overloaded and ran nothing
};

/// Per-thread state of a target. Its calls come from one thread at a time
/// (the worker that owns it); they throw polyinfer::Error on failure.
class TargetWorker {
 public:
  virtual ~TargetWorker() = default;
  /// One inference on the prepared inputs; a refusal is an error too.
  virtual void infer() = 0;
  /// One inference that the target may refuse as overloaded: the runner's
  /// timed unit. Rejected when the target ran nothing because it is too busy
  /// (a server shedding load: HTTP 503 or 429, gRPC UNAVAILABLE), which a run under overload
  /// counts instead of stopping on; every other failure throws, as infer()
  /// does. The default never rejects: an in-process model has no queue to
  /// refuse from.
  virtual CallOutcome tryInfer() {
    infer();
    return CallOutcome::Answered;
  }
  /// The target's own words for the last rejection (the server's message and
  /// status), for the report; "" when it never rejected.
  virtual std::string lastRejection() const { return {}; }
  /// One inference returning the outputs (for parity checks; not timed). A
  /// model with non-tensor outputs returns its tensor outputs only.
  virtual Tensors inferWithOutputs() = 0;
};

class Target {
 public:
  virtual ~Target() = default;
  virtual TargetInfo info() const = 0;
  /// A worker for one thread. Thread-safe.
  virtual std::unique_ptr<TargetWorker> newWorker() = 0;
  /// One sentence on what infer() includes and excludes, printed with every
  /// result ("Predictor::predict on inputs already in memory; ...").
  virtual std::string timedRegion() const = 0;
};

/// The in-process target: one Predictor per worker on a shared Model; the
/// inputs are prepared once and shared read-only by all workers. A model
/// whose outputs are not all tensors runs through Predictor::predictValues.
std::unique_ptr<Target> makeModelTarget(std::shared_ptr<const Model> model, Tensors inputs,
                                        std::vector<ConfigValue> extraConfig = {});
/// The same on inputs that may be sequences, maps or optionals (a model that
/// declares such inputs): every call goes through Predictor::predictValues.
std::unique_ptr<Target> makeModelTarget(std::shared_ptr<const Model> model, Values inputs,
                                        std::vector<ConfigValue> extraConfig = {});

}  // namespace polyinfer::bench
