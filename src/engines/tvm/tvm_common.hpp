// Shared pieces of the TVM plugin: names, the runtime libraries opened once,
// TVM's thread-pool size, DLPack dtypes and TVM's errors as polyinfer errors.
#pragma once

#include <dlpack/dlpack.h>
#include <tvm/ffi/c_api.h>

#include <mutex>
#include <string>
#include <string_view>

#include "polyinfer/dtype.hpp"
#include "polyinfer/error.hpp"

namespace polyinfer::tvm_engine {

/// The engine's name, as in the plugin's file name.
inline constexpr const char* kEngineName = "tvm";
/// TVM's own name, in messages.
inline constexpr const char* kLibraryName = "TVM";

/// Environment variables naming the libtvm_ffi.so and libtvm_runtime.so to
/// open; default: those the plugin was built against.
inline constexpr const char* kFfiLibraryEnv = "POLYINFER_TVM_FFI_LIBRARY";
inline constexpr const char* kRuntimeLibraryEnv = "POLYINFER_TVM_RUNTIME_LIBRARY";

/// tvm-ffi's library (libtvm_ffi.so), opened once, RTLD_GLOBAL: a compiled
/// module's code calls its C functions (TVMFFIErrorSetRaisedFromCStrParts) by
/// name, and TVM opens modules RTLD_LOCAL. It exports only TVMFFI* and
/// tvm::ffi names. The functions tvm-ffi's C++ headers call
/// (tvm_ffi_forward.cpp). Throws Error(Unavailable) naming the file; the same
/// error on every later call.
struct FfiLibrary {
  std::string library;
  decltype(&::TVMFFIBacktrace) backtrace = nullptr;
  decltype(&::TVMFFIErrorMoveFromRaised) errorMoveFromRaised = nullptr;
  decltype(&::TVMFFIFunctionGetGlobal) functionGetGlobal = nullptr;
  decltype(&::TVMFFIGetTypeInfo) getTypeInfo = nullptr;
};
const FfiLibrary& ffiLibrary();

/// TVM's runtime, opened on first use (thread-safe, never closed).
struct Runtime {
  std::string library;  ///< libtvm_runtime.so's path
  /// tvm::runtime::threading::SetMaxConcurrency / MaxConcurrency: the size of
  /// the thread pool that TVM makes for every thread that runs a model.
  void (*setMaxConcurrency)(int) = nullptr;
  int (*maxConcurrency)() = nullptr;
};

/// Opens libtvm_runtime.so (RTLD_LOCAL; it registers the Relax VM with
/// tvm-ffi) after ffiLibrary(). Throws Error(Unavailable) naming the file; the same error on every later
/// call.
const Runtime& runtime();

/// Held while a module is loaded or a virtual machine made: TVM's runtime
/// creates shared state (its module registry's entries, the VM's allocators)
/// on first use without a lock ThreadSanitizer can see (TSan reported a mutex
/// TVM allocates on one loading thread and locks on another). Calls do not
/// hold it.
std::mutex& tvmStateMutex();

/// DLPack dtype <-> DataType. nullopt-like {0,0,0} for a type TVM has not.
bool toDl(DataType type, DLDataType& out) noexcept;
/// Undefined for a dtype polyinfer does not map.
DataType fromDl(DLDataType type) noexcept;
/// "float32", "int64", or TVM's own spelling for an unmapped one.
std::string dlTypeName(DLDataType type);

/// Rethrows the exception being handled as polyinfer::Error with the message
/// "tvm: <context>: <TVM's message>"; tvm::ffi::Error's kind decides the code
/// (ValueError, TypeError, IndexError: InvalidArgument; others: `code`).
[[noreturn]] void rethrowTvm(std::string_view context, ErrorCode code);

}  // namespace polyinfer::tvm_engine
