// The model repository of `polyinfer serve`, in Triton's layout and
// vocabulary:
//
//   <repository>/<model>/config.json        optional, see parseModelConfig
//   <repository>/<model>/<version>/<files>  one directory per version
//
// A version directory is named by a non-negative integer without leading
// zeros ("0", "1", "42"; as in Triton, "01", "v1" and other names are
// ignored). It is handed to polyinfer as Criteria::modelPath, which accepts a
// directory holding exactly one model. Directories starting with '.' are
// never models or versions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "polyinfer/options.hpp"

namespace polyinfer::serve {

/// "dynamic_batching": requests queued together are run as one batch.
struct DynamicBatchingConfig {
  /// "preferred_batch_size": batch sizes worth waiting for, each in
  /// [1, max_batch_size], ascending; empty: as large as max_batch_size allows.
  std::vector<int64_t> preferredBatchSize;
  /// "max_queue_delay_microseconds": how long a request may wait for others
  /// to join its batch.
  int64_t maxQueueDelayMicroseconds = 0;
};

/// "version_policy": which version directories are served. Triton's three
/// forms: {"latest": {"num_versions": N}} (the default, N = 1),
/// {"all": {}}, {"specific": {"versions": [1, 3]}}.
struct VersionPolicy {
  enum class Kind { Latest, All, Specific };
  Kind kind = Kind::Latest;
  int64_t latestCount = 1;        ///< Latest: the N highest versions
  std::vector<int64_t> specific;  ///< Specific: these versions, ascending, unique
};

/// A model's config.json. Every key is optional; the defaults below apply.
struct ModelConfig {
  /// "engine": a polyinfer engine name ("torch", "onnxruntime", ...); empty:
  /// chosen from the model's format. Triton's "backend" is accepted as an
  /// alias ("pytorch" read as "torch"), and Triton's "platform" for the
  /// platforms an engine serves ("onnxruntime_onnx", "pytorch_libtorch",
  /// "tensorflow_savedmodel", "tensorflow_graphdef").
  std::string engine;
  /// "parameters": {"key": value} engine options. A value may be a JSON
  /// string, number or bool (stored as its text: 4 -> "4", true -> "true"),
  /// or Triton's {"string_value": "..."}. Keys are checked when the model is
  /// loaded, by the engine.
  Options options;
  /// "device": "cpu" or "gpu<N>".
  std::string device = "cpu";
  /// "max_batch_size": the largest batch one execution takes; 0: no
  /// batching (each request runs alone, its shape as sent).
  int64_t maxBatchSize = 0;
  /// "dynamic_batching"; needs max_batch_size > 0.
  std::optional<DynamicBatchingConfig> dynamicBatching;
  /// "instance_count": worker threads, each owning a Predictor; 0: computed
  /// from the process's thread budget. Triton's "instance_group":
  /// [{"count": N, "kind": "KIND_CPU" | "KIND_GPU" | "KIND_AUTO", "gpus": [g]}]
  /// (one group) is accepted instead: count -> instance_count, KIND_GPU ->
  /// device "gpu<g>" (gpu0 without "gpus") unless "device" is given.
  int instanceCount = 0;
  /// "intra_op_threads": threads one execution may use; 0: computed.
  int intraOpThreads = 0;
  /// "max_queue_size": requests that may wait; 0: the server's default.
  std::size_t maxQueueSize = 0;
  /// "version_policy".
  VersionPolicy versionPolicy;
};

/// Parses the text of `modelName`'s config.json (JSON; // and /* */ comments
/// allowed; an empty or all-blank text is an empty config). Throws
/// Error(InvalidArgument) for: invalid JSON ("invalid JSON: ... at line L,
/// column C"); an unknown key (naming it and listing the valid keys); a value
/// of the wrong type or range, naming the key path, what was expected and the
/// value given (`max_batch_size: expected a non-negative integer, got "8"`);
/// a "name" other than `modelName`; settings that contradict each other
/// (e.g. "engine" and "backend" naming different engines).
ModelConfig parseModelConfig(std::string_view jsonText, const std::string& modelName);

/// One version directory of a model.
struct ModelVersionDir {
  int64_t version = 0;
  std::filesystem::path path;  ///< <repository>/<model>/<version>

  bool operator==(const ModelVersionDir&) const = default;
};

/// A model directory of the repository.
struct RepositoryModel {
  std::string name;            ///< the directory name
  std::filesystem::path path;  ///< <repository>/<model>
  ModelConfig config;          ///< from config.json, or the defaults without one
  std::vector<ModelVersionDir> versions;  ///< every version directory found, ascending

  /// The versions the version policy selects, ascending: the latest N (by
  /// default the highest version alone), all, or the specific ones.
  std::vector<ModelVersionDir> served() const;
};

/// Reads the model directory `name` of `repository`. Throws Error:
/// - InvalidArgument for a name that is not a plain directory name (empty,
///   containing '/' or '\\', starting with '.'): names come from URLs and
///   must not reach outside the repository;
/// - NotFound for a missing repository, or a missing model ("model 'm' not in
///   repository /r; it has: a, b");
/// - InvalidArgument for a bad config.json (the message prefixed with its
///   path), for a model without any version directory (naming the ignored
///   directories), and for a "specific" version policy naming a version that
///   has no directory.
RepositoryModel scanModel(const std::filesystem::path& repository, const std::string& name);

/// One model directory of a repository scan: `model` when it scanned, else
/// `error` (the Error's message).
struct RepositoryEntry {
  std::string name;
  std::optional<RepositoryModel> model;
  std::string error;
};

/// Every model directory of `repository`, sorted by name (plain files and
/// directories starting with '.' skipped). A model that fails to scan is
/// reported in its entry, not thrown, so that one broken model does not stop
/// the others. Throws Error(NotFound) for a missing repository and
/// Error(InvalidArgument) when it is not a readable directory.
std::vector<RepositoryEntry> scanRepository(const std::filesystem::path& repository);

}  // namespace polyinfer::serve
