// readTensorFile and testLayoutFiles.
#include <charconv>
#include <map>
#include <optional>

#include "io_util.hpp"
#include "polyinfer/tensor_io.hpp"
#include "tensor_proto_module.hpp"

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

namespace {

NamedValue readValue(const fs::path& file, std::optional<ValueKind> expected, const ValueType* type) {
  const std::string ext = file.extension().string();
  if (ext == ".npy") {
    detail::requireRegularFile(file, "npy file");
    if (expected && *expected != ValueKind::Tensor && *expected != ValueKind::Optional)
      detail::malformed(file, "npy file",
                        "expected " + type->describe() +
                            ", but a .npy file holds a tensor (give a .pb file: an ONNX " +
                            (*expected == ValueKind::Sequence ? "SequenceProto" : "MapProto") + ")");
    return {std::string(), Value(readNpy(file))};
  }
  if (ext == ".pb") {
    detail::requireRegularFile(file, "ONNX value file");
    return detail::readValueProtoFile(file, expected);
  }
  detail::requireRegularFile(file, "value file");
  detail::malformed(file, "value file",
                    "unknown extension '" + ext +
                        "'; expected .npy (numpy) or .pb (serialized onnx.TensorProto, SequenceProto, "
                        "MapProto or OptionalProto)");
}

}  // namespace

NamedValue readValueFile(const fs::path& file, const ValueType& expected) {
  return readValue(file, expected.kind, &expected);
}

NamedValue readValueFile(const fs::path& file) { return readValue(file, std::nullopt, nullptr); }

void writeValueFile(const fs::path& file, const std::string& name, const Value& value) {
  const std::string ext = file.extension().string();
  if (ext == ".npy") {
    if (!value.isTensor())
      detail::malformed(file, "npy file",
                        "cannot hold " + value.describe() +
                            "; a .npy file holds one tensor: write it as .pb (an ONNX value proto)");
    writeNpy(file, value.tensor());
    return;
  }
  if (ext == ".pb") {
    detail::writeValueProtoFile(file, name, value);
    return;
  }
  detail::malformed(file, "value file",
                    "unknown extension '" + ext + "'; expected .npy (tensors) or .pb (any ONNX value)");
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
