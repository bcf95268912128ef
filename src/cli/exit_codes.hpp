// Exit codes of the polyinfer tool and the one-line error report.
#pragma once

#include <string_view>

#include "polyinfer/error.hpp"

namespace polyinfer::cli {

/// What the process exit status means.
enum ExitCode : int {
  kExitOk = 0,       ///< success; outputs match --expect when given
  kExitFailure = 1,  ///< the run failed (engine, unsupported, unavailable) or outputs mismatch
  kExitUsage = 2,    ///< bad usage or bad input: unknown flag, malformed value, missing or
                     ///< corrupt file (model, input or expected data)
};

/// InvalidArgument and NotFound are the caller's fault (2); every other code
/// is a failed run (1).
ExitCode exitCodeFor(ErrorCode code) noexcept;

/// Prints "polyinfer: error: <message>" as one line on stderr (line breaks in
/// the message become "; ").
void printError(std::string_view message);

}  // namespace polyinfer::cli
