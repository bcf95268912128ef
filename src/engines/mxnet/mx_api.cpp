#include "mx_api.hpp"

#include <dlfcn.h>

#include <mutex>
#include <optional>
#include <string>

#include "polyinfer/error.hpp"
#include "polyinfer/options.hpp"
#include "polyinfer/plugin_kit.hpp"

#ifndef POLYINFER_MXNET_LIBRARY
#error "POLYINFER_MXNET_LIBRARY (libmxnet.so's path) must be defined"
#endif

namespace polyinfer::mx {

namespace {

Api openApi() {
  Api api;
  const std::optional<std::string> configured = environmentValue(kLibraryEnv);
  api.library = configured ? *configured : POLYINFER_MXNET_LIBRARY;
  const std::string where = configured ? std::string(" (from ") + kLibraryEnv + ")" : "";
  // RTLD_LOCAL: MXNet's copies of oneDNN, protobuf (ps-lite) and dmlc stay
  // out of the global scope, where other engines' libraries would bind to them.
  void* handle = ::dlopen(api.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = ::dlerror();
    throw Error(ErrorCode::Unavailable,
                "mxnet: cannot open the MXNet library '" + api.library + "'" + where + ": " +
                    (reason != nullptr ? reason : "unknown error") + "; set " + kLibraryEnv +
                    " to a libmxnet.so of MXNet 1.x");
  }
  // Never closed: MXNet's engine, operator registry and thread pools live as
  // long as the process.
#define POLYINFER_MX_RESOLVE(name)                                                            \
  api.name = reinterpret_cast<decltype(api.name)>(::dlsym(handle, #name));                    \
  if (api.name == nullptr)                                                                    \
    throw Error(ErrorCode::Unavailable, "mxnet: '" + api.library + "'" + where +              \
                                            " lacks the C API function " #name                \
                                            "; it is not an MXNet 1.x library (libmxnet.so)");
  POLYINFER_MX_FUNCTIONS(POLYINFER_MX_RESOLVE)
#undef POLYINFER_MX_RESOLVE
  if (api.MXGetVersion(&api.version) != 0)
    throw Error(ErrorCode::Unavailable,
                "mxnet: '" + api.library + "'" + where + ": MXGetVersion failed: " +
                                            summariseError(api.MXGetLastError()));
  if (api.version < 10600 || api.version >= 20000)
    throw Error(ErrorCode::Unavailable, "mxnet: '" + api.library + "'" + where + " is MXNet " +
                                            api.versionText() +
                                            "; polyinfer's mxnet engine needs MXNet 1.6 to 1.9");
  return api;
}

}  // namespace

std::string Api::versionText() const {
  return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
         std::to_string(version % 100);
}

const Api& api() {
  static plugin::OnceResult<Api> opened;
  return opened.get(openApi);
}

std::string lastError() {
  return summariseError(api().MXGetLastError());
}

std::string summariseError(const char* raw) {
  std::string text = raw != nullptr ? raw : "";
  // "MXNetError: <message>\nStack trace:\n  File ...": the message.
  if (const std::size_t trace = text.find("\nStack trace:"); trace != std::string::npos)
    text.erase(trace);
  constexpr std::string_view kPrefix = "MXNetError: ";
  if (text.starts_with(kPrefix)) text.erase(0, kPrefix.size());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "MXNet gave no reason" : text;
}

}  // namespace polyinfer::mx
