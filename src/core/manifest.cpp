#include "manifest.hpp"

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "polyinfer/error.hpp"

namespace polyinfer::detail {

namespace {

using nlohmann::json;

class ManifestReader {
 public:
  explicit ManifestReader(std::filesystem::path file) : file_(std::move(file)) {}

  PluginManifest read() {
    std::ifstream in(file_);
    if (!in) fail("cannot be opened");
    const json root = json::parse(in, nullptr, false);
    if (root.is_discarded()) fail("is not valid JSON");
    if (!root.is_object()) fail("expected a JSON object at the top");
    checkKeys(root, "the top level", {"engine", "formats"});
    PluginManifest manifest;
    manifest.engine = string(root, "engine", "the top level", true);
    if (manifest.engine.empty()) fail("\"engine\" is empty");
    const json* formats = find(root, "formats");
    if (formats == nullptr || !formats->is_array()) fail("expected \"formats\": an array");
    for (const json& format : *formats) manifest.formats.push_back(readFormat(format));
    return manifest;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::InvalidArgument, "plugin manifest '" + file_.string() + "': " + what);
  }

  static const json* find(const json& object, const char* key) {
    const auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  }

  void checkKeys(const json& object, const std::string& where, const std::set<std::string>& known) const {
    for (const auto& [key, value] : object.items())
      if (!known.contains(key)) {
        std::string list;
        for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
        fail("unknown key \"" + key + "\" in " + where + " (known: " + list + ")");
      }
  }

  std::string string(const json& object, const char* key, const std::string& where, bool required) const {
    const json* value = find(object, key);
    if (value == nullptr) {
      if (required) fail("expected \"" + std::string(key) + "\" in " + where);
      return {};
    }
    if (!value->is_string()) fail("\"" + std::string(key) + "\" in " + where + ": expected a string");
    return value->get<std::string>();
  }

  std::vector<std::string> strings(const json& object, const char* key, const std::string& where) const {
    std::vector<std::string> out;
    const json* value = find(object, key);
    if (value == nullptr) return out;
    if (!value->is_array()) fail("\"" + std::string(key) + "\" in " + where + ": expected an array of strings");
    for (const json& item : *value) {
      if (!item.is_string() || item.get<std::string>().empty())
        fail("\"" + std::string(key) + "\" in " + where + ": expected non-empty strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  ModelFormat readFormat(const json& object) {
    if (!object.is_object()) fail("each of \"formats\" must be an object");
    ModelFormat format;
    format.name = string(object, "name", "a format", true);
    const std::string where = "format \"" + format.name + "\"";
    checkKeys(object, where,
              {"name", "suffixes", "directoryMarker", "companions", "magic", "priority",
               "foundInDirectory"});
    format.suffixes = strings(object, "suffixes", where);
    format.directoryMarker = string(object, "directoryMarker", where, false);
    format.magic = strings(object, "magic", where);
    for (const std::string& hex : format.magic) {
      const bool isHex = hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
      if (hex.size() % 2 != 0 || !isHex)
        fail(where + ": magic \"" + hex + "\": expected an even number of hex digits");
      // The content probe reads a file's first 64 bytes: a longer magic
      // would match nothing (an empty one is refused by strings()).
      if (hex.size() > 128)
        fail(where + ": magic \"" + hex + "\": expected 1 to 64 bytes (2 to 128 hex digits), got " +
             std::to_string(hex.size() / 2));
    }
    if (const json* priority = find(object, "priority")) {
      if (!priority->is_number_integer()) fail(where + ": \"priority\": expected an integer");
      format.priority = priority->get<int>();
    }
    if (const json* inDirectory = find(object, "foundInDirectory")) {
      if (!inDirectory->is_boolean()) fail(where + ": \"foundInDirectory\": expected true or false");
      format.foundInDirectory = inDirectory->get<bool>();
    }
    if (const json* companions = find(object, "companions")) {
      if (!companions->is_array()) fail(where + ": \"companions\": expected an array");
      for (const json& item : *companions) {
        if (!item.is_object()) fail(where + ": each companion must be an object");
        checkKeys(item, where + "'s companion", {"role", "pattern", "required"});
        CompanionFile companion;
        companion.role = string(item, "role", where + "'s companion", true);
        companion.pattern = string(item, "pattern", where + "'s companion", true);
        if (companion.pattern.find("{stem}") == std::string::npos)
          fail(where + ": companion pattern \"" + companion.pattern + "\" must contain {stem}");
        if (const json* required = find(item, "required")) {
          if (!required->is_boolean()) fail(where + ": companion \"required\": expected true or false");
          companion.required = required->get<bool>();
        }
        format.companions.push_back(std::move(companion));
      }
    }
    if (format.suffixes.empty() && format.directoryMarker.empty() && format.magic.empty())
      fail(where + ": expected \"suffixes\", \"directoryMarker\" or \"magic\" (nothing would match it)");
    if (!format.companions.empty() && format.suffixes.empty())
      fail(where + ": companions need \"suffixes\" (a main file whose stem they share)");
    return format;
  }

  std::filesystem::path file_;
};

}  // namespace

PluginManifest readManifest(const std::filesystem::path& file) { return ManifestReader(file).read(); }

}  // namespace polyinfer::detail
