// polyinfer bench, after parsing: one run in this process, or a plan of runs
// (engines side by side, --sweep, --tune), each configuration in a fresh
// child process of this program, so that no run inherits another's thread
// pools, process-wide engine settings (some engines set their thread counts
// once per process) or memory.
#pragma once

#include "commands.hpp"

namespace polyinfer::cli {

int benchMain(const BenchArgs& args, int argc, char** argv);

}  // namespace polyinfer::cli
