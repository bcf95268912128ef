#include "mx_settings.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>

#include "mx_api.hpp"
#include "mx_common.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::mx {

namespace {

constexpr const char* kDefaultEngineType = "NaiveEngine";
const std::vector<std::string>& engineTypes() {
  static const std::vector<std::string> types{"NaiveEngine", "ThreadedEngine",
                                              "ThreadedEnginePerDevice"};
  return types;
}

/// MXNet's engine: one per process, its type read from MXNET_ENGINE_TYPE when
/// it starts (on the first NDArray operation), never again.
struct EngineState {
  std::mutex mutex;
  bool started = false;
  std::string type;
  ConfigEntry entry;
};

EngineState& engineState() {
  static EngineState state;
  return state;
}

/// Starts MXNet's engine with `type`. The variable is set only for that
/// moment and then restored, so that child processes (the bench's) see the
/// user's environment, not polyinfer's choice.
void startEngine(const std::string& type) {
  const Api& mx = api();
  const std::optional<std::string> before = environmentValue(kEngineTypeEnv);
  ::setenv(kEngineTypeEnv, type.c_str(), 1);
  // Quiet binds: MXNet prints "Subgraph backend MKLDNN is activated" for each
  // executor unless told otherwise. Kept for the process (read at each bind).
  if (!environmentValue(kSubgraphVerboseEnv)) ::setenv(kSubgraphVerboseEnv, "0", 0);
  int status = 0;
  {
    // MXNet logs "MXNet start using engine: <type>" (INFO) whenever the
    // variable is set: polyinfer's config reports the type instead.
    const plugin::StderrFilter filter([](std::string_view line) {
      if (line.find("MXNet start using engine:") != std::string_view::npos)
        return std::optional<bool>(false);
      return std::optional<bool>(line.starts_with("[") ? std::optional<bool>(true) : std::nullopt);
    });
    // The engine starts on its first use; setting the bulk size is one.
    int previous = 0;
    status = mx.MXEngineSetBulkSize(0, &previous);
    if (status == 0) status = mx.MXEngineSetBulkSize(previous, &previous);
  }
  if (before) ::setenv(kEngineTypeEnv, before->c_str(), 1);
  else ::unsetenv(kEngineTypeEnv);
  check(status, "cannot start MXNet's engine (" + type + ")", ErrorCode::Unavailable);
}

/// Called with the engine state's lock held (resolveSettings).
ConfigEntry engineTypeEntry(const plugin::LoadRequest& request) {
  plugin::ResolvedChoice requested = plugin::resolveChoice(
      request.options, keys::kEngineType, engineTypes(), {kEngineTypeEnv}, kDefaultEngineType,
      "runs each operator on the calling thread: what several worker threads need (MXNet does "
      "not support its predict API from several threads on a threaded engine), and faster "
      "than ThreadedEnginePerDevice with one");
  EngineState& state = engineState();
  if (!state.started) {
    startEngine(requested.value);
    state.started = true;
    state.type = requested.value;
    state.entry = requested.entry;
    state.entry.detail += "; process-wide, fixed when MXNet's engine starts";
    return state.entry;
  }
  if (requested.value == state.type) return state.entry;
  ConfigEntry entry = requested.entry;
  entry.value = state.type;
  entry.source = ValueSource::Engine;
  entry.detail = "requested " + requested.value + " (" + std::string(toString(requested.entry.source)) +
                 "), not applied: MXNet's engine is process-wide and already runs " + state.type +
                 ", started by an earlier model";
  return entry;
}

/// "data=1,3,224,224;mask=1,128", or a bare shape for a single-input model.
std::map<std::string, Shape> parseInputShapes(const std::string& text) {
  std::map<std::string, Shape> shapes;
  auto fail = [&](const std::string& why) -> void {
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": option " + keys::kInputShapes + " '" + text +
                    "': " + why + "; expected NAME=SHAPE[;NAME=SHAPE...] (e.g. "
                    "data=1x3x224x224) or one SHAPE for a model with one input");
  };
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = std::min(text.find(';', begin), text.size());
    const std::string_view item = plugin::trim(std::string_view(text).substr(begin, end - begin));
    begin = end + 1;
    if (item.empty()) {
      if (end == text.size()) break;
      fail("an empty entry");
    }
    const std::size_t eq = item.find('=');
    const std::string name(eq == std::string_view::npos ? std::string_view() : plugin::trim(item.substr(0, eq)));
    if (eq != std::string_view::npos && name.empty()) fail("a shape without a name");
    Shape shape;
    try {
      // 1x3x224x224 as well as 1,3,224,224: the CLI's -O splits at commas.
      std::string dims(eq == std::string_view::npos ? item : item.substr(eq + 1));
      std::replace(dims.begin(), dims.end(), 'x', ',');
      shape = parseShape(dims);
    } catch (const Error& e) {
      fail(e.what());
    }
    for (int64_t dim : shape)
      if (dim == 0)
        fail("dimension 0 in the shape of '" + name +
             "': MXNet's predict API reads 0 as an unknown dimension");
    if (shape.empty()) fail("a scalar shape for '" + name + "': MXNet's predict API reads it as unknown");
    if (!shapes.emplace(name, std::move(shape)).second) fail("'" + name + "' given twice");
  }
  if (shapes.empty()) fail("no shape");
  if (shapes.count("") != 0 && shapes.size() > 1) fail("a bare shape among named ones");
  return shapes;
}

ConfigEntry oneDnnEntry() {
  const Api& mx = api();
  const LibFeature* features = nullptr;
  std::size_t count = 0;
  bool built = false;
  if (mx.MXLibInfoFeatures(&features, &count) == 0)
    for (std::size_t i = 0; i < count; ++i)
      if (std::strcmp(features[i].name, "MKLDNN") == 0) built = features[i].enabled;
  if (!built) return {"oneDNN", "off", ValueSource::Engine, "this libmxnet.so was built without oneDNN (MKLDNN)"};
  const plugin::ResolvedBool enabled = plugin::resolveBool(
      Options(), "oneDNN", {"MXNET_MKLDNN_ENABLED"}, true,
      "MXNet's oneDNN (MKLDNN) operators and graph fusion; env MXNET_MKLDNN_ENABLED=0 turns "
      "them off");
  ConfigEntry entry = enabled.entry;
  entry.value = enabled.value ? "on" : "off";
  return entry;
}

}  // namespace

std::vector<OptionSpec> optionSpecs() {
  return {
      plugin::intraOpThreadsOption(
          keys::kIntraOpNumThreads,
          "OpenMP threads of one call (set on the calling thread before each call, so every "
          "model keeps its own): integer >= 1; default Criteria::intraOpThreads, else env "
          "OMP_NUM_THREADS, POLYINFER_INTRA_OP_THREADS, else max(1, usable cores / workers)"),
      {keys::kEngineType, {"MXNET_ENGINE_TYPE"},
       "MXNet's execution engine: NaiveEngine (default: operators run on the calling thread), "
       "ThreadedEngine or ThreadedEnginePerDevice; default env " + std::string(kEngineTypeEnv) +
           ". Process-wide: the first model loaded fixes it"},
      {keys::kInputShapes, {"dataShapes", "data_shapes"},
       "input shapes for a symbol that does not fix them, NAME=SHAPE[;NAME=SHAPE...] or one SHAPE, "
       "dims separated by x or commas (e.g. data=1x3x224x224): declared in the model's inputs and checked against the params "
       "at load; without it a call's own shapes are used"},
      {keys::kPrecision, {},
       "fp32 (default): the types stored in the params file (bf16 and fp16 are not supported)"},
  };
}

Settings resolveSettings(const plugin::LoadRequest& request) {
  // Every environment read of a load happens under the lock under which the
  // first load sets MXNET_ENGINE_TYPE: setenv while another thread reads the
  // environment is a data race (TSan saw it with loads racing).
  std::lock_guard<std::mutex> lock(engineState().mutex);
  const Options& options = request.options;
  Settings settings;
  std::vector<ConfigEntry>& entries = settings.entries;

  plugin::ResolvedInt intraOp = plugin::resolveIntraOpThreads(
      request, keys::kIntraOpNumThreads, {"OMP_NUM_THREADS", plugin::kIntraOpThreadsEnv});
  settings.intraOpThreads = static_cast<int>(intraOp.value);
  intraOp.entry.detail += "; OpenMP threads of each call";
  entries.push_back(std::move(intraOp.entry));
  entries.push_back(plugin::noInterOpThreads(request, kLibraryName));
  entries.push_back(plugin::resolveStoredPrecision(
      options, kEngineName,
      "MXNet's predict API runs the types stored in the params file; convert the model with "
      "MXNet's AMP (mxnet.contrib.amp) before exporting it"));

  if (const std::optional<std::string> shapes = options.getString(keys::kInputShapes)) {
    settings.inputShapes = parseInputShapes(*shapes);
    entries.push_back({keys::kInputShapes, *shapes, ValueSource::Explicit, "declared input shapes"});
  }
  entries.push_back(engineTypeEntry(request));
  entries.push_back(oneDnnEntry());
  return settings;
}

}  // namespace polyinfer::mx
