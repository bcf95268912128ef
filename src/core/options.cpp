#include "polyinfer/options.hpp"

#include <charconv>
#include <cstdlib>

#include "polyinfer/error.hpp"
#include "strings.hpp"

namespace polyinfer {

std::string_view toString(ValueSource source) noexcept {
  switch (source) {
    case ValueSource::Explicit: return "option";
    case ValueSource::Environment: return "environment";
    case ValueSource::Default: return "default";
    case ValueSource::Engine: return "engine";
  }
  return "unknown";
}

namespace {

/// What a message quotes of a given value: at most 200 characters, so that a
/// huge value is not echoed whole.
std::string shown(std::string_view text) {
  constexpr std::size_t kShown = 200;
  if (text.size() <= kShown) return std::string(text);
  return std::string(text.substr(0, kShown)) + "... (" + std::to_string(text.size()) +
         " characters)";
}

}  // namespace

Options Options::parse(std::string_view text) {
  Options options;
  for (std::string_view entry : detail::split(text, ',')) {
    entry = detail::trim(entry);
    if (entry.empty()) continue;
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos || detail::trim(entry.substr(0, eq)).empty())
      throw Error(ErrorCode::InvalidArgument,
                  "option '" + shown(entry) + "': expected key=value");
    options.set(std::string(detail::trim(entry.substr(0, eq))),
                std::string(detail::trim(entry.substr(eq + 1))));
  }
  return options;
}

void Options::merge(const Options& other) {
  for (const auto& [key, value] : other.values_) values_[key] = value;
}

std::optional<std::string> Options::getString(std::string_view key) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

namespace {

int64_t parseIntChecked(std::string_view what, const std::string& text, int64_t min, int64_t max) {
  int64_t value = 0;
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  // Built by append: GCC 12 warns falsely (-Wrestrict) on "[" + std::string&&.
  std::string range("[");
  range.append(std::to_string(min)).append(", ").append(std::to_string(max)).append("]");
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max)
    throw Error(ErrorCode::InvalidArgument, std::string(what) + ": expected an integer in " +
                                                range + ", got '" + shown(text) + "'");
  return value;
}

}  // namespace

std::optional<int64_t> Options::getInt(std::string_view key, int64_t min, int64_t max) const {
  auto text = getString(key);
  if (!text) return std::nullopt;
  return parseIntChecked("option '" + shown(key) + "'", *text, min, max);
}

std::optional<bool> Options::getBool(std::string_view key) const {
  auto text = getString(key);
  if (!text) return std::nullopt;
  const std::string v = detail::toLower(*text);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  throw Error(ErrorCode::InvalidArgument, "option '" + shown(key) +
                                              "': expected true or false, got '" + shown(*text) + "'");
}

std::optional<std::string> Options::getChoice(std::string_view key,
                                              const std::vector<std::string>& allowed) const {
  auto text = getString(key);
  if (!text) return std::nullopt;
  const std::string v = detail::toLower(*text);
  for (const std::string& choice : allowed)
    if (detail::toLower(choice) == v) return choice;
  throw Error(ErrorCode::InvalidArgument, "option '" + shown(key) + "': expected one of " +
                                              detail::join(allowed, "|") + ", got '" + shown(*text) + "'");
}

Options Options::canonicalized(const std::vector<OptionSpec>& specs,
                               std::string_view engineName) const {
  Options out;
  std::map<std::string, std::string> givenAs;  // canonical key -> spelling used
  for (const auto& [key, value] : values_) {
    const OptionSpec* match = nullptr;
    for (const OptionSpec& spec : specs) {
      if (spec.key == key) match = &spec;
      for (const std::string& alias : spec.aliases)
        if (alias == key) match = &spec;
      if (match) break;
    }
    if (!match) {
      std::vector<std::string> valid;
      for (const OptionSpec& spec : specs) {
        std::string entry = spec.key;
        if (!spec.aliases.empty()) entry += " (or " + detail::join(spec.aliases, ", ") + ")";
        valid.push_back(entry);
      }
      throw Error(ErrorCode::NotFound, "unknown option '" + shown(key) + "' for engine " +
                                           std::string(engineName) + "; valid keys: " +
                                           detail::join(valid));
    }
    if (auto it = givenAs.find(match->key); it != givenAs.end())
      throw Error(ErrorCode::InvalidArgument, "option '" + match->key + "' given twice, as '" +
                                                  shown(it->second) + "' and as '" + shown(key) + "'");
    givenAs[match->key] = key;
    out.set(match->key, value);
  }
  return out;
}

std::optional<std::string> environmentValue(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

}  // namespace polyinfer
