// A compiled TVM module file: checked as a shared library for this host before
// any of its code is loaded, then loaded from the bytes the core read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tvm/ffi/extra/module.h>

namespace polyinfer::tvm_engine {

/// Checks `bytes` (the file `label` names) before loading: an ELF shared
/// library, complete, for this host's machine, exporting TVM's
/// __tvm_ffi__library_bin (the serialized Relax VM executable that
/// relax.build's export_library writes). Throws Error(InvalidArgument) naming
/// what was expected and found.
void checkModuleFile(const std::vector<std::uint8_t>& bytes, const std::string& label);

/// Loads the library from `bytes` (through an anonymous in-memory file, so
/// that the code run is the code the core read, and no file is read again)
/// and returns TVM's module for it. Throws Error.
tvm::ffi::Module loadModuleFromBytes(const std::vector<std::uint8_t>& bytes,
                                     const std::string& label);

}  // namespace polyinfer::tvm_engine
