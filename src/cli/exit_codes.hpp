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

/// Prints "polyinfer: error: <Code>: <message>" as one line on stderr (line
/// breaks in the message become "; "); <Code> is the ErrorCode's name
/// ("InvalidArgument", "Unsupported", ...), so that a script can tell "this
/// engine cannot run this" from "this input is wrong" without parsing prose.
void printError(ErrorCode code, std::string_view message);

/// The same line for a failure that is no Error: `category` is the word in
/// the code's place ("Mismatch" for outputs that differ from --expect).
void printError(std::string_view category, std::string_view message);

/// The word printError puts after "error: " for a failure that --expect found.
inline constexpr std::string_view kMismatchCategory = "Mismatch";

}  // namespace polyinfer::cli
