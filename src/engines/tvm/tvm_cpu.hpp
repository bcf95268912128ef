// The CPU features a compiled module may use, checked against this host
// before the module's code is loaded: code compiled for a newer CPU dies of
// SIGILL (illegal instruction) at its first call otherwise.
#pragma once

#include <string>
#include <vector>

namespace polyinfer::tvm_engine {

/// The features among `features` (LLVM's names: "avx512f", "amx-tile",
/// "avx10.2") that this host's CPU lacks. Features this check does not know
/// (LLVM's tuning flags such as "fast-gather", or ISA extensions newer than
/// its table) are put in `unknown` instead.
std::vector<std::string> missingCpuFeatures(const std::vector<std::string>& features,
                                            std::vector<std::string>& unknown);

}  // namespace polyinfer::tvm_engine
