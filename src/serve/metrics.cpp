#include "metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>

#include "polyinfer/error.hpp"

namespace polyinfer::serve {

namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::InvalidArgument, message);
}

std::string formatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Counters are mostly whole numbers: print them as integers ("1000000", not
  // "1e+06") while exact, i.e. below 2^53.
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    return std::to_string(static_cast<std::int64_t>(v));
  }
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, v);  // shortest exact form
  return std::string(buffer, result.ptr);
}

bool isMetricName(const std::string& name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool isLabelName(const std::string& name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

/// `labels` sorted by name, checked: the registry's key for a series.
Labels canonical(const std::string& metric, const Labels& labels) {
  Labels sorted = labels;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (!isLabelName(sorted[i].first)) {
      invalid("metric '" + metric + "': label name '" + sorted[i].first +
              "': expected [a-zA-Z_][a-zA-Z0-9_]* not starting with \"__\"");
    }
    if (i > 0 && sorted[i].first == sorted[i - 1].first) {
      invalid("metric '" + metric + "': label '" + sorted[i].first + "' given twice");
    }
  }
  return sorted;
}

std::string escapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escapeHelp(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

/// `{a="1",b="2"}` with an optional trailing `le`; "" for no labels at all.
std::string labelText(const Labels& labels, const std::string* le = nullptr) {
  if (labels.empty() && le == nullptr) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += escapeLabelValue(value);
    out += '"';
  }
  if (le != nullptr) {
    if (!first) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
  return out;
}

/// Whether `labels` holds every pair of `subset` (both sorted by name).
bool includes(const Labels& labels, const Labels& subset) {
  return std::includes(labels.begin(), labels.end(), subset.begin(), subset.end());
}

enum class MetricType { Counter, Gauge, Histogram };

std::string_view typeName(MetricType type) {
  switch (type) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  return "untyped";
}

std::string describeBounds(const std::vector<double>& bounds) {
  std::string out = "[";
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (i > 0) out += ", ";
    out += formatNumber(bounds[i]);
  }
  return out + "]";
}

}  // namespace

// ---- Counter, Histogram ------------------------------------------------------

void Counter::add(double v) {
  if (!(v >= 0)) {  // also catches NaN
    invalid("counter: expected an increment >= 0, got " + formatNumber(v));
  }
  value_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> upperBounds)
    : upperBounds_(std::move(upperBounds)),
      buckets_(new std::atomic<std::uint64_t>[upperBounds_.size() + 1]) {
  for (std::size_t i = 0; i <= upperBounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
  if (std::isnan(v)) return;
  // First bound >= v: Prometheus buckets are "less than or equal".
  auto bucket = std::lower_bound(upperBounds_.begin(), upperBounds_.end(), v) - upperBounds_.begin();
  buckets_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::bucketCounts() const {
  std::vector<std::uint64_t> counts(upperBounds_.size() + 1);
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = buckets_[i].load(std::memory_order_relaxed);
  return counts;
}

std::uint64_t Histogram::count() const {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= upperBounds_.size(); ++i) total += buckets_[i].load(std::memory_order_relaxed);
  return total;
}

// ---- MetricsRegistry ---------------------------------------------------------

struct MetricsRegistry::State {
  struct Family {
    MetricType type;
    std::string help;
    std::vector<double> upperBounds;  ///< histograms only
    // Keyed by canonical (name-sorted) labels, so iteration order is the
    // exposition order. unique_ptr: references handed out stay put.
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;

    std::size_t seriesCount() const { return counters.size() + gauges.size() + histograms.size(); }
  };

  mutable std::mutex mutex;
  std::map<std::string, Family> families;  ///< by name: the exposition order

  /// The family `name`, created when new; throws when it exists with another
  /// type or help. Caller holds the mutex.
  Family& family(const std::string& name, const std::string& help, MetricType type) {
    if (!isMetricName(name)) {
      invalid("metric name '" + name + "': expected [a-zA-Z_:][a-zA-Z0-9_:]*");
    }
    auto [it, inserted] = families.try_emplace(name, Family{type, help, {}, {}, {}, {}});
    Family& found = it->second;
    if (!inserted) {
      if (found.type != type) {
        invalid("metric '" + name + "': registered as a " + std::string(typeName(found.type)) +
                ", requested as a " + std::string(typeName(type)));
      }
      if (found.help != help) {
        invalid("metric '" + name + "': registered with help \"" + found.help +
                "\", requested with help \"" + help + "\"");
      }
    }
    return found;
  }
};

MetricsRegistry::MetricsRegistry() : state_(std::make_unique<State>()) {}
MetricsRegistry::~MetricsRegistry() = default;

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  Labels key = canonical(name, labels);
  std::lock_guard lock(state_->mutex);
  auto& series = state_->family(name, help, MetricType::Counter).counters[std::move(key)];
  if (!series) series = std::make_unique<Counter>();
  return *series;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  Labels key = canonical(name, labels);
  std::lock_guard lock(state_->mutex);
  auto& series = state_->family(name, help, MetricType::Gauge).gauges[std::move(key)];
  if (!series) series = std::make_unique<Gauge>();
  return *series;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help, const Labels& labels,
                                      std::vector<double> upperBounds) {
  Labels key = canonical(name, labels);
  for (const auto& [label, value] : key) {
    if (label == "le") invalid("histogram '" + name + "': the label 'le' is reserved for bucket bounds");
  }
  if (!upperBounds.empty() && upperBounds.back() == std::numeric_limits<double>::infinity()) {
    upperBounds.pop_back();  // +Inf is always the implicit last bucket
  }
  if (upperBounds.empty()) {
    invalid("histogram '" + name + "': expected at least one finite bucket bound, got none");
  }
  for (std::size_t i = 0; i < upperBounds.size(); ++i) {
    if (!std::isfinite(upperBounds[i]) || (i > 0 && !(upperBounds[i] > upperBounds[i - 1]))) {
      invalid("histogram '" + name + "': expected finite, strictly increasing bucket bounds, got " +
              describeBounds(upperBounds));
    }
  }
  std::lock_guard lock(state_->mutex);
  auto& family = state_->family(name, help, MetricType::Histogram);
  if (family.upperBounds.empty()) {  // the family is new
    family.upperBounds = upperBounds;
  } else if (family.upperBounds != upperBounds) {
    invalid("histogram '" + name + "': registered with bucket bounds " + describeBounds(family.upperBounds) +
            ", requested with " + describeBounds(upperBounds));
  }
  auto& series = family.histograms[std::move(key)];
  if (!series) series = std::make_unique<Histogram>(std::move(upperBounds));
  return *series;
}

std::size_t MetricsRegistry::remove(const Labels& labels) {
  if (labels.empty()) invalid("metrics remove: expected at least one label, got none");
  Labels subset = canonical("remove", labels);
  std::lock_guard lock(state_->mutex);
  std::size_t removed = 0;
  auto eraseMatching = [&](auto& seriesMap) {
    removed += std::erase_if(seriesMap, [&](const auto& entry) { return includes(entry.first, subset); });
  };
  for (auto& [name, family] : state_->families) {
    eraseMatching(family.counters);
    eraseMatching(family.gauges);
    eraseMatching(family.histograms);
  }
  return removed;
}

std::string MetricsRegistry::prometheusText() const {
  std::string out;
  std::lock_guard lock(state_->mutex);
  for (const auto& [name, family] : state_->families) {
    if (family.seriesCount() == 0) continue;
    out += "# HELP " + name + " " + escapeHelp(family.help) + "\n";
    out += "# TYPE " + name + " " + std::string(typeName(family.type)) + "\n";
    for (const auto& [labels, counter] : family.counters) {
      out += name + labelText(labels) + " " + formatNumber(counter->value()) + "\n";
    }
    for (const auto& [labels, gauge] : family.gauges) {
      out += name + labelText(labels) + " " + formatNumber(gauge->value()) + "\n";
    }
    for (const auto& [labels, histogram] : family.histograms) {
      // One snapshot of the buckets, so that the cumulative counts, +Inf and
      // _count agree even while observations continue.
      std::vector<std::uint64_t> counts = histogram->bucketCounts();
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        std::string le = i < family.upperBounds.size() ? formatNumber(family.upperBounds[i]) : "+Inf";
        out += name + "_bucket" + labelText(labels, &le) + " " + std::to_string(cumulative) + "\n";
      }
      out += name + "_sum" + labelText(labels) + " " + formatNumber(histogram->sum()) + "\n";
      out += name + "_count" + labelText(labels) + " " + std::to_string(cumulative) + "\n";
    }
  }
  return out;
}

// ---- ModelMetrics ------------------------------------------------------------

namespace {

// Triton's names and help texts (triton-inference-server/core src/metrics.cc).
constexpr const char* kSuccess = "nv_inference_request_success";
constexpr const char* kSuccessHelp = "Number of successful inference requests, all batch sizes";
constexpr const char* kFailure = "nv_inference_request_failure";
constexpr const char* kFailureHelp = "Number of failed inference requests, all batch sizes";
constexpr const char* kCount = "nv_inference_count";
constexpr const char* kCountHelp = "Number of inferences performed (does not include cached requests)";
constexpr const char* kExecCount = "nv_inference_exec_count";
constexpr const char* kExecCountHelp = "Number of model executions performed (does not include cached requests)";
constexpr const char* kRequestDuration = "nv_inference_request_duration_us";
constexpr const char* kRequestDurationHelp =
    "Cumulative inference request duration in microseconds (includes cached requests)";
constexpr const char* kQueueDuration = "nv_inference_queue_duration_us";
constexpr const char* kQueueDurationHelp =
    "Cumulative inference queuing duration in microseconds (includes cached requests)";
constexpr const char* kComputeInput = "nv_inference_compute_input_duration_us";
constexpr const char* kComputeInputHelp =
    "Cumulative compute input duration in microseconds (does not include cached requests)";
constexpr const char* kComputeInfer = "nv_inference_compute_infer_duration_us";
constexpr const char* kComputeInferHelp =
    "Cumulative compute inference duration in microseconds (does not include cached requests)";
constexpr const char* kComputeOutput = "nv_inference_compute_output_duration_us";
constexpr const char* kComputeOutputHelp =
    "Cumulative inference compute output duration in microseconds (does not include cached requests)";
constexpr const char* kPending = "nv_inference_pending_request_count";
constexpr const char* kPendingHelp = "Instantaneous number of pending requests awaiting execution per-model.";
constexpr const char* kLatency = "nv_inference_first_response_histogram_ms";
constexpr const char* kLatencyHelp = "Duration from request to first response in milliseconds";

Labels withReason(Labels labels, const char* reason) {
  labels.emplace_back("reason", reason);
  return labels;
}

}  // namespace

Labels ModelMetrics::labelsOf(const std::string& model, const std::string& version) {
  return {{"model", model}, {"version", version}};
}

std::vector<double> ModelMetrics::defaultLatencyBucketsMs() {
  return {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
}

ModelMetrics::ModelMetrics(MetricsRegistry& registry, const std::string& model, const std::string& version,
                           std::vector<double> latencyBucketsMs)
    : requestLatency(registry.histogram(kLatency, kLatencyHelp, labelsOf(model, version), std::move(latencyBucketsMs))),
      success(registry.counter(kSuccess, kSuccessHelp, labelsOf(model, version))),
      failureRejected(registry.counter(kFailure, kFailureHelp, withReason(labelsOf(model, version), "REJECTED"))),
      failureBackend(registry.counter(kFailure, kFailureHelp, withReason(labelsOf(model, version), "BACKEND"))),
      failureCanceled(registry.counter(kFailure, kFailureHelp, withReason(labelsOf(model, version), "CANCELED"))),
      failureOther(registry.counter(kFailure, kFailureHelp, withReason(labelsOf(model, version), "OTHER"))),
      inferenceCount(registry.counter(kCount, kCountHelp, labelsOf(model, version))),
      execCount(registry.counter(kExecCount, kExecCountHelp, labelsOf(model, version))),
      requestDurationUs(registry.counter(kRequestDuration, kRequestDurationHelp, labelsOf(model, version))),
      queueDurationUs(registry.counter(kQueueDuration, kQueueDurationHelp, labelsOf(model, version))),
      computeInputDurationUs(registry.counter(kComputeInput, kComputeInputHelp, labelsOf(model, version))),
      computeInferDurationUs(registry.counter(kComputeInfer, kComputeInferHelp, labelsOf(model, version))),
      computeOutputDurationUs(registry.counter(kComputeOutput, kComputeOutputHelp, labelsOf(model, version))),
      pending(registry.gauge(kPending, kPendingHelp, labelsOf(model, version))) {}

}  // namespace polyinfer::serve
