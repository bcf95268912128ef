#include "model_repository.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "polyinfer/error.hpp"

namespace polyinfer::serve {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::InvalidArgument, message);
}

/// The value as JSON text for messages, shortened when long.
std::string shown(const Json& value) {
  std::string text = value.dump();
  constexpr std::size_t kMax = 60;
  if (text.size() > kMax) text = text.substr(0, kMax - 3) + "...";
  return text;
}

std::string joined(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

std::string quotedPath(const fs::path& path) { return path.string(); }

/// Throws for a key of `object` not in `validKeys`, listing them.
void requireKnownKeys(const Json& object, const std::string& where, const std::vector<std::string>& validKeys) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(validKeys.begin(), validKeys.end(), key) != validKeys.end()) continue;
    std::string message = (where.empty() ? "" : where + ": ") + "unknown key \"" + key + "\"";
    if (where.empty() && (key == "input" || key == "output")) {
      message += " (polyinfer reads inputs and outputs from the model itself)";
    }
    invalid(message + "; valid keys: " + joined(validKeys));
  }
}

/// The integer at `where`, in [min, max]; throws naming the key otherwise.
int64_t integerIn(const Json& value, const std::string& where, int64_t min, int64_t max) {
  auto fail = [&]() -> int64_t {
    std::string expected;
    if (min == 0 && max == std::numeric_limits<int64_t>::max()) expected = "a non-negative integer";
    else if (min == 1 && max == std::numeric_limits<int64_t>::max()) expected = "a positive integer";
    else expected = "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    invalid(where + ": expected " + expected + ", got " + shown(value));
  };
  if (!value.is_number_integer()) return fail();
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(max)) return fail();
  int64_t number = value.get<int64_t>();
  if (number < min || number > max) return fail();
  return number;
}

int64_t nonNegative(const Json& value, const std::string& where) {
  return integerIn(value, where, 0, std::numeric_limits<int64_t>::max());
}
int64_t positive(const Json& value, const std::string& where) {
  return integerIn(value, where, 1, std::numeric_limits<int64_t>::max());
}

const std::string& stringAt(const Json& value, const std::string& where) {
  if (!value.is_string()) invalid(where + ": expected a string, got " + shown(value));
  return value.get_ref<const std::string&>();
}

const Json& objectAt(const Json& value, const std::string& where) {
  if (!value.is_object()) invalid(where + ": expected an object, got " + shown(value));
  return value;
}

const Json& arrayAt(const Json& value, const std::string& where) {
  if (!value.is_array()) invalid(where + ": expected an array, got " + shown(value));
  return value;
}

/// Sorted, duplicate-free integers of an array, each checked by `check`.
template <typename Check>
std::vector<int64_t> sortedIntegers(const Json& array, const std::string& where, Check check) {
  std::vector<int64_t> numbers;
  for (std::size_t i = 0; i < array.size(); ++i) {
    numbers.push_back(check(array[i], where + "[" + std::to_string(i) + "]"));
  }
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
  return numbers;
}

std::string describeDevice(const std::string& device) { return "\"" + device + "\""; }

bool isDevice(const std::string& device) {
  if (device == "cpu") return true;
  if (!device.starts_with("gpu") || device.size() == 3) return false;
  return std::all_of(device.begin() + 3, device.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Triton's backend names that differ from polyinfer's engine names.
std::string engineForBackend(const std::string& backend) {
  if (backend == "pytorch") return "torch";
  return backend;  // onnxruntime, tensorflow, ...: the same; unknown ones fail at load, listing the engines
}

/// Triton's platforms that a polyinfer engine serves.
const std::vector<std::pair<std::string, std::string>>& platformEngines() {
  static const std::vector<std::pair<std::string, std::string>> table = {
      {"onnxruntime_onnx", "onnxruntime"},
      {"pytorch_libtorch", "torch"},
      {"tensorflow_graphdef", "tensorflow"},
      {"tensorflow_savedmodel", "tensorflow"},
  };
  return table;
}

/// "engine", "backend" and "platform" name one engine, or none.
std::string resolveEngine(const Json& config) {
  struct Choice {
    std::string key, given, engine;
  };
  std::vector<Choice> choices;
  if (config.contains("engine")) {
    const std::string& engine = stringAt(config["engine"], "engine");
    choices.push_back({"engine", engine, engine});
  }
  if (config.contains("backend")) {
    const std::string& backend = stringAt(config["backend"], "backend");
    choices.push_back({"backend", backend, engineForBackend(backend)});
  }
  if (config.contains("platform")) {
    const std::string& platform = stringAt(config["platform"], "platform");
    const auto& table = platformEngines();
    auto it = std::find_if(table.begin(), table.end(), [&](const auto& entry) { return entry.first == platform; });
    if (it == table.end()) {
      std::vector<std::string> known;
      for (const auto& entry : table) known.push_back(entry.first);
      invalid("platform: expected one of " + joined(known) + " (or an \"engine\"), got \"" + platform + "\"");
    }
    choices.push_back({"platform", platform, it->second});
  }
  std::erase_if(choices, [](const Choice& c) { return c.engine.empty(); });  // "": chosen from the format
  for (std::size_t i = 1; i < choices.size(); ++i) {
    if (choices[i].engine != choices[0].engine) {
      invalid(choices[0].key + " \"" + choices[0].given + "\" (engine " + choices[0].engine + ") and " +
              choices[i].key + " \"" + choices[i].given + "\" (engine " + choices[i].engine +
              ") name different engines; give one");
    }
  }
  return choices.empty() ? std::string() : choices[0].engine;
}

Options parseParameters(const Json& parameters) {
  objectAt(parameters, "parameters");
  Options options;
  for (const auto& [key, value] : parameters.items()) {
    const std::string where = "parameters." + key;
    if (key.empty()) invalid("parameters: expected non-empty keys, got \"\"");
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_boolean()) {
      text = value.get<bool>() ? "true" : "false";
    } else if (value.is_number()) {
      text = value.dump();  // integers exactly; floats in their shortest round-trip form
    } else if (value.is_object() && value.size() == 1 && value.contains("string_value") &&
               value["string_value"].is_string()) {
      text = value["string_value"].get<std::string>();  // Triton's form
    } else {
      invalid(where + ": expected a string, number, boolean or {\"string_value\": \"...\"}, got " + shown(value));
    }
    options.set(key, std::move(text));
  }
  return options;
}

DynamicBatchingConfig parseDynamicBatching(const Json& value) {
  objectAt(value, "dynamic_batching");
  requireKnownKeys(value, "dynamic_batching", {"preferred_batch_size", "max_queue_delay_microseconds"});
  DynamicBatchingConfig batching;
  if (value.contains("preferred_batch_size")) {
    const Json& sizes = arrayAt(value["preferred_batch_size"], "dynamic_batching.preferred_batch_size");
    batching.preferredBatchSize = sortedIntegers(sizes, "dynamic_batching.preferred_batch_size", positive);
  }
  if (value.contains("max_queue_delay_microseconds")) {
    batching.maxQueueDelayMicroseconds =
        nonNegative(value["max_queue_delay_microseconds"], "dynamic_batching.max_queue_delay_microseconds");
  }
  return batching;
}

VersionPolicy parseVersionPolicy(const Json& value) {
  objectAt(value, "version_policy");
  requireKnownKeys(value, "version_policy", {"latest", "all", "specific"});
  if (value.size() != 1) {
    invalid("version_policy: expected exactly one of \"latest\", \"all\", \"specific\", got " + shown(value));
  }
  VersionPolicy policy;
  if (value.contains("latest")) {
    const Json& latest = objectAt(value["latest"], "version_policy.latest");
    requireKnownKeys(latest, "version_policy.latest", {"num_versions"});
    if (!latest.contains("num_versions")) {
      invalid("version_policy.latest: expected {\"num_versions\": N}, got " + shown(latest));
    }
    policy.kind = VersionPolicy::Kind::Latest;
    policy.latestCount = positive(latest["num_versions"], "version_policy.latest.num_versions");
  } else if (value.contains("all")) {
    const Json& all = objectAt(value["all"], "version_policy.all");
    requireKnownKeys(all, "version_policy.all", {});
    policy.kind = VersionPolicy::Kind::All;
  } else {
    const Json& specific = objectAt(value["specific"], "version_policy.specific");
    requireKnownKeys(specific, "version_policy.specific", {"versions"});
    if (!specific.contains("versions")) {
      invalid("version_policy.specific: expected {\"versions\": [...]}, got " + shown(specific));
    }
    const Json& versions = arrayAt(specific["versions"], "version_policy.specific.versions");
    if (versions.empty()) invalid("version_policy.specific.versions: expected at least one version, got []");
    policy.kind = VersionPolicy::Kind::Specific;
    policy.specific = sortedIntegers(versions, "version_policy.specific.versions", nonNegative);
  }
  return policy;
}

struct InstanceGroup {
  int count = 1;
  std::optional<std::string> device;  ///< what the kind asks for; nullopt for KIND_AUTO
};

InstanceGroup parseInstanceGroup(const Json& value, bool deviceGiven, const std::string& device) {
  arrayAt(value, "instance_group");
  if (value.size() != 1) {
    invalid("instance_group: expected one group (one worker pool per model), got " + std::to_string(value.size()));
  }
  const Json& group = objectAt(value[0], "instance_group[0]");
  requireKnownKeys(group, "instance_group[0]", {"count", "kind", "gpus"});
  InstanceGroup result;
  if (group.contains("count")) {
    result.count = static_cast<int>(integerIn(group["count"], "instance_group[0].count", 1, INT_MAX));
  }
  std::string kind = "KIND_AUTO";  // Triton's default
  if (group.contains("kind")) kind = stringAt(group["kind"], "instance_group[0].kind");
  std::optional<int64_t> gpu;
  if (group.contains("gpus")) {
    const Json& gpus = arrayAt(group["gpus"], "instance_group[0].gpus");
    if (gpus.size() != 1) {
      invalid("instance_group[0].gpus: expected one GPU (one device per model), got " + shown(gpus));
    }
    if (kind != "KIND_GPU") invalid("instance_group[0].gpus: only with kind KIND_GPU, got kind " + kind);
    gpu = integerIn(gpus[0], "instance_group[0].gpus[0]", 0, INT_MAX);
  }
  if (kind == "KIND_CPU") {
    if (deviceGiven && device != "cpu") {
      invalid("instance_group[0].kind KIND_CPU contradicts device " + describeDevice(device));
    }
    result.device = "cpu";
  } else if (kind == "KIND_GPU") {
    std::string wanted = "gpu" + std::to_string(gpu.value_or(0));
    if (deviceGiven) {
      if (device == "cpu" || (gpu && device != wanted)) {
        invalid("instance_group[0] (kind KIND_GPU" + (gpu ? ", gpus [" + std::to_string(*gpu) + "]" : std::string()) +
                ") contradicts device " + describeDevice(device));
      }
      wanted = device;
    }
    result.device = wanted;
  } else if (kind != "KIND_AUTO") {
    invalid("instance_group[0].kind: expected KIND_CPU, KIND_GPU or KIND_AUTO, got \"" + kind + "\"");
  }
  return result;
}

}  // namespace

ModelConfig parseModelConfig(std::string_view jsonText, const std::string& modelName) {
  ModelConfig config;
  auto blank = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  if (std::all_of(jsonText.begin(), jsonText.end(), blank)) {
    return config;
  }
  Json json;
  try {
    json = Json::parse(jsonText, /*callback=*/nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const Json::exception& e) {
    // Drop nlohmann's "[json.exception.parse_error.101] " tag: the rest says where and why.
    std::string reason = e.what();
    if (reason.starts_with("[json.exception.")) {
      auto close = reason.find("] ");
      if (close != std::string::npos) reason = reason.substr(close + 2);
    }
    invalid("invalid JSON: " + reason);
  }
  if (!json.is_object()) invalid("config: expected a JSON object, got " + shown(json));

  requireKnownKeys(json, "",
                   {"name", "engine", "backend", "platform", "parameters", "device", "max_batch_size",
                    "dynamic_batching", "instance_count", "instance_group", "intra_op_threads", "max_queue_size",
                    "version_policy"});

  if (json.contains("name")) {
    const std::string& name = stringAt(json["name"], "name");
    if (name != modelName) {
      invalid("name: expected \"" + modelName + "\" (the model's directory name), got \"" + name + "\"");
    }
  }
  config.engine = resolveEngine(json);
  if (json.contains("parameters")) config.options = parseParameters(json["parameters"]);

  const bool deviceGiven = json.contains("device");
  if (deviceGiven) {
    config.device = stringAt(json["device"], "device");
    if (!isDevice(config.device)) {
      invalid("device: expected \"cpu\" or \"gpu<N>\" (e.g. \"gpu0\"), got " + shown(json["device"]));
    }
  }

  if (json.contains("max_batch_size")) config.maxBatchSize = nonNegative(json["max_batch_size"], "max_batch_size");
  if (json.contains("dynamic_batching")) {
    config.dynamicBatching = parseDynamicBatching(json["dynamic_batching"]);
    if (config.maxBatchSize == 0) {
      invalid("dynamic_batching: needs max_batch_size > 0, got max_batch_size 0 (no batching)");
    }
    for (int64_t size : config.dynamicBatching->preferredBatchSize) {
      if (size > config.maxBatchSize) {
        invalid("dynamic_batching.preferred_batch_size: expected sizes <= max_batch_size " +
                std::to_string(config.maxBatchSize) + ", got " + std::to_string(size));
      }
    }
  }

  if (json.contains("instance_count") && json.contains("instance_group")) {
    invalid("instance_count and instance_group: expected one of them, got both");
  }
  if (json.contains("instance_count")) {
    config.instanceCount = static_cast<int>(integerIn(json["instance_count"], "instance_count", 0, INT_MAX));
  }
  if (json.contains("instance_group")) {
    InstanceGroup group = parseInstanceGroup(json["instance_group"], deviceGiven, config.device);
    config.instanceCount = group.count;
    if (group.device) config.device = *group.device;
  }
  if (json.contains("intra_op_threads")) {
    config.intraOpThreads = static_cast<int>(integerIn(json["intra_op_threads"], "intra_op_threads", 0, INT_MAX));
  }
  if (json.contains("max_queue_size")) {
    config.maxQueueSize = static_cast<std::size_t>(nonNegative(json["max_queue_size"], "max_queue_size"));
  }
  if (json.contains("version_policy")) config.versionPolicy = parseVersionPolicy(json["version_policy"]);
  return config;
}

std::vector<ModelVersionDir> RepositoryModel::served() const {
  const VersionPolicy& policy = config.versionPolicy;
  switch (policy.kind) {
    case VersionPolicy::Kind::All:
      return versions;
    case VersionPolicy::Kind::Latest: {
      auto keep = static_cast<std::ptrdiff_t>(
          std::min<int64_t>(policy.latestCount, static_cast<int64_t>(versions.size())));
      return std::vector<ModelVersionDir>(versions.end() - keep, versions.end());
    }
    case VersionPolicy::Kind::Specific: {
      std::vector<ModelVersionDir> selected;
      for (const auto& dir : versions) {
        if (std::binary_search(policy.specific.begin(), policy.specific.end(), dir.version)) selected.push_back(dir);
      }
      return selected;
    }
  }
  return {};
}

namespace {

/// Subdirectories of `directory` not starting with '.', sorted by name.
std::vector<std::string> visibleSubdirectories(const fs::path& directory) {
  std::error_code error;
  fs::directory_iterator it(directory, error);
  if (error) invalid("cannot read directory " + quotedPath(directory) + ": " + error.message());
  std::vector<std::string> names;
  for (; it != fs::directory_iterator(); it.increment(error)) {
    std::string name = it->path().filename().string();
    std::error_code typeError;
    if (!name.starts_with(".") && it->is_directory(typeError)) names.push_back(std::move(name));
  }
  if (error) invalid("cannot read directory " + quotedPath(directory) + ": " + error.message());
  std::sort(names.begin(), names.end());
  return names;
}

void requireRepository(const fs::path& repository) {
  std::error_code error;
  fs::file_status status = fs::status(repository, error);
  if (!fs::exists(status)) {
    throw Error(ErrorCode::NotFound, "model repository " + quotedPath(repository) + " does not exist");
  }
  if (!fs::is_directory(status)) {
    invalid("model repository " + quotedPath(repository) + ": expected a directory, got a file");
  }
}

/// The version of a directory name: digits only, no leading zero (as
/// Triton), fitting int64.
std::optional<int64_t> versionOf(const std::string& name) {
  if (name.empty() || (name.size() > 1 && name[0] == '0')) return std::nullopt;
  int64_t version = 0;
  auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), version);
  if (error != std::errc() || end != name.data() + name.size() || version < 0) return std::nullopt;
  return version;
}

std::string readConfigFile(const fs::path& file) {
  std::error_code error;
  if (!fs::is_regular_file(file, error)) invalid("expected a file, got a directory or other");
  std::ifstream in(file, std::ios::binary);
  if (!in) invalid(std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) invalid("cannot read");
  return text.str();
}

}  // namespace

RepositoryModel scanModel(const fs::path& repository, const std::string& name) {
  if (name.empty() || name.starts_with(".") || name.find_first_of("/\\") != std::string::npos ||
      name.find('\0') != std::string::npos) {
    invalid("model name \"" + name + "\": expected a directory name of the repository (no '/' or '\\', " +
            "not starting with '.')");
  }
  requireRepository(repository);
  RepositoryModel model;
  model.name = name;
  model.path = repository / name;
  std::error_code error;
  if (!fs::is_directory(model.path, error)) {
    std::vector<std::string> models = visibleSubdirectories(repository);
    throw Error(ErrorCode::NotFound, "model '" + name + "' not in repository " + quotedPath(repository) +
                                         (models.empty() ? "; it has no models" : "; it has: " + joined(models)));
  }

  const fs::path configPath = model.path / "config.json";
  if (fs::exists(fs::symlink_status(configPath, error))) {
    try {
      model.config = parseModelConfig(readConfigFile(configPath), name);
    } catch (const Error& e) {
      throw Error(e.code(), quotedPath(configPath) + ": " + e.what());
    }
  }

  std::vector<std::string> ignored;
  for (const std::string& entry : visibleSubdirectories(model.path)) {
    if (auto version = versionOf(entry)) model.versions.push_back({*version, model.path / entry});
    else ignored.push_back(entry);
  }
  std::sort(model.versions.begin(), model.versions.end(),
            [](const auto& a, const auto& b) { return a.version < b.version; });
  if (model.versions.empty()) {
    invalid("model '" + name + "' (" + quotedPath(model.path) +
            "): no version directory; expected <model>/<version>/ with a non-negative integer version "
            "without leading zeros, e.g. " + quotedPath(model.path / "1") +
            (ignored.empty() ? std::string() : "; ignored: " + joined(ignored)));
  }

  if (model.config.versionPolicy.kind == VersionPolicy::Kind::Specific) {
    std::vector<std::string> present;
    for (const auto& dir : model.versions) present.push_back(std::to_string(dir.version));
    for (int64_t wanted : model.config.versionPolicy.specific) {
      bool found = std::any_of(model.versions.begin(), model.versions.end(),
                               [&](const auto& dir) { return dir.version == wanted; });
      if (!found) {
        invalid(quotedPath(configPath) + ": version_policy.specific: expected version " + std::to_string(wanted) +
                " to have a directory " + quotedPath(model.path / std::to_string(wanted)) +
                ", got versions " + joined(present));
      }
    }
  }
  return model;
}

std::vector<RepositoryEntry> scanRepository(const fs::path& repository) {
  requireRepository(repository);
  std::vector<RepositoryEntry> entries;
  for (const std::string& name : visibleSubdirectories(repository)) {
    RepositoryEntry entry;
    entry.name = name;
    try {
      entry.model = scanModel(repository, name);
    } catch (const Error& e) {
      entry.error = e.what();
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace polyinfer::serve
