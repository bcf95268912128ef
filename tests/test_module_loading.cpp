// The loader of polyinfer's own modules (src/core/internal/module_loading.hpp),
// which libpolyinfer_io, `polyinfer serve` and `polyinfer bench` use for their
// protobuf and gRPC modules: a module of this build loads; one of another
// module ABI or polyinfer version, one without its entry point, one whose
// entry point returns nothing and a missing file are each refused, saying
// which.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "module_loading.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/thread_budget.hpp"
#include "polyinfer/version.hpp"
#include "test_module.hpp"

namespace polyinfer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using test::TestModuleTable;

fs::path modulePath(const std::string& kind) {
  return fs::path(POLYINFER_TEST_MODULE_DIR) / ("libpolyinfer_test_module_" + kind + ".so");
}

const TestModuleTable& load(const std::string& kind) {
  return detail::loadModuleTable<TestModuleTable>(
      modulePath(kind), test::kTestModuleEntrySymbol, test::kTestModuleAbi, [&](const std::string& why) {
        return Error(ErrorCode::Unavailable, "test module '" + modulePath(kind).string() + "' " + why);
      });
}

/// The message of the Error that loading `kind` throws.
std::string refusal(const std::string& kind) {
  try {
    load(kind);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unavailable) << kind;  // the caller's code
    return e.what();
  }
  ADD_FAILURE() << "module '" << kind << "' was not refused";
  return {};
}

TEST(ModuleLoading, AModuleOfThisBuildLoadsAndIsTheSameModuleTwice) {
  const TestModuleTable& table = load("good");
  EXPECT_EQ(table.answer, 42);
  EXPECT_EQ(table.abiVersion, test::kTestModuleAbi);
  EXPECT_EQ(&load("good"), &table);
  // The table lies in the module, so the module's directory is found from it.
  EXPECT_EQ(detail::libraryDirectoryOf(&table), fs::canonical(POLYINFER_TEST_MODULE_DIR));
}

TEST(ModuleLoading, EachRefusalSaysWhatIsWrong) {
  const std::string missing = refusal("missing");
  EXPECT_THAT(missing, HasSubstr("test module '" + modulePath("missing").string() + "' cannot be loaded: "));
  EXPECT_THAT(missing, HasSubstr("No such file"));
  EXPECT_THAT(refusal("no_entry"), HasSubstr("does not export polyinfer_test_module_entry()"));
  EXPECT_THAT(refusal("null_table"), HasSubstr("returned no table from polyinfer_test_module_entry()"));
  EXPECT_THAT(refusal("old_abi"), HasSubstr("was built for module ABI 6 of polyinfer " POLYINFER_VERSION
                                            ", expected ABI 7 of polyinfer " POLYINFER_VERSION));
  EXPECT_THAT(refusal("other_version"),
              HasSubstr("was built for module ABI 7 of polyinfer 0.0.0-other, expected ABI 7 of polyinfer " POLYINFER_VERSION));
  // A refused module does not stay refused by mistake, nor poison the next load.
  EXPECT_EQ(load("good").answer, 42);
}

TEST(ModuleLoading, LibraryDirectoryOfTheCoreLibrary) {
  const fs::path dir = detail::libraryDirectoryOf(reinterpret_cast<const void*>(&ThreadBudget::detect));
  ASSERT_FALSE(dir.empty());
  bool found = false;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir))
    found = found || entry.path().filename().string().rfind("libpolyinfer.so", 0) == 0;
  EXPECT_TRUE(found) << dir << " does not hold libpolyinfer.so";
  EXPECT_TRUE(detail::libraryDirectoryOf(nullptr).empty());
}

}  // namespace
}  // namespace polyinfer
