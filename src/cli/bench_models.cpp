// polyinfer bench: which model file each engine run gets (-u, or DJL's
// -p DIR -n NAME, looked up with the model formats the engine plugins
// declare), and the parsing of durations and comma lists.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "bench_internal.hpp"

namespace polyinfer::cli::benchflow {
namespace fs = std::filesystem;

namespace {

std::string lowered(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

/// "file:///x/model" -> "/x/model"; remote URLs are refused (nothing is downloaded).
std::string localModel(const std::string& url) {
  if (url.rfind("file://", 0) == 0) return url.substr(7);
  if (url.find("://") != std::string::npos)
    throw Error(ErrorCode::InvalidArgument,
                "model '" + url + "': only local files (or file:// URLs) can be benchmarked; "
                "polyinfer downloads nothing");
  return url;
}

/// What the engine plugins' manifests say a model is named like (no engine
/// is started): the file-name suffixes of every format, each once in the
/// order declared, and the marker files of directory formats.
struct DeclaredNames {
  std::vector<std::string> suffixes;
  std::vector<std::string> directoryMarkers;
};

DeclaredNames declaredNames() {
  DeclaredNames names;
  std::set<std::string> seenSuffixes, seenMarkers;
  for (const PluginStatus& plugin : Registry::global().plugins())
    for (const ModelFormat& format : plugin.formats) {
      for (const std::string& suffix : format.suffixes)
        if (seenSuffixes.insert(lowered(suffix)).second) names.suffixes.push_back(suffix);
      if (!format.directoryMarker.empty() && seenMarkers.insert(format.directoryMarker).second)
        names.directoryMarkers.push_back(format.directoryMarker);
    }
  return names;
}

/// DJL's -p DIR -n NAME: the files NAME<suffix> in DIR for every suffix an
/// engine plugin declares (matched case-insensitively, as the registry
/// matches suffixes), and DIR/NAME when it is a directory-format model.
std::vector<std::string> namedModels(const fs::path& dir, const std::string& name) {
  const DeclaredNames declared = declaredNames();
  std::vector<std::string> entries;  // file names in DIR that start with NAME
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (file.size() > name.size() && file.compare(0, name.size(), name) == 0) entries.push_back(file);
  }
  std::sort(entries.begin(), entries.end());

  std::vector<std::string> found;
  for (const std::string& suffix : declared.suffixes)
    for (const std::string& file : entries)
      if (lowered(file.substr(name.size())) == lowered(suffix) && fs::is_regular_file(dir / file, ec))
        found.push_back((dir / file).string());
  for (const std::string& marker : declared.directoryMarkers)
    if (fs::is_regular_file(dir / name / marker, ec)) {
      found.push_back((dir / name).string());
      break;
    }
  if (found.empty()) {
    std::string suffixes;
    for (const std::string& suffix : declared.suffixes) suffixes += (suffixes.empty() ? "" : ",") + suffix;
    std::string markers;
    for (const std::string& marker : declared.directoryMarkers)
      markers += (markers.empty() ? "" : " or ") + marker;
    throw Error(ErrorCode::NotFound,
                "-p '" + dir.string() + "' -n '" + name + "': no file " + name + "{" + suffixes +
                    "} there" + (markers.empty() ? "" : ", nor a directory " + name + " holding " + markers) +
                    (declared.suffixes.empty() && markers.empty()
                         ? " (no engine plugin declares a model format; see `polyinfer info`)"
                         : ""));
  }
  return found;
}

}  // namespace

double parseDuration(const std::string& text) {
  std::size_t used = 0;
  double value = -1;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  const std::string unit = used < text.size() ? text.substr(used) : "";
  static const std::map<std::string, double> kUnits{{"", 1}, {"s", 1}, {"ms", 1e-3}, {"m", 60}, {"h", 3600}};
  const auto found = kUnits.find(unit);
  if (value <= 0 || !std::isfinite(value) || found == kUnits.end())
    throw Error(ErrorCode::InvalidArgument,
                "-d '" + text + "': expected a duration > 0 in seconds (30) or with a unit "
                "(500ms, 30s, 2m, 1h)");
  return value * found->second;
}

std::vector<std::string> splitComma(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

std::vector<std::string> modelsFor(const BenchArgs& args, std::size_t engines) {
  std::vector<std::string> models;
  for (const std::string& url : args.models) models.push_back(localModel(url));
  if (models.empty()) {
    if (args.modelPath.empty())
      throw Error(ErrorCode::InvalidArgument, "no model: give -u MODEL (or -p DIR [-n NAME])");
    const fs::path path = localModel(args.modelPath);
    if (!args.modelName.empty()) {
      // Several files (one per engine format): the directory, from which the
      // core picks the one of the engine given with -e.
      const std::vector<std::string> found = namedModels(path, args.modelName);
      models = found.size() == 1 ? found : std::vector<std::string>{path.string()};
    } else {
      models.push_back(path.string());
    }
  }
  if (models.size() != 1 && models.size() != engines)
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("{} models for {} engines: give one model for all engines, or one per "
                            "engine in -e order",
                            models.size(), engines));
  return models;
}

}  // namespace polyinfer::cli::benchflow
