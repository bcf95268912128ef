// The table of the modules test_module_loading loads (tests/support/test_module.cpp,
// built once per kind of module): headed as polyinfer's own modules' tables are.
#pragma once

#include <cstdint>

namespace polyinfer::test {

inline constexpr std::uint32_t kTestModuleAbi = 7;
inline constexpr const char* kTestModuleEntrySymbol = "polyinfer_test_module_entry";

struct TestModuleTable {
  std::uint32_t abiVersion;
  const char* polyinferVersion;
  int answer;  ///< 42: the loader handed back the module's own table
};

}  // namespace polyinfer::test
