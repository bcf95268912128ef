// MetricsRegistry's Prometheus text exposition and ModelMetrics' Triton names.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "metrics.hpp"
#include "polyinfer/error.hpp"

using namespace polyinfer;
using namespace polyinfer::serve;

namespace {

/// Runs `call`, expecting Error(code) whose message contains `fragment`.
template <typename Call>
void expectError(Call&& call, ErrorCode code, const std::string& fragment) {
  try {
    call();
    FAIL() << "expected Error(" << toString(code) << ") containing '" << fragment << "'";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), code) << error.what();
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
  }
}

}  // namespace

TEST(ServeMetrics, EmptyRegistryExposesNothing) {
  MetricsRegistry registry;
  EXPECT_EQ(registry.prometheusText(), "");
}

TEST(ServeMetrics, ExpositionOfASmallRegistry) {
  MetricsRegistry registry;
  // Registered out of order: families come out by name, series by labels.
  registry.gauge("queue_depth", "Requests waiting", {{"model", "b"}}).set(3);
  registry.gauge("queue_depth", "Requests waiting", {{"model", "a"}}).set(-1.5);
  Counter& requests = registry.counter("requests_total", "Requests served", {{"version", "1"}, {"model", "m"}});
  requests.add();
  requests.add(41);
  registry.counter("requests_total", "Requests served", {{"model", "m"}, {"version", "10"}}).add(0.25);
  registry.counter("plain", "No labels at all", {}).add(1e-7);

  const std::string expected =
      "# HELP plain No labels at all\n"
      "# TYPE plain counter\n"
      "plain 1e-07\n"
      "# HELP queue_depth Requests waiting\n"
      "# TYPE queue_depth gauge\n"
      "queue_depth{model=\"a\"} -1.5\n"
      "queue_depth{model=\"b\"} 3\n"
      "# HELP requests_total Requests served\n"
      "# TYPE requests_total counter\n"
      "requests_total{model=\"m\",version=\"1\"} 42\n"
      "requests_total{model=\"m\",version=\"10\"} 0.25\n";
  EXPECT_EQ(registry.prometheusText(), expected);
}

TEST(ServeMetrics, LabelValuesAndHelpAreEscaped) {
  MetricsRegistry registry;
  registry.counter("escaped", "Back\\slash and\nnewline, \"quotes\" kept", {{"path", "C:\\dir \"x\"\nnext"}}).add(2);
  const std::string expected =
      "# HELP escaped Back\\\\slash and\\nnewline, \"quotes\" kept\n"
      "# TYPE escaped counter\n"
      "escaped{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 2\n";
  EXPECT_EQ(registry.prometheusText(), expected);
}

TEST(ServeMetrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry registry;
  Histogram& latency = registry.histogram("latency_ms", "Latency", {{"model", "m"}}, {1, 2.5, 10});
  for (double v : {0.5, 1.0, 2.0, 2.5, 7.0, 11.0, 100.0}) latency.observe(v);
  latency.observe(std::numeric_limits<double>::quiet_NaN());  // ignored

  EXPECT_EQ(latency.count(), 7u);
  EXPECT_DOUBLE_EQ(latency.sum(), 124.0);
  EXPECT_EQ(latency.bucketCounts(), (std::vector<std::uint64_t>{2, 2, 1, 2}));
  const std::string expected =
      "# HELP latency_ms Latency\n"
      "# TYPE latency_ms histogram\n"
      "latency_ms_bucket{model=\"m\",le=\"1\"} 2\n"
      "latency_ms_bucket{model=\"m\",le=\"2.5\"} 4\n"
      "latency_ms_bucket{model=\"m\",le=\"10\"} 5\n"
      "latency_ms_bucket{model=\"m\",le=\"+Inf\"} 7\n"
      "latency_ms_sum{model=\"m\"} 124\n"
      "latency_ms_count{model=\"m\"} 7\n";
  EXPECT_EQ(registry.prometheusText(), expected);
}

TEST(ServeMetrics, HistogramWithoutLabelsAndTrailingInfBound) {
  MetricsRegistry registry;
  Histogram& h = registry.histogram("h", "H", {}, {0.1, std::numeric_limits<double>::infinity()});
  h.observe(0.05);
  EXPECT_EQ(h.upperBounds(), std::vector<double>{0.1});
  const std::string expected =
      "# HELP h H\n"
      "# TYPE h histogram\n"
      "h_bucket{le=\"0.1\"} 1\n"
      "h_bucket{le=\"+Inf\"} 1\n"
      "h_sum 0.05\n"
      "h_count 1\n";
  EXPECT_EQ(registry.prometheusText(), expected);
}

TEST(ServeMetrics, NumbersArePrometheusParsable) {
  MetricsRegistry registry;
  registry.gauge("g", "G", {{"k", "big"}}).set(12345678901234.0);
  registry.gauge("g", "G", {{"k", "huge"}}).set(1e300);
  registry.gauge("g", "G", {{"k", "inf"}}).set(std::numeric_limits<double>::infinity());
  registry.gauge("g", "G", {{"k", "minf"}}).set(-std::numeric_limits<double>::infinity());
  registry.gauge("g", "G", {{"k", "nan"}}).set(std::numeric_limits<double>::quiet_NaN());
  registry.gauge("g", "G", {{"k", "third"}}).set(1.0 / 3.0);
  const std::string expected =
      "# HELP g G\n"
      "# TYPE g gauge\n"
      "g{k=\"big\"} 12345678901234\n"
      "g{k=\"huge\"} 1e+300\n"
      "g{k=\"inf\"} +Inf\n"
      "g{k=\"minf\"} -Inf\n"
      "g{k=\"nan\"} NaN\n"
      "g{k=\"third\"} 0.3333333333333333\n";
  EXPECT_EQ(registry.prometheusText(), expected);
}

TEST(ServeMetrics, SameNameAndLabelsReturnTheSameSeriesInAnyLabelOrder) {
  MetricsRegistry registry;
  Counter& a = registry.counter("c", "C", {{"model", "m"}, {"version", "1"}});
  Counter& b = registry.counter("c", "C", {{"version", "1"}, {"model", "m"}});
  Counter& other = registry.counter("c", "C", {{"model", "m"}, {"version", "2"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  Gauge& g1 = registry.gauge("g", "G", {});
  Gauge& g2 = registry.gauge("g", "G", {});
  EXPECT_EQ(&g1, &g2);
  g1.add(2);
  g2.add(-0.5);
  EXPECT_DOUBLE_EQ(g1.value(), 1.5);
}

TEST(ServeMetrics, NameReusedWithAnotherTypeOrHelpIsAnError) {
  MetricsRegistry registry;
  registry.counter("requests", "Requests", {{"model", "m"}});
  expectError([&] { registry.gauge("requests", "Requests", {{"model", "m"}}); }, ErrorCode::InvalidArgument,
              "metric 'requests': registered as a counter, requested as a gauge");
  expectError([&] { registry.histogram("requests", "Requests", {}, {1}); }, ErrorCode::InvalidArgument,
              "registered as a counter, requested as a histogram");
  expectError([&] { registry.counter("requests", "Other help", {}); }, ErrorCode::InvalidArgument,
              "registered with help \"Requests\", requested with help \"Other help\"");
  registry.histogram("h", "H", {{"model", "a"}}, {1, 2});
  expectError([&] { registry.histogram("h", "H", {{"model", "b"}}, {1, 3}); }, ErrorCode::InvalidArgument,
              "registered with bucket bounds [1, 2], requested with [1, 3]");
}

TEST(ServeMetrics, MalformedNamesLabelsAndBoundsAreErrors) {
  MetricsRegistry registry;
  expectError([&] { registry.counter("1abc", "x", {}); }, ErrorCode::InvalidArgument,
              "metric name '1abc': expected [a-zA-Z_:][a-zA-Z0-9_:]*");
  expectError([&] { registry.counter("a-b", "x", {}); }, ErrorCode::InvalidArgument, "metric name 'a-b'");
  expectError([&] { registry.counter("ok", "x", {{"bad-label", "v"}}); }, ErrorCode::InvalidArgument,
              "label name 'bad-label'");
  expectError([&] { registry.counter("ok", "x", {{"__reserved", "v"}}); }, ErrorCode::InvalidArgument,
              "label name '__reserved'");
  expectError([&] { registry.counter("ok", "x", {{"m", "1"}, {"m", "2"}}); }, ErrorCode::InvalidArgument,
              "label 'm' given twice");
  expectError([&] { registry.histogram("hist", "x", {{"le", "1"}}, {1}); }, ErrorCode::InvalidArgument,
              "the label 'le' is reserved");
  expectError([&] { registry.histogram("hist", "x", {}, {}); }, ErrorCode::InvalidArgument,
              "expected at least one finite bucket bound, got none");
  expectError([&] { registry.histogram("hist", "x", {}, {2, 1}); }, ErrorCode::InvalidArgument,
              "expected finite, strictly increasing bucket bounds, got [2, 1]");
  expectError([&] { registry.histogram("hist", "x", {}, {1, 1}); }, ErrorCode::InvalidArgument,
              "strictly increasing");
  expectError([&] { registry.histogram("hist", "x", {}, {std::nan("")}); }, ErrorCode::InvalidArgument,
              "got [NaN]");
  // Nothing half-registered: "hist" is still free for any type.
  EXPECT_NO_THROW(registry.gauge("hist", "other", {}));
}

TEST(ServeMetrics, CounterRefusesToGoDown) {
  MetricsRegistry registry;
  Counter& c = registry.counter("c", "C", {});
  c.add(3);
  expectError([&] { c.add(-1); }, ErrorCode::InvalidArgument, "expected an increment >= 0, got -1");
  expectError([&] { c.add(std::nan("")); }, ErrorCode::InvalidArgument, "got NaN");
  EXPECT_DOUBLE_EQ(c.value(), 3);
}

TEST(ServeMetrics, RemoveDropsEverySeriesWithTheLabels) {
  MetricsRegistry registry;
  ModelMetrics v1(registry, "m", "1");
  ModelMetrics v2(registry, "m", "2");
  ModelMetrics other(registry, "n", "1");
  v1.success.add(5);
  v2.success.add(7);

  // 12 counters + 1 gauge + 1 histogram per version, the failure counters
  // included although they carry an extra "reason" label.
  EXPECT_EQ(registry.remove(ModelMetrics::labelsOf("m", "1")), 14u);
  const std::string text = registry.prometheusText();
  EXPECT_EQ(text.find("model=\"m\",version=\"1\""), std::string::npos) << text;
  EXPECT_EQ(text.find("model=\"m\",reason=\"BACKEND\",version=\"1\""), std::string::npos) << text;
  EXPECT_NE(text.find("nv_inference_request_success{model=\"m\",version=\"2\"} 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("nv_inference_request_success{model=\"n\",version=\"1\"} 0\n"), std::string::npos) << text;
  EXPECT_EQ(registry.remove(ModelMetrics::labelsOf("m", "1")), 0u);

  // All of a model, then everything: families without series disappear.
  EXPECT_EQ(registry.remove({{"model", "m"}}), 14u);
  EXPECT_EQ(registry.remove({{"model", "n"}}), 14u);
  EXPECT_EQ(registry.prometheusText(), "");
  expectError([&] { registry.remove({}); }, ErrorCode::InvalidArgument, "expected at least one label");

  // A version loaded again starts from zero under the same families.
  ModelMetrics again(registry, "m", "1");
  EXPECT_EQ(again.success.value(), 0);
  EXPECT_NE(registry.prometheusText().find("nv_inference_request_success{model=\"m\",version=\"1\"} 0\n"),
            std::string::npos);
}

TEST(ServeMetrics, ModelMetricsUseTritonNamesHelpAndLabels) {
  MetricsRegistry registry;
  ModelMetrics metrics(registry, "resnet", "1");
  metrics.success.add();
  metrics.failureBackend.add();
  metrics.inferenceCount.add(8);
  metrics.execCount.add();
  metrics.requestDurationUs.add(1500);
  metrics.queueDurationUs.add(200);
  metrics.computeInputDurationUs.add(10);
  metrics.computeInferDurationUs.add(1200);
  metrics.computeOutputDurationUs.add(20);
  metrics.pending.set(2);
  metrics.requestLatency.observe(1.5);

  const std::string expected =
      "# HELP nv_inference_compute_infer_duration_us Cumulative compute inference duration in microseconds "
      "(does not include cached requests)\n"
      "# TYPE nv_inference_compute_infer_duration_us counter\n"
      "nv_inference_compute_infer_duration_us{model=\"resnet\",version=\"1\"} 1200\n"
      "# HELP nv_inference_compute_input_duration_us Cumulative compute input duration in microseconds "
      "(does not include cached requests)\n"
      "# TYPE nv_inference_compute_input_duration_us counter\n"
      "nv_inference_compute_input_duration_us{model=\"resnet\",version=\"1\"} 10\n"
      "# HELP nv_inference_compute_output_duration_us Cumulative inference compute output duration in "
      "microseconds (does not include cached requests)\n"
      "# TYPE nv_inference_compute_output_duration_us counter\n"
      "nv_inference_compute_output_duration_us{model=\"resnet\",version=\"1\"} 20\n"
      "# HELP nv_inference_count Number of inferences performed (does not include cached requests)\n"
      "# TYPE nv_inference_count counter\n"
      "nv_inference_count{model=\"resnet\",version=\"1\"} 8\n"
      "# HELP nv_inference_exec_count Number of model executions performed (does not include cached requests)\n"
      "# TYPE nv_inference_exec_count counter\n"
      "nv_inference_exec_count{model=\"resnet\",version=\"1\"} 1\n"
      "# HELP nv_inference_first_response_histogram_ms Duration from request to first response in milliseconds\n"
      "# TYPE nv_inference_first_response_histogram_ms histogram\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"1\"} 0\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"2\"} 1\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"5\"} 1\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"10\"} 1\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"20\"} 1\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"50\"} 1\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"100\"} 1\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"200\"} 1\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"500\"} 1\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"1000\"} 1\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"2000\"} 1\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"5000\"} 1\n"
      "nv_inference_first_response_histogram_ms_bucket{model=\"resnet\",version=\"1\",le=\"+Inf\"} 1\n"
      "nv_inference_first_response_histogram_ms_sum{model=\"resnet\",version=\"1\"} 1.5\n"
      "nv_inference_first_response_histogram_ms_count{model=\"resnet\",version=\"1\"} 1\n"
      "# HELP nv_inference_pending_request_count Instantaneous number of pending requests awaiting execution "
      "per-model.\n"
      "# TYPE nv_inference_pending_request_count gauge\n"
      "nv_inference_pending_request_count{model=\"resnet\",version=\"1\"} 2\n"
      "# HELP nv_inference_queue_duration_us Cumulative inference queuing duration in microseconds "
      "(includes cached requests)\n"
      "# TYPE nv_inference_queue_duration_us counter\n"
      "nv_inference_queue_duration_us{model=\"resnet\",version=\"1\"} 200\n"
      "# HELP nv_inference_request_duration_us Cumulative inference request duration in microseconds "
      "(includes cached requests)\n"
      "# TYPE nv_inference_request_duration_us counter\n"
      "nv_inference_request_duration_us{model=\"resnet\",version=\"1\"} 1500\n"
      "# HELP nv_inference_request_failure Number of failed inference requests, all batch sizes\n"
      "# TYPE nv_inference_request_failure counter\n"
      "nv_inference_request_failure{model=\"resnet\",reason=\"BACKEND\",version=\"1\"} 1\n"
      "nv_inference_request_failure{model=\"resnet\",reason=\"CANCELED\",version=\"1\"} 0\n"
      "nv_inference_request_failure{model=\"resnet\",reason=\"OTHER\",version=\"1\"} 0\n"
      "nv_inference_request_failure{model=\"resnet\",reason=\"REJECTED\",version=\"1\"} 0\n"
      "# HELP nv_inference_request_success Number of successful inference requests, all batch sizes\n"
      "# TYPE nv_inference_request_success counter\n"
      "nv_inference_request_success{model=\"resnet\",version=\"1\"} 1\n";
  EXPECT_EQ(registry.prometheusText(), expected);
}

TEST(ServeMetrics, ModelMetricsOfTheSameVersionShareSeries) {
  MetricsRegistry registry;
  ModelMetrics a(registry, "m", "1");
  ModelMetrics b(registry, "m", "1");
  EXPECT_EQ(&a.success, &b.success);
  EXPECT_EQ(&a.requestLatency, &b.requestLatency);
  EXPECT_NE(&a.failureBackend, &a.failureOther);
  // Other bucket bounds for the same family are refused, not silently mixed.
  expectError([&] { ModelMetrics c(registry, "m", "2", {1, 10}); }, ErrorCode::InvalidArgument,
              "nv_inference_first_response_histogram_ms': registered with bucket bounds");
  // ...and leave no series of version 2 behind.
  EXPECT_EQ(registry.prometheusText().find("version=\"2\""), std::string::npos);
}
