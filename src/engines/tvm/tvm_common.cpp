#include "tvm_common.hpp"

#include <dlfcn.h>

#include <tvm/ffi/error.h>
#include <tvm/ffi/function.h>

#include <optional>
#include <string>

#include "polyinfer/options.hpp"
#include "polyinfer/plugin_kit.hpp"

#ifndef POLYINFER_TVM_FFI_LIBRARY
#error "POLYINFER_TVM_FFI_LIBRARY (libtvm_ffi.so's path) must be defined"
#endif
#ifndef POLYINFER_TVM_RUNTIME_LIBRARY
#error "POLYINFER_TVM_RUNTIME_LIBRARY (libtvm_runtime.so's path) must be defined"
#endif

namespace polyinfer::tvm_engine {

namespace {

std::string dlError() {
  const char* reason = ::dlerror();
  return reason != nullptr ? reason : "unknown error";
}

FfiLibrary openFfiLibrary() {
  FfiLibrary ffi;
  const std::optional<std::string> configured = environmentValue(kFfiLibraryEnv);
  ffi.library = configured ? *configured : POLYINFER_TVM_FFI_LIBRARY;
  const std::string where = configured ? std::string(" (from ") + kFfiLibraryEnv + ")" : "";
  // Never closed: modules and the runtime keep pointers into it.
  void* handle = ::dlopen(ffi.library.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr)
    throw Error(ErrorCode::Unavailable, "tvm: cannot open tvm-ffi's library '" + ffi.library + "'" +
                                            where + ": " + dlError() + "; set " + kFfiLibraryEnv +
                                            " to the libtvm_ffi.so of apache-tvm-ffi 0.1");
#define POLYINFER_TVM_FFI_RESOLVE(member, name)                                                \
  ffi.member = reinterpret_cast<decltype(ffi.member)>(::dlsym(handle, #name));                 \
  if (ffi.member == nullptr)                                                                   \
    throw Error(ErrorCode::Unavailable, "tvm: '" + ffi.library + "'" + where +                 \
                                            " lacks " #name "; it is not tvm-ffi's library");
  POLYINFER_TVM_FFI_RESOLVE(backtrace, TVMFFIBacktrace)
  POLYINFER_TVM_FFI_RESOLVE(errorMoveFromRaised, TVMFFIErrorMoveFromRaised)
  POLYINFER_TVM_FFI_RESOLVE(functionGetGlobal, TVMFFIFunctionGetGlobal)
  POLYINFER_TVM_FFI_RESOLVE(getTypeInfo, TVMFFIGetTypeInfo)
#undef POLYINFER_TVM_FFI_RESOLVE
  return ffi;
}

Runtime openRuntime() {
  ffiLibrary();
  Runtime rt;
  const std::optional<std::string> configured = environmentValue(kRuntimeLibraryEnv);
  rt.library = configured ? *configured : POLYINFER_TVM_RUNTIME_LIBRARY;
  const std::string where = configured ? std::string(" (from ") + kRuntimeLibraryEnv + ")" : "";
  // RTLD_LOCAL: nothing of TVM's runtime needs to be seen by other libraries;
  // its static initialisers register the Relax VM and the CPU device with
  // tvm-ffi. Never closed: tvm-ffi's registry keeps pointers into it.
  void* handle = ::dlopen(rt.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr)
    throw Error(ErrorCode::Unavailable, "tvm: cannot open TVM's runtime '" + rt.library + "'" +
                                            where + ": " + dlError() + "; set " +
                                            kRuntimeLibraryEnv + " to a libtvm_runtime.so of " +
                                            "apache-tvm 0.2x (tvm-ffi)");
  // C++ functions (TVM has no C API for the pool size): mangled names of
  // tvm::runtime::threading::SetMaxConcurrency(int) and MaxConcurrency().
  rt.setMaxConcurrency = reinterpret_cast<void (*)(int)>(
      ::dlsym(handle, "_ZN3tvm7runtime9threading17SetMaxConcurrencyEi"));
  rt.maxConcurrency =
      reinterpret_cast<int (*)()>(::dlsym(handle, "_ZN3tvm7runtime9threading14MaxConcurrencyEv"));
  if (rt.setMaxConcurrency == nullptr || rt.maxConcurrency == nullptr)
    throw Error(ErrorCode::Unavailable,
                "tvm: '" + rt.library + "'" + where +
                    " lacks tvm::runtime::threading::SetMaxConcurrency / MaxConcurrency; it is "
                    "not a TVM runtime this plugin knows (apache-tvm 0.2x)");
  if (!tvm::ffi::Function::GetGlobal("ffi.Module.load_from_bytes.relax.VMExecutable"))
    throw Error(ErrorCode::Unavailable, "tvm: '" + rt.library + "'" + where +
                                            " registered no Relax VM (global function "
                                            "ffi.Module.load_from_bytes.relax.VMExecutable); it "
                                            "is not a TVM runtime with Relax");
  return rt;
}

}  // namespace

std::mutex& tvmStateMutex() {
  static std::mutex mutex;
  return mutex;
}

const FfiLibrary& ffiLibrary() {
  static plugin::OnceResult<FfiLibrary> opened;
  return opened.get(openFfiLibrary);
}

const Runtime& runtime() {
  static plugin::OnceResult<Runtime> opened;
  return opened.get(openRuntime);
}

namespace {

struct DlPair {
  DataType type;
  DLDataType dl;
};

constexpr DlPair kDlTypes[] = {
    {DataType::Float32, {kDLFloat, 32, 1}}, {DataType::Float64, {kDLFloat, 64, 1}},
    {DataType::Float16, {kDLFloat, 16, 1}}, {DataType::BFloat16, {kDLBfloat, 16, 1}},
    {DataType::Int8, {kDLInt, 8, 1}},       {DataType::Int16, {kDLInt, 16, 1}},
    {DataType::Int32, {kDLInt, 32, 1}},     {DataType::Int64, {kDLInt, 64, 1}},
    {DataType::UInt8, {kDLUInt, 8, 1}},     {DataType::UInt16, {kDLUInt, 16, 1}},
    {DataType::UInt32, {kDLUInt, 32, 1}},   {DataType::UInt64, {kDLUInt, 64, 1}},
    {DataType::Bool, {kDLBool, 8, 1}},
};

bool sameDl(DLDataType a, DLDataType b) noexcept {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

}  // namespace

bool toDl(DataType type, DLDataType& out) noexcept {
  for (const DlPair& pair : kDlTypes)
    if (pair.type == type) {
      out = pair.dl;
      return true;
    }
  return false;
}

DataType fromDl(DLDataType type) noexcept {
  for (const DlPair& pair : kDlTypes)
    if (sameDl(pair.dl, type)) return pair.type;
  return DataType::Undefined;
}

std::string dlTypeName(DLDataType type) {
  if (const DataType ours = fromDl(type); ours != DataType::Undefined)
    return std::string(toString(ours));
  return "DLPack type (code " + std::to_string(type.code) + ", bits " + std::to_string(type.bits) +
         ", lanes " + std::to_string(type.lanes) + ")";
}

void rethrowTvm(std::string_view context, ErrorCode code) {
  try {
    throw;
  } catch (const tvm::ffi::Error& e) {
    const std::string kind = e.kind();
    const bool argument = kind == "ValueError" || kind == "TypeError" || kind == "IndexError" ||
                          kind == "AttributeError";
    std::string message = e.message();
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    throw Error(argument ? ErrorCode::InvalidArgument : code,
                std::string(kEngineName) + ": " + std::string(context) + ": " + kind + ": " +
                    message);
  } catch (...) {
    plugin::rethrowAsError(kEngineName, context, code);
  }
}

}  // namespace polyinfer::tvm_engine
