#include "tf_api.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string_view>

#include <mutex>
#include <optional>
#include <string>

#include "polyinfer/error.hpp"
#include "polyinfer/options.hpp"

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

/// TensorFlow logs through absl while its libraries initialise, before
/// TF_CPP_MIN_LOG_LEVEL is consulted: "oneDNN custom operations are on ..."
/// (INFO) and absl's "WARNING: All log messages before absl::InitializeLog()
/// ...", on every load, into every program's stderr. While the library is
/// opened, stderr goes to a temporary file; afterwards what was written there
/// goes to stderr again, except absl lines below `minLevel` (0 info, 1
/// warning, 2 error, 3 fatal) and that notice. Output of other threads in
/// that window is delayed, not lost.
class LoadTimeLogFilter {
 public:
  explicit LoadTimeLogFilter(int minLevel) : minLevel_(minLevel) {
    if (minLevel_ <= 0) return;  // the user asked for everything
    char name[] = "/tmp/polyinfer-tf-load-XXXXXX";
    file_ = ::mkstemp(name);
    if (file_ < 0) return;
    ::unlink(name);
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    if (saved_ < 0 || ::dup2(file_, STDERR_FILENO) < 0) restore();
  }
  ~LoadTimeLogFilter() { restore(); }
  LoadTimeLogFilter(const LoadTimeLogFilter&) = delete;
  LoadTimeLogFilter& operator=(const LoadTimeLogFilter&) = delete;

 private:
  /// absl's prefix "I0000 00:00:1795974282.849497    5561 port.cc:153] ":
  /// the severity's level, or -1 for a line without one.
  static int severity(std::string_view line) {
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

  void restore() noexcept {
    if (saved_ >= 0) {
      std::fflush(stderr);
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
      saved_ = -1;
      replay();
    }
    if (file_ >= 0) ::close(file_);
    file_ = -1;
  }

  void replay() noexcept {
    std::string text;
    char buffer[4096];
    ::lseek(file_, 0, SEEK_SET);
    for (ssize_t n; (n = ::read(file_, buffer, sizeof buffer)) > 0;) text.append(buffer, n);
    std::string kept;
    bool dropping = false;  // continuation lines follow their message
    for (std::size_t begin = 0; begin < text.size();) {
      const std::size_t end = std::min(text.find('\n', begin), text.size());
      const std::string_view line(text.data() + begin, end - begin);
      const int level = severity(line);
      if (level >= 0) dropping = level < minLevel_;
      else if (line.starts_with("WARNING: All log messages before absl::InitializeLog()")) dropping = true;
      if (!dropping) kept.append(text, begin, std::min(end + 1, text.size()) - begin);
      begin = end + 1;
    }
    for (std::size_t done = 0; done < kept.size();) {
      const ssize_t n = ::write(STDERR_FILENO, kept.data() + done, kept.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
  }

  int minLevel_;
  int file_ = -1;
  int saved_ = -1;
};

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

  const LoadTimeLogFilter filter(logLevelNumber(api.logLevel));
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
  static std::once_flag once;
  static std::optional<Api> opened;
  static std::optional<Error> failure;
  std::call_once(once, [] {
    try {
      opened = openApi();
    } catch (const Error& e) {
      failure = e;
    }
  });
  if (failure) throw *failure;
  return *opened;
}

}  // namespace polyinfer::tf
