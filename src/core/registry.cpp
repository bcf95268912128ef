#include "polyinfer/registry.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <fstream>

#include "format_resolver.hpp"
#include "manifest.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/plugin.hpp"
#include "polyinfer/version.hpp"
#include "strings.hpp"

namespace polyinfer {

namespace fs = std::filesystem;

struct Registry::Entry {
  PluginStatus status;
  bool attempted = false;  ///< start() ran (successfully or not)
  void* handle = nullptr;
  std::unique_ptr<plugin::Engine> engine;
};

namespace {

constexpr std::string_view kPluginPrefix = "libpolyinfer_engine_";
constexpr std::string_view kPluginSuffix = ".so";
constexpr std::string_view kManifestSuffix = ".json";

// The directory libpolyinfer.so itself was loaded from: plugins live in
// <that>/polyinfer/engines, in the install and in the build tree alike.
fs::path coreLibraryDirectory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&coreLibraryDirectory), &info) == 0 || info.dli_fname == nullptr)
    return {};
  std::error_code ec;
  fs::path library = fs::canonical(info.dli_fname, ec);
  return ec ? fs::path(info.dli_fname).parent_path() : library.parent_path();
}

/// The formats of a plugin, from the manifest beside its library; a missing
/// or invalid manifest is the plugin's error (it can still be started by name).
void readManifestOf(PluginStatus& status) {
  fs::path manifest = status.path;
  manifest.replace_extension(kManifestSuffix);
  try {
    detail::PluginManifest read = detail::readManifest(manifest);
    if (read.engine != status.name)
      throw Error(ErrorCode::InvalidArgument,
                  "plugin manifest '" + manifest.string() + "' declares engine '" + read.engine +
                      "', but the plugin's file name says '" + status.name + "'");
    status.formats = std::move(read.formats);
  } catch (const Error& e) {
    status.error = e.what();
  }
}

std::string lastDlError() {
  const char* message = dlerror();
  return message ? message : "unknown dynamic loader error";
}

}  // namespace

Registry& Registry::global() {
  // Never destroyed: engines own native thread pools and static state whose
  // teardown order at process exit is outside our control.
  static Registry* registry = new Registry(defaultSearchPath());
  return *registry;
}

Registry::Registry(std::vector<fs::path> searchPath) : searchPath_(std::move(searchPath)) {}

Registry::~Registry() = default;

std::vector<fs::path> Registry::defaultSearchPath() {
  std::vector<fs::path> path;
  if (auto env = environmentValue("POLYINFER_ENGINE_PATH"))
    for (std::string_view dir : detail::split(*env, ':'))
      if (!dir.empty()) path.emplace_back(dir);
  if (fs::path libDir = coreLibraryDirectory(); !libDir.empty())
    path.push_back(libDir / POLYINFER_PLUGIN_SUBDIR);
  return path;
}

void Registry::scan() {
  if (scanned_) return;
  scanned_ = true;
  for (const fs::path& dir : searchPath_) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& item : fs::directory_iterator(dir, ec)) {
      const std::string file = item.path().filename().string();
      if (file.size() > kPluginPrefix.size() + kPluginSuffix.size() &&
          file.starts_with(kPluginPrefix) && file.ends_with(kPluginSuffix))
        files.push_back(item.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      const std::string filename = file.filename().string();
      std::string name = filename.substr(kPluginPrefix.size(),
                                         filename.size() - kPluginPrefix.size() - kPluginSuffix.size());
      const bool known = std::any_of(entries_.begin(), entries_.end(),
                                     [&](const auto& e) { return e->status.name == name; });
      if (known) continue;  // an earlier directory wins
      auto entry = std::make_unique<Entry>();
      entry->status.name = std::move(name);
      entry->status.path = file;
      readManifestOf(entry->status);
      entries_.push_back(std::move(entry));
    }
  }
}

void Registry::start(Entry& entry) {
  if (entry.attempted) return;
  entry.attempted = true;
  PluginStatus& status = entry.status;
  const std::string where = "plugin " + status.path.string();

  dlerror();
  void* handle = dlopen(status.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    status.error = lastDlError();
    return;
  }
  using EntryPoint = const polyinfer_plugin_entry* (*)();
  auto entryPoint = reinterpret_cast<EntryPoint>(dlsym(handle, POLYINFER_PLUGIN_ENTRY_SYMBOL));
  if (entryPoint == nullptr) {
    status.error = where + " does not export " + POLYINFER_PLUGIN_ENTRY_SYMBOL + "()";
    dlclose(handle);
    return;
  }
  const polyinfer_plugin_entry* info = entryPoint();
  if (info == nullptr || info->abi_version != POLYINFER_PLUGIN_ABI_VERSION) {
    status.error = where + " was built for plugin ABI version " +
                   (info ? std::to_string(info->abi_version) : std::string("(none)")) +
                   ", but polyinfer " + POLYINFER_VERSION + " expects ABI version " +
                   std::to_string(POLYINFER_PLUGIN_ABI_VERSION) +
                   "; rebuild the plugin against this polyinfer";
    dlclose(handle);
    return;
  }
  if (info->engine_name == nullptr || status.name != info->engine_name) {
    status.error = where + " declares engine '" +
                   std::string(info->engine_name ? info->engine_name : "") +
                   "', but its file name says '" + status.name + "'";
    dlclose(handle);
    return;
  }
  std::array<char, 1024> message{};
  plugin::Engine* engine = info->create_engine(message.data(), message.size());
  if (engine == nullptr) {
    message.back() = '\0';
    status.error = where + " failed to start: " +
                   (message[0] ? std::string(message.data()) : std::string("no reason given"));
    // Not closed: a half-initialised engine library may have registered
    // atexit handlers or threads that still point into it.
    entry.handle = handle;
    return;
  }
  entry.handle = handle;
  entry.engine.reset(engine);
  try {
    status.description = engine->describe();
    status.description.formats = status.formats;  // the manifest's, not the engine's word
    status.loaded = true;
  } catch (const std::exception& e) {
    status.error = where + ": describe() failed: " + e.what();
    entry.engine.release();  // leaked on purpose: its state is suspect
  }
}

Registry::Entry& Registry::entryFor(const std::string& name) {
  scan();
  for (auto& entry : entries_)
    if (entry->status.name == name) return *entry;
  std::vector<std::string> names;
  for (const auto& entry : entries_) names.push_back(entry->status.name);
  std::vector<std::string> dirs;
  for (const fs::path& dir : searchPath_) dirs.push_back(dir.string());
  throw Error(ErrorCode::NotFound,
              "unknown engine '" + name + "'; available engines: " +
                  (names.empty() ? std::string("none") : detail::join(names)) +
                  " (plugins searched in: " + (dirs.empty() ? std::string("nothing") : detail::join(dirs)) +
                  "; set POLYINFER_ENGINE_PATH to add a directory)");
}

std::vector<PluginStatus> Registry::plugins() {
  std::lock_guard lock(mutex_);
  scan();
  std::vector<PluginStatus> all;
  for (const auto& entry : entries_) all.push_back(entry->status);
  return all;
}

plugin::Engine& Registry::engine(const std::string& name) {
  std::lock_guard lock(mutex_);
  Entry& entry = entryFor(name);
  start(entry);
  if (!entry.engine)
    throw Error(ErrorCode::Unavailable,
                "engine '" + name + "' is unavailable: " + entry.status.error);
  return *entry.engine;
}

EngineDescription Registry::describe(const std::string& name) {
  std::lock_guard lock(mutex_);
  Entry& entry = entryFor(name);
  start(entry);
  if (!entry.status.loaded)
    throw Error(ErrorCode::Unavailable,
                "engine '" + name + "' is unavailable: " + entry.status.error);
  return entry.status.description;
}

ModelResolution Registry::resolve(const fs::path& path, const std::string& engine) {
  std::vector<detail::EngineFormats> formats;
  {
    std::lock_guard lock(mutex_);
    if (!engine.empty()) entryFor(engine);  // NotFound for an unknown engine, listing the known
    scan();
    for (const auto& entry : entries_) formats.push_back({entry->status.name, entry->status.formats});
  }
  return detail::resolveModel(path, engine, formats);
}

}  // namespace polyinfer
