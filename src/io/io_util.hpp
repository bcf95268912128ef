// Private helpers of polyinfer::io: file reading, errors, byte order.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include "polyinfer/error.hpp"

namespace polyinfer::io::detail {

/// "'path'" for messages.
inline std::string quoted(const std::filesystem::path& file) {
  // Appended piecewise: "'" + std::string + "'" trips GCC 12's false -Wrestrict.
  std::string text(1, '\'');
  text += file.string();
  text += '\'';
  return text;
}

/// Error(InvalidArgument) "<what> 'file': <reason>".
[[noreturn]] inline void malformed(const std::filesystem::path& file, const std::string& what,
                                   const std::string& reason) {
  throw Error(ErrorCode::InvalidArgument, what + " " + quoted(file) + ": " + reason);
}

/// Throws Error(NotFound) when `file` does not exist, Error(InvalidArgument)
/// when it is not a regular file.
void requireRegularFile(const std::filesystem::path& file, const std::string& what);

/// The whole file. Throws as requireRegularFile, or Error(InvalidArgument) when
/// it cannot be read.
std::string readWholeFile(const std::filesystem::path& file, const std::string& what);

/// Writes `bytes` to `file` (replacing it). Throws Error(InvalidArgument) naming
/// the file and the OS error when that fails (e.g. a missing directory).
void writeWholeFile(const std::filesystem::path& file, const std::string& what,
                    const std::string& bytes);

/// Reverses the byte order of each of `count` elements of `elementSize` bytes.
inline void swapBytes(void* data, std::size_t count, std::size_t elementSize) {
  if (elementSize <= 1) return;
  auto* p = static_cast<unsigned char*>(data);
  for (std::size_t i = 0; i < count; ++i, p += elementSize) std::reverse(p, p + elementSize);
}

inline constexpr bool kLittleEndianHost = std::endian::native == std::endian::little;

}  // namespace polyinfer::io::detail
