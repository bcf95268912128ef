// OpenCvEngine: what the engine describes, and load(): device, options, the
// model's format and bytes, then the model.
#include "opencv_engine.hpp"

#include <opencv2/core/version.hpp>  // CV_VERSION

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "opencv_common.hpp"
#include "opencv_model.hpp"
#include "opencv_options.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::opencv_engine {

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

/// A format of manifest.json, as OpenCV reads it.
struct Format {
  const char* manifestName;  ///< ModelLocation::format
  const char* framework;     ///< config entry "format"; selects cv::dnn::readNetFrom*
  const char* configExt;     ///< the text part's extension; nullptr: none
  bool configRequired;
};

constexpr Format kFormats[] = {
    {"ONNX", "onnx", nullptr, false},
    {"Caffe", "caffe", ".prototxt", true},
    {"Darknet", "darknet", ".cfg", true},
    {"TensorFlow frozen graph", "tensorflow", ".pbtxt", false},
};

/// The format the core recognised; with none (the engine was named and no
/// format matched), a text part is refused and anything else is read as ONNX.
const Format& formatOf(const ModelLocation& location) {
  if (location.format.empty()) {
    const std::string ext = plugin::toLower(location.path.extension().string());
    if (ext == ".prototxt" || ext == ".cfg" || ext == ".pbtxt")
      throw Error(ErrorCode::InvalidArgument,
                  std::string(kEngineName) + ": '" + location.describe() +
                      "' is the text part of a model; name the weights file (.caffemodel, "
                      ".weights, .pb) and pass this one as option configFile");
    return kFormats[0];
  }
  for (const Format& format : kFormats)
    if (location.format == format.manifestName) return format;
  throw Error(ErrorCode::Internal, std::string(kEngineName) + ": format '" + location.format +
                                       "' of '" + location.describe() +
                                       "' is not one this plugin reads; manifest.json and "
                                       "opencv_engine.cpp disagree");
}

/// The model's text part and its config entry.
struct ConfigPart {
  std::shared_ptr<const Bytes> bytes;
  ConfigEntry entry;
};

/// Option configFile's file (read here), else the companion the core found
/// and read; nullopt when there is neither (NotFound when the format needs one).
std::optional<ConfigPart> configPartOf(const plugin::LoadRequest& request, const Format& format) {
  const fs::path& path = request.location.path;
  if (const std::optional<std::string> given = request.options.getString("configFile")) {
    if (!fs::is_regular_file(*given))
      throw Error(ErrorCode::NotFound,
                  std::string(kEngineName) + ": configFile '" + *given + "' not found");
    return ConfigPart{std::make_shared<const Bytes>(plugin::readFileBytes(kEngineName, *given, "config file")),
                      {"configFile", *given, ValueSource::Explicit, "set by option configFile"}};
  }
  const auto companion = request.location.companions.find("config");
  if (companion != request.location.companions.end()) {
    const auto read = request.bytes->companions.find("config");
    if (read == request.bytes->companions.end())
      throw Error(ErrorCode::Internal, std::string(kEngineName) + ": the core found '" +
                                           companion->second.string() +
                                           "' but passed no bytes for it (LoadRequest::bytes)");
    // Shares the core's bytes (an aliasing pointer keeps them alive).
    return ConfigPart{std::shared_ptr<const Bytes>(request.bytes, &read->second),
                      {"configFile", companion->second.string(), ValueSource::Default,
                       "found next to the model"}};
  }
  if (format.configRequired)
    throw Error(ErrorCode::NotFound, std::string(kEngineName) + ": a " + format.framework +
                                         " model needs its " + format.configExt +
                                         " file: expected '" +
                                         fs::path(path).replace_extension(format.configExt).string() +
                                         "' next to the model, or option configFile");
  return std::nullopt;
}

std::shared_ptr<plugin::EngineModel> loadModel(const plugin::LoadRequest& request,
                                               const EngineDescription& description) {
  plugin::parseDevice(kEngineName, request.device, description.devices,
                      "OpenCV runs on the CPU only in polyinfer");
  if (!request.bytes)
    throw Error(ErrorCode::Internal, std::string(kEngineName) +
                                         ": no model bytes in LoadRequest::bytes (the engine is "
                                         "not re-entrant: the core reads the files)");

  // 1. Options, all checked before anything is applied.
  plugin::ResolvedInt threads = resolveThreads(request);
  BackendChoice backend = resolveBackend(request.options);
  ConfigEntry precision = resolvePrecision(request.options);

  // 2. The format and the bytes.
  const Format& format = formatOf(request.location);
  ModelSource source;
  source.framework = format.framework;
  source.path = request.location.describe();
  source.model = std::shared_ptr<const Bytes>(request.bytes, &request.bytes->main);
  std::optional<ConfigPart> configPart = configPartOf(request, format);
  if (configPart) source.config = configPart->bytes;

  // 3. Process-wide settings, then the model.
  std::vector<ConfigEntry> config;
  config.push_back(applyLogLevel());
  config.push_back(applyThreads(std::move(threads)));
  config.push_back(plugin::noInterOpThreads(request, "OpenCV"));
  config.push_back(std::move(backend.backendEntry));
  config.push_back(std::move(backend.targetEntry));
  config.push_back(std::move(precision));
  if (configPart) config.push_back(std::move(configPart->entry));
  config.push_back({"format", format.framework, ValueSource::Default,
                    request.location.format.empty()
                        ? std::string("no format matched the file's name: read as ONNX")
                        : request.location.format +
                              "; model bytes read once, each predictor builds its own Net"});
  return std::make_shared<OpenCvModel>(std::move(source), backend, std::move(config));
}

}  // namespace

OpenCvEngine::OpenCvEngine() {
  description_.name = kEngineName;
  description_.version = CV_VERSION;
  description_.devices = {"cpu"};
  description_.reentrant = false;
  description_.options = {
      plugin::intraOpThreadsOption(
          "num_threads",
          "threads of OpenCV's parallel framework (cv::setNumThreads; process-wide, set by the "
          "first model loaded): integer >= 1; default: env POLYINFER_INTRA_OP_THREADS, else "
          "usable cores / workers"),
      {"backend", {}, "cv::dnn backend: opencv (default) or default; others are refused"},
      {"target", {}, "cv::dnn target: cpu (default); others are refused"},
      {"precision", {}, "fp32 (default; the only one OpenCV's CPU target has)"},
      {"configFile",
       {},
       "text part of a two-file model (.prototxt, .cfg, .pbtxt); default: the file next to the "
       "model with the same stem"},
  };
}

std::shared_ptr<plugin::EngineModel> OpenCvEngine::load(const plugin::LoadRequest& request) {
  try {
    return loadModel(request, description_);
  } catch (...) {
    rethrowLoadError(request.location.describe());
  }
}

}  // namespace polyinfer::opencv_engine
