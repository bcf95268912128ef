// The load generator (sequence and semantics: runner.hpp). Over 500 lines on
// purpose: one class whose worker side and coordinating side share private
// state and a phase protocol; split, that protocol would be spread over files.
//
// Threads: run() starts one std::thread per worker and steps them through
// the phases with a mutex-protected step counter (made -> first inference ->
// warm-up -> timed); the calling thread only coordinates, reports progress
// and reads the clocks at the phase boundaries. In the timed region a worker
// touches only its own cache lines (its sample log, its counters) plus, in
// -c and open-loop mode, one shared atomic ticket counter; it takes no lock
// and allocates only when a 8192-sample chunk of its log is full (and once
// to keep the target's words for its first refused call).
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "polyinfer/error.hpp"
#include "runner.hpp"

namespace polyinfer::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Nanos = int64_t;  // since the start of the timed region
constexpr Nanos kNoLimit = std::numeric_limits<Nanos>::max();
constexpr Nanos kLateNs = 1'000'000;  // "late": started > 1 ms after its intended time
// Open loop keeps its whole schedule in memory (8 bytes a request).
constexpr std::size_t kMaxScheduledRequests = std::size_t{1} << 27;

Nanos nanosSince(Clock::time_point origin, Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t - origin).count();
}

Nanos toNanos(double seconds) {
  if (seconds * 1e9 >= static_cast<double>(kNoLimit)) return kNoLimit;
  return static_cast<Nanos>(std::llround(seconds * 1e9));
}

std::string formatNumber(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

[[noreturn]] void invalid(const std::string& what, const std::string& expected, const std::string& got) {
  throw Error(ErrorCode::InvalidArgument, "RunOptions." + what + ": expected " + expected + ", got " + got);
}

void validate(const RunOptions& o) {
  if (o.threads < 1) invalid("threads", ">= 1", std::to_string(o.threads));
  if (o.warmupIterations < 0) invalid("warmupIterations", ">= 0", std::to_string(o.warmupIterations));
  if (!(o.startDelayMs >= 0)) invalid("startDelayMs", ">= 0", formatNumber(o.startDelayMs));
  if (o.stop.iterations && *o.stop.iterations < 1)
    invalid("stop.iterations", ">= 1", std::to_string(*o.stop.iterations));
  if (o.stop.durationSeconds && !(*o.stop.durationSeconds > 0))
    invalid("stop.durationSeconds", "> 0", formatNumber(*o.stop.durationSeconds));
  if (o.stop.minIterations < 0) invalid("stop.minIterations", ">= 0", std::to_string(o.stop.minIterations));
  if (!(o.stop.minSeconds >= 0)) invalid("stop.minSeconds", ">= 0", formatNumber(o.stop.minSeconds));
  if (o.stop.maxSeconds && !(*o.stop.maxSeconds > 0))
    invalid("stop.maxSeconds", "> 0 (or unset: no cap)", formatNumber(*o.stop.maxSeconds));
  if (o.windows < 1) invalid("windows", ">= 1", std::to_string(o.windows));
  if (!(o.stabilityTolerancePct >= 0))
    invalid("stabilityTolerancePct", ">= 0", formatNumber(o.stabilityTolerancePct));
  if (o.rate && !(*o.rate > 0 && std::isfinite(*o.rate))) invalid("rate", "> 0 requests/s", formatNumber(*o.rate));
  if (o.usableCores < 1) invalid("usableCores", ">= 1", std::to_string(o.usableCores));
}

/// The intended start offsets of an open-loop run, one request at a time.
class ArrivalClock {
 public:
  ArrivalClock(Arrival arrival, double rate, uint64_t seed) : arrival_(arrival), rate_(rate), rng_(seed) {}

  double next() {
    // Constant: k / rate, not a running sum, so that no rounding drift builds up.
    const double offset = arrival_ == Arrival::Constant ? static_cast<double>(k_) / rate_ : poissonTime_;
    ++k_;
    if (arrival_ == Arrival::Poisson) {
      // 53 random bits -> u in [0, 1); -log(1 - u) / rate is Exp(rate).
      // Written out (not std::exponential_distribution) so that a seed means
      // the same schedule with every standard library.
      const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
      poissonTime_ += -std::log1p(-u) / rate_;
    }
    return offset;
  }

 private:
  Arrival arrival_;
  double rate_;
  std::mt19937_64 rng_;
  int64_t k_ = 0;
  double poissonTime_ = 0;
};

struct Sample {
  Nanos start;  // intended start in open loop
  Nanos end;
};

/// A worker's samples: fixed-size chunks, so that growing never copies and
/// the hot path allocates only once per kChunk calls (after the call's end
/// was read, so inside no sample).
class SampleLog {
 public:
  static constexpr std::size_t kChunk = 8192;

  /// Allocates (and, by value-initialising, touches) room for `expected`.
  void prepare(std::size_t expected) {
    chunks_.reserve(1024);
    const std::size_t count = std::max<std::size_t>(1, (expected + kChunk - 1) / kChunk);
    for (std::size_t i = 0; i < count; ++i) chunks_.push_back(std::make_unique<Sample[]>(kChunk));
    current_ = chunks_[0].get();
  }

  void push(Nanos start, Nanos end) {
    if (used_ == kChunk) nextChunk();
    current_[used_++] = Sample{start, end};
  }

  std::size_t size() const { return index_ * kChunk + used_; }

  void appendTo(std::vector<Sample>& out) const {
    for (std::size_t c = 0; c <= index_ && c < chunks_.size(); ++c) {
      const std::size_t n = c == index_ ? used_ : kChunk;
      out.insert(out.end(), chunks_[c].get(), chunks_[c].get() + n);
    }
  }

 private:
  void nextChunk() {
    ++index_;
    if (index_ == chunks_.size()) chunks_.push_back(std::make_unique<Sample[]>(kChunk));
    current_ = chunks_[index_].get();
    used_ = 0;
  }

  std::vector<std::unique_ptr<Sample[]>> chunks_;
  Sample* current_ = nullptr;
  std::size_t index_ = 0;
  std::size_t used_ = 0;
};

/// One worker thread's state; aligned so that no two workers share a cache line.
struct alignas(64) Slot {
  std::unique_ptr<TargetWorker> worker;
  SampleLog log;
  std::atomic<int64_t> warmupCalls{0};  // read by the progress reporter
  std::atomic<int64_t> timedCalls{0};
  std::atomic<int64_t> rejectedCalls{0};  // timed calls the target refused as overloaded
  Nanos rejectedFirst = kNoLimit;         // earliest start (intended, in open loop) of those
  Nanos rejectedLast = 0;                 // and latest end: they count in the region's wall time
  std::string rejection;                  // the target's words for this worker's first one
  int64_t late = 0;
  Nanos firstInferenceNs = 0;
  std::thread thread;
};

enum Step : int { kMade = 0, kFirstDone = 1, kWarmDone = 2, kTimedDone = 3, kStepCount = 4 };

/// When the timed region stops, fixed before it starts.
struct Plan {
  bool open = false;
  std::optional<int64_t> budget;  // -c
  Nanos deadline = kNoLimit;      // -d: no call starts at or after it
  Nanos cap = kNoLimit;           // maxSeconds
  bool stopRule = false;          // neither -c nor -d
  int64_t minIterations = 0;
  Nanos minNs = 0;
  std::vector<Nanos> arrivals;  // open loop: every admissible request's intended start
  bool scheduleCutByCap = false;
};

struct Failure {
  int thread = 0;
  std::string phase;
  std::exception_ptr error;
};

std::string describe(const std::exception_ptr& error, ErrorCode* code) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    if (code) *code = e.code();
    return e.what();
  } catch (const std::exception& e) {
    if (code) *code = ErrorCode::EngineFailure;
    return e.what();
  } catch (...) {
    if (code) *code = ErrorCode::EngineFailure;
    return "an exception that is not a std::exception";
  }
}

class Runner {
 public:
  Runner(Target& target, const RunOptions& options, ResourceSampler* sampler)
      : target_(target), options_(options), sampler_(sampler), slots_(new Slot[options.threads]) {}

  ~Runner() { stopAndJoin(); }

  RunResult execute();

 private:
  // ---- worker side
  void workerMain(int index);
  void leave(Slot& slot);
  void warmup(Slot& slot, int index);
  void timedClosed(Slot& slot);
  void timedOpen(Slot& slot);
  bool admitClosed(Nanos start);
  void countRejected(Slot& slot, Nanos start, Nanos end);
  bool arrive(Step step);
  bool sleepUntil(Clock::time_point when);  // false when told to stop
  void recordFailure(int index, const char* phase, std::exception_ptr error, bool leaving);

  // ---- calling thread
  void makePlan();
  void awaitAll(Step step, const char* phase);
  void release(Step step);
  void reportProgress(const char* phase, bool final = false);
  void stopAndJoin();
  [[noreturn]] void throwFailure();
  RunResult buildResult(const std::vector<MemorySample>& boundaryReads);
  void addStability(RunResult& result, const std::vector<Sample>& samples, Nanos first, Nanos last) const;

  Target& target_;
  const RunOptions& options_;
  ResourceSampler* sampler_;
  std::unique_ptr<Slot[]> slots_;
  Plan plan_;

  std::mutex mutex_;
  std::condition_variable toWorkers_, toMain_;
  std::array<int, kStepCount> arrived_{};
  int released_ = 0;  // steps released: workers past step s when released_ > s
  int left_ = 0;      // workers that left early after a failure
  bool abort_ = false;
  std::optional<Failure> failure_;
  Clock::time_point warmupStart_, t0_;  // written before the release that publishes them

  alignas(64) std::atomic<bool> stop_{false};
  alignas(64) std::atomic<int64_t> tickets_{0};
  alignas(64) std::atomic<int64_t> completed_{0};
  alignas(64) std::atomic<bool> capHit_{false};
  std::atomic<bool> ruleMet_{false};

  Clock::time_point runStart_ = Clock::now();
  Clock::time_point progressStart_;
};

// ------------------------------------------------------------- worker side

void Runner::workerMain(int index) {
  Slot& slot = slots_[index];
  const char* phase = "creating its target worker";
  bool timed = false;
  try {
    slot.worker = target_.newWorker();
    if (!slot.worker) throw Error(ErrorCode::Internal, "the target returned no worker");
    std::size_t expected = SampleLog::kChunk;
    if (plan_.open) {
      expected = plan_.arrivals.size();
    } else if (plan_.budget) {
      expected = static_cast<std::size_t>(*plan_.budget);
    }
    // Room for this worker's share and half again; a busier worker grows.
    const std::size_t share = expected / static_cast<std::size_t>(options_.threads);
    slot.log.prepare(std::min<std::size_t>(share + share / 2 + 64, std::size_t{1} << 21));
    if (!arrive(kMade)) return leave(slot);

    if (index == 0) {
      phase = "the first inference";
      const Clock::time_point start = Clock::now();
      slot.worker->infer();
      slot.firstInferenceNs = nanosSince(start, Clock::now());
    }
    if (!arrive(kFirstDone)) return leave(slot);

    phase = "warm-up";
    warmup(slot, index);
    if (!arrive(kWarmDone)) return leave(slot);

    phase = "the timed region";
    timed = true;
    if (plan_.open) {
      timedOpen(slot);
    } else {
      timedClosed(slot);
    }
  } catch (...) {
    recordFailure(index, phase, std::current_exception(), !timed);
    if (!timed) return leave(slot);
  }
  arrive(kTimedDone);
  leave(slot);
}

void Runner::leave(Slot& slot) {
  // The worker is released off the clock, on the thread that used it (a
  // predictor may hold thread-bound engine state). Its destructor should not
  // throw; if it does, the run's result stands and this thread must not die.
  try {
    slot.worker.reset();
  } catch (...) {
  }
}

void Runner::warmup(Slot& slot, int index) {
  // Thread i starts i x startDelayMs after thread 0 (-l), as djl-bench does.
  const auto delay = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::milli>(options_.startDelayMs * index));
  if (!sleepUntil(warmupStart_ + delay)) return;
  for (int64_t i = 0; i < options_.warmupIterations; ++i) {
    if (stop_.load(std::memory_order_relaxed)) return;
    // A refusal for overload warms nothing, but fails nothing either: under
    // overload, many workers warming up at once is when a server sheds load.
    (void)slot.worker->tryInfer();
    slot.warmupCalls.store(i + 1, std::memory_order_relaxed);
  }
}

bool Runner::admitClosed(Nanos start) {
  if (stop_.load(std::memory_order_relaxed)) return false;
  if (plan_.budget && tickets_.fetch_add(1, std::memory_order_relaxed) >= *plan_.budget) return false;
  if (start >= plan_.deadline) return false;
  if (start >= plan_.cap) {
    // Only when the rule itself wanted more: the cap cut the run short.
    capHit_.store(true, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void Runner::timedClosed(Slot& slot) {
  const Clock::time_point t0 = t0_;
  TargetWorker& worker = *slot.worker;
  int64_t calls = 0;
  for (;;) {
    // The start read before the admission check: a call is admitted on the
    // time it starts, so none starts at or after the deadline.
    const Nanos start = nanosSince(t0, Clock::now());
    if (!admitClosed(start)) break;
    const CallOutcome outcome = worker.tryInfer();
    const Nanos end = nanosSince(t0, Clock::now());
    if (outcome == CallOutcome::Rejected) {
      countRejected(slot, start, end);
      continue;
    }
    slot.log.push(start, end);
    slot.timedCalls.store(++calls, std::memory_order_relaxed);
    if (plan_.stopRule) {
      const int64_t done = completed_.fetch_add(1, std::memory_order_relaxed) + 1;
      if (done >= plan_.minIterations && end >= plan_.minNs) {
        ruleMet_.store(true, std::memory_order_relaxed);
        stop_.store(true, std::memory_order_relaxed);
      }
    }
  }
}

void Runner::timedOpen(Slot& slot) {
  const Clock::time_point t0 = t0_;
  TargetWorker& worker = *slot.worker;
  const std::vector<Nanos>& arrivals = plan_.arrivals;
  int64_t calls = 0;
  for (;;) {
    if (stop_.load(std::memory_order_relaxed)) break;
    // The next request in schedule order, whichever worker is free.
    const auto k = static_cast<std::size_t>(tickets_.fetch_add(1, std::memory_order_relaxed));
    if (k >= arrivals.size()) break;
    const Nanos intended = arrivals[k];
    if (!sleepUntil(t0 + std::chrono::nanoseconds(intended))) break;
    const Nanos actual = nanosSince(t0, Clock::now());
    if (actual >= plan_.deadline) break;  // due, but no call starts after the deadline
    if (actual >= plan_.cap) {
      capHit_.store(true, std::memory_order_relaxed);
      break;
    }
    const CallOutcome outcome = worker.tryInfer();
    const Nanos end = nanosSince(t0, Clock::now());
    if (actual - intended > kLateNs) ++slot.late;
    // A refused request takes the next ticket at once: the schedule is fixed
    // up front, so a refusal never delays the requests after it.
    if (outcome == CallOutcome::Rejected) {
      countRejected(slot, intended, end);
      continue;
    }
    // Latency from the intended start: time spent queued behind a slow
    // system counts (no coordinated omission).
    slot.log.push(intended, end);
    slot.timedCalls.store(++calls, std::memory_order_relaxed);
  }
}

void Runner::countRejected(Slot& slot, Nanos start, Nanos end) {
  // The target's message once per worker: under overload most calls are
  // refused, and one example says why.
  if (slot.rejection.empty()) slot.rejection = slot.worker->lastRejection();
  slot.rejectedFirst = std::min(slot.rejectedFirst, start);
  slot.rejectedLast = std::max(slot.rejectedLast, end);
  slot.rejectedCalls.fetch_add(1, std::memory_order_relaxed);
}

bool Runner::sleepUntil(Clock::time_point when) {
  using namespace std::chrono_literals;
  for (;;) {
    const Clock::time_point now = Clock::now();
    if (now >= when) return true;
    if (stop_.load(std::memory_order_relaxed)) return false;
    const auto remaining = when - now;
    // Sleep most of the way in slices (to notice stop), then yield-spin the
    // last 200 us: sleep_until alone oversleeps by tens of microseconds,
    // which an open-loop latency would count.
    if (remaining > 200us) {
      std::this_thread::sleep_for(std::min<Clock::duration>(remaining - 100us, 50ms));
    } else {
      std::this_thread::yield();
    }
  }
}

bool Runner::arrive(Step step) {
  std::unique_lock lock(mutex_);
  ++arrived_[step];
  toMain_.notify_one();
  if (step == kTimedDone) return true;
  toWorkers_.wait(lock, [&] { return released_ > step || abort_; });
  return !abort_;
}

void Runner::recordFailure(int index, const char* phase, std::exception_ptr error, bool leaving) {
  {
    std::lock_guard lock(mutex_);
    if (!failure_) failure_ = Failure{index, phase, std::move(error)};
    if (leaving) ++left_;
  }
  stop_.store(true, std::memory_order_relaxed);
  toMain_.notify_one();
}

// ----------------------------------------------------------- calling thread

void Runner::makePlan() {
  const StopRule& stop = options_.stop;
  plan_.open = options_.rate.has_value();
  plan_.budget = stop.iterations;
  if (stop.durationSeconds) plan_.deadline = toNanos(*stop.durationSeconds);
  if (stop.maxSeconds) plan_.cap = toNanos(*stop.maxSeconds);
  plan_.stopRule = !stop.iterations && !stop.durationSeconds;
  plan_.minIterations = stop.minIterations;
  plan_.minNs = toNanos(stop.minSeconds);
  if (!plan_.open) return;

  // The whole schedule up front: request k's intended time must not depend
  // on which worker takes it, and computing it is no work for the hot path.
  ArrivalClock clock(options_.arrival, *options_.rate, options_.seed);
  for (int64_t k = 0;; ++k) {
    const Nanos offset = toNanos(clock.next());
    if (plan_.budget && k >= *plan_.budget) break;
    if (offset >= plan_.deadline) break;
    // Open-loop stop rule on the schedule: min iterations AND min seconds.
    if (plan_.stopRule && k >= plan_.minIterations && offset >= plan_.minNs) break;
    if (offset >= plan_.cap) {
      plan_.scheduleCutByCap = true;
      break;
    }
    if (plan_.arrivals.size() == kMaxScheduledRequests)
      throw Error(ErrorCode::InvalidArgument,
                  "open loop: expected at most " + std::to_string(kMaxScheduledRequests) +
                      " requests in the schedule, got more at rate " + formatNumber(*options_.rate) +
                      "/s; give -c, -d or a max time");
    plan_.arrivals.push_back(offset);
  }
}

void Runner::awaitAll(Step step, const char* phase) {
  using namespace std::chrono_literals;
  std::unique_lock lock(mutex_);
  const int n = options_.threads;
  // A failure before the timed region aborts at once; in it, the others
  // stop at their next call and arrive.
  auto done = [&] { return arrived_[step] + left_ >= n || (failure_ && step != kTimedDone); };
  while (!done()) {
    if (!options_.onProgress) {
      toMain_.wait(lock, done);
      break;
    }
    if (toMain_.wait_until(lock, progressStart_ + 500ms, done)) break;
    lock.unlock();
    reportProgress(phase);
    progressStart_ = Clock::now();
    lock.lock();
  }
}

void Runner::release(Step step) {
  {
    std::lock_guard lock(mutex_);
    if (step == kFirstDone) warmupStart_ = Clock::now();
    if (step == kWarmDone) t0_ = Clock::now();
    released_ = step + 1;
  }
  toWorkers_.notify_all();
}

void Runner::reportProgress(const char* phase, bool final) {
  if (!options_.onProgress) return;
  Progress p;
  p.phase = phase;
  const int n = options_.threads;
  if (p.phase == "timed") {
    int64_t done = 0, rejected = 0;
    for (int i = 0; i < n; ++i) {
      done += slots_[i].timedCalls.load(std::memory_order_relaxed);
      rejected += slots_[i].rejectedCalls.load(std::memory_order_relaxed);
    }
    std::chrono::steady_clock::time_point t0;
    {
      std::lock_guard lock(mutex_);
      t0 = t0_;
    }
    p.elapsedSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
    p.iterations = done;
    p.rejected = rejected;
    p.throughput = p.elapsedSeconds > 0 ? static_cast<double>(done) / p.elapsedSeconds : 0;
    const StopRule& stop = options_.stop;
    double fraction = -1;
    if (stop.iterations)
      fraction = static_cast<double>(done + rejected) / static_cast<double>(*stop.iterations);
    if (stop.durationSeconds) fraction = std::max(fraction, p.elapsedSeconds / *stop.durationSeconds);
    if (plan_.stopRule) {
      const double byCount = stop.minIterations > 0
                                 ? static_cast<double>(done) / static_cast<double>(stop.minIterations)
                                 : 1.0;
      const double byTime = stop.minSeconds > 0 ? p.elapsedSeconds / stop.minSeconds : 1.0;
      fraction = std::min(byCount, byTime);
    }
    if (stop.maxSeconds) fraction = std::max(fraction, p.elapsedSeconds / *stop.maxSeconds);
    p.fraction = final ? (failure_ ? std::clamp(fraction, 0.0, 1.0) : 1.0) : std::clamp(fraction, 0.0, 1.0);
  } else {
    int64_t done = 0;
    for (int i = 0; i < n; ++i) done += slots_[i].warmupCalls.load(std::memory_order_relaxed);
    p.elapsedSeconds = std::chrono::duration<double>(Clock::now() - runStart_).count();
    p.iterations = done;
    p.throughput = p.elapsedSeconds > 0 ? static_cast<double>(done) / p.elapsedSeconds : 0;
    const int64_t total = options_.warmupIterations * n;
    p.fraction = total > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0) : 1.0;
  }
  options_.onProgress(p);
}

void Runner::stopAndJoin() {
  {
    std::lock_guard lock(mutex_);
    abort_ = true;
  }
  stop_.store(true, std::memory_order_relaxed);
  toWorkers_.notify_all();
  for (int i = 0; i < options_.threads; ++i)
    if (slots_[i].thread.joinable()) slots_[i].thread.join();
}

void Runner::throwFailure() {
  stopAndJoin();
  ErrorCode code = ErrorCode::EngineFailure;
  const std::string message = describe(failure_->error, &code);
  throw Error(code, "benchmark: " + failure_->phase + " failed on thread " +
                        std::to_string(failure_->thread) + " of " + std::to_string(options_.threads) +
                        ": " + message);
}

RunResult Runner::execute() {
  makePlan();
  std::vector<MemorySample> boundaryReads;
  auto readRss = [&](const char* phase) {
    const double rss = ResourceSampler::rssMiB();
    boundaryReads.push_back({std::chrono::duration<double>(Clock::now() - runStart_).count(), rss, phase});
    return rss;
  };
  readRss("warmup");  // the run's start: the base when there is no sampler
  if (sampler_) sampler_->setPhase("warmup");

  progressStart_ = Clock::now();
  for (int i = 0; i < options_.threads; ++i) slots_[i].thread = std::thread([this, i] { workerMain(i); });

  awaitAll(kMade, "warmup");
  if (failure_) throwFailure();
  readRss("warmup");  // after load and predictor creation, before the first call
  reportProgress("warmup");
  release(kMade);

  awaitAll(kFirstDone, "warmup");
  if (failure_) throwFailure();
  release(kFirstDone);

  awaitAll(kWarmDone, "warmup");
  if (failure_) throwFailure();

  readRss("timed");
  if (sampler_) sampler_->setPhase("timed");
  const double cpuBefore = ResourceSampler::processCpuSeconds();
  release(kWarmDone);
  reportProgress("timed");
  progressStart_ = Clock::now();

  awaitAll(kTimedDone, "timed");
  const double cpuAfter = ResourceSampler::processCpuSeconds();
  if (sampler_) sampler_->setPhase("done");
  readRss("done");
  stopAndJoin();
  reportProgress("timed", true);

  RunResult result = buildResult(boundaryReads);
  result.cpuSeconds = cpuAfter - cpuBefore;
  result.cpuUtil = result.wallSeconds > 0
                       ? result.cpuSeconds / result.wallSeconds / static_cast<double>(options_.usableCores)
                       : 0;
  return result;
}

RunResult Runner::buildResult(const std::vector<MemorySample>& boundaryReads) {
  RunResult r;
  r.target = target_.info();
  r.timedRegion = target_.timedRegion();
  r.threads = options_.threads;
  r.mode = plan_.open ? LoopMode::Open : LoopMode::Closed;
  r.warmupIterationsPerThread = options_.warmupIterations;
  r.firstInferenceMs = static_cast<double>(slots_[0].firstInferenceNs) / 1e6;
  r.stabilityTolerancePct = options_.stabilityTolerancePct;

  // ---- samples of all threads, merged by completion time
  std::vector<Sample> samples;
  std::size_t total = 0;
  for (int i = 0; i < options_.threads; ++i) total += slots_[i].log.size();
  samples.reserve(total);
  for (int i = 0; i < options_.threads; ++i) slots_[i].log.appendTo(samples);
  std::stable_sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) { return a.end < b.end; });

  r.iterations = static_cast<int64_t>(samples.size());
  r.samplesMs.reserve(samples.size());
  r.completionSeconds.reserve(samples.size());
  Nanos first = kNoLimit, last = 0;
  for (const Sample& s : samples) {
    r.samplesMs.push_back(static_cast<double>(s.end - s.start) / 1e6);
    r.completionSeconds.push_back(static_cast<double>(s.end) / 1e9);
    first = std::min(first, s.start);
    last = std::max(last, s.end);
  }
  // Refused calls are no samples, but the region's wall time spans them.
  std::string rejection;
  for (int i = 0; i < options_.threads; ++i) {
    const Slot& slot = slots_[i];
    const int64_t refused = slot.rejectedCalls.load(std::memory_order_relaxed);
    if (refused == 0) continue;
    r.rejected += refused;
    first = std::min(first, slot.rejectedFirst);
    last = std::max(last, slot.rejectedLast);
    if (rejection.empty()) rejection = slot.rejection;
  }
  const int64_t sent = r.iterations + r.rejected;
  if (sent > 0) r.wallSeconds = static_cast<double>(last - first) / 1e9;
  r.throughput = r.wallSeconds > 0 ? static_cast<double>(r.iterations) / r.wallSeconds : 0;
  r.rejectedRate = r.wallSeconds > 0 ? static_cast<double>(r.rejected) / r.wallSeconds : 0;
  r.itemsPerSecond = r.throughput * static_cast<double>(r.target.batch);
  r.latency = summarize(r.samplesMs);
  for (int i = 0; i < options_.threads; ++i)
    r.perThreadThroughput.push_back(
        r.wallSeconds > 0 ? static_cast<double>(slots_[i].log.size()) / r.wallSeconds : 0);

  // ---- why it stopped
  const StopRule& stop = options_.stop;
  // The cap "cut the run short" only when the rule itself was not met: a
  // worker can meet the cap in the instant another meets the rule.
  bool capped = capHit_.load() || plan_.scheduleCutByCap;
  if (plan_.stopRule && ruleMet_.load()) capped = false;
  if (stop.iterations && sent == *stop.iterations) capped = false;
  if (failure_) {
    r.stopReason = "failed";
    r.error = "benchmark: " + failure_->phase + " failed on thread " + std::to_string(failure_->thread) +
              " of " + std::to_string(options_.threads) + " after " + std::to_string(r.iterations) +
              " timed calls: ";
    ErrorCode code = ErrorCode::EngineFailure;
    r.error += describe(failure_->error, &code);
    r.errorCode = std::string(toString(code));
  } else if (capped) {
    r.stopReason = "max time";
  } else if (stop.iterations && sent == *stop.iterations) {
    r.stopReason = "iterations";
  } else if (stop.durationSeconds) {
    r.stopReason = "duration";
  } else if (stop.iterations) {
    r.stopReason = "iterations";
  } else {
    r.stopReason = "stop rule";
  }

  // ---- open loop
  if (plan_.open) {
    r.arrival = options_.arrival;
    r.offeredRate = *options_.rate;
    r.achievedRate = r.throughput;
    for (int i = 0; i < options_.threads; ++i) r.late += slots_[i].late;
    if (!failure_) r.missed = static_cast<int64_t>(plan_.arrivals.size()) - sent;
  }

  if (!samples.empty()) addStability(r, samples, first, last);

  // ---- memory: the sampler's timer samples, plus the reads at the boundaries
  std::vector<MemorySample> timer = sampler_ ? sampler_->samples() : std::vector<MemorySample>{};
  r.rssBaseMiB = !timer.empty() ? timer.front().rssMiB : boundaryReads.front().rssMiB;
  r.rssAfterLoadMiB = boundaryReads[1].rssMiB;
  // The peak of the run itself: after the timed region the timer's samples
  // ("done") see the benchmark merging and sorting its latency samples, not
  // the model. The boundary read "done" is taken before that, and counts.
  for (const MemorySample& m : timer)
    if (m.phase != "done") r.rssPeakMiB = std::max(r.rssPeakMiB, m.rssMiB);
  for (const MemorySample& m : boundaryReads) r.rssPeakMiB = std::max(r.rssPeakMiB, m.rssMiB);
  std::vector<double> steady;
  for (const MemorySample& m : timer)
    if (m.phase == "timed") steady.push_back(m.rssMiB);
  if (steady.empty()) steady.push_back(boundaryReads.back().rssMiB);
  std::sort(steady.begin(), steady.end());
  r.rssSteadyMiB = quantileSorted(steady, 0.5);
  r.rss = sampler_ ? std::move(timer) : boundaryReads;

  // ---- warnings
  if (options_.threads > options_.usableCores)
    r.warnings.push_back("threads " + std::to_string(options_.threads) + " > usable cores " +
                         std::to_string(options_.usableCores) +
                         ": oversubscribed, latency includes time waiting for a core");
  if (capped && !failure_) {
    std::string wanted = stop.iterations       ? std::to_string(*stop.iterations) + " iterations"
                         : stop.durationSeconds ? formatNumber(*stop.durationSeconds) + " s"
                                                : "the stop rule (" + std::to_string(stop.minIterations) +
                                                      " iterations and " + formatNumber(stop.minSeconds) + " s)";
    r.warnings.push_back("max time " + formatNumber(*stop.maxSeconds) + " s reached before " + wanted +
                         ": " + std::to_string(r.iterations) + " timed iterations");
  }
  if (r.rejected > 0)
    r.warnings.push_back("the target refused " + std::to_string(r.rejected) + " of " + std::to_string(sent) +
                         " timed requests as overloaded; the latency, throughput and stability figures "
                         "cover the " + std::to_string(r.iterations) + " it answered. It said: " + rejection);
  if (plan_.open && r.late > 0)
    r.warnings.push_back("open loop: " + std::to_string(r.late) + " of " + std::to_string(sent) +
                         " requests started more than 1 ms after their intended time (the target, or " +
                         std::to_string(options_.threads) + " worker thread(s), could not keep up with " +
                         formatNumber(*options_.rate) + " requests/s); their latency includes the wait");
  // Every sample is kept (exact percentiles): with a fast model that is a
  // visible part of the RSS figures above, so say how much.
  const double sampleMiB = static_cast<double>(r.iterations) * sizeof(Sample) / (1 << 20);
  if (sampleMiB >= 1 && sampleMiB >= 0.05 * r.rssSteadyMiB)
    r.warnings.push_back("the RSS figures include the latency samples the benchmark keeps (" +
                         std::to_string(sizeof(Sample)) + " bytes per call, " +
                         formatNumber(std::round(sampleMiB * 10) / 10) +
                         " MiB by the end of the timed region), so they grow with the run's length");
  if (plan_.open && r.missed > 0)
    r.warnings.push_back("open loop: " + std::to_string(r.missed) +
                         " requests due before the end never started (the backlog when new calls stopped)");
  return r;
}

void Runner::addStability(RunResult& r, const std::vector<Sample>& samples, Nanos first, Nanos last) const {
  const int w = options_.windows;
  const double span = static_cast<double>(last - first);
  const double width = span / w / 1e9;  // seconds
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(w));
  for (const Sample& s : samples) {
    const double position = span > 0 ? static_cast<double>(s.end - first) / span : 0;
    const int index = std::clamp(static_cast<int>(position * w), 0, w - 1);
    latencies[static_cast<std::size_t>(index)].push_back(static_cast<double>(s.end - s.start) / 1e6);
  }
  std::vector<double> throughputs, p50s;
  for (int i = 0; i < w; ++i) {
    std::vector<double>& values = latencies[static_cast<std::size_t>(i)];
    std::sort(values.begin(), values.end());
    Window window;
    window.startSeconds = static_cast<double>(first) / 1e9 + i * width;
    window.endSeconds = window.startSeconds + width;
    window.iterations = static_cast<int64_t>(values.size());
    window.throughput = width > 0 ? static_cast<double>(values.size()) / width : 0;
    window.p50 = quantileSorted(values, 0.5);
    throughputs.push_back(window.throughput);
    p50s.push_back(window.p50);
    r.windows.push_back(window);
  }
  // max |x - median| / median, in %; a zero median (most windows empty)
  // is as unstable as it gets.
  auto spread = [](std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const double median = quantileSorted(values, 0.5);
    if (!(median > 0)) return 100.0;
    double worst = 0;
    for (double v : values) worst = std::max(worst, std::abs(v - median) / median * 100);
    return worst;
  };
  r.throughputSpreadPct = spread(throughputs);
  r.p50SpreadPct = spread(p50s);
  constexpr int64_t kMinPerWindow = 10;
  const bool enough = r.iterations >= kMinPerWindow * w;
  r.stable = enough && r.throughputSpreadPct <= options_.stabilityTolerancePct &&
             r.p50SpreadPct <= options_.stabilityTolerancePct;
  if (!enough)
    r.warnings.push_back("stability not assessed: " + std::to_string(r.iterations) +
                         " timed iterations, fewer than " + std::to_string(kMinPerWindow) + " in each of " +
                         std::to_string(w) + " windows");
}

}  // namespace

std::vector<double> arrivalSchedule(Arrival arrival, double rate, uint64_t seed, std::size_t count) {
  if (!(rate > 0 && std::isfinite(rate)))
    throw Error(ErrorCode::InvalidArgument, "arrivalSchedule: expected a rate > 0 requests/s, got " +
                                                formatNumber(rate));
  ArrivalClock clock(arrival, rate, seed);
  std::vector<double> offsets(count);
  for (double& offset : offsets) offset = clock.next();
  return offsets;
}

RunResult run(Target& target, const RunOptions& options, ResourceSampler* sampler) {
  validate(options);
  Runner runner(target, options, sampler);
  return runner.execute();
}

}  // namespace polyinfer::bench
