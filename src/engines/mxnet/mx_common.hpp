// Shared helpers of the MXNet plugin: names, the dtype table, C API status
// handling and the lock around MXNet's graph-building calls.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "polyinfer/dtype.hpp"
#include "polyinfer/error.hpp"

namespace polyinfer::mx {

/// The engine's name, as in the plugin's file name.
inline constexpr const char* kEngineName = "mxnet";
/// MXNet's own name for its library, in messages.
inline constexpr const char* kLibraryName = "MXNet";

/// MXNet's dtype code (mshadow::TypeFlag) for a DataType; nullopt-like -1
/// when MXNet's predictor cannot take it.
int toMx(DataType type) noexcept;
/// DataType for MXNet's code; Undefined for one polyinfer does not map.
DataType fromMx(int code) noexcept;
/// toMx, or Error(Unsupported) naming `what` and the dtype.
int requireMx(DataType type, std::string_view what);
/// "float32" for MXNet's code, "MXNet dtype 9" for an unknown one.
std::string mxTypeName(int code);

/// Throws Error(`code`, "mxnet: <context>: <MXNet's message>") when `status`
/// (a C API return value) is not 0.
void check(int status, std::string_view context, ErrorCode code = ErrorCode::EngineFailure);

/// check() for the per-call path: `context` (a callable returning the text)
/// is called only on failure, so a good call builds no message.
template <typename Context>
void checkLazy(int status, const Context& context, ErrorCode code = ErrorCode::EngineFailure) {
  if (status != 0) check(status, context(), code);
}

/// MXNet's symbol loading and executor binding (MXSymbolCreateFromJSON,
/// MXPredCreateEx, MXPredReshape) fail at random when called from several
/// threads at once (seen here: JSON parse errors of a valid symbol while two
/// predictors were created): every such call holds this lock. Running
/// (MXPredForward) does not.
std::mutex& graphBuildMutex();

}  // namespace polyinfer::mx
