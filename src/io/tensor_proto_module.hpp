// The interface between libpolyinfer_io and its TensorProto module,
// libpolyinfer_io_tensorproto.so (<libdir>/polyinfer/, beside the engine
// plugins' directory).
//
// Why a module: TensorProto needs Debian's libprotobuf, and a library linked
// into a program puts its symbols in the process's global scope. Engines that
// carry their own protobuf runtime (TensorFlow's wheels) then bind to Debian's
// and crash. libpolyinfer_io therefore links no protobuf: it dlopen()s this
// module with RTLD_LOCAL on first use (tensor_proto_loader.cpp), which keeps
// protobuf out of the global scope.
//
// Both sides are built from the same tree, so C++ types may cross: the table
// holds plain C++ function pointers, and the polyinfer::Error they throw
// reaches the caller unchanged. The ABI and polyinfer versions are checked all
// the same, so that a stale module left in an install is refused, not called.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "polyinfer/tensor.hpp"
#include "polyinfer/value.hpp"

namespace polyinfer::io::detail {

/// Bump when TensorProtoModule changes.
/// 2: value files (readValueProto, writeValueProto).
inline constexpr std::uint32_t kTensorProtoModuleAbi = 2;

/// What the module's entry point returns (a static object: never freed).
struct TensorProtoModule {
  std::uint32_t abiVersion;      ///< kTensorProtoModuleAbi of the module's build
  const char* polyinferVersion;  ///< POLYINFER_VERSION of the module's build
  NamedTensor (*readTensorProto)(const std::filesystem::path& file);
  void (*writeTensorProto)(const std::filesystem::path& file, const std::string& name,
                           const Tensor& tensor);
  /// value_proto.hpp's readValueProto and writeValueProto.
  NamedValue (*readValueProto)(const std::filesystem::path& file, std::optional<ValueKind> expected);
  void (*writeValueProto)(const std::filesystem::path& file, const std::string& name, const Value& value);
};

/// readValueProto / writeValueProto through the module (loaded on first use,
/// as readTensorProto is): for libpolyinfer_io's own value-file functions.
NamedValue readValueProtoFile(const std::filesystem::path& file, std::optional<ValueKind> expected);
void writeValueProtoFile(const std::filesystem::path& file, const std::string& name, const Value& value);

}  // namespace polyinfer::io::detail

/// The module's one exported symbol.
#define POLYINFER_IO_TENSORPROTO_ENTRY_SYMBOL "polyinfer_io_tensorproto_module"
extern "C" __attribute__((visibility("default")))
const polyinfer::io::detail::TensorProtoModule* polyinfer_io_tensorproto_module();
