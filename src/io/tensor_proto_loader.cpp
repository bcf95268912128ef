// readTensorProto and writeTensorProto: forwarded to the TensorProto module,
// which this library loads on first use (tensor_proto_module.hpp says why).
#include <dlfcn.h>

#include "polyinfer/tensor_io.hpp"
#include "polyinfer/version.hpp"
#include "io_util.hpp"
#include "tensor_proto_module.hpp"

namespace polyinfer::io {
namespace fs = std::filesystem;

namespace {

// The directory libpolyinfer_io.so itself was loaded from: the module lives in
// <that>/POLYINFER_IO_TENSORPROTO_MODULE, in the install and the build tree
// alike (as the engine plugins do beside libpolyinfer.so).
fs::path ioLibraryDirectory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&ioLibraryDirectory), &info) == 0 || info.dli_fname == nullptr)
    return {};
  std::error_code ec;
  fs::path library = fs::canonical(info.dli_fname, ec);
  return ec ? fs::path(info.dli_fname).parent_path() : library.parent_path();
}

[[noreturn]] void cannotLoad(const fs::path& module, const std::string& reason) {
  throw Error(ErrorCode::Internal, "polyinfer::io: cannot load the TensorProto reader '" +
                                       module.string() + "': " + reason);
}

const detail::TensorProtoModule& loadModule() {
  const fs::path module = ioLibraryDirectory() / POLYINFER_IO_TENSORPROTO_MODULE;
  dlerror();
  // RTLD_LOCAL: the module's protobuf must stay out of the global scope.
  void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* message = dlerror();
    cannotLoad(module, message ? message : "unknown dynamic loader error");
  }
  using EntryPoint = const detail::TensorProtoModule* (*)();
  auto entryPoint =
      reinterpret_cast<EntryPoint>(dlsym(handle, POLYINFER_IO_TENSORPROTO_ENTRY_SYMBOL));
  const detail::TensorProtoModule* table = entryPoint ? entryPoint() : nullptr;
  std::string problem;
  if (table == nullptr)
    problem = std::string("it does not export ") + POLYINFER_IO_TENSORPROTO_ENTRY_SYMBOL + "()";
  else if (table->abiVersion != detail::kTensorProtoModuleAbi ||
           std::string_view(table->polyinferVersion) != POLYINFER_VERSION)
    problem = "it was built for module ABI " + std::to_string(table->abiVersion) +
              " of polyinfer " + table->polyinferVersion + ", this library is ABI " +
              std::to_string(detail::kTensorProtoModuleAbi) + " of polyinfer " + POLYINFER_VERSION;
  if (!problem.empty()) {
    dlclose(handle);
    cannotLoad(module, problem);
  }
  return *table;  // the handle is never closed: the module stays loaded
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
