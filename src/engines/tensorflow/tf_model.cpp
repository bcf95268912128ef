#include "tf_model.hpp"

#include <charconv>

#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"
#include "tf_common.hpp"
#include "tf_predictor.hpp"

namespace polyinfer::tf {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMarker = "saved_model.pb";

/// The SavedModel directory the request names: the resolved location, or
/// (with the engine named explicitly) a directory holding saved_model.pb or
/// that file itself.
fs::path savedModelDirectory(const ModelLocation& location) {
  const fs::path& path = location.path;
  if (fs::is_directory(path)) {
    if (fs::is_regular_file(path / kMarker)) return path;
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": '" + path.string() +
                    "' is not a SavedModel directory: it has no " + kMarker);
  }
  if (path.filename() == kMarker) return path.parent_path().empty() ? fs::path(".") : path.parent_path();
  throw Error(ErrorCode::InvalidArgument,
              std::string(kEngineName) + ": '" + path.string() +
                  "' is not a SavedModel: expected a directory with " + kMarker);
}

/// "serving_default_x:0" -> ("serving_default_x", 0).
std::pair<std::string, int> splitTensorName(const std::string& name) {
  const std::size_t colon = name.rfind(':');
  if (colon == std::string::npos) return {name, 0};
  int index = -1;
  const char* begin = name.data() + colon + 1;
  const char* end = name.data() + name.size();
  const auto [ptr, ec] = std::from_chars(begin, end, index);
  if (ec != std::errc() || ptr != end || index < 0) return {name, 0};
  return {name.substr(0, colon), index};
}

}  // namespace

TfModel::TfModel(const plugin::LoadRequest& request) {
  const Api& tf = api();
  plugin::parseDevice(kEngineName, request.device, {"cpu"},
                      "polyinfer's tensorflow engine runs TensorFlow on the CPU (the "
                      "tensorflow-cpu wheel has no GPU support)");
  const fs::path dir = savedModelDirectory(request.location);
  label_ = "model '" + dir.string() + "'";

  SessionSettings settings = resolveSettings(request);
  const SavedModelFile file(dir / kMarker);
  const std::size_t metaGraph = file.findMetaGraph(settings.tags);
  // TensorFlow's loader skips the restore quietly when the checkpoint is
  // gone, and every run then fails with "Could not find variable": say so
  // at load instead.
  const fs::path variablesIndex = dir / "variables" / "variables.index";
  if (file.metaGraphs()[metaGraph].hasSaver && !fs::exists(variablesIndex))
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": " + label_ + " restores variables, but '" +
                    variablesIndex.string() + "' is missing (copy the whole SavedModel directory)");
  signature_ = file.signature(metaGraph, settings.signatureKey);

  config_ = std::move(settings.entries);
  config_.push_back({"library", tf.library, ValueSource::Default,
                     std::string("TensorFlow ") + tf.TF_Version() + "; env " + kLibraryEnv});
  config_.push_back({"logLevel", tf.logLevel,
                     tf.logLevelFromEnv ? ValueSource::Environment : ValueSource::Default,
                     std::string("TensorFlow's ") + kLogLevelEnv +
                         " (0 info .. 3 fatal), read once by TensorFlow" +
                         (tf.logLevelFromEnv ? "" : "; polyinfer sets 2 (errors only) when unset")});

  const Status status;
  TF_SessionOptions* options = tf.TF_NewSessionOptions();
  const std::string configProto = settings.configProto();
  tf.TF_SetConfig(options, configProto.data(), configProto.size(), status.get());
  if (!status.ok()) {
    tf.TF_DeleteSessionOptions(options);
    status.throwIfError(label_ + ": session options refused");
  }
  std::vector<const char*> tags;
  for (const std::string& tag : settings.tags) tags.push_back(tag.c_str());
  graph_.reset(tf.TF_NewGraph());
  session_.reset(tf.TF_LoadSessionFromSavedModel(options, nullptr, dir.c_str(), tags.data(),
                                                 static_cast<int>(tags.size()), graph_.get(),
                                                 nullptr, status.get()));
  tf.TF_DeleteSessionOptions(options);
  status.throwIfError("cannot load " + label_);
  if (!session_)
    throw Error(ErrorCode::EngineFailure, std::string(kEngineName) + ": cannot load " + label_);
  for (const SignatureTensor& tensor : signature_.inputs)
    inputPorts_.push_back(findPort(tensor, "input"));
  for (const SignatureTensor& tensor : signature_.outputs)
    outputPorts_.push_back(findPort(tensor, "output"));
}

void TfModel::GraphDeleter::operator()(TF_Graph* graph) const noexcept {
  api().TF_DeleteGraph(graph);
}

void TfModel::SessionDeleter::operator()(TF_Session* session) const noexcept {
  const Status status;
  api().TF_CloseSession(session, status.get());
  api().TF_DeleteSession(session, status.get());
}

TF_Output TfModel::findPort(const SignatureTensor& tensor, const std::string& kind) const {
  const Api& tf = api();
  const auto [operationName, index] = splitTensorName(tensor.tensorName);
  TF_Operation* operation = tf.TF_GraphOperationByName(graph_.get(), operationName.c_str());
  const std::string what = "signature " + kind + " '" + tensor.info.name + "' (graph tensor '" +
                           tensor.tensorName + "')";
  if (operation == nullptr || index >= tf.TF_OperationNumOutputs(operation))
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": " + label_ + ": " + what + " is not in the graph");
  const TF_Output port{operation, index};
  const TF_DataType actual = tf.TF_OperationOutputType(port);
  if (static_cast<int>(actual) != tensor.tfDtype)
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": " + label_ + ": " + what + " is declared " +
                    tfTypeName(tensor.tfDtype) + " but the graph has " + tfTypeName(actual));
  return port;
}

std::vector<TensorInfo> TfModel::infos(const std::vector<SignatureTensor>& tensors) {
  std::vector<TensorInfo> result;
  result.reserve(tensors.size());
  for (const SignatureTensor& tensor : tensors) result.push_back(tensor.info);
  return result;
}

std::unique_ptr<plugin::EnginePredictor> TfModel::createPredictor() const {
  return std::make_unique<TfPredictor>(shared_from_this());
}

}  // namespace polyinfer::tf
