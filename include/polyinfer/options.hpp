// Options: engine settings as key=value strings, with typed, checked getters.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polyinfer {

/// Describes one option an engine accepts (for help, `info` and for the
/// "unknown key" error, which lists all valid keys).
struct OptionSpec {
  std::string key;                   ///< canonical key, e.g. "intraOpNumThreads"
  std::vector<std::string> aliases;  ///< other accepted spellings (DJL's, ...)
  std::string description;           ///< one line: values and default
};

/// Where the effective value of a setting came from. Precedence is
/// Explicit > Environment > Default; Engine means the engine dictated it
/// (e.g. a process-global value already set by an earlier model).
enum class ValueSource { Explicit, Environment, Default, Engine };

std::string_view toString(ValueSource source) noexcept;

/// One effective setting of a loaded model, as printed by `polyinfer info`
/// and recorded in every benchmark result.
struct ConfigEntry {
  std::string key;
  std::string value;
  ValueSource source = ValueSource::Default;
  std::string detail;  ///< why: "cores 2 / workers 1", "env OMP_NUM_THREADS", ...
};

/// An ordered string map. Keys are case-sensitive. Getters return nullopt
/// when the key is absent and throw Error(InvalidArgument) naming the key,
/// the expected form and the given text when the value is malformed.
class Options {
 public:
  Options() = default;
  Options(std::initializer_list<std::pair<const std::string, std::string>> init)
      : values_(init) {}

  /// Parses "k=v" or a comma-separated list "k=v,k2=v2". Throws on an entry
  /// without '=' or with an empty key.
  static Options parse(std::string_view text);

  /// Adds or replaces one value.
  void set(std::string key, std::string value) { values_[std::move(key)] = std::move(value); }
  /// Adds every entry of `other`, replacing existing keys.
  void merge(const Options& other);

  bool has(std::string_view key) const { return values_.find(std::string(key)) != values_.end(); }
  bool empty() const noexcept { return values_.empty(); }
  const std::map<std::string, std::string>& entries() const noexcept { return values_; }

  std::optional<std::string> getString(std::string_view key) const;
  /// Integer in [min, max].
  std::optional<int64_t> getInt(std::string_view key, int64_t min, int64_t max) const;
  /// true/false, 1/0, yes/no, on/off (case-insensitive).
  std::optional<bool> getBool(std::string_view key) const;
  /// One of `allowed` (case-insensitive match; returns the spelling in `allowed`).
  std::optional<std::string> getChoice(std::string_view key,
                                       const std::vector<std::string>& allowed) const;

  /// Rewrites aliases to canonical keys and throws Error(NotFound) for a key
  /// no spec knows, listing the valid keys. Throws Error(InvalidArgument) when
  /// a key and its alias are both given.
  Options canonicalized(const std::vector<OptionSpec>& specs,
                        std::string_view engineName) const;

 private:
  std::map<std::string, std::string> values_;
};

/// Value of an environment variable, or nullopt when unset or empty.
std::optional<std::string> environmentValue(const char* name);

}  // namespace polyinfer
