// polyinfer::Error — the one exception type of the library.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace polyinfer {

/// What kind of failure an Error reports. The CLI maps these to exit codes
/// (InvalidArgument, NotFound -> 2 "bad usage / bad input"; the rest -> 1).
enum class ErrorCode {
  InvalidArgument,    ///< a value the caller gave is malformed or out of range
  NotFound,           ///< a file, engine, input name or option key does not exist
  Unsupported,        ///< valid request, but this engine/build/device cannot do it
  EngineFailure,      ///< the engine itself failed while loading or running
  ResourceExhausted,  ///< out of memory or another finite resource
  Unavailable,        ///< an engine plugin could not be loaded, or a service is shutting down
  Internal,           ///< a bug in polyinfer
  DeadlineExceeded,   ///< a request ran out of time before it ran
  Cancelled,          ///< the caller withdrew the request
};

/// Name of a code, e.g. "InvalidArgument".
std::string_view toString(ErrorCode code) noexcept;

/// Every failure polyinfer reports is an Error. Messages say what was expected
/// and what was given, e.g. "input 'x': expected float32[1,3,224,224], got
/// float32[1,3,200,224]". Engine exceptions are wrapped, never let through.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}

  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace polyinfer
