// The C functions of tvm-ffi (libtvm_ffi.so) that tvm-ffi's header-only C++
// API calls, defined here as forwarders into the library the plugin opens at
// run time (tvm_common.cpp), so that the plugin does not link it: its path is
// chosen at run time (POLYINFER_TVM_FFI_LIBRARY), as for the other wheel
// engines, and an installed plugin has no run path into a build tree. The
// plugin is opened RTLD_LOCAL: these definitions are seen by nothing else.
// A function the headers start to call is reported by the linker's
// --no-undefined check of this target (CMakeLists.txt).
#include <tvm/ffi/c_api.h>

#include "tvm_common.hpp"

using polyinfer::tvm_engine::ffiLibrary;

extern "C" {

const TVMFFIByteArray* TVMFFIBacktrace(const char* filename, int lineno, const char* func,
                                       int cross_ffi_boundary) {
  return ffiLibrary().backtrace(filename, lineno, func, cross_ffi_boundary);
}

void TVMFFIErrorMoveFromRaised(TVMFFIObjectHandle* result) {
  ffiLibrary().errorMoveFromRaised(result);
}

int TVMFFIFunctionGetGlobal(const TVMFFIByteArray* name, TVMFFIObjectHandle* out) {
  return ffiLibrary().functionGetGlobal(name, out);
}

const TVMFFITypeInfo* TVMFFIGetTypeInfo(int32_t type_index) {
  return ffiLibrary().getTypeInfo(type_index);
}

}  // extern "C"
