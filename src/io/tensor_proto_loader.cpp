// readTensorProto and writeTensorProto: forwarded to the TensorProto module,
// which this library loads on first use (tensor_proto_module.hpp says why).
#include "module_loading.hpp"
#include "polyinfer/tensor_io.hpp"
#include "tensor_proto_module.hpp"

namespace polyinfer::io {
namespace fs = std::filesystem;

namespace {

const detail::TensorProtoModule& loadModule() {
  // The module is <directory of libpolyinfer_io.so>/POLYINFER_IO_TENSORPROTO_MODULE.
  static const int anchor = 0;  // an address inside this library
  const fs::path module = polyinfer::detail::libraryDirectoryOf(&anchor) / POLYINFER_IO_TENSORPROTO_MODULE;
  return polyinfer::detail::loadModuleTable<detail::TensorProtoModule>(
      module, POLYINFER_IO_TENSORPROTO_ENTRY_SYMBOL, detail::kTensorProtoModuleAbi, [&](const std::string& why) {
        return Error(ErrorCode::Internal,
                     "polyinfer::io: the TensorProto reader '" + module.string() + "' " + why);
      });
}

/// The module, loaded once (thread-safe); a failure throws and the next call
/// tries again.
const detail::TensorProtoModule& tensorProtoModule() {
  static const detail::TensorProtoModule& module = loadModule();
  return module;
}

}  // namespace

NamedTensor readTensorProto(const fs::path& file) {
  return tensorProtoModule().readTensorProto(file);
}

void writeTensorProto(const fs::path& file, const std::string& name, const Tensor& tensor) {
  tensorProtoModule().writeTensorProto(file, name, tensor);
}

namespace detail {

NamedValue readValueProtoFile(const fs::path& file, std::optional<ValueKind> expected) {
  return tensorProtoModule().readValueProto(file, expected);
}

void writeValueProtoFile(const fs::path& file, const std::string& name, const Value& value) {
  tensorProtoModule().writeValueProto(file, name, value);
}

}  // namespace detail

}  // namespace polyinfer::io
