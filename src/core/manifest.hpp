// Plugin manifests: the JSON file beside each plugin library that declares
// the model formats its engine reads, read at scan time without opening the
// library. The format is documented in docs/plugins.md.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "polyinfer/engine_info.hpp"

namespace polyinfer::detail {

struct PluginManifest {
  std::string engine;
  std::vector<ModelFormat> formats;
};

/// Reads and checks a manifest. Throws Error(InvalidArgument) naming the file
/// and what is wrong (unknown key, wrong type, a format that cannot match).
PluginManifest readManifest(const std::filesystem::path& file);

}  // namespace polyinfer::detail
