// MxModel: an MXNet symbol and its parameters, read and checked once, shared
// by the model's predictors; each predictor runs its own MXNet executor (an
// MxInstance), built from the same bytes: MXNet's executors and cached ops
// cannot be run from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "mx_settings.hpp"
#include "polyinfer/plugin.hpp"

namespace polyinfer::mx {

/// What every executor of a model is built from, and how.
struct ModelSource {
  std::string label;  ///< "model '<path>'", for messages
  /// The symbol's JSON, NUL-terminated for MXNet's C API.
  std::string symbolJson;
  /// The params file's bytes: LoadRequest::bytes, shared (not copied).
  std::shared_ptr<const plugin::ModelBytes> bytes;
  const std::vector<std::uint8_t>* params = nullptr;  ///< inside `bytes`
  /// The shapes of the params file's arrays, by symbol name: given to every
  /// bind with the inputs' shapes, because MXNet's predictor infers shapes
  /// from the shapes it is given only, and some parameters' shapes (one
  /// broadcast against an input) do not follow from the inputs.
  std::vector<std::pair<std::string, Shape>> paramShapes;
  int intraOpThreads = 1;
};

class MxModel final : public plugin::EngineModel, public std::enable_shared_from_this<MxModel> {
 public:
  /// Reads the symbol and the params, checks that they belong together
  /// (names, shapes, dtypes), and derives the inputs (the symbol's arguments
  /// that the params file does not hold) and outputs. Throws Error.
  explicit MxModel(const plugin::LoadRequest& request);
  ~MxModel() override;

  std::vector<TensorInfo> inputs() const override { return inputs_; }
  std::vector<TensorInfo> outputs() const override { return outputs_; }
  std::vector<ConfigEntry> config() const override { return config_; }

  /// An executor holder; its executor is built for the declared shapes when
  /// they are all known (so that a model that cannot be bound fails at load),
  /// else on the first call. Thread-safe.
  std::unique_ptr<plugin::NativeInstance> createInstance() const override;
  std::unique_ptr<plugin::EnginePredictor> createPredictor(
      std::unique_ptr<plugin::NativeInstance> instance) const override;

  const ModelSource& source() const noexcept { return source_; }
  /// Called by a predictor when it runs on a thread it has not run on
  /// before. MXNet keeps memory per thread that ever ran inference (its
  /// oneDNN caches) until the process ends: the first time the model has run
  /// on more distinct threads than its workers (+ 1, the loading thread),
  /// one warning line on stderr says so.
  void noteThread(std::uint64_t thread) const;
  const std::vector<TensorInfo>& inputInfos() const noexcept { return inputs_; }
  const std::vector<TensorInfo>& outputInfos() const noexcept { return outputs_; }

 private:
  ModelSource source_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
  std::vector<ConfigEntry> config_;
  int workers_ = 1;
  mutable std::mutex threadsMutex_;
  mutable std::set<std::uint64_t> threads_;
  mutable bool warned_ = false;
};

}  // namespace polyinfer::mx
