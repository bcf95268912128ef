// ResourceSampler: RSS on a timer, from its own thread, so that the workers'
// calls never pay for a measurement.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "runner.hpp"

namespace polyinfer::bench {

struct ResourceSampler::State {
  using Clock = std::chrono::steady_clock;

  std::chrono::milliseconds interval;
  Clock::time_point origin = Clock::now();
  mutable std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::string phase = "load";
  std::vector<MemorySample> samples;
  std::thread thread;

  // Caller holds `mutex`.
  void record() {
    samples.push_back({std::chrono::duration<double>(Clock::now() - origin).count(),
                       ResourceSampler::rssMiB(), phase});
  }

  void loop() {
    std::unique_lock lock(mutex);
    while (!wake.wait_for(lock, interval, [this] { return stopping; })) record();
  }
};

ResourceSampler::ResourceSampler(std::chrono::milliseconds interval)
    : state_(std::make_unique<State>()) {
  state_->interval = interval.count() > 0 ? interval : std::chrono::milliseconds(1);
  {
    // The first sample at once: the base before whatever comes next (the load).
    std::lock_guard lock(state_->mutex);
    state_->samples.reserve(4096);
    state_->record();
  }
  state_->thread = std::thread([state = state_.get()] { state->loop(); });
}

ResourceSampler::~ResourceSampler() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  state_->thread.join();
}

void ResourceSampler::setPhase(const std::string& phase) {
  std::lock_guard lock(state_->mutex);
  state_->phase = phase;
  // A sample at each boundary, so that every phase has at least one even
  // when it is shorter than the interval.
  state_->record();
}

std::vector<MemorySample> ResourceSampler::samples() const {
  std::lock_guard lock(state_->mutex);
  return state_->samples;
}

double ResourceSampler::rssMiB() {
  // /proc/self/statm: "size resident shared ..." in pages. Plain read(2):
  // no allocation, safe to call from the sampler thread at any rate.
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buffer[128];
  const ssize_t n = ::read(fd, buffer, sizeof(buffer) - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buffer[n] = '\0';
  char* end = nullptr;
  std::strtoull(buffer, &end, 10);  // size: skipped
  const unsigned long long residentPages = std::strtoull(end, nullptr, 10);
  const long pageBytes = ::sysconf(_SC_PAGESIZE);
  return static_cast<double>(residentPages) * static_cast<double>(pageBytes > 0 ? pageBytes : 4096) /
         (1024.0 * 1024.0);
}

double ResourceSampler::processCpuSeconds() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace polyinfer::bench
