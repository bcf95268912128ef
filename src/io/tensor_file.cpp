// readTensorFile, testLayoutFiles and the file helpers shared by npy.cpp and
// tensor_proto.cpp.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "io_util.hpp"
#include "polyinfer/tensor_io.hpp"

namespace polyinfer::io {
namespace fs = std::filesystem;

namespace detail {

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

void writeWholeFile(const fs::path& file, const std::string& what, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) malformed(file, what, std::string("cannot create: ") + std::strerror(errno));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) malformed(file, what, std::string("write failed: ") + std::strerror(errno));
}

}  // namespace detail

NamedTensor readTensorFile(const fs::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".npy") {
    detail::requireRegularFile(file, "npy file");
    return {std::string(), readNpy(file)};
  }
  if (ext == ".pb") {
    detail::requireRegularFile(file, "TensorProto file");
    return readTensorProto(file);
  }
  detail::requireRegularFile(file, "tensor file");
  detail::malformed(file, "tensor file",
                    "unknown extension '" + ext +
                        "'; expected .npy (numpy) or .pb (serialized onnx.TensorProto)");
}

std::vector<fs::path> testLayoutFiles(const fs::path& dir, const std::string& prefix) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};
  // prefix_<K>.pb, K a non-negative decimal number.
  std::map<long long, fs::path> found;
  const std::string head = prefix + "_";
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= head.size() + 3 || name.compare(0, head.size(), head) != 0 ||
        name.compare(name.size() - 3, 3, ".pb") != 0)
      continue;
    const std::string digits = name.substr(head.size(), name.size() - head.size() - 3);
    long long index = 0;
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (err != std::errc() || end != digits.data() + digits.size() || index < 0) continue;
    found.emplace(index, entry.path());
  }
  if (ec) detail::malformed(dir, "test data directory", "cannot list: " + ec.message());
  std::vector<fs::path> files;
  for (const auto& [index, path] : found) {
    if (index != static_cast<long long>(files.size()))
      detail::malformed(dir, "test data directory",
                        "expected " + head + std::to_string(files.size()) + ".pb, found " +
                            path.filename().string() + " without it");
    files.push_back(path);
  }
  return files;
}

}  // namespace polyinfer::io
