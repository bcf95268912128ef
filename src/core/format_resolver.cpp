#include "format_resolver.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <optional>
#include <regex>
#include <string_view>

#include "polyinfer/error.hpp"
#include "strings.hpp"

namespace polyinfer::detail {

namespace {

namespace fs = std::filesystem;

/// How a format matched: a marker file beats a name, a name beats content.
enum class Strength { Content = 1, Name = 2, Marker = 3 };

struct Candidate {
  const std::string* engine;
  const ModelFormat* format;
  ModelLocation location;
  Strength strength;
};

/// A companion pattern as a regex: "{stem}" -> `stem` (escaped) or a capture,
/// "*" -> any text.
std::regex patternRegex(const std::string& pattern, const std::string* stem) {
  static const std::regex special(R"([.^$|()\[\]{}+?\\])");
  std::string out;
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern.compare(i, 6, "{stem}") == 0) {
      out += stem ? std::regex_replace(*stem, special, R"(\$&)") : std::string("(.+)");
      i += 6;
    } else if (pattern[i] == '*') {
      out += ".*";
      ++i;
    } else {
      out += std::regex_replace(std::string(1, pattern[i]), special, R"(\$&)");
      ++i;
    }
  }
  return std::regex(out);
}

std::vector<fs::path> regularFiles(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(dir, ec))
    if (item.is_regular_file(ec)) files.push_back(item.path());
  std::sort(files.begin(), files.end());
  return files;
}

/// The main file's stem for `suffix`, when its name ends with it
/// (case-insensitively) and something is left.
std::optional<std::string> stemFor(const std::string& name, const std::string& suffix) {
  if (name.size() <= suffix.size()) return std::nullopt;
  if (toLower(name.substr(name.size() - suffix.size())) != toLower(suffix)) return std::nullopt;
  return name.substr(0, name.size() - suffix.size());
}

struct MissingCompanion {
  std::string engine, format, main, pattern;
};

/// Fills `location.companions` from the main file's directory. False (and
/// `missing` set) when a required companion is absent.
bool findCompanions(const ModelFormat& format, const std::string& engine, const fs::path& main,
                    const std::string& stem, ModelLocation& location,
                    std::optional<MissingCompanion>& missing) {
  const std::vector<fs::path> files = regularFiles(main.parent_path());
  for (const CompanionFile& companion : format.companions) {
    const std::regex re = patternRegex(companion.pattern, &stem);
    std::optional<fs::path> found;
    for (const fs::path& file : files)  // sorted: the last match wins (highest epoch)
      if (file != main && std::regex_match(file.filename().string(), re)) found = file;
    if (found) {
      location.companions[companion.role] = *found;
    } else if (companion.required) {
      missing = MissingCompanion{engine, format.name, main.string(), companion.pattern};
      return false;
    }
  }
  return true;
}

/// Bytes of a model file the content probe reads: a magic longer than this
/// cannot match.
constexpr std::size_t kMagicProbeBytes = 64;

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Whether the file's first bytes `head` start with the bytes the hex string
/// `hex` spells.
bool magicMatches(std::string_view hex, std::string_view head) {
  // The manifest reader refuses malformed magic; formats can also come from a
  // plugin's code, so nothing is assumed here: odd lengths, non-hex digits and
  // empty strings match nothing (std::stoul threw on them).
  if (hex.empty() || hex.size() % 2 != 0 || hex.size() / 2 > head.size()) return false;
  for (std::size_t i = 0; i < hex.size() / 2; ++i) {
    const int high = hexDigit(hex[2 * i]);
    const int low = hexDigit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    if (static_cast<unsigned char>(head[i]) != static_cast<unsigned>(high * 16 + low)) return false;
  }
  return true;
}

class Resolver {
 public:
  Resolver(const fs::path& path, const std::string& engine, const std::vector<EngineFormats>& engines)
      : path_(path), engine_(engine) {
    for (const EngineFormats& e : engines)
      if (engine.empty() || e.engine == engine) engines_.push_back(&e);
  }

  ModelResolution resolve() {
    std::error_code ec;
    const fs::file_status status = fs::status(path_, ec);
    if (!fs::exists(status))
      throw Error(ErrorCode::NotFound, "model file '" + path_.string() + "' not found");
    if (fs::is_directory(status)) return resolveDirectory();
    if (!fs::is_regular_file(status))
      throw Error(ErrorCode::InvalidArgument,
                  "model path '" + path_.string() + "': expected a file or a directory");
    return resolveFile();
  }

 private:
  ModelResolution resolveDirectory() {
    std::vector<Candidate> candidates;
    for (const EngineFormats* e : engines_)
      for (const ModelFormat& format : e->formats)
        if (!format.directoryMarker.empty() && fs::is_regular_file(path_ / format.directoryMarker))
          candidates.push_back(
              {&e->engine, &format, {path_, format.name, path_ / format.directoryMarker, {}}, Strength::Marker});
    if (!candidates.empty()) return choose(candidates);

    // A directory holding one model: its files that are a format's main file.
    std::vector<std::pair<fs::path, std::vector<Candidate>>> models;
    for (const fs::path& file : regularFiles(path_)) {
      std::vector<Candidate> forFile = mainFileMatches(file, true);
      if (!forFile.empty()) models.emplace_back(file, std::move(forFile));
    }
    if (models.empty()) {
      if (missing_) throwMissingCompanion();
      throw Error(ErrorCode::NotFound,
                  "directory '" + path_.string() + "' holds no model file" +
                      (engine_.empty() ? std::string() : " for engine " + engine_) + " (expected " +
                      knownFormats(true) + ")");
    }
    if (models.size() > 1) {
      std::vector<std::string> names;
      for (const auto& [file, unused] : models) names.push_back(file.filename().string());
      throw Error(ErrorCode::InvalidArgument,
                  "directory '" + path_.string() + "' holds several model files (" + join(names) +
                      "); name the file" + (engine_.empty() ? std::string(" or the engine") : std::string()));
    }
    return choose(models.front().second);
  }

  ModelResolution resolveFile() {
    std::vector<Candidate> candidates;
    const std::string name = path_.filename().string();
    for (const EngineFormats* e : engines_)
      for (const ModelFormat& format : e->formats)
        if (!format.directoryMarker.empty() && name == format.directoryMarker)
          candidates.push_back(
              {&e->engine, &format, {path_.parent_path(), format.name, path_, {}}, Strength::Marker});
    for (Candidate& c : mainFileMatches(path_, false)) candidates.push_back(std::move(c));
    for (Candidate& c : companionMatches()) candidates.push_back(std::move(c));
    if (candidates.empty()) candidates = contentMatches();
    if (!candidates.empty()) return choose(candidates);
    if (missing_) throwMissingCompanion();
    if (!engine_.empty())
      return {engine_, {path_, "", {}, {}}, {}, "named; no format it declares matches the file, handed to it as it is"};
    throw Error(ErrorCode::InvalidArgument,
                "cannot tell the format of model file '" + path_.string() + "'; expected " +
                    knownFormats(false) + ", or name the engine explicitly");
  }

  /// Formats whose suffix `file` has.
  std::vector<Candidate> mainFileMatches(const fs::path& file, bool inDirectory) {
    std::vector<Candidate> out;
    const std::string name = file.filename().string();
    for (const EngineFormats* e : engines_)
      for (const ModelFormat& format : e->formats) {
        if (inDirectory && !format.foundInDirectory) continue;
        for (const std::string& suffix : format.suffixes) {
          const std::optional<std::string> stem = stemFor(name, suffix);
          if (!stem) continue;
          ModelLocation location{file, format.name, {}, {}};
          if (findCompanions(format, e->engine, file, *stem, location, missing_))
            out.push_back({&e->engine, &format, std::move(location), Strength::Name});
          break;
        }
      }
    return out;
  }

  /// Formats one of whose companions `path_` is, when their main file is there.
  std::vector<Candidate> companionMatches() {
    std::vector<Candidate> out;
    const std::string name = path_.filename().string();
    for (const EngineFormats* e : engines_)
      for (const ModelFormat& format : e->formats)
        for (const CompanionFile& companion : format.companions) {
          std::smatch match;
          if (!std::regex_match(name, match, patternRegex(companion.pattern, nullptr))) continue;
          const std::string stem = match[1].str();
          for (const std::string& suffix : format.suffixes) {
            const fs::path main = path_.parent_path() / (stem + suffix);
            if (!fs::is_regular_file(main)) continue;
            ModelLocation location{main, format.name, {}, {}};
            if (findCompanions(format, e->engine, main, stem, location, missing_))
              out.push_back({&e->engine, &format, std::move(location), Strength::Name});
            break;
          }
        }
    return out;
  }

  /// Formats whose magic bytes start the file.
  std::vector<Candidate> contentMatches() {
    std::vector<Candidate> out;
    std::ifstream in(path_, std::ios::binary);
    std::array<char, kMagicProbeBytes> head{};
    in.read(head.data(), head.size());
    const auto size = static_cast<std::size_t>(in.gcount());
    for (const EngineFormats* e : engines_)
      for (const ModelFormat& format : e->formats)
        for (const std::string& hex : format.magic) {
          if (!magicMatches(hex, std::string_view(head.data(), size))) continue;
          out.push_back({&e->engine, &format, {path_, format.name, {}, {}}, Strength::Content});
          break;
        }
    return out;
  }

  ModelResolution choose(const std::vector<Candidate>& candidates) const {
    Strength best = Strength::Content;
    for (const Candidate& c : candidates) best = std::max(best, c.strength);
    const Candidate* winner = nullptr;
    for (const Candidate& c : candidates)
      if (c.strength == best && (winner == nullptr || c.format->priority > winner->format->priority))
        winner = &c;
    for (const Candidate& c : candidates)
      if (c.strength == best && c.format->priority == winner->format->priority && *c.engine != *winner->engine)
        throw Error(ErrorCode::InvalidArgument,
                    "model '" + winner->location.path.string() + "' is claimed by engines " +
                        *winner->engine + " (format " + winner->format->name + ") and " + *c.engine +
                        " (format " + c.format->name + ") with equal priority " +
                        std::to_string(winner->format->priority) + "; name the engine");
    ModelResolution result{*winner->engine, winner->location, {}, {}};
    const char* how = best == Strength::Marker ? "marker file " : best == Strength::Name ? "name " : "content ";
    result.reason = "format " + winner->format->describe() + ", by " + how + "of '" +
                    path_.filename().string() + "'";
    for (const Candidate& c : candidates) {
      const std::string other = *c.engine + " (" + c.format->name + ")";
      if (*c.engine != *winner->engine &&
          std::find(result.alsoClaimedBy.begin(), result.alsoClaimedBy.end(), other) ==
              result.alsoClaimedBy.end())
        result.alsoClaimedBy.push_back(other);
    }
    return result;
  }

  [[noreturn]] void throwMissingCompanion() const {
    throw Error(ErrorCode::NotFound, "model '" + missing_->main + "' (format " + missing_->format +
                                         " of engine " + missing_->engine + ") needs a file '" +
                                         missing_->pattern + "' next to it; none found");
  }

  /// "Format (.suffix) [engine], ..." for messages.
  std::string knownFormats(bool inDirectory) const {
    std::vector<std::string> all;
    for (const EngineFormats* e : engines_)
      for (const ModelFormat& format : e->formats)
        if (!inDirectory || format.foundInDirectory || !format.directoryMarker.empty())
          all.push_back(format.describe() + " [" + e->engine + "]");
    return all.empty() ? std::string("a format some engine plugin declares (none found)")
                       : "one of: " + join(all);
  }

  fs::path path_;
  std::string engine_;
  std::vector<const EngineFormats*> engines_;
  std::optional<MissingCompanion> missing_;
};

}  // namespace

ModelResolution resolveModel(const fs::path& path, const std::string& engine,
                             const std::vector<EngineFormats>& engines) {
  return Resolver(path, engine, engines).resolve();
}

}  // namespace polyinfer::detail
