// Model path -> engine and location, from the formats the plugins declare.
// The rule is documented on Registry::resolve.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "polyinfer/engine_info.hpp"
#include "polyinfer/registry.hpp"

namespace polyinfer::detail {

/// The formats one engine declares.
struct EngineFormats {
  std::string engine;
  std::vector<ModelFormat> formats;
};

/// Resolves `path` against `engines` (only `engine`'s when it is not empty).
ModelResolution resolveModel(const std::filesystem::path& path, const std::string& engine,
                             const std::vector<EngineFormats>& engines);

}  // namespace polyinfer::detail
