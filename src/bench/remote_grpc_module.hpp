// The interface between the bench and its gRPC remote target, the module
// libpolyinfer_bench_grpc.so (<libdir>/polyinfer/, beside
// libpolyinfer_kserve_grpc.so).
//
// Why a module: gRPC needs Debian's libprotobuf, and a library linked into a
// program puts its symbols in the process's global scope, where engines that
// carry their own protobuf runtime (TensorFlow's wheels) bind to them and
// crash. So polyinfer_bench, and with it `polyinfer bench`, links no gRPC: it
// dlopen()s this module RTLD_LOCAL on the first grpc:// URL
// (remote_grpc_loader.cpp), as `polyinfer serve` does with its gRPC front end.
//
// Both sides are built from the same tree, so C++ types cross (the module
// compiles remote_common.cpp too). The ABI and polyinfer versions are checked
// all the same, so that a stale module left in an install is refused.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "remote_internal.hpp"

namespace polyinfer::bench::remote {

/// Bump when GrpcRemoteModule or what it passes (remote_internal.hpp,
/// target.hpp) changes.
inline constexpr std::uint32_t kGrpcRemoteModuleAbi = 1;

/// What the module's entry point returns (a static object: never freed).
struct GrpcRemoteModule {
  std::uint32_t abiVersion;      ///< kGrpcRemoteModuleAbi of the module's build
  const char* polyinferVersion;  ///< POLYINFER_VERSION of the module's build
  /// fetchGrpcModel and makeGrpcTarget (remote_internal.hpp), as the module
  /// implements them.
  RemoteModel (*fetchModel)(const Url& url, const RemoteEndpoint& endpoint);
  std::unique_ptr<Target> (*makeTarget)(Url url, RemoteEndpoint endpoint, RemoteModel model,
                                        Tensors inputs, std::vector<ConfigValue> extra);
};

}  // namespace polyinfer::bench::remote

/// The module's one exported symbol.
#define POLYINFER_BENCH_GRPC_ENTRY_SYMBOL "polyinfer_bench_grpc_module"
extern "C" __attribute__((visibility("default")))
const polyinfer::bench::remote::GrpcRemoteModule* polyinfer_bench_grpc_module();
