// Registry: finds engine plugins, knows the model formats they read, and
// starts an engine on its first use.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "polyinfer/engine_info.hpp"

namespace polyinfer {

namespace plugin {
class Engine;
}

/// One plugin found on the search path.
struct PluginStatus {
  std::string name;               ///< engine name from the file name
  std::filesystem::path path;     ///< the plugin library
  /// The model formats its manifest declares (known without starting it).
  std::vector<ModelFormat> formats;
  /// True once the engine has started (its library opened, its ABI checked,
  /// its engine created) and described itself; `description` is then valid.
  bool loaded = false;
  /// Why the manifest could not be read or the engine did not start (the
  /// loader's own message). Empty while the engine has not been asked for.
  std::string error;
  EngineDescription description;  ///< valid when loaded
};

/// How a model path was resolved to an engine.
struct ModelResolution {
  std::string engine;
  ModelLocation location;
  /// Other engines with a format matching the same files, of lower priority
  /// ("opencv (ONNX)"); empty when only one engine claims them.
  std::vector<std::string> alsoClaimedBy;
  /// "format ONNX (.onnx)", "content (zip archive: format TorchScript)", "named".
  std::string reason;
};

/// Finds plugins (libpolyinfer_engine_<name>.so, each with its manifest
/// libpolyinfer_engine_<name>.json) in, in order: the directories in
/// POLYINFER_ENGINE_PATH (':'-separated), then
/// <directory of libpolyinfer.so>/polyinfer/engines — the install's plugin
/// directory, and in a build tree the directory the build puts plugins in.
/// The first file for a name wins. Scanning reads only the manifests: a
/// plugin's library is opened (dlopen RTLD_LOCAL, never closed) and its
/// engine created when a model is loaded with it or it is described.
/// Thread-safe.
class Registry {
 public:
  /// The process-wide registry with the default search path.
  static Registry& global();

  /// A registry over an explicit search path (tests, embedding).
  explicit Registry(std::vector<std::filesystem::path> searchPath);
  ~Registry();

  /// The default search path, as described above.
  static std::vector<std::filesystem::path> defaultSearchPath();

  const std::vector<std::filesystem::path>& searchPath() const noexcept { return searchPath_; }

  /// Every plugin found, with its formats. Starts no engine: an engine that
  /// has not been used shows loaded = false and no error.
  std::vector<PluginStatus> plugins();

  /// The description of engine `name`, starting it if needed. Throws
  /// Error(NotFound) listing the available engines, or Error(Unavailable)
  /// with the loader's message.
  EngineDescription describe(const std::string& name);

  /// The engine and location for a model path, from the plugins' formats
  /// (no engine is started). A path is a file (the main file, or a companion
  /// such as MXNet's .params, which stands for its group) or a directory
  /// (a directory format such as a SavedModel, or a directory holding one
  /// model). Matches by marker file beat matches by name, which beat matches
  /// by content; among engines matching equally, the higher format priority
  /// wins, and equal priorities are an InvalidArgument naming both engines.
  /// With `engine` given only its formats are considered, and a file none of
  /// them matches is handed to it as it is. Throws NotFound for a missing
  /// path or a missing required companion, InvalidArgument when the format
  /// cannot be told or a directory holds several models.
  ModelResolution resolve(const std::filesystem::path& path, const std::string& engine = {});

 private:
  friend class Model;
  struct Entry;
  /// The started engine (the SPI object); for Model::load.
  plugin::Engine& engine(const std::string& name);
  Entry& entryFor(const std::string& name);  // requires mutex_ held
  void scan();                               // requires mutex_ held
  void start(Entry& entry);                  // requires mutex_ held

  std::vector<std::filesystem::path> searchPath_;
  std::mutex mutex_;
  bool scanned_ = false;
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace polyinfer
