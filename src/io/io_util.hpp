// Private helpers of polyinfer::io: file reading, errors, byte order.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "polyinfer/dtype.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/tensor.hpp"

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

/// Size of the regular file `file` in bytes. Throws as requireRegularFile, or
/// Error(InvalidArgument) when the size cannot be read.
std::uintmax_t regularFileSize(const std::filesystem::path& file, const std::string& what);

// ------------------------------------------------------------ checked sizes
//
// Every reader computes what a header declares (elements, bytes) with these
// before it allocates anything, and compares that with what the file holds:
// no allocation is ever sized by an unchecked header field.

/// Elements of `shape`, or nullopt for a negative dim or when a partial
/// product overflows int64 (as polyinfer::elementCount, which throws there,
/// even when a later dim is 0).
inline std::optional<int64_t> checkedElementCount(const Shape& shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim) return std::nullopt;
    count *= dim;
  }
  return count;
}

/// Bytes of dense storage for `count` elements of the fixed-size `type`
/// (sub-byte types packed, rounded up), or nullopt when that does not fit in
/// std::size_t.
inline std::optional<std::size_t> checkedDenseBytes(DataType type, int64_t count) {
  const std::size_t bits = bitsPerElement(type);
  if (bits == 0 || count < 0) return std::nullopt;
  const auto n = static_cast<std::size_t>(count);
  if (bits % 8 == 0) {
    const std::size_t itemBytes = bits / 8;
    if (n > std::numeric_limits<std::size_t>::max() / itemBytes) return std::nullopt;
    return n * itemBytes;
  }
  // Sub-byte types (bits < 8): whole groups of 8 elements, then the rest.
  return (n / 8) * bits + ((n % 8) * bits + 7) / 8;
}

/// "<type><shape>", e.g. "float32[2,3]", for messages.
inline std::string describe(DataType type, const Shape& shape) {
  std::string text(toString(type));
  text += toString(shape);
  return text;
}

/// At most `limit` characters of `text`, with "..." and the full length when
/// cut: messages quote what they were given without echoing megabytes.
inline std::string clipped(std::string_view text, std::size_t limit = 200) {
  if (text.size() <= limit) return std::string(text);
  return std::string(text.substr(0, limit)) + "... (" + std::to_string(text.size()) + " bytes)";
}

/// The .npy reader on bytes in memory (readNpy reads the file and calls it);
/// `file` names the source in messages. For tests and the fuzz target.
Tensor readNpyBytes(std::string_view bytes, const std::filesystem::path& file);

/// Reverses the byte order of each of `count` elements of `elementSize` bytes.
inline void swapBytes(void* data, std::size_t count, std::size_t elementSize) {
  if (elementSize <= 1) return;
  auto* p = static_cast<unsigned char*>(data);
  for (std::size_t i = 0; i < count; ++i, p += elementSize) std::reverse(p, p + elementSize);
}

inline constexpr bool kLittleEndianHost = std::endian::native == std::endian::little;

}  // namespace polyinfer::io::detail
