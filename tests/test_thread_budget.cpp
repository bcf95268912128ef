// ThreadBudget against cgroup v1/v2 fixture files.
#include <gtest/gtest.h>

#include <fstream>

#include "test_support.hpp"

using namespace polyinfer;
namespace fs = std::filesystem;

namespace {

class CgroupFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("polyinfer-cgroup-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "sys");
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const fs::path& relative, const std::string& text) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }
  ThreadBudget budget(int affinity) {
    return ThreadBudget::fromFiles(affinity, root_ / "proc_self_cgroup", root_ / "sys");
  }
  fs::path root_;
};

}  // namespace

TEST_F(CgroupFixture, V2MaxMeansNoQuota) {
  write("proc_self_cgroup", "0::/app\n");
  write("sys/app/cpu.max", "max 100000\n");
  ThreadBudget b = budget(8);
  EXPECT_EQ(b.usableCores(), 8);
  EXPECT_FALSE(b.quotaCores().has_value());
}

TEST_F(CgroupFixture, V2HalfCoreQuotaRoundsUpToOne) {
  write("proc_self_cgroup", "0::/app\n");
  write("sys/app/cpu.max", "50000 100000\n");
  ThreadBudget b = budget(8);
  EXPECT_EQ(b.usableCores(), 1);
  ASSERT_TRUE(b.quotaCores().has_value());
  EXPECT_DOUBLE_EQ(*b.quotaCores(), 0.5);
  EXPECT_NE(b.source().find("cpu.max '50000 100000'"), std::string::npos) << b.source();
}

TEST_F(CgroupFixture, V2AncestorQuotaApplies) {
  write("proc_self_cgroup", "0::/outer/inner\n");
  write("sys/outer/inner/cpu.max", "max 100000\n");
  write("sys/outer/cpu.max", "300000 100000\n");
  EXPECT_EQ(budget(16).usableCores(), 3);
}

TEST_F(CgroupFixture, QuotaNeverRaisesTheAffinityCount) {
  write("proc_self_cgroup", "0::/\n");
  write("sys/cpu.max", "800000 100000\n");
  EXPECT_EQ(budget(2).usableCores(), 2);
}

TEST_F(CgroupFixture, V1Quota) {
  write("proc_self_cgroup", "12:memory:/docker/x\n4:cpu,cpuacct:/docker/x\n");
  write("sys/cpu,cpuacct/docker/x/cpu.cfs_quota_us", "150000\n");
  write("sys/cpu,cpuacct/docker/x/cpu.cfs_period_us", "100000\n");
  ThreadBudget b = budget(8);
  EXPECT_EQ(b.usableCores(), 2);
  EXPECT_NE(b.source().find("cgroup v1"), std::string::npos) << b.source();
}

TEST_F(CgroupFixture, V1MinusOneMeansNoQuota) {
  write("proc_self_cgroup", "4:cpu,cpuacct:/\n");
  write("sys/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  write("sys/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(budget(4).usableCores(), 4);
}

TEST_F(CgroupFixture, AbsentFilesMeanNoQuota) {
  EXPECT_EQ(budget(6).usableCores(), 6);  // no /proc/self/cgroup at all
  write("proc_self_cgroup", "0::/gone\n");
  EXPECT_EQ(budget(6).usableCores(), 6);  // cgroup directory absent
}

TEST(ThreadBudgetTest, DefaultsSplitCoresAmongWorkers) {
  ThreadBudget b = ThreadBudget::fixed(8, "test");
  EXPECT_EQ(b.defaultsFor(1).intraOpThreads, 8);
  EXPECT_EQ(b.defaultsFor(3).intraOpThreads, 2);
  EXPECT_EQ(b.defaultsFor(16).intraOpThreads, 1);
  EXPECT_EQ(b.defaultsFor(0).workers, 1);
  EXPECT_EQ(b.defaultsFor(2).interOpThreads, 1);
  EXPECT_EQ(b.defaultsFor(2).reason, "cores 8 / workers 2");
}

TEST(ThreadBudgetTest, DetectsThisProcess) {
  ThreadBudget b = ThreadBudget::detect();
  EXPECT_GE(b.usableCores(), 1);
  EXPECT_LE(b.usableCores(), b.affinityCores());
  EXPECT_FALSE(b.source().empty());
}
