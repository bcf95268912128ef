#include "polyinfer/error.hpp"

namespace polyinfer {

std::string_view toString(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::InvalidArgument: return "InvalidArgument";
    case ErrorCode::NotFound: return "NotFound";
    case ErrorCode::Unsupported: return "Unsupported";
    case ErrorCode::EngineFailure: return "EngineFailure";
    case ErrorCode::ResourceExhausted: return "ResourceExhausted";
    case ErrorCode::Unavailable: return "Unavailable";
    case ErrorCode::Internal: return "Internal";
    case ErrorCode::DeadlineExceeded: return "DeadlineExceeded";
    case ErrorCode::Cancelled: return "Cancelled";
  }
  return "Unknown";
}

}  // namespace polyinfer
