#include "tvm_settings.hpp"

#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "polyinfer/plugin_kit.hpp"
#include "tvm_common.hpp"

namespace polyinfer::tvm_engine {

namespace {

/// TVM's process-wide settings and the lock under which a load reads the
/// environment and the first load writes TVM_BIND_THREADS (setenv while
/// another thread reads the environment is a data race).
struct ProcessSettings {
  std::mutex mutex;
  plugin::ProcessWideSetting threads{kLibraryName};
  plugin::ProcessWideSetting bind{kLibraryName, /*isBool=*/true};
};

ProcessSettings& processSettings() {
  static ProcessSettings settings;
  return settings;
}

/// TVM_BIND_THREADS as TVM reads it when it makes a thread pool: pinning is on
/// unless the variable is set to something other than 1.
bool tvmBindsThreads() {
  const char* value = std::getenv(kBindThreadsEnv);
  return value == nullptr || std::atoi(value) == 1;
}

}  // namespace

std::vector<OptionSpec> optionSpecs() {
  return {
      plugin::intraOpThreadsOption(
          keys::kIntraOpNumThreads,
          "threads of one call (TVM's thread pool: every thread that runs a model gets a pool of "
          "this many threads, itself included; process-wide, the first model loaded fixes it): "
          "integer >= 1; default Criteria::intraOpThreads, else env TVM_NUM_THREADS, "
          "OMP_NUM_THREADS, POLYINFER_INTRA_OP_THREADS, else max(1, usable cores / workers)"),
      {keys::kBindThreads, {},
       "let TVM pin its pool threads to cores (true/false); default env TVM_BIND_THREADS, else "
       "false: TVM pins every pool's threads to the same first cores, so the pools of several "
       "worker threads would share those cores and leave the others idle. Process-wide"},
      {keys::kFunction, {}, "the module's Relax function to run (default main)"},
      {keys::kPrecision, {},
       "fp32 (default): the types the module was compiled with (bf16 and fp16 are not supported)"},
  };
}

Settings resolveSettings(const plugin::LoadRequest& request) {
  const Runtime& rt = runtime();
  ProcessSettings& process = processSettings();
  std::lock_guard<std::mutex> lock(process.mutex);
  const Options& options = request.options;
  Settings settings;
  std::vector<ConfigEntry>& entries = settings.entries;

  // Both resolved before either is applied: a malformed value changes nothing.
  plugin::ResolvedInt threads = plugin::resolveIntraOpThreads(
      request, keys::kIntraOpNumThreads,
      {kNumThreadsEnv, "OMP_NUM_THREADS", plugin::kIntraOpThreadsEnv});
  plugin::ResolvedBool bindRequested = plugin::resolveBool(
      options, keys::kBindThreads, {kBindThreadsEnv}, false,
      "polyinfer's default: pools of several worker threads pinned to the same cores would "
      "leave the other cores idle");
  ConfigEntry precision = plugin::resolveStoredPrecision(
      options, kEngineName,
      "a TVM module runs the types it was compiled with; compile it in bf16 or fp16 (Relax's "
      "ToMixedPrecision) to run those");
  if (const std::optional<std::string> function = options.getString(keys::kFunction)) {
    if (function->empty())
      throw Error(ErrorCode::InvalidArgument,
                  std::string(kEngineName) + ": option function: expected a function name, got ''");
    settings.function = *function;
    entries.push_back({keys::kFunction, *function, ValueSource::Explicit, ""});
  } else {
    entries.push_back({keys::kFunction, "main", ValueSource::Default, "the Relax entry function"});
  }

  // TVM reads the pool size when a thread makes its pool (on its first
  // parallel call) and TVM_BIND_THREADS then too: both are set before any
  // predictor of the process runs.
  plugin::ResolvedInt threadsInEffect = process.threads.apply(
      std::move(threads), [&](int64_t value) { rt.setMaxConcurrency(static_cast<int>(value)); },
      [&] { return static_cast<int64_t>(rt.maxConcurrency()); });
  threadsInEffect.entry.detail += "; TVM thread pool of every calling thread";
  entries.push_back(std::move(threadsInEffect.entry));
  entries.push_back(plugin::noInterOpThreads(request, kLibraryName));

  plugin::ResolvedInt bindAsInt{bindRequested.value ? 1 : 0, bindRequested.entry};
  plugin::ResolvedInt bindInEffect = process.bind.apply(
      std::move(bindAsInt),
      [](int64_t value) {
        if (tvmBindsThreads() != (value != 0)) ::setenv(kBindThreadsEnv, value != 0 ? "1" : "0", 1);
      },
      [] { return static_cast<int64_t>(tvmBindsThreads() ? 1 : 0); });
  entries.push_back(std::move(bindInEffect.entry));
  entries.push_back(std::move(precision));
  return settings;
}

}  // namespace polyinfer::tvm_engine
