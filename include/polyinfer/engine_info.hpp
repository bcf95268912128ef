// What an engine plugin declares about itself: the model formats it reads
// (known without starting the engine) and, once started, its version,
// devices and options. Users see these through Registry and `polyinfer info`.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "polyinfer/options.hpp"

namespace polyinfer {

/// A file that belongs to a model beside its main file: Caffe's .prototxt,
/// MXNet's .params. Its name is a pattern in which "{stem}" stands for the
/// main file's stem and "*" for any text; when several files match, the last
/// in name order is taken (MXNet's highest epoch).
struct CompanionFile {
  std::string role;     ///< the key under which the plugin finds it: "config", "params"
  std::string pattern;  ///< "{stem}.prototxt", "{stem}-*.params"
  bool required = false;  ///< without it the files are not this format
};

/// One model format an engine reads, as its plugin's manifest declares it.
/// A format is recognised by any of: a suffix of the main file's name, a
/// marker file that makes a directory a model, or the main file's first bytes.
struct ModelFormat {
  std::string name;                   ///< "ONNX", "TorchScript", "SavedModel"
  /// Suffixes of the main file's name, matched case-insensitively: ".onnx",
  /// "-symbol.json". The stem is the name without the suffix.
  std::vector<std::string> suffixes;
  /// A file whose presence makes its directory a model of this format
  /// ("saved_model.pb"); the model's location is then the directory.
  std::string directoryMarker;
  std::vector<CompanionFile> companions;
  /// Content probe: hex prefixes of the main file ("504b0304": a zip
  /// archive), tried only when no name matches.
  std::vector<std::string> magic;
  /// When two engines claim the same file, the higher priority wins; equal
  /// priorities are an error that names both.
  int priority = 0;
  /// False: a directory is not searched for files of this format (a suffix
  /// such as ".pb" that other files in a model directory also have).
  bool foundInDirectory = true;

  /// "ONNX (.onnx)", "Caffe (.caffemodel + {stem}.prototxt)", "SavedModel (directory with saved_model.pb)".
  std::string describe() const;
};

/// Where a model is: what the core resolved a user's path to, and what an
/// engine plugin loads.
struct ModelLocation {
  /// The main file, or the directory for a directory format.
  std::filesystem::path path;
  /// The format it was recognised as; empty when the engine was named and no
  /// format of it matched (the plugin decides what the file is).
  std::string format;
  /// A directory format's marker file inside `path` ("saved_model.pb");
  /// empty for a file format.
  std::filesystem::path marker;
  /// Companion files found, by role.
  std::map<std::string, std::filesystem::path> companions;

  bool isDirectory() const;
  /// The main file's or directory's path, as text.
  std::string describe() const { return path.string(); }
};

/// What an engine is and what it accepts (known once its plugin has started).
struct EngineDescription {
  std::string name;                  ///< "torch", "onnxruntime"
  std::string version;               ///< the engine library's version, "1.13.1"
  std::vector<ModelFormat> formats;  ///< from the plugin's manifest
  std::vector<std::string> devices;  ///< devices this build can use: "cpu", "gpu0"...
  /// False when one native model instance cannot be run from several threads
  /// at once; then the core gives every predictor its own instance.
  bool reentrant = true;
  std::vector<OptionSpec> options;   ///< accepted option keys
};

}  // namespace polyinfer
