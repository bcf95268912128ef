// readTensorFile and testLayoutFiles.
#include <charconv>
#include <map>

#include "io_util.hpp"
#include "polyinfer/tensor_io.hpp"

namespace polyinfer::io {
namespace fs = std::filesystem;

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
