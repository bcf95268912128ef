// The plugin kit (include/polyinfer/plugin_kit.hpp) and the SPI's defaults.
#include "polyinfer/plugin_kit.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <charconv>
#include <fstream>
#include <iterator>
#include <new>

#include "strings.hpp"

namespace polyinfer::plugin {

// ------------------------------------------------------------------ SPI defaults

std::unique_ptr<EnginePredictor> EngineModel::createPredictor() const {
  throw Error(ErrorCode::Internal,
              "engine model has no createPredictor(): a re-entrant engine must implement it");
}

std::unique_ptr<NativeInstance> EngineModel::createInstance() const {
  throw Error(ErrorCode::Internal,
              "engine model has no createInstance(): a non-re-entrant engine must implement it");
}

std::unique_ptr<EnginePredictor> EngineModel::createPredictor(std::unique_ptr<NativeInstance>) const {
  throw Error(ErrorCode::Internal,
              "engine model has no createPredictor(instance): a non-re-entrant engine must "
              "implement it");
}

namespace {

std::vector<ValueInfo> tensorValueInfos(const std::vector<TensorInfo>& infos) {
  std::vector<ValueInfo> values;
  values.reserve(infos.size());
  for (const TensorInfo& info : infos) values.push_back(valueInfoOf(info));
  return values;
}

}  // namespace

std::vector<ValueInfo> EngineModel::inputValues() const { return tensorValueInfos(inputs()); }
std::vector<ValueInfo> EngineModel::outputValues() const { return tensorValueInfos(outputs()); }

Values EnginePredictor::predictValues(const Values& inputs) {
  for (const NamedValue& input : inputs)
    if (!input.value.isTensor())
      throw Error(ErrorCode::Unsupported, "input '" + input.name + "' is " + input.value.describe() +
                                              "; this engine takes tensors only");
  return Values(predict(inputs.toTensors()));
}

ValueInfo valueInfoOf(const TensorInfo& info) {
  if (info.valueType) return {info.name, *info.valueType};
  ValueType type = ValueType::tensor(info.dtype, info.shape, info.rankKnown);
  if (info.rankKnown && info.dimNames.size() == info.shape.size()) type.dimNames = info.dimNames;
  return {info.name, std::move(type)};
}

TensorInfo tensorInfoOf(const ValueInfo& info) {
  TensorInfo tensor;
  tensor.name = info.name;
  if (info.type.kind != ValueKind::Tensor) {
    tensor.valueType = info.type;
    return tensor;
  }
  tensor.dtype = info.type.dtype;
  tensor.rankKnown = info.type.rankKnown;
  tensor.shape = info.type.shape;
  tensor.dimNames = info.type.dimNames;
  if (tensor.dimNames.size() != tensor.shape.size()) tensor.dimNames.assign(tensor.shape.size(), "");
  return tensor;
}

// ------------------------------------------------------------------ options

namespace {

template <typename T, typename Parse, typename Format>
Resolved<T> resolveWith(const Options& options, const std::string& key,
                        const std::vector<std::string>& envVars, T defaultValue,
                        const std::string& defaultDetail, Parse parse, Format format) {
  if (std::optional<T> value = parse(options, key))
    return {*value, {key, format(*value), ValueSource::Explicit, "set by option " + key}};
  for (const std::string& var : envVars) {
    if (std::optional<std::string> text = environmentValue(var.c_str())) {
      // The variable's text is checked by the option's own parser, so the
      // same forms are accepted; the error names the variable.
      Options fromEnv;
      fromEnv.set(var, *text);
      T value{};
      try {
        value = *parse(fromEnv, var);
      } catch (const Error& e) {
        // "option 'VAR': expected ..." -> "environment variable VAR: expected ..."
        std::string message = e.what();
        const std::string asOption = "option '" + var + "'";
        if (message.starts_with(asOption))
          message.replace(0, asOption.size(), "environment variable " + var);
        throw Error(e.code(), message);
      }
      return {value, {key, format(value), ValueSource::Environment, "from " + var}};
    }
  }
  return {defaultValue, {key, format(defaultValue), ValueSource::Default, defaultDetail}};
}

std::string boolText(bool value) { return value ? "true" : "false"; }

}  // namespace

ResolvedInt resolveInt(const Options& options, const std::string& key,
                       const std::vector<std::string>& envVars, int64_t defaultValue,
                       const std::string& defaultDetail, int64_t min, int64_t max) {
  return resolveWith<int64_t>(
      options, key, envVars, defaultValue, defaultDetail,
      [&](const Options& o, const std::string& k) { return o.getInt(k, min, max); },
      [](int64_t value) { return std::to_string(value); });
}

ResolvedBool resolveBool(const Options& options, const std::string& key,
                         const std::vector<std::string>& envVars, bool defaultValue,
                         const std::string& defaultDetail) {
  return resolveWith<bool>(
      options, key, envVars, defaultValue, defaultDetail,
      [](const Options& o, const std::string& k) { return o.getBool(k); }, boolText);
}

ResolvedChoice resolveChoice(const Options& options, const std::string& key,
                             const std::vector<std::string>& allowed,
                             const std::vector<std::string>& envVars, std::string defaultValue,
                             const std::string& defaultDetail) {
  return resolveWith<std::string>(
      options, key, envVars, std::move(defaultValue), defaultDetail,
      [&](const Options& o, const std::string& k) { return o.getChoice(k, allowed); },
      [](const std::string& value) { return value; });
}

// ------------------------------------------------------------------ threads

namespace {

const std::vector<std::string> kIntraOpNames{"intraOpNumThreads", "num_threads"};
const std::vector<std::string> kInterOpNames{"interOpNumThreads", "num_interop_threads"};

OptionSpec threadOption(const std::string& key, std::string description,
                        const std::vector<std::string>& names) {
  OptionSpec spec{key, {}, std::move(description)};
  for (const std::string& name : names)
    if (name != key) spec.aliases.push_back(name);
  return spec;
}

/// The option, or the Criteria field (both: the same value or an error), else
/// environment, else the default.
ResolvedInt resolveThreads(const LoadRequest& request, const std::string& key,
                           const std::vector<std::string>& envVars, int criteriaValue,
                           const char* criteriaField, int64_t defaultValue,
                           const std::string& defaultDetail, int64_t minimum) {
  ResolvedInt resolved =
      resolveInt(request.options, key, envVars, defaultValue, defaultDetail, minimum, 4096);
  if (criteriaValue <= 0) return resolved;
  if (resolved.entry.source == ValueSource::Explicit) {
    if (resolved.value != criteriaValue)
      throw Error(ErrorCode::InvalidArgument,
                  std::string("threads given twice: Criteria::") + criteriaField + " = " +
                      std::to_string(criteriaValue) + " and option " + key + " = " +
                      std::to_string(resolved.value) + "; give one");
    return resolved;
  }
  return {criteriaValue,
          {key, std::to_string(criteriaValue), ValueSource::Explicit,
           std::string("set by Criteria::") + criteriaField}};
}

}  // namespace

OptionSpec intraOpThreadsOption(const std::string& key, std::string description) {
  return threadOption(key, std::move(description), kIntraOpNames);
}

OptionSpec interOpThreadsOption(const std::string& key, std::string description) {
  return threadOption(key, std::move(description), kInterOpNames);
}

ResolvedInt resolveIntraOpThreads(const LoadRequest& request, const std::string& key,
                                  const std::vector<std::string>& envVars, int64_t minimum) {
  const ThreadDefaults defaults = request.budget.defaultsFor(request.workers);
  return resolveThreads(request, key, envVars, request.intraOpThreads, "intraOpThreads",
                        defaults.intraOpThreads, defaults.reason, minimum);
}

ResolvedInt resolveInterOpThreads(const LoadRequest& request, const std::string& key,
                                  const std::vector<std::string>& envVars, int64_t minimum) {
  const ThreadDefaults defaults = request.budget.defaultsFor(request.workers);
  return resolveThreads(request, key, envVars, request.interOpThreads, "interOpThreads",
                        defaults.interOpThreads, "1: the workers already run calls in parallel",
                        minimum);
}

ConfigEntry noInterOpThreads(const LoadRequest& request, std::string_view library) {
  const std::string why = std::string(library) + " has no inter-op thread pool";
  if (request.interOpThreads > 1)
    return {"interOpThreads", "1", ValueSource::Engine,
            "requested " + std::to_string(request.interOpThreads) + " by Criteria::interOpThreads; " +
                why};
  return {"interOpThreads", "1", ValueSource::Default, why};
}

// ------------------------------------------------------------------ precision

ConfigEntry resolveStoredPrecision(const Options& options, const std::string& engineName,
                                   const std::string& why) {
  const std::optional<std::string> value = options.getChoice("precision", precisionNames());
  if (value && *value != "fp32")
    throw Error(ErrorCode::Unsupported, engineName + ": precision=" + *value +
                                            " is not supported (supported: fp32): " + why);
  return {"precision", "fp32", value ? ValueSource::Explicit : ValueSource::Default,
          "the types stored in the model file"};
}

// ------------------------------------------------------------------ process-wide settings

std::string ProcessWideSetting::format(int64_t value) const {
  if (isBool_) return value ? "true" : "false";
  return std::to_string(value);
}

ResolvedInt ProcessWideSetting::apply(ResolvedInt requested, const Apply& set,
                                      const Current& current) {
  std::lock_guard<std::mutex> lock(mutex_);
  ConfigEntry& entry = requested.entry;
  auto append = [&](const std::string& text) {
    entry.detail += (entry.detail.empty() ? "" : "; ") + text;
  };
  if (!applied_) {
    try {
      set(requested.value);
    } catch (const std::exception& e) {
      // Something in this process set it (or used the pool) before us.
      const int64_t inEffect = current();
      applied_ = true;
      value_ = inEffect;
      return {inEffect,
              {entry.key, format(inEffect), ValueSource::Engine,
               "requested " + format(requested.value) + "; " + library_ + " refused (" + e.what() +
                   "); process uses " + format(inEffect)}};
    }
    const int64_t inEffect = current();
    applied_ = true;
    value_ = inEffect;
    append("applied process-wide");
    if (inEffect != requested.value) {
      append("requested " + format(requested.value) + ", " + library_ + " uses " + format(inEffect));
      entry.value = format(inEffect);
      entry.source = ValueSource::Engine;
    }
    return {inEffect, std::move(entry)};
  }
  if (value_ == requested.value) {
    append("process-wide, same value already in effect");
    return requested;
  }
  return {value_,
          {entry.key, format(value_), ValueSource::Engine,
           "requested " + format(requested.value) + " (" + std::string(toString(entry.source)) +
               "); process already uses " + format(value_) + " (set once per process)"}};
}

// ------------------------------------------------------------------ devices

Device parseDeviceName(std::string_view engine, const std::string& name) {
  if (name.empty() || name == "cpu") return {Device::Kind::Cpu, 0, "cpu"};
  if (name.starts_with("gpu") && name.size() > 3) {
    int index = -1;
    const char* first = name.data() + 3;
    const char* last = name.data() + name.size();
    const auto [end, ec] = std::from_chars(first, last, index);
    if (ec == std::errc() && end == last && index >= 0) return {Device::Kind::Gpu, index, name};
  }
  throw Error(ErrorCode::InvalidArgument, std::string(engine) + ": device '" + name +
                                              "': expected cpu or gpuN (gpu0, gpu1, ...)");
}

Device parseDevice(std::string_view engine, const std::string& name,
                   const std::vector<std::string>& available, std::string_view noGpuWhy) {
  const std::string availableText = "available devices: " + join(available);
  Device device;
  try {
    device = parseDeviceName(engine, name);
  } catch (const Error& e) {
    throw Error(e.code(), std::string(e.what()) + "; " + availableText);
  }
  if (device.isCpu()) return device;
  const std::string prefix = std::string(engine) + ": device '" + name + "'";
  const bool anyGpu = std::any_of(available.begin(), available.end(),
                                  [](const std::string& d) { return d.starts_with("gpu"); });
  if (!anyGpu)
    throw Error(ErrorCode::Unsupported,
                prefix + ": " +
                    (noGpuWhy.empty() ? std::string("this build has no GPU support")
                                      : std::string(noGpuWhy)) +
                    "; " + availableText);
  if (std::find(available.begin(), available.end(), name) == available.end())
    throw Error(ErrorCode::Unsupported, prefix + " does not exist; " + availableText);
  return device;
}

// ------------------------------------------------------------------ dtypes

void throwUnsupportedDType(std::string_view engine, std::string_view what, DataType dtype,
                           std::string_view library) {
  throw Error(ErrorCode::Unsupported, std::string(engine) + ": " + std::string(what) + ": dtype " +
                                          std::string(toString(dtype)) + " is not supported by " +
                                          std::string(library));
}

// ------------------------------------------------------------------ engine exceptions

void rethrowAsError(std::string_view engine, std::string_view context, ErrorCode code,
                    ExceptionTranslator translate) {
  const std::string prefix =
      std::string(engine) + ": " + (context.empty() ? std::string() : std::string(context) + ": ");
  if (translate != nullptr) {
    std::optional<TranslatedError> translated;
    try {
      translated = translate(code);
    } catch (...) {
      // The translator must not throw; fall through to the generic cases.
    }
    if (translated) throw Error(translated->code, prefix + translated->message);
  }
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::ResourceExhausted, prefix + "out of memory");
  } catch (const std::exception& e) {
    throw Error(code, prefix + e.what());
  } catch (...) {
    throw Error(ErrorCode::EngineFailure, prefix + "unknown exception");
  }
}

// ------------------------------------------------------------------ outputs

bool overlapsInput(const void* data, std::size_t bytes, const Tensors& inputs) {
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  for (const NamedTensor& input : inputs) {
    const Tensor& t = input.tensor;
    if (t.dtype() == DataType::String || t.byteSize() == 0) continue;
    const auto inBegin = reinterpret_cast<std::uintptr_t>(t.rawData());
    if (begin < inBegin + t.byteSize() && inBegin < begin + bytes) return true;
  }
  return false;
}

// ------------------------------------------------------------------ engine start-up output

StderrFilter::StderrFilter(Classifier keep) : keep_(std::move(keep)) {
  char name[] = "/tmp/polyinfer-stderr-XXXXXX";
  file_ = ::mkstemp(name);
  if (file_ < 0) return;
  ::unlink(name);
  std::fflush(stderr);
  saved_ = ::dup(STDERR_FILENO);
  if (saved_ < 0 || ::dup2(file_, STDERR_FILENO) < 0) restore();
}

StderrFilter::~StderrFilter() { restore(); }

void StderrFilter::restore() noexcept {
  if (saved_ >= 0) {
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    saved_ = -1;
    replay();
  }
  if (file_ >= 0) ::close(file_);
  file_ = -1;
}

void StderrFilter::replay() noexcept {
  try {
    std::string text;
    char buffer[4096];
    ::lseek(file_, 0, SEEK_SET);
    for (ssize_t n; (n = ::read(file_, buffer, sizeof buffer)) > 0;) text.append(buffer, n);
    std::string kept;
    bool keeping = true;
    for (std::size_t begin = 0; begin < text.size();) {
      const std::size_t end = std::min(text.find('\n', begin), text.size());
      if (const std::optional<bool> verdict = keep_(std::string_view(text).substr(begin, end - begin)))
        keeping = *verdict;
      if (keeping) kept.append(text, begin, std::min(end + 1, text.size()) - begin);
      begin = end + 1;
    }
    for (std::size_t done = 0; done < kept.size();) {
      const ssize_t n = ::write(STDERR_FILENO, kept.data() + done, kept.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
  } catch (...) {
    // Out of memory while replaying: the diverted text is lost, the program is not.
  }
}

// ------------------------------------------------------------------ files and strings

std::vector<std::uint8_t> readFileBytes(std::string_view engine, const std::filesystem::path& path,
                                        std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(ErrorCode::NotFound, std::string(engine) + ": cannot open " + std::string(what) +
                                         " '" + path.string() + "'");
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in),
                                   std::istreambuf_iterator<char>());
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  return detail::join(parts, separator);
}

std::string toLower(std::string_view text) { return detail::toLower(text); }

std::string_view trim(std::string_view text) { return detail::trim(text); }

}  // namespace polyinfer::plugin
