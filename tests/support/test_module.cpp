// A module for test_module_loading, built once per kind (TEST_MODULE_KIND):
// good, old_abi (module ABI 6), other_version (polyinfer 0.0.0-other),
// null_table (the entry point returns no table) and no_entry (none exported).
#include "polyinfer/version.hpp"
#include "test_module.hpp"

namespace {

using polyinfer::test::TestModuleTable;

#define TEST_MODULE_IS(kind) (TEST_MODULE_KIND == TEST_MODULE_##kind)
#define TEST_MODULE_good 1
#define TEST_MODULE_old_abi 2
#define TEST_MODULE_other_version 3
#define TEST_MODULE_null_table 4
#define TEST_MODULE_no_entry 5

[[maybe_unused]] const TestModuleTable table{
    TEST_MODULE_IS(old_abi) ? polyinfer::test::kTestModuleAbi - 1 : polyinfer::test::kTestModuleAbi,
    TEST_MODULE_IS(other_version) ? "0.0.0-other" : POLYINFER_VERSION, 42};

}  // namespace

#if !TEST_MODULE_IS(no_entry)
extern "C" __attribute__((visibility("default"))) const TestModuleTable* polyinfer_test_module_entry() {
  return TEST_MODULE_IS(null_table) ? nullptr : &table;
}
#endif
