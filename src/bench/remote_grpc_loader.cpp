// The program's side of the gRPC remote target: fetchGrpcModel and
// makeGrpcTarget load the module libpolyinfer_bench_grpc.so
// (remote_grpc_module.hpp says why it is one) on first use and call it.
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "module_loading.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/thread_budget.hpp"
#include "remote_grpc_module.hpp"

namespace polyinfer::bench::remote {
namespace {

namespace fs = std::filesystem;

const GrpcRemoteModule& load() {
  // The module is <directory of libpolyinfer.so>/POLYINFER_BENCH_GRPC_MODULE.
  const fs::path path = polyinfer::detail::libraryDirectoryOf(reinterpret_cast<const void*>(&ThreadBudget::detect)) /
                        POLYINFER_BENCH_GRPC_MODULE;
  return polyinfer::detail::loadModuleTable<GrpcRemoteModule>(
      path, POLYINFER_BENCH_GRPC_ENTRY_SYMBOL, kGrpcRemoteModuleAbi, [&](const std::string& why) {
        return Error(ErrorCode::Unavailable,
                     fmt::format("grpc:// needs the bench's gRPC module '{}', which {} (benchmark the "
                                 "server over http:// instead)",
                                 path.string(), why));
      });
}

const GrpcRemoteModule& grpcModule() {
  // Loaded once (thread-safe); a failure throws, and the next call tries again.
  static const GrpcRemoteModule& module = load();
  return module;
}

}  // namespace

RemoteModel fetchGrpcModel(const Url& url, const RemoteEndpoint& endpoint) {
  return grpcModule().fetchModel(url, endpoint);
}

std::unique_ptr<Target> makeGrpcTarget(Url url, RemoteEndpoint endpoint, RemoteModel model,
                                       Tensors inputs, std::vector<ConfigValue> extra) {
  return grpcModule().makeTarget(std::move(url), std::move(endpoint), std::move(model),
                                 std::move(inputs), std::move(extra));
}

}  // namespace polyinfer::bench::remote
