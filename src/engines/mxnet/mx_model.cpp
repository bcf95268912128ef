#include "mx_model.hpp"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <map>
#include <set>

#include "mx_api.hpp"
#include "mx_common.hpp"
#include "mx_predictor.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::mx {

namespace fs = std::filesystem;

namespace {

constexpr const char* kParamsRole = "params";
constexpr std::string_view kArgPrefix = "arg:";
constexpr std::string_view kAuxPrefix = "aux:";

std::vector<std::string> toStrings(uint32_t count, const char** items) {
  return std::vector<std::string>(items, items + count);
}

/// An MXNet shape (0 or a negative value: unknown) as polyinfer's (-1).
Shape fromMxShape(int ndim, const int* dims) {
  Shape shape;
  for (int d = 0; d < ndim; ++d) shape.push_back(dims[d] > 0 ? dims[d] : -1);
  return shape;
}

/// A symbol handle, freed with its owner.
class Symbol {
 public:
  Symbol(const std::string& json, const std::string& what) {
    std::lock_guard<std::mutex> lock(graphBuildMutex());
    check(api().MXSymbolCreateFromJSON(json.c_str(), &handle_),
          what + " is not an MXNet symbol file", ErrorCode::InvalidArgument);
  }
  ~Symbol() { api().MXSymbolFree(handle_); }
  Symbol(const Symbol&) = delete;
  Symbol& operator=(const Symbol&) = delete;
  SymbolHandle get() const noexcept { return handle_; }

 private:
  SymbolHandle handle_ = nullptr;
};

/// One array of a params file.
struct ParamInfo {
  Shape shape;
  int dtype = 0;
};

/// The names ("arg:w", "aux:m"), shapes and dtypes a params file holds.
std::map<std::string, ParamInfo> readParams(const std::vector<std::uint8_t>& bytes,
                                            const std::string& what) {
  const Api& mx = api();
  uint32_t count = 0;
  uint32_t nameCount = 0;
  NDArrayHandle* arrays = nullptr;
  const char** names = nullptr;
  {
    std::lock_guard<std::mutex> lock(graphBuildMutex());
    check(mx.MXNDArrayLoadFromBuffer(bytes.data(), bytes.size(), &count, &arrays, &nameCount, &names),
          what + " is not an MXNet parameter file, or is truncated", ErrorCode::InvalidArgument);
  }
  // MXNet's list of handles is valid until its next call on this thread:
  // copy it, then free every array whatever happens.
  const std::vector<NDArrayHandle> handles(arrays, arrays + count);
  const std::vector<std::string> keys = toStrings(nameCount, names);
  struct Release {
    const std::vector<NDArrayHandle>& handles;
    ~Release() {
      for (NDArrayHandle handle : handles) api().MXNDArrayFree(handle);
    }
  } release{handles};
  if (keys.size() != handles.size())
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": " + what + " holds " + std::to_string(handles.size()) +
                    " arrays without names; an exported model's params file names each one "
                    "(arg:NAME, aux:NAME)");
  std::map<std::string, ParamInfo> params;
  for (std::size_t i = 0; i < handles.size(); ++i) {
    int ndim = 0;
    const int* dims = nullptr;
    ParamInfo info;
    check(mx.MXNDArrayGetShapeEx(handles[i], &ndim, &dims), what + ": array '" + keys[i] + "'");
    check(mx.MXNDArrayGetDType(handles[i], &info.dtype), what + ": array '" + keys[i] + "'");
    info.shape = fromMxShape(ndim, dims);
    params.emplace(keys[i], std::move(info));
  }
  return params;
}

/// "a, b, c" of at most `limit` names, then "and N more".
std::string listSome(const std::vector<std::string>& names, std::size_t limit = 5) {
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(limit, names.size()));
  std::string text = plugin::join(shown);
  if (names.size() > limit) text += " and " + std::to_string(names.size() - limit) + " more";
  return text;
}

/// The symbol's node attributes, "node$key" -> value.
std::map<std::string, std::string> symbolAttributes(const Symbol& symbol, const std::string& what) {
  uint32_t count = 0;
  const char** pairs = nullptr;
  check(api().MXSymbolListAttr(symbol.get(), &count, &pairs), what + ": cannot read attributes");
  std::map<std::string, std::string> attributes;
  for (uint32_t i = 0; i < count; ++i) attributes.emplace(pairs[2 * i], pairs[2 * i + 1]);
  return attributes;
}

/// "(1, 3, 224, 224)" of a node's __shape__ attribute; empty when absent or
/// not readable.
Shape attributeShape(const std::map<std::string, std::string>& attributes, const std::string& node) {
  const auto found = attributes.find(node + "$__shape__");
  if (found == attributes.end()) return {};
  std::string text;
  for (char c : found->second)
    if (c != ' ') text += c;
  try {
    Shape shape = parseShape(text, true);
    for (int64_t& dim : shape)
      if (dim <= 0) dim = -1;
    return shape;
  } catch (const Error&) {
    return {};
  }
}

int attributeDType(const std::map<std::string, std::string>& attributes, const std::string& node) {
  const auto found = attributes.find(node + "$__dtype__");
  if (found == attributes.end()) return -1;
  try {
    return std::stoi(found->second);
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

MxModel::MxModel(const plugin::LoadRequest& request) {
  const Api& mx = api();
  plugin::parseDevice(kEngineName, request.device, {"cpu"},
                      "polyinfer's mxnet engine runs MXNet on the CPU (the mxnet wheel has no "
                      "GPU support)");
  const ModelLocation& location = request.location;
  const std::string symbolPath = location.path.string();
  source_.label = "model '" + symbolPath + "'";
  const auto paramsPath = location.companions.find(kParamsRole);
  if (fs::is_directory(location.path) || paramsPath == location.companions.end() ||
      request.bytes == nullptr || request.bytes->companions.count(kParamsRole) == 0)
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": '" + symbolPath +
                    "' is not an MXNet model: expected PREFIX-symbol.json with "
                    "PREFIX-NNNN.params beside it (what HybridBlock.export writes), or a "
                    "directory holding them");
  source_.bytes = request.bytes;
  source_.params = &request.bytes->companions.at(kParamsRole);
  source_.symbolJson.assign(request.bytes->main.begin(), request.bytes->main.end());
  const std::string symbolWhat = "'" + symbolPath + "'";
  const std::string paramsWhat = "params file '" + paramsPath->second.string() + "'";
  if (source_.params->size() > static_cast<std::size_t>(INT_MAX))
    throw Error(ErrorCode::Unsupported,
                std::string(kEngineName) + ": " + paramsWhat + " is " +
                    std::to_string(source_.params->size()) +
                    " bytes; MXNet's predict API takes at most 2 GiB");

  Settings settings = resolveSettings(request);
  source_.intraOpThreads = settings.intraOpThreads;
  workers_ = std::max(1, request.workers);

  const Symbol symbol(source_.symbolJson, symbolWhat);
  uint32_t count = 0;
  const char** names = nullptr;
  check(mx.MXSymbolListArguments(symbol.get(), &count, &names), symbolWhat);
  const std::vector<std::string> arguments = toStrings(count, names);
  check(mx.MXSymbolListAuxiliaryStates(symbol.get(), &count, &names), symbolWhat);
  const std::vector<std::string> auxStates = toStrings(count, names);
  check(mx.MXSymbolListOutputs(symbol.get(), &count, &names), symbolWhat);
  const std::vector<std::string> outputNames = toStrings(count, names);
  const std::map<std::string, std::string> attributes = symbolAttributes(symbol, symbolWhat);

  // The params file against the symbol. MXNet's predictor ignores arrays it
  // does not know and leaves parameters the file lacks uninitialised: both
  // mean the files do not belong together, and are errors here.
  const std::map<std::string, ParamInfo> params = readParams(*source_.params, paramsWhat);
  const std::set<std::string> argumentSet(arguments.begin(), arguments.end());
  const std::set<std::string> auxSet(auxStates.begin(), auxStates.end());
  std::set<std::string> paramArguments;
  std::vector<std::string> unknown;
  std::vector<std::string> unprefixed;
  for (const auto& [key, info] : params) {
    const std::string_view text(key);
    if (text.starts_with(kArgPrefix) && argumentSet.count(key.substr(kArgPrefix.size())) != 0)
      paramArguments.insert(key.substr(kArgPrefix.size()));
    else if (text.starts_with(kAuxPrefix) && auxSet.count(key.substr(kAuxPrefix.size())) != 0)
      continue;
    else if (!text.starts_with(kArgPrefix) && !text.starts_with(kAuxPrefix))
      unprefixed.push_back(key);
    else
      unknown.push_back(key);
  }
  if (!unprefixed.empty())
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": " + paramsWhat + " names its arrays without the "
                "arg:/aux: prefix of an exported model (" + listSome(unprefixed) +
                    "): it looks like Block.save_parameters' file; export the model with "
                    "HybridBlock.export(prefix) instead");
  if (!unknown.empty())
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": " + paramsWhat + " does not match the symbol " +
                    symbolWhat + ": it holds " + std::to_string(unknown.size()) +
                    " array(s) the symbol does not have (" + listSome(unknown) + ")");
  for (const auto& [key, info] : params)
    source_.paramShapes.emplace_back(key.substr(kArgPrefix.size()), info.shape);
  std::vector<std::string> missing;
  for (const std::string& aux : auxStates)
    if (params.count(std::string(kAuxPrefix) + aux) == 0) missing.push_back(aux);
  std::vector<std::string> inputNames;
  for (const std::string& argument : arguments) {
    if (paramArguments.count(argument) != 0) continue;
    // Gluon's export marks parameters with their training attributes; an
    // argument so marked is a parameter the file lacks, not an input.
    if (attributes.count(argument + "$__lr_mult__") != 0 ||
        attributes.count(argument + "$__wd_mult__") != 0)
      missing.push_back(argument);
    else
      inputNames.push_back(argument);
  }
  if (!missing.empty())
    throw Error(ErrorCode::InvalidArgument,
                std::string(kEngineName) + ": " + paramsWhat + " does not match the symbol " +
                    symbolWhat + ": it lacks " + std::to_string(missing.size()) +
                    " parameter(s) the symbol declares (" + listSome(missing) + ")");

  // Declared input shapes: option inputShapes, else the symbol's __shape__.
  std::map<std::string, Shape> declared;
  for (const std::string& input : inputNames)
    if (Shape shape = attributeShape(attributes, input); !shape.empty()) declared[input] = shape;
  for (const auto& [name, shape] : settings.inputShapes) {
    std::string target = name;
    if (target.empty()) {
      if (inputNames.size() != 1)
        throw Error(ErrorCode::InvalidArgument,
                    std::string(kEngineName) + ": option " + keys::kInputShapes + ": a bare shape "
                    "needs a model with one input; " + source_.label + " has " +
                        std::to_string(inputNames.size()) + " (" + plugin::join(inputNames) +
                        "): give NAME=SHAPE for each");
      target = inputNames.front();
    } else if (std::find(inputNames.begin(), inputNames.end(), target) == inputNames.end()) {
      throw Error(ErrorCode::InvalidArgument,
                  std::string(kEngineName) + ": option " + keys::kInputShapes + ": " + source_.label +
                      " has no input '" + target + "'; its inputs: " +
                      (inputNames.empty() ? std::string("none") : plugin::join(inputNames)));
    }
    declared[target] = shape;
  }

  // Shapes and dtypes of everything, inferred from what the params and the
  // declarations fix: a params file of another network fails here.
  {
    std::vector<std::string> keys;
    std::vector<uint32_t> offsets{0};
    std::vector<int> dims;
    auto add = [&](const std::string& key, const Shape& shape) {
      keys.push_back(key);
      for (int64_t dim : shape) dims.push_back(dim > 0 ? static_cast<int>(dim) : 0);
      offsets.push_back(static_cast<uint32_t>(dims.size()));
    };
    for (const auto& [key, info] : params) add(key.substr(kArgPrefix.size()), info.shape);
    for (const auto& [name, shape] : declared) add(name, shape);
    std::vector<const char*> keyPointers;
    for (const std::string& key : keys) keyPointers.push_back(key.c_str());
    uint32_t inCount = 0, outCount = 0, auxCount = 0;
    const int *inNdim = nullptr, *outNdim = nullptr, *auxNdim = nullptr;
    const int **inDims = nullptr, **outDims = nullptr, **auxDims = nullptr;
    int complete = 0;
    const std::string context =
        paramsWhat + " does not match the symbol " + symbolWhat +
        (settings.inputShapes.empty() ? std::string()
                                      : std::string(" and option ") + keys::kInputShapes);
    check(mx.MXSymbolInferShapePartialEx(symbol.get(), static_cast<uint32_t>(keys.size()),
                                         keyPointers.data(), offsets.data(), dims.data(), &inCount,
                                         &inNdim, &inDims, &outCount, &outNdim, &outDims, &auxCount,
                                         &auxNdim, &auxDims, &complete),
          context, ErrorCode::InvalidArgument);
    std::map<std::string, Shape> inferred;
    for (uint32_t i = 0; i < inCount && i < arguments.size(); ++i)
      if (inNdim[i] > 0) inferred[arguments[i]] = fromMxShape(inNdim[i], inDims[i]);
    for (const std::string& input : inputNames) {
      TensorInfo info;
      info.name = input;
      if (const auto found = inferred.find(input); found != inferred.end()) {
        info.shape = found->second;
        info.rankKnown = true;
        info.dimNames.assign(info.shape.size(), "");
      }
      inputs_.push_back(std::move(info));
    }
    for (uint32_t i = 0; i < outCount && i < outputNames.size(); ++i) {
      TensorInfo info;
      info.name = outputNames[i];
      if (outNdim[i] > 0) {
        info.shape = fromMxShape(outNdim[i], outDims[i]);
        info.rankKnown = true;
        info.dimNames.assign(info.shape.size(), "");
      }
      outputs_.push_back(std::move(info));
    }
  }
  {
    std::vector<std::string> keys;
    std::vector<int> types;
    for (const auto& [key, info] : params) {
      keys.push_back(key.substr(kArgPrefix.size()));
      types.push_back(info.dtype);
    }
    for (const std::string& input : inputNames)
      if (const int dtype = attributeDType(attributes, input); dtype >= 0) {
        keys.push_back(input);
        types.push_back(dtype);
      }
    std::vector<const char*> keyPointers;
    for (const std::string& key : keys) keyPointers.push_back(key.c_str());
    uint32_t inCount = 0, outCount = 0, auxCount = 0;
    const int *inTypes = nullptr, *outTypes = nullptr, *auxTypes = nullptr;
    int complete = 0;
    check(mx.MXSymbolInferTypePartial(symbol.get(), static_cast<uint32_t>(keys.size()),
                                      keyPointers.data(), types.data(), &inCount, &inTypes,
                                      &outCount, &outTypes, &auxCount, &auxTypes, &complete),
          paramsWhat + " does not match the symbol " + symbolWhat + " (dtypes)",
          ErrorCode::InvalidArgument);
    std::map<std::string, int> inferred;
    for (uint32_t i = 0; i < inCount && i < arguments.size(); ++i) inferred[arguments[i]] = inTypes[i];
    for (TensorInfo& input : inputs_) {
      const int code = inferred.count(input.name) != 0 ? inferred[input.name] : -1;
      if (code < 0) continue;  // any dtype MXNet takes; the call's decides
      input.dtype = fromMx(code);
      if (input.dtype == DataType::Undefined)
        throw Error(ErrorCode::Unsupported,
                    std::string(kEngineName) + ": input '" + input.name + "' of " + source_.label +
                        " is " + mxTypeName(code) + ", which polyinfer's mxnet engine does not "
                        "take (it takes float32, float64, float16, uint8, int8, int32, int64)");
    }
    for (uint32_t i = 0; i < outCount && i < outputs_.size(); ++i) {
      if (outTypes[i] < 0) continue;
      outputs_[i].dtype = fromMx(outTypes[i]);
      if (outputs_[i].dtype == DataType::Undefined)
        throw Error(ErrorCode::Unsupported,
                    std::string(kEngineName) + ": output '" + outputs_[i].name + "' of " +
                        source_.label + " is " + mxTypeName(outTypes[i]) +
                        ", which polyinfer's mxnet engine cannot return");
    }
  }

  config_ = std::move(settings.entries);
  config_.push_back({"library", mx.library, ValueSource::Default,
                     "MXNet " + mx.versionText() + " (the last release; MXNet is retired); env " +
                         kLibraryEnv});
  config_.push_back({"params", paramsPath->second.string(), ValueSource::Default,
                     "read once; every predictor's executor holds its own copy"});
}

MxModel::~MxModel() = default;

void MxModel::noteThread(std::uint64_t thread) const {
  std::size_t count = 0;
  {
    std::lock_guard<std::mutex> lock(threadsMutex_);
    if (warned_ || !threads_.insert(thread).second) return;
    count = threads_.size();
    if (count <= static_cast<std::size_t>(workers_) + 1) return;
    warned_ = true;
  }
  std::fprintf(stderr,
               "polyinfer: warning: mxnet: %s has now run on %zu different threads but was loaded "
               "for %d worker(s): MXNet keeps memory for every thread that ever ran inference "
               "(its oneDNN caches, about 12 MiB per thread for resnet18) until the process "
               "ends; run predictors on a fixed pool of threads (one predictor per thread, "
               "reused), not on new threads\n",
               source_.label.c_str(), count, workers_);
}

std::unique_ptr<plugin::NativeInstance> MxModel::createInstance() const {
  auto instance = std::make_unique<MxInstance>();
  // Bound now when every input's shape and dtype is known, so that a model
  // MXNet cannot bind fails at load; else on the first call.
  std::vector<Shape> shapes;
  std::vector<DataType> dtypes;
  for (const TensorInfo& input : inputs_) {
    const bool fixed = input.rankKnown && std::all_of(input.shape.begin(), input.shape.end(),
                                                      [](int64_t dim) { return dim > 0; });
    if (!fixed || input.dtype == DataType::Undefined) return instance;
    shapes.push_back(input.shape);
    dtypes.push_back(input.dtype);
  }
  instance->bind(source_, inputs_, shapes, dtypes);
  return instance;
}

std::unique_ptr<plugin::EnginePredictor> MxModel::createPredictor(
    std::unique_ptr<plugin::NativeInstance> instance) const {
  auto* ours = dynamic_cast<MxInstance*>(instance.get());
  if (ours == nullptr)
    throw Error(ErrorCode::Internal, std::string(kEngineName) +
                                         ": createPredictor was given an instance that is not "
                                         "one of this engine's (from createInstance)");
  instance.release();
  return std::make_unique<MxPredictor>(shared_from_this(), std::unique_ptr<MxInstance>(ours));
}

}  // namespace polyinfer::mx
