#include "tf_api.hpp"

#include <dlfcn.h>
#include <stdlib.h>

#include <string_view>

#include <mutex>
#include <optional>
#include <string>

#include "polyinfer/error.hpp"
#include "polyinfer/options.hpp"
#include "polyinfer/plugin_kit.hpp"

#ifndef POLYINFER_TENSORFLOW_LIBRARY
#error "POLYINFER_TENSORFLOW_LIBRARY (the TensorFlow C library's path) must be defined"
#endif

namespace polyinfer::tf {

namespace {

/// The library that defines one of protobuf's runtime functions in the
/// process's global scope (the program, what it was linked with, libraries
/// opened RTLD_GLOBAL), if any. TensorFlow's wheel libraries refer to their
/// own protobuf runtime by plain (unversioned) names: a global definition of
/// the same names wins, TensorFlow runs another protobuf version's code on its
/// objects and crashes while loading. A plugin's own dependencies (opened
/// RTLD_LOCAL) are not in that scope and do no harm.
std::optional<std::string> globalProtobufRuntime() {
  void* global = ::dlopen(nullptr, RTLD_NOW);
  if (global == nullptr) return std::nullopt;
  static constexpr const char* kProbes[] = {
      "_ZN6google8protobuf2io17CodedOutputStreamD1Ev",
      "_ZN6google8protobuf11MessageLite14ParseFromArrayEPKvi",
  };
  std::optional<std::string> found;
  for (const char* probe : kProbes) {
    void* symbol = ::dlsym(global, probe);
    if (symbol == nullptr) continue;
    Dl_info info{};
    found = ::dladdr(symbol, &info) != 0 && info.dli_fname != nullptr ? info.dli_fname
                                                                       : "an unknown library";
    break;
  }
  ::dlclose(global);
  return found;
}

/// absl's prefix "I0000 00:00:1795974282.849497    5561 port.cc:153] ":
/// the severity's level (0 info .. 3 fatal), or -1 for a line without one.
int abslSeverity(std::string_view line) {
  if (line.size() < 6 || line[5] != ' ') return -1;
  for (std::size_t i = 1; i < 5; ++i)
    if (line[i] < '0' || line[i] > '9') return -1;
  switch (line[0]) {
    case 'I': return 0;
    case 'W': return 1;
    case 'E': return 2;
    case 'F': return 3;
    default: return -1;
  }
}

/// TensorFlow logs through absl while its libraries initialise, before
/// TF_CPP_MIN_LOG_LEVEL is consulted: "oneDNN custom operations are on ..."
/// (INFO) and absl's "WARNING: All log messages before absl::InitializeLog()
/// ...", on every load, into every program's stderr. While the library is
/// opened, absl lines below `minLevel` and that notice are dropped.
std::optional<plugin::StderrFilter> loadTimeLogFilter(int minLevel) {
  if (minLevel <= 0) return std::nullopt;  // the user asked for everything
  return std::optional<plugin::StderrFilter>(std::in_place, [minLevel](std::string_view line) {
    const int level = abslSeverity(line);
    if (level >= 0) return std::optional<bool>(level >= minLevel);
    if (line.starts_with("WARNING: All log messages before absl::InitializeLog()"))
      return std::optional<bool>(false);
    return std::optional<bool>();  // continuation lines follow their message
  });
}

/// TF_CPP_MIN_LOG_LEVEL as a number (TensorFlow's reading: 0-3, else 0).
int logLevelNumber(const std::string& text) {
  return text.size() == 1 && text[0] >= '0' && text[0] <= '3' ? text[0] - '0' : 0;
}

Api openApi() {
  Api api;
  const std::optional<std::string> configured = environmentValue(kLibraryEnv);
  api.library = configured ? *configured : POLYINFER_TENSORFLOW_LIBRARY;
  const std::string where = configured ? std::string(" (from ") + kLibraryEnv + ")" : "";

  // Before TensorFlow starts: it reads the variable once. Only when unset,
  // so a user's choice stands.
  const std::optional<std::string> level = environmentValue(kLogLevelEnv);
  api.logLevelFromEnv = level.has_value();
  api.logLevel = level.value_or(std::string(1, '2'));
  if (!level) ::setenv(kLogLevelEnv, api.logLevel.c_str(), 0);

  const std::optional<plugin::StderrFilter> filter = loadTimeLogFilter(logLevelNumber(api.logLevel));
  // Another namespace (dlmopen) would keep TensorFlow away from that
  // runtime, but glibc shares its thread-stack cache across namespaces: a
  // stack TensorFlow's threads reuse carries TLS blocks the other libc's
  // malloc made, which TensorFlow's libc then frees (heap corruption, seen
  // here in a process that linked LibTorch). So: refuse, and say why.
  if (const std::optional<std::string> protobuf = globalProtobufRuntime())
    throw Error(ErrorCode::Unavailable,
                "tensorflow: cannot load TensorFlow into this process: a protobuf runtime is "
                "loaded globally (" + *protobuf +
                    ", linked into the program or a library it links), and TensorFlow's "
                    "libraries would bind to it instead of their own and crash; link that "
                    "library into a plugin or module opened with RTLD_LOCAL instead, or run "
                    "TensorFlow in a process of its own");
  void* handle = ::dlopen(api.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = ::dlerror();
    throw Error(ErrorCode::Unavailable,
                "tensorflow: cannot open the TensorFlow library '" + api.library + "'" + where +
                    ": " + (reason != nullptr ? reason : "unknown error") + "; set " +
                    kLibraryEnv + " to a libtensorflow.so.2 or libtensorflow_cc.so.2");
  }
  // The handle is never closed: TensorFlow registers kernels and threads
  // process-wide and does not support being unloaded.
#define POLYINFER_TF_RESOLVE(name)                                                            \
  api.name = reinterpret_cast<decltype(api.name)>(::dlsym(handle, #name));                    \
  if (api.name == nullptr)                                                                    \
    throw Error(ErrorCode::Unavailable, "tensorflow: '" + api.library + "'" + where +         \
                                            " lacks the C API function " #name                \
                                            "; it is not a TensorFlow C library (libtensorflow " \
                                            "or libtensorflow_cc) of version 2.x");
  POLYINFER_TF_FUNCTIONS(POLYINFER_TF_RESOLVE)
#undef POLYINFER_TF_RESOLVE
  return api;
}

}  // namespace

const Api& api() {
  static plugin::OnceResult<Api> opened;
  return opened.get(openApi);
}

}  // namespace polyinfer::tf
