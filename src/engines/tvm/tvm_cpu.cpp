#include "tvm_cpu.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <cstdint>
#include <string_view>

namespace polyinfer::tvm_engine {

namespace {

#if defined(__x86_64__)

enum Reg : std::uint8_t { kEax, kEbx, kEcx, kEdx };

/// An ISA extension: where CPUID reports it (Intel SDM vol. 2A, CPUID).
struct CpuidBit {
  std::string_view llvmName;
  std::uint32_t leaf;
  std::uint32_t subleaf;
  Reg reg;
  std::uint8_t bit;
};

constexpr CpuidBit kFeatures[] = {
    {"sse3", 1, 0, kEcx, 0},          {"pclmul", 1, 0, kEcx, 1},
    {"ssse3", 1, 0, kEcx, 9},         {"fma", 1, 0, kEcx, 12},
    {"cx16", 1, 0, kEcx, 13},         {"sse4.1", 1, 0, kEcx, 19},
    {"sse4.2", 1, 0, kEcx, 20},       {"movbe", 1, 0, kEcx, 22},
    {"popcnt", 1, 0, kEcx, 23},       {"aes", 1, 0, kEcx, 25},
    {"xsave", 1, 0, kEcx, 26},        {"avx", 1, 0, kEcx, 28},
    {"f16c", 1, 0, kEcx, 29},         {"rdrnd", 1, 0, kEcx, 30},
    {"cmov", 1, 0, kEdx, 15},         {"mmx", 1, 0, kEdx, 23},
    {"fxsr", 1, 0, kEdx, 24},         {"sse", 1, 0, kEdx, 25},
    {"sse2", 1, 0, kEdx, 26},         {"cx8", 1, 0, kEdx, 8},
    {"fsgsbase", 7, 0, kEbx, 0},      {"bmi", 7, 0, kEbx, 3},
    {"avx2", 7, 0, kEbx, 5},          {"bmi2", 7, 0, kEbx, 8},
    {"avx512f", 7, 0, kEbx, 16},      {"avx512dq", 7, 0, kEbx, 17},
    {"rdseed", 7, 0, kEbx, 18},       {"adx", 7, 0, kEbx, 19},
    {"avx512ifma", 7, 0, kEbx, 21},   {"clflushopt", 7, 0, kEbx, 23},
    {"clwb", 7, 0, kEbx, 24},         {"avx512cd", 7, 0, kEbx, 28},
    {"sha", 7, 0, kEbx, 29},          {"avx512bw", 7, 0, kEbx, 30},
    {"avx512vl", 7, 0, kEbx, 31},     {"avx512vbmi", 7, 0, kEcx, 1},
    {"avx512vbmi2", 7, 0, kEcx, 6},   {"gfni", 7, 0, kEcx, 8},
    {"vaes", 7, 0, kEcx, 9},          {"vpclmulqdq", 7, 0, kEcx, 10},
    {"avx512vnni", 7, 0, kEcx, 11},   {"avx512bitalg", 7, 0, kEcx, 12},
    {"avx512vpopcntdq", 7, 0, kEcx, 14}, {"movdiri", 7, 0, kEcx, 27},
    {"movdir64b", 7, 0, kEcx, 28},    {"serialize", 7, 0, kEdx, 14},
    {"amx-bf16", 7, 0, kEdx, 22},     {"avx512fp16", 7, 0, kEdx, 23},
    {"amx-tile", 7, 0, kEdx, 24},     {"amx-int8", 7, 0, kEdx, 25},
    {"sha512", 7, 1, kEax, 0},        {"sm3", 7, 1, kEax, 1},
    {"sm4", 7, 1, kEax, 2},           {"avxvnni", 7, 1, kEax, 4},
    {"avx512bf16", 7, 1, kEax, 5},    {"cmpccxadd", 7, 1, kEax, 7},
    {"amx-fp16", 7, 1, kEax, 21},     {"avxifma", 7, 1, kEax, 23},
    {"avxvnniint8", 7, 1, kEdx, 4},   {"avxneconvert", 7, 1, kEdx, 5},
    {"amx-complex", 7, 1, kEdx, 8},   {"avxvnniint16", 7, 1, kEdx, 10},
    {"prefetchi", 7, 1, kEdx, 14},    {"avx10.1", 7, 1, kEdx, 19},
    {"egpr", 7, 1, kEdx, 21},         {"lzcnt", 0x80000001, 0, kEcx, 5},
    {"prfchw", 0x80000001, 0, kEcx, 8},
};

bool hostHas(const CpuidBit& feature) {
  unsigned regs[4] = {0, 0, 0, 0};
  const unsigned highest = __get_cpuid_max(feature.leaf & 0x80000000u, nullptr);
  if (highest < feature.leaf) return false;
  __cpuid_count(feature.leaf, feature.subleaf, regs[kEax], regs[kEbx], regs[kEcx], regs[kEdx]);
  return ((regs[feature.reg] >> feature.bit) & 1u) != 0;
}

#endif

/// Names LLVM lists among a CPU's features that are not instructions: its
/// tuning flags and modes. Not reported as unknown.
bool isTuningFlag(std::string_view name) {
  constexpr std::string_view kPrefixes[] = {"fast-", "slow-", "false-deps-", "no-bypass-", "tuning-",
                                            "prefer-", "allow-", "idivq-", "idivl-", "fast"};
  for (std::string_view prefix : kPrefixes)
    if (name.starts_with(prefix)) return true;
  return name == "64bit" || name == "64bit-mode" || name == "macrofusion" || name == "vzeroupper" ||
         name == "nopl" || name == "x87" || name == "sahf" || name == "ermsb" || name == "fsrm";
}

}  // namespace

std::vector<std::string> missingCpuFeatures(const std::vector<std::string>& features,
                                            std::vector<std::string>& unknown) {
  std::vector<std::string> missing;
  for (const std::string& name : features) {
    bool known = false;
#if defined(__x86_64__)
    for (const CpuidBit& feature : kFeatures)
      if (feature.llvmName == name) {
        known = true;
        if (!hostHas(feature)) missing.push_back(name);
        break;
      }
#endif
    if (!known && !isTuningFlag(name)) unknown.push_back(name);
  }
  return missing;
}

}  // namespace polyinfer::tvm_engine
