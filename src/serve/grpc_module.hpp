// The interface between the server and its gRPC front end, the module
// libpolyinfer_serve_grpc.so (<libdir>/polyinfer/, beside the engine plugins' directory).
//
// Why a module: gRPC needs Debian's libprotobuf, and a library linked into a program puts
// its symbols in the process's global scope, where engines that carry their own protobuf
// runtime (TensorFlow's wheels) bind to them and crash (the TensorFlow plugin refuses to load
// then). So `polyinfer serve` links no gRPC: it dlopen()s this module RTLD_LOCAL when gRPC is
// on (grpc_loader.cpp), as libpolyinfer_io does with its TensorProto module.
//
// Both sides are built from the same tree, so C++ types cross: the module gets the server as
// a ServingCore (serving_core.hpp) and returns a GrpcFrontend. The ABI and polyinfer
// versions are checked all the same, so that a stale module left in an install is refused.
#pragma once

#include <cstdint>
#include <memory>

#include "serving_core.hpp"

namespace polyinfer::serve {

/// A running gRPC front end.
class GrpcFrontend {
 public:
  virtual ~GrpcFrontend() = default;
  /// The port listened on.
  virtual int port() const noexcept = 0;
  /// Refuses new calls, lets running ones finish (until graceSeconds, then cancels them),
  /// releases the port. Idempotent; the destructor does it too.
  virtual void stop(int graceSeconds) = 0;
};

/// Bump when GrpcModule or ServingCore changes.
inline constexpr std::uint32_t kGrpcModuleAbi = 1;

/// What the module's entry point returns (a static object: never freed).
struct GrpcModule {
  std::uint32_t abiVersion;      ///< kGrpcModuleAbi of the module's build
  const char* polyinferVersion;  ///< POLYINFER_VERSION of the module's build
  /// Listens on options.http.host:options.grpcPort (0: any free port) and serves `core`'s
  /// models, which must outlive the front end. Throws Error(Unavailable) naming the address
  /// when the port cannot be bound.
  std::unique_ptr<GrpcFrontend> (*start)(const ServerOptions& options, ServingCore& core);
};

/// Loads the module (once per process) and starts the gRPC front end. Throws Error(Internal)
/// naming the module's path and the loader's reason when it cannot be loaded.
std::unique_ptr<GrpcFrontend> startGrpcFrontend(const ServerOptions& options, ServingCore& core);

}  // namespace polyinfer::serve

/// The module's one exported symbol.
#define POLYINFER_SERVE_GRPC_ENTRY_SYMBOL "polyinfer_serve_grpc_module"
extern "C" __attribute__((visibility("default")))
const polyinfer::serve::GrpcModule* polyinfer_serve_grpc_module();
