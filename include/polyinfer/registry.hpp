// Registry: finds and loads engine plugins.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "polyinfer/plugin.hpp"

namespace polyinfer {

/// One plugin file found on the search path.
struct PluginStatus {
  std::string name;               ///< engine name from the file name
  std::filesystem::path path;
  bool loaded = false;
  std::string error;              ///< why it did not load (loader's own message)
  plugin::EngineDescription description;  ///< valid when loaded
};

/// Finds plugins (libpolyinfer_engine_<name>.so) in, in order: the
/// directories in POLYINFER_ENGINE_PATH (':'-separated), then
/// <directory of libpolyinfer.so>/polyinfer/engines — the install's plugin
/// directory, and in a build tree the directory the build puts plugins in.
/// The first file for a name wins. Plugins are loaded with
/// dlopen(RTLD_LOCAL) on first use and never unloaded. Thread-safe.
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

  /// Every plugin found, loading each to describe it (a failed load is
  /// reported in its status; the others still work).
  std::vector<PluginStatus> plugins();

  /// The engine of that name. Throws Error(NotFound) listing the available
  /// engines, or Error(Unavailable) with the loader's message.
  plugin::Engine& engine(const std::string& name);

  /// Engine name for a model file, from its format: ".onnx" or ONNX protobuf
  /// -> "onnxruntime"; a zip archive (TorchScript) or .pt/.pth/.torchscript
  /// -> "torch"; Caffe (.caffemodel/.prototxt), Darknet (.weights/.cfg) and
  /// TensorFlow (.pb/.pbtxt) -> "opencv". Throws Error(InvalidArgument) when
  /// it cannot tell.
  static std::string engineForModel(const std::filesystem::path& modelFile);

 private:
  struct Entry;
  Entry& entryFor(const std::string& name);  // requires mutex_ held
  void scan();                               // requires mutex_ held
  void loadEntry(Entry& entry);              // requires mutex_ held

  std::vector<std::filesystem::path> searchPath_;
  std::mutex mutex_;
  bool scanned_ = false;
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace polyinfer
