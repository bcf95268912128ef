// MXNet's C API (c_api.h, c_predict_api.h), loaded at run time. The plugin
// does not link libmxnet: it opens the library itself (RTLD_LOCAL), so that
// the library's path can be chosen at run time and so that MXNet's engine type
// can be decided before MXNet starts its engine (mx_runtime.hpp).
#pragma once

#include <mxnet/c_api.h>
#include <mxnet/c_predict_api.h>

#include <string>

namespace polyinfer::mx {

/// The C API functions the plugin calls, with the types of MXNet's own
/// declarations.
struct Api {
#define POLYINFER_MX_FUNCTIONS(X)                                                        \
  X(MXGetVersion) X(MXGetLastError) X(MXLibInfoFeatures) X(MXSetNumOMPThreads)          \
  X(MXEngineSetBulkSize)                                                                \
  X(MXSymbolCreateFromJSON) X(MXSymbolFree) X(MXSymbolListArguments)                    \
  X(MXSymbolListAuxiliaryStates) X(MXSymbolListOutputs) X(MXSymbolListAttr)             \
  X(MXSymbolInferShapePartialEx) X(MXSymbolInferTypePartial)                            \
  X(MXNDArrayLoadFromBuffer) X(MXNDArrayFree) X(MXNDArrayGetShapeEx) X(MXNDArrayGetDType) \
  X(MXPredCreateEx) X(MXPredReshape) X(MXPredSetInput) X(MXPredForward)                 \
  X(MXPredGetOutputShape) X(MXPredGetOutputType) X(MXPredGetOutput) X(MXPredFree)
#define POLYINFER_MX_MEMBER(name) decltype(&::name) name = nullptr;
  POLYINFER_MX_FUNCTIONS(POLYINFER_MX_MEMBER)
#undef POLYINFER_MX_MEMBER

  std::string library;  ///< the file opened
  int version = 0;      ///< MXGetVersion: major * 10000 + minor * 100 + patch
  /// "1.9.1".
  std::string versionText() const;
};

/// Environment variable naming the libmxnet.so to open; default: the one the
/// plugin was built against.
inline constexpr const char* kLibraryEnv = "POLYINFER_MXNET_LIBRARY";

/// The API, opened on first use (thread-safe; never closed: MXNet's engine
/// and operator registry cannot be unloaded). Throws Error(Unavailable) when
/// the library cannot be opened or lacks a function, naming the file; the
/// same error on every later call.
const Api& api();

/// MXNet's last error on this thread, summarised: its message without the
/// "MXNetError: " prefix and without the stack trace.
std::string lastError();
/// The same summary of an error text of MXNet's.
std::string summariseError(const char* raw);

}  // namespace polyinfer::mx
