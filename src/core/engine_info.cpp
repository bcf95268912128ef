#include "polyinfer/engine_info.hpp"

#include "strings.hpp"

namespace polyinfer {

std::string ModelFormat::describe() const {
  std::vector<std::string> parts;
  if (!suffixes.empty()) {
    std::string files = detail::join(suffixes, ", ");
    for (const CompanionFile& companion : companions)
      files += " + " + companion.pattern + (companion.required ? "" : " (optional)");
    parts.push_back(files);
  }
  if (!directoryMarker.empty()) parts.push_back("a directory with " + directoryMarker);
  if (suffixes.empty() && directoryMarker.empty() && !magic.empty()) parts.push_back("by content");
  return name + " (" + detail::join(parts, "; ") + ")";
}

bool ModelLocation::isDirectory() const {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}

}  // namespace polyinfer
