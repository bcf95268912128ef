// A fake Target for the load generator's tests (test_bench_runner*.cpp): no
// engine, calls that take a controlled time, counted, with one call (by its
// global index across all workers) made slow or made to throw.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runner.hpp"

namespace polyinfer::bench::testing {

// A fake Target: no engine, calls that take a controlled time, counted,
// with one call (by its global index across all workers) made slow or made
// to throw. What each worker did is recorded when it is destroyed.
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct FakeSpec {
  std::chrono::microseconds work{0};      // every call
  bool spin = false;                      // busy-wait instead of sleeping
  int64_t slowBefore = 0;                 // calls [0, slowBefore) take slowWork
  int64_t slowCall = -1;                  // this call takes slowWork
  std::chrono::microseconds slowWork{0};
  int64_t throwAt = -1;                   // this call throws
  bool throwStd = false;                  // std::runtime_error instead of polyinfer::Error
  bool newWorkerThrows = false;
};

struct WorkerRecord {
  int64_t calls = 0;
  bool madeCallZero = false;
  Clock::time_point firstCall{};
  std::set<std::thread::id> callThreads;
  std::thread::id destroyedOn;
};

class FakeTarget;

class FakeWorker final : public TargetWorker {
 public:
  explicit FakeWorker(FakeTarget& target) : target_(target) {}
  ~FakeWorker() override;
  void infer() override;
  Tensors inferWithOutputs() override {
    infer();
    return Tensors{Tensor::fromVector<float>({1}, {1.0f})};
  }

 private:
  FakeTarget& target_;
  WorkerRecord record_;
};

class FakeTarget final : public Target {
 public:
  explicit FakeTarget(FakeSpec spec) : spec_(spec) {}

  TargetInfo info() const override {
    TargetInfo info;
    info.engineName = "fake";
    info.engineVersion = "0";
    info.model = "none";
    info.device = "cpu";
    info.batch = 4;
    return info;
  }
  std::unique_ptr<TargetWorker> newWorker() override {
    if (spec_.newWorkerThrows) throw Error(ErrorCode::ResourceExhausted, "fake: no worker for you");
    live_.fetch_add(1);
    return std::make_unique<FakeWorker>(*this);
  }
  std::string timedRegion() const override { return "a fake call"; }

  int64_t calls() const { return calls_.load(); }
  int live() const { return live_.load(); }
  std::vector<WorkerRecord> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }

 private:
  friend class FakeWorker;
  FakeSpec spec_;
  std::atomic<int64_t> calls_{0};
  std::atomic<int> live_{0};
  mutable std::mutex mutex_;
  std::vector<WorkerRecord> records_;
};

inline void FakeWorker::infer() {
  const Clock::time_point start = Clock::now();
  const int64_t k = target_.calls_.fetch_add(1);
  if (record_.calls++ == 0) record_.firstCall = start;
  record_.madeCallZero |= k == 0;
  record_.callThreads.insert(std::this_thread::get_id());
  const FakeSpec& spec = target_.spec_;
  if (k == spec.throwAt) {
    if (spec.throwStd) throw std::runtime_error("fake std failure at call " + std::to_string(k));
    throw Error(ErrorCode::EngineFailure, "fake failure at call " + std::to_string(k));
  }
  const auto work = (k < spec.slowBefore || k == spec.slowCall) ? spec.slowWork : spec.work;
  if (work.count() == 0) return;
  if (spec.spin) {
    while (Clock::now() - start < work) {
    }
  } else {
    std::this_thread::sleep_for(work);  // at least `work`: the tests rely on it
  }
}

inline FakeWorker::~FakeWorker() {
  record_.destroyedOn = std::this_thread::get_id();
  std::lock_guard lock(target_.mutex_);
  target_.records_.push_back(record_);
  target_.live_.fetch_sub(1);
}

inline RunOptions quickOptions(int threads) {
  RunOptions o;
  o.threads = threads;
  o.warmupIterations = 2;
  o.usableCores = 64;  // no oversubscription warning unless a test asks
  return o;
}

/// Start of each sample (intended start in open loop), seconds from the
/// region start, in completion order.
inline std::vector<double> startsOf(const RunResult& r) {
  std::vector<double> starts;
  for (std::size_t i = 0; i < r.samplesMs.size(); ++i)
    starts.push_back(r.completionSeconds[i] - r.samplesMs[i] / 1000.0);
  return starts;
}

/// The -d properties, from the recorded timestamps only: no call started at
/// or after the deadline, so the region ends at most one call after it.
inline void expectDeadlineRespected(const RunResult& r, double deadline) {
  ASSERT_FALSE(r.samplesMs.empty());
  const double eps = 1e-9;
  for (double start : startsOf(r)) EXPECT_LT(start, deadline + eps);
  const double lastEnd = *std::max_element(r.completionSeconds.begin(), r.completionSeconds.end());
  const double longestSeconds = r.latency.max / 1000.0;
  EXPECT_LE(lastEnd - deadline, longestSeconds + eps);
  EXPECT_LE(r.wallSeconds, deadline * 1.01 + longestSeconds + eps);
}

}  // namespace polyinfer::bench::testing
