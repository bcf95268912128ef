#include "polyinfer/thread_budget.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "strings.hpp"

namespace polyinfer {
namespace {

namespace fs = std::filesystem;

int affinityCpuCount() {
  // CPU_ALLOC handles machines with more CPUs than a plain cpu_set_t holds.
  for (int cpus = 1024; cpus <= (1 << 16); cpus *= 2) {
    cpu_set_t* set = CPU_ALLOC(cpus);
    const std::size_t size = CPU_ALLOC_SIZE(cpus);
    CPU_ZERO_S(size, set);
    if (sched_getaffinity(0, size, set) == 0) {
      const int count = CPU_COUNT_S(size, set);
      CPU_FREE(set);
      return std::max(1, count);
    }
    CPU_FREE(set);
    if (errno != EINVAL) break;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::optional<std::string> readFirstLine(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  return std::string(detail::trim(line));
}

struct Quota {
  double cores;
  std::string description;
};

// The directory of `cgroupPath` under `mount`, then each ancestor up to the
// mount itself: a limit on any of them applies to the process.
std::vector<fs::path> selfAndAncestors(const fs::path& mount, const std::string& cgroupPath) {
  std::vector<fs::path> dirs;
  fs::path relative = fs::path(cgroupPath).relative_path();
  while (true) {
    dirs.push_back(relative.empty() ? mount : mount / relative);
    if (relative.empty()) break;
    relative = relative.parent_path();
  }
  return dirs;
}

void keepSmallest(std::optional<Quota>& best, Quota candidate) {
  if (!best || candidate.cores < best->cores) best = std::move(candidate);
}

std::optional<Quota> cgroupV2Quota(const fs::path& root, const std::string& cgroupPath) {
  std::optional<Quota> best;
  for (const fs::path& dir : selfAndAncestors(root, cgroupPath)) {
    auto line = readFirstLine(dir / "cpu.max");
    if (!line) continue;
    std::istringstream fields(*line);
    std::string quota;
    double period = 0;
    fields >> quota >> period;
    if (quota == "max" || period <= 0) continue;
    double q = 0;
    try {
      q = std::stod(quota);
    } catch (const std::exception&) {
      continue;
    }
    if (q <= 0) continue;
    keepSmallest(best, {q / period, "cgroup v2 cpu.max '" + *line + "' at " + dir.string()});
  }
  return best;
}

std::optional<Quota> cgroupV1Quota(const fs::path& root, const std::string& controllers,
                                   const std::string& cgroupPath) {
  std::optional<Quota> best;
  const fs::path mounts[] = {root / controllers, root / "cpu,cpuacct", root / "cpu"};
  for (const fs::path& mount : mounts) {
    if (!fs::is_directory(mount)) continue;
    for (const fs::path& dir : selfAndAncestors(mount, cgroupPath)) {
      auto quotaText = readFirstLine(dir / "cpu.cfs_quota_us");
      auto periodText = readFirstLine(dir / "cpu.cfs_period_us");
      if (!quotaText || !periodText) continue;
      double quota = 0, period = 0;
      try {
        quota = std::stod(*quotaText);
        period = std::stod(*periodText);
      } catch (const std::exception&) {
        continue;
      }
      if (quota <= 0 || period <= 0) continue;  // -1: no limit
      keepSmallest(best, {quota / period, "cgroup v1 cpu.cfs_quota_us " + *quotaText +
                                              " / cpu.cfs_period_us " + *periodText + " at " +
                                              dir.string()});
    }
    break;  // the first existing mount is the hierarchy
  }
  return best;
}

std::string formatCores(double cores) {
  std::ostringstream out;
  out.precision(2);
  out << std::fixed << cores;
  return out.str();
}

}  // namespace

ThreadBudget ThreadBudget::detect() {
  return fromFiles(affinityCpuCount(), "/proc/self/cgroup", "/sys/fs/cgroup");
}

ThreadBudget ThreadBudget::fromFiles(int affinityCores, const fs::path& procSelfCgroup,
                                     const fs::path& cgroupRoot) {
  ThreadBudget budget;
  budget.affinityCores_ = std::max(1, affinityCores);
  budget.cores_ = budget.affinityCores_;
  budget.source_ = "affinity mask: " + std::to_string(budget.affinityCores_) + " CPUs";

  std::optional<Quota> quota;
  std::ifstream in(procSelfCgroup);
  std::string line;
  std::optional<std::pair<std::string, std::string>> v1;  // controllers, path
  std::optional<std::string> v2;                          // path
  while (std::getline(in, line)) {
    // hierarchy-id:controller-list:cgroup-path
    const std::size_t first = line.find(':');
    const std::size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {
      v2 = path;
      continue;
    }
    for (std::string_view c : detail::split(controllers, ','))
      if (c == "cpu") v1 = std::make_pair(controllers, path);
  }
  // A v1 cpu controller, where present, is the one enforcing the quota.
  if (v1) quota = cgroupV1Quota(cgroupRoot, v1->first, v1->second);
  else if (v2) quota = cgroupV2Quota(cgroupRoot, *v2);

  if (quota) {
    budget.quota_ = quota->cores;
    const int quotaCores = std::max(1, static_cast<int>(std::ceil(quota->cores - 1e-9)));
    budget.source_ += "; " + quota->description + " (" + formatCores(quota->cores) + " cores)";
    if (quotaCores < budget.cores_) budget.cores_ = quotaCores;
  }
  budget.source_ += " -> " + std::to_string(budget.cores_) + " usable";
  return budget;
}

ThreadBudget ThreadBudget::fixed(int cores, std::string source) {
  ThreadBudget budget;
  budget.cores_ = budget.affinityCores_ = std::max(1, cores);
  budget.source_ = std::move(source);
  return budget;
}

ThreadDefaults ThreadBudget::defaultsFor(int workers) const {
  ThreadDefaults d;
  d.workers = std::max(1, workers);
  d.intraOpThreads = std::max(1, cores_ / d.workers);
  d.interOpThreads = 1;
  d.reason = "cores " + std::to_string(cores_) + " / workers " + std::to_string(d.workers);
  return d;
}

}  // namespace polyinfer
