#include "polyinfer/model.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "polyinfer/error.hpp"
#include "polyinfer/plugin.hpp"
#include "polyinfer/plugin_kit.hpp"
#include "polyinfer/registry.hpp"
#include "strings.hpp"

namespace polyinfer {

namespace fs = std::filesystem;

namespace {

/// The files' bytes, read once, for an engine whose predictors each build
/// their own native instance. A directory format: its marker file and
/// companions (an engine needing more of the directory reads it at load).
std::shared_ptr<const plugin::ModelBytes> readModelBytes(const ModelLocation& location,
                                                         const std::string& engine) {
  auto bytes = std::make_shared<plugin::ModelBytes>();
  // A directory format's main file is its marker file (a SavedModel's graph).
  bytes->main = plugin::readFileBytes(engine, location.marker.empty() ? location.path : location.marker,
                                      "model file");
  for (const auto& [role, file] : location.companions)
    bytes->companions[role] = plugin::readFileBytes(engine, file, role + " file");
  return bytes;
}

/// Runs a plugin call during loading; exceptions other than Error become
/// EngineFailure naming the engine and the model.
template <typename Call>
auto loadStep(const std::string& engine, const std::string& what, const fs::path& path, Call&& call) {
  try {
    return call();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorCode::EngineFailure,
                engine + ": " + what + " '" + path.string() + "' failed: " + e.what());
  }
}

/// The "engine" config entry's detail: how the engine was chosen.
std::string engineChoice(const std::string& requested, const ModelResolution& resolved) {
  if (!requested.empty()) return "requested";
  std::string text = "chosen from the model: " + resolved.reason;
  if (!resolved.alsoClaimedBy.empty())
    text += "; also claimed (lower priority) by " + detail::join(resolved.alsoClaimedBy);
  return text;
}

const ThreadBudget& processBudget() {
  static const ThreadBudget budget = ThreadBudget::detect();
  return budget;
}

[[noreturn]] void throwMismatch(const TensorInfo& info, const Tensor& given) {
  throw Error(ErrorCode::InvalidArgument, "input '" + info.name + "': expected " + info.describe() +
                                              ", got " + given.describe());
}

void checkInput(const TensorInfo& info, const Tensor& given) {
  if (info.valueType)
    throw Error(ErrorCode::InvalidArgument,
                "input '" + info.name + "' is " + info.describe() +
                    ", not a tensor: run this model with Predictor::predictValues");
  if (!given.valid())
    throw Error(ErrorCode::InvalidArgument,
                "input '" + info.name + "': expected " + info.describe() + ", got an empty tensor");
  if (info.dtype != DataType::Undefined && info.dtype != given.dtype()) throwMismatch(info, given);
  if (!info.rankKnown) return;
  if (info.shape.size() != given.shape().size()) throwMismatch(info, given);
  for (std::size_t d = 0; d < info.shape.size(); ++d)
    if (info.shape[d] >= 0 && info.shape[d] != given.shape()[d]) throwMismatch(info, given);
}

/// The declared type of an input, for messages.
std::string typeText(const TensorInfo& info) { return info.describe(); }
std::string typeText(const ValueInfo& info) { return info.type.describe(); }

template <typename Info>
std::string quotedNames(const std::vector<Info>& infos) {
  std::vector<std::string> names;
  for (const Info& info : infos) names.push_back("'" + info.name + "'");
  return names.empty() ? std::string("none") : detail::join(names);
}

/// The inputs in the order of `infos` (Tensors with TensorInfos, Values with
/// ValueInfos): `inputs` itself when already in order, else `reordered`
/// filled with them. Checks count and names, not types.
template <typename Items, typename Info>
const Items& orderByName(const std::vector<Info>& infos, const Items& inputs, Items& reordered) {
  // The common case — inputs in model order, named as the model names them
  // or not named at all — is passed through without copying.
  bool inOrder = inputs.size() == infos.size();
  bool anyNamed = false, allNamed = true;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string& name = inputs[i].name;
    anyNamed |= !name.empty();
    allNamed &= !name.empty();
    if (!name.empty() && (i >= infos.size() || name != infos[i].name)) inOrder = false;
  }
  if (anyNamed && !allNamed)
    throw Error(ErrorCode::InvalidArgument,
                "predict: expected inputs either all named or all by position, got a mix");

  const Items* result = &inputs;
  if (!inOrder) {
    if (!anyNamed || infos.empty())
      throw Error(ErrorCode::InvalidArgument,
                  "predict: expected " + std::to_string(infos.size()) + " input(s) (" +
                      quotedNames(infos) + "), got " + std::to_string(inputs.size()));
    for (const auto& given : inputs) {
      const bool known = std::any_of(infos.begin(), infos.end(),
                                     [&](const Info& info) { return info.name == given.name; });
      if (!known)
        throw Error(ErrorCode::NotFound, "predict: unknown input '" + given.name +
                                             "'; model inputs: " + quotedNames(infos));
      if (std::count_if(inputs.begin(), inputs.end(),
                        [&](const auto& t) { return t.name == given.name; }) > 1)
        throw Error(ErrorCode::InvalidArgument, "predict: input '" + given.name + "' given twice");
    }
    for (const Info& info : infos) {
      const auto* item = inputs.find(info.name);
      if (item == nullptr)
        throw Error(ErrorCode::InvalidArgument, "predict: missing input '" + info.name +
                                                    "' (expected " + typeText(info) + ")");
      reordered.add(info.name, *item);
    }
    result = &reordered;
  }
  return *result;
}

/// The inputs in the order of `infos`, checked against them.
const Tensors& orderedInputs(const std::vector<TensorInfo>& infos, const Tensors& inputs,
                             Tensors& reordered) {
  const Tensors& result = orderByName(infos, inputs, reordered);
  for (std::size_t i = 0; i < infos.size(); ++i) checkInput(infos[i], result[i].tensor);
  return result;
}

/// `given` checked against the declared `type` recursively; `where` names it
/// in messages ("input 'x'", "input 'x' element 2"). Returns the value to
/// pass on: a plain value given for an optional becomes an optional holding it.
Value checkValue(const ValueType& type, const Value& given, const std::string& where) {
  const auto mismatch = [&] {
    return Error(ErrorCode::InvalidArgument, where + ": expected " + type.describe() + ", got " +
                                                 (given.valid() ? given.describe() : std::string("no value")));
  };
  if (!given.valid()) throw mismatch();
  switch (type.kind) {
    case ValueKind::Tensor: {
      if (!given.isTensor()) throw mismatch();
      const Tensor& tensor = given.tensor();
      if (type.dtype != DataType::Undefined && type.dtype != tensor.dtype()) throw mismatch();
      if (type.rankKnown) {
        if (type.shape.size() != tensor.shape().size()) throw mismatch();
        for (std::size_t d = 0; d < type.shape.size(); ++d)
          if (type.shape[d] >= 0 && type.shape[d] != tensor.shape()[d]) throw mismatch();
      }
      return given;
    }
    case ValueKind::Sequence: {
      if (given.kind() != ValueKind::Sequence) throw mismatch();
      const std::vector<Value>& elements = given.elements();
      for (std::size_t i = 0; i < elements.size(); ++i)
        checkValue(type.elementType(), elements[i], where + " element " + std::to_string(i));
      return given;
    }
    case ValueKind::Map:
      if (given.kind() != ValueKind::Map) throw mismatch();
      if (type.keyType != DataType::Undefined && type.keyType != given.keys().dtype()) throw mismatch();
      if (type.dtype != DataType::Undefined && type.dtype != given.values().dtype()) throw mismatch();
      return given;
    case ValueKind::Optional:
      if (given.kind() != ValueKind::Optional) {
        checkValue(type.elementType(), given, where);
        return Value::optional(given);
      }
      if (given.hasValue()) checkValue(type.elementType(), given.contained(), where);
      return given;
  }
  throw mismatch();
}

/// The inputs in the order of `infos`, checked against their value types.
Values orderedValueInputs(const std::vector<ValueInfo>& infos, const Values& inputs) {
  Values reordered;
  const Values& ordered = orderByName(infos, inputs, reordered);
  std::vector<NamedValue> checked;
  checked.reserve(infos.size());
  for (std::size_t i = 0; i < infos.size(); ++i)
    checked.push_back({infos[i].name,
                       checkValue(infos[i].type, ordered[i].value, "input '" + infos[i].name + "'")});
  return Values(std::move(checked));
}

/// The engine's inputs()/outputs() and inputValues()/outputValues() must
/// describe the same list; a plugin that breaks that is a bug.
void checkSameNames(const std::string& engine, const char* what, const std::vector<TensorInfo>& tensors,
                    const std::vector<ValueInfo>& values) {
  bool same = tensors.size() == values.size();
  for (std::size_t i = 0; same && i < tensors.size(); ++i) same = tensors[i].name == values[i].name;
  if (!same)
    throw Error(ErrorCode::Internal, engine + ": the model's " + what + " and their value types differ (" +
                                         quotedNames(tensors) + " vs " + quotedNames(values) + ")");
}

}  // namespace

std::string TensorInfo::describe() const {
  if (valueType) return valueType->describe();
  std::string text = dtype == DataType::Undefined ? std::string("?") : std::string(toString(dtype));
  return text + (rankKnown ? toString(shape) : std::string("[?]"));
}

// ---------------------------------------------------------------- Model

Model::~Model() = default;

std::shared_ptr<Model> Model::load(const Criteria& criteria) {
  return load(criteria, Registry::global());
}

std::shared_ptr<Model> Model::load(const Criteria& criteria, Registry& registry) {
  if (criteria.modelPath.empty())
    throw Error(ErrorCode::InvalidArgument, "criteria: expected a model path, got none");
  if (criteria.workers < 1)
    throw Error(ErrorCode::InvalidArgument, "criteria: expected workers >= 1, got " +
                                                std::to_string(criteria.workers));
  if (criteria.intraOpThreads < 0 || criteria.interOpThreads < 0)
    throw Error(ErrorCode::InvalidArgument,
                "criteria: expected intraOpThreads and interOpThreads >= 0 (0: computed), got " +
                    std::to_string(criteria.intraOpThreads) + " and " +
                    std::to_string(criteria.interOpThreads));
  const ModelResolution resolved = registry.resolve(criteria.modelPath, criteria.engine);
  const std::string& engineName = resolved.engine;
  const fs::path& file = resolved.location.path;
  if (!resolved.location.isDirectory() && fs::file_size(file) == 0)
    throw Error(ErrorCode::InvalidArgument, "model file '" + file.string() + "' is empty");
  plugin::Engine& engine = registry.engine(engineName);
  const EngineDescription description = registry.describe(engineName);

  plugin::LoadRequest request;
  request.location = resolved.location;
  request.device = criteria.device.empty() ? std::string("cpu") : criteria.device;
  request.options = criteria.options.canonicalized(description.options, engineName);
  request.workers = criteria.workers;
  request.intraOpThreads = criteria.intraOpThreads;
  request.interOpThreads = criteria.interOpThreads;
  request.budget = processBudget();
  if (!description.reentrant) request.bytes = readModelBytes(resolved.location, engineName);

  std::shared_ptr<plugin::EngineModel> impl =
      loadStep(engineName, "loading", file, [&] { return engine.load(request); });
  if (!impl)
    throw Error(ErrorCode::Internal, engineName + ": engine returned no model for '" + file.string() + "'");
  // A non-re-entrant engine's first instance is built now, so that a model
  // it cannot instantiate fails at load; the first predictor takes it.
  std::unique_ptr<plugin::NativeInstance> spare;
  if (!description.reentrant)
    spare = loadStep(engineName, "instantiating", file, [&] { return impl->createInstance(); });

  std::shared_ptr<Model> model(new Model());
  model->engineName_ = engineName;
  model->engineVersion_ = description.version;
  model->location_ = resolved.location;
  model->inputs_ = impl->inputs();
  model->outputs_ = impl->outputs();
  model->inputValues_ = impl->inputValues();
  model->outputValues_ = impl->outputValues();
  checkSameNames(engineName, "inputs", model->inputs_, model->inputValues_);
  checkSameNames(engineName, "outputs", model->outputs_, model->outputValues_);
  const auto isTensor = [](const TensorInfo& info) { return info.isTensor(); };
  model->tensorsOnly_ = std::all_of(model->inputs_.begin(), model->inputs_.end(), isTensor) &&
                        std::all_of(model->outputs_.begin(), model->outputs_.end(), isTensor);
  model->config_ = {
      {"engine", engineName, criteria.engine.empty() ? ValueSource::Default : ValueSource::Explicit,
       engineChoice(criteria.engine, resolved)},
      {"device", request.device, criteria.device.empty() ? ValueSource::Default : ValueSource::Explicit, ""},
      {"workers", std::to_string(request.workers), ValueSource::Explicit, ""},
      {"usable_cores", std::to_string(request.budget.usableCores()), ValueSource::Default,
       request.budget.source()},
  };
  for (ConfigEntry& entry : impl->config()) model->config_.push_back(std::move(entry));
  model->impl_ = std::move(impl);
  model->reentrant_ = description.reentrant;
  model->spare_ = std::move(spare);
  return model;
}

Predictor Model::newPredictor() const {
  std::unique_ptr<plugin::EnginePredictor> impl;
  try {
    if (reentrant_) {
      impl = impl_->createPredictor();
    } else {
      std::unique_ptr<plugin::NativeInstance> instance;
      {
        std::lock_guard<std::mutex> lock(spareMutex_);
        instance = std::move(spare_);
      }
      if (!instance) instance = impl_->createInstance();
      impl = impl_->createPredictor(std::move(instance));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorCode::EngineFailure, engineName_ + ": creating a predictor failed: " + e.what());
  }
  if (!impl) throw Error(ErrorCode::Internal, engineName_ + ": engine returned no predictor");
  return Predictor(shared_from_this(), std::move(impl));
}

void Model::checkInputs(const Tensors& inputs) const {
  Tensors reordered;
  orderedInputs(inputs_, inputs, reordered);
}

void Model::checkValues(const Values& inputs) const { orderedValueInputs(inputValues_, inputs); }

// ---------------------------------------------------------------- Predictor

Predictor::Predictor(std::shared_ptr<const Model> model, std::unique_ptr<plugin::EnginePredictor> impl)
    : model_(std::move(model)), impl_(std::move(impl)) {}
Predictor::~Predictor() = default;
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;

const Tensors& Predictor::ordered(const Tensors& inputs, Tensors& reordered) const {
  if (!impl_) throw Error(ErrorCode::InvalidArgument, "predict: this predictor was moved from");
  return orderedInputs(model_->inputs_, inputs, reordered);
}

// Engine exceptions other than Error become Error.
template <typename Call>
auto Predictor::callEngine(Call&& call) {
  const std::string& engine = model_->engineName_;
  try {
    return call();
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::ResourceExhausted, engine + ": out of memory while running the model");
  } catch (const std::exception& e) {
    throw Error(ErrorCode::EngineFailure, engine + ": " + e.what());
  }
}

Tensors Predictor::predict(const Tensors& inputs) {
  Tensors reordered;
  const Tensors& checked = ordered(inputs, reordered);
  if (!model_->tensorsOnly_)
    for (const TensorInfo& output : model_->outputs_)
      if (!output.isTensor())
        throw Error(ErrorCode::InvalidArgument,
                    "output '" + output.name + "' is " + output.describe() +
                        ", not a tensor: run this model with Predictor::predictValues");
  return callEngine([&] { return impl_->predict(checked); });
}

Values Predictor::orderedValues(const Values& inputs) const {
  if (!impl_) throw Error(ErrorCode::InvalidArgument, "predict: this predictor was moved from");
  return orderedValueInputs(model_->inputValues_, inputs);
}

Values Predictor::predictValues(const Values& inputs) {
  const Values checked = orderedValues(inputs);
  // A tensor-only model takes the tensor path, which every engine has.
  if (model_->tensorsOnly_)
    return Values(callEngine([&] { return impl_->predict(checked.toTensors()); }));
  return callEngine([&] { return impl_->predictValues(checked); });
}

OperatorProfile Predictor::profile(const Tensors& inputs, int iterations) {
  if (iterations < 1)
    throw Error(ErrorCode::InvalidArgument,
                "profile: expected iterations >= 1, got " + std::to_string(iterations));
  Tensors reordered;
  const Tensors& checked = ordered(inputs, reordered);
  const auto start = std::chrono::steady_clock::now();
  std::optional<OperatorProfile> result =
      callEngine([&] { return impl_->profile(checked, iterations); });
  if (!result)
    throw Error(ErrorCode::Unsupported, model_->engineName_ +
                                            ": this engine cannot report per-operator times");
  result->engine = model_->engineName_;
  result->iterations = iterations;
  result->wallMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return std::move(*result);
}

// ---------------------------------------------------------------- profiles

double OperatorProfile::operatorMs() const noexcept {
  double total = 0;
  for (const OperatorStat& op : operators) total += op.totalMs;
  return total;
}

std::vector<OperatorStat> summarizeTrace(std::vector<TraceEvent> events) {
  // Per thread, by start time (longer first on ties, so a parent precedes
  // the child that starts with it): a stack of open events gives each event
  // its parent, whose self time loses the child's duration.
  std::sort(events.begin(), events.end(), [](const TraceEvent& a, const TraceEvent& b) {
    if (a.thread != b.thread) return a.thread < b.thread;
    if (a.startUs != b.startUs) return a.startUs < b.startUs;
    return a.durationUs > b.durationUs;
  });
  std::vector<double> self(events.size());
  std::vector<std::size_t> open;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const TraceEvent& e = events[i];
    self[i] = e.durationUs;
    while (!open.empty()) {
      const TraceEvent& top = events[open.back()];
      if (top.thread == e.thread && e.startUs < top.startUs + top.durationUs) break;
      open.pop_back();
    }
    if (!open.empty()) self[open.back()] -= e.durationUs;
    open.push_back(i);
  }
  std::vector<OperatorStat> stats;
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto it = std::find_if(stats.begin(), stats.end(),
                           [&](const OperatorStat& s) { return s.opType == events[i].opType; });
    if (it == stats.end()) it = stats.insert(stats.end(), OperatorStat{events[i].opType, 0, 0});
    it->calls += 1;
    it->totalMs += std::max(0.0, self[i]) / 1000.0;
  }
  std::sort(stats.begin(), stats.end(), [](const OperatorStat& a, const OperatorStat& b) {
    return a.totalMs != b.totalMs ? a.totalMs > b.totalMs : a.opType < b.opType;
  });
  return stats;
}

}  // namespace polyinfer
