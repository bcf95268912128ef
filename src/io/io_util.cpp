// The file helpers of io_util.hpp, shared by libpolyinfer_io and its
// TensorProto module (each compiles them in; the module's copy is hidden).
#include "io_util.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace polyinfer::io::detail {
namespace fs = std::filesystem;

void requireRegularFile(const fs::path& file, const std::string& what) {
  std::error_code ec;
  const fs::file_status status = fs::status(file, ec);
  if (ec || !fs::exists(status))
    throw Error(ErrorCode::NotFound, what + " " + quoted(file) + ": no such file");
  if (fs::is_directory(status))
    malformed(file, what, "expected a file, got a directory");
  if (!fs::is_regular_file(status)) malformed(file, what, "expected a regular file");
}

std::string readWholeFile(const fs::path& file, const std::string& what) {
  requireRegularFile(file, what);
  std::ifstream in(file, std::ios::binary);
  if (!in) malformed(file, what, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) malformed(file, what, "read failed");
  return std::move(bytes).str();
}

std::uintmax_t regularFileSize(const fs::path& file, const std::string& what) {
  requireRegularFile(file, what);
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) malformed(file, what, "cannot read its size: " + ec.message());
  return size;
}

void writeWholeFile(const fs::path& file, const std::string& what, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) malformed(file, what, std::string("cannot create: ") + std::strerror(errno));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) malformed(file, what, std::string("write failed: ") + std::strerror(errno));
}

}  // namespace polyinfer::io::detail
