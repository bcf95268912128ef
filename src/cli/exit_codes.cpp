#include "exit_codes.hpp"

#include <iostream>
#include <string>

namespace polyinfer::cli {

ExitCode exitCodeFor(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::InvalidArgument:
    case ErrorCode::NotFound: return kExitUsage;
    case ErrorCode::Unsupported:
    case ErrorCode::EngineFailure:
    case ErrorCode::ResourceExhausted:
    case ErrorCode::Unavailable:
    case ErrorCode::Internal:
    case ErrorCode::DeadlineExceeded:
    case ErrorCode::Cancelled: return kExitFailure;
  }
  return kExitFailure;
}

void printError(ErrorCode code, std::string_view message) { printError(toString(code), message); }

void printError(std::string_view category, std::string_view message) {
  std::string line;
  line.reserve(message.size());
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '\r') continue;
    if (c == '\n') {
      // Collapse line breaks (and a trailing one) into "; ".
      while (!line.empty() && line.back() == ' ') line.pop_back();
      if (i + 1 < message.size() && !line.empty()) line += "; ";
      continue;
    }
    line += c;
  }
  std::cout.flush();
  std::cerr << "polyinfer: error: " << category << ": " << line << std::endl;
}

}  // namespace polyinfer::cli
