// ThreadBudget: how many cores this process may really use, and the thread
// defaults that follow from it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace polyinfer {

/// Default threads per call for a given number of worker threads.
struct ThreadDefaults {
  int workers = 1;
  int intraOpThreads = 1;  ///< max(1, cores / workers): W x intra <= cores
  int interOpThreads = 1;  ///< 1: inter-op parallelism only oversubscribes here
  std::string reason;      ///< "cores 8 / workers 2"
};

/// The cores a process may use: the CPU affinity mask, capped by the cgroup
/// (v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us) CPU quota of the
/// process's cgroup and its ancestors, rounded up. Not hardware_concurrency():
/// in a container that is the host's core count and leads to oversubscription.
class ThreadBudget {
 public:
  /// Reads this process's affinity mask, /proc/self/cgroup and /sys/fs/cgroup.
  static ThreadBudget detect();

  /// Same computation from given files (for tests and unusual mounts):
  /// `procSelfCgroup` is a /proc/self/cgroup file, `cgroupRoot` the cgroup
  /// file-system mount (v2 unified, or the v1 root holding "cpu,cpuacct" or
  /// "cpu" hierarchies). Missing files mean "no quota".
  static ThreadBudget fromFiles(int affinityCores,
                                const std::filesystem::path& procSelfCgroup,
                                const std::filesystem::path& cgroupRoot);

  /// A fixed budget (e.g. from a user override).
  static ThreadBudget fixed(int cores, std::string source);

  int usableCores() const noexcept { return cores_; }
  int affinityCores() const noexcept { return affinityCores_; }
  /// CPU quota in cores (e.g. 0.5), when a cgroup sets one.
  std::optional<double> quotaCores() const noexcept { return quota_; }
  /// Human-readable source: "affinity mask: 2 CPUs; cgroup v2 cpu.max 50000 100000
  /// (0.50 cores) at /sys/fs/cgroup/x -> 1".
  const std::string& source() const noexcept { return source_; }

  /// intra = max(1, cores / workers), inter = 1. workers < 1 counts as 1.
  ThreadDefaults defaultsFor(int workers) const;

 private:
  int cores_ = 1;
  int affinityCores_ = 1;
  std::optional<double> quota_;
  std::string source_;
};

}  // namespace polyinfer
