// Metrics of `polyinfer serve` in the Prometheus text exposition format
// 0.0.4, with Triton's metric names so that Triton's dashboards and alerts
// work unchanged against polyinfer.
//
// Updating a metric is lock-free (one atomic read-modify-write), so worker
// threads never wait on a scrape; only creating, removing and exposing series
// take the registry's mutex.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace polyinfer::serve {

/// Label name/value pairs of one series. Order does not matter: the registry
/// keeps them sorted by name (as Triton's prometheus-cpp prints them). Names
/// match [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__"; each name once.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// The Content-Type of MetricsRegistry::prometheusText() for GET /metrics.
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

/// A value that only goes up (requests, cumulative microseconds). Thread-safe,
/// lock-free.
class Counter {
 public:
  /// Adds `v`. Throws Error(InvalidArgument) for a negative or NaN `v`: a
  /// counter that went down would read as a restart to Prometheus.
  void add(double v = 1);
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// A value that goes up and down (pending requests). Thread-safe, lock-free.
class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  /// Adds `v`, which may be negative.
  void add(double v) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// Counts observations into buckets by upper bound (a value v falls in the
/// first bucket with v <= bound; above the last bound, in +Inf) and keeps
/// their sum. Thread-safe, lock-free.
class Histogram {
 public:
  /// `upperBounds`: finite, strictly increasing (MetricsRegistry checks them).
  explicit Histogram(std::vector<double> upperBounds);

  /// Records one value. NaN is ignored: it would turn the sum into NaN for
  /// the rest of the process.
  void observe(double v) noexcept;

  /// The finite upper bounds; +Inf is implied after the last.
  const std::vector<double>& upperBounds() const noexcept { return upperBounds_; }
  /// Observations per bucket, not cumulative: upperBounds().size() + 1
  /// entries, the last for values above the last bound.
  std::vector<std::uint64_t> bucketCounts() const;
  /// Number of observations (the sum of bucketCounts()).
  std::uint64_t count() const;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> upperBounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  ///< upperBounds_.size() + 1
  std::atomic<double> sum_{0.0};
};

/// Named families of series. A family has one type and one help text; a
/// series is one label set of a family. Thread-safe.
///
/// The references returned stay valid until remove() removes that series or
/// the registry is destroyed: remove a model version's series only once
/// nothing (worker, batcher, request in flight) updates them any more.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  /// The series `name`+`labels`, created (starting at 0) on first use; the
  /// same name and labels return the same object. Throws
  /// Error(InvalidArgument) for a malformed metric name (expected
  /// [a-zA-Z_:][a-zA-Z0-9_:]*) or label name, a label given twice, or a name
  /// already registered with another type or help text.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels);
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels);
  /// As counter(); `upperBounds` must be non-empty, strictly increasing and
  /// finite (a trailing +Inf is accepted and dropped), equal for every series
  /// of the family, and the label "le" is reserved.
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels,
                       std::vector<double> upperBounds);

  /// Removes every series, of every family, whose labels include all of
  /// `labels` (e.g. {model="m",version="1"} also removes that version's
  /// failure series with their extra "reason" label). Families keep their type
  /// and help. Returns the number of series removed. Throws
  /// Error(InvalidArgument) for empty `labels` (that would remove everything).
  std::size_t remove(const Labels& labels);

  /// All series in the Prometheus text exposition format 0.0.4: families by
  /// name, each with "# HELP" and "# TYPE" lines, its series sorted by label
  /// values (label names in order); label values escaped (\\ \" \n), help
  /// escaped (\\ \n). Histograms as name_bucket{...,le="<bound>"}
  /// (cumulative, le="+Inf" last, equal to name_count), name_sum, name_count.
  /// Integral values print without a fraction ("42"), others in the shortest
  /// form that reads back exactly ("0.25", "1e-07"); NaN, +Inf, -Inf as
  /// Prometheus spells them. Families without series are left out. Ends with
  /// a newline unless empty.
  std::string prometheusText() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The series of one model version, with Triton's names, help texts and
/// labels {model="<model>",version="<version>"}; the failure counter has
/// Triton's extra label reason="REJECTED"|"BACKEND"|"CANCELED"|"OTHER".
/// Constructing it creates the series (so they read 0 before the first
/// request, as in Triton); MetricsRegistry::remove(labelsOf(model, version))
/// removes them all.
struct ModelMetrics {
  /// `latencyBucketsMs`: upper bounds of requestLatency, in milliseconds.
  ModelMetrics(MetricsRegistry& registry, const std::string& model, const std::string& version,
               std::vector<double> latencyBucketsMs = defaultLatencyBucketsMs());

  /// {model="<model>",version="<version>"}.
  static Labels labelsOf(const std::string& model, const std::string& version);
  /// 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 ms: Triton's
  /// default bounds (100, 500, 2000, 5000: sized for LLMs) plus finer ones
  /// where the latencies of CNN-sized models lie.
  static std::vector<double> defaultLatencyBucketsMs();

  /// nv_inference_first_response_histogram_ms: request to response, in
  /// MILLISECONDS (fractional), as Triton's only latency histogram (enabled
  /// there with --metrics-config histogram_latencies=true). For a model with
  /// one response per request, as here, first response = the response.
  /// Declared (so created) first: only its bucket bounds can clash with an
  /// existing series, and a clash then leaves no half-made series behind.
  Histogram& requestLatency;
  Counter& success;          ///< nv_inference_request_success: requests answered
  // Failure reasons as Triton assigns them:
  /// nv_inference_request_failure{reason="REJECTED"}: the scheduler refused
  /// it (queue full, queue timeout).
  Counter& failureRejected;
  Counter& failureBackend;   ///< ...{reason="BACKEND"}: the engine failed while running it
  Counter& failureCanceled;  ///< ...{reason="CANCELED"}: the client went away, or shutdown
  Counter& failureOther;     ///< ...{reason="OTHER"}: anything else, e.g. inputs that fail validation
  Counter& inferenceCount;   ///< nv_inference_count: inferences, i.e. batch rows (a batch of n counts n)
  Counter& execCount;        ///< nv_inference_exec_count: model executions (one per batch run)
  Counter& requestDurationUs;        ///< nv_inference_request_duration_us: cumulative, end to end
  Counter& queueDurationUs;          ///< nv_inference_queue_duration_us: cumulative time queued
  Counter& computeInputDurationUs;   ///< nv_inference_compute_input_duration_us: input copy/batching
  Counter& computeInferDurationUs;   ///< nv_inference_compute_infer_duration_us: Predictor::predict
  Counter& computeOutputDurationUs;  ///< nv_inference_compute_output_duration_us: output split/copy
  Gauge& pending;            ///< nv_inference_pending_request_count: requests queued, not yet executing
};

}  // namespace polyinfer::serve
