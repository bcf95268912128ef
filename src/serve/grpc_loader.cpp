// startGrpcFrontend: loads the gRPC module (grpc_module.hpp says why it is one) beside
// libpolyinfer, once, and starts the front end.
#include <filesystem>
#include <string>

#include "grpc_module.hpp"
#include "module_loading.hpp"
#include "polyinfer/thread_budget.hpp"

namespace polyinfer::serve {
namespace fs = std::filesystem;

namespace {

const GrpcModule& loadModule() {
  // The module is <directory of libpolyinfer.so>/POLYINFER_SERVE_GRPC_MODULE.
  const fs::path module =
      detail::libraryDirectoryOf(reinterpret_cast<const void*>(&ThreadBudget::detect)) / POLYINFER_SERVE_GRPC_MODULE;
  return detail::loadModuleTable<GrpcModule>(
      module, POLYINFER_SERVE_GRPC_ENTRY_SYMBOL, kGrpcModuleAbi, [&](const std::string& why) {
        return Error(ErrorCode::Internal, "polyinfer serve: the gRPC front end '" + module.string() + "' " + why +
                                              " (start with --grpc-port -1 to serve HTTP only)");
      });
}

}  // namespace

std::unique_ptr<GrpcFrontend> startGrpcFrontend(const ServerOptions& options, ServingCore& core) {
  // Loaded once (thread-safe); a failure throws and the next call tries again.
  static const GrpcModule& module = loadModule();
  return module.start(options, core);
}

}  // namespace polyinfer::serve
