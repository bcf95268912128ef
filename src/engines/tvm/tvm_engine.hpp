// The TVM engine (DLR's role in DJL): runs models compiled ahead of time by
// Apache TVM (Relax) into a shared library, through TVM's runtime and its
// Relax virtual machine.
//
// ---------------------------------------------------------------------------
// Formats
//   manifest.json: a compiled module, NAME.so (relax.build(...)
//   .export_library), with an optional signature file NAME.json beside it
//   (tools/gen_tvm_models.py writes one: input and output names, dtypes and
//   shapes). The file is checked before any of its code is loaded: an ELF
//   shared library, complete, for this host's machine, exporting TVM's
//   serialized executable (__tvm_ffi__library_bin).
//
// Threads
//   A Relax VM runs one call at a time: the engine is not re-entrant. The
//   core reads the file once; the module is loaded from those bytes once, and
//   each predictor gets its own virtual machine over it (the code and the
//   constants are shared). TVM gives every thread that runs a model a thread
//   pool of TVM_NUM_THREADS threads (itself included): intraOpNumThreads sets
//   that size for the whole process on the first load.
//
// Inputs and outputs
//   Inputs are the entry function's parameters, with the shapes and dtypes
//   the module checks them against; outputs come from the signature file
//   (without one: output_K, known after a call). Inputs are lent to TVM
//   without a copy when 64-byte aligned (every tensor polyinfer allocates);
//   outputs are views of the VM's storage.
// ---------------------------------------------------------------------------
#pragma once

#include <memory>

#include "polyinfer/plugin.hpp"

namespace polyinfer::tvm_engine {

class TvmEngine final : public plugin::Engine {
 public:
  TvmEngine();
  EngineDescription describe() const override;
  std::shared_ptr<plugin::EngineModel> load(const plugin::LoadRequest& request) override;
};

}  // namespace polyinfer::tvm_engine
